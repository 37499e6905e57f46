/* usage.h - token usage, model and response id from one response body.
 *
 * Owns: struct tg_usage_parser, which reads a decoded response body of any
 * supported provider (plain JSON, a JSON array stream, SSE or an AWS event
 * stream, whose Bedrock InvokeModelWithResponseStream chunks carry the
 * model's own events base64-encoded) fed in arbitrary slices, and struct
 * tg_usage, what it found,
 * normalised to ledger/record.h.  Fixed size, no allocation; usable after
 * memset 0 + tg_usage_init.
 *
 * Provider counts are read where each API puts them and always replace
 * what was read before: streamed counts are cumulative (Anthropic
 * message_delta, Gemini chunks), so the last one seen wins; Gemini counts
 * restart with every usageMetadata object.
 *
 * Unknown versus zero, once a usage object was seen:
 *  - input and output are what the provider said (embeddings: output 0);
 *  - a part count (cached input, cache creation, its 5m/1h split,
 *    reasoning) is 0 when the provider's format has a field for it and the
 *    body leaves it out, or when the provider bills no such thing; it is
 *    TG_COUNT_UNKNOWN when such tokens may exist but are not reported:
 *      OpenAI and compatibles  cached, reasoning; cache creation 0 (writes
 *                              are billed as plain input) unless a gateway
 *                              reports cache_write_tokens
 *      Anthropic               cached, cache creation (+5m/1h); reasoning
 *                              from output_tokens_details.thinking_tokens,
 *                              else 0 if the request did not enable
 *                              thinking (tg_usage_request_thinking), else
 *                              unknown (thinking is inside output_tokens)
 *      Gemini                  cached, reasoning; cache creation 0
 *      Cohere                  cached unknown unless usage.cached_tokens
 *                              is there and within the billed input;
 *                              cache creation 0 (not billed apart);
 *                              reasoning unknown
 *      Bedrock                 cached, cache creation; reasoning unknown.
 *                              InvokeModelWithResponseStream: the counts
 *                              of the last chunk's
 *                              amazon-bedrock-invocationMetrics (what
 *                              Bedrock bills) win over the model's own
 *                              (Claude's usage, Llama's token counts),
 *                              field by field; the 5m/1h split is
 *                              Claude's when it adds up to the writes,
 *                              else unknown
 *    Embeddings have no output, so their reasoning is 0.  On the OpenAI
 *    wire a reasoning count of 0 is taken only when the body showed no
 *    reasoning content: a body that streamed or returned reasoning text
 *    (delta/message "reasoning" or "reasoning_content", Mistral's
 *    "thinking" content chunks) without a reasoning count has reasoning
 *    unknown (its output, which includes it, stays known).
 * No usage object at all: every count is TG_COUNT_UNKNOWN.
 *
 * The providers' token-counting endpoints (operation.h, count_tokens) are
 * read as known and free: input is the count they answer (Gemini's cached
 * part as cached input), output, reasoning and cache writes 0.
 *
 * A stream that ends in an error event keeps the provider's error type or
 * code (tg_usage.error): only a short identifier, never the message, which
 * may quote the request.
 *
 * Provider quirks handled: xAI's Chat Completions leave reasoning out of
 * completion_tokens (added to output; its Responses API does not); DeepSeek's prompt_cache_hit_tokens is the cached
 * count, Mistral's num_cached_tokens the cached one; Groq's x_groq.usage; Cohere's usage.billed_units is preferred
 * over usage.tokens because it is what Cohere bills (tokens includes the
 * prompt template Cohere adds and does not charge for); tokens is used
 * only when billed_units is absent; Anthropic's usage.iterations (one
 * entry per sampling step when the server compacts the context), whose
 * sum is what is billed while the top-level counts leave the compaction
 * steps out.
 */
#ifndef TG_USAGE_H
#define TG_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "b64json.h"
#include "eventstream.h"
#include "json.h"
#include "record.h"
#include "sse.h"
#include "wire.h"

struct tg_usage {                 /* result of one response */
	struct tg_counts counts;      /* normalised; TG_COUNT_UNKNOWN where not seen */
	char model[TG_MODEL_MAX];     /* model named in the response body, "" if none */
	char response_id[TG_ID_MAX];  /* chatcmpl-..., msg_..., resp_..., "" if none */
	int usage_seen;               /* 1 if any usage object was read */
	int64_t content_bytes;        /* generated text of an OpenAI-compatible SSE
	                               * stream (content deltas, tool call
	                               * arguments, completion text), bytes as
	                               * escaped in the JSON; -1 for other bodies */
	int malformed;                /* 1 if the body could not be parsed to its end */
	int error_seen;               /* 1 if the body was or carried an error
	                               * (top-level "error" object, SSE "error"
	                               * or "response.failed" event, event
	                               * stream exception) */
	int stream_failed;            /* 1 if a stream carried such an error: it
	                               * ended before its usage was final, so
	                               * output is unknown (Anthropic's
	                               * message_start output_tokens is a
	                               * placeholder) */
	char error[TG_ERROR_MAX];     /* stream_failed: the error's code or type
	                               * ("server_error", "overloaded_error"), ""
	                               * if it named none we accept */
};

/* raw counts as the provider wrote them, before normalisation */
enum tg_usage_slot {
	TG_U_INPUT,
	TG_U_OUTPUT,
	TG_U_CACHE_READ,
	TG_U_CACHE_WRITE,
	TG_U_CACHE_WRITE_5M,
	TG_U_CACHE_WRITE_1H,
	TG_U_REASONING,
	TG_U_TOOL_PROMPT,     /* Gemini toolUsePromptTokenCount */
	TG_U_CACHE_HIT,       /* DeepSeek prompt_cache_hit_tokens */
	TG_U_BILLED_INPUT,    /* Cohere billed_units */
	TG_U_BILLED_OUTPUT,
	TG_U_ITER_INPUT,      /* Anthropic usage.iterations, summed */
	TG_U_ITER_OUTPUT,
	TG_U_ITER_CACHE_READ,
	TG_U_ITER_CACHE_WRITE,
	TG_U_METRIC_INPUT,    /* Bedrock amazon-bedrock-invocationMetrics */
	TG_U_METRIC_OUTPUT,
	TG_U_METRIC_CACHE_READ,
	TG_U_METRIC_CACHE_WRITE,
	TG_U_COUNTED,         /* a token-counting endpoint's answer */
	TG_U_COUNTED_CACHED,  /* ... its cached part (Gemini) */
	TG_U_SLOTS
};

struct tg_usage_rule;

struct tg_usage_parser {
	enum tg_wire wire;
	const struct tg_usage_rule *rules;            /* the wire's rule table */
	const struct tg_json_paths *paths;   /* ... compiled */
	enum tg_body_kind kind;
	unsigned quirks;
	int embeddings;
	int failed;            /* framing broken: feeding stops */
	int malformed;
	int error_seen;
	int usage_seen;
	int terminal_seen;     /* the stream's own end marker ([DONE], message_stop, ...) */
	int thinking;          /* the request enabled thinking: 1, 0, -1 unknown */
	int counting;          /* a token-counting endpoint: its answer is free */
	int reasoning_text;    /* reasoning content was seen in the body */
	int doc_error;         /* the current document is an error event or holds an error object */
	int doc_error_rank;    /* how good doc_error_text is as the error's name, 0: none */
	char doc_error_text[TG_ERROR_MAX];  /* the current document's error code or type */
	char error[TG_ERROR_MAX];           /* the last error document's */
	size_t event_len;      /* data bytes of the current SSE event */
	unsigned done_match;   /* bytes of "[DONE]" matched */
	int64_t content_bytes; /* R_CONTENT string bytes seen */
	int64_t raw[TG_U_SLOTS];
	char model[TG_MODEL_MAX];
	char response_id[TG_ID_MAX];
	struct tg_json_scanner json;
	struct tg_sse sse;
	struct tg_eventstream es;
	struct tg_b64json chunk;   /* Bedrock InvokeModelWithResponseStream: a chunk's own event */
};

void tg_usage_init(struct tg_usage_parser *p, enum tg_wire wire, const char *provider,
                   enum tg_body_kind kind, const char *endpoint);

/* Decoded body bytes, any slicing; -1 once the body is unparseable (the
 * caller then stops feeding), else 0. */
int tg_usage_feed(struct tg_usage_parser *p, const char *buf, size_t len);

/* What the request said about thinking (struct tg_request_info.thinking:
 * 1, 0, or -1 unknown, the default): Anthropic's reasoning count is 0
 * when the request did not enable thinking and the response gives no
 * breakdown.  Call before tg_usage_finish. */
void tg_usage_request_thinking(struct tg_usage_parser *p, int thinking);

/* Normalises and reports what was seen; the body is taken to end here. */
void tg_usage_finish(struct tg_usage_parser *p, struct tg_usage *out);

/* 0 when every wire's rule table compiles into a path trie, else -1 (the
 * parser then reads no usage at all); for the tests. */
int tg_usage_rules_check(void);

#endif
