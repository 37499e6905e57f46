/* test_report_cli.c - tokenguard-report end to end: records written with
 * the ledger API, then read back by the built binary (build/tokenguard-report,
 * or $TG_REPORT_BIN).  Skipped when the binary has not been built. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

static char dir[64];

static void put(struct tg_ledger *l, int64_t ts, const char *provider, const char *model,
                int64_t in, int64_t out, double cost, uint32_t flags, const char *tags)
{
	struct tg_record r = tgt_record(ts, provider, model, "py\"thon", tags, in, out, cost, flags);

	if (in >= 0) {
		r.counts.cached_input = 0;
		r.counts.cache_creation = 0;
	}
	r.latency_ms = 250;
	r.ttft_ms = -1;
	r.pid = 77;
	r.status = 200;
	snprintf(r.host, sizeof r.host, "api.example.com");
	snprintf(r.endpoint, sizeof r.endpoint, "/v1/chat/completions");
	snprintf(r.request_id, sizeof r.request_id, "req-1");
	tgt_put_record(l, &r);
}

static void setup(void)
{
	struct tg_ledger *l;

	tgt_report_bin();  /* skips the test before any work when it is not built */
	tgt_tmpdir(dir, sizeof dir, "tg-report-cli");
	/* The ledger's own machine, for records that name none. */
	setenv("TOKENGUARD_MACHINE", "box-1", 1);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	/* 2026-11-22T08:33:11.123456Z and a day earlier */
	put(l, INT64_C(1795336391123456), "openai", "gpt-4o", 1000, 100, 0.0035, TG_REC_STREAM,
	    "team=search,env=prod");
	put(l, INT64_C(1795249991000000), "anthropic", "claude-sonnet-4-5", 2000, 200, 0.009, 0, "");
	put(l, INT64_C(1795336392000000), "acme", "mystery-1", 10, 5, 0, TG_REC_UNPRICED, "");
	put(l, INT64_C(1795336393000000), "openai", "gpt-4o", -1, -1, 0, TG_REC_USAGE_UNKNOWN, "");
	tg_ledger_close(l);
}

static void teardown(void)
{
	unsetenv("TOKENGUARD_MACHINE");
	tgt_rmtree(dir);
}

/* Runs the report with args; returns its exit status, output in out. */
static int run(const char *args, char *out, size_t n)
{
	return tgt_run_report(NULL, out, n, "%s", args);
}

TestSuite(report_cli, .init = setup, .fini = teardown);

Test(report_cli, lists_records_as_jsonl_with_the_documented_fields)
{
	char out[8192], args[256];

	snprintf(args, sizeof args, "records --ledger %s --since 2026-11-22 --until 2026-11-22T08:33:12Z", dir);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert_eq(tgt_mask_ids(out), 1, "%s", out);
	cr_assert_str_eq(out,
		"{\"ts\":\"2026-11-22T08:33:11.123Z\",\"provider\":\"openai\",\"host\":\"api.example.com\","
		"\"endpoint\":\"/v1/chat/completions\",\"model\":\"gpt-4o\",\"status\":200,\"stream\":true,"
		"\"input_tokens\":1000,\"output_tokens\":100,\"cached_input_tokens\":0,"
		"\"cache_creation_input_tokens\":0,\"reasoning_tokens\":null,\"cost_usd\":0.0035,"
		"\"unpriced\":false,\"latency_ms\":250,\"ttft_ms\":null,\"pid\":77,\"process\":\"py\\\"thon\","
		"\"tags\":{\"team\":\"search\",\"env\":\"prod\"},\"request_id\":\"req-1\",\"response_id\":null,"
		"\"incomplete\":false,\"usage_unknown\":false,\"blocked\":false,\"downgraded\":false,"
		"\"clamped\":false,\"requested_model\":null,\"policy\":null,\"too_large\":false,"
		"\"operation\":null,\"error\":null,\"cost_estimated\":false,\"machine\":\"box-1\","
		"\"id\":\"ID\"}\n");
}

Test(report_cli, lists_records_as_csv_with_a_header)
{
	char out[8192], args[256];

	snprintf(args, sizeof args, "records --ledger %s --format csv --until 2026-11-22T00:00:00Z", dir);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert_eq(tgt_mask_ids(out), 1, "%s", out);
	cr_assert_str_eq(out,
		"ts,provider,host,endpoint,model,status,stream,input_tokens,output_tokens,"
		"cached_input_tokens,cache_creation_input_tokens,reasoning_tokens,cost_usd,unpriced,"
		"latency_ms,ttft_ms,pid,process,tags,request_id,response_id,incomplete,usage_unknown,"
		"blocked,downgraded,clamped,requested_model,policy,too_large,operation,error,cost_estimated,"
		"machine,id\r\n"
		"2026-11-21T08:33:11.000Z,anthropic,api.example.com,/v1/chat/completions,"
		"claude-sonnet-4-5,200,false,2000,200,0,0,,0.009,false,250,,77,\"py\"\"thon\",,req-1,,"
		"false,false,false,false,false,,,false,,,false,box-1,ID\r\n");
}

Test(report_cli, summarises_with_totals_and_says_what_is_left_out)
{
	char out[8192], args[256];

	snprintf(args, sizeof args, "--ledger %s --by provider", dir);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "TOTAL"), "%s", out);
	cr_assert_not_null(strstr(out, "note: 1 call unpriced: cost unknown for model mystery-1"), "%s", out);
	cr_assert_not_null(strstr(out, "1 call without usage"), "%s", out);
	/* Some calls of the total have no cost: a lower bound, said as one,
	 * with how many calls it leaves out; a row that knows nothing of a
	 * count says "?" and for how many calls. */
	cr_assert_not_null(strstr(out, ">=$0.0125 (2?)"), "%s", out);
	cr_assert_not_null(strstr(out, ">=3315 (1?)"), "tokens = input + output: %s", out);
	cr_assert_not_null(strstr(out, "? (4?)"), "%s", out);
	cr_assert_not_null(strstr(out, "?: not known; >=: at least, the sum leaving out the calls "
	                          "whose count or cost is unknown; (N?): how many calls of the row "
	                          "those are\n"), "%s", out);
	cr_assert_null(strstr(out, "*"), "%s", out);
}

Test(report_cli, summarises_as_json)
{
	char out[8192], args[256];

	snprintf(args, sizeof args, "--ledger %s --by day,tag:team --format json", dir);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\"group_by\":[\"day\",\"tag:team\"]"), "%s", out);
	cr_assert_not_null(strstr(out, "{\"day\":\"2026-11-22\",\"tag:team\":\"search\",\"calls\":1,"), "%s", out);
	cr_assert_not_null(strstr(out, "\"total\":{\"calls\":4,"), "%s", out);
}

Test(report_cli, fails_clearly_on_a_missing_ledger)
{
	char out[4096];
	static const char want[] = "tokenguard-report: /nonexistent/tokenguard: no ledger found; ";

	cr_assert_eq(run("--ledger /nonexistent/tokenguard", out, sizeof out), 2);
	cr_assert_eq(strncmp(out, want, sizeof want - 1), 0, "%s", out);
}

Test(report_cli, fails_clearly_on_bad_flags)
{
	char out[4096], args[256];

	cr_assert_eq(run("--frobnicate", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: unknown option --frobnicate; see --help\n");
	snprintf(args, sizeof args, "--ledger %s --since tomorrow", dir);
	cr_assert_eq(run(args, out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "--since \"tomorrow\" is not a date"));
	snprintf(args, sizeof args, "--ledger %s --format jsonl", dir);
	cr_assert_eq(run(args, out, sizeof out), 2);
	cr_assert_eq(run("bogus", out, sizeof out), 2);
}

Test(report_cli, fails_clearly_on_a_corrupt_ledger)
{
	char out[4096], args[256], path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	for (int i = 0; i < 4096; i++)
		putc(i * 7, f);
	fclose(f);
	snprintf(args, sizeof args, "--ledger %s", dir);
	cr_assert_eq(run(args, out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "damaged or is not a tokenguard ledger; "), "%s", out);
}

Test(report_cli, prints_its_version)
{
	char out[256];

	cr_assert_eq(run("--version", out, sizeof out), 0);
	cr_assert_eq(strncmp(out, "tokenguard-report ", 18), 0);
}

/* Runs the report on a ledger that does not exist: every message must be
 * about the flag, not about the missing ledger. */
static void flag_fails(const char *args, const char *want)
{
	char out[4096], cmd[512];

	snprintf(cmd, sizeof cmd, "%s --ledger /nonexistent/tokenguard", args);
	cr_assert_eq(run(cmd, out, sizeof out), 2, "%s: %s", args, out);
	cr_assert_not_null(strstr(out, want), "%s: got %s", args, out);
	cr_assert_null(strstr(out, "no ledger"), "%s: %s", args, out);
}

Test(report_cli, validates_every_flag_before_looking_for_the_ledger)
{
	flag_fails("--by foo", "tokenguard-report: --by: unknown key \"foo\" (use provider, model, "
	           "host, endpoint, day, week, month, hour, process, operation, session, block, "
	           "machine or tag:NAME); see --help\n");
	flag_fails("summary --by model,", "--by: empty key after ','");
	flag_fails("records --format xml", "records cannot be written as \"xml\"");
	flag_fails("summary --format jsonl", "summary cannot be written as \"jsonl\"");
	flag_fails("--since tomorrow", "--since \"tomorrow\" is not a date");
	flag_fails("daily --timezone Nowhere/City", "--timezone \"Nowhere/City\" is no zone");
	flag_fails("daily --sort price", "--sort \"price\" is not cost, calls or tokens");
	flag_fails("records --breakdown", "--breakdown does not apply to records");
	flag_fails("records --until 2026-13-01", "--until \"2026-13-01\" is not a date");
	flag_fails("records --since 2026-11-23 --until 2026-11-22",
	           "tokenguard-report: the period is empty: --since \"2026-11-23\" "
	           "(2026-11-23T00:00:00.000Z) is not before --until \"2026-11-22\" "
	           "(2026-11-23T00:00:00.000Z); swap them or widen the period\n");
	flag_fails("--today --until 2000-01-01", "the period is empty: --today (");
	flag_fails("check --max-usd 1 --since 1h --until 2h", "the period is empty");
	flag_fails("check --max-usd 1e308", "--max-usd \"1e308\" is not a non-negative number of "
	           "dollars up to 1000000000");
	flag_fails("check --max-tokens 2000000000M", "up to 1000000000000000");
	flag_fails("--strict", "--strict does not apply to summary; drop it");
	flag_fails("budget status --format csv", "budget cannot be written as \"csv\"");
	flag_fails("budget alerts --since nope", "--since \"nope\" is not a date");
	flag_fails("budget status --since 1d", "--since, --until and --today apply to budget alerts "
	           "only; drop them");
	flag_fails("budget set x global,day,usd=1e308,block", "usd=1e308: out of range");
}

/* Adds r to the test's ledger. */
static void append(const struct tg_record *r)
{
	struct tg_ledger *l;

	cr_assert_eq(tg_ledger_open(&l, dir, 0), 0);
	tgt_put_record(l, r);
	tg_ledger_close(l);
}

Test(report_cli, defuses_formulas_in_csv_but_not_in_json)
{
	/* 2026-11-23T00:00:00Z */
	struct tg_record r = tgt_record(INT64_C(1795392000000000), "openai", "=1+2", "@evil",
	                                "-k=+v", 7, 3, 0.5, 0);
	char out[8192], args[256];

	snprintf(r.request_id, sizeof r.request_id, "-cmd");
	append(&r);

	snprintf(args, sizeof args, "records --ledger %s --format csv --since 2026-11-23", dir);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\r\n2026-11-23T00:00:00.000Z,openai,,,'=1+2,0,false,7,3,"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, ",0.5,false,0,0,0,'@evil,'-k=+v,'-cmd,,false,"), "%s", out);
	snprintf(args, sizeof args, "--ledger %s --format csv --by model,process,tag:-k "
	         "--since 2026-11-23", dir);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "model,process,tag:-k,calls,"), "%s", out);
	cr_assert_not_null(strstr(out, "\r\n'=1+2,'@evil,'+v,1,7,"), "%s", out);
	snprintf(args, sizeof args, "records --ledger %s --since 2026-11-23", dir);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\"model\":\"=1+2\""), "%s", out);
	cr_assert_not_null(strstr(out, "\"process\":\"@evil\",\"tags\":{\"-k\":\"+v\"},"
	                          "\"request_id\":\"-cmd\""), "%s", out);
}

/* A stream that ended in the provider's error event: the error's name in
 * JSON and CSV. */
/* `records` of 2026-11-23 on, in format; its output in out. */
static void records_of_nov23(const char *format, char *out, size_t n)
{
	char args[256];

	snprintf(args, sizeof args, "records --ledger %s --since 2026-11-23 --format %s", dir, format);
	cr_assert_eq(run(args, out, n), 0, "%s", out);
}

Test(report_cli, shows_the_error_a_stream_ended_in)
{
	/* 2026-11-23T00:00:00Z */
	struct tg_record r = tgt_record(INT64_C(1795392000000000), "anthropic", "claude-sonnet-4-5", "agent",
	                                "", 12, -1, 0.00004, TG_REC_STREAM | TG_REC_INCOMPLETE | TG_REC_STREAM_ERROR);
	char out[8192], args[256];

	snprintf(r.error, sizeof r.error, "overloaded_error");
	append(&r);

	records_of_nov23("jsonl", out, sizeof out);
	cr_assert_not_null(strstr(out, "\"output_tokens\":null,"), "%s", out);
	cr_assert_not_null(strstr(out, "\"incomplete\":true,"), "%s", out);
	cr_assert_not_null(strstr(out, ",\"error\":\"overloaded_error\",\"cost_estimated\":false,"),
	                   "%s", out);
	records_of_nov23("csv", out, sizeof out);
	cr_assert_not_null(strstr(out, ",overloaded_error,false,"), "%s", out);
	/* the other calls name no error */
	snprintf(args, sizeof args, "records --ledger %s --until 2026-11-22T12:00:00Z --format jsonl", dir);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, ",\"error\":null,\"cost_estimated\":false,\"machine\":\"box-1\","), "%s", out);
	cr_assert_null(strstr(out, "\"error\":\""), "%s", out);
}

/* --by machine on one ledger: a record naming no machine is the ledger's
 * own (TOKENGUARD_MACHINE here), one naming another keeps it. */
Test(report_cli, groups_by_machine_the_ledgers_own_for_records_naming_none)
{
	char out[4096], args[512];
	struct tg_ledger *l;
	struct tg_record r = tgt_record(INT64_C(1795336394000000), "openai", "gpt-4o", "", "", 7, 3,
	                                0.5, 0);

	strcpy(r.machine, "web-2");
	cr_assert_eq(tg_ledger_open(&l, dir, 0), 0);
	tgt_put_record(l, &r);
	tg_ledger_close(l);
	snprintf(args, sizeof args, "--by machine --format csv --ledger %s", dir);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "\r\nbox-1,4,") != NULL, "%s", out);
	cr_assert(strstr(out, "\r\nweb-2,1,7,") != NULL, "%s", out);
}

/* --fleet where it means nothing, or without a database, is refused
 * before anything is read. */
Test(report_cli, fleet_is_refused_where_it_means_nothing)
{
	char out[4096], args[512];

	unsetenv("TOKENGUARD_FLEET_POSTGRES");
	snprintf(args, sizeof args, "budget list --fleet --ledger %s", dir);
	cr_assert_eq(run(args, out, sizeof out), 2, "%s", out);
	cr_assert_str_eq(out, "tokenguard-report: --fleet does not apply to budget; drop it\n");
	snprintf(args, sizeof args, "watch --fleet --ledger %s", dir);
	cr_assert_eq(run(args, out, sizeof out), 2, "%s", out);
	snprintf(args, sizeof args, "--postgres x --ledger %s", dir);
	cr_assert_eq(run(args, out, sizeof out), 2, "%s", out);
	cr_assert_str_eq(out, "tokenguard-report: --postgres applies to sync and --fleet; drop it\n");
	snprintf(args, sizeof args, "--fleet --ledger %s", dir);
	cr_assert_eq(tgt_run_report("XDG_CONFIG_HOME=/nonexistent", out, sizeof out, "%s", args), 2,
	             "%s", out);
	cr_assert(strstr(out, "--fleet reads the fleet's PostgreSQL: set fleet_postgres") != NULL,
	          "%s", out);
	snprintf(args, sizeof args, "--fleet --postgres 'host=127.0.0.1 port=1' --ledger %s", dir);
	cr_assert_eq(run(args, out, sizeof out), 2, "%s", out);
	cr_assert(strstr(out, "tokenguard-report: --fleet: PostgreSQL: ") == out, "%s", out);
	snprintf(args, sizeof args, "sync --ledger %s --postgres 'host=127.0.0.1 port=1'", dir);
	cr_assert_eq(run(args, out, sizeof out), 2, "%s", out);
	cr_assert(strstr(out, "records wait in the ledger") != NULL, "%s", out);
}
