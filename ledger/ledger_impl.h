/* ledger_impl.h - what the ledger's source files share and callers must
 * not see: the handle's fields, the LMDB error mapping, big-endian
 * helpers and the two transaction runners that every read and write goes
 * through (map growth, resizes by other processes, reader slots, fork).
 */
#ifndef TG_LEDGER_IMPL_H
#define TG_LEDGER_IMPL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "ledger.h"

struct tg_ledger {
	MDB_env *env;
	MDB_dbi meta;
	MDB_dbi records;
	MDB_dbi policies;    /* name -> policy line (budget.h syntax) */
	MDB_dbi totals;      /* see ledger_totals.c */
	MDB_dbi resets;      /* name -> baseline (see ledger_totals.c) */
	MDB_dbi alerts;      /* ts | pid | seq -> alert (see ledger_alert.c) */
	MDB_dbi alert_once;  /* policy NUL level window_start -> "" */
	int has_budget_dbs;  /* 0 only for a read-only open of a schema 1 ledger */
	/* Readers hold it shared, writers exclusive: mdb_env_set_mapsize()
	 * needs every transaction of this process to be finished. */
	pthread_rwlock_t lock;
	pid_t pid;
	uint32_t seq;
	unsigned flags;
	size_t map_size;
	size_t map_max;
};

/* An LMDB or errno code as a TG_E* code; TG_E* codes pass through. */
int tg_ledger_err(int rc);

/* A transaction body.  Returns 0 to commit (writes) or finish (reads), or
 * a nonzero LMDB, errno or TG_E* code to abort with.  A write body may run
 * more than once (after MDB_MAP_FULL the map grows and it runs again in a
 * new transaction; MDB_KEYEXIST also runs it again), so it must derive
 * everything from the transaction and ctx, and reset what it sets in ctx. */
typedef int (*tg_ledger_txn_fn)(struct tg_ledger *l, MDB_txn *txn, void *ctx);

/* Runs fn in one write transaction.  Returns 0 or a TG_E* code; TG_EINVAL
 * on a read-only handle, TG_EFORKED in a forked child. */
int tg_ledger_write(struct tg_ledger *l, tg_ledger_txn_fn fn, void *ctx);

/* Runs fn in one read transaction (a consistent snapshot). */
int tg_ledger_read(struct tg_ledger *l, tg_ledger_txn_fn fn, void *ctx);

/* The next key of this handle: ts_us u64 BE | pid u32 BE | sequence u32 BE. */
void tg_ledger_next_key(struct tg_ledger *l, unsigned char key[16], int64_t ts_us);

void tg_put_be64(unsigned char *p, uint64_t v);
uint64_t tg_get_be64(const unsigned char *p);

/* Adds r's spend to every scope it belongs to, inside txn (ledger_totals.c). */
int tg_totals_add(struct tg_ledger *l, MDB_txn *txn, const struct tg_record *r,
                  const char *model_family);

/* The stored policy name, inside txn: 0, TG_ENOENT, TG_ECORRUPT or an
 * LMDB code
 * (ledger_policy.c). */
struct tg_policy;
int tg_policy_get_txn(struct tg_ledger *l, MDB_txn *txn, const char *name, struct tg_policy *p);

/* Bumps meta "policy_version" inside txn (ledger_policy.c). */
int tg_policy_version_bump(struct tg_ledger *l, MDB_txn *txn);

#endif
