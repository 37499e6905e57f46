/* test_reqscan.c - request body scan (model, stream flags, max-token
 * location) on the fixture requests and inline bodies, fed whole, split
 * in two at every position and byte by byte; and model names in paths. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqscan.h"

static struct tg_request_info scan(const char *body, size_t len, const size_t *cuts, size_t ncuts)
{
	struct tg_request_info info;
	struct tg_reqscan r;
	size_t at = 0, i;

	memset(&r, 0, sizeof r);
	tg_reqscan_init(&r);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		if (tg_reqscan_feed(&r, body + at, end - at) < 0)
			break;
		at = end;
	}
	tg_reqscan_finish(&r, &info);
	return info;
}

static void same(const struct tg_request_info *a, const struct tg_request_info *b, const char *how)
{
	cr_assert_str_eq(a->model, b->model, "%s", how);
	cr_assert_eq(a->stream, b->stream, "%s", how);
	cr_assert_eq(a->include_usage, b->include_usage, "%s", how);
	cr_assert_eq(a->model_offset, b->model_offset, "%s", how);
	cr_assert_eq(a->model_len, b->model_len, "%s", how);
	cr_assert_eq(a->max_tokens, b->max_tokens, "%s", how);
	cr_assert_eq(a->max_tokens_offset, b->max_tokens_offset, "%s", how);
	cr_assert_eq(a->max_tokens_len, b->max_tokens_len, "%s", how);
	cr_assert_eq(a->cap_parent_offset, b->cap_parent_offset, "%s", how);
	cr_assert_eq(a->thinking, b->thinking, "%s", how);
	cr_assert_eq(a->malformed, b->malformed, "%s", how);
	cr_assert_str_eq(a->user, b->user, "%s", how);
	cr_assert_str_eq(a->safety_id, b->safety_id, "%s", how);
	cr_assert_eq(a->nmeta, b->nmeta, "%s", how);
	for (int i = 0; i < a->nmeta; i++) {
		cr_assert_str_eq(a->meta[i].key, b->meta[i].key, "%s", how);
		cr_assert_str_eq(a->meta[i].value, b->meta[i].value, "%s", how);
	}
}

/* Scans whole, at every split and byte by byte; all must agree, and the
 * recorded offsets must point at the tokens in the body. */
static struct tg_request_info check(const char *body, size_t len)
{
	struct tg_request_info whole = scan(body, len, NULL, 0), part;
	size_t cut, i, *cuts;
	char how[32];

	for (cut = 0; cut <= len; cut++) {
		snprintf(how, sizeof how, "split at %zu", cut);
		part = scan(body, len, &cut, 1);
		same(&part, &whole, how);
	}
	cuts = malloc((len + 1) * sizeof *cuts);
	cr_assert(cuts != NULL);
	for (i = 0; i < len; i++)
		cuts[i] = i;
	part = scan(body, len, cuts, len);
	same(&part, &whole, "byte by byte");
	free(cuts);
	if (whole.model_offset >= 0) {
		cr_assert_eq(body[whole.model_offset], '"');
		cr_assert_eq(body[whole.model_offset + whole.model_len - 1], '"');
		/* an escaped name is longer in the body than decoded */
		if ((size_t)whole.model_len == strlen(whole.model) + 2)
			cr_assert(strncmp(body + whole.model_offset + 1, whole.model, strlen(whole.model)) == 0);
	}
	if (whole.max_tokens_offset >= 0) {
		char num[32];

		snprintf(num, sizeof num, "%ld", (long)whole.max_tokens);
		cr_assert_eq((size_t)whole.max_tokens_len, strlen(num));
		cr_assert(strncmp(body + whole.max_tokens_offset, num, strlen(num)) == 0);
	}
	return whole;
}

static struct tg_request_info check_fixture(const char *name)
{
	char path[256];
	struct tg_request_info info;
	char *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof path, "tests/fixtures/%s", name);
	f = fopen(path, "rb");
	cr_assert(f != NULL, "cannot open %s (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	cr_assert(buf != NULL);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	info = check(buf, (size_t)n);
	free(buf);
	return info;
}

Test(reqscan, reads_model_stream_and_include_usage_of_a_chat_request)
{
	struct tg_request_info in = check_fixture("openai-chat-stream.req.json");

	cr_assert_str_eq(in.model, "gpt-4o-mini");
	cr_assert_eq(in.stream, 1);
	cr_assert_eq(in.include_usage, 1);
	cr_assert_eq(in.max_tokens, -1);
	cr_assert_eq(in.max_tokens_offset, -1);
	cr_assert_eq(in.malformed, 0);
}

Test(reqscan, locates_max_completion_tokens)
{
	struct tg_request_info in = check_fixture("openai-chat-stream-reasoning.req.json");

	cr_assert_str_eq(in.model, "o4-mini");
	cr_assert_eq(in.max_tokens, 2000);
}

Test(reqscan, reads_a_non_streaming_request)
{
	struct tg_request_info in = check_fixture("anthropic-messages.req.json");

	cr_assert_str_eq(in.model, "claude-sonnet-4-5");
	cr_assert_eq(in.stream, 0);
	cr_assert_eq(in.max_tokens, 1024);
}

Test(reqscan, finds_no_model_in_a_gemini_body_but_its_max_output_tokens)
{
	struct tg_request_info in = check_fixture("gemini-generate.req.json");

	cr_assert_str_eq(in.model, "");
	cr_assert_eq(in.model_offset, -1);
	cr_assert_eq(in.max_tokens, 2048);
}

Test(reqscan, locates_the_object_a_nested_cap_goes_into)
{
	static const char gemini[] = "{\"contents\":[{\"generationConfig\":{}}],\"generationConfig\": {\"temperature\":1}}";
	static const char bedrock[] = "{\"inferenceConfig\":{},\"messages\":[]}";
	static const char none[] = "{\"config\":{\"inferenceConfig\":{}}}";
	struct tg_request_info in = check(gemini, sizeof gemini - 1);
	cr_assert_eq(in.cap_parent_offset, 58, "only the top-level object: %lld", (long long)in.cap_parent_offset);
	cr_assert_eq(in.max_tokens_offset, -1);
	in = check(bedrock, sizeof bedrock - 1);
	cr_assert_eq(in.cap_parent_offset, 19);
	in = check(none, sizeof none - 1);
	cr_assert_eq(in.cap_parent_offset, -1);
}

Test(reqscan, ignores_keys_that_are_not_top_level)
{
	const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"PROMPT-SECRET-x\","
	                   "\"model\":\"nested\",\"stream\":true}],\"metadata\":{\"model\":\"no\","
	                   "\"max_tokens\":5},\"stream\":false,\"model\":\"gpt-4.1\",\"max_output_tokens\":300}";
	struct tg_request_info in = check(body, strlen(body));

	cr_assert_str_eq(in.model, "gpt-4.1");
	cr_assert_eq(in.stream, 0);
	cr_assert_eq(in.max_tokens, 300);
}

Test(reqscan, decodes_an_escaped_model_name_and_keeps_its_token_span)
{
	const char *body = "{ \"model\" : \"gpt\\u002d4o\" , \"stream\" : true }";
	struct tg_request_info in = check(body, strlen(body));

	cr_assert_str_eq(in.model, "gpt-4o");
	cr_assert_eq(in.model_offset, 12);
	cr_assert_eq(in.model_len, 13);
	cr_assert_eq(in.stream, 1);
}

Test(reqscan, marks_a_body_that_is_not_json)
{
	const char *body = "model=gpt-4o&stream=true";
	struct tg_request_info in = check(body, strlen(body));

	cr_assert_eq(in.malformed, 1);
	in = check("{\"model\":\"a\"", 12);
	cr_assert_eq(in.malformed, 1);
	cr_assert_str_eq(in.model, "a");
}

static const char *model_of(const char *path)
{
	static char out[TG_MODEL_MAX];

	cr_assert(tg_model_from_path(path, out, sizeof out) >= 0);
	return out;
}

Test(model_from_path, reads_gemini_vertex_bedrock_and_azure_paths)
{
	cr_assert_str_eq(model_of("/v1beta/models/gemini-2.5-flash:streamGenerateContent"), "gemini-2.5-flash");
	cr_assert_str_eq(model_of("/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent"),
	                 "gemini-2.5-pro");
	cr_assert_str_eq(model_of("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"),
	                 "anthropic.claude-3-5-sonnet-20240620-v1:0");
	cr_assert_str_eq(model_of("/model/us.anthropic.claude-sonnet-4-20250514-v1:0/converse"),
	                 "us.anthropic.claude-sonnet-4-20250514-v1:0");
	cr_assert_str_eq(model_of("/openai/deployments/gpt-4o-prod/chat/completions"), "gpt-4o-prod");
	cr_assert_str_eq(model_of("/v1/chat/completions"), "");
	cr_assert_str_eq(model_of("/model/"), "");
}

Test(model_from_path, cuts_long_names_and_rejects_bad_escapes)
{
	char out[8];

	cr_assert_eq(tg_model_from_path("/v1beta/models/gemini-2.5-flash:x", out, sizeof out), 7);
	cr_assert_str_eq(out, "gemini-");
	cr_assert_eq(tg_model_from_path("/model/a%3/converse", out, sizeof out), -1);
	cr_assert_eq(tg_model_from_path("/model/a%zz/converse", out, sizeof out), -1);
	cr_assert_eq(tg_model_from_path("/model/a", out, 0), -1);
}

Test(reqscan, knows_whether_thinking_was_enabled)
{
	static const char off[] = "{\"model\":\"claude-sonnet-4-5\",\"thinking\":{\"type\":\"disabled\"}}";
	static const char adaptive[] = "{\"thinking\":{\"type\":\"adaptive\"},\"model\":\"claude-opus-4-6\"}";
	static const char cut[] = "{\"model\":\"claude-sonnet-4-5\",\"messages\":[";

	cr_assert_eq(check_fixture("anthropic-messages-thinking.req.json").thinking, 1);
	cr_assert_eq(check_fixture("anthropic-messages.req.json").thinking, 0);
	cr_assert_eq(check(off, sizeof off - 1).thinking, 0);
	cr_assert_eq(check(adaptive, sizeof adaptive - 1).thinking, 1);
	/* a body not read to its end may enable it further on */
	cr_assert_eq(check(cut, sizeof cut - 1).thinking, -1);
}

/* Attribution: who the call is for, where each provider's API says it. */

#define CHECK(lit) check(lit, sizeof lit - 1)

Test(reqscan, reads_the_end_user_of_an_openai_chat_request)
{
	struct tg_request_info in = CHECK("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
	                                  "\"content\":\"hi\",\"user\":\"not-this\"}],\"user\":\"alice\"}");

	cr_assert_str_eq(in.user, "alice");
	cr_assert_str_eq(in.safety_id, "");
	cr_assert_eq(in.nmeta, 0);
	cr_assert_str_eq(in.model, "gpt-4o-mini");
}

Test(reqscan, reads_user_and_safety_identifier_of_embeddings_and_completions)
{
	struct tg_request_info e = CHECK("{\"input\":[\"a\",\"b\"],\"model\":\"text-embedding-3-small\","
	                                 "\"safety_identifier\":\"sid-9\"}");
	struct tg_request_info c = CHECK("{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"x\","
	                                 "\"user\":\"bob\",\"safety_identifier\":\"sid-1\"}");

	cr_assert_str_eq(e.user, "");
	cr_assert_str_eq(e.safety_id, "sid-9");
	cr_assert_str_eq(c.user, "bob");
	cr_assert_str_eq(c.safety_id, "sid-1");
}

Test(reqscan, reads_the_metadata_of_an_openai_responses_request_as_tags)
{
	struct tg_request_info in = CHECK(
		"{\"model\":\"gpt-4.1\",\"input\":\"hi\",\"metadata\":{\"feature\":\"search\","
		"\"tenant id\":\"acme, inc=1\",\"n\":3,\"obj\":{\"a\":\"b\"},\"feature\":\"again\"},"
		"\"user\":\"carol\"}");

	cr_assert_str_eq(in.user, "carol");
	cr_assert_eq(in.nmeta, 2);
	cr_assert_str_eq(in.meta[0].key, "meta.feature");
	cr_assert_str_eq(in.meta[0].value, "search");
	/* the tag format's separators and a key's other bytes become '_' */
	cr_assert_str_eq(in.meta[1].key, "meta.tenant_id");
	cr_assert_str_eq(in.meta[1].value, "acme_ inc_1");
}

Test(reqscan, reads_the_user_id_of_an_anthropic_request)
{
	struct tg_request_info in = CHECK("{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,"
	                                  "\"metadata\":{\"user_id\":\"u-\\u00e9t\\u00e9\"},"
	                                  "\"messages\":[]}");

	cr_assert_str_eq(in.user, "u-\xc3\xa9t\xc3\xa9");
	cr_assert_eq(in.nmeta, 0, "user_id is the user, not a metadata tag");
	cr_assert_eq(in.max_tokens, 64);
}

Test(reqscan, prefers_user_to_metadata_user_id_whatever_their_order)
{
	struct tg_request_info a = CHECK("{\"metadata\":{\"user_id\":\"m\"},\"user\":\"u\"}");
	struct tg_request_info b = CHECK("{\"user\":\"u\",\"metadata\":{\"user_id\":\"m\"}}");

	cr_assert_str_eq(a.user, "u");
	cr_assert_str_eq(b.user, "u");
}

Test(reqscan, reads_bedrock_request_metadata_and_gemini_labels)
{
	struct tg_request_info b = CHECK("{\"messages\":[],\"inferenceConfig\":{\"maxTokens\":10},"
	                                 "\"requestMetadata\":{\"team\":\"ads\",\"cost-center\":\"42\"}}");
	struct tg_request_info g = CHECK("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],"
	                                 "\"labels\":{\"env\":\"prod\"}}");

	cr_assert_eq(b.nmeta, 2);
	cr_assert_str_eq(b.meta[0].key, "meta.team");
	cr_assert_str_eq(b.meta[0].value, "ads");
	cr_assert_str_eq(b.meta[1].key, "meta.cost-center");
	cr_assert_str_eq(b.meta[1].value, "42");
	cr_assert_eq(b.max_tokens, 10);
	cr_assert_eq(g.nmeta, 1);
	cr_assert_str_eq(g.meta[0].key, "meta.env");
	cr_assert_str_eq(g.meta[0].value, "prod");
}

Test(reqscan, bounds_what_it_keeps_of_a_map_and_an_id)
{
	char body[2048];
	struct tg_request_info in;
	int n = snprintf(body, sizeof body, "{\"metadata\":{");

	for (int i = 0; i < TG_REQ_META_MAX + 4; i++)
		n += snprintf(body + n, sizeof body - (size_t)n, "%s\"k%d\":\"v%d\"", i ? "," : "", i, i);
	n += snprintf(body + n, sizeof body - (size_t)n, "},\"user\":\"");
	for (int i = 0; i < 200; i++)
		body[n++] = 'x';
	n += snprintf(body + n, sizeof body - (size_t)n, "\"}");
	in = check(body, (size_t)n);
	cr_assert_eq(in.nmeta, TG_REQ_META_MAX);
	cr_assert_str_eq(in.meta[TG_REQ_META_MAX - 1].key, "meta.k7");
	cr_assert_eq(strlen(in.user), TG_REQ_USER_MAX - 1);
}

Test(reqscan, takes_no_id_from_a_value_of_another_type_or_place)
{
	struct tg_request_info in = CHECK("{\"user\":{\"id\":\"x\"},\"input\":{\"user\":\"y\"},"
	                                  "\"metadata\":\"flat\",\"labels\":[\"a\"]}");

	cr_assert_str_eq(in.user, "");
	cr_assert_eq(in.nmeta, 0);
}
