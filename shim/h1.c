/* h1.c - passive HTTP/1.1 parser for one direction of a connection.
 *
 * Owns the byte-level state machine behind tg_h1_feed(): start lines,
 * header lines, Content-Length / chunked / read-until-close bodies.  Lines
 * are collected into the parser's own buffer one byte at a time, so input
 * may be cut anywhere; body bytes are handed on in place, never copied.
 */
#include "h1.h"

#include "digits.h"
#include "text.h"

#include <string.h>

enum {
	S_IDLE,          /* between messages; CR and LF are skipped here */
	S_START_LINE,
	S_HEADER,
	S_BODY_LENGTH,
	S_BODY_CLOSE,
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_END,     /* the line break after a chunk's data */
	S_TRAILER,
	S_SWITCHED,      /* after 101: the bytes that follow are another protocol */
	S_FAILED,
	S_CLOSED,
};

enum {
	F_CR          = 1u << 0,  /* the current line's last byte was CR */
	F_TRUNC       = 1u << 1,  /* the current line overflowed line[] */
	F_METHOD_DONE = 1u << 2,  /* the request line's first SP was seen */
	F_HAS_CL      = 1u << 3,
	F_TE          = 1u << 4,
	F_TE_CHUNKED  = 1u << 5,  /* the last transfer coding seen is chunked */
	F_INTERIM     = 1u << 6,  /* a 1xx came; the final response is pending */
};

#define LINE_FLAGS    (F_CR | F_TRUNC | F_METHOD_DONE)
#define MESSAGE_FLAGS (F_HAS_CL | F_TE | F_TE_CHUNKED)

/* Longer than any registered method; bounds how long a request line may run
 * before binary input is recognised as such. */
#define METHOD_MAX 32

/* " HTTP/1.1" closes a request line; its bytes must survive truncation. */
#define VERSION_TAIL 9

void tg_h1_init(struct tg_h1_parser *p, enum tg_dir dir, const struct tg_h1_callbacks *cb, void *ctx)
{
	memset(p, 0, offsetof(struct tg_h1_parser, line));
	p->cb = cb;
	p->ctx = ctx;
	p->dir = dir;
	p->state = S_IDLE;
}

static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Rejects non-HTTP input at its first bytes rather than after a whole
 * line's worth, so binary streams are given up on early. */
static int start_byte_ok(struct tg_h1_parser *p, unsigned char c)
{
	static const char proto[] = "HTTP/1.";
	size_t pos = p->line_seen;

	if (p->dir == TG_DIR_RESPONSE)
		return pos >= sizeof proto - 1 || c == (unsigned char)proto[pos];
	if (p->flags & F_METHOD_DONE)
		return 1;
	if (c == ' ' && pos > 0) {
		p->flags |= F_METHOD_DONE;
		return 1;
	}
	return pos < METHOD_MAX && is_tchar(c);
}

static void line_push(struct tg_h1_parser *p, char c)
{
	if (p->line_len < TG_H1_LINE_MAX) {
		p->line[p->line_len++] = c;
	} else {
		p->flags |= F_TRUNC;
		memmove(p->tail, p->tail + 1, sizeof p->tail - 1);
		p->tail[sizeof p->tail - 1] = c;
	}
	p->line_seen++;
}

/* Byte pos of the current line, for the last sizeof tail bytes even when
 * they were not kept in line[]. */
static char line_at(const struct tg_h1_parser *p, size_t pos)
{
	if (pos < p->line_len)
		return p->line[pos];
	return p->tail[sizeof p->tail - (p->line_seen - pos)];
}

/* Moves bytes into line[] up to and including LF.  Returns 1 with the line
 * complete, 0 when the input ran out first, -1 on bytes no HTTP line holds. */
static int take_line(struct tg_h1_parser *p, const char **buf, size_t *len)
{
	size_t i;

	for (i = 0; i < *len; i++) {
		unsigned char c = (unsigned char)(*buf)[i];

		if (c == '\n') {
			*buf += i + 1;
			*len -= i + 1;
			return 1;
		}
		if (p->flags & F_CR)
			return -1;
		if (c == '\r') {
			p->flags |= F_CR;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
		if (p->state == S_START_LINE && !start_byte_ok(p, c))
			return -1;
		line_push(p, (char)c);
	}
	*buf += i;
	*len = 0;
	return 0;
}

static void message_done(struct tg_h1_parser *p)
{
	p->state = S_IDLE;
	p->flags &= ~MESSAGE_FLAGS;
	p->remaining = 0;
	p->content_length = 0;
	if (p->cb && p->cb->on_message_done)
		p->cb->on_message_done(p->ctx);
}

static int parse_status_line(struct tg_h1_parser *p)
{
	const char *l = p->line;
	uint64_t code;
	int status;

	/* "HTTP/1." was checked byte by byte on the way in. */
	if (p->line_len < 12 || l[7] < '0' || l[7] > '9' || l[8] != ' ')
		return -1;
	if (!tg_digits_all(l + 9, 3, 999, &code))
		return -1;
	status = (int)code;
	/* Some servers drop the SP before an empty reason phrase. */
	if (status < 100 || (p->line_len > 12 && l[12] != ' '))
		return -1;
	p->status = status;
	if (p->cb && p->cb->on_status)
		p->cb->on_status(p->ctx, status);
	return 0;
}

static int parse_request_line(struct tg_h1_parser *p)
{
	static const char version[] = " HTTP/1.";
	size_t total = p->line_seen, sp, end, held, i;
	const char *l = p->line;

	if (!(p->flags & F_METHOD_DONE) || total < VERSION_TAIL)
		return -1;
	sp = (size_t)((const char *)memchr(l, ' ', p->line_len) - l);
	end = total - VERSION_TAIL;
	if (end <= sp + 1)
		return -1;
	for (i = 0; i < sizeof version - 1; i++)
		if (line_at(p, end + i) != version[i])
			return -1;
	if (line_at(p, total - 1) < '0' || line_at(p, total - 1) > '9')
		return -1;
	held = end < p->line_len ? end : p->line_len;
	if (memchr(l + sp + 1, ' ', held - sp - 1) != NULL)
		return -1;
	if (p->cb && p->cb->on_request)
		p->cb->on_request(p->ctx, l, sp, l + sp + 1, held - sp - 1);
	return 0;
}

/* Content-Length: 1*DIGIT, or a list of identical values some
 * intermediaries produce when merging duplicates. */
static int parse_content_length(const char *s, size_t n, uint64_t *out)
{
	uint64_t first = 0;
	size_t i = 0;
	int seen = 0;

	while (i <= n) {
		uint64_t v;
		long digits;

		while (i < n && is_ows(s[i]))
			i++;
		/* 2^62 bytes is beyond any real body. */
		if ((digits = tg_digits(s + i, n - i, UINT64_C(1) << 62, &v)) < 0)
			return -1;
		i += (size_t)digits;
		while (i < n && is_ows(s[i]))
			i++;
		if (digits == 0 || (i < n && s[i] != ','))
			return -1;
		if (seen && v != first)
			return -1;
		first = v;
		seen = 1;
		i++;
	}
	*out = first;
	return 0;
}

/* Only whether the last coding is "chunked" matters for framing. */
static int last_coding_is_chunked(const char *s, size_t n)
{
	size_t i = 0, start, stop;
	int chunked = 0;

	while (i < n) {
		while (i < n && (is_ows(s[i]) || s[i] == ','))
			i++;
		if (i == n)
			break;
		start = i;
		while (i < n && s[i] != ',' && s[i] != ';' && !is_ows(s[i]))
			i++;
		stop = i;
		while (i < n && s[i] != ',')
			i++;
		chunked = tg_name_is(s + start, stop - start, "chunked");
	}
	return chunked;
}

static int parse_header_line(struct tg_h1_parser *p)
{
	const char *l = p->line, *colon, *v;
	size_t nlen, vlen, i;

	/* obs-fold continuation: a passive reader can only skip it. */
	if (is_ows(l[0]))
		return 0;
	colon = memchr(l, ':', p->line_len);
	if (colon == NULL)
		return (p->flags & F_TRUNC) ? 0 : -1;
	nlen = (size_t)(colon - l);
	if (nlen == 0)
		return -1;
	for (i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)l[i]))
			return -1;
	v = colon + 1;
	vlen = p->line_len - nlen - 1;
	while (vlen > 0 && is_ows(*v))
		v++, vlen--;
	while (vlen > 0 && is_ows(v[vlen - 1]))
		vlen--;

	if (tg_name_is(l, nlen, "content-length")) {
		uint64_t cl;

		if ((p->flags & F_TRUNC) || parse_content_length(v, vlen, &cl) < 0)
			return -1;
		if ((p->flags & F_HAS_CL) && cl != p->content_length)
			return -1;
		p->flags |= F_HAS_CL;
		p->content_length = cl;
	} else if (tg_name_is(l, nlen, "transfer-encoding")) {
		if (p->flags & F_TRUNC)
			return -1;
		p->flags |= F_TE;
		if (last_coding_is_chunked(v, vlen))
			p->flags |= F_TE_CHUNKED;
		else if (vlen > 0)
			p->flags &= ~F_TE_CHUNKED;
	}
	if (p->cb && p->cb->on_header)
		p->cb->on_header(p->ctx, l, nlen, v, vlen);
	return 0;
}

static void start_length_body(struct tg_h1_parser *p)
{
	if (p->content_length == 0) {
		message_done(p);
		return;
	}
	p->remaining = p->content_length;
	p->state = S_BODY_LENGTH;
}

static int headers_done(struct tg_h1_parser *p)
{
	int no_body = 0;

	if (p->cb && p->cb->on_headers_done)
		no_body = p->cb->on_headers_done(p->ctx) == 1;

	if (p->dir == TG_DIR_REQUEST) {
		if (no_body)
			message_done(p);
		else if (p->flags & F_TE) {
			/* RFC 9112 6.3: a request body must end in chunked to be framed. */
			if (!(p->flags & F_TE_CHUNKED))
				return -1;
			p->state = S_CHUNK_SIZE;
		} else if (p->flags & F_HAS_CL)
			start_length_body(p);
		else
			message_done(p);
		return 0;
	}

	if (p->status < 200) {
		p->flags |= F_INTERIM;
		message_done(p);
		if (p->status == 101) {
			p->flags &= ~F_INTERIM;
			p->state = S_SWITCHED;
		}
		return 0;
	}
	p->flags &= ~F_INTERIM;
	if (no_body || p->status == 204 || p->status == 304)
		message_done(p);
	else if (p->flags & F_TE)
		p->state = (p->flags & F_TE_CHUNKED) ? S_CHUNK_SIZE : S_BODY_CLOSE;
	else if (p->flags & F_HAS_CL)
		start_length_body(p);
	else
		p->state = S_BODY_CLOSE;
	return 0;
}

static int parse_chunk_size(struct tg_h1_parser *p)
{
	const char *l = p->line;
	uint64_t size = 0;
	size_t i;

	for (i = 0; i < p->line_len; i++) {
		int d = tg_hex_digit(l[i]);

		if (d < 0)
			break;
		if (size > (UINT64_C(1) << 62) >> 4)
			return -1;
		size = size << 4 | (uint64_t)d;
	}
	if (i == 0)
		return -1;
	while (i < p->line_len && is_ows(l[i]))
		i++;
	/* Extensions carry nothing we use; only their start is checked. */
	if (i < p->line_len && l[i] != ';')
		return -1;
	if (size == 0) {
		p->state = S_TRAILER;
	} else {
		p->remaining = size;
		p->state = S_CHUNK_DATA;
	}
	return 0;
}

static int line_done(struct tg_h1_parser *p)
{
	int empty = p->line_seen == 0;

	switch (p->state) {
	case S_START_LINE:
		p->state = S_HEADER;
		return p->dir == TG_DIR_RESPONSE ? parse_status_line(p) : parse_request_line(p);
	case S_HEADER:
		return empty ? headers_done(p) : parse_header_line(p);
	case S_CHUNK_SIZE:
		return parse_chunk_size(p);
	case S_CHUNK_END:
		if (!empty)
			return -1;
		p->state = S_CHUNK_SIZE;
		return 0;
	case S_TRAILER:
		if (empty)
			message_done(p);
		else if (!memchr(p->line, ':', p->line_len) && !(p->flags & F_TRUNC))
			return -1;
		return 0;
	}
	return -1;
}

static void deliver(struct tg_h1_parser *p, const char *buf, size_t n)
{
	if (n > 0 && p->cb && p->cb->on_body)
		p->cb->on_body(p->ctx, buf, n);
}

int tg_h1_feed(struct tg_h1_parser *p, const char *buf, size_t len)
{
	size_t n;
	int r;

	if (p->state == S_FAILED || p->state == S_CLOSED)
		return -1;
	while (len > 0) {
		switch (p->state) {
		case S_IDLE:
			while (len > 0 && (*buf == '\r' || *buf == '\n'))
				buf++, len--;
			if (len > 0)
				p->state = S_START_LINE;
			break;
		case S_BODY_LENGTH:
		case S_CHUNK_DATA:
			n = p->remaining < len ? (size_t)p->remaining : len;
			deliver(p, buf, n);
			buf += n;
			len -= n;
			p->remaining -= n;
			if (p->remaining == 0) {
				if (p->state == S_CHUNK_DATA)
					p->state = S_CHUNK_END;
				else
					message_done(p);
			}
			break;
		case S_BODY_CLOSE:
			deliver(p, buf, len);
			len = 0;
			break;
		case S_SWITCHED:
			goto fail;
		default:
			r = take_line(p, &buf, &len);
			if (r < 0)
				goto fail;
			if (r == 0)
				break;
			if (line_done(p) < 0)
				goto fail;
			p->line_len = 0;
			p->line_seen = 0;
			p->flags &= ~LINE_FLAGS;
			break;
		}
	}
	return 0;
fail:
	p->state = S_FAILED;
	return -1;
}

int tg_h1_finish(struct tg_h1_parser *p)
{
	int r;

	switch (p->state) {
	case S_FAILED:
		return -1;
	case S_IDLE:
		r = (p->flags & F_INTERIM) ? 1 : 0;
		break;
	case S_BODY_CLOSE:
		message_done(p);
		r = 0;
		break;
	case S_SWITCHED:
	case S_CLOSED:
		r = 0;
		break;
	default:
		r = 1;
		break;
	}
	p->state = S_CLOSED;
	return r;
}

int tg_h1_idle(const struct tg_h1_parser *p)
{
	return p->state == S_IDLE && !(p->flags & F_INTERIM);
}
