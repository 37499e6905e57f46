/* zones.h - the time zones budget windows are counted in, loaded once.
 *
 * Owns: a process's bounded cache of loaded zones (tzif.h) and the one
 * function that gives a policy's window in UTC instants, zoned or not,
 * for the shim's gate, `budget status`, `check` and resets alike.
 *
 * A zone is read from the tz database the first time a policy naming it
 * is loaded (TOKENGUARD_BUDGETS at start, stored policies when the list
 * is read) and kept for the life of the process: at most TG_ZONES_MAX
 * zones, never evicted, so a loaded zone is never freed or changed and
 * lookups take no lock.  A zone that could not be loaded is remembered
 * too (a few of them), so that a bad name costs one attempt, not one per
 * call.  Loading takes a process-local mutex and reads one small file;
 * in the shim every load runs either in its constructor or under the
 * sink's lock, which its fork() handler takes, so no child inherits the
 * mutex held.
 */
#ifndef TG_ZONES_H
#define TG_ZONES_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "tzif.h"

#define TG_ZONES_MAX 8

/* The loaded zone name, loading it when it is not yet.  NULL with a
 * message in err when it cannot be loaded (unknown, unsafe file, bad
 * data, or TG_ZONES_MAX zones already loaded). */
const struct tg_tz *tg_zone_get(const char *name, char *err, size_t errlen);

/* 0 when p's window needs no zone or its zone is loaded (loading it
 * now), else -1 with a message saying why the policy cannot apply. */
int tg_policy_zone_ready(const struct tg_policy *p, char *err, size_t errlen);

/* p's window containing now_us, in UTC microseconds (policy.h).  Returns
 * 0, or TG_EINVAL for a session window, an unknown window, or a zone that
 * cannot be loaded. */
int tg_policy_bounds(const struct tg_policy *p, int64_t now_us, int64_t *start_us,
                     int64_t *reset_us);

/* Tests only: the directory zones are read from (NULL: TG_TZ_DIR), and
 * forgetting every zone.  Not for concurrent use. */
void tg_zones_reset_for_tests(const char *dir);

#endif
