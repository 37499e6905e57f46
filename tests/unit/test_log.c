/* test_log.c - the shim's bounded voice on the program's stderr (log.c): each case runs
 * in a child that exits normally, as a program does, so the closing line
 * written at exit is seen too. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "log.h"

struct burst {
	int debug, quiet;
	int threads, each;
};

static void *warn_many(void *arg)
{
	const struct burst *b = arg;
	for (int i = 0; i < b->each; i++)
		tg_warn("warning number %d, with some words to make the line long enough to matter: %0200d", i, i);
	return NULL;
}

static void run_burst(void *ctx)
{
	struct burst *b = ctx;
	pthread_t t[16];
	tg_log_init(b->debug, b->quiet);
	for (int i = 0; i < b->threads; i++)
		pthread_create(&t[i], NULL, warn_many, b);
	for (int i = 0; i < b->threads; i++)
		pthread_join(t[i], NULL);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static const char *last_line(const char *s)
{
	size_t n = strlen(s);
	const char *p = s + n - 1;   /* the final newline */
	while (p > s && p[-1] != '\n')
		p--;
	return p;
}

static void expect_bounded(struct burst *b, unsigned long suppressed)
{
	char out[1 << 16], want[128];
	size_t total = tgt_child_stderr(run_burst, b, out, sizeof out);

	cr_assert_leq(total, TG_LOG_BYTES_MAX, "%zu bytes on stderr", total);
	cr_assert_eq(count_lines(out), TG_LOG_LINES_MAX + 1, "%s", out);
	snprintf(want, sizeof want, "tokenguard: %lu further warnings were suppressed ", suppressed);
	cr_assert_eq(strncmp(last_line(out), want, strlen(want)), 0, "closing line: %s", last_line(out));
	cr_assert_not_null(strstr(last_line(out), "TOKENGUARD_DEBUG=1 shows every one"));
}

Test(log, ten_thousand_warnings_give_eight_lines_under_4_KiB)
{
	struct burst b = { .threads = 1, .each = 10000 };
	expect_bounded(&b, 10000 - TG_LOG_LINES_MAX);
}

Test(log, the_bound_holds_with_threads_warning_at_once)
{
	struct burst b = { .threads = 8, .each = 1000 };
	expect_bounded(&b, 8000 - TG_LOG_LINES_MAX);
}

Test(log, a_few_warnings_are_all_shown_without_closing_line)
{
	char out[8192];
	struct burst b = { .threads = 1, .each = TG_LOG_LINES_MAX };
	tgt_child_stderr(run_burst, &b, out, sizeof out);
	cr_assert_eq(count_lines(out), TG_LOG_LINES_MAX, "%s", out);
	cr_assert_null(strstr(out, "suppressed"), "%s", out);
}

Test(log, quiet_says_nothing_at_all)
{
	char out[8192];
	struct burst b = { .quiet = 1, .threads = 1, .each = 100 };
	cr_assert_eq(tgt_child_stderr(run_burst, &b, out, sizeof out), 0, "%s", out);
}

Test(log, debug_shows_every_warning)
{
	char out[1 << 16];
	struct burst b = { .debug = 1, .threads = 1, .each = 40 };
	tgt_child_stderr(run_burst, &b, out, sizeof out);
	cr_assert_eq(count_lines(out), 40, "%s", out);
	cr_assert_null(strstr(out, "suppressed"), "%s", out);
}
