/* test_b64json.c - the incremental base64 decoder and the JSON documents
 * it carries (shim/b64json.c): every length of input, cut at every
 * position, against a reference encoding; what it must refuse. */
#include <criterion/criterion.h>
#include <string.h>

#include "b64json.h"

static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 encoding of n bytes, padded or not; returns its length. */
static size_t encode(char *out, const unsigned char *in, size_t n, int padded)
{
	size_t w = 0, i;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t have = n - i < 3 ? n - i : 3;

		if (have > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (have > 2)
			v |= in[i + 2];
		out[w++] = abc[v >> 18];
		out[w++] = abc[v >> 12 & 63];
		if (have > 1)
			out[w++] = abc[v >> 6 & 63];
		else if (padded)
			out[w++] = '=';
		if (have > 2)
			out[w++] = abc[v & 63];
		else if (padded)
			out[w++] = '=';
	}
	return w;
}

/* Decodes text cut at `cut`; returns the bytes, -1 on refusal. */
static long decode(const char *text, size_t len, size_t cut, unsigned char *out)
{
	struct tg_b64 b;
	size_t n;

	tg_b64_init(&b);
	n = tg_b64_feed(&b, text, cut, out);
	n += tg_b64_feed(&b, text + cut, len - cut, out + n);
	return tg_b64_finish(&b) == 0 ? (long)n : -1;
}

Test(b64, decodes_every_length_cut_anywhere_padded_or_not)
{
	unsigned char raw[64], out[64 + 8];
	char text[100];

	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)(i * 97 + 13);   /* every sextet value turns up */
	for (int padded = 0; padded < 2; padded++)
		for (size_t n = 0; n <= sizeof raw; n++) {
			size_t len = encode(text, raw, n, padded);

			for (size_t cut = 0; cut <= len; cut++) {
				long got = decode(text, len, cut, out);

				cr_assert_eq(got, (long)n, "%zu bytes, padded %d, cut at %zu: %ld", n, padded, cut, got);
				cr_assert(memcmp(out, raw, n) == 0, "%zu bytes, cut at %zu", n, cut);
			}
		}
}

Test(b64, refuses_what_is_not_base64)
{
	static const char *const bad[] = {
		"A", "ABCDE", "=", "A===", "AB=C", "ABC==", "AB==A", "AB==AB==", "AB*D",
		"AB\\/", "AB D", "ABCD=", "-_AA",
	};
	unsigned char out[16];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		for (size_t cut = 0; cut <= strlen(bad[i]); cut++)
			cr_assert_eq(decode(bad[i], strlen(bad[i]), cut, out), -1, "%s cut at %zu", bad[i], cut);
}

struct seen {
	char text[256];
	int values;
};

static void on_value(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct seen *w = ctx;

	(void)s;
	w->values++;
	strncat(w->text, ev->text, sizeof w->text - strlen(w->text) - 1);
}

/* The paths "a" only, compiled once. */
static const struct tg_json_paths *path_a(void)
{
	static const char *const patterns[] = { "a" };
	static const int ids[] = { 0 };
	static struct tg_json_paths paths;

	cr_assert_eq(tg_json_paths_compile(&paths, patterns, ids, 1), 0);
	return &paths;
}

/* One string of base64 text cut at `cut` through d: its end's verdict. */
static int one_string(struct tg_b64json *d, const char *text, size_t len, size_t cut)
{
	tg_b64json_feed(d, text, cut);
	tg_b64json_feed(d, text + cut, len - cut);
	return tg_b64json_finish(d);
}

Test(b64json, runs_each_strings_document_through_the_scanner)
{
	static const char doc[] = "{\"a\":\"x/y\",\"b\":[1,2]}";
	const struct tg_json_paths *paths = path_a();
	struct tg_b64json d;
	struct seen w;
	char text[64];
	size_t len = encode(text, (const unsigned char *)doc, strlen(doc), 1);

	for (size_t cut = 0; cut <= len; cut++) {
		memset(&w, 0, sizeof w);
		tg_b64json_init(&d, paths, on_value, &w);
		cr_assert_eq(tg_b64json_finish(&d), 1, "no string, no document");
		cr_assert_eq(one_string(&d, text, len, cut), 0, "cut at %zu", cut);
		cr_assert_eq(one_string(&d, text, len, cut), 0, "again, cut at %zu", cut);
		cr_assert_str_eq(w.text, "x/yx/y");
		cr_assert_eq(w.values, 2);
	}
	/* base64 of a document cut short, and of two documents */
	tg_b64json_init(&d, paths, on_value, &w);
	len = encode(text, (const unsigned char *)doc, 10, 1);
	cr_assert_eq(one_string(&d, text, len, len), -1);
	len = encode(text, (const unsigned char *)"{}{}", 4, 1);
	cr_assert_eq(one_string(&d, text, len, len), -1);
	cr_assert_eq(one_string(&d, "e30=", 4, 4), 0, "a refusal does not outlive its string");   /* {} */
}

/* What decoded before a bad character reaches the scanner at any cut
 * (the fuzzer found it fed only when the character came in a later read). */
Test(b64json, values_before_a_bad_character_do_not_depend_on_the_cut)
{
	static const char doc[] = "{\"a\":\"seen\",\"b\":\"more text to decode\"}";
	const struct tg_json_paths *paths = path_a();
	struct tg_b64json d;
	struct seen w;
	char text[128];
	size_t len = encode(text, (const unsigned char *)doc, strlen(doc), 1);

	text[len++] = '*';
	for (size_t cut = 0; cut <= len; cut++) {
		memset(&w, 0, sizeof w);
		tg_b64json_init(&d, paths, on_value, &w);
		cr_assert_eq(one_string(&d, text, len, cut), -1);
		cr_assert_str_eq(w.text, "seen", "cut at %zu", cut);
	}
}
