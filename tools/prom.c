/* prom.c - the Prometheus text exposition format (prom.h). */
#include <math.h>
#include <string.h>

#include "decimal.h"
#include "emit.h"
#include "prom.h"

int tg_prom_label_name_ok(const char *s)
{
	if (!s || !*s || (s[0] == '_' && s[1] == '_'))
		return 0;
	for (const char *p = s; *p; p++) {
		int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';
		int digit = *p >= '0' && *p <= '9';

		if (!alpha && !(digit && p != s))
			return 0;
	}
	return 1;
}

void tg_prom_label(FILE *f, int first, const char *name, const char *value)
{
	if (!first)
		putc(',', f);
	size_t n = strlen(value);

	fprintf(f, "%s=\"", name);
	for (const char *p = value; *p; ) {
		int k = tg_utf8_len((const unsigned char *)p, n - (size_t)(p - value));

		if (k == 0) {
			fputs("\xef\xbf\xbd", f);   /* U+FFFD: a label value is UTF-8 */
			p++;
		} else if (*p == '\\') {
			fputs("\\\\", f);
		} else if (*p == '"') {
			fputs("\\\"", f);
		} else if (*p == '\n') {
			fputs("\\n", f);
		} else {
			fwrite(p, 1, (size_t)k, f);
		}
		p += k;
	}
	putc('"', f);
}

void tg_prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_head(FILE *f, const char *name, const char *labels)
{
	fputs(name, f);
	if (*labels)
		fprintf(f, "{%s}", labels);
	putc(' ', f);
}

void tg_prom_sample_int(FILE *f, const char *name, const char *labels, int64_t v)
{
	sample_head(f, name, labels);
	fprintf(f, "%lld\n", (long long)v);
}

void tg_prom_sample_double(FILE *f, const char *name, const char *labels, double v)
{
	char buf[48];

	sample_head(f, name, labels);
	if (!isfinite(v) || tg_decimal_shortest(v, buf, sizeof buf) < 0)
		fputs("NaN\n", f);
	else
		fprintf(f, "%s\n", buf);
}
