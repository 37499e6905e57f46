/* agg.h - sums of ledger records grouped by keys (--by).
 *
 * Owns: the group-by key list, the groups and their sums, and the rules
 * for what a sum means: a count that is unknown is left out of its sum
 * and counted apart (never taken as 0); cost sums only priced calls with
 * known usage, and the calls left out are counted, with the models that
 * had no price.
 */
#ifndef TG_AGG_H
#define TG_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "when.h"

#define TG_AGG_MAX_KEYS 8
#define TG_AGG_TAG_MAX 64

enum tg_agg_by {
	TG_BY_PROVIDER, TG_BY_MODEL, TG_BY_HOST, TG_BY_ENDPOINT,
	TG_BY_DAY, TG_BY_MONTH, TG_BY_PROCESS, TG_BY_OPERATION, TG_BY_TAG,
};

/* The token kinds a report shows, in column order. */
enum tg_tok { TG_TOK_INPUT, TG_TOK_CACHED, TG_TOK_CACHE_WRITE, TG_TOK_OUTPUT, TG_TOK_REASONING, TG_TOK_KINDS };

struct tg_agg_key {
	enum tg_agg_by by;
	char tag[TG_AGG_TAG_MAX];  /* for TG_BY_TAG */
};

struct tg_agg_sums {
	int64_t calls;
	int64_t tokens[TG_TOK_KINDS];   /* sums of the known counts */
	int64_t unknown[TG_TOK_KINDS];  /* calls whose count of that kind was unknown */
	double cost_usd;                /* priced calls with known usage only */
	int64_t unpriced;               /* calls with no price for their model */
	int64_t usage_unknown;          /* calls whose response carried no usage */
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
};

/* Column names of the token kinds, as used in JSON and CSV. */
extern const char *const tg_tok_name[TG_TOK_KINDS];

/* Initialises a from a --by list such as "provider,model,tag:team".
 * Returns 0, or -1 with a message in err. */
int tg_agg_init(struct tg_agg *a, const char *by, char *err, size_t errlen);

/* The name of key i as given ("model", "tag:team"). */
void tg_agg_key_name(const struct tg_agg *a, int i, char *buf, size_t n);

/* The text fields of a record tg_agg_add() reads (TG_TEXT_* of
 * record_codec.h): the keys' and the model, named when unpriced. */
unsigned tg_agg_text(const struct tg_agg *a);

/* Adds one record.  Returns 0, or -1 when out of memory. */
int tg_agg_add(struct tg_agg *a, const struct tg_record *r);

/* Orders the groups by their key values. */
void tg_agg_sort(struct tg_agg *a);

void tg_agg_free(struct tg_agg *a);

/* The value of tag name in a "k=v,k=v" list into buf ("" when absent).
 * Returns 1 when present. */
int tg_tags_get(const char *tags, const char *name, char *buf, size_t n);

#endif
