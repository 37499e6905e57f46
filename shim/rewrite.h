/* rewrite.h - changing an HTTP/1.1 request before it is sent (budget
 * downgrade and clamp).
 *
 * Owns: the rewritten copy of one request: its model string and/or its
 * max-output-tokens number replaced (or that key inserted), and its
 * Content-Length set to the new body length.  Only a request held whole in
 * one write, framed by Content-Length and not compressed, can be rewritten;
 * anything else is refused, and the caller falls back to the policy's
 * fallback action.  Allocates the copy (malloc); the caller frees it.
 */
#ifndef TG_REWRITE_H
#define TG_REWRITE_H

#include <stddef.h>
#include <stdint.h>

struct tg_rewrite {
	const char *model;        /* new model, or NULL to keep it */
	int64_t model_offset;     /* body offset of the "model" string token, quotes included */
	int64_t model_len;
	int64_t max_tokens;       /* new max output tokens, or -1 to keep */
	int64_t max_tokens_offset;/* body offset of the number token; -1: insert max_tokens_key */
	int64_t max_tokens_len;
	const char *max_tokens_key;
};

/* buf[0..len) starts with the request line.  Returns the new request
 * (bytes after the request in buf follow it unchanged) and its length in
 * *outlen, or NULL when this request cannot be rewritten. */
char *tg_rewrite_h1(const char *buf, size_t len, const struct tg_rewrite *rw, size_t *outlen);

/* 1 when buf holds one whole request that tg_rewrite_h1 could rewrite
 * (Content-Length framing, identity encoding, body complete). */
int tg_rewrite_h1_possible(const char *buf, size_t len);

#endif
