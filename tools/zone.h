/* zone.h - the time zone the report shows local days, weeks and hours in
 * and reads bare dates in (--timezone; default the local zone: TZ, else
 * /etc/localtime).  Ledger records stay UTC; only their grouping and the
 * reading of dates depend on the zone.
 *
 * Owns: choosing the zone (a name of the system tz database, checked to be
 * one), a timestamp's UTC offset in it and the UTC time of a local wall
 * time.  The C library's zone machinery does the work: the report is a
 * process of its own, so setting TZ in it is safe (the shim never does).
 * Until tg_zone_use() is called everything is UTC, so code that never
 * chooses a zone (the unit tests of the pure date arithmetic) stays so. */
#ifndef TG_ZONE_H
#define TG_ZONE_H

#include <stddef.h>
#include <stdint.h>

#define TG_ZONE_NAME_MAX 128

/* Chooses the zone: name (a tz database name such as Europe/Berlin, or
 * UTC), or the local zone when name is NULL.  Returns 0, or -1 with why in
 * err when name is no zone of the database. */
int tg_zone_use(const char *name, char *err, size_t errlen);

/* Seconds east of UTC in the zone at utc_us. */
int64_t tg_zone_offset(int64_t utc_us);

/* The UTC seconds of a local wall time given as seconds since the local
 * epoch (1970-01-01T00:00 local).  A time that occurs twice (the hour
 * repeated when DST ends) is the first; one skipped (DST starts) is read
 * with the offset before the change, i.e. lands after it. */
int64_t tg_zone_utc_of_local(int64_t local_s);

/* The zone's name as the report shows it ("UTC", "Asia/Tokyo", "local"). */
const char *tg_zone_name(void);

#endif
