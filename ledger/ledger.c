/* ledger.c - the LMDB side of the ledger: opening, appending, scanning and
 * mapping LMDB's errors to TG_E* codes.  Layout and rules are in ledger.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "ledger_impl.h"
#include "record_codec.h"
#include "pid.h"
#include "spool_cache.h"

#define MAP_INITIAL_DEFAULT ((size_t)64 << 20)
#define MAP_MAX_DEFAULT ((size_t)16 << 30)
#define MAX_DBS 12          /* 7 used: room for later databases without a reopen */
#define READERS_FULL_TRIES 50
#define READERS_FULL_SLEEP_NS (10 * 1000 * 1000)
#define APPEND_TRIES 64     /* map doublings, resizes by others */
#define CLI_LOCK_WAIT_MS 3000
/* A spooling handle waits for the lock while other writers keep
 * committing (up to SPOOL_LOCK_WAIT_US), so that processes racing for it
 * see each other's spend in their budget checks as they did when they
 * queued on LMDB's mutex; it stops waiting and spools once no commit was
 * seen for SPOOL_LOCK_IDLE_US: the holder is stuck, not busy.  After such
 * a wait it spools at once, with a single try for the lock per write,
 * for SPOOL_STUCK_US. */
#define SPOOL_LOCK_IDLE_US 5000
#define SPOOL_LOCK_WAIT_US 50000
#define SPOOL_STUCK_US 1000000
/* The durable commit (one fdatasync) runs inside the program's SSL call.
 * A disk that makes it take longer than SLOW_COMMIT_US (a healthy one
 * takes well under 10 ms) would make every call pay that: a spooling
 * handle that sees such a commit spools everything for SLOW_DISK_US
 * instead, and commits (folding its spool) again only after that.  A
 * stalled disk so costs a program one slow commit per SLOW_DISK_US. */
#define SLOW_COMMIT_US 50000
#define SLOW_DISK_US 30000000

/* The process's key sequence, shared by its handles (ledger_impl.h). */
static uint32_t key_seq;

static void (*on_damage)(void);   /* tg_ledger_on_damage() */

void tg_ledger_on_damage(void (*fn)(void))
{
	on_damage = fn;
}

static void lmdb_assert(MDB_env *env, const char *msg)
{
	if (on_damage)
		on_damage();
}

static int from_mdb(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_MAP_FULL: return TG_EFULL;
	case MDB_READERS_FULL: return TG_EBUSY;
	case MDB_INVALID: case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND:
	case MDB_VERSION_MISMATCH: case MDB_INCOMPATIBLE: case MDB_BAD_VALSIZE:
		return TG_ECORRUPT;
	}
	return rc > 0 ? tg_error_from_errno(rc) : TG_EIO;
}

int tgl_ledger_err(int rc)
{
	return rc <= 0 && rc >= TG_ELAST ? rc : from_mdb(rc);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_briefly(void)
{
	struct timespec ts = { 0, READERS_FULL_SLEEP_NS };

	nanosleep(&ts, NULL);
}

static void make_key(unsigned char key[16], int64_t ts_us, uint32_t pid, uint32_t seq)
{
	tg_put_be32(key, (uint32_t)((uint64_t)ts_us >> 32));
	tg_put_be32(key + 4, (uint32_t)ts_us);
	tg_put_be32(key + 8, pid);
	tg_put_be32(key + 12, seq);
}

/* Read-only begins wait out a full reader table: short-lived reports and
 * crashed readers free slots soon, and mdb_reader_check() reclaims the
 * latter at once. */
static int begin_read(struct tg_ledger *l, MDB_txn **txn)
{
	int rc = MDB_READERS_FULL;

	for (int i = 0; i < READERS_FULL_TRIES && rc == MDB_READERS_FULL; i++) {
		if (i > 0) {
			mdb_reader_check(l->env, NULL);
			sleep_briefly();
		}
		rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, txn);
	}
	return rc;
}

/* The budget databases.  Creating them is also the whole migration from
 * schema 1, whose ledgers hold only meta and records. */
static int open_budget_dbs(struct tg_ledger *l, MDB_txn *txn, unsigned flags)
{
	const struct { const char *name; MDB_dbi *dbi; } dbs[] = {
		{ "policies", &l->policies }, { "totals", &l->totals }, { "resets", &l->resets },
		{ "alerts", &l->alerts }, { "alert_once", &l->alert_once },
	};
	int rc;

	for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, flags, dbs[i].dbi);
		if (rc)
			return rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE ? TG_ECORRUPT : from_mdb(rc);
	}
	l->has_budget_dbs = 1;
	return 0;
}

/* Layout changes go here, one step per schema version.  Schema 2 added the
 * budget databases; totals start at zero for what schema 1 recorded, as
 * records kept before budgets existed belong to no budget. */
/* Says where the totals start: after the last record a schema 1 ledger
 * holds, so that a check of the totals (ledger_verify.c) and a rebuild
 * (ledger_repair.c) leave the older records out, as the totals do. */
static int mark_totals_from(struct tg_ledger *l, MDB_txn *txn)
{
	MDB_val k = { sizeof TGL_META_TOTALS_FROM - 1, TGL_META_TOTALS_FROM }, key, d;
	MDB_cursor *cur;
	MDB_dbi records;
	int rc;

	if ((rc = mdb_dbi_open(txn, "records", 0, &records)) != 0 ||
	    (rc = mdb_cursor_open(txn, records, &cur)) != 0)
		return rc == MDB_NOTFOUND ? TG_ECORRUPT : from_mdb(rc);
	rc = mdb_cursor_get(cur, &key, &d, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;   /* no record yet: every one will be in the totals */
	if (rc)
		return from_mdb(rc);
	return from_mdb(mdb_put(txn, l->meta, &k, &key, 0));
}

static int migrate(struct tg_ledger *l, MDB_txn *txn, uint32_t from)
{
	int rc;

	if (from == 0)
		return TG_ECORRUPT;
	if (from >= 2)
		return 0;
	rc = mark_totals_from(l, txn);
	return rc ? rc : open_budget_dbs(l, txn, MDB_CREATE);
}

static int write_schema(MDB_txn *txn, MDB_dbi meta)
{
	unsigned char v[4];
	MDB_val k = { 6, "schema" }, d = { sizeof v, v };

	tg_put_be32(v, TG_LEDGER_SCHEMA);
	return from_mdb(mdb_put(txn, meta, &k, &d, 0));
}

/* An environment whose main database holds anything but our named
 * databases belongs to something else: we must not write into it. */
static int env_is_empty(MDB_txn *txn)
{
	MDB_dbi main;
	MDB_stat st;

	return mdb_dbi_open(txn, NULL, 0, &main) == 0 &&
	       mdb_stat(txn, main, &st) == 0 && st.ms_entries == 0;
}

/* Opens the databases in txn.  Returns 0 when they are all there and
 * current; 1 when creating or migrating them needs a write transaction
 * and write is 0 (txn is then read-only); or a TG_E* / LMDB code. */
static int open_dbs(struct tg_ledger *l, MDB_txn *txn, int write)
{
	int writable = !(l->flags & TG_LEDGER_RDONLY);
	MDB_val k = { 6, "schema" }, d;
	uint32_t version;
	int rc;

	l->has_budget_dbs = 0;
	rc = mdb_dbi_open(txn, "meta", 0, &l->meta);
	if (rc == MDB_NOTFOUND) {
		if (!env_is_empty(txn))
			return TG_ECORRUPT;
		if (!writable)
			return TG_ENOENT;  /* created, never initialised */
		if (!write)
			return 1;
		if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &l->meta)) != 0 ||
		    (rc = mdb_dbi_open(txn, "records", MDB_CREATE, &l->records)) != 0)
			return from_mdb(rc);
		if ((rc = open_budget_dbs(l, txn, MDB_CREATE)) != 0)
			return rc;
		return write_schema(txn, l->meta);
	}
	if (rc)
		return rc == MDB_INCOMPATIBLE ? TG_ECORRUPT : from_mdb(rc);

	rc = mdb_get(txn, l->meta, &k, &d);
	if (rc == MDB_NOTFOUND || (rc == 0 && d.mv_size != 4))
		return TG_ECORRUPT;
	if (rc)
		return from_mdb(rc);
	version = tg_get_be32(d.mv_data);
	if (version > TG_LEDGER_SCHEMA)
		return TG_ESCHEMA;
	if (version < TG_LEDGER_SCHEMA && writable) {
		if (!write)
			return 1;
		if ((rc = migrate(l, txn, version)) != 0 || (rc = write_schema(txn, l->meta)) != 0)
			return rc;
	}

	rc = mdb_dbi_open(txn, "records", 0, &l->records);
	if (rc)
		return rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE ? TG_ECORRUPT : from_mdb(rc);
	/* A read-only open of a schema 1 ledger cannot create them: it reads
	 * as having no policies, totals or alerts. */
	if (version >= 2 && !l->has_budget_dbs)
		return open_budget_dbs(l, txn, 0);
	return 0;
}

static int remember_file(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0)
		return tg_error_from_errno(errno);
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* Opens data.mdb and lock.mdb as files we own and have checked, then the
 * LMDB environment over them.  The environment is given the directory as
 * /proc/self/fd/<dirfd>, so LMDB's own opens land in the directory that
 * was checked even if its path is changed meanwhile. */
static int open_files_and_env(struct tg_ledger *l)
{
	int writable = !(l->flags & TG_LEDGER_RDONLY);
	unsigned env_flags = MDB_NOTLS | MDB_NOMETASYNC;
	MDB_envinfo info;
	int fd, rc;

	fd = tg_file_open(l->dirfd, "data.mdb",
	                  !writable ? O_RDONLY : (l->flags & TG_LEDGER_CREATE) ? O_RDWR | O_CREAT : O_RDWR);
	if (fd < 0)
		return fd;
	l->datafd = fd;
	if ((rc = tg_data_precheck(fd)) != 0)
		return rc;

	fd = tg_file_open(l->dirfd, "lock.mdb", writable ? O_RDWR | O_CREAT : O_RDWR);
	if (fd == TG_ENOENT && !writable) {
		/* LMDB would create a missing lock file; a read-only open
		 * must not create anything, and no writer can be running
		 * without one. */
		env_flags |= MDB_NOLOCK;
	} else if (fd == TG_EACCES && !writable) {
		env_flags |= MDB_NOLOCK;   /* a read-only file system: nobody writes there */
	} else if (fd < 0) {
		return fd;
	} else {
		l->lockfd = fd;
		if ((rc = tg_lock_file_reserve(fd)) != 0)
			return rc;
	}
	if ((rc = remember_file(l->lockfd, &l->lock_dev, &l->lock_ino)) != 0 ||
	    (rc = remember_file(l->datafd, &l->data_dev, &l->data_ino)) != 0)
		return rc;
	/* Our own view of the meta pages, for the check before each
	 * transaction (LMDB does not say where its map is).  Only the bytes
	 * the file's size vouches for are ever read. */
	l->meta_map = mmap(NULL, TGL_META_MAP_BYTES, PROT_READ, MAP_SHARED, l->datafd, 0);
	if (l->meta_map == MAP_FAILED) {
		l->meta_map = NULL;
		return tg_error_from_errno(errno);
	}
	if (!writable)
		env_flags |= MDB_RDONLY;

	if ((rc = mdb_env_create(&l->env)) != 0)
		return from_mdb(rc);
	mdb_env_set_assert(l->env, lmdb_assert);
	if ((rc = mdb_env_set_maxdbs(l->env, MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(l->env, l->map_size)) != 0)
		return from_mdb(rc);
	/* LMDB's open reads the header with pread and maps the file without
	 * touching it; a process that makes a new ledger writes its meta
	 * pages under LMDB's open-time lock, which this open waits out.  So
	 * what is checked next is whole, before any page is read through the
	 * map. */
	rc = mdb_env_open(l->env, l->env_path, env_flags, 0600);
	if (rc == EINVAL)
		return TG_ECORRUPT;  /* what LMDB says of a data file with a bad header */
	if (rc)
		return from_mdb(rc);
	rc = tg_data_check(l->datafd, NULL);
	if (rc == 0)
		rc = tg_data_check_trees(l->datafd);
	if (rc)
		return rc == TG_ENOENT ? TG_ECORRUPT : rc;
	/* An existing ledger may already be larger than our first size. */
	if (mdb_env_info(l->env, &info) == 0 && info.me_mapsize > l->map_size)
		l->map_size = info.me_mapsize;
	return 0;
}

static void close_files_and_env(struct tg_ledger *l)
{
	/* The environment first: our descriptor of lock.mdb must not be the
	 * last one closed while LMDB's fcntl locks on it still matter. */
	if (l->env)
		mdb_env_close(l->env);
	l->env = NULL;
	if (l->meta_map)
		munmap((void *)l->meta_map, TGL_META_MAP_BYTES);
	l->meta_map = NULL;
	if (l->lockfd >= 0)
		close(l->lockfd);
	if (l->datafd >= 0)
		close(l->datafd);
	l->lockfd = l->datafd = -1;
	l->ready = 0;
}

/* Another process grew the map: adopt its size (called with the lock held
 * exclusively, or before the handle's first transaction). */
static void adopt_map_size(struct tg_ledger *l)
{
	MDB_envinfo info;

	mdb_env_set_mapsize(l->env, 0);
	if (mdb_env_info(l->env, &info) == 0)
		l->map_size = info.me_mapsize;
}

/* Opens the databases without writing, as every open of a current ledger
 * does: a write would wait for the writer lock.  Returns 0 (ready), 1
 * (needs a first write), or a TG_E* code. */
static int init_read(struct tg_ledger *l)
{
	MDB_txn *txn;
	int rc = begin_read(l, &txn);

	/* Another process grew the map between our mdb_env_open() and now
	 * (processes that make a ledger together do, at once): no transaction
	 * of this handle exists yet, so its size is adopted here. */
	for (int i = 0; i < APPEND_TRIES && rc == MDB_MAP_RESIZED; i++) {
		adopt_map_size(l);
		rc = begin_read(l, &txn);
	}
	if (rc)
		return from_mdb(rc);
	rc = open_dbs(l, txn, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	/* Committing, even read-only, keeps the database handles open. */
	if ((rc = mdb_txn_commit(txn)) != 0)
		return from_mdb(rc);
	l->ready = 1;
	return 0;
}

/* 1 when name is no longer the file we opened as dev/ino: deleted, or
 * replaced by another (a new ledger, a repair, a lock file recreated by a
 * process that found none).  Writers on two lock files would commit over
 * each other, readers in a table no writer sees would read reused pages:
 * the environment must be reopened on the files now in place.  *st gets
 * what is there now. */
static int replaced(struct tg_ledger *l, const char *name, dev_t dev, ino_t ino, struct stat *st)
{
	return fstatat(l->dirfd, name, st, AT_SYMLINK_NOFOLLOW) != 0 || st->st_ino != ino ||
	       st->st_dev != dev;
}

/* Before a transaction maps a page: are data.mdb and lock.mdb still the
 * files we opened, and is data.mdb as long as its header says (a short
 * file would raise SIGBUS in the program)?  Two fstatat() calls; the meta
 * pages are read in the map once the size says they are there.  Returns
 * 0, 1 (replaced: reopen) or TG_ECORRUPT. */
static int files_check(struct tg_ledger *l)
{
	struct stat st;

	if (l->lockfd >= 0 && replaced(l, "lock.mdb", l->lock_dev, l->lock_ino, &st))
		return 1;
	if (replaced(l, "data.mdb", l->data_dev, l->data_ino, &st))
		return 1;
	return tg_data_check_mapped(l->meta_map, (uint64_t)st.st_size, NULL);
}

/* With the handle's lock held exclusively: checks the files (files_check),
 * reopens the environment when it is gone or its files were replaced,
 * opens the databases when they are not open yet.  Returns 0, 1 (needs a
 * first write) or a TG_E* code. */
static int refresh(struct tg_ledger *l)
{
	int rc = l->env ? files_check(l) : 1;

	if (rc == 1) {
		/* The open checks data.mdb as it finds it (tg_data_check). */
		close_files_and_env(l);
		if ((rc = open_files_and_env(l)) != 0) {
			close_files_and_env(l);
			return rc;
		}
	}
	if (rc)
		return rc;
	return l->ready ? 0 : init_read(l);
}

int tg_ledger_open_ex(struct tg_ledger **out, const char *dir, unsigned flags,
                      const struct tg_ledger_opts *opts)
{
	struct tg_ledger *l;
	int rc;

	*out = NULL;
	if (!dir || !*dir ||
	    (flags & ~(TG_LEDGER_RDONLY | TG_LEDGER_CREATE | TG_LEDGER_SPOOL | TG_LEDGER_HANDOFF)) ||
	    ((flags & TG_LEDGER_RDONLY) && (flags & (TG_LEDGER_CREATE | TG_LEDGER_SPOOL))) ||
	    ((flags & TG_LEDGER_HANDOFF) && !(flags & TG_LEDGER_SPOOL)))
		return TG_EINVAL;
	if (strlen(dir) >= PATH_MAX)
		return TG_ETOOLONG;
	if (!(l = calloc(1, sizeof *l)))
		return TG_ENOMEM;
	if (pthread_rwlock_init(&l->lock, NULL) != 0) {
		free(l);
		return TG_ENOMEM;
	}
	if (pthread_mutex_init(&l->edge_lock, NULL) != 0) {
		pthread_rwlock_destroy(&l->lock);
		free(l);
		return TG_ENOMEM;
	}
	l->dirfd = l->lockfd = l->datafd = -1;
	l->spool = (struct tg_spool)TG_SPOOL_INIT;
	l->pid = tg_getpid();
	l->flags = flags;
	l->lock_wait_us = (flags & TG_LEDGER_SPOOL) ? SPOOL_LOCK_WAIT_US : CLI_LOCK_WAIT_MS * 1000;
	if (opts && opts->lock_wait_ms > 0)
		l->lock_wait_us = opts->lock_wait_ms * 1000;
	l->lock_idle_us = (flags & TG_LEDGER_SPOOL) ? SPOOL_LOCK_IDLE_US : l->lock_wait_us;
	l->map_size = opts && opts->map_initial ? opts->map_initial : MAP_INITIAL_DEFAULT;
	l->map_max = opts && opts->map_max ? opts->map_max : MAP_MAX_DEFAULT;
	if (l->map_max < l->map_size)
		l->map_max = l->map_size;

	if ((flags & TG_LEDGER_CREATE) && (rc = tg_ledger_mkdirs(dir)) != 0)
		goto fail;
	if ((l->dirfd = tg_dir_open(dir)) < 0) {
		rc = l->dirfd;
		l->dirfd = -1;
		goto fail;
	}
	if (access("/proc/self/fd", X_OK) == 0)
		snprintf(l->env_path, sizeof l->env_path, "/proc/self/fd/%d", l->dirfd);
	else
		snprintf(l->env_path, sizeof l->env_path, "%s", dir);
	if ((flags & TG_LEDGER_HANDOFF) && faccessat(l->dirfd, "data.mdb", F_OK,
	                                              AT_SYMLINK_NOFOLLOW) == 0) {
		/* Appends need only the directory: LMDB waits for the first
		 * read or fold (refresh() opens it).  A new ledger is made now
		 * all the same, so that readers find one. */
		*out = l;
		return 0;
	}
	if ((rc = open_files_and_env(l)) != 0)
		goto fail;
	rc = init_read(l);
	if (rc == 1) {
		/* A new ledger, or one of an older schema: made or migrated by
		 * the first write, now if the writer lock is free.  A spooling
		 * handle goes on without: its writes spool until then. */
		rc = tgl_ledger_write(l, NULL, NULL);
		if (rc == TG_ELOCKED && (flags & TG_LEDGER_SPOOL))
			rc = 0;
	}
	if (rc)
		goto fail;
	*out = l;
	return 0;
fail:
	tg_ledger_close(l);
	return rc;
}

int tg_ledger_open(struct tg_ledger **out, const char *dir, unsigned flags)
{
	return tg_ledger_open_ex(out, dir, flags, NULL);
}

/* Called with the lock held exclusively.  Doubling keeps the number of
 * resizes logarithmic; the cap turns a runaway into TG_EFULL instead of
 * filling the disk. */
static int grow_map(struct tg_ledger *l)
{
	size_t next;

	if (l->map_size >= l->map_max)
		return TG_EFULL;
	next = l->map_size > l->map_max / 2 ? l->map_max : l->map_size * 2;
	if (mdb_env_set_mapsize(l->env, next) != 0)
		return TG_EFULL;
	l->map_size = next;
	return 0;
}

void tgl_ledger_next_key(struct tg_ledger *l, unsigned char key[16], int64_t ts_us)
{
	make_key(key, ts_us, (uint32_t)l->pid, __atomic_fetch_add(&key_seq, 1, __ATOMIC_RELAXED));
}

/* One write transaction with the writer lock held: the spools are folded
 * in first, so whichever writer gets the lock commits what others could
 * not, then fn's change (fn may be NULL: a fold alone). */
static int write_locked(struct tg_ledger *l, tgl_ledger_txn_fn fn, void *ctx)
{
	struct tgl_fold fold;
	MDB_txn *txn;
	int rc, committed = 0;

	memset(&fold, 0, sizeof fold);
	rc = refresh(l);
	if (rc == 1)
		rc = 0;   /* a first write: open_dbs() below makes the databases */
	if (rc)
		return rc;
	rc = MDB_MAP_FULL;
	for (int i = 0; i < APPEND_TRIES; i++) {
		rc = mdb_txn_begin(l->env, NULL, 0, &txn);
		if (rc == MDB_MAP_RESIZED) {
			adopt_map_size(l);
			continue;
		}
		if (rc)
			break;
		l->stamp_due = 0;
		rc = l->ready ? 0 : open_dbs(l, txn, 1);
		if (rc == 0)
			rc = tgl_fold_txn(l, txn, &fold);
		if (rc == 0 && fn)
			rc = fn(l, txn, ctx);
		if (rc == 0)
			rc = tgl_policy_stamp_txn(l, txn);
		if (rc == 0) {
			if ((rc = mdb_txn_commit(txn)) == 0)
				committed = l->ready = 1;
		} else {
			mdb_txn_abort(txn);
		}
		if (committed)
			tgl_policy_stamp_write(l);
		l->stamp_due = 0;
		if (rc != MDB_MAP_FULL)
			break;
		if ((rc = grow_map(l)) != 0)
			break;
		rc = MDB_MAP_FULL;
	}
	tgl_fold_finish(l, &fold, committed);
	l->last_fold_applied = committed ? fold.applied : 0;
	l->last_fold_stats = fold.st;
	return rc;
}

/* tgl_ledger_write(), waiting for the lock as the handle's kind does
 * (may_wait), or not at all. */
static int write_as(struct tg_ledger *l, tgl_ledger_txn_fn fn, void *ctx, int may_wait)
{
	int rc, wait;

	if (!l || (l->flags & TG_LEDGER_RDONLY))
		return TG_EINVAL;
	if (tg_getpid() != l->pid)
		return TG_EFORKED;
	if (pthread_rwlock_wrlock(&l->lock) != 0)
		return TG_EIO;
	if ((l->flags & TG_LEDGER_SPOOL) && now_us() < l->slow_disk_until_us) {
		pthread_rwlock_unlock(&l->lock);
		return TG_ELOCKED;   /* spooled: see SLOW_COMMIT_US */
	}
	wait = !may_wait || ((l->flags & TG_LEDGER_SPOOL) && now_us() < l->lock_stuck_until_us) ? 0 : 1;
	rc = wait ? tgl_writer_lock(l, l->lock_idle_us, l->lock_wait_us) : tgl_writer_lock(l, 0, 0);
	if (rc == 0) {
		int64_t started = now_us();

		l->lock_stuck_until_us = 0;
		rc = write_locked(l, fn, ctx);
		tgl_writer_unlock(l);
		if ((l->flags & TG_LEDGER_SPOOL) && now_us() - started > SLOW_COMMIT_US)
			l->slow_disk_until_us = now_us() + SLOW_DISK_US;
	} else if (rc == TG_ELOCKED && wait) {
		l->lock_stuck_until_us = now_us() + SPOOL_STUCK_US;
	}
	pthread_rwlock_unlock(&l->lock);
	return tgl_ledger_err(rc);
}

int tgl_ledger_write(struct tg_ledger *l, tgl_ledger_txn_fn fn, void *ctx)
{
	return write_as(l, fn, ctx, 1);
}

int tg_ledger_try_fold(struct tg_ledger *l)
{
	return write_as(l, NULL, NULL, 0);
}

int tg_ledger_fold_due(struct tg_ledger *l)
{
	int due;

	if (!l || pthread_rwlock_rdlock(&l->lock) != 0)
		return 0;
	due = l->pending >= TG_FOLD_RECORDS ||
	      (l->pending > 0 && now_us() - l->pending_since_us >= (int64_t)TG_FOLD_AGE_MS * 1000);
	pthread_rwlock_unlock(&l->lock);
	return due;
}

int64_t tg_ledger_pending(struct tg_ledger *l)
{
	int64_t n;

	if (!l || pthread_rwlock_rdlock(&l->lock) != 0)
		return 0;
	n = l->pending;
	pthread_rwlock_unlock(&l->lock);
	return n;
}

int tgl_ledger_spool(struct tg_ledger *l, int rc, int type, const void *payload, size_t len)
{
	if (rc != TG_ELOCKED || !(l->flags & TG_LEDGER_SPOOL))
		return rc;
	if (pthread_rwlock_wrlock(&l->lock) != 0)
		return TG_EIO;
	rc = tg_spool_append(&l->spool, l->dirfd, type, payload, len);
	if (rc == 0 && l->pending++ == 0)
		l->pending_since_us = now_us();
	pthread_rwlock_unlock(&l->lock);
	return rc ? rc : TG_LEDGER_SPOOLED;
}

struct append {
	const unsigned char *key;
	const struct tg_record *r;
	const char *model_family;
	const unsigned char *val;
	size_t len;
};

static int append_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct append *a = ctx;
	MDB_val d = { a->len, (void *)a->val };
	int rc = tgl_record_put_txn(l, txn, a->key, &d, a->r, a->model_family, 1);

	return rc == 1 ? MDB_KEYEXIST : rc;
}

int tg_ledger_append_scoped(struct tg_ledger *l, const struct tg_record *r,
                            const char *model_family)
{
	/* The spool entry's payload, built first: key | family | record. */
	unsigned char payload[16 + 1 + TG_MODEL_MAX + TG_RECORD_ENC_MAX];
	struct append a = { payload, r, model_family, NULL, 0 };
	size_t flen;
	int len, rc;

	if (!l || !r || r->ts_us < 0)
		return TG_EINVAL;
	if (!model_family || !*model_family)
		a.model_family = r->model;
	flen = strnlen(a.model_family, TG_MODEL_MAX - 1);
	tgl_ledger_next_key(l, payload, r->ts_us);
	payload[16] = (unsigned char)flen;
	memcpy(payload + 17, a.model_family, flen);
	a.val = payload + 17 + flen;
	if ((len = tg_record_encode(r, (unsigned char *)a.val, TG_RECORD_ENC_MAX)) < 0)
		return TG_EINVAL;
	a.len = (size_t)len;
	if (l->flags & TG_LEDGER_HANDOFF)
		return tgl_ledger_spool(l, TG_ELOCKED, TG_SPOOL_RECORD, payload, 17 + flen + a.len);
	rc = tgl_ledger_write(l, append_txn, &a);
	if (rc == 0)
		return 0;
	return tgl_ledger_spool(l, rc, TG_SPOOL_RECORD, payload, 17 + flen + a.len);
}

int tg_ledger_append(struct tg_ledger *l, const struct tg_record *r)
{
	return tg_ledger_append_scoped(l, r, r ? r->model : NULL);
}

int tg_ledger_fold(struct tg_ledger *l, int64_t *applied, struct tg_spool_stats *st)
{
	int rc = tgl_ledger_write(l, NULL, NULL);

	if (applied)
		*applied = rc == 0 ? l->last_fold_applied : 0;
	if (st)
		*st = l->last_fold_stats;
	return rc;
}

void tg_ledger_holder(struct tg_ledger *l, char *buf, size_t n)
{
	tgl_writer_holder(l, buf, n);
}

/* Takes the lock shared and opens a read transaction on a whole data
 * file.  What needs the lock exclusively (reopening replaced files,
 * adopting a map another process grew) is done in between. */
static int scan_begin(struct tg_ledger *l, MDB_txn **txn)
{
	int rc, made = 0;

	for (int i = 0; i < APPEND_TRIES; i++) {
		if (pthread_rwlock_rdlock(&l->lock) != 0)
			return TG_EIO;
		rc = !l->env || !l->ready ? 1 : files_check(l);
		if (rc == 0) {
			rc = begin_read(l, txn);
			if (rc == 0)
				return 0;   /* the caller unlocks */
		}
		pthread_rwlock_unlock(&l->lock);
		if (rc != 1 && rc != MDB_MAP_RESIZED)
			return tgl_ledger_err(rc);
		if (pthread_rwlock_wrlock(&l->lock) != 0)
			return TG_EIO;
		if (rc == MDB_MAP_RESIZED)
			adopt_map_size(l);
		else
			rc = refresh(l);
		pthread_rwlock_unlock(&l->lock);
		if (rc == 1 && (l->flags & TG_LEDGER_HANDOFF) && !made) {
			/* Nothing was opened before this read: a new ledger is
			 * made now, as tg_ledger_open() makes it for others. */
			made = 1;
			if ((rc = tgl_ledger_write(l, NULL, NULL)) == 0)
				continue;
		}
		if (rc == 1 || rc == TG_ELOCKED)
			return TG_ENOENT;   /* a first write has not made it yet */
		if (rc < 0)
			return rc;
	}
	return TG_EIO;
}

static int scan_cursor(MDB_cursor *cur, int64_t since_us, int64_t until_us,
                       int (*fn)(void *ctx, const struct tg_record *r), void *ctx)
{
	unsigned char start[16];
	MDB_val k = { sizeof start, start }, d;
	struct tg_record rec;
	int rc;

	make_key(start, since_us, 0, 0);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		uint64_t ts;

		if (k.mv_size != 16)
			return TG_ECORRUPT;
		ts = tg_get_be64(k.mv_data);
		if (ts > INT64_MAX || (int64_t)ts >= until_us)
			return 0;
		if ((rc = tg_record_decode(&rec, d.mv_data, d.mv_size)) != 0)
			return rc;
		if ((rc = fn(ctx, &rec)) != 0)
			return rc;
	}
	return rc == MDB_NOTFOUND ? 0 : from_mdb(rc);
}

struct scan_spooled {
	int64_t since_us, until_us;
	int (*fn)(void *ctx, const struct tg_record *r);
	void *ctx;
	int stop;            /* fn's nonzero value, returned as it is */
};

static int scan_spooled(void *ctx, const unsigned char key[16], const struct tg_record *r,
                        const char *model_family)
{
	struct scan_spooled *s = ctx;

	(void)key;
	(void)model_family;
	if (r->ts_us < s->since_us || r->ts_us >= s->until_us)
		return 0;
	return s->fn(s->ctx, r);
}

static int scan_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct scan_spooled *s = ctx;
	MDB_cursor *cur;
	int rc;

	if ((rc = mdb_cursor_open(txn, l->records, &cur)) != 0)
		return from_mdb(rc);
	rc = scan_cursor(cur, s->since_us, s->until_us, s->fn, s->ctx);
	mdb_cursor_close(cur);
	if (rc == 0)
		rc = tgl_spooled_each(l, txn, scan_spooled, s);
	if (rc > 0) {
		s->stop = rc;   /* not an error: the caller's own value */
		return 0;
	}
	return rc;
}

int tg_ledger_scan(struct tg_ledger *l, int64_t since_us, int64_t until_us,
                   int (*fn)(void *ctx, const struct tg_record *r), void *ctx)
{
	struct scan_spooled s = { since_us < 0 ? 0 : since_us, until_us, fn, ctx, 0 };
	int rc;

	if (!l || !fn)
		return TG_EINVAL;
	if (tg_getpid() != l->pid)
		return TG_EFORKED;
	if (until_us <= s.since_us)
		return 0;
	rc = tgl_ledger_read_spooled(l, scan_txn, &s);
	return rc ? rc : s.stop;
}

int tgl_ledger_read(struct tg_ledger *l, tgl_ledger_txn_fn fn, void *ctx)
{
	MDB_txn *txn;
	int rc;

	if (!l)
		return TG_EINVAL;
	if (tg_getpid() != l->pid)
		return TG_EFORKED;
	if ((rc = scan_begin(l, &txn)) != 0)
		return rc;
	rc = fn(l, txn, ctx);
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&l->lock);
	return tgl_ledger_err(rc);
}

int tg_ledger_reader_check(struct tg_ledger *l, int *dead)
{
	int n = 0;

	if (!l)
		return TG_EINVAL;
	if (tg_getpid() != l->pid)
		return TG_EFORKED;
	if (!l->env || mdb_reader_check(l->env, &n) != 0)
		return TG_EIO;
	if (dead)
		*dead = n;
	return 0;
}

void tg_ledger_close(struct tg_ledger *l)
{
	if (!l)
		return;
	if (l->dirfd >= 0)
		tg_spool_close(&l->spool, l->dirfd);
	tg_spool_cache_free(l->spool_cache);
	close_files_and_env(l);
	if (l->dirfd >= 0)
		close(l->dirfd);
	pthread_rwlock_destroy(&l->lock);
	pthread_mutex_destroy(&l->edge_lock);
	free(l);
}

void tg_ledger_abandon(struct tg_ledger *l)
{
	/* The parent's environment stays mapped in the child: closing it
	 * would drop the parent's locks.  Our own descriptors can go (the
	 * child holds no fcntl lock yet, and the parent keeps its flocks:
	 * they belong to descriptions it still has open).  The rwlock may
	 * have been held by a thread that does not exist in the child:
	 * destroying it would be undefined, so it is left too, and so is the
 * edge memo's mutex. */
	tg_spool_abandon(&l->spool);
	tg_spool_cache_abandon(l->spool_cache);
	if (l->lockfd >= 0)
		close(l->lockfd);
	if (l->datafd >= 0)
		close(l->datafd);
	if (l->dirfd >= 0)
		close(l->dirfd);
	free(l);
}
