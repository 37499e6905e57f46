/* decode.c - streaming Content-Encoding decoders over zlib, libbrotlidec
 * and libzstd.
 *
 * Owns the per-library decode loops behind tg_decoder_feed(): each keeps
 * calling its library until the input is used up and no output is left
 * pending, emptying the struct's output buffer into the callback every round.
 */
#include "decode.h"

#include "text.h"

#include <stdint.h>
#include <string.h>

#include <brotli/decode.h>
#include <zstd.h>

enum {
	D_RUN,
	D_ENDED,    /* a stream that cannot be continued has ended */
	D_FAILED,
	D_TOO_LARGE, /* the output limit was passed: no further work */
};

/* zlib counts in uInt; larger inputs are fed in slices of this size. */
#define ZLIB_SLICE (1u << 30)

enum tg_encoding tg_encoding_parse(const char *value, size_t len)
{
	const char *tok = NULL;
	size_t toklen = 0, i = 0;
	int count = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (value[i] == ' ' || value[i] == '\t'))
			i++;
		start = i;
		while (i < len && value[i] != ',')
			i++;
		end = i;
		while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
			end--;
		if (i < len)
			i++;
		if (end == start)
			continue;
		tok = value + start;
		toklen = end - start;
		count++;
	}
	if (count == 0)
		return TG_ENC_IDENTITY;
	if (count > 1)
		return TG_ENC_UNSUPPORTED;
	if (tg_name_is(tok, toklen, "identity"))
		return TG_ENC_IDENTITY;
	if (tg_name_is(tok, toklen, "gzip") || tg_name_is(tok, toklen, "x-gzip"))
		return TG_ENC_GZIP;
	if (tg_name_is(tok, toklen, "deflate"))
		return TG_ENC_DEFLATE;
	if (tg_name_is(tok, toklen, "br"))
		return TG_ENC_BR;
	if (tg_name_is(tok, toklen, "zstd"))
		return TG_ENC_ZSTD;
	return TG_ENC_UNSUPPORTED;
}

int tg_decoder_init(struct tg_decoder *d, enum tg_encoding enc)
{
	memset(d, 0, offsetof(struct tg_decoder, out));
	d->enc = enc;
	d->state = D_RUN;
	switch (enc) {
	case TG_ENC_IDENTITY:
		return 0;
	case TG_ENC_DEFLATE:
		/* Which inflate mode is needed is known from the first bytes. */
		return 0;
	case TG_ENC_GZIP:
		if (inflateInit2(&d->u.z, 15 + 16) != Z_OK)
			break;
		d->live = 1;
		return 0;
	case TG_ENC_BR:
		d->u.br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
		if (d->u.br == NULL)
			break;
		d->live = 1;
		return 0;
	case TG_ENC_ZSTD:
		d->u.zstd = ZSTD_createDStream();
		if (d->u.zstd == NULL)
			break;
		d->live = 1;
		if (ZSTD_isError(ZSTD_DCtx_setParameter(d->u.zstd, ZSTD_d_windowLogMax, TG_DECODE_ZSTD_WINDOW_LOG)))
			break;
		return 0;
	case TG_ENC_UNSUPPORTED:
		break;
	}
	d->state = D_FAILED;
	return -1;
}

void tg_decoder_free(struct tg_decoder *d)
{
	if (d->live) {
		switch (d->enc) {
		case TG_ENC_GZIP:
		case TG_ENC_DEFLATE:
			inflateEnd(&d->u.z);
			break;
		case TG_ENC_BR:
			BrotliDecoderDestroyInstance(d->u.br);
			break;
		case TG_ENC_ZSTD:
			ZSTD_freeDStream(d->u.zstd);
			break;
		default:
			break;
		}
	}
	d->live = 0;
	d->state = D_FAILED;
}

/* Hands n decoded bytes on; returns 1 once the output is past the limit
 * (decode.h), which every decode loop obeys at once: the point is to stop
 * the library working, not just to stop reading what it makes. */
static int emit(struct tg_decoder *d, size_t n, tg_decoded_fn out, void *ctx)
{
	if (n > 0 && out)
		out(ctx, d->out, n);
	d->out_total += n;
	return d->out_total > TG_DECODE_OUT_FLOOR && d->out_total / TG_DECODE_MAX_RATIO > d->in_total;
}

static int inflate_some(struct tg_decoder *d, const unsigned char *in, size_t len, tg_decoded_fn out, void *ctx)
{
	z_stream *z = &d->u.z;

	if (d->state == D_ENDED)
		return len > 0 ? -1 : 0;
	while (len > 0) {
		uInt slice = len > ZLIB_SLICE ? ZLIB_SLICE : (uInt)len;

		z->next_in = (Bytef *)(uintptr_t)in;
		z->avail_in = slice;
		do {
			uInt before = z->avail_in;
			int r;

			z->next_out = (Bytef *)d->out;
			z->avail_out = sizeof d->out;
			r = inflate(z, Z_NO_FLUSH);
			d->in_total += before - z->avail_in;
			if (emit(d, sizeof d->out - z->avail_out, out, ctx))
				return TG_DECODE_TOO_LARGE;
			if (r == Z_STREAM_END) {
				/* gzip members may follow one another; a deflate stream is alone. */
				if (d->enc == TG_ENC_DEFLATE) {
					d->state = D_ENDED;
					return z->avail_in > 0 || len > slice ? -1 : 0;
				}
				if (inflateReset(z) != Z_OK)
					return -1;
			} else if (r == Z_BUF_ERROR) {
				break;
			} else if (r != Z_OK) {
				return -1;
			}
		} while (z->avail_in > 0 || z->avail_out == 0);
		in += slice;
		len -= slice;
	}
	return 0;
}

/* RFC 1950: CM 8, a window of at most 32 KiB and a header check that makes
 * the first two bytes a multiple of 31.  Raw deflate rarely looks like
 * that by chance. */
static int looks_zlib_wrapped(const unsigned char h[2])
{
	return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((h[0] << 8) | h[1]) % 31 == 0;
}

static int deflate_feed(struct tg_decoder *d, const unsigned char *in, size_t len, tg_decoded_fn out, void *ctx)
{
	if (!d->live) {
		size_t take = sizeof d->head - d->nhead;

		if (take > len)
			take = len;
		memcpy(d->head + d->nhead, in, take);
		d->nhead += take;
		in += take;
		len -= take;
		if (d->nhead < sizeof d->head)
			return 0;
		if (inflateInit2(&d->u.z, looks_zlib_wrapped(d->head) ? 15 : -15) != Z_OK)
			return -1;
		d->live = 1;
		int r = inflate_some(d, d->head, sizeof d->head, out, ctx);

		if (r != 0)
			return r;
	}
	return inflate_some(d, in, len, out, ctx);
}

static int brotli_feed(struct tg_decoder *d, const unsigned char *in, size_t len, tg_decoded_fn out, void *ctx)
{
	if (d->state == D_ENDED)
		return len > 0 ? -1 : 0;
	for (;;) {
		uint8_t *next_out = (uint8_t *)d->out;
		size_t avail_out = sizeof d->out;
		size_t before = len;
		BrotliDecoderResult r;

		r = BrotliDecoderDecompressStream(d->u.br, &len, &in, &avail_out, &next_out, NULL);
		d->in_total += before - len;
		if (emit(d, sizeof d->out - avail_out, out, ctx))
			return TG_DECODE_TOO_LARGE;
		switch (r) {
		case BROTLI_DECODER_RESULT_SUCCESS:
			d->state = D_ENDED;
			return len > 0 ? -1 : 0;
		case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
			return 0;
		case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
			break;
		default:
			return -1;
		}
	}
}

static int zstd_feed(struct tg_decoder *d, const unsigned char *in, size_t len, tg_decoded_fn out, void *ctx)
{
	ZSTD_inBuffer ib = { in, len, 0 };
	ZSTD_outBuffer ob;

	/* After a frame ends the stream starts the next one by itself. */
	do {
		size_t before = ib.pos;
		size_t r;

		ob.dst = d->out;
		ob.size = sizeof d->out;
		ob.pos = 0;
		r = ZSTD_decompressStream(d->u.zstd, &ob, &ib);
		if (ZSTD_isError(r))
			return -1;
		d->in_total += ib.pos - before;
		if (emit(d, ob.pos, out, ctx))
			return TG_DECODE_TOO_LARGE;
	} while (ib.pos < ib.size || ob.pos == ob.size);
	return 0;
}

int tg_decoder_feed(struct tg_decoder *d, const char *in, size_t len, tg_decoded_fn out, void *ctx)
{
	const unsigned char *u = (const unsigned char *)in;
	int r = -1;

	if (d->state == D_FAILED)
		return -1;
	if (d->state == D_TOO_LARGE)
		return TG_DECODE_TOO_LARGE;
	switch (d->enc) {
	case TG_ENC_IDENTITY:
		/* In place, but cut like decoded output so callbacks see one bound. */
		while (len > 0) {
			size_t n = len < TG_DECODE_CHUNK ? len : TG_DECODE_CHUNK;

			if (out)
				out(ctx, in, n);
			in += n;
			len -= n;
		}
		return 0;
	case TG_ENC_GZIP:
		r = inflate_some(d, u, len, out, ctx);
		break;
	case TG_ENC_DEFLATE:
		r = deflate_feed(d, u, len, out, ctx);
		break;
	case TG_ENC_BR:
		r = brotli_feed(d, u, len, out, ctx);
		break;
	case TG_ENC_ZSTD:
		r = zstd_feed(d, u, len, out, ctx);
		break;
	case TG_ENC_UNSUPPORTED:
		break;
	}
	if (r < 0)
		d->state = D_FAILED;
	else if (r == TG_DECODE_TOO_LARGE)
		d->state = D_TOO_LARGE;
	return r;
}
