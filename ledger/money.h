/* money.h - USD amounts as text: the one formatter of every amount the
 * shim's warnings and the report's tables, lines, JSON and CSV show.
 *
 * Owns the two spellings of money:
 *  - for people (tables, check and budget lines, warnings):
 *    tg_money_text(): "$" and thousands separators; four decimals from a
 *    cent up, trailing zeros dropped down to two ("$1,234.5678",
 *    "$0.0123", "$5.00"); below a cent three significant digits, so a
 *    sub-cent amount never shows as zero ("$0.00000022", "$0.005").
 *  - for machines (JSON, CSV): tg_money_exact(): the shortest decimal
 *    that reads back as exactly the double, no "$", no separator, '.' in
 *    every locale: full precision.
 */
#ifndef TG_MONEY_H
#define TG_MONEY_H

#include <stddef.h>

/* Enough for any amount tg_money_text() writes, NUL included. */
#define TG_MONEY_MAX 64

/* usd for people (above) into buf; "$?" when usd is not finite.  Returns
 * the length, or -1 when n is too small (TG_MONEY_MAX always suffices). */
int tg_money_text(double usd, char *buf, size_t n);

/* usd for machines (above) into buf.  Returns the length, or -1 when usd
 * is not finite or n is too small (48 always suffices). */
int tg_money_exact(double usd, char *buf, size_t n);

#endif
