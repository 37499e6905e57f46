/* civil.h - UTC calendar arithmetic shared by the budget windows, the
 * zone reader, the ledger's totals and the report's dates.
 *
 * Owns: the microseconds of a second, an hour and a day (timestamps are
 * microseconds since the epoch everywhere), division that rounds toward
 * minus infinity (a time before 1970 still falls in its own day), and the
 * conversion between days since 1970-01-01 and proleptic Gregorian dates
 * (Howard Hinnant's era arithmetic: exact for every year, no tables, no
 * TZ, no C library time functions), and the search of ascending
 * timestamps (a zone's transitions, the report's blocks).  Header-only.
 */
#ifndef TG_CIVIL_H
#define TG_CIVIL_H

#include <stddef.h>
#include <stdint.h>

#define TG_US_PER_SEC INT64_C(1000000)
#define TG_US_PER_HOUR (3600 * TG_US_PER_SEC)
#define TG_US_PER_DAY (24 * TG_US_PER_HOUR)

/* a / b and a mod b rounded toward minus infinity (b > 0). */
static inline int64_t tg_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static inline int64_t tg_floor_mod(int64_t a, int64_t b)
{
	return a - tg_floor_div(a, b) * b;
}

/* How many of the n ascending timestamps at a are at or before t: one
 * more than the index of the last of them, 0 for none. */
static inline size_t tg_times_at_or_before(const int64_t *a, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline int64_t tg_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static inline void tg_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

#endif
