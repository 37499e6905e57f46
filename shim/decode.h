/* decode.h - Content-Encoding decoders, for inspecting bodies only.
 *
 * Owns: enum tg_encoding, the parsing of a Content-Encoding header value,
 * and struct tg_decoder, a streaming decoder for one body.  Decoded bytes
 * go to a callback (tg_decoded_fn) in pieces of at most TG_DECODE_CHUNK
 * bytes through a buffer inside the struct (identity hands on slices of
 * the input itself); a body is never held whole.  The traffic itself is
 * never altered: this is a copy for reading usage fields.
 *
 * Unlike the parsers, decoders allocate (the libraries do): their state at
 * tg_decoder_init(), their window once the stream's first bytes say how
 * large it must be, and nothing per call after that.  Memory held per
 * decoder, besides the struct (TG_DECODE_CHUNK plus under 200 bytes):
 *  - gzip, deflate: zlib's inflate state, about 7 KiB, plus the 32 KiB
 *    window;
 *  - br: some tens of KiB of state and Huffman tables plus a ring buffer
 *    sized from the stream's declared window, at most 16 MiB (large-window
 *    brotli, which is not valid as Content-Encoding, is refused);
 *  - zstd: the window, capped at 8 MiB (2^TG_DECODE_ZSTD_WINDOW_LOG, the
 *    limit RFC 9659 sets for Content-Encoding: zstd; frames asking for more
 *    are corrupt for us), plus about 230 KiB of context and block buffers:
 *    8.5 MiB at most;
 *  - identity: nothing.
 *
 * Work is bounded as well: a decoder stops for good (tg_decoder_feed()
 * returns TG_DECODE_TOO_LARGE) once its output passes both
 * TG_DECODE_OUT_FLOOR (64 MiB) and TG_DECODE_MAX_RATIO (32) times the
 * compressed bytes it has consumed, so a decompression bomb costs at most
 * max(64 MiB, 32 x its compressed size) of decoding, plus one chunk.  Why
 * those figures: the largest real responses are embeddings (OpenAI's 2048
 * inputs at 3072 dimensions: 25 MB of base64, about 190 MB of pretty-printed
 * float JSON), whose text gzip compresses 1.3:1 (base64) to 3.1:1 (floats), while
 * deflate bombs run at 1000:1 and brotli or zstd ones far beyond.  Every
 * body that decodes to 64 MiB or less is read whole, whatever its ratio.
 *
 * Multiple gzip members and multiple zstd frames in one body are decoded
 * one after another.  "deflate" is zlib-wrapped per RFC 9110, but some
 * servers send raw deflate: the first two bytes tell them apart.  After the
 * end of a deflate or brotli stream any further byte is corruption.
 */
#ifndef TG_DECODE_H
#define TG_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#define TG_DECODE_CHUNK (16 * 1024)
#define TG_DECODE_ZSTD_WINDOW_LOG 23
#define TG_DECODE_OUT_FLOOR ((uint64_t)64 << 20)
#define TG_DECODE_MAX_RATIO 32

/* What tg_decoder_feed() returns once the output limit above is passed. */
#define TG_DECODE_TOO_LARGE 1

enum tg_encoding { TG_ENC_IDENTITY, TG_ENC_GZIP, TG_ENC_DEFLATE, TG_ENC_BR, TG_ENC_ZSTD, TG_ENC_UNSUPPORTED };

/* A Content-Encoding header value: case-insensitive, "x-gzip" is gzip,
 * surrounding whitespace and empty list elements are ignored; "identity" or
 * an empty value is TG_ENC_IDENTITY.  Several codings (as in "gzip, br") or
 * any unknown one give TG_ENC_UNSUPPORTED. */
enum tg_encoding tg_encoding_parse(const char *value, size_t len);

/* Where a decoder hands the bytes it decoded, in order. */
typedef void (*tg_decoded_fn)(void *ctx, const char *buf, size_t len);

struct tg_decoder {
	enum tg_encoding enc;
	int state;
	int live;                /* the library's decoder exists */
	unsigned char head[2];   /* deflate: the first bytes, until the kind is known */
	size_t nhead;
	uint64_t in_total;       /* compressed bytes consumed */
	uint64_t out_total;      /* decoded bytes handed out */
	union {
		z_stream z;
		void *br;        /* BrotliDecoderState */
		void *zstd;      /* ZSTD_DStream */
	} u;
	char out[TG_DECODE_CHUNK];
};

/* Returns 0, or -1 if the decoder could not be allocated or enc is
 * TG_ENC_UNSUPPORTED; feeding such a decoder returns -1.  Call
 * tg_decoder_free() either way; calling it twice is harmless. */
int tg_decoder_init(struct tg_decoder *d, enum tg_encoding enc);

/* Decodes the next len bytes of the body, which may end anywhere, and hands
 * everything that can be decoded so far to out (NULL: decode and drop).
 * Returns 0, or -1 once the input is not valid in its encoding, or
 * TG_DECODE_TOO_LARGE once the output limit is passed (both sticky: the
 * decoder does no further work).
 * A truncated body is simply never finished; no call is needed at its
 * end. */
int tg_decoder_feed(struct tg_decoder *d, const char *in, size_t len, tg_decoded_fn out, void *ctx);

void tg_decoder_free(struct tg_decoder *d);

#endif
