/* cmd_check.c - `tokenguard-report check`: a gate for scripts and CI.
 * Sums the spend of the matching records in the period and exits 0 when it
 * is within --max-usd / --max-tokens, 1 when it is over, with one line
 * saying which; errors exit 2 like every command.  Calls whose cost or
 * token count is not known are named in a note, since the sums cannot
 * include them; with --strict they also exit 1, for gates that must not
 * pass on a partial sum. */
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "report.h"
#include "when.h"

#define CHECK_OVER 1

struct sums {
	const struct tg_filter *filter;
	double usd;
	int64_t tokens, calls, blocked, unpriced, usage_unknown, tokens_unknown;
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
	if (r->counts.input < 0 || r->counts.output < 0)
		s->tokens_unknown++;
	if (r->flags & TG_REC_USAGE_UNKNOWN)
		s->usage_unknown++;
	else if (r->flags & TG_REC_UNPRICED)
		s->unpriced++;
	else
		s->usd += r->cost_usd;
	return 0;
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

/* What --strict refuses, as the end of the one line: "; cost unknown for
 * ...".  Returns 1 when there is any. */
static int strict_reason(const struct sums *s, char *buf, size_t n)
{
	int64_t cost = s->unpriced + s->usage_unknown;
	int k = 0;

	buf[0] = '\0';
	if (cost)
		k = snprintf(buf, n, "; cost unknown for %lld %s (%lld unpriced, %lld without usage)",
		             (long long)cost, calls(cost), (long long)s->unpriced,
		             (long long)s->usage_unknown);
	if (s->tokens_unknown && k >= 0 && (size_t)k < n)
		snprintf(buf + k, n - (size_t)k, "; token count unknown for %lld %s",
		         (long long)s->tokens_unknown, calls(s->tokens_unknown));
	return cost || s->tokens_unknown;
}

static void spend_line(const struct tg_report *rep, const struct sums *s, int over_usd,
                       int over_tok, int unknown)
{
	char lim[64];
	FILE *f = rep->out;

	if (tg_decimal_shortest(rep->max_usd, lim, sizeof lim) < 0)
		snprintf(lim, sizeof lim, "?");
	fputs(over_usd || over_tok ? "tokenguard: over budget: " :
	      unknown ? "tokenguard: spend unknown (--strict): " : "tokenguard: ok: ", f);
	if (over_usd || over_tok) {
		if (over_usd)
			tg_decimal_fprintf(f, "$%.4f > $%s", s->usd, lim);
		if (over_tok)
			fprintf(f, "%s%lld tokens > %lld", over_usd ? " and " : "",
			        (long long)s->tokens, (long long)rep->max_tokens);
		return;
	}
	if (rep->max_usd >= 0) {
		tg_decimal_fprintf(f, "$%.4f of $%s", s->usd, lim);
		if (rep->max_usd > 0)
			tg_decimal_fprintf(f, " (%.1f%%)", 100 * s->usd / rep->max_usd);
	}
	if (rep->max_tokens >= 0) {
		fprintf(f, "%s%lld of %lld tokens", rep->max_usd >= 0 ? ", " : "",
		        (long long)s->tokens, (long long)rep->max_tokens);
		if (rep->max_tokens > 0)
			tg_decimal_fprintf(f, " (%.1f%%)",
			                   100.0 * (double)s->tokens / (double)rep->max_tokens);
	}
}

int tg_cmd_check(const struct tg_report *rep, struct tg_ledger *l)
{
	struct sums s = { .filter = &rep->filter };
	int over_usd, over_tok, unknown, rc;
	char when[2 * TG_WHEN_ISO_MAX + 16], reason[256];
	FILE *f = rep->out;

	if ((rc = tg_ledger_scan(l, rep->since_us, rep->until_us, add, &s)) != 0)
		return tg_report_ledger_fail(rep, rc);
	over_usd = rep->max_usd >= 0 && s.usd > rep->max_usd;
	over_tok = rep->max_tokens >= 0 && s.tokens > rep->max_tokens;
	unknown = rep->strict && strict_reason(&s, reason, sizeof reason);
	period(rep, when, sizeof when);

	spend_line(rep, &s, over_usd, over_tok, unknown);
	fprintf(f, " over %lld %s %s%s\n", (long long)s.calls, calls(s.calls), when,
	        unknown ? reason : "");
	if (!unknown && (s.unpriced || s.usage_unknown))
		fprintf(f, "tokenguard: note: cost unknown for %lld %s (%lld unpriced, %lld without "
		        "usage): not in the USD sum\n", (long long)(s.unpriced + s.usage_unknown),
		        calls(s.unpriced + s.usage_unknown), (long long)s.unpriced,
		        (long long)s.usage_unknown);
	if (s.blocked)
		fprintf(f, "tokenguard: note: %lld %s blocked by a budget policy: never sent, not counted\n",
		        (long long)s.blocked, calls(s.blocked));
	return over_usd || over_tok || unknown ? CHECK_OVER : 0;
}
