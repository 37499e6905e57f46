/* sync_redis.h - the Redis half of `tokenguard-report sync`: this
 * machine's spend of every fleet policy pushed to Redis, the other
 * machines' pulled back into the ledger's overlay (ledger_fleet.h).
 *
 * Machine names are those of machine.h: [A-Za-z0-9._-], so the last ':'
 * of a field ends its machine's name.
 *
 * Data in Redis: one hash per fleet scope and window,
 *     tokenguard:{SCOPE}:WINDOW:START
 * (START the window's start in Unix seconds; the {} hash tag puts every
 * key of a scope on one Redis Cluster slot), with three fields per
 * machine: MACHINE:usd_micro, MACHINE:est_micro (the estimated part) and
 * MACHINE:tokens, each the machine's whole spend of that window, set with
 * HSET (absolutes, not increments: a push repeated after a lost reply
 * counts once, and a Redis restarted empty holds every machine's total
 * again after one round of pushes).  EXPIREAT the window's end + 1 hour.
 *
 * A round is one pipeline, one round trip: per scope HSET, EXPIREAT and
 * HGETALL; then the overlays and the sync state are written in one
 * ledger transaction.  A tag:KEY=* policy takes two more: the values
 * this machine spent on join the set tokenguard:{tag:KEY=*}:WINDOW:START:values
 * (SADD, EXPIREAT, SMEMBERS), then every value of the set is exchanged
 * as tag:KEY=VALUE, and its overlays and a marker (ledger_fleet.h) are
 * written in one more transaction.  Connect and command timeouts are 500 ms, so a
 * stuck Redis costs a round at most that, never the agent.  The
 * connection is kept between rounds and made again after any error.
 */
#ifndef TG_SYNC_REDIS_H
#define TG_SYNC_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

struct tg_sync_redis;

/* The Redis URL: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (port 6379,
 * db 0 by default) or unix:///PATH.  Returns 0 and *out (nothing is
 * connected yet), or -1 with a message in err. */
int tg_sync_redis_new(struct tg_sync_redis **out, const char *url, char *err, size_t n);

/* The URL without its password, for people. */
const char *tg_sync_redis_where(const struct tg_sync_redis *r);

/* One round for the ledger l of machine machine: push, pull, write the
 * overlays with fresh_us as their bound, and the sync state (interval_us
 * as the agent's).  Returns 0, or -1 with a message in err (the state
 * written says it too, when the ledger can be written).  *scopes is set
 * to the fleet scopes exchanged. */
int tg_sync_redis_round(struct tg_sync_redis *r, struct tg_ledger *l, const char *machine,
                        int64_t interval_us, int64_t fresh_us, int *scopes, char *err, size_t n);

void tg_sync_redis_free(struct tg_sync_redis *r);

/* The fleet policies a round exchanges, deduplicated by scope and window:
 * the stored ones and the budgets setting's. Exposed for `doctor`.
 * Returns how many (at most max), or -1 with a message in err. */
struct tg_policy;
int tg_sync_fleet_policies(struct tg_ledger *l, struct tg_policy *out, int max, char *err,
                           size_t n);

/* A Redis key for a fleet policy's window (above) into buf; its length or -1. */
int tg_sync_redis_key(const struct tg_policy *p, int64_t window_start_us, char *buf, size_t n);

#endif
