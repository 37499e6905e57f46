/* h2.c - passive HTTP/2 observer: frame reassembly and HPACK decoding for
 * both directions of one connection.  See h2.h for what it reports.
 *
 * Each direction is a small state machine (preface, frame header, fixed
 * prefix fields, payload, padding) driven byte range by byte range, so a
 * frame may be cut anywhere by the caller's slices.  Only the 9-byte frame
 * header and at most 8 bytes of fixed fields are ever copied.
 *
 * HPACK: one libnghttp2 inflater per direction, decoding every header
 * block that side sends, in order, reported or not, since every block may
 * change the dynamic table the next one refers to.
 */
#include "h2.h"
#include "byteorder.h"
#include "text.h"

#include <string.h>

#include <nghttp2/nghttp2.h>

#define SETTINGS_HEADER_TABLE_SIZE 0x1
#define SETTINGS_INITIAL_WINDOW_SIZE 0x4
#define SETTINGS_ENTRY_LEN 6
#define HPACK_DEFAULT_TABLE 4096u

int tg_h2_is_preface(const char *buf, size_t len)
{
	size_t n = len < TG_H2_PREFACE_LEN ? len : TG_H2_PREFACE_LEN;

	if (memcmp(buf, TG_H2_PREFACE, n) != 0)
		return 0;
	return n == TG_H2_PREFACE_LEN ? 1 : -2;
}

int tg_h2_init(struct tg_h2_observer *o, const struct tg_h2_callbacks *cb, void *ctx)
{
	int i;

	memset(o, 0, sizeof *o);
	o->cb = cb;
	o->ctx = ctx;
	for (i = 0; i < 2; i++) {
		struct tg_h2_dir *d = &o->dir[i];

		if (nghttp2_hd_inflate_new(&d->hd) != 0) {
			d->hd = NULL;
			tg_h2_free(o);
			return -1;
		}
		d->hd_limit = HPACK_DEFAULT_TABLE;
		d->hd_limit_next = HPACK_DEFAULT_TABLE;
		d->phase = TG_H2_PH_HEAD;
	}
	o->dir[TG_DIR_REQUEST].phase = TG_H2_PH_PREFACE;
	return 0;
}

void tg_h2_cursor_of(const struct tg_h2_observer *o, enum tg_dir dir, struct tg_h2_cursor *c)
{
	const struct tg_h2_dir *d = &o->dir[dir];

	memset(c, 0, sizeof *c);
	c->in_block = d->in_block;
	switch (d->phase) {
	case TG_H2_PH_PREFACE:
		c->in_preface = 1;
		c->left = (uint32_t)(TG_H2_PREFACE_LEN - d->have);
		return;
	case TG_H2_PH_HEAD:
		c->header_have = d->have;
		memcpy(c->head, d->head, d->have);
		return;
	case TG_H2_PH_PREFIX:
		c->left = d->len - (uint32_t)d->have;
		break;
	case TG_H2_PH_BODY:
		c->left = d->body_left + d->pad_left;
		break;
	case TG_H2_PH_PAD:
		c->left = d->pad_left;
		break;
	}
	c->type = d->type;
	c->stream_id = d->stream_id;
}

void tg_h2_free(struct tg_h2_observer *o)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (o->dir[i].hd != NULL)
			nghttp2_hd_inflate_del(o->dir[i].hd);
		o->dir[i].hd = NULL;
	}
	o->failed = 1;
}

/* A SETTINGS_HEADER_TABLE_SIZE only bounds the size the other side's
 * encoder may pick; the table itself changes size only through the size
 * updates that encoder puts in its header blocks (RFC 7541 4.2).  So the
 * bound is only ever raised: lowering it makes libnghttp2 (1.52) demand a
 * size update at the start of the very next block, which an encoder that
 * has not yet read the SETTINGS will not send, and a passive observer has
 * no reason to police the peer.  libnghttp2 accepts the call only between
 * header blocks, hence the deferral to the start of the next one. */
static int hd_apply_limit(struct tg_h2_dir *d)
{
	if (d->hd_limit_next <= d->hd_limit)
		return 0;
	if (nghttp2_hd_inflate_change_table_size(d->hd, d->hd_limit_next) != 0)
		return -1;
	d->hd_limit = d->hd_limit_next;
	return 0;
}

static void hd_emit(struct tg_h2_observer *o, struct tg_h2_dir *d, enum tg_dir dir,
                    const nghttp2_nv *nv)
{
	if (nv->namelen > 0 && nv->name[0] == ':')
		d->block_is_trailer = 0;
	d->block_fields++;
	if (d->block_report && o->cb->on_header != NULL)
		o->cb->on_header(o->ctx, d->block_stream, dir, (const char *)nv->name, nv->namelen,
		                 (const char *)nv->value, nv->valuelen);
}

/* Decodes the next piece of the current header block; with final set the
 * block must end exactly here. */
static int hd_feed(struct tg_h2_observer *o, struct tg_h2_dir *d, enum tg_dir dir,
                   const unsigned char *in, size_t len, int final)
{
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
#if NGHTTP2_VERSION_NUM >= 0x013c00
		nghttp2_ssize rv = nghttp2_hd_inflate_hd3(d->hd, &nv, &flags, in, len, final);
#else
		ssize_t rv = nghttp2_hd_inflate_hd2(d->hd, &nv, &flags, in, len, final);
#endif

		if (rv < 0 || (size_t)rv > len)
			return -1;
		in += rv;
		len -= (size_t)rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			hd_emit(o, d, dir, &nv);
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->hd);
			return 0;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && len == 0)
			return final ? -1 : 0;
	}
}

static int block_begin(struct tg_h2_dir *d, int report, int end_stream)
{
	if (hd_apply_limit(d) != 0)
		return -1;
	d->in_block = 1;
	d->block_report = report;
	d->block_end_stream = end_stream;
	d->block_fields = 0;
	d->block_is_trailer = 1;
	d->block_stream = d->stream_id;
	return 0;
}

static int block_end(struct tg_h2_observer *o, struct tg_h2_dir *d, enum tg_dir dir)
{
	static const unsigned char none[1];
	const struct tg_h2_callbacks *cb = o->cb;

	if (hd_feed(o, d, dir, none, 0, 1) != 0)
		return -1;
	d->in_block = 0;
	if (!d->block_report)
		return 0;
	if (cb->on_headers_done != NULL)
		cb->on_headers_done(o->ctx, d->block_stream, dir, d->block_end_stream,
		                    d->block_is_trailer);
	if (d->block_end_stream && cb->on_end_stream != NULL)
		cb->on_end_stream(o->ctx, d->block_stream, dir);
	return 0;
}

/* The 9-byte header is complete: decide how the payload is laid out. */
static int frame_begin(struct tg_h2_dir *d)
{
	const unsigned char *h = d->head;
	uint32_t padded;

	d->len = tg_get_be24(h);
	d->type = h[3];
	d->flags = h[4];
	d->stream_id = tg_get_be32(h + 5) & TG_H2_ID_MASK;
	d->prefix_len = 0;
	d->pad_left = 0;

	/* Nothing may come between the frames of one header block. */
	if (d->in_block != (d->type == TG_H2_FRAME_CONTINUATION))
		return -1;
	if (d->in_block && d->stream_id != d->block_stream)
		return -1;

	padded = (d->flags & TG_H2_FLAG_PADDED) ? 1 : 0;
	switch (d->type) {
	case TG_H2_FRAME_DATA:
		if (d->stream_id == 0)
			return -1;
		d->prefix_len = padded;
		break;
	case TG_H2_FRAME_WINDOW_UPDATE:
		if (d->len != 4)
			return -1;
		d->prefix_len = 4;
		break;
	case TG_H2_FRAME_HEADERS:
		if (d->stream_id == 0)
			return -1;
		d->prefix_len = padded + ((d->flags & TG_H2_FLAG_PRIORITY) ? 5 : 0);
		if (block_begin(d, 1, d->flags & TG_H2_FLAG_END_STREAM) != 0)
			return -1;
		break;
	case TG_H2_FRAME_PUSH_PROMISE:
		if (d->stream_id == 0)
			return -1;
		d->prefix_len = padded + 4;
		if (block_begin(d, 0, 0) != 0)
			return -1;
		break;
	case TG_H2_FRAME_RST_STREAM:
		if (d->len != 4)
			return -1;
		d->prefix_len = 4;
		break;
	case TG_H2_FRAME_GOAWAY:
		if (d->len < 8)
			return -1;
		d->prefix_len = 8;
		break;
	case TG_H2_FRAME_SETTINGS:
		if ((d->flags & TG_H2_FLAG_ACK) ? d->len != 0 : d->len % SETTINGS_ENTRY_LEN != 0)
			return -1;
		break;
	default:
		/* PRIORITY, PING, CONTINUATION, unknown:
		 * no fixed fields this observer needs. */
		break;
	}
	if (d->prefix_len > d->len)
		return -1;
	d->body_left = d->len - d->prefix_len;
	return 0;
}

/* The fixed fields are complete; only the pad length matters here. */
static int prefix_end(struct tg_h2_dir *d)
{
	int has_pad_byte = (d->flags & TG_H2_FLAG_PADDED) &&
	                   (d->type == TG_H2_FRAME_DATA || d->type == TG_H2_FRAME_HEADERS ||
	                    d->type == TG_H2_FRAME_PUSH_PROMISE);

	if (!has_pad_byte)
		return 0;
	if (d->scratch[0] > d->body_left)
		return -1;
	d->pad_left = d->scratch[0];
	d->body_left -= d->pad_left;
	return 0;
}

static int frame_end(struct tg_h2_observer *o, struct tg_h2_dir *d, enum tg_dir dir)
{
	const struct tg_h2_callbacks *cb = o->cb;

	d->phase = TG_H2_PH_HEAD;
	d->have = 0;
	switch (d->type) {
	case TG_H2_FRAME_DATA:
		if ((d->flags & TG_H2_FLAG_END_STREAM) && cb->on_end_stream != NULL)
			cb->on_end_stream(o->ctx, d->stream_id, dir);
		break;
	case TG_H2_FRAME_HEADERS:
	case TG_H2_FRAME_PUSH_PROMISE:
	case TG_H2_FRAME_CONTINUATION:
		if (d->flags & TG_H2_FLAG_END_HEADERS)
			return block_end(o, d, dir);
		break;
	case TG_H2_FRAME_RST_STREAM:
		if (cb->on_reset != NULL)
			cb->on_reset(o->ctx, d->stream_id, dir, tg_get_be32(d->scratch));
		break;
	case TG_H2_FRAME_WINDOW_UPDATE:
		if (cb->on_window_update != NULL)
			cb->on_window_update(o->ctx, d->stream_id, dir,
			                     tg_get_be32(d->scratch) & TG_H2_ID_MASK);
		break;
	case TG_H2_FRAME_GOAWAY:
		if (cb->on_goaway != NULL)
			cb->on_goaway(o->ctx, dir, tg_get_be32(d->scratch) & TG_H2_ID_MASK,
			              tg_get_be32(d->scratch + 4));
		break;
	default:
		break;
	}
	return 0;
}

/* Moves on from a finished phase to the next one with bytes to read,
 * ending the frame when none is left. */
static int advance(struct tg_h2_observer *o, struct tg_h2_dir *d, enum tg_dir dir)
{
	d->have = 0;
	if (d->phase < TG_H2_PH_PREFIX && d->prefix_len > 0) {
		d->phase = TG_H2_PH_PREFIX;
		return 0;
	}
	if (d->phase < TG_H2_PH_BODY && d->body_left > 0) {
		d->phase = TG_H2_PH_BODY;
		return 0;
	}
	if (d->phase < TG_H2_PH_PAD && d->pad_left > 0) {
		d->phase = TG_H2_PH_PAD;
		return 0;
	}
	return frame_end(o, d, dir);
}

static void settings_entry(struct tg_h2_observer *o, enum tg_dir dir, const unsigned char *e)
{
	/* What one side advertises bounds the other side's encoder. */
	struct tg_h2_dir *peer = &o->dir[dir == TG_DIR_REQUEST ? TG_DIR_RESPONSE : TG_DIR_REQUEST];
	unsigned id = tg_get_be16(e);
	uint32_t value = tg_get_be32(e + 2);

	if (id == SETTINGS_HEADER_TABLE_SIZE && value > peer->hd_limit_next)
		peer->hd_limit_next = value;
	if (id == SETTINGS_INITIAL_WINDOW_SIZE && o->cb->on_initial_window != NULL)
		o->cb->on_initial_window(o->ctx, dir, value);
}

/* n bytes of payload proper; d->body_left still counts them. */
static int body(struct tg_h2_observer *o, struct tg_h2_dir *d, enum tg_dir dir,
                const unsigned char *p, size_t n)
{
	size_t k;

	switch (d->type) {
	case TG_H2_FRAME_DATA:
		if (o->cb->on_data != NULL)
			o->cb->on_data(o->ctx, d->stream_id, dir, (const char *)p, n);
		return 0;
	case TG_H2_FRAME_HEADERS:
	case TG_H2_FRAME_PUSH_PROMISE:
	case TG_H2_FRAME_CONTINUATION:
		return hd_feed(o, d, dir, p, n, 0);
	case TG_H2_FRAME_SETTINGS:
		while (n > 0) {
			k = SETTINGS_ENTRY_LEN - d->have;
			if (k > n)
				k = n;
			memcpy(d->scratch + d->have, p, k);
			d->have += k;
			p += k;
			n -= k;
			if (d->have == SETTINGS_ENTRY_LEN) {
				settings_entry(o, dir, d->scratch);
				d->have = 0;
			}
		}
		return 0;
	default:
		return 0;
	}
}

static int feed(struct tg_h2_observer *o, enum tg_dir dir, const unsigned char *p, size_t len)
{
	struct tg_h2_dir *d = &o->dir[dir];
	size_t n;

	while (len > 0) {
		switch (d->phase) {
		case TG_H2_PH_PREFACE:
			n = TG_H2_PREFACE_LEN - d->have;
			n = n < len ? n : len;
			if (memcmp(p, &TG_H2_PREFACE[d->have], n) != 0)
				return -1;
			d->have += n;
			if (d->have == TG_H2_PREFACE_LEN) {
				d->phase = TG_H2_PH_HEAD;
				d->have = 0;
			}
			break;
		case TG_H2_PH_HEAD:
			n = TG_H2_FRAME_HDLEN - d->have;
			n = n < len ? n : len;
			memcpy(d->head + d->have, p, n);
			d->have += n;
			if (d->have < TG_H2_FRAME_HDLEN)
				break;
			if (frame_begin(d) != 0)
				return -1;
			if (d->type == TG_H2_FRAME_DATA && o->cb->on_data_frame != NULL)
				o->cb->on_data_frame(o->ctx, d->stream_id, dir, d->len);
			if (advance(o, d, dir) != 0)
				return -1;
			break;
		case TG_H2_PH_PREFIX:
			n = d->prefix_len - d->have;
			n = n < len ? n : len;
			memcpy(d->scratch + d->have, p, n);
			d->have += n;
			if (d->have == d->prefix_len &&
			    (prefix_end(d) != 0 || advance(o, d, dir) != 0))
				return -1;
			break;
		case TG_H2_PH_BODY:
			n = d->body_left < len ? d->body_left : len;
			if (body(o, d, dir, p, n) != 0)
				return -1;
			d->body_left -= (uint32_t)n;
			if (d->body_left == 0 && advance(o, d, dir) != 0)
				return -1;
			break;
		case TG_H2_PH_PAD:
			n = d->pad_left < len ? d->pad_left : len;
			d->pad_left -= (uint32_t)n;
			if (d->pad_left == 0 && advance(o, d, dir) != 0)
				return -1;
			break;
		default:
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int tg_h2_feed(struct tg_h2_observer *o, enum tg_dir dir, const char *buf, size_t len)
{
	if (dir != TG_DIR_REQUEST && dir != TG_DIR_RESPONSE)
		return -1;
	if (o->failed)
		return -1;
	if (len > 0 && feed(o, dir, (const unsigned char *)buf, len) != 0) {
		o->failed = 1;
		return -1;
	}
	return 0;
}
