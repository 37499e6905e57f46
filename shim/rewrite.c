/* rewrite.c - see rewrite.h. */
#include "rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "record.h"
#include "text.h"

struct edit {
	size_t at, cut;           /* body offset and bytes replaced */
	char with[160];
	size_t with_len;
};

void tg_rewrite_plan(struct tg_rewrite *rw, const char *endpoint, const struct tg_request_info *info,
                     const char *new_model, int64_t new_max_tokens, const char *cap_key)
{
	size_t at, len;
	rw->model_in_path = tg_model_span(endpoint, &at, &len);
	rw->model = new_model && new_model[0] ? new_model : NULL;
	rw->model_offset = info->model_offset;
	rw->model_len = info->model_len;
	rw->max_tokens = new_max_tokens;
	rw->max_tokens_offset = info->max_tokens_offset;
	rw->max_tokens_len = info->max_tokens_len;
	rw->max_tokens_key = cap_key;
	rw->cap_parent_offset = info->cap_parent_offset;
}

/* Model names are plain identifiers; the rest is %-escaped (RFC 3986
 * unreserved characters kept), as the SDKs escape Bedrock's ':'. */
static int url_encode(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		            c == '-' || c == '.' || c == '_' || c == '~';
		if (o + (plain ? 1 : 3) >= cap)
			return -1;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return (int)o;
}

int tg_rewrite_path_model(const char *path, const char *model, char *out, size_t cap)
{
	size_t at, len;
	char enc[3 * 64 + 1];
	int elen;
	if (tg_model_span(path, &at, &len) != TG_PATH_MODEL_NAME ||
	    (elen = url_encode(model, enc, sizeof enc)) <= 0)
		return -1;
	size_t rest = strlen(path + at + len);
	if (at + (size_t)elen + rest + 1 > cap)
		return -1;
	memcpy(out, path, at);
	memcpy(out + at, enc, (size_t)elen);
	memcpy(out + at + (size_t)elen, path + at + len, rest + 1);
	return (int)(at + (size_t)elen + rest);
}

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
				uint64_t n;
				if (!tg_digits_all(v, (size_t)(ve - v), UINT64_MAX, &n))
					return -1;
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

static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An insertion of "key":N right after the "{" at body[at]. */
static int insert_after_brace(const char *body, size_t blen, size_t at, const char *key_text,
                              struct edit *e)
{
	if (at >= blen || body[at] != '{')
		return -1;
	size_t next = at + 1;
	while (next < blen && is_json_space(body[next]))
		next++;
	int empty = next < blen && body[next] == '}';
	e->at = at + 1;
	e->cut = 0;
	int n = snprintf(e->with, sizeof e->with, "%s%s", key_text, empty ? "" : ",");
	if (n < 0 || (size_t)n >= sizeof e->with)
		return -1;
	e->with_len = (size_t)n;
	return 0;
}

/* 1 when the object at body[at] is the value of the key name[0, len): the
 * request scan reports where either config object starts, and a body may
 * hold the other API's one. */
static int object_is_named(const char *body, size_t at, const char *name, size_t len)
{
	size_t i = at;
	while (i > 0 && is_json_space(body[i - 1]))
		i--;
	if (i == 0 || body[--i] != ':')
		return 0;
	while (i > 0 && is_json_space(body[i - 1]))
		i--;
	if (i < len + 2 || body[i - 1] != '"' || body[i - len - 2] != '"')
		return 0;
	return memcmp(body + i - len - 1, name, len) == 0;
}

/* Inserts the cap under its key: top-level ("max_tokens"), or nested
 * ("generationConfig.maxOutputTokens") into the object when the body has
 * it, else into a new one. */
static int insert_cap(const char *body, size_t blen, const struct tg_rewrite *rw, struct edit *e)
{
	const char *key = rw->max_tokens_key;
	char text[sizeof e->with];
	if (!key)
		return -1;
	const char *dot = strchr(key, '.');
	size_t top = 0;
	while (top < blen && is_json_space(body[top]))
		top++;
	int n;
	/* Into another object than the key names (a Gemini key in a body
	 * with Bedrock's inferenceConfig): no edit, the fallback applies. */
	if (dot && rw->cap_parent_offset >= 0 &&
	    ((size_t)rw->cap_parent_offset >= blen ||
	     !object_is_named(body, (size_t)rw->cap_parent_offset, key, (size_t)(dot - key))))
		return -1;
	if (!dot)
		n = snprintf(text, sizeof text, "\"%s\":%lld", key, (long long)rw->max_tokens);
	else if (rw->cap_parent_offset >= 0)
		n = snprintf(text, sizeof text, "\"%s\":%lld", dot + 1, (long long)rw->max_tokens);
	else
		n = snprintf(text, sizeof text, "\"%.*s\":{\"%s\":%lld}", (int)(dot - key), key, dot + 1,
		             (long long)rw->max_tokens);
	if (n < 0 || (size_t)n >= sizeof text)
		return -1;
	size_t at = dot && rw->cap_parent_offset >= 0 ? (size_t)rw->cap_parent_offset : top;
	return insert_after_brace(body, blen, at, text, e);
}

/* The body's edits, in body order.  path_edited: the model named in the
 * request's path was changed already (HTTP/1.1), so the body need not
 * name it; without that, a model the path names cannot be changed. */
static int add_edits(const char *body, size_t blen, const struct tg_rewrite *rw, int path_edited,
                     struct edit *e, int *n)
{
	*n = 0;
	if (rw->model && (rw->model_in_path == TG_PATH_MODEL_DEPLOYMENT ||
	                  (rw->model_in_path == TG_PATH_MODEL_NAME && !path_edited)))
		return -1;
	if (rw->model && !(path_edited && rw->model_offset < 0)) {
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
		} else if (insert_cap(body, blen, rw, &e[*n]) != 0) {
			return -1;
		}
		(*n)++;
	}
	/* Apply in body order. */
	if (*n == 2 && (e[0].at > e[1].at || (e[0].at == e[1].at && e[0].cut > e[1].cut))) {
		struct edit t = e[0];
		e[0] = e[1];
		e[1] = t;
	}
	if (*n == 2 && e[0].at + e[0].cut > e[1].at)
		return -1;
	return *n || path_edited ? 0 : -1;
}

/* Writes body with the edits applied to out; returns its length.  With
 * shrink > 0 that many bytes of whitespace between tokens are left out
 * (the caller counted them: whitespace_between_tokens). */
static size_t apply_edits(const char *body, size_t blen, const struct edit *e, int n, size_t shrink,
                          char *out)
{
	char *o = out;
	int in_string = 0, escaped = 0, k = 0;
	for (size_t i = 0; i < blen;) {
		if (k < n && i == e[k].at) {
			/* Edits replace whole tokens (or insert between them):
			 * after one the scan is outside any string. */
			memcpy(o, e[k].with, e[k].with_len);
			o += e[k].with_len;
			i += e[k].cut;
			k++;
			continue;
		}
		char c = body[i++];
		if (in_string) {
			in_string = escaped || c != '"';
			escaped = !escaped && c == '\\';
		} else if (c == '"') {
			in_string = 1;
		} else if (shrink > 0 && is_json_space(c)) {
			shrink--;
			continue;
		}
		*o++ = c;
	}
	for (; k < n; k++) {   /* an edit at the very end */
		memcpy(o, e[k].with, e[k].with_len);
		o += e[k].with_len;
	}
	return (size_t)(o - out);
}

static size_t whitespace_between_tokens(const char *body, size_t blen)
{
	size_t n = 0;
	int in_string = 0, escaped = 0;
	for (size_t i = 0; i < blen; i++) {
		char c = body[i];
		if (in_string) {
			in_string = escaped || c != '"';
			escaped = !escaped && c == '\\';
		} else if (c == '"') {
			in_string = 1;
		} else {
			n += is_json_space(c);
		}
	}
	return n;
}

int tg_rewrite_body_same_length(const char *body, size_t blen, const struct tg_rewrite *rw, char *out)
{
	struct edit edits[2];
	int nedits;
	if (add_edits(body, blen, rw, 0, edits, &nedits) != 0)
		return -1;
	size_t grown = blen;
	for (int i = 0; i < nedits; i++)
		grown = grown - edits[i].cut + edits[i].with_len;
	size_t shrink = grown > blen ? grown - blen : 0;
	if (shrink > whitespace_between_tokens(body, blen))
		return -1;   /* no room: the body would have to grow */
	size_t olen = apply_edits(body, blen, edits, nedits, shrink, out);
	/* Shorter: padded with spaces right after the last edit, between
	 * two tokens (or after the document, where whitespace is allowed). */
	if (olen < blen) {
		const struct edit *last = &edits[nedits - 1];
		size_t end = olen - (blen - (last->at + last->cut));
		size_t pad = blen - olen;
		memmove(out + end + pad, out + end, olen - end);
		memset(out + end, ' ', pad);
		olen = blen;
	}
	return olen == blen ? 0 : -1;
}

/* The request line's path, [*at, *at + *plen) of buf, rewritten to name
 * rw's model, into out.  Origin-form targets only ("/path?query"), as
 * clients send to an API host.  Returns the new path's length, or -1. */
static int request_line_path(const char *buf, size_t hlen, const struct tg_rewrite *rw, size_t *at,
                             size_t *plen, char *out, size_t cap)
{
	const char *sp = memchr(buf, ' ', hlen);
	if (!sp || (size_t)(sp + 1 - buf) >= hlen || sp[1] != '/')
		return -1;
	*at = (size_t)(sp + 1 - buf);
	size_t n = 0;
	while (*at + n < hlen && !strchr(" ?#\r\n", buf[*at + n]))
		n++;
	char path[TG_ENDPOINT_MAX];
	if (n >= sizeof path)
		return -1;
	memcpy(path, buf + *at, n);
	path[n] = '\0';
	*plen = n;
	return tg_rewrite_path_model(path, rw->model, out, cap);
}

char *tg_rewrite_h1(const char *buf, size_t len, const struct tg_rewrite *rw, size_t *outlen)
{
	const char *body = find_headers_end(buf, len);
	size_t vstart, vend, path_at = 0, path_len = 0;
	uint64_t clen;
	struct edit edits[2];
	int nedits, newpath_len = -1;
	char newpath[TG_ENDPOINT_MAX + 192];

	if (!body || find_content_length(buf, (size_t)(body - buf), &vstart, &vend, &clen) != 0)
		return NULL;
	size_t hlen = (size_t)(body - buf);
	if (clen > len - hlen)
		return NULL;   /* the body is not all in this write */
	if (rw->model && rw->model_in_path == TG_PATH_MODEL_NAME &&
	    (newpath_len = request_line_path(buf, vstart, rw, &path_at, &path_len, newpath,
	                                     sizeof newpath)) < 0)
		return NULL;
	if (add_edits(body, (size_t)clen, rw, newpath_len >= 0, edits, &nedits) != 0)
		return NULL;

	size_t newbody = (size_t)clen;
	for (int i = 0; i < nedits; i++)
		newbody = newbody - edits[i].cut + edits[i].with_len;
	char clbuf[24];
	int cl = snprintf(clbuf, sizeof clbuf, "%zu", newbody);
	size_t rest = len - hlen - (size_t)clen;
	size_t pathgrow = newpath_len >= 0 ? (size_t)newpath_len : path_len;
	size_t total = vstart - path_len + pathgrow + (size_t)cl + (hlen - vend) + newbody + rest;
	char *out = malloc(total);
	if (!out)
		return NULL;

	/* The request line and headers up to Content-Length's value: the
	 * path replaced when the model is named there (path_len is 0 else). */
	char *o = out;
	memcpy(o, buf, path_at);
	o += path_at;
	memcpy(o, newpath_len >= 0 ? newpath : buf + path_at, pathgrow);
	o += pathgrow;
	memcpy(o, buf + path_at + path_len, vstart - path_at - path_len);
	o += vstart - path_at - path_len;
	memcpy(o, clbuf, (size_t)cl);
	o += cl;
	memcpy(o, buf + vend, hlen - vend);
	o += hlen - vend;
	o += apply_edits(body, (size_t)clen, edits, nedits, 0, o);
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

char *tg_rewrite_h1_drop_header(const char *buf, size_t len, const char *name, size_t *outlen)
{
	const char *end = find_headers_end(buf, len);
	const char *line, *eol;
	size_t nlen = strlen(name);
	char *out, *o;
	int dropping = 0, found = 0;

	if (!end || !(line = memchr(buf, '\n', (size_t)(end - buf))))
		return NULL;
	/* a first pass: most requests have no such header, and cost no copy;
	 * a head with a bare LF line is left alone, since taking a line out
	 * could change where a lenient parser sees it end */
	if (line == buf || line[-1] != '\r')
		return NULL;
	for (const char *p = line + 1; p < end && (eol = memchr(p, '\n', (size_t)(end - p))); p = eol + 1) {
		if (eol == p || eol[-1] != '\r')
			return NULL;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' && tg_name_is(p, nlen, name))
			found = 1;
	}
	if (!found || !(out = malloc(len)))
		return NULL;
	o = out;
	memcpy(o, buf, (size_t)(line + 1 - buf));   /* the request line */
	o += line + 1 - buf;
	for (const char *p = line + 1; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (*p != ' ' && *p != '\t')
			dropping = (size_t)(eol - p) > nlen && p[nlen] == ':' && tg_name_is(p, nlen, name);
		if (!dropping) {
			memcpy(o, p, (size_t)(eol + 1 - p));
			o += eol + 1 - p;
		}
	}
	memcpy(o, end, len - (size_t)(end - buf));
	o += len - (size_t)(end - buf);
	*outlen = (size_t)(o - out);
	return out;
}
