/* cmd_check.c - `tokenguard-report check`: a gate for scripts and CI.
 * Sums the spend of the matching records in the period and exits 0 when it
 * is within --max-usd / --max-tokens, 1 when it is over, with one line
 * saying which; errors exit 2 like every command.  Calls whose cost is not
 * known are named in a note, since the sum cannot include them. */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "when.h"

#define CHECK_OVER 1

struct sums {
	const struct tg_filter *filter;
	double usd;
	int64_t tokens, calls, blocked, unpriced, usage_unknown;
};

static int add(void *p, const struct tg_record *r)
{
	struct sums *s = p;

	if (!tg_filter_match(s->filter, r))
		return 0;
	if (r->flags & TG_REC_BLOCKED) {
		s->blocked++;
		return 0;
	}
	s->calls++;
	s->tokens += (r->counts.input > 0 ? r->counts.input : 0) +
	             (r->counts.output > 0 ? r->counts.output : 0);
	if (r->flags & TG_REC_USAGE_UNKNOWN)
		s->usage_unknown++;
	else if (r->flags & TG_REC_UNPRICED)
		s->unpriced++;
	else
		s->usd += r->cost_usd;
	return 0;
}

/* A limit as the user would write it: 0.05, not 0.050000. */
static void limit_text(double usd, char *buf, size_t n)
{
	int len = snprintf(buf, n, "%.9f", usd);

	while (len > 1 && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
}

static void period(const struct tg_report *rep, char *buf, size_t n)
{
	char a[TG_WHEN_ISO_MAX], b[TG_WHEN_ISO_MAX];

	tg_when_iso(rep->since_us, a);
	tg_when_iso(rep->until_us, b);
	if (rep->since_us > 0 && rep->until_us != INT64_MAX)
		snprintf(buf, n, "from %s until %s", a, b);
	else if (rep->since_us > 0)
		snprintf(buf, n, "since %s", a);
	else if (rep->until_us != INT64_MAX)
		snprintf(buf, n, "until %s", b);
	else
		snprintf(buf, n, "in the whole ledger");
}

static const char *calls(int64_t n)
{
	return n == 1 ? "call" : "calls";
}

int tg_cmd_check(const struct tg_report *rep, struct tg_ledger *l)
{
	struct sums s = { .filter = &rep->filter };
	int over_usd, over_tok, rc;
	char lim[64], when[2 * TG_WHEN_ISO_MAX + 16];
	FILE *f = rep->out;

	if ((rc = tg_ledger_scan(l, rep->since_us, rep->until_us, add, &s)) != 0)
		return tg_report_ledger_fail(rep, rc);
	over_usd = rep->max_usd >= 0 && s.usd > rep->max_usd;
	over_tok = rep->max_tokens >= 0 && s.tokens > rep->max_tokens;
	period(rep, when, sizeof when);
	limit_text(rep->max_usd, lim, sizeof lim);

	if (over_usd || over_tok) {
		fputs("tokenguard: over budget: ", f);
		if (over_usd)
			fprintf(f, "$%.4f > $%s", s.usd, lim);
		if (over_tok)
			fprintf(f, "%s%lld tokens > %lld", over_usd ? " and " : "",
			        (long long)s.tokens, (long long)rep->max_tokens);
	} else {
		fputs("tokenguard: ok: ", f);
		if (rep->max_usd >= 0) {
			fprintf(f, "$%.4f of $%s", s.usd, lim);
			if (rep->max_usd > 0)
				fprintf(f, " (%.1f%%)", 100 * s.usd / rep->max_usd);
		}
		if (rep->max_tokens >= 0) {
			fprintf(f, "%s%lld of %lld tokens", rep->max_usd >= 0 ? ", " : "",
			        (long long)s.tokens, (long long)rep->max_tokens);
			if (rep->max_tokens > 0)
				fprintf(f, " (%.1f%%)", 100.0 * (double)s.tokens / (double)rep->max_tokens);
		}
	}
	fprintf(f, " over %lld %s %s\n", (long long)s.calls, calls(s.calls), when);
	if (s.unpriced || s.usage_unknown)
		fprintf(f, "tokenguard: note: cost unknown for %lld %s (%lld unpriced, %lld without "
		        "usage): not in the USD sum\n", (long long)(s.unpriced + s.usage_unknown),
		        calls(s.unpriced + s.usage_unknown), (long long)s.unpriced,
		        (long long)s.usage_unknown);
	if (s.blocked)
		fprintf(f, "tokenguard: note: %lld %s blocked by a budget policy: never sent, not counted\n",
		        (long long)s.blocked, calls(s.blocked));
	return over_usd || over_tok ? CHECK_OVER : 0;
}
