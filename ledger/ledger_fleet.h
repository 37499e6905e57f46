/* ledger_fleet.h - the fleet overlay: what the other machines of a fleet
 * spent, as `tokenguard-report sync` last pulled it from Redis, kept in
 * this ledger so that the budget check of a fleet policy (policy.h, the
 * word fleet) adds it to the local spend without any network I/O.
 *
 * Owns two kinds of keys in the meta database:
 *   "fleet:" SCOPE "|" WINDOW   (tg_fleet_key: "fleet:tag:team=search|day")
 *       -> window start i64 BE | pulled at i64 BE | fresh for i64 BE |
 *          usd micro-dollars i64 BE | estimated part of it i64 BE |
 *          tokens i64 BE (48 bytes): the others' spend in that window.
 *       A tag:KEY=* policy has one per value its machines spent on
 *       ("fleet:tag:user=alice|day"), and a marker under its own scope
 *       ("fleet:tag:user=*|day", no spend) saying when its values were
 *       pulled: a value without an overlay then counts zero others while
 *       the marker is fresh, not "stale".
 *   "fleet-sync"
 *       -> last success i64 BE | last attempt i64 BE | interval i64 BE |
 *          fresh for i64 BE | policies i64 BE | error length u16 BE |
 *          error | where length u16 BE | where: the agent's state, for
 *          `doctor` and `budget status`.
 * All times are UTC microseconds.  sync writes both in ONE write
 * transaction per round; the budget check reads an overlay in the same
 * read transaction as the local spend (ledger_totals.c), one mdb_get per
 * fleet policy, no allocation.
 *
 * Spend of a fleet policy = local spend (this ledger's, spooled records
 * included, synced or not) + the others' of the same window start.  An
 * overlay of an older window counts as zero others (the window turned
 * since the pull).  An overlay is fresh while now - pulled at <= fresh
 * for, a bound the agent writes (max(fleet_stale, 3 x its interval)); an
 * overlay pulled "in the future" by more than that bound (a clock set
 * back) is stale too.  A repair drops overlays (the next sync writes
 * them again).
 */
#ifndef TG_LEDGER_FLEET_H
#define TG_LEDGER_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "ledger.h"

/* How a fleet policy's spend was counted (struct tg_spend.fleet). */
enum tg_fleet_state {
	TG_FLEET_NOT,      /* not a fleet policy: local spend only */
	TG_FLEET_FRESH,    /* the others' spend is added */
	TG_FLEET_STALE,    /* an overlay older than its bound: local spend only */
	TG_FLEET_MISSING,  /* no overlay (no sync ran yet): local spend only */
};

struct tg_fleet_overlay {
	int64_t window_start_us;
	int64_t pulled_us;
	int64_t fresh_us;
	int64_t usd_micro, estimated_micro, tokens;
};

#define TG_FLEET_ERROR_MAX 256
#define TG_FLEET_WHERE_MAX 256

struct tg_fleet_sync {
	int64_t last_ok_us;      /* 0: never */
	int64_t last_try_us;     /* 0: never */
	int64_t interval_us;     /* 0: one-shot */
	int64_t fresh_us;
	int64_t policies;        /* fleet scopes exchanged by the last success */
	char error[TG_FLEET_ERROR_MAX];   /* of the last attempt; "" when it succeeded */
	char where[TG_FLEET_WHERE_MAX];   /* the Redis it talks to, without a password */
};

/* The longest key tg_fleet_key() writes, NUL included. */
#define TG_FLEET_KEY_MAX (6 + TG_SCOPE_KEY_MAX + 1 + TG_WINDOW_TEXT_MAX)

/* "fleet:SCOPE|WINDOW" of p into buf.  Returns its length, or -1 when p
 * has no one scope (tag:KEY=* unbound) or n is too small. */
int tg_fleet_key(const struct tg_policy *p, char *buf, size_t n);

/* The overlay state of one fleet policy given its overlay o (NULL: none)
 * at now_us, for window_start_us: TG_FLEET_FRESH, _STALE or _MISSING;
 * *counts is what the others add (zero unless fresh and of that window).
 * Pure: the check and the tests share it. */
int tg_fleet_judge(const struct tg_fleet_overlay *o, int64_t window_start_us, int64_t now_us,
                   struct tg_fleet_overlay *counts);

/* Writes the n overlays (keys[i] from tg_fleet_key) and the sync state s
 * in one write transaction.  n may be 0 (a failed round: the state only).
 * Returns 0 or a TG_E* code. */
int tg_fleet_put(struct tg_ledger *l, const char *const *keys, const struct tg_fleet_overlay *o,
                 int n, const struct tg_fleet_sync *s);

/* The overlay under key (*has 0 when none), and the sync state (*has_state
 * 0 when none; s may be NULL), in one read transaction. */
int tg_fleet_get(struct tg_ledger *l, const char *key, struct tg_fleet_overlay *o, int *has);
int tg_fleet_sync_get(struct tg_ledger *l, struct tg_fleet_sync *s, int *has);

/* Encodings, for the tests: the overlay's 48 bytes; 0 or -1. */
#define TG_FLEET_OVERLAY_LEN 48
void tg_fleet_overlay_encode(const struct tg_fleet_overlay *o, unsigned char buf[TG_FLEET_OVERLAY_LEN]);
int tg_fleet_overlay_decode(const void *p, size_t n, struct tg_fleet_overlay *o);

#endif
