/* test_h2.c - the passive HTTP/2 observer (shim/h2.c).
 *
 * Conversations are built here frame by frame, with header blocks encoded by
 * libnghttp2's own HPACK deflater (one per direction, kept across requests,
 * so the dynamic table is really used).  While building, the events the
 * observer should report are written to an expected log; the observer's
 * callbacks write the same log format, and the two must match however the
 * bytes are sliced.  The build order of frames is kept so that both
 * directions can be fed in the order the two peers produced them, which
 * matters once SETTINGS change what the other side's encoder may do.
 */
#include <criterion/criterion.h>

#include <nghttp2/nghttp2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2.h"

/* ---- growable byte buffer, always NUL-terminated ---- */

struct bytes {
	char *p;
	size_t len, cap;
};

static void put(struct bytes *b, const void *src, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->p = realloc(b->p, cap);
		cr_assert_not_null(b->p);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, src, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void putf(struct bytes *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof(tmp));
	put(b, tmp, (size_t)n);
}

static const char *text(const struct bytes *b)
{
	return b->p ? b->p : "";
}

static void bytes_free(struct bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- event log: one line per event, DATA pieces of a stream joined ---- */

struct rec {
	struct bytes log[2];
	uint32_t open_data[2];  /* stream whose D line is still open, 0 none */
};

static void rec_header(struct rec *r, uint32_t sid, enum tg_dir dir,
    const char *name, size_t nlen, const char *value, size_t vlen)
{
	r->open_data[dir] = 0;
	putf(&r->log[dir], "H %u ", (unsigned)sid);
	put(&r->log[dir], name, nlen);
	put(&r->log[dir], ": ", 2);
	put(&r->log[dir], value, vlen);
	put(&r->log[dir], "\n", 1);
}

static void rec_done(struct rec *r, uint32_t sid, enum tg_dir dir,
    int end_stream, int is_trailer)
{
	r->open_data[dir] = 0;
	putf(&r->log[dir], "E %u end=%d trailer=%d\n", (unsigned)sid,
	    end_stream, is_trailer);
}

static void rec_data(struct rec *r, uint32_t sid, enum tg_dir dir,
    const char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	struct bytes *b = &r->log[dir];
	size_t i;

	if (r->open_data[dir] == sid)
		b->len--;  /* reopen the line: drop its newline */
	else
		putf(b, "D %u ", (unsigned)sid);
	for (i = 0; i < len; i++) {
		char x[2] = { hex[(unsigned char)buf[i] >> 4],
			hex[(unsigned char)buf[i] & 15] };

		put(b, x, 2);
	}
	put(b, "\n", 1);
	r->open_data[dir] = sid;
}

static void rec_end(struct rec *r, uint32_t sid, enum tg_dir dir)
{
	r->open_data[dir] = 0;
	putf(&r->log[dir], "S %u\n", (unsigned)sid);
}

static void rec_reset(struct rec *r, uint32_t sid, enum tg_dir dir,
    uint32_t code)
{
	r->open_data[dir] = 0;
	putf(&r->log[dir], "R %u %u\n", (unsigned)sid, (unsigned)code);
}

static void rec_goaway(struct rec *r, enum tg_dir dir, uint32_t last,
    uint32_t code)
{
	r->open_data[dir] = 0;
	putf(&r->log[dir], "G %u %u\n", (unsigned)last, (unsigned)code);
}

static void rec_free(struct rec *r)
{
	bytes_free(&r->log[0]);
	bytes_free(&r->log[1]);
}

static void cb_header(void *ctx, uint32_t sid, enum tg_dir dir,
    const char *name, size_t nlen, const char *value, size_t vlen)
{
	rec_header(ctx, sid, dir, name, nlen, value, vlen);
}

static void cb_done(void *ctx, uint32_t sid, enum tg_dir dir, int end_stream,
    int is_trailer)
{
	rec_done(ctx, sid, dir, end_stream, is_trailer);
}

static void cb_data(void *ctx, uint32_t sid, enum tg_dir dir, const char *buf,
    size_t len)
{
	cr_assert(len > 0);
	rec_data(ctx, sid, dir, buf, len);
}

static void cb_end(void *ctx, uint32_t sid, enum tg_dir dir)
{
	rec_end(ctx, sid, dir);
}

static void cb_reset(void *ctx, uint32_t sid, enum tg_dir dir, uint32_t code)
{
	rec_reset(ctx, sid, dir, code);
}

static void cb_goaway(void *ctx, enum tg_dir dir, uint32_t last, uint32_t code)
{
	rec_goaway(ctx, dir, last, code);
}

static const struct tg_h2_callbacks recording = {
	.on_header = cb_header,
	.on_headers_done = cb_done,
	.on_data = cb_data,
	.on_end_stream = cb_end,
	.on_reset = cb_reset,
	.on_goaway = cb_goaway,
};

/* ---- conversation builder ---- */

enum {
	OPT_PAD = 1,    /* PADDED flag, 7 bytes of padding */
	OPT_PRIO = 2,   /* PRIORITY flag */
	OPT_SPLIT = 4,  /* block cut into HEADERS + two CONTINUATION */
};

struct seg {
	enum tg_dir dir;
	size_t off, len;
};

struct conv {
	struct bytes wire[2];
	struct seg *seg;
	size_t nseg, segcap;
	struct rec expect;
	nghttp2_hd_deflater *def[2];
	size_t last_block_len;
};

static void conv_init(struct conv *c, size_t req_table_max,
    size_t resp_table_max)
{
	memset(c, 0, sizeof(*c));
	cr_assert_eq(nghttp2_hd_deflate_new(&c->def[TG_DIR_REQUEST],
	    req_table_max), 0);
	cr_assert_eq(nghttp2_hd_deflate_new(&c->def[TG_DIR_RESPONSE],
	    resp_table_max), 0);
}

static void conv_free(struct conv *c)
{
	nghttp2_hd_deflate_del(c->def[0]);
	nghttp2_hd_deflate_del(c->def[1]);
	bytes_free(&c->wire[0]);
	bytes_free(&c->wire[1]);
	rec_free(&c->expect);
	free(c->seg);
}

static void emit(struct conv *c, enum tg_dir dir, const void *p, size_t n)
{
	if (c->nseg > 0 && c->seg[c->nseg - 1].dir == dir) {
		c->seg[c->nseg - 1].len += n;
	} else {
		if (c->nseg == c->segcap) {
			c->segcap = c->segcap ? c->segcap * 2 : 16;
			c->seg = realloc(c->seg, c->segcap * sizeof(*c->seg));
			cr_assert_not_null(c->seg);
		}
		c->seg[c->nseg++] = (struct seg){ dir, c->wire[dir].len, n };
	}
	put(&c->wire[dir], p, n);
}

static void frame(struct conv *c, enum tg_dir dir, uint8_t type,
    uint8_t flags, uint32_t sid, const void *payload, size_t len)
{
	unsigned char h[9] = {
		(unsigned char)(len >> 16), (unsigned char)(len >> 8),
		(unsigned char)len, type, flags,
		(unsigned char)(sid >> 24), (unsigned char)(sid >> 16),
		(unsigned char)(sid >> 8), (unsigned char)sid,
	};

	emit(c, dir, h, sizeof(h));
	emit(c, dir, payload, len);
}

static void be32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), \
	NGHTTP2_NV_FLAG_NONE }
#define NVN(a) (sizeof(a) / sizeof((a)[0]))

static size_t deflate_block(struct conv *c, enum tg_dir dir,
    const nghttp2_nv *nva, size_t n, unsigned char **out)
{
	size_t bound = nghttp2_hd_deflate_bound(c->def[dir], nva, n);
	ssize_t rv;

	*out = malloc(bound);
	cr_assert_not_null(*out);
	rv = nghttp2_hd_deflate_hd(c->def[dir], *out, bound, nva, n);
	cr_assert(rv >= 0);
	c->last_block_len = (size_t)rv;
	return (size_t)rv;
}

static void expect_block(struct conv *c, enum tg_dir dir, uint32_t sid,
    const nghttp2_nv *nva, size_t n, int end_stream)
{
	int trailer = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		rec_header(&c->expect, sid, dir, (const char *)nva[i].name,
		    nva[i].namelen, (const char *)nva[i].value,
		    nva[i].valuelen);
		if (nva[i].namelen > 0 && nva[i].name[0] == ':')
			trailer = 0;
	}
	rec_done(&c->expect, sid, dir, end_stream, trailer);
	if (end_stream)
		rec_end(&c->expect, sid, dir);
}

static void send_headers(struct conv *c, enum tg_dir dir, uint32_t sid,
    const nghttp2_nv *nva, size_t n, int end_stream, unsigned opts)
{
	unsigned char *blk, *pl;
	size_t bl = deflate_block(c, dir, nva, n, &blk);
	size_t first = (opts & OPT_SPLIT) ? bl / 3 : bl;
	size_t second = (opts & OPT_SPLIT) ? 2 * bl / 3 : bl;
	size_t len = 0;
	uint8_t flags = end_stream ? 0x1 : 0;

	pl = malloc(bl + 16);
	cr_assert_not_null(pl);
	if (opts & OPT_PAD) {
		flags |= 0x8;
		pl[len++] = 7;
	}
	if (opts & OPT_PRIO) {
		flags |= 0x20;
		be32_put(pl + len, 0x80000000u | 3);  /* exclusive on 3 */
		len += 4;
		pl[len++] = 200;
	}
	memcpy(pl + len, blk, first);
	len += first;
	if (opts & OPT_PAD) {
		memset(pl + len, 0, 7);
		len += 7;
	}
	if (!(opts & OPT_SPLIT))
		flags |= 0x4;
	frame(c, dir, 0x1, flags, sid, pl, len);
	if (opts & OPT_SPLIT) {
		frame(c, dir, 0x9, 0, sid, blk + first, second - first);
		frame(c, dir, 0x9, 0x4, sid, blk + second, bl - second);
	}
	free(pl);
	free(blk);
	expect_block(c, dir, sid, nva, n, end_stream);
}

static void send_push_promise(struct conv *c, uint32_t sid, uint32_t promised,
    const nghttp2_nv *nva, size_t n)
{
	unsigned char *blk, *pl;
	size_t bl = deflate_block(c, TG_DIR_RESPONSE, nva, n, &blk);

	pl = calloc(1, bl + 8);
	cr_assert_not_null(pl);
	pl[0] = 3;
	be32_put(pl + 1, promised);
	memcpy(pl + 5, blk, bl);
	frame(c, TG_DIR_RESPONSE, 0x5, 0x8 | 0x4, sid, pl, bl + 8);
	free(pl);
	free(blk);
}

/* pad < 0: no PADDED flag. */
static void send_data(struct conv *c, enum tg_dir dir, uint32_t sid,
    const char *data, size_t len, int end_stream, int pad)
{
	unsigned char *pl = calloc(1, len + 257);
	size_t n = 0;
	uint8_t flags = end_stream ? 0x1 : 0;

	cr_assert_not_null(pl);
	if (pad >= 0) {
		flags |= 0x8;
		pl[n++] = (unsigned char)pad;
	}
	memcpy(pl + n, data, len);
	n += len + (pad > 0 ? (size_t)pad : 0);
	frame(c, dir, 0x0, flags, sid, pl, n);
	free(pl);
	if (len > 0)
		rec_data(&c->expect, sid, dir, data, len);
	if (end_stream)
		rec_end(&c->expect, sid, dir);
}

static void send_settings(struct conv *c, enum tg_dir dir, uint16_t id,
    uint32_t value)
{
	unsigned char e[12] = { 0, 3, 0, 0, 0, 100 };  /* MAX_CONCURRENT 100 */

	e[6] = (unsigned char)(id >> 8);
	e[7] = (unsigned char)id;
	be32_put(e + 8, value);
	frame(c, dir, 0x4, 0, 0, e, sizeof(e));
}

static void send_rst(struct conv *c, enum tg_dir dir, uint32_t sid,
    uint32_t code)
{
	unsigned char p[4];

	be32_put(p, code);
	frame(c, dir, 0x3, 0, sid, p, 4);
	rec_reset(&c->expect, sid, dir, code);
}

static void send_goaway(struct conv *c, enum tg_dir dir, uint32_t last,
    uint32_t code, const char *debug)
{
	unsigned char p[64];
	size_t n = strlen(debug);

	be32_put(p, last);
	be32_put(p + 4, code);
	memcpy(p + 8, debug, n);
	frame(c, dir, 0x7, 0, 0, p, 8 + n);
	rec_goaway(&c->expect, dir, last, code);
}

static void send_noise(struct conv *c, enum tg_dir dir, uint32_t sid)
{
	static const unsigned char ping[8] = "12345678";
	static const unsigned char wu[4] = { 0, 1, 0, 0 };
	static const unsigned char prio[5] = { 0, 0, 0, 0, 16 };
	static const unsigned char odd[3] = { 0xde, 0xad, 0x00 };

	frame(c, dir, 0x6, 0, 0, ping, sizeof(ping));
	frame(c, dir, 0x8, 0, 0, wu, sizeof(wu));
	frame(c, dir, 0x8, 0, sid, wu, sizeof(wu));
	frame(c, dir, 0x2, 0, sid, prio, sizeof(prio));
	frame(c, dir, 0xfa, 0xff, sid, odd, sizeof(odd));  /* unknown type */
	frame(c, dir, 0x4, 0x1, 0, NULL, 0);               /* SETTINGS ACK */
}

/* A client running six chat requests, one GET, a push, trailers, resets,
 * GOAWAY both ways, with padding, PRIORITY and CONTINUATION mixed in. */
static void build_conversation(struct conv *c)
{
	enum tg_dir Q = TG_DIR_REQUEST, A = TG_DIR_RESPONSE;
	char path[6][64], seq[6][16], rid[6][32], body[6][160], sse[160];
	uint32_t sid;
	int i;

	conv_init(c, 4096, 4096);
	emit(c, Q, TG_H2_PREFACE, TG_H2_PREFACE_LEN);
	send_settings(c, Q, 0x1, 4096);  /* the default: nothing changes */
	send_settings(c, A, 0x4, 65535);
	send_noise(c, Q, 0);

	for (i = 0; i < 6; i++) {
		sid = 1 + 2 * (uint32_t)i;
		snprintf(path[i], sizeof(path[i]), "/v1/chat/completions?n=%d", i);
		snprintf(seq[i], sizeof(seq[i]), "%d", i);
		snprintf(body[i], sizeof(body[i]),
		    "{\"model\":\"gpt-4o-mini\",\"stream\":%s,\"messages\":"
		    "[{\"role\":\"user\",\"content\":\"question %d\"}]}",
		    i == 0 ? "true" : "false", i);
		{
			nghttp2_nv req[] = {
				NV(":method", i == 5 ? "GET" : "POST"),
				NV(":scheme", "https"),
				NV(":authority", "api.openai.com"),
				NV(":path", path[i]),
				NV("content-type", "application/json"),
				NV("authorization", "Bearer sk-test-0123456789abcdef"),
				NV("user-agent", "OpenAI/Python 1.40.0"),
				NV("x-stainless-retry-count", seq[i]),
			};
			unsigned opts = i % 3 == 0 ? 0 :
			    i % 3 == 1 ? OPT_PAD | OPT_PRIO : OPT_SPLIT;

			send_headers(c, Q, sid, req, NVN(req), i == 5, opts);
		}
	}
	/* Bodies interleaved across streams, in two DATA frames each. */
	for (i = 4; i >= 0; i--) {
		size_t n = strlen(body[i]);

		send_data(c, Q, 1 + 2 * (uint32_t)i, body[i], n / 2, 0,
		    i % 2 ? 10 : -1);
	}
	for (i = 0; i < 5; i++) {
		size_t n = strlen(body[i]);

		send_data(c, Q, 1 + 2 * (uint32_t)i, body[i] + n / 2, n - n / 2,
		    1, i % 2 ? -1 : 0);
	}
	send_noise(c, A, 1);

	/* Stream 1: a push, an interim response, a stream, trailers. */
	{
		nghttp2_nv push[] = {
			NV(":method", "GET"), NV(":scheme", "https"),
			NV(":authority", "api.openai.com"),
			NV(":path", "/pushed/resource"),
			NV("x-pushed-only", "must not be reported"),
		};
		nghttp2_nv cont[] = { NV(":status", "100") };
		nghttp2_nv ok[] = {
			NV(":status", "200"),
			NV("content-type", "text/event-stream"),
			NV("x-request-id", "req_stream_1"),
			NV("x-pushed-only", "must not be reported"),
		};
		nghttp2_nv trail[] = {
			NV("x-usage-prompt", "12"),
			NV("x-usage-completion", "34"),
		};

		send_push_promise(c, 1, 2, push, NVN(push));
		send_headers(c, A, 1, cont, NVN(cont), 0, 0);
		send_headers(c, A, 1, ok, NVN(ok), 0, OPT_PAD);
		for (i = 0; i < 3; i++) {
			snprintf(sse, sizeof(sse), "data: {\"choices\":[{\"delta\":"
			    "{\"content\":\"tok%d\"}}]}\n\n", i);
			send_data(c, A, 1, sse, strlen(sse), 0, i == 1 ? 255 : -1);
		}
		send_data(c, A, 1, "", 0, 0, 4);  /* padding only */
		send_headers(c, A, 1, trail, NVN(trail), 1, OPT_SPLIT | OPT_PAD);
	}
	/* The pushed stream itself. */
	{
		nghttp2_nv ok[] = { NV(":status", "200"), NV("content-length", "2") };

		send_headers(c, A, 2, ok, NVN(ok), 0, 0);
		send_data(c, A, 2, "ok", 2, 1, -1);
	}
	/* Streams 3..11: headers first, bodies in reverse order. */
	for (i = 1; i < 6; i++)
		snprintf(rid[i], sizeof(rid[i]), "req_%08d", i * 7919);
	for (i = 1; i < 6; i++) {
		nghttp2_nv ok[] = {
			NV(":status", i == 4 ? "429" : "200"),
			NV("content-type", "application/json"),
			NV("x-request-id", rid[i]),
			NV("openai-processing-ms", seq[i]),
			NV("server", "cloudflare"),
		};

		send_headers(c, A, 1 + 2 * (uint32_t)i, ok, NVN(ok), i == 5,
		    i % 2 ? OPT_SPLIT : OPT_PRIO);
	}
	for (i = 4; i >= 1; i--) {
		sid = 1 + 2 * (uint32_t)i;
		if (i == 3) {
			send_rst(c, A, sid, 2);  /* INTERNAL_ERROR */
			continue;
		}
		snprintf(body[i], sizeof(body[i]), "{\"id\":\"chatcmpl-%d\","
		    "\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d}}",
		    i, 10 * i, 20 * i);
		send_data(c, A, sid, body[i], strlen(body[i]), 1, i == 2 ? 1 : -1);
	}
	send_rst(c, Q, 11, 8);  /* CANCEL from the client */
	send_goaway(c, A, 11, 0, "graceful");
	send_goaway(c, Q, 0, 0, "");
}

/* ---- feeding ---- */

/* Feeds both directions in build order.  In direction cut_dir the byte
 * stream is also cut at absolute offset cut_at; step > 0 feeds every
 * segment in pieces of step bytes.  Returns the first failing tg_h2_feed
 * result or 0. */
static int feed_ordered(struct tg_h2_observer *o, const struct conv *c,
    int cut_dir, size_t cut_at, size_t step)
{
	size_t s;

	for (s = 0; s < c->nseg; s++) {
		const struct seg *g = &c->seg[s];
		const char *w = c->wire[g->dir].p;
		size_t off = g->off, end = g->off + g->len;

		while (off < end) {
			size_t n = step ? step : end - off;

			if (n > end - off)
				n = end - off;
			if ((int)g->dir == cut_dir && cut_at > off &&
			    cut_at < off + n)
				n = cut_at - off;
			if (tg_h2_feed(o, g->dir, w + off, n) != 0)
				return -1;
			off += n;
		}
	}
	return 0;
}

static void expect_same(const struct rec *got, const struct conv *c,
    const char *how, size_t at)
{
	cr_assert_str_eq(text(&got->log[0]), text(&c->expect.log[0]),
	    "request events differ (%s %zu)", how, at);
	cr_assert_str_eq(text(&got->log[1]), text(&c->expect.log[1]),
	    "response events differ (%s %zu)", how, at);
}

static void run_and_check(const struct conv *c, int cut_dir, size_t cut_at,
    size_t step, const char *how)
{
	struct tg_h2_observer o;
	struct rec got = { 0 };

	cr_assert_eq(tg_h2_init(&o, &recording, &got), 0);
	cr_assert_eq(feed_ordered(&o, c, cut_dir, cut_at, step), 0,
	    "feed failed (%s %zu)", how, cut_at);
	expect_same(&got, c, how, cut_dir >= 0 ? cut_at : step);
	tg_h2_free(&o);
	rec_free(&got);
}

static void run_every_split(const struct conv *c)
{
	size_t k;
	int d;

	for (d = 0; d < 2; d++)
		for (k = 1; k < c->wire[d].len; k++)
			run_and_check(c, d, k, 0, d ? "response cut" :
			    "request cut");
}

/* ---- tests ---- */

Test(h2_preface, is_recognised_whole_partially_or_not_at_all)
{
	cr_assert_eq(tg_h2_is_preface(TG_H2_PREFACE, 24), 1);
	cr_assert_eq(tg_h2_is_preface(TG_H2_PREFACE "\0\0\0\4", 28), 1);
	cr_assert_eq(tg_h2_is_preface("PRI * HTTP/2", 12), -2);
	cr_assert_eq(tg_h2_is_preface("", 0), -2);
	cr_assert_eq(tg_h2_is_preface("POST / HTTP/1.1\r\n", 17), 0);
	cr_assert_eq(tg_h2_is_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", 24), 0);
}

Test(h2_observer, reports_a_whole_conversation_fed_frame_by_frame)
{
	struct conv c;

	build_conversation(&c);
	run_and_check(&c, -1, 0, 0, "whole");
	/* Sanity of the expectations themselves. */
	cr_assert(strstr(text(&c.expect.log[1]), "/pushed/resource") == NULL);
	cr_assert(strstr(text(&c.expect.log[1]),
	    "E 1 end=1 trailer=1\nS 1\n") != NULL);
	conv_free(&c);
}

Test(h2_observer, reports_the_same_events_when_either_direction_is_cut_anywhere)
{
	struct conv c;

	build_conversation(&c);
	run_every_split(&c);
	conv_free(&c);
}

Test(h2_observer, reports_the_same_events_when_fed_one_byte_at_a_time)
{
	struct conv c;
	size_t step;

	build_conversation(&c);
	for (step = 1; step <= 13; step += 4)
		run_and_check(&c, -1, 0, step, "step");
	conv_free(&c);
}

Test(h2_observer, reports_each_direction_alone_when_the_other_is_silent)
{
	struct conv c;
	struct tg_h2_observer o;
	struct rec got = { 0 };

	build_conversation(&c);
	cr_assert_eq(tg_h2_init(&o, &recording, &got), 0);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_RESPONSE, c.wire[1].p, c.wire[1].len), 0);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_REQUEST, c.wire[0].p, c.wire[0].len), 0);
	expect_same(&got, &c, "directions one after the other", 0);
	tg_h2_free(&o);
	rec_free(&got);
	conv_free(&c);
}

struct counter {
	size_t bytes;
	int ends;
	int bad;
};

static void count_data(void *ctx, uint32_t sid, enum tg_dir dir,
    const char *buf, size_t len)
{
	struct counter *k = ctx;
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] != (k->bytes + i) % 251)
			k->bad = 1;
	k->bytes += len;
}

static void count_end(void *ctx, uint32_t sid, enum tg_dir dir)
{
	((struct counter *)ctx)->ends++;
}

Test(h2_observer, streams_a_large_padded_data_frame_without_waiting_for_its_end)
{
	static const struct tg_h2_callbacks cb = {
		.on_data = count_data, .on_end_stream = count_end,
	};
	const size_t len = (1u << 24) - 1;  /* largest frame there is */
	const size_t data = len - 1 - 255;
	unsigned char *f = calloc(1, 9 + len);
	struct tg_h2_observer o;
	struct counter k = { 0 };
	size_t i, off;

	cr_assert_not_null(f);
	f[0] = 0xff; f[1] = 0xff; f[2] = 0xff;
	f[3] = 0x0; f[4] = 0x1 | 0x8; f[8] = 1;
	f[9] = 255;
	for (i = 0; i < data; i++)
		f[10 + i] = (unsigned char)(i % 251);

	cr_assert_eq(tg_h2_init(&o, &cb, &k), 0);
	for (off = 0; off < 9 + len; off += 65521) {
		size_t n = 9 + len - off < 65521 ? 9 + len - off : 65521;

		cr_assert_eq(tg_h2_feed(&o, TG_DIR_RESPONSE, (char *)f + off, n), 0);
		if (off + n < 9 + len) {
			/* Everything but the padding is handed over at once. */
			size_t seen = off + n > 10 ? off + n - 10 : 0;

			cr_assert_eq(k.bytes, seen < data ? seen : data);
			cr_assert_eq(k.ends, 0);
		}
	}
	cr_assert_eq(k.bytes, data);
	cr_assert_eq(k.ends, 1);
	cr_assert_eq(k.bad, 0);
	tg_h2_free(&o);
	free(f);
}

Test(h2_observer, fails_for_good_on_a_corrupt_header_block)
{
	struct conv c;
	struct tg_h2_observer o;
	struct rec got = { 0 };
	static const unsigned char bad[] = { 0x82, 0x80 };  /* index 0 */
	nghttp2_nv ok[] = { NV(":status", "200") };
	size_t mark;

	conv_init(&c, 4096, 4096);
	send_settings(&c, TG_DIR_RESPONSE, 0x4, 65535);
	mark = c.wire[1].len;
	frame(&c, TG_DIR_RESPONSE, 0x1, 0x4, 1, bad, sizeof(bad));
	send_headers(&c, TG_DIR_RESPONSE, 3, ok, 1, 1, 0);

	cr_assert_eq(tg_h2_init(&o, &recording, &got), 0);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_RESPONSE, c.wire[1].p, mark), 0);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_RESPONSE, c.wire[1].p + mark, 10), 0);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_RESPONSE, c.wire[1].p + mark + 10, 1), -1);
	/* Sticky: valid bytes, either direction, are refused from now on. */
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_RESPONSE, c.wire[1].p + mark + 11,
	    c.wire[1].len - mark - 11), -1);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_REQUEST, TG_H2_PREFACE, 24), -1);
	cr_assert(strstr(text(&got.log[1]), "E 1") == NULL);
	tg_h2_free(&o);
	rec_free(&got);
	conv_free(&c);
}

Test(h2_observer, fails_on_a_wrong_preface_even_when_it_comes_in_pieces)
{
	struct tg_h2_observer o;

	cr_assert_eq(tg_h2_init(&o, &recording, NULL), 0);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_REQUEST, "PRI * HT", 8), 0);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_REQUEST, "TP/1.1\r\n", 8), -1);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_REQUEST, "", 0), -1);
	tg_h2_free(&o);

	cr_assert_eq(tg_h2_init(&o, &recording, NULL), 0);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_REQUEST, "GET / HTTP/1.1\r\n", 16), -1);
	tg_h2_free(&o);
}

struct bad_frames {
	const char *what;
	unsigned char bytes[40];
	size_t len;
};

Test(h2_observer, fails_on_frames_that_make_the_stream_unreadable)
{
	static const struct bad_frames cases[] = {
		{ "CONTINUATION without HEADERS",
		  { 0,0,1, 0x9, 0x4, 0,0,0,1, 0x82 }, 10 },
		{ "DATA inside a header block",
		  { 0,0,1, 0x1, 0x0, 0,0,0,1, 0x82,
		    0,0,1, 0x0, 0x0, 0,0,0,1, 'x' }, 20 },
		{ "CONTINUATION of another stream",
		  { 0,0,1, 0x1, 0x0, 0,0,0,1, 0x82,
		    0,0,1, 0x9, 0x4, 0,0,0,3, 0x84 }, 20 },
		{ "padding longer than the payload",
		  { 0,0,3, 0x0, 0x8, 0,0,0,1, 5, 'a', 'b' }, 12 },
		{ "HEADERS too short for its PRIORITY fields",
		  { 0,0,4, 0x1, 0x24, 0,0,0,1, 0,0,0,0 }, 13 },
		{ "RST_STREAM of 3 bytes",
		  { 0,0,3, 0x3, 0, 0,0,0,1, 0,0,8 }, 12 },
		{ "GOAWAY of 4 bytes",
		  { 0,0,4, 0x7, 0, 0,0,0,0, 0,0,0,0 }, 13 },
		{ "SETTINGS of 5 bytes",
		  { 0,0,5, 0x4, 0, 0,0,0,0, 0,1,0,0,0 }, 14 },
		{ "SETTINGS ACK with a payload",
		  { 0,0,6, 0x4, 1, 0,0,0,0, 0,1,0,0,0,0 }, 15 },
		{ "DATA on stream 0",
		  { 0,0,1, 0x0, 0, 0,0,0,0, 'x' }, 10 },
		{ "HEADERS on stream 0",
		  { 0,0,1, 0x1, 0x4, 0,0,0,0, 0x82 }, 10 },
	};
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (k = 0; k <= cases[i].len; k++) {
			struct tg_h2_observer o;
			struct rec got = { 0 };
			int r1, r2;

			cr_assert_eq(tg_h2_init(&o, &recording, &got), 0);
			r1 = tg_h2_feed(&o, TG_DIR_RESPONSE,
			    (const char *)cases[i].bytes, k);
			r2 = tg_h2_feed(&o, TG_DIR_RESPONSE,
			    (const char *)cases[i].bytes + k, cases[i].len - k);
			cr_assert(r1 == -1 || r2 == -1, "%s accepted (cut at %zu)",
			    cases[i].what, k);
			tg_h2_free(&o);
			rec_free(&got);
		}
	}
}

Test(h2_observer, works_with_no_callbacks_at_all)
{
	static const struct tg_h2_callbacks none = { 0 };
	struct conv c;
	struct tg_h2_observer o;

	build_conversation(&c);
	cr_assert_eq(tg_h2_init(&o, &none, NULL), 0);
	cr_assert_eq(feed_ordered(&o, &c, -1, 0, 0), 0);
	tg_h2_free(&o);
	tg_h2_free(&o);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_REQUEST, "x", 1), -1);
	conv_free(&c);
}

/* Twenty fields of ~200 bytes: far more than the default 4096-byte table,
 * so a repeat is only small if the encoder really uses a larger table. */
static void big_request(struct conv *c, uint32_t sid, int end_stream)
{
	static char names[20][24], values[20][200];
	nghttp2_nv nva[24] = {
		NV(":method", "POST"), NV(":scheme", "https"),
		NV(":authority", "api.anthropic.com"), NV(":path", "/v1/messages"),
	};
	int i;

	for (i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "x-big-%02d", i);
		memset(values[i], 'a' + i, sizeof(values[i]) - 1);
		values[i][sizeof(values[i]) - 1] = '\0';
		nva[4 + i] = (nghttp2_nv)NV(names[i], values[i]);
	}
	send_headers(c, TG_DIR_REQUEST, sid, nva, 24, end_stream,
	    sid % 3 ? 0 : OPT_SPLIT);
}

static void small_response(struct conv *c, uint32_t sid)
{
	char rid[32];

	snprintf(rid, sizeof(rid), "req_%u", (unsigned)sid);
	{
		nghttp2_nv ok[] = {
			NV(":status", "200"), NV("x-request-id", rid),
			NV("content-type", "application/json"),
		};

		send_headers(c, TG_DIR_RESPONSE, sid, ok, NVN(ok), 1, 0);
	}
}

Test(h2_table_size, follows_an_encoder_that_takes_up_a_raised_limit_then_shrinks)
{
	struct conv c;
	uint32_t sid = 1;
	int i;

	conv_init(&c, 65536, 4096);
	emit(&c, TG_DIR_REQUEST, TG_H2_PREFACE, TG_H2_PREFACE_LEN);
	send_settings(&c, TG_DIR_REQUEST, 0x4, 65535);
	send_settings(&c, TG_DIR_RESPONSE, 0x1, 65536);
	cr_assert_eq(nghttp2_hd_deflate_change_table_size(
	    c.def[TG_DIR_REQUEST], 65536), 0);
	for (i = 0; i < 3; i++, sid += 2) {
		big_request(&c, sid, 1);
		if (i > 0)
			cr_assert_lt(c.last_block_len, 100);
		small_response(&c, sid);
	}
	/* The server now wants no dynamic table at all, then a small one. */
	send_settings(&c, TG_DIR_RESPONSE, 0x1, 0);
	cr_assert_eq(nghttp2_hd_deflate_change_table_size(
	    c.def[TG_DIR_REQUEST], 0), 0);
	for (i = 0; i < 1; i++, sid += 2) {
		big_request(&c, sid, 1);
		cr_assert_gt(c.last_block_len, 1500);
		small_response(&c, sid);
	}
	send_settings(&c, TG_DIR_RESPONSE, 0x1, 8192);
	cr_assert_eq(nghttp2_hd_deflate_change_table_size(
	    c.def[TG_DIR_REQUEST], 8192), 0);
	for (i = 0; i < 2; i++, sid += 2) {
		big_request(&c, sid, 1);
		small_response(&c, sid);
	}

	run_and_check(&c, -1, 0, 0, "whole");
	run_and_check(&c, -1, 0, 1, "step");
	run_every_split(&c);
	conv_free(&c);
}

Test(h2_table_size, stays_in_step_with_an_encoder_that_ignores_a_raised_limit)
{
	struct conv c;
	uint32_t sid;

	/* The client allows 65536; the server's encoder keeps its 4096-byte
	 * table and never sends a size update, as RFC 7541 lets it.  The
	 * decoder must neither wait for an update nor refuse blocks. */
	conv_init(&c, 4096, 4096);
	emit(&c, TG_DIR_REQUEST, TG_H2_PREFACE, TG_H2_PREFACE_LEN);
	send_settings(&c, TG_DIR_REQUEST, 0x1, 65536);
	send_settings(&c, TG_DIR_RESPONSE, 0x4, 65535);
	for (sid = 1; sid < 40; sid += 2) {
		char rid[300];
		nghttp2_nv req[] = {
			NV(":method", "POST"), NV(":scheme", "https"),
			NV(":authority", "api.groq.com"), NV(":path", "/openai/v1"),
		};

		/* Five long values in turn: the 4096-byte table keeps
		 * evicting, so some repeats are indexed and some are not. */
		memset(rid, 'a' + (int)(sid % 5), sizeof(rid) - 1);
		rid[sizeof(rid) - 1] = '\0';
		send_headers(&c, TG_DIR_REQUEST, sid, req, NVN(req), 1, 0);
		{
			nghttp2_nv ok[] = {
				NV(":status", "200"), NV("x-request-id", rid),
				NV("content-type", "application/json"),
			};

			send_headers(&c, TG_DIR_RESPONSE, sid, ok, NVN(ok), 1, 0);
		}
	}
	run_and_check(&c, -1, 0, 0, "whole");
	run_and_check(&c, -1, 0, 1, "step");
	conv_free(&c);
}

Test(h2_table_size, waits_for_the_end_of_a_block_to_apply_a_new_limit)
{
	struct conv c;
	nghttp2_nv ok[] = { NV(":status", "200"), NV("server", "envoy") };
	nghttp2_nv req[] = {
		NV(":method", "GET"), NV(":scheme", "https"),
		NV(":authority", "api.x.ai"), NV(":path", "/v1/models"),
	};

	conv_init(&c, 4096, 32768);
	emit(&c, TG_DIR_REQUEST, TG_H2_PREFACE, TG_H2_PREFACE_LEN);
	send_settings(&c, TG_DIR_RESPONSE, 0x4, 65535);
	send_headers(&c, TG_DIR_REQUEST, 1, req, NVN(req), 1, 0);
	/* The response block is cut into HEADERS + CONTINUATION; the
	 * client's SETTINGS comes between the two. */
	{
		unsigned char *blk;
		size_t bl = deflate_block(&c, TG_DIR_RESPONSE, ok, NVN(ok), &blk);

		frame(&c, TG_DIR_RESPONSE, 0x1, 0, 1, blk, bl / 2);
		send_settings(&c, TG_DIR_REQUEST, 0x1, 32768);
		frame(&c, TG_DIR_RESPONSE, 0x9, 0x4, 1, blk + bl / 2,
		    bl - bl / 2);
		expect_block(&c, TG_DIR_RESPONSE, 1, ok, NVN(ok), 0);
		free(blk);
	}
	cr_assert_eq(nghttp2_hd_deflate_change_table_size(
	    c.def[TG_DIR_RESPONSE], 32768), 0);
	send_data(&c, TG_DIR_RESPONSE, 1, "{}", 2, 1, -1);
	send_headers(&c, TG_DIR_REQUEST, 3, req, NVN(req), 1, 0);
	send_headers(&c, TG_DIR_RESPONSE, 3, ok, NVN(ok), 1, 0);

	run_and_check(&c, -1, 0, 0, "whole");
	run_and_check(&c, -1, 0, 1, "step");
	conv_free(&c);
}

/* ---- a real capture: python-h2 client and server, see make_capture.py ---- */

static int slurp(const char *path, struct bytes *b)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		put(b, buf, n);
	fclose(f);
	return 0;
}

Test(h2_capture, matches_what_the_python_h2_peers_sent_however_it_is_cut)
{
	static const char *dir = "tests/fixtures/h2/";
	static const char *files[4] = {
		"request.bin", "response.bin", "request.events", "response.events",
	};
	struct bytes in[4] = { { 0 } };
	struct conv c;
	size_t i;

	for (i = 0; i < 4; i++) {
		char path[128];

		snprintf(path, sizeof(path), "%s%s", dir, files[i]);
		cr_assert_eq(slurp(path, &in[i]), 0, "cannot read %s (run from "
		    "the top of the tree)", path);
	}
	/* Only the client advertises a table size in the capture, so feeding
	 * the whole request direction first never shows a response block
	 * before the SETTINGS that allowed it. */
	memset(&c, 0, sizeof(c));
	emit(&c, TG_DIR_REQUEST, in[0].p, in[0].len);
	emit(&c, TG_DIR_RESPONSE, in[1].p, in[1].len);
	put(&c.expect.log[0], in[2].p, in[2].len);
	put(&c.expect.log[1], in[3].p, in[3].len);

	run_and_check(&c, -1, 0, 0, "whole");
	run_and_check(&c, -1, 0, 1, "step");
	run_and_check(&c, -1, 0, 7, "step");
	run_every_split(&c);

	for (i = 0; i < 4; i++)
		bytes_free(&in[i]);
	bytes_free(&c.wire[0]);
	bytes_free(&c.wire[1]);
	rec_free(&c.expect);
	free(c.seg);
}

/* ---- flow control: what a caller holding frames back must know ---- */

struct flow {
	int64_t data_len[2], conn_credit[2], stream_credit[2];
	int64_t initial[2];
};

static void fl_data_frame(void *ctx, uint32_t sid, enum tg_dir dir, uint32_t len)
{
	((struct flow *)ctx)->data_len[dir] += len;
}

static void fl_window(void *ctx, uint32_t sid, enum tg_dir dir, uint32_t inc)
{
	struct flow *f = ctx;
	if (sid == 0)
		f->conn_credit[dir] += inc;
	else
		f->stream_credit[dir] += inc;
}

static void fl_initial(void *ctx, enum tg_dir dir, uint32_t value)
{
	((struct flow *)ctx)->initial[dir] = value;
}

static const struct tg_h2_callbacks flow_callbacks = {
	.on_data_frame = fl_data_frame,
	.on_window_update = fl_window,
	.on_initial_window = fl_initial,
};

Test(h2, reports_flow_control_at_every_split)
{
	struct conv c;
	static const unsigned char wu0[4] = { 0, 0, 1, 0xf4 };     /* 500 */
	static const unsigned char wu3[4] = { 0x80, 0, 0, 7 };     /* 7, reserved bit set */
	static const unsigned char data[1 + 20 + 5] = { 5 };       /* PADDED: 20 bytes + 5 of padding */

	conv_init(&c, 4096, 4096);
	emit(&c, TG_DIR_REQUEST, TG_H2_PREFACE, TG_H2_PREFACE_LEN);
	send_settings(&c, TG_DIR_RESPONSE, 0x4, 1000);
	frame(&c, TG_DIR_RESPONSE, 0x8, 0, 0, wu0, sizeof wu0);
	frame(&c, TG_DIR_RESPONSE, 0x8, 0, 3, wu3, sizeof wu3);
	frame(&c, TG_DIR_REQUEST, 0x0, 0x8, 1, data, sizeof data);
	frame(&c, TG_DIR_REQUEST, 0x0, 0x1, 1, NULL, 0);
	for (int d = 0; d < 2; d++) {
		const struct bytes *w = &c.wire[d];
		for (size_t split = 0; split <= w->len; split++) {
			struct tg_h2_observer o;
			struct flow f = { .initial = { -1, -1 } };
			cr_assert_eq(tg_h2_init(&o, &flow_callbacks, &f), 0);
			cr_assert_eq(tg_h2_feed(&o, (enum tg_dir)d, (const char *)w->p, split), 0);
			cr_assert_eq(tg_h2_feed(&o, (enum tg_dir)d, (const char *)w->p + split, w->len - split), 0);
			tg_h2_free(&o);
			if (d == TG_DIR_REQUEST) {
				cr_assert_eq(f.data_len[d], 26, "split %zu: DATA counted %lld", split,
				             (long long)f.data_len[d]);
			} else {
				cr_assert_eq(f.initial[d], 1000);
				cr_assert_eq(f.conn_credit[d], 500);
				cr_assert_eq(f.stream_credit[d], 7);
			}
		}
	}
	/* A WINDOW_UPDATE is 4 bytes, no other length (RFC 9113 6.9). */
	struct tg_h2_observer o;
	struct flow f = { 0 };
	unsigned char bad[9 + 5] = { 0, 0, 5, 0x8, 0, 0, 0, 0, 0 };
	cr_assert_eq(tg_h2_init(&o, &flow_callbacks, &f), 0);
	cr_assert_eq(tg_h2_feed(&o, TG_DIR_RESPONSE, (const char *)bad, sizeof bad), -1);
	tg_h2_free(&o);
	conv_free(&c);
}
