/* test_usage.c - usage extraction from the provider bodies in
 * tests/fixtures and the real recorded ones in tests/fixtures/recorded
 * (fed whole, split in two at every position and byte by byte), the
 * stream traps around them, and the AWS event stream framer.
 * Fixture files are read relative to the repository root, where the unit
 * tests run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "eventstream.h"
#include "usage.h"

#define U TG_COUNT_UNKNOWN

struct want {
	int64_t input, output, cached, creation, creation_5m, creation_1h, reasoning;
	const char *model;
	const char *id;
	int usage_seen, malformed, error_seen;
};

struct body {
	char *buf;
	size_t len;
};

static struct body load(const char *name)
{
	char path[256];
	struct body b;
	FILE *f;
	long n;

	snprintf(path, sizeof path, "tests/fixtures/%s", name);
	f = fopen(path, "rb");
	cr_assert(f != NULL, "cannot open %s (run from the repository root)", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert(n >= 0);
	rewind(f);
	b.buf = malloc((size_t)n + 1);
	cr_assert(b.buf != NULL);
	b.len = fread(b.buf, 1, (size_t)n, f);
	cr_assert_eq(b.len, (size_t)n);
	fclose(f);
	return b;
}

struct setup {
	enum tg_wire wire;
	const char *provider;
	enum tg_body_kind kind;
	const char *endpoint;
};

static struct tg_usage_parser parser;
/* What the request said of thinking (tg_usage_request_thinking), for the
 * test that sets it; NULL: not told. */
static const int *request_thinking;

/* Feeds body cut at the given offsets; returns what the parser reports. */
static struct tg_usage run(const struct setup *st, const char *buf, size_t len,
                           const size_t *cuts, size_t ncuts)
{
	struct tg_usage u;
	size_t at = 0, i;
	int failed = 0;

	memset(&parser, 0, sizeof parser);
	memset(&u, 0x5a, sizeof u);
	tg_usage_init(&parser, st->wire, st->provider, st->kind, st->endpoint);
	for (i = 0; i <= ncuts && !failed; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		failed = tg_usage_feed(&parser, buf + at, end - at) < 0;
		at = end;
	}
	if (request_thinking)
		tg_usage_request_thinking(&parser, *request_thinking);
	tg_usage_finish(&parser, &u);
	return u;
}

/* error: the error name a failed stream must keep ("" for none). */
static void expect(const struct tg_usage *u, const struct want *w, const char *error, const char *how)
{
	cr_assert_eq(u->counts.input, w->input, "%s: input %ld", how, (long)u->counts.input);
	cr_assert_eq(u->counts.output, w->output, "%s: output %ld", how, (long)u->counts.output);
	cr_assert_eq(u->counts.cached_input, w->cached, "%s: cached %ld", how, (long)u->counts.cached_input);
	cr_assert_eq(u->counts.cache_creation, w->creation, "%s: creation %ld", how, (long)u->counts.cache_creation);
	cr_assert_eq(u->counts.cache_creation_5m, w->creation_5m, "%s: 5m", how);
	cr_assert_eq(u->counts.cache_creation_1h, w->creation_1h, "%s: 1h", how);
	cr_assert_eq(u->counts.reasoning, w->reasoning, "%s: reasoning %ld", how, (long)u->counts.reasoning);
	cr_assert_str_eq(u->model, w->model, "%s: model", how);
	cr_assert_str_eq(u->response_id, w->id, "%s: id", how);
	cr_assert_eq(u->usage_seen, w->usage_seen, "%s: usage_seen", how);
	cr_assert_eq(u->malformed, w->malformed, "%s: malformed", how);
	cr_assert_eq(u->error_seen, w->error_seen, "%s: error_seen", how);
	cr_assert_str_eq(u->error, error, "%s: error %s", how, u->error);
}

/* The fixture file check_bytes is reading, named in its failures. */
static const char *fixture_name = "body";

/* Whole, every two-piece split (every stride-th one for large bodies, to
 * keep the sanitised run short) and byte by byte. */
static void check_failed_bytes(const struct setup *st, const char *buf, size_t len, const struct want *w,
                               const char *error)
{
	size_t stride = len > 8192 ? 61 : 1, cut, i;
	struct tg_usage u;
	size_t *cuts;
	char how[192];

	snprintf(how, sizeof how, "%s whole", fixture_name);
	u = run(st, buf, len, NULL, 0);
	expect(&u, w, error, how);
	for (cut = 0; cut <= len; cut += stride) {
		snprintf(how, sizeof how, "%s split at %zu", fixture_name, cut);
		u = run(st, buf, len, &cut, 1);
		expect(&u, w, error, how);
	}
	cuts = malloc((len + 1) * sizeof *cuts);
	cr_assert(cuts != NULL);
	for (i = 0; i < len; i++)
		cuts[i] = i;
	snprintf(how, sizeof how, "%s byte by byte", fixture_name);
	u = run(st, buf, len, cuts, len);
	expect(&u, w, error, how);
	free(cuts);
}

static void check_bytes(const struct setup *st, const char *buf, size_t len, const struct want *w)
{
	check_failed_bytes(st, buf, len, w, "");
}

static void check_failed_fixture(const char *name, const struct setup *st, const struct want *w,
                                 const char *error)
{
	struct body b = load(name);

	fixture_name = name;
	check_failed_bytes(st, b.buf, b.len, w, error);
	free(b.buf);
}

static void check_fixture(const char *name, const struct setup *st, const struct want *w)
{
	check_failed_fixture(name, st, w, "");
}

static const struct setup openai_json = { TG_WIRE_OPENAI, "openai", TG_BODY_JSON, "/v1/chat/completions" };
static const struct setup openai_sse = { TG_WIRE_OPENAI, "openai", TG_BODY_SSE, "/v1/chat/completions" };
static const struct setup anthropic_json = { TG_WIRE_ANTHROPIC, "anthropic", TG_BODY_JSON, "/v1/messages" };
static const struct setup anthropic_sse = { TG_WIRE_ANTHROPIC, "anthropic", TG_BODY_SSE, "/v1/messages" };

Test(usage, reads_openai_chat_completions)
{
	struct want w = { 27, 23, 0, 0, U, U, 0, "gpt-4.1-2025-04-14",
	                  "chatcmpl-BZ3lU1vDRpHs0fLLzcA3mbKEMWtUq", 1, 0, 0 };
	check_fixture("openai-chat.resp", &openai_json, &w);
}

Test(usage, reads_the_final_usage_chunk_of_an_openai_stream)
{
	struct want w = { 17, 9, 0, 0, U, U, 0, "gpt-4o-mini-2024-07-18",
	                  "chatcmpl-BZ3nq7cT0Y8hWkQ2rP9xVb4LmN6sJ", 1, 0, 0 };
	check_fixture("openai-chat-stream.resp", &openai_sse, &w);
}

Test(usage, reads_cached_and_reasoning_tokens_of_an_openai_stream)
{
	struct want w = { 1450, 342, 1280, 0, U, U, 320, "o4-mini-2025-04-16",
	                  "chatcmpl-BZ3pK2mV8dQe1rT5uY7iO9pA3sD4f", 1, 0, 0 };
	check_fixture("openai-chat-stream-reasoning.resp", &openai_sse, &w);
}

Test(usage, leaves_counts_unknown_for_a_stream_without_usage)
{
	struct want w = { U, U, U, U, U, U, U, "gpt-4o-mini-2024-07-18",
	                  "chatcmpl-BZ3qX9fG2hJ4kL6zX8cV0bN1mQ3wE", 0, 0, 0 };
	check_fixture("openai-chat-stream-no-usage.resp", &openai_sse, &w);
}

Test(usage, reads_the_openai_responses_api)
{
	struct setup st = { TG_WIRE_OPENAI, "openai", TG_BODY_JSON, "/v1/responses" };
	struct want w = { 36, 18, 0, 0, U, U, 0, "gpt-4.1-2025-04-14",
	                  "resp_6830a1f2c3d48190b7e5a2c4d6f8e0a10b2c4d6e8f0a1b3c", 1, 0, 0 };
	check_fixture("openai-responses.resp", &st, &w);
}

Test(usage, reads_response_completed_of_a_responses_api_stream)
{
	struct setup st = { TG_WIRE_OPENAI, "openai", TG_BODY_SSE, "/v1/responses" };
	struct want w = { 24, 203, 0, 0, U, U, 192, "o4-mini-2025-04-16",
	                  "resp_6830a2b7d1e08191a3c5e7f9b1d3f5a70c2e4a6c8e0b2d4f", 1, 0, 0 };
	check_fixture("openai-responses-stream.resp", &st, &w);
}

Test(usage, reads_legacy_completions)
{
	struct setup st = { TG_WIRE_OPENAI, "openai", TG_BODY_JSON, "/v1/completions" };
	struct want w = { 14, 17, 0, 0, U, U, 0, "gpt-3.5-turbo-instruct:20230824-v2",
	                  "cmpl-BZ3sA4dF6gH8jK0lZ2xC4vB6nM8qW", 1, 0, 0 };
	check_fixture("openai-completions.resp", &st, &w);
}

Test(usage, counts_no_output_for_embeddings)
{
	struct setup st = { TG_WIRE_OPENAI, "openai", TG_BODY_JSON, "/v1/embeddings" };
	struct want w = { 11, 0, 0, 0, U, U, 0, "text-embedding-3-small", "", 1, 0, 0 };
	check_fixture("openai-embeddings.resp", &st, &w);
}

Test(usage, finds_no_usage_in_an_error_body)
{
	struct want w = { U, U, U, U, U, U, U, "", "", 0, 0, 1 };
	check_fixture("openai-error-429.resp", &openai_json, &w);
}

Test(usage, skips_azure_prompt_filter_chunks)
{
	struct setup st = { TG_WIRE_OPENAI, "azure-openai", TG_BODY_SSE,
	                    "/openai/deployments/gpt-4o-prod/chat/completions" };
	struct want w = { 21, 8, 0, 0, U, U, 0, "gpt-4o-2024-11-20",
	                  "chatcmpl-BZ3uR5tY7uI9oP1aS3dF5gH7jK9lZ", 1, 0, 0 };
	check_fixture("azure-chat-stream.resp", &st, &w);
}

Test(usage, reads_groq_x_groq_usage)
{
	struct setup st = { TG_WIRE_OPENAI, "groq", TG_BODY_SSE, "/openai/v1/chat/completions" };
	struct want w = { 48, 10, 0, 0, U, U, 0, "llama-3.3-70b-versatile",
	                  "chatcmpl-5b1d9e2a-7c4f-4a8b-9e3d-2f6a8c0b1d4e", 1, 0, 0 };
	check_fixture("groq-chat-stream.resp", &st, &w);
}

Test(usage, reads_usage_sent_with_the_finish_chunk_over_crlf)
{
	struct setup st = { TG_WIRE_OPENAI, "mistral", TG_BODY_SSE, "/v1/chat/completions" };
	struct want w = { 15, 10, 0, 0, U, U, 0, "mistral-small-latest",
	                  "3f7e9c1a5b2d4e6f8a0c2e4b6d8f0a1c", 1, 0, 0 };
	check_fixture("mistral-chat-stream.resp", &st, &w);
}

Test(usage, sums_anthropic_compaction_iterations)
{
	struct want w = { 55377, 2416, 0, 0, 0, 0, U, "claude-opus-4-6", "msg_01Rk8vT3nQ6wJ2pL9xZ4cB7m", 1, 0, 0 };
	check_fixture("anthropic-messages-compaction.resp", &anthropic_json, &w);
}

Test(usage, reads_anthropic_thinking_tokens)
{
	struct want w = { 46, 187, 0, 0, 0, 0, 164, "claude-sonnet-4-5-20250929",
	                  "msg_01Tn5hW8sK3dF6gJ1qP2vX9b", 1, 0, 0 };
	check_fixture("anthropic-messages-thinking.resp", &anthropic_json, &w);
}

/* A stream repeats the iterations in a later usage object: counted once. */
Test(usage, counts_repeated_anthropic_iterations_once)
{
	static const char body[] =
		"event: message_start\n"
		"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-opus-4-6\","
		"\"usage\":{\"input_tokens\":181,\"output_tokens\":1,\"iterations\":[{\"type\":\"compaction\","
		"\"input_tokens\":55196,\"output_tokens\":2104}]}}}\n\n"
		"event: message_delta\n"
		"data: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":181,\"output_tokens\":312,"
		"\"iterations\":[{\"type\":\"compaction\",\"input_tokens\":55196,\"output_tokens\":2104},"
		"{\"type\":\"message\",\"input_tokens\":181,\"output_tokens\":312}]}}\n\n"
		"event: message_stop\n"
		"data: {\"type\":\"message_stop\"}\n\n";
	struct want w = { 55377, 2416, 0, 0, 0, 0, U, "claude-opus-4-6", "msg_1", 1, 0, 0 };
	check_bytes(&anthropic_sse, body, sizeof body - 1, &w);
}

/* Reasoning is 0 when the request did not enable thinking, unknown when
 * it did (or is unknown) and the response gives no breakdown. */
Test(usage, anthropic_reasoning_follows_the_request)
{
	struct body b = load("anthropic-messages.resp");
	struct body t = load("anthropic-messages-thinking.resp");
	const int64_t want[] = { U, 0, U };
	struct tg_usage u;

	for (int thinking = -1; thinking <= 1; thinking++) {
		memset(&parser, 0, sizeof parser);
		tg_usage_init(&parser, TG_WIRE_ANTHROPIC, "anthropic", TG_BODY_JSON, "/v1/messages");
		tg_usage_feed(&parser, b.buf, b.len);
		tg_usage_request_thinking(&parser, thinking);
		tg_usage_finish(&parser, &u);
		cr_assert_eq(u.counts.reasoning, want[thinking + 1], "thinking %d", thinking);
		cr_assert_eq(u.counts.output, 31);

		memset(&parser, 0, sizeof parser);
		tg_usage_init(&parser, TG_WIRE_ANTHROPIC, "anthropic", TG_BODY_JSON, "/v1/messages");
		tg_usage_feed(&parser, t.buf, t.len);
		tg_usage_request_thinking(&parser, thinking);
		tg_usage_finish(&parser, &u);
		cr_assert_eq(u.counts.reasoning, 164, "thinking %d, breakdown given", thinking);
	}
	free(b.buf);
	free(t.buf);
}

Test(usage, reads_mistral_num_cached_tokens)
{
	struct want w = { 1236, 17, 1152, 0, U, U, 0, "mistral-medium-2508",
	                  "9c2a41e7d0b84f3e8a6c5b1d2e3f4a5b", 1, 0, 0 };
	check_fixture("mistral-chat-cached.resp", &openai_json, &w);
}

Test(usage, reads_gateway_cache_write_tokens)
{
	struct setup st = { TG_WIRE_OPENAI, "openrouter", TG_BODY_JSON, "/api/v1/chat/completions" };
	struct want w = { 2071, 19, 0, 2048, U, U, 0, "anthropic/claude-sonnet-4.5",
	                  "gen-1763290200-Xk3pQ9aLm2VbN7cR4tYz", 1, 0, 0 };
	check_fixture("openrouter-chat-cache-write.resp", &st, &w);
}

Test(usage, adds_xai_reasoning_to_output)
{
	struct setup st = { TG_WIRE_OPENAI, "xai", TG_BODY_JSON, "/v1/chat/completions" };
	struct want w = { 22, 257, 6, 0, U, U, 236, "grok-3-mini",
	                  "0d8b4f6e-2a1c-4e3b-9d7f-5c8a0b2e4f61", 1, 0, 0 };
	check_fixture("xai-chat.resp", &st, &w);
}

Test(usage, leaves_xai_responses_output_as_given)
{
	struct setup st = { TG_WIRE_OPENAI, "xai", TG_BODY_JSON, "/v1/responses" };
	struct want w = { 171, 923, 150, 0, U, U, 323, "grok-4-fast-reasoning",
	                  "3b1f6c2e-8d4a-4f07-a6e5-91c2d7b0e4a3", 1, 0, 0 };
	check_fixture("xai-responses.resp", &st, &w);
}

Test(usage, takes_deepseek_cache_hits_as_cached_input)
{
	struct setup st = { TG_WIRE_OPENAI, "deepseek", TG_BODY_JSON, "/chat/completions" };
	struct want w = { 221, 22, 192, 0, U, U, 0, "deepseek-chat",
	                  "930c60df-bf64-41c9-a88e-3ec75f81e00e", 1, 0, 0 };
	check_fixture("deepseek-chat.resp", &st, &w);
}

Test(usage, reads_anthropic_messages)
{
	struct want w = { 21, 31, 0, 0, 0, 0, U, "claude-sonnet-4-5-20250929",
	                  "msg_01XFDUDYJgAACzvnptvVoYEL", 1, 0, 0 };
	check_fixture("anthropic-messages.resp", &anthropic_json, &w);
}

Test(usage, adds_anthropic_cache_tokens_to_input_and_keeps_the_last_cumulative_count)
{
	struct want w = { 12 + 1850 + 4096, 27, 4096, 1850, 1850, 0, U, "claude-sonnet-4-5-20250929",
	                  "msg_01Hq7b5nE3rT9wK2mZ4xV6cY", 1, 0, 0 };
	check_fixture("anthropic-messages-stream.resp", &anthropic_sse, &w);
}

Test(usage, reports_what_a_cut_anthropic_stream_showed)
{
	struct want w = { 19, 1, 0, 0, 0, 0, U, "claude-haiku-4-5-20251001",
	                  "msg_01Tz3mQ8vB6nX1cL5kJ7hG9f", 1, 1, 0 };
	check_fixture("anthropic-messages-stream-cut.resp", &anthropic_sse, &w);
}

Test(usage, reads_gemini_generate_content_with_thoughts)
{
	struct setup st = { TG_WIRE_GEMINI, "gemini", TG_BODY_JSON,
	                    "/v1beta/models/gemini-2.5-flash:generateContent" };
	struct want w = { 14, 503, 0, 0, U, U, 479, "gemini-2.5-flash", "8Xo2aN6vJ4uPz7IPr5TtyQw", 1, 0, 0 };
	check_fixture("gemini-generate.resp", &st, &w);
}

Test(usage, keeps_the_last_gemini_chunk_of_an_sse_stream)
{
	struct setup st = { TG_WIRE_GEMINI, "gemini", TG_BODY_SSE,
	                    "/v1beta/models/gemini-2.5-flash:streamGenerateContent" };
	struct want w = { 1033, 630, 1024, 0, U, U, 612, "gemini-2.5-flash", "kXo2aO7wK5vQa8JQs6UuzRx", 1, 0, 0 };
	check_fixture("gemini-stream-sse.resp", &st, &w);
}

Test(usage, reads_the_gemini_json_array_stream)
{
	struct setup st = { TG_WIRE_GEMINI, "gemini", TG_BODY_JSON,
	                    "/v1beta/models/gemini-2.0-flash:streamGenerateContent" };
	struct want w = { 9, 11, 0, 0, U, U, 0, "gemini-2.0-flash", "mYp3bP8xL6wRb9KRt7VvASy", 1, 0, 0 };
	check_fixture("gemini-stream-json.resp", &st, &w);
}

Test(usage, counts_cohere_billed_units_not_raw_tokens)
{
	struct setup st = { TG_WIRE_COHERE, "cohere", TG_BODY_JSON, "/v2/chat" };
	struct want w = { 13, 18, U, 0, U, U, U, "", "c14c80c3-18eb-4519-9460-6c92edd8cfb4", 1, 0, 0 };
	check_fixture("cohere-chat.resp", &st, &w);
}

Test(usage, reads_cohere_cached_tokens_when_present)
{
	struct setup st = { TG_WIRE_COHERE, "cohere", TG_BODY_JSON, "/v2/chat" };
	struct want w = { 13, 18, 8, 0, U, U, U, "", "0b6e2f7e-5d1c-4a57-9f0e-3c1e2f8a6d41", 1, 0, 0 };
	check_fixture("cohere-chat-cached.resp", &st, &w);
}

Test(usage, reads_the_cohere_message_end_event)
{
	struct setup st = { TG_WIRE_COHERE, "cohere", TG_BODY_SSE, "/v2/chat" };
	struct want w = { 13, 7, U, 0, U, U, U, "", "29f14a5a-11de-4cae-9800-25e4747408ea", 1, 0, 0 };
	check_fixture("cohere-chat-stream.resp", &st, &w);
}

Test(usage, reads_billed_units_of_cohere_embed)
{
	struct setup st = { TG_WIRE_COHERE, "cohere", TG_BODY_JSON, "/v2/embed" };
	struct want w = { 17, 0, U, 0, U, U, 0, "", "5807ee2e-0cda-445a-9ec8-864c60a06606", 1, 0, 0 };
	check_fixture("cohere-embed.resp", &st, &w);
}

Test(usage, reads_bedrock_converse)
{
	struct setup st = { TG_WIRE_BEDROCK, "bedrock", TG_BODY_JSON,
	                    "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse" };
	struct want w = { 19, 21, 0, 0, U, U, U, "", "", 1, 0, 0 };
	check_fixture("bedrock-converse.resp", &st, &w);
}

Test(usage, reads_the_metadata_event_of_a_bedrock_event_stream)
{
	struct setup st = { TG_WIRE_BEDROCK, "bedrock", TG_BODY_EVENTSTREAM,
	                    "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream" };
	struct want w = { 1235, 17, 1210, 0, U, U, U, "", "", 1, 0, 0 };
	check_fixture("bedrock-converse-stream.resp", &st, &w);
}

static void check_text(const struct setup *st, const char *text, const struct want *w)
{
	check_bytes(st, text, strlen(text), w);
}

static void check_failed_text(const struct setup *st, const char *text, const struct want *w,
                              const char *error)
{
	check_failed_bytes(st, text, strlen(text), w, error);
}

Test(usage, ignores_keep_alive_comments_between_events)
{
	struct want w = { 5, 2, 0, 0, U, U, 0, "gpt-4o-mini", "c1", 1, 0, 0 };
	check_text(&openai_sse,
	           ": keep-alive\n\n"
	           "data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":null}\n\n"
	           ": OPENROUTER PROCESSING\n\n"
	           "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"
	           ": keep-alive\n\ndata: [DONE]\n\n",
	           &w);
}

Test(usage, replaces_anthropic_counts_with_later_cumulative_ones)
{
	struct want w = { 100 + 7 + 3, 40, 3, 7, U, U, U, "claude-opus-4-1-20250805", "msg_1", 1, 0, 0 };
	check_text(&anthropic_sse,
	           "event: message_start\r\n"
	           "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-opus-4-1-20250805\","
	           "\"usage\":{\"input_tokens\":90,\"output_tokens\":1}}}\r\n\r\n"
	           "event: message_delta\r\n"
	           "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":30}}\r\n\r\n"
	           "event: message_delta\r\n"
	           "data: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":100,\"cache_creation_input_tokens\":7,"
	           "\"cache_read_input_tokens\":3,\"output_tokens\":40}}\r\n\r\n"
	           "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n",
	           &w);
}

/* Whether the body, fed whole, is a stream that failed midway. */
static int stream_failed(const struct setup *st, const char *text)
{
	return run(st, text, strlen(text), NULL, 0).stream_failed;
}

/* message_start's output_tokens is a placeholder: a stream that ends in
 * an error event never sends the real count. */
Test(usage, notices_an_error_event_in_a_stream)
{
	static const char body[] =
		"event: message_start\n"
		"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"model\":\"claude-sonnet-4-5\","
		"\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
		"event: error\n"
		"data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
	struct want w = { 10, U, 0, 0, 0, 0, U, "claude-sonnet-4-5", "msg_2", 1, 0, 1 };

	check_failed_text(&anthropic_sse, body, &w, "overloaded_error");
	cr_assert_eq(stream_failed(&anthropic_sse, body), 1);
}

Test(usage, notices_a_failed_responses_stream)
{
	static const struct setup responses_sse = { TG_WIRE_OPENAI, "openai", TG_BODY_SSE, "/v1/responses" };
	static const char body[] =
		"event: response.created\n"
		"data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-4.1\","
		"\"status\":\"in_progress\",\"error\":null,\"usage\":null}}\n\n"
		"event: response.failed\n"
		"data: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-4.1\","
		"\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"x\"},\"usage\":null}}\n\n";
	struct want w = { U, U, U, U, U, U, U, "gpt-4.1", "resp_1", 0, 0, 1 };

	check_failed_text(&responses_sse, body, &w, "server_error");
	cr_assert_eq(stream_failed(&responses_sse, body), 1);
}

/* OpenAI-compatible servers (vLLM, OpenRouter, ...) send a bare error
 * object as a data event when generation fails after the first chunk. */
Test(usage, notices_an_error_object_in_a_chunk_stream)
{
	static const char body[] =
		"data: {\"id\":\"c3\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
		"data: {\"error\":{\"message\":\"upstream failed\",\"code\":502}}\n\n";
	struct want w = { U, U, U, U, U, U, U, "m", "c3", 0, 0, 1 };

	check_failed_text(&openai_sse, body, &w, "502");
	cr_assert_eq(stream_failed(&openai_sse, body), 1);
}

Test(usage, an_error_body_is_not_a_failed_stream)
{
	cr_assert_eq(stream_failed(&openai_json, "{\"error\":{\"message\":\"Rate limit\"}}"), 0);
	cr_assert_eq(stream_failed(&openai_sse, "data: {\"id\":\"c\",\"choices\":[]}\n\ndata: [DONE]\n\n"), 0);
}

Test(usage, ignores_usage_objects_nested_deeper_than_the_documented_place)
{
	struct want w = { U, U, U, U, U, U, U, "", "", 0, 0, 0 };
	check_text(&openai_json,
	           "{\"choices\":[{\"message\":{\"usage\":{\"prompt_tokens\":5}}}],"
	           "\"meta\":{\"usage\":{\"prompt_tokens\":6}},\"usage\":{\"prompt_tokens\":\"7\"}}",
	           &w);
}

Test(usage, marks_a_body_that_is_not_json_as_malformed)
{
	struct want w = { U, U, U, U, U, U, U, "", "", 0, 1, 0 };
	check_text(&openai_json, "<html><body>502 Bad Gateway</body></html>", &w);
	/* the cut "12" may be the start of a longer number: not taken */
	check_text(&openai_json, "{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":12", &(struct want){
	           5, U, 0, 0, U, U, 0, "", "", 1, 1, 0 });
}

Test(usage, marks_a_non_json_event_as_malformed_but_keeps_reading)
{
	struct want w = { 5, 2, 0, 0, U, U, 0, "", "", 1, 1, 0 };
	check_text(&openai_sse,
	           "data: hello\n\n"
	           "data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"
	           "data: [DONE]\n\n",
	           &w);
}

/* ---- AWS event stream framer ---- */

struct es_log {
	char text[8192];
	size_t len;
	int ends;
};

static void es_begin_cb(void *ctx, const char *type, const char *kind)
{
	struct es_log *l = ctx;

	l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "[%s/%s]", kind, type);
}

static void es_payload_cb(void *ctx, const char *buf, size_t len)
{
	struct es_log *l = ctx;

	cr_assert(l->len + len < sizeof l->text);
	memcpy(l->text + l->len, buf, len);
	l->len += len;
	l->text[l->len] = '\0';
}

static void es_end_cb(void *ctx)
{
	((struct es_log *)ctx)->ends++;
}

static const struct tg_eventstream_callbacks es_log_cbs = { es_begin_cb, es_payload_cb, es_end_cb };

Test(eventstream, frames_every_message_of_the_fixture_at_any_split)
{
	struct body b = load("bedrock-converse-stream.resp");
	static struct es_log whole, l;
	struct tg_eventstream e;
	size_t cut, i;

	memset(&whole, 0, sizeof whole);
	tg_eventstream_init(&e, &es_log_cbs, &whole);
	cr_assert_eq(tg_eventstream_feed(&e, b.buf, b.len), 0);
	cr_assert_eq(tg_eventstream_finish(&e), 0);
	cr_assert_eq(whole.ends, 10);
	cr_assert(strncmp(whole.text, "[event/messageStart]{\"p\":", 25) == 0, "%s", whole.text);
	cr_assert(strstr(whole.text, "[event/metadata]{\"metrics\"") != NULL);
	for (cut = 0; cut <= b.len; cut++) {
		memset(&l, 0, sizeof l);
		tg_eventstream_init(&e, &es_log_cbs, &l);
		cr_assert_eq(tg_eventstream_feed(&e, b.buf, cut), 0);
		cr_assert_eq(tg_eventstream_feed(&e, b.buf + cut, b.len - cut), 0);
		cr_assert_str_eq(l.text, whole.text, "split at %zu", cut);
		cr_assert_eq(l.ends, 10);
	}
	memset(&l, 0, sizeof l);
	tg_eventstream_init(&e, &es_log_cbs, &l);
	for (i = 0; i < b.len; i++)
		cr_assert_eq(tg_eventstream_feed(&e, b.buf + i, 1), 0);
	cr_assert_str_eq(l.text, whole.text);
	cr_assert_eq(tg_eventstream_feed(&e, b.buf, 5), 0);
	cr_assert_eq(tg_eventstream_finish(&e), 1, "ended inside a message");
	free(b.buf);
}

Test(eventstream, rejects_a_corrupted_message)
{
	struct body b = load("bedrock-converse-stream.resp");
	struct es_log l;
	struct tg_eventstream e;
	size_t at;

	/* payload byte: caught by the message CRC; prelude byte: by the
	 * prelude CRC, before the length is used */
	static const size_t where[] = { 100, 2, 9 };
	for (at = 0; at < sizeof where / sizeof where[0]; at++) {
		memset(&l, 0, sizeof l);
		b.buf[where[at]] ^= 0x20;
		tg_eventstream_init(&e, &es_log_cbs, &l);
		cr_assert_eq(tg_eventstream_feed(&e, b.buf, b.len), -1, "flip at %zu", where[at]);
		cr_assert_eq(l.ends, 0);
		cr_assert_eq(tg_eventstream_feed(&e, b.buf, 1), -1);
		cr_assert_eq(tg_eventstream_finish(&e), -1);
		b.buf[where[at]] ^= 0x20;
	}
	free(b.buf);
}

/* Builds one message the way the fixture script does. */
static size_t es_message(unsigned char *out, const char *kind, const char *type_header,
                         const char *type, const char *payload)
{
	unsigned char *p = out + 12;
	const char *names[2] = { ":message-type", type_header };
	const char *values[2] = { kind, type };
	size_t plen = strlen(payload), total, i;
	unsigned long crc;

	for (i = 0; i < 2; i++) {
		size_t nl = strlen(names[i]), vl = strlen(values[i]);

		*p++ = (unsigned char)nl;
		memcpy(p, names[i], nl);
		p += nl;
		*p++ = 7;
		*p++ = (unsigned char)(vl >> 8);
		*p++ = (unsigned char)vl;
		memcpy(p, values[i], vl);
		p += vl;
	}
	memcpy(p, payload, plen);
	p += plen;
	total = (size_t)(p - out) + 4;
	out[0] = 0; out[1] = 0; out[2] = (unsigned char)(total >> 8); out[3] = (unsigned char)total;
	out[4] = 0; out[5] = 0; out[6] = 0; out[7] = (unsigned char)(total - 16 - plen);
	crc = crc32(0, out, 8);
	for (i = 0; i < 4; i++)
		out[8 + i] = (unsigned char)(crc >> (24 - 8 * i));
	crc = crc32(0, out, (uInt)(total - 4));
	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(crc >> (24 - 8 * i));
	return total;
}

Test(eventstream, names_exceptions_by_their_exception_type)
{
	unsigned char msg[512];
	struct es_log l;
	struct tg_eventstream e;
	size_t n = es_message(msg, "exception", ":exception-type", "throttlingException",
	                      "{\"message\":\"Too many requests\"}");

	memset(&l, 0, sizeof l);
	tg_eventstream_init(&e, &es_log_cbs, &l);
	cr_assert_eq(tg_eventstream_feed(&e, (const char *)msg, n), 0);
	cr_assert_str_eq(l.text, "[exception/throttlingException]{\"message\":\"Too many requests\"}");
	cr_assert_eq(l.ends, 1);
}

Test(usage, notices_a_bedrock_exception)
{
	struct setup st = { TG_WIRE_BEDROCK, "bedrock", TG_BODY_EVENTSTREAM, "/model/x/converse-stream" };
	unsigned char msg[512];
	size_t n = es_message(msg, "exception", ":exception-type", "modelStreamErrorException",
	                      "{\"message\":\"boom\"}");
	struct want w = { U, U, U, U, U, U, U, "", "", 0, 0, 1 };

	check_failed_bytes(&st, (const char *)msg, n, &w, "modelStreamErrorException");
}

/* ---- Bedrock InvokeModelWithResponseStream: the model's events in base64 chunks ---- */

static const struct setup claude_invoke_stream = { TG_WIRE_BEDROCK, "bedrock", TG_BODY_EVENTSTREAM,
	"/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream" };
static const struct setup llama_invoke_stream = { TG_WIRE_BEDROCK, "bedrock", TG_BODY_EVENTSTREAM,
	"/model/meta.llama3-1-70b-instruct-v1%3A0/invoke-with-response-stream" };

Test(usage, reads_the_invocation_metrics_of_a_claude_invoke_stream)
{
	/* inputTokenCount 14 + cache reads 1536 + cache writes 210 */
	struct want w = { 1760, 23, 1536, 210, 210, 0, U, "", "msg_bdrk_01Xq4Fz8RkT2wLmN6pVb3cYd", 1, 0, 0 };
	check_fixture("bedrock-invoke-stream-claude.resp", &claude_invoke_stream, &w);
}

Test(usage, reads_the_invocation_metrics_of_a_llama_invoke_stream)
{
	struct want w = { 18, 8, 0, 0, U, U, U, "", "", 1, 0, 0 };
	check_fixture("bedrock-invoke-stream-llama.resp", &llama_invoke_stream, &w);
}

Test(usage, an_exception_ends_an_invoke_stream_with_output_unknown)
{
	struct want w = { 31, U, 0, 0, U, U, U, "", "msg_bdrk_01Xq4Fz8RkT2wLmN6pVb3cYd", 1, 0, 1 };
	struct body b = load("bedrock-invoke-stream-exception.resp");

	check_failed_bytes(&claude_invoke_stream, b.buf, b.len, &w, "modelStreamErrorException");
	cr_assert_eq(run(&claude_invoke_stream, b.buf, b.len, NULL, 0).stream_failed, 1);
	free(b.buf);
}

static void b64_encode(char *out, const char *in)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16 | (uint32_t)(unsigned char)in[i + 1] << 8 |
		             (unsigned char)in[i + 2];
		*out++ = abc[v >> 18];
		*out++ = abc[v >> 12 & 63];
		*out++ = abc[v >> 6 & 63];
		*out++ = abc[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
		*out++ = abc[v >> 18];
		*out++ = abc[v >> 12 & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16 | (uint32_t)(unsigned char)in[i + 1] << 8;
		*out++ = abc[v >> 18];
		*out++ = abc[v >> 12 & 63];
		*out++ = abc[v >> 6 & 63];
		*out++ = '=';
	}
	*out = '\0';
}

/* Appends a chunk event carrying `event` (raw JSON) to buf at *len;
 * `escape` writes each '/' of the base64 as JSON's "\/". */
static void add_chunk(unsigned char *buf, size_t *len, const char *event, int escape)
{
	char b64[2048], payload[4200], *q;
	const char *c;

	b64_encode(b64, event);
	q = payload + sprintf(payload, "{\"bytes\":\"");
	for (c = b64; *c; c++) {
		if (escape && *c == '/')
			*q++ = '\\';
		*q++ = *c;
	}
	strcpy(q, "\",\"p\":\"abcdefgh\"}");
	*len += es_message(buf + *len, "event", ":event-type", "chunk", payload);
}

Test(usage, prefers_bedrock_invocation_metrics_to_the_models_own_counts)
{
	unsigned char buf[4096];
	size_t n = 0;
	struct want w = { 6 + 2 + 0, 10, 2, 0, U, U, U, "", "msg_bdrk_9", 1, 0, 0 };

	add_chunk(buf, &n, "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_bdrk_9\","
	          "\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":3,\"output_tokens\":1}}}", 0);
	add_chunk(buf, &n, "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}", 0);
	add_chunk(buf, &n, "{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":"
	          "{\"inputTokenCount\":6,\"outputTokenCount\":10,\"invocationLatency\":900,"
	          "\"firstByteLatency\":200,\"cacheReadInputTokenCount\":2,\"cacheWriteInputTokenCount\":0}}", 0);
	check_bytes(&claude_invoke_stream, (const char *)buf, n, &w);
}

Test(usage, falls_back_to_the_models_counts_without_invocation_metrics)
{
	unsigned char buf[4096];
	size_t n = 0;
	/* message_start's output_tokens, replaced by message_delta's */
	struct want w = { 5 + 3 + 4, 9, 3, 4, U, U, U, "", "msg_bdrk_8", 1, 0, 0 };

	add_chunk(buf, &n, "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_bdrk_8\",\"usage\":"
	          "{\"input_tokens\":5,\"cache_read_input_tokens\":3,\"cache_creation_input_tokens\":4,"
	          "\"output_tokens\":1}}}", 0);
	add_chunk(buf, &n, "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}", 0);
	check_bytes(&claude_invoke_stream, (const char *)buf, n, &w);
}

Test(usage, decodes_a_chunk_whose_base64_escapes_its_slashes)
{
	/* "???" encodes as "Pz8/": the text puts slashes in the base64 */
	static const char event[] = "{\"generation\":\"???\",\"prompt_token_count\":4,"
	                            "\"generation_token_count\":2,\"stop_reason\":\"stop\"}";
	unsigned char buf[2048];
	char b64[256];
	size_t n = 0;
	struct want w = { 4, 2, 0, 0, U, U, U, "", "", 1, 0, 0 };

	b64_encode(b64, event);
	cr_assert(strchr(b64, '/') != NULL, "%s", b64);
	add_chunk(buf, &n, event, 1);
	check_bytes(&llama_invoke_stream, (const char *)buf, n, &w);
}

Test(usage, marks_a_chunk_that_is_not_base64_json_as_malformed_but_reads_the_others)
{
	unsigned char buf[4096];
	size_t n = 0;
	struct want w = { 7, 3, 0, 0, U, U, U, "", "", 1, 1, 0 };

	n += es_message(buf + n, "event", ":event-type", "chunk", "{\"bytes\":\"not*base64\"}");
	add_chunk(buf, &n, "{\"generation\":\"x\",\"prompt_token_count\":7,", 0);   /* not one document */
	n += es_message(buf + n, "event", ":event-type", "chunk", "{\"bytes\":\"eyJ0e\"}");  /* a quantum cut */
	add_chunk(buf, &n, "{\"generation\":\"\",\"generation_token_count\":3,\"stop_reason\":\"stop\","
	          "\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":7,\"outputTokenCount\":3}}", 0);
	check_bytes(&llama_invoke_stream, (const char *)buf, n, &w);
}

Test(usage, an_empty_chunk_carries_nothing)
{
	unsigned char buf[1024];
	size_t n = 0;
	struct want w = { U, U, U, U, U, U, U, "", "", 0, 0, 0 };

	n += es_message(buf + n, "event", ":event-type", "chunk", "{\"bytes\":\"\",\"p\":\"abc\"}");
	check_bytes(&llama_invoke_stream, (const char *)buf, n, &w);
}

/* Whether each stream's own end marker was seen, whole and at every cut. */
static void check_terminal(const char *name, const struct setup *st, int want)
{
	struct body b = load(name);
	for (size_t cut = 0; cut <= b.len; cut++) {
		memset(&parser, 0, sizeof parser);
		tg_usage_init(&parser, st->wire, st->provider, st->kind, st->endpoint);
		tg_usage_feed(&parser, b.buf, cut);
		tg_usage_feed(&parser, b.buf + cut, b.len - cut);
		cr_assert_eq(parser.terminal_seen, want, "%s split at %zu", name, cut);
	}
	/* Cut before its last event, no stream has ended. */
	memset(&parser, 0, sizeof parser);
	tg_usage_init(&parser, st->wire, st->provider, st->kind, st->endpoint);
	tg_usage_feed(&parser, b.buf, b.len / 2);
	cr_assert_eq(parser.terminal_seen, 0, "%s cut in half", name);
	free(b.buf);
}

Test(usage, knows_when_a_stream_sent_its_own_end_marker)
{
	static const struct setup responses_sse = { TG_WIRE_OPENAI, "openai", TG_BODY_SSE, "/v1/responses" };
	static const struct setup cohere_sse = { TG_WIRE_COHERE, "cohere", TG_BODY_SSE, "/v2/chat" };
	check_terminal("openai-chat-stream.resp", &openai_sse, 1);
	check_terminal("anthropic-messages-stream.resp", &anthropic_sse, 1);
	check_terminal("openai-responses-stream.resp", &responses_sse, 1);
	check_terminal("cohere-chat-stream.resp", &cohere_sse, 1);
	check_terminal("anthropic-messages-stream-cut.resp", &anthropic_sse, 0);
	check_terminal("bedrock-invoke-stream-claude.resp", &claude_invoke_stream, 1);
	check_terminal("bedrock-invoke-stream-llama.resp", &llama_invoke_stream, 1);
	check_terminal("bedrock-invoke-stream-exception.resp", &claude_invoke_stream, 0);
}

/* ---- streams ended by an error: the error's name, never its message ---- */

static const struct setup responses_sse = { TG_WIRE_OPENAI, "openai", TG_BODY_SSE, "/v1/responses" };

Test(usage, names_the_error_of_an_anthropic_stream)
{
	struct want w = { 5958, U, 4096, 1850, 1850, 0, U, "claude-sonnet-4-5-20250929",
	                  "msg_01Hq7b5nE3rT9wK2mZ4xV6cY", 1, 0, 1 };
	check_failed_fixture("anthropic-messages-stream-error.resp", &anthropic_sse, &w, "overloaded_error");
}

Test(usage, names_the_error_object_ending_a_chat_completions_stream)
{
	struct want w = { U, U, U, U, U, U, U, "gpt-4.1-2025-04-14",
	                  "chatcmpl-Bx4kQ2mNvR7tY9wE1aS3dF5gH8jK0", 0, 0, 1 };
	check_failed_fixture("openai-chat-stream-error.resp", &openai_sse, &w, "server_error");
}

/* response.failed carries usage: the input stands, the output and its
 * reported reasoning part are not final. */
Test(usage, names_the_error_of_a_failed_responses_stream_and_keeps_its_input)
{
	struct want w = { 31, U, 0, 0, U, U, U, "gpt-4.1-2025-04-14",
	                  "resp_68f1c0d2e3a48190b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0", 1, 0, 1 };
	check_failed_fixture("openai-responses-stream-failed.resp", &responses_sse, &w, "server_error");
}

Test(usage, names_the_error_event_of_a_responses_stream_by_its_code)
{
	struct want w = { U, U, U, U, U, U, U, "gpt-4.1", "resp_3", 0, 0, 1 };
	check_failed_text(&responses_sse,
	           "event: response.created\n"
	           "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_3\",\"model\":\"gpt-4.1\"}}\n\n"
	           "event: error\n"
	           "data: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down\","
	           "\"param\":null,\"sequence_number\":2}\n\n",
	           &w, "rate_limit_exceeded");
}

/* A code says more than a type ("requests", "tokens"); a type or status
 * more than a number. */
Test(usage, prefers_an_error_code_to_its_type_and_a_status_to_a_number)
{
	struct want w = { U, U, U, U, U, U, U, "", "", 0, 0, 1 };
	static const struct setup gemini_sse = { TG_WIRE_GEMINI, "gemini", TG_BODY_SSE,
	                                         "/v1beta/models/gemini-2.5-flash:streamGenerateContent" };

	check_failed_text(&openai_sse, "data: {\"error\":{\"message\":\"m\",\"type\":\"tokens\","
	                  "\"code\":\"rate_limit_exceeded\"}}\n\n", &w, "rate_limit_exceeded");
	check_failed_text(&gemini_sse, "data: {\"error\":{\"code\":500,\"message\":\"m\",\"status\":\"INTERNAL\"}}"
	                  "\r\n\r\n", &w, "INTERNAL");
}

/* The message may quote the request: only an identifier is kept, and a
 * type that is not one is dropped rather than cut. */
Test(usage, keeps_no_error_text_that_is_not_an_identifier)
{
	struct want w = { U, U, U, U, U, U, U, "", "", 0, 0, 1 };

	check_text(&openai_sse, "data: {\"error\":{\"message\":\"PROMPT-SECRET\",\"type\":\"bad input: PROMPT\"}}\n\n",
	           &w);
	check_text(&openai_sse, "data: {\"error\":{\"message\":\"x\",\"type\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}\n\n", &w);
	/* a top-level code outside an error document is nobody's error */
	w.error_seen = 0;
	check_text(&openai_sse, "data: {\"code\":\"x\",\"choices\":[]}\n\n", &w);
}

/* ---- reasoning content without a reasoning count ---- */

Test(usage, leaves_reasoning_unknown_for_mistral_thinking_chunks)
{
	struct setup st = { TG_WIRE_OPENAI, "mistral", TG_BODY_SSE, "/v1/chat/completions" };
	struct want w = { 17, 224, 0, 0, U, U, U, "magistral-medium-2509",
	                  "8c2f4a6e0b1d3f5a7c9e1b3d5f7a9c0e", 1, 0, 0 };
	check_fixture("mistral-chat-stream-thinking.resp", &st, &w);
}

Test(usage, leaves_reasoning_unknown_for_groq_reasoning_deltas)
{
	struct setup st = { TG_WIRE_OPENAI, "groq", TG_BODY_SSE, "/openai/v1/chat/completions" };
	struct want w = { 20, 96, 0, 0, U, U, U, "qwen/qwen3-32b",
	                  "chatcmpl-9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", 1, 0, 0 };
	check_fixture("groq-chat-stream-reasoning.resp", &st, &w);
}

/* DeepSeek's reasoner reports the count: it stands. */
Test(usage, takes_the_reasoning_count_when_reasoning_content_has_one)
{
	struct want w = { 12, 300, 0, 0, U, U, 260, "deepseek-reasoner", "d1", 1, 0, 0 };
	check_text(&openai_sse,
	           "data: {\"id\":\"d1\",\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,"
	           "\"delta\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"Hmm\"}}]}\n\n"
	           "data: {\"id\":\"d1\",\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,"
	           "\"delta\":{\"content\":\"Blue.\",\"reasoning_content\":null}}]}\n\n"
	           "data: {\"id\":\"d1\",\"model\":\"deepseek-reasoner\",\"choices\":[],\"usage\":{"
	           "\"prompt_tokens\":12,\"completion_tokens\":300,\"completion_tokens_details\":"
	           "{\"reasoning_tokens\":260}}}\n\ndata: [DONE]\n\n",
	           &w);
}

Test(usage, leaves_reasoning_unknown_for_returned_reasoning_without_a_count)
{
	struct want w = { 9, 40, 0, 0, U, U, U, "m", "r1", 1, 0, 0 };
	static const char usage[] = "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":40}}";
	char body[512];

	snprintf(body, sizeof body, "{\"id\":\"r1\",\"model\":\"m\",\"choices\":[{\"message\":"
	         "{\"role\":\"assistant\",\"content\":\"Blue.\",\"reasoning_content\":\"Light scatters\"}}],%s", usage);
	check_text(&openai_json, body, &w);
	snprintf(body, sizeof body, "{\"id\":\"r1\",\"model\":\"m\",\"choices\":[{\"message\":"
	         "{\"content\":\"Blue.\",\"reasoning\":\"Light scatters\"}}],%s", usage);
	check_text(&openai_json, body, &w);
	snprintf(body, sizeof body, "{\"id\":\"r1\",\"model\":\"m\",\"choices\":[{\"message\":{\"content\":"
	         "[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":\"x\"}]},"
	         "{\"type\":\"text\",\"text\":\"Blue.\"}]}}],%s", usage);
	check_text(&openai_json, body, &w);
	/* empty or null reasoning and plain text parts show none: 0 stands */
	w.reasoning = 0;
	snprintf(body, sizeof body, "{\"id\":\"r1\",\"model\":\"m\",\"choices\":[{\"message\":{\"content\":"
	         "[{\"type\":\"text\",\"text\":\"thinking\"}],\"reasoning\":\"\",\"reasoning_content\":null}}],%s",
	         usage);
	check_text(&openai_json, body, &w);
}

/* xAI's chat counts reasoning outside completion_tokens: without its
 * count the output is not known either. */
Test(usage, leaves_xai_output_unknown_when_its_reasoning_is)
{
	struct setup st = { TG_WIRE_OPENAI, "xai", TG_BODY_JSON, "/v1/chat/completions" };
	struct want w = { 9, U, 0, 0, U, U, U, "grok-3-mini", "x1", 1, 0, 0 };
	check_text(&st, "{\"id\":\"x1\",\"model\":\"grok-3-mini\",\"choices\":[{\"message\":{\"content\":\"B\","
	           "\"reasoning_content\":\"because\"}}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1}}", &w);
}

/* ---- free token-counting endpoints ---- */

Test(usage, reads_anthropic_count_tokens_as_free_input)
{
	struct setup st = { TG_WIRE_ANTHROPIC, "anthropic", TG_BODY_JSON, "/v1/messages/count_tokens" };
	struct want w = { 2095, 0, 0, 0, 0, 0, 0, "", "", 1, 0, 0 };
	check_fixture("anthropic-count-tokens.resp", &st, &w);
}

Test(usage, reads_openai_responses_input_tokens_as_free_input)
{
	struct setup st = { TG_WIRE_OPENAI, "openai", TG_BODY_JSON, "/v1/responses/input_tokens" };
	struct want w = { 19, 0, 0, 0, 0, 0, 0, "", "", 1, 0, 0 };
	check_fixture("openai-responses-input-tokens.resp", &st, &w);
}

Test(usage, reads_gemini_count_tokens_with_its_cached_part)
{
	struct setup st = { TG_WIRE_GEMINI, "gemini", TG_BODY_JSON, "/v1beta/models/gemini-2.5-flash:countTokens" };
	struct want w = { 1046, 0, 1024, 0, 0, 0, 0, "", "", 1, 0, 0 };
	check_fixture("gemini-count-tokens.resp", &st, &w);
}

/* Vertex AI: {"totalTokens":N,"totalBillableCharacters":M,"promptTokensDetails":[...]} */
Test(usage, reads_vertex_count_tokens_as_free_input)
{
	struct setup st = { TG_WIRE_GEMINI, "vertex", TG_BODY_JSON,
	                    "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:countTokens" };
	struct want w = { 31, 0, 0, 0, 0, 0, 0, "", "", 1, 0, 0 };
	check_text(&st, "{\"totalTokens\":31,\"totalBillableCharacters\":96,\"promptTokensDetails\":"
	           "[{\"modality\":\"TEXT\",\"tokenCount\":31}]}", &w);
}

Test(usage, reads_a_top_level_count_only_from_a_counting_endpoint)
{
	struct want w = { U, U, U, U, U, U, U, "", "", 0, 0, 0 };
	check_text(&anthropic_json, "{\"input_tokens\":5}", &w);
	check_text(&openai_json, "{\"input_tokens\":5}", &w);
}

Test(usage, every_wire_rule_table_compiles)
{
	cr_assert_eq(tg_usage_rules_check(), 0);
}

/* The bodies of tests/fixtures/recorded, taken from real provider traffic
 * (their sources: recorded/cases.json), and what the parser must read in
 * each: the counts that file's "expect" records hold, read off the bodies
 * by the providers' documented rules.  thinking: what the request said
 * of it (NULL: not told). */
static const int thinking_off = 0, thinking_on = 1;

static const struct recorded {
	const char *file;
	struct setup st;
	const int *thinking;
	struct want w;
} recorded[] = {
	{ "rec-openai-chat.resp",
	  { TG_WIRE_OPENAI, "openai", TG_BODY_JSON, "/v1/chat/completions" }, NULL,
	  { 14, 30, 0, 0, U, U, 0, "gpt-4o-2024-08-06", "chatcmpl-C9VBMiEq0GYAxsZn9U6FURAbS9Lau", 1, 0, 0 } },
	{ "rec-openai-chat-reasoning.resp",
	  { TG_WIRE_OPENAI, "openai", TG_BODY_JSON, "/v1/chat/completions" }, NULL,
	  { 7, 87, 0, 0, U, U, 64, "o3-mini-2025-01-31", "chatcmpl-Dr3KNfXKBS1oDOrhqYDuLYdjX9PM4", 1, 0, 0 } },
	{ "rec-openai-chat-stream-tool.resp",
	  { TG_WIRE_OPENAI, "openai", TG_BODY_SSE, "/v1/chat/completions" }, NULL,
	  { 53, 15, 0, 0, U, U, 0, "gpt-4o-mini-2024-07-18", "chatcmpl-Dx0XpqH8w09uBXwq1zFGYdETjtnEl", 1, 0, 0 } },
	{ "rec-openai-responses.resp",
	  { TG_WIRE_OPENAI, "openai", TG_BODY_JSON, "/v1/responses" }, NULL,
	  { 32, 8, 0, 0, U, U, 0, "gpt-4o-2024-08-06", "resp_67e52d8f3fdc81919daa034ceecd18210643eec42e76739d", 1, 0, 0 } },
	{ "rec-openai-responses-error-400.resp",
	  { TG_WIRE_OPENAI, "openai", TG_BODY_JSON, "/v1/responses" }, NULL,
	  { U, U, U, U, U, U, U, "", "", 0, 0, 1 } },
	{ "rec-anthropic-messages-stream.resp",
	  { TG_WIRE_ANTHROPIC, "anthropic", TG_BODY_SSE, "/v1/messages" }, &thinking_off,
	  { 17, 10, 0, 0, 0, 0, 0, "claude-sonnet-4-5-20250929", "msg_014Z12bJxZvKUjLkhBzUz358", 1, 0, 0 } },
	{ "rec-anthropic-messages-thinking-stream.resp",
	  { TG_WIRE_ANTHROPIC, "anthropic", TG_BODY_SSE, "/v1/messages" }, &thinking_on,
	  { 45, 94, 0, 0, 0, 0, U, "claude-3-7-sonnet-20250219", "msg_01SNKQD4WaGocVoAVDeL7eZX", 1, 0, 0 } },
	{ "rec-anthropic-messages-cache-write.resp",
	  { TG_WIRE_ANTHROPIC, "anthropic", TG_BODY_JSON, "/v1/messages" }, &thinking_off,
	  { 3 + 1111, 391, 0, 1111, 1111, 0, 0, "claude-sonnet-4-5-20250929", "msg_01FdUT99HgS9cAzcv4ztTDYJ", 1, 0, 0 } },
	{ "rec-anthropic-messages-cache-read.resp",
	  { TG_WIRE_ANTHROPIC, "anthropic", TG_BODY_JSON, "/v1/messages" }, &thinking_off,
	  { 3 + 1111 + 403, 33, 1111, 403, 403, 0, 0, "claude-sonnet-4-5-20250929", "msg_01PYfyaNS7Rysss2xMNqQgy9", 1, 0, 0 } },
	{ "rec-gemini-stream-sse.resp",
	  { TG_WIRE_GEMINI, "gemini", TG_BODY_SSE, "/v1beta/models/gemini-2.5-flash:streamGenerateContent" }, NULL,
	  { 15, 8 + 16, 0, 0, U, U, 16, "gemini-2.5-flash", "ezh8aaKTCYSnqtsP-qXkqQI", 1, 0, 0 } },
	{ "rec-gemini-stream-json-gzip.resp",
	  { TG_WIRE_GEMINI, "gemini", TG_BODY_JSON, "/v1beta/models/gemini-3-flash-preview:streamGenerateContent" }, NULL,
	  { 4, 1 + 27, 0, 0, U, U, 27, "gemini-3-flash-preview", "wHLSaf7JDd-jjMcPlsyKsAc", 1, 0, 0 } },
	{ "rec-gemini-generate-max-tokens.resp",
	  { TG_WIRE_GEMINI, "gemini", TG_BODY_JSON, "/v1beta/models/gemini-2.5-flash:generateContent" }, NULL,
	  { 15, 5, 0, 0, U, U, 0, "gemini-2.5-flash", "y1R8abboCra_qtsPh-z9kAI", 1, 0, 0 } },
	{ "rec-groq-chat.resp",
	  { TG_WIRE_OPENAI, "groq", TG_BODY_JSON, "/openai/v1/chat/completions" }, NULL,
	  { 48, 8, 0, 0, U, U, 0, "llama-3.3-70b-versatile", "chatcmpl-7586b6a9-fb4b-4ec7-86a0-59f0a77844cf", 1, 0, 0 } },
	{ "rec-mistral-chat.resp",
	  { TG_WIRE_OPENAI, "mistral", TG_BODY_JSON, "/v1/chat/completions" }, NULL,
	  { 4, 36, 0, 0, U, U, 0, "mistral-large-latest", "74b5a04853d2428f8c69b8b35dc2d30b", 1, 0, 0 } },
	{ "rec-cohere-chat-cached.resp",
	  { TG_WIRE_COHERE, "cohere", TG_BODY_JSON, "/v2/chat" }, NULL,
	  { 2406, 2, U, 0, U, U, U, "", "0bf8e1a5-2af6-4014-a539-c12363a043a3", 1, 0, 0 } },
	{ "rec-bedrock-converse-cache-write.resp",
	  { TG_WIRE_BEDROCK, "bedrock", TG_BODY_JSON, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse" }, NULL,
	  { 2 + 1322, 5, 0, 1322, U, U, U, "", "", 1, 0, 0 } },
	{ "rec-bedrock-converse-cache-read.resp",
	  { TG_WIRE_BEDROCK, "bedrock", TG_BODY_JSON, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse" }, NULL,
	  { 2 + 1322, 5, 1322, 0, U, U, U, "", "", 1, 0, 0 } },
	{ "rec-bedrock-converse-throttled.resp",
	  { TG_WIRE_BEDROCK, "bedrock", TG_BODY_JSON, "/model/us.amazon.nova-micro-v1%3A0/converse" }, NULL,
	  { U, U, U, U, U, U, U, "", "", 0, 0, 0 } },
	{ "rec-bedrock-converse-stream.resp",
	  { TG_WIRE_BEDROCK, "bedrock", TG_BODY_EVENTSTREAM, "/model/openai.gpt-oss-120b-1%3A0/converse-stream" }, NULL,
	  { 66, 45, 0, 0, U, U, U, "", "", 1, 0, 0 } },
	{ "rec-openai-responses-stream.resp",
	  { TG_WIRE_OPENAI, "openai", TG_BODY_SSE, "/v1/responses" }, NULL,
	  { 11, 5, 0, 0, U, U, 0, "gpt-5.5-2026-04-23", "resp_00592e63e61b66660169fab1b9f8e481a2b321356198d7ac1b", 1, 0, 0 } },
	{ "rec-deepseek-reasoner.resp",
	  { TG_WIRE_OPENAI, "deepseek", TG_BODY_JSON, "/chat/completions" }, NULL,
	  { 12, 789, 0, 0, U, U, 415, "deepseek-reasoner", "181d9669-2b3a-445e-bd13-2ebff2c378f6", 1, 0, 0 } },
};

Test(usage, reads_every_recorded_body)
{
	char name[128];

	for (size_t i = 0; i < sizeof recorded / sizeof recorded[0]; i++) {
		snprintf(name, sizeof name, "recorded/%s", recorded[i].file);
		request_thinking = recorded[i].thinking;
		check_fixture(name, &recorded[i].st, &recorded[i].w);
	}
}
