/* sync_pg.c - see sync_pg.h. */
#include "sync_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "deliver.h"
#include "machine.h"
#include "pg_row.h"
#include "pg_schema.h"

/* The rows of one INSERT: every value's text back to back in arena, each
 * one's offset (-1 for NULL). */
struct batch {
	PGconn *c;
	const char *own_machine;    /* for the records whose machine is "" */
	char uid[17];
	struct tg_pg_row row;       /* the one being encoded */
	char *arena;
	size_t used, cap;
	long off[TG_SYNC_PG_BATCH * TG_PG_NCOLS];
	const char *param[TG_SYNC_PG_BATCH * TG_PG_NCOLS];
	int rows;
	struct tg_sync_pg_stats *st;
	char *err;
	size_t errn;
	int failed;                 /* err says why */
};

static int add_row(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	struct batch *b = ctx;
	char gid[TG_RECORD_GID_MAX];

	tg_record_gid(b->uid, key, gid);
	tg_pg_row_encode(r, gid, r->machine[0] ? r->machine : b->own_machine, &b->row);
	for (int i = 0; i < TG_PG_NCOLS; i++) {
		const char *v = b->row.value[i];
		size_t len = v ? strlen(v) + 1 : 0;
		long *off = &b->off[b->rows * TG_PG_NCOLS + i];

		if (!v) {
			*off = -1;
			continue;
		}
		if (b->used + len > b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 1 << 20;
			char *p;

			while (cap < b->used + len)
				cap *= 2;
			if (!(p = realloc(b->arena, cap))) {
				snprintf(b->err, b->errn, "out of memory");
				b->failed = 1;
				return 2;
			}
			b->arena = p;
			b->cap = cap;
		}
		memcpy(b->arena + b->used, v, len);
		*off = (long)b->used;
		b->used += len;
	}
	b->rows++;
	return 0;
}

/* "INSERT ... VALUES ($1, ...), ... ON CONFLICT DO NOTHING" for rows rows.
 * No conflict target: the same statement serves the table partitioned by
 * month (README), whose primary key is (id, ts). */
static char *insert_sql(int rows)
{
	size_t cap = 512 + (size_t)rows * TG_PG_NCOLS * 8, n = 0;
	char *sql = malloc(cap);

	if (!sql)
		return NULL;
	n += (size_t)snprintf(sql + n, cap - n, "INSERT INTO tokenguard_records (");
	for (int i = 0; i < TG_PG_NCOLS; i++)
		n += (size_t)snprintf(sql + n, cap - n, "%s%s", i ? ", " : "", tg_pg_col_name[i]);
	n += (size_t)snprintf(sql + n, cap - n, ") VALUES ");
	for (int r = 0, p = 1; r < rows; r++) {
		n += (size_t)snprintf(sql + n, cap - n, "%s(", r ? ", " : "");
		for (int i = 0; i < TG_PG_NCOLS; i++, p++)
			n += (size_t)snprintf(sql + n, cap - n, "%s$%d", i ? ", " : "", p);
		n += (size_t)snprintf(sql + n, cap - n, ")");
	}
	snprintf(sql + n, cap - n, " ON CONFLICT DO NOTHING");
	return sql;
}

static int send_rows(void *ctx, int n)
{
	struct batch *b = ctx;
	int nparams = b->rows * TG_PG_NCOLS;
	char *sql = insert_sql(b->rows);
	PGresult *res;
	int ok;

	(void)n;
	if (!sql) {
		snprintf(b->err, b->errn, "out of memory");
		b->failed = 1;
		b->rows = 0;
		b->used = 0;
		return 2;
	}
	for (int i = 0; i < nparams; i++)
		b->param[i] = b->off[i] < 0 ? NULL : b->arena + b->off[i];
	res = PQexecParams(b->c, sql, nparams, NULL, b->param, NULL, NULL, 0);
	ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (ok) {
		b->st->inserted += strtoll(PQcmdTuples(res), NULL, 10);
		b->st->batches++;
	} else {
		tg_pg_error(b->c, res, "insert: ", b->err, b->errn);
		b->failed = 1;
	}
	PQclear(res);
	free(sql);
	b->rows = 0;
	b->used = 0;
	return ok ? 0 : 2;
}

int tg_sync_pg_init(const char *conninfo, int *from, char *err, size_t n)
{
	PGconn *c = tg_pg_connect(conninfo, err, n);
	int rc;

	if (!c)
		return -1;
	rc = tg_pg_schema_init(c, from, err, n);
	PQfinish(c);
	return rc;
}

/* The push once connected and the ledger's identity known. */
static int push(struct tg_ledger *l, const char *dir, struct batch *b, char *err, size_t n)
{
	const struct tg_deliver d = { TG_SYNC_PG_WATERMARK, TG_SYNC_PG_BATCH, add_row, send_rows, b };
	enum tg_deliver_stage stage;
	struct tg_watermark m;
	int rc;

	if ((rc = tg_watermark_load(l, TG_SYNC_PG_WATERMARK, &m)) != 0) {
		snprintf(err, n, "%s: cannot read the watermark: %s", dir, tg_strerror(rc));
		return -1;
	}
	rc = tg_deliver(l, &d, &m, &b->st->sent, &stage);
	tg_watermark_free(&m);
	if (!rc)
		return 0;
	if (b->failed)
		return -1;   /* err says why */
	if (stage == TG_DELIVER_STORE)
		snprintf(err, n, "%s: the records were inserted but the watermark could not be "
		         "stored (%s): the next sync sends them again, and they land once",
		         dir, tg_strerror(rc));
	else
		snprintf(err, n, "%s: %s", dir, tg_strerror(rc));
	return -1;
}

struct tg_sync_pg {
	const char *conninfo;
	PGconn *c;            /* NULL until connected, or after it broke */
};

struct tg_sync_pg *tg_sync_pg_new(const char *conninfo)
{
	struct tg_sync_pg *s = calloc(1, sizeof *s);

	if (s)
		s->conninfo = conninfo;
	return s;
}

void tg_sync_pg_free(struct tg_sync_pg *s)
{
	if (!s)
		return;
	PQfinish(s->c);
	free(s);
}

/* s's connection, made (and the schema checked) when there is none.
 * Returns 0, or -1 after saying why into err. */
static int connected(struct tg_sync_pg *s, char *err, size_t n)
{
	if (s->c)
		return 0;
	if (!(s->c = tg_pg_connect(s->conninfo, err, n)))
		return -1;
	if (tg_pg_schema_check(s->c, err, n)) {
		PQfinish(s->c);
		s->c = NULL;
		return -1;
	}
	return 0;
}

/* One attempt through s's connection, made if need be.  A failed attempt
 * drops the connection: whatever went wrong, the next one starts afresh
 * (libpq does not always know yet that the server closed it). */
static int push_once(struct tg_sync_pg *s, struct tg_ledger *l, const char *dir, struct batch *b,
                     char *err, size_t n)
{
	int rc;

	if (connected(s, err, n))
		return -1;
	b->c = s->c;
	b->failed = 0;
	if ((rc = push(l, dir, b, err, n)) != 0) {
		PQfinish(s->c);
		s->c = NULL;
	}
	return rc;
}

int tg_sync_pg_push(struct tg_sync_pg *s, struct tg_ledger *l, const char *dir,
                    struct tg_sync_pg_stats *st, char *err, size_t n)
{
	char machine[TG_MACHINE_MAX];
	struct batch *b;
	int rc, kept = s->c != NULL;

	memset(st, 0, sizeof *st);
	rc = tg_ledger_try_fold(l);
	if (rc && rc != TG_ELOCKED) {
		snprintf(err, n, "%s: %s", dir, tg_strerror(rc));
		return -1;
	}
	if ((rc = tg_machine_name(dir, machine, sizeof machine)) != 0) {
		if (rc == TG_EINVAL)
			snprintf(err, n, "the machine setting (TOKENGUARD_MACHINE) is not a name: use "
			         "letters, digits, '.', '_' and '-', at most %d bytes", TG_MACHINE_MAX - 1);
		else
			snprintf(err, n, "%s: the machine's name: %s", dir, tg_strerror(rc));
		return -1;
	}
	if (!(b = calloc(1, sizeof *b))) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	b->own_machine = machine;
	b->st = st;
	b->err = err;
	b->errn = n;
	if ((rc = tg_ledger_uid(dir, b->uid)) != 0) {
		snprintf(err, n, "%s: the ledger's id: %s", dir, tg_strerror(rc));
		free(b);
		return -1;
	}
	rc = push_once(s, l, dir, b, err, n);
	/* A kept connection that failed (the server restarted since the last
	 * round): what it committed is marked as sent; the rest goes through
	 * a new connection now rather than a round later. */
	if (rc && kept)
		rc = push_once(s, l, dir, b, err, n);
	free(b->arena);
	free(b);
	return rc;
}
