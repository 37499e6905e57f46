/* transport_h2.h - HTTP/2 on one provider connection.
 *
 * Owns: the connection's tg_h2 observer and the table of its open streams,
 * each one exchange.  Streams are matched by id, so any number may be in
 * flight with interleaved frames; a stream ends when the response's
 * END_STREAM is seen (complete), or on RST_STREAM or the connection's end
 * (recorded as cut off with the usage seen so far).  Streams the server
 * refused to process (above a GOAWAY's last stream id) make no record: they
 * cost nothing and the client retries them.
 * Allocates the observer's HPACK inflaters and one struct tg_exchange per
 * stream.
 */
#ifndef TG_TRANSPORT_H2_H
#define TG_TRANSPORT_H2_H

#include <stdint.h>

#include "exchange.h"
#include "h2.h"
#include "transport_h1.h"

/* Streams in flight at once; beyond it new streams are not observed. */
#define TG_H2_STREAMS_MAX 256

struct tg_h2_stream {
	uint32_t id;               /* 0: free slot */
	int informational;         /* reading a 1xx header block */
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
};

/* Returns 0, or -1 when the HPACK inflaters cannot be allocated. */
int  tg_h2_transport_init(struct tg_h2_transport *t, const struct tg_provider *p,
                          const char *sni, tg_commit_fn commit);
void tg_h2_transport_feed(struct tg_h2_transport *t, enum tg_dir dir, const char *buf, size_t len);
/* The connection ended (peer closed, or SSL_free): open streams are cut off. */
void tg_h2_transport_close(struct tg_h2_transport *t);

#endif
