/* text.h - small text and byte helpers of the shim, and its clocks.
 *
 * Owns: tg_copy_text (truncating copy that never splits a UTF-8 sequence and
 * drops control bytes, so a record field is always printable text),
 * tg_name_is (ASCII case-insensitive compare of a header or token name),
 * tg_ends_with and the two clocks the
 * shim reads.  Header-only: these run on the hot path.
 */
#ifndef TG_TEXT_H
#define TG_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static inline void tg_copy_text(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = 0;
	if (cap == 0)
		return;
	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c < 0x20 || c == 0x7f)
			continue;
		dst[n++] = (char)c;
	}
	/* Back off a UTF-8 sequence cut by the bound. */
	if (n + 1 == cap && n < len) {
		size_t k = n;
		while (k > 0 && ((unsigned char)dst[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0 && ((unsigned char)dst[k - 1] & 0xC0) == 0xC0)
			n = k - 1;
	}
	dst[n] = '\0';
}

static inline int tg_name_is(const char *name, size_t nlen, const char *lit)
{
	size_t l = strlen(lit);
	if (nlen != l)
		return 0;
	for (size_t i = 0; i < l; i++) {
		char c = name[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return 0;
	}
	return 1;
}

static inline int tg_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static inline int64_t tg_clock_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t tg_wall_us(void) { return tg_clock_us(CLOCK_REALTIME); }
static inline int64_t tg_mono_us(void) { return tg_clock_us(CLOCK_MONOTONIC); }

#endif
