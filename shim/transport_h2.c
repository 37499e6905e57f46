/* transport_h2.c - see transport_h2.h. */
#include "transport_h2.h"

#include <stdlib.h>
#include <string.h>

#include "attrib.h"
#include "byteorder.h"
#include "digits.h"
#include "gate.h"
#include "log.h"
#include "refusal.h"
#include "rewrite.h"
#include "text.h"

/* The most a hold keeps back, as on HTTP/1.1. */
#define HOLD_MAX TG_H1_HOLD_MAX
/* Every window starts at this (RFC 9113 6.9.2). */
#define H2_DEFAULT_WINDOW 65535

static struct tg_h2_stream *stream_find(struct tg_h2_transport *t, uint32_t id)
{
	for (int i = 0; i < t->nstreams; i++)
		if (t->streams[i].id == id)
			return &t->streams[i];
	return NULL;
}

static struct tg_h2_stream *stream_open(struct tg_h2_transport *t, uint32_t id)
{
	struct tg_h2_stream *s = NULL;
	for (int i = 0; i < t->nstreams && !s; i++)
		if (t->streams[i].id == 0)
			s = &t->streams[i];
	if (!s && t->nstreams < TG_H2_STREAMS_MAX)
		s = &t->streams[t->nstreams++];
	if (!s) {
		tg_debug("%s: more than %d HTTP/2 streams in flight; stream %u not observed",
		         t->sni, TG_H2_STREAMS_MAX, id);
		return NULL;
	}
	struct tg_exchange *x = malloc(sizeof *x);
	if (!x)
		return NULL;
	tg_exchange_init(x, t->provider, t->sni);
	s->id = id;
	s->informational = 0;
	s->headers_unsent = 0;
	s->send_window = t->initial_window;
	s->x = x;
	return s;
}

static void stream_end(struct tg_h2_transport *t, struct tg_h2_stream *s, int complete, int record)
{
	struct tg_record r;
	struct tg_call_size size;
	struct tg_call_origin origin;
	if (record && tg_exchange_finish(s->x, complete, &r, &size) == 0) {
		tg_exchange_origin(s->x, &origin);
		t->commit(&r, &size, &origin);
	} else {
		tg_exchange_discard(s->x);
	}
	free(s->x);
	s->x = NULL;
	s->id = 0;
	while (t->nstreams > 0 && t->streams[t->nstreams - 1].id == 0)
		t->nstreams--;
}

static struct refused_stream *refused_find(struct tg_h2_transport *t, uint32_t id)
{
	for (int i = 0; i < t->nrefused; i++)
		if (t->refused[i].id == id)
			return &t->refused[i];
	return NULL;
}

static void on_header(void *ctx, uint32_t id, enum tg_dir dir,
                      const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct tg_h2_transport *t = ctx;
	struct tg_h2_stream *s = stream_find(t, id);

	if (dir == TG_DIR_REQUEST) {
		if (!s && !(s = stream_open(t, id)))
			return;
		struct tg_exchange *x = s->x;
		if (tg_name_is(name, nlen, ":method"))
			tg_copy_text(x->method, sizeof x->method, value, vlen);
		else if (tg_name_is(name, nlen, ":path"))
			tg_exchange_request_target(x, x->method, strlen(x->method), value, vlen);
		else
			tg_exchange_request_header(x, name, nlen, value, vlen);
		return;
	}
	if (!s)
		return;   /* a pushed stream, or one we could not track */
	if (tg_name_is(name, nlen, ":status")) {
		uint64_t v;
		int status = tg_digits(value, vlen < 3 ? vlen : 3, 999, &v) > 0 ? (int)v : 0;
		s->informational = status >= 100 && status < 200;
		if (!s->informational)
			tg_exchange_response_status(s->x, status);
	} else if (!s->informational && s->x->response_started) {
		tg_exchange_response_header(s->x, name, nlen, value, vlen);
	}
}

static void on_headers_done(void *ctx, uint32_t id, enum tg_dir dir, int end_stream, int is_trailer)
{
	struct tg_h2_transport *t = ctx;
	struct tg_h2_stream *s = stream_find(t, id);
	if (s && dir == TG_DIR_REQUEST) {
		s->x->req_headers = 1;
		if (!is_trailer)
			s->headers_unsent = 1;
		if (end_stream)
			s->x->req_done = 1;
	}
	if (!s || dir != TG_DIR_RESPONSE)
		return;
	if (s->informational) {
		s->informational = 0;
		return;
	}
	if (!is_trailer && s->x->response_started)
		tg_exchange_response_headers_done(s->x);
}

static void on_data(void *ctx, uint32_t id, enum tg_dir dir, const char *buf, size_t len)
{
	struct tg_h2_transport *t = ctx;
	struct tg_h2_stream *s = stream_find(t, id);
	if (!s)
		return;
	if (dir == TG_DIR_REQUEST)
		tg_exchange_request_feed(s->x, buf, len);
	else if (s->x->response_started)
		tg_exchange_response_feed(s->x, buf, len);
}

static void on_end_stream(void *ctx, uint32_t id, enum tg_dir dir)
{
	struct tg_h2_transport *t = ctx;
	struct tg_h2_stream *s = stream_find(t, id);
	if (dir == TG_DIR_REQUEST) {
		struct refused_stream *r = refused_find(t, id);
		if (r)
			r->request_ended = 1;
		if (s)
			s->x->req_done = 1;
		return;
	}
	if (s)
		stream_end(t, s, 1, 1);
}

static void on_reset(void *ctx, uint32_t id, enum tg_dir dir, uint32_t error_code)
{
	struct tg_h2_transport *t = ctx;
	struct tg_h2_stream *s = stream_find(t, id);
	/* REFUSED_STREAM (7): the server did no work and the client retries. */
	if (s)
		stream_end(t, s, 0, !(dir == TG_DIR_RESPONSE && error_code == 7));
}

static void on_goaway(void *ctx, enum tg_dir dir, uint32_t last_stream_id, uint32_t error_code)
{
	struct tg_h2_transport *t = ctx;
	if (dir != TG_DIR_RESPONSE)
		return;
	for (int i = 0; i < t->nstreams; i++)
		if (t->streams[i].id > last_stream_id && t->streams[i].id % 2 == 1)
			stream_end(t, &t->streams[i], 0, 0);
}

/* Flow control: the program's send windows, as the program sees them. */

static void on_data_frame(void *ctx, uint32_t id, enum tg_dir dir, uint32_t flow_len)
{
	struct tg_h2_transport *t = ctx;
	struct tg_h2_stream *s = stream_find(t, id);
	if (dir != TG_DIR_REQUEST)
		return;
	t->conn_window -= flow_len;
	if (s)
		s->send_window -= flow_len;
}

static void on_window_update(void *ctx, uint32_t id, enum tg_dir dir, uint32_t increment)
{
	struct tg_h2_transport *t = ctx;
	struct tg_h2_stream *s = stream_find(t, id);
	if (dir != TG_DIR_RESPONSE)
		return;
	if (id == 0)
		t->conn_window += increment;
	else if (s)
		s->send_window += increment;
}

static void on_initial_window(void *ctx, enum tg_dir dir, uint32_t value)
{
	struct tg_h2_transport *t = ctx;
	if (dir != TG_DIR_RESPONSE)
		return;
	/* A new initial size moves every open stream's window by the
	 * difference (RFC 9113 6.9.2). */
	for (int i = 0; i < t->nstreams; i++)
		if (t->streams[i].id)
			t->streams[i].send_window += (int64_t)value - t->initial_window;
	t->initial_window = value;
}

static const struct tg_h2_callbacks callbacks = {
	.on_header = on_header,
	.on_headers_done = on_headers_done,
	.on_data = on_data,
	.on_end_stream = on_end_stream,
	.on_reset = on_reset,
	.on_goaway = on_goaway,
	.on_data_frame = on_data_frame,
	.on_window_update = on_window_update,
	.on_initial_window = on_initial_window,
};

int tg_h2_transport_init(struct tg_h2_transport *t, const struct tg_provider *p,
                         const char *sni, tg_commit_fn commit, struct tg_inject *inject)
{
	memset(t, 0, sizeof *t);
	t->provider = p;
	t->sni = sni;
	t->commit = commit;
	t->inject = inject;
	t->conn_window = H2_DEFAULT_WINDOW;
	t->initial_window = H2_DEFAULT_WINDOW;
	if (tg_h2_init(&t->observer, &callbacks, t) != 0) {
		t->off = 1;
		return -1;
	}
	t->live = 1;
	return 0;
}

static void close_streams(struct tg_h2_transport *t)
{
	for (int i = 0; i < t->nstreams; i++)
		if (t->streams[i].id)
			stream_end(t, &t->streams[i], tg_exchange_response_whole(t->streams[i].x), 1);
	t->nstreams = 0;
}

void tg_h2_transport_feed(struct tg_h2_transport *t, enum tg_dir dir, const char *buf, size_t len)
{
	if (t->off)
		return;
	if (dir == TG_DIR_RESPONSE)
		t->response_bytes += len;
	if (tg_h2_feed(&t->observer, dir, buf, len) < 0) {
		tg_warn("%s: HTTP/2 %s stream could not be followed (framing or HPACK error); "
		        "this connection is no longer observed and its open calls are recorded as cut off",
		        t->sni, dir == TG_DIR_REQUEST ? "request" : "response");
		t->off = 1;
		close_streams(t);
	}
}

static void hold_drop(struct tg_h2_transport *t)
{
	free(t->hold.held);
	t->hold.held = NULL;
	t->hold.len = 0;
	t->hold.stream = 0;
}

void tg_h2_transport_close(struct tg_h2_transport *t)
{
	close_streams(t);
	hold_drop(t);
	t->off = 1;
	if (t->live) {
		tg_h2_free(&t->observer);
		t->live = 0;
	}
}

/* Refuses stream s: its exchange is recorded as blocked and its refusal
 * queued for the program; its remaining frames are cut from the writes. */
static void refuse(struct tg_h2_transport *t, struct tg_h2_stream *s, const struct tg_gate_result *g)
{
	char frames[TG_REFUSAL_MAX + 512];
	struct tg_exchange *x = s->x;
	if (t->nrefused == TG_H2_REFUSED_MAX) {
		tg_warn("budget '%s' would refuse a call to %s but too many refusals are pending on "
		        "this connection; the call goes through", g->policy, t->sni);
		return;
	}
	int n = tg_refusal_h2(tg_wire_for_endpoint(x->endpoint, t->provider->wire), g->policy,
	                      g->message, s->id, frames, sizeof frames);
	if (tg_exchange_queue_refusal(x, t->inject, g, frames, n) != 0)
		return;
	struct refused_stream *r = &t->refused[t->nrefused++];
	r->id = s->id;
	r->request_ended = x->req_done;
	r->reset_sent = 0;
	r->credit = 0;
	stream_end(t, s, 1, 1);
}

/* can_cut: this write can still be cut (nothing of it went out, and it
 * will be written whole); a stream refused otherwise would have its
 * request reach the server after all. */
static void gate_streams(struct tg_h2_transport *t, int can_cut)
{
	for (int i = 0; i < t->nstreams; i++) {
		struct tg_h2_stream *s = &t->streams[i];
		if (!s->id || !s->x || s->x->gated || !s->x->req_headers)
			continue;
		/* The model is in the body: wait for it, unless the request ended. */
		if (!s->x->req_done && !s->x->req.info.model[0])
			continue;
		char asked[TG_MODEL_MAX];
		struct tg_gate_result g;
		/* Not rewritable: part of its body went out, or will before it
		 * is whole (gate_whole_request takes the others). */
		tg_exchange_gate(s->x, 0, asked, &g);
		if (g.verdict != TG_VERDICT_BLOCK)
			continue;
		if (can_cut)
			refuse(t, s, &g);
		else
			tg_warn("budget '%s' refuses a call to %s%s, but this write cannot be cut "
			        "(partial writes enabled, or part of it already sent); it goes through",
			        g.policy, t->sni, s->x->endpoint);
	}
}

static void put_window_update(struct tg_h2_transport *t, uint32_t stream_id, uint32_t credit)
{
	char f[TG_REFUSAL_WINDOW_UPDATE_LEN];
	tg_refusal_h2_window_update(stream_id, credit, f);
	if (tg_inject_append(t->inject, f, sizeof f) != 0)
		tg_debug("%s: could not queue a flow-control credit", t->sni);
	else if (stream_id == 0)
		t->conn_window += credit;
}

/* The rest of the current frame's payload (or of the client preface) in
 * buf[0..len): copied to out at *o, or, when its frame is cut, counted as
 * flow-control credit the server will never see consumed (returned to the
 * program with WINDOW_UPDATEs, so that its windows stay exact).  Returns
 * the bytes taken. */
static size_t pass_payload(struct tg_h2_transport *t, struct tg_h2_cursor *c, const char *buf,
                           size_t len, int cut, char *out, size_t *o, uint32_t *credit)
{
	size_t n = len < c->left ? len : c->left;
	if (cut) {
		struct refused_stream *r = refused_find(t, c->stream_id);
		*credit += (uint32_t)n;
		if (r)
			r->credit += (uint32_t)n;
	} else {
		memcpy(out + *o, buf, n);
		*o += n;
	}
	c->left -= (uint32_t)n;
	if (c->left == 0)
		c->in_preface = 0;
	return n;
}

/* A frame header (or the part of one) at buf[0..len); first: buf is the
 * start of the write.  Decides whether its frame is cut: a DATA frame of
 * a refused stream, unless its header was begun in an earlier write
 * (that part went out, so the frame must follow whole).  *split: the
 * header is cut off at the write's end, and goes out as it is.  Returns
 * the bytes taken. */
static size_t take_header(struct tg_h2_transport *t, struct tg_h2_cursor *c, const char *buf,
                          size_t len, int first, char *out, size_t *o, int *cut, int *split)
{
	int begun_before = c->header_have > 0 && first;
	size_t need = TG_H2_FRAME_HDLEN - c->header_have;
	size_t n = len < need ? len : need;
	memcpy(c->head + c->header_have, buf, n);
	if (begun_before) {
		memcpy(out + *o, buf, n);
		*o += n;
	}
	c->header_have += n;
	if (c->header_have < TG_H2_FRAME_HDLEN) {
		if (!begun_before) {
			memcpy(out + *o, c->head, c->header_have);
			*o += c->header_have;
		}
		*split = 1;
		return n;
	}
	c->header_have = 0;
	c->left = tg_get_be24(c->head);
	c->type = c->head[3];
	c->stream_id = tg_get_be32(c->head + 5) & TG_H2_ID_MASK;
	*cut = !begun_before && c->type == TG_H2_FRAME_DATA && refused_find(t, c->stream_id) != NULL;
	if (!*cut && !begun_before) {
		memcpy(out + *o, c->head, TG_H2_FRAME_HDLEN);
		*o += TG_H2_FRAME_HDLEN;
	}
	return n;
}

/* The RST_STREAMs owed to the server for refused streams, appended to out
 * (only at a frame boundary, where a frame of ours may go).  Returns
 * their length. */
static size_t append_resets(struct tg_h2_transport *t, char *out)
{
	size_t o = 0;
	for (int k = 0; k < t->nrefused; k++) {
		if (t->refused[k].reset_sent)
			continue;
		tg_refusal_h2_server(t->refused[k].id, out + o);
		o += TG_REFUSAL_H2_SERVER_LEN;
		t->refused[k].reset_sent = 1;
	}
	return o;
}

/* Copies the write from cursor c on, cutting the DATA frames of refused
 * streams, and appends the resets owed when it ends at a frame boundary.
 * A frame is cut whole or not at all: t->cut_left carries a frame being
 * cut into the next write, and a frame whose header went out before its
 * stream was refused is passed whole.  Returns the length of out. */
static size_t filter(struct tg_h2_transport *t, struct tg_h2_cursor *c, const char *buf, size_t len,
                     char *out, uint32_t *credit)
{
	size_t i = 0, o = 0;
	int cut = t->cut_left > 0, split = 0;
	while (i < len && !split) {
		if (c->in_preface || c->left > 0)
			i += pass_payload(t, c, buf + i, len - i, cut, out, &o, credit);
		else
			i += take_header(t, c, buf + i, len - i, i == 0, out, &o, &cut, &split);
	}
	t->cut_left = cut ? c->left : 0;
	if (c->header_have == 0 && c->left == 0 && !c->in_preface)
		o += append_resets(t, out + o);
	return o;
}

/* Copies the DATA payload of `stream` (padding left out) found in
 * buf[0..len), whose first byte stands at `start`, out to body (to_buf 0)
 * or back from body into buf in place (to_buf 1); body NULL: only counts.
 * Returns the payload length, or -1 if a frame of it is cut off or body
 * is too small. */
static int64_t stream_body(const struct tg_h2_cursor *start, char *buf, size_t len, uint32_t stream,
                           char *body, size_t cap, int to_buf)
{
	unsigned char head[TG_H2_FRAME_HDLEN];
	size_t have = start->header_have, i = 0, total = 0;
	memcpy(head, start->head, have);
	if (have == 0)
		i = start->left < len ? start->left : len;   /* the rest of a frame, or of the preface */
	while (i < len) {
		size_t need = TG_H2_FRAME_HDLEN - have;
		if (len - i < need)
			break;
		memcpy(head + have, buf + i, need);
		i += need;
		have = 0;
		size_t flen = tg_get_be24(head);
		uint32_t id = tg_get_be32(head + 5) & TG_H2_ID_MASK;
		if (head[3] == TG_H2_FRAME_DATA && id == stream) {
			if (flen > len - i)
				return -1;
			size_t p = i, end = i + flen;
			if (head[4] & TG_H2_FLAG_PADDED) {
				if (flen == 0 || (unsigned char)buf[p] > flen - 1)
					return -1;
				end -= (unsigned char)buf[p];
				p++;
			}
			size_t n = end - p;
			if (body && total + n > cap)
				return -1;
			if (body && to_buf)
				memcpy(buf + p, body + total, n);
			else if (body)
				memcpy(body + total, buf + p, n);
			total += n;
		}
		if (flen > len - i)
			break;
		i += flen;
	}
	return (int64_t)total;
}

/* Asks the gate about stream s, whose request is whole in buf[0..len)
 * (first byte at `start`), none of it sent yet; a rewrite is made in
 * buf, at the body's length: the program announced that length (in
 * content-length, when it sent one) and counted it against its send
 * windows, so the server must get as many bytes as the program believes
 * it sent.  When that cannot be done the policy's fallback applies. */
static void gate_whole_request(struct tg_h2_transport *t, struct tg_h2_stream *s, char *buf, size_t len,
                               const struct tg_h2_cursor *start)
{
	struct tg_exchange *x = s->x;
	char asked[TG_MODEL_MAX];
	int64_t blen = x->req_body_opaque ? -1 : stream_body(start, buf, len, s->id, NULL, 0, 0);
	char *body = blen >= 0 ? malloc((size_t)blen + 1) : NULL;
	char *edited = body ? malloc((size_t)blen + 1) : NULL;
	struct tg_gate_result g;
	tg_exchange_gate(x, edited && stream_body(start, buf, len, s->id, body, (size_t)blen, 0) == blen,
	                 asked, &g);
	if (g.verdict == TG_VERDICT_REWRITE) {
		struct tg_rewrite rw;
		tg_rewrite_plan(&rw, x->endpoint, &x->req.info, g.new_model, g.new_max_tokens,
		                tg_cap_key_for_endpoint(t->provider, x->endpoint));
		if (tg_rewrite_body_same_length(body, (size_t)blen, &rw, edited) == 0) {
			stream_body(start, buf, len, s->id, edited, (size_t)blen, 1);
			tg_exchange_rewritten(x, g.policy, asked, rw.model != NULL, rw.max_tokens >= 0);
		} else {
			/* No room for the change at this length: ask again as a
			 * request that cannot be rewritten, for the fallback. */
			tg_exchange_gate(x, 0, asked, &g);
		}
	}
	free(body);
	free(edited);
	if (g.verdict == TG_VERDICT_BLOCK)
		refuse(t, s, &g);
}

/* A request whose HEADERS ended in the bytes being written and whose body
 * is still to come: the one a hold waits for.  Not one whose body waits
 * for the server (Expect: 100-continue; gRPC and other bidirectional
 * streams, which are no JSON a rewrite could edit anyway). */
static struct tg_h2_stream *request_to_hold(struct tg_h2_transport *t)
{
	for (int i = 0; i < t->nstreams; i++) {
		struct tg_h2_stream *s = &t->streams[i];
		if (s->id && s->x && s->headers_unsent && !s->x->gated && !s->x->req_done &&
		    !s->x->expect_continue && !s->x->req_not_json && !s->x->req_body_opaque)
			return s;
	}
	return NULL;
}

/* Whether the hold must end now: its request is whole (or gone), the
 * hold is full, or the program can send no more of it without credit
 * that only the server, which has not got the held bytes, would give. */
static int hold_ends(struct tg_h2_transport *t)
{
	struct tg_h2_stream *s = stream_find(t, t->hold.stream);
	return t->off || !s || !s->x || s->x->req_done || s->x->gated || t->hold.len > HOLD_MAX ||
	       t->conn_window <= 0 || s->send_window <= 0;
}

static int hold_append(struct tg_h2_transport *t, const char *buf, size_t len)
{
	char *n = realloc(t->hold.held, t->hold.len + len);
	if (!n)
		return -1;
	memcpy(n + t->hold.len, buf, len);
	t->hold.held = n;
	t->hold.len += len;
	return 0;
}

/* The hold (README, "Rewrites over HTTP/2"): starts one when this write
 * ends the HEADERS of a request to hold, adds the write to it, and once
 * it ends hands what was held over in *buf (*len bytes, from cursor *c);
 * nothing held went out, so the whole of it can still be cut.  Returns 1
 * when the write was swallowed into the hold (or lost with the
 * connection's observation): nothing more to do with it. */
static int hold_step(struct tg_h2_transport *t, struct tg_write_ctl *w, struct tg_h2_cursor *c,
                     char **buf, size_t *len, int *can_cut)
{
	if (!t->hold.held && *can_cut && !t->off && w->len <= HOLD_MAX) {
		struct tg_h2_stream *s = request_to_hold(t);
		if (s) {
			t->hold.start = *c;
			t->hold.stream = s->id;
			if (hold_ends(t))
				t->hold.stream = 0;   /* it could not be held whole anyway */
		}
	}
	if (!t->hold.stream)
		return 0;
	if (hold_append(t, w->buf, w->len) != 0) {
		tg_warn("%s: out of memory holding a request back; this connection is no longer "
		        "observed", t->sni);
		t->off = 1;
		close_streams(t);
		/* What is held must still go out, before this write, which
		 * then goes as the program wrote it: no byte is lost. */
		w->prefix = t->hold.held;
		w->prefix_len = t->hold.len;
		t->hold.held = NULL;
		t->hold.len = 0;
		t->hold.stream = 0;
		return 1;
	} else if (!hold_ends(t)) {
		w->swallow = 1;
		return 1;
	}
	*buf = t->hold.held;
	*len = t->hold.len;
	*c = t->hold.start;
	t->hold.held = NULL;
	t->hold.len = 0;
	t->hold.stream = 0;
	*can_cut = w->may_replace;   /* nothing held went out */
	return 0;
}

/* Gates the requests whose headers and whole body are in these bytes, on
 * a copy of the write (*buf) when nothing was held, so that a rewrite can
 * edit it. */
static void gate_whole_requests(struct tg_h2_transport *t, const struct tg_write_ctl *w,
                                const struct tg_h2_cursor *c, char **buf, size_t *len)
{
	for (int i = 0; i < t->nstreams && !t->off; i++) {
		struct tg_h2_stream *s = &t->streams[i];
		if (!s->id || !s->x || !s->headers_unsent || s->x->gated || !s->x->req_done)
			continue;
		if (!*buf) {
			if (!(*buf = malloc(w->len)))
				break;
			memcpy(*buf, w->buf, w->len);
			*len = w->len;
		}
		gate_whole_request(t, s, *buf, *len, c);
	}
}

/* What goes out instead of the write: buf, when there is one. */
static void replace_with(struct tg_write_ctl *w, char *buf, size_t len)
{
	if (buf) {
		w->replace = buf;
		w->replace_len = len;
	}
}

/* Returns the windows the cut DATA consumed: the connection's credit,
 * and each refused stream's, since a program still sending a refused body
 * (httpx reads the answer only once its body is sent) would wait for it
 * forever; then forgets refused streams that can send nothing more. */
static void return_credit(struct tg_h2_transport *t, uint32_t credit)
{
	if (credit)
		put_window_update(t, 0, credit);
	for (int i = 0; i < t->nrefused; i++) {
		if (t->refused[i].credit && !t->refused[i].request_ended)
			put_window_update(t, t->refused[i].id, t->refused[i].credit);
		t->refused[i].credit = 0;
	}
	int k = 0;
	for (int i = 0; i < t->nrefused; i++)
		if (!(t->refused[i].request_ended && t->refused[i].reset_sent))
			t->refused[k++] = t->refused[i];
	t->nrefused = k;
}

/* Cuts the frames of refused streams from the bytes going out (buf when
 * held or edited, else the write's own), from cursor c. */
static void cut_refused(struct tg_h2_transport *t, struct tg_write_ctl *w,
                        const struct tg_h2_cursor *c, char *buf, size_t len)
{
	const char *src = buf ? buf : w->buf;
	size_t srclen = buf ? len : w->len;
	char *out = malloc(srclen + (size_t)t->nrefused * TG_REFUSAL_H2_SERVER_LEN);
	if (!out) {
		replace_with(w, buf, len);
		return;
	}
	uint32_t credit = 0;
	struct tg_h2_cursor at = *c;
	size_t olen = filter(t, &at, src, srclen, out, &credit);
	int held = buf != NULL;
	return_credit(t, credit);
	free(buf);
	if (olen == 0) {
		free(out);
		w->swallow = 1;
	} else if (!held && olen == w->len && memcmp(out, w->buf, olen) == 0) {
		free(out);
	} else {
		w->replace = out;
		w->replace_len = olen;
	}
}

void tg_h2_transport_write(struct tg_h2_transport *t, struct tg_write_ctl *w)
{
	struct tg_h2_cursor c;
	char *buf = NULL;   /* what goes out instead of w->buf, from cursor c; NULL: w->buf */
	size_t len = 0;
	if (t->off && !t->hold.held)
		return;
	tg_h2_cursor_of(&t->observer, TG_DIR_REQUEST, &c);
	tg_h2_transport_feed(t, TG_DIR_REQUEST, w->buf, w->len);
	int can_cut = w->whole && w->may_replace;

	if (hold_step(t, w, &c, &buf, &len, &can_cut))
		return;
	if (can_cut)
		gate_whole_requests(t, w, &c, &buf, &len);
	for (int i = 0; i < t->nstreams; i++)
		t->streams[i].headers_unsent = 0;
	if (!t->off)
		gate_streams(t, can_cut);
	if (t->off || (t->nrefused == 0 && t->cut_left == 0) || !can_cut) {
		if (!t->off && (t->nrefused || t->cut_left))
			tg_debug("%s: this write cannot be cut (partly sent, or partial writes enabled); "
			         "frames of refused streams go out", t->sni);
		replace_with(w, buf, len);
		return;
	}
	cut_refused(t, w, &c, buf, len);
}

int tg_h2_transport_can_inject(const struct tg_h2_transport *t, size_t *cap)
{
	struct tg_h2_cursor c;
	*cap = 0;
	if (!t->live || t->off)
		return 1;   /* no longer followed: nothing to splice into */
	tg_h2_cursor_of(&t->observer, TG_DIR_RESPONSE, &c);
	if (c.header_have > 0)
		*cap = TG_H2_FRAME_HDLEN - c.header_have;
	else
		*cap = c.left;
	/* A frame boundary inside the server's header block is no place for
	 * ours: nothing may come between HEADERS and its CONTINUATIONs. */
	return *cap == 0 && t->response_bytes > 0 && !c.in_block;
}

void tg_h2_transport_abort(struct tg_h2_transport *t)
{
	hold_drop(t);
	for (int i = 0; i < t->nstreams; i++)
		if (t->streams[i].id && !t->streams[i].x->response_started)
			stream_end(t, &t->streams[i], 0, 0);
	tg_h2_transport_close(t);
}
