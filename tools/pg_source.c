/* pg_source.c - see pg_source.h. */
#include "pg_source.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "ledger_watermark.h"
#include "machine.h"
#include "pg_row.h"
#include "pg_schema.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* The directory removed at exit: one per process. */
static char made_dir[4096];

/* The ids of the rows read, in the order read (which is the copy's key
 * order: ts, then the order appended), then the copy's keys beside them. */
static struct {
	char (*gid)[TG_RECORD_GID_MAX];
	int64_t *ts;
	unsigned char (*key)[16];
	size_t n, cap;
} ids;

static int keep_id(const char *gid, int64_t ts_us)
{
	if (strlen(gid) >= TG_RECORD_GID_MAX)
		return -1;
	if (ids.n == ids.cap) {
		size_t cap = ids.cap ? ids.cap * 2 : 4096;
		void *g = realloc(ids.gid, cap * sizeof *ids.gid), *t;

		if (!g)
			return -1;
		ids.gid = g;
		if (!(t = realloc(ids.ts, cap * sizeof *ids.ts)))
			return -1;
		ids.ts = t;
		ids.cap = cap;
	}
	strcpy(ids.gid[ids.n], gid);
	ids.ts[ids.n++] = ts_us;
	return 0;
}

/* Pairs the copy's keys, in order, with the ids read: the same order, as
 * the time of each pair checks. */
static int pair_key(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	size_t *i = ctx;

	if (*i >= ids.n || ids.ts[*i] != r->ts_us)
		return 1;
	memcpy(ids.key[(*i)++], key, 16);
	return 0;
}

static int pair_keys(struct tg_ledger *l, char *err, size_t n)
{
	unsigned char none[16] = { 0 };
	size_t i = 0;
	int rc;

	if (!(ids.key = malloc((ids.n ? ids.n : 1) * sizeof *ids.key))) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	rc = tg_ledger_scan_after(l, none, 0, pair_key, &i);
	if (rc || i != ids.n) {
		snprintf(err, n, "the temporary ledger does not hold the rows read in their order%s%s",
		         rc < 0 ? ": " : "", rc < 0 ? tg_strerror(rc) : "");
		return -1;
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

const char *tg_pg_fleet_gid(const unsigned char *key)
{
	unsigned char (*k)[16];

	if (!key || !ids.key)
		return NULL;
	k = bsearch(key, ids.key, ids.n, 16, key_cmp);
	return k ? ids.gid[k - ids.key] : NULL;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_made_dir(void)
{
	if (made_dir[0])
		nftw(made_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	made_dir[0] = '\0';
}

static int make_dir(char *dir, size_t dirn, char *err, size_t n)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (made_dir[0]) {
		snprintf(err, n, "a fleet ledger was made already");
		return -1;
	}
	if (snprintf(made_dir, sizeof made_dir, "%s/tokenguard-fleet.XXXXXX", tmp) >=
	    (int)sizeof made_dir || !mkdtemp(made_dir) || snprintf(dir, dirn, "%s", made_dir) >=
	    (int)dirn) {
		snprintf(err, n, "cannot make a temporary directory in %s; set TMPDIR to one "
		         "you can write", tmp);
		made_dir[0] = '\0';
		return -1;
	}
	atexit(remove_made_dir);
	return 0;
}

static int exec_ok(PGconn *c, const char *sql, char *err, size_t n)
{
	PGresult *res = PQexec(c, sql);
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		tg_pg_error(c, res, "", err, n);
	PQclear(res);
	return ok ? 0 : -1;
}

/* DECLARE the cursor over the period's rows, in time order. */
static int declare(PGconn *c, int64_t since_us, int64_t until_us, char *err, size_t n)
{
	char since[64], until[64], sql[2048];
	const char *param[2];
	int np = 0, len;
	PGresult *res;
	int ok;

	len = snprintf(sql, sizeof sql, "DECLARE fleet NO SCROLL CURSOR FOR SELECT %s "
	               "FROM tokenguard_records WHERE true", tg_pg_select_list());
	if (since_us > 0) {
		tg_pg_ts_text(since_us, since);
		param[np++] = since;
		len += snprintf(sql + len, sizeof sql - (size_t)len, " AND ts >= $%d", np);
	}
	if (until_us != INT64_MAX) {
		tg_pg_ts_text(until_us, until);
		param[np++] = until;
		len += snprintf(sql + len, sizeof sql - (size_t)len, " AND ts < $%d", np);
	}
	snprintf(sql + len, sizeof sql - (size_t)len, " ORDER BY ts, id COLLATE \"C\"");
	res = PQexecParams(c, sql, np, NULL, param, NULL, NULL, 0);
	ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		tg_pg_error(c, res, "", err, n);
	PQclear(res);
	return ok ? 0 : -1;
}

/* FETCHes every row into l, TG_FLEET_FETCH at a time. */
static int copy_rows(PGconn *c, struct tg_ledger *l, int want_ids, int64_t *rows, char *err,
                     size_t n)
{
	struct tg_record *r = malloc(TG_FLEET_FETCH * sizeof *r);
	const char *value[TG_PG_READ_COLS];
	int rc = 0;

	if (!r) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	for (;;) {
		PGresult *res = PQexec(c, "FETCH " STR(TG_FLEET_FETCH) " FROM fleet");
		int got;

		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != TG_PG_READ_COLS) {
			tg_pg_error(c, res, "", err, n);
			PQclear(res);
			rc = -1;
			break;
		}
		got = PQntuples(res);
		for (int i = 0; i < got && !rc; i++) {
			for (int k = 0; k < TG_PG_READ_COLS; k++)
				value[k] = PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k);
			if (tg_pg_row_decode(value, &r[i], NULL, r[i].machine, sizeof r[i].machine)) {
				snprintf(err, n, "row %s of tokenguard_records does not decode: a value out "
				         "of its range", value[TG_PG_ID] ? value[TG_PG_ID] : "(no id)");
				rc = -1;
			} else if (want_ids && keep_id(value[TG_PG_ID], r[i].ts_us)) {
				snprintf(err, n, "row %s of tokenguard_records: an id longer than %d bytes, "
				         "or out of memory", value[TG_PG_ID], TG_RECORD_GID_MAX - 1);
				rc = -1;
			}
		}
		PQclear(res);
		if (!rc && got && (rc = tg_ledger_append_many(l, r, NULL, got)) != 0) {
			snprintf(err, n, "the temporary ledger: %s", tg_strerror(rc));
			rc = -1;
		}
		if (rc)
			break;
		*rows += got;
		if (got < TG_FLEET_FETCH)
			break;
	}
	free(r);
	return rc;
}

int tg_pg_fleet_ledger(const char *conninfo, int64_t since_us, int64_t until_us,
                       int want_ids, struct tg_ledger **l, char *dir, size_t dirn,
                       int64_t *rows, char *err, size_t n)
{
	PGconn *c;
	int rc;

	*l = NULL;
	*rows = 0;
	if (!(c = tg_pg_connect(conninfo, err, n)))
		return -1;
	if (tg_pg_schema_check(c, err, n) || make_dir(dir, dirn, err, n)) {
		PQfinish(c);
		return -1;
	}
	if ((rc = tg_ledger_open(l, dir, TG_LEDGER_CREATE)) != 0) {
		snprintf(err, n, "%s: a temporary ledger: %s", dir, tg_strerror(rc));
		PQfinish(c);
		return -1;
	}
	rc = exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, n) ||
	     declare(c, since_us, until_us, err, n) || copy_rows(c, *l, want_ids, rows, err, n) ? -1 : 0;
	PQfinish(c);   /* ends the transaction */
	if (!rc && want_ids)
		rc = pair_keys(*l, err, n);
	if (rc) {
		tg_ledger_close(*l);
		*l = NULL;
	}
	return rc;
}
