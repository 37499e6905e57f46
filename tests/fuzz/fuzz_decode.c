/* sources: shim/decode.c */
/* fuzz_decode.c - libFuzzer target for each Content-Encoding decoder,
 * bombs included.
 *
 * The first byte picks the coding (identity, gzip, deflate, br, zstd) and,
 * with the second, where to cut the rest, which is one body.  It is
 * decoded whole and again in two pieces.  Whatever the input, every piece
 * handed out is between 1 and TG_DECODE_CHUNK bytes and the output never
 * passes the work bound of decode.h: max(64 MiB, 32 x the input) plus one
 * chunk; a decoder that stopped (failed or too large) keeps returning the
 * same and does no further work.  When neither run hit the output limit,
 * both must give the same result, and when that is success the same
 * bytes (where a bomb stops may depend on how its input was cut; brotli
 * may hold back the end of a truncated stream: there the two outputs must
 * agree as far as both go).  The seed corpus holds small
 * brotli and zstd bombs that decode to 256 MiB.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "decode.h"

#define KEEP (1u << 20)

struct run {
	uint64_t h;
	uint64_t out;
	char *kept;        /* the first KEEP bytes of the output */
};

static struct tg_decoder dec;

static void sink(void *ctx, const char *buf, size_t len)
{
	struct run *r = ctx;

	if (len == 0 || len > TG_DECODE_CHUNK)
		abort();
	/* Both ends read where the sanitizers see it, the rest by zlib's fast
	 * crc32: bombs hand out 64 MiB per run. */
	volatile char ends = (char)(buf[0] ^ buf[len - 1]);

	(void)ends;
	r->h = crc32((uLong)r->h, (const Bytef *)buf, (uInt)len);
	if (r->out < KEEP)
		memcpy(r->kept + r->out, buf, len < KEEP - r->out ? len : KEEP - r->out);
	r->out += len;
}

static int decode(enum tg_encoding enc, const char *s, size_t n, size_t cut, struct run *r)
{
	int rc, again;
	uint64_t bound = (uint64_t)n * TG_DECODE_MAX_RATIO;

	r->h = r->out = 0;
	if (tg_decoder_init(&dec, enc) != 0)
		abort();
	rc = tg_decoder_feed(&dec, s, cut, sink, r);
	if (rc == 0)
		rc = tg_decoder_feed(&dec, s + cut, n - cut, sink, r);
	if (bound < TG_DECODE_OUT_FLOOR)
		bound = TG_DECODE_OUT_FLOOR;
	if (enc != TG_ENC_IDENTITY && r->out > bound + TG_DECODE_CHUNK)
		abort();
	if (rc != 0) {
		uint64_t before = r->out;

		again = tg_decoder_feed(&dec, s, n, sink, r);
		if (again != rc || r->out != before)
			abort();        /* sticky, and no further work */
	}
	tg_decoder_free(&dec);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum tg_encoding encs[] = { TG_ENC_IDENTITY, TG_ENC_GZIP, TG_ENC_DEFLATE, TG_ENC_BR, TG_ENC_ZSTD };
	static char kept[2][KEEP];
	struct run whole = { .kept = kept[0] }, cut = { .kept = kept[1] };

	if (size < 2)
		return 0;
	enum tg_encoding enc = encs[data[0] % 5];
	const char *s = (const char *)data + 2;
	size_t n = size - 2, at = n ? ((size_t)(data[0] / 5) << 8 | data[1]) % (n + 1) : 0;
	int rw = decode(enc, s, n, n, &whole);

	if (rw == TG_DECODE_TOO_LARGE)
		return 0;       /* a bomb: bounded above; a second 64 MiB run adds little */
	int rc = decode(enc, s, n, at, &cut);

	if (rc == TG_DECODE_TOO_LARGE)
		return 0;
	if (rw != rc)
		abort();
	if (rw == 0 && enc == TG_ENC_BR) {
		/* A brotli stream not yet ended may keep output in its ring
		 * buffer, whose size depends on the input seen at once: of a
		 * truncated stream each run hands out a prefix. */
		uint64_t common = whole.out < cut.out ? whole.out : cut.out;

		if (memcmp(whole.kept, cut.kept, common < KEEP ? common : KEEP) != 0)
			abort();
	} else if (rw == 0 && (whole.h != cut.h || whole.out != cut.out)) {
		abort();
	}
	return 0;
}
