/* rewrite.h - changing a request before it is sent (budget downgrade and
 * clamp).
 *
 * Owns: the rewritten copy of one request: its model string and/or its
 * max-output-tokens number replaced (or that key inserted).  HTTP/1.1:
 * the whole request, its Content-Length set to the new body length, and
 * for APIs that name the model in the URL (Gemini, Bedrock) the request
 * line's path, which is plain text there; only
 * a request held whole, framed by Content-Length and not compressed, can
 * be rewritten.  HTTP/2: the body alone, at the same length (see
 * tg_rewrite_body_same_length); its :path is HPACK-encoded and never
 * re-encoded (both ends' dynamic tables must stay in step), so a model
 * named in the URL is not changed there.  An Azure deployment name is
 * the user's own, mapped to no other deployment: never changed.
 * Anything else is refused, and the caller
 * falls back to the policy's fallback action.  tg_rewrite_h1 allocates
 * its copy (malloc); the caller frees it.
 */
#ifndef TG_REWRITE_H
#define TG_REWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "reqscan.h"

struct tg_rewrite {
	const char *model;        /* new model, or NULL to keep it */
	int64_t model_offset;     /* body offset of the "model" string token, quotes included */
	int64_t model_len;
	int64_t max_tokens;       /* new max output tokens, or -1 to keep */
	int64_t max_tokens_offset;/* body offset of the number token; -1: insert max_tokens_key */
	int64_t max_tokens_len;
	/* The cap's key when the body has none (providers.h
	 * tg_cap_key_for_endpoint): "max_tokens", or dotted "object.key". */
	const char *max_tokens_key;
	int64_t cap_parent_offset;/* body offset of that object's "{"; -1: create it */
	/* Where the request's path names the model (reqscan.h): NONE, the
	 * model is the body's; NAME, a downgrade rewrites the path (HTTP/1.1
	 * only); DEPLOYMENT, a downgrade is impossible. */
	enum tg_path_model model_in_path;
};

/* The rewrite of a request to endpoint (its path, no query) whose body
 * info reads: new_model (NULL or "" to keep), new_max_tokens (-1 to
 * keep), cap_key the key a clamp inserts when the body has none
 * (providers.h tg_cap_key_for_endpoint). */
void tg_rewrite_plan(struct tg_rewrite *rw, const char *endpoint, const struct tg_request_info *info,
                     const char *new_model, int64_t new_max_tokens, const char *cap_key);

/* path (NUL-terminated, no query) with the model it names (NAME kind,
 * reqscan.h tg_model_span) replaced by model, URL-encoded as the APIs
 * expect (Bedrock's ':' as %3A), written to out.  Returns the length, or
 * -1 when path names no model that may be changed or out is too small. */
int tg_rewrite_path_model(const char *path, const char *model, char *out, size_t cap);

/* buf[0..len) starts with the request line.  Returns the new request
 * (bytes after the request in buf follow it unchanged) and its length in
 * *outlen, or NULL when this request cannot be rewritten. */
char *tg_rewrite_h1(const char *buf, size_t len, const struct tg_rewrite *rw, size_t *outlen);

/* The edits of rw applied to body[0..blen) without changing its length,
 * written to out (blen bytes), for a request whose length is already
 * announced (HTTP/2 content-length, flow-control windows): a shorter
 * result is padded with spaces after the edit, a longer one gives back
 * whitespace between the body's tokens.  0, or -1 when the edits cannot
 * be made (no room: the body has too little whitespace). */
int tg_rewrite_body_same_length(const char *body, size_t blen, const struct tg_rewrite *rw, char *out);

/* buf[0..len) starts with the request line: a copy (malloc) without the
 * header lines named name (lowercase; their continuation lines too), the
 * rest of buf following unchanged, its length in *outlen.  NULL when the
 * header block does not end within buf, has a line not ended by CRLF,
 * has no such header, or memory is short: the request then goes as it is.  For x-tokenguard-tags,
 * which is tokenguard's and not the provider's. */
char *tg_rewrite_h1_drop_header(const char *buf, size_t len, const char *name, size_t *outlen);

/* 1 when buf holds one whole request that tg_rewrite_h1 could rewrite
 * (Content-Length framing, identity encoding, body complete). */
int tg_rewrite_h1_possible(const char *buf, size_t len);

#endif
