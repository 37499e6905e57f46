/* test_report_agree.c - summary, check, budget status and verify give the
 * same calls, tokens and cost for one ledger, blocked calls apart: all
 * four take a record's amounts from spend_rule.h.  The ledger holds a
 * sent call, a blocked one, one without usage, a cut-off one with its
 * output unknown, an unpriced one, a sub-cent one and an error-ended
 * stream, with a model name longer than any fixed column.  End to end
 * through the built binary; skipped when it has not been built. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "fixture.h"
#include "ledger_impl.h"
#include "price.h"

#define LONG_MODEL "anthropic.claude-sonnet-4-5-20250929-v1:0-via-a-gateway-alias"
#define SENT 6
#define BLOCKED 1
#define TOKENS 1573        /* 1200 + 300 + 15 + 1 + 57: unknown counts left out */
#define COST 0.00460022    /* 0.0036 + 0.0009 + 0.00000022 + 0.0001 */

static char dir[64];

static int64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static struct tg_prices *prices;

/* Appended with the model family the report's price table gives, as the
 * shim's sink would: verify then finds every total right. */
static void put(struct tg_ledger *l, int64_t ts, const char *model, const char *asked,
                int64_t in, int64_t out, double cost, uint32_t flags)
{
	struct tg_record r = tgt_record(ts, "openai", model, "app", "team=a", in, out, cost, flags);

	snprintf(r.requested_model, sizeof r.requested_model, "%s", asked);
	r.status = flags & TG_REC_BLOCKED ? 429 : 200;
	r.latency_ms = 10;
	cr_assert_eq(tg_ledger_append_scoped(l, &r, tgl_record_family(prices, &r)), 0);
}

static void setup(void)
{
	struct tg_ledger *l;
	int64_t t = now_us() - 60 * INT64_C(1000000);

	char err[256];

	tgt_report_bin();
	cr_assert_eq(tg_prices_load(&prices, NULL, err, sizeof err), 0, "%s", err);
	tgt_tmpdir(dir, sizeof dir, "tg-agree");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	put(l, t + 1, "gpt-4.1-2025-04-14", "gpt-4.1", 1000, 200, 0.0036, 0);
	put(l, t + 2, "gpt-4.1", "", 800, 0, 0, TG_REC_BLOCKED);   /* never sent */
	put(l, t + 3, "gpt-4o", "", -1, -1, 0, TG_REC_USAGE_UNKNOWN);
	put(l, t + 4, LONG_MODEL, "", 300, -1, 0.0009, TG_REC_INCOMPLETE | TG_REC_STREAM);
	put(l, t + 5, "mystery-1", "", 10, 5, 0, TG_REC_UNPRICED);
	put(l, t + 6, "gpt-4.1-nano", "", 1, 0, 0.00000022, 0);
	put(l, t + 7, "gpt-4.1-2025-04-14", "gpt-4.1", 50, 7, 0.0001,
	    TG_REC_STREAM | TG_REC_STREAM_ERROR);
	tg_ledger_close(l);
	tg_prices_free(prices);
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(report_agree, .init = setup, .fini = teardown);

static int run(const char *args, char *out, size_t n)
{
	return tgt_run_report(NULL, out, n, "%s --ledger %s", args, dir);
}

/* The integer after "key": in s (from after), or -1. */
static long long int_after(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static double num_after(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	cr_assert_not_null(p, "no %s in %s", key, s);
	return strtod(p + strlen(key), NULL);
}

static void same_cost(double got, const char *who)
{
	cr_assert(got > COST * (1 - 1e-12) && got < COST * (1 + 1e-12), "%s: cost %.17g", who, got);
}

Test(report_agree, summary_check_budget_status_and_verify_agree)
{
	static char out[16384];
	const char *total;

	cr_assert_eq(run("summary --format json", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(total = strstr(out, "\"total\":{"), "%s", out);
	cr_assert_eq(int_after(total, "\"calls\":"), SENT, "%s", out);
	cr_assert_eq(int_after(total, "\"blocked_calls\":"), BLOCKED, "%s", out);
	cr_assert_eq(int_after(total, "\"tokens\":"), TOKENS, "%s", out);
	cr_assert_eq(int_after(total, "\"tokens_unknown_calls\":"), 2, "%s", out);
	same_cost(num_after(total, "\"cost_usd\":"), "summary");

	/* check: the same sums, said to be lower bounds */
	cr_assert_eq(run("check --max-usd 1 --max-tokens 100000", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "tokenguard: ok: at least $0.0046 of $1 (0.5%), "
	                          "at least 1573 of 100000 tokens (1.6%) over 6 calls"), "%s", out);
	cr_assert_not_null(strstr(out, "note: 1 call blocked by a budget policy"), "%s", out);

	/* budget status: the totals the shim keeps */
	cr_assert_eq(run("budget set all global,month,usd=1,warn", out, sizeof out), 0, "%s", out);
	cr_assert_eq(run("budget status --format json", out, sizeof out), 0, "%s", out);
	cr_assert_eq(int_after(out, "\"calls\":"), SENT, "%s", out);
	cr_assert_eq(int_after(out, "\"spend_tokens\":"), TOKENS, "%s", out);
	same_cost(num_after(out, "\"spend_usd\":"), "budget status");
	cr_assert_eq(int_after(out, "\"cost_unknown_calls\":"), 2, "%s", out);
	cr_assert_eq(int_after(out, "\"tokens_unknown_calls\":"), 2, "%s", out);
	cr_assert_eq(run("budget status", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "month    >=$0.0046 (2?)            $1.00 "), "%s", out);
	cr_assert_not_null(strstr(out, "\n?: not known; >=: at least"), "%s", out);

	/* verify: the records recounted */
	cr_assert_eq(run("verify --format json", out, sizeof out), 0, "%s", out);
	cr_assert_eq(int_after(out, "\"calls\":"), SENT, "%s", out);
	cr_assert_eq(int_after(out, "\"blocked_calls\":"), BLOCKED, "%s", out);
	cr_assert_eq(int_after(out, "\"tokens\":"), TOKENS, "%s", out);
	same_cost(num_after(out, "\"cost_usd\":"), "verify");
	cr_assert_eq(run("verify", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "spend     6 calls, at least 1573 tokens, at least $0.0046; "
	                          "1 blocked (never sent)\n"), "%s", out);
}

/* Where header word w ends in line 0 of a table, every row has the end
 * of its cell: a digit, a '?' or ')' there and a space or the end after. */
static void column_aligned(const char *table, const char *w, int rows)
{
	const char *nl = strchr(table, '\n'), *h = strstr(table, w), *line = table;
	size_t end;

	cr_assert(h && h < nl, "no %s in the header: %s", w, table);
	end = (size_t)(h - table) + strlen(w);
	for (int i = 0; i < rows; i++) {
		char c;

		line = strchr(line, '\n') + 1;
		c = line[end - 1];
		cr_assert((c >= '0' && c <= '9') || c == '?' || c == ')' || c == '-',
		          "%s misaligned in row %d: %s", w, i + 1, table);
		cr_assert(line[end] == ' ' || line[end] == '\n', "%s misaligned in row %d: %s", w,
		          i + 1, table);
	}
}

static void has_all(const char *out, const char *const *want)
{
	for (; *want; want++)
		cr_assert_not_null(strstr(out, *want), "no \"%s\" in\n%s", *want, out);
}

Test(report_agree, tables_mark_unknowns_blocked_and_cut_calls_and_stay_aligned)
{
	static char out[16384];

	cr_assert_eq(run("summary --by model", out, sizeof out), 0, "%s", out);
	column_aligned(out, "CALLS", 6);
	column_aligned(out, "BLOCKED", 6);
	column_aligned(out, "TOKENS", 6);
	column_aligned(out, "COST (USD)", 6);
	/* the blocked gpt-4.1 is in the row of the model served for it */
	cr_assert_eq(strstr(out, "gpt-4.1 "), NULL, "%s", out);
	cr_assert_not_null(strstr(out, "1 blocked call asked for gpt-4.1: shown in the row of "
	                          "gpt-4.1-2025-04-14"), "%s", out);
	has_all(out, (const char *const[]){ ">=$0.0046 (2?)", ">=1573 (2?)", "$0.00000022",
	                                    "? (1?)" /* gpt-4o knows nothing */, "cut 1",
	                                    "err 1", "\nMARKS: cut N", NULL });

	cr_assert_eq(run("records --format table", out, sizeof out), 0, "%s", out);
	column_aligned(out, "STATUS", 7);
	column_aligned(out, "OUTPUT", 7);
	column_aligned(out, "COST (USD)", 7);
	has_all(out, (const char *const[]){ "  blocked  ", "  cut  ", "  err  ", "  no-usage  ",
	                                    "  unpriced  ", "$0.00000022",
	                                    "\n?: not known; ~: an estimate, what budgets were charged.  MARKS: blocked", NULL });
}

/* Estimated costs (shim/estimate.h) are counted alike by the budget
 * totals, budget status, check and summary, and verify finds the totals
 * that hold them right: one priced call of $0.004, one without a price
 * estimated at $0.002, one without usage estimated at $0.001. */
Test(report_agree_estimates, budgets_check_and_summary_count_an_estimate_alike)
{
	char edir[64], out[8192];
	struct tg_ledger *l;
	int64_t t = now_us() - 60 * INT64_C(1000000);
	struct tg_record r[3] = {
		tgt_record(t + 1, "openai", "gpt-4.1", "app", "", 1000, 300, 0.004, 0),
		tgt_record(t + 2, "openai", "mystery-2", "app", "", 100, 20, 0.002,
		           TG_REC_UNPRICED | TG_REC_COST_ESTIMATE),
		tgt_record(t + 3, "openai", "gpt-4.1", "app", "", -1, -1, 0.001,
		           TG_REC_USAGE_UNKNOWN | TG_REC_STREAM | TG_REC_COST_ESTIMATE),
	};

	tgt_report_bin();
	tgt_tmpdir(edir, sizeof edir, "tg-agree-est");
	cr_assert_eq(tg_ledger_open(&l, edir, TG_LEDGER_CREATE), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(tg_ledger_append_scoped(l, &r[i], i == 1 ? "mystery-2" : "gpt-4.1"), 0);
	tg_ledger_close(l);

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --format json --ledger %s", edir), 0);
	cr_assert_float_eq(num_after(strstr(out, "\"total\""), "\"cost_usd\":"), 0.004, 1e-12, "%s", out);
	cr_assert_float_eq(num_after(strstr(out, "\"total\""), "\"estimated_cost_usd\":"), 0.003, 1e-12,
	                   "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --ledger %s", edir), 0);
	cr_assert_not_null(strstr(out, ">=$0.004 (2?) + ~$0.003"), "%s", out);
	cr_assert_not_null(strstr(out, "\n~: includes estimates"), "%s", out);
	cr_assert_not_null(strstr(out, "note: 2 of the calls of unknown cost estimated at ~$0.003 in all"),
	                   "%s", out);

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "check --max-usd 0.0065 --ledger %s", edir), 1);
	cr_assert_not_null(strstr(out, "tokenguard: over budget: ~$0.007 > $0.0065 over 3 calls"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "check --max-usd 1 --ledger %s", edir), 0);
	cr_assert_not_null(strstr(out, "tokenguard: ok: ~$0.007 of $1 (0.7%)"), "%s", out);

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "budget set est global,day,usd=0.01,block "
	                            "--ledger %s", edir), 0, "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "budget set allow global,day,usd=0.01,block,"
	                            "unpriced=allow --ledger %s", edir), 0, "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "budget status --format json --ledger %s",
	                            edir), 0);
	const char *est = strstr(out, "\"name\":\"est\""), *allow = strstr(out, "\"name\":\"allow\"");
	cr_assert(est && allow, "%s", out);
	cr_assert_float_eq(num_after(est, "\"spend_usd\":"), 0.007, 1e-12, "%s", out);
	cr_assert_float_eq(num_after(est, "\"spend_usd_estimated\":"), 0.003, 1e-12, "%s", out);
	cr_assert_float_eq(num_after(est, "\"percent_used\":"), 70.0, 1e-9, "%s", out);
	cr_assert_float_eq(num_after(allow, "\"spend_usd\":"), 0.004, 1e-12, "%s", out);
	cr_assert_float_eq(num_after(allow, "\"spend_usd_estimated\":"), 0, 1e-12, "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "budget status --ledger %s", edir), 0);
	cr_assert_not_null(strstr(out, "~$0.007 "), "%s", out);

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "verify --ledger %s", edir), 0, "%s", out);
	tgt_rmtree(edir);
}
