/* sources: shim/h1.c shim/decode.c */
/* fuzz_h1.c - libFuzzer target for the HTTP/1.1 parser and the decoders.
 *
 * The input, after two control bytes, is one direction of a connection.  It
 * is parsed as requests and as responses, each time whole and again in two
 * pieces cut where the control bytes say; response bodies go through the
 * decoder their Content-Encoding names.  Besides the sanitizers, the target
 * checks that cutting the stream changes nothing: the same callbacks with
 * the same arguments, the same body bytes, the same result.
 *
 * Starting inputs for run.sh (printf %b escapes; two control bytes first):
 * seed: \0000\0007GET /v1/models HTTP/1.1\0015\0012Host: a\0015\0012\0015\0012POST /v1/chat/completions HTTP/1.1\0015\0012Content-Length: 2\0015\0012\0015\0012{}
 * seed: \0001 POST /x HTTP/1.1\0015\0012Transfer-Encoding: chunked\0015\0012\0015\00125;e=1\0015\0012hello\0015\00120\0015\0012T: 1\0015\0012\0015\0012
 * seed: \00000HTTP/1.1 100 Continue\0015\0012\0015\0012HTTP/1.1 200 OK\0015\0012Transfer-Encoding: chunked\0015\0012\0015\00126\0015\0012data: \0015\00120\0015\0012\0015\0012HTTP/1.1 204 No Content\0015\0012\0015\0012HTTP/1.0 200 OK\0015\0012\0015\0012until close
 * seed: \0000\0011HTTP/1.1 200 OK\0015\0012Content-Encoding: gzip\0015\0012Content-Length: 49\0015\0012\0015\0012\0037\0213\0010\0000\0000\0000\0000\0000\0002\0003\0253V*-NLOU\0262\0252V*(\0312\0317-(\0211/\0311\0317N\0315+V\02622\0254\0255\0005\0000\03677C\0345\0035\0000\0000\0000
 * seed: \0000\0011HTTP/1.1 200 OK\0015\0012Content-Encoding: deflate\0015\0012Content-Length: 37\0015\0012\0015\0012x\0234\0253V*-NLOU\0262\0252V*(\0312\0317-(\0211/\0311\0317N\0315+V\02622\0254\0255\0005\0000\0240\0227\0012\0310
 * seed: \0000\0011HTTP/1.1 200 OK\0015\0012Content-Encoding: br\0015\0012Content-Length: 33\0015\0012\0015\0012\0013\0016\0200{"usage":{"prompt_tokens":1}}\0003
 * seed: \0000\0011HTTP/1.1 200 OK\0015\0012Content-Encoding: zstd\0015\0012Content-Length: 38\0015\0012\0015\0012(\0265/\0375 \0035\0351\0000\0000{"usage":{"prompt_tokens":1}}
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode.h"
#include "h1.h"

struct run {
	uint64_t events;        /* hash of everything the callbacks saw */
	uint64_t decoded;       /* hash of the decoded bodies */
	int decode_failed;
	int no_body_on_200;     /* what on_headers_done answers for a 200 */
	int status;
	enum tg_encoding enc;
	int dec_live;
};

static struct tg_h1_parser parser;
static struct tg_decoder dec;

static void mix(uint64_t *h, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		*h = (*h ^ p[i]) * UINT64_C(0x100000001b3);
}

static void tag(struct run *r, char t, const void *buf, size_t len)
{
	uint64_t n = len;

	mix(&r->events, &t, 1);
	mix(&r->events, &n, sizeof n);
	mix(&r->events, buf, len);
}

static void sink(void *ctx, const char *buf, size_t len)
{
	struct run *r = ctx;

	if (len == 0 || len > TG_DECODE_CHUNK)
		abort();
	mix(&r->decoded, buf, len);
}

static void on_request(void *ctx, const char *m, size_t ml, const char *t, size_t tl)
{
	if (ml == 0 || tl == 0 || ml + tl > TG_H1_LINE_MAX)
		abort();
	tag(ctx, 'M', m, ml);
	tag(ctx, 'T', t, tl);
}

static void on_status(void *ctx, int status)
{
	struct run *r = ctx;

	if (status < 100 || status > 999)
		abort();
	r->status = status;
	tag(r, 'S', &status, sizeof status);
}

static void on_header(void *ctx, const char *n, size_t nl, const char *v, size_t vl)
{
	struct run *r = ctx;

	if (nl == 0 || nl + vl > TG_H1_LINE_MAX)
		abort();
	tag(r, 'N', n, nl);
	tag(r, 'V', v, vl);
	if (nl == 16 && strncasecmp(n, "content-encoding", nl) == 0)
		r->enc = tg_encoding_parse(v, vl);
}

static int on_headers_done(void *ctx)
{
	struct run *r = ctx;

	tag(r, 'D', NULL, 0);
	if (r->dec_live)
		abort();
	if (tg_decoder_init(&dec, r->enc) < 0)
		r->decode_failed = 1;
	r->dec_live = 1;
	return r->status == 200 && r->no_body_on_200;
}

static void on_body(void *ctx, const char *buf, size_t len)
{
	struct run *r = ctx;

	if (len == 0 || !r->dec_live)
		abort();
	mix(&r->events, buf, len);
	if (!r->decode_failed && tg_decoder_feed(&dec, buf, len, sink, r) < 0)
		r->decode_failed = 1;
}

static void end_body(struct run *r)
{
	if (r->dec_live)
		tg_decoder_free(&dec);
	r->dec_live = 0;
	r->enc = TG_ENC_IDENTITY;
}

static void on_message_done(void *ctx)
{
	struct run *r = ctx;

	tag(r, 'E', NULL, 0);
	end_body(r);
}

static const struct tg_h1_callbacks cbs = {
	on_request, on_status, on_header, on_headers_done, on_body, on_message_done,
};

static int parse(enum tg_dir dir, const char *s, size_t n, size_t cut, int no_body, struct run *r)
{
	int rc;

	memset(r, 0, sizeof *r);
	r->events = r->decoded = UINT64_C(0xcbf29ce484222325);
	r->no_body_on_200 = no_body;
	tg_h1_init(&parser, dir, &cbs, r);
	rc = tg_h1_feed(&parser, s, cut);
	if (tg_h1_feed(&parser, s + cut, n - cut) < 0)
		rc = -1;
	else if (rc < 0)
		abort();        /* not sticky */
	if (rc == 0) {
		int idle = tg_h1_idle(&parser);

		tag(r, 'I', &idle, sizeof idle);
		rc = tg_h1_finish(&parser);
	}
	tag(r, 'F', &rc, sizeof rc);
	end_body(r);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, cut;
	const char *s;
	size_t n, at;
	int dir;

	if (size < 2)
		return 0;
	s = (const char *)data + 2;
	n = size - 2;
	at = n ? ((size_t)data[0] << 8 | data[1]) % (n + 1) : 0;
	for (dir = TG_DIR_REQUEST; dir <= TG_DIR_RESPONSE; dir++) {
		int no_body = data[0] & 1;
		int rc = parse(dir, s, n, n, no_body, &whole);

		if (parse(dir, s, n, at, no_body, &cut) != rc || whole.events != cut.events)
			abort();
		if (whole.decode_failed != cut.decode_failed)
			abort();
		if (!whole.decode_failed && whole.decoded != cut.decoded)
			abort();
	}
	return 0;
}
