/* cmd_verify.c - `tokenguard-report verify`: checks the ledger against
 * itself (ledger_verify.h) without writing anything, and says what it
 * found, with what the records add up to by the rule of spend_rule.h
 * (the calls, tokens and cost summary and check report).  Exit 0 when
 * consistent, 1 when not; an unreadable ledger never gets here (main.c
 * exits 2 naming `tokenguard-report repair`). */
#include <stdio.h>
#include <string.h>

#include "emit.h"
#include "ledger_verify.h"
#include "money.h"
#include "price.h"
#include "report.h"

#define SHOWN_PROBLEMS 10
#define PROBLEM_MAX 512

struct found {
	char text[SHOWN_PROBLEMS][PROBLEM_MAX];
	int n;
};

static void note(void *ctx, const char *problem)
{
	struct found *f = ctx;

	if (f->n < SHOWN_PROBLEMS)
		snprintf(f->text[f->n++], PROBLEM_MAX, "%s", problem);
}

/* What the records add up to, by the rule summary and check use. */
static void print_sum(FILE *o, const struct tg_total *t)
{
	char usd[TG_MONEY_MAX];
	int64_t cost_unknown = tg_total_cost_unknown(t);

	if (tg_money_text(t->usd_known, usd, sizeof usd) < 0)
		snprintf(usd, sizeof usd, "$?");
	fprintf(o, "spend     %lld calls, %s%lld tokens, %s%s; %lld blocked (never sent)\n",
	        (long long)t->calls, t->tokens_unknown ? "at least " : "", (long long)t->tokens,
	        cost_unknown ? "at least " : "", usd, (long long)t->blocked);
	if (t->tokens_unknown || cost_unknown)
		fprintf(o, "          token count unknown for %lld, cost unknown for %lld "
		        "(%lld unpriced, %lld without usage)\n", (long long)t->tokens_unknown,
		        (long long)cost_unknown, (long long)t->unpriced, (long long)t->usage_unknown);
}

static void print_table(FILE *o, const struct tg_verify *v, const struct found *f)
{
	fprintf(o, "records   %lld checked, %lld undecodable", (long long)v->records,
	        (long long)v->records_bad);
	if (v->records_before)
		fprintf(o, ", %lld from before budgets (in no total)", (long long)v->records_before);
	fprintf(o, "\ntotals    %lld checked, %lld wrong or missing\n", (long long)v->totals,
	        (long long)v->totals_bad);
	fprintf(o, "policies  %lld checked, %lld unparsable\n", (long long)v->policies,
	        (long long)v->policies_bad);
	fprintf(o, "alerts    %lld checked, %lld undecodable\n", (long long)v->alerts,
	        (long long)v->alerts_bad);
	fprintf(o, "spools    %d file(s), %lld entries, %lld record(s) pending a fold; "
	        "%d damaged, %d torn, %d foreign\n", v->spool.files, (long long)v->spool.entries,
	        (long long)v->spool_pending, v->spool.damaged, v->spool.torn, v->spool.skipped);
	print_sum(o, &v->sum);
	fprintf(o, "problems  %lld\n", (long long)v->problems);
	for (int i = 0; i < f->n; i++)
		fprintf(o, "  %s\n", f->text[i]);
	if (v->problems > f->n)
		fprintf(o, "  ... and %lld more\n", (long long)(v->problems - f->n));
	if (v->problems)
		fputs("the ledger is inconsistent; `tokenguard-report repair` rebuilds it from "
		      "its records\n", o);
	else
		fputs("the ledger is consistent\n", o);
}

static void print_json(FILE *o, const struct tg_verify *v, const struct found *f)
{
	fprintf(o, "{\"consistent\":%s,\"records\":%lld,\"records_undecodable\":%lld,"
	        "\"records_before_budgets\":%lld,\"totals\":%lld,\"totals_wrong\":%lld,"
	        "\"policies\":%lld,\"policies_unparsable\":%lld,\"alerts\":%lld,"
	        "\"alerts_undecodable\":%lld,\"spool_files\":%d,\"spool_entries\":%lld,"
	        "\"spool_pending\":%lld,\"spool_undecodable\":%lld,\"spool_damaged\":%d,"
	        "\"spool_torn\":%d,\"spool_foreign\":%d,\"problems\":%lld",
	        v->problems ? "false" : "true", (long long)v->records, (long long)v->records_bad,
	        (long long)v->records_before, (long long)v->totals, (long long)v->totals_bad,
	        (long long)v->policies, (long long)v->policies_bad, (long long)v->alerts,
	        (long long)v->alerts_bad, v->spool.files, (long long)v->spool.entries,
	        (long long)v->spool_pending, (long long)v->spool_bad, v->spool.damaged,
	        v->spool.torn, v->spool.skipped, (long long)v->problems);
	fputs(",\"first_problems\":[", o);
	for (int i = 0; i < f->n; i++) {
		if (i)
			putc(',', o);
		tg_emit_json_str(o, f->text[i]);
	}
	putc(']', o);
	/* What the records add up to (spend_rule.h), after the fields of the
	 * first versions. */
	fprintf(o, ",\"calls\":%lld,\"blocked_calls\":%lld,\"tokens\":%lld,"
	        "\"tokens_unknown_calls\":%lld,\"cost_usd\":", (long long)v->sum.calls,
	        (long long)v->sum.blocked, (long long)v->sum.tokens,
	        (long long)v->sum.tokens_unknown);
	tg_emit_cost(o, v->sum.usd_known);
	fprintf(o, ",\"unpriced_calls\":%lld,\"usage_unknown_calls\":%lld",
	        (long long)v->sum.unpriced, (long long)v->sum.usage_unknown);
	fputs("}\n", o);
}

int tg_cmd_verify(const struct tg_report *rep, struct tg_ledger *l)
{
	struct tg_prices *prices;
	struct tg_verify v;
	struct found f;
	int rc;

	if (tg_report_load_prices(rep, &prices, "the model families of the totals"))
		return TG_EXIT_FAIL;
	memset(&f, 0, sizeof f);
	rc = tg_ledger_verify(l, prices, &v, note, &f);
	tg_prices_free(prices);
	if (rc)
		return tg_report_ledger_fail(rep, rc);
	if (rep->format == TG_FMT_JSON)
		print_json(rep->out, &v, &f);
	else
		print_table(rep->out, &v, &f);
	return v.problems ? 1 : 0;
}
