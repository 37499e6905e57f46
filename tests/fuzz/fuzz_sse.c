/* sources: shim/sse.c */
/* fuzz_sse.c - libFuzzer target for the server-sent events parser.
 *
 * The first byte says where to cut the rest, which is one response body.
 * It is parsed whole and again in two pieces; both runs must report the
 * same events (begin, every data byte, end with its name) and the same
 * result, and a failed parser must stay failed.
 *
 * seed: \0011data: {"a":1}\0012\0012event: done\0015\0012data: x\0015\0012data: y\0015\0012\0015\0012
 * seed: \0003\0357\0273\0277: comment\0012id: 1\0012retry: 5\0012data\0012\0012data:no space\0012
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

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

static void begin(void *ctx)
{
	struct run *r = ctx;

	if (r->open)
		abort();
	r->open = 1;
	mix(r, "B", 1);
}

static void data(void *ctx, const char *buf, size_t len)
{
	struct run *r = ctx;

	if (!r->open)
		abort();
	mix(r, buf, len);   /* one hash whatever the pieces */
}

static void end(void *ctx, const char *name, int truncated)
{
	struct run *r = ctx;
	size_t n = strlen(name);

	if (!r->open || n >= TG_SSE_EVENT_MAX)
		abort();
	r->open = 0;
	mix(r, "E", 1);
	mix(r, name, n + 1);
	mix(r, &truncated, sizeof truncated);
}

static const struct tg_sse_callbacks cbs = { begin, data, end };

static int parse(const char *s, size_t n, size_t cut, struct run *r)
{
	static struct tg_sse p;
	int rc;

	memset(r, 0, sizeof *r);
	tg_sse_init(&p, &cbs, r);
	rc = tg_sse_feed(&p, s, cut);
	if (tg_sse_feed(&p, s + cut, n - cut) < 0)
		rc = -1;
	else if (rc < 0)
		abort();        /* not sticky */
	if (rc == 0)
		rc = tg_sse_finish(&p);
	mix(r, &rc, sizeof rc);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data_, size_t size)
{
	struct run whole, cut;

	if (size < 1)
		return 0;
	const char *s = (const char *)data_ + 1;
	size_t n = size - 1, at = n ? data_[0] % (n + 1) : 0;

	if (parse(s, n, n, &whole) != parse(s, n, at, &cut) || whole.h != cut.h)
		abort();
	return 0;
}
