/* transport_h2.h - HTTP/2 on one provider connection.
 *
 * Owns: the connection's tg_h2 observer and the table of its open streams,
 * each one exchange.  Streams are matched by id, so any number may be in
 * flight with interleaved frames; a stream ends when the response's
 * END_STREAM is seen (complete), or on RST_STREAM or the connection's end
 * (recorded as cut off with the usage seen so far).  Streams the server
 * refused to process (above a GOAWAY's last stream id) make no record: they
 * cost nothing and the client retries them.
 * Also owns the budget decisions' effect on the wire: refused streams cut,
 * and a request held back until its body is whole so that a downgrade or
 * clamp can edit it in place (with the program's send windows tracked to
 * know when a hold must end).
 * Allocates the observer's HPACK inflaters, one struct tg_exchange per
 * stream and, during a hold, the held bytes (at most about 1 MiB).
 */
#ifndef TG_TRANSPORT_H2_H
#define TG_TRANSPORT_H2_H

#include <stdint.h>

#include "exchange.h"
#include "h2.h"
#include "inject.h"
#include "transport_h1.h"

/* Streams in flight at once; beyond it new streams are not observed. */
#define TG_H2_STREAMS_MAX 256
/* Refused streams whose request DATA may still come, and resets owed. */
#define TG_H2_REFUSED_MAX 32

struct tg_h2_stream {
	uint32_t id;               /* 0: free slot */
	int informational;         /* reading a 1xx header block */
	int headers_unsent;        /* its request headers ended in bytes not yet sent on */
	int64_t send_window;       /* the program's send window for this stream, as it sees it */
	struct tg_exchange *x;
};

struct tg_h2_transport {
	struct tg_h2_observer observer;
	int live;                  /* observer initialised */
	int off;
	int nstreams;              /* slots used, high-water mark of streams[] */
	struct tg_h2_stream streams[TG_H2_STREAMS_MAX];
	const struct tg_provider *provider;
	const char *sni;           /* owned by the connection */
	tg_commit_fn commit;

	/* Budget refusals: the program's frames of a refused stream are cut
	 * from what the server gets (the HEADERS stay: the server's HPACK
	 * decoder must see every block), a RST_STREAM + PING is sent in their
	 * place, and the refusal is queued for the program to read. */
	struct tg_inject *inject;
	struct refused_stream {
		uint32_t id;
		int request_ended;     /* the program sent END_STREAM: no more DATA to cut */
		int reset_sent;
		uint32_t credit;       /* its DATA bytes cut from this write, to credit back */
	} refused[TG_H2_REFUSED_MAX];
	int nrefused;
	uint32_t cut_left;         /* bytes left of a DATA frame being cut, carried to the next write */
	uint64_t response_bytes;   /* server bytes passed to the program so far */

	/* Budget rewrites: the program's bytes are held back from the end of
	 * a request's HEADERS until its body is whole (everything after, of
	 * every stream, in order: the server's HPACK decoder must get the
	 * header blocks in the order they were encoded), then sent on with
	 * that body edited in place, at its length.  held == NULL: no hold. */
	struct {
		char *held;
		size_t len;
		struct tg_h2_cursor start;  /* where the first held byte stands */
		uint32_t stream;            /* the request waited for */
	} hold;
	/* What the program may still send, as it sees it (it reads every
	 * WINDOW_UPDATE we see): a hold ends when the held request can send
	 * no more, for the program would wait for credit that only the
	 * held bytes reaching the server could bring. */
	int64_t conn_window;
	int64_t initial_window;    /* the server's SETTINGS_INITIAL_WINDOW_SIZE */
};

/* Returns 0, or -1 when the HPACK inflaters cannot be allocated. */
int  tg_h2_transport_init(struct tg_h2_transport *t, const struct tg_provider *p,
                          const char *sni, tg_commit_fn commit, struct tg_inject *inject);
/* The program is about to write w->buf: observe it, hold it back while a
 * request's body is still to come, ask the budget gate for each request
 * whose body is whole (or whose model is known, when it cannot be held),
 * rewrite bodies in place and cut refused streams' frames (w->swallow /
 * w->replace). */
void tg_h2_transport_write(struct tg_h2_transport *t, struct tg_write_ctl *w);
/* Whether injected frames can be handed to the program now: only at a
 * frame boundary of the server's stream, and only after the server's
 * first frame (its SETTINGS: a client drops a connection whose first frame
 * is anything else).  Returns 1 if so; else 0 with *cap the most the next
 * real read may return to stop at the boundary (0: read freely). */
int tg_h2_transport_can_inject(const struct tg_h2_transport *t, size_t *cap);
void tg_h2_transport_feed(struct tg_h2_transport *t, enum tg_dir dir, const char *buf, size_t len);
/* The connection ended (peer closed, or SSL_free): open streams are cut off. */
void tg_h2_transport_close(struct tg_h2_transport *t);
/* A write failed for good: streams without any answer are dropped, the
 * others recorded as cut off, and the observer released. */
void tg_h2_transport_abort(struct tg_h2_transport *t);

#endif
