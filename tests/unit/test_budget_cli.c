/* test_budget_cli.c - `tokenguard-report budget` end to end through the
 * built binary (build/tokenguard-report, or $TG_REPORT_BIN): set in both
 * forms, list, status with spend from records and the last blocked call,
 * reset, rm, env policies and the errors.  Skipped when the binary has not
 * been built. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "ledger_budget.h"

static char dir[64];

static void setup(void)
{
	tgt_report_bin();  /* skips the test before any work when it is not built */
	tgt_tmpdir(dir, sizeof dir, "tg-budget-cli");
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

/* Runs the report with args and env (a prefix such as "X=y", or ""). */
static int run_env(const char *env, const char *args, char *out, size_t n)
{
	char prefix[512];

	snprintf(prefix, sizeof prefix, "env -u TOKENGUARD_BUDGETS %s", env);
	return tgt_run_report(prefix, out, n, "%s --ledger %s/l", args, dir);
}

static int run(const char *args, char *out, size_t n)
{
	return run_env("", args, out, n);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void spend(double usd, int64_t tokens, const char *tags)
{
	struct tg_ledger *l;
	struct tg_record r = tgt_record(now_us(), "openai", "gpt-4o", "python3", tags, tokens, 0,
	                                usd, 0);
	char path[128];

	snprintf(path, sizeof path, "%s/l", dir);
	cr_assert_eq(tg_ledger_open(&l, path, TG_LEDGER_CREATE), 0);
	tgt_put_record(l, &r);
	tg_ledger_close(l);
}

static void blocked_alert(const char *policy)
{
	struct tg_ledger *l;
	struct tg_alert a;
	char path[128];

	snprintf(path, sizeof path, "%s/l", dir);
	cr_assert_eq(tg_ledger_open(&l, path, 0), 0);
	memset(&a, 0, sizeof a);
	a.window = a.alert_pct = a.repeat = -1;   /* not known, as an older writer left them */
	a.ts_us = INT64_C(1795336391000000);  /* 2026-11-22T08:33:11Z */
	a.level = TG_ALERT_BLOCKED;
	snprintf(a.policy, sizeof a.policy, "%s", policy);
	snprintf(a.process, sizeof a.process, "python3");
	snprintf(a.model, sizeof a.model, "gpt-4o");
	cr_assert_eq(tg_ledger_alert_add(l, &a), 0);
	tg_ledger_close(l);
}

TestSuite(budget_cli, .init = setup, .fini = teardown);

Test(budget_cli, read_commands_refuse_a_missing_ledger_and_set_creates_it)
{
	char out[4096];

	cr_assert_eq(run("budget list", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "tokenguard-report: "), "%s", out);
	cr_assert_not_null(strstr(out, "/l: no ledger found; set a policy with "
	                          "`tokenguard-report budget set`"), "%s", out);
	cr_assert_eq(run("budget status", out, sizeof out), 2);
	cr_assert_eq(run("budget rm x", out, sizeof out), 2);
	cr_assert_eq(run("budget set daily global,day,usd=5,block", out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out, "set daily: global,day,usd=5,block\n");
	cr_assert_eq(run("budget list", out, sizeof out), 0, "%s", out);
}

Test(budget_cli, sets_in_both_forms_and_lists_as_table_and_json)
{
	char out[8192];

	cr_assert_eq(run("budget set search --scope tag:team=search --window 24h --usd 0.5 "
	                 "--tokens 2M --action downgrade:gpt-4o-mini --alert 50% --fallback warn",
	                 out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out, "set search: tag:team=search,24h,usd=0.5,tokens=2000000,"
	                 "downgrade:gpt-4o-mini,fallback=warn,alert=50\n");
	cr_assert_eq(run("budget set all global,month,usd=200,block", out, sizeof out), 0, "%s", out);
	cr_assert_eq(run("budget set all global,month,usd=300,warn", out, sizeof out), 0, "%s", out);
	cr_assert_eq(run("budget list", out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out,
		"NAME                      SOURCE  POLICY\n"
		"all                       ledger  global,month,usd=300,warn\n"
		"search                    ledger  tag:team=search,24h,usd=0.5,tokens=2000000,"
		"downgrade:gpt-4o-mini,fallback=warn,alert=50\n");
	cr_assert_eq(run_env("TOKENGUARD_BUDGETS='provider:openai,session,usd=1,block'",
	                     "budget list --format json", out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out,
		"[\n{\"name\":\"all\",\"source\":\"ledger\",\"policy\":\"global,month,usd=300,warn\"},\n"
		"{\"name\":\"search\",\"source\":\"ledger\",\"policy\":\"tag:team=search,24h,usd=0.5,"
		"tokens=2000000,downgrade:gpt-4o-mini,fallback=warn,alert=50\"},\n"
		"{\"name\":\"env1\",\"source\":\"env\",\"policy\":\"provider:openai,session,usd=1,block\"}\n]\n");
	cr_assert_eq(run("budget set strict --scope global --window day --usd 1 --action block "
	                 "--unpriced block", out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out, "set strict: global,day,usd=1,block,unpriced=block\n");
	cr_assert_eq(run("budget list --unpriced allow", out, sizeof out), 2, "%s", out);
	cr_assert(strstr(out, "--unpriced apply to budget set only"), "%s", out);
}

Test(budget_cli, rejects_bad_policies_with_the_parser_message)
{
	char out[4096];

	cr_assert_eq(run("budget set bad global,day,usd=-1,block", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: budget set bad: usd=-1: a limit cannot be negative\n");
	cr_assert_eq(run("budget set bad tag:team,day,usd=1,block", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "expected tag:KEY=VALUE"), "%s", out);
	cr_assert_eq(run("budget set 'a b' global,day,usd=1,block", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "has a character other than"), "%s", out);
	cr_assert_eq(run("budget set x global,day,usd=1,block,name=y", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "drop name= from SPEC"), "%s", out);
	cr_assert_eq(run("budget set x --scope global --usd 1", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "needs --scope, --window and --action"), "%s", out);
	cr_assert_eq(run("budget set x global,day,usd=1,block --window day", out, sizeof out), 2);
	cr_assert_eq(run("budget list --usd 1", out, sizeof out), 2);
	cr_assert_eq(run("budget frob", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: unknown budget subcommand \"frob\"; use set, list, "
	                 "rm, reset, status or alerts\n");
	cr_assert_eq(run_env("TOKENGUARD_BUDGETS='global,week,usd=1,block'", "budget set ok "
	                     "global,day,usd=1,block", out, sizeof out), 0, "%s", out);
	cr_assert_eq(run_env("TOKENGUARD_BUDGETS='global,week,usd=1,block'", "budget status", out,
	                     sizeof out), 2);
	cr_assert_not_null(strstr(out, "TOKENGUARD_BUDGETS policy 1: unknown field \"week\""), "%s", out);
}

Test(budget_cli, shows_spend_state_reset_time_and_the_last_blocked_call)
{
	char out[8192];

	cr_assert_eq(run("budget set search tag:team=search,day,usd=1,block", out, sizeof out), 0);
	cr_assert_eq(run("budget set tok global,month,tokens=1000,warn,alert=50", out, sizeof out), 0);
	cr_assert_eq(run("budget set small global,day,usd=0.1,warn", out, sizeof out), 0);
	spend(0.25, 300, "team=search");
	spend(0.5, 400, "team=ads");
	blocked_alert("search");
	cr_assert_eq(run_env("TOKENGUARD_BUDGETS='global,session,usd=1,block'", "budget status",
	                     out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "search                ledger  tag:team=search           day"
	                          "      $0.25                     $1.00                     25.0%  "), "%s", out);
	cr_assert_not_null(strstr(out, "ok     2026-11-22T08:33:11.000Z python3 gpt-4o\n"), "%s", out);
	/* a token policy shows tokens, a USD policy dollars */
	cr_assert_not_null(strstr(out, "month    700 tok                   1000 tok                  70.0%"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, "day      $0.75                     $0.10                    750.0%"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, "alert  -\n"), "%s", out);
	cr_assert_not_null(strstr(out, "750.0%"), "%s", out);
	cr_assert_not_null(strstr(out, "over   -\n"), "%s", out);
	cr_assert_not_null(strstr(out, "env1                  env     global                    session"
	                          "  per process"), "%s", out);
	cr_assert_not_null(strstr(out, "note: session windows are counted inside each process"), "%s", out);

	cr_assert_eq(run("budget status --format json", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "{\"name\":\"search\",\"source\":\"ledger\",\"policy\":"
	                          "\"tag:team=search,day,usd=1,block\",\"scope\":\"tag:team=search\","
	                          "\"window\":\"day\",\"action\":\"block\",\"unpriced\":\"estimate\","
	                          "\"limit_usd\":1,\"limit_tokens\":null,\"spend_usd\":0.25,"
	                          "\"spend_usd_estimated\":0,\"spend_tokens\":300,"
	                          "\"calls\":1,\"percent_used\":25.0,\"window_start\":\""), "%s", out);
	cr_assert_not_null(strstr(out, "\"state\":\"ok\",\"cost_unknown_calls\":0,\"tokens_unknown_calls\":0,\"fleet\":null,\"alerts\":[],\"last_blocked\":{\"ts\":\"2026-11-22T08:33:11.000Z\","
	                          "\"pid\":0,\"process\":\"python3\",\"model\":\"gpt-4o\"}}"), "%s", out);

	cr_assert_eq(run("budget reset small", out, sizeof out), 0, "%s", out);
	cr_assert_eq(strncmp(out, "reset small: its day spend counts from 0 until ", 47), 0, "%s", out);
	cr_assert_eq(run("budget status", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "small                 ledger  global                    day"
	                          "      $0.00     "), "%s", out);
}

Test(budget_cli, removes_a_policy_once_and_explains_env_ones)
{
	char out[4096];

	cr_assert_eq(run("budget set gone global,day,usd=1,block", out, sizeof out), 0);
	cr_assert_eq(run("budget rm gone", out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out, "removed gone\n");
	cr_assert_eq(run("budget rm gone", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: no stored policy named gone; see "
	                 "`tokenguard-report budget list`\n");
	cr_assert_eq(run_env("TOKENGUARD_BUDGETS='global,day,usd=1,block'", "budget reset env1",
	                     out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "env1 is defined by TOKENGUARD_BUDGETS, not stored"), "%s", out);
	cr_assert_eq(run("budget set s global,session,usd=1,block", out, sizeof out), 0);
	cr_assert_eq(run("budget reset s", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "s has a session window"), "%s", out);
	cr_assert_eq(run("budget list", out, sizeof out), 0);
	cr_assert_null(strstr(out, "gone"), "%s", out);
}

Test(budget_cli, refuses_absurd_limits_and_prints_the_largest_in_full)
{
	char out[8192];

	cr_assert_eq(run("budget set x global,day,usd=1e308,block", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: budget set x: usd=1e308: out of range; use 0 to "
	                 "1000000000 dollars\n");
	cr_assert_eq(run("budget set x --scope global --window day --tokens 2000000000M --action warn",
	                 out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: budget set x: tokens=2000000000M: out of range; "
	                 "use 0 to 1000000000000000 tokens\n");
	cr_assert_eq(run("budget set max global,day,usd=1e9,tokens=1000000000M,block", out, sizeof out),
	             0, "%s", out);
	cr_assert_str_eq(out, "set max: global,day,usd=1000000000,tokens=1000000000000000,block\n");
	cr_assert_eq(run("budget status --format json", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\"limit_usd\":1000000000,\"limit_tokens\":1000000000000000,"),
	                   "%s", out);
	cr_assert_eq(run("budget status", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "$0.00 + 0 tok             $1,000,000,000.00 + 1000000000000000 tok"),
	                   "%s", out);

	cr_assert_eq(run("budget set tiny global,day,usd=1e-12,block", out, sizeof out), 0, "%s", out);
	cr_assert_eq(run("budget status --format json", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\"limit_usd\":1e-12,"), "not rounded to 0: %s", out);
	cr_assert_eq(run("budget status", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "  $0.000000000001  "), "not rounded to 0: %s", out);
}

static void add_alert(const char *policy, int level, int64_t ts, double usd, int64_t tokens,
                      const char *detail)
{
	struct tg_ledger *l;
	struct tg_alert a;
	char path[128];

	snprintf(path, sizeof path, "%s/l", dir);
	cr_assert_eq(tg_ledger_open(&l, path, TG_LEDGER_CREATE), 0);
	memset(&a, 0, sizeof a);
	a.window = a.alert_pct = a.repeat = -1;   /* not known, as an older writer left them */
	a.ts_us = ts;
	a.level = level;
	a.spend_usd = usd;
	a.spend_tokens = tokens;
	a.limit_usd = 1;
	a.limit_tokens = -1;
	a.window_start_us = ts - ts % (INT64_C(86400) * 1000000);
	a.pid = 4242;
	snprintf(a.policy, sizeof a.policy, "%s", policy);
	snprintf(a.process, sizeof a.process, "python3");
	snprintf(a.model, sizeof a.model, "gpt-4o");
	snprintf(a.detail, sizeof a.detail, "%s", detail);
	cr_assert_eq(tg_ledger_alert_add(l, &a), 0);
	tg_ledger_close(l);
}

#define NOV22_8H INT64_C(1795334400000000)  /* 2026-11-22T08:00:00Z */
#define MINUTE INT64_C(60000000)

Test(budget_cli, lists_the_alerts_of_the_ledger_as_table_and_json)
{
	char out[8192];

	cr_assert_eq(run("budget alerts", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "/l: no ledger found"), "%s", out);
	add_alert("daily", TG_ALERT_THRESHOLD, NOV22_8H, 0.8, 800, "80% of the limit reached");
	add_alert("daily", TG_ALERT_LIMIT, NOV22_8H + MINUTE, 1.0, 1000, "");
	blocked_alert("daily");  /* 08:33:11 */
	add_alert("other", TG_ALERT_FALLBACK, NOV22_8H + 60 * MINUTE, 0.25, 10, "body not rewritable");

	cr_assert_eq(run("budget alerts --timezone UTC", out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out,
		"TIME (UTC)                POLICY                LEVEL      SPEND                     "
		"LIMIT                       PID  PROCESS           MODEL                     DETAIL\n"
		"2026-11-22 08:00:00       daily                 threshold  $0.80                     "
		"$1.00                      4242  python3           gpt-4o                    "
		"80% of the limit reached\n"
		"2026-11-22 08:01:00       daily                 limit      $1.00                     "
		"$1.00                      4242  python3           gpt-4o                    -\n"
		"2026-11-22 08:33:11       daily                 blocked    $0.00 + 0 tok             "
		"$0.00 + 0 tok                 0  python3           gpt-4o                    -\n"
		"2026-11-22 09:00:00       other                 fallback   $0.25                     "
		"$1.00                      4242  python3           gpt-4o                    "
		"body not rewritable\n");

	cr_assert_eq(run("budget alerts --format json --since 2026-11-22T08:01:00Z "
	                 "--until 2026-11-22T09:00:00Z", out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out,
		"[\n{\"ts\":\"2026-11-22T08:01:00.000Z\",\"policy\":\"daily\",\"level\":\"limit\","
		"\"spend_usd\":1,\"spend_tokens\":1000,\"limit_usd\":1,\"limit_tokens\":null,"
		"\"window_start\":\"2026-11-22T00:00:00.000Z\",\"pid\":4242,\"process\":\"python3\","
		"\"model\":\"gpt-4o\",\"detail\":null,\"provider\":null,\"scope\":null,\"window\":null,"
		"\"alert_pct\":null,\"pct\":100,\"repeat\":false,\"message\":\"tokenguard: budget 'daily' "
		"reached its limit: spent $1.00 of $1.00 (100%); process python3 (pid 4242), model "
		"gpt-4o\"},\n"
		"{\"ts\":\"2026-11-22T08:33:11.000Z\",\"policy\":\"daily\",\"level\":\"blocked\","
		"\"spend_usd\":0,\"spend_tokens\":0,\"limit_usd\":0,\"limit_tokens\":0,"
		"\"window_start\":\"1970-01-01T00:00:00.000Z\",\"pid\":0,\"process\":\"python3\","
		"\"model\":\"gpt-4o\",\"detail\":null,\"provider\":null,\"scope\":null,\"window\":null,"
		"\"alert_pct\":null,\"pct\":100,\"repeat\":false,\"message\":\"tokenguard: budget 'daily' "
		"blocked a call: spent $0.00 of $0.00 and 0 of 0 tokens (100%); process python3, model "
		"gpt-4o\"}\n]\n");

	cr_assert_eq(run("budget alerts --since 2026-11-23", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\n(no alerts in this period)\n"), "%s", out);
	cr_assert_eq(run("budget alerts --format json --since 2026-11-23", out, sizeof out), 0);
	cr_assert_str_eq(out, "[]\n");
	cr_assert_eq(run("budget alerts extra", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: budget alerts takes no argument; see --help\n");
	cr_assert_eq(run("budget alerts --format csv", out, sizeof out), 2);
	cr_assert_eq(run("budget list --since 1d", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: --since, --until and --today apply to budget "
	                 "alerts only; drop them\n");
}

Test(budget_cli, status_lists_the_recent_alerts_of_each_policy)
{
	char out[16384];

	cr_assert_eq(run("budget set daily global,day,usd=1,block", out, sizeof out), 0, "%s", out);
	cr_assert_eq(run("budget set quiet global,month,usd=5,warn", out, sizeof out), 0, "%s", out);
	add_alert("daily", TG_ALERT_THRESHOLD, NOV22_8H, 0.8, 800, "");
	add_alert("daily", TG_ALERT_LIMIT, NOV22_8H + MINUTE, 1.0, 1000, "");
	blocked_alert("daily");
	cr_assert_eq(run("budget status --format json", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, ",\"alerts\":[{\"ts\":\"2026-11-22T08:00:00.000Z\","
	                          "\"level\":\"threshold\",\"spend_usd\":0.8,\"spend_tokens\":800,"
	                          "\"detail\":null},{\"ts\":\"2026-11-22T08:01:00.000Z\","
	                          "\"level\":\"limit\",\"spend_usd\":1,\"spend_tokens\":1000,"
	                          "\"detail\":null}],\"last_blocked\":{\"ts\":"
	                          "\"2026-11-22T08:33:11.000Z\","), "%s", out);
	cr_assert_not_null(strstr(out, "\"alerts\":[],\"last_blocked\":null}"), "%s", out);

	/* only the latest five, oldest first */
	for (int i = 0; i < 7; i++)
		add_alert("quiet", TG_ALERT_FALLBACK, NOV22_8H + (10 + i) * MINUTE, 0.01 * i, i, "fb");
	cr_assert_eq(run("budget status --format json", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\"alerts\":[{\"ts\":\"2026-11-22T08:12:00.000Z\",\"level\":"
	                          "\"fallback\",\"spend_usd\":0.02,\"spend_tokens\":2,\"detail\":\"fb\"}"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, "{\"ts\":\"2026-11-22T08:16:00.000Z\",\"level\":\"fallback\","
	                          "\"spend_usd\":0.06,\"spend_tokens\":6,\"detail\":\"fb\"}],"
	                          "\"last_blocked\":null}"), "%s", out);
	cr_assert_null(strstr(out, "08:11:00"), "%s", out);
}

Test(budget_cli, alerts_on_a_terminal_fit_its_width_aligned)
{
	char out[8192], *line, *save = NULL;
	long pid_end = -1;
	int lines = 0;

	add_alert("a-policy-with-a-long-descriptive-name", TG_ALERT_THRESHOLD, NOV22_8H, 0.8, 800,
	          "80% of the limit reached, and a detail long enough to need cutting");
	add_alert("daily", TG_ALERT_LIMIT, NOV22_8H + MINUTE, 1.0, 1000, "");
	cr_assert_eq(tgt_run_report_tty(150, out, sizeof out, "budget alerts --ledger %s/l", dir), 0,
	             "%s", out);
	/* the widest text column, DETAIL, is cut first; the policy's name
	 * keeps its width */
	cr_assert_not_null(strstr(out, "  a-policy-with-a-long-descriptive-name  "), "%s", out);
	cr_assert_not_null(strstr(out, "\xe2\x80\xa6\n"), "%s", out);
	cr_assert_null(strstr(out, "long enough to need cutting"), "%s", out);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* The PID column, right-aligned, ends at the same place on each line. */
		const char *pid = strstr(line, lines ? "4242  " : "PID  ");
		long end, cols = 0;

		cr_assert_not_null(pid, "%s", line);
		/* in characters: an ellipsis is three bytes, one column */
		end = -1;
		for (const char *p = line; *p; p++) {
			if (p == strchr(pid, ' '))
				end = cols;
			cols += ((unsigned char)*p & 0xC0) != 0x80;
		}
		cr_assert_leq(cols, 150, "wider than the terminal: %s", line);
		if (pid_end < 0)
			pid_end = end;
		cr_assert_eq(end, pid_end, "misaligned: %s", line);
		lines++;
	}
	cr_assert_eq(lines, 3);
}

Test(budget_cli, alerts_on_80_columns_leave_out_columns_and_say_which)
{
	char out[8192], *line, *save = NULL;
	int lines = 0;

	add_alert("a-policy-with-a-long-descriptive-name", TG_ALERT_THRESHOLD, NOV22_8H, 0.8, 800,
	          "80% of the limit reached, and a detail long enough to need cutting");
	cr_assert_eq(tgt_run_report_tty(80, out, sizeof out, "budget alerts --timezone UTC "
	                                "--ledger %s/l", dir), 0, "%s", out);
	cr_assert_not_null(strstr(out, "TIME (UTC)           POLICY  "), "%s", out);
	cr_assert_not_null(strstr(out, "\nHidden to fit 80 columns: LIMIT, PID, PROCESS, DETAIL "
	                          "(--format json has every column)\n"), "%s", out);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++) {
		long cols = 0;

		if (!strncmp(line, "Hidden to fit", 13))
			break;
		for (const char *p = line; *p; p++)
			cols += ((unsigned char)*p & 0xC0) != 0x80;
		cr_assert_leq(cols, 80, "wider than the terminal: %s", line);
	}
	cr_assert_eq(lines, 2);
}

Test(budget_cli, zoned_windows_set_show_and_reset_in_their_zone)
{
	char out[8192];

	cr_assert_eq(run("budget set ist global,day@Asia/Kolkata,usd=5,block", out, sizeof out), 0,
	             "%s", out);
	cr_assert_str_eq(out, "set ist: global,day@Asia/Kolkata,usd=5,block\n");
	cr_assert_eq(run("budget set la --scope global --window month@America/Los_Angeles --usd 9 "
	                 "--action warn", out, sizeof out), 0, "%s", out);
	cr_assert_eq(run("budget set bad global,day@No/Such_Zone,usd=5,block", out, sizeof out), 2);
	cr_assert(strstr(out, "budget set bad: unknown zone No/Such_Zone"), "%s", out);
	cr_assert_eq(run("budget set bad global,24h@Europe/Berlin,usd=5,block", out, sizeof out), 2);
	cr_assert(strstr(out, "a 24h window does not depend on a time zone"), "%s", out);
	spend(0.5, 10, "");
	cr_assert_eq(run("budget status --format json", out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "\"window\":\"day@Asia/Kolkata\""), "%s", out);
	cr_assert(strstr(out, "\"window\":\"month@America/Los_Angeles\""), "%s", out);
	/* India's days start at 18:30Z, Los Angeles's months at 07:00 or 08:00Z. */
	cr_assert(strstr(out, "T18:30:00.000Z\",\"resets\":"), "%s", out);
	cr_assert(strstr(out, "T08:00:00.000Z\",\"resets\":") ||
	          strstr(out, "T07:00:00.000Z\",\"resets\":"), "%s", out);
	cr_assert(strstr(out, "\"spend_usd\":0.5,"), "%s", out);
	cr_assert_eq(run("budget reset ist", out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "reset ist: its day@Asia/Kolkata spend counts from 0 until "), "%s", out);
	cr_assert(strstr(out, "T18:30:00.000Z\n"), "%s", out);
	/* The report's own TZ plays no part. */
	cr_assert_eq(run_env("TZ=Pacific/Honolulu", "budget status", out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "day@Asia/Kolkata"), "%s", out);
	cr_assert(strstr(out, "T18:30:00.000Z"), "%s", out);
	/* A policy whose zone cannot be read is said as such, not as a ledger error. */
	cr_assert_eq(run_env("TOKENGUARD_BUDGETS=global,day@Gone/Zone,usd=1,block",
	                     "budget status", out, sizeof out), 2, "%s", out);
	cr_assert(strstr(out, "policy env1: unknown zone Gone/Zone"), "%s", out);
}
