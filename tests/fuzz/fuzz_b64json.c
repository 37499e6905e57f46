/* sources: shim/b64json.c shim/json.c */
/* fuzz_b64json.c - libFuzzer target for the incremental base64 decoder and
 * the JSON documents it carries (shim/b64json.c), Bedrock
 * InvokeModelWithResponseStream's chunks.
 *
 * The first byte says where to cut the rest and whether to pad.  The rest
 * is decoded as base64 text whole and in two pieces: same bytes, same
 * verdict, and never more than 3 bytes per 4 characters.  It is also taken
 * as raw bytes, encoded, and decoded at the cut: it must come back
 * exactly.  Last, the text goes through tg_b64json whole and cut: the
 * scanner must see the same values and the same end.
 *
 * seed: \0003eyJ0eXBlIjoibWVzc2FnZV9zdG9wIn0=
 * seed: \0201{"generation":"x","prompt_token_count":7}
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64json.h"

#define MAX_IN (1 << 16)

static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t encode(char *out, const uint8_t *in, size_t n, int padded)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i += 3) {
		size_t have = n - i < 3 ? n - i : 3;
		uint32_t v = (uint32_t)in[i] << 16 | (have > 1 ? (uint32_t)in[i + 1] << 8 : 0) |
		             (have > 2 ? in[i + 2] : 0);

		out[w++] = abc[v >> 18];
		out[w++] = abc[v >> 12 & 63];
		if (have > 1 || padded)
			out[w++] = have > 1 ? abc[v >> 6 & 63] : '=';
		if (have > 2 || padded)
			out[w++] = have > 2 ? abc[v & 63] : '=';
	}
	return w;
}

/* Decodes text cut at `cut`: the bytes' length, or -1 when refused. */
static long decode(const char *text, size_t n, size_t cut, uint8_t *out)
{
	struct tg_b64 b;
	size_t w;

	tg_b64_init(&b);
	w = tg_b64_feed(&b, text, cut, out);
	w += tg_b64_feed(&b, text + cut, n - cut, out + w);
	if (w > n / 4 * 3 + 3)
		abort();
	return tg_b64_finish(&b) == 0 ? (long)w : -1;
}

static uint64_t seen;

static void on_value(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	(void)ctx;
	(void)s;
	for (size_t i = 0; i < ev->len; i++)
		seen = (seen ^ (unsigned char)ev->text[i]) * UINT64_C(0x100000001b3);
	seen = (seen ^ (uint64_t)ev->type ^ (uint64_t)ev->match << 8) * UINT64_C(0x100000001b3);
}

static int through_scanner(const struct tg_json_paths *t, const char *text, size_t n, size_t cut,
                           uint64_t *h)
{
	static struct tg_b64json d;
	int r;

	seen = 14695981039346656037u;
	tg_b64json_init(&d, t, on_value, NULL);
	tg_b64json_feed(&d, text, cut);
	tg_b64json_feed(&d, text + cut, n - cut);
	r = tg_b64json_finish(&d);
	*h = seen;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out1[MAX_IN], out2[MAX_IN];
	static char text[MAX_IN / 3 * 4 + 8];
	static struct tg_json_paths t;
	static int compiled;
	static const char *const patterns[] = { "prompt_token_count", "usage.output_tokens", "type" };
	static const int ids[] = { 0, 1, 2 };

	if (!compiled) {
		if (tg_json_paths_compile(&t, patterns, ids, 3) != 0)
			abort();
		compiled = 1;
	}
	if (size < 1 || size - 1 > MAX_IN)
		return 0;
	const char *in = (const char *)data + 1;
	size_t n = size - 1, cut = n ? (data[0] & 0x7F) % (n + 1) : 0;
	int padded = data[0] >> 7;

	long a = decode(in, n, n, out1), b = decode(in, n, cut, out2);
	if (a != b || (a > 0 && memcmp(out1, out2, (size_t)a) != 0))
		abort();

	size_t len = encode(text, data + 1, n, padded);
	size_t at = len ? cut * len / (n ? n : 1) : 0;
	if (decode(text, len, at, out1) != (long)n || memcmp(out1, data + 1, n) != 0)
		abort();

	uint64_t h1, h2;
	if (through_scanner(&t, in, n, n, &h1) != through_scanner(&t, in, n, cut, &h2) || h1 != h2)
		abort();
	/* and the raw bytes, encoded: the document they are, if any */
	if (through_scanner(&t, text, len, at, &h1) != through_scanner(&t, text, len, len, &h2) || h1 != h2)
		abort();
	return 0;
}
