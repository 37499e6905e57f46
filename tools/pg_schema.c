/* pg_schema.c - see pg_schema.h. */
#include "pg_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

/* What a sent call adds to a view's sums, by the one rule of
 * ledger/spend_rule.c: blocked calls only in blocked_calls; a cost is
 * known unless the call had no usage, no price or an estimated cost. */
#define VIEW_SUMS \
	"count(*) FILTER (WHERE NOT blocked) AS calls, " \
	"count(*) FILTER (WHERE blocked) AS blocked_calls, " \
	"sum(input_tokens) FILTER (WHERE NOT blocked) AS input_tokens, " \
	"count(*) FILTER (WHERE NOT blocked AND input_tokens IS NULL) AS input_unknown_calls, " \
	"sum(output_tokens) FILTER (WHERE NOT blocked) AS output_tokens, " \
	"count(*) FILTER (WHERE NOT blocked AND output_tokens IS NULL) AS output_unknown_calls, " \
	"sum(cached_input_tokens) FILTER (WHERE NOT blocked) AS cached_input_tokens, " \
	"sum(reasoning_tokens) FILTER (WHERE NOT blocked) AS reasoning_tokens, " \
	"coalesce(sum(cost_usd) FILTER (WHERE NOT blocked AND NOT usage_unknown AND NOT unpriced " \
	"AND NOT cost_estimated), 0) AS cost_usd, " \
	"count(*) FILTER (WHERE NOT blocked AND (usage_unknown OR unpriced)) AS cost_unknown_calls, " \
	"coalesce(sum(cost_usd) FILTER (WHERE NOT blocked AND cost_estimated AND cost_usd > 0), 0) " \
	"AS estimated_cost_usd, " \
	"count(*) FILTER (WHERE incomplete) AS incomplete_calls "

#define FLAG(name, bit) name " boolean GENERATED ALWAYS AS ((flags & " bit ") <> 0) STORED, "

/* Version 1: the records, their indexes, the Grafana views.  Booleans are
 * generated from flags, so a row can never say two things. */
static const char schema_v1[] =
	"CREATE TABLE tokenguard_records ("
	"id text PRIMARY KEY, "
	"machine text NOT NULL, "
	"ts timestamptz NOT NULL, "
	"provider text NOT NULL, host text NOT NULL, endpoint text NOT NULL, "
	"model text NOT NULL, requested_model text, operation text, "
	"process text NOT NULL, pid integer NOT NULL, status integer NOT NULL, "
	"flags integer NOT NULL, "
	FLAG("stream", "1") FLAG("unpriced", "2") FLAG("incomplete", "4")
	FLAG("usage_unknown", "8") FLAG("blocked", "16") FLAG("downgraded", "32")
	FLAG("clamped", "64") FLAG("too_large", "128") FLAG("stream_error", "256")
	FLAG("cost_estimated", "512")
	"input_tokens bigint, output_tokens bigint, cached_input_tokens bigint, "
	"cache_creation_input_tokens bigint, cache_creation_5m_input_tokens bigint, "
	"cache_creation_1h_input_tokens bigint, reasoning_tokens bigint, "
	"cost_usd double precision NOT NULL, "
	"latency_ms bigint, ttft_ms bigint, "
	"request_id text, response_id text, policy text, error text, "
	"tags_text text NOT NULL, tags jsonb NOT NULL, "
	"synced_at timestamptz NOT NULL DEFAULT now());\n"
	"CREATE INDEX tokenguard_records_ts ON tokenguard_records (ts);\n"
	"CREATE INDEX tokenguard_records_machine_ts ON tokenguard_records (machine, ts);\n"
	"CREATE INDEX tokenguard_records_tags ON tokenguard_records USING gin (tags);\n"
	"CREATE VIEW tokenguard_daily AS SELECT "
	"date_trunc('day', ts, 'UTC') AS day, machine, provider, model, " VIEW_SUMS
	"FROM tokenguard_records GROUP BY 1, 2, 3, 4;\n"
	"CREATE VIEW tokenguard_hourly AS SELECT "
	"date_trunc('hour', ts) AS hour, machine, provider, model, " VIEW_SUMS
	"FROM tokenguard_records GROUP BY 1, 2, 3, 4;\n";

/* Step i brings the schema from version i to i + 1. */
static const char *const steps[TG_PG_SCHEMA_VERSION] = { schema_v1 };

const char *tg_pg_conninfo(const char *over)
{
	const char *v = over ? over : tg_setting(TG_SET_FLEET_POSTGRES);

	return v && *v ? v : NULL;
}

/* msg on one line (libpq's end in a newline and may hold several). */
static void one_line(char *err, size_t n, const char *what, const char *msg)
{
	size_t k;

	snprintf(err, n, "%s%s", what, msg && *msg ? msg : "unknown error");
	for (k = 0; err[k]; k++)
		if (err[k] == '\n' || err[k] == '\r' || err[k] == '\t')
			err[k] = ' ';
	while (k && err[k - 1] == ' ')
		err[--k] = '\0';
}

void tg_pg_error(PGconn *c, const PGresult *res, const char *what, char *err, size_t n)
{
	const char *msg = res ? PQresultErrorMessage(res) : NULL;

	if (!msg || !*msg)
		msg = c ? PQerrorMessage(c) : "out of memory";
	one_line(err, n, what, msg);
}

/* Runs sql (no result rows wanted).  Returns 0 or -1 after saying why. */
static int run(PGconn *c, const char *sql, const char *what, char *err, size_t n)
{
	PGresult *res = PQexec(c, sql);
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		tg_pg_error(c, res, what, err, n);
	PQclear(res);
	return ok ? 0 : -1;
}

/* The server's notices (a WARNING as it shuts down, ...): libpq prints
 * them on stderr by default; what matters reaches us as a failed call. */
static void drop_notice(void *ctx, const char *message)
{
	(void)ctx;
	(void)message;
}

PGconn *tg_pg_connect(const char *conninfo, char *err, size_t n)
{
	/* The conninfo comes last and is expanded, so what it says wins. */
	const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *const values[] = { TG_PG_CONNECT_TIMEOUT_S, "tokenguard", conninfo, NULL };
	PGconn *c = PQconnectdbParams(keys, values, 1);

	if (!c) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		tg_pg_error(c, NULL, "", err, n);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, drop_notice, NULL);
	if (run(c, "SET statement_timeout = '" TG_PG_STATEMENT_TIMEOUT "'; "
	        "SET client_min_messages = warning", "", err, n)) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* The highest version applied, 0 for none (no table).  -1 after saying why. */
static int current_version(PGconn *c, char *err, size_t n)
{
	PGresult *res = PQexec(c, "SELECT to_regclass('tokenguard_schema') IS NOT NULL");
	int v = -1;

	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		tg_pg_error(c, res, "", err, n);
		PQclear(res);
		return -1;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t")) {
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = PQexec(c, "SELECT coalesce(max(version), 0) FROM tokenguard_schema");
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
		v = atoi(PQgetvalue(res, 0, 0));
	else
		tg_pg_error(c, res, "", err, n);
	PQclear(res);
	return v;
}

int tg_pg_schema_init(PGconn *c, int *from, char *err, size_t n)
{
	char sql[128];
	int v;

	*from = 0;
	/* One migrator at a time: the lock ends with the transaction. */
	if (run(c, "BEGIN; SELECT pg_advisory_xact_lock(7408573619260313133); "
	        "CREATE TABLE IF NOT EXISTS tokenguard_schema (version integer PRIMARY KEY, "
	        "applied_at timestamptz NOT NULL DEFAULT now())", "", err, n))
		goto fail;
	if ((v = current_version(c, err, n)) < 0)
		goto fail;
	*from = v;
	if (v > TG_PG_SCHEMA_VERSION) {
		snprintf(err, n, "the schema is at version %d, newer than this tokenguard's %d; "
		         "upgrade tokenguard", v, TG_PG_SCHEMA_VERSION);
		goto fail;
	}
	for (; v < TG_PG_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof sql, "INSERT INTO tokenguard_schema (version) VALUES (%d)", v + 1);
		if (run(c, steps[v], "", err, n) || run(c, sql, "", err, n))
			goto fail;
	}
	if (run(c, "COMMIT", "", err, n))
		goto fail;
	return 0;
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

int tg_pg_schema_check(PGconn *c, char *err, size_t n)
{
	int v = current_version(c, err, n);

	if (v < 0)
		return -1;
	if (v == TG_PG_SCHEMA_VERSION)
		return 0;
	if (v > TG_PG_SCHEMA_VERSION)
		snprintf(err, n, "the schema is at version %d, newer than this tokenguard's %d; "
		         "upgrade tokenguard", v, TG_PG_SCHEMA_VERSION);
	else if (v == 0)
		snprintf(err, n, "no tokenguard schema in this database; create it with "
		         "`tokenguard-report sync --init`");
	else
		snprintf(err, n, "the schema is at version %d, older than this tokenguard's %d; "
		         "migrate it with `tokenguard-report sync --init`", v, TG_PG_SCHEMA_VERSION);
	return -1;
}
