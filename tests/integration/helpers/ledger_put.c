/* ledger_put.c - appends records to a ledger through the ledger API, for
 * the integration tests that need calls on days other than today (a real
 * call under the shim is always made now).
 *
 *   ledger-put DIR < RECORDS
 *
 * One record per line, fields separated by tabs (so a model name may hold
 * spaces, quotes or markup):
 *
 *   TS_SECONDS PROVIDER MODEL PROCESS INPUT OUTPUT COST_USD FLAGS
 *
 * INPUT and OUTPUT are token counts, "-" for unknown (a known one has no
 * cached, cache write or reasoning part); FLAGS is "-" or a
 * comma-separated list of unpriced, usage_unknown, estimate, blocked.
 * Prints "put N" on success; exits 2 on a bad line or a ledger error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "record.h"

#define FIELDS 8

static const struct {
	const char *name;
	uint32_t flag;
} flag_names[] = {
	{ "unpriced", TG_REC_UNPRICED },
	{ "usage_unknown", TG_REC_USAGE_UNKNOWN },
	{ "estimate", TG_REC_COST_ESTIMATE },
	{ "blocked", TG_REC_BLOCKED },
};

static int parse_flags(char *s, uint32_t *flags)
{
	*flags = 0;
	if (!strcmp(s, "-"))
		return 0;
	for (char *w = strtok(s, ","); w; w = strtok(NULL, ",")) {
		size_t i = 0;

		while (i < sizeof flag_names / sizeof flag_names[0] && strcmp(w, flag_names[i].name))
			i++;
		if (i == sizeof flag_names / sizeof flag_names[0])
			return -1;
		*flags |= flag_names[i].flag;
	}
	return 0;
}

static int parse_count(const char *s, int64_t *v)
{
	char *end;

	if (!strcmp(s, "-")) {
		*v = TG_COUNT_UNKNOWN;
		return 0;
	}
	*v = strtoll(s, &end, 10);
	return *s && !*end && *v >= 0 ? 0 : -1;
}

/* Splits line at its tabs into f[FIELDS]; returns -1 for another count. */
static int split(char *line, char *f[FIELDS])
{
	int n = 0;

	line[strcspn(line, "\n")] = '\0';
	for (char *p = line; n < FIELDS; n++) {
		f[n] = p;
		p = strchr(p, '\t');
		if (!p)
			return n == FIELDS - 1 ? 0 : -1;
		*p++ = '\0';
	}
	return -1;
}

static int parse(char *line, struct tg_record *r)
{
	char *f[FIELDS], *end;

	memset(r, 0, sizeof *r);
	tg_counts_unknown(&r->counts);
	r->latency_ms = -1;
	r->ttft_ms = -1;
	r->status = 200;
	if (split(line, f))
		return -1;
	r->ts_us = strtoll(f[0], &end, 10) * 1000000;
	if (!*f[0] || *end)
		return -1;
	snprintf(r->provider, sizeof r->provider, "%s", f[1]);
	snprintf(r->model, sizeof r->model, "%s", f[2]);
	snprintf(r->process, sizeof r->process, "%s", f[3]);
	snprintf(r->operation, sizeof r->operation, "chat");
	r->cost_usd = strtod(f[6], &end);
	if (parse_count(f[4], &r->counts.input) || parse_count(f[5], &r->counts.output) ||
	    !*f[6] || *end || parse_flags(f[7], &r->flags))
		return -1;
	/* The parts of a known count are known too: none. */
	if (r->counts.input >= 0)
		r->counts.cached_input = r->counts.cache_creation = 0;
	if (r->counts.output >= 0)
		r->counts.reasoning = 0;
	if (r->flags & TG_REC_BLOCKED)
		r->status = 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct tg_ledger *l;
	struct tg_record r;
	char line[1024];
	int rc, n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: ledger-put DIR < RECORDS\n");
		return 2;
	}
	if ((rc = tg_ledger_open(&l, argv[1], TG_LEDGER_CREATE))) {
		fprintf(stderr, "ledger-put: %s: %s\n", argv[1], tg_strerror(rc));
		return 2;
	}
	while (fgets(line, sizeof line, stdin)) {
		if (parse(line, &r)) {
			fprintf(stderr, "ledger-put: line %d: not TS PROVIDER MODEL PROCESS INPUT "
			        "OUTPUT COST FLAGS (tab-separated)\n", n + 1);
			rc = 2;
			break;
		}
		if ((rc = tg_ledger_append(l, &r))) {
			fprintf(stderr, "ledger-put: line %d: %s\n", n + 1, tg_strerror(rc));
			rc = 2;
			break;
		}
		n++;
	}
	tg_ledger_close(l);
	if (!rc)
		printf("put %d\n", n);
	return rc ? 2 : 0;
}
