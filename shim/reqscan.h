/* reqscan.h - what a request body says about the exchange.
 *
 * Owns: struct tg_reqscan, the scan of one JSON request body fed in
 * arbitrary slices, struct tg_request_info, its result, and
 * tg_model_from_path() for APIs that name the model in the URL (Gemini,
 * Bedrock, Azure deployments), with tg_model_span(), where in the path
 * that name is (the one rule, for reading it and for a downgrade that
 * rewrites it).  Fixed size, no allocation.
 *
 * Only top-level keys are read ("model", "stream", the max-token keys),
 * plus stream_options.include_usage, Anthropic's thinking.type and the
 * max-token settings nested in Gemini's generationConfig and Bedrock's
 * inferenceConfig.  The byte offsets of the model string, of the
 * max-token number and of those two objects are kept so that a later
 * rewrite can splice new values in place.
 *
 * Who the call is for, where the provider's API says it (attribution):
 * the end-user id of OpenAI's "user" (and "safety_identifier", used when
 * "user" is absent) and of Anthropic's "metadata.user_id"; and the
 * string values of the maps OpenAI's "metadata", Bedrock Converse's
 * "requestMetadata" and Gemini / Vertex AI's "labels", as tags
 * "meta.KEY=VALUE".  All cleaned for the tag format (ledger/tags.h) and
 * cut to fixed bounds: the first TG_REQ_META_MAX map entries are kept,
 * keys whose cleaned form is taken or empty are skipped.  What becomes of
 * them (hashed, plain, nothing) is attribution's business (shim/attrib.h).
 */
#ifndef TG_REQSCAN_H
#define TG_REQSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "record.h"

#define TG_REQ_USER_MAX     128  /* end-user id kept, NUL included */
#define TG_REQ_META_MAX     8    /* map entries kept as tags */
#define TG_REQ_META_KEY_MAX 48   /* "meta." + key, NUL included */
#define TG_REQ_META_VAL_MAX 96   /* value kept, NUL included */

struct tg_request_tag {
	char key[TG_REQ_META_KEY_MAX];
	char value[TG_REQ_META_VAL_MAX];
};

struct tg_request_info {
	char model[TG_MODEL_MAX];   /* "" if the body names none */
	int stream;                 /* "stream": true */
	int include_usage;          /* "stream_options": {"include_usage": true} */
	/* where the "model" string token is, quotes included; -1 if absent */
	int64_t model_offset;
	int64_t model_len;
	/* max_tokens / max_completion_tokens / max_output_tokens /
	 * generationConfig.maxOutputTokens / inferenceConfig.maxTokens:
	 * value, and where its number token is; all -1 if absent.  When a
	 * body has several, the first one wins. */
	int64_t max_tokens;
	int64_t max_tokens_offset;
	int64_t max_tokens_len;
	/* the "{" of the object that holds the cap in Gemini
	 * (generationConfig) and Bedrock Converse (inferenceConfig) bodies,
	 * for a clamp to insert the cap into; -1 if absent */
	int64_t cap_parent_offset;
	/* Anthropic "thinking": {"type": ...}: 1 unless the body leaves it
	 * out or says "disabled" (0); -1 when the body was not read whole */
	int thinking;
	int malformed;              /* the body was not one complete JSON document */
	/* attribution: end-user ids ("" if absent), map entries as tags */
	char user[TG_REQ_USER_MAX];        /* "user", else "metadata.user_id" */
	char safety_id[TG_REQ_USER_MAX];   /* "safety_identifier" */
	int nmeta;
	struct tg_request_tag meta[TG_REQ_META_MAX];
};

struct tg_reqscan {
	struct tg_request_info info;
	struct tg_json_scanner json;
};

void tg_reqscan_init(struct tg_reqscan *r);

/* Request body bytes, any slicing; -1 once the body is not JSON. */
int tg_reqscan_feed(struct tg_reqscan *r, const char *buf, size_t len);

/* Fills out with what was found; the body is taken to end here. */
void tg_reqscan_finish(struct tg_reqscan *r, struct tg_request_info *out);

/* The model named by a request path (no query): Gemini
 * ".../models/NAME:method" (also the Vertex AI form), Bedrock
 * "/model/NAME/converse[-stream]" or "/model/NAME/invoke...", Azure
 * "/openai/deployments/NAME/..." (the deployment name).  The name is
 * URL-decoded (%3A is ':').  Returns its length (cut to n - 1 bytes),
 * 0 when the path names no model (out is then ""), -1 if n is 0 or the
 * name has a bad %-escape. */
int tg_model_from_path(const char *endpoint, char *out, size_t n);

enum tg_path_model {
	TG_PATH_MODEL_NONE,
	TG_PATH_MODEL_NAME,        /* Gemini, Bedrock: the model itself, which a downgrade may change */
	TG_PATH_MODEL_DEPLOYMENT,  /* Azure: the user's own deployment name, mapped to no other */
};

/* Where tg_model_from_path() finds the name in endpoint (a NUL-terminated
 * path, no query): endpoint[*at, *at + *len), still URL-encoded.  The one
 * rule of where a path names its model, for reading and for rewriting it. */
enum tg_path_model tg_model_span(const char *endpoint, size_t *at, size_t *len);

#endif
