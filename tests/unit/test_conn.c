/* test_conn.c - the connection layer end to end without OpenSSL: fake SSL objects and
 * ops, real transports, parsers, gate, sink and ledger. */
#include <criterion/criterion.h>
#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "config.h"
#include "conn.h"
#include "failing_alloc.h"
#include "gate.h"
#include "ledger.h"
#include "log.h"

static char ledger_dir[256];

static const char *fake_sni(void *ssl) { return (const char *)ssl; }
static int fake_port(void *ssl) { return 443; }
static int fake_h2(void *ssl) { return 0; }
static int fake_server(void *ssl) { return 0; }
static int fake_partial(void *ssl) { return 0; }
static int fake_memory_bio(void *ssl) { return 0; }

static const struct tg_ssl_ops fake_ops = {
	.servername = fake_sni, .peer_port = fake_port, .alpn_is_h2 = fake_h2,
	.is_server = fake_server, .partial_writes = fake_partial, .memory_bio = fake_memory_bio,
};

static void setup_with(const char *budgets)
{
	snprintf(ledger_dir, sizeof ledger_dir, "/tmp/tg-conn-test.%d", (int)getpid());
	setenv("TOKENGUARD_LEDGER", ledger_dir, 1);
	setenv("TOKENGUARD_TAGS", "team=search", 1);
	setenv("TOKENGUARD_QUIET", "1", 1);
	tg_config_load();
	tg_gate_configure(budgets, NULL);
	tg_conn_set_ops(&fake_ops);
}

static void setup(void) { setup_with(NULL); }

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", ledger_dir);
	cr_assert_eq(system(cmd), 0);
}

struct seen { int n; struct tg_record r[8]; };

static int collect(void *ctx, const struct tg_record *r)
{
	struct seen *s = ctx;
	if (s->n < 8)
		s->r[s->n] = *r;
	s->n++;
	return 0;
}

static struct seen records(void)
{
	struct seen s = { 0 };
	struct tg_ledger *l;
	cr_assert_eq(tg_ledger_open(&l, ledger_dir, TG_LEDGER_RDONLY), 0);
	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, collect, &s), 0);
	tg_ledger_close(l);
	return s;
}

static const char request[] =
	"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
	"Authorization: Bearer sk-test-SECRET\r\nContent-Type: application/json\r\n"
	"Content-Length: 60\r\n\r\n"
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}";

static const char response[] =
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: req_1\r\n"
	"Content-Length: 129\r\n\r\n"
	"{\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],"
	"\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}";

static void write_all(void *ssl, const char *buf, size_t len, size_t piece)
{
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		struct tg_write_plan p;
		tg_conn_write_begin(ssl, buf + off, n, &p);
		cr_assert_eq(p.swallow, 0);
		tg_conn_write_end(&p, n, 0);
	}
}

static void read_all(void *ssl, const char *buf, size_t len, size_t piece)
{
	char tmp[4096];
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		struct tg_read_plan p;
		tg_conn_read_begin(ssl, tmp, sizeof tmp, &p);
		cr_assert_eq(p.served, 0);
		tg_conn_read_end(&p, buf + off, n, 0);
	}
}

Test(conn, an_exchange_in_odd_pieces_makes_one_record, .init = setup, .fini = teardown)
{
	char ssl[] = "api.openai.com";
	write_all(ssl, request, sizeof request - 1, 7);
	read_all(ssl, response, sizeof response - 1, 13);
	tg_conn_forget(ssl);
	struct seen s = records();
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.r[0].model, "gpt-4o-2024-08-06");
	cr_assert_eq(s.r[0].counts.input, 11);
	cr_assert_eq(s.r[0].counts.output, 7);
	cr_assert_str_eq(s.r[0].request_id, "req_1");
	cr_assert_str_eq(s.r[0].tags, "team=search");
	cr_assert_gt(s.r[0].cost_usd, 0);
}

Test(conn, retried_and_partial_writes_are_observed_once, .init = setup, .fini = teardown)
{
	char ssl[] = "api.openai.com";
	size_t len = sizeof request - 1;
	struct tg_write_plan p;
	/* WANT_WRITE: nothing went out, the program retries the same bytes. */
	tg_conn_write_begin(ssl, request, len, &p);
	tg_conn_write_end(&p, 0, 0);
	tg_conn_write_begin(ssl, request, len, &p);
	tg_conn_write_end(&p, 40, 0);        /* partial */
	tg_conn_write_begin(ssl, request + 40, len - 40, &p);
	tg_conn_write_end(&p, len - 40, 0);
	/* A second request on the same connection after the first response. */
	read_all(ssl, response, sizeof response - 1, 64);
	write_all(ssl, request, len, len);
	read_all(ssl, response, sizeof response - 1, sizeof response - 1);
	tg_conn_forget(ssl);
	struct seen s = records();
	cr_assert_eq(s.n, 2, "records: %d", s.n);
	cr_assert_eq(s.r[1].counts.input, 11);
}

Test(conn, connections_to_other_hosts_are_not_observed, .init = setup, .fini = teardown)
{
	char ssl[] = "example.com";
	struct tg_write_plan p;
	tg_conn_write_begin(ssl, request, sizeof request - 1, &p);
	cr_assert_null(p.conn);
	cr_assert_eq(p.buf, request);
	struct tg_read_plan rp;
	char tmp[16];
	tg_conn_read_begin(ssl, tmp, sizeof tmp, &rp);
	cr_assert_null(rp.conn);
	tg_conn_forget(ssl);
}

static void setup_blocking(void) { setup_with("global,day,usd=0,block,name=zero"); }

Test(conn, a_refused_call_is_swallowed_and_answered_with_a_429, .init = setup_blocking, .fini = teardown)
{
	char ssl[] = "api.openai.com";
	struct tg_write_plan p;
	tg_conn_write_begin(ssl, request, sizeof request - 1, &p);
	cr_assert_eq(p.swallow, 1, "the request must not be sent");
	tg_conn_write_end(&p, sizeof request - 1, 0);
	cr_assert_gt(tg_conn_pending(ssl), 0);

	char got[4096];
	size_t total = 0;
	for (;;) {
		struct tg_read_plan rp;
		tg_conn_read_begin(ssl, got + total, 10, &rp);
		if (rp.served == 0)
			break;   /* drained: the next read is the server's close */
		total += rp.served;
	}
	got[total] = '\0';
	cr_assert(strncmp(got, "HTTP/1.1 429 ", 13) == 0, "%s", got);
	cr_assert_not_null(strstr(got, "budget 'zero'"));
	tg_conn_forget(ssl);

	struct seen s = records();
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.r[0].status, 429);
	cr_assert(s.r[0].flags & TG_REC_BLOCKED);
	cr_assert_str_eq(s.r[0].policy, "zero");
	cr_assert_eq(s.r[0].counts.input, 0);
	cr_assert_eq(s.r[0].cost_usd, 0);
}

static void setup_downgrade(void) { setup_with("global,day,usd=0,downgrade:gpt-4o-mini,name=cheap"); }

Test(conn, a_downgrade_sends_the_cheaper_model_and_records_both, .init = setup_downgrade, .fini = teardown)
{
	char ssl[] = "api.openai.com";
	struct tg_write_plan p;
	tg_conn_write_begin(ssl, request, sizeof request - 1, &p);
	cr_assert_eq(p.swallow, 0);
	cr_assert_neq(p.buf, request);
	cr_assert_not_null(memmem(p.buf, p.len, "\"model\":\"gpt-4o-mini\"", 21));
	cr_assert_not_null(memmem(p.buf, p.len, "Content-Length: 65\r\n", 20));
	tg_conn_write_end(&p, sizeof request - 1, 0);
	read_all(ssl, response, sizeof response - 1, 50);
	tg_conn_forget(ssl);
	struct seen s = records();
	cr_assert_eq(s.n, 1);
	cr_assert(s.r[0].flags & TG_REC_DOWNGRADED);
	cr_assert_str_eq(s.r[0].requested_model, "gpt-4o");
	cr_assert_str_eq(s.r[0].policy, "cheap");
}

/* httpx (and so the official Python SDKs) writes headers and body apart:
 * the headers are held back until the body is whole, then both go out in
 * one write, rewritten when a budget says so. */
/* Writes request's headers alone, which are held: returns their length,
 * the body in *body. */
static size_t write_held_headers(void *ssl, const char **body)
{
	struct tg_write_plan p;
	size_t hlen;

	*body = strstr(request, "\r\n\r\n") + 4;
	hlen = (size_t)(*body - request);
	tg_conn_write_begin(ssl, request, hlen, &p);
	cr_assert_eq(p.swallow, 1, "the headers wait for the body");
	tg_conn_write_end(&p, hlen, 0);
	return hlen;
}

Test(conn, a_request_written_in_pieces_is_held_then_sent_whole, .init = setup_downgrade, .fini = teardown)
{
	char ssl[] = "api.openai.com";
	const char *body;
	struct tg_write_plan p;
	size_t blen;

	write_held_headers(ssl, &body);
	blen = strlen(body);
	tg_conn_write_begin(ssl, body, blen, &p);
	cr_assert_eq(p.swallow, 0);
	cr_assert_neq(p.buf, body, "headers and body go out together");
	cr_assert_not_null(memmem(p.buf, p.len, "POST /v1/chat/completions HTTP/1.1\r\n", 36));
	cr_assert_not_null(memmem(p.buf, p.len, "\"model\":\"gpt-4o-mini\"", 21), "and rewritten");
	tg_conn_write_end(&p, blen, 0);
	read_all(ssl, response, sizeof response - 1, 50);
	tg_conn_forget(ssl);

	struct seen s = records();
	cr_assert_eq(s.n, 1);
	cr_assert(s.r[0].flags & TG_REC_DOWNGRADED);
	cr_assert_str_eq(s.r[0].requested_model, "gpt-4o");
}

/* Out of memory while a request is held: the held head still goes out,
 * first, then the program's write as it wrote it; no byte is lost, and
 * the connection is no longer observed (nothing is recorded). */
Test(conn, out_of_memory_while_holding_loses_no_byte, .init = setup_downgrade, .fini = teardown)
{
	char ssl[] = "api.openai.com";
	const char *body;
	size_t hlen = write_held_headers(ssl, &body), blen = strlen(body);
	struct tg_write_plan p;

	tgt_alloc_fail_from = hlen + 1;  /* joining the body to the head fails */
	tg_conn_write_begin(ssl, body, blen, &p);
	tgt_alloc_fail_from = 0;
	cr_assert_eq(p.swallow, 0);
	cr_assert_eq(p.prefix_len, hlen);
	cr_assert(memcmp(p.prefix, request, hlen) == 0, "the held head, byte for byte");
	cr_assert_eq(p.buf, body, "then the body, as the program wrote it");
	cr_assert_eq(p.len, blen);

	/* The prefix could not go out (a non-blocking socket): the program's
	 * retry of the same write sends it again, then the body. */
	tg_conn_write_end(&p, 0, 0);
	tg_conn_write_begin(ssl, body, blen, &p);
	cr_assert_eq(p.prefix_len, hlen);
	cr_assert_eq(p.buf, body);
	tg_conn_prefix_sent(&p);
	tg_conn_write_end(&p, 0, 0);
	/* It went out, the body did not: the next retry is the body alone. */
	tg_conn_write_begin(ssl, body, blen, &p);
	cr_assert_null(p.prefix);
	cr_assert_eq(p.buf, body);
	cr_assert_eq(p.len, blen);
	tg_conn_write_end(&p, blen, 0);
	read_all(ssl, response, sizeof response - 1, 50);
	tg_conn_forget(ssl);
	/* no longer observed: no record (and so, here, no ledger) */
	cr_assert(access(ledger_dir, F_OK) != 0 || records().n == 0);
}

Test(conn, a_request_waiting_for_100_continue_is_not_held, .init = setup, .fini = teardown)
{
	char ssl[] = "api.openai.com";
	static const char head[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
	                           "Expect: 100-continue\r\nContent-Length: 60\r\n\r\n";
	struct tg_write_plan p;
	tg_conn_write_begin(ssl, head, sizeof head - 1, &p);
	cr_assert_eq(p.swallow, 0, "the program waits for the server before the body");
	cr_assert_eq(p.buf, head);
	tg_conn_write_end(&p, sizeof head - 1, 0);
	tg_conn_forget(ssl);
}

/* A forked child that frees an SSL object it inherited: the parent records
 * the exchange, the child frees its copy of the state and records nothing. */
Test(conn, a_child_frees_inherited_state_without_recording, .init = setup, .fini = teardown)
{
	char ssl[] = "api.openai.com";
	write_all(ssl, request, sizeof request - 1, sizeof request - 1);
	read_all(ssl, response, 40, 40);   /* the response is under way */
	cr_assert_eq(tg_conn_count(), 1);
	tg_conn_atfork_child();
	tg_conn_forget(ssl);
	cr_assert_eq(tg_conn_count(), 0);
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "the child's copy of the state leaked");
	cr_assert_eq(access(ledger_dir, F_OK) == 0 ? records().n : 0, 0,
	             "the child recorded the parent's exchange");
}

/* gzip of: a response that states its usage, then `pad` spaces, then its
 * end.  Streamed, so the plain body is never held. */
static unsigned char *gzip_padded(size_t pad, size_t *n)
{
	static const char head[] = "{\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"choices\":[],"
	                           "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7},\"pad\":\"";
	static char spaces[1 << 20];
	size_t cap = pad / 500 + 4096;
	unsigned char *c = malloc(cap);
	z_stream z = { 0 };

	cr_assert(c);
	memset(spaces, ' ', sizeof spaces);
	cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_out = c;
	z.avail_out = (uInt)cap;
	z.next_in = (Bytef *)head;
	z.avail_in = sizeof head - 1;
	cr_assert_eq(deflate(&z, Z_NO_FLUSH), Z_OK);
	for (size_t left = pad; left > 0;) {
		size_t take = left < sizeof spaces ? left : sizeof spaces;
		z.next_in = (Bytef *)spaces;
		z.avail_in = (uInt)take;
		cr_assert_eq(deflate(&z, Z_NO_FLUSH), Z_OK);
		left -= take;
	}
	z.next_in = (Bytef *)"\"}";
	z.avail_in = 2;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*n = z.total_out;
	deflateEnd(&z);
	return c;
}

static struct tg_record read_gzip_response(size_t pad)
{
	char ssl[] = "api.openai.com";
	char head[256];
	size_t n;
	unsigned char *body = gzip_padded(pad, &n);
	int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                  "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", n);

	write_all(ssl, request, sizeof request - 1, sizeof request - 1);
	read_all(ssl, head, (size_t)hl, (size_t)hl);
	read_all(ssl, (const char *)body, n, 16384);
	free(body);
	tg_conn_forget(ssl);
	struct seen s = records();
	cr_assert_eq(s.n, 1);
	return s.r[0];
}

Test(conn, a_decompression_bomb_is_recorded_uninspected_with_its_reason, .init = setup, .fini = teardown)
{
	struct tg_record r = read_gzip_response((size_t)256 << 20);

	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.flags & (TG_REC_TOO_LARGE | TG_REC_USAGE_UNKNOWN | TG_REC_INCOMPLETE),
	             TG_REC_TOO_LARGE | TG_REC_USAGE_UNKNOWN, "flags %#x", r.flags);
	cr_assert_eq(r.counts.input, TG_COUNT_UNKNOWN, "the usage read before the limit is not kept");
	cr_assert_eq(r.counts.output, TG_COUNT_UNKNOWN);
}

Test(conn, a_compressed_response_under_the_limit_is_counted, .init = setup, .fini = teardown)
{
	struct tg_record r = read_gzip_response((size_t)16 << 20);

	cr_assert_eq(r.flags & (TG_REC_TOO_LARGE | TG_REC_USAGE_UNKNOWN), 0, "flags %#x", r.flags);
	cr_assert_eq(r.counts.input, 11);
	cr_assert_eq(r.counts.output, 7);
}
