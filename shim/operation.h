/* operation.h - what kind of call an endpoint is, in the OpenTelemetry
 * GenAI vocabulary (gen_ai.operation.name).
 *
 * Owns: the one table from endpoint paths to operation names, recorded
 * with every exchange (record.h, `operation`) so that reports can split
 * chat from embeddings from token counting (`--by operation`).
 */
#ifndef TG_OPERATION_H
#define TG_OPERATION_H

/* "chat", "text_completion", "embeddings", "generate_content",
 * "count_tokens" (the providers' free token-counting endpoints), or ""
 * when the path is of no kind we know.  endpoint is the request path
 * without its query. */
const char *tg_operation_of(const char *endpoint);

/* tg_operation_counts_tokens(), the rule for "count_tokens" calls, is in
 * record.h: the ledger's totals apply it too. */

#endif
