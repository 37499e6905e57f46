/* test_cli_forgiving.c - what a new user types: options before the
 * command, help per command, version, filter values no record has
 * (a warning; for check, exit 2), check without a ledger and check
 * --format json.  Through the built binary, against a built ledger;
 * skipped when the binary has not been built. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "ledger_impl.h"

#define NOV22 INT64_C(1795305600000000)  /* 2026-11-22T00:00:00Z */
#define HOUR INT64_C(3600000000)

static char dir[64];

static void put(struct tg_ledger *l, int64_t ts, const char *provider, const char *model,
                const char *process, const char *tags, double cost)
{
	struct tg_record r = tgt_record(ts, provider, model, process, tags, 1000, 100, cost, 0);

	r.pid = 7;
	r.counts.cached_input = r.counts.cache_creation = r.counts.reasoning = 0;
	tgt_put_record(l, &r);
}

static void setup(void)
{
	struct tg_ledger *l;

	tgt_report_bin();
	tgt_tmpdir(dir, sizeof dir, "tg-forgiving");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	put(l, NOV22 + HOUR, "openai", "gpt-4o-2024-08-06", "python3", "team=search", 0.01);
	put(l, NOV22 + 2 * HOUR, "anthropic", "claude-sonnet-4-5", "curl", "team=ads", 0.03);
	tg_ledger_close(l);
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(forgiving, .init = setup, .fini = teardown);

Test(forgiving, options_before_the_command_as_after_it)
{
	char before[8192], after[8192];

	cr_assert_eq(tgt_run_report(NULL, before, sizeof before,
	                            "--ledger %s --format csv records", dir), 0, "%s", before);
	cr_assert_eq(tgt_run_report(NULL, after, sizeof after,
	                            "records --ledger %s --format csv", dir), 0, "%s", after);
	cr_assert_str_eq(before, after);
	cr_assert(strstr(before, "claude-sonnet-4-5"), "%s", before);
}

Test(forgiving, an_option_value_that_looks_like_a_command_stays_a_value)
{
	char out[4096];

	/* "check" is --process's value here, not the command: the summary runs. */
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "--ledger %s --process check", dir), 0,
	             "%s", out);
	cr_assert(strstr(out, "no record has process \"check\""), "%s", out);
	cr_assert(strstr(out, "TOTAL"), "%s", out);
}

Test(forgiving, budget_set_positionals_after_options)
{
	char out[4096];

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out,
	                            "--ledger %s budget set daily global,day,usd=5,block", dir), 0,
	             "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "budget --ledger %s list", dir), 0,
	             "%s", out);
	cr_assert(strstr(out, "daily"), "%s", out);
}

Test(forgiving, help_of_a_command_has_its_options_only)
{
	char help[16384], flag[16384];

	cr_assert_eq(tgt_run_report(NULL, help, sizeof help, "help check"), 0, "%s", help);
	cr_assert_eq(tgt_run_report(NULL, flag, sizeof flag, "check --help"), 0, "%s", flag);
	cr_assert_str_eq(help, flag);
	cr_assert(!strncmp(help, "usage: tokenguard-report check", 30), "%s", help);
	cr_assert(strstr(help, "--max-usd"), "%s", help);
	cr_assert(strstr(help, "--require-ledger"), "%s", help);
	cr_assert(strstr(help, "Examples:\n  tokenguard-report check"), "%s", help);
	cr_assert_null(strstr(help, "--listen"), "%s", help);
	cr_assert_null(strstr(help, "--breakdown"), "%s", help);
	cr_assert_null(strstr(help, "Budgets:"), "%s", help);
}

Test(forgiving, help_alone_is_the_global_help)
{
	char help[32768], flag[32768];

	cr_assert_eq(tgt_run_report(NULL, help, sizeof help, "help"), 0, "%s", help);
	cr_assert_eq(tgt_run_report(NULL, flag, sizeof flag, "--help"), 0, "%s", flag);
	cr_assert_str_eq(help, flag);
	cr_assert(strstr(help, "Commands:\n  summary"), "%s", help);
	cr_assert(strstr(help, "--listen"), "%s", help);
	cr_assert_eq(tgt_run_report(NULL, help, sizeof help, "help nosuch"), 2, "%s", help);
	cr_assert(strstr(help, "unknown command \"nosuch\"; commands: summary, daily"), "%s", help);
}

Test(forgiving, version_as_command_and_option)
{
	char a[256], b[256];

	cr_assert_eq(tgt_run_report(NULL, a, sizeof a, "version"), 0);
	cr_assert_eq(tgt_run_report(NULL, b, sizeof b, "--version"), 0);
	cr_assert_str_eq(a, b);
	cr_assert(!strncmp(a, "tokenguard-report ", 18), "%s", a);
}

Test(forgiving, unknown_filter_values_warn_naming_the_known_ones)
{
	char out[8192];

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --ledger %s --provider nosuch",
	                            dir), 0, "%s", out);
	cr_assert(strstr(out, "tokenguard-report: warning: no record has provider \"nosuch\" (nor "
	                 "is it a provider tokenguard knows); providers in this ledger: openai, "
	                 "anthropic\n"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "records --ledger %s --provider gemini",
	                            dir), 0, "%s", out);
	cr_assert(strstr(out, "warning: no record has provider \"gemini\"; providers"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --ledger %s --model nosuch",
	                            dir), 0, "%s", out);
	cr_assert(strstr(out, "warning: no record has model \"nosuch\"; models in this ledger: "
	                 "gpt-4o-2024-08-06, claude-sonnet-4-5\n"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --ledger %s --process nosuch",
	                            dir), 0, "%s", out);
	cr_assert(strstr(out, "warning: no record has process \"nosuch\"; processes in this "
	                 "ledger: python3, curl\n"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --ledger %s --tag team=nosuch",
	                            dir), 0, "%s", out);
	cr_assert(strstr(out, "warning: no record has tag \"team=nosuch\"; tags in this ledger: "
	                 "team=search, team=ads\n"), "%s", out);
}

Test(forgiving, by_a_tag_key_no_record_of_the_period_has_warns)
{
	char out[8192];

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --ledger %s --by tag:taem", dir),
	             0, "%s", out);
	cr_assert(strstr(out, "tokenguard-report: warning: no record of the period has tag "
	                 "\"taem\"; tag keys in the period: team\n"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "daily --ledger %s --by tag:team", dir),
	             2, "%s", out);  /* --by is summary's */
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --ledger %s --by tag:team", dir),
	             0, "%s", out);
	cr_assert_null(strstr(out, "warning"), "%s", out);
}

Test(forgiving, values_that_match_do_not_warn)
{
	char out[8192];

	/* gpt-4o is the family of gpt-4o-2024-08-06: it matches. */
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "summary --ledger %s --provider OpenAI "
	                            "--model gpt-4o --process python3 --tag team=search", dir), 0,
	             "%s", out);
	cr_assert_null(strstr(out, "warning"), "%s", out);
}

Test(forgiving, check_exits_2_on_a_typo)
{
	char out[4096];

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out,
	                            "check --ledger %s --max-usd 1 --provider opneai", dir), 2, "%s", out);
	cr_assert(strstr(out, "error: no record has provider \"opneai\""), "%s", out);
	cr_assert_null(strstr(out, "tokenguard: ok"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out,
	                            "check --ledger %s --max-usd 1 --provider openai", dir), 0, "%s", out);
}

Test(forgiving, check_without_a_ledger_is_no_spend_unless_required)
{
	char out[4096], none[128];

	snprintf(none, sizeof none, "%s/none", dir);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "check --ledger %s --max-usd 1", none),
	             0, "%s", out);
	cr_assert(strstr(out, "tokenguard: ok: $0.00 of $1 (0.0%) over 0 calls"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out,
	                            "--require-ledger check --ledger %s --max-usd 1", none), 2, "%s", out);
	cr_assert(strstr(out, "no ledger found"), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out,
	                            "summary --ledger %s --require-ledger", none), 2, "%s", out);
	cr_assert(strstr(out, "--require-ledger does not apply to summary"), "%s", out);
}

Test(forgiving, check_format_json)
{
	char out[4096];

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "check --ledger %s --max-usd 0.02 "
	                            "--since 2026-11-22 --format json", dir), 1, "%s", out);
	cr_assert_str_eq(out, "{\"ok\":false,\"ledger\":true,\"since\":\"2026-11-22T00:00:00.000Z\","
	                 "\"until\":null,\"calls\":2,\"usd\":0.04,\"usd_estimated\":0,\"tokens\":2200,"
	                 "\"max_usd\":0.02,\"max_tokens\":null,\"over\":[\"usd\"],\"strict\":false,"
	                 "\"unknown\":{\"unpriced\":0,\"usage_unknown\":0,\"tokens_unknown\":0,"
	                 "\"usd_unestimated\":0},\"blocked\":0}\n");
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "check --ledger %s --max-tokens 1M "
	                            "--json", dir), 0, "%s", out);
	cr_assert(strstr(out, "{\"ok\":true,\"ledger\":true,\"since\":null"), "%s", out);
	cr_assert(strstr(out, "\"max_usd\":null,\"max_tokens\":1000000,\"over\":[]"), "%s", out);
}

/* ---- tables on a terminal ---- */

/* Display columns of the n bytes at s (a UTF-8 character is one). */
static size_t columns(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

static void put_long_names(void)
{
	struct tg_ledger *l;

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	put(l, NOV22 + 3 * HOUR, "openai", "ft:gpt-4o-mini-2024-07-18:acme-research:support-bot:9x8y7z",
	    "python3", "team=a-team-with-a-rather-long-name-indeed", 0.02);
	tg_ledger_close(l);
}

/* The table's lines: up to the first empty or legend line. */
static int table_lines(char *out, char **line, int max)
{
	int n = 0;

	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l && n < max;
	     l = strtok_r(NULL, "\n", &save)) {
		if (strchr(l, ':') && !strchr(l, ' '))
			continue;
		if (!strncmp(l, "note:", 5) || !strncmp(l, "?:", 2) || !strncmp(l, "BLOCKED:", 8) ||
		    !strncmp(l, "Hidden to fit", 13))
			break;  /* the legends below the table */
		line[n++] = l;
	}
	return n;
}

/* The summary by model and tag on a terminal cols wide: its lines all as
 * wide as the first (aligned), that width returned. */
static size_t summary_on_tty(int cols, char *out, size_t n)
{
	static char copy[16384];
	char *line[32];
	size_t width;
	int k;

	put_long_names();
	cr_assert_eq(tgt_run_report_tty(cols, out, n, "summary --ledger %s --by model,tag:team", dir),
	             0, "%s", out);
	cr_assert(strstr(out, "\xe2\x80\xa6"), "a long cell is cut with an ellipsis:\n%s", out);
	cr_assert_null(strstr(out, "support-bot:9x8y7z"), "%s", out);
	k = table_lines(strcpy(copy, out), line, 32);
	cr_assert_eq(k, 5, "the head, three groups, TOTAL:\n%s", out);
	width = columns(line[0], strlen(line[0]));
	for (int i = 0; i < k; i++)
		cr_assert_eq(columns(line[i], strlen(line[i])), width, "misaligned: %s", line[i]);
	return width;
}

Test(forgiving, summary_fits_a_110_column_terminal_aligned)
{
	char out[16384];

	cr_assert_eq(summary_on_tty(110, out, sizeof out), 110, "%s", out);
}

Test(forgiving, summary_on_80_columns_leaves_out_columns_and_says_which)
{
	char out[16384];

	/* All the numbers take 81 columns: the token kinds people need least
	 * are left out, named under the table, before a text column is cut
	 * below 20; the line then fits. */
	cr_assert_leq(summary_on_tty(80, out, sizeof out), 80, "%s", out);
	cr_assert(strstr(out, "\nHidden to fit 80 columns: BLOCKED, INPUT, CACHED, CACHE-WRITE, "
	                 "REASONING (--format json has every column)\n"), "%s", out);
	cr_assert(strstr(out, "\nft:gpt-4o-mini-2024-\xe2\x80\xa6  a-team-with-a-rather-\xe2\x80\xa6  "),
	          "%s", out);
	cr_assert(strstr(out, "  CALLS  OUTPUT  TOKENS  COST (USD)\n"), "%s", out);
}

Test(forgiving, summary_on_50_columns_keeps_calls_tokens_and_cost)
{
	char out[16384];

	cr_assert_leq(summary_on_tty(50, out, sizeof out), 56, "%s", out);
	cr_assert(strstr(out, "  CALLS  TOKENS  COST (USD)\n"), "%s", out);
	cr_assert(strstr(out, "Hidden to fit 50 columns: BLOCKED, INPUT, CACHED, CACHE-WRITE, "
	                 "OUTPUT, REASONING"), "%s", out);
}

Test(forgiving, summary_piped_keeps_its_full_width)
{
	char out[16384];

	put_long_names();
	cr_assert_eq(tgt_run_report("COLUMNS=80", out, sizeof out,
	                            "summary --ledger %s --by model,tag:team", dir), 0, "%s", out);
	cr_assert(strstr(out, "ft:gpt-4o-mini-2024-07-18:acme-research:support-bot:9x8y7z  "
	                 "a-team-with-a-rather-long-name-indeed  "), "%s", out);
	cr_assert_null(strstr(out, "\xe2\x80\xa6"), "%s", out);
}

Test(forgiving, records_on_a_terminal_cut_text_columns_aligned)
{
	static char copy[16384];
	char out[16384], *line[32];
	size_t process_col = 0;
	int n;

	put_long_names();
	cr_assert_eq(tgt_run_report_tty(160, out, sizeof out, "records --ledger %s", dir), 0, "%s", out);
	cr_assert(strstr(out, "\xe2\x80\xa6"), "%s", out);
	n = table_lines(strcpy(copy, out), line, 32);
	cr_assert_eq(n, 4, "the head and three records:\n%s[%zu bytes]", out, strlen(out));
	for (int i = 0; i < n; i++) {
		/* PROCESS, the last column, starts at the same column on each line. */
		size_t at = (size_t)(strstr(line[i], "  python3") ? strstr(line[i], "  python3")
		                     : strstr(line[i], "  curl") ? strstr(line[i], "  curl")
		                     : strstr(line[i], "  PROCESS")) - (size_t)line[i];

		cr_assert_leq(columns(line[i], strlen(line[i])), 160, "%s", line[i]);
		if (!i)
			process_col = columns(line[i], at);
		cr_assert_eq(columns(line[i], at), process_col, "misaligned: %s", line[i]);
	}
}

Test(forgiving, records_on_80_columns_fit_and_name_what_they_leave_out)
{
	static char copy[16384];
	char out[16384], *line[32];
	int n;

	put_long_names();
	cr_assert_eq(tgt_run_report_tty(80, out, sizeof out, "records --ledger %s --timezone UTC", dir),
	             0, "%s", out);
	n = table_lines(strcpy(copy, out), line, 32);
	cr_assert_eq(n, 4, "the head and three records:\n%s", out);
	cr_assert(!strncmp(line[0], "TIME (UTC)  ", 12), "%s", out);
	cr_assert(!strncmp(line[1], "2026-11-22 01:00:00  ", 21), "%s", out);
	for (int i = 0; i < n; i++)
		cr_assert_leq(columns(line[i], strlen(line[i])), 80, "%s", line[i]);
	cr_assert(strstr(out, "\nHidden to fit 80 columns: "), "%s", out);
	/* the zone's wall clock: Tokyo is 9 hours ahead */
	cr_assert_eq(tgt_run_report_tty(200, out, sizeof out, "records --ledger %s --timezone Asia/Tokyo",
	                                dir), 0, "%s", out);
	cr_assert(strstr(out, "TIME (Asia/Tokyo)"), "%s", out);
	cr_assert(strstr(out, "\n2026-11-22 10:00:00  "), "%s", out);
	cr_assert_null(strstr(out, "Hidden to fit"), "%s", out);
}

Test(forgiving, check_without_a_ledger_refuses_a_provider_that_cannot_be)
{
	char out[4096], none[128];

	snprintf(none, sizeof none, "%s/none", dir);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out,
	                            "check --ledger %s --max-usd 1 --provider opneai", none), 2, "%s", out);
	cr_assert(strstr(out, "error: \"opneai\" is no provider tokenguard knows, nor one "
	                 "TOKENGUARD_HOSTS adds; providers: openai, azure-openai, "), "%s", out);
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out,
	                            "check --ledger %s --max-usd 1 --provider anthropic", none), 0, "%s", out);
	cr_assert_eq(tgt_run_report("TOKENGUARD_HOSTS=llm.internal:8443=vllm/openai", out, sizeof out,
	                            "check --ledger %s --max-usd 1 --provider vllm", none), 0, "%s", out);
}

Test(forgiving, budget_status_on_80_columns_fits_and_names_what_it_leaves_out)
{
	static char copy[16384];
	char out[16384], *line[32];
	int n;

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "budget set search-team --ledger %s "
	                            "'tag:team=a-team-with-a-rather-long-name-indeed,day@Europe/Berlin,"
	                            "usd=20,tokens=2M,warn'", dir), 0, "%s", out);
	cr_assert_eq(tgt_run_report_tty(80, out, sizeof out, "budget status --ledger %s", dir), 0,
	             "%s", out);
	n = table_lines(strcpy(copy, out), line, 32);
	cr_assert_eq(n, 2, "the head and one policy:\n%s", out);
	for (int i = 0; i < n; i++)
		cr_assert_leq(columns(line[i], strlen(line[i])), 80, "%s", line[i]);
	cr_assert(!strncmp(line[0], "NAME ", 5), "%s", out);
	cr_assert(strstr(line[0], "  SPEND  ") && strstr(line[0], "  USED  STATE"), "%s", out);
	cr_assert(strstr(out, "\nHidden to fit 80 columns: SOURCE, WINDOW, RESETS, LAST BLOCKED "
	                 "(--format json has every column)\n"), "%s", out);
	/* piped: every column, as before */
	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "budget status --ledger %s", dir), 0,
	             "%s", out);
	cr_assert(strstr(out, "  day@Europe/Berlin  ") && strstr(out, "LAST BLOCKED\n"), "%s", out);
	cr_assert_null(strstr(out, "Hidden to fit"), "%s", out);
}
