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
};

/* Installs the ops; must be called before the first tg_conn_* call. */
void tg_conn_set_ops(const struct tg_ssl_ops *ops);

/* `len` bytes of plaintext went out (TG_DIR_REQUEST) or came in. */
void tg_conn_bytes(void *ssl, enum tg_dir dir, const char *buf, size_t len);

/* The peer closed the connection (SSL_read returned 0). */
void tg_conn_eof(void *ssl);

/* The SSL object is about to be freed: open exchanges are recorded as cut
 * off and the state is released. */
void tg_conn_forget(void *ssl);

/* Number of table slots in use (for tests and debug output). */
int tg_conn_count(void);

#endif
