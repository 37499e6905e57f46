/* sources: shim/eventstream.c */
/* fuzz_eventstream.c - libFuzzer target for the AWS event stream framer.
 *
 * The first byte: bit 0 asks the target to write correct CRCs into every
 * message it can frame before parsing (random bytes would almost never
 * pass a CRC, and the headers and payload behind it would stay unexplored);
 * the other bits and the second byte say where to cut.  The rest is parsed
 * whole and again in two pieces; both runs must report the same messages
 * and the same result, and a failed framer must stay failed.
 *
 * seed: \0001\0000\0000\0000\0000\0063\0000\0000\0000\0023\0000\0000\0000\0000\0013:event-type\0007\0000\0004stop\0000\0000\0000\0000\0000\0000\0000\0000
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "eventstream.h"

struct run {
	uint64_t h;
	int open;
};

static void mix(struct run *r, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		r->h = (r->h ^ p[i]) * UINT64_C(0x100000001b3);
}

static void begin(void *ctx, const char *type, const char *kind)
{
	struct run *r = ctx;

	if (r->open || strlen(type) >= TG_EVENTSTREAM_TYPE_MAX || strlen(kind) >= TG_EVENTSTREAM_TYPE_MAX)
		abort();
	r->open = 1;
	mix(r, type, strlen(type) + 1);
	mix(r, kind, strlen(kind) + 1);
}

static void payload(void *ctx, const char *buf, size_t len)
{
	struct run *r = ctx;

	if (!r->open)
		abort();
	mix(r, buf, len);
}

static void end(void *ctx)
{
	struct run *r = ctx;

	if (!r->open)
		abort();
	r->open = 0;
	mix(r, "E", 1);
}

static const struct tg_eventstream_callbacks cbs = { begin, payload, end };

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Writes both CRCs of every message that fits in buf[0..n). */
static void fix_crcs(unsigned char *buf, size_t n)
{
	size_t pos = 0;

	while (n - pos >= 16) {
		uint32_t total = be32(buf + pos);

		if (total < 16 || total > n - pos)
			break;
		put_be32(buf + pos + 8, (uint32_t)crc32(0, buf + pos, 8));
		put_be32(buf + pos + total - 4, (uint32_t)crc32(0, buf + pos, total - 4));
		pos += total;
	}
}

static int parse(const char *s, size_t n, size_t cut, struct run *r)
{
	static struct tg_eventstream e;
	int rc;

	memset(r, 0, sizeof *r);
	tg_eventstream_init(&e, &cbs, r);
	rc = tg_eventstream_feed(&e, s, cut);
	if (tg_eventstream_feed(&e, s + cut, n - cut) < 0)
		rc = -1;
	else if (rc < 0)
		abort();        /* not sticky */
	if (rc == 0)
		rc = tg_eventstream_finish(&e);
	mix(r, &rc, sizeof rc);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, cut;

	if (size < 2)
		return 0;
	size_t n = size - 2, at = n ? ((size_t)(data[0] >> 1) << 8 | data[1]) % (n + 1) : 0;
	unsigned char *buf = malloc(n ? n : 1);

	if (!buf)
		return 0;
	memcpy(buf, data + 2, n);
	if (data[0] & 1)
		fix_crcs(buf, n);
	if (parse((const char *)buf, n, n, &whole) != parse((const char *)buf, n, at, &cut) || whole.h != cut.h)
		abort();
	free(buf);
	return 0;
}
