/* test_report_views.c - the views (daily, weekly, monthly, session,
 * blocks), --timezone and the TZ default, --breakdown, --order, --sort,
 * --limit and the date forms, end to end: records written with the ledger
 * API, read back by the built report.  Calls near midnight land on other
 * days in Asia/Tokyo (+09:00) and America/Los_Angeles (-08:00 in
 * November) than in UTC. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

static char dir[64];

static void put(struct tg_ledger *l, int64_t ts_s, const char *model, const char *process,
                int pid, double cost)
{
	struct tg_record r = tgt_record(ts_s * INT64_C(1000000), "openai", model, process, "",
	                                100, 10, cost, 0);

	r.pid = pid;
	r.counts.cached_input = 0;
	r.counts.cache_creation = 0;
	r.counts.reasoning = 0;
	tgt_put_record(l, &r);
}

/* UTC                      Tokyo              Los Angeles
 * 2026-11-21T23:30 agent   11-22 08:30        11-21 15:30   $0.01
 * 2026-11-22T14:30 agent   11-22 23:30        11-22 06:30   $0.02
 * 2026-11-22T14:50 agent   11-22 23:50        11-22 06:50   $0.02 (claude)
 * 2026-11-22T16:00 agent   11-23 01:00        11-22 08:00   $0.04
 * 2026-11-23T02:00 batch   11-23 11:00        11-22 18:00   $0.08 */
static void setup(void)
{
	struct tg_ledger *l;

	tgt_report_bin();
	tgt_tmpdir(dir, sizeof dir, "tg-report-views");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	put(l, 1795303800, "gpt-4o", "agent", 10, 0.01);
	put(l, 1795357800, "gpt-4o", "agent", 10, 0.02);
	put(l, 1795359000, "claude-sonnet-4-5", "agent", 10, 0.02);
	put(l, 1795363200, "gpt-4o", "agent", 10, 0.04);
	put(l, 1795399200, "gpt-4o", "batch", 20, 0.08);
	tg_ledger_close(l);
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(report_views, .init = setup, .fini = teardown);

/* The report with args (after the ledger option), env before it. */
static int run(const char *env, char *out, size_t n, const char *args)
{
	return tgt_run_report(env, out, n, "%s --ledger %s --format csv", args, dir);
}

/* The CSV rows are want, in that order; the notes (stderr, unbuffered,
 * so first) and the header line are skipped. */
static void expect_lines(const char *out, const char *const *want, size_t n)
{
	const char *p = out;

	while (!strncmp(p, "tokenguard-report: ", 19) && strchr(p, '\n'))
		p = strchr(p, '\n') + 1;
	p = strchr(p, '\n');   /* after the header */

	cr_assert_not_null(p, "%s", out);
	for (size_t i = 0; i < n; i++) {
		cr_assert(!strncmp(p + 1, want[i], strlen(want[i])), "row %zu: want %s in\n%s", i,
		          want[i], out);
		p = strchr(p + 1, '\n');
		cr_assert_not_null(p, "%s", out);
	}
	cr_assert_eq(p[1], '\0', "rows after the expected ones:\n%s", out);
}

Test(report_views, daily_in_utc)
{
	char out[4096];
	const char *want[] = { "2026-11-21,1,", "2026-11-22,3,", "2026-11-23,1," };

	cr_assert_eq(run("TZ=UTC", out, sizeof out, "daily"), 0, "%s", out);
	cr_assert(!strncmp(out, "day,calls,", 10), "%s", out);
	expect_lines(out, want, 3);
}

Test(report_views, daily_in_tokyo_puts_late_utc_calls_on_the_next_day)
{
	char out[4096];
	const char *want[] = { "2026-11-22,3,", "2026-11-23,2," };

	cr_assert_eq(run("TZ=UTC", out, sizeof out, "daily --timezone Asia/Tokyo"), 0, "%s", out);
	expect_lines(out, want, 2);
}

Test(report_views, daily_takes_the_zone_from_tz_by_default)
{
	char out[4096];
	const char *want[] = { "2026-11-21,1,", "2026-11-22,4," };

	cr_assert_eq(run("TZ=America/Los_Angeles", out, sizeof out, "daily"), 0, "%s", out);
	expect_lines(out, want, 2);
}

Test(report_views, timezone_option_wins_over_tz)
{
	char out[4096];
	const char *want[] = { "2026-11-22,3,", "2026-11-23,2," };

	cr_assert_eq(run("TZ=America/Los_Angeles", out, sizeof out, "daily --timezone Asia/Tokyo"),
	             0, "%s", out);
	expect_lines(out, want, 2);
}

Test(report_views, an_unknown_zone_is_refused)
{
	char out[4096];

	cr_assert_eq(run(NULL, out, sizeof out, "daily --timezone Mars/Olympus"), 2, "%s", out);
	cr_assert(strstr(out, "--timezone \"Mars/Olympus\" is no zone"), "%s", out);
	cr_assert_eq(run(NULL, out, sizeof out, "daily --timezone ../../etc/passwd"), 2, "%s", out);
}

Test(report_views, daily_breakdown_has_one_row_per_model)
{
	char out[4096];
	const char *want[] = { "2026-11-21,gpt-4o,1,", "2026-11-22,claude-sonnet-4-5,1,",
	                       "2026-11-22,gpt-4o,2,", "2026-11-23,gpt-4o,1," };

	cr_assert_eq(run("TZ=UTC", out, sizeof out, "daily --breakdown"), 0, "%s", out);
	cr_assert(!strncmp(out, "day,model,calls,", 16), "%s", out);
	expect_lines(out, want, 4);
}

Test(report_views, weekly_uses_iso_weeks_of_the_zone)
{
	char out[4096];
	const char *utc[] = { "2026-W47,4,", "2026-W48,1," };
	const char *tokyo[] = { "2026-W47,3,", "2026-W48,2," };

	cr_assert_eq(run("TZ=UTC", out, sizeof out, "weekly"), 0, "%s", out);
	expect_lines(out, utc, 2);
	cr_assert_eq(run("TZ=UTC", out, sizeof out, "weekly --timezone Asia/Tokyo"), 0, "%s", out);
	expect_lines(out, tokyo, 2);
}

Test(report_views, monthly)
{
	char out[4096];
	const char *want[] = { "2026-11,5," };

	cr_assert_eq(run("TZ=UTC", out, sizeof out, "monthly"), 0, "%s", out);
	expect_lines(out, want, 1);
}

Test(report_views, session_is_a_process_run_split_at_a_long_gap)
{
	char out[4096];
	const char *want[] = { "2026-11-21T23:30+00:00 agent[10],1,",
	                       "2026-11-22T14:30+00:00 agent[10],2,",
	                       "2026-11-22T16:00+00:00 agent[10],1,",
	                       "2026-11-23T02:00+00:00 batch[20],1," };
	const char *tokyo[] = { "2026-11-22T08:30+09:00 agent[10],1," };

	cr_assert_eq(run("TZ=UTC", out, sizeof out, "session"), 0, "%s", out);
	expect_lines(out, want, 4);
	cr_assert_eq(run("TZ=UTC", out, sizeof out, "session --timezone Asia/Tokyo --limit 1"), 0,
	             "%s", out);
	expect_lines(out, tokyo, 1);
}

Test(report_views, blocks_are_five_hours_from_the_first_calls_hour)
{
	char out[4096];
	const char *want[] = { "2026-11-21T23:00+00:00,1,", "2026-11-22T14:00+00:00,3,",
	                       "2026-11-23T02:00+00:00,1," };

	cr_assert_eq(run("TZ=UTC", out, sizeof out, "blocks"), 0, "%s", out);
	expect_lines(out, want, 3);
}

Test(report_views, order_sort_and_limit)
{
	char out[4096];
	const char *desc[] = { "2026-11-23,1,", "2026-11-22,3,", "2026-11-21,1," };
	const char *by_cost[] = { "2026-11-22,3,", "2026-11-23,1," };
	const char *by_calls_asc[] = { "2026-11-21,1,", "2026-11-23,1,", "2026-11-22,3," };

	cr_assert_eq(run("TZ=UTC", out, sizeof out, "daily --order desc"), 0, "%s", out);
	expect_lines(out, desc, 3);
	/* 2026-11-22 costs 0.08 like 2026-11-23: the key breaks the tie, reversed */
	cr_assert_eq(run("TZ=UTC", out, sizeof out, "daily --sort cost --limit 2"), 0, "%s", out);
	expect_lines(out, by_cost, 2);
	cr_assert(strstr(out, "--limit 2: 1 more row not shown"), "%s", out);
	cr_assert_eq(run("TZ=UTC", out, sizeof out, "daily --sort calls --order asc"), 0, "%s", out);
	expect_lines(out, by_calls_asc, 3);
	cr_assert_eq(run(NULL, out, sizeof out, "daily --sort price"), 2, "%s", out);
	cr_assert_eq(run(NULL, out, sizeof out, "daily --order up"), 2, "%s", out);
	cr_assert_eq(run(NULL, out, sizeof out, "daily --limit -1"), 2, "%s", out);
}

Test(report_views, summary_groups_by_hour_week_and_operation)
{
	char out[4096];
	const char *want[] = { "02,1,", "14,2,", "16,1,", "23,1," };
	const char *tokyo[] = { "2026-W47,08,1,", "2026-W47,23,2,", "2026-W48,01,1,",
	                        "2026-W48,11,1," };

	cr_assert_eq(run("TZ=UTC", out, sizeof out, "summary --by hour"), 0, "%s", out);
	expect_lines(out, want, 4);
	cr_assert_eq(run("TZ=UTC", out, sizeof out,
	                 "summary --by week,hour --timezone Asia/Tokyo"), 0, "%s", out);
	expect_lines(out, tokyo, 4);
}

Test(report_views, dates_are_read_in_the_zone)
{
	char out[4096];
	const char *tokyo[] = { "2026-11-23,2," };
	const char *la[] = { "2026-11-21,1," };

	/* midnight in Tokyo is 15:00 UTC the day before */
	cr_assert_eq(run("TZ=UTC", out, sizeof out, "daily --timezone Asia/Tokyo --since 20261123"),
	             0, "%s", out);
	expect_lines(out, tokyo, 1);
	cr_assert_eq(run("TZ=America/Los_Angeles", out, sizeof out, "daily --until 2026-11-21"), 0,
	             "%s", out);
	expect_lines(out, la, 1);
	cr_assert_eq(run("TZ=UTC", out, sizeof out,
	                 "daily --since 2026-11-22T15:00 --until '2026-11-23 01:00:01+09:00'"), 0,
	             "%s", out);
	cr_assert(strstr(out, "\n2026-11-22,1,"), "%s", out);
}

Test(report_views, json_flag_is_format_json)
{
	char out[4096];

	cr_assert_eq(tgt_run_report("TZ=UTC", out, sizeof out, "monthly --json --ledger %s", dir), 0,
	             "%s", out);
	cr_assert(!strncmp(out, "{\"group_by\":[\"month\"],\"timezone\":\"UTC\",\n\"groups\":[\n"
	                   "{\"month\":\"2026-11\",\"calls\":5,", 80), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "daily --json --timezone Asia/Tokyo "
	                            "--ledger %s", dir), 0, "%s", out);
	cr_assert(strstr(out, "\"timezone\":\"Asia/Tokyo\","), "%s", out);
}

Test(report_views, options_of_views_apply_to_no_other_command)
{
	char out[4096];

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --breakdown --ledger %s", dir),
	             2, "%s", out);
	cr_assert(strstr(out, "--breakdown does not apply to summary"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "daily --by model --ledger %s", dir), 2,
	             "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "check --sort cost --max-usd 1 --ledger %s",
	                            dir), 2, "%s", out);
}

Test(report_views, records_are_jsonl_when_piped_and_a_table_on_a_terminal)
{
	char out[8192], cmd[512];
	size_t len;
	FILE *p;

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "records --ledger %s", dir), 0, "%s", out);
	cr_assert_eq(out[0], '{', "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "records --format table --ledger %s", dir),
	             0, "%s", out);
	cr_assert(!strncmp(out, "TIME (", 6), "%s", out);
	/* script(1) runs the report on a terminal of its own */
	if (system("command -v script >/dev/null 2>&1") != 0)
		cr_skip_test("script(1) is not installed");
	snprintf(cmd, sizeof cmd, "script -q -e -c '%s records --ledger %s' /dev/null",
	         tgt_report_bin(), dir);
	cr_assert_not_null(p = popen(cmd, "r"));
	len = fread(out, 1, sizeof out - 1, p);
	out[len] = '\0';
	cr_assert_eq(pclose(p), 0, "%s", out);
	cr_assert(!strncmp(out, "TIME (", 6), "%s", out);
	cr_assert_null(strstr(out, "{\"ts\""), "%s", out);
	/* --format still wins */
	snprintf(cmd, sizeof cmd, "script -q -e -c '%s records --format jsonl --ledger %s' /dev/null",
	         tgt_report_bin(), dir);
	cr_assert_not_null(p = popen(cmd, "r"));
	len = fread(out, 1, sizeof out - 1, p);
	out[len] = '\0';
	pclose(p);
	cr_assert_eq(out[0], '{', "%s", out);
}

Test(report_views, blocks_show_the_active_block_with_time_left_and_a_projection)
{
	char out[4096], live[64];
	struct tg_ledger *l;
	int64_t now = (int64_t)time(NULL);

	tgt_tmpdir(live, sizeof live, "tg-report-blocks");
	cr_assert_eq(tg_ledger_open(&l, live, TG_LEDGER_CREATE), 0);
	put(l, now - 7 * 3600, "gpt-4o", "agent", 10, 0.5);   /* an ended block */
	put(l, now - 60, "gpt-4o", "agent", 10, 0.01);
	tg_ledger_close(l);
	cr_assert_eq(tgt_run_report("TZ=UTC", out, sizeof out, "blocks --ledger %s", live), 0, "%s",
	             out);
	tgt_rmtree(live);
	cr_assert(strstr(out, "note: active block "), "%s", out);
	cr_assert(strstr(out, "$0.01 so far, $"), "%s", out);
	cr_assert(strstr(out, "projected for the whole block"), "%s", out);
	cr_assert_null(strstr(out, "$0.50 so far"), "%s", out);
}
