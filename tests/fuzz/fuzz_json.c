/* sources: shim/json_scan.c */
/* fuzz_json.c - libFuzzer target for the streaming JSON scanner.
 *
 * The first two bytes say where to cut the rest, which is one document.
 * It is scanned whole and again in two pieces; both runs must report the
 * same events (type, text, truncation, offset, span, depth and path) and
 * the same result.  Every event must lie inside the document and scalar
 * text within its bound.
 *
 * seed: \0000\0005{"usage":{"prompt_tokens":12,"completion_tokens":3},"model":"gpt-4o","x":[true,false,null,-1.5e3,"\\u00e9\\ud83d\\ude00"]}
 * seed: \0000\0001[[[[[[[[[[[[[[[[[[[[{"a":"b"}]]]]]]]]]]]]]]]]]]]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

struct run {
	uint64_t h;
	uint64_t n;        /* document length */
};

static void mix(struct run *r, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		r->h = (r->h ^ p[i]) * UINT64_C(0x100000001b3);
}

static void on_event(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct run *r = ctx;
	uint64_t v[4] = { ev->type, ev->offset, ev->span, tg_json_depth(s) };
	int path = tg_json_path_is(s, "usage.*") | tg_json_path_is(s, "data[].embedding") << 1 |
	           tg_json_path_is(s, "choices[].delta.content") << 2;

	if (ev->len >= TG_JSON_TEXT_MAX || ev->text[ev->len] != '\0' || ev->offset + ev->span > r->n)
		abort();
	mix(r, v, sizeof v);
	mix(r, ev->text, ev->len);
	mix(r, &ev->truncated, sizeof ev->truncated);
	mix(r, &path, sizeof path);
	for (unsigned l = 0; l < 3; l++) {
		long idx = tg_json_index(s, l);
		mix(r, &idx, sizeof idx);
	}
}

static int scan(const char *s, size_t n, size_t cut, struct run *r)
{
	static struct tg_json_scanner js;
	int rc;

	memset(r, 0, sizeof *r);
	r->n = n;
	tg_json_reset(&js, on_event, r);
	rc = tg_json_feed(&js, s, cut);
	if (tg_json_feed(&js, s + cut, n - cut) < 0)
		rc = -1;
	else if (rc < 0)
		abort();        /* not sticky */
	if (rc == 0)
		rc = tg_json_finish(&js);
	int done = tg_json_done(&js);
	mix(r, &rc, sizeof rc);
	mix(r, &done, sizeof done);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, cut;

	if (size < 2)
		return 0;
	const char *s = (const char *)data + 2;
	size_t n = size - 2, at = n ? ((size_t)data[0] << 8 | data[1]) % (n + 1) : 0;

	if (scan(s, n, n, &whole) != scan(s, n, at, &cut) || whole.h != cut.h)
		abort();
	return 0;
}
