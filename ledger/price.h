/* price.h - what an exchange costs.
 *
 * Owns: the price table (the bundled prices.tsv, optionally overridden and
 * extended by a file in the same format), the lookup from a provider's
 * model id to a price line, and the cost of a struct tg_counts.
 *
 * Rates are USD per million tokens.  The table is parsed once per process
 * into one allocation; lookups and costs never allocate.
 */
#ifndef TG_PRICE_H
#define TG_PRICE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct tg_rates {
	double input;           /* input not read from or written to a cache */
	double output;          /* output not counted as reasoning */
	double cached_input;    /* cache reads */
	double cache_write_5m;  /* cache writes (5-minute, or the only kind) */
	double cache_write_1h;  /* Anthropic 1-hour cache writes */
	double reasoning;       /* reasoning part of output */
};

struct tg_price {
	char provider[TG_PROVIDER_MAX];  /* lowercase */
	char family[TG_MODEL_MAX];       /* lowercase */
	struct tg_rates base;
	int64_t long_threshold;  /* input tokens above which `above` applies; 0: no tier */
	struct tg_rates above;
	char date[11];           /* YYYY-MM-DD the price took effect */
};

struct tg_prices;

/* Bad lines of an override file whose messages are kept, and the length
 * of one message. */
#define TG_PRICES_BAD_KEPT 8
#define TG_PRICES_BAD_LEN 256

/* Loads the bundled table, then override_file when it is neither NULL nor
 * "" (the caller passes $TOKENGUARD_PRICES: reading the environment is the
 * configuration's job, not the table's).  Override lines replace bundled
 * lines of the same provider and family and add the others.  A bad line
 * of the override file is skipped and every other line applies: see
 * tg_prices_skipped.
 *
 * Returns 0 and sets *out, or -1 with a message in err (why the file could
 * not be read, or "FILE:LINE: ..." when it is not text at all); *out is
 * then NULL. */
int tg_prices_load(struct tg_prices **out, const char *override_file, char *err, size_t errlen);

/* Flags of tg_prices_load_file. */
#define TG_PRICES_FOUND_FILE 1  /* override_file was found, not named (the config
                                   directory's): it may be absent, and is read only
                                   when it is the user's own (file_read.h,
                                   TG_READ_OWNED) and not a symlink */

/* tg_prices_load with flags. */
int tg_prices_load_file(struct tg_prices **out, const char *override_file, unsigned flags,
                        char *err, size_t errlen);

/* How many lines of the override file were skipped as bad, and the
 * message of the i-th ("FILE:LINE: what is wrong"), kept for the first
 * TG_PRICES_BAD_KEPT of them (NULL past those). */
size_t tg_prices_skipped(const struct tg_prices *t);
const char *tg_prices_skipped_line(const struct tg_prices *t, size_t i);

/* The "# version:" of the bundled table ("" when it has none). */
const char *tg_prices_version(const struct tg_prices *t);

/* The "# date:" of the bundled table, YYYY-MM-DD: when its prices were
 * last checked ("" when it has none). */
const char *tg_prices_date(const struct tg_prices *t);

/* The table line by line: the lines of the override file in their order,
 * then the bundled ones they do not replace, in theirs.  Start with
 * *cursor = 0; returns the next line (from_file, when not NULL, set to 1
 * for a line of the override file) or NULL at the end. */
const struct tg_price *tg_prices_next(const struct tg_prices *t, size_t *cursor, int *from_file);

/* 1 when p, a line of t, comes from the override file (the user's). */
int tg_prices_from_file(const struct tg_prices *t, const struct tg_price *p);

/* Number of price lines after overrides. */
size_t tg_prices_count(const struct tg_prices *t);

/* The price line for a model, or NULL when none is known.  provider is the
 * shim's provider name (openai, azure, anthropic, gemini, bedrock, cohere,
 * mistral, groq, xai, together, fireworks, perplexity, deepseek,
 * openrouter; a few aliases are accepted).  model is the id as sent or
 * returned by the API: known prefixes (models/, region and vendor parts of
 * Bedrock ids, accounts/.../models/, vendor/ of OpenRouter) and dated or
 * version suffixes are stripped, then the result must equal a family
 * exactly, so gpt-4o never gets gpt-4o-mini's price and an unknown model
 * gets none rather than a neighbour's. */
const struct tg_price *tg_price_find(const struct tg_prices *t, const char *provider,
                                     const char *model);

/* Every price line the table has for model, whatever its provider: what
 * tg_price_find() finds for each provider of the table, in table order,
 * each line once.  Up to max lines go to out; returns how many there are
 * (more than max when out was too small).  `prices MODEL` shows them, and
 * `estimate --model M` without --provider takes the provider of the only
 * one (several: it asks which). */
size_t tg_price_find_any(const struct tg_prices *t, const char *model,
                         const struct tg_price **out, size_t max);

/* The model family a record's spend counts under: p's family, or model
 * itself when it has no price (p NULL).  The shim's sink and the ledger's
 * check of its totals both go by this. */
const char *tg_price_family(const struct tg_price *p, const char *model);

/* The cost in USD of counts c at price p (0 when p is NULL).  Following
 * record.h, input includes cache reads and writes and output includes
 * reasoning; each part is priced at its own rate.  Cache writes are split
 * 5m/1h when those counts are known, else all priced at the 5m rate.  The
 * long-context tier is chosen when input exceeds p->long_threshold.  An
 * unknown count contributes 0: callers that need to know must check
 * TG_REC_USAGE_UNKNOWN or the counts themselves. */
double tg_price_cost(const struct tg_price *p, const struct tg_counts *c);

/* tg_price_cost in its two halves: *input_usd what c's input costs (cache
 * reads and writes included), *output_usd its output (reasoning
 * included), both at the tier c->input selects; 0 and 0 when p is NULL.
 * For a price given before a call (`tokenguard-report estimate`). */
void tg_price_cost_parts(const struct tg_price *p, const struct tg_counts *c, double *input_usd,
                         double *output_usd);

/* The rates of p a call of input tokens is priced at: the long-context
 * tier's when input exceeds p->long_threshold, else the base ones. */
const struct tg_rates *tg_price_rates_for(const struct tg_price *p, int64_t input);

/* The price a call to a model without a price line is estimated at
 * (shim/estimate.h): for each rate, the highest of provider's lines
 * (long-context tier included), or of the whole table when provider has
 * none; no long-context tier, family "".  Returns 0 with *out filled, or
 * -1 when t is NULL or empty. */
int tg_price_ceiling(const struct tg_prices *t, const char *provider, struct tg_price *out);

/* Frees t (NULL is allowed). */
void tg_prices_free(struct tg_prices *t);

/* Used by price_match.c: the exact (provider, family) line, or NULL. */
const struct tg_price *tg_prices_exact(const struct tg_prices *t, const char *provider,
                                       const char *family);

#endif
