/* cmd_sync.c - `tokenguard-report sync`: the per-machine agent that pushes
 * this ledger's records to the fleet's PostgreSQL (sync_pg.h).
 *
 *   sync --init            creates or migrates the schema (pg_schema.h)
 *   sync                   one push, for cron or a systemd timer
 *   sync --follow          a push every --interval seconds (default 60)
 *                          until SIGINT or SIGTERM, for a service
 *
 * The database is --postgres CONNINFO, else the fleet_postgres setting.
 * One-shot, a failure exits 2 with what went wrong; records not sent wait
 * in the ledger for the next run.  Following, a failure is said once
 * (and the recovery once), and the next interval tries again.  The agent
 * runs beside the instrumented programs, never inside them: the shim only
 * writes the local ledger and never waits on this. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pg_schema.h"
#include "report.h"
#include "sync_pg.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* sleep that SIGINT / SIGTERM cut short; 1 when stopped. */
static int nap(double s)
{
	struct timespec t = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (!stop && nanosleep(&t, &t) && errno == EINTR)
		;
	return stop;
}

/* One push of the ledger in rep->dir.  Returns 0, or -1 with err set. */
static int push_once(const struct tg_report *rep, const char *conninfo,
                     struct tg_sync_pg_stats *st, char *err, size_t n)
{
	struct tg_ledger *l;
	int rc = tg_ledger_open(&l, rep->dir, 0);

	memset(st, 0, sizeof *st);
	/* No call recorded here yet: nothing to send, no failure (a timer
	 * installed before the first call). */
	if (rc == TG_ENOENT)
		return 0;
	if (rc) {
		snprintf(err, n, "%s: %s", rep->dir, tg_strerror(rc));
		return -1;
	}
	rc = tg_sync_pg_push(l, rep->dir, conninfo, st, err, n);
	tg_ledger_close(l);
	return rc;
}

static void said_sent(const struct tg_report *rep, const struct tg_sync_pg_stats *st)
{
	fprintf(rep->err, "tokenguard-report: sync: %lld records sent to PostgreSQL "
	        "(%lld new rows, %lld already there)\n", (long long)st->sent,
	        (long long)st->inserted, (long long)(st->sent - st->inserted));
}

static int follow(const struct tg_report *rep, const char *conninfo)
{
	struct tg_sync_pg_stats st;
	struct sigaction sa;
	char err[1024];
	int failing = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	do {
		if (push_once(rep, conninfo, &st, err, sizeof err)) {
			if (!failing)
				fprintf(rep->err, "tokenguard-report: sync: %s; the records wait in the "
				        "ledger, retrying every %gs\n", err, rep->interval_s);
			failing = 1;
		} else {
			if (failing)
				fprintf(rep->err, "tokenguard-report: sync: PostgreSQL reached again\n");
			failing = 0;
			if (st.sent)
				said_sent(rep, &st);
		}
		fflush(rep->err);
	} while (!nap(rep->interval_s));
	return 0;
}

int tg_cmd_sync(const struct tg_report *rep, struct tg_ledger *unused)
{
	const char *conninfo = tg_pg_conninfo(rep->postgres);
	struct tg_sync_pg_stats st;
	char err[1024];
	int from;

	(void)unused;
	if (!conninfo)
		return tg_report_fail(rep, "sync needs a database: --postgres CONNINFO, or "
		                      "fleet_postgres in the configuration file "
		                      "(e.g. postgresql://tokenguard@db.internal/tokenguard)");
	if (rep->period_given)
		return tg_report_fail(rep, "sync sends every record not sent yet; drop --since, "
		                      "--until and --today");
	if (rep->sync_init) {
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
	if (rep->follow)
		return follow(rep, conninfo);
	if (push_once(rep, conninfo, &st, err, sizeof err))
		return tg_report_fail(rep, "sync: %s; nothing more was marked as sent: the records "
		                      "wait in the ledger for the next sync", err);
	said_sent(rep, &st);
	return 0;
}
