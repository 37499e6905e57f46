/* ledger_impl.h - what the ledger's source files share and callers must
 * not see: the handle's fields, the LMDB error mapping, big-endian
 * helpers and the two transaction runners that every read and write goes
 * through (map growth, resizes by other processes, reader slots, fork).
 *
 * What is declared here is named tgl_ (TGL_ for constants), so that a
 * tg_ name is always one that ledger.h, ledger_budget.h or another public
 * header exports; only ledger/ and its white-box tests use these.
 */
#ifndef TG_LEDGER_IMPL_H
#define TG_LEDGER_IMPL_H

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "byteorder.h"
#include "ledger.h"
#include "ledger_budget.h"
#include "spool.h"

/* Two meta pages of the largest page size LMDB writes. */
#define TGL_META_MAP_BYTES (2 * 65536)

/* The records of one scope in the partial hour at an end of a zoned
 * window, summed once and kept while that hour's bucket of the scope is
 * unchanged: any record of the scope in that hour changes the bucket in
 * the transaction that adds it, so an unchanged bucket means an
 * unchanged sum (ledger_totals.c). */
#define TGL_EDGE_MEMO_MAX 8
#define TGL_EDGE_PREFIX_MAX 416
struct tgl_edge_memo {
	int64_t from_us, to_us;       /* 0, 0: unused */
	const struct tg_prices *prices;   /* the families the records were matched by */
	struct tg_total bucket, sum;
	size_t plen;
	unsigned char prefix[TGL_EDGE_PREFIX_MAX];   /* the scope as a totals key begins */
};

struct tg_ledger {
	MDB_env *env;
	int dirfd;           /* the ledger directory, checked once (files.h) */
	int lockfd;          /* lock.mdb as checked and reserved; -1 with MDB_NOLOCK */
	int datafd;          /* data.mdb as checked */
	const void *meta_map;       /* data.mdb's first TGL_META_MAP_BYTES, read-only */
	dev_t lock_dev, data_dev;   /* which files lockfd and datafd are, to */
	ino_t lock_ino, data_ino;   /* notice them replaced under the handle */
	char env_path[PATH_MAX];  /* what LMDB was given: /proc/self/fd/<dirfd> */
	int ready;           /* databases open; 0 while a first write (create or
	                        migrate) waits for the writer lock */
	int lock_idle_us;    /* a write gives up the wait for the writer lock when
	                        no commit was seen for this long... */
	int lock_wait_us;    /* ...or after this long in all */
	int64_t lock_stuck_until_us;  /* spooling handles: the last wait ran out,
	                                 so until then writes do not wait at all */
	int64_t slow_disk_until_us;   /* spooling handles: a commit was slow, so
	                                 until then writes spool (ledger.c) */
	struct tg_spool spool;   /* this handle's own spool (TG_LEDGER_SPOOL) */
	struct tg_spool_cache *spool_cache;   /* what spools add to spend (spool_cache.h) */
	int stamp_due;           /* this write changed the policies, or found no stamp */
	int stamp_kept;          /* the stamp is known to exist */
	uint64_t stamp_version;  /* the policy version the stamp is to say */
	int64_t pending;         /* records in it that no fold of ours applied yet */
	int64_t pending_since_us;   /* monotonic time of the first of them */
	MDB_dbi meta;
	MDB_dbi records;
	MDB_dbi policies;    /* name -> policy line (policy.h syntax) */
	MDB_dbi totals;      /* see ledger_totals.c */
	MDB_dbi resets;      /* name -> baseline (see ledger_totals.c) */
	MDB_dbi alerts;      /* ts | pid | seq -> alert (see ledger_alert.c) */
	MDB_dbi alert_once;  /* policy NUL level window_start -> "" */
	int has_budget_dbs;  /* 0 only for a read-only open of a schema 1 ledger */
	pthread_mutex_t edge_lock;   /* edge_memo: only ever tried, never waited on */
	struct tgl_edge_memo edge_memo[TGL_EDGE_MEMO_MAX];
	int edge_next;
	const struct tg_prices *prices;   /* the model families of records read for
	                                     a zoned window's partial hours (NULL:
	                                     a model is its own family) */
	/* Readers hold it shared, writers exclusive: mdb_env_set_mapsize()
	 * needs every transaction of this process to be finished. */
	pthread_rwlock_t lock;
	pid_t pid;
	unsigned flags;
	size_t map_size;
	size_t map_max;
	int64_t last_fold_applied;            /* what the last write folded in */
	struct tg_spool_stats last_fold_stats;
};

/* An LMDB or errno code as a TG_E* code; TG_E* codes pass through. */
int tgl_ledger_err(int rc);

/* A transaction body.  Returns 0 to commit (writes) or finish (reads), or
 * a nonzero LMDB, errno or TG_E* code to abort with.  A write body may run
 * more than once (after MDB_MAP_FULL the map grows and it runs again in a
 * new transaction; MDB_KEYEXIST also runs it again), so it must derive
 * everything from the transaction and ctx, and reset what it sets in ctx. */
typedef int (*tgl_ledger_txn_fn)(struct tg_ledger *l, MDB_txn *txn, void *ctx);

/* Runs fn in one write transaction.  Returns 0 or a TG_E* code; TG_EINVAL
 * on a read-only handle, TG_EFORKED in a forked child. */
int tgl_ledger_write(struct tg_ledger *l, tgl_ledger_txn_fn fn, void *ctx);

/* Runs fn in one read transaction (a consistent snapshot). */
int tgl_ledger_read(struct tg_ledger *l, tgl_ledger_txn_fn fn, void *ctx);

/* tgl_ledger_read() for a body that calls tgl_spooled_each(): the spool
 * files are opened before the snapshot begins (spool.h, struct
 * tg_spool_set), so that a fold committed meanwhile cannot hide records
 * from both (ledger_fold.c). */
int tgl_ledger_read_spooled(struct tg_ledger *l, tgl_ledger_txn_fn fn, void *ctx);

/* A new key: ts_us u64 BE | pid u32 BE | sequence u32 BE.  The sequence
 * is the process's, shared by every handle, so a key is never made twice
 * and a key found in the ledger means that entry is already there. */
void tgl_ledger_next_key(struct tg_ledger *l, unsigned char key[16], int64_t ts_us);

/* The writer lock (ledger_lock.c): flock on the ledger directory, which
 * every tokenguard writer takes before LMDB's own writer mutex, then a
 * look at LMDB's mutex for writers that are not tokenguard's.  The wait
 * ends when no other writer committed for idle_us, or after max_us.
 * Returns 0 (held), TG_ELOCKED or TG_EIO. */
int tgl_writer_lock(struct tg_ledger *l, int idle_us, int max_us);
void tgl_writer_unlock(struct tg_ledger *l);

/* tgl_writer_lock() and tgl_writer_holder() on bare descriptors: the
 * ledger directory and lock.mdb (-1 when there is none), for a caller
 * that cannot open the ledger (repair of a damaged one). */
int tgl_writer_lock_fds(int dirfd, int lockfd, int idle_us, int max_us);
void tgl_writer_holder_fds(int dirfd, int lockfd, char *buf, size_t n);

/* Says who holds the writer lock ("process 1234 (curl)"), or "another
 * process" when that cannot be told. */
void tgl_writer_holder(struct tg_ledger *l, char *buf, size_t n);

/* When rc is TG_ELOCKED and l spools (TG_LEDGER_SPOOL), appends payload
 * to l's spool and returns TG_LEDGER_SPOOLED; otherwise returns rc, or
 * the spool's error when it failed. */
int tgl_ledger_spool(struct tg_ledger *l, int rc, int type, const void *payload, size_t len);

/* Folds every spool into txn (ledger_fold.c); what it must do once txn is
 * committed, or given up, is kept in f. */
struct tgl_fold {
	struct tg_spool_done done[TG_SPOOL_DONE_MAX];
	int ndone;
	int own_clean;          /* this handle's spool was applied to its end */
	struct tg_spool_stats st;
	int64_t applied;        /* entries that were not in the ledger yet */
};
int tgl_fold_txn(struct tg_ledger *l, MDB_txn *txn, struct tgl_fold *f);
void tgl_fold_finish(struct tg_ledger *l, struct tgl_fold *f, int committed);

/* Calls fn for each record still in a spool (its writer could not have the
 * lock, and no fold has run since) that txn does not hold, with the key it
 * will have in the ledger and its model family: reports and budget checks
 * count them like the ledger's own.  A nonzero return of fn stops and is
 * returned (ledger_fold.c). */
typedef int (*tgl_spooled_fn)(void *ctx, const unsigned char key[16], const struct tg_record *r,
                              const char *model_family);
int tgl_spooled_each(struct tg_ledger *l, MDB_txn *txn, tgl_spooled_fn fn, void *ctx);

/* An alert under key, inside txn: once != 0 stores it only if none of the
 * same policy, level and window is stored.  Sets *recorded (may be NULL).
 * Returns 0 or an LMDB/TG_E* code (ledger_alert.c). */
struct tg_alert;
int tgl_alert_put_txn(struct tg_ledger *l, MDB_txn *txn, const unsigned char key[16],
                      const struct tg_alert *a, int once, int *recorded);
size_t tgl_alert_encode(const struct tg_alert *a, unsigned char *buf);
int tgl_alert_decode(const void *p, size_t n, struct tg_alert *a);
#define TGL_ALERT_ENC_MAX 512

/* Adds r's spend to every scope it belongs to, inside txn (ledger_totals.c). */
int tgl_totals_add(struct tg_ledger *l, MDB_txn *txn, const struct tg_record *r,
                   const char *model_family);

/* struct tg_total and tg_total_sum(): ledger_budget.h. */

/* The rule tgl_totals_add() applies, without a transaction: calls fn with
 * the totals key of every bucket r adds to and what it adds there, so a
 * check can recompute the totals exactly as they were written.  fn's
 * nonzero value stops and is returned. */
typedef int (*tgl_total_fn)(void *ctx, const unsigned char *key, size_t klen,
                            const struct tg_total *delta);
int tgl_totals_each(const struct tg_record *r, const char *model_family, tgl_total_fn fn,
                    void *ctx);

/* tgl_totals_each() adding amounts instead of r's own: the buckets are
 * those of r's scopes and of the hour, day and month of r->ts_us; a fold
 * sums the records that share them first (total_groups.h). */
int tgl_totals_each_delta(const struct tg_record *r, const char *model_family,
                          const struct tg_total *amounts, tgl_total_fn fn, void *ctx);

/* Adds delta to the totals value under key, inside txn: what
 * tgl_totals_add() does for each bucket, for a caller that has summed the
 * deltas of many records first (a fold).  Returns 0 or an LMDB code. */
int tgl_total_merge(struct tg_ledger *l, MDB_txn *txn, const unsigned char *key, size_t klen,
                    const struct tg_total *delta);

/* Decodes a stored totals value: 0 or TG_ECORRUPT. */
int tgl_total_decode(const MDB_val *d, struct tg_total *a);

/* A totals key for people: "global day 2026-11-22T00:00:00Z". */
void tgl_total_key_describe(const unsigned char *key, size_t klen, char *buf, size_t n);

/* A value of exactly size bytes kept in meta under name, inside txn,
 * copied to out: *has 0 when there is none; TG_ECORRUPT when the value
 * has another length (ledger_watermark.c). */
int tgl_meta_get(struct tg_ledger *l, MDB_txn *txn, const char *name, void *out, size_t size,
                 int *has);

/* tgl_meta_get() of a record key (16 bytes). */
int tgl_meta_key_get(struct tg_ledger *l, MDB_txn *txn, const char *name, unsigned char key[16],
                     int *has);

/* meta "totals_from": the key of the last record a schema 1 ledger held
 * when it was migrated.  Records up to it were written before budgets
 * existed and are in no total (see migrate() in ledger.c).  Sets *has to
 * 0 when the ledger never was of schema 1. */
#define TGL_META_TOTALS_FROM "totals_from"
int tgl_totals_from_get(struct tg_ledger *l, MDB_txn *txn, unsigned char key[16], int *has);

/* 1 when the record under key belongs in the totals (it is newer than
 * totals_from). */
int tgl_totals_cover(const unsigned char key[16], const unsigned char from[16], int has_from);

/* A record's model family for its totals: the price family of its model
 * in prices (NULL allowed), else its model, as the shim's sink chose it. */
struct tg_prices;
const char *tgl_record_family(const struct tg_prices *prices, const struct tg_record *r);

/* A spooled record's payload: key[16] | family length u8 | family |
 * encoded record.  Returns 0 and fills r, family and value (the encoded
 * record inside p), or -1 when p is not one (ledger_fold.c). */
int tgl_spool_parse_record(const unsigned char *p, size_t n, struct tg_record *r,
                           char family[TG_MODEL_MAX], MDB_val *value);

/* Puts the encoded record value (r decoded) under key, and adds it to the
 * totals unless cover is 0, inside txn.  Returns 0, 1 when key is already
 * there (nothing done: an entry is applied once), or an LMDB/TG_E* code
 * (ledger_fold.c). */
int tgl_record_put_txn(struct tg_ledger *l, MDB_txn *txn, const unsigned char key[16],
                       const MDB_val *value, const struct tg_record *r, const char *family,
                       int cover);

/* A fleet policy's overlay added to s, its local spend in the window
 * (s->window_start_us set), inside txn: one read (ledger_fleet.c).
 * Returns 0, TG_EINVAL or an LMDB code. */
int tg_fleet_spend_txn(struct tg_ledger *l, MDB_txn *txn, const struct tg_policy *p,
                       int64_t now_us, struct tg_spend *s);

/* The stored policy name, inside txn: 0, TG_ENOENT, TG_ECORRUPT or an
 * LMDB code
 * (ledger_policy.c). */
struct tg_policy;
int tgl_policy_get_txn(struct tg_ledger *l, MDB_txn *txn, const char *name, struct tg_policy *p);

/* The policy stamp (ledger_budget.h), kept by writers: inside a write
 * transaction, notes that the stamp must be made when there is none;
 * after the commit, writes it when the transaction bumped the policy
 * version or found none (ledger_policy.c). */
int tgl_policy_stamp_txn(struct tg_ledger *l, MDB_txn *txn);
void tgl_policy_stamp_write(struct tg_ledger *l);

/* Bumps meta "policy_version" inside txn (ledger_policy.c). */
int tgl_policy_version_bump(struct tg_ledger *l, MDB_txn *txn);

/* Every record in the leaf pages of a data.mdb, read page by page with
 * pread and no LMDB (ledger_salvage.c): fn gets its key, its encoded value
 * and the record, once per copy found (a key may come more than once).
 * *found counts them.  Returns 0, fn's nonzero value, or TG_EINVAL. */
typedef int (*tgl_salvage_fn)(void *ctx, const unsigned char key[16], const void *val,
                              size_t len, const struct tg_record *r);
int tgl_salvage_records(int fd, uint32_t page_size, tgl_salvage_fn fn, void *ctx,
                        int64_t *found);

#endif
