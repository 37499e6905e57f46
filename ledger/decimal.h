/* decimal.h - decimal numbers as text, the same in every locale.
 *
 * Owns: reading and writing doubles with '.' as the radix character
 * whatever LC_NUMERIC says.  The shim parses budget policies and prices
 * inside the host program, which may have set a comma-decimal locale, and
 * the report writes JSON, CSV and policy lines that must read back the
 * same everywhere.
 */
#ifndef TG_DECIMAL_H
#define TG_DECIMAL_H

#include <stddef.h>
#include <stdio.h>

/* Parses the whole of s as  [+-] digits [. [digits]] [e [+-] digits]  or
 * [+-] . digits [e [+-] digits]: no spaces, hex, inf or nan.  Returns 0,
 * or -1 when s is anything else.  As with strtod, a value past the
 * double's range reads as an infinity and one below it as 0 or a
 * denormal: range checks are the caller's. */
int tg_decimal_parse(const char *s, double *out);

/* snprintf and fprintf with the C locale's numeric rules: the same
 * returns as the standard functions. */
int tg_decimal_snprintf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int tg_decimal_fprintf(FILE *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* v in plain notation with at most decimals digits after the point,
 * trailing zeros, a trailing point and the sign of -0 dropped ("0.05",
 * "300").  When that does not fit in n, the shortest exponent form that
 * reads back as v ("1e+308"), so a value is never cut.  Returns the
 * length, or -1 when n is too small even for that (32 always suffices). */
int tg_decimal_plain(double v, int decimals, char *buf, size_t n);

/* The shortest text that tg_decimal_parse() reads back as exactly v, in
 * plain notation (300, 0.25) unless v is below 1e-9 or from 1e15 on.
 * Returns the length, or -1 when n is too small (48 always suffices) or v
 * is not finite. */
int tg_decimal_shortest(double v, char *buf, size_t n);

#endif
