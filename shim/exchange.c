/* exchange.c - see exchange.h. */
#include "exchange.h"

#include <stdio.h>
#include <string.h>

#include "attrib.h"
#include "config.h"
#include "digits.h"
#include "log.h"
#include "operation.h"
#include "tags.h"
#include "text.h"

void tg_exchange_init(struct tg_exchange *x, const struct tg_provider *provider, const char *host)
{
	x->provider = provider;
	x->host[0] = '\0';
	if (host)
		tg_copy_text(x->host, sizeof x->host, host, strlen(host));
	x->method[0] = '\0';
	x->endpoint[0] = '\0';
	x->request_id[0] = '\0';
	x->header_tags[0] = '\0';
	x->start_wall_us = tg_wall_us();
	x->start_mono_us = tg_mono_us();
	x->first_body_mono_us = 0;
	x->last_mono_us = 0;
	tg_reqscan_init(&x->req);
	x->req_body_opaque = 0;
	x->status = 0;
	x->content_length = -1;
	x->header_input = x->header_output = -1;
	x->body_bytes = 0;
	x->decoded_bytes = 0;
	x->req_body_bytes = 0;
	x->response_started = 0;
	x->kind = TG_BODY_JSON;
	x->encoding = TG_ENC_IDENTITY;
	x->decoder_live = 0;
	x->inspect_off = 0;
	x->too_large = 0;
	x->usage_live = 0;
	x->finished = 0;
	x->gated = 0;
	x->req_headers = 0;
	x->expect_continue = 0;
	x->req_not_json = 0;
	x->req_done = 0;
	x->policy_flags = 0;
	x->policy[0] = '\0';
	x->requested_model[0] = '\0';
}

void tg_exchange_request_target(struct tg_exchange *x, const char *method, size_t mlen,
                                const char *target, size_t tlen)
{
	tg_copy_text(x->method, sizeof x->method, method, mlen);

	/* absolute-form ("https://host/path") carries the path after the authority. */
	const char *scheme = memchr(target, ':', tlen < 8 ? tlen : 8);
	if (scheme && scheme + 2 < target + tlen && scheme[1] == '/' && scheme[2] == '/') {
		const char *auth = scheme + 3;
		const char *path = memchr(auth, '/', (size_t)(target + tlen - auth));
		tlen = path ? (size_t)(target + tlen - path) : 0;
		target = path ? path : target;
	}
	size_t plen = 0;
	while (plen < tlen && target[plen] != '?' && target[plen] != '#')
		plen++;
	tg_copy_text(x->endpoint, sizeof x->endpoint, target, plen);
}

/* x-tokenguard-tags: the program's tags for this one call, validated as
 * TOKENGUARD_TAGS is; the header given twice adds up, the later value of
 * a key winning. */
static void header_tags(struct tg_exchange *x, const char *value, size_t vlen)
{
	char given[TG_TAGS_MAX], valid[TG_TAGS_MAX];
	int bad;

	if (vlen >= sizeof given) {
		tg_debug("%s: longer than %zu bytes: ignored", TG_TAGS_HEADER, sizeof given - 1);
		return;
	}
	memcpy(given, value, vlen);
	given[vlen] = '\0';
	bad = tg_config_parse_tags(given, valid, sizeof valid);
	if (bad)
		tg_debug("%s: %d entr%s dropped: expected key=value[,key=value...]", TG_TAGS_HEADER,
		         bad, bad == 1 ? "y" : "ies");
	if (tg_tags_put_all(x->header_tags, sizeof x->header_tags, valid) > 0)
		tg_debug("%s: too many tags: some dropped", TG_TAGS_HEADER);
}

void tg_exchange_request_header(struct tg_exchange *x, const char *name, size_t nlen,
                                const char *value, size_t vlen)
{
	if (tg_name_is(name, nlen, "host") || tg_name_is(name, nlen, ":authority")) {
		/* The record keeps the host name; a port is connection detail. */
		size_t hlen = 0;
		if (vlen > 0 && value[0] == '[') {
			while (hlen < vlen && value[hlen] != ']')
				hlen++;
			if (hlen < vlen)
				hlen++;
		} else {
			while (hlen < vlen && value[hlen] != ':')
				hlen++;
		}
		if (hlen > 0)
			tg_copy_text(x->host, sizeof x->host, value, hlen);
	} else if (tg_name_is(name, nlen, "content-encoding")) {
		if (tg_encoding_parse(value, vlen) != TG_ENC_IDENTITY)
			x->req_body_opaque = 1;
	} else if (tg_name_is(name, nlen, "expect")) {
		x->expect_continue = 1;
	} else if (tg_name_is(name, nlen, "content-type")) {
		x->req_not_json = !memmem(value, vlen, "json", 4);
	} else if (tg_name_is(name, nlen, TG_TAGS_HEADER)) {
		header_tags(x, value, vlen);
	}
}

void tg_exchange_request_feed(struct tg_exchange *x, const char *buf, size_t len)
{
	x->req_body_bytes += (int64_t)len;
	if (!x->req_body_opaque)
		tg_reqscan_feed(&x->req, buf, len);
}

void tg_exchange_response_status(struct tg_exchange *x, int status)
{
	x->status = status;
	x->response_started = 1;
	x->last_mono_us = tg_mono_us();
}

static int value_starts_with(const char *value, size_t vlen, const char *lit)
{
	size_t l = strlen(lit);
	while (vlen > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		vlen--;
	}
	return vlen >= l && tg_name_is(value, l, lit);
}

/* A non-negative decimal header value, or -1. */
static int64_t header_count(const char *value, size_t vlen)
{
	uint64_t n;
	return tg_digits_all(value, vlen, INT64_MAX, &n) ? (int64_t)n : -1;
}

void tg_exchange_response_header(struct tg_exchange *x, const char *name, size_t nlen,
                                 const char *value, size_t vlen)
{
	if (tg_name_is(name, nlen, "content-type")) {
		if (value_starts_with(value, vlen, "text/event-stream"))
			x->kind = TG_BODY_SSE;
		else if (value_starts_with(value, vlen, "application/vnd.amazon.eventstream"))
			x->kind = TG_BODY_EVENTSTREAM;
	} else if (tg_name_is(name, nlen, "content-encoding")) {
		x->encoding = tg_encoding_parse(value, vlen);
	} else if (tg_name_is(name, nlen, "content-length")) {
		x->content_length = header_count(value, vlen);
	} else if (tg_name_is(name, nlen, "x-amzn-bedrock-input-token-count")) {
		x->header_input = header_count(value, vlen);
	} else if (tg_name_is(name, nlen, "x-amzn-bedrock-output-token-count")) {
		x->header_output = header_count(value, vlen);
	} else if (tg_name_is(name, nlen, "x-request-id") ||
	           tg_name_is(name, nlen, "request-id") ||
	           tg_name_is(name, nlen, "apim-request-id") ||
	           tg_name_is(name, nlen, "x-amzn-requestid")) {
		/* The one header value a record keeps; the first of them wins. */
		if (x->request_id[0] == '\0')
			tg_copy_text(x->request_id, sizeof x->request_id, value, vlen);
	}
}

void tg_exchange_response_headers_done(struct tg_exchange *x)
{
	x->last_mono_us = tg_mono_us();
	if (x->encoding == TG_ENC_UNSUPPORTED) {
		tg_debug("unsupported content-encoding on %s%s: usage not read", x->host, x->endpoint);
		x->inspect_off = 1;
	} else if (x->encoding != TG_ENC_IDENTITY) {
		if (tg_decoder_init(&x->decoder, x->encoding) == 0)
			x->decoder_live = 1;
		else
			x->inspect_off = 1;
	}
	tg_usage_init(&x->usage, tg_wire_for_endpoint(x->endpoint, x->provider->wire),
	              x->provider->name, x->kind, x->endpoint);
	x->usage_live = 1;
}

static void feed_usage(void *ctx, const char *buf, size_t len)
{
	struct tg_exchange *x = ctx;
	x->decoded_bytes += (int64_t)len;
	if (!x->inspect_off && x->usage_live && tg_usage_feed(&x->usage, buf, len) < 0)
		x->inspect_off = 1;
}

void tg_exchange_response_feed(struct tg_exchange *x, const char *buf, size_t len)
{
	int64_t now = tg_mono_us();
	if (x->first_body_mono_us == 0 && len > 0)
		x->first_body_mono_us = now;
	x->last_mono_us = now;
	x->body_bytes += (int64_t)len;
	if (x->inspect_off)
		return;
	if (x->decoder_live) {
		int r = tg_decoder_feed(&x->decoder, buf, len, feed_usage, x);

		if (r == TG_DECODE_TOO_LARGE) {
			tg_debug("response from %s%s decodes past the inspection limit: usage not read",
			         x->host, x->endpoint);
			x->too_large = 1;
		}
		if (r != 0)
			x->inspect_off = 1;
	} else {
		feed_usage(x, buf, len);
	}
}

/* 1 when the response announced its length and all of it has been seen:
 * a transport that loses the end-of-stream marker (a client that closes as
 * soon as it has Content-Length bytes) may still call the exchange complete. */
static int body_complete(const struct tg_exchange *x)
{
	return x->response_started && x->content_length >= 0 && x->body_bytes >= x->content_length;
}

int tg_exchange_response_whole(const struct tg_exchange *x)
{
	return body_complete(x) ||
	       (x->response_started && !x->inspect_off && x->usage_live && x->usage.terminal_seen);
}

static void release(struct tg_exchange *x)
{
	if (x->decoder_live) {
		tg_decoder_free(&x->decoder);
		x->decoder_live = 0;
	}
	x->finished = 1;
}

void tg_exchange_requested_model(const struct tg_exchange *x, char *out, size_t n)
{
	if (x->req.info.model[0])
		snprintf(out, n, "%s", x->req.info.model);
	else if (tg_model_from_path(x->endpoint, out, n) < 0)
		out[0] = '\0';
}

void tg_exchange_origin(const struct tg_exchange *x, struct tg_call_origin *out)
{
	out->req = &x->req.info;
	out->header = x->header_tags;
}

void tg_exchange_refuse(struct tg_exchange *x, const char *policy)
{
	x->policy_flags |= TG_REC_BLOCKED;
	snprintf(x->policy, sizeof x->policy, "%s", policy);
	x->status = 429;
	x->response_started = 0;
}

void tg_exchange_gate(struct tg_exchange *x, int can_rewrite, char *asked,
                      struct tg_gate_result *g)
{
	char deployment[TG_MODEL_MAX] = "";
	struct tg_call_origin origin;
	size_t at, len;
	x->gated = 1;
	/* what the body said so far: all of it when the request was held */
	tg_exchange_origin(x, &origin);
	tg_exchange_requested_model(x, asked, TG_MODEL_MAX);
	/* An Azure call names its deployment in the URL and may name a model
	 * in its body: a model: scope matches either. */
	if (x->req.info.model[0] &&
	    tg_model_span(x->endpoint, &at, &len) == TG_PATH_MODEL_DEPLOYMENT &&
	    tg_model_from_path(x->endpoint, deployment, sizeof deployment) < 0)
		deployment[0] = '\0';
	struct tg_gate_call call = {
		.provider = x->provider,
		.model = asked,
		.deployment = deployment,
		.max_tokens = x->req.info.max_tokens,
		.can_rewrite = can_rewrite,
		.origin = &origin,
	};
	tg_gate_check(&call, g);
}

int tg_exchange_queue_refusal(struct tg_exchange *x, struct tg_inject *inject,
                              const struct tg_gate_result *g, const char *bytes, int n)
{
	if (n < 0 || tg_inject_append(inject, bytes, (size_t)n) != 0) {
		tg_warn("budget '%s' would refuse a call to %s but the refusal could not be built; "
		        "the call goes through", g->policy, x->host);
		return -1;
	}
	tg_exchange_refuse(x, g->policy);
	return 0;
}

void tg_exchange_rewritten(struct tg_exchange *x, const char *policy, const char *asked,
                           int downgraded, int clamped)
{
	snprintf(x->policy, sizeof x->policy, "%s", policy);
	if (downgraded) {
		x->policy_flags |= TG_REC_DOWNGRADED;
		snprintf(x->requested_model, sizeof x->requested_model, "%s", asked);
	}
	if (clamped)
		x->policy_flags |= TG_REC_CLAMPED;
}

void tg_exchange_discard(struct tg_exchange *x)
{
	release(x);
}

static int endpoint_streams(const char *endpoint)
{
	/* Gemini's default stream is a JSON array, Bedrock's a binary event stream:
	 * the endpoint says it is a stream where the content type may not. */
	return strstr(endpoint, ":streamGenerateContent") != NULL ||
	       strstr(endpoint, "/converse-stream") != NULL ||
	       strstr(endpoint, "/invoke-with-response-stream") != NULL;
}

/* Copies a NUL-terminated field into a record field of the same size. */
#define copy_str(dst, src) memcpy((dst), (src), strnlen((src), sizeof (dst) - 1) + 1)

static int64_t ms_between(int64_t from_us, int64_t to_us)
{
	return to_us >= from_us ? (to_us - from_us) / 1000 : 0;
}

/* The sizes of an exchange a cost estimate goes by (estimate.h). */
static void call_size(const struct tg_exchange *x, const struct tg_usage *usage,
                      struct tg_call_size *size)
{
	size->request_bytes = x->req_body_bytes;
	size->content_bytes = x->response_started && x->usage_live && !x->inspect_off
	                      ? usage->content_bytes : -1;
	size->response_bytes = x->decoded_bytes > x->body_bytes ? x->decoded_bytes : x->body_bytes;
}

/* Ends the request scan and the usage parser: what the request asked
 * and what the response reported, whatever of either was seen. */
static void end_scans(struct tg_exchange *x, struct tg_request_info *req, struct tg_usage *usage)
{
	tg_reqscan_finish(&x->req, req);
	if (x->response_started && x->usage_live) {
		tg_usage_request_thinking(&x->usage, req->thinking);
		tg_usage_finish(&x->usage, usage);
	} else {
		memset(usage, 0, sizeof *usage);
		usage->content_bytes = -1;
	}
}

/* To where, and when: the record's identifying fields.  Who made the call
 * (pid, process, machine, tags) is the sink's to stamp, from tg_exchange_origin. */
static void record_target(const struct tg_exchange *x, const struct tg_usage *usage,
                          struct tg_record *r)
{
	r->ts_us = x->start_wall_us;
	r->status = x->status;
	snprintf(r->provider, sizeof r->provider, "%s", x->provider->name);
	copy_str(r->host, x->host);
	copy_str(r->endpoint, x->endpoint);
	copy_str(r->operation, tg_operation_of(x->endpoint));
	copy_str(r->request_id, x->request_id);
	memcpy(r->response_id, usage->response_id, sizeof r->response_id);
}

/* The model served (the response's word first: it names the version),
 * the model asked when it differs, and what a budget did to the call. */
static void record_models(const struct tg_exchange *x, const struct tg_request_info *req,
                          const struct tg_usage *usage, struct tg_record *r)
{
	if (usage->model[0])
		memcpy(r->model, usage->model, sizeof r->model);
	else if (req->model[0])
		memcpy(r->model, req->model, sizeof r->model);
	else
		tg_model_from_path(x->endpoint, r->model, sizeof r->model);

	r->flags |= x->policy_flags;
	copy_str(r->policy, x->policy);
	copy_str(r->requested_model, x->requested_model);
	/* The model asked for is kept whenever the one served differs, so a
	 * report can group the calls of one request model together. */
	if (!r->requested_model[0]) {
		char asked[TG_MODEL_MAX];
		if (req->model[0])
			memcpy(asked, req->model, sizeof asked);
		else if (tg_model_from_path(x->endpoint, asked, sizeof asked) < 0)
			asked[0] = '\0';
		if (asked[0] && strcmp(asked, r->model) != 0)
			memcpy(r->requested_model, asked, sizeof r->requested_model);
	}
}

/* Stream, cut-off and stream-error flags, and the timings. */
static void record_shape(const struct tg_exchange *x, int complete, const struct tg_request_info *req,
                         const struct tg_usage *usage, struct tg_record *r)
{
	/* A refused request is answered with an error document, not the
	 * stream it asked for (recorded: a 400 JSON error to "stream": true). */
	int stream = x->kind != TG_BODY_JSON ||
	             (x->status < 400 && (req->stream || endpoint_streams(x->endpoint)));
	if (stream)
		r->flags |= TG_REC_STREAM;
	if (!complete || usage->stream_failed)
		r->flags |= TG_REC_INCOMPLETE;
	if (usage->stream_failed) {
		r->flags |= TG_REC_STREAM_ERROR;
		copy_str(r->error, usage->error);
	}

	r->latency_ms = x->response_started ? ms_between(x->start_mono_us, x->last_mono_us) : -1;
	r->ttft_ms = stream && x->first_body_mono_us ? ms_between(x->start_mono_us, x->first_body_mono_us) : -1;
}

/* The token counts, from the best source the exchange had; null (with
 * usage_unknown) where the wire gave none: never a guess. */
static void record_counts(const struct tg_exchange *x, const struct tg_usage *usage,
                          struct tg_record *r)
{
	if (usage->usage_seen && !x->too_large) {
		r->counts = usage->counts;
	} else if (x->header_input >= 0 && x->header_output >= 0) {
		/* Bedrock InvokeModel reports its counts in headers, whatever the
		 * model's body format; cache and reasoning parts are not given. */
		tg_counts_unknown(&r->counts);
		r->counts.input = x->header_input;
		r->counts.output = x->header_output;
	} else if (x->too_large) {
		/* Counts seen before the limit may be partial: none is kept. */
		tg_counts_unknown(&r->counts);
		r->flags |= TG_REC_USAGE_UNKNOWN | TG_REC_TOO_LARGE;
	} else if (x->status >= 400 ||
	           (x->status && strcmp(x->method, "GET") == 0) ||
	           strcmp(x->method, "DELETE") == 0) {
		/* Refused calls and reads of lists or files are not billed. */
		memset(&r->counts, 0, sizeof r->counts);
	} else {
		tg_counts_unknown(&r->counts);
		r->flags |= TG_REC_USAGE_UNKNOWN;
	}
}

int tg_exchange_finish(struct tg_exchange *x, int complete, struct tg_record *r,
                       struct tg_call_size *size)
{
	struct tg_request_info req;
	struct tg_usage usage;

	if (x->finished)
		return -1;
	if (x->endpoint[0] == '\0' && x->method[0] == '\0') {
		release(x);
		return -1;
	}
	end_scans(x, &req, &usage);
	call_size(x, &usage, size);
	release(x);

	memset(r, 0, sizeof *r);
	record_target(x, &usage, r);
	record_models(x, &req, &usage, r);
	record_shape(x, complete, &req, &usage, r);
	record_counts(x, &usage, r);
	return 0;
}
