/* test_rewrite.c - budget rewrites of HTTP/1.1 requests (downgrade, clamp). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

static char *request(const char *body)
{
	static char buf[2048];
	snprintf(buf, sizeof buf, "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
	         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	return buf;
}

static void expect(const char *got, size_t len, const char *body)
{
	char want[2048];
	int n = snprintf(want, sizeof want, "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
	                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	cr_assert_eq(len, (size_t)n, "length %zu, want %d:\n%.*s", len, n, (int)len, got);
	cr_assert(memcmp(got, want, len) == 0, "got:\n%.*s", (int)len, got);
}

Test(rewrite, downgrade_replaces_the_model_and_fixes_content_length)
{
	const char *body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
	char *req = request(body);
	struct tg_rewrite rw = { .model = "gpt-4o-mini", .model_offset = 9, .model_len = 8, .max_tokens = -1 };
	size_t len;
	char *out = tg_rewrite_h1(req, strlen(req), &rw, &len);
	cr_assert_not_null(out);
	expect(out, len, "{\"model\":\"gpt-4o-mini\",\"messages\":[]}");
	free(out);
}

Test(rewrite, clamp_replaces_an_existing_max_tokens)
{
	const char *body = "{\"model\":\"gpt-4o\",\"max_tokens\":4096}";
	char *req = request(body);
	struct tg_rewrite rw = { .max_tokens = 12, .max_tokens_offset = 31, .max_tokens_len = 4 };
	size_t len;
	char *out = tg_rewrite_h1(req, strlen(req), &rw, &len);
	cr_assert_not_null(out);
	expect(out, len, "{\"model\":\"gpt-4o\",\"max_tokens\":12}");
	free(out);
}

Test(rewrite, clamp_inserts_the_key_when_absent_and_both_edits_apply)
{
	const char *body = " {\"model\":\"claude-opus-4-1\",\"messages\":[]}";
	char *req = request(body);
	struct tg_rewrite rw = {
		.model = "claude-haiku-4-5", .model_offset = 10, .model_len = 17,
		.max_tokens = 300, .max_tokens_offset = -1, .max_tokens_key = "max_tokens",
	};
	size_t len;
	char *out = tg_rewrite_h1(req, strlen(req), &rw, &len);
	cr_assert_not_null(out);
	expect(out, len, " {\"max_tokens\":300,\"model\":\"claude-haiku-4-5\",\"messages\":[]}");
	free(out);
}

Test(rewrite, bytes_after_the_request_are_kept)
{
	char buf[4096];
	const char *body = "{\"model\":\"gpt-4o\"}";
	snprintf(buf, sizeof buf, "%sGET /v1/models HTTP/1.1\r\n\r\n", request(body));
	struct tg_rewrite rw = { .model = "gpt-4o-mini", .model_offset = 9, .model_len = 8, .max_tokens = -1 };
	size_t len;
	char *out = tg_rewrite_h1(buf, strlen(buf), &rw, &len);
	cr_assert_not_null(out);
	cr_assert(len > 27 && memcmp(out + len - 27, "GET /v1/models HTTP/1.1\r\n\r\n", 27) == 0);
	free(out);
}

Test(rewrite, refuses_what_it_cannot_rewrite_safely)
{
	size_t len;
	struct tg_rewrite rw = { .model = "gpt-4o-mini", .model_offset = 9, .model_len = 8, .max_tokens = -1 };
	const char *chunked = "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                      "12\r\n{\"model\":\"gpt-4o\"}\r\n0\r\n\r\n";
	cr_assert_null(tg_rewrite_h1(chunked, strlen(chunked), &rw, &len));
	cr_assert_eq(tg_rewrite_h1_possible(chunked, strlen(chunked)), 0);

	const char *gz = "POST /v1/chat/completions HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc";
	cr_assert_null(tg_rewrite_h1(gz, strlen(gz), &rw, &len));

	char *req = request("{\"model\":\"gpt-4o\"}");
	cr_assert_eq(tg_rewrite_h1_possible(req, strlen(req) - 3), 0, "body not all in this write");
	cr_assert_null(tg_rewrite_h1(req, strlen(req) - 3, &rw, &len));

	struct tg_rewrite bad_offset = { .model = "x", .model_offset = 3, .model_len = 8, .max_tokens = -1 };
	cr_assert_null(tg_rewrite_h1(req, strlen(req), &bad_offset, &len));

	struct tg_rewrite needs_escape = { .model = "a\"b", .model_offset = 9, .model_len = 8, .max_tokens = -1 };
	cr_assert_null(tg_rewrite_h1(req, strlen(req), &needs_escape, &len));
}

/* HTTP/2: the body alone, edited at its length. */
static void same_length(const char *body, const struct tg_rewrite *rw, const char *want)
{
	char out[1024];
	size_t n = strlen(body);
	int rc = tg_rewrite_body_same_length(body, n, rw, out);
	if (!want) {
		cr_assert_eq(rc, -1, "rewritten, though there is no room: %.*s", (int)n, out);
		return;
	}
	cr_assert_eq(rc, 0, "not rewritten: %s", body);
	cr_assert_eq(strlen(want), n, "test: the wanted body has another length");
	cr_assert(memcmp(out, want, n) == 0, "got %.*s\nwant %s", (int)n, out, want);
}

Test(rewrite, same_length_pads_a_shorter_edit_and_takes_whitespace_for_a_longer_one)
{
	struct tg_rewrite shorter = { .model = "o3", .model_offset = 10, .model_len = 8, .max_tokens = -1 };
	same_length("{\"model\": \"gpt-4o\", \"n\": 1}", &shorter, "{\"model\": \"o3\"    , \"n\": 1}");
	/* Whitespace inside strings is not the body's to give. */
	struct tg_rewrite longer = { .model = "gpt-4o-mini", .model_offset = 10, .model_len = 8, .max_tokens = -1 };
	same_length("{\"model\": \"gpt-4o\",\n \"x\": \"a  b\\\" c\",\t\"n\": 1 }", &longer,
	            "{\"model\":\"gpt-4o-mini\",\"x\":\"a  b\\\" c\",\"n\": 1 }");
	same_length("{\"model\": \"gpt-4o\", \"x\": \"a      b\"}", &longer, NULL);
	/* A smaller number, padded; a larger one in a body with room. */
	struct tg_rewrite clamp = { .max_tokens = 7, .max_tokens_offset = 15, .max_tokens_len = 4 };
	same_length("{\"max_tokens\": 4096, \"m\": 1}", &clamp, "{\"max_tokens\": 7   , \"m\": 1}");
	struct tg_rewrite bigger = { .max_tokens = 12345, .max_tokens_offset = 15, .max_tokens_len = 1 };
	same_length("{\"max_tokens\": 9, \"m\": [1, 2, 3, 4]}", &bigger, "{\"max_tokens\":12345,\"m\":[1,2, 3, 4]}");
}

Test(rewrite, same_length_inserts_a_cap_where_the_body_has_room)
{
	struct tg_rewrite ins = { .max_tokens = 7, .max_tokens_offset = -1,
	                          .max_tokens_key = "max_completion_tokens", .cap_parent_offset = -1 };
	/* "max_completion_tokens":7, is 26 bytes. */
	same_length("{\"model\": \"gpt-4o\", \"messages\": [],                          \"n\": 1}", &ins,
	            "{\"max_completion_tokens\":7,\"model\":\"gpt-4o\",\"messages\":[],   \"n\": 1}");
	same_length("{\"model\":\"gpt-4o\",\"messages\":[]}", &ins, NULL);
}

Test(rewrite, a_nested_cap_goes_into_its_object_or_a_new_one)
{
	size_t len;
	/* Gemini without generationConfig: created. */
	const char *b1 = "{\"contents\":[]}";
	struct tg_rewrite g1 = { .max_tokens = 9, .max_tokens_offset = -1, .cap_parent_offset = -1,
	                         .max_tokens_key = "generationConfig.maxOutputTokens" };
	char *out = tg_rewrite_h1(request(b1), strlen(request(b1)), &g1, &len);
	cr_assert_not_null(out);
	expect(out, len, "{\"generationConfig\":{\"maxOutputTokens\":9},\"contents\":[]}");
	free(out);
	/* Bedrock Converse with an inferenceConfig that has no maxTokens. */
	const char *b2 = "{\"messages\":[],\"inferenceConfig\":{\"temperature\":0.5}}";
	struct tg_rewrite g2 = { .max_tokens = 9, .max_tokens_offset = -1, .cap_parent_offset = 33,
	                         .max_tokens_key = "inferenceConfig.maxTokens" };
	out = tg_rewrite_h1(request(b2), strlen(request(b2)), &g2, &len);
	cr_assert_not_null(out);
	expect(out, len, "{\"messages\":[],\"inferenceConfig\":{\"maxTokens\":9,\"temperature\":0.5}}");
	free(out);
	/* An empty one. */
	const char *b3 = "{\"inferenceConfig\":{ }}";
	g2.cap_parent_offset = 19;
	out = tg_rewrite_h1(request(b3), strlen(request(b3)), &g2, &len);
	cr_assert_not_null(out);
	expect(out, len, "{\"inferenceConfig\":{\"maxTokens\":9 }}");
	free(out);
}

/* Gemini and Bedrock name the model in the URL: over HTTP/1.1 a downgrade
 * rewrites the request line's path (query kept), a clamp the body too. */
static void path_downgrade(const char *target, const char *endpoint, const char *model,
                           const char *want_target, int64_t cap)
{
	const char *body = "{\"contents\":[],\"generationConfig\":{}}";
	char req[1024], want[1024];
	snprintf(req, sizeof req, "POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n%s",
	         target, strlen(body), body);
	struct tg_request_info info = { .model_offset = -1, .model_len = -1, .max_tokens = -1,
	                                 .max_tokens_offset = -1, .max_tokens_len = -1,
	                                 .cap_parent_offset = 34 };
	struct tg_rewrite rw;
	tg_rewrite_plan(&rw, endpoint, &info, model, cap, "generationConfig.maxOutputTokens");
	size_t len;
	char *out = tg_rewrite_h1(req, strlen(req), &rw, &len);
	cr_assert_not_null(out, "%s", target);
	const char *nb = cap >= 0 ? "{\"contents\":[],\"generationConfig\":{\"maxOutputTokens\":7}}" : body;
	int n = snprintf(want, sizeof want, "POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n%s",
	                 want_target, strlen(nb), nb);
	cr_assert(len == (size_t)n && memcmp(out, want, len) == 0, "got:\n%.*s\nwant:\n%s", (int)len, out, want);
	free(out);
}

Test(rewrite, a_model_named_in_the_url_is_rewritten_in_the_request_line)
{
	path_downgrade("/v1beta/models/gemini-2.5-pro:generateContent?alt=sse",
	               "/v1beta/models/gemini-2.5-pro:generateContent", "gemini-2.5-flash",
	               "/v1beta/models/gemini-2.5-flash:generateContent?alt=sse", -1);
	path_downgrade("/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse",
	               "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse",
	               "us.anthropic.claude-haiku-4-5-20251001-v1:0",
	               "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse", -1);
	path_downgrade("/v1beta/models/gemini-2.5-pro:generateContent",
	               "/v1beta/models/gemini-2.5-pro:generateContent", "gemini-2.5-flash",
	               "/v1beta/models/gemini-2.5-flash:generateContent", 7);
}

Test(rewrite, a_url_model_is_never_changed_where_it_cannot_be)
{
	struct tg_request_info info = { .model_offset = 9, .model_len = 8, .max_tokens = -1,
	                                 .max_tokens_offset = -1, .max_tokens_len = -1,
	                                 .cap_parent_offset = -1 };
	const char *body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
	char out[64];
	struct tg_rewrite rw;
	/* An Azure deployment is the user's own name: no body edit either,
	 * since the deployment, not the body, picks the model served. */
	tg_rewrite_plan(&rw, "/openai/deployments/prod/chat/completions", &info, "gpt-4o-mini", -1, NULL);
	char *req = request(body);
	size_t len;
	cr_assert_null(tg_rewrite_h1(req, strlen(req), &rw, &len));
	cr_assert_eq(tg_rewrite_body_same_length(body, strlen(body), &rw, out), -1);
	/* HTTP/2: the :path is HPACK-encoded, never re-encoded. */
	tg_rewrite_plan(&rw, "/v1beta/models/gemini-2.5-pro:generateContent", &info, "gemini-2.5-flash",
	                -1, NULL);
	cr_assert_eq(tg_rewrite_body_same_length(body, strlen(body), &rw, out), -1);
	/* A clamp alone still edits an Azure body. */
	tg_rewrite_plan(&rw, "/openai/deployments/prod/chat/completions", &info, NULL, 7, "max_tokens");
	out[0] = '\0';
	char *o = tg_rewrite_h1(req, strlen(req), &rw, &len);
	cr_assert_not_null(o);
	free(o);
	cr_assert_eq(tg_rewrite_path_model("/openai/deployments/prod/chat/completions", "x", out, sizeof out), -1);
}

Test(rewrite, drops_a_header_and_its_continuation_keeping_the_rest)
{
	static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
	                          "X-TokenGuard-Tags: feature=search\r\n  ,team=a\r\n"
	                          "x-tokenguard-tagsx: keep\r\nContent-Length: 2\r\n"
	                          "x-tokenguard-tags: user=b\r\n\r\n{}NEXT";
	static const char want[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
	                           "x-tokenguard-tagsx: keep\r\nContent-Length: 2\r\n\r\n{}NEXT";
	size_t n;
	char *out = tg_rewrite_h1_drop_header(req, sizeof req - 1, "x-tokenguard-tags", &n);

	cr_assert(out != NULL);
	cr_assert_eq(n, sizeof want - 1);
	cr_assert(memcmp(out, want, n) == 0, "%.*s", (int)n, out);
	free(out);
}

Test(rewrite, leaves_a_request_without_the_header_or_with_its_headers_cut)
{
	static const char none[] = "GET / HTTP/1.1\r\nHost: a\r\nx-other: x-tokenguard-tags: no\r\n\r\n";
	static const char cut[] = "GET / HTTP/1.1\r\nHost: a\r\nx-tokenguard-tags: a=b\r\n";
	static const char body_only[] = "{\"x-tokenguard-tags\":1}\r\n\r\n";
	/* a bare LF before it: without its CRLF the head would end elsewhere */
	static const char bare_lf[] = "GET / HTTP/1.1\r\nHost: a\nx-tokenguard-tags: a=b\r\n\r\n";
	size_t n;

	cr_assert_null(tg_rewrite_h1_drop_header(none, sizeof none - 1, "x-tokenguard-tags", &n));
	cr_assert_null(tg_rewrite_h1_drop_header(cut, sizeof cut - 1, "x-tokenguard-tags", &n));
	cr_assert_null(tg_rewrite_h1_drop_header(body_only, sizeof body_only - 1, "x-tokenguard-tags", &n));
	cr_assert_null(tg_rewrite_h1_drop_header(bare_lf, sizeof bare_lf - 1, "x-tokenguard-tags", &n));
}
