/* zone.c - the report's time zone (see zone.h).  The zone's rules come
 * from the C library (localtime_r() over the tz database): a name given is
 * first checked to be a file of the database that starts as a TZif file,
 * because the C library takes an unknown name for UTC without a word. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "zone.h"

#define ZONEINFO "/usr/share/zoneinfo"

static int chosen;              /* tg_zone_use() was called */
static char shown[TG_ZONE_NAME_MAX] = "UTC";
static int64_t memo_minute = INT64_MIN, memo_offset;

/* A name of the database: a relative path without "..", naming a TZif file
 * under $TZDIR or ZONEINFO. */
static int is_zone(const char *name)
{
	const char *dir = tg_env_get("TZDIR");
	char path[4096], magic[4];
	int fd, ok;

	if (!*name || name[0] == '/' || strstr(name, "..") || strlen(name) >= TG_ZONE_NAME_MAX)
		return 0;
	if (snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : ZONEINFO, name) >=
	    (int)sizeof path)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return 0;
	ok = read(fd, magic, sizeof magic) == (ssize_t)sizeof magic && !memcmp(magic, "TZif", 4);
	close(fd);
	return ok;
}

/* The name of the system's zone, from the link /etc/localtime is on
 * Debian ("../usr/share/zoneinfo/Europe/Berlin"); "local" when it is no
 * link into the database. */
static void name_local(void)
{
	char link[TG_ZONE_NAME_MAX + 64];
	ssize_t n = readlink("/etc/localtime", link, sizeof link - 1);
	const char *at;

	snprintf(shown, sizeof shown, "local");
	if (n <= 0)
		return;
	link[n] = '\0';
	if ((at = strstr(link, "zoneinfo/")) && is_zone(at + strlen("zoneinfo/")))
		snprintf(shown, sizeof shown, "%s", at + strlen("zoneinfo/"));
}

int tg_zone_use(const char *name, char *err, size_t errlen)
{
	char tz[TG_ZONE_NAME_MAX + 1];
	const char *env = tg_env_get("TZ");

	if (name) {
		if (!is_zone(name)) {
			snprintf(err, errlen, "\"%s\" is no zone of the tz database (%s); use a name "
			         "such as Europe/Berlin, America/Los_Angeles or UTC", name, ZONEINFO);
			return -1;
		}
		snprintf(tz, sizeof tz, ":%s", name);
		if (setenv("TZ", tz, 1)) {
			snprintf(err, errlen, "cannot set the zone %s: out of memory", name);
			return -1;
		}
		snprintf(shown, sizeof shown, "%s", name);
	} else {
		if (env && *env)
			snprintf(shown, sizeof shown, "%s", env + (*env == ':'));
		else
			name_local();
	}
	tzset();
	chosen = 1;
	memo_minute = INT64_MIN;
	return 0;
}

const char *tg_zone_name(void)
{
	return shown;
}

/* The minute of us, counted so that times before 1970 are in the right one. */
static int64_t minute_of(int64_t us)
{
	const int64_t m = INT64_C(60000000);

	return us / m - (us % m < 0);
}

int64_t tg_zone_offset(int64_t utc_us)
{
	/* Zone changes fall on whole minutes: one lookup per minute of a
	 * scan in time order. */
	int64_t minute = minute_of(utc_us);
	time_t t = (time_t)(minute * 60);
	struct tm tm;

	if (!chosen)
		return 0;
	if (minute == memo_minute)
		return memo_offset;
	if (!localtime_r(&t, &tm))
		return 0;
	memo_minute = minute;
	memo_offset = tm.tm_gmtoff;
	return memo_offset;
}

int64_t tg_zone_utc_of_local(int64_t local_s)
{
	/* The offsets a day either side stand for the ones before and after
	 * a change near local_s; each gives a candidate, valid when the zone
	 * has that offset at it. */
	int64_t before = tg_zone_offset((local_s - 86400) * 1000000);
	int64_t after = tg_zone_offset((local_s + 86400) * 1000000);
	int64_t a = local_s - before, b = local_s - after;
	int a_ok = tg_zone_offset(a * 1000000) == before;
	int b_ok = tg_zone_offset(b * 1000000) == after;

	if (a_ok && b_ok)
		return a < b ? a : b;
	if (b_ok)
		return b;
	return a;   /* a's offset, or a skipped time read with the offset before */
}
