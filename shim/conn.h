/* conn.h - the shim's view of TLS connections: which are to providers, and
 * the per-connection state of those that are.
 *
 * Owns: the process-wide table from SSL* to connection state (a fixed array
 * with lock-free lookup: a connection that is not to a provider costs one
 * lookup per SSL call and nothing else, no allocation, no lock), the
 * struct tg_conn of each provider connection (its lock, its transport) and
 * the choice of transport (ALPN, confirmed by the first bytes).
 *
 * The hook layer tells it about bytes that really went out or came in, the
 * peer's close, and SSL_free.  Everything it learns about the SSL object it
 * asks through struct tg_ssl_ops, so it never calls OpenSSL itself and can
 * be tested without it.
 *
 * fork(): a child does not observe connections it inherited (the parent
 * owns their exchanges); it neither records nor frees their state.
 */
#ifndef TG_CONN_H
#define TG_CONN_H

#include <stddef.h>

#include "wire.h"

struct tg_ssl_ops {
	const char *(*servername)(void *ssl);  /* SNI, or NULL */
	int (*peer_port)(void *ssl);           /* TCP port of the peer, 0 if unknown */
	int (*alpn_is_h2)(void *ssl);          /* 1 if ALPN selected "h2" */
	int (*is_server)(void *ssl);           /* 1 for the server end of a connection */
	int (*partial_writes)(void *ssl);      /* 1 if SSL_MODE_ENABLE_PARTIAL_WRITE is set */
	int (*memory_bio)(void *ssl);          /* 1 if the program moves the bytes itself (asyncio) */
};

/* Installs the ops; must be called before the first tg_conn_* call. */
void tg_conn_set_ops(const struct tg_ssl_ops *ops);

struct tg_conn;

/* What to do with one SSL_write.  Requests are observed before they are
 * sent, so that a budget can stop or rewrite them; a counter of bytes
 * already observed keeps a retried or partial write from being counted
 * twice. */
struct tg_write_plan {
	struct tg_conn *conn;   /* NULL: not a provider connection, nothing to do after */
	const char *buf;        /* what the real SSL_write gets: the program's bytes or a rewrite */
	size_t len;
	const char *prefix;     /* when set, what goes out before buf (bytes the program wrote
	                           earlier, held back): tg_conn_prefix_sent() once it did */
	size_t prefix_len;
	int swallow;            /* call nothing: report the program's write as done */
	int close_tls;          /* with swallow: queue a TLS close_notify for the server, so
	                           that it closes and a program that reads only once its
	                           socket is readable (asyncio's memory BIO) reads the
	                           refusal.  Only for memory BIOs: on a socket the
	                           program's own later write could then meet a closed peer */
};
void tg_conn_write_begin(void *ssl, const char *buf, size_t len, struct tg_write_plan *plan);
/* The plan's prefix went out whole; a retry of the write sends only its
 * own bytes. */
void tg_conn_prefix_sent(const struct tg_write_plan *plan);
/* After the real write (or the swallow): `consumed` is how many bytes of
 * the program's buffer are now reported written (0 on failure); `dead`
 * when the write failed for good (not WANT_READ/WANT_WRITE): the bytes
 * observed ahead of it never left, so requests not yet answered are
 * dropped rather than recorded, and the connection is no longer observed. */
void tg_conn_write_end(const struct tg_write_plan *plan, size_t consumed, int dead);

/* What to do with one SSL_read. */
struct tg_read_plan {
	struct tg_conn *conn;   /* NULL: nothing to do after */
	size_t served;          /* bytes already placed in the program's buffer: return them */
	size_t cap;             /* read at most this many bytes from the server (0: no cap) */
};
void tg_conn_read_begin(void *ssl, char *buf, size_t num, struct tg_read_plan *plan);
/* After the real read: `got` bytes came in; `ended` when the peer closed. */
void tg_conn_read_end(const struct tg_read_plan *plan, const char *buf, size_t got, int ended);

/* Synthesized bytes waiting for the program (for SSL_pending). */
size_t tg_conn_pending(const void *ssl);

/* The SSL object is about to be freed: open exchanges are recorded as cut
 * off and the state is released (in a forked child, state inherited from
 * the parent is released without recording anything). */
void tg_conn_forget(void *ssl);

/* pthread_atfork child handler: connections made before the fork are the
 * parent's from now on. */
void tg_conn_atfork_child(void);

/* Number of table slots in use (for tests and debug output). */
int tg_conn_count(void);

#endif
