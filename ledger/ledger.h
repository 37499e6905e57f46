/* ledger.h - the tokenguard ledger: an LMDB environment holding one record
 * per LLM exchange, shared by every process that runs under the shim and
 * read back by tokenguard-report.
 *
 * Owns: the environment directory and its layout.  Named databases:
 *   meta     "schema" -> u32 big-endian layout version (TG_LEDGER_SCHEMA)
 *   records  key:   ts_us u64 BE | pid u32 BE | per-handle sequence u32 BE
 *            value: struct tg_record as encoded by record_codec.h
 * Keys sort by time and stay unique across processes without coordination.
 *   spool/   records and alerts handed off by the shim's processes, and of
 *            writers that could not have the writer lock at once
 *            (spool.h), folded in by the next fold or write.
 *   policy-stamp  replaced after every change of the stored policies, so a
 *            process learns of one with an fstatat (ledger_budget.h).
 *   attribution-key  the key end-user ids are hashed with, made by the
 *            first process that needs it (attribution.h).
 *
 * Group commit: a handle opened TG_LEDGER_HANDOFF (the shim's, by default)
 * appends every record to its spool with one write(2) and commits many at
 * once in a fold (tg_ledger_fold_due(), tg_ledger_try_fold(); the fold
 * itself is ledger_fold.c).  Readers add what the spools hold, so a
 * handed-off record counts at once in reports and budgets.
 *
 * Writers never wait on each other for long: every write first takes the
 * ledger's writer lock without blocking (ledger_lock.c).  A handle opened
 * TG_LEDGER_SPOOL (the shim's) waits at most 5 ms without seeing another
 * writer commit, then spools what it cannot write and goes on (it also
 * spools for 30 s after a commit of its own took over 50 ms: a slow disk);
 * any other waits up to lock_wait_ms (3 s by default) and then returns
 * TG_ELOCKED, for tg_ledger_holder() to name the process that holds it.
 * Opening a current ledger takes no write transaction.
 *
 * Nothing is mapped before it is checked (files.h): the directory and its
 * files must be the effective user's own and closed to others' writes,
 * data.mdb as long as its header says, lock.mdb backed by real blocks.
 * Before each transaction data.mdb is checked again, and a data.mdb or
 * lock.mdb replaced under the handle makes it reopen the environment.
 * Schema 2 adds the budget databases (policies, totals, resets, alerts,
 * alert_once), described in ledger_budget.h; opening a schema 1 ledger for
 * writing creates them.
 *
 * Return convention: 0 on success, a negative TG_E* code (error.h) on
 * failure; tg_strerror() turns a code into a message for people.
 *
 * Threads: one handle may be used from any number of threads (the
 * environment is opened MDB_NOTLS, and a lock in the handle serialises
 * writers and map resizes).
 *
 * fork(): an LMDB environment must not be used in a child after fork().  A
 * process that forks and keeps recording (the shim's sink) must notice the
 * pid change, tg_ledger_abandon() the inherited handle (which leaks the
 * parent's mapping on purpose: closing it would release the parent's
 * locks) and tg_ledger_open() a new one.  Every call on an inherited
 * handle other than tg_ledger_abandon() returns TG_EFORKED.
 */
#ifndef TG_LEDGER_H
#define TG_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "record.h"

#define TG_LEDGER_SCHEMA 2

/* tg_ledger_open() flags. */
#define TG_LEDGER_RDONLY 0x1u  /* never write, never create anything */
#define TG_LEDGER_CREATE 0x2u  /* create the directory (0700) and files (0600) if missing */
#define TG_LEDGER_SPOOL  0x4u  /* never wait for the writer lock: spool records and
                                  alerts instead (the shim's handles) */
#define TG_LEDGER_HANDOFF 0x8u /* with TG_LEDGER_SPOOL: every record goes to the
                                  handle's spool, and reaches LMDB with a fold
                                  (tg_ledger_fold_due(), tg_ledger_try_fold());
                                  LMDB is opened at the first read or write */

/* What an append returns when its record went to the spool (TG_LEDGER_SPOOL
 * handles): it reaches the ledger with the next fold. */
#define TG_LEDGER_SPOOLED 1

struct tg_ledger;

struct tg_ledger_opts {
	size_t map_initial;  /* first map size in bytes; 0 means 64 MiB */
	size_t map_max;      /* the map never grows past this; 0 means 16 GiB */
	int lock_wait_ms;    /* longest wait for the writer lock; 0 means 3000, or
	                        5 ms for TG_LEDGER_SPOOL handles (none at all for
	                        a second after a wait ran out) */
};

/* Opens the ledger in directory dir.
 *
 * Without TG_LEDGER_CREATE a missing directory or data file is TG_ENOENT;
 * with it, missing directories are made (mkdir -p, mode 0700) and a new
 * ledger is initialised.  TG_LEDGER_RDONLY and TG_LEDGER_CREATE together
 * are TG_EINVAL.
 *
 * Returns 0 and sets *out, or: TG_ENOENT, TG_EACCES, TG_EUNSAFE (not the
 * user's own, open to others' writes, a symlink), TG_ECORRUPT (not an
 * LMDB file, a data file shorter than its header says, or an LMDB
 * environment that is not a tokenguard ledger), TG_ESCHEMA (written by a
 * newer tokenguard), TG_ETOOLONG, TG_ELOCKED (a new or older ledger needs
 * a first write and the lock stayed taken; never for TG_LEDGER_SPOOL
 * handles, which open anyway and spool until it is free), TG_EFULL,
 * TG_ENOMEM, TG_EIO.  An older schema is migrated in place unless the
 * open is read-only. */
int tg_ledger_open(struct tg_ledger **out, const char *dir, unsigned flags);

/* tg_ledger_open() with explicit map sizes (opts may be NULL). */
int tg_ledger_open_ex(struct tg_ledger **out, const char *dir, unsigned flags,
                      const struct tg_ledger_opts *opts);

/* Appends r in its own committed write transaction (durable once this
 * returns 0, up to the MDB_NOMETASYNC window: a system crash may lose the
 * last transactions but never corrupts the ledger).  Grows the map by
 * doubling when it is full, up to map_max.
 *
 * Returns 0, TG_LEDGER_SPOOLED (TG_LEDGER_SPOOL handles, lock taken: the
 * record is in this handle's spool, safe from a crash of this process but
 * not yet from one of the system), or TG_EINVAL (r->ts_us < 0, or a
 * read-only handle), TG_ELOCKED, TG_ECORRUPT (the data file was damaged
 * under the handle), TG_EFULL (disk full or map_max reached), TG_EFORKED,
 * TG_EACCES, TG_EIO. */
int tg_ledger_append(struct tg_ledger *l, const struct tg_record *r);

/* tg_ledger_append() that also adds the record's spend to the budget
 * totals of every scope it belongs to, in the same transaction (see
 * ledger_budget.h).  model_family is the price family of r->model (from
 * tg_price_find()), or NULL / "" to use r->model; tg_ledger_append(l, r)
 * is tg_ledger_append_scoped(l, r, r->model). */
int tg_ledger_append_scoped(struct tg_ledger *l, const struct tg_record *r,
                            const char *model_family);

/* tg_ledger_append_scoped() for n records at once, all of them and their
 * totals in ONE write transaction (one commit): bulk writers.  families[i]
 * is record i's model family as for tg_ledger_append_scoped(); families
 * may be NULL, and so may any families[i] (r[i].model is used).  Either
 * every record is appended or none is; a TG_LEDGER_SPOOL handle that
 * cannot take the lock spools each record and returns TG_LEDGER_SPOOLED.
 * Returns what tg_ledger_append_scoped() returns, and TG_EINVAL when
 * n < 0 or any r[i].ts_us < 0 (nothing is written), TG_ENOMEM. */
int tg_ledger_append_many(struct tg_ledger *l, const struct tg_record *r,
                          const char *const *families, int n);

/* Folds every spool into the ledger now (a write with nothing of its
 * own).  *applied (may be NULL) is set to the entries that were not in
 * the ledger yet, *st (may be NULL) to what the spools held.  Returns 0 or
 * what a write returns. */
struct tg_spool_stats;
int tg_ledger_fold(struct tg_ledger *l, int64_t *applied, struct tg_spool_stats *st);

/* Group commit (TG_LEDGER_HANDOFF handles).  An append only hands its
 * record off: one write(2) to the handle's spool, safe from a crash of
 * the process, not yet from one of the system.  A fold then applies many
 * records in one transaction and one fdatasync.  tg_ledger_fold_due() is
 * 1 when the handle's spool holds TG_FOLD_RECORDS records no fold has
 * applied, or one that is TG_FOLD_AGE_MS old; tg_ledger_try_fold() folds
 * every spool if the writer lock is free at once, and never waits:
 * it returns 0, TG_ELOCKED (someone else writes; their write folds our
 * spool too) or a write's error. */
#define TG_FOLD_RECORDS 256
#define TG_FOLD_AGE_MS 1000
int tg_ledger_fold_due(struct tg_ledger *l);
/* Records in the handle's spool that no fold of its own has applied. */
int64_t tg_ledger_pending(struct tg_ledger *l);
int tg_ledger_try_fold(struct tg_ledger *l);

/* Names the process that holds the writer lock, for a TG_ELOCKED message:
 * "process 1234 (curl)", or "another process". */
void tg_ledger_holder(struct tg_ledger *l, char *buf, size_t n);

/* tg_ledger_holder() for the ledger in dir, without a handle: for a
 * TG_ELOCKED from tg_ledger_open() (a first write that could not run). */
void tg_ledger_dir_holder(const char *dir, char *buf, size_t n);

/* Calls fn for each record with since_us <= ts_us < until_us, in time
 * order, inside one read transaction (a consistent snapshot), then for
 * each record still in a spool (not yet folded; see spool.h) in that
 * period, in spool order.  fn must not
 * call tg_ledger_append() on the same handle.  The record passed to fn is
 * valid only during the call.
 *
 * Returns 0 after the last record; fn's value when fn returns non-zero
 * (which stops the scan; use positive values to tell them from the codes
 * below); TG_ECORRUPT when a key or value cannot be decoded (records
 * before it were delivered); TG_ESCHEMA for a record written in a newer
 * incompatible encoding; TG_EBUSY when no reader slot became free;
 * TG_EFORKED; TG_EIO. */
int tg_ledger_scan(struct tg_ledger *l, int64_t since_us, int64_t until_us,
                   int (*fn)(void *ctx, const struct tg_record *r), void *ctx);

/* Frees reader slots left by processes that died while reading (a read
 * transaction pins old pages and would keep the file growing).  Sets *dead
 * to the number of slots cleared when dead is not NULL.  Returns 0 or
 * TG_EIO. */
int tg_ledger_reader_check(struct tg_ledger *l, int *dead);

/* Closes the environment and frees l (NULL is allowed).  No other thread
 * may be using l. */
void tg_ledger_close(struct tg_ledger *l);

/* Frees l without touching the environment: for a handle inherited across
 * fork() (see above).  The parent's mapping and descriptors stay open in
 * the child. */
void tg_ledger_abandon(struct tg_ledger *l);

/* What the process does when LMDB finds a page it cannot read (an
 * assertion inside LMDB, which has no checksums: garbage inside the
 * B-tree past the meta pages).  fn must not return; by default (NULL)
 * LMDB aborts the process.  The CLI exits 2 with a message; the repair
 * reads damaged files in child processes that exit. */
void tg_ledger_on_damage(void (*fn)(void));

/* Writes the ledger directory into buf: the ledger setting
 * ($TOKENGUARD_LEDGER, else the configuration files: settings.h), else
 * $XDG_DATA_HOME/tokenguard (if absolute), else
 * $HOME/.local/share/tokenguard.  In a secure-execution process (setuid,
 * setgid, file capabilities: see env.h) the environment is not trusted,
 * so this returns TG_ENOENT there rather than let a caller steer a
 * privileged process's writes.  Returns 0, TG_ENOENT (nothing to go by)
 * or TG_ETOOLONG (buf too small). */
int tg_ledger_default_dir(char *buf, size_t n);

/* What tg_ledger_default_dir's error rc means, in words naming the real
 * cause, without a remedy that belongs to one program (--ledger). */
const char *tg_ledger_dir_problem(int rc);

/* mkdir -p with mode 0700 for every directory it creates.  Returns 0,
 * TG_EACCES, TG_ENOENT (a component is not a directory), TG_EFULL,
 * TG_ETOOLONG (path too long) or TG_EIO. */
int tg_ledger_mkdirs(const char *dir);

#endif
