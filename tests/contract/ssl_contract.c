/* ssl_contract.c - the promises libtokenguard.so makes to the program it is
 * preloaded into, checked from that program's side.
 *
 * Owns: the scenarios of tests/contract/run.sh.  Each one drives a TLS
 * client and server in this process, joined by an in-memory BIO pair, and
 * prints a transcript of every SSL call: arguments, return value, errno
 * (set to a sentinel before the call), SSL_get_error, the first and last
 * entries of the OpenSSL error queue, SSL_pending and SSL_has_pending (with
 * their own errno), and a hash of the caller's whole read buffer.  run.sh
 * runs every scenario without and with the shim: the transcripts must be
 * byte-identical, and the ledger must hold exactly the records named by the
 * transcript's "expect record" lines.
 *
 * Nothing in a transcript may depend on the run (addresses, pids, times,
 * key material); the pid and the object SSL_write resolves to go to PIDFILE
 * instead, so run.sh can tell that the shim really was loaded.
 *
 * usage: ssl-contract SCENARIO [PIDFILE]
 */
#include <dlfcn.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tls_selfsigned.h"

#define SENTINEL     4242          /* no errno value: any change shows */
#define RX_CAP       (64 * 1024)   /* bytes one end can hold of one message */
#define SCRATCH_CAP  16384         /* peek buffer */
#define FILL         0xA5          /* read buffers are filled with it before each call */
#define BIG_PAIR     (1 << 20)     /* BIO pair that never pushes back */
#define SMALL_PAIR   512           /* BIO pair smaller than one request */
#define RECORD_PAIR  1024          /* BIO pair that holds one 512-byte record, not two */
#define TEXT_MAX     8192
#define PAD_MAX      4096

#define PROVIDER     "api.openai.com"
#define NOT_PROVIDER "example.com"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* One thread's transcript.  Worker threads keep only a digest, printed by
 * the main thread in a fixed order, so the output does not depend on how
 * the threads were scheduled. */
struct transcript {
	FILE *out;               /* NULL: lines only go into the digest */
	uint64_t digest;
	unsigned long lines;
};

static void say(struct transcript *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	t->digest = fnv(t->digest, line, (size_t)n + 1);
	t->lines++;
	if (t->out)
		fprintf(t->out, "%s\n", line);
}

static int fail(struct transcript *t, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	say(t, "FAILED: %s", why);
	fprintf(stderr, "ssl-contract: %s\n", why);
	return -1;
}

/* One end of a connection, and what it has read of the current message. */
struct end {
	const char *name;
	SSL *ssl;
	struct transcript *t;
	unsigned turn;              /* picks the next read's size and function */
	unsigned want_writes;       /* writes that met a full BIO pair */
	unsigned short_writes;      /* writes that reported part of their bytes */
	int raw_counts;             /* print the count of a failed _ex call too: OpenSSL
	                               leaves it alone, so should we */
	size_t rxlen;
	unsigned char rx[RX_CAP];
	unsigned char scratch[SCRATCH_CAP];
};

struct pair {
	struct end client, server;
};

/* Read after every call, in this order, so that what the call left
 * (errno first of all) is seen before anything else can change it. */
static void report(struct end *e, const char *call, int ret, int err, const char *more)
{
	unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();
	int ssl_error = SSL_get_error(e->ssl, ret);
	errno = SENTINEL;
	int pending = SSL_pending(e->ssl);
	int pending_errno = errno;
	errno = SENTINEL;
	int has = SSL_has_pending(e->ssl);
	int has_errno = errno;
	say(e->t, "%s %s = %d%s errno=%d ssl_error=%d queue=%lx..%lx pending=%d errno=%d "
	    "has_pending=%d errno=%d", e->name, call, ret, more, err, ssl_error, first, last,
	    pending, pending_errno, has, has_errno);
}

static int op_write(struct end *e, const void *buf, int len)
{
	char call[48];
	errno = SENTINEL;
	int ret = SSL_write(e->ssl, buf, len);
	int err = errno;
	snprintf(call, sizeof call, "SSL_write(%d)", len);
	report(e, call, ret, err, "");
	return ret;
}

static int op_write_ex(struct end *e, const void *buf, size_t len, size_t *written)
{
	char call[48], more[48];
	*written = 777777;
	errno = SENTINEL;
	int ret = SSL_write_ex(e->ssl, buf, len, written);
	int err = errno;
	snprintf(call, sizeof call, "SSL_write_ex(%zu)", len);
	if (ret == 1 || e->raw_counts)
		snprintf(more, sizeof more, " written=%zu", *written);
	else
		snprintf(more, sizeof more, " written=-");
	report(e, call, ret, err, more);
	return ret;
}

enum read_kind { READ, READ_EX, PEEK, PEEK_EX };

/* Reads go to the end of the current message, peeks to scratch.  The whole
 * buffer passed is hashed, not only what the call reports, so a byte
 * written past the count would show too. */
static int op_read(struct end *e, enum read_kind kind, int len, size_t *got)
{
	static const char *const names[] = { "SSL_read", "SSL_read_ex", "SSL_peek", "SSL_peek_ex" };
	int peek = kind == PEEK || kind == PEEK_EX;
	unsigned char *buf = peek ? e->scratch : e->rx + e->rxlen;
	size_t cap = peek ? SCRATCH_CAP : RX_CAP - e->rxlen;
	size_t n = 777777;
	int ret;
	char call[48], more[64];

	if (len > 0 && (size_t)len > cap)
		len = (int)cap;
	if (len > 0)
		memset(buf, FILL, (size_t)len);
	errno = SENTINEL;
	switch (kind) {
	case READ:
		ret = SSL_read(e->ssl, buf, len);
		break;
	case READ_EX:
		ret = SSL_read_ex(e->ssl, buf, (size_t)len, &n);
		break;
	case PEEK:
		ret = SSL_peek(e->ssl, buf, len);
		break;
	default:
		ret = SSL_peek_ex(e->ssl, buf, (size_t)len, &n);
		break;
	}
	int err = errno;
	int ex = kind == READ_EX || kind == PEEK_EX;
	unsigned long long hash = fnv(FNV_OFFSET, buf, len > 0 ? (size_t)len : 0);
	snprintf(call, sizeof call, "%s(%d)", names[kind], len);
	if (!ex)
		n = ret > 0 ? (size_t)ret : 0;
	if (ex && ret != 1 && !e->raw_counts)
		snprintf(more, sizeof more, " got=- hash=%016llx", hash);
	else
		snprintf(more, sizeof more, " got=%zu hash=%016llx", n, hash);
	if (ex && ret != 1)
		n = 0;
	report(e, call, ret, err, more);
	if (!peek)
		e->rxlen += n;
	*got = n;
	return ret;
}

static int op_shutdown(struct end *e)
{
	errno = SENTINEL;
	int ret = SSL_shutdown(e->ssl);
	int err = errno;
	report(e, "SSL_shutdown()", ret, err, "");
	return ret;
}

static void op_free(struct end *e)
{
	errno = SENTINEL;
	SSL_free(e->ssl);
	int err = errno;
	e->ssl = NULL;
	say(e->t, "%s SSL_free() errno=%d queue=%lx..%lx", e->name, err, ERR_peek_error(),
	    ERR_peek_last_error());
}

static void op_clear_errors(struct end *e)
{
	ERR_clear_error();
	say(e->t, "%s ERR_clear_error()", e->name);
}

static int ssl_error(struct end *e, int ret)
{
	return ret > 0 ? SSL_ERROR_NONE : SSL_get_error(e->ssl, ret);
}

/* Odd sizes, so that reads end inside headers, chunk lines and JSON
 * strings, mixed with the 16 KiB a program typically asks for. */
static const int read_sizes[] = { 1, 7, 13, 5, 31, 97, 3, 255, 17, 1021, 4093, 16384 };

static int read_next(struct end *e, size_t *got)
{
	unsigned i = e->turn++;
	int len = read_sizes[i % (sizeof read_sizes / sizeof read_sizes[0])];
	return op_read(e, i % 2 ? READ_EX : READ, len, got);
}

/* The writer's peer takes bytes off a full pair so the write can go on. */
static int drain(struct end *r)
{
	size_t got;
	int ret = read_next(r, &got);
	if (ret > 0 || ssl_error(r, ret) == SSL_ERROR_WANT_READ)
		return 0;
	return fail(r->t, "%s: read failed while draining", r->name);
}

enum { SEND_EX = 1, SEND_PARTIAL = 2 };

/* Without partial writes a write that met WANT_WRITE is retried with the
 * very same arguments, as OpenSSL requires; with them the program goes on
 * from the count each call reports. */
static int send_msg(struct end *w, struct end *r, const char *buf, size_t len, int flags)
{
	size_t off = 0;
	unsigned stalls = 0;
	while (off < len) {
		size_t done = 0;
		int ret;
		if (flags & SEND_EX) {
			ret = op_write_ex(w, buf + off, len - off, &done);
		} else {
			ret = op_write(w, buf + off, (int)(len - off));
			done = ret > 0 ? (size_t)ret : 0;
		}
		if (ret > 0) {
			if (done < len - off) {
				if (!(flags & SEND_PARTIAL))
					return fail(w->t, "%s: %zu of %zu bytes written without partial writes",
					            w->name, done, len - off);
				w->short_writes++;
			}
			off += done;
			continue;
		}
		if (ssl_error(w, ret) != SSL_ERROR_WANT_WRITE)
			return fail(w->t, "%s: write failed", w->name);
		if (++stalls > 10000)
			return fail(w->t, "%s: write makes no progress", w->name);
		w->want_writes++;
		if (drain(r) < 0)
			return -1;
	}
	return 0;
}

/* Reads until the message is complete; it must be exactly what was sent. */
static int recv_msg(struct end *r, const char *msg, size_t len)
{
	while (r->rxlen < len) {
		size_t got;
		int ret = read_next(r, &got);
		if (ret <= 0)
			return fail(r->t, "%s: read stopped at %zu of %zu bytes", r->name, r->rxlen, len);
	}
	if (r->rxlen != len || memcmp(r->rx, msg, len) != 0)
		return fail(r->t, "%s: read %zu bytes that differ from the %zu sent", r->name, r->rxlen, len);
	return 0;
}

/* One HTTP/1.1 chat completion and its answer, usage included. */
struct texts {
	char req[TEXT_MAX], resp[TEXT_MAX];
	size_t reqlen, resplen;
};

static void texts_make(struct texts *x, const char *host, long input, long output, size_t pad)
{
	char content[PAD_MAX + 1], body[TEXT_MAX / 2];
	if (pad > PAD_MAX)
		pad = PAD_MAX;
	memset(content, 'x', pad);
	content[pad] = '\0';

	int blen = snprintf(body, sizeof body,
		"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hello %s\"}]}",
		content);
	x->reqlen = (size_t)snprintf(x->req, sizeof x->req,
		"POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer sk-contract\r\n"
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host, blen, body);

	blen = snprintf(body, sizeof body,
		"{\"id\":\"chatcmpl-contract\",\"object\":\"chat.completion\","
		"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":"
		"{\"role\":\"assistant\",\"content\":\"hi %s\"},\"finish_reason\":\"stop\"}],"
		"\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}}",
		content, input, output, input + output);
	x->resplen = (size_t)snprintf(x->resp, sizeof x->resp,
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: req_contract\r\n"
		"Content-Length: %d\r\n\r\n%s", blen, body);
}

/* The record run.sh must find for one exchange built by texts_make. */
static void expect_record(struct transcript *t, long input, long output)
{
	say(t, "expect record openai " PROVIDER " /v1/chat/completions gpt-4o-mini-2024-07-18 200 %ld %ld",
	    input, output);
}

static int send_request(struct pair *p, const struct texts *x, int flags)
{
	p->server.rxlen = 0;
	if (send_msg(&p->client, &p->server, x->req, x->reqlen, flags) < 0)
		return -1;
	return recv_msg(&p->server, x->req, x->reqlen);
}

static int send_response(struct pair *p, const struct texts *x, int flags)
{
	p->client.rxlen = 0;
	return send_msg(&p->server, &p->client, x->resp, x->resplen, flags);
}

static int exchange(struct pair *p, const struct texts *x, int client_flags, int server_flags)
{
	if (send_request(p, x, client_flags) < 0 || send_response(p, x, server_flags) < 0)
		return -1;
	return recv_msg(&p->client, x->resp, x->resplen);
}

struct world {
	SSL_CTX *cctx, *sctx;
	struct transcript *t;
};

static struct pair *pair_open(const struct world *w, const char *sni, long bio_size)
{
	struct pair *p = calloc(1, sizeof *p);
	BIO *cb, *sb;
	if (!p)
		return NULL;
	p->client.name = "client";
	p->server.name = "server";
	p->client.t = p->server.t = w->t;
	p->client.ssl = SSL_new(w->cctx);
	p->server.ssl = SSL_new(w->sctx);
	if (!p->client.ssl || !p->server.ssl || !BIO_new_bio_pair(&cb, (size_t)bio_size, &sb, (size_t)bio_size)) {
		fail(w->t, "cannot create the SSL objects");
		SSL_free(p->client.ssl);
		SSL_free(p->server.ssl);
		free(p);
		return NULL;
	}
	SSL_set_bio(p->client.ssl, cb, cb);
	SSL_set_bio(p->server.ssl, sb, sb);
	/* The client stops reading once its handshake is done; tickets sent
	 * after that would not fit a small pair. */
	if (bio_size < 4096)
		SSL_set_num_tickets(p->server.ssl, 0);
	SSL_set_tlsext_host_name(p->client.ssl, sni);
	SSL_set_connect_state(p->client.ssl);
	SSL_set_accept_state(p->server.ssl);

	int done_c = 0, done_s = 0, rounds = 0;
	while (!(done_c && done_s) && rounds++ < 1000) {
		done_c = SSL_do_handshake(p->client.ssl) == 1;
		done_s = SSL_do_handshake(p->server.ssl) == 1;
	}
	ERR_clear_error();
	if (!done_c || !done_s) {
		fail(w->t, "handshake with %s did not complete", sni);
		SSL_free(p->client.ssl);
		SSL_free(p->server.ssl);
		free(p);
		return NULL;
	}
	say(w->t, "handshake %s done in %d rounds, %s", sni, rounds, SSL_get_version(p->client.ssl));
	return p;
}

static void pair_close(struct pair *p)
{
	if (p->client.ssl)
		op_free(&p->client);
	if (p->server.ssl)
		op_free(&p->server);
	free(p);
}

/* Scenario "peek" and "not-provider": the response is looked at with
 * SSL_peek and SSL_peek_ex before and between the reads that take it. */
static int peek_exchange(struct world *w, const char *host)
{
	struct texts x;
	struct pair *p = pair_open(w, host, BIG_PAIR);
	size_t got;
	int rc = -1;
	if (!p)
		return -1;
	texts_make(&x, host, 9, 12, 40);
	if (send_request(p, &x, 0) < 0 || send_response(p, &x, 0) < 0)
		goto out;
	struct end *c = &p->client;
	if (op_read(c, PEEK, 10, &got) != 10 || op_read(c, PEEK_EX, 100, &got) != 1 ||
	    op_read(c, PEEK, 10, &got) != 10)
		goto bad;
	if (op_read(c, READ, 7, &got) != 7 || op_read(c, READ_EX, 13, &got) != 1 ||
	    op_read(c, PEEK, 5, &got) != 5 || op_read(c, PEEK_EX, 16384, &got) != 1)
		goto bad;
	if (recv_msg(c, x.resp, x.resplen) < 0)
		goto out;
	/* Nothing left: both peeks must say so the same way with or without us. */
	if (op_read(c, PEEK, 100, &got) != -1 || op_read(c, PEEK_EX, 100, &got) != 0)
		goto bad;
	if (strcmp(host, PROVIDER) == 0)
		expect_record(w->t, 9, 12);
	rc = 0;
	goto out;
bad:
	fail(w->t, "a peek or read returned something unexpected");
out:
	pair_close(p);
	return rc;
}

static int scenario_peek(struct world *w)
{
	return peek_exchange(w, PROVIDER);
}

static int scenario_not_provider(struct world *w)
{
	return peek_exchange(w, NOT_PROVIDER);
}

/* A request four times the size of the pair's buffer: the client's write
 * meets WANT_WRITE until the server reads, and is retried unchanged. */
static int scenario_want_write(struct world *w)
{
	struct texts x;
	struct pair *p = pair_open(w, PROVIDER, SMALL_PAIR);
	int rc = -1;
	if (!p)
		return -1;
	texts_make(&x, PROVIDER, 1500, 30, 2000);
	if (exchange(p, &x, 0, 0) == 0) {
		if (p->client.want_writes == 0)
			fail(w->t, "the client never met WANT_WRITE: nothing was tested");
		else
			rc = 0;
	}
	say(w->t, "client met WANT_WRITE %s", p->client.want_writes ? "yes" : "no");
	if (rc == 0)
		expect_record(w->t, 1500, 30);
	pair_close(p);
	return rc;
}

/* SSL_MODE_ENABLE_PARTIAL_WRITE and 512-byte records: SSL_write_ex reports
 * one record at a time and the client goes on with the rest.  The pair
 * holds one record, so a write returns as soon as its record is in: a
 * pair smaller than a record would only ever say WANT_WRITE. */
static int scenario_partial_write(struct world *w)
{
	struct texts x;
	struct pair *p = pair_open(w, PROVIDER, RECORD_PAIR);
	int rc = -1;
	if (!p)
		return -1;
	SSL_set_mode(p->client.ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
	SSL_set_max_send_fragment(p->client.ssl, 512);
	texts_make(&x, PROVIDER, 1700, 40, 2000);
	if (exchange(p, &x, SEND_EX | SEND_PARTIAL, 0) == 0) {
		if (p->client.short_writes == 0)
			fail(w->t, "the client never got a partial count: nothing was tested");
		else
			rc = 0;
	}
	say(w->t, "client got partial counts %s", p->client.short_writes ? "yes" : "no");
	if (rc == 0)
		expect_record(w->t, 1700, 40);
	pair_close(p);
	return rc;
}

/* Calls that fail or misuse the API, after one exchange: lengths 0 and -1,
 * nothing to read, the peer's close_notify, writes after our own
 * shutdown.  The error queue is left as the calls leave it, so that
 * entries of ours, or entries of the program's we popped, would show. */
static int errno_after_close(struct world *w, const char *host, long input, long output)
{
	struct texts x;
	struct pair *p = pair_open(w, host, BIG_PAIR);
	struct end *c, *s;
	size_t got, written;
	if (!p)
		return -1;
	c = &p->client;
	s = &p->server;
	c->raw_counts = 1;
	texts_make(&x, host, input, output, 10);
	if (exchange(p, &x, 0, 0) < 0) {
		pair_close(p);
		return -1;
	}
	op_read(c, READ, 0, &got);
	op_read(c, READ_EX, 0, &got);
	op_read(c, READ, 100, &got);
	op_read(c, READ_EX, 100, &got);
	op_read(c, READ, -1, &got);
	op_clear_errors(c);
	op_write(c, x.req, -1);
	op_clear_errors(c);
	op_shutdown(s);
	op_read(c, READ, 100, &got);
	op_read(c, READ_EX, 100, &got);
	op_read(c, PEEK, 100, &got);
	op_shutdown(c);
	op_write(c, x.req, (int)x.reqlen);
	op_write_ex(c, x.req, x.reqlen, &written);
	op_read(c, READ, 100, &got);
	op_clear_errors(c);
	pair_close(p);
	return 0;
}

/* A record the client cannot decrypt: SSL_read fails with SSL_ERROR_SSL
 * and the connection is dead for every later call. */
static int errno_after_bad_record(struct world *w, const char *host, long input, long output)
{
	static const unsigned char forged[5 + 32] = { 0x17, 0x03, 0x03, 0x00, 0x20 };
	struct texts x;
	struct pair *p = pair_open(w, host, BIG_PAIR);
	size_t got, written;
	if (!p)
		return -1;
	struct end *c = &p->client;
	c->raw_counts = 1;
	texts_make(&x, host, input, output, 10);
	if (exchange(p, &x, 0, 0) < 0) {
		pair_close(p);
		return -1;
	}
	int n = BIO_write(SSL_get_wbio(p->server.ssl), forged, (int)sizeof forged);
	say(w->t, "server BIO_write of a forged record = %d", n);
	op_read(c, READ, 100, &got);
	op_read(c, READ_EX, 100, &got);
	op_write(c, x.req, (int)x.reqlen);
	op_write_ex(c, x.req, x.reqlen, &written);
	pair_close(p);
	ERR_clear_error();
	return 0;
}

static int scenario_errno(struct world *w)
{
	if (errno_after_close(w, PROVIDER, 21, 4) < 0 || errno_after_bad_record(w, PROVIDER, 22, 5) < 0 ||
	    errno_after_close(w, NOT_PROVIDER, 23, 6) < 0 || errno_after_bad_record(w, NOT_PROVIDER, 24, 7) < 0)
		return -1;
	expect_record(w->t, 21, 4);
	expect_record(w->t, 22, 5);
	return 0;
}

/* The server end sees the same SNI and makes the first hooked call; it
 * reads and writes with the _ex functions.  Only the client records. */
static int scenario_server_side(struct world *w)
{
	struct pair *p = pair_open(w, PROVIDER, BIG_PAIR);
	size_t got;
	int rc = -1;
	if (!p)
		return -1;
	const char *sni = SSL_get_servername(p->server.ssl, TLSEXT_NAMETYPE_host_name);
	say(w->t, "server sees SNI %s", sni ? sni : "(none)");
	if (!sni || strcmp(sni, PROVIDER) != 0) {
		fail(w->t, "the server end does not see the client's SNI: nothing was tested");
		goto out;
	}
	if (op_read(&p->server, READ_EX, 100, &got) != 0)
		goto out;
	for (long i = 0; i < 3; i++) {
		struct texts x;
		texts_make(&x, PROVIDER, 31 + i, 8 + i, 20);
		if (exchange(p, &x, 0, SEND_EX) < 0)
			goto out;
	}
	for (long i = 0; i < 3; i++)
		expect_record(w->t, 31 + i, 8 + i);
	rc = 0;
out:
	pair_close(p);
	return rc;
}

/* The child inherits a provider connection with one exchange recorded and
 * a second one in flight (request sent, response not read yet); it frees
 * the connection without any other call and exits, running its exit
 * handlers.  A child that thought the open exchange its own would record
 * it as cut off.  The parent then reads the second response. */
static int scenario_fork(struct world *w)
{
	struct texts x, y;
	struct pair *p = pair_open(w, PROVIDER, BIG_PAIR);
	int status = 0, rc = -1;
	if (!p)
		return -1;
	texts_make(&x, PROVIDER, 41, 9, 20);
	texts_make(&y, PROVIDER, 42, 10, 20);
	if (exchange(p, &x, 0, 0) < 0 || send_request(p, &y, 0) < 0 || send_response(p, &y, 0) < 0)
		goto out;
	/* Or the child's exit would print the parent's buffered lines again. */
	fflush(w->t->out);
	pid_t child = fork();
	if (child < 0) {
		fail(w->t, "fork failed");
		goto out;
	}
	if (child == 0) {
		op_free(&p->client);
		op_free(&p->server);
		say(w->t, "child exits");
		exit(0);
	}
	if (waitpid(child, &status, 0) != child) {
		fail(w->t, "waitpid failed");
		goto out;
	}
	say(w->t, "child %s %d", WIFEXITED(status) ? "exited with" : "killed by signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fail(w->t, "the child did not exit cleanly");
		goto out;
	}
	if (recv_msg(&p->client, y.resp, y.resplen) < 0)
		goto out;
	expect_record(w->t, 41, 9);
	expect_record(w->t, 42, 10);
	rc = 0;
out:
	pair_close(p);
	return rc;
}

#define THREADS            8
#define THREAD_EXCHANGES   25

struct worker {
	struct world w;
	struct transcript t;
	int index;
	int rc;
};

static long thread_input(int t, int i)
{
	return 1000 + 100 * t + i;
}

static long thread_output(int t, int i)
{
	return 10 + t;
}

static void *worker_run(void *arg)
{
	struct worker *k = arg;
	struct pair *p = pair_open(&k->w, PROVIDER, BIG_PAIR);
	k->rc = -1;
	if (!p)
		return NULL;
	for (int i = 0; i < THREAD_EXCHANGES; i++) {
		struct texts x;
		texts_make(&x, PROVIDER, thread_input(k->index, i), thread_output(k->index, i), (size_t)i * 7);
		if (exchange(p, &x, 0, 0) < 0) {
			pair_close(p);
			return NULL;
		}
	}
	pair_close(p);
	k->rc = 0;
	return NULL;
}

/* Each thread has its own connection; every record must come out once,
 * with the tokens of its own exchange. */
static int scenario_threads(struct world *w)
{
	struct worker workers[THREADS];
	pthread_t tids[THREADS];
	int started = 0, rc = 0;

	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ .w = *w, .index = i, .rc = -1 };
		workers[i].t.digest = FNV_OFFSET;
		workers[i].w.t = &workers[i].t;
	}
	for (; started < THREADS; started++)
		if (pthread_create(&tids[started], NULL, worker_run, &workers[started]) != 0)
			break;
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (started < THREADS)
		rc = fail(w->t, "could start only %d threads", started);
	for (int i = 0; i < started; i++) {
		say(w->t, "thread %d: %s, %lu calls, transcript digest %016llx", i,
		    workers[i].rc == 0 ? "done" : "failed", workers[i].t.lines,
		    (unsigned long long)workers[i].t.digest);
		if (workers[i].rc != 0)
			rc = -1;
	}
	if (rc == 0)
		for (int i = 0; i < THREADS; i++)
			for (int j = 0; j < THREAD_EXCHANGES; j++)
				expect_record(w->t, thread_input(i, j), thread_output(i, j));
	return rc;
}

static const struct scenario {
	const char *name;
	int (*run)(struct world *w);
} scenarios[] = {
	{ "peek", scenario_peek },
	{ "want-write", scenario_want_write },
	{ "partial-write", scenario_partial_write },
	{ "errno", scenario_errno },
	{ "server-side", scenario_server_side },
	{ "fork", scenario_fork },
	{ "not-provider", scenario_not_provider },
	{ "threads", scenario_threads },
};

/* Kept out of the transcript, which must not differ between runs. */
static int write_pidfile(const char *path)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "SSL_write");
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "pid %ld\nSSL_write %s\n", (long)getpid(),
	        sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "(unknown)");
	return fclose(f);
}

int main(int argc, char **argv)
{
	const struct scenario *s = NULL;
	for (size_t i = 0; argc >= 2 && i < sizeof scenarios / sizeof scenarios[0]; i++)
		if (strcmp(argv[1], scenarios[i].name) == 0)
			s = &scenarios[i];
	if (!s || argc > 3) {
		fprintf(stderr, "usage: ssl-contract SCENARIO [PIDFILE]\nscenarios:");
		for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
			fprintf(stderr, " %s", scenarios[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	/* A deadlock (a lock held across fork(), say) must end the run. */
	alarm(10);
	if (argc == 3 && write_pidfile(argv[2]) != 0) {
		fprintf(stderr, "ssl-contract: cannot write %s\n", argv[2]);
		return 2;
	}

	struct transcript t = { .out = stdout, .digest = FNV_OFFSET };
	struct world w = { .cctx = SSL_CTX_new(TLS_client_method()), .sctx = tg_selfsigned_server_ctx("contract"), .t = &t };
	if (!w.cctx || !w.sctx) {
		fprintf(stderr, "ssl-contract: cannot create the TLS contexts\n");
		ERR_print_errors_fp(stderr);
		return 2;
	}
	ERR_clear_error();
	say(&t, "scenario %s", s->name);
	int rc = s->run(&w);
	say(&t, "scenario %s %s", s->name, rc == 0 ? "done" : "failed");
	SSL_CTX_free(w.cctx);
	SSL_CTX_free(w.sctx);
	return rc == 0 ? 0 : 1;
}
