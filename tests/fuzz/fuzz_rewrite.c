/* sources: shim/rewrite.c shim/reqscan.c shim/json.c ledger/record.c ledger/tags.c */
/* fuzz_rewrite.c - libFuzzer target for the request scanner and the
 * HTTP/1.1 request rewriter (budget downgrade and clamp).
 *
 * The first byte chooses the rewrite: bit 0 a new model (bits 2-3 which),
 * bit 1 a new max output tokens (bit 4 which key to insert, bits 5-7 the
 * value); the rest is what a program wrote: a request head and body,
 * perhaps followed by more bytes.  The body is scanned as the shim scans
 * it and the rewrite asked with what the scan found.  A rewrite may only
 * succeed for a request tg_rewrite_h1_possible() accepts; when it does,
 * the new request must carry a Content-Length equal to its new body, the
 * bytes after the request unchanged, and, when the old body was one whole
 * JSON document, a body that scans to the new model and the new limit.
 * The same rewrite is asked of the body alone at its length (HTTP/2): it
 * must keep the length and, on a whole document, scan the same way.  An
 * odd-sized input with bit 4 set inserts the nested Gemini key.  A
 * request whose path names the model (Gemini, Bedrock) gets a downgrade
 * in its request line, whose path must then name the new model; one that
 * names an Azure deployment, none; neither is ever made on the body alone.
 * The x-tokenguard-tags header is taken out of the same bytes: the copy
 * must be shorter, keep the request line, every other header line and
 * all that follows the head, and hold no such header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reqscan.h"
#include "rewrite.h"

static const char *const models[] = { "gpt-4o-mini", "", "claude-haiku-4-5", "a\"b" };
static const int64_t limits[] = { 0, 1, 7, 100, 4096, 65535, 1000000, INT64_C(999999999999) };

/* The end of the head (after its blank line) and its Content-Length, or
 * -1 when the head is not whole or names no length. */
static int frame(const char *buf, size_t len, size_t *hlen, size_t *clen)
{
	const char *end = NULL;

	for (size_t i = 0; i + 3 < len && !end; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
			end = buf + i + 4;
	if (!end)
		return -1;
	*hlen = (size_t)(end - buf);
	/* Header lines follow the request line. */
	for (const char *p = memchr(buf, '\n', *hlen); p && ++p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			break;
		if ((size_t)(eol - p) > 15 && strncasecmp(p, "content-length:", 15) == 0) {
			const char *v = p + 15;
			size_t n = 0;

			while (*v == ' ' || *v == '\t')
				v++;
			for (; *v >= '0' && *v <= '9' && n < ((size_t)1 << 40); v++)
				n = n * 10 + (size_t)(*v - '0');
			*clen = n;
			return 0;
		}
		p = eol;
	}
	return -1;
}

static void scan(const char *body, size_t n, struct tg_request_info *info)
{
	static struct tg_reqscan rs;    /* large: off the stack */

	tg_reqscan_init(&rs);
	tg_reqscan_feed(&rs, body, n);
	tg_reqscan_finish(&rs, info);
}

/* The request line's path (no query) of buf[0..len), NUL-terminated. */
static void target_path(const char *buf, size_t len, char *out, size_t cap)
{
	const char *sp = memchr(buf, ' ', len);
	size_t n = 0;
	if (sp)
		for (sp++; sp + n < buf + len && n + 1 < cap && !strchr(" ?#\r\n", sp[n]); n++)
			;
	if (sp)
		memcpy(out, sp, n);
	out[n] = '\0';
}

/* A rewritten body must be one JSON document with the new values (the
 * model, unless the path took it and the body names none). */
static void scans_to(const char *body, size_t n, const struct tg_rewrite *rw)
{
	struct tg_request_info after;

	scan(body, n, &after);
	if (after.malformed)
		abort();
	if (rw->model && (rw->model_in_path == TG_PATH_MODEL_NONE || rw->model_offset >= 0) &&
	    strcmp(after.model, rw->model) != 0)
		abort();
	if (rw->max_tokens >= 0 && after.max_tokens != rw->max_tokens)
		abort();
}

/* 1 when head[0..hlen) has a line naming the header name (lowercase). */
static int has_header(const char *head, size_t hlen, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = memchr(head, '\n', hlen); p && ++p < head + hlen;) {
		const char *eol = memchr(p, '\n', (size_t)(head + hlen - p));

		if (!eol)
			break;
		if ((size_t)(eol - p) > n && p[n] == ':' && strncasecmp(p, name, n) == 0)
			return 1;
		p = eol;
	}
	return 0;
}

static void check_drop(const char *buf, size_t len)
{
	size_t outlen, hlen = 0, nhlen = 0;
	char *out = tg_rewrite_h1_drop_header(buf, len, "x-tokenguard-tags", &outlen);
	const char *end, *nend;

	if (!out)
		return;
	end = memmem(buf, len, "\r\n\r\n", 4);
	nend = memmem(out, outlen, "\r\n\r\n", 4);
	if (!end || !nend || outlen >= len)
		abort();
	hlen = (size_t)(end + 4 - buf);
	nhlen = (size_t)(nend + 4 - out);
	if (len - hlen != outlen - nhlen || memcmp(end + 4, nend + 4, len - hlen) != 0 ||
	    !has_header(buf, hlen, "x-tokenguard-tags") || has_header(out, nhlen, "x-tokenguard-tags") ||
	    memcmp(buf, out, (size_t)((const char *)memchr(buf, '\n', len) + 1 - buf)) != 0)
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_request_info before;
	size_t hlen, clen, outlen, nhlen, nclen;

	if (size < 1)
		return 0;
	unsigned sel = data[0];
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;
	int possible = tg_rewrite_h1_possible(buf, len);

	check_drop(buf, len);

	memset(&before, 0, sizeof before);
	before.model_offset = before.max_tokens_offset = before.cap_parent_offset = -1;
	before.malformed = 1;
	if (frame(buf, len, &hlen, &clen) == 0)
		scan(buf + hlen, clen < len - hlen ? clen : len - hlen, &before);

	struct tg_rewrite rw = {
		.model = sel & 1 ? models[(sel >> 2) & 3] : NULL,
		.model_offset = before.model_offset,
		.model_len = before.model_len,
		.max_tokens = sel & 2 ? limits[sel >> 5] : -1,
		.max_tokens_offset = before.max_tokens_offset,
		.max_tokens_len = before.max_tokens_len,
		.max_tokens_key = !(sel & 16) ? "max_tokens" : size % 2 ? "generationConfig.maxOutputTokens"
		                                                         : "max_output_tokens",
		.cap_parent_offset = before.cap_parent_offset,
	};
	char path[512], served[512];
	size_t at, plen;
	target_path(buf, len, path, sizeof path);
	rw.model_in_path = tg_model_span(path, &at, &plen);
	if (!before.malformed) {
		static char same[1 << 16];
		size_t blen = clen < len - hlen ? clen : len - hlen;
		if (blen <= sizeof same && tg_rewrite_body_same_length(buf + hlen, blen, &rw, same) == 0) {
			if (rw.model && rw.model_in_path != TG_PATH_MODEL_NONE)
				abort();
			scans_to(same, blen, &rw);
		}
	}
	char *out = tg_rewrite_h1(buf, len, &rw, &outlen);

	if (!out)
		return 0;
	if (!possible || frame(buf, len, &hlen, &clen) != 0 || clen > len - hlen)
		abort();
	if (frame(out, outlen, &nhlen, &nclen) != 0 || nclen > outlen - nhlen)
		abort();
	/* What followed the request follows the new one unchanged. */
	size_t rest = len - hlen - clen;
	if (outlen - nhlen - nclen != rest || memcmp(out + outlen - rest, buf + len - rest, rest) != 0)
		abort();
	if (!before.malformed)
		scans_to(out + nhlen, nclen, &rw);
	if (rw.model && rw.model_in_path == TG_PATH_MODEL_DEPLOYMENT)
		abort();
	target_path(out, outlen, path, sizeof path);
	if (rw.model && rw.model_in_path == TG_PATH_MODEL_NAME &&
	    (tg_model_from_path(path, served, sizeof served) <= 0 || strcmp(served, rw.model) != 0))
		abort();
	free(out);
	return 0;
}
