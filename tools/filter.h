/* filter.h - which records a report looks at: --tag, --provider, --model
 * and --process, shared by summary, records and check.
 *
 * Owns: the filter and its match.  Every condition given must hold; a tag
 * condition is an exact KEY=VALUE among the record's tags; a model matches
 * the record's model or that model's price family (so --model gpt-4o also
 * takes gpt-4o-2024-08-06), ignoring case like provider. */
#ifndef TG_FILTER_H
#define TG_FILTER_H

#include "price.h"
#include "record.h"
#include "record_codec.h"

#define TG_FILTER_TAGS_MAX 16

struct tg_filter {
	const char *tag[TG_FILTER_TAGS_MAX];  /* "KEY=VALUE" */
	int ntags;
	const char *provider, *model, *process;  /* NULL: any */
	const struct tg_prices *prices;          /* for model families; may be NULL */
};

/* The text fields tg_filter_match(f, r) reads (TG_TEXT_* of
 * record_codec.h), for scans that decode only what they use. */
unsigned tg_filter_text(const struct tg_filter *f);

/* 1 when r passes every condition of f (f may be NULL: no conditions). */
int tg_filter_match(const struct tg_filter *f, const struct tg_record *r);

#endif
