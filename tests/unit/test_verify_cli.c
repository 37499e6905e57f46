/* test_verify_cli.c - `tokenguard-report verify` and `repair` end to end,
 * on ledgers written with the ledger API and then damaged the way disks
 * and people damage them: a total changed behind the ledger's back, a
 * truncated data.mdb, a spool with a bad entry, a writer lock held by
 * someone else.  Skipped when the binary has not been built. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

static char dir[64];

static void setup(void)
{
	struct tg_ledger *l;
	struct tg_record r;

	tgt_report_bin();
	tgt_tmpdir(dir, sizeof dir, "tg-verify-cli");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	/* 2026-11-22T08:33:11Z, an hour later, a day later */
	r = tgt_record(INT64_C(1795336391000000), "openai", "gpt-4o-2024-08-06", "py",
	               "team=search", 1000, 100, 0.0035, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);
	r = tgt_record(INT64_C(1795339991000000), "acme", "mystery-1", "py", "", 10, 5, 0,
	               TG_REC_UNPRICED);
	tgt_put_record(l, &r);
	r = tgt_record(INT64_C(1795422791000000), "acme", "mystery-1", "curl", "team=ops", 7, 3,
	               0, TG_REC_UNPRICED);
	tgt_put_record(l, &r);
	tg_ledger_close(l);
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(verify_cli, .init = setup, .fini = teardown);

static int run(char *out, size_t n, const char *cmd)
{
	return tgt_run_report(NULL, out, n, "%s --ledger %s", cmd, dir);
}

/* Adds one token to the first stored total, with LMDB directly, as a
 * tool that is not tokenguard (or a bit flip) would. */
static void tamper_first_total(void)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, d;
	unsigned char v[80];

	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 12), 0);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "totals", 0, &dbi), 0);
	cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	cr_assert_eq(mdb_cursor_get(cur, &k, &d, MDB_FIRST), 0);
	cr_assert(d.mv_size <= sizeof v);
	memcpy(v, d.mv_data, d.mv_size);
	v[15]++;   /* the low byte of tokens */
	d.mv_data = v;
	cr_assert_eq(mdb_cursor_put(cur, &k, &d, MDB_CURRENT), 0);
	mdb_cursor_close(cur);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void truncate_data(void)
{
	char path[128];

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	cr_assert_eq(truncate(path, 4096 * 3), 0);
}

Test(verify_cli, a_clean_ledger_verifies_with_exit_0)
{
	char out[4096];

	cr_assert_eq(run(out, sizeof out, "verify"), 0, "%s", out);
	cr_assert(strstr(out, "records   3 checked, 0 undecodable"), "%s", out);
	cr_assert(strstr(out, "the ledger is consistent"), "%s", out);
	cr_assert_eq(run(out, sizeof out, "verify --format json"), 0, "%s", out);
	cr_assert(strstr(out, "\"consistent\":true,\"records\":3,"), "%s", out);
	cr_assert(strstr(out, "\"problems\":0,\"first_problems\":[]"), "%s", out);
}

Test(verify_cli, a_tampered_total_is_inconsistent_and_repair_rebuilds_it)
{
	char out[8192];

	tamper_first_total();
	cr_assert_eq(run(out, sizeof out, "verify"), 1, "%s", out);
	cr_assert(strstr(out, "1 wrong or missing"), "%s", out);
	cr_assert(strstr(out, "is wrong: stored"), "%s", out);
	cr_assert(strstr(out, "tokenguard-report repair"), "%s", out);

	cr_assert_eq(run(out, sizeof out, "repair"), 0, "%s", out);
	cr_assert(strstr(out, "records   3 kept, 0 lost"), "%s", out);
	cr_assert(strstr(out, "(1 were wrong or missing)"), "%s", out);
	cr_assert(strstr(out, "/damaged-"), "%s", out);
	cr_assert_eq(run(out, sizeof out, "verify"), 0, "%s", out);
	cr_assert_eq(run(out, sizeof out, "records"), 0, "%s", out);
	cr_assert(strstr(out, "\"process\":\"curl\""), "%s", out);
}

Test(verify_cli, repair_leaves_a_clean_ledger_alone_unless_forced)
{
	char out[4096];
	struct stat before, after;
	char path[128];

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	cr_assert_eq(stat(path, &before), 0);
	cr_assert_eq(run(out, sizeof out, "repair"), 0, "%s", out);
	cr_assert(strstr(out, "nothing to repair"), "%s", out);
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_eq(before.st_ino, after.st_ino, "a clean ledger was replaced");
	cr_assert_eq(run(out, sizeof out, "repair --force"), 0, "%s", out);
	cr_assert(strstr(out, "records   3 kept"), "%s", out);
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_neq(before.st_ino, after.st_ino, "--force did not rebuild");
}

Test(verify_cli, a_truncated_data_file_exits_2_naming_repair)
{
	char out[4096];

	truncate_data();
	cr_assert_eq(run(out, sizeof out, "verify"), 2, "%s", out);
	cr_assert(strstr(out, "damaged"), "%s", out);
	cr_assert(strstr(out, "tokenguard-report repair"), "%s", out);
}

Test(verify_cli, repair_of_a_truncated_data_file_keeps_it_and_starts_from_the_spools)
{
	struct tg_ledger *l;
	struct tg_record r;
	char out[8192], path[256];
	struct stat st;
	const char *aside;
	int lk;

	/* A writer that could not have the lock left a record in its spool. */
	cr_assert((lk = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0);
	cr_assert_eq(flock(lk, LOCK_EX | LOCK_NB), 0);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_SPOOL), 0);
	r = tgt_record(INT64_C(1795422792000000), "acme", "mystery-1", "spooler", "", 1, 1, 0,
	               TG_REC_UNPRICED);
	cr_assert_eq(tg_ledger_append(l, &r), TG_LEDGER_SPOOLED);
	tg_ledger_close(l);   /* a file with entries stays for the next fold */
	close(lk);
	truncate_data();

	cr_assert_eq(run(out, sizeof out, "repair"), 0, "%s", out);
	cr_assert(strstr(out, "LMDB cannot open the old data.mdb"), "%s", out);
	cr_assert(strstr(out, "1 entry folded in"), "%s", out);
	cr_assert_not_null(aside = strstr(out, "old files "), "%s", out);
	snprintf(path, sizeof path, "%.*s/data.mdb", (int)strcspn(aside + 10, " "), aside + 10);
	cr_assert_eq(stat(path, &st), 0, "the old data.mdb is not kept at %s", path);
	cr_assert_eq(st.st_size, 4096 * 3);

	cr_assert_eq(run(out, sizeof out, "verify"), 0, "%s", out);
	cr_assert(strstr(out, "records   1 checked"), "%s", out);
}

Test(verify_cli, a_damaged_spool_entry_is_reported)
{
	char out[4096], path[256];
	unsigned char junk[40];
	int fd;

	snprintf(path, sizeof path, "%s/spool", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/spool/4242-0123456789abcdef", dir);
	cr_assert((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	memset(junk, 0x5a, sizeof junk);
	cr_assert_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	close(fd);

	cr_assert_eq(run(out, sizeof out, "verify"), 1, "%s", out);
	cr_assert(strstr(out, "1 damaged"), "%s", out);
	cr_assert(strstr(out, "damaged entry"), "%s", out);
	cr_assert_eq(run(out, sizeof out, "verify --format json"), 1, "%s", out);
	cr_assert(strstr(out, "\"spool_damaged\":1"), "%s", out);
}

Test(verify_cli, writes_under_a_held_writer_lock_exit_2_naming_the_holder)
{
	char out[4096], pid[32];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	cr_assert(fd >= 0);
	cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	snprintf(pid, sizeof pid, "process %d", (int)getpid());
	cr_assert_eq(run(out, sizeof out, "budget set daily global,day,usd=1,block"), 2, "%s", out);
	cr_assert(strstr(out, pid), "%s", out);
	cr_assert(strstr(out, "writer lock"), "%s", out);
	cr_assert_eq(run(out, sizeof out, "repair --force"), 2, "%s", out);
	cr_assert(strstr(out, pid), "%s", out);
	close(fd);
}

/* Many records, so that data.mdb has many leaf pages; then garbage over
 * pages in its middle (or its end cut off): LMDB cannot walk past them. */
static void many_records(int n)
{
	struct tg_ledger *l;

	cr_assert_eq(tg_ledger_open(&l, dir, 0), 0);
	for (int i = 0; i < n; i++) {
		struct tg_record r = tgt_record(INT64_C(1795500000000000) + i * INT64_C(1000000),
		                                "openai", "gpt-4o", "py", "team=search", 100, 10,
		                                0.001, 0);
		tgt_put_record(l, &r);
	}
	tg_ledger_close(l);
}

/* Garbage over every page that holds record i of many_records(): the
 * leaf LMDB reaches it by, and any older copy.  Returns how many. */
static int garbage_over_record(int i)
{
	unsigned char page[4096], key[8], junk[4096];
	int64_t ts = INT64_C(1795500000000000) + i * INT64_C(1000000);
	char path[128];
	int fd, hit = 0;

	for (int b = 0; b < 8; b++)
		key[b] = (unsigned char)((uint64_t)ts >> (56 - 8 * b));
	for (size_t b = 0; b < sizeof junk; b++)
		junk[b] = (unsigned char)(b * 131 + 17);
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	cr_assert((fd = open(path, O_RDWR)) >= 0);
	for (off_t at = 2 * 4096; pread(fd, page, sizeof page, at) == (ssize_t)sizeof page; at += 4096) {
		if (memmem(page, sizeof page, key, sizeof key)) {
			cr_assert_eq(pwrite(fd, junk, sizeof junk, at), (ssize_t)sizeof junk);
			hit++;
		}
	}
	close(fd);
	return hit;
}

static long records_listed(void)
{
	static char out[1 << 20];
	long n = 0;

	cr_assert_eq(run(out, sizeof out, "records --format jsonl"), 0, "%.300s", out);
	for (char *p = out; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

Test(verify_cli, garbage_inside_the_trees_is_exit_2_and_repair_reads_every_leaf_left)
{
	static char out[1 << 20];
	long kept;
	int rc;

	many_records(600);
	cr_assert_gt(garbage_over_record(300), 0);
	/* The reports say what is wrong and what to run; never a signal. */
	rc = run(out, sizeof out, "records");
	cr_assert_eq(rc, 2, "exit %d: %.300s", rc, out);
	cr_assert(strstr(out, "tokenguard-report repair"), "%.300s", out);
	/* Inconsistent (1) where LMDB reads the garbage as nodes, unreadable
	 * (2) where it cannot: either way it names the repair. */
	rc = run(out, sizeof out, "verify");
	cr_assert(rc == 1 || rc == 2, "verify: exit %d", rc);
	cr_assert(strstr(out, "tokenguard-report repair"), "%.300s", out);

	cr_assert_eq(run(out, sizeof out, "repair"), 0, "%s", out);
	cr_assert_eq(run(out, sizeof out, "verify"), 0, "%s", out);
	kept = records_listed();
	/* The records of the garbled leaf are lost (and record 300 with
	 * them), not those LMDB cannot walk to past it. */
	cr_assert(kept >= 603 - 60 && kept < 603, "%ld records kept of 603", kept);
}

Test(verify_cli, repair_of_a_file_cut_short_keeps_the_leaves_left)
{
	static char out[8192];
	struct stat st;
	char path[128];
	long kept;

	many_records(600);
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(truncate(path, st.st_size / 2), 0);
	cr_assert_eq(run(out, sizeof out, "repair"), 0, "%s", out);
	cr_assert(strstr(out, "read from its pages directly"), "%s", out);
	cr_assert_eq(run(out, sizeof out, "verify"), 0, "%s", out);
	kept = records_listed();
	cr_assert(kept > 100, "%ld records kept of 603 from half the file", kept);
}
