/* transport_h1.c - see transport_h1.h. */
#include "transport_h1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib.h"
#include "gate.h"
#include "log.h"
#include "refusal.h"
#include "rewrite.h"

static struct tg_exchange *oldest(struct tg_h1_transport *t)
{
	return t->count ? t->inflight[t->head] : NULL;
}

static struct tg_exchange *newest(struct tg_h1_transport *t)
{
	return t->count ? t->inflight[(t->head + t->count - 1) % TG_H1_INFLIGHT_MAX] : NULL;
}

static void finish_oldest(struct tg_h1_transport *t, int complete)
{
	struct tg_exchange *x = oldest(t);
	struct tg_record r;
	struct tg_call_size size;
	struct tg_call_origin origin;
	if (!x)
		return;
	t->head = (t->head + 1) % TG_H1_INFLIGHT_MAX;
	t->count--;
	if (tg_exchange_finish(x, complete, &r, &size) == 0) {
		tg_exchange_origin(x, &origin);
		t->commit(&r, &size, &origin);
	}
	free(x);
}

static void stop_observing(struct tg_h1_transport *t, const char *why)
{
	if (t->off)
		return;
	tg_debug("%s: %s; no longer observing this connection", t->sni, why);
	t->off = 1;
	while (t->count)
		finish_oldest(t, 0);
}

/* Request direction. */

static void on_request(void *ctx, const char *method, size_t mlen, const char *target, size_t tlen)
{
	struct tg_h1_transport *t = ctx;
	struct tg_exchange *x;
	if (t->count == TG_H1_INFLIGHT_MAX || !(x = malloc(sizeof *x))) {
		stop_observing(t, "too many pipelined requests");
		return;
	}
	tg_exchange_init(x, t->provider, t->sni);
	tg_exchange_request_target(x, method, mlen, target, tlen);
	t->inflight[(t->head + t->count) % TG_H1_INFLIGHT_MAX] = x;
	t->count++;
}

static void on_request_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct tg_h1_transport *t = ctx;
	if (newest(t))
		tg_exchange_request_header(newest(t), name, nlen, value, vlen);
}

static int on_request_headers_done(void *ctx)
{
	struct tg_h1_transport *t = ctx;
	if (newest(t))
		newest(t)->req_headers = 1;
	return 0;
}

static void on_request_body(void *ctx, const char *buf, size_t len)
{
	struct tg_h1_transport *t = ctx;
	if (newest(t))
		tg_exchange_request_feed(newest(t), buf, len);
}

static void on_request_done(void *ctx)
{
	struct tg_h1_transport *t = ctx;
	if (newest(t))
		newest(t)->req_done = 1;
}

/* Response direction: answers the oldest request in flight. */

static void on_status(void *ctx, int status)
{
	struct tg_h1_transport *t = ctx;
	struct tg_exchange *x = oldest(t);
	if (!x) {
		stop_observing(t, "response without a request");
		return;
	}
	if (status == 101) {
		stop_observing(t, "protocol switched");
		return;
	}
	t->informational = status >= 100 && status < 200;
	if (!t->informational)
		tg_exchange_response_status(x, status);
}

static void on_response_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct tg_h1_transport *t = ctx;
	if (!t->informational && oldest(t))
		tg_exchange_response_header(oldest(t), name, nlen, value, vlen);
}

static int on_response_headers_done(void *ctx)
{
	struct tg_h1_transport *t = ctx;
	struct tg_exchange *x = oldest(t);
	if (t->informational || !x)
		return 1;
	tg_exchange_response_headers_done(x);
	return strcmp(x->method, "HEAD") == 0 ||
	       (strcmp(x->method, "CONNECT") == 0 && x->status / 100 == 2);
}

static void on_response_body(void *ctx, const char *buf, size_t len)
{
	struct tg_h1_transport *t = ctx;
	if (oldest(t))
		tg_exchange_response_feed(oldest(t), buf, len);
}

static void on_response_done(void *ctx)
{
	struct tg_h1_transport *t = ctx;
	if (t->informational) {
		t->informational = 0;
		return;
	}
	finish_oldest(t, 1);
}

static const struct tg_h1_callbacks request_callbacks = {
	.on_request = on_request,
	.on_header = on_request_header,
	.on_headers_done = on_request_headers_done,
	.on_body = on_request_body,
	.on_message_done = on_request_done,
};

static const struct tg_h1_callbacks response_callbacks = {
	.on_status = on_status,
	.on_header = on_response_header,
	.on_headers_done = on_response_headers_done,
	.on_body = on_response_body,
	.on_message_done = on_response_done,
};

void tg_h1_transport_init(struct tg_h1_transport *t, const struct tg_provider *p,
                          const char *sni, tg_commit_fn commit, struct tg_inject *inject)
{
	memset(t, 0, sizeof *t);
	t->provider = p;
	t->sni = sni;
	t->commit = commit;
	t->inject = inject;
	tg_h1_init(&t->request, TG_DIR_REQUEST, &request_callbacks, t);
	tg_h1_init(&t->response, TG_DIR_RESPONSE, &response_callbacks, t);
}

void tg_h1_transport_feed(struct tg_h1_transport *t, enum tg_dir dir, const char *buf, size_t len)
{
	if (t->off)
		return;
	struct tg_h1_parser *p = dir == TG_DIR_REQUEST ? &t->request : &t->response;
	if (tg_h1_feed(p, buf, len) < 0)
		stop_observing(t, dir == TG_DIR_REQUEST ? "request is not HTTP/1.1" : "response is not HTTP/1.1");
}

static void refuse(struct tg_h1_transport *t, struct tg_exchange *x, struct tg_write_ctl *w,
                   const struct tg_gate_result *g)
{
	char resp[TG_REFUSAL_MAX + 512];
	int n = tg_refusal_h1(tg_wire_for_endpoint(x->endpoint, t->provider->wire), g->policy,
	                      g->message, resp, sizeof resp);
	if (tg_exchange_queue_refusal(x, t->inject, g, resp, n) != 0)
		return;
	w->swallow = 1;
	w->close_tls = 1;
	t->refused = 1;
	finish_oldest(t, 1);
	t->off = 1;
}

/* Sets w->replace to buf[0..len) rewritten as the gate asked.  Returns
 * -1 when the request cannot take the rewrite (a model named by an Azure
 * deployment, a path not in origin form, ...): the caller applies the
 * policy's fallback, so that no call slips past a policy unchanged. */
static int rewrite(struct tg_h1_transport *t, struct tg_exchange *x, struct tg_write_ctl *w,
                   const char *buf, size_t len, const struct tg_gate_result *g, const char *asked)
{
	struct tg_rewrite rw;
	tg_rewrite_plan(&rw, x->endpoint, &x->req.info, g->new_model, g->new_max_tokens,
	                tg_cap_key_for_endpoint(t->provider, x->endpoint));
	size_t outlen;
	char *out = tg_rewrite_h1(buf, len, &rw, &outlen);
	if (!out)
		return -1;
	/* The record names the path the server got, and so its model. */
	char path[TG_ENDPOINT_MAX];
	if (rw.model && rw.model_in_path == TG_PATH_MODEL_NAME &&
	    tg_rewrite_path_model(x->endpoint, rw.model, path, sizeof path) >= 0)
		memcpy(x->endpoint, path, sizeof path);
	w->replace = out;
	w->replace_len = outlen;
	tg_exchange_rewritten(x, g->policy, asked, rw.model != NULL, rw.max_tokens >= 0);
	return 0;
}

/* Asks the gate about x, whose bytes so far are buf[0..len); whole: they
 * are the request from its first byte and nothing of it went out yet. */
static void gate(struct tg_h1_transport *t, struct tg_exchange *x, struct tg_write_ctl *w,
                 const char *buf, size_t len, int whole)
{
	char asked[TG_MODEL_MAX];
	struct tg_gate_result g;
	tg_exchange_gate(x, whole && w->may_replace && t->count == 1 && x->req_done &&
	                 !x->req_body_opaque && tg_rewrite_h1_possible(buf, len), asked, &g);
	if (g.verdict == TG_VERDICT_BLOCK) {
		if (whole && t->count == 1)
			refuse(t, x, w, &g);
		else
			tg_warn("budget '%s' refuses a call to %s%s, but part of it was already sent; "
			        "it goes through", g.policy, t->sni, x->endpoint);
	} else if (g.verdict == TG_VERDICT_REWRITE && rewrite(t, x, w, buf, len, &g, asked) != 0) {
		/* Ask again as a request that cannot be rewritten: the fallback
		 * decides (and is said once), as on HTTP/2. */
		tg_exchange_gate(x, 0, asked, &g);
		if (g.verdict == TG_VERDICT_BLOCK)
			refuse(t, x, w, &g);
	}
}

/* Ends a hold: the held request goes out now, as one write (rewritten if
 * the gate said so), or not at all if it was refused. */
static void release_held(struct tg_h1_transport *t, struct tg_exchange *x, struct tg_write_ctl *w)
{
	char *held = t->held;
	size_t len = t->held_len;
	t->held = NULL;
	t->held_len = 0;
	if (x && !x->gated)
		gate(t, x, w, held, len, 1);
	if (w->swallow || w->replace) {
		free(held);
		return;
	}
	w->replace = held;
	w->replace_len = len;
}

static int hold_append(struct tg_h1_transport *t, const char *buf, size_t len)
{
	char *n = realloc(t->held, t->held_len + len);
	if (!n)
		return -1;
	memcpy(n + t->held_len, buf, len);
	t->held = n;
	t->held_len += len;
	return 0;
}

static void write_request(struct tg_h1_transport *t, struct tg_write_ctl *w, int starts_here);

/* x-tokenguard-tags is tokenguard's, not the provider's: it is taken out
 * of a request whose header block goes out in one piece from its first
 * byte, which is every request held whole and every one written at once
 * (curl, the Python clients, the SDKs).  A header block spread over
 * several writes that go out as they come keeps it: nothing already sent
 * can be taken back. */
static void drop_tags_header(struct tg_write_ctl *w, int starts_here)
{
	const char *src = w->replace;
	size_t n = w->replace_len, outlen;
	char *out;

	if (w->swallow)
		return;
	if (!src) {
		if (!starts_here || !w->may_replace)
			return;
		src = w->buf;
		n = w->len;
	}
	if (!(out = tg_rewrite_h1_drop_header(src, n, TG_TAGS_HEADER, &outlen)))
		return;
	free(w->replace);
	w->replace = out;
	w->replace_len = outlen;
}

void tg_h1_transport_write(struct tg_h1_transport *t, struct tg_write_ctl *w)
{
	if (t->refused) {
		w->swallow = 1;
		return;
	}
	if (t->off)
		return;
	int starts_here = tg_h1_idle(&t->request) && w->whole;
	/* what goes out of a held request starts at its first byte too */
	int held_before = t->held != NULL;
	write_request(t, w, starts_here);
	drop_tags_header(w, starts_here || held_before);
}

static void write_request(struct tg_h1_transport *t, struct tg_write_ctl *w, int starts_here)
{
	tg_h1_transport_feed(t, TG_DIR_REQUEST, w->buf, w->len);
	struct tg_exchange *x = newest(t);

	if (t->held) {
		/* Holding a request until its body is whole. */
		int ok = hold_append(t, w->buf, w->len) == 0;
		if (ok && !t->off && x && !x->req_done && t->held_len <= TG_H1_HOLD_MAX) {
			w->swallow = 1;
			return;
		}
		if (!ok) {
			/* Out of memory: what is held must still go out, before this
			 * write and whatever the gate would say (it would need memory
			 * to act on it): the connection is no longer observed, the
			 * program's bytes all reach the server in their order. */
			w->prefix = t->held;
			w->prefix_len = t->held_len;
			t->held = NULL;
			t->held_len = 0;
			tg_h1_transport_abort(t);
			return;
		}
		release_held(t, t->off ? NULL : x, w);
		return;
	}
	if (t->off || !x || x->gated)
		return;

	/* A request whose body is still to come (httpx, and so the official
	 * Python SDKs, write headers and body apart) is held back whole, so
	 * that its model is known and its body can be rewritten before any of
	 * it leaves.  Not with Expect: 100-continue, where the program waits
	 * for the server before sending the body. */
	if (starts_here && !x->req_done && !x->expect_continue && w->may_replace && t->count == 1 &&
	    w->len <= TG_H1_HOLD_MAX && hold_append(t, w->buf, w->len) == 0) {
		w->swallow = 1;
		return;
	}
	if (!x->req_headers)
		return;
	/* Decided once, at the end of the write that completed the headers:
	 * what went out before cannot be called back. */
	gate(t, x, w, w->buf, w->len, starts_here);
}

void tg_h1_transport_eof(struct tg_h1_transport *t)
{
	if (t->off)
		return;
	if (tg_h1_finish(&t->response) == 1)
		finish_oldest(t, oldest(t) && tg_exchange_response_whole(oldest(t)));
	/* Requests never answered before the close. */
	while (t->count)
		finish_oldest(t, 0);
}

void tg_h1_transport_close(struct tg_h1_transport *t)
{
	tg_h1_transport_eof(t);
	free(t->held);
	t->held = NULL;
	t->off = 1;
}

void tg_h1_transport_abort(struct tg_h1_transport *t)
{
	while (t->count) {
		struct tg_exchange *x = oldest(t);
		if (x->response_started) {
			finish_oldest(t, 0);
			continue;
		}
		tg_exchange_discard(x);
		free(x);
		t->head = (t->head + 1) % TG_H1_INFLIGHT_MAX;
		t->count--;
	}
	free(t->held);
	t->held = NULL;
	t->off = 1;
}
