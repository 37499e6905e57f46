/* transport_h2.c - see transport_h2.h. */
#include "transport_h2.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
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
	if (s && dir == TG_DIR_RESPONSE)
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
                         const char *sni, tg_commit_fn commit)
{
	memset(t, 0, sizeof *t);
	t->provider = p;
	t->sni = sni;
	t->commit = commit;
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
			stream_end(t, &t->streams[i], tg_exchange_body_complete(t->streams[i].x), 1);
	t->nstreams = 0;
}

void tg_h2_transport_feed(struct tg_h2_transport *t, enum tg_dir dir, const char *buf, size_t len)
{
	if (t->off)
		return;
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
