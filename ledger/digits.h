/* digits.h - a run of decimal digits as an unsigned integer, bounded, and
 * the value of a hexadecimal digit:
 * token counts, Content-Length, max_tokens, HTTP status codes.  The one
 * reader of such numbers, in the manner of curl's Curl_str_number(): the
 * caller names the largest value it accepts, so overflow is never
 * possible and each bound is written where its reason is.
 *
 * Header-only (static inline): the allocation-free parsers of the shim
 * use it without a link-time dependency. */
#ifndef TG_DIGITS_H
#define TG_DIGITS_H

#include <stddef.h>
#include <stdint.h>

/* The largest value of 18 digits: token counts and max_tokens, whatever
 * the wire sends, are kept well inside int64_t. */
#define TG_DIGITS_18 UINT64_C(999999999999999999)

/* Reads the decimal digits at the start of s[0..n) into *out (0 when
 * there is none).  Returns how many digits there were, or -1 when their
 * value is above max (*out is then unchanged). */
static inline long tg_digits(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return (long)i;
}

/* The value of a hexadecimal digit (either case), or -1. */
static inline int tg_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 when the whole of s[0..n) is at least one digit and at most max,
 * its value in *out. */
static inline int tg_digits_all(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || tg_digits(s, n, max, &v) != (long)n)
		return 0;
	*out = v;
	return 1;
}

#endif
