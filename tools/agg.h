/* agg.h - sums of ledger records grouped by keys (--by).
 *
 * Owns: the group-by key list, the groups and their sums, and how a
 * report groups calls.  What a record adds is the one rule of
 * spend_rule.h (tg_total_of_record: sent calls, blocked calls apart,
 * tokens = input + output, cost known or not); the token kinds beside it
 * follow the same rule: a blocked call adds to none, an unknown count is
 * left out of its sum and counted apart (never taken as 0).
 *
 * Grouping by model uses the model served.  A blocked call was never
 * served: it names the model asked for.  When the records summed show
 * that model asked for and another served (requested_model, record.h),
 * the blocked call goes to the row of the model served for it (the one
 * of the latest such record), so "gpt-4.1" refused and "gpt-4.1" served
 * as "gpt-4.1-2025-04-14" share a row; the remap is counted for the notes.
 * Downgraded calls are no evidence of that (a policy chose their model).
 *
 * Time keys are local to the report's zone (zone.h): day, month, week
 * (ISO 8601, 2026-W48), hour (of the day, 00-23; with day, a timeline).
 * session and block name the process run or 5-hour block a record falls
 * in (runs.h) by its start; they need a->runs, worked out beforehand.
 * machine is the record's machine (machine.h), and for a record naming
 * none the ledger's own, looked up in a->ledger_dir at the first such
 * record (not before: the lookup may make the ledger's key).
 */
#ifndef TG_AGG_H
#define TG_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "record.h"
#include "runs.h"
#include "spend_rule.h"
#include "when.h"

#define TG_AGG_MAX_KEYS 8
#define TG_AGG_TAG_MAX 64

enum tg_agg_by {
	TG_BY_PROVIDER, TG_BY_MODEL, TG_BY_HOST, TG_BY_ENDPOINT,
	TG_BY_DAY, TG_BY_MONTH, TG_BY_PROCESS, TG_BY_OPERATION,
	TG_BY_WEEK, TG_BY_HOUR, TG_BY_SESSION, TG_BY_BLOCK, TG_BY_MACHINE, TG_BY_TAG,
};

/* The token kinds a report shows, in column order. */
enum tg_tok { TG_TOK_INPUT, TG_TOK_CACHED, TG_TOK_CACHE_WRITE, TG_TOK_OUTPUT, TG_TOK_REASONING, TG_TOK_KINDS };

struct tg_agg_key {
	enum tg_agg_by by;
	char tag[TG_AGG_TAG_MAX];  /* for TG_BY_TAG */
};

struct tg_agg_sums {
	struct tg_total t;              /* the rule of spend_rule.h: calls, blocked, tokens, cost */
	int64_t tokens[TG_TOK_KINDS];   /* sums of the known counts of sent calls */
	int64_t unknown[TG_TOK_KINDS];  /* sent calls whose count of that kind was unknown */
	int64_t incomplete;             /* sent calls cut off before their end */
	int64_t stream_error;           /* streams that ended with an error event */
};

struct tg_agg_group {
	char *value[TG_AGG_MAX_KEYS];   /* one per key; one allocation, owned */
	uint64_t hash;
	struct tg_agg_sums sums;
};

struct tg_agg_unpriced {
	char model[TG_MODEL_MAX];
	int64_t calls;
};

/* A model asked for and the model served for it (latest record). */
struct tg_agg_served {
	char requested[TG_MODEL_MAX];
	char served[TG_MODEL_MAX];
	int64_t ts_us;
	int64_t blocked_moved;          /* blocked calls grouped under served */
};

struct tg_agg {
	struct tg_agg_key key[TG_AGG_MAX_KEYS];
	int nkeys;
	struct tg_agg_group *group;
	size_t ngroups, cap;
	size_t *slot;                   /* open addressing: group index + 1, 0 = empty */
	size_t nslots;
	struct tg_agg_sums total;
	struct tg_agg_unpriced *unpriced;
	size_t nunpriced, unpriced_cap;
	struct tg_when_memo when;       /* day and month keys of a scan in time order */
	int model_key;                  /* index of the model key, -1 when none */
	const struct tg_runs *runs;     /* for session and block keys; not owned */
	struct tg_agg *blocked;         /* blocked calls, grouped by tg_agg_finish() */
	struct tg_agg_served *served;
	size_t nserved, served_cap;
	const char *ledger_dir;         /* for the machine key; NULL: "" stays "" */
	int machine_known;              /* machine looked up */
	char machine[TG_MACHINE_MAX];   /* the ledger's own machine, "" when not known */
};

/* Column names of the token kinds, as used in JSON and CSV. */
extern const char *const tg_tok_name[TG_TOK_KINDS];

/* Initialises a from a --by list such as "provider,model,tag:team".
 * Returns 0, or -1 with a message in err. */
int tg_agg_init(struct tg_agg *a, const char *by, char *err, size_t errlen);

/* What a->runs must hold for a's keys: sets want_runs, want_blocks of rs.
 * Returns 1 when a needs runs at all. */
int tg_agg_wants_runs(const struct tg_agg *a, struct tg_runs *rs);

/* The name of key i as given ("model", "tag:team"). */
void tg_agg_key_name(const struct tg_agg *a, int i, char *buf, size_t n);

/* The text fields of a record tg_agg_add() reads (TG_TEXT_* of
 * record_codec.h): the keys' and the model, named when unpriced. */
unsigned tg_agg_text(const struct tg_agg *a);

/* Adds one record.  Returns 0, or -1 when out of memory. */
int tg_agg_add(struct tg_agg *a, const struct tg_record *r);

/* Orders the groups by their key values. */
void tg_agg_sort(struct tg_agg *a);

/* After the last tg_agg_add(): puts the blocked calls in their rows (the
 * model served for the model they asked for, see above) and sorts.
 * Returns 0, or -1 when out of memory. */
int tg_agg_finish(struct tg_agg *a);

/* The orders of tg_agg_order(). */
enum tg_agg_sort { TG_SORT_KEY, TG_SORT_COST, TG_SORT_CALLS, TG_SORT_TOKENS };

/* Orders the groups after tg_agg_finish(): by key, or by cost (the known
 * cost), calls or tokens with ties in key order; descending when desc is
 * set (the amounts only, for a tie).  Then keeps the first limit groups
 * (all when limit < 0), freeing the others; the total stays that of every
 * group.  Returns how many were left out. */
size_t tg_agg_order(struct tg_agg *a, enum tg_agg_sort by, int desc, int64_t limit);

void tg_agg_free(struct tg_agg *a);

/* The value of tag name in a "k=v,k=v" list into buf ("" when absent).
 * Returns 1 when present. */
int tg_tags_get(const char *tags, const char *name, char *buf, size_t n);

/* A scan's callback (tg_ledger_scan_some) that adds each record the filter
 * matches to a; ctx is a struct tg_agg_scan.  Returns 1 when out of memory. */
struct tg_agg_scan {
	struct tg_agg *a;
	const struct tg_filter *filter;
};
int tg_agg_add_matching(void *ctx, const struct tg_record *r);

#endif
