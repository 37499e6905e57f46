/* cmd_check.c - `tokenguard-report check`: a gate for scripts and CI.
 * Sums the spend of the matching records in the period (from the budget
 * totals where they answer: ledger_budget.h) and exits 0 when it
 * is within --max-usd / --max-tokens, 1 when it is over, with one line
 * saying which; errors exit 2 like every command.  Calls whose cost or
 * token count is not known are named in a note, since the sums cannot
 * include them (the sums then say "at least"); with --strict they also
 * exit 1, for gates that must not pass on a partial sum.  What a record
 * adds is the rule of spend_rule.h, as in summary and budget status: the
 * USD sum is the budgets' one, so the estimates the shim recorded for
 * such calls are in it, said "~" (shim/estimate.h), and a limit cannot be
 * slipped past with an unpriced model or a stream without usage.
 * No ledger (main.c passes NULL unless --require-ledger) is no spend.
 * --format json says the same as one object for machines. */
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "emit.h"
#include "ledger_budget.h"
#include "money.h"
#include "report.h"
#include "when.h"

#define CHECK_OVER 1

struct sums {
	double usd, usd_estimated;
	int64_t tokens, calls, blocked, unpriced, usage_unknown, tokens_unknown, unestimated;
};

static int match(void *filter, const struct tg_record *r)
{
	return tg_filter_match(filter, r);
}

/* The budget scope that holds exactly the records f accepts, when there
 * is one: no condition (global), or a single provider, process or tag
 * condition.  A model condition takes the price family the report sees,
 * which need not be the one the record's writer saw: it is not one. */
static int filter_scope(const struct tg_filter *f, struct tg_policy *p)
{
	const char *value = NULL;
	int conditions = (f->provider != NULL) + (f->process != NULL) + f->ntags;

	memset(p, 0, sizeof *p);
	/* a user id that may be kept as its hash is two tags, not one scope */
	if (f->model || conditions > 1 || (f->ntags && f->tag_hashed[0][0]))
		return 0;
	if (f->provider) {
		p->scope = TG_SCOPE_PROVIDER;
		value = f->provider;
	} else if (f->process) {
		p->scope = TG_SCOPE_PROCESS;
		value = f->process;
	} else if (f->ntags) {
		const char *eq = strchr(f->tag[0], '=');

		/* Only a well-formed k=v item is a tag scope (ledger_budget.h). */
		if (!eq || eq == f->tag[0] || strchr(f->tag[0], ','))
			return 0;
		p->scope = TG_SCOPE_TAG;
		value = f->tag[0];
	} else {
		p->scope = TG_SCOPE_GLOBAL;
		return 1;
	}
	if (!*value || strlen(value) >= sizeof p->scope_value)
		return 0;
	memcpy(p->scope_value, value, strlen(value) + 1);
	return 1;
}

/* The spend of the matching records of the period: from the budget
 * totals when they hold the answer (ledger_budget.h), else record by
 * record. */
static int sum(const struct tg_report *rep, struct tg_ledger *l, struct sums *s)
{
	struct tg_policy scope;
	struct tg_total t = { 0 };   /* not written when the sum fails early */
	int rc;

	memset(s, 0, sizeof *s);
	if (!l)
		return 0;
	rc = tg_ledger_sum(l, filter_scope(&rep->filter, &scope) ? &scope : NULL,
	                       rep->since_us, rep->until_us, tg_filter_text(&rep->filter), match,
	                       (void *)&rep->filter, &t, NULL);

	s->usd = t.usd_known + t.usd_estimated;
	s->usd_estimated = t.usd_estimated;
	s->unestimated = tg_total_cost_unestimated(&t);
	s->tokens = t.tokens;
	s->calls = t.calls;
	s->blocked = t.blocked;
	s->unpriced = t.unpriced;
	s->usage_unknown = t.usage_unknown;
	s->tokens_unknown = t.tokens_unknown;
	return rc;
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

/* "at least " before a sum that leaves unknowns out (spend_rule.h). */
static const char *at_least(int64_t unknown)
{
	return unknown > 0 ? "at least " : "";
}

static void spend_line(const struct tg_report *rep, const struct sums *s, int over_usd,
                       int over_tok, int unknown)
{
	char usd[TG_MONEY_MAX], lim[TG_MONEY_MAX];
	const char *usd_min = at_least(s->unestimated);
	const char *tok_min = at_least(s->tokens_unknown);
	FILE *f = rep->out;

	usd[0] = '~';
	if (tg_money_text(s->usd, usd + 1, sizeof usd - 1) < 0)
		snprintf(usd, sizeof usd, "$?");
	if (!(s->usd_estimated > 0))
		memmove(usd, usd + 1, strlen(usd));
	/* The limit is what a person wrote: shown exactly, not rounded. */
	if (tg_decimal_shortest(rep->max_usd, lim + 1, sizeof lim - 1) < 0)
		snprintf(lim + 1, sizeof lim - 1, "?");
	lim[0] = '$';
	fputs(over_usd || over_tok ? "tokenguard: over budget: " :
	      unknown ? "tokenguard: spend unknown (--strict): " : "tokenguard: ok: ", f);
	if (over_usd || over_tok) {
		if (over_usd)
			fprintf(f, "%s%s > %s", usd_min, usd, lim);
		if (over_tok)
			fprintf(f, "%s%s%lld tokens > %lld", over_usd ? " and " : "", tok_min,
			        (long long)s->tokens, (long long)rep->max_tokens);
		return;
	}
	if (rep->max_usd >= 0) {
		fprintf(f, "%s%s of %s", usd_min, usd, lim);
		if (rep->max_usd > 0)
			tg_decimal_fprintf(f, " (%.1f%%)", 100 * s->usd / rep->max_usd);
	}
	if (rep->max_tokens >= 0) {
		fprintf(f, "%s%s%lld of %lld tokens", rep->max_usd >= 0 ? ", " : "", tok_min,
		        (long long)s->tokens, (long long)rep->max_tokens);
		if (rep->max_tokens > 0)
			tg_decimal_fprintf(f, " (%.1f%%)",
			                   100.0 * (double)s->tokens / (double)rep->max_tokens);
	}
}

static void json_time_or_null(FILE *f, int64_t us, int64_t none)
{
	char iso[TG_WHEN_ISO_MAX];

	if (us == none) {
		fputs("null", f);
		return;
	}
	tg_when_iso(us, iso);
	tg_emit_json_str(f, iso);
}

static void json_reason(FILE *f, int *first, const char *reason)
{
	fputs(*first ? "" : ",", f);
	tg_emit_json_str(f, reason);
	*first = 0;
}

/* The result as one JSON object: what the lines say, for machines. */
static void check_json(const struct tg_report *rep, const struct tg_ledger *l,
                       const struct sums *s, int over_usd, int over_tok, int unknown)
{
	FILE *f = rep->out;
	int first = 1;

	fputs("{\"ok\":", f);
	fputs(over_usd || over_tok || unknown ? "false" : "true", f);
	fputs(",\"ledger\":", f);
	fputs(l ? "true" : "false", f);
	fputs(",\"since\":", f);
	json_time_or_null(f, rep->since_us, 0);
	fputs(",\"until\":", f);
	json_time_or_null(f, rep->until_us, INT64_MAX);
	fprintf(f, ",\"calls\":%lld,\"usd\":", (long long)s->calls);
	tg_emit_cost(f, s->usd);
	fputs(",\"usd_estimated\":", f);
	tg_emit_cost(f, s->usd_estimated);
	fprintf(f, ",\"tokens\":%lld,\"max_usd\":", (long long)s->tokens);
	tg_emit_limit(f, rep->max_usd);
	fputs(",\"max_tokens\":", f);
	tg_emit_count(f, rep->max_tokens, "null");
	fputs(",\"over\":[", f);
	if (over_usd)
		json_reason(f, &first, "usd");
	if (over_tok)
		json_reason(f, &first, "tokens");
	if (unknown)
		json_reason(f, &first, "unknown");
	fprintf(f, "],\"strict\":%s,\"unknown\":{\"unpriced\":%lld,\"usage_unknown\":%lld,"
	        "\"tokens_unknown\":%lld,\"usd_unestimated\":%lld},\"blocked\":%lld}\n",
	        rep->strict ? "true" : "false", (long long)s->unpriced,
	        (long long)s->usage_unknown, (long long)s->tokens_unknown,
	        (long long)s->unestimated, (long long)s->blocked);
}

int tg_cmd_check(const struct tg_report *rep, struct tg_ledger *l)
{
	struct sums s;
	int over_usd, over_tok, unknown, rc;
	char when[2 * TG_WHEN_ISO_MAX + 16], reason[256];
	FILE *f = rep->out;

	if ((rc = sum(rep, l, &s)) != 0)
		return tg_report_ledger_fail(rep, rc);
	over_usd = rep->max_usd >= 0 && s.usd > rep->max_usd;
	over_tok = rep->max_tokens >= 0 && s.tokens > rep->max_tokens;
	unknown = rep->strict && strict_reason(&s, reason, sizeof reason);
	period(rep, when, sizeof when);
	if (rep->format == TG_FMT_JSON) {
		check_json(rep, l, &s, over_usd, over_tok, unknown);
		return over_usd || over_tok || unknown ? CHECK_OVER : 0;
	}

	if (!l)
		fprintf(f, "tokenguard: note: no ledger at %s (no call recorded yet): no spend\n",
		        rep->dir);
	spend_line(rep, &s, over_usd, over_tok, unknown);
	fprintf(f, " over %lld %s %s%s\n", (long long)s.calls, calls(s.calls), when,
	        unknown ? reason : "");
	if (!unknown && (s.unpriced || s.usage_unknown))
		fprintf(f, "tokenguard: note: cost unknown for %lld %s (%lld unpriced, %lld without "
		        "usage): %s\n", (long long)s.unpriced + s.usage_unknown,
		        calls(s.unpriced + s.usage_unknown), (long long)s.unpriced,
		        (long long)s.usage_unknown, s.usd_estimated > 0
		        ? "in the USD sum at an estimate, as budgets count them (~)"
		        : "not in the USD sum");
	if (!unknown && s.tokens_unknown)
		fprintf(f, "tokenguard: note: token count unknown for %lld %s: not in the token sum\n",
		        (long long)s.tokens_unknown, calls(s.tokens_unknown));
	if (s.blocked)
		fprintf(f, "tokenguard: note: %lld %s blocked by a budget policy: never sent, not counted\n",
		        (long long)s.blocked, calls(s.blocked));
	return over_usd || over_tok || unknown ? CHECK_OVER : 0;
}
