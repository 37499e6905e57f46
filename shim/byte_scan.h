/* byte_scan.h - finding the next byte that matters in a run of plain bytes.
 *
 * Owns: the loops the body parsers use to cross string contents
 * (json.c) and event lines (sse.c) in bulk: most bytes of a response
 * are inside such runs, and a byte-by-byte loop with two or three compares
 * per byte was most of a parser's cost.  Eight bytes are tested at
 * once with the usual carry tricks (a byte is zero / below n); the lowest
 * set flag is the first hit, because a borrow only ever runs upward from a
 * byte that really is a hit.  Header-only: these are the inner loops.
 */
#ifndef TG_BYTE_SCAN_H
#define TG_BYTE_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TG_BYTES_ONES  UINT64_C(0x0101010101010101)
#define TG_BYTES_HIGHS UINT64_C(0x8080808080808080)

/* High bit set in each byte of w that is below n (n <= 128), at least in
 * the lowest such byte. */
static inline uint64_t tg_bytes_below(uint64_t w, unsigned n)
{
	return (w - TG_BYTES_ONES * n) & ~w & TG_BYTES_HIGHS;
}

static inline uint64_t tg_bytes_equal(uint64_t w, unsigned char c)
{
	return tg_bytes_below(w ^ (TG_BYTES_ONES * c), 1);
}

static inline uint64_t tg_load64(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
	return w;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TG_BYTES_WORDS 1
#else
#define TG_BYTES_WORDS 0
#endif

/* First i' >= i with buf[i'] a '"', a '\\' or a control byte, else len. */
static inline size_t tg_scan_json_string(const char *buf, size_t i, size_t len)
{
	if (TG_BYTES_WORDS) {
		for (; i + 8 <= len; i += 8) {
			uint64_t w = tg_load64(buf + i);
			uint64_t hit = tg_bytes_equal(w, '"') | tg_bytes_equal(w, '\\') | tg_bytes_below(w, 0x20);

			if (hit)
				return i + (size_t)__builtin_ctzll(hit) / 8;
		}
	}
	while (i < len && buf[i] != '"' && buf[i] != '\\' && (unsigned char)buf[i] >= 0x20)
		i++;
	return i;
}

/* First i' >= i with buf[i'] a CR or a LF, else len.  Lines are long
 * (an SSE data line is a whole JSON document) and CRs rare: the C
 * library's vectorised memchr, twice, beats one pass for both bytes. */
static inline size_t tg_scan_line(const char *buf, size_t i, size_t len)
{
	const char *lf = memchr(buf + i, '\n', len - i);
	size_t end = lf ? (size_t)(lf - buf) : len;
	const char *cr = memchr(buf + i, '\r', end - i);

	return cr ? (size_t)(cr - buf) : end;
}

#endif
