/* b64json.h - a JSON document carried base64-encoded inside a JSON string,
 * decoded as the string is read.
 *
 * Owns: struct tg_b64, an incremental base64 decoder (RFC 4648 section 4
 * alphabet, padded or not), and struct tg_b64json, which runs the decoded
 * bytes of one string value through a JSON scanner.  This is how Bedrock
 * InvokeModelWithResponseStream answers: each `chunk` event of its AWS
 * event stream is {"bytes":"<base64>"} (botocore
 * data/bedrock-runtime/2023-09-30/service-2.json: PayloadPart.bytes, a
 * blob, "Base64-encoded bytes of payload data"), whose decoded bytes are
 * one JSON event of the model's own stream (usage.c reads it).
 *
 * The string arrives in pieces of any size (tg_json_on_pieces); a base64
 * quantum may be split anywhere, and nothing is kept but the decoder's few
 * pending bits and the scanner.  Fixed size, no allocation.
 */
#ifndef TG_B64JSON_H
#define TG_B64JSON_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

struct tg_b64 {
	uint32_t bits;          /* pending bits, the low `nbits` of them */
	unsigned char nbits;
	unsigned char quantum;  /* characters of the current 4-character quantum */
	unsigned char pad_left; /* '=' still needed to end the quantum */
	unsigned char ended;    /* padding ended the text: nothing may follow */
	unsigned char error;
};

void tg_b64_init(struct tg_b64 *b);

/* Decodes n more characters into out, which must hold n / 4 * 3 + 3
 * bytes; returns the bytes written.  Any character outside the alphabet,
 * or after the padding, sets b->error and ends decoding. */
size_t tg_b64_feed(struct tg_b64 *b, const char *in, size_t n, unsigned char *out);

/* 0 when the text ended on a whole quantum (padded, or unpadded with 2 or
 * 3 characters in the last one), 1 when it ended inside one (a single
 * character, or padding not ended), -1 after a character outside the
 * alphabet or after the padding. */
int tg_b64_finish(const struct tg_b64 *b);

struct tg_b64json {
	struct tg_b64 b64;
	int open;                      /* a string's document is being decoded */
	int bad;                       /* ... and is not base64 of JSON */
	const struct tg_json_paths *paths;
	tg_json_cb cb;
	void *ctx;
	struct tg_json_scanner json;
};

/* The documents will go through a scanner following paths (which must
 * outlive d), reporting to cb with ctx. */
void tg_b64json_init(struct tg_b64json *d, const struct tg_json_paths *paths,
                     tg_json_cb cb, void *ctx);

/* More of the string (its decoded JSON text, still base64): the first
 * piece after tg_b64json_init or tg_b64json_finish starts a document. */
void tg_b64json_feed(struct tg_b64json *d, const char *text, size_t len);

/* The string ended: 0 when it held one whole JSON document, 1 when no
 * string was fed since the last finish (no document began), -1 when it
 * was not base64 or not one JSON document. */
int tg_b64json_finish(struct tg_b64json *d);

#endif
