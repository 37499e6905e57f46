/* test_prices_cli.c - `tokenguard-report prices` end to end, run from the
 * built binary (build/tokenguard-report, or $TG_REPORT_BIN) with its
 * stdout and stderr kept apart.  Skipped when the binary is not built. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

static char dir[64], file[128], out[65536], err[8192];

static void setup(void)
{
	tgt_report_bin();
	tgt_tmpdir(dir, sizeof dir, "tg-prices-cli");
	snprintf(file, sizeof file, "%s/prices.tsv", dir);
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(prices_cli, .init = setup, .fini = teardown);

static void write_prices(const char *text)
{
	FILE *f = fopen(file, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* Runs "env ENV REPORT ARGS" with stdout into out and stderr into err;
 * returns the exit status.  The ledger named does not exist: prices must
 * not need one. */
static int run(const char *env, const char *args)
{
	char cmd[1024], errpath[160];
	FILE *p, *e;
	size_t n;
	int st;

	snprintf(errpath, sizeof errpath, "%s/stderr", dir);
	snprintf(cmd, sizeof cmd, "env -u TOKENGUARD_PRICES TOKENGUARD_LEDGER=%s/none %s %s %s 2>%s",
	         dir, env ? env : "", tgt_report_bin(), args, errpath);
	cr_assert_not_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	st = pclose(p);
	cr_assert_not_null(e = fopen(errpath, "r"));
	n = fread(err, 1, sizeof err - 1, e);
	err[n] = '\0';
	fclose(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The bundled table's "# date:" and its age in days, read from the
 * source the binary was built from. */
static long table_age(char date[11])
{
	FILE *f = fopen("ledger/prices.tsv", "r");
	char line[1024];
	struct tm tm = { 0 };
	int y, m, d;

	cr_assert_not_null(f, "run from the repository root");
	date[0] = '\0';
	while (fgets(line, sizeof line, f) && line[0] == '#')
		if (sscanf(line, "# date: %10s", date) == 1)
			break;
	fclose(f);
	cr_assert_eq(sscanf(date, "%4d-%2d-%2d", &y, &m, &d), 3, "prices.tsv has no # date: line");
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (long)((time(NULL) - timegm(&tm)) / 86400);
}

Test(prices_cli, lists_the_table_with_its_date_and_age_warning_when_stale)
{
	char date[11], want[128];
	long age = table_age(date);

	cr_assert_eq(run(NULL, "prices"), 0, "%s", err);
	snprintf(want, sizeof want, "dated %s (%ld day%s old)", date, age, age == 1 ? "" : "s");
	cr_expect_not_null(strstr(out, want), "want %s in: %.300s", want, out);
	cr_expect_not_null(strstr(out, "\nopenai     gpt-4o     "), "%.300s", out);
	cr_expect_null(strstr(out, " user\n"), "no user file, no user line");
	if (age > 90)
		cr_expect_not_null(strstr(err, "days old (more than 90)"), "stderr: %s", err);
	else
		cr_expect_eq(err[0], '\0', "stderr: %s", err);
	cr_expect_null(strstr(out, "warning"), "the warning is on stderr only");
}

Test(prices_cli, marks_user_lines_and_lists_the_bad_ones)
{
	char env[256];

	write_prices("openai\tgpt-4o\t1\t4\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n"
	             "openai\tgpt-y\tcheap\n"
	             "acme\tacme-1\t0.5\t1.5\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-02-01\thttps://x\n");
	snprintf(env, sizeof env, "TOKENGUARD_PRICES=%s", file);
	cr_assert_eq(run(env, "prices"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "user price file: "), "%.300s", out);
	cr_expect(strstr(out, "\nopenai     gpt-4o ") && strstr(strstr(out, "\nopenai     gpt-4o "),
	          "2026-01-01 user\n"), "%.600s", out);
	cr_expect_not_null(strstr(out, "2026-02-01 user\n"));
	cr_expect_null(strstr(out, "gpt-y"));
	cr_expect_not_null(strstr(err, ":2: 3 columns, expected 16"), "stderr: %s", err);
	cr_expect_not_null(strstr(err, "line skipped"), "stderr: %s", err);

	cr_assert_eq(run(env, "prices --provider acme"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "\nacme "));
	cr_expect_null(strstr(out, "\nopenai "), "--provider keeps its lines only");
}

Test(prices_cli, shows_the_family_a_model_id_matches_and_each_price)
{
	cr_assert_eq(run(NULL, "prices gpt-4o-2024-08-06"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "gpt-4o-2024-08-06 (openai): family gpt-4o, built-in line"),
	                   "%s", out);
	cr_expect_not_null(strstr(out, "\n  input            2.5\n"), "%s", out);
	cr_expect_not_null(strstr(out, "\n  cached_input     1.25\n"), "%s", out);
	cr_expect_not_null(strstr(out, "dated "), "the table's date with a lookup too");

	cr_assert_eq(run(NULL, "prices claude-sonnet-4-5-20250929 --provider anthropic"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "family claude-sonnet-4-5,"), "%s", out);
	cr_expect_not_null(strstr(out, "above 200000 input tokens:"), "%s", out);

	cr_expect_eq(run(NULL, "prices gpt-4o --provider anthropic"), 1);
	cr_expect_not_null(strstr(err, "no price for \"gpt-4o\" of provider anthropic"), "%s", err);
	cr_expect_eq(run(NULL, "prices no-such-model-9"), 1);
	cr_expect_eq(run(NULL, "prices a b"), 2);
	cr_expect_eq(run(NULL, "prices --model gpt-4o"), 2);
}

Test(prices_cli, the_config_directorys_file_applies_and_the_variable_wins)
{
	char conf[160], path[200], env[512];
	FILE *f;

	snprintf(conf, sizeof conf, "%s/conf/tokenguard", dir);
	snprintf(path, sizeof path, "%s/prices.tsv", conf);
	snprintf(env, sizeof env, "mkdir -p %s", conf);
	cr_assert_eq(system(env), 0);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("acme\tacme-9\t0.5\t1.5\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-03-01\thttps://x\n", f);
	fclose(f);
	cr_assert_eq(chmod(path, 0644), 0);

	snprintf(env, sizeof env, "XDG_CONFIG_HOME=%s/conf", dir);
	cr_assert_eq(run(env, "prices acme-9"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "family acme-9, user line"), "%s", out);
	cr_expect_not_null(strstr(out, path), "names the file: %s", out);

	write_prices("acme\tacme-8\t0.5\t1.5\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-03-01\thttps://x\n");
	snprintf(env, sizeof env, "XDG_CONFIG_HOME=%s/conf TOKENGUARD_PRICES=%s", dir, file);
	cr_expect_eq(run(env, "prices acme-9"), 1, "TOKENGUARD_PRICES replaces the file: %s", out);
	cr_expect_eq(run(env, "prices acme-8"), 0, "%s", err);

	cr_assert_eq(chmod(path, 0666), 0);
	snprintf(env, sizeof env, "XDG_CONFIG_HOME=%s/conf", dir);
	cr_expect_eq(run(env, "prices"), 2, "a file others can write is refused");
	cr_expect_not_null(strstr(err, "written by group or others"), "%s", err);
}
