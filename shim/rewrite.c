/* rewrite.c - see rewrite.h. */
#include "rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct edit {
	size_t at, cut;           /* body offset and bytes replaced */
	char with[160];
	size_t with_len;
};

static const char *find_headers_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
			return buf + i + 4;
	return NULL;
}

/* Finds the Content-Length header line; refuses chunked or compressed bodies. */
static int find_content_length(const char *head, size_t hlen, size_t *vstart, size_t *vend, uint64_t *value)
{
	int found = 0;
	const char *p = memchr(head, '\n', hlen);
	while (p && (size_t)(p + 1 - head) < hlen) {
		const char *line = p + 1;
		const char *eol = memchr(line, '\n', hlen - (size_t)(line - head));
		if (!eol)
			break;
		const char *colon = memchr(line, ':', (size_t)(eol - line));
		if (colon) {
			size_t nlen = (size_t)(colon - line);
			const char *v = colon + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (tg_name_is(line, nlen, "transfer-encoding") ||
			    (tg_name_is(line, nlen, "content-encoding") && !tg_name_is(v, (size_t)(ve - v), "identity")))
				return -1;
			if (tg_name_is(line, nlen, "content-length")) {
				if (found || ve == v)
					return -1;
				uint64_t n = 0;
				for (const char *d = v; d < ve; d++) {
					if (*d < '0' || *d > '9' || n > UINT64_MAX / 10)
						return -1;
					n = n * 10 + (uint64_t)(*d - '0');
				}
				*vstart = (size_t)(v - head);
				*vend = (size_t)(ve - head);
				*value = n;
				found = 1;
			}
		}
		p = eol;
	}
	return found ? 0 : -1;
}

static int add_edits(const char *body, size_t blen, const struct tg_rewrite *rw, struct edit *e, int *n)
{
	*n = 0;
	if (rw->model) {
		if (rw->model_offset < 0 || rw->model_len < 2 ||
		    (uint64_t)(rw->model_offset + rw->model_len) > blen ||
		    body[rw->model_offset] != '"' || body[rw->model_offset + rw->model_len - 1] != '"')
			return -1;
		/* Model names are plain ASCII identifiers: refuse anything that
		 * would need JSON escaping rather than write a broken body. */
		for (const char *m = rw->model; *m; m++)
			if (*m == '"' || *m == '\\' || (unsigned char)*m < 0x20)
				return -1;
		e[*n].at = (size_t)rw->model_offset;
		e[*n].cut = (size_t)rw->model_len;
		e[*n].with_len = (size_t)snprintf(e[*n].with, sizeof e[*n].with, "\"%s\"", rw->model);
		if (e[*n].with_len >= sizeof e[*n].with)
			return -1;
		(*n)++;
	}
	if (rw->max_tokens >= 0) {
		if (rw->max_tokens_offset >= 0) {
			if ((uint64_t)(rw->max_tokens_offset + rw->max_tokens_len) > blen)
				return -1;
			e[*n].at = (size_t)rw->max_tokens_offset;
			e[*n].cut = (size_t)rw->max_tokens_len;
			e[*n].with_len = (size_t)snprintf(e[*n].with, sizeof e[*n].with, "%lld",
			                                  (long long)rw->max_tokens);
		} else {
			/* Insert the key right after the body's opening brace. */
			size_t at = 0;
			while (at < blen && (body[at] == ' ' || body[at] == '\t' || body[at] == '\r' || body[at] == '\n'))
				at++;
			if (at >= blen || body[at] != '{' || !rw->max_tokens_key)
				return -1;
			size_t next = at + 1;
			while (next < blen && (body[next] == ' ' || body[next] == '\n' || body[next] == '\r' || body[next] == '\t'))
				next++;
			int empty = next < blen && body[next] == '}';
			e[*n].at = at + 1;
			e[*n].cut = 0;
			e[*n].with_len = (size_t)snprintf(e[*n].with, sizeof e[*n].with, "\"%s\":%lld%s",
			                                  rw->max_tokens_key, (long long)rw->max_tokens,
			                                  empty ? "" : ",");
		}
		(*n)++;
	}
	/* Apply in body order. */
	if (*n == 2 && e[0].at > e[1].at) {
		struct edit t = e[0];
		e[0] = e[1];
		e[1] = t;
	}
	if (*n == 2 && e[0].at + e[0].cut > e[1].at)
		return -1;
	return *n ? 0 : -1;
}

char *tg_rewrite_h1(const char *buf, size_t len, const struct tg_rewrite *rw, size_t *outlen)
{
	const char *body = find_headers_end(buf, len);
	size_t vstart, vend;
	uint64_t clen;
	struct edit edits[2];
	int nedits;

	if (!body || find_content_length(buf, (size_t)(body - buf), &vstart, &vend, &clen) != 0)
		return NULL;
	size_t hlen = (size_t)(body - buf);
	if (clen > len - hlen)
		return NULL;   /* the body is not all in this write */
	if (add_edits(body, (size_t)clen, rw, edits, &nedits) != 0)
		return NULL;

	size_t newbody = (size_t)clen;
	for (int i = 0; i < nedits; i++)
		newbody = newbody - edits[i].cut + edits[i].with_len;
	char clbuf[24];
	int cl = snprintf(clbuf, sizeof clbuf, "%zu", newbody);
	size_t rest = len - hlen - (size_t)clen;
	size_t total = vstart + (size_t)cl + (hlen - vend) + newbody + rest;
	char *out = malloc(total);
	if (!out)
		return NULL;

	char *o = out;
	memcpy(o, buf, vstart);
	o += vstart;
	memcpy(o, clbuf, (size_t)cl);
	o += cl;
	memcpy(o, buf + vend, hlen - vend);
	o += hlen - vend;
	size_t from = 0;
	for (int i = 0; i < nedits; i++) {
		memcpy(o, body + from, edits[i].at - from);
		o += edits[i].at - from;
		memcpy(o, edits[i].with, edits[i].with_len);
		o += edits[i].with_len;
		from = edits[i].at + edits[i].cut;
	}
	memcpy(o, body + from, (size_t)clen - from);
	o += (size_t)clen - from;
	memcpy(o, body + clen, rest);
	o += rest;
	*outlen = (size_t)(o - out);
	return out;
}

int tg_rewrite_h1_possible(const char *buf, size_t len)
{
	const char *body = find_headers_end(buf, len);
	size_t vstart, vend;
	uint64_t clen;
	if (!body || find_content_length(buf, (size_t)(body - buf), &vstart, &vend, &clen) != 0)
		return 0;
	return clen <= len - (size_t)(body - buf);
}
