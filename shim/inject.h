/* inject.h - bytes the shim hands the program in place of the server's.
 *
 * Owns: one connection's queue of synthesized bytes (a budget refusal, a
 * flow-control credit) that the program reads before anything more from
 * the server.  Once it drains, reads go to the server again: after a
 * refused HTTP/1.1 call that is the server's answer to our close_notify,
 * so the program sees a clean end of stream.  Header-only and tiny: it is consulted on every read of a
 * provider connection.
 */
#ifndef TG_INJECT_H
#define TG_INJECT_H

#include <stdlib.h>
#include <string.h>

struct tg_inject {
	char *buf;
	size_t len, off;
};

static inline size_t tg_inject_pending(const struct tg_inject *q)
{
	return q->len - q->off;
}

static inline int tg_inject_append(struct tg_inject *q, const char *b, size_t n)
{
	if (q->off == q->len)
		q->off = q->len = 0;
	char *nb = realloc(q->buf, q->len + n);
	if (!nb)
		return -1;
	memcpy(nb + q->len, b, n);
	q->buf = nb;
	q->len += n;
	return 0;
}

static inline size_t tg_inject_take(struct tg_inject *q, char *out, size_t n)
{
	size_t k = q->len - q->off < n ? q->len - q->off : n;
	memcpy(out, q->buf + q->off, k);
	q->off += k;
	return k;
}

static inline void tg_inject_free(struct tg_inject *q)
{
	free(q->buf);
	q->buf = NULL;
	q->len = q->off = 0;
}

/* What a transport decides about the program's current write. */
struct tg_write_ctl {
	const char *buf;      /* bytes of this write not observed before */
	size_t len;
	int whole;            /* buf is the program's whole write: nothing of it went out yet */
	int may_replace;      /* a replacement would be written whole (no partial writes) */
	int swallow;          /* out: send nothing, report the write done */
	int close_tls;        /* out: and end the TLS session (a refused HTTP/1.1 call) */
	char *replace;        /* out: send this instead (malloc), report the write done */
	size_t replace_len;
	char *prefix;         /* out: send this first (malloc), then the write as it is:
	                         held bytes that could not be joined to it (out of memory) */
	size_t prefix_len;
};

#endif
