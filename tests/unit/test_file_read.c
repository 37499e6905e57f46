/* test_file_read.c - tg_read_small_file: what a user-named file may be, and what it costs
 * when it is not that. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_read.h"
#include "fixture.h"
#include "price.h"
#include "text.h"

static char dir[128];

static void setup(void) { tgt_tmpdir(dir, sizeof dir, "tg-fileread"); }
static void teardown(void) { tgt_rmtree(dir); }

TestSuite(file_read, .init = setup, .fini = teardown);

static char *path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
	return buf;
}

/* Reads path and expects a refusal whose message holds want, within
 * 200 ms (each of these used to hang or spin without end). */
static void refused(const char *path, int flags, const char *want)
{
	char err[512], *buf = (char *)1;
	size_t len = 99;
	int64_t t0 = tg_mono_us();
	int rc = tg_read_small_file(path, TG_SMALL_FILE_MAX, flags, &buf, &len, err, sizeof err);
	int64_t took = tg_mono_us() - t0;

	cr_assert_eq(rc, -1, "%s was read", path);
	cr_assert_null(buf);
	cr_assert_eq(len, 0);
	cr_assert_not_null(strstr(err, path), "%s", err);
	cr_assert_not_null(strstr(err, want), "%s", err);
	cr_assert_lt(took, 200000, "refusing %s took %lld us", path, (long long)took);
}

Test(file_read, a_regular_file_is_read_whole)
{
	char p[256], err[256], *buf;
	size_t len;
	FILE *f = fopen(path_in(p, sizeof p, "prices.tsv"), "w");
	fwrite("line one\nx\0y", 1, 12, f);
	fclose(f);
	cr_assert_eq(tg_read_small_file(p, TG_SMALL_FILE_MAX, 0, &buf, &len, err, sizeof err), 0, "%s", err);
	cr_assert_eq(len, 12);
	cr_assert_eq(memcmp(buf, "line one\nx\0y", 12), 0);
	cr_assert_eq(buf[len], '\0');
	free(buf);
}

Test(file_read, an_empty_file_is_empty_text)
{
	char p[256], err[256], *buf;
	size_t len = 9;
	close(open(path_in(p, sizeof p, "empty"), O_CREAT | O_WRONLY, 0600));
	cr_assert_eq(tg_read_small_file(p, 16, 0, &buf, &len, err, sizeof err), 0, "%s", err);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(buf, "");
	free(buf);
}

Test(file_read, dev_zero_is_refused_at_once)
{
	refused("/dev/zero", 0, "is a device, expected a regular file");
}

Test(file_read, a_fifo_without_writer_is_refused_at_once)
{
	char p[256];
	cr_assert_eq(mkfifo(path_in(p, sizeof p, "fifo"), 0600), 0);
	refused(p, 0, "is a FIFO");
}

Test(file_read, a_directory_is_refused)
{
	refused(dir, 0, "is a directory");
}

Test(file_read, a_10_MiB_file_is_refused_without_reading_it)
{
	char p[256];
	int fd = open(path_in(p, sizeof p, "huge"), O_CREAT | O_WRONLY, 0600);
	cr_assert_eq(ftruncate(fd, 10 << 20), 0);
	close(fd);
	refused(p, 0, "larger than 4194304 bytes");
}

Test(file_read, a_file_just_over_its_cap_is_refused)
{
	char p[256];
	FILE *f = fopen(path_in(p, sizeof p, "seventeen"), "w");
	fputs("0123456789abcdefg", f);
	fclose(f);
	char err[256], *buf;
	size_t len;
	cr_assert_eq(tg_read_small_file(p, 16, 0, &buf, &len, err, sizeof err), -1);
	cr_assert_eq(tg_read_small_file(p, 17, 0, &buf, &len, err, sizeof err), 0, "%s", err);
	free(buf);
}

Test(file_read, symlinks_are_followed_to_a_regular_file_unless_refused)
{
	char target[256], link[256], zlink[256], err[256], *buf;
	size_t len;
	FILE *f = fopen(path_in(target, sizeof target, "real"), "w");
	fputs("ok\n", f);
	fclose(f);
	cr_assert_eq(symlink(target, path_in(link, sizeof link, "link")), 0);
	cr_assert_eq(tg_read_small_file(link, 64, 0, &buf, &len, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(buf, "ok\n");
	free(buf);
	refused(link, TG_READ_NOFOLLOW, "is a symbolic link");
	/* A link is judged by what it leads to. */
	cr_assert_eq(symlink("/dev/zero", path_in(zlink, sizeof zlink, "zero")), 0);
	refused(zlink, 0, "is a device");
}

Test(file_read, a_found_file_must_be_the_users_own_and_closed_to_writes)
{
	char p[256], err[256], *buf = (char *)1;
	size_t len = 9;
	int flags = TG_READ_NOFOLLOW | TG_READ_OWNED | TG_READ_MISSING_OK;
	FILE *f = fopen(path_in(p, sizeof p, "owned"), "w");

	fputs("ok\n", f);
	fclose(f);
	cr_assert_eq(chmod(p, 0644), 0);
	cr_assert_eq(tg_read_small_file(p, 64, flags, &buf, &len, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(buf, "ok\n");
	free(buf);
	cr_assert_eq(chmod(p, 0664), 0);
	refused(p, flags, "can be written by group or others");
	cr_assert_eq(chmod(p, 0646), 0);
	refused(p, flags, "can be written by group or others");
	if (geteuid() == 0) {
		cr_assert_eq(chmod(p, 0644), 0);
		cr_assert_eq(chown(p, 65534, 65534), 0);
		refused(p, flags, "belongs to another user");
	}
	cr_assert_eq(tg_read_small_file(path_in(p, sizeof p, "absent"), 64, flags, &buf, &len, err,
	                                sizeof err), 0, "%s", err);
	cr_assert_null(buf, "an absent file is no file");
	cr_assert_eq(len, 0);
	refused(p, TG_READ_OWNED, "No such file");
}

Test(file_read, a_missing_file_says_so)
{
	char p[256];
	refused(path_in(p, sizeof p, "absent"), 0, "No such file");
}

Test(file_read, the_price_loader_refuses_dev_zero_and_a_fifo)
{
	char p[256], err[512];
	struct tg_prices *t = (struct tg_prices *)1;
	int64_t t0 = tg_mono_us();
	cr_assert_eq(tg_prices_load(&t, "/dev/zero", err, sizeof err), -1);
	cr_assert_null(t);
	cr_assert_not_null(strstr(err, "/dev/zero: is a device"), "%s", err);
	cr_assert_eq(mkfifo(path_in(p, sizeof p, "fifo"), 0600), 0);
	cr_assert_eq(tg_prices_load(&t, p, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "is a FIFO"), "%s", err);
	cr_assert_lt(tg_mono_us() - t0, 200000);
}

Test(file_read, the_config_directorys_price_file_is_read_on_the_users_terms)
{
	char p[256], link[256], err[512];
	struct tg_prices *t;
	FILE *f = fopen(path_in(p, sizeof p, "prices.tsv"), "w");

	fputs("acme\tacme-1\t1\t2\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n", f);
	fclose(f);
	cr_assert_eq(chmod(p, 0600), 0);
	cr_assert_eq(tg_prices_load_file(&t, p, TG_PRICES_FOUND_FILE, err, sizeof err), 0, "%s", err);
	cr_assert_not_null(tg_price_find(t, "acme", "acme-1"));
	tg_prices_free(t);
	cr_assert_eq(symlink(p, path_in(link, sizeof link, "link.tsv")), 0);
	cr_assert_eq(tg_prices_load_file(&t, link, TG_PRICES_FOUND_FILE, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "is a symbolic link"), "%s", err);
	cr_assert_eq(tg_prices_load_file(&t, link, 0, err, sizeof err), 0, "a named file may be a link");
	tg_prices_free(t);
	cr_assert_eq(chmod(p, 0666), 0);
	cr_assert_eq(tg_prices_load_file(&t, p, TG_PRICES_FOUND_FILE, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "written by group or others"), "%s", err);
	cr_assert_eq(tg_prices_load_file(&t, path_in(p, sizeof p, "none.tsv"), TG_PRICES_FOUND_FILE,
	                                 err, sizeof err), 0, "absent: the built-in table");
	cr_assert_null(tg_price_find(t, "acme", "acme-1"));
	cr_assert_not_null(tg_price_find(t, "openai", "gpt-4o"));
	tg_prices_free(t);
}

Test(file_read, a_price_file_of_4_MiB_of_empty_lines_is_the_builtin_table)
{
	/* The table grows with the rows parsed, not with the line count. */
	char p[256], err[256];
	size_t n = TG_SMALL_FILE_MAX;
	char *nl = malloc(n);
	memset(nl, '\n', n);
	FILE *f = fopen(path_in(p, sizeof p, "blank.tsv"), "w");
	fwrite(nl, 1, n, f);
	fclose(f);
	free(nl);
	struct tg_prices *t;
	cr_assert_eq(tg_prices_load(&t, p, err, sizeof err), 0, "%s", err);
	struct tg_prices *builtin;
	cr_assert_eq(tg_prices_load(&builtin, NULL, err, sizeof err), 0, "%s", err);
	cr_assert_eq(tg_prices_count(t), tg_prices_count(builtin));
	tg_prices_free(t);
	tg_prices_free(builtin);
}
