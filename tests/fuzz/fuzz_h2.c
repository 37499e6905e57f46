/* sources: shim/h2.c */
/* fuzz_h2.c - libFuzzer target for the passive HTTP/2 observer.
 *
 * Input: records of one control byte (bit 0: direction, bits 1-7: length)
 * and that many bytes.  The client preface is fed first unless the first
 * control byte has bit 7 set, so most inputs reach the frame parser while
 * the preface check stays reachable.
 *
 * The input is observed twice: record by record, then with neighbouring
 * records of the same direction joined into one slice, which keeps the
 * order of the two directions relative to each other.  Both runs must see
 * the same events in each direction (DATA compared byte by byte, whatever
 * the pieces) and fail, or not, alike; once failed, a feed must keep
 * failing.  Callbacks read every byte they are given so the sanitizers see
 * a bad pointer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h2.h"

struct run {
	uint64_t hash[2];  /* per direction, over everything reported */
};

static void mix(struct run *r, enum tg_dir dir, uint64_t v)
{
	r->hash[dir] = (r->hash[dir] ^ v) * 0x100000001b3ull;
}

static void mix_bytes(struct run *r, enum tg_dir dir, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mix(r, dir, (unsigned char)p[i]);
}

static void on_header(void *ctx, uint32_t sid, enum tg_dir dir,
    const char *name, size_t nlen, const char *value, size_t vlen)
{
	mix(ctx, dir, 0x100000000ull | sid);
	mix_bytes(ctx, dir, name, nlen);
	mix(ctx, dir, 0x200000000ull | nlen);
	mix_bytes(ctx, dir, value, vlen);
	mix(ctx, dir, 0x300000000ull | vlen);
}

static void on_headers_done(void *ctx, uint32_t sid, enum tg_dir dir,
    int end_stream, int is_trailer)
{
	mix(ctx, dir, 0x400000000ull | sid);
	mix(ctx, dir, (uint64_t)(end_stream * 2 + is_trailer));
}

static void on_data(void *ctx, uint32_t sid, enum tg_dir dir, const char *buf,
    size_t len)
{
	size_t i;

	if (len == 0)
		abort();
	/* Per byte, so that how DATA was cut into pieces does not count. */
	for (i = 0; i < len; i++)
		mix(ctx, dir, (uint64_t)sid << 8 | (unsigned char)buf[i]);
}

static void on_end_stream(void *ctx, uint32_t sid, enum tg_dir dir)
{
	mix(ctx, dir, 0x500000000ull | sid);
}

static void on_reset(void *ctx, uint32_t sid, enum tg_dir dir, uint32_t code)
{
	mix(ctx, dir, 0x600000000ull | sid);
	mix(ctx, dir, code);
}

static void on_goaway(void *ctx, enum tg_dir dir, uint32_t last, uint32_t code)
{
	mix(ctx, dir, 0x700000000ull | last);
	mix(ctx, dir, code);
}

static const struct tg_h2_callbacks callbacks = {
	.on_header = on_header,
	.on_headers_done = on_headers_done,
	.on_data = on_data,
	.on_end_stream = on_end_stream,
	.on_reset = on_reset,
	.on_goaway = on_goaway,
};

static void feed(struct tg_h2_observer *o, int *failed, enum tg_dir dir,
    const uint8_t *p, size_t n)
{
	int rc = tg_h2_feed(o, dir, (const char *)p, n);

	if (rc != 0 && rc != -1)
		abort();
	if (*failed && rc != -1)
		abort();  /* failure must be sticky */
	if (rc == -1)
		*failed = 1;
}

/* Observes the input; join != 0 feeds runs of same-direction records as one
 * slice (their bytes are gathered into buf first). */
static int observe(const uint8_t *data, size_t size, int join, uint8_t *buf,
    struct run *r)
{
	struct tg_h2_observer o;
	int failed = 0;
	size_t off = 0, have = 0;
	enum tg_dir pending = TG_DIR_REQUEST;

	if (tg_h2_init(&o, &callbacks, r) != 0)
		abort();
	if (size == 0 || !(data[0] & 0x80))
		feed(&o, &failed, TG_DIR_REQUEST,
		    (const uint8_t *)TG_H2_PREFACE, TG_H2_PREFACE_LEN);
	while (off < size) {
		enum tg_dir dir = (data[off] & 1) ? TG_DIR_RESPONSE :
		    TG_DIR_REQUEST;
		size_t n = data[off] >> 1;

		off++;
		if (n > size - off)
			n = size - off;
		if (!join) {
			feed(&o, &failed, dir, data + off, n);
		} else {
			if (have > 0 && dir != pending) {
				feed(&o, &failed, pending, buf, have);
				have = 0;
			}
			pending = dir;
			memcpy(buf + have, data + off, n);
			have += n;
		}
		off += n;
	}
	if (have > 0)
		feed(&o, &failed, pending, buf, have);
	tg_h2_free(&o);
	return failed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run a = { { 0 } }, b = { { 0 } };
	uint8_t *buf = malloc(size + 1);
	int fa, fb;

	if (buf == NULL)
		return 0;
	fa = observe(data, size, 0, buf, &a);
	fb = observe(data, size, 1, buf, &b);
	free(buf);
	if (fa != fb || a.hash[0] != b.hash[0] || a.hash[1] != b.hash[1])
		abort();
	return 0;
}
