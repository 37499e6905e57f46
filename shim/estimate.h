/* estimate.h - what a call is charged to budgets when the wire does not
 * say what it cost: the one rule of thumb of the shim's estimates.
 *
 * Owns: struct tg_call_size (the sizes an estimate is made from) and
 * tg_estimate_cost(), which the sink applies to every record before it is
 * committed.  Two kinds of call have no measured cost:
 *  - a model without a price line (TG_REC_UNPRICED): its counts are
 *    priced at its provider's highest rates (tg_price_ceiling), input and
 *    output apart, so a budget is never charged less than the call can
 *    have cost at that provider's known prices;
 *  - a response without usage (TG_REC_USAGE_UNKNOWN: an OpenAI-compatible
 *    stream without stream_options.include_usage, a body past the
 *    inspection limit): input is estimated from the request body's size,
 *    output from the generated text's size (the streamed content deltas,
 *    usage.h content_bytes), else from the whole decoded response body,
 *    by the rule of thumb of token_rule.h (tg_estimate_tokens); priced at
 *    the model's price, or at the ceiling when it has none.
 * The estimate goes to cost_usd with TG_REC_COST_ESTIMATE set; the counts
 * stay unknown (a guess is never passed off as a count: record.h).  How a
 * budget counts it is the policy's unpriced= (policy.h).
 *
 * The rule of thumb (bytes a token) is token_rule.h's, shared with the
 * report's `estimate`.
 */
#ifndef TG_ESTIMATE_H
#define TG_ESTIMATE_H

#include <stdint.h>

#include "price.h"
#include "record.h"
#include "token_rule.h"

/* What an exchange's size says; -1 for a size not seen. */
struct tg_call_size {
	int64_t request_bytes;    /* request body as sent (before any decoding) */
	int64_t content_bytes;    /* generated text of the response (usage.h) */
	int64_t response_bytes;   /* response body, decoded */
};

/* The input and output counts an estimate of r goes by: r's own where
 * known, else from size; -1 where neither says. */
void tg_estimate_counts(const struct tg_record *r, const struct tg_call_size *size,
                        struct tg_counts *out);

/* Sets r->cost_usd and its flags for a sent call: priced is r's price line
 * (NULL when none), ceiling the provider's highest rates (NULL when the
 * table is empty).  A priced call with usage gets its measured cost; the
 * others an estimate flagged TG_REC_COST_ESTIMATE (0 and no flag when
 * nothing can be estimated).  TG_REC_UNPRICED is set when priced is NULL. */
void tg_estimate_cost(struct tg_record *r, const struct tg_call_size *size,
                      const struct tg_price *priced, const struct tg_price *ceiling);

#endif
