/* test_report_totals.c - tg_ledger_sum(): what `check` sums, read from the
 * budget totals where they answer, must be what reading every record
 * gives, on the same ledger: whole hours and partial ones, every kind of
 * scope, spooled records, hours before totals_from, and buckets of the
 * first layout, which lack the report fields. */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "ledger_budget.h"
#include "ledger_impl.h"
#include "record_codec.h"

#define H (INT64_C(3600) * 1000000)
#define T0 INT64_C(1767225600000000)   /* 2026-01-01T00:00:00Z */
#define NREC 400

static char dir[64];

static void setup(void)
{
	tgt_tmpdir(dir, sizeof dir, "tg-sum");
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(report_totals, .init = setup, .fini = teardown);

/* Costs are multiples of 1/1024, so that every sum is exact whatever its
 * order and the two ways must agree to the bit. */
static struct tg_record sample(int i)
{
	static const char *const providers[] = { "openai", "anthropic", "OpenAI" };
	static const char *const tags[] = { "team=a,env=prod", "team=b", "", "team=a,team=a" };
	uint32_t flags = i % 11 == 0 ? TG_REC_BLOCKED : i % 7 == 0 ? TG_REC_UNPRICED :
	                 i % 9 == 0 ? TG_REC_USAGE_UNKNOWN : 0;
	struct tg_record r = tgt_record(T0 + (int64_t)i * (H / 7) + i % 13, providers[i % 3],
	                                i % 2 ? "gpt-4o" : "claude-sonnet-4", i % 5 ? "python3" : "node",
	                                tags[i % 4], i % 6 ? 100 + i : TG_COUNT_UNKNOWN, 10 + i,
	                                (double)(i % 17) / 1024, flags);
	return r;
}

static void fill(struct tg_ledger *l, int from, int to)
{
	for (int i = from; i < to; i++) {
		struct tg_record r = sample(i);

		tgt_put_record(l, &r);
	}
}

/* What tg_policy_matches() reads of a record. */
#define SCOPE_TEXT (TG_TEXT_PROVIDER | TG_TEXT_MODEL | TG_TEXT_PROCESS | TG_TEXT_TAGS)

static int match_scope(void *ctx, const struct tg_record *r)
{
	const struct tg_policy *p = ctx;
	struct tg_call c = { r->provider, r->model, r->model, r->process, r->tags, NULL };

	return tg_policy_matches(p, &c);
}

static struct tg_policy scope(enum tg_scope s, const char *value)
{
	struct tg_policy p;

	memset(&p, 0, sizeof p);
	p.scope = s;
	snprintf(p.scope_value, sizeof p.scope_value, "%s", value);
	return p;
}

static void same(const struct tg_total *a, const struct tg_total *b, const char *what)
{
	cr_assert_eq(a->calls, b->calls, "%s: calls %lld %lld", what, (long long)a->calls, (long long)b->calls);
	cr_assert_eq(a->tokens, b->tokens, "%s: tokens", what);
	cr_assert_eq(a->blocked, b->blocked, "%s: blocked", what);
	cr_assert_eq(a->unpriced, b->unpriced, "%s: unpriced", what);
	cr_assert_eq(a->usage_unknown, b->usage_unknown, "%s: usage_unknown", what);
	cr_assert_eq(a->tokens_unknown, b->tokens_unknown, "%s: tokens_unknown", what);
	cr_assert(a->usd_known == b->usd_known, "%s: usd_known %.17g != %.17g", what,
	          a->usd_known, b->usd_known);
	cr_assert(a->usd == b->usd, "%s: usd %.17g != %.17g", what, a->usd, b->usd);
}

/* Sums p's records over [since, until) both ways; returns how the totals
 * way went. */
static struct tg_sum_how agree(struct tg_ledger *l, struct tg_policy p, int64_t since,
                               int64_t until)
{
	struct tg_total by_totals, by_records;
	struct tg_sum_how how, scan;
	char what[700];

	snprintf(what, sizeof what, "scope %d %s, [%lld, %lld)", (int)p.scope, p.scope_value,
	         (long long)since, (long long)until);
	cr_assert_eq(tg_ledger_sum(l, &p, since, until, SCOPE_TEXT, match_scope, &p, &by_totals, &how), 0);
	cr_assert_eq(tg_ledger_sum(l, NULL, since, until, SCOPE_TEXT, match_scope, &p, &by_records, &scan), 0);
	cr_assert_eq(scan.buckets, 0);
	same(&by_totals, &by_records, what);
	return how;
}

static const int64_t periods[][2] = {
	{ 0, INT64_MAX },
	{ T0, T0 + 10 * H },                    /* whole hours */
	{ T0 + H / 2, T0 + 20 * H + 5 },        /* partial hours at both ends */
	{ T0 + 3 * H + 1, T0 + 3 * H + 99 },    /* inside one hour */
	{ T0 + 30 * H, INT64_MAX },
	{ 0, T0 + 7 * H - 1 },
	{ T0 + 100 * H, T0 + 200 * H },         /* after the last record */
};

static void agree_everywhere(struct tg_ledger *l, int64_t *buckets)
{
	const struct tg_policy scopes[] = {
		scope(TG_SCOPE_GLOBAL, ""), scope(TG_SCOPE_PROVIDER, "openai"),
		scope(TG_SCOPE_PROVIDER, "anthropic"), scope(TG_SCOPE_PROCESS, "node"),
		scope(TG_SCOPE_TAG, "team=a"), scope(TG_SCOPE_TAG, "env=prod"),
		scope(TG_SCOPE_TAG, "team=nobody"), scope(TG_SCOPE_MODEL, "gpt-4o"),
	};

	*buckets = 0;
	for (size_t s = 0; s < sizeof scopes / sizeof scopes[0]; s++)
		for (size_t i = 0; i < sizeof periods / sizeof periods[0]; i++)
			*buckets += agree(l, scopes[s], periods[i][0], periods[i][1]).buckets;
}

Test(report_totals, reads_whole_hours_from_buckets_and_agrees_with_the_records)
{
	struct tg_ledger *l;
	struct tg_sum_how how;
	int64_t buckets;

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	fill(l, 0, NREC);
	agree_everywhere(l, &buckets);
	cr_assert_gt(buckets, 0);
	/* The whole ledger in global: only buckets, no record read. */
	how = agree(l, scope(TG_SCOPE_GLOBAL, ""), 0, INT64_MAX);
	cr_assert_eq(how.scanned, 0);
	cr_assert_gt(how.buckets, NREC / 8);
	/* Partial hours at the ends: those records are read, no more. */
	how = agree(l, scope(TG_SCOPE_GLOBAL, ""), T0 + H / 2, T0 + 20 * H + 5);
	cr_assert_gt(how.scanned, 0);
	cr_assert_lt(how.scanned, 10);
	tg_ledger_close(l);
}

Test(report_totals, counts_spooled_records_once)
{
	struct tg_ledger *holder, *w;
	struct tg_sum_how how;
	int64_t buckets;

	cr_assert_eq(tg_ledger_open(&holder, dir, TG_LEDGER_CREATE), 0);
	cr_assert_eq(tg_ledger_open(&w, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL), 0);
	/* Committed by a handle that waits: a spooling one would spool after
	 * a commit slower than 50 ms, which a loaded machine can take. */
	fill(holder, 0, NREC / 2);
	cr_assert_eq(tgl_writer_lock(holder, 0, 0), 0);
	for (int i = NREC / 2; i < NREC; i++) {
		struct tg_record r = sample(i);

		cr_assert_eq(tg_ledger_append(w, &r), TG_LEDGER_SPOOLED);
	}
	agree_everywhere(w, &buckets);
	how = agree(w, scope(TG_SCOPE_GLOBAL, ""), 0, INT64_MAX);
	cr_assert_eq(how.spooled, NREC - NREC / 2);
	tgl_writer_unlock(holder);
	cr_assert_eq(tg_ledger_fold(holder, NULL, NULL), 0);
	agree_everywhere(w, &buckets);
	how = agree(w, scope(TG_SCOPE_GLOBAL, ""), 0, INT64_MAX);
	cr_assert_eq(how.spooled, 0);
	cr_assert_eq(how.scanned, 0);
	tg_ledger_close(w);
	tg_ledger_close(holder);
}

/* Rewrites every totals value in the first layout's 32 bytes, as a
 * version before the report fields left them. */
static int shorten_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	enum { MAXK = 20000, KLEN = 512 };
	static unsigned char keys[MAXK][KLEN], vals[MAXK][32];
	static size_t klen[MAXK];
	MDB_cursor *cur;
	MDB_val k, d;
	size_t n = 0;
	int rc;

	/* Keys first, then the puts: a cursor would be moved by them. */
	cr_assert_eq(mdb_cursor_open(txn, l->totals, &cur), 0);
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		cr_assert_lt(n, MAXK);
		cr_assert_leq(k.mv_size, KLEN);
		cr_assert_geq(d.mv_size, 32);
		memcpy(keys[n], k.mv_data, k.mv_size);
		klen[n] = k.mv_size;
		memcpy(vals[n++], d.mv_data, 32);
	}
	mdb_cursor_close(cur);
	cr_assert_eq(rc, MDB_NOTFOUND);
	for (size_t i = 0; i < n; i++) {
		k.mv_size = klen[i];
		k.mv_data = keys[i];
		d.mv_size = 32;
		d.mv_data = vals[i];
		cr_assert_eq(mdb_put(txn, l->totals, &k, &d, 0), 0);
	}
	return 0;
}

Test(report_totals, reads_the_records_of_buckets_of_the_first_layout)
{
	struct tg_ledger *l;
	struct tg_sum_how how;
	int64_t buckets;

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	fill(l, 0, NREC / 2);
	cr_assert_eq(tgl_ledger_write(l, shorten_txn, NULL), 0);
	/* Later records add to those buckets (which stay short) and make
	 * new ones of the second layout. */
	fill(l, NREC / 2, NREC);
	agree_everywhere(l, &buckets);
	how = agree(l, scope(TG_SCOPE_GLOBAL, ""), 0, INT64_MAX);
	cr_assert_gt(how.scanned, NREC / 2 - 1);
	cr_assert_lt(how.scanned, NREC);
	cr_assert_gt(how.buckets, 0);
	tg_ledger_close(l);
}

/* A ledger as schema 1 left it, holding records 0 .. n-1: meta and
 * records only (as test_budget_ledger.c makes one). */
static void make_schema1(int n)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, rec;
	unsigned char one[4] = { 0, 0, 0, 1 };
	MDB_val k = { 6, "schema" }, d = { 4, one };

	cr_assert_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta), 0);
	cr_assert_eq(mdb_dbi_open(txn, "records", MDB_CREATE, &rec), 0);
	cr_assert_eq(mdb_put(txn, meta, &k, &d, 0), 0);
	for (int i = 0; i < n; i++) {
		struct tg_record r = sample(i);
		unsigned char key[16], val[TG_RECORD_ENC_MAX];
		int len = tg_record_encode(&r, val, sizeof val);
		MDB_val rk = { sizeof key, key }, rv;

		cr_assert_gt(len, 0);
		tg_put_be64(key, (uint64_t)r.ts_us);
		tg_put_be32(key + 8, 1);
		tg_put_be32(key + 12, (uint32_t)i);
		rv.mv_size = (size_t)len;
		rv.mv_data = val;
		cr_assert_eq(mdb_put(txn, rec, &rk, &rv, 0), 0);
	}
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static int has_totals_from(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	unsigned char from[16];

	return tgl_totals_from_get(l, txn, from, ctx);
}

/* Records a schema 1 ledger held are in no total: they are read, and the
 * hour of the last of them too (it mixes both kinds). */
Test(report_totals, reads_the_records_before_totals_from)
{
	struct tg_ledger *l;
	struct tg_sum_how how;
	int64_t buckets;
	int has = 0;

	make_schema1(NREC / 2);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	cr_assert_eq(tgl_ledger_read(l, has_totals_from, &has), 0);
	cr_assert(has);
	fill(l, NREC / 2, NREC);
	agree_everywhere(l, &buckets);
	how = agree(l, scope(TG_SCOPE_GLOBAL, ""), 0, INT64_MAX);
	cr_assert_geq(how.scanned, NREC / 2);
	cr_assert_lt(how.scanned, NREC / 2 + 10);
	cr_assert_gt(how.buckets, 0);
	tg_ledger_close(l);
}
