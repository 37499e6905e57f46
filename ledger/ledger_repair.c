/* ledger_repair.c - `tokenguard-report repair`: a new ledger built from
 * what the old one still holds, put in its place while the writer lock
 * keeps every tokenguard writer out (what is kept and how: ledger_verify.h).
 *
 * Why a new file and a rename, not a fix in place: the old data.mdb stays
 * whole for later inspection, and no write ever touches a damaged B-tree.
 * Why the directory stays: the spools live in it, and running programs
 * hold the directory open and check data.mdb's and lock.mdb's inodes
 * before each transaction (ledger.c), so a new data.mdb under the same
 * name is what they reopen.  lock.mdb goes too: its reader table and last
 * transaction id describe the old file; the next program to open the
 * ledger makes a fresh one.  A program that reopens between the two
 * renames below (microseconds) may make a lock file for the old data.mdb;
 * it is removed after the swap, so it reopens again on the new one.
 *
 * What LMDB can read of the old file is read through its trees, in child
 * processes (build_new), so that a page LMDB cannot survive (it has no
 * checksums) costs the records past it, not the repair.  Then every leaf
 * page of the old file is read without LMDB (ledger_salvage.c), which
 * finds the records no tree reaches any more: a file cut short has lost
 * its roots, not its older leaves.  Policies, baselines and alerts come
 * only through the trees. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "ledger_budget.h"
#include "ledger_impl.h"
#include "ledger_verify.h"
#include "ledger_watermark.h"
#include "record_codec.h"

#define BATCH 2000   /* records per write transaction of the new ledger */
#define ATTEMPTS 3   /* children that read the old file: see build_new() */

/* What the children reading the old ledger share with the repair: every
 * batch they commit is recorded here before the next one starts. */
struct progress {
	struct tg_repair out;
	int rc;                    /* the last child's result, when it exited */
	int batch;                 /* records per transaction for this child */
	int resume;                /* next holds the first key not copied yet */
	unsigned char next[16];
	int records_done;          /* copied, or given up at a damaged page */
};

struct copy {
	struct tg_ledger *old;
	MDB_txn *rtxn;             /* the old ledger's read transaction */
	const struct tg_prices *prices;
	struct tg_repair *out;
	unsigned char from[16];    /* old totals_from */
	int has_from;
	unsigned char next[16];    /* where the next batch starts */
	int started;
	int64_t kept, lost;        /* of the batch being written */
	int stopped, more;
	struct progress *p;
};

/* What a cursor of the old ledger returns on a damaged page.  Such a
 * read error ends the copy of that database, not the repair. */
static int unreadable(int rc)
{
	return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_BAD_TXN;
}

/* One batch of records into the new ledger.  Runs again from c->next
 * after MAP_FULL, so its counts are the batch's own. */
static int put_batch(struct tg_ledger *nw, MDB_txn *txn, void *ctx)
{
	struct copy *c = ctx;
	MDB_val k = { 16, c->next }, d;
	MDB_cursor *cur;
	struct tg_record r;
	int rc, n = 0;

	c->kept = c->lost = 0;
	c->stopped = c->more = 0;
	if ((rc = mdb_cursor_open(c->rtxn, c->old->records, &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &d, c->started ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0) {
		if (n == c->p->batch && k.mv_size == 16) {
			memcpy(c->next, k.mv_data, 16);   /* the first of the next batch */
			c->more = 1;
			break;
		}
		n++;
		if (k.mv_size != 16 || tg_record_decode(&r, d.mv_data, d.mv_size) != 0) {
			c->lost++;
		} else {
			rc = tgl_record_put_txn(nw, txn, k.mv_data, &d, &r,
			                        tgl_record_family(c->prices, &r),
			                        c->old->has_budget_dbs &&
			                        tgl_totals_cover(k.mv_data, c->from, c->has_from));
			if (rc != 0 && rc != 1)
				break;
			c->kept += rc == 0;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (c->more)
		return 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (!unreadable(rc))
		return rc;   /* the new ledger's error: MAP_FULL grows the map and runs again */
	c->stopped = 1;  /* what came before the damaged page is kept */
	return 0;
}

/* Copies every entry of db in the old ledger to the same db of the new
 * one; ok (may be NULL) says which values read back. */
static int copy_db(MDB_txn *rtxn, MDB_dbi from, MDB_txn *wtxn, MDB_dbi to,
                   int (*ok)(struct copy *c, const MDB_val *k, const MDB_val *d),
                   struct copy *c, int64_t *kept, int64_t *lost)
{
	MDB_val k, d;
	MDB_cursor *cur;
	int rc;

	if ((rc = mdb_cursor_open(rtxn, from, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (ok && !ok(c, &k, &d)) {
			if (lost)
				(*lost)++;
			continue;
		}
		if ((rc = mdb_put(wtxn, to, &k, &d, 0)) != 0)
			break;
		if (kept)
			(*kept)++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || unreadable(rc) ? 0 : rc;
}

static int policy_ok(struct copy *c, const MDB_val *k, const MDB_val *d)
{
	char name[TG_POLICY_NAME_MAX];
	struct tg_policy p;

	if (k->mv_size >= sizeof name)
		return 0;
	memcpy(name, k->mv_data, k->mv_size);
	name[k->mv_size] = '\0';
	return tgl_policy_get_txn(c->old, c->rtxn, name, &p) == 0;
}

static int alert_ok(struct copy *c, const MDB_val *k, const MDB_val *d)
{
	struct tg_alert a;

	return k->mv_size == 16 && tgl_alert_decode(d->mv_data, d->mv_size, &a) == 0;
}

/* Policies, baselines, alerts and where the totals start.  The policy
 * version moves on, so that every program rereads the policies. */
/* The exporters' watermarks (ledger_watermark.h), so that a repair does
 * not make the next export send every record again. */
static int copy_watermarks(MDB_txn *rtxn, MDB_dbi from, MDB_txn *wtxn, MDB_dbi to)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(rtxn, from, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		if (tg_meta_is_watermark(k.mv_data, k.mv_size) && d.mv_size % 16 == 0 &&
		    (rc = mdb_put(wtxn, to, &k, &d, 0)) != 0)
			break;
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int put_budgets(struct tg_ledger *nw, MDB_txn *txn, void *ctx)
{
	struct copy *c = ctx;
	struct tg_repair *o = c->out;
	MDB_val k = { sizeof "policy_version" - 1, "policy_version" }, d;
	int rc;

	o->policies_kept = o->policies_lost = o->resets_kept = o->alerts_kept = o->alerts_lost = 0;
	if (c->has_from) {
		MDB_val fk = { sizeof TGL_META_TOTALS_FROM - 1, TGL_META_TOTALS_FROM };
		MDB_val fd = { 16, c->from };

		if ((rc = mdb_put(txn, nw->meta, &fk, &fd, 0)) != 0)
			return rc;
	}
	if ((rc = copy_watermarks(c->rtxn, c->old->meta, txn, nw->meta)) != 0)
		return rc;
	if (!c->old->has_budget_dbs)
		return 0;
	if (mdb_get(c->rtxn, c->old->meta, &k, &d) == 0 && (rc = mdb_put(txn, nw->meta, &k, &d, 0)) != 0)
		return rc;
	if ((rc = copy_db(c->rtxn, c->old->policies, txn, nw->policies, policy_ok, c,
	                  &o->policies_kept, &o->policies_lost)) != 0 ||
	    (rc = copy_db(c->rtxn, c->old->resets, txn, nw->resets, NULL, c, &o->resets_kept,
	                  NULL)) != 0 ||
	    (rc = copy_db(c->rtxn, c->old->alerts, txn, nw->alerts, alert_ok, c, &o->alerts_kept,
	                  &o->alerts_lost)) != 0 ||
	    (rc = copy_db(c->rtxn, c->old->alert_once, txn, nw->alert_once, NULL, c, NULL,
	                  NULL)) != 0)
		return rc;
	return tgl_policy_version_bump(nw, txn);
}

struct copy_req {
	struct tg_ledger *nw;
	struct copy *c;
};

static int copy_txn(struct tg_ledger *old, MDB_txn *rtxn, void *ctx)
{
	struct copy_req *q = ctx;
	struct copy *c = q->c;
	int rc;

	c->rtxn = rtxn;
	if (old->has_budget_dbs) {
		if ((rc = tgl_totals_from_get(old, rtxn, c->from, &c->has_from)) != 0)
			c->has_from = 0;
	}
	c->started = c->p->resume;
	memcpy(c->next, c->p->next, 16);
	while (!c->p->records_done) {
		if ((rc = tgl_ledger_write(q->nw, put_batch, c)) != 0)
			return rc;
		c->out->records_kept += c->kept;
		c->out->records_lost += c->lost;
		c->out->read_stopped |= c->stopped;
		c->started = 1;
		/* Committed: a child that dies from here on resumes after it. */
		memcpy(c->p->next, c->next, 16);
		c->p->resume = c->more;
		c->p->records_done = !c->more;
	}
	/* A schema 1 ledger's records predate budgets: they stay out of the
	 * totals of the new one as they were out of the old one's. */
	if (!old->has_budget_dbs && c->out->records_kept) {
		MDB_val k, d;
		MDB_cursor *cur;

		if (mdb_cursor_open(rtxn, old->records, &cur) == 0) {
			if (mdb_cursor_get(cur, &k, &d, MDB_LAST) == 0 && k.mv_size == 16) {
				memcpy(c->from, k.mv_data, 16);
				c->has_from = 1;
			}
			mdb_cursor_close(cur);
		}
	}
	return tgl_ledger_write(q->nw, put_budgets, c);
}

/* dir/damaged-<UTC time>, made 0700; a second one in the same second
 * gets -2, -3, ... */
static int make_aside(int dirfd, const char *dir, char *name, size_t n, char *path,
                      size_t pn)
{
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];

	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(name, n, "damaged-%s", ts);
		else
			snprintf(name, n, "damaged-%s-%d", ts, i);
		if (mkdirat(dirfd, name, 0700) == 0) {
			snprintf(path, pn, "%s/%s", dir, name);
			return 0;
		}
		if (errno != EEXIST)
			return tg_error_from_errno(errno);
	}
	return TG_EIO;
}

/* Puts the new data.mdb (in the build directory) in place of the old,
 * the old data.mdb and lock.mdb into aside. */
static int swap_in(int dirfd, const char *build, const char *aside)
{
	char from[PATH_MAX], to[PATH_MAX];

	snprintf(to, sizeof to, "%s/lock.mdb", aside);
	if (renameat(dirfd, "lock.mdb", dirfd, to) != 0 && errno != ENOENT)
		return tg_error_from_errno(errno);
	snprintf(from, sizeof from, "%s/data.mdb", build);
	snprintf(to, sizeof to, "%s/data.mdb", aside);
	/* Exchanged in one step, so data.mdb is never missing. */
	if (renameat2(dirfd, from, dirfd, "data.mdb", RENAME_EXCHANGE) == 0) {
		if (renameat(dirfd, from, dirfd, to) != 0)
			return tg_error_from_errno(errno);
	} else if (errno == EINVAL || errno == ENOSYS) {
		if (linkat(dirfd, "data.mdb", dirfd, to, 0) != 0 ||
		    renameat(dirfd, from, dirfd, "data.mdb") != 0)
			return tg_error_from_errno(errno);
	} else {
		return tg_error_from_errno(errno);
	}
	unlinkat(dirfd, "lock.mdb", 0);   /* made for the old file meanwhile */
	snprintf(from, sizeof from, "%s/lock.mdb", build);
	unlinkat(dirfd, from, 0);
	unlinkat(dirfd, build, AT_REMOVEDIR);
	return 0;
}

static void remove_build(const char *path)
{
	char f[PATH_MAX + 16];

	snprintf(f, sizeof f, "%s/data.mdb", path);
	unlink(f);
	snprintf(f, sizeof f, "%s/lock.mdb", path);
	unlink(f);
	rmdir(path);
}

#define DAMAGE_EXIT 99   /* a child's exit when LMDB met a page it cannot read */

static void child_damaged(void)
{
	_exit(DAMAGE_EXIT);
}

/* Runs fn(ctx) in a child process, whose stderr goes nowhere (LMDB prints
 * its assertions there) and which ends at the first page LMDB cannot read.
 * Returns 0 when fn ran to its end, 1 when the child died of the old
 * file, or a TG_E* code (fork failed). */
static int in_child(void (*fn)(void *ctx), void *ctx)
{
	int status, devnull;
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return tg_error_from_errno(errno);
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_WRONLY)) >= 0)
			dup2(devnull, STDERR_FILENO);
		tg_ledger_on_damage(child_damaged);
		fn(ctx);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* Copies the ledger in old_dir (NULL: none) into a new ledger at path
 * (made here), from where p says: the child's part. */
static int copy_into(const char *path, const char *old_dir, const struct tg_prices *prices,
                     struct progress *p)
{
	struct tg_ledger *nw, *old = NULL;
	struct copy c;
	struct copy_req q = { NULL, &c };
	int rc;

	if (old_dir && (rc = tg_ledger_open(&old, old_dir, TG_LEDGER_RDONLY)) != 0)
		return rc;
	if ((rc = tg_ledger_open(&nw, path, TG_LEDGER_CREATE)) != 0) {
		tg_ledger_close(old);
		return rc;
	}
	memset(&c, 0, sizeof c);
	c.old = old;
	c.prices = prices;
	c.out = &p->out;
	c.p = p;
	q.nw = nw;
	rc = old ? tgl_ledger_read(old, copy_txn, &q) : 0;
	tg_ledger_close(nw);
	tg_ledger_close(old);
	return rc;
}

struct copy_job {
	const char *path, *old_dir;
	const struct tg_prices *prices;
	struct progress *p;
};

static void copy_job_run(void *ctx)
{
	struct copy_job *j = ctx;

	j->p->rc = copy_into(j->path, j->old_dir, j->prices, j->p);
}

/* The new ledger, in dir/.repair-XXXXXX: the name of that directory
 * relative to dir in build.  The copy runs in a child process: LMDB has no
 * checksums, and a damaged page can make it abort or fault, which must
 * cost the records past that page, not the repair.  A child that dies
 * leaves the batches it committed; the next one resumes after them one
 * record a transaction, so that every record before the damaged page is
 * kept; one dying there again ends the copy of the records, and a last
 * one copies the policies and alerts. */
static int build_new(const char *dir, const char *old_dir, const struct tg_prices *prices,
                     struct tg_repair *out, char *build, size_t n)
{
	char path[PATH_MAX];
	struct progress *p;
	struct copy_job job;
	int rc = 0;

	if (snprintf(path, sizeof path, "%s/.repair-XXXXXX", dir) >= (int)sizeof path)
		return TG_ETOOLONG;
	if (!mkdtemp(path))
		return tg_error_from_errno(errno);
	snprintf(build, n, "%s", strrchr(path, '/') + 1);
	p = mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		remove_build(path);
		return TG_ENOMEM;
	}
	memset(p, 0, sizeof *p);
	p->out = *out;
	p->batch = BATCH;
	job = (struct copy_job){ path, old_dir, prices, p };

	for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
		if ((rc = in_child(copy_job_run, &job)) <= 0) {
			rc = rc ? rc : p->rc;
			break;
		}
		rc = 0;
		p->out.read_stopped = p->out.lmdb_failed = 1;
		if (p->batch > 1)
			p->batch = 1;
		else
			p->records_done = 1;
	}
	*out = p->out;
	munmap(p, sizeof *p);
	if (rc)
		remove_build(path);
	return rc;
}

/* Records the page-by-page read of the old data.mdb found, applied in
 * batches: those the copy of the trees already holds are skipped. */
struct salvage {
	struct tg_ledger *nw;
	const struct tg_prices *prices;
	unsigned char (*keys)[16];
	unsigned char *vals;       /* BATCH values of up to TG_RECORD_ENC_MAX */
	size_t lens[BATCH];
	int n;
	int64_t added;
};

static int put_salvaged(struct tg_ledger *nw, MDB_txn *txn, void *ctx)
{
	struct salvage *sv = ctx;
	struct tg_record r;
	int64_t added = 0;
	int rc;

	for (int i = 0; i < sv->n; i++) {
		MDB_val d = { sv->lens[i], sv->vals + (size_t)i * TG_RECORD_ENC_MAX };

		if (tg_record_decode(&r, d.mv_data, d.mv_size) != 0)
			continue;
		rc = tgl_record_put_txn(nw, txn, sv->keys[i], &d, &r, tgl_record_family(sv->prices, &r), 1);
		if (rc != 0 && rc != 1)
			return rc;
		added += rc == 0;
	}
	sv->added += added;   /* runs again after MAP_FULL: counted once it commits */
	return 0;
}

static int flush_salvaged(struct salvage *sv)
{
	int64_t before = sv->added;
	int rc = sv->n ? tgl_ledger_write(sv->nw, put_salvaged, sv) : 0;

	if (rc)
		sv->added = before;
	sv->n = 0;
	return rc;
}

static int take_salvaged(void *ctx, const unsigned char key[16], const void *val, size_t len,
                         const struct tg_record *r)
{
	struct salvage *sv = ctx;

	if (len > TG_RECORD_ENC_MAX)
		return 0;
	memcpy(sv->keys[sv->n], key, 16);
	memcpy(sv->vals + (size_t)sv->n * TG_RECORD_ENC_MAX, val, len);
	sv->lens[sv->n++] = len;
	return sv->n == BATCH ? flush_salvaged(sv) : 0;
}

/* Adds to the new ledger in dir/build every record the old data.mdb
 * still holds in a leaf page (ledger_salvage.c), whether or not LMDB can
 * reach it. */
static int salvage_into(int dirfd, const char *dir, const char *build,
                        const struct tg_prices *prices, struct tg_repair *out)
{
	char path[PATH_MAX];
	struct tg_data_meta m;
	struct salvage sv;
	int64_t found;
	int fd, rc;

	memset(&sv, 0, sizeof sv);
	sv.prices = prices;
	sv.keys = malloc(BATCH * 16);
	sv.vals = malloc((size_t)BATCH * TG_RECORD_ENC_MAX);
	if (!sv.keys || !sv.vals) {
		rc = TG_ENOMEM;
		goto out;
	}
	if ((fd = tg_file_open(dirfd, "data.mdb", O_RDONLY)) < 0) {
		rc = fd == TG_ENOENT ? 0 : fd;
		goto out;
	}
	snprintf(path, sizeof path, "%s/%s", dir, build);
	if ((rc = tg_ledger_open(&sv.nw, path, 0)) == 0) {
		/* A header too damaged to say the page size: LMDB's default. */
		rc = tgl_salvage_records(fd, tg_data_meta_read(fd, &m) == 0 ? m.page_size : 4096,
		                         take_salvaged, &sv, &found);
		if (rc == 0)
			rc = flush_salvaged(&sv);
		tg_ledger_close(sv.nw);
	}
	close(fd);
	out->records_salvaged = sv.added;
	out->records_kept += sv.added;
out:
	free(sv.keys);
	free(sv.vals);
	return rc;
}

/* What the check of the old ledger found, from a child process. */
static int check_old(const char *dir, const struct tg_prices *prices, struct tg_repair *out);

struct check_job {
	const char *dir;
	const struct tg_prices *prices;
	struct tg_repair *out;     /* in memory shared with the child */
	int rc;
};

static void check_job_run(void *ctx)
{
	struct check_job *j = ctx;
	struct tg_ledger *old;

	j->out->old_rc = j->rc = tg_ledger_open(&old, j->dir, TG_LEDGER_RDONLY);
	if (j->rc)
		return;
	j->out->old_readable = 1;
	j->rc = tg_ledger_verify(old, j->prices, &j->out->before, NULL, NULL);
	tg_ledger_close(old);
}

static int check_old(const char *dir, const struct tg_prices *prices, struct tg_repair *out)
{
	struct check_job *j = mmap(NULL, sizeof *j + sizeof *out, PROT_READ | PROT_WRITE,
	                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int rc;

	if (j == MAP_FAILED)
		return TG_ENOMEM;
	j->dir = dir;
	j->prices = prices;
	j->out = (struct tg_repair *)(j + 1);
	*j->out = *out;
	rc = in_child(check_job_run, j);
	if (rc >= 0) {
		*out = *j->out;
		/* A verify that failed or died (a damaged page): rebuild.  An
		 * open that failed other than as damage is the repair's error. */
		out->before_failed = rc == 1 || (out->old_readable && j->rc != 0);
		rc = out->old_readable || rc == 1 || j->rc == TG_ECORRUPT || j->rc == TG_EIO ? 0 : j->rc;
		if (!out->old_readable && rc == 0 && j->rc == 0)
			out->old_rc = TG_ECORRUPT;
	}
	munmap(j, sizeof *j + sizeof *out);
	return rc;
}

/* 1 when the old ledger needs nothing: its own databases are consistent
 * (a damaged spool is not the ledger's: a rebuild would not mend it). */
static int clean(const struct tg_verify *v)
{
	return v->problems - v->spool_problems == 0;
}

int tg_ledger_repair(const char *dir, const struct tg_prices *prices, int force,
                     int lock_wait_ms, struct tg_repair *out)
{
	struct tg_ledger *old = NULL, *l;
	char build[64], aside[64];
	const char *old_dir = NULL;
	int dirfd, lockfd, rc;

	memset(out, 0, sizeof *out);
	if ((dirfd = tg_dir_open(dir)) < 0)
		return dirfd;
	lockfd = tg_file_open(dirfd, "lock.mdb", O_RDONLY);
	rc = tgl_writer_lock_fds(dirfd, lockfd, lock_wait_ms * 1000, lock_wait_ms * 1000);
	if (rc == TG_ELOCKED)
		tgl_writer_holder_fds(dirfd, lockfd, out->holder, sizeof out->holder);
	if (lockfd >= 0)
		close(lockfd);
	if (rc)
		goto out;

	/* Everything that reads the old file through LMDB runs in a child. */
	if ((rc = check_old(dir, prices, out)) != 0)
		goto unlock;
	if (out->old_readable)
		old_dir = dir;
	if (out->old_readable && !out->before_failed && clean(&out->before) && !force) {
		out->healthy = 1;
		goto unlock;
	}
	if ((rc = build_new(dir, old_dir, prices, out, build, sizeof build)) != 0)
		goto unlock;
	if ((rc = salvage_into(dirfd, dir, build, prices, out)) != 0)
		goto unlock;
	if ((rc = make_aside(dirfd, dir, aside, sizeof aside, out->kept_in,
	                     sizeof out->kept_in)) == 0)
		rc = swap_in(dirfd, build, aside);
unlock:
	tg_ledger_close(old);
	flock(dirfd, LOCK_UN);
	if (rc == 0 && !out->healthy) {
		/* The lock is ours no more: the fold takes it like any writer. */
		out->fold_rc = tg_ledger_open(&l, dir, 0);
		if (out->fold_rc == 0) {
			out->fold_rc = tg_ledger_fold(l, &out->spool_folded, NULL);
			tg_ledger_close(l);
		}
	}
out:
	close(dirfd);
	return rc;
}
