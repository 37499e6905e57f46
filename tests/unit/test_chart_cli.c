/* test_chart_cli.c - `tokenguard-report --chart` end to end: its width from
 * the terminal (TIOCGWINSZ before $COLUMNS), from $COLUMNS when piped, else
 * 80; its glyphs from the locale; its rows from --by, --sort and --limit.
 * Records are written with the ledger API and read back by the built
 * binary (skipped when it has not been built). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static char dir[64];

#define NOV21 INT64_C(1795219200000000)  /* 2026-11-21T00:00:00Z */
#define DAY INT64_C(86400000000)

static void put(struct tg_ledger *l, int64_t ts, const char *provider, const char *model,
                double cost, uint32_t flags)
{
	struct tg_record r = tgt_record(ts, provider, model, "agent", "", 100, 10, cost, flags);

	r.pid = 7;
	r.counts.cached_input = 0;
	r.counts.cache_creation = 0;
	r.counts.reasoning = 0;
	tgt_put_record(l, &r);
}

static void setup(void)
{
	struct tg_ledger *l;

	tgt_report_bin();
	tgt_tmpdir(dir, sizeof dir, "tg-chart-cli");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	put(l, NOV21 + 3600000000, "openai", "gpt-4o", 0.02, 0);
	put(l, NOV21 + DAY + 3600000000, "anthropic", "claude-sonnet-4-5", 0.01, 0);
	put(l, NOV21 + DAY + 7200000000, "acme", "mystery-1", 0, TG_REC_UNPRICED);
	put(l, NOV21 + 2 * DAY + 3600000000, "openai", "gpt-4o", 0, TG_REC_BLOCKED);
	tg_ledger_close(l);
	setenv("LC_ALL", "C", 1);
	unsetenv("COLUMNS");
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(chart_cli, .init = setup, .fini = teardown);

/* The widest line of s, in bytes (ASCII output). */
static size_t widest(const char *s)
{
	size_t w = 0;

	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "\n");

		if (n > w)
			w = n;
		p += n + (p[n] == '\n');
	}
	return w;
}

Test(chart_cli, charts_each_day_piped_at_columns_with_the_table_marks)
{
	char out[8192];

	setenv("COLUMNS", "50", 1);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "--chart --ledger %s", dir), 0, "%s", out);
	/* label 10, bar 26, amount 12: 0.02 fills the bar, 0.01 half of it,
	 * the day of a blocked call alone has none */
	cr_assert_str_eq(out,
	                 "DAY                                     COST (USD)\n"
	                 "2026-11-21 ##########################        $0.02\n"
	                 "2026-11-22 #############              >=$0.01 (1?)\n"
	                 "2026-11-23                                   $0.00\n"
	                 "TOTAL                                 >=$0.03 (1?)\n"
	                 "?: not known; >=: at least, the sum leaving out\n"
	                 "  the calls whose count or cost is unknown; (N?):\n"
	                 "  how many calls of the row those are\n"
	                 "note: 1 call unpriced: cost unknown for model\n"
	                 "  mystery-1\n");
}

/* Costliest first; acme (unknown) and openai (blocked) tie at 0 and go in
 * key order, openai left out by --limit. */
Test(chart_cli, groups_by_key_sorted_and_limited)
{
	char out[8192];

	setenv("COLUMNS", "40", 1);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "--chart --by provider --sort cost "
	                            "--limit 2 --since 2026-11-22 --ledger %s", dir),
	             0, "%s", out);
	cr_assert_str_eq(out,
	                 "PROVIDER                      COST (USD)\n"
	                 "anthropic #################        $0.01\n"
	                 "acme                              ? (1?)\n"
	                 "TOTAL                       >=$0.01 (1?)\n"
	                 "?: not known; >=: at least, the sum\n"
	                 "  leaving out the calls whose count or\n"
	                 "  cost is unknown; (N?): how many calls\n"
	                 "  of the row those are\n"
	                 "note: 1 call unpriced: cost unknown for\n"
	                 "  model mystery-1\n"
	                 "note: --limit 2: 1 more row not shown;\n"
	                 "  TOTAL is of them all\n");
}

Test(chart_cli, is_as_wide_as_the_terminal_whatever_columns_says)
{
	char out[8192], *row;

	setenv("COLUMNS", "200", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	cr_assert_eq(tgt_run_report_tty(40, out, sizeof out, "--chart --ledger %s", dir), 0, "%s",
	             out);
	row = strstr(out, "2026-11-21 ");
	cr_assert_not_null(row, "%s", out);
	/* 40 columns: label 10, bar 16 (16 full blocks of 3 bytes), amount 12 */
	cr_assert_eq(strncmp(row, "2026-11-21 \xe2\x96\x88", 14), 0, "%s", out);
	cr_assert_eq(strcspn(row, "\n"), 11 + 16 * 3 + 1 + 12, "%s", out);
}

Test(chart_cli, is_80_columns_piped_without_columns)
{
	char out[8192], *row;

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "--chart --ledger %s", dir), 0, "%s", out);
	cr_assert_eq(widest(out), 80, "%s", out);
	row = strstr(out, "\nTOTAL ");
	cr_assert_not_null(row, "%s", out);
	cr_assert_eq(strcspn(row + 1, "\n"), 80, "%s", out);
	cr_assert_eq(strncmp(row + 1 + 80 - 12, ">=$0.03 (1?)\n", 13), 0, "%s", out);
}

Test(chart_cli, refuses_machine_formats)
{
	char out[1024];

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "--chart --format csv --ledger %s", dir),
	             2);
	cr_assert_str_eq(out, "tokenguard-report: --chart draws bars for people and cannot be "
	                 "written as \"csv\"; drop --chart or --format\n");
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "records --chart --ledger %s", dir), 2);
	cr_assert_str_eq(out, "tokenguard-report: --chart does not apply to records; drop it\n");
}

Test(chart_cli, watch_refuses_what_is_no_view_and_a_bad_interval)
{
	char out[1024];

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "watch records --ledger %s", dir), 2);
	cr_assert_str_eq(out, "tokenguard-report: watch: \"records\" is not a view; use summary, "
	                 "daily, weekly, monthly, session or blocks\n");
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "watch --interval 0.05 --ledger %s", dir),
	             2);
	cr_assert_str_eq(out, "tokenguard-report: --interval \"0.05\" is not a number of seconds "
	                 "from 0.1 to 86400; use e.g. --interval 2 or --interval 0.5\n");
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "daily --interval 2 --ledger %s", dir), 2);
	cr_assert_str_eq(out, "tokenguard-report: --interval applies to watch and sync only; drop it or use "
	                 "e.g. watch daily --interval 5\n");
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "watch daily --by model --ledger %s", dir),
	             2);
	cr_assert_str_eq(out, "tokenguard-report: --by does not apply to daily; drop it\n");
}

/* Piped: frames each followed by a blank line; no ledger is zero spend,
 * said in every frame; SIGINT ends it with status 0. */
Test(chart_cli, watch_piped_before_the_ledger_exists)
{
	char out[16384], missing[128], want[512];
	const char *p = out;
	int frames = 0;

	snprintf(missing, sizeof missing, "%s/not-yet", dir);
	cr_assert_eq(tgt_run_report("timeout --preserve-status -s INT 1", out, sizeof out,
	                            "watch --chart --interval 0.2 --timezone UTC --ledger %s",
	                            missing), 0, "%s", out);
	snprintf(want, sizeof want, "no ledger yet at %s: nothing spent so far; it appears with "
	         "the first call recorded\nDAY", missing);
	while (*p) {
		const char *end = strstr(p, "\n\n");
		char *frame;

		cr_assert_not_null(end, "a frame without its blank line: %s", p);
		frame = strndup(p, (size_t)(end - p + 1));
		cr_assert_not_null(frame);
		cr_assert_eq(strncmp(frame, "watch summary: ", 15), 0, "%s", frame);
		cr_assert_not_null(strstr(frame, " +00:00 UTC, every 0.2s; Ctrl-C ends\n"), "%s", frame);
		cr_assert_not_null(strstr(frame, want), "%s", frame);
		cr_assert_not_null(strstr(frame, "\nTOTAL "), "%s", frame);
		free(frame);
		p = end + 2;
		frames++;
	}
	cr_assert_geq(frames, 3, "%s", out);
}
