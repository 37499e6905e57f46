/* test_spool.c - the ledger never makes a writer wait on another process,
 * and never maps what it has not checked: the writer lock, the spools and
 * their fold, and the checks of the directory and of LMDB's files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "fixture.h"
#include "ledger_budget.h"
#include "ledger_impl.h"

#define T0 INT64_C(1767225600000000)   /* 2026-01-01T00:00:00Z */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count(void *ctx, const struct tg_record *r)
{
	(*(int *)ctx)++;
	return 0;
}

static int records_in(struct tg_ledger *l)
{
	int n = 0;

	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, count, &n), 0);
	return n;
}

/* Records as LMDB holds them, spools left out. */
static int committed_in(const char *dir)
{
	char spool[300], aside[300];
	struct tg_ledger *l;
	int n;

	snprintf(spool, sizeof spool, "%s/spool", dir);
	snprintf(aside, sizeof aside, "%s/spool-aside", dir);
	rename(spool, aside);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), 0);
	n = records_in(l);
	tg_ledger_close(l);
	rename(aside, spool);
	return n;
}

static struct tg_record rec(int i)
{
	return tgt_record(T0 + i, "openai", "gpt-4o", "app", "team=a", 100, 10, 0.25, 0);
}

static struct tg_policy global_day(void)
{
	struct tg_policy p;

	cr_assert_eq(tg_policy_parse("global,day,usd=100,warn,name=g", &p, NULL, 0), 0);
	return p;
}

Test(spool, a_held_lock_spools_at_once_and_the_next_writer_folds_exactly_once)
{
	char dir[64];
	struct tg_ledger *holder, *w;
	struct tg_policy p = global_day();
	struct tg_spend s;

	tgt_tmpdir(dir, sizeof dir, "tg-spool");
	cr_assert_eq(tg_ledger_open(&holder, dir, TG_LEDGER_CREATE), 0);
	cr_assert_eq(tg_ledger_open(&w, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL), 0);
	struct tg_record r0 = rec(0);
	tgt_put_record(w, &r0);

	cr_assert_eq(tgl_writer_lock(holder, 0, 0), 0);
	int64_t t = mono_ms();
	for (int i = 1; i <= 3; i++) {
		struct tg_record r = rec(i);
		cr_assert_eq(tg_ledger_append(w, &r), TG_LEDGER_SPOOLED);
	}
	cr_assert_lt(mono_ms() - t, 100, "spooling waited %lld ms", (long long)(mono_ms() - t));
	/* Reports and budgets see what is spooled. */
	cr_assert_eq(records_in(w), 4);
	cr_assert_eq(tg_ledger_spend(w, &p, T0 + 10, &s), 0);
	cr_assert_eq(s.calls, 4);
	cr_assert_float_eq(s.usd, 1.0, 1e-9);
	cr_assert_eq(committed_in(dir), 1);
	tgl_writer_unlock(holder);

	/* The holder's next write folds the spool in: nothing twice. */
	cr_assert_eq(tg_ledger_fold(holder, NULL, NULL), 0);
	cr_assert_eq(committed_in(dir), 4);
	cr_assert_eq(records_in(w), 4);
	cr_assert_eq(tg_ledger_spend(holder, &p, T0 + 10, &s), 0);
	cr_assert_eq(s.calls, 4);
	cr_assert_float_eq(s.usd, 1.0, 1e-9);
	tg_ledger_close(w);
	tg_ledger_close(holder);
	tgt_rmtree(dir);
}

Test(spool, a_spool_folded_twice_counts_once)
{
	char dir[64], cmd[512];
	struct tg_ledger *a, *b;
	struct tg_policy p = global_day();
	struct tg_spend s;
	int64_t applied = -1;

	tgt_tmpdir(dir, sizeof dir, "tg-spool");
	cr_assert_eq(tg_ledger_open(&a, dir, TG_LEDGER_CREATE), 0);
	cr_assert_eq(tg_ledger_open(&b, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL), 0);
	cr_assert_eq(tgl_writer_lock(a, 0, 0), 0);
	for (int i = 0; i < 2; i++) {
		struct tg_record r = rec(i);
		cr_assert_eq(tg_ledger_append(b, &r), TG_LEDGER_SPOOLED);
	}
	tgl_writer_unlock(a);
	/* A crash between a fold's commit and the emptying of the spool:
	 * the same entries are there to fold again. */
	snprintf(cmd, sizeof cmd, "cp -a %s/spool %s/copy", dir, dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(tg_ledger_fold(a, &applied, NULL), 0);
	cr_assert_eq(applied, 2);
	snprintf(cmd, sizeof cmd, "rm -rf %s/spool && mv %s/copy %s/spool", dir, dir, dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(tg_ledger_fold(a, &applied, NULL), 0);
	cr_assert_eq(applied, 0);
	cr_assert_eq(committed_in(dir), 2);
	cr_assert_eq(tg_ledger_spend(a, &p, T0 + 10, &s), 0);
	cr_assert_eq(s.calls, 2);
	tg_ledger_close(b);
	tg_ledger_close(a);
	tgt_rmtree(dir);
}

/* A dead writer's spool: one good entry, then a flipped byte in the
 * second, or a torn end. */
static void dead_writer_spool(const char *dir, int flip)
{
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct tg_ledger *holder, *w;

		if (tg_ledger_open(&holder, dir, TG_LEDGER_CREATE) || tgl_writer_lock(holder, 0, 0) ||
		    tg_ledger_open(&w, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL))
			_exit(1);
		for (int i = 0; i < 2; i++) {
			struct tg_record r = rec(i);
			if (tg_ledger_append(w, &r) != TG_LEDGER_SPOOLED)
				_exit(2);
		}
		off_t size = lseek(w->spool.fd, 0, SEEK_END);
		if (flip) {
			unsigned char c;
			pread(w->spool.fd, &c, 1, size - 5);
			c ^= 0x40;
			int fd = openat(w->dirfd, "spool", O_RDONLY | O_DIRECTORY);
			int f = openat(fd, w->spool.name, O_WRONLY);
			pwrite(f, &c, 1, size - 5);
			close(f);
			close(fd);
		} else {
			ftruncate(w->spool.fd, size - 7);
		}
		_exit(0);   /* no close: the writer dies with its spool */
	}
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %d", status);
}

Test(spool, a_damaged_entry_stops_that_file_and_is_counted)
{
	char dir[64];
	struct tg_ledger *l;
	struct tg_spool_stats st;
	int64_t applied;

	tgt_tmpdir(dir, sizeof dir, "tg-spool");
	dead_writer_spool(dir, 1);
	cr_assert_eq(tg_ledger_open(&l, dir, 0), 0);
	cr_assert_eq(tg_ledger_fold(l, &applied, &st), 0);
	cr_assert_eq(applied, 1);
	cr_assert_eq(st.damaged, 1);
	cr_assert_eq(committed_in(dir), 1);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

Test(spool, a_dead_writers_torn_end_is_dropped_and_its_file_removed)
{
	char dir[64], spool[128];
	struct tg_ledger *l;
	struct tg_spool_stats st;
	int64_t applied;

	tgt_tmpdir(dir, sizeof dir, "tg-spool");
	dead_writer_spool(dir, 0);
	cr_assert_eq(tg_ledger_open(&l, dir, 0), 0);
	cr_assert_eq(tg_ledger_fold(l, &applied, &st), 0);
	cr_assert_eq(applied, 1);
	cr_assert_eq(st.torn, 1);
	cr_assert_eq(committed_in(dir), 1);
	snprintf(spool, sizeof spool, "%s/spool", dir);
	DIR *d = opendir(spool);
	int files = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		files += e->d_name[0] != '.';
	closedir(d);
	cr_assert_eq(files, 0, "the dead writer's spool is still there");
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

Test(spool, a_writer_that_may_wait_gives_up_and_names_the_holder)
{
	char dir[64], who[128], expect[64];
	struct tg_ledger *l;
	struct tg_ledger_opts o = { .lock_wait_ms = 200 };
	int pipefd[2];
	char c;

	tgt_tmpdir(dir, sizeof dir, "tg-spool");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	tg_ledger_close(l);
	cr_assert_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		flock(fd, LOCK_EX);
		write(pipefd[1], "x", 1);
		pause();
		_exit(0);
	}
	cr_assert_eq(read(pipefd[0], &c, 1), 1);
	cr_assert_eq(tg_ledger_open_ex(&l, dir, 0, &o), 0);
	int64_t t = mono_ms();
	struct tg_record r = rec(0);
	cr_assert_eq(tg_ledger_append(l, &r), TG_ELOCKED);
	cr_assert_geq(mono_ms() - t, 150);
	cr_assert_lt(mono_ms() - t, 1000);
	tg_ledger_holder(l, who, sizeof who);
	snprintf(expect, sizeof expect, "process %d ", (int)pid);
	cr_assert(strstr(who, expect), "holder said %s", who);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(tg_ledger_append(l, &r), 0);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

Test(spool, a_short_data_file_is_damaged_not_a_signal)
{
	char dir[64], path[128];
	struct tg_ledger *l;

	tgt_tmpdir(dir, sizeof dir, "tg-spool");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	for (int i = 0; i < 200; i++) {
		struct tg_record r = rec(i);
		tgt_put_record(l, &r);
	}
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(truncate(path, st.st_size / 2), 0);
	/* The open handle finds out before its next transaction... */
	struct tg_record r = rec(500);
	cr_assert_eq(tg_ledger_append(l, &r), TG_ECORRUPT);
	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, count, &(int){ 0 }), TG_ECORRUPT);
	tg_ledger_close(l);
	/* ...and a new one at open. */
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), TG_ECORRUPT);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL), TG_ECORRUPT);
	cr_assert_eq(truncate(path, 100), 0);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), TG_ECORRUPT);
	tgt_rmtree(dir);
}

Test(spool, a_replaced_lock_file_is_reopened)
{
	char dir[64], path[128];
	struct tg_ledger *l;

	tgt_tmpdir(dir, sizeof dir, "tg-spool");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	struct tg_record r = rec(0);
	tgt_put_record(l, &r);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	cr_assert_eq(unlink(path), 0);
	r = rec(1);
	tgt_put_record(l, &r);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "the handle did not reopen on a new lock file");
	cr_assert_eq(records_in(l), 2);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

Test(spool, what_is_not_the_users_own_is_refused)
{
	char dir[64], sub[128], target[192], link[192];
	struct tg_ledger *l;

	tgt_tmpdir(dir, sizeof dir, "tg-spool");
	snprintf(sub, sizeof sub, "%s/open", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(chmod(sub, 0777), 0);
	cr_assert_eq(tg_ledger_open(&l, sub, TG_LEDGER_CREATE), TG_EUNSAFE);
	cr_assert_eq(chmod(sub, 0700), 0);
	snprintf(target, sizeof target, "%s/target", dir);
	snprintf(link, sizeof link, "%s/data.mdb", sub);
	FILE *f = fopen(target, "w");
	fputs("precious", f);
	fclose(f);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_eq(tg_ledger_open(&l, sub, TG_LEDGER_CREATE), TG_EUNSAFE);
	cr_assert_eq(tg_ledger_open(&l, sub, TG_LEDGER_RDONLY), TG_EUNSAFE);
	struct stat st;
	cr_assert_eq(stat(target, &st), 0);
	cr_assert_eq(st.st_size, 8, "the symlink's target was written");
	tgt_rmtree(dir);
}
