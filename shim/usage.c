/* usage.c - token usage, model and response id from one response body.
 * See usage.h for the counting rules. */
#include "usage.h"
#include "digits.h"
#include "operation.h"
#include "text.h"

#include <pthread.h>
#include <string.h>

/* What a rule reads besides counts: the model, the response id, an error
 * object, and the start of a Gemini usage object (its counts restart);
 * Bedrock InvokeModelWithResponseStream's base64 chunk and the
 * invocationMetrics of its last one; the name of an error (its code,
 * else its type or status, else a numeric code); text that shows
 * reasoning content (a non-empty reasoning string, a content part of type
 * "thinking"); streamed text whose size estimates the output of a stream
 * without usage (estimate.h). */
enum {
	R_MODEL = TG_U_SLOTS, R_ID, R_ERROR, R_USAGE_RESTART, R_ITERATIONS, R_CHUNK, R_METRICS,
	R_ERROR_CODE, R_ERROR_TYPE, R_REASONING_TEXT, R_CONTENT_TYPE, R_CONTENT,
};

/* xAI's Chat Completions leave reasoning out of completion_tokens
 * (https://docs.x.ai/docs/guides/reasoning: "reasoning_tokens" is reported
 * apart and billed as output), while its Responses API counts it inside
 * output_tokens like OpenAI's (https://docs.x.ai/docs/api-reference#create-new-response,
 * usage.output_tokens_details.reasoning_tokens a part of output_tokens):
 * the quirk is per endpoint, not per provider. */
enum { Q_XAI_CHAT = 1u << 0 };

static unsigned quirks_of(const char *provider, const char *endpoint)
{
	if (provider && strcmp(provider, "xai") == 0 && endpoint && tg_ends_with(endpoint, "/completions"))
		return Q_XAI_CHAT;
	return 0;
}

/* Where each wire format keeps what we read.  One table per wire covers
 * its plain bodies and the documents of its streams, whose paths differ
 * (message.usage in Anthropic's message_start, response.usage in the
 * Responses API's events, a leading [] in Gemini's JSON array stream).
 * Each table is compiled once into a trie (json.h) that the scanner
 * follows as it reads, so a value is matched as it starts, and whatever
 * no rule reaches (message text, deltas, embeddings) is only checked. */
struct tg_usage_rule {
	const char *path;
	int slot;
};

static const struct tg_usage_rule openai_rules[] = {
	{ "usage.prompt_tokens", TG_U_INPUT },
	{ "usage.completion_tokens", TG_U_OUTPUT },
	{ "usage.prompt_tokens_details.cached_tokens", TG_U_CACHE_READ },
	{ "usage.completion_tokens_details.reasoning_tokens", TG_U_REASONING },
	{ "usage.prompt_cache_hit_tokens", TG_U_CACHE_HIT },
	/* Mistral: usage.num_cached_tokens, where its own docs name
	 * prompt_tokens_details.cached_tokens (read above); both are reads
	 * inside prompt_tokens, billed at 10% of input
	 * (https://docs.mistral.ai/studio-api/conversations/advanced/prompt-caching). */
	{ "usage.num_cached_tokens", TG_U_CACHE_READ },
	/* OpenRouter and other gateways in front of providers that bill
	 * cache writes: prompt_tokens_details.cache_write_tokens, a part of
	 * prompt_tokens (https://openrouter.ai/docs/use-cases/usage-accounting);
	 * Azure's Responses API puts it in input_tokens_details. */
	{ "usage.prompt_tokens_details.cache_write_tokens", TG_U_CACHE_WRITE },
	{ "usage.input_tokens_details.cache_write_tokens", TG_U_CACHE_WRITE },
	{ "response.usage.input_tokens_details.cache_write_tokens", TG_U_CACHE_WRITE },
	{ "usage.input_tokens", TG_U_INPUT },
	{ "usage.output_tokens", TG_U_OUTPUT },
	{ "usage.input_tokens_details.cached_tokens", TG_U_CACHE_READ },
	{ "usage.output_tokens_details.reasoning_tokens", TG_U_REASONING },
	{ "response.usage.input_tokens", TG_U_INPUT },
	{ "response.usage.output_tokens", TG_U_OUTPUT },
	{ "response.usage.input_tokens_details.cached_tokens", TG_U_CACHE_READ },
	{ "response.usage.output_tokens_details.reasoning_tokens", TG_U_REASONING },
	{ "x_groq.usage.prompt_tokens", TG_U_INPUT },
	{ "x_groq.usage.completion_tokens", TG_U_OUTPUT },
	/* The generated text of a Chat Completions or Completions stream, only
	 * measured: what a stream without usage is estimated from
	 * (estimate.h). */
	{ "choices[].delta.content", R_CONTENT },
	{ "choices[].delta.tool_calls[].function.arguments", R_CONTENT },
	{ "choices[].text", R_CONTENT },
	{ "delta", R_CONTENT },   /* Responses API text and argument delta events */
	{ "model", R_MODEL },
	{ "id", R_ID },
	{ "response.model", R_MODEL },
	{ "response.id", R_ID },
	{ "error", R_ERROR },
	/* The error's name: chat-completions streams send {"error":{"type",
	 * "code",...}} as a data event when generation fails midway (OpenAI;
	 * OpenRouter, https://openrouter.ai/docs/api-reference/errors,
	 * "Streaming Error Formats"); the Responses API's response.failed
	 * carries response.error.code and its error event a top-level code
	 * (https://platform.openai.com/docs/api-reference/responses-streaming/error). */
	{ "error.code", R_ERROR_CODE },
	{ "error.type", R_ERROR_TYPE },
	{ "response.error.code", R_ERROR_CODE },
	{ "code", R_ERROR_CODE },
	/* Reasoning content: "reasoning" (Groq, OpenRouter) or
	 * "reasoning_content" (DeepSeek, vLLM) beside the content, or
	 * Mistral's magistral content parts {"type":"thinking",...}
	 * (https://docs.mistral.ai/capabilities/reasoning/). */
	{ "choices[].delta.reasoning", R_REASONING_TEXT },
	{ "choices[].delta.reasoning_content", R_REASONING_TEXT },
	{ "choices[].message.reasoning", R_REASONING_TEXT },
	{ "choices[].message.reasoning_content", R_REASONING_TEXT },
	{ "choices[].delta.content[].type", R_CONTENT_TYPE },
	{ "choices[].message.content[].type", R_CONTENT_TYPE },
	/* POST /v1/responses/input_tokens: {"object":"response.input_tokens",
	 * "input_tokens":N} (the SDKs' InputTokenCountResponse: openai-ruby
	 * lib/openai/models/responses/input_token_count_response.rb, openai-node
	 * resources/responses/input-tokens). */
	{ "input_tokens", TG_U_COUNTED },
	{ NULL, 0 },
};

static const struct tg_usage_rule anthropic_rules[] = {
	{ "usage.input_tokens", TG_U_INPUT },
	{ "usage.output_tokens", TG_U_OUTPUT },
	{ "usage.cache_creation_input_tokens", TG_U_CACHE_WRITE },
	{ "usage.cache_read_input_tokens", TG_U_CACHE_READ },
	{ "usage.cache_creation.ephemeral_5m_input_tokens", TG_U_CACHE_WRITE_5M },
	{ "usage.cache_creation.ephemeral_1h_input_tokens", TG_U_CACHE_WRITE_1H },
	{ "message.usage.input_tokens", TG_U_INPUT },
	{ "message.usage.output_tokens", TG_U_OUTPUT },
	{ "message.usage.cache_creation_input_tokens", TG_U_CACHE_WRITE },
	{ "message.usage.cache_read_input_tokens", TG_U_CACHE_READ },
	{ "message.usage.cache_creation.ephemeral_5m_input_tokens", TG_U_CACHE_WRITE_5M },
	{ "message.usage.cache_creation.ephemeral_1h_input_tokens", TG_U_CACHE_WRITE_1H },
	/* The part of output_tokens spent thinking, when the API breaks it
	 * out (anthropic-sdk-typescript src/resources/messages: Usage
	 * output_tokens_details.thinking_tokens). */
	{ "usage.output_tokens_details.thinking_tokens", TG_U_REASONING },
	{ "message.usage.output_tokens_details.thinking_tokens", TG_U_REASONING },
	/* Server-side compaction runs extra sampling steps whose tokens are
	 * billed but left out of the top-level counts; the sum over
	 * usage.iterations is what is billed
	 * (https://platform.claude.com/docs/en/build-with-claude/compaction,
	 * "Understanding usage"; anthropic-sdk-python
	 * src/anthropic/types/beta/beta_compaction_iteration_usage.py).
	 * Streams send it in message_delta's usage. */
	{ "usage.iterations", R_ITERATIONS },
	{ "usage.iterations[].input_tokens", TG_U_ITER_INPUT },
	{ "usage.iterations[].output_tokens", TG_U_ITER_OUTPUT },
	{ "usage.iterations[].cache_read_input_tokens", TG_U_ITER_CACHE_READ },
	{ "usage.iterations[].cache_creation_input_tokens", TG_U_ITER_CACHE_WRITE },
	{ "message.usage.iterations", R_ITERATIONS },
	{ "message.usage.iterations[].input_tokens", TG_U_ITER_INPUT },
	{ "message.usage.iterations[].output_tokens", TG_U_ITER_OUTPUT },
	{ "message.usage.iterations[].cache_read_input_tokens", TG_U_ITER_CACHE_READ },
	{ "message.usage.iterations[].cache_creation_input_tokens", TG_U_ITER_CACHE_WRITE },
	{ "model", R_MODEL },
	{ "id", R_ID },
	{ "message.model", R_MODEL },
	{ "message.id", R_ID },
	{ "error", R_ERROR },
	/* {"type":"error","error":{"type":"overloaded_error","message":...}}
	 * (https://docs.claude.com/en/api/errors) */
	{ "error.type", R_ERROR_TYPE },
	/* POST /v1/messages/count_tokens: {"input_tokens":N}
	 * (https://docs.claude.com/en/api/messages-count-tokens) */
	{ "input_tokens", TG_U_COUNTED },
	{ NULL, 0 },
};

static const struct tg_usage_rule gemini_rules[] = {
	{ "usageMetadata.promptTokenCount", TG_U_INPUT },
	{ "usageMetadata.candidatesTokenCount", TG_U_OUTPUT },
	{ "usageMetadata.thoughtsTokenCount", TG_U_REASONING },
	{ "usageMetadata.cachedContentTokenCount", TG_U_CACHE_READ },
	{ "usageMetadata.toolUsePromptTokenCount", TG_U_TOOL_PROMPT },
	{ "modelVersion", R_MODEL },
	{ "responseId", R_ID },
	{ "[].usageMetadata.promptTokenCount", TG_U_INPUT },
	{ "[].usageMetadata.candidatesTokenCount", TG_U_OUTPUT },
	{ "[].usageMetadata.thoughtsTokenCount", TG_U_REASONING },
	{ "[].usageMetadata.cachedContentTokenCount", TG_U_CACHE_READ },
	{ "[].usageMetadata.toolUsePromptTokenCount", TG_U_TOOL_PROMPT },
	{ "[].modelVersion", R_MODEL },
	{ "[].responseId", R_ID },
	{ "usageMetadata", R_USAGE_RESTART },
	{ "[].usageMetadata", R_USAGE_RESTART },
	{ "error", R_ERROR },
	/* google.rpc.Status: {"error":{"code":500,"message":...,"status":"INTERNAL"}} */
	{ "error.status", R_ERROR_TYPE },
	{ "error.code", R_ERROR_CODE },
	/* models/X:countTokens: {"totalTokens":N,"cachedContentTokenCount":M,...}
	 * (https://ai.google.dev/api/tokens#CountTokensResponse; Vertex AI's
	 * google.cloud.aiplatform.v1.CountTokensResponse has totalTokens,
	 * totalBillableCharacters and promptTokensDetails).  The cached part is taken as a part of
	 * the total, as promptTokenCount includes it in generateContent. */
	{ "totalTokens", TG_U_COUNTED },
	{ "cachedContentTokenCount", TG_U_COUNTED_CACHED },
	{ NULL, 0 },
};

/* Cohere bills usage.billed_units, not usage.tokens (which counts the
 * prompt template and special tokens Cohere adds itself and does not
 * charge): https://docs.cohere.com/docs/how-does-cohere-pricing-work
 * ("What's the Difference Between billed Tokens and Generic Tokens?").
 * v2 chat: usage.{billed_units,tokens,cached_tokens}, streamed in the
 * message-end event's delta.usage (https://docs.cohere.com/reference/chat,
 * https://docs.cohere.com/reference/chat-stream); v1 chat and embed:
 * meta.{billed_units,tokens} (cohere-python src/cohere/types/api_meta.py). */
static const struct tg_usage_rule cohere_rules[] = {
	{ "usage.tokens.input_tokens", TG_U_INPUT },
	{ "usage.tokens.output_tokens", TG_U_OUTPUT },
	{ "usage.billed_units.input_tokens", TG_U_BILLED_INPUT },
	{ "usage.billed_units.output_tokens", TG_U_BILLED_OUTPUT },
	{ "usage.cached_tokens", TG_U_CACHE_READ },
	{ "delta.usage.tokens.input_tokens", TG_U_INPUT },
	{ "delta.usage.tokens.output_tokens", TG_U_OUTPUT },
	{ "delta.usage.billed_units.input_tokens", TG_U_BILLED_INPUT },
	{ "delta.usage.billed_units.output_tokens", TG_U_BILLED_OUTPUT },
	{ "delta.usage.cached_tokens", TG_U_CACHE_READ },
	{ "meta.tokens.input_tokens", TG_U_INPUT },
	{ "meta.tokens.output_tokens", TG_U_OUTPUT },
	{ "meta.billed_units.input_tokens", TG_U_BILLED_INPUT },
	{ "meta.billed_units.output_tokens", TG_U_BILLED_OUTPUT },
	{ "meta.cached_tokens", TG_U_CACHE_READ },
	{ "model", R_MODEL },
	{ "id", R_ID },
	{ "error", R_ERROR },
	{ NULL, 0 },
};

static const struct tg_usage_rule bedrock_rules[] = {
	{ "usage.inputTokens", TG_U_INPUT },
	{ "usage.outputTokens", TG_U_OUTPUT },
	{ "usage.cacheReadInputTokens", TG_U_CACHE_READ },
	{ "usage.cacheWriteInputTokens", TG_U_CACHE_WRITE },
	{ "error", R_ERROR },
	/* InvokeModelWithResponseStream: a chunk event's payload is
	 * {"bytes":"<base64>"}, the model's own event (b64json.h), read
	 * with the next table. */
	{ "bytes", R_CHUNK },
	{ NULL, 0 },
};

/* The model's own stream events inside InvokeModelWithResponseStream
 * chunks.  Bedrock adds amazon-bedrock-invocationMetrics to the last one,
 * whatever the model, with what it bills: inputTokenCount leaves cache
 * reads and writes out, which come as cacheReadInputTokenCount and
 * cacheWriteInputTokenCount (BerriAI/litellm#34373 and #36878; the
 * CloudWatch metrics of the same names,
 * https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-runtime-metrics.html).
 * The model's counts stand in when those are missing (a cut stream):
 * Claude's Messages stream events
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html;
 * message_start's output_tokens is a placeholder that message_delta
 * replaces), Llama's prompt_token_count (first chunk) and cumulative
 * generation_token_count
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-meta.html).
 * The record's model is the path's: the events name Anthropic's own id. */
static const struct tg_usage_rule bedrock_chunk_rules[] = {
	{ "amazon-bedrock-invocationMetrics", R_METRICS },
	{ "amazon-bedrock-invocationMetrics.inputTokenCount", TG_U_METRIC_INPUT },
	{ "amazon-bedrock-invocationMetrics.outputTokenCount", TG_U_METRIC_OUTPUT },
	{ "amazon-bedrock-invocationMetrics.cacheReadInputTokenCount", TG_U_METRIC_CACHE_READ },
	{ "amazon-bedrock-invocationMetrics.cacheWriteInputTokenCount", TG_U_METRIC_CACHE_WRITE },
	{ "message.usage.input_tokens", TG_U_INPUT },
	{ "message.usage.output_tokens", TG_U_OUTPUT },
	{ "message.usage.cache_read_input_tokens", TG_U_CACHE_READ },
	{ "message.usage.cache_creation_input_tokens", TG_U_CACHE_WRITE },
	{ "message.usage.cache_creation.ephemeral_5m_input_tokens", TG_U_CACHE_WRITE_5M },
	{ "message.usage.cache_creation.ephemeral_1h_input_tokens", TG_U_CACHE_WRITE_1H },
	{ "usage.input_tokens", TG_U_INPUT },
	{ "usage.output_tokens", TG_U_OUTPUT },
	{ "usage.cache_read_input_tokens", TG_U_CACHE_READ },
	{ "usage.cache_creation_input_tokens", TG_U_CACHE_WRITE },
	{ "usage.cache_creation.ephemeral_5m_input_tokens", TG_U_CACHE_WRITE_5M },
	{ "usage.cache_creation.ephemeral_1h_input_tokens", TG_U_CACHE_WRITE_1H },
	{ "message.id", R_ID },
	{ "prompt_token_count", TG_U_INPUT },
	{ "generation_token_count", TG_U_OUTPUT },
	{ NULL, 0 },
};

#define RULES_MAX 48

static const struct tg_usage_rule *const rule_tables[] = {
	openai_rules, anthropic_rules, gemini_rules, cohere_rules, bedrock_rules, bedrock_chunk_rules,
};
enum { CHUNK_TABLE = 5 };
#define TABLES (sizeof rule_tables / sizeof rule_tables[0])

/* Each wire's trie is compiled the first time a body of that wire is read:
 * most processes only ever speak one.  pthread_once, unlike a lock, is
 * safe across fork(); it takes a function without arguments, one per wire. */
static struct tg_json_paths compiled[TABLES];
static int compile_failed[TABLES];
static pthread_once_t compiled_once[TABLES] = {
	PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT,
	PTHREAD_ONCE_INIT,
};

static void compile_table(size_t t)
{
	const char *patterns[RULES_MAX];
	int ids[RULES_MAX];
	size_t n = 0;

	for (; rule_tables[t][n].path && n < RULES_MAX; n++) {
		patterns[n] = rule_tables[t][n].path;
		ids[n] = (int)n;
	}
	compile_failed[t] = rule_tables[t][n].path || tg_json_paths_compile(&compiled[t], patterns, ids, n) != 0;
}

static void compile_0(void) { compile_table(0); }
static void compile_1(void) { compile_table(1); }
static void compile_2(void) { compile_table(2); }
static void compile_3(void) { compile_table(3); }
static void compile_4(void) { compile_table(4); }
static void compile_5(void) { compile_table(5); }
static void (*const compilers[])(void) = { compile_0, compile_1, compile_2, compile_3, compile_4, compile_5 };
_Static_assert(sizeof compilers / sizeof compilers[0] == TABLES, "one compiler per rule table");

/* The compiled trie of table t, or NULL if it did not compile. */
static const struct tg_json_paths *paths_of(size_t t)
{
	pthread_once(&compiled_once[t], compilers[t]);
	return compile_failed[t] ? NULL : &compiled[t];
}

int tg_usage_rules_check(void)
{
	for (size_t t = 0; t < TABLES; t++)
		if (!paths_of(t))
			return -1;
	return 0;
}

static size_t table_of(enum tg_wire wire)
{
	switch (wire) {
	case TG_WIRE_ANTHROPIC: return 1;
	case TG_WIRE_GEMINI:    return 2;
	case TG_WIRE_COHERE:    return 3;
	case TG_WIRE_BEDROCK:   return 4;
	default:                return 0;
	}
}

/* Token counts are non-negative integers; anything else is ignored. */
static int parse_count(const char *t, size_t len, int64_t *out)
{
	uint64_t v;

	if (!tg_digits_all(t, len, TG_DIGITS_18, &v))
		return -1;
	*out = (int64_t)v;
	return 0;
}

static void reset_gemini_counts(struct tg_usage_parser *p)
{
	int i;

	for (i = 0; i < TG_U_SLOTS; i++)
		p->raw[i] = TG_COUNT_UNKNOWN;
}

/* Streams repeat the model and id in every event: copy them only when
 * they change. */
static void keep_text(char *dst, size_t cap, const char *text, size_t len)
{
	if (len < cap && dst[len] == '\0' && memcmp(dst, text, len) == 0)
		return;
	tg_copy_text(dst, cap, text, len);
}

/* How well a value names an error: a string code is the most precise
 * ("rate_limit_exceeded" where the type says "requests"), then a type or
 * status, then a numeric code (OpenRouter's 502). */
enum { ERR_NUMBER_CODE = 1, ERR_TYPE, ERR_CODE };

/* Keeps name as the current document's error name when it is better than
 * the one kept and is an identifier: a provider's message, which may quote
 * the request, never gets in. */
static void note_error_name(struct tg_usage_parser *p, int rank, const char *name, size_t len)
{
	if (rank <= p->doc_error_rank || len == 0 || len >= sizeof p->doc_error_text)
		return;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-' || ch == '.'))
			return;
	}
	memcpy(p->doc_error_text, name, len);
	p->doc_error_text[len] = '\0';
	p->doc_error_rank = rank;
}

/* A string or number that tells an error's name or shows reasoning
 * content; 1 when ev was one of those. */
static int on_text(struct tg_usage_parser *p, int slot, const struct tg_json_event *ev)
{
	int string = ev->type == TG_JSON_STRING;

	switch (slot) {
	case R_ERROR_CODE:
		if (!ev->truncated && (string || ev->type == TG_JSON_NUMBER))
			note_error_name(p, string ? ERR_CODE : ERR_NUMBER_CODE, ev->text, ev->len);
		return 1;
	case R_ERROR_TYPE:
		if (string && !ev->truncated)
			note_error_name(p, ERR_TYPE, ev->text, ev->len);
		return 1;
	case R_REASONING_TEXT:
		/* DeepSeek sends "reasoning_content":null once the answer starts */
		if (string && (ev->len > 0 || ev->truncated))
			p->reasoning_text = 1;
		return 1;
	case R_CONTENT_TYPE:
		if (string && ev->len == 8 && memcmp(ev->text, "thinking", 8) == 0)
			p->reasoning_text = 1;
		return 1;
	}
	return 0;
}

static void apply_rule(struct tg_usage_parser *p, const struct tg_usage_rule *r,
                       const struct tg_json_event *ev)
{
	int64_t v;

	if (ev->type == TG_JSON_OBJECT_BEGIN) {
		if (r->slot == R_ERROR)
			p->error_seen = p->doc_error = 1;
		else if (r->slot == R_USAGE_RESTART)
			reset_gemini_counts(p);
		else if (r->slot == R_METRICS)
			p->terminal_seen = 1;   /* the stream's last chunk */
		return;
	}
	if (ev->type == TG_JSON_ARRAY_BEGIN && r->slot == R_ITERATIONS) {
		/* a later usage object repeats the whole list */
		for (int i = TG_U_ITER_INPUT; i <= TG_U_ITER_CACHE_WRITE; i++)
			p->raw[i] = TG_COUNT_UNKNOWN;
		return;
	}
	if (ev->type != TG_JSON_NUMBER && ev->type != TG_JSON_STRING)
		return;
	if (r->slot == R_CONTENT) {
		if (ev->type == TG_JSON_STRING && ev->span >= 2)
			p->content_bytes += (int64_t)ev->span - 2;   /* as escaped on the wire */
		return;
	}
	if (r->slot == R_CHUNK) {
		/* its text came in pieces (on_piece); the string ends here */
		if (ev->type == TG_JSON_STRING && tg_b64json_finish(&p->chunk) < 0)
			p->malformed = 1;
		return;
	}
	if (on_text(p, r->slot, ev))
		return;
	if (r->slot == R_ERROR || r->slot == R_USAGE_RESTART || r->slot == R_ITERATIONS || r->slot == R_METRICS)
		return;
	if (r->slot == R_MODEL || r->slot == R_ID) {
		/* Azure's first chunk names an empty model and id. */
		if (ev->type != TG_JSON_STRING || ev->truncated || ev->len == 0)
			return;
		if (r->slot == R_MODEL)
			keep_text(p->model, sizeof p->model, ev->text, ev->len);
		else
			keep_text(p->response_id, sizeof p->response_id, ev->text, ev->len);
		return;
	}
	if (ev->type != TG_JSON_NUMBER || parse_count(ev->text, ev->len, &v) < 0)
		return;
	/* A top-level input_tokens or totalTokens is a count only where the
	 * endpoint counts tokens. */
	if ((r->slot == TG_U_COUNTED || r->slot == TG_U_COUNTED_CACHED) && !p->counting)
		return;
	if (r->slot >= TG_U_ITER_INPUT && r->slot <= TG_U_ITER_CACHE_WRITE && p->raw[r->slot] != TG_COUNT_UNKNOWN)
		v += p->raw[r->slot];
	p->raw[r->slot] = v;
	p->usage_seen = 1;
}

static void on_json(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct tg_usage_parser *p = ctx;

	(void)s;
	apply_rule(p, &p->rules[ev->match], ev);
}

/* A value of a document decoded from a Bedrock chunk. */
static void on_chunk_json(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	(void)s;
	apply_rule(ctx, &bedrock_chunk_rules[ev->match], ev);
}

/* The base64 text of a Bedrock chunk, as the scanner reads it. */
static void on_piece(void *ctx, int match, const char *buf, size_t len)
{
	struct tg_usage_parser *p = ctx;

	if (p->rules[match].slot == R_CHUNK)
		tg_b64json_feed(&p->chunk, buf, len);
}

/* Each SSE event and each event stream message holds one JSON document. */
static void doc_begin(struct tg_usage_parser *p)
{
	tg_json_init_paths(&p->json, p->paths, p->paths ? on_json : NULL, p);
	if (p->chunk.paths) {
		/* a chunk cut short by a broken message is dropped */
		tg_b64json_finish(&p->chunk);
		tg_json_on_pieces(&p->json, on_piece);
	}
	p->event_len = 0;
	p->done_match = 0;
	p->doc_error = 0;
	p->doc_error_rank = 0;
}

static void doc_data(struct tg_usage_parser *p, const char *buf, size_t len)
{
	static const char done[] = "[DONE]";
	size_t i;

	for (i = 0; i < len && p->done_match == p->event_len + i && p->done_match < 6; i++)
		if (buf[i] == done[p->done_match])
			p->done_match++;
	p->event_len += len;
	tg_json_feed(&p->json, buf, len);
}

static void doc_end(struct tg_usage_parser *p)
{
	/* The error document's name, if it gave one: a later error event
	 * that names none does not erase it. */
	if (p->doc_error && p->doc_error_rank)
		memcpy(p->error, p->doc_error_text, sizeof p->error);
	/* OpenAI's end sentinel is not JSON; an empty event carries nothing. */
	if (p->event_len == 6 && p->done_match == 6)
		p->terminal_seen = 1;
	if (p->event_len == 0 || (p->event_len == 6 && p->done_match == 6))
		return;
	if (tg_json_finish(&p->json) != 0)
		p->malformed = 1;
}

static void sse_begin(void *ctx)
{
	doc_begin(ctx);
}

static void sse_data(void *ctx, const char *buf, size_t len)
{
	doc_data(ctx, buf, len);
}

static void sse_end(void *ctx, const char *name, int truncated)
{
	struct tg_usage_parser *p = ctx;

	/* Anthropic's and the Responses API's error events
	 * (https://docs.claude.com/en/docs/build-with-claude/streaming#error-events,
	 * https://platform.openai.com/docs/api-reference/responses-streaming/response/failed) */
	if (strcmp(name, "error") == 0 || strcmp(name, "response.failed") == 0)
		p->error_seen = p->doc_error = 1;
	/* The last event of an Anthropic, OpenAI Responses or Cohere stream. */
	if (strcmp(name, "message_stop") == 0 || strcmp(name, "response.completed") == 0 ||
	    strcmp(name, "message-end") == 0)
		p->terminal_seen = 1;
	doc_end(p);
}

static const struct tg_sse_callbacks sse_cbs = { sse_begin, sse_data, sse_end };

static void es_begin(void *ctx, const char *type, const char *kind)
{
	struct tg_usage_parser *p = ctx;

	doc_begin(p);
	/* An exception message is named by its :exception-type
	 * (throttlingException, modelStreamErrorException, ...). */
	if (strcmp(kind, "exception") == 0 || strcmp(kind, "error") == 0) {
		p->error_seen = p->doc_error = 1;
		note_error_name(p, ERR_TYPE, type, strlen(type));
	}
	/* Bedrock ConverseStream's last message carries the usage. */
	if (strcmp(type, "metadata") == 0)
		p->terminal_seen = 1;
}

static void es_payload(void *ctx, const char *buf, size_t len)
{
	doc_data(ctx, buf, len);
}

static void es_end(void *ctx)
{
	doc_end(ctx);
}

static const struct tg_eventstream_callbacks es_cbs = { es_begin, es_payload, es_end };

void tg_usage_init(struct tg_usage_parser *p, enum tg_wire wire, const char *provider,
                   enum tg_body_kind kind, const char *endpoint)
{
	int i;
	size_t t = table_of(wire);

	p->wire = wire;
	p->rules = rule_tables[t];
	/* NULL only if a table were wrong (the unit tests compile each): the
	 * scanner then checks the body and reports nothing. */
	p->paths = paths_of(t);
	p->kind = kind;
	p->quirks = quirks_of(provider, endpoint);
	p->embeddings = endpoint && (tg_ends_with(endpoint, "/embeddings") || tg_ends_with(endpoint, "/embed"));
	p->failed = 0;
	p->malformed = 0;
	p->error_seen = 0;
	p->usage_seen = 0;
	p->terminal_seen = 0;
	p->thinking = -1;
	p->counting = endpoint && tg_operation_counts_tokens(tg_operation_of(endpoint));
	p->reasoning_text = 0;
	p->doc_error = 0;
	p->doc_error_rank = 0;
	p->error[0] = '\0';
	p->event_len = 0;
	p->done_match = 0;
	p->content_bytes = 0;
	for (i = 0; i < TG_U_SLOTS; i++)
		p->raw[i] = TG_COUNT_UNKNOWN;
	p->model[0] = '\0';
	p->response_id[0] = '\0';
	tg_json_init_paths(&p->json, p->paths, p->paths ? on_json : NULL, p);
	tg_b64json_init(&p->chunk, wire == TG_WIRE_BEDROCK && kind == TG_BODY_EVENTSTREAM ?
	                paths_of(CHUNK_TABLE) : NULL, on_chunk_json, p);
	tg_sse_init(&p->sse, &sse_cbs, p);
	tg_eventstream_init(&p->es, &es_cbs, p);
}

int tg_usage_feed(struct tg_usage_parser *p, const char *buf, size_t len)
{
	int r = 0;

	if (p->failed)
		return -1;
	switch (p->kind) {
	case TG_BODY_SSE:
		r = tg_sse_feed(&p->sse, buf, len);
		break;
	case TG_BODY_EVENTSTREAM:
		r = tg_eventstream_feed(&p->es, buf, len);
		break;
	default:
		r = tg_json_feed(&p->json, buf, len);
		break;
	}
	if (r < 0) {
		p->failed = 1;
		p->malformed = 1;
		return -1;
	}
	return 0;
}

void tg_usage_request_thinking(struct tg_usage_parser *p, int thinking)
{
	p->thinking = thinking;
}

static int known(int64_t v)
{
	return v != TG_COUNT_UNKNOWN;
}

static int64_t or_zero(int64_t v)
{
	return known(v) ? v : 0;
}

static int64_t plus(int64_t a, int64_t b)
{
	return known(a) ? a + or_zero(b) : TG_COUNT_UNKNOWN;
}

static void normalise(const struct tg_usage_parser *p, struct tg_counts *c)
{
	const int64_t *raw = p->raw;

	if (p->counting) {
		/* Counting is free: nothing is generated or written to a cache. */
		c->input = raw[TG_U_COUNTED];
		c->cached_input = or_zero(raw[TG_U_COUNTED_CACHED]);
		c->output = c->reasoning = 0;
		c->cache_creation = c->cache_creation_5m = c->cache_creation_1h = 0;
		return;
	}
	switch (p->wire) {
	case TG_WIRE_ANTHROPIC: {
		int iterations = known(raw[TG_U_ITER_INPUT]) || known(raw[TG_U_ITER_OUTPUT]);
		int64_t top_writes = or_zero(raw[TG_U_CACHE_WRITE]);

		if (iterations) {
			c->cached_input = or_zero(raw[TG_U_ITER_CACHE_READ]);
			c->cache_creation = or_zero(raw[TG_U_ITER_CACHE_WRITE]);
			c->input = plus(plus(raw[TG_U_ITER_INPUT], c->cached_input), c->cache_creation);
			c->output = raw[TG_U_ITER_OUTPUT];
		} else {
			c->cached_input = or_zero(raw[TG_U_CACHE_READ]);
			c->cache_creation = top_writes;
			c->input = plus(plus(raw[TG_U_INPUT], c->cached_input), c->cache_creation);
			c->output = raw[TG_U_OUTPUT];
		}
		/* Without the split, a write of 0 is 0 of each; a non-zero
		 * one cannot be divided.  The split describes the top-level
		 * writes only: it does not cover a compaction step's. */
		if ((known(raw[TG_U_CACHE_WRITE_5M]) || known(raw[TG_U_CACHE_WRITE_1H]) ||
		     c->cache_creation == 0) && c->cache_creation == top_writes) {
			c->cache_creation_5m = or_zero(raw[TG_U_CACHE_WRITE_5M]);
			c->cache_creation_1h = or_zero(raw[TG_U_CACHE_WRITE_1H]);
		}
		/* Without thinking enabled there is none to break out. */
		c->reasoning = known(raw[TG_U_REASONING]) ? raw[TG_U_REASONING] :
		               p->thinking == 0 ? 0 : TG_COUNT_UNKNOWN;
		break;
	}
	case TG_WIRE_GEMINI:
		/* proto3 JSON leaves out every zero count */
		c->input = or_zero(raw[TG_U_INPUT]) + or_zero(raw[TG_U_TOOL_PROMPT]);
		c->reasoning = or_zero(raw[TG_U_REASONING]);
		c->output = or_zero(raw[TG_U_OUTPUT]) + c->reasoning;
		c->cached_input = or_zero(raw[TG_U_CACHE_READ]);
		c->cache_creation = 0;   /* generateContent never writes a cache */
		break;
	case TG_WIRE_COHERE:
		/* What Cohere bills; the raw counts only when a body has no
		 * billed_units (a count is better than none). */
		c->input = known(raw[TG_U_BILLED_INPUT]) ? raw[TG_U_BILLED_INPUT] : raw[TG_U_INPUT];
		c->output = known(raw[TG_U_BILLED_OUTPUT]) ? raw[TG_U_BILLED_OUTPUT] : raw[TG_U_OUTPUT];
		/* cached_tokens is reported only by newer API versions: its
		 * absence says nothing about the cache.  Cohere bills no
		 * cache writes apart. */
		c->cached_input = raw[TG_U_CACHE_READ];
		/* cached_tokens counts raw prompt tokens (usage.tokens, the
		 * template included), not the billed units taken as input:
		 * recorded traffic has 2928 cached of 2935 raw but 2406
		 * billed.  A count larger than the input cannot be a part of
		 * it, and the billed share is not on the wire. */
		if (known(c->cached_input) && known(c->input) && c->cached_input > c->input)
			c->cached_input = TG_COUNT_UNKNOWN;
		c->cache_creation = 0;
		break;
	case TG_WIRE_BEDROCK:
		/* invocationMetrics (streamed invokes) over the model's own */
		c->cached_input = or_zero(known(raw[TG_U_METRIC_CACHE_READ]) ? raw[TG_U_METRIC_CACHE_READ] :
		                          raw[TG_U_CACHE_READ]);
		c->cache_creation = or_zero(known(raw[TG_U_METRIC_CACHE_WRITE]) ? raw[TG_U_METRIC_CACHE_WRITE] :
		                            raw[TG_U_CACHE_WRITE]);
		c->input = plus(plus(known(raw[TG_U_METRIC_INPUT]) ? raw[TG_U_METRIC_INPUT] : raw[TG_U_INPUT],
		                     c->cached_input), c->cache_creation);
		c->output = known(raw[TG_U_METRIC_OUTPUT]) ? raw[TG_U_METRIC_OUTPUT] : raw[TG_U_OUTPUT];
		/* Claude's 5m/1h split of its writes, when it adds up to them */
		if ((known(raw[TG_U_CACHE_WRITE_5M]) || known(raw[TG_U_CACHE_WRITE_1H])) &&
		    or_zero(raw[TG_U_CACHE_WRITE_5M]) + or_zero(raw[TG_U_CACHE_WRITE_1H]) == c->cache_creation) {
			c->cache_creation_5m = or_zero(raw[TG_U_CACHE_WRITE_5M]);
			c->cache_creation_1h = or_zero(raw[TG_U_CACHE_WRITE_1H]);
		}
		break;
	default:
		c->input = raw[TG_U_INPUT];
		c->output = raw[TG_U_OUTPUT];
		c->cached_input = known(raw[TG_U_CACHE_HIT]) ? raw[TG_U_CACHE_HIT] :
		                  or_zero(raw[TG_U_CACHE_READ]);
		/* No count: 0 only if the body showed no reasoning either. */
		c->reasoning = known(raw[TG_U_REASONING]) ? raw[TG_U_REASONING] :
		               p->reasoning_text ? TG_COUNT_UNKNOWN : 0;
		/* OpenAI's caching is automatic and bills writes as plain
		 * input: none to count apart unless a gateway reports them. */
		c->cache_creation = or_zero(raw[TG_U_CACHE_WRITE]);
		if (p->quirks & Q_XAI_CHAT)   /* reasoning outside the output: both needed */
			c->output = known(c->reasoning) ? plus(c->output, c->reasoning) : TG_COUNT_UNKNOWN;
		break;
	}
	if (p->embeddings) {
		if (!known(c->output))
			c->output = 0;
		c->reasoning = 0;
	}
}

void tg_usage_finish(struct tg_usage_parser *p, struct tg_usage *out)
{
	struct tg_counts *c = &out->counts;

	if (!p->failed) {
		switch (p->kind) {
		case TG_BODY_SSE:
			if (tg_sse_finish(&p->sse) != 0)
				p->malformed = 1;
			break;
		case TG_BODY_EVENTSTREAM:
			if (tg_eventstream_finish(&p->es) != 0)
				p->malformed = 1;
			break;
		default:
			if (tg_json_finish(&p->json) != 0)
				p->malformed = 1;
			break;
		}
	}
	c->input = c->output = c->cached_input = c->cache_creation = TG_COUNT_UNKNOWN;
	c->cache_creation_5m = c->cache_creation_1h = c->reasoning = TG_COUNT_UNKNOWN;
	if (p->usage_seen)
		normalise(p, c);
	/* An error event or an in-stream {"error": ...} object (what
	 * OpenAI-compatible servers send when generation fails midway) ends
	 * a stream early: its counts so far are not the final ones. */
	out->stream_failed = p->error_seen && (p->kind == TG_BODY_SSE || p->kind == TG_BODY_EVENTSTREAM);
	if (out->stream_failed) {
		c->output = TG_COUNT_UNKNOWN;
		/* a reported part of it is as little final; a 0 by rule (no
		 * thinking requested) stands */
		if (known(p->raw[TG_U_REASONING]))
			c->reasoning = TG_COUNT_UNKNOWN;
	}
	if (out->stream_failed)
		memcpy(out->error, p->error, sizeof out->error);
	else
		out->error[0] = '\0';
	memcpy(out->model, p->model, sizeof out->model);
	memcpy(out->response_id, p->response_id, sizeof out->response_id);
	out->usage_seen = p->usage_seen;
	out->content_bytes = p->wire == TG_WIRE_OPENAI && p->kind == TG_BODY_SSE ? p->content_bytes : -1;
	out->malformed = p->malformed;
	out->error_seen = p->error_seen;
}
