/* ledger_budget.h - budgets in the ledger: stored policies, spend totals
 * per scope, reset baselines and alerts, shared by every process that
 * uses the ledger.
 *
 * Owns these named databases (schema 2):
 *   policies    name -> the policy in the one-line syntax of policy.h
 *               (name= included); meta "policy_version" (u64 BE) is bumped
 *               by every change, so a process can cache the list and
 *               reread it only when the version moves.
 *   totals      key:   scope string | NUL | bucket kind u8 (0 hour, 1 UTC
 *                      day, 2 UTC month) | bucket start u64 BE (us)
 *               value: usd f64 BE | tokens i64 BE | calls i64 BE |
 *                      blocked i64 BE (32 bytes, the first layout), then
 *                      usd_known f64 BE | unpriced i64 BE |
 *                      usage_unknown i64 BE | tokens_unknown i64 BE
 *                      (64 bytes): what check sums, so that it reads
 *                      buckets instead of records; then
 *                      usd_estimated f64 BE | estimated i64 BE
 *                      (80 bytes): the part of usd that is an
 *                      estimate and the calls it is of (spend_rule.h).  A bucket keeps the
 *                      layout of its first write: one begun by a version
 *                      that wrote 32 bytes stays so (its later fields
 *                      would miss its first records), and reports count
 *                      its records themselves.
 *               Every record adds to the hour, day and month buckets of
 *               each scope it belongs to, in the transaction that appends
 *               it, so a spend is a few reads whatever the ledger's size.
 *               A ledger migrated from schema 1 has meta "totals_from",
 *               the key of its last record then: records up to it predate
 *               budgets and are in no total.
 *               Scope strings are those of tg_policy_scope_key(); one
 *               longer than 400 bytes is replaced by "#" and its 64-bit
 *               FNV-1a hash in hex, to stay within LMDB's key size.
 *   resets      name -> baseline: the spend of the policy's window (for
 *               24h: of the current hour) when it was reset.
 *   alerts      ts_us u64 BE | pid u32 BE | sequence u32 BE -> one alert
 *   alert_once  subject | NUL | level u8 | window start u64 BE
 *               [| FNV-1a 64 BE of the tag value, for a tag:KEY=*
 *               policy: once per value] -> "": the
 *               alerts of a policy, level and window (the subject is the
 *               policy's name; for TG_ALERT_UNPRICED, "provider/model" and
 *               the UTC day) recorded so far
 *
 * A record's scopes are: global; provider:<provider>; model:<model family>
 * and, when it differs, model:<model>; process:<process>; tag:<k>=<v> for
 * each tag.  What it adds there is tg_total_of_record() (spend_rule.h):
 * tokens are input + output, an unknown count left out; a record flagged
 * TG_REC_BLOCKED cost nothing and adds only to blocked.
 *
 * Return convention as in ledger.h: 0 or a negative TG_E* code.  A handle
 * opened read-only on a schema 1 ledger sees no policies, totals or alerts.
 */
#ifndef TG_LEDGER_BUDGET_H
#define TG_LEDGER_BUDGET_H

#include <stdint.h>

#include "policy.h"
#include "ledger.h"
#include "spend_rule.h"

struct tg_spend {
	double usd;                 /* estimates included (spend_rule.h) */
	double usd_estimated;       /* the part of usd that is an estimate; a reset's
	                               baseline (first layout) does not say it */
	int64_t tokens;             /* input + output */
	int64_t calls;
	int64_t window_start_us;    /* -1 for session windows */
	int64_t reset_us;           /* -1 for session windows */
	/* What usd and tokens leave out (spend_rule.h), for reports: calls
	 * with the cost or token count unknown in the window, a reset's
	 * baseline not subtracted (it keeps the first layout); partial when a
	 * bucket of the first layout does not say. */
	int64_t cost_unknown, tokens_unknown;
	int partial;
	/* A fleet policy's (policy.h, ledger_fleet.h): enum tg_fleet_state,
	 * and the other machines' spend in the window as `sync` last pulled
	 * it, already included in usd, usd_estimated and tokens above (zero
	 * unless TG_FLEET_FRESH); when it was pulled (0: never). */
	int fleet;
	double fleet_usd, fleet_usd_estimated;
	int64_t fleet_tokens;
	int64_t fleet_pulled_us;
};

enum tg_alert_level {
	TG_ALERT_THRESHOLD = 1,  /* alert_pct of a limit reached */
	TG_ALERT_LIMIT,          /* a limit reached */
	TG_ALERT_BLOCKED,        /* a call refused */
	TG_ALERT_FALLBACK,       /* downgrade/clamp impossible: fallback applied; or a
	                            warn policy's unpriced=block let a model without
	                            a price through */
	TG_ALERT_UNPRICED,       /* a call to a model without a price: no policy; once
	                            per provider, model and UTC day */
};

#define TG_ALERT_DETAIL_MAX 128

struct tg_alert {
	int64_t ts_us;
	char policy[TG_POLICY_NAME_MAX];
	int level;                  /* enum tg_alert_level */
	double spend_usd;           /* < 0: none (an alert of no policy) */
	int64_t spend_tokens;       /* < 0: none */
	double limit_usd;           /* < 0: none */
	int64_t limit_tokens;       /* < 0: none */
	int64_t window_start_us;
	int32_t pid;
	char process[TG_PROCESS_MAX];
	char model[TG_MODEL_MAX];
	char detail[TG_ALERT_DETAIL_MAX];
	/* Fields added later: an alert written before them reads back with
	 * "" and -1 (not known), never with a guess. */
	char provider[TG_PROVIDER_MAX];
	char scope[TG_SCOPE_KEY_MAX];   /* the policy's scope (tg_policy_scope_key) */
	int window;                     /* enum tg_window of the policy; -1 not known */
	int alert_pct;                  /* the policy's alert=N; -1 not known */
	int repeat;                     /* 1: an alert of the same policy, level and
	                                   window was recorded before this one (a
	                                   blocked call after the first); -1 not known */
	char tag_value[TG_TAGS_MAX];    /* for a tag:KEY=* policy, the value the alert
	                                   is about ("alice"); "" for other policies */
};

/* "threshold", "limit", "blocked", "fallback", "unpriced"; "?" for
 * anything else. */
const char *tg_alert_level_name(int level);

/* An alert a fold or a check accepts: one of a policy, or an unpriced
 * model's (which has none). */
int tg_alert_valid(const struct tg_alert *a);

/* Blank fields: the "not known" values above, and a spend and limits of
 * -1 (none: an unpriced model's alert has no policy), the rest zero. */
void tg_alert_init(struct tg_alert *a);

/* The spend of p's scope in p's current window at now_us, less the
 * baseline of a reset made in that same window, plus the records of that
 * scope and window still in spools (ledger.h).  UTC day and month read one
 * bucket (zoned ones: below); 24h sums the hour buckets from the window start (see policy.h:
 * hour-granular, no prorating of the oldest hour).  Returns 0, TG_EINVAL
 * for a session window or a zone that cannot be loaded (zones.h), or a
 * ledger error. */
int tg_ledger_spend(struct tg_ledger *l, const struct tg_policy *p, int64_t now_us,
                    struct tg_spend *out);

/* Day and month windows in a zone (day@ZONE, month@ZONE) are not UTC
 * buckets: their spend is summed from the buckets that lie wholly inside
 * the window (UTC days, then hours) and, for a zone whose offset is not a
 * whole number of hours (Asia/Kolkata, Asia/Kathmandu), the records of
 * the partial hours at both ends, matched to the scope by the same rule
 * that fills the buckets, with the model families of the price table
 * tg_ledger_set_prices() gave.  Worst case for one policy: a month in
 * such a zone reads about 30 day buckets, 48 hour buckets and the
 * records of two partial hours; a day reads at most 27 hour buckets and
 * two partial hours' records.  A partial hour's records are read only
 * when the scope's bucket of that hour is not empty, and their sum is
 * kept by the handle while that bucket is unchanged (ledger_impl.h), so
 * what costs is the first partial hour of the local day while it runs.
 * A reset's baseline of such a window is its sum at the time of the
 * reset. */

/* The price table whose model families a zoned window's partial hours
 * use to match model: scopes (see above); p must outlive l's use of it.
 * NULL (the default) counts each record under its own model name. */
struct tg_prices;
void tg_ledger_set_prices(struct tg_ledger *l, const struct tg_prices *p);

/* A tag:KEY=* policy (TG_VALUE_EACH) not bound to a value gets zeros
 * from these two (with its window's bounds): each value's spend is that
 * of the policy bound to it (tg_policy_bind, policy.h). */

/* tg_ledger_spend() for n policies in one read transaction: the shim's
 * per-request check.  A fleet policy's spend adds the overlay of the
 * other machines read in that same transaction (ledger_fleet.h).  Session policies get zeros with window_start_us and
 * reset_us -1 (their process counts them).  Returns 0 or a ledger error. */
int tg_ledger_spend_many(struct tg_ledger *l, const struct tg_policy *p, int n, int64_t now_us,
                         struct tg_spend *out);

/* One totals value (the layout above) is a struct tg_total, filled by the
 * rule of spend_rule.h and summed with tg_total_sum(). */

/* How tg_ledger_sum() found its answer: hour buckets read, records of the
 * ledger decoded (the hours no bucket answers for), spooled records. */
struct tg_sum_how {
	int64_t buckets, scanned, spooled;
};

/* The sums of `check` (struct tg_total above: calls, tokens,
 * usd_known, blocked, unpriced, usage_unknown, tokens_unknown; usd is the
 * budgets' rule) over the records with since_us <= ts_us < until_us that
 * match(ctx, r) accepts, spooled records included.
 *
 * match reads only the text fields in text (TG_TEXT_* of record_codec.h:
 * the others are "" in the records it gets).
 *
 * With scope (a policy whose scope and scope_value are set; NULL for
 * none), match must accept exactly the records tg_policy_matches() puts
 * in that scope, and every whole hour of the period is read from its
 * hour bucket; the records are read only for the partial hours at the
 * ends, the hours before meta "totals_from", and buckets of the first
 * layout, which lack the report fields.  Without scope every record of
 * the period is read.  Both ways give the same counts; the USD sums are
 * added in another order, so they may differ in their last bits.
 *
 * match returns 1 for a record that counts, 0 for one that does not, any
 * other value to stop.  Returns 0, that value, or a ledger error (as
 * tg_ledger_scan).  how may be NULL. */
int tg_ledger_sum(struct tg_ledger *l, const struct tg_policy *scope, int64_t since_us,
                  int64_t until_us, unsigned text,
                  int (*match)(void *ctx, const struct tg_record *r), void *ctx,
                  struct tg_total *out, struct tg_sum_how *how);

/* tg_ledger_scan() for reports that read a few fields of every record:
 * the records fn gets hold only the text fields in text (TG_TEXT_* of
 * record_codec.h; spooled records have them all), which saves most of
 * the decoding of a long scan.  Returns as tg_ledger_scan(). */
int tg_ledger_scan_some(struct tg_ledger *l, int64_t since_us, int64_t until_us, unsigned text,
                        int (*fn)(void *ctx, const struct tg_record *r), void *ctx);

/* tg_ledger_scan_some() without the copy: fn gets each record as a view
 * of its stored value (struct tg_record_view of record_codec.h), valid
 * only during the call.  For scans that write every record out. */
struct tg_record_view;
int tg_ledger_scan_views(struct tg_ledger *l, int64_t since_us, int64_t until_us,
                         unsigned text,
                         int (*fn)(void *ctx, const struct tg_record_view *v), void *ctx);

/* Calls fn for each non-empty value of tag key that has spend totals
 * (any scope "tag:KEY=VALUE" of the totals, whatever its window), once
 * each, in byte order, in one read transaction: one key read per value.
 * For `budget status` of a tag:KEY=* policy.  A value whose scope string
 * is hashed (over 400 bytes) is not listed.  fn's nonzero value stops the
 * walk and is returned.  Returns 0, TG_EINVAL, or a ledger error. */
int tg_ledger_tag_values(struct tg_ledger *l, const char *key,
                         int (*fn)(void *ctx, const char *value), void *ctx);

/* The most stored policies a process applies: the first ones in name
 * order (the shim's gate says so when there are more; `estimate --budget`
 * takes the same ones). */
#define TG_STORED_POLICIES_MAX 64

/* The stored policies, in name order.  *n is set to how many are stored;
 * when that is more than max, only the first max are written to out.
 * *version (may be NULL) is the policy version of the same snapshot.
 * Returns 0, TG_ECORRUPT when a stored policy does not parse, or a ledger
 * error. */
int tg_ledger_policies(struct tg_ledger *l, struct tg_policy *out, int max, int *n,
                       uint64_t *version);

/* The policy stamp: <ledger>/policy-stamp, a small file every writer of
 * this version keeps, replaced (a new inode) after each commit that
 * changes the stored policies, so that a process can tell with one
 * fstatat() that its cached list is still current instead of a read
 * transaction per request.  Its text (the policy version) is for people:
 * only its identity is compared. */
enum tg_stamp_state {
	TG_STAMP_UNKNOWN,       /* no stamp, but a data file: a ledger from before
	                           stamps, which may hold policies: read them */
	TG_STAMP_EMPTY_LEDGER,  /* no stamp and no data file: no policies */
	TG_STAMP_PRESENT,
};
struct tg_policy_stamp {
	int state;              /* enum tg_stamp_state */
	uint64_t dev, ino;
	int64_t size, mtime_ns;
};
/* Looks at the stamp.  Returns 0 (s filled) or a TG_E* code. */
int tg_ledger_policy_stamp(struct tg_ledger *l, struct tg_policy_stamp *s);
/* 1 when a and b are the same present stamp: the policies read when a was
 * seen are still the stored ones. */
int tg_policy_stamp_same(const struct tg_policy_stamp *a, const struct tg_policy_stamp *b);

/* The policy version alone (one read): 0 until a policy is first set. */
int tg_ledger_policy_version(struct tg_ledger *l, uint64_t *version);

/* Adds p, or replaces the policy of the same name.  p->from_env is not
 * stored.  A reset baseline survives a change of limits or action, not of
 * scope or window.  Returns 0, TG_EINVAL (bad name, or a policy that would
 * not read back), or a ledger error. */
int tg_ledger_policy_put(struct tg_ledger *l, const struct tg_policy *p);

/* Removes the policy name and its baseline.  Returns 0, TG_ENOENT when no
 * such policy is stored, or a ledger error. */
int tg_ledger_policy_rm(struct tg_ledger *l, const char *name);

/* Makes the stored policy name read a spend of 0 from now_us on, for the
 * rest of its current window; the next window starts from its real spend.
 * Returns 0, TG_ENOENT (no such policy), TG_EINVAL (session window: only
 * its process knows that spend), or a ledger error. */
int tg_ledger_policy_reset(struct tg_ledger *l, const char *name, int64_t now_us);

/* Records a unless an alert of the same policy, level, window_start_us
 * and tag_value is already recorded, atomically across processes.  Returns 1 when a was
 * recorded now (the caller then tells the user), 0 when it already was, or
 * a ledger error. */
int tg_ledger_alert_once(struct tg_ledger *l, const struct tg_alert *a);

/* Records a unconditionally (blocked calls: each one is kept), with
 * repeat set when an alert of the same policy, level and window (>= 0)
 * was recorded before it, atomically across processes; a session window
 * (-1) keeps the repeat a says, which only its process can know. */
int tg_ledger_alert_add(struct tg_ledger *l, const struct tg_alert *a);

/* Calls fn for each alert with ts_us >= since_us, in time order, in one
 * read transaction.  fn's nonzero value stops the scan and is returned.
 * Returns 0, TG_ECORRUPT for an undecodable alert, or a ledger error. */
int tg_ledger_alerts(struct tg_ledger *l, int64_t since_us,
                     int (*fn)(void *ctx, const struct tg_alert *a), void *ctx);

/* Calls fn for each alert whose key is after from (every one when
 * !has_from), with its key, in key order, in one read transaction: what
 * a consumer that keeps a watermark (ledger_watermark.h) reads.  Alerts
 * still in a spool are not delivered: a later scan sees them once
 * folded.  Returns 0, fn's nonzero value, or a TG_E* code. */
int tg_ledger_alerts_after(struct tg_ledger *l, const unsigned char from[16], int has_from,
                           int (*fn)(void *ctx, const unsigned char key[16],
                                     const struct tg_alert *a), void *ctx);

#endif
