/* cmd_sync.c - `tokenguard-report sync`: the per-machine agent of a
 * fleet.  One round pushes this machine's spend of every fleet policy to
 * Redis and pulls the other machines' back into the ledger's overlay
 * (sync_redis.h, ledger_fleet.h), which the shim's budget check reads
 * like the local totals: the shim itself never talks to the network;
 * and it pushes the ledger's records not pushed yet to the fleet's
 * PostgreSQL (sync_pg.h), each once, for --fleet reports and Grafana.
 * `sync --init` creates or migrates the PostgreSQL schema and exits.
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
#include "pg_schema.h"
#include "price.h"
#include "report.h"
#include "settings.h"
#include "stop.h"
#include "sync_pg.h"
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
	const char *postgres;          /* conninfo; NULL: no PostgreSQL configured */
	struct tg_sync_pg *pg;         /* its connection, kept across rounds */
	char pg_error[512];            /* said already (--follow) */
	char machine[TG_MACHINE_MAX];
	int64_t interval_us;           /* 0: one-shot without --interval */
	int64_t fresh_us;
	char last_error[512];          /* said already (--follow) */
};

/* The records not pushed yet, to PostgreSQL.  Returns 0, or -1 after
 * saying why (--follow: each distinct error once); the records wait in
 * the ledger for the next round. */
static int push_pg(const struct tg_report *rep, struct tg_ledger *l, struct agent *a)
{
	struct tg_sync_pg_stats st;
	char err[512];

	if (!a->pg && !(a->pg = tg_sync_pg_new(a->postgres))) {
		fprintf(rep->err, "tokenguard-report: sync: PostgreSQL: out of memory\n");
		return -1;
	}
	if (tg_sync_pg_push(a->pg, l, rep->dir, &st, err, sizeof err)) {
		/* Following, an outage is said once, whatever its errors along
		 * the way (refused, then starting up, ...), and so is its end. */
		if (!rep->follow || !a->pg_error[0])
			fprintf(rep->err, "tokenguard-report: sync: PostgreSQL: %s; nothing more was "
			        "marked as sent: the records wait in the ledger%s\n", err,
			        rep->follow ? ", retrying every interval" : " for the next sync");
		snprintf(a->pg_error, sizeof a->pg_error, "%s", err);
		return -1;
	}
	if (a->pg_error[0])
		fprintf(rep->err, "tokenguard-report: sync: PostgreSQL reached again\n");
	a->pg_error[0] = '\0';
	if (st.sent || !rep->follow)
		fprintf(rep->err, "tokenguard-report: sync: %lld records sent to PostgreSQL "
		        "(%lld new rows, %lld already there)\n", (long long)st.sent,
		        (long long)st.inserted, (long long)(st.sent - st.inserted));
	return 0;
}

/* sync --init: the PostgreSQL schema, created or migrated. */
static int init_pg(const struct tg_report *rep, const char *conninfo)
{
	char err[512];
	int from;

	if (!conninfo)
		return tg_report_fail(rep, "sync --init creates the PostgreSQL schema: set "
		                      "fleet_postgres or pass --postgres CONNINFO (e.g. "
		                      "postgresql://tokenguard@db.internal/tokenguard)");
	if (rep->follow)
		return tg_report_fail(rep, "--init runs once; drop --follow");
	if (tg_sync_pg_init(conninfo, &from, err, sizeof err))
		return tg_report_fail(rep, "sync --init: PostgreSQL: %s", err);
	if (from == TG_PG_SCHEMA_VERSION)
		fprintf(rep->out, "schema at version %d already\n", from);
	else
		fprintf(rep->out, "schema at version %d (was %d)\n", TG_PG_SCHEMA_VERSION, from);
	return 0;
}

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
	if (a->postgres && push_pg(rep, l, a))
		failed = 1;
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

	a.postgres = tg_pg_conninfo(rep->postgres);
	if (rep->sync_init)
		return init_pg(rep, a.postgres);
	if (rep->period_given)
		return tg_report_fail(rep, "sync sends what is not sent yet; drop --since, --until "
		                      "and --today");
	if (url && *url && tg_sync_redis_new(&a.redis, url, err, sizeof err))
		return tg_report_fail(rep, "sync: %s", err);
	if (!a.redis && !a.postgres)   /* no engine configured: nothing to do is a mistake */
		return tg_report_fail(rep, "sync: no engine to sync with; set fleet_redis "
		                      "(TOKENGUARD_FLEET_REDIS) or pass --redis redis://HOST:PORT for "
		                      "fleet budgets, fleet_postgres (TOKENGUARD_FLEET_POSTGRES) or "
		                      "--postgres CONNINFO for the fleet's records");
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
	tg_sync_pg_free(a.pg);
	return rc;
}
