/* ledger.c - the LMDB side of the ledger: opening, appending, scanning and
 * mapping LMDB's errors to TG_E* codes.  Layout and rules are in ledger.h. */
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger_impl.h"
#include "record_codec.h"

#define MAP_INITIAL_DEFAULT ((size_t)64 << 20)
#define MAP_MAX_DEFAULT ((size_t)16 << 30)
#define MAX_DBS 12          /* 7 used: room for later databases without a reopen */
#define READERS_FULL_TRIES 50
#define READERS_FULL_SLEEP_NS (10 * 1000 * 1000)
#define APPEND_TRIES 64     /* map doublings, resizes by others, key clashes */

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

int tg_ledger_err(int rc)
{
	return rc <= 0 && rc >= TG_EFORKED ? rc : from_mdb(rc);
}

static void sleep_briefly(void)
{
	struct timespec ts = { 0, READERS_FULL_SLEEP_NS };

	nanosleep(&ts, NULL);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

void tg_put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

uint64_t tg_get_be64(const unsigned char *p)
{
	return get_be(p, 8);
}

static void make_key(unsigned char key[16], int64_t ts_us, uint32_t pid, uint32_t seq)
{
	put_be32(key, (uint32_t)((uint64_t)ts_us >> 32));
	put_be32(key + 4, (uint32_t)ts_us);
	put_be32(key + 8, pid);
	put_be32(key + 12, seq);
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
static int migrate(struct tg_ledger *l, MDB_txn *txn, uint32_t from)
{
	if (from == 0)
		return TG_ECORRUPT;
	return from < 2 ? open_budget_dbs(l, txn, MDB_CREATE) : 0;
}

static int write_schema(MDB_txn *txn, MDB_dbi meta)
{
	unsigned char v[4];
	MDB_val k = { 6, "schema" }, d = { sizeof v, v };

	put_be32(v, TG_LEDGER_SCHEMA);
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

static int open_dbs(struct tg_ledger *l, MDB_txn *txn)
{
	int writable = !(l->flags & TG_LEDGER_RDONLY);
	MDB_val k = { 6, "schema" }, d;
	uint32_t version;
	int rc;

	rc = mdb_dbi_open(txn, "meta", 0, &l->meta);
	if (rc == MDB_NOTFOUND) {
		if (!env_is_empty(txn))
			return TG_ECORRUPT;
		if (!writable)
			return TG_ENOENT;  /* created, never initialised */
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
	version = (uint32_t)get_be(d.mv_data, 4);
	if (version > TG_LEDGER_SCHEMA)
		return TG_ESCHEMA;
	if (version < TG_LEDGER_SCHEMA && writable) {
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

static int exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return TG_EINVAL;
	if (stat(path, &st) != 0)
		return tg_error_from_errno(errno);
	return 0;
}

static int open_env(struct tg_ledger *l, const char *dir)
{
	unsigned env_flags = MDB_NOTLS | MDB_NOMETASYNC;
	MDB_envinfo info;
	MDB_txn *txn;
	int rc;

	if (l->flags & TG_LEDGER_CREATE) {
		if ((rc = tg_ledger_mkdirs(dir)) != 0)
			return rc;
	} else if ((rc = exists(dir, "data.mdb")) != 0) {
		return rc;
	}
	if (l->flags & TG_LEDGER_RDONLY) {
		env_flags |= MDB_RDONLY;
		/* LMDB would create a missing lock file; a read-only open
		 * must not create anything, and no writer can be running
		 * without one. */
		if (exists(dir, "lock.mdb") == TG_ENOENT)
			env_flags |= MDB_NOLOCK;
	}

	if ((rc = mdb_env_create(&l->env)) != 0)
		return from_mdb(rc);
	if ((rc = mdb_env_set_maxdbs(l->env, MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(l->env, l->map_size)) != 0)
		return from_mdb(rc);
	rc = mdb_env_open(l->env, dir, env_flags, 0600);
	if (rc == EINVAL)
		return TG_ECORRUPT;  /* what LMDB says of a data file with a bad header */
	if (rc)
		return from_mdb(rc);
	/* An existing ledger may already be larger than our first size. */
	if (mdb_env_info(l->env, &info) == 0 && info.me_mapsize > l->map_size)
		l->map_size = info.me_mapsize;

	if (l->flags & TG_LEDGER_RDONLY)
		rc = begin_read(l, &txn);
	else
		rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return from_mdb(rc);
	if ((rc = open_dbs(l, txn)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	/* Committing, even read-only, keeps the database handles open. */
	return from_mdb(mdb_txn_commit(txn));
}

int tg_ledger_open_ex(struct tg_ledger **out, const char *dir, unsigned flags,
                      const struct tg_ledger_opts *opts)
{
	struct tg_ledger *l;
	int rc;

	*out = NULL;
	if (!dir || !*dir || (flags & ~(TG_LEDGER_RDONLY | TG_LEDGER_CREATE)) ||
	    ((flags & TG_LEDGER_RDONLY) && (flags & TG_LEDGER_CREATE)))
		return TG_EINVAL;
	if (!(l = calloc(1, sizeof *l)))
		return TG_ENOMEM;
	if (pthread_rwlock_init(&l->lock, NULL) != 0) {
		free(l);
		return TG_ENOMEM;
	}
	l->pid = getpid();
	l->flags = flags;
	l->map_size = opts && opts->map_initial ? opts->map_initial : MAP_INITIAL_DEFAULT;
	l->map_max = opts && opts->map_max ? opts->map_max : MAP_MAX_DEFAULT;
	if (l->map_max < l->map_size)
		l->map_max = l->map_size;

	if ((rc = open_env(l, dir)) != 0) {
		tg_ledger_close(l);
		return rc;
	}
	*out = l;
	return 0;
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

/* Another process grew the map: adopt its size (called with the lock held
 * exclusively). */
static void adopt_map_size(struct tg_ledger *l)
{
	MDB_envinfo info;

	mdb_env_set_mapsize(l->env, 0);
	if (mdb_env_info(l->env, &info) == 0)
		l->map_size = info.me_mapsize;
}

void tg_ledger_next_key(struct tg_ledger *l, unsigned char key[16], int64_t ts_us)
{
	make_key(key, ts_us, (uint32_t)l->pid, l->seq++);
}

int tg_ledger_write(struct tg_ledger *l, tg_ledger_txn_fn fn, void *ctx)
{
	MDB_txn *txn;
	int rc = MDB_MAP_FULL;

	if (!l || (l->flags & TG_LEDGER_RDONLY))
		return TG_EINVAL;
	if (getpid() != l->pid)
		return TG_EFORKED;
	if (pthread_rwlock_wrlock(&l->lock) != 0)
		return TG_EIO;
	for (int i = 0; i < APPEND_TRIES; i++) {
		rc = mdb_txn_begin(l->env, NULL, 0, &txn);
		if (rc == MDB_MAP_RESIZED) {
			adopt_map_size(l);
			continue;
		}
		if (rc)
			break;
		rc = fn(l, txn, ctx);
		if (rc == 0) {
			rc = mdb_txn_commit(txn);
		} else {
			mdb_txn_abort(txn);
			/* The same pid and microsecond from a handle opened
			 * earlier in this process: the next run takes the next
			 * sequence. */
			if (rc == MDB_KEYEXIST)
				continue;
		}
		if (rc != MDB_MAP_FULL)
			break;
		if ((rc = grow_map(l)) != 0)
			break;
		rc = MDB_MAP_FULL;
	}
	pthread_rwlock_unlock(&l->lock);
	return tg_ledger_err(rc);
}

struct append {
	const struct tg_record *r;
	const char *model_family;
	const unsigned char *val;
	size_t len;
};

static int append_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct append *a = ctx;
	unsigned char key[16];
	MDB_val k = { sizeof key, key }, d = { a->len, (void *)a->val };
	int rc;

	tg_ledger_next_key(l, key, a->r->ts_us);
	if ((rc = mdb_put(txn, l->records, &k, &d, MDB_NOOVERWRITE)) != 0)
		return rc;
	return tg_totals_add(l, txn, a->r, a->model_family);
}

int tg_ledger_append_scoped(struct tg_ledger *l, const struct tg_record *r,
                            const char *model_family)
{
	unsigned char val[TG_RECORD_ENC_MAX];
	struct append a = { r, model_family, val, 0 };
	int len;

	if (!l || !r || r->ts_us < 0)
		return TG_EINVAL;
	if (!model_family || !*model_family)
		a.model_family = r->model;
	if ((len = tg_record_encode(r, val, sizeof val)) < 0)
		return TG_EINVAL;
	a.len = (size_t)len;
	return tg_ledger_write(l, append_txn, &a);
}

int tg_ledger_append(struct tg_ledger *l, const struct tg_record *r)
{
	return tg_ledger_append_scoped(l, r, r ? r->model : NULL);
}

/* Takes the lock shared and opens a read transaction; when the map was
 * grown by another process, retakes the lock exclusively to adopt the new
 * size first. */
static int scan_begin(struct tg_ledger *l, MDB_txn **txn)
{
	int rc;

	for (int i = 0; i < APPEND_TRIES; i++) {
		if (pthread_rwlock_rdlock(&l->lock) != 0)
			return TG_EIO;
		rc = begin_read(l, txn);
		if (rc != MDB_MAP_RESIZED) {
			if (rc)
				pthread_rwlock_unlock(&l->lock);
			return from_mdb(rc);
		}
		pthread_rwlock_unlock(&l->lock);
		if (pthread_rwlock_wrlock(&l->lock) != 0)
			return TG_EIO;
		adopt_map_size(l);
		pthread_rwlock_unlock(&l->lock);
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
		ts = get_be(k.mv_data, 8);
		if (ts > INT64_MAX || (int64_t)ts >= until_us)
			return 0;
		if ((rc = tg_record_decode(&rec, d.mv_data, d.mv_size)) != 0)
			return rc;
		if ((rc = fn(ctx, &rec)) != 0)
			return rc;
	}
	return rc == MDB_NOTFOUND ? 0 : from_mdb(rc);
}

int tg_ledger_scan(struct tg_ledger *l, int64_t since_us, int64_t until_us,
                   int (*fn)(void *ctx, const struct tg_record *r), void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc;

	if (!l || !fn)
		return TG_EINVAL;
	if (getpid() != l->pid)
		return TG_EFORKED;
	if (since_us < 0)
		since_us = 0;
	if (until_us <= since_us)
		return 0;
	if ((rc = scan_begin(l, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, l->records, &cur)) == 0) {
		rc = scan_cursor(cur, since_us, until_us, fn, ctx);
		mdb_cursor_close(cur);
	} else {
		rc = from_mdb(rc);
	}
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&l->lock);
	return rc;
}

int tg_ledger_read(struct tg_ledger *l, tg_ledger_txn_fn fn, void *ctx)
{
	MDB_txn *txn;
	int rc;

	if (!l)
		return TG_EINVAL;
	if (getpid() != l->pid)
		return TG_EFORKED;
	if ((rc = scan_begin(l, &txn)) != 0)
		return rc;
	rc = fn(l, txn, ctx);
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&l->lock);
	return tg_ledger_err(rc);
}

int tg_ledger_reader_check(struct tg_ledger *l, int *dead)
{
	int n = 0;

	if (!l)
		return TG_EINVAL;
	if (getpid() != l->pid)
		return TG_EFORKED;
	if (mdb_reader_check(l->env, &n) != 0)
		return TG_EIO;
	if (dead)
		*dead = n;
	return 0;
}

void tg_ledger_close(struct tg_ledger *l)
{
	if (!l)
		return;
	if (l->env)
		mdb_env_close(l->env);
	pthread_rwlock_destroy(&l->lock);
	free(l);
}

void tg_ledger_abandon(struct tg_ledger *l)
{
	/* The lock may have been held by a thread that does not exist in
	 * the child: destroying it would be undefined, so it is left too. */
	free(l);
}
