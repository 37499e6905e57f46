/* exchange.h - one request/response pair with a provider, whatever the transport.
 *
 * Owns: struct tg_exchange, the transport-independent model of one LLM call.
 * The HTTP/1.1 and HTTP/2 transports feed it the request target, headers
 * and body, then the response status, headers and body (transfer framing
 * already removed); it decodes the Content-Encoding for inspection, drives
 * the request scanner and the provider's usage parser, and when the exchange
 * ends builds the ledger record; the transport that ended it hands the
 * record to the sink (tg_sink_commit, passed to the transport's init),
 * with the call's origin (tg_exchange_origin), from which the sink stamps
 * who made the call: the exchange reads no configuration.
 *
 * An exchange holds only metadata: header values are looked at for the few
 * fields a record keeps (host, content type and encoding, request id, the
 * x-tokenguard-tags the program set for the record) and never stored
 * otherwise; bodies are scanned as they pass and never kept.
 * Allocation: none; the transport allocates the struct (one per exchange on
 * provider connections only).  Not thread-safe: the connection's lock covers it.
 *
 * Starting an exchange sets its fields one by one rather than clearing the
 * struct: most of its ~20 KiB are the decoder's and the parsers' buffers,
 * which are set up when the response headers say which are needed, and
 * text fields get their terminating NUL; the rest is never read.
 */
#ifndef TG_EXCHANGE_H
#define TG_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "estimate.h"
#include "gate.h"
#include "inject.h"
#include "providers.h"
#include "record.h"
#include "reqscan.h"
#include "usage.h"

struct tg_call_origin;

struct tg_exchange {
	const struct tg_provider *provider;
	char host[TG_HOST_MAX];
	char method[16];
	char endpoint[TG_ENDPOINT_MAX];
	char request_id[TG_ID_MAX];
	char header_tags[TG_TAGS_MAX]; /* x-tokenguard-tags, validated "k=v,k=v"; "" if none */

	int64_t start_wall_us;     /* first request byte seen, realtime clock */
	int64_t start_mono_us;     /* same instant, monotonic clock */
	int64_t first_body_mono_us;
	int64_t last_mono_us;      /* last response byte */

	struct tg_reqscan req;
	int req_body_opaque;       /* compressed request body: not scanned */

	int status;                /* final (non-1xx) status, 0 before it */
	int64_t content_length;    /* response Content-Length, -1 if none */
	int64_t header_input;      /* Bedrock InvokeModel's x-amzn-bedrock-input-token-count, -1 if none */
	int64_t header_output;     /* ... and -output-token-count */
	int64_t body_bytes;        /* response body bytes seen (before decoding) */
	int64_t decoded_bytes;     /* ... and decoded, as far as inspected */
	int64_t req_body_bytes;    /* request body bytes seen */
	int response_started;
	enum tg_body_kind kind;
	enum tg_encoding encoding;
	struct tg_decoder decoder;
	int decoder_live;
	int inspect_off;           /* decoder or usage parser gave up: body no longer scanned */
	int too_large;             /* ... because the decoder passed its output limit */
	int usage_live;            /* usage has been begun (response headers seen) */
	struct tg_usage_parser usage;   /* not initialised before usage_live */

	int finished;

	/* Budget outcome (gate.h), recorded with the exchange. */
	int gated;                 /* the gate has decided for this request */
	int req_headers;           /* the request's header block has been seen */
	int expect_continue;       /* Expect: 100-continue: the body waits for the server */
	int req_not_json;          /* its content-type says another format (gRPC, multipart): never rewritten */
	int req_done;              /* the whole request has been seen */
	uint32_t policy_flags;     /* TG_REC_BLOCKED / DOWNGRADED / CLAMPED */
	char policy[TG_POLICY_NAME_MAX];
	char requested_model[TG_MODEL_MAX];
};

/* Starts an exchange on a connection to `provider`; `host` is the TLS server
 * name (replaced by the Host / :authority header when one is seen). */
void tg_exchange_init(struct tg_exchange *x, const struct tg_provider *provider, const char *host);

void tg_exchange_request_target(struct tg_exchange *x, const char *method, size_t mlen,
                                const char *target, size_t tlen);
void tg_exchange_request_header(struct tg_exchange *x, const char *name, size_t nlen,
                                const char *value, size_t vlen);
void tg_exchange_request_feed(struct tg_exchange *x, const char *buf, size_t len);

/* The final response status (1xx responses are the transport's business). */
void tg_exchange_response_status(struct tg_exchange *x, int status);
void tg_exchange_response_header(struct tg_exchange *x, const char *name, size_t nlen,
                                 const char *value, size_t vlen);
void tg_exchange_response_headers_done(struct tg_exchange *x);
void tg_exchange_response_feed(struct tg_exchange *x, const char *buf, size_t len);

/* 1 when the response is known to be whole although its transport end was
 * not seen: all of its Content-Length arrived, or the stream sent its own
 * end marker ([DONE], message_stop, ...).  Clients often close right after
 * that without reading the empty last chunk or END_STREAM frame. */
int tg_exchange_response_whole(const struct tg_exchange *x);

/* Ends the exchange: `complete` is 0 when it was cut off (connection closed,
 * stream reset).  Fills *out and *size (what a cost estimate goes by,
 * estimate.h) and releases the decoder; the caller commits the record
 * with the exchange's origin (tg_sink_commit), which stamps its pid,
 * process and tags.  Returns 0, or -1 if nothing at all was seen (no
 * request target): such an exchange makes no record. */
int tg_exchange_finish(struct tg_exchange *x, int complete, struct tg_record *out,
                       struct tg_call_size *size);

/* What the call says about whose it is so far (attrib.h: its body's
 * fields, its x-tokenguard-tags header), pointing into x: valid while x
 * is, and whole once tg_exchange_finish has run. */
void tg_exchange_origin(const struct tg_exchange *x, struct tg_call_origin *out);

/* The model the request asks for so far: the body's, else the path's. */
void tg_exchange_requested_model(const struct tg_exchange *x, char *out, size_t n);

/* Marks the exchange refused by `policy`: it ends now, as a 429 that never
 * left the machine. */
void tg_exchange_refuse(struct tg_exchange *x, const char *policy);

/* The budget check of x before its request goes out, for both transports:
 * marks x gated, writes the model it asks for into asked (TG_MODEL_MAX
 * bytes) and the gate's verdict into g.  can_rewrite: the transport can
 * still rewrite this request's body. */
void tg_exchange_gate(struct tg_exchange *x, int can_rewrite, char *asked,
                      struct tg_gate_result *g);

/* Queues the refusal bytes[0..n) the transport framed (refusal.h; n < 0:
 * it could not) for the program to read, and marks x refused.  Returns 0,
 * or -1 after saying on stderr that the call goes through instead. */
int tg_exchange_queue_refusal(struct tg_exchange *x, struct tg_inject *inject,
                              const struct tg_gate_result *g, const char *bytes, int n);

/* Marks the exchange's request rewritten by `policy` before it was sent:
 * its model downgraded from `asked` (new_model set) and/or its max output
 * tokens clamped (clamped). */
void tg_exchange_rewritten(struct tg_exchange *x, const char *policy, const char *asked,
                           int downgraded, int clamped);

/* Releases what the exchange holds without making a record. */
void tg_exchange_discard(struct tg_exchange *x);

#endif
