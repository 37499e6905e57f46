/* quote.h - what a call would cost before it is made: the price of
 * `tokenguard-report estimate`.
 *
 * Owns: struct tg_quote and how it is worked out, by the lookups the shim
 * makes after the call: the model's line (tg_price_find, the user's price
 * file included), else the estimate the shim charges a model without a
 * price under unpriced=estimate (its provider's highest rates,
 * tg_price_ceiling); the provider a model named alone is priced by (the
 * one line of the table that prices it, as `prices MODEL` finds them);
 * and the input tokens of a file by the shim's rule of thumb
 * (token_rule.h).  No output, no ledger: cmd_estimate.c shows a quote.
 */
#ifndef TG_QUOTE_H
#define TG_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include "price.h"
#include "record.h"

struct tg_quote {
	char provider[TG_PROVIDER_MAX];
	const struct tg_price *line;  /* the model's price line; NULL when it has none */
	struct tg_price at;           /* what the call is priced at: *line, or the ceiling */
	int priced_at;                /* 0: nothing to price it at (an empty table) */
	int whole_table;              /* no line: the provider has none either, so the
	                                 ceiling is the whole table's */
	int64_t input_tokens;
	int input_estimated;          /* input_tokens is an estimate from input_bytes */
	int64_t input_bytes;          /* the size it is estimated from; -1 when given */
	int64_t output_tokens;        /* -1: not given, so the output cost is unknown */
	double input_usd;             /* what the input costs */
	double output_usd;            /* what the output costs; 0 when output_tokens is -1 */
	double total_usd;             /* the shim's cost of these counts (tg_price_cost);
	                                 the input's alone when output_tokens is -1 */
};

/* Outcomes of tg_quote_provider. */
enum {
	TG_QUOTE_PROVIDER_OK,
	TG_QUOTE_PROVIDER_UNKNOWN,    /* the given provider is neither the shim's nor the table's */
	TG_QUOTE_PROVIDER_AMBIGUOUS,  /* model alone: several providers price it */
	TG_QUOTE_PROVIDER_NONE,       /* model alone: no provider prices it */
};

/* The provider a call to model goes to, into out (n bytes): provider when
 * given and known (a name of provider_names.h or one the table has lines
 * for), else, for model alone, the provider of the only price line that
 * prices it.  lines (max of them, may be NULL with max 0) get the lines
 * that price model when it is ambiguous, *nlines how many there are.
 * Returns one of the outcomes above. */
int tg_quote_provider(const struct tg_prices *t, const char *provider, const char *model,
                      char *out, size_t n, const struct tg_price **lines, size_t max,
                      size_t *nlines);

/* The quote of a call of input tokens (input_bytes >= 0: estimated from
 * that many bytes, input ignored) and output tokens (-1: not known) to
 * model at provider. */
void tg_quote_make(const struct tg_prices *t, const char *provider, const char *model,
                   int64_t input, int64_t input_bytes, int64_t output, struct tg_quote *q);

/* The size of what fd reads to its end, into *bytes: the input of
 * `estimate --input-file` (a file or stdin; nothing of it is kept).
 * Returns 0, or an errno value. */
int tg_quote_read_size(int fd, int64_t *bytes);

#endif
