/* sources: shim/usage.c shim/operation.c shim/json.c shim/b64json.c shim/sse.c shim/eventstream.c shim/reqscan.c ledger/record.c ledger/tags.c */
/* fuzz_usage.c - libFuzzer target for the usage parsers and the request
 * scanner: every byte of a provider's response body and of a program's
 * request body goes through them.
 *
 * The first control byte picks the wire format and body framing, the
 * second where to cut the input.  The body is parsed whole and again in
 * two pieces; the results must be the same, every count must be
 * TG_COUNT_UNKNOWN or non-negative, and an error name kept for a failed
 * stream only identifier characters (never message text).
 *
 * seed: \0000\0020{"id":"chatcmpl-1","model":"gpt-4o","usage":{"prompt_tokens":3,"completion_tokens":4}}
 * seed: \0004\0011data: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":5,"output_tokens":1}}}\0012\0012data: {"type":"message_delta","usage":{"output_tokens":9}}\0012\0012
 * seed: \0007\0003[{"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":3,"thoughtsTokenCount":1}}]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reqscan.h"
#include "usage.h"

static const enum tg_wire wires[] = {
	TG_WIRE_OPENAI, TG_WIRE_ANTHROPIC, TG_WIRE_GEMINI, TG_WIRE_COHERE, TG_WIRE_BEDROCK,
};
static const enum tg_body_kind kinds[] = { TG_BODY_JSON, TG_BODY_SSE, TG_BODY_EVENTSTREAM };
static const char *const providers[] = { "openai", "anthropic", "gemini", "cohere", "bedrock", "xai", "groq", "deepseek" };
static const char *const endpoints[] = {
	"/v1/chat/completions", "/v1/messages", "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
	"/v2/chat", "/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream", "/v1/responses",
	"/v1/embeddings", "/v1/completions", "/v1/messages/count_tokens", "/v1/responses/input_tokens",
	"/v1beta/models/gemini-2.5-flash:countTokens",
};
#define NENDPOINTS (sizeof endpoints / sizeof endpoints[0])

static void parse(const uint8_t *p, size_t n, size_t cut, int sel, struct tg_usage *out)
{
	static struct tg_usage_parser up;   /* large: keep it off the stack */
	memset(&up, 0, sizeof up);
	tg_usage_init(&up, wires[sel % 5], providers[sel % 8], kinds[(sel / 5) % 3],
	              endpoints[(sel / 3) % NENDPOINTS]);
	if (tg_usage_feed(&up, (const char *)p, cut) == 0)
		tg_usage_feed(&up, (const char *)p + cut, n - cut);
	tg_usage_finish(&up, out);
}

static void check_error_name(const char *e)
{
	for (; *e; e++)
		if (!((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') ||
		      *e == '_' || *e == '-' || *e == '.'))
			abort();
}

static void check_counts(const struct tg_counts *c)
{
	const int64_t v[] = { c->input, c->output, c->cached_input, c->cache_creation,
	                      c->cache_creation_5m, c->cache_creation_1h, c->reasoning };
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		if (v[i] < TG_COUNT_UNKNOWN)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int sel = data[0];
	const uint8_t *body = data + 2;
	size_t n = size - 2, cut = n ? data[1] % (n + 1) : 0;

	struct tg_usage whole, split;
	parse(body, n, n, sel, &whole);
	parse(body, n, cut, sel, &split);
	check_counts(&whole.counts);
	check_error_name(whole.error);
	if (memcmp(&whole.counts, &split.counts, sizeof whole.counts) != 0 ||
	    strcmp(whole.model, split.model) != 0 || strcmp(whole.response_id, split.response_id) != 0 ||
	    whole.usage_seen != split.usage_seen || whole.stream_failed != split.stream_failed ||
	    strcmp(whole.error, split.error) != 0)
		abort();

	struct tg_reqscan r1, r2;
	struct tg_request_info i1, i2;
	tg_reqscan_init(&r1);
	tg_reqscan_feed(&r1, (const char *)body, n);
	tg_reqscan_finish(&r1, &i1);
	tg_reqscan_init(&r2);
	if (tg_reqscan_feed(&r2, (const char *)body, cut) == 0)
		tg_reqscan_feed(&r2, (const char *)body + cut, n - cut);
	tg_reqscan_finish(&r2, &i2);
	if (strcmp(i1.model, i2.model) != 0 || i1.stream != i2.stream || i1.max_tokens != i2.max_tokens ||
	    i1.model_offset != i2.model_offset)
		abort();
	/* Offsets point inside the body at the token they name. */
	if (i1.model_offset >= 0 && (i1.model_offset + i1.model_len > (int64_t)n || body[i1.model_offset] != '"'))
		abort();
	return 0;
}
