/* cmd_sync.c - `tokenguard-report sync`: the per-machine agent of a
 * fleet.  One round pushes this machine's spend of every fleet policy to
 * Redis and pulls the other machines' back into the ledger's overlay
 * (sync_redis.h, ledger_fleet.h), which the shim's budget check reads
 * like the local totals: the shim itself never talks to the network.
 *
 * One-shot by default (a cron job or a systemd timer): one round, quiet,
 * exit 0, or 2 with a message when Redis is unconfigured or cannot be
 * reached.  --follow: a round every --interval seconds (default 1) until
 * SIGINT or SIGTERM (exit 0); a failing round is said on stderr once per
 * distinct error and retried at the next interval, so a Redis that comes
 * back is picked up without a restart.
 *
 * Staleness bound: an overlay counts while younger than
 * max(fleet_stale, 3 x interval) (settings.h; --interval given to a
 * one-shot states the timer's period).  Past it a fleet policy counts the
 * local spend alone, or blocks with TOKENGUARD_FAIL=closed.
 *
 * The machine's name is the one the shim stamps into this ledger's
 * records (machine.h: the machine setting, else a keyed hash of
 * /etc/machine-id).
 * Each engine's part runs on its own: a Redis failure does not stop
 * another part of the sync. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decimal.h"
#include "ledger_budget.h"
#include "machine.h"
#include "price.h"
#include "report.h"
#include "settings.h"
#include "stop.h"
#include "sync_redis.h"

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleeps until the monotonic time until_us, or a stop signal. */
static void sleep_until(int64_t until_us)
{
	int64_t left = until_us - mono_us();

	if (left > 0)
		tg_stop_nap_ms((long)((left + 999) / 1000));
}

/* fleet_stale in microseconds: the setting, else 5 s. */
static int stale_bound(const struct tg_report *rep, int64_t *out)
{
	const char *v = tg_setting(TG_SET_FLEET_STALE);
	double s = 5;

	if (v && *v && (tg_decimal_parse(v, &s) || !(s >= 0.1 && s <= 86400)))
		return tg_report_fail(rep, "fleet_stale \"%s\" is not a number of seconds from 0.1 to "
		                      "86400; `tokenguard-report doctor` shows where it is set", v);
	*out = (int64_t)llround(s * 1e6);
	return 0;
}

struct agent {
	struct tg_sync_redis *redis;   /* NULL: no Redis configured */
	char machine[TG_MACHINE_MAX];
	int64_t interval_us;           /* 0: one-shot without --interval */
	int64_t fresh_us;
	char last_error[512];          /* said already (--follow) */
};

/* One round of every configured engine; 0, or TG_EXIT_FAIL after saying
 * why (--follow: each distinct error once). */
static int round_all(const struct tg_report *rep, struct tg_ledger *l, struct agent *a)
{
	char err[512];
	int scopes, failed = 0;

	if (a->redis &&
	    tg_sync_redis_round(a->redis, l, a->machine, a->interval_us, a->fresh_us, &scopes, err,
	                        sizeof err) != 0) {
		failed = 1;
		if (!rep->follow || strcmp(err, a->last_error))
			fprintf(rep->err, "tokenguard-report: sync: Redis: %s%s\n", err,
			        rep->follow ? "; retrying every interval" : "");
		snprintf(a->last_error, sizeof a->last_error, "%s", err);
	} else if (a->redis && a->last_error[0]) {
		fprintf(rep->err, "tokenguard-report: sync: Redis: %s reached again\n",
		        tg_sync_redis_where(a->redis));
		a->last_error[0] = '\0';
	}
	return failed ? TG_EXIT_FAIL : 0;
}

int tg_cmd_sync(const struct tg_report *rep, struct tg_ledger *unused)
{
	struct agent a = { 0 };
	struct tg_ledger *l = NULL;
	struct tg_prices *prices = NULL;
	const char *url = rep->redis ? rep->redis : tg_setting(TG_SET_FLEET_REDIS);
	char err[512];
	int rc;

	if (url && *url && tg_sync_redis_new(&a.redis, url, err, sizeof err))
		return tg_report_fail(rep, "sync: %s", err);
	if (!a.redis)   /* no engine configured: nothing to do is a mistake */
		return tg_report_fail(rep, "sync: no Redis to exchange fleet budgets through; set "
		                      "fleet_redis (TOKENGUARD_FLEET_REDIS) or pass --redis "
		                      "redis://HOST:PORT");
	if (stale_bound(rep, &a.fresh_us)) {
		tg_sync_redis_free(a.redis);
		return TG_EXIT_FAIL;
	}
	a.interval_us = rep->sync_interval > 0 ? (int64_t)llround(rep->sync_interval * 1e6)
	                                        : rep->follow ? 1000000 : 0;
	if (3 * a.interval_us > a.fresh_us)
		a.fresh_us = 3 * a.interval_us;
	/* The agent may start before any program made a call. */
	if ((rc = tg_ledger_open(&l, rep->dir, TG_LEDGER_CREATE)) != 0) {
		tg_sync_redis_free(a.redis);
		return tg_report_dir_fail(rep, rc);
	}
	/* The name the shim stamps into this ledger's records (machine.h). */
	if ((rc = tg_machine_name(rep->dir, a.machine, sizeof a.machine)) != 0) {
		tg_ledger_close(l);
		tg_sync_redis_free(a.redis);
		if (rc == TG_EINVAL)
			return tg_report_fail(rep, "sync: the machine setting (TOKENGUARD_MACHINE) is not "
			                      "a name: 1 to %d characters of [A-Za-z0-9._-]",
			                      TG_MACHINE_MAX - 1);
		return tg_report_fail(rep, "sync: this machine's name cannot be made: %s",
		                      tg_strerror(rc));
	}
	/* Zoned windows' partial hours match model scopes by price family. */
	if (tg_report_load_prices(rep, &prices, "sync") == 0)
		tg_ledger_set_prices(l, prices);
	if (!rep->follow) {
		rc = round_all(rep, l, &a);
	} else {
		tg_stop_on_signals();
		for (int64_t next = mono_us(); !tg_stop_signal;) {
			round_all(rep, l, &a);
			next += a.interval_us;
			if (next < mono_us())   /* a round longer than the interval: no catch-up burst */
				next = mono_us();
			sleep_until(next);
		}
		rc = 0;
	}
	tg_ledger_close(l);
	tg_prices_free(prices);
	tg_sync_redis_free(a.redis);
	return rc;
}
