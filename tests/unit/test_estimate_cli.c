/* test_estimate_cli.c - `tokenguard-report estimate` end to end through the
 * built binary (build/tokenguard-report, or $TG_REPORT_BIN): the JSON
 * document's shape and values, the table's marks for an estimated input,
 * an unknown output and a model without a price, the user's price file,
 * --budget's verdicts over a ledger of the test's own and the exit
 * statuses.  Skipped when the binary has not been built.  Every run has
 * the environment's budgets and price files taken away, so that only what
 * a test sets counts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "ledger_budget.h"

static char dir[64], ledger[128], env[512], out[32768];

static void setup(void)
{
	tgt_report_bin();
	tgt_tmpdir(dir, sizeof dir, "tg-estimate-cli");
	snprintf(ledger, sizeof ledger, "%s/ledger", dir);
	snprintf(env, sizeof env, "env -u TOKENGUARD_BUDGETS -u TOKENGUARD_PRICES "
	         "XDG_CONFIG_HOME=%s/config TOKENGUARD_LEDGER=%s", dir, ledger);
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(estimate_cli, .init = setup, .fini = teardown);

/* Runs estimate with args (after the hermetic environment and extra, an
 * env(1) assignment or ""); returns the exit status, output in out. */
static int run(const char *extra, const char *args)
{
	char prefix[1024];

	snprintf(prefix, sizeof prefix, "%s %s", env, extra);
	return tgt_run_report(prefix, out, sizeof out, "estimate %s", args);
}

#define HAS(s) cr_assert_not_null(strstr(out, s), "no %s in:\n%s", s, out)

Test(estimate_cli, json_of_a_priced_call)
{
	cr_assert_eq(run("", "--model gpt-4o-2024-08-06 --input-tokens 12k --output-tokens 800 --json"), 0,
	             "%s", out);
	/* gpt-4o: $2.50 in, $10 out a million (ledger/prices.tsv) */
	HAS("{\"model\":\"gpt-4o-2024-08-06\",\"provider\":\"openai\",\"family\":\"gpt-4o\","
	    "\"priced\":true,\"price_line\":{\"provider\":\"openai\",\"family\":\"gpt-4o\","
	    "\"source\":\"built-in\",\"date\":\"2024-10-01\",\"input_per_million\":2.5,"
	    "\"output_per_million\":10,\"tier\":\"base\",\"long_threshold\":null},"
	    "\"price_table\":{\"version\":\"");
	HAS("\"user_file\":null},\"input_tokens\":12000,\"input_tokens_estimated\":false,"
	    "\"input_bytes\":null,\"bytes_per_token\":null,\"output_tokens\":800,\"input_usd\":0.03,"
	    "\"output_usd\":0.008,\"total_usd\":0.038,\"total_covers\":\"input and output\","
	    "\"cost_estimated\":false}\n");
	cr_assert_null(strstr(out, "\"budget\""), "no budget without --budget: %s", out);
}

Test(estimate_cli, an_input_file_is_estimated_and_flagged)
{
	char path[160], args[320];
	FILE *f;

	snprintf(path, sizeof path, "%s/body.json", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	for (int i = 0; i < 1001; i++)
		fputs("abcd", f);          /* 4004 bytes: 1001 tokens */
	fclose(f);
	snprintf(args, sizeof args, "--model gpt-4o --input-file %s --json", path);
	cr_assert_eq(run("", args), 0, "%s", out);
	HAS("\"input_tokens\":1001,\"input_tokens_estimated\":true,\"input_bytes\":4004,"
	    "\"bytes_per_token\":4,\"output_tokens\":null,\"input_usd\":0.0025025,\"output_usd\":null,"
	    "\"total_usd\":0.0025025,\"total_covers\":\"input only\",\"cost_estimated\":true}");
	/* stdin, and the table's marks */
	snprintf(args, sizeof args, "--model gpt-4o --input-file - < %s", path);
	cr_assert_eq(run("", args), 0, "%s", out);
	HAS("input             ~1001          2.5         ~$0.0025\n");
	HAS("output                ?           10                ?  unknown: give --output-tokens N\n");
	HAS("total                                        ~$0.0025  input only\n");
	HAS("~ input: estimated from 4004 bytes at 4 bytes a token");
}

Test(estimate_cli, a_model_without_a_price_gets_the_shims_estimate)
{
	char prices[160], extra[256];
	FILE *f;

	snprintf(prices, sizeof prices, "%s/prices.tsv", dir);
	cr_assert_not_null(f = fopen(prices, "w"));
	fputs("openai\tzz-dear\t900\t1800\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x.example\n", f);
	fclose(f);
	snprintf(extra, sizeof extra, "TOKENGUARD_PRICES=%s", prices);
	/* the user's line is priced as such */
	cr_assert_eq(run(extra, "--model zz-dear --input-tokens 1000 --output-tokens 10 --json"), 0, "%s", out);
	HAS("\"priced\":true,\"price_line\":{\"provider\":\"openai\",\"family\":\"zz-dear\","
	    "\"source\":\"user\"");
	/* and a model without one at the provider's highest rates: that line's */
	cr_assert_eq(run(extra, "--model nope-1 --provider openai --input-tokens 1000 "
	                        "--output-tokens 10 --json"), 0, "%s", out);
	HAS("\"family\":null,\"priced\":false,\"price_line\":{\"provider\":\"openai\",\"family\":null,"
	    "\"source\":\"ceiling\",\"date\":null,\"input_per_million\":900,\"output_per_million\":1800,");
	HAS("\"input_usd\":0.9,\"output_usd\":0.018,\"total_usd\":0.918,"
	    "\"total_covers\":\"input and output\",\"cost_estimated\":true}");
	cr_assert_eq(run(extra, "--model nope-1 --provider openai --input-tokens 1000"), 0, "%s", out);
	HAS("estimate: nope-1 at openai: NO PRICE for this model.");
	HAS("input              1000          900           ~$0.90\n");
	HAS("~ cost: an estimate at openai's highest rates, not a price\n");
}

Test(estimate_cli, usage_errors_exit_2_saying_what_to_do)
{
	cr_assert_eq(run("", "--input-tokens 10"), 2);
	HAS("estimate needs the model: --model M");
	cr_assert_eq(run("", "--model gpt-4o"), 2);
	HAS("--input-tokens N or --input-file F");
	cr_assert_eq(run("", "--model gpt-4o --input-tokens 1 --input-file /dev/null"), 2);
	HAS(", not both");
	cr_assert_eq(run("", "--model gpt-4o --input-tokens ten"), 2);
	HAS("--input-tokens \"ten\" is not a whole number of tokens");
	cr_assert_eq(run("", "--model gpt-4o --input-tokens 1 --output-tokens -5"), 2);
	cr_assert_eq(run("", "--model gpt-4o --provider acme --input-tokens 1"), 2);
	HAS("unknown provider \"acme\"; tokenguard knows openai, azure-openai, anthropic");
	cr_assert_eq(run("", "--model openai/gpt-oss-120b --input-tokens 1"), 2);
	HAS("is priced by several providers (groq: openai/gpt-oss-120b, together: ");
	HAS("name the one the call goes to with --provider P");
	cr_assert_eq(run("", "--model nope-1 --input-tokens 1"), 2);
	HAS("no provider prices \"nope-1\"; name the provider the call goes to with --provider P");
	cr_assert_eq(run("", "--model gpt-4o --input-file /nonexistent/x"), 2);
	cr_assert_eq(run("", "--model gpt-4o --input-tokens 1 --max-usd 1"), 2);
	HAS("--max-usd does not apply to estimate");
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void put_policy(struct tg_ledger *l, const char *name, const char *spec)
{
	struct tg_policy p;
	char err[256];

	cr_assert_eq(tg_policy_parse(spec, &p, err, sizeof err), 0, "%s", err);
	snprintf(p.name, sizeof p.name, "%s", name);
	cr_assert_eq(tg_ledger_policy_put(l, &p), 0);
}

Test(estimate_cli, budget_verdicts_from_the_ledgers_spend)
{
	struct tg_ledger *l;
	struct tg_record r;

	cr_assert_eq(tg_ledger_open(&l, ledger, TG_LEDGER_CREATE), 0);
	r = tgt_record(now_us(), "openai", "gpt-4o", "app", "team=search", 1000, 100, 0.5, 0);
	tgt_put_record(l, &r);
	put_policy(l, "daily", "global,day,usd=1,block");
	put_policy(l, "search", "tag:team=search,day,usd=0.25,downgrade:gpt-4o-mini");
	put_policy(l, "ads", "tag:team=ads,day,usd=0,block");
	tg_ledger_close(l);

	/* team=search: the day's $0.50 is half the global limit and over
	 * search's: downgraded, not blocked; the ads policy does not govern. */
	cr_assert_eq(run("", "--model gpt-4o --input-tokens 10 --budget --tag team=search --json"), 0,
	             "%s", out);
	HAS("\"budget\":{\"at\":\"");
	HAS("\"verdict\":\"rewrite\",\"policy\":\"search\",\"downgrade_to\":\"gpt-4o-mini\","
	    "\"clamp_max_tokens\":null,\"ledger\":true,\"env_ignored\":false,\"policies\":["
	    "{\"name\":\"daily\",\"source\":\"ledger\",\"policy\":\"global,day,usd=1,block,name=daily\","
	    "\"scope\":\"global\",\"scope_value\":null,\"window\":\"day\",\"action\":\"block\","
	    "\"spend_usd\":0.5,\"spend_usd_estimated\":0,\"spend_tokens\":1100,\"limit_usd\":1,"
	    "\"limit_tokens\":null,\"percent_used\":50.0000,\"resets\":\"");
	HAS("\"verdict\":\"allow\",\"blocked_unpriced\":false,\"downgrade_to\":null,"
	    "\"clamp_max_tokens\":null,\"alerts\":[],\"note\":null},{\"name\":\"search\"");
	HAS("\"percent_used\":200.0000");
	HAS("\"verdict\":\"downgrade\",\"blocked_unpriced\":false,\"downgrade_to\":\"gpt-4o-mini\","
	    "\"clamp_max_tokens\":null,\"alerts\":[\"limit\"],\"note\":null}]}}\n");
	cr_assert_null(strstr(out, "\"ads\""), "%s", out);

	/* team=ads: blocked by a limit of 0, exit 1, and TOKENGUARD_BUDGETS
	 * policies come first, a session one at a new process's 0. */
	cr_assert_eq(run("TOKENGUARD_BUDGETS='global,session,tokens=5,clamp'",
	                 "--model gpt-4o --input-tokens 10 --budget --tag team=ads"), 1, "%s", out);
	HAS("NAME   SOURCE  SCOPE         WINDOW   SPEND                LIMIT    USED  VERDICT\n"
	    "env1   env     global        session  0 tok (new process)  5 tok    0.0%  "
	    "clamp max tokens to 5\n"
	    "ads    ledger  tag:team=ads  day      $0.00                $0.00  100.0%  block\n"
	    "daily  ledger  global        day      $0.50                $1.00   50.0%  allow\n");
	HAS("session window: the spend of the process making the call");
	HAS("verdict: block (policy ads): the shim would refuse the call, 429, nothing sent\n");

	/* no ledger: no stored policy, nothing spent */
	cr_assert_eq(run("TOKENGUARD_LEDGER=/nonexistent/ledger",
	                 "--model gpt-4o --input-tokens 10 --budget"), 0, "%s", out);
	HAS("(no ledger at /nonexistent/ledger: no stored policy, nothing spent)\n"
	    "no budget policy governs this call\nverdict: allow\n");
}
