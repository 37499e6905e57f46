/* when.h - the report's notion of time: parsing the values of every
 * option that takes a date and formatting ledger timestamps.  A ledger
 * timestamp is microseconds since the epoch, UTC.  Dates without a zone
 * are read in the report's zone (zone.h: UTC until one is chosen); the
 * *_memo, day and month functions format whatever time they are given, so
 * a caller wanting local days passes tg_when_local(us). */
#ifndef TG_WHEN_H
#define TG_WHEN_H

#include <stdint.h>

#define TG_WHEN_ISO_MAX 32  /* "2026-11-22T08:33:11.123Z" and NUL, with room */

/* Parses s into *out_us.  Accepted:
 *   YYYY-MM-DD or YYYYMMDD              local midnight of that day, or of the
 *                                       next day when end_of_day is set (so
 *                                       --until 2026-11-30 includes the 30th)
 *   today, yesterday                    the same for the local day of now_us
 *                                       or the one before
 *   YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|+HH:MM|-HH:MM|+HHMM]
 *                                       no zone means the report's zone
 *   N{s,m,h,d,w}                        N units before now_us (7d, 12h, 30m)
 * Returns 0, or -1 when s is none of these or names an impossible date. */
int tg_when_parse(const char *s, int64_t now_us, int end_of_day, int64_t *out_us);

/* ISO 8601 UTC with milliseconds: 2026-11-22T08:33:11.123Z */
void tg_when_iso(int64_t us, char buf[TG_WHEN_ISO_MAX]);

/* tg_when_iso() for a run of timestamps, most of them on the same day as
 * the one before (a scan in time order): the date is worked out once per
 * day.  Start with TG_WHEN_MEMO_INIT.  Returns the length written (NUL
 * not counted). */
struct tg_when_memo {
	int64_t day;      /* days since the epoch of date; INT64_MIN: none yet */
	char date[10];    /* YYYY-MM-DD, no NUL */
};
#define TG_WHEN_MEMO_INIT { INT64_MIN, { 0 } }
int tg_when_iso_memo(struct tg_when_memo *m, int64_t us, char buf[TG_WHEN_ISO_MAX]);

/* tg_when_day() and tg_when_month() with the same memo. */
void tg_when_day_memo(struct tg_when_memo *m, int64_t us, char buf[11]);
void tg_when_month_memo(struct tg_when_memo *m, int64_t us, char buf[8]);

/* YYYY-MM-DD and YYYY-MM of us (UTC). */
void tg_when_day(int64_t us, char buf[11]);
void tg_when_month(int64_t us, char buf[8]);

/* Midnight UTC at or before us. */
int64_t tg_when_day_start(int64_t us);

/* us moved by the report zone's offset at us: its local wall time read
 * as if it were UTC, for the day, month, week and hour functions. */
int64_t tg_when_local(int64_t us);

/* The ISO 8601 week of us: 2026-W48 (weeks start on Monday and belong to
 * the year of their Thursday). */
void tg_when_week(int64_t us, char buf[9]);

/* The hour of the day of us: 00 to 23. */
void tg_when_hour(int64_t us, char buf[3]);

/* us in the report's zone, to the minute, with its offset:
 * 2026-11-22T17:33+09:00.  Returns the length written. */
int tg_when_local_iso(int64_t us, char buf[TG_WHEN_ISO_MAX]);

/* us in the report's zone to the second, for people: 2026-11-22 17:33:05.
 * Returns the length written. */
#define TG_WHEN_LOCAL_MAX 20
int tg_when_local_seconds(int64_t us, char buf[TG_WHEN_LOCAL_MAX]);

#endif
