/* transport_h1.h - HTTP/1.1 on one provider connection.
 *
 * Owns: the two tg_h1 parsers of a connection (request bytes from SSL_write,
 * response bytes from SSL_read) and the queue of exchanges whose requests
 * were sent and whose responses are awaited, oldest first (pipelining keeps
 * several in flight).  Each finished exchange is handed to `commit`.
 * Allocates one struct tg_exchange per request.  The budget gate's verdict
 * is carried out here before any byte of a request leaves: a refusal
 * queued for the program, or the request rewritten (rewrite.h: its body,
 * and for a model named in the URL its request line), else the policy's
 * fallback.
 */
#ifndef TG_TRANSPORT_H1_H
#define TG_TRANSPORT_H1_H

#include "exchange.h"
#include "h1.h"
#include "inject.h"

#define TG_H1_INFLIGHT_MAX 8
/* A request written in pieces is held back until its body is whole, up to
 * this size; a larger one is sent as it comes and decided on what was seen. */
#define TG_H1_HOLD_MAX (1024 * 1024)

struct tg_call_origin;
typedef void (*tg_commit_fn)(struct tg_record *r, const struct tg_call_size *size,
                             const struct tg_call_origin *origin);

struct tg_h1_transport {
	struct tg_h1_parser request;
	struct tg_h1_parser response;
	struct tg_exchange *inflight[TG_H1_INFLIGHT_MAX]; /* ring, oldest at head */
	int head, count;
	int informational;         /* reading a 1xx response: not the exchange's own */
	int off;                   /* stream stopped looking like HTTP/1.1: observe no more */
	int refused;               /* a budget refused the request: the connection carries no more */
	char *held;                /* request bytes held back until its body is whole (malloc) */
	size_t held_len;
	struct tg_inject *inject;  /* the connection's queue of synthesized reads */
	const struct tg_provider *provider;
	const char *sni;           /* owned by the connection */
	tg_commit_fn commit;
};

void tg_h1_transport_init(struct tg_h1_transport *t, const struct tg_provider *p,
                          const char *sni, tg_commit_fn commit, struct tg_inject *inject);
/* The program is about to write w->buf: observe it, and when a request's
 * headers are complete, ask the budget gate (with the body if it is in the
 * same write).  A refusal swallows the write and queues a 429 for the
 * program to read; a downgrade or clamp sets w->replace. */
void tg_h1_transport_write(struct tg_h1_transport *t, struct tg_write_ctl *w);
/* Bytes that went out (dir = TG_DIR_REQUEST) or came in. */
void tg_h1_transport_feed(struct tg_h1_transport *t, enum tg_dir dir, const char *buf, size_t len);
/* The peer closed the connection: a body read until close ends here. */
void tg_h1_transport_eof(struct tg_h1_transport *t);
/* The connection is gone: exchanges still open are recorded as cut off. */
void tg_h1_transport_close(struct tg_h1_transport *t);
/* A write failed for good: requests not answered at all are dropped (they
 * may never have left), answers under way are recorded as cut off. */
void tg_h1_transport_abort(struct tg_h1_transport *t);

#endif
