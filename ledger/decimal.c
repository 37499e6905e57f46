/* decimal.c - locale-independent decimal text (see decimal.h).
 *
 * The C library's own routines do the digits (correct rounding both ways
 * is subtle); only the locale they see is ours.  newlocale() of "C" is
 * asked for on each call rather than kept: glibc and musl return their
 * static C locale object for it without allocating, and keeping nothing
 * leaves this module without state. */
#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"

static locale_t c_numeric(void)
{
	return newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static size_t skip_digits(const char *s)
{
	size_t i = 0;

	while (isdigit((unsigned char)s[i]))
		i++;
	return i;
}

/* 1 when s is exactly the syntax of decimal.h, which strtod would accept
 * in part but also stretches to hex, inf, nan and leading spaces. */
static int well_formed(const char *s)
{
	size_t whole, frac = 0, exp;

	if (*s == '+' || *s == '-')
		s++;
	whole = skip_digits(s);
	s += whole;
	if (*s == '.') {
		frac = skip_digits(++s);
		s += frac;
	}
	if (whole + frac == 0)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if ((exp = skip_digits(s)) == 0)
			return 0;
		s += exp;
	}
	return *s == '\0';
}

int tg_decimal_parse(const char *s, double *out)
{
	locale_t c;
	char *end;
	double d;

	if (!well_formed(s) || (c = c_numeric()) == (locale_t)0)
		return -1;
	d = strtod_l(s, &end, c);
	freelocale(c);
	if (*end)
		return -1;
	*out = d;
	return 0;
}

static int c_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	locale_t c = c_numeric(), old;
	int k;

	if (c == (locale_t)0)
		return -1;
	/* uselocale() is per thread: other threads of a host program keep
	 * their locale while this one formats. */
	old = uselocale(c);
	k = vsnprintf(buf, n, fmt, ap);
	uselocale(old);
	freelocale(c);
	return k;
}

int tg_decimal_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = c_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return k;
}

int tg_decimal_fprintf(FILE *f, const char *fmt, ...)
{
	locale_t c = c_numeric(), old;
	va_list ap;
	int k;

	if (c == (locale_t)0)
		return -1;
	old = uselocale(c);
	va_start(ap, fmt);
	k = vfprintf(f, fmt, ap);
	va_end(ap);
	uselocale(old);
	freelocale(c);
	return k;
}

/* Tries "%.<p>g" for p = 1..17: 17 significant digits always read back. */
static int shortest_exp(double v, char *buf, size_t n)
{
	double back;
	int k = -1;

	for (int prec = 1; prec <= 17; prec++) {
		k = tg_decimal_snprintf(buf, n, "%.*g", prec, v);
		if (k < 0 || (size_t)k >= n)
			return -1;
		if (tg_decimal_parse(buf, &back) == 0 && back == v)
			return k;
	}
	return k;
}

int tg_decimal_plain(double v, int decimals, char *buf, size_t n)
{
	int k;

	if (!isfinite(v) || n == 0)
		return -1;
	k = tg_decimal_snprintf(buf, n, "%.*f", decimals, v);
	if (k < 0 || (size_t)k >= n)
		return shortest_exp(v, buf, n);
	if (strchr(buf, '.')) {
		while (buf[k - 1] == '0')
			buf[--k] = '\0';
		if (buf[k - 1] == '.')
			buf[--k] = '\0';
	}
	if (!strcmp(buf, "-0"))
		k = tg_decimal_snprintf(buf, n, "0");
	return k;
}

#define SHORTEST_PLAIN_MAX 24   /* decimals tried in plain notation, from 1e-9 up */
#define SHORTEST_TEXT_MAX 64    /* below 1e15 with 24 decimals: 16 + 1 + 24 + sign */

/* v with dec decimals into buf; its length when that reads back as
 * exactly v, else -1.  The caller has made c (C numeric rules) the
 * thread's locale: one locale for all the tries, not one per call. */
static int plain_reads_back(double v, int dec, char *buf, size_t n, locale_t c)
{
	char *end;
	int k = snprintf(buf, n, "%.*f", dec, v);

	if (k < 0 || (size_t)k >= n)
		return -1;
	return strtod_l(buf, &end, c) == v && *end == '\0' ? k : -1;
}

int tg_decimal_shortest(double v, char *buf, size_t n)
{
	int k;

	if (!isfinite(v))
		return -1;
	if (v == 0 || (fabs(v) >= 1e-9 && fabs(v) < 1e15)) {
		/* The fewest decimals that read back, found by halving: if d
		 * decimals read back, so do d + 1 (the nearest (d+1)-decimal
		 * number is at least as near as the nearest d-decimal one), so
		 * the property is monotonic.  A long report writes many amounts:
		 * five tries instead of up to twenty-five. */
		int lo = 0, hi = SHORTEST_PLAIN_MAX + 1, best = -1;
		char text[SHORTEST_TEXT_MAX];
		locale_t c = c_numeric(), old;

		if (c == (locale_t)0)
			return -1;
		old = uselocale(c);
		while (lo < hi) {   /* the answer lies in [lo, hi); hi past the end: none yet */
			int mid = lo + (hi - lo) / 2;

			if ((k = plain_reads_back(v, mid, text, sizeof text, c)) >= 0) {
				hi = mid;
				best = k;
				if ((size_t)k < n)
					memcpy(buf, text, (size_t)k + 1);
			} else {
				lo = mid + 1;
			}
		}
		uselocale(old);
		freelocale(c);
		if (best >= 0 && (size_t)best < n && hi <= SHORTEST_PLAIN_MAX)
			return best;
	}
	return shortest_exp(v, buf, n);
}
