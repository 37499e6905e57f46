/* test_conn_h2.c - HTTP/2 refusals through the connection layer, without OpenSSL: what the
 * server gets in place of a refused stream's frames, and what the program
 * reads back. */
#include <criterion/criterion.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "failing_alloc.h"
#include "gate.h"

static char ledger_dir[256];

static const char *fake_sni(void *ssl) { return "api.openai.com"; }
static int fake_port(void *ssl) { return 443; }
static int fake_h2(void *ssl) { return 1; }
static int fake_no(void *ssl) { return 0; }

static const struct tg_ssl_ops fake_ops = {
	.servername = fake_sni, .peer_port = fake_port, .alpn_is_h2 = fake_h2,
	.is_server = fake_no, .partial_writes = fake_no, .memory_bio = fake_no,
};

static void setup(void)
{
	snprintf(ledger_dir, sizeof ledger_dir, "/tmp/tg-conn-h2-test.%d", (int)getpid());
	setenv("TOKENGUARD_LEDGER", ledger_dir, 1);
	setenv("TOKENGUARD_QUIET", "1", 1);
	tg_config_load();
	tg_gate_configure("global,day,usd=0,block,name=zero", NULL);
	tg_conn_set_ops(&fake_ops);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", ledger_dir);
	cr_assert_eq(system(cmd), 0);
}

static size_t frame(unsigned char *out, uint8_t type, uint8_t flags, uint32_t stream,
                    const void *payload, size_t len)
{
	out[0] = (unsigned char)(len >> 16);
	out[1] = (unsigned char)(len >> 8);
	out[2] = (unsigned char)len;
	out[3] = type;
	out[4] = flags;
	out[5] = (unsigned char)(stream >> 24);
	out[6] = (unsigned char)(stream >> 16);
	out[7] = (unsigned char)(stream >> 8);
	out[8] = (unsigned char)stream;
	memcpy(out + 9, payload, len);
	return 9 + len;
}

static size_t headers_block_of(unsigned char *out, size_t n, const char *content_type)
{
	nghttp2_hd_deflater *d;
	nghttp2_nv nv[] = {
#define NV(a, b) { (uint8_t *)a, (uint8_t *)b, sizeof a - 1, sizeof b - 1, NGHTTP2_NV_FLAG_NONE }
		NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "api.openai.com"),
		NV(":path", "/v1/chat/completions"),
		{ (uint8_t *)"content-type", (uint8_t *)content_type, 12, strlen(content_type), NGHTTP2_NV_FLAG_NONE },
#undef NV
	};
	cr_assert_eq(nghttp2_hd_deflate_new(&d, 4096), 0);
	ssize_t r = nghttp2_hd_deflate_hd(d, out, n, nv, sizeof nv / sizeof nv[0]);
	cr_assert_gt(r, 0);
	nghttp2_hd_deflate_del(d);
	return (size_t)r;
}

static size_t headers_block(unsigned char *out, size_t n)
{
	return headers_block_of(out, n, "application/json");
}

/* The DATA frame's header goes out in the first write, the model only in
 * the second: the refusal comes when the frame is half sent, so the frame
 * must still reach the server whole, followed by the reset.  (A request
 * is held back until whole when it can be: here the server's window is
 * too small for that.) */
Test(conn_h2, a_refusal_never_cuts_a_frame_already_begun, .init = setup, .fini = teardown)
{
	static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"PROMPT-SECRET-1\"}],"
	                           "\"model\":\"gpt-4o\"}";
	unsigned char block[256], w1[1024], all[2048];
	size_t blen = headers_block(block, sizeof block);
	size_t n = 0;
	memcpy(all, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	n = 24;
	n += frame(all + n, 0x4, 0, 0, "", 0);                       /* SETTINGS */
	n += frame(all + n, 0x1, 0x4, 1, block, blen);               /* HEADERS, END_HEADERS */
	size_t data_at = n;
	n += frame(all + n, 0x0, 0x1, 1, body, sizeof body - 1);     /* DATA, END_STREAM */
	size_t first = data_at + 9 + 20;                             /* header + 20 payload bytes */

	char ssl[] = "h2";
	struct tg_write_plan p;
	/* The server allows 20 bytes per stream: the request cannot be held
	 * until whole (the program would wait for credit), so it goes out as
	 * it comes. */
	unsigned char settings[9 + 6];
	frame(settings, 0x4, 0, 0, "\x00\x04\x00\x00\x00\x14", 6);   /* INITIAL_WINDOW_SIZE 20 */
	char got[4096];
	struct tg_read_plan rp;
	memcpy(w1, all, 24 + 9);
	tg_conn_write_begin(ssl, (const char *)w1, 24 + 9, &p);   /* preface, SETTINGS */
	tg_conn_write_end(&p, 24 + 9, 0);
	tg_conn_read_begin(ssl, got, sizeof got, &rp);
	cr_assert_eq(rp.served, 0);
	tg_conn_read_end(&rp, (const char *)settings, sizeof settings, 0);

	memcpy(w1, all + 33, first - 33);
	tg_conn_write_begin(ssl, (const char *)w1, first - 33, &p);
	cr_assert_eq(p.swallow, 0);
	cr_assert_eq(p.buf, (const char *)w1, "nothing to decide yet: the model is not known");
	tg_conn_write_end(&p, first - 33, 0);

	tg_conn_write_begin(ssl, (const char *)all + first, n - first, &p);
	cr_assert_eq(p.swallow, 0);
	cr_assert_neq(p.buf, (const char *)all + first, "the write carries the reset");
	cr_assert_eq(p.len, (n - first) + 13 + 17, "rest of the frame, RST_STREAM, PING");
	cr_assert(memcmp(p.buf, all + first, n - first) == 0, "the begun frame goes out whole");
	const unsigned char *rst = (const unsigned char *)p.buf + (n - first);
	cr_assert_eq(rst[3], 0x3);
	cr_assert_eq(rst[8], 1);
	cr_assert_eq(rst[13 + 3], 0x6);
	tg_conn_write_end(&p, n - first, 0);

	cr_assert_gt(tg_conn_pending(ssl), 0);
	tg_conn_read_begin(ssl, got, sizeof got, &rp);
	cr_assert_gt(rp.served, 9);
	const unsigned char *h = (const unsigned char *)got;
	cr_assert_eq(h[3], 0x1, "HEADERS first");
	cr_assert_eq(h[8], 1, "on the refused stream");
	tg_conn_forget(ssl);
}

/* The preface, an empty SETTINGS and stream 1's HEADERS (END_HEADERS,
 * no END_STREAM); returns their length. */
static size_t request_start(unsigned char *all)
{
	unsigned char block[256];
	size_t blen = headers_block(block, sizeof block);
	size_t n = 24;
	memcpy(all, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	n += frame(all + n, 0x4, 0, 0, "", 0);
	n += frame(all + n, 0x1, 0x4, 1, block, blen);
	return n;
}

/* A request whose body comes over several writes is held back until
 * whole: refused then, none of its DATA reaches the server, whatever the
 * writes' cuts, and the HEADERS still do (the server's HPACK table). */
Test(conn_h2, a_held_request_refused_sends_no_data, .init = setup, .fini = teardown)
{
	static const char body1[] = "{\"model\":\"gpt-4o\",\"messages\":[";
	static const char body2[] = "{\"role\":\"user\",\"content\":\"PROMPT-SECRET-2\"}]}";
	unsigned char all[2048];
	size_t n = request_start(all);
	size_t headers_end = n;
	size_t first_end = n + 9 + sizeof body1 - 1;
	n += frame(all + n, 0x0, 0, 1, body1, sizeof body1 - 1);
	size_t second_at = n;
	n += frame(all + n, 0x0, 0x1, 1, body2, sizeof body2 - 1);   /* END_STREAM */

	char ssl[] = "h2b";
	struct tg_write_plan p;
	tg_conn_write_begin(ssl, (const char *)all, first_end, &p);
	cr_assert_eq(p.swallow, 1, "held: the body is still to come");
	tg_conn_write_end(&p, first_end, 0);
	size_t mid = second_at + 9 + 10;
	tg_conn_write_begin(ssl, (const char *)all + second_at, mid - second_at, &p);
	cr_assert_eq(p.swallow, 1);
	tg_conn_write_end(&p, mid - second_at, 0);
	tg_conn_write_begin(ssl, (const char *)all + mid, n - mid, &p);
	cr_assert_eq(p.swallow, 0);
	cr_assert_eq(p.len, headers_end + 13 + 17, "preface, SETTINGS, HEADERS, RST_STREAM, PING: %zu", p.len);
	cr_assert(memcmp(p.buf, all, headers_end) == 0, "the HEADERS go out byte for byte");
	cr_assert_eq(((const unsigned char *)p.buf)[headers_end + 3], 0x3);
	tg_conn_write_end(&p, n - mid, 0);
	tg_conn_forget(ssl);
}

/* Downgrade over HTTP/2: the request is held until whole and goes out as
 * the same bytes but for its body, edited at its length (content-length
 * and both windows agree with what the program sent). */
static void setup_downgrade(void)
{
	setup();
	tg_gate_configure("global,day,usd=0,downgrade:gpt-4o-mini,name=cheap", NULL);
}

static size_t data_frames(unsigned char *out, uint32_t stream, const char *body, size_t cut, int padded)
{
	size_t n = 0, len = strlen(body);
	unsigned char payload[512];
	if (padded) {
		payload[0] = 3;
		memcpy(payload + 1, body, cut);
		memcpy(payload + 1 + cut, "\0\0\0", 3);
		n += frame(out, 0x0, 0x8, stream, payload, 1 + cut + 3);
	} else {
		n += frame(out, 0x0, 0, stream, body, cut);
	}
	n += frame(out + n, 0x0, 0x1, stream, body + cut, len - cut);
	return n;
}

static void downgrade_case(const char *body, const char *want, int padded)
{
	unsigned char all[2048];
	size_t n = request_start(all);
	size_t data_at = n;
	size_t cut = strlen(body) / 2;
	n += data_frames(all + n, 1, body, cut, padded);

	/* Every way of cutting the bytes into two writes. */
	for (size_t split = 1; split < n; split++) {
		char ssl[32];
		snprintf(ssl, sizeof ssl, "dg%zu", split);
		struct tg_write_plan p;
		unsigned char out[2048];
		size_t olen = 0;
		tg_conn_write_begin(ssl, (const char *)all, split, &p);
		if (!p.swallow) {
			memcpy(out, p.buf, p.len);
			olen = p.len;
		}
		tg_conn_write_end(&p, split, 0);
		tg_conn_write_begin(ssl, (const char *)all + split, n - split, &p);
		cr_assert_eq(p.swallow, 0);
		memcpy(out + olen, p.buf, p.len);
		olen += p.len;
		tg_conn_write_end(&p, n - split, 0);
		tg_conn_forget(ssl);

		unsigned char wantall[2048];
		memcpy(wantall, all, data_at);
		data_frames(wantall + data_at, 1, want, cut, padded);
		/* The write that ends the HEADERS is held whole, with what
		 * follows, until the body is. */
		cr_assert_eq(olen, n, "split %zu: %zu bytes out", split, olen);
		cr_assert(memcmp(out, wantall, n) == 0, "split %zu: not the edited body", split);
	}
}

Test(conn_h2, a_downgrade_edits_the_body_in_place_at_its_length, .init = setup_downgrade, .fini = teardown)
{
	/* Longer name: two spaces given back; shorter: padded after it. */
	downgrade_case("{\"model\": \"gpt-4o\", \"messages\": [], \"n\": 1,  \"x\": \"a b\"}",
	               "{\"model\":\"gpt-4o-mini\",\"messages\":[],\"n\":1,  \"x\": \"a b\"}", 0);
	downgrade_case("{\"model\": \"gpt-4o\", \"messages\": [], \"n\": 1,  \"x\": \"a b\"}",
	               "{\"model\":\"gpt-4o-mini\",\"messages\":[],\"n\":1,  \"x\": \"a b\"}", 1);
	downgrade_case("{\"model\": \"gpt-4o-2024-08-06\", \"messages\": []}",
	               "{\"model\": \"gpt-4o-mini\"      , \"messages\": []}", 0);
}

/* Out of memory while a request is held: what was held goes out first,
 * then the write as the program made it; no byte is lost. */
Test(conn_h2, out_of_memory_while_holding_loses_no_byte, .init = setup_downgrade, .fini = teardown)
{
	static const char body[] = "{\"model\": \"gpt-4o\", \"messages\": []}";
	unsigned char all[2048];
	size_t n = request_start(all);
	size_t cut = strlen(body) / 2, first;
	n += data_frames(all + n, 1, body, cut, 0);
	first = n - (9 + strlen(body) - cut);   /* up to the last DATA frame */

	char ssl[] = "h2oom";
	struct tg_write_plan p;
	tg_conn_write_begin(ssl, (const char *)all, first, &p);
	cr_assert_eq(p.swallow, 1, "held: the body is still to come");
	tg_conn_write_end(&p, first, 0);
	tgt_alloc_fail_from = first + 1;
	tg_conn_write_begin(ssl, (const char *)all + first, n - first, &p);
	tgt_alloc_fail_from = 0;
	cr_assert_eq(p.swallow, 0);
	cr_assert_eq(p.prefix_len, first);
	cr_assert(memcmp(p.prefix, all, first) == 0, "the held bytes, as they were");
	cr_assert_eq(p.buf, (const char *)all + first, "then the write, untouched");
	cr_assert_eq(p.len, n - first);
	tg_conn_prefix_sent(&p);
	tg_conn_write_end(&p, n - first, 0);
	tg_conn_forget(ssl);
}

/* A body that is no JSON (gRPC streams, which may wait for the server
 * between messages) is never held: nothing could rewrite it. */
Test(conn_h2, a_request_that_is_not_json_is_not_held, .init = setup_downgrade, .fini = teardown)
{
	unsigned char block[256], all[2048];
	size_t blen = headers_block_of(block, sizeof block, "application/grpc");
	size_t n = 24;
	memcpy(all, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	n += frame(all + n, 0x4, 0, 0, "", 0);
	n += frame(all + n, 0x1, 0x4, 1, block, blen);
	n += frame(all + n, 0x0, 0, 1, "\0\0\0\0\x05hello", 10);

	char ssl[] = "grpc";
	struct tg_write_plan p;
	tg_conn_write_begin(ssl, (const char *)all, n, &p);
	cr_assert_eq(p.swallow, 0, "held");
	cr_assert_eq(p.buf, (const char *)all);
	tg_conn_write_end(&p, n, 0);
	tg_conn_forget(ssl);
}
