/* eventstream.c - framer for AWS event streams.  See eventstream.h. */
#include "eventstream.h"
#include "byteorder.h"
#include "text.h"

#include <string.h>
#include <zlib.h>

enum { ES_PRELUDE, ES_HEADERS, ES_PAYLOAD, ES_TRAILER };

/* header value types of the format */
enum {
	HV_TRUE, HV_FALSE, HV_BYTE, HV_SHORT, HV_INT, HV_LONG,
	HV_BYTES, HV_STRING, HV_TIMESTAMP, HV_UUID,
};

/* Field by field: every response body begins one (usage.c), and the
 * header buffer is only read up to what was collected into it. */
void tg_eventstream_init(struct tg_eventstream *e, const struct tg_eventstream_callbacks *cb,
                         void *ctx)
{
	e->cb = cb;
	e->ctx = ctx;
	e->state = ES_PRELUDE;
	e->error = 0;
	e->total = e->hlen = e->got = e->left = e->crc = 0;
	e->type[0] = '\0';
	e->kind[0] = '\0';
}

static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
	return (uint32_t)crc32(crc, p, (uInt)n);
}

static void copy_value(char *dst, const unsigned char *v, size_t n)
{
	if (n > TG_EVENTSTREAM_TYPE_MAX - 1)
		n = TG_EVENTSTREAM_TYPE_MAX - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static int parse_headers(struct tg_eventstream *e)
{
	const unsigned char *p = e->headers, *end = e->headers + e->hlen;
	char error_code[TG_EVENTSTREAM_TYPE_MAX] = "", exception[TG_EVENTSTREAM_TYPE_MAX] = "";

	e->type[0] = '\0';
	e->kind[0] = '\0';
	while (p < end) {
		static const unsigned char fixed[] = { 0, 0, 1, 2, 4, 8, 0, 0, 8, 16 };
		const unsigned char *name, *value;
		size_t nlen, vlen;
		unsigned type;

		nlen = *p++;
		if (nlen == 0 || (size_t)(end - p) < nlen + 1)
			return -1;
		name = p;
		p += nlen;
		type = *p++;
		if (type > HV_UUID)
			return -1;
		if (type == HV_BYTES || type == HV_STRING) {
			if (end - p < 2)
				return -1;
			vlen = tg_get_be16(p);
			p += 2;
		} else {
			vlen = fixed[type];
		}
		if ((size_t)(end - p) < vlen)
			return -1;
		value = p;
		p += vlen;
		if (type != HV_STRING)
			continue;
		if (nlen == 11 && memcmp(name, ":event-type", 11) == 0)
			copy_value(e->type, value, vlen);
		else if (nlen == 13 && memcmp(name, ":message-type", 13) == 0)
			copy_value(e->kind, value, vlen);
		else if (nlen == 15 && memcmp(name, ":exception-type", 15) == 0)
			copy_value(exception, value, vlen);
		else if (nlen == 11 && memcmp(name, ":error-code", 11) == 0)
			copy_value(error_code, value, vlen);
	}
	if (strcmp(e->kind, "exception") == 0)
		memcpy(e->type, exception, sizeof exception);
	else if (strcmp(e->kind, "error") == 0)
		memcpy(e->type, error_code, sizeof error_code);
	return 0;
}

static int prelude_done(struct tg_eventstream *e)
{
	if (crc_update(0, e->prelude, 8) != tg_get_be32(e->prelude + 8))
		return -1;
	e->total = tg_get_be32(e->prelude);
	e->hlen = tg_get_be32(e->prelude + 4);
	if (e->total < 16 || e->total > TG_EVENTSTREAM_MESSAGE_MAX ||
	    e->hlen > e->total - 16 || e->hlen > TG_EVENTSTREAM_HEADERS_MAX)
		return -1;
	e->crc = crc_update(0, e->prelude, 12);
	e->left = e->total - 16 - e->hlen;
	e->got = 0;
	e->state = ES_HEADERS;
	return 0;
}

static int headers_done(struct tg_eventstream *e)
{
	if (parse_headers(e) < 0)
		return -1;
	if (e->cb->begin)
		e->cb->begin(e->ctx, e->type, e->kind);
	e->state = ES_PAYLOAD;
	return 0;
}

static int trailer_done(struct tg_eventstream *e)
{
	if (e->crc != tg_get_be32(e->trailer))
		return -1;
	if (e->cb->end)
		e->cb->end(e->ctx);
	e->got = 0;
	e->state = ES_PRELUDE;
	return 0;
}

/* Collects into dst until want bytes are there; returns bytes taken. */
static size_t collect(struct tg_eventstream *e, unsigned char *dst, uint32_t want,
                      const unsigned char *p, size_t n)
{
	size_t take = want - e->got;

	if (take > n)
		take = n;
	memcpy(dst + e->got, p, take);
	e->got += (uint32_t)take;
	return take;
}

int tg_eventstream_feed(struct tg_eventstream *e, const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	int r = 0;

	if (e->error)
		return -1;
	while (len > 0 || (e->state == ES_HEADERS && e->got == e->hlen) ||
	       (e->state == ES_PAYLOAD && e->left == 0)) {
		size_t n;

		switch (e->state) {
		case ES_PRELUDE:
			n = collect(e, e->prelude, 12, p, len);
			if (e->got == 12)
				r = prelude_done(e);
			break;
		case ES_HEADERS:
			n = collect(e, e->headers, e->hlen, p, len);
			if (e->got == e->hlen) {
				e->crc = crc_update(e->crc, e->headers, e->hlen);
				r = headers_done(e);
			}
			break;
		case ES_PAYLOAD:
			n = len < e->left ? len : e->left;
			if (n > 0) {
				e->crc = crc_update(e->crc, p, n);
				if (e->cb->payload)
					e->cb->payload(e->ctx, (const char *)p, n);
				e->left -= (uint32_t)n;
			}
			if (e->left == 0) {
				e->got = 0;
				e->state = ES_TRAILER;
			}
			break;
		default:
			n = collect(e, e->trailer, 4, p, len);
			if (e->got == 4)
				r = trailer_done(e);
			break;
		}
		if (r < 0) {
			e->error = 1;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int tg_eventstream_finish(const struct tg_eventstream *e)
{
	if (e->error)
		return -1;
	return e->state != ES_PRELUDE || e->got != 0;
}
