/* spool_cache.h - what the spools add to budget spend, read once per
 * entry instead of once per check.
 *
 * Owns: a handle's memory of the spool files it has read for budget
 * checks: for each file, the offset read up to and, for each record
 * entry before it, what a spend needs (key, time, amounts and the
 * names a policy matches on).  Spool files only grow (spool.h: their one
 * writer appends whole entries), so a check reads only what was appended
 * since the last one, with no checksum or record decoding for the rest;
 * files gone from the directory are forgotten.  Every check still asks
 * LMDB, in its own transaction, whether each record has been folded since.
 *
 * Return convention as in ledger.h: 0 or a negative TG_E* code.
 */
#ifndef TG_SPOOL_CACHE_H
#define TG_SPOOL_CACHE_H

#include "policy.h"
#include "ledger_impl.h"

/* One spooled record as a budget check sees it. */
struct tg_spooled_spend {
	int64_t ts_us;
	struct tg_total amounts;     /* what it adds to each scope it is in */
	struct tg_call call;         /* provider, model, family, process, tags */
};

struct tg_spool_cache;

/* Takes l's cache (made at first use) and brings it up to the spool
 * directory as it is now.  Call it before the read transaction begins and
 * release it after: a fold that commits after the snapshot began and then
 * deletes a spool cannot hide that spool's records from both, since the
 * cache keeps them until its next refresh.  Returns 0 (held) or a TG_E*
 * code (not held). */
int tg_spool_cache_hold(struct tg_ledger *l, struct tg_spool_cache **out);
void tg_spool_cache_release(struct tg_spool_cache *c);

/* Calls fn for each record of the held cache c that txn does not hold
 * (not folded yet).  A nonzero value of fn stops and is returned. */
int tg_spool_cache_each(struct tg_spool_cache *c, struct tg_ledger *l, MDB_txn *txn,
                        int (*fn)(void *ctx, const struct tg_spooled_spend *s), void *ctx);

/* Frees the cache and closes its files (tg_ledger_close). */
void tg_spool_cache_free(struct tg_spool_cache *c);

/* In a forked child (tg_ledger_abandon): closes the child's copies of the
 * descriptors and frees what it can without the cache's lock. */
void tg_spool_cache_abandon(struct tg_spool_cache *c);

#endif
