/* reqscan.c - what a request body says about the exchange.  See reqscan.h. */
#include "reqscan.h"

#include <pthread.h>
#include <string.h>

#include "digits.h"
#include "tags.h"

/* What a request body is read for, compiled once into a path trie
 * (json.h): messages, tools and the rest are only checked. */
enum { P_MODEL, P_STREAM, P_INCLUDE_USAGE, P_MAX_TOKENS, P_THINKING, P_CAP_PARENT,
       P_USER, P_USER_ID, P_SAFETY_ID, P_META };

/* thinking.type is "enabled" (budget_tokens), "adaptive" or "disabled"
 * (https://docs.claude.com/en/api/messages, request "thinking"); any type
 * but "disabled" may think. */
static const char *const patterns[] = {
	"model", "stream", "stream_options.include_usage",
	"max_tokens", "max_completion_tokens", "max_output_tokens",
	"generationConfig.maxOutputTokens", "inferenceConfig.maxTokens",
	"thinking.type",
	"generationConfig", "inferenceConfig",
	/* attribution: OpenAI chat, Responses, completions and embeddings
	 * (and the OpenAI-compatible APIs) take "user" and
	 * "safety_identifier"; Anthropic "metadata.user_id"; the maps are
	 * OpenAI's "metadata", Bedrock Converse's "requestMetadata" and
	 * Gemini / Vertex AI's "labels" */
	"user", "metadata.user_id", "safety_identifier",
	"metadata.*", "requestMetadata.*", "labels.*",
};
static const int pattern_ids[] = {
	P_MODEL, P_STREAM, P_INCLUDE_USAGE,
	P_MAX_TOKENS, P_MAX_TOKENS, P_MAX_TOKENS,
	P_MAX_TOKENS, P_MAX_TOKENS,
	P_THINKING,
	P_CAP_PARENT, P_CAP_PARENT,
	P_USER, P_USER_ID, P_SAFETY_ID,
	P_META, P_META, P_META,
};

static struct tg_json_paths paths;
static pthread_once_t paths_once = PTHREAD_ONCE_INIT;
static int paths_failed;

static void compile_paths(void)
{
	paths_failed = tg_json_paths_compile(&paths, patterns, pattern_ids,
	                                     sizeof patterns / sizeof patterns[0]) != 0;
}

/* One map entry as the tag "meta.KEY=VALUE", unless the map is full or
 * the cleaned key is empty or already taken (the first one wins). */
static void add_meta(struct tg_request_info *in, const struct tg_json_scanner *s,
                     const struct tg_json_event *ev)
{
	struct tg_request_tag *t;
	const char *key;
	size_t klen;

	if (in->nmeta == TG_REQ_META_MAX || !(key = tg_json_key(s, 1, &klen)) || klen == 0)
		return;
	t = &in->meta[in->nmeta];
	memcpy(t->key, "meta.", 5);
	tg_tag_clean(t->key + 5, sizeof t->key - 5, key, klen, 1);
	for (int i = 0; i < in->nmeta; i++)
		if (!strcmp(in->meta[i].key, t->key))
			return;
	tg_tag_clean(t->value, sizeof t->value, ev->text, ev->len, 0);
	in->nmeta++;
}

static void on_json(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct tg_request_info *in = ctx;

	if (ev->type == TG_JSON_STRING && ev->match >= P_USER) {
		/* "user" wins over "metadata.user_id": the field made for it */
		if (ev->match == P_USER || (ev->match == P_USER_ID && !in->user[0]))
			tg_tag_clean(in->user, sizeof in->user, ev->text, ev->len, 0);
		else if (ev->match == P_SAFETY_ID)
			tg_tag_clean(in->safety_id, sizeof in->safety_id, ev->text, ev->len, 0);
		else if (ev->match == P_META)
			add_meta(in, s, ev);
	} else if (ev->type == TG_JSON_OBJECT_BEGIN && ev->match == P_CAP_PARENT) {
		if (in->cap_parent_offset < 0)
			in->cap_parent_offset = (int64_t)ev->offset;
	} else if (ev->type == TG_JSON_STRING && ev->match == P_MODEL) {
		size_t len = ev->len;

		if (len > TG_MODEL_MAX - 1) {
			len = TG_MODEL_MAX - 1;
			while (len > 0 && ((unsigned char)ev->text[len] & 0xC0) == 0x80)
				len--;
		}
		memcpy(in->model, ev->text, len);
		in->model[len] = '\0';
		in->model_offset = (int64_t)ev->offset;
		in->model_len = (int64_t)ev->span;
	} else if (ev->type == TG_JSON_STRING && ev->match == P_THINKING) {
		in->thinking = !(ev->len == 8 && memcmp(ev->text, "disabled", 8) == 0);
	} else if (ev->type == TG_JSON_TRUE || ev->type == TG_JSON_FALSE) {
		int v = ev->type == TG_JSON_TRUE;

		if (ev->match == P_STREAM)
			in->stream = v;
		else if (ev->match == P_INCLUDE_USAGE)
			in->include_usage = v;
	} else if (ev->type == TG_JSON_NUMBER && in->max_tokens_offset < 0 && ev->match == P_MAX_TOKENS) {
		uint64_t v;

		if (!tg_digits_all(ev->text, ev->len, TG_DIGITS_18, &v))
			return;
		in->max_tokens = (int64_t)v;
		in->max_tokens_offset = (int64_t)ev->offset;
		in->max_tokens_len = (int64_t)ev->span;
	}
}

void tg_reqscan_init(struct tg_reqscan *r)
{
	struct tg_request_info *in = &r->info;

	in->model[0] = '\0';
	in->stream = 0;
	in->include_usage = 0;
	in->model_offset = in->model_len = -1;
	in->max_tokens = in->max_tokens_offset = in->max_tokens_len = -1;
	in->cap_parent_offset = -1;
	in->thinking = 0;
	in->malformed = 0;
	in->user[0] = '\0';
	in->safety_id[0] = '\0';
	in->nmeta = 0;
	pthread_once(&paths_once, compile_paths);
	/* Only if the patterns were wrong (the unit tests check): the body is
	 * then checked and nothing read from it. */
	tg_json_init_paths(&r->json, paths_failed ? NULL : &paths, paths_failed ? NULL : on_json, in);
}

int tg_reqscan_feed(struct tg_reqscan *r, const char *buf, size_t len)
{
	if (tg_json_feed(&r->json, buf, len) < 0) {
		r->info.malformed = 1;
		return -1;
	}
	return 0;
}

void tg_reqscan_finish(struct tg_reqscan *r, struct tg_request_info *out)
{
	if (tg_json_finish(&r->json) != 0)
		r->info.malformed = 1;
	/* a key not seen in a body not read to its end may still be there */
	if (r->info.malformed)
		r->info.thinking = -1;
	*out = r->info;
}

/* Copies src[0..len) URL-decoded; returns the decoded length or -1. */
static int decode(const char *src, size_t len, char *out, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = tg_hex_digit(src[i + 1]);
			lo = hi < 0 ? -1 : tg_hex_digit(src[i + 2]);
			if (lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 < n)
			out[o++] = c;
	}
	out[o] = '\0';
	return (int)o;
}

/* Finds "/seg/" in path; returns what follows it, or NULL. */
static const char *after_segment(const char *path, const char *seg)
{
	const char *p = path, *hit = NULL;
	size_t n = strlen(seg);

	/* the last match: Vertex paths have other segments before models/ */
	while ((p = strstr(p, seg)) != NULL) {
		hit = p + n;
		p += n;
	}
	return hit;
}

enum tg_path_model tg_model_span(const char *endpoint, size_t *at, size_t *len)
{
	const char *name;
	enum tg_path_model kind = TG_PATH_MODEL_NAME;

	if (!endpoint)
		return TG_PATH_MODEL_NONE;
	if (strncmp(endpoint, "/model/", 7) == 0) {
		name = endpoint + 7;
		*len = strcspn(name, "/");
	} else if (strncmp(endpoint, "/openai/deployments/", 20) == 0) {
		name = endpoint + 20;
		*len = strcspn(name, "/");
		kind = TG_PATH_MODEL_DEPLOYMENT;
	} else if ((name = after_segment(endpoint, "/models/")) != NULL) {
		*len = strcspn(name, ":/");
	} else {
		return TG_PATH_MODEL_NONE;
	}
	*at = (size_t)(name - endpoint);
	return *len ? kind : TG_PATH_MODEL_NONE;
}

int tg_model_from_path(const char *endpoint, char *out, size_t n)
{
	size_t at, len;

	if (n == 0)
		return -1;
	out[0] = '\0';
	if (tg_model_span(endpoint, &at, &len) == TG_PATH_MODEL_NONE)
		return 0;
	return decode(endpoint + at, len, out, n);
}
