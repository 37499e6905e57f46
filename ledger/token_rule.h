/* token_rule.h - tokens from a size in bytes: the one rule of thumb every
 * estimate of a token count goes by.
 *
 * Owns: TG_BYTES_PER_TOKEN and tg_estimate_tokens().  The shim estimates
 * the counts of a response without usage from the sizes of its request
 * and response (shim/estimate.h); the report's `estimate --input-file`
 * estimates the input of a call not yet made from the size of its file.
 * Both call tg_estimate_tokens(), so the report's price before a call and
 * the shim's charge after it count a byte alike.
 *
 * Rule of thumb: about 4 bytes of English text or JSON a token for the
 * BPE tokenizers of the main providers, rounded up.  It overstates a
 * request body (its JSON keys and framing are counted as text) and is
 * meant to: a budget overshoots less when the estimate errs high.  Its
 * error on the fixtures of tests/fixtures is measured by
 * tests/unit/test_estimate.c (README, "Estimates").  A count from it is an
 * estimate and is always flagged as one where it is shown or kept.
 */
#ifndef TG_TOKEN_RULE_H
#define TG_TOKEN_RULE_H

#include <stdint.h>

#define TG_BYTES_PER_TOKEN 4

/* Tokens in bytes by the rule of thumb, rounded up; -1 for a size not
 * known (bytes < 0). */
int64_t tg_estimate_tokens(int64_t bytes);

#endif
