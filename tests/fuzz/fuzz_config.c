/* sources: ledger/config_file.c ledger/file_read.c */
/* fuzz_config.c - libFuzzer target for the configuration file syntax.
 *
 * The input is a configuration file.  Whatever it is, each reported line
 * is a setting (key of [a-z0-9_]+, both NUL-terminated inside the buffer)
 * or a malformed line with a reason, never both; line numbers rise; no
 * key or value is longer than TG_CONF_LINE_MAX.
 * seed: # c\nledger = /a\r\ntags = "t=1"\n\nbad line\n
 * seed: k =   "  "\n= x\nK = y\n"\n
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"

struct state {
	const char *buf;
	size_t size;
	int last;
};

static int inside(const struct state *s, const char *p)
{
	return p >= s->buf && p < s->buf + s->size + 1;
}

static void check(void *ctx, int line, const char *key, const char *value, const char *why)
{
	struct state *s = ctx;

	if (line <= s->last)
		abort();
	s->last = line;
	if (why) {
		if (key || value || !*why)
			abort();
		return;
	}
	if (!key || !value || !inside(s, key) || !inside(s, value) || !*key)
		abort();
	if (strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(key))
		abort();
	if (strlen(key) > TG_CONF_LINE_MAX || strlen(value) > TG_CONF_LINE_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s = { 0 };
	char *buf = malloc(size + 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	s.buf = buf;
	s.size = size;
	tg_conf_parse(buf, size, check, &s);
	free(buf);
	return 0;
}
