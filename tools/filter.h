/* filter.h - which records a report looks at: --tag, --provider, --model
 * and --process, shared by summary, records and check.
 *
 * Owns: the filter and its match.  Every condition given must hold; a tag
 * condition is an exact KEY=VALUE among the record's tags; a model matches
 * the record's model or that model's price family (so --model gpt-4o also
 * takes gpt-4o-2024-08-06), ignoring case like provider.
 *
 * A --tag user=ID also takes the calls whose user tag is ID's hash under
 * the ledger's attribution key (ledger/attribution.h): with the default
 * TOKENGUARD_ATTRIBUTION=hash the ledger keeps only that, and the person
 * who asks knows the id. */
#ifndef TG_FILTER_H
#define TG_FILTER_H

#include "attribution.h"
#include "price.h"
#include "record.h"
#include "record_codec.h"

#define TG_FILTER_TAGS_MAX 16

struct tg_filter {
	const char *tag[TG_FILTER_TAGS_MAX];  /* "KEY=VALUE" */
	int ntags;
	/* "user=h:..." for a tag[i] "user=ID", when the ledger has a key; else "" */
	char tag_hashed[TG_FILTER_TAGS_MAX][5 + TG_ATTRIB_HASH_LEN + 1];
	const char *provider, *model, *process;  /* NULL: any */
	const struct tg_prices *prices;          /* for model families; may be NULL */
};

/* The text fields tg_filter_match(f, r) reads (TG_TEXT_* of
 * record_codec.h), for scans that decode only what they use. */
unsigned tg_filter_text(const struct tg_filter *f);

/* Fills tag_hashed for the user tags of f with the key of the ledger in
 * dir.  Returns 0 (also when the ledger has no key: nothing is hashed
 * then), or the TG_E* code of a key that cannot be trusted or read. */
int tg_filter_attribute(struct tg_filter *f, const char *dir);

/* 1 when tags hold f's tag condition i (its hash counts: see above). */
int tg_filter_tag_holds(const struct tg_filter *f, int i, const char *tags);

/* 1 when r passes every condition of f (f may be NULL: no conditions). */
int tg_filter_match(const struct tg_filter *f, const struct tg_record *r);

#endif
