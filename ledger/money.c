/* money.c - USD amounts as text (see money.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "money.h"

#define CENT 0.01
#define DECIMALS_FROM_A_CENT 4
#define MIN_DECIMALS 2
#define SUB_CENT_DIGITS 3
#define PLAIN_LIMIT 1e15   /* from here on, %f would print float noise as digits */

/* Drops trailing zeros after the point, keeping at least keep decimals. */
static int trim(char *s, int len, int keep)
{
	char *dot = strchr(s, '.');

	if (!dot)
		return len;
	while (len > 0 && s[len - 1] == '0' && (s + len - 1) - dot > keep)
		s[--len] = '\0';
	return len;
}

/* Copies the digits "1234567.89" as "1,234,567.89" after prefix. */
static int group(const char *digits, const char *prefix, char *buf, size_t n)
{
	size_t intlen = strcspn(digits, "."), k = strlen(prefix);

	if (k + strlen(digits) + intlen / 3 + 1 > n)
		return -1;
	memcpy(buf, prefix, k);
	for (size_t i = 0; i < intlen; i++) {
		if (i && (intlen - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	strcpy(buf + k, digits + intlen);
	return (int)(k + strlen(digits + intlen));
}

int tg_money_text(double usd, char *buf, size_t n)
{
	char digits[TG_MONEY_MAX];
	double a = fabs(usd);
	int len, decimals;

	if (!isfinite(usd)) {
		len = snprintf(buf, n, "$?");
		return len >= 0 && (size_t)len < n ? len : -1;
	}
	if (a >= PLAIN_LIMIT) {
		len = tg_decimal_snprintf(buf, n, "%s$%.4g", usd < 0 ? "-" : "", a);
		return len >= 0 && (size_t)len < n ? len : -1;
	}
	if (a == 0 || a >= CENT) {
		decimals = DECIMALS_FROM_A_CENT;
	} else {
		/* The zeros after the point, counted without libm (the shim links
		 * none): an error of the last bit near a power of ten only adds a
		 * trailing zero, which trim() drops. */
		double x = a;

		for (decimals = SUB_CENT_DIGITS - 1; x < 1; decimals++)
			x *= 10;
	}
	len = tg_decimal_snprintf(digits, sizeof digits, "%.*f", decimals, a);
	if (len < 0 || (size_t)len >= sizeof digits)
		return -1;
	trim(digits, len, MIN_DECIMALS);
	/* A negative amount that rounds to zero shows no sign. */
	return group(digits, usd < 0 && strspn(digits, "0.") != strlen(digits) ? "-$" : "$",
	             buf, n);
}

int tg_money_exact(double usd, char *buf, size_t n)
{
	/* -0 is no amount of money: written as 0. */
	return tg_decimal_shortest(usd == 0 ? 0 : usd, buf, n);
}
