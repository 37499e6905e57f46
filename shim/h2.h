/* h2.h - passive observer of one HTTP/2 connection, both directions.
 *
 * Owns: the HTTP/2 framing layer (RFC 9113) as seen from outside the
 * connection, and the two HPACK decoding contexts (RFC 7541) it needs.  The
 * caller hands over plaintext in whatever slices it gets them, per
 * direction; the observer turns them into per-stream events: header fields,
 * end of a header block, DATA payload, end of stream, RST_STREAM, GOAWAY.
 *
 * It never answers, never enforces flow control or stream states: it only
 * has to stay in step with both peers (it reports the flow-control frames,
 * for a caller that must know what a peer may still send).  Memory is the caller's struct plus
 * the two HPACK inflaters allocated by tg_h2_init(); DATA is streamed to the
 * caller as it arrives and header block fragments are decoded as they
 * arrive, so no frame is ever buffered whole.
 *
 * Events of the two directions are independent: each direction's events
 * come in that direction's wire order.  Header fields of PUSH_PROMISE blocks
 * are decoded (the dynamic table depends on them) but not reported; frames
 * of pushed streams (even ids) are reported like any others.
 *
 * Callbacks may be NULL.  They must not call tg_h2_feed() or tg_h2_free()
 * on the observer that is calling them.  name/value/buf pointers are only
 * valid during the call.
 */
#ifndef TG_H2_H
#define TG_H2_H

#include <stddef.h>
#include <stdint.h>

#include "byteorder.h"
#include "wire.h"

#define TG_H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define TG_H2_PREFACE_LEN 24
#define TG_H2_FRAME_HDLEN 9

/* The wire vocabulary (RFC 9113 section 6), for every file that reads or
 * writes frames: the observer here, the refusals (refusal.c) and the
 * transport's cuts and window credits (transport_h2.c). */
enum tg_h2_frame_type {
	TG_H2_FRAME_DATA = 0x0,
	TG_H2_FRAME_HEADERS = 0x1,
	TG_H2_FRAME_PRIORITY = 0x2,
	TG_H2_FRAME_RST_STREAM = 0x3,
	TG_H2_FRAME_SETTINGS = 0x4,
	TG_H2_FRAME_PUSH_PROMISE = 0x5,
	TG_H2_FRAME_PING = 0x6,
	TG_H2_FRAME_GOAWAY = 0x7,
	TG_H2_FRAME_WINDOW_UPDATE = 0x8,
	TG_H2_FRAME_CONTINUATION = 0x9,
};

enum {
	TG_H2_FLAG_END_STREAM = 0x01,
	TG_H2_FLAG_ACK = 0x01,
	TG_H2_FLAG_END_HEADERS = 0x04,
	TG_H2_FLAG_PADDED = 0x08,
	TG_H2_FLAG_PRIORITY = 0x20,
};

/* The error code of an RST_STREAM the shim sends (RFC 9113 section 7). */
#define TG_H2_ERROR_CANCEL 0x8u

/* Stream ids and window increments are 31 bits, the top one reserved. */
#define TG_H2_ID_MASK 0x7fffffffu

/* A frame's 9-byte header: length (24 bits), type, flags, stream id. */
static inline void tg_h2_frame_head_put(unsigned char *p, uint32_t len, uint8_t type,
                                        uint8_t flags, uint32_t stream)
{
	tg_put_be24(p, len);
	p[3] = type;
	p[4] = flags;
	tg_put_be32(p + 5, stream & TG_H2_ID_MASK);
}

struct tg_h2_callbacks {
	/* Pseudo-header fields (:method :path :authority :status ...) come
	 * first, as on the wire; trailer fields are reported the same way. */
	void (*on_header)(void *ctx, uint32_t stream_id, enum tg_dir dir, const char *name,
	                  size_t nlen, const char *value, size_t vlen);
	/* is_trailer: the block held no pseudo-header field, which HTTP/2
	 * allows only for trailers (RFC 9113 8.1). */
	void (*on_headers_done)(void *ctx, uint32_t stream_id, enum tg_dir dir, int end_stream,
	                        int is_trailer);
	/* DATA payload, padding removed, in as many pieces as it arrived. */
	void (*on_data)(void *ctx, uint32_t stream_id, enum tg_dir dir, const char *buf,
	                size_t len);
	/* END_STREAM from dir's side, on DATA or after on_headers_done. */
	void (*on_end_stream)(void *ctx, uint32_t stream_id, enum tg_dir dir);
	/* RST_STREAM sent by dir's side. */
	void (*on_reset)(void *ctx, uint32_t stream_id, enum tg_dir dir, uint32_t error_code);
	/* GOAWAY sent by dir's side. */
	void (*on_goaway)(void *ctx, enum tg_dir dir, uint32_t last_stream_id, uint32_t error_code);
	/* Flow control (RFC 9113 6.9), for a caller that holds frames back
	 * and must know when the sender can send no more: a DATA frame's
	 * length as the windows count it (padding included), reported when
	 * its header is read; a WINDOW_UPDATE (stream 0: the connection);
	 * a SETTINGS_INITIAL_WINDOW_SIZE. */
	void (*on_data_frame)(void *ctx, uint32_t stream_id, enum tg_dir dir, uint32_t flow_len);
	void (*on_window_update)(void *ctx, uint32_t stream_id, enum tg_dir dir,
	                         uint32_t increment);
	void (*on_initial_window)(void *ctx, enum tg_dir dir, uint32_t value);
};

/* Where one direction is within its byte stream. */
enum tg_h2_phase {
	TG_H2_PH_PREFACE,  /* request direction only: the 24-byte magic */
	TG_H2_PH_HEAD,     /* 9-byte frame header */
	TG_H2_PH_PREFIX,   /* fixed fields before the payload proper */
	TG_H2_PH_BODY,     /* payload proper: data, header fragment, entries */
	TG_H2_PH_PAD,      /* trailing padding */
};

/* Per-direction state; private to h2.c. */
struct tg_h2_dir {
	struct nghttp2_hd_inflater *hd;  /* decodes blocks this side encoded */
	uint32_t hd_limit;        /* largest table size this side may use */
	uint32_t hd_limit_next;   /* advertised by the peer, applied between blocks */

	enum tg_h2_phase phase;
	size_t have;              /* bytes of head/prefix/entry collected */
	unsigned char head[TG_H2_FRAME_HDLEN];
	unsigned char scratch[8]; /* prefix fields, or one SETTINGS entry */

	uint32_t len;             /* current frame's payload length */
	uint8_t type;
	uint8_t flags;
	uint32_t stream_id;
	uint32_t prefix_len;
	uint32_t body_left;
	uint32_t pad_left;

	/* Header block in progress: it may span HEADERS/PUSH_PROMISE and any
	 * number of CONTINUATION frames, which nothing may interleave. */
	int in_block;
	int block_report;         /* 0 for PUSH_PROMISE: decode, say nothing */
	int block_end_stream;
	int block_fields;         /* fields emitted so far */
	int block_is_trailer;
	uint32_t block_stream;
};

struct tg_h2_observer {
	const struct tg_h2_callbacks *cb;
	void *ctx;
	int failed;               /* sticky: observation is no longer possible */
	struct tg_h2_dir dir[2];  /* indexed by enum tg_dir */
};

/* 1: buf begins with the whole client connection preface; -2: buf is a
 * proper prefix of it (need more bytes to tell); 0: not HTTP/2. */
int tg_h2_is_preface(const char *buf, size_t len);

/* Allocates the two HPACK inflaters.  cb (not NULL) is kept by pointer and
 * must outlive the observer.  0, or -1 (nothing to free then). */
int tg_h2_init(struct tg_h2_observer *o, const struct tg_h2_callbacks *cb, void *ctx);

/* Feeds the next len bytes of direction dir (request bytes must start with
 * the preface).  0, or -1 once observation is impossible: bad preface,
 * framing error, HPACK failure; -1 is sticky for both directions. */
int tg_h2_feed(struct tg_h2_observer *o, enum tg_dir dir, const char *buf, size_t len);

/* Where one direction's byte stream stands, for a caller that must cut or
 * splice whole frames (budget refusals): before the next byte fed, is it
 * at a frame boundary, inside a frame header (header_have bytes of it
 * seen, copied in head), or inside the preface or a frame's payload (left
 * bytes to go, of a frame of `type` on `stream_id`)? */
struct tg_h2_cursor {
	int in_preface;
	size_t header_have;
	unsigned char head[TG_H2_FRAME_HDLEN];
	uint32_t left;
	uint8_t type;
	uint32_t stream_id;
	int in_block;   /* between a HEADERS and its last CONTINUATION: nothing may come in between */
};
void tg_h2_cursor_of(const struct tg_h2_observer *o, enum tg_dir dir, struct tg_h2_cursor *c);

/* Releases the inflaters; safe to call twice. */
void tg_h2_free(struct tg_h2_observer *o);

#endif
