/* b64json.c - see b64json.h.
 *
 * Why a decoder of our own: the shim links libc alone and loads every
 * other library on first need (lazylib.h); libc has no base64 decoder,
 * OpenSSL's EVP_DecodeUpdate needs a context allocated per call site
 * (EVP_ENCODE_CTX_new) and accepts line breaks and '-' that no JSON blob
 * carries, and GLib's g_base64_decode_step would be a library loaded into
 * every provider-calling process for 40 lines.  These are those lines. */
#include "b64json.h"

#include <string.h>

void tg_b64_init(struct tg_b64 *b)
{
	memset(b, 0, sizeof *b);
}

static int sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* '=' ends a quantum of 2 or 3 characters: "xx==" or "xxx=". */
static int pad(struct tg_b64 *b)
{
	if (b->pad_left == 0) {
		if (b->quantum < 2)
			return -1;
		b->pad_left = (unsigned char)(4 - b->quantum);
	}
	if (--b->pad_left == 0) {
		b->ended = 1;
		b->quantum = 0;
		b->nbits = 0;       /* the bits left over are padding */
	}
	return 0;
}

size_t tg_b64_feed(struct tg_b64 *b, const char *in, size_t n, unsigned char *out)
{
	size_t w = 0;

	for (size_t i = 0; i < n && !b->error; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (b->ended) {
			b->error = 1;
		} else if (c == '=') {
			if (pad(b) < 0)
				b->error = 1;
		} else if (b->pad_left || (v = sextet(c)) < 0) {
			b->error = 1;
		} else {
			b->bits = (b->bits << 6 | (uint32_t)v) & 0xFFFFFF;
			b->nbits += 6;
			b->quantum = (unsigned char)((b->quantum + 1) & 3);
			if (b->nbits >= 8) {
				b->nbits -= 8;
				out[w++] = (unsigned char)(b->bits >> b->nbits);
			}
		}
	}
	return w;
}

int tg_b64_finish(const struct tg_b64 *b)
{
	if (b->error)
		return -1;
	return b->pad_left || b->quantum == 1 ? 1 : 0;
}

void tg_b64json_init(struct tg_b64json *d, const struct tg_json_paths *paths,
                     tg_json_cb cb, void *ctx)
{
	d->open = 0;
	d->bad = 0;
	d->paths = paths;
	d->cb = cb;
	d->ctx = ctx;
}

void tg_b64json_feed(struct tg_b64json *d, const char *text, size_t len)
{
	unsigned char out[96];

	if (!d->open) {
		tg_b64_init(&d->b64);
		tg_json_init_paths(&d->json, d->paths, d->cb, d->ctx);
		d->open = 1;
		d->bad = 0;
	}
	while (len > 0 && !d->bad) {
		size_t take = len < 124 ? len : 124;     /* 124 / 4 * 3 + 3 = 96 */
		size_t n = tg_b64_feed(&d->b64, text, take, out);

		/* what decoded before a bad character is fed all the same, so
		 * that the values seen do not depend on where reads end */
		if (tg_json_feed(&d->json, (const char *)out, n) < 0 || d->b64.error)
			d->bad = 1;
		text += take;
		len -= take;
	}
}

int tg_b64json_finish(struct tg_b64json *d)
{
	int r;

	if (!d->open)
		return 1;
	d->open = 0;
	r = !d->bad && tg_b64_finish(&d->b64) == 0 && tg_json_finish(&d->json) == 0;
	return r ? 0 : -1;
}
