/* record.h - one ledger record: what tokenguard keeps about one LLM exchange.
 *
 * Owns: struct tg_counts (token counts of one exchange, normalised across
 * providers) and struct tg_record (the row committed to the ledger), plus
 * their binary encoding (record.c).
 *
 * Normalisation follows the OpenTelemetry GenAI convention:
 *  - input is every input token of the call; cached_input (cache reads) and
 *    cache_creation (cache writes) are parts of it.
 *  - output is every output token, reasoning included; reasoning is a part.
 *  - a count that is not known is TG_COUNT_UNKNOWN, never 0.
 *
 * Nothing here may ever hold prompt text, response text, keys or header
 * values other than the provider's request id: the fields below are the
 * complete list of what leaves the traffic.
 */
#ifndef TG_RECORD_H
#define TG_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define TG_COUNT_UNKNOWN (-1)

struct tg_counts {
	int64_t input;              /* all input tokens, cache reads and writes included */
	int64_t output;             /* all output tokens, reasoning included */
	int64_t cached_input;       /* cache reads, part of input */
	int64_t cache_creation;     /* cache writes, part of input */
	int64_t cache_creation_5m;  /* Anthropic 5-minute writes, part of cache_creation */
	int64_t cache_creation_1h;  /* Anthropic 1-hour writes, part of cache_creation */
	int64_t reasoning;          /* part of output */
};

/* Sets every count to TG_COUNT_UNKNOWN. */
void tg_counts_unknown(struct tg_counts *c);

/* 1 for a record's operation "count_tokens" (shim/operation.c): the
 * providers answer it for free, with an input count and nothing
 * generated, so it costs 0, is never unpriced and spends no tokens of a
 * budget. */
int tg_operation_counts_tokens(const char *operation);

/* 1 when the record tags "k=v,k=v" include the pair kv ("team=search"). */
int tg_tags_contain(const char *tags, const char *kv);

/* The value of key (klen bytes) in the record tags "k=v,k=v": a pointer
 * into tags with its length in *vlen, or NULL when no item has that key
 * (a record's tags are a map: the first item wins). */
const char *tg_tags_value(const char *tags, const char *key, size_t klen, size_t *vlen);

enum tg_record_flag {
	TG_REC_STREAM        = 1u << 0, /* response was a stream (SSE / event stream) */
	TG_REC_UNPRICED      = 1u << 1, /* no price known for the model: cost_usd is 0 */
	TG_REC_INCOMPLETE    = 1u << 2, /* exchange cut off before its end */
	TG_REC_USAGE_UNKNOWN = 1u << 3, /* the response carried no usage: counts unknown */
	TG_REC_BLOCKED       = 1u << 4, /* refused by a budget policy: never sent */
	TG_REC_DOWNGRADED    = 1u << 5, /* model rewritten by a budget policy */
	TG_REC_CLAMPED       = 1u << 6, /* max output tokens rewritten by a budget policy */
	TG_REC_TOO_LARGE     = 1u << 7, /* the body decoded past the inspection limit (decode.h):
	                                   not read further, usage unknown */
	TG_REC_STREAM_ERROR  = 1u << 8, /* the stream ended with an error event */
	TG_REC_COST_ESTIMATE = 1u << 9, /* cost_usd is an estimate (estimate.h): the model has
	                                   no price, or the response carried no usage;
	                                   unknown counts stay TG_COUNT_UNKNOWN */
};

/* Sizes of the text fields, terminating NUL included.  Longer values are
 * truncated at a UTF-8 boundary when the record is filled. */
#define TG_PROVIDER_MAX   24
#define TG_HOST_MAX       256
#define TG_ENDPOINT_MAX   256
#define TG_MODEL_MAX      128
#define TG_PROCESS_MAX    64
#define TG_TAGS_MAX       512
#define TG_ID_MAX         128
#define TG_POLICY_NAME_MAX 64
#define TG_OPERATION_MAX  32
#define TG_ERROR_MAX      64
#define TG_MACHINE_MAX    64

struct tg_record {
	int64_t ts_us;        /* request start, microseconds since the epoch (UTC) */
	int64_t latency_ms;   /* request start to last response byte; -1 unknown */
	int64_t ttft_ms;      /* request start to first streamed event; -1 when not a stream */
	struct tg_counts counts;
	double cost_usd;
	int32_t pid;
	int32_t status;       /* HTTP status; 0 when no response was seen */
	uint32_t flags;       /* enum tg_record_flag */
	char provider[TG_PROVIDER_MAX];
	char host[TG_HOST_MAX];
	char endpoint[TG_ENDPOINT_MAX];  /* path without query */
	char model[TG_MODEL_MAX];
	char process[TG_PROCESS_MAX];
	char tags[TG_TAGS_MAX];          /* "key=value,key=value": TOKENGUARD_TAGS, the
	                                    request body's user and metadata, the
	                                    x-tokenguard-tags header (shim/attrib.h) */
	char request_id[TG_ID_MAX];      /* provider's request-id header; "" = null */
	char response_id[TG_ID_MAX];     /* id in the response body; "" = null */
	char requested_model[TG_MODEL_MAX]; /* model the program asked for, whenever it
	                                       differs from model (a policy's downgrade,
	                                       or the provider naming the version it
	                                       served: "gpt-4.1" -> "gpt-4.1-2025-04-14");
	                                       "" when they are the same */
	char policy[TG_POLICY_NAME_MAX];    /* budget policy that blocked, downgraded or
	                                       clamped the call; "" = none */
	char operation[TG_OPERATION_MAX];   /* what was asked, by the OpenTelemetry GenAI
	                                       gen_ai.operation.name values: "chat",
	                                       "text_completion", "embeddings",
	                                       "generate_content", plus "count_tokens";
	                                       "" = not known (older records, or an
	                                       endpoint of no known kind) */
	char error[TG_ERROR_MAX];           /* the provider's error type or code
	                                       ("overloaded_error", "server_error")
	                                       when a stream ended in an error event;
	                                       never its message; "" = none */
	char machine[TG_MACHINE_MAX];       /* the machine the call was made on, when
	                                       the `machine` setting named it; "" =
	                                       the ledger's own machine (machine.h) */
};

#endif
