/* ledger_verify.c - `tokenguard-report verify`'s check of a ledger (what
 * is checked is in ledger_verify.h).  Read-only: one read transaction of
 * the ledger and a read of the spools, nothing locked or folded.
 *
 * A damaged B-tree page makes LMDB return MDB_CORRUPTED or
 * MDB_PAGE_NOTFOUND from a cursor; that ends the walk of that database
 * and is reported as a problem, the other databases are still checked.
 * data.mdb's length was checked against its header before the
 * transaction (ledger.c), so no page beyond the file is touched; a page
 * inside it whose pointers are garbage can still mislead LMDB, which has
 * no check of its own for that: only a page-by-page reader could guard
 * it, and this is not one. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "ledger_budget.h"
#include "ledger_impl.h"
#include "ledger_verify.h"
#include "record_codec.h"
#include "total_map.h"

#define USD_REL_TOLERANCE 1e-9
#define USD_ABS_TOLERANCE 1e-12   /* sums of a few cents' rounding noise */

struct check {
	struct tg_ledger *l;
	MDB_txn *txn;
	const struct tg_prices *prices;
	struct tg_verify *v;
	tg_verify_note_fn note;
	void *ctx;
	struct tg_total_map expect;
	unsigned char from[16];
	int has_from;
};

static void problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct check *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	c->v->problems++;
	if (!c->note)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	c->note(c->ctx, buf);
}

/* "2026-11-22T08:33:11.123456Z pid 77 #3" for a record or alert key. */
static void key_text(const MDB_val *k, char *buf, size_t n)
{
	const unsigned char *p = k->mv_data;
	int64_t ts, secs, y;
	int m, d;

	if (k->mv_size != 16) {
		snprintf(buf, n, "a key of %zu bytes", k->mv_size);
		return;
	}
	ts = (int64_t)(tg_get_be64(p) & INT64_MAX);
	secs = ts / 1000000;
	tg_civil_from_days(secs / 86400, &y, &m, &d);
	snprintf(buf, n, "%04lld-%02d-%02dT%02lld:%02lld:%02lld.%06lldZ pid %u #%u", (long long)y,
	         m, d, (long long)(secs % 86400 / 3600), (long long)(secs % 3600 / 60),
	         (long long)(secs % 60), (long long)(ts % 1000000), tg_get_be32(p + 8),
	         tg_get_be32(p + 12));
}

static void read_error(struct check *c, const char *what, int rc)
{
	problem(c, "reading %s stopped: %s", what, tg_strerror(tgl_ledger_err(rc)));
}

static void add_to_sum(struct tg_verify *v, const struct tg_record *r)
{
	struct tg_total a;

	tg_total_of_record(r, &a);
	tg_total_sum(&v->sum, &a);
}

/* Calls fn for each entry of db in key order, until fn returns nonzero.
 * A cursor error ends the walk and is a problem of `what` (the other
 * databases are still checked); only TG_ENOMEM from fn ends the check. */
static int walk(struct check *c, MDB_dbi db, const char *what,
                int (*fn)(struct check *c, const MDB_val *k, const MDB_val *d))
{
	MDB_val k, d;
	MDB_cursor *cur;
	int rc;

	if ((rc = mdb_cursor_open(c->txn, db, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		if ((rc = fn(c, &k, &d)) != 0)
			break;
	mdb_cursor_close(cur);
	if (rc == TG_ENOMEM)
		return rc;
	if (rc != MDB_NOTFOUND)
		read_error(c, what, rc);
	return 0;
}

static int check_record(struct check *c, const MDB_val *k, const MDB_val *d)
{
	struct tg_record r;
	char key[96];

	c->v->records++;
	if (k->mv_size != 16 || tg_record_decode(&r, d->mv_data, d->mv_size) != 0) {
		c->v->records_bad++;
		key_text(k, key, sizeof key);
		problem(c, "record %s does not decode (%zu bytes)", key, d->mv_size);
		return 0;
	}
	add_to_sum(c->v, &r);
	if (!c->l->has_budget_dbs || !tgl_totals_cover(k->mv_data, c->from, c->has_from)) {
		c->v->records_before++;
		return 0;
	}
	return tgl_totals_each(&r, tgl_record_family(c->prices, &r), tg_total_map_add, &c->expect);
}

static int usd_equal(double a, double b)
{
	double diff = fabs(a - b);

	return diff <= USD_ABS_TOLERANCE || diff <= USD_REL_TOLERANCE * fmax(fabs(a), fabs(b));
}

/* A value of the first layout (partial) has only the first four fields
 * to compare. */
static int total_equal(const struct tg_total *a, const struct tg_total *b)
{
	return usd_equal(a->usd, b->usd) && a->tokens == b->tokens && a->calls == b->calls &&
	       a->blocked == b->blocked &&
	       (a->partial || b->partial ||
	        (usd_equal(a->usd_known, b->usd_known) && a->unpriced == b->unpriced &&
	         a->usage_unknown == b->usage_unknown && a->tokens_unknown == b->tokens_unknown &&
	         usd_equal(a->usd_estimated, b->usd_estimated) && a->estimated == b->estimated));
}

static void total_problem(struct check *c, const unsigned char *key, size_t klen,
                          const char *what, const struct tg_total *stored,
                          const struct tg_total *sum)
{
	char name[512];

	c->v->totals_bad++;
	tgl_total_key_describe(key, klen, name, sizeof name);
	if (stored->partial || sum->partial)
		problem(c, "total %s %s: stored usd=%.9g tokens=%lld calls=%lld blocked=%lld, "
		        "records sum to usd=%.9g tokens=%lld calls=%lld blocked=%lld", name, what,
		        stored->usd, (long long)stored->tokens, (long long)stored->calls,
		        (long long)stored->blocked, sum->usd, (long long)sum->tokens,
		        (long long)sum->calls, (long long)sum->blocked);
	else
		problem(c, "total %s %s: stored usd=%.9g tokens=%lld calls=%lld blocked=%lld "
		        "usd_known=%.9g unpriced=%lld usage_unknown=%lld tokens_unknown=%lld, "
		        "records sum to usd=%.9g tokens=%lld calls=%lld blocked=%lld "
		        "usd_known=%.9g unpriced=%lld usage_unknown=%lld tokens_unknown=%lld",
		        name, what, stored->usd, (long long)stored->tokens,
		        (long long)stored->calls, (long long)stored->blocked, stored->usd_known,
		        (long long)stored->unpriced, (long long)stored->usage_unknown,
		        (long long)stored->tokens_unknown, sum->usd, (long long)sum->tokens,
		        (long long)sum->calls, (long long)sum->blocked, sum->usd_known,
		        (long long)sum->unpriced, (long long)sum->usage_unknown,
		        (long long)sum->tokens_unknown);
}

static const struct tg_total zero_total;

static int check_total(struct check *c, const MDB_val *k, const MDB_val *d)
{
	struct tg_total_entry *e = tg_total_map_find(&c->expect, k->mv_data, k->mv_size);
	const struct tg_total *sum = e ? &e->sum : &zero_total;
	struct tg_total stored;

	c->v->totals++;
	if (tgl_total_decode(d, &stored) != 0) {
		total_problem(c, k->mv_data, k->mv_size, "does not decode", &zero_total, sum);
		return 0;
	}
	if (e)
		e->seen = 1;
	if (!total_equal(&stored, sum))
		total_problem(c, k->mv_data, k->mv_size, e ? "is wrong" : "has no records", &stored,
		              sum);
	return 0;
}

static int check_totals(struct check *c)
{
	int rc = walk(c, c->l->totals, "totals", check_total);

	if (rc)
		return rc;
	for (size_t i = 0; i < c->expect.cap; i++) {
		struct tg_total_entry *e = &c->expect.slot[i];

		if (e->key && !e->seen)
			total_problem(c, e->key, e->klen, "is missing", &zero_total, &e->sum);
	}
	return 0;
}

static int check_policy(struct check *c, const MDB_val *k, const MDB_val *d)
{
	char name[TG_POLICY_NAME_MAX];
	struct tg_policy p;

	(void)d;
	c->v->policies++;
	snprintf(name, sizeof name, "%.*s", (int)k->mv_size, (const char *)k->mv_data);
	if (k->mv_size >= sizeof name || tgl_policy_get_txn(c->l, c->txn, name, &p) != 0) {
		c->v->policies_bad++;
		problem(c, "policy %s does not parse", name);
	}
	return 0;
}

static int check_alert(struct check *c, const MDB_val *k, const MDB_val *d)
{
	struct tg_alert a;
	char key[96];

	c->v->alerts++;
	if (k->mv_size != 16 || tgl_alert_decode(d->mv_data, d->mv_size, &a) != 0) {
		c->v->alerts_bad++;
		key_text(k, key, sizeof key);
		problem(c, "alert %s does not decode", key);
	}
	return 0;
}

static int spool_entry(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct check *c = ctx;
	MDB_val k = { 16, (void *)p }, d;
	struct tg_record r;
	struct tg_alert a;
	char family[TG_MODEL_MAX];

	switch (type) {
	case TG_SPOOL_RECORD:
		if (tgl_spool_parse_record(p, n, &r, family, &d) != 0)
			break;
		if (mdb_get(c->txn, c->l->records, &k, &d) == MDB_NOTFOUND) {
			c->v->spool_pending++;
			add_to_sum(c->v, &r);
		}
		return 0;
	case TG_SPOOL_ALERT:
	case TG_SPOOL_ALERT_ONCE:
		if (n < 16 || tgl_alert_decode(p + 16, n - 16, &a) != 0 || !tg_alert_valid(&a))
			break;
		return 0;
	default:
		return 0;   /* a type from a later version */
	}
	c->v->spool_bad++;
	c->v->spool_problems++;
	problem(c, "a spooled %s of %zu bytes does not decode: no fold will apply it",
	        type == TG_SPOOL_RECORD ? "record" : "alert", n);
	return 0;
}

static void check_spools(struct check *c)
{
	struct tg_spool_stats *st = &c->v->spool;
	int64_t before = c->v->problems;
	int rc = tg_spool_read_all(c->l->dirfd, NULL, spool_entry, c, st, NULL, NULL);

	if (rc)
		problem(c, "the spool directory cannot be read: %s", tg_strerror(rc));
	if (st->damaged)
		problem(c, "%d spool file(s) have a damaged entry: it and what follows it in that "
		        "file cannot be folded in", st->damaged);
	if (st->torn)
		problem(c, "%d spool file(s) of writers that are gone end in a partial entry, "
		        "which is lost", st->torn);
	if (st->skipped)
		problem(c, "%d name(s) in the spool directory are not spool files of yours; "
		        "remove what you did not put there", st->skipped);
	c->v->spool_problems += c->v->problems - before;
}

static int verify_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct check *c = ctx;
	int rc;

	c->txn = txn;
	tg_total_map_free(&c->expect);
	memset(c->v, 0, sizeof *c->v);
	if (l->has_budget_dbs && (rc = tgl_totals_from_get(l, txn, c->from, &c->has_from)) != 0)
		read_error(c, "meta totals_from", rc);
	if ((rc = walk(c, l->records, "records", check_record)) != 0)
		return rc;
	if (l->has_budget_dbs &&
	    ((rc = check_totals(c)) != 0 || (rc = walk(c, l->policies, "policies", check_policy)) != 0 ||
	     (rc = walk(c, l->alerts, "alerts", check_alert)) != 0))
		return rc;
	check_spools(c);
	return 0;
}

int tg_ledger_verify(struct tg_ledger *l, const struct tg_prices *prices, struct tg_verify *v,
                     tg_verify_note_fn note, void *ctx)
{
	struct check c;
	int rc;

	memset(&c, 0, sizeof c);
	c.l = l;
	c.prices = prices;
	c.v = v;
	c.note = note;
	c.ctx = ctx;
	rc = tgl_ledger_read(l, verify_txn, &c);
	tg_total_map_free(&c.expect);
	return rc;
}
