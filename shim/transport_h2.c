/* transport_h2.c - see transport_h2.h. */
#include "transport_h2.h"

#include <stdlib.h>
#include <string.h>

#include "budget_gate.h"
#include "log.h"
#include "refusal.h"
#include "text.h"

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
	tg_exchange_start(x, t->provider, t->sni);
	s->id = id;
	s->informational = 0;
	s->x = x;
	return s;
}

static void stream_end(struct tg_h2_transport *t, struct tg_h2_stream *s, int complete, int record)
{
	struct tg_record r;
	if (record && tg_exchange_finish(s->x, complete, &r) == 0)
		t->commit(&r);
	else
		tg_exchange_discard(s->x);
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
		int status = 0;
		for (size_t i = 0; i < vlen && i < 3 && value[i] >= '0' && value[i] <= '9'; i++)
			status = status * 10 + (value[i] - '0');
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
		tg_exchange_request_body(s->x, buf, len);
	else if (s->x->response_started)
		tg_exchange_response_body(s->x, buf, len);
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

static const struct tg_h2_callbacks callbacks = {
	.on_header = on_header,
	.on_headers_done = on_headers_done,
	.on_data = on_data,
	.on_end_stream = on_end_stream,
	.on_reset = on_reset,
	.on_goaway = on_goaway,
};

int tg_h2_transport_init(struct tg_h2_transport *t, const struct tg_provider *p,
                         const char *sni, tg_commit_fn commit, struct tg_inject *inject)
{
	memset(t, 0, sizeof *t);
	t->provider = p;
	t->sni = sni;
	t->commit = commit;
	t->inject = inject;
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

void tg_h2_transport_close(struct tg_h2_transport *t)
{
	close_streams(t);
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
	if (n < 0 || tg_inject_append(t->inject, frames, (size_t)n) != 0) {
		tg_warn("budget '%s' would refuse a call to %s but the refusal could not be built; "
		        "the call goes through", g->policy, t->sni);
		return;
	}
	struct refused_stream *r = &t->refused[t->nrefused++];
	r->id = s->id;
	r->request_ended = x->req_done;
	r->reset_sent = 0;
	tg_exchange_refuse(x, g->policy);
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
		s->x->gated = 1;
		char asked[TG_MODEL_MAX];
		tg_exchange_requested_model(s->x, asked, sizeof asked);
		struct tg_gate_call call = {
			.provider = t->provider,
			.model = asked,
			.max_tokens = s->x->req.info.max_tokens,
			/* HTTP/2 requests carry content-length, and DATA frames are
			 * flow-controlled: the body is never rewritten. */
			.can_rewrite = 0,
		};
		struct tg_gate_result g;
		tg_gate_check(&call, &g);
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

static void put_window_update(struct tg_h2_transport *t, uint32_t credit)
{
	char f[TG_REFUSAL_WINDOW_UPDATE_LEN];
	tg_refusal_h2_window_update(credit, f);
	if (tg_inject_append(t->inject, f, sizeof f) != 0)
		tg_debug("%s: could not queue a flow-control credit", t->sni);
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
	int cut = t->cut_left > 0;
	while (i < len) {
		if (c->in_preface || c->left > 0) {
			size_t n = len - i < c->left ? len - i : c->left;
			if (cut) {
				*credit += (uint32_t)n;
			} else {
				memcpy(out + o, buf + i, n);
				o += n;
			}
			c->left -= (uint32_t)n;
			i += n;
			if (c->left == 0)
				c->in_preface = 0;
			continue;
		}
		/* A frame header.  One begun in an earlier write went out in
		 * part: its frame is passed on whole. */
		int begun_before = c->header_have > 0 && i == 0;
		size_t need = TG_H2_FRAME_HDLEN - c->header_have;
		size_t n = len - i < need ? len - i : need;
		memcpy(c->head + c->header_have, buf + i, n);
		if (begun_before) {
			memcpy(out + o, buf + i, n);
			o += n;
		}
		c->header_have += n;
		i += n;
		if (c->header_have < TG_H2_FRAME_HDLEN) {
			/* Split header: it goes out as it is; so will its frame. */
			if (!begun_before) {
				memcpy(out + o, c->head, c->header_have);
				o += c->header_have;
			}
			break;
		}
		c->header_have = 0;
		c->left = (uint32_t)c->head[0] << 16 | (uint32_t)c->head[1] << 8 | c->head[2];
		c->type = c->head[3];
		c->stream_id = ((uint32_t)c->head[5] << 24 | (uint32_t)c->head[6] << 16 |
		                (uint32_t)c->head[7] << 8 | c->head[8]) & 0x7fffffffu;
		cut = !begun_before && c->type == 0x0 && refused_find(t, c->stream_id) != NULL;
		if (!cut && !begun_before) {
			memcpy(out + o, c->head, TG_H2_FRAME_HDLEN);
			o += TG_H2_FRAME_HDLEN;
		}
	}
	t->cut_left = cut ? c->left : 0;
	if (c->header_have == 0 && c->left == 0 && !c->in_preface) {
		for (int k = 0; k < t->nrefused; k++) {
			if (t->refused[k].reset_sent)
				continue;
			tg_refusal_h2_server(t->refused[k].id, out + o);
			o += TG_REFUSAL_H2_SERVER_LEN;
			t->refused[k].reset_sent = 1;
		}
	}
	return o;
}

void tg_h2_transport_write(struct tg_h2_transport *t, struct tg_write_ctl *w)
{
	struct tg_h2_cursor c;
	if (t->off)
		return;
	tg_h2_cursor_of(&t->observer, TG_DIR_REQUEST, &c);
	tg_h2_transport_feed(t, TG_DIR_REQUEST, w->buf, w->len);
	if (t->off)
		return;
	int can_cut = w->whole && w->may_replace;
	gate_streams(t, can_cut);
	if (t->nrefused == 0 && t->cut_left == 0)
		return;
	if (!can_cut) {
		tg_debug("%s: this write cannot be cut (partly sent, or partial writes enabled); "
		         "frames of refused streams go out", t->sni);
		return;
	}

	char *out = malloc(w->len + (size_t)t->nrefused * TG_REFUSAL_H2_SERVER_LEN);
	if (!out)
		return;
	uint32_t credit = 0;
	size_t olen = filter(t, &c, w->buf, w->len, out, &credit);
	if (credit)
		put_window_update(t, credit);
	/* Forget refused streams that can send nothing more. */
	int k = 0;
	for (int i = 0; i < t->nrefused; i++)
		if (!(t->refused[i].request_ended && t->refused[i].reset_sent))
			t->refused[k++] = t->refused[i];
	t->nrefused = k;

	if (olen == 0) {
		free(out);
		w->swallow = 1;
	} else if (olen == w->len && memcmp(out, w->buf, olen) == 0) {
		free(out);
	} else {
		w->replace = out;
		w->replace_len = olen;
	}
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
	for (int i = 0; i < t->nstreams; i++)
		if (t->streams[i].id && !t->streams[i].x->response_started)
			stream_end(t, &t->streams[i], 0, 0);
	tg_h2_transport_close(t);
}
