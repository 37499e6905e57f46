/* sources: shim/json.c */
/* fuzz_json.c - libFuzzer target for the streaming JSON scanner.
 *
 * The first two bytes say where to cut the rest, which is one document.
 * It is scanned whole and again in two pieces; both runs must report the
 * same events (type, text, truncation, offset, span, depth and path) and
 * the same result.  Every event must lie inside the document and scalar
 * text within its bound.  A third run, cut at the same place, follows a
 * compiled set of paths: it must report exactly the events the first run
 * saw at those paths (tg_json_path_is), with the same text and offsets,
 * and the pieces of each matched string (tg_json_on_pieces) must make up
 * the text its event carries (the whole of it unless cut at the bound).
 *
 * seed: \0000\0005{"usage":{"prompt_tokens":12,"completion_tokens":3},"model":"gpt-4o","x":[true,false,null,-1.5e3,"\\u00e9\\ud83d\\ude00"]}
 * seed: \0000\0001[[[[[[[[[[[[[[[[[[[[{"a":"b"}]]]]]]]]]]]]]]]]]]]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct run {
	uint64_t h;
	uint64_t m;        /* events at the compiled paths */
	uint64_t n;        /* document length */
	size_t piece_len;  /* bytes of the matched string so far, in pieces */
	char pieces[1 << 16];
};

static const char *const patterns[] = {
	"usage.prompt_tokens", "usage", "data[].embedding", "choices[].delta.content",
	"model", "[].a", "a.b[][]", "x",
};
#define PATTERNS (sizeof patterns / sizeof patterns[0])

static void mix(uint64_t *h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		*h = (*h ^ p[i]) * UINT64_C(0x100000001b3);
}

static void mix_match(struct run *r, int id, const struct tg_json_event *ev)
{
	uint64_t v[4] = { (uint64_t)id, ev->type, ev->offset, ev->span };

	mix(&r->m, v, sizeof v);
	mix(&r->m, ev->text, ev->len);
	mix(&r->m, &ev->truncated, sizeof ev->truncated);
}

static void on_match(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct run *r = ctx;

	if (ev->match < 0 || (size_t)ev->match >= PATTERNS || !tg_json_path_is(s, patterns[ev->match]))
		abort();
	if (ev->type == TG_JSON_STRING ?
	    ev->len > r->piece_len || memcmp(ev->text, r->pieces, ev->len) != 0 ||
	    (!ev->truncated && ev->len != r->piece_len) :
	    r->piece_len != 0)
		abort();
	r->piece_len = 0;
	mix_match(r, ev->match, ev);
}

static void on_piece(void *ctx, int match, const char *buf, size_t len)
{
	struct run *r = ctx;

	if (match < 0 || (size_t)match >= PATTERNS || len == 0 || r->piece_len + len > sizeof r->pieces)
		abort();
	memcpy(r->pieces + r->piece_len, buf, len);
	r->piece_len += len;
}

static void on_event(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct run *r = ctx;
	uint64_t v[4] = { ev->type, ev->offset, ev->span, tg_json_depth(s) };
	int path = tg_json_path_is(s, "usage.*") | tg_json_path_is(s, "data[].embedding") << 1 |
	           tg_json_path_is(s, "choices[].delta.content") << 2;

	if (ev->len >= TG_JSON_TEXT_MAX || ev->text[ev->len] != '\0' || ev->offset + ev->span > r->n)
		abort();
	mix(&r->h, v, sizeof v);
	mix(&r->h, ev->text, ev->len);
	mix(&r->h, &ev->truncated, sizeof ev->truncated);
	mix(&r->h, &path, sizeof path);
	if (ev->type != TG_JSON_OBJECT_END && ev->type != TG_JSON_ARRAY_END)
		for (size_t i = 0; i < PATTERNS; i++)
			if (tg_json_path_is(s, patterns[i]))
				mix_match(r, (int)i, ev);
	for (unsigned l = 0; l < 3; l++) {
		long idx = tg_json_index(s, l);
		mix(&r->h, &idx, sizeof idx);
	}
}

static int scan(const char *s, size_t n, size_t cut, const struct tg_json_paths *t, struct run *r)
{
	static struct tg_json_scanner js;
	int rc;

	r->h = r->m = 0;
	r->piece_len = 0;
	r->n = n;
	if (t) {
		tg_json_init_paths(&js, t, on_match, r);
		tg_json_on_pieces(&js, on_piece);
	} else
		tg_json_init(&js, on_event, r);
	rc = tg_json_feed(&js, s, cut);
	if (tg_json_feed(&js, s + cut, n - cut) < 0)
		rc = -1;
	else if (rc < 0)
		abort();        /* not sticky */
	if (rc == 0)
		rc = tg_json_finish(&js);
	int done = tg_json_done(&js);
	mix(&r->h, &rc, sizeof rc);
	mix(&r->h, &done, sizeof done);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_json_paths t;
	static int compiled;
	static struct run whole, cut, matched;   /* large: off the stack */

	if (!compiled) {
		int ids[PATTERNS];

		for (size_t i = 0; i < PATTERNS; i++)
			ids[i] = (int)i;
		if (tg_json_paths_compile(&t, patterns, ids, PATTERNS) != 0)
			abort();
		compiled = 1;
	}
	if (size < 2)
		return 0;
	const char *s = (const char *)data + 2;
	size_t n = size - 2, at = n ? ((size_t)data[0] << 8 | data[1]) % (n + 1) : 0;

	if (scan(s, n, n, NULL, &whole) != scan(s, n, at, NULL, &cut) || whole.h != cut.h)
		abort();
	if (scan(s, n, at, &t, &matched) != scan(s, n, n, NULL, &whole) || matched.m != whole.m)
		abort();
	return 0;
}
