/* zones.c - see zones.h. */
#include "zones.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

#define FAILED_MAX 8

static struct {
	pthread_mutex_t lock;
	struct tg_tz zone[TG_ZONES_MAX];   /* [0, count) are loaded and immutable */
	int count;                         /* read with acquire, written with release */
	/* Names that failed, with the reason: a ring, under lock. */
	struct { char name[TG_TZ_NAME_MAX]; char why[200]; } failed[FAILED_MAX];
	int nfailed, next_failed;
	struct tg_tz_scratch scratch;   /* under lock: no allocation, little stack */
	const char *dir;
} zones = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const struct tg_tz *find(const char *name)
{
	int n = __atomic_load_n(&zones.count, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (!strcmp(zones.zone[i].name, name))
			return &zones.zone[i];
	return NULL;
}

static void remember_failure(const char *name, const char *why)
{
	int i = zones.next_failed;

	snprintf(zones.failed[i].name, sizeof zones.failed[i].name, "%s", name);
	snprintf(zones.failed[i].why, sizeof zones.failed[i].why, "%s", why);
	zones.next_failed = (i + 1) % FAILED_MAX;
	if (zones.nfailed < FAILED_MAX)
		zones.nfailed++;
}

const struct tg_tz *tg_zone_get(const char *name, char *err, size_t errlen)
{
	const struct tg_tz *z = find(name);
	char why[200];

	if (z)
		return z;
	pthread_mutex_lock(&zones.lock);
	if ((z = find(name)) != NULL)
		goto out;
	for (int i = 0; i < zones.nfailed; i++) {
		if (!strcmp(zones.failed[i].name, name)) {
			snprintf(why, sizeof why, "%s", zones.failed[i].why);
			goto failed;
		}
	}
	if (tg_tz_name_check(name, why, sizeof why) != 0)
		goto failed;   /* not remembered: the check costs nothing */
	if (zones.count == TG_ZONES_MAX) {
		snprintf(why, sizeof why, "zone %s: more than %d zones in use; use fewer zones",
		         name, TG_ZONES_MAX);
		remember_failure(name, why);
		goto failed;
	}
	if (tg_tz_load(zones.dir ? zones.dir : TG_TZ_DIR, name, &zones.zone[zones.count],
	               &zones.scratch, why, sizeof why) != 0) {
		remember_failure(name, why);
		goto failed;
	}
	z = &zones.zone[zones.count];
	__atomic_store_n(&zones.count, zones.count + 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&zones.lock);
	return z;
failed:
	pthread_mutex_unlock(&zones.lock);
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return NULL;
}

int tg_policy_zone_ready(const struct tg_policy *p, char *err, size_t errlen)
{
	if (!p->zone[0])
		return 0;
	return tg_zone_get(p->zone, err, errlen) ? 0 : -1;
}

int tg_policy_bounds(const struct tg_policy *p, int64_t now_us, int64_t *start_us,
                     int64_t *reset_us)
{
	const struct tg_tz *z = NULL;

	if (p->zone[0] && !(z = tg_zone_get(p->zone, NULL, 0)))
		return TG_EINVAL;
	return tg_window_bounds_tz(p->window, z, now_us, start_us, reset_us);
}

void tg_zones_reset_for_tests(const char *dir)
{
	zones.count = 0;
	zones.nfailed = zones.next_failed = 0;
	zones.dir = dir;
}
