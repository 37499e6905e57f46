/* test_h1.c - the passive HTTP/1.1 parser (shim/h1.c).
 *
 * Every stream is fed whole, in two pieces split at every position, and one
 * byte at a time; the callbacks write a transcript whose text must not
 * depend on how the stream was cut (body bytes are appended as they come,
 * so chunk boundaries do not show).
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h1.h"

#define LOG_MAX (64 * 1024)

struct rec {
	char log[LOG_MAX];
	size_t len;
	int overflow;
	int no_body;        /* what on_headers_done answers */
};

static void rec_put(struct rec *r, const char *s, size_t n)
{
	if (r->len + n >= LOG_MAX) {
		r->overflow = 1;
		return;
	}
	memcpy(r->log + r->len, s, n);
	r->len += n;
	r->log[r->len] = '\0';
}

static void rec_printf(struct rec *r, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	rec_put(r, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void on_request(void *ctx, const char *m, size_t ml, const char *t, size_t tl)
{
	struct rec *r = ctx;

	rec_put(r, "REQ ", 4);
	rec_put(r, m, ml);
	rec_put(r, " ", 1);
	rec_put(r, t, tl);
	rec_put(r, "\n", 1);
}

static void on_status(void *ctx, int status)
{
	rec_printf(ctx, "STATUS %d\n", status);
}

static void on_header(void *ctx, const char *n, size_t nl, const char *v, size_t vl)
{
	struct rec *r = ctx;

	rec_put(r, "H ", 2);
	rec_put(r, n, nl);
	rec_put(r, "=", 1);
	rec_put(r, v, vl);
	rec_put(r, "\n", 1);
}

static int on_headers_done(void *ctx)
{
	struct rec *r = ctx;

	rec_put(r, "HD\n", 3);
	return r->no_body;
}

static void on_body(void *ctx, const char *buf, size_t len)
{
	rec_put(ctx, buf, len);
}

static void on_message_done(void *ctx)
{
	rec_put(ctx, "|DONE\n", 6);
}

static const struct tg_h1_callbacks cbs = {
	on_request, on_status, on_header, on_headers_done, on_body, on_message_done,
};

/* Feeds s cut at the given offsets (ascending, each < n) and finishes.
 * Returns -1 if any feed failed, else what tg_h1_finish() said. */
static int run_cut(enum tg_dir dir, const char *s, size_t n, const size_t *cuts, size_t ncuts,
		   int no_body, struct rec *r)
{
	struct tg_h1_parser p;
	size_t at = 0, i;
	int failed = 0;

	memset(r, 0, sizeof *r);
	r->no_body = no_body;
	tg_h1_init(&p, dir, &cbs, r);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;

		if (tg_h1_feed(&p, s + at, end - at) < 0)
			failed = 1;
		else if (failed)
			cr_assert_fail("feed succeeded after a failure");
		at = end;
	}
	cr_assert(!r->overflow);
	if (failed) {
		cr_assert_eq(tg_h1_finish(&p), -1);
		return -1;
	}
	return tg_h1_finish(&p);
}

static int run_bytes(enum tg_dir dir, const char *s, size_t n, int no_body, struct rec *r)
{
	struct tg_h1_parser p;
	size_t i;
	int failed = 0;

	memset(r, 0, sizeof *r);
	r->no_body = no_body;
	tg_h1_init(&p, dir, &cbs, r);
	for (i = 0; i < n; i++) {
		if (tg_h1_feed(&p, s + i, 1) < 0)
			failed = 1;
		else if (failed)
			cr_assert_fail("feed succeeded after a failure");
	}
	cr_assert(!r->overflow);
	if (failed) {
		cr_assert_eq(tg_h1_finish(&p), -1);
		return -1;
	}
	return tg_h1_finish(&p);
}

/* The transcript and result must be the same however the stream is cut. */
static void expect_n(enum tg_dir dir, const char *s, size_t n, int no_body, int want_rc, const char *want_log)
{
	static struct rec r;
	size_t cut;
	int rc;

	rc = run_cut(dir, s, n, NULL, 0, no_body, &r);
	cr_assert_eq(rc, want_rc, "whole: rc %d, want %d; log:\n%s", rc, want_rc, r.log);
	if (want_log)
		cr_assert_str_eq(r.log, want_log, "whole");
	for (cut = 1; cut < n; cut++) {
		rc = run_cut(dir, s, n, &cut, 1, no_body, &r);
		cr_assert_eq(rc, want_rc, "split at %zu: rc %d", cut, rc);
		if (want_log)
			cr_assert_str_eq(r.log, want_log, "split at %zu", cut);
	}
	rc = run_bytes(dir, s, n, no_body, &r);
	cr_assert_eq(rc, want_rc, "bytewise: rc %d", rc);
	if (want_log)
		cr_assert_str_eq(r.log, want_log, "bytewise");
}

static void expect(enum tg_dir dir, const char *s, int want_rc, const char *want_log)
{
	expect_n(dir, s, strlen(s), 0, want_rc, want_log);
}

#define REQ TG_DIR_REQUEST
#define RSP TG_DIR_RESPONSE

Test(h1, a_get_request_has_no_body)
{
	expect(REQ, "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\nAccept: */*\r\n\r\n", 0,
	       "REQ GET /v1/models\nH Host=api.openai.com\nH Accept=*/*\nHD\n|DONE\n");
}

Test(h1, a_post_body_is_framed_by_content_length)
{
	expect(REQ,
	       "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n"
	       "Content-Type: application/json\r\n\r\n{\"model\":\"m\"}",
	       0,
	       "REQ POST /v1/chat/completions\nH Host=x\nH Content-Length=13\n"
	       "H Content-Type=application/json\nHD\n{\"model\":\"m\"}|DONE\n");
}

Test(h1, a_chunked_request_is_dechunked_with_extensions_trailers_and_bare_lf)
{
	expect(REQ,
	       "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "5;name=value\r\nhello\r\n"
	       "1A ; a=\"q s\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	       "b\n0123456789A\n"
	       "0\r\nX-Trailer: t\r\nY: z\r\n\r\n",
	       0,
	       "REQ POST /x\nH Transfer-Encoding=chunked\nHD\n"
	       "helloabcdefghijklmnopqrstuvwxyz0123456789A|DONE\n");
}

Test(h1, keep_alive_requests_follow_each_other_with_stray_line_breaks_between)
{
	expect(REQ,
	       "\r\nGET /a HTTP/1.1\r\n\r\n"
	       "\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	       "\nPUT /c HTTP/1.0\r\ncontent-LENGTH: 0\r\n\r\n",
	       0,
	       "REQ GET /a\nHD\n|DONE\n"
	       "REQ POST /b\nH Content-Length=3\nHD\nabc|DONE\n"
	       "REQ PUT /c\nH content-LENGTH=0\nHD\n|DONE\n");
}

Test(h1, a_response_body_is_framed_by_content_length)
{
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Request-Id: req_1\r\n\r\n{}", 0,
	       "STATUS 200\nH Content-Length=2\nH X-Request-Id=req_1\nHD\n{}|DONE\n");
}

Test(h1, a_chunked_event_stream_response_is_dechunked)
{
	expect(RSP,
	       "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "e\r\ndata: {\"a\":1}\n\r\n"
	       "F\r\ndata: [DONE]\n\n\n\r\n"
	       "0\r\n\r\n",
	       0,
	       "STATUS 200\nH Content-Type=text/event-stream\nH Transfer-Encoding=chunked\nHD\n"
	       "data: {\"a\":1}\ndata: [DONE]\n\n\n|DONE\n");
}

Test(h1, interim_responses_precede_the_final_one)
{
	expect(RSP,
	       "HTTP/1.1 100 Continue\r\n\r\n"
	       "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
	       "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nz",
	       0,
	       "STATUS 100\nHD\n|DONE\nSTATUS 103\nH Link=</s.css>; rel=preload\nHD\n|DONE\n"
	       "STATUS 201\nH Content-Length=1\nHD\nz|DONE\n");
}

Test(h1, a_response_cut_off_after_an_interim_one_is_incomplete)
{
	expect(RSP, "HTTP/1.1 100 Continue\r\n\r\n", 1, "STATUS 100\nHD\n|DONE\n");
}

Test(h1, responses_204_and_304_have_no_body_whatever_their_headers_say)
{
	expect(RSP,
	       "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
	       "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nq",
	       0,
	       "STATUS 204\nH Content-Length=10\nHD\n|DONE\n"
	       "STATUS 304\nH Transfer-Encoding=chunked\nHD\n|DONE\n"
	       "STATUS 200\nH Content-Length=1\nHD\nq|DONE\n");
}

Test(h1, a_response_without_length_runs_until_close)
{
	expect(RSP, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"x\":\r\n1}", 0,
	       "STATUS 200\nH Content-Type=application/json\nHD\n{\"x\":\r\n1}|DONE\n");
}

Test(h1, an_unknown_transfer_coding_in_a_response_runs_until_close)
{
	expect(RSP, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nabc", 0,
	       "STATUS 200\nH Transfer-Encoding=gzip\nH Content-Length=1\nHD\nabc|DONE\n");
}

Test(h1, transfer_encoding_chunked_overrides_content_length)
{
	expect(RSP,
	       "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
	       "3\r\nabc\r\n0\r\n\r\n",
	       0,
	       "STATUS 200\nH Content-Length=100\nH Transfer-Encoding=gzip, Chunked\nHD\nabc|DONE\n");
}

Test(h1, a_response_the_caller_says_has_no_body_ends_at_its_headers)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

	expect_n(RSP, s, strlen(s), 1, 0,
		 "STATUS 200\nH Content-Length=1234\nHD\n|DONE\nSTATUS 200\nH Content-Length=0\nHD\n|DONE\n");
}

Test(h1, a_message_cut_off_midway_is_reported_by_finish)
{
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1,
	       "STATUS 200\nH Content-Length=10\nHD\nabc");
	expect(RSP, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", 1,
	       "STATUS 200\nH Transfer-Encoding=chunked\nHD\nabc");
	expect(REQ, "GET / HTTP/1.1\r\nHost: x", 1, "REQ GET /\n");
	expect(RSP, "HTTP/1.1 2", 1, "");
}

Test(h1, a_101_response_hands_the_stream_to_another_protocol)
{
	expect(RSP, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 0,
	       "STATUS 101\nH Upgrade=websocket\nHD\n|DONE\n");
	expect(RSP, "HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello", -1,
	       "STATUS 101\nHD\n|DONE\n");
}

Test(h1, idle_is_true_only_between_messages)
{
	static const char s[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
	struct tg_h1_parser p;

	tg_h1_init(&p, RSP, NULL, NULL);
	cr_assert(tg_h1_idle(&p));
	cr_assert_eq(tg_h1_feed(&p, s, 5), 0);
	cr_assert(!tg_h1_idle(&p));
	cr_assert_eq(tg_h1_feed(&p, s + 5, 20), 0);     /* the 100 is complete */
	cr_assert(!tg_h1_idle(&p));
	cr_assert_eq(tg_h1_feed(&p, s + 25, sizeof s - 2 - 25), 0);
	cr_assert(!tg_h1_idle(&p));
	cr_assert_eq(tg_h1_feed(&p, s + sizeof s - 2, 1), 0);
	cr_assert(tg_h1_idle(&p));
	cr_assert_eq(tg_h1_feed(&p, "\r\n", 2), 0);
	cr_assert(tg_h1_idle(&p));
	cr_assert_eq(tg_h1_finish(&p), 0);
	cr_assert_eq(tg_h1_feed(&p, "H", 1), -1, "no bytes after finish");
}

Test(h1, many_pipelined_responses_in_one_slice_are_all_seen)
{
	static char s[8192], want[8192];
	size_t n = 0, w = 0;
	int i;

	for (i = 0; i < 40; i++) {
		n += (size_t)sprintf(s + n, i % 2 ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n%02d"
						  : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n%02d\r\n0\r\n\r\n",
				     i);
		w += (size_t)sprintf(want + w, i % 2 ? "STATUS 200\nH Content-Length=2\nHD\n%02d|DONE\n"
						     : "STATUS 200\nH Transfer-Encoding=chunked\nHD\n%02d|DONE\n",
				     i);
	}
	expect_n(RSP, s, n, 0, 0, want);
}

Test(h1, a_content_length_list_of_equal_values_is_accepted)
{
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length: 3 , 3\r\ncontent-length: 3\r\n\r\nabc", 0,
	       "STATUS 200\nH Content-Length=3 , 3\nH content-length=3\nHD\nabc|DONE\n");
}

Test(h1, a_status_line_without_reason_phrase_is_accepted)
{
	expect(RSP, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, "STATUS 200\nH Content-Length=0\nHD\n|DONE\n");
}

Test(h1, header_values_lose_surrounding_whitespace_and_keep_inner)
{
	expect(REQ, "GET / HTTP/1.1\r\nA:\t x  y \t\r\nB:\r\n\r\n", 0, "REQ GET /\nH A=x  y\nH B=\nHD\n|DONE\n");
}

Test(h1, a_folded_header_line_is_skipped)
{
	expect(RSP, "HTTP/1.1 200 OK\r\nA: 1\r\n  continued\r\nContent-Length: 1\r\n\r\nz", 0,
	       "STATUS 200\nH A=1\nH Content-Length=1\nHD\nz|DONE\n");
}

Test(h1, an_overlong_header_is_delivered_with_its_value_cut)
{
	static char s[TG_H1_LINE_MAX * 2 + 256], want[TG_H1_LINE_MAX + 256];
	size_t n, w, vlen = TG_H1_LINE_MAX - strlen("X-Big: ");

	n = (size_t)sprintf(s, "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(s + n, 'v', TG_H1_LINE_MAX + 100);
	n += TG_H1_LINE_MAX + 100;
	n += (size_t)sprintf(s + n, "\r\nContent-Length: 2\r\n\r\nok");

	w = (size_t)sprintf(want, "STATUS 200\nH X-Big=");
	memset(want + w, 'v', vlen);
	w += vlen;
	sprintf(want + w, "\nH Content-Length=2\nHD\nok|DONE\n");
	expect_n(RSP, s, n, 0, 0, want);
}

Test(h1, a_header_whose_name_overflows_the_line_buffer_is_skipped)
{
	static char s[TG_H1_LINE_MAX + 256];
	size_t n;

	n = (size_t)sprintf(s, "GET / HTTP/1.1\r\n");
	memset(s + n, 'N', TG_H1_LINE_MAX + 5);
	n += TG_H1_LINE_MAX + 5;
	n += (size_t)sprintf(s + n, ": v\r\nA: b\r\n\r\n");
	expect_n(REQ, s, n, 0, 0, "REQ GET /\nH A=b\nHD\n|DONE\n");
}

Test(h1, an_overlong_request_target_is_cut_and_the_version_still_checked)
{
	static char s[TG_H1_LINE_MAX + 256], want[TG_H1_LINE_MAX + 256];
	size_t extra;

	/* Around the buffer's end, so the version straddles line and tail. */
	for (extra = 0; extra < 14; extra++) {
		size_t tlen = TG_H1_LINE_MAX - strlen("GET  HTTP/1.1") + extra, n, w;
		size_t held = tlen < TG_H1_LINE_MAX - 4 ? tlen : TG_H1_LINE_MAX - 4;
		struct rec *r = malloc(sizeof *r);
		int rc;

		cr_assert(r);
		n = (size_t)sprintf(s, "GET ");
		memset(s + n, 't', tlen);
		n += tlen;
		n += (size_t)sprintf(s + n, " HTTP/1.1\r\nA: b\r\n\r\n");
		w = (size_t)sprintf(want, "REQ GET ");
		memset(want + w, 't', held);
		w += held;
		sprintf(want + w, "\nH A=b\nHD\n|DONE\n");

		rc = run_cut(REQ, s, n, NULL, 0, 0, r);
		cr_assert_eq(rc, 0, "extra %zu", extra);
		cr_assert_str_eq(r->log, want, "extra %zu", extra);
		rc = run_bytes(REQ, s, n, 0, r);
		cr_assert_eq(rc, 0, "extra %zu", extra);
		cr_assert_str_eq(r->log, want, "extra %zu", extra);

		memcpy(s + n - strlen("1\r\nA: b\r\n\r\n"), "x", 1);
		rc = run_cut(REQ, s, n, NULL, 0, 0, r);
		cr_assert_eq(rc, -1, "bad version, extra %zu", extra);
		free(r);
	}
}

Test(h1, invalid_content_lengths_stop_the_parse)
{
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", -1, "STATUS 200\n");
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", -1, "STATUS 200\n");
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", -1, "STATUS 200\n");
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length: 1,\r\n\r\n", -1, "STATUS 200\n");
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", -1, "STATUS 200\n");
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", -1,
	       "STATUS 200\nH Content-Length=5\n");
	expect(RSP, "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", -1, "STATUS 200\n");
}

Test(h1, bytes_that_are_not_http_stop_the_parse_at_once)
{
	/* A TLS ClientHello inside a CONNECT tunnel. */
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

	expect_n(REQ, tls, sizeof tls - 1, 0, -1, "");
	expect_n(RSP, tls, sizeof tls - 1, 0, -1, "");
	expect(RSP, "SSH-2.0-OpenSSH_9.2\r\n", -1, "");
	expect(RSP, "HTTP/2 200\r\n\r\n", -1, "");
	expect(RSP, "HTTP/1.1 20 OK\r\n\r\n", -1, "");
	expect(RSP, "HTTP/1.1 099 OK\r\n\r\n", -1, "");
	expect(RSP, "HTTP/1.1 200OK\r\n\r\n", -1, "");
	expect(REQ, "GET / HTTP/2.0\r\n\r\n", -1, "");
	expect(REQ, "GET /\r\n\r\n", -1, "");
	expect(REQ, "GET  HTTP/1.1\r\n\r\n", -1, "");
	expect(REQ, "GET /a b HTTP/1.1\r\n\r\n", -1, "");
	expect(REQ, " GET / HTTP/1.1\r\n\r\n", -1, "");
	expect(REQ, "GETTINGVERYLONGMETHODNAMESISNOTHTTP / HTTP/1.1\r\n\r\n", -1, "");
	expect(REQ, "G{T / HTTP/1.1\r\n\r\n", -1, "");
}

Test(h1, malformed_header_lines_stop_the_parse)
{
	expect(REQ, "GET / HTTP/1.1\r\nHost : x\r\n\r\n", -1, "REQ GET /\n");
	expect(REQ, "GET / HTTP/1.1\r\n: x\r\n\r\n", -1, "REQ GET /\n");
	expect(REQ, "GET / HTTP/1.1\r\nno colon\r\n\r\n", -1, "REQ GET /\n");
	expect(REQ, "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", -1, "REQ GET /\n");
	expect(REQ, "GET / HTTP/1.1\r\nA: \x01\r\n\r\n", -1, "REQ GET /\n");
	static const char nul[] = "GET / HTTP/1.1\r\nA: \0\r\n\r\n";

	expect_n(REQ, nul, sizeof nul - 1, 0, -1, "REQ GET /\n");
}

Test(h1, header_values_may_carry_utf8_bytes)
{
	expect(REQ, "GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\n\r\n", 0, "REQ GET /\nH X-Name=caf\xc3\xa9\nHD\n|DONE\n");
}

Test(h1, malformed_chunks_stop_the_parse)
{
	const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	const char *want = "STATUS 200\nH Transfer-Encoding=chunked\nHD\n";
	static const char *bodies[] = {
		"xyz\r\n",                  /* not hex */
		"\r\n",                     /* no size */
		"3 x\r\nabc\r\n",           /* junk after the size */
		"3\r\nabcd\r\n",            /* data longer than its size */
		"10000000000000000\r\n",    /* overflows */
		"0\r\nbad trailer\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		char s[256];
		struct rec *r = malloc(sizeof *r);

		cr_assert(r);
		snprintf(s, sizeof s, "%s%s", head, bodies[i]);
		cr_assert_eq(run_cut(RSP, s, strlen(s), NULL, 0, 0, r), -1, "body %zu", i);
		cr_assert_eq(strncmp(r->log, want, strlen(want)), 0, "body %zu", i);
		free(r);
	}
}

Test(h1, a_request_with_a_non_chunked_transfer_coding_is_not_framed)
{
	expect(REQ, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc", -1,
	       "REQ POST /\nH Transfer-Encoding=gzip\nHD\n");
}

Test(h1, a_failure_is_sticky)
{
	struct tg_h1_parser p;
	static const char ok[] = "GET / HTTP/1.1\r\n\r\n";

	tg_h1_init(&p, REQ, NULL, NULL);
	cr_assert_eq(tg_h1_feed(&p, "\x80", 1), -1);
	cr_assert_eq(tg_h1_feed(&p, ok, sizeof ok - 1), -1);
	cr_assert_eq(tg_h1_feed(&p, "", 0), -1);
	cr_assert(!tg_h1_idle(&p));
	cr_assert_eq(tg_h1_finish(&p), -1);

	tg_h1_init(&p, REQ, NULL, NULL);
	cr_assert_eq(tg_h1_feed(&p, ok, sizeof ok - 1), 0, "init starts afresh");
}

Test(h1, the_parser_struct_has_the_size_the_header_states)
{
	cr_assert_leq(sizeof(struct tg_h1_parser), (size_t)TG_H1_LINE_MAX + 128);
}
