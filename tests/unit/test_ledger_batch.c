/* test_ledger_batch.c - tg_ledger_append_many(): a batch leaves the ledger
 * exactly as the same records appended one by one would, records and
 * budget totals alike, or leaves it untouched. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "ledger_impl.h"

#define T0 INT64_C(1767225600000000)   /* 2026-01-01T00:00:00Z */
#define N 300

static char dir_one[64], dir_many[64];

static void setup(void)
{
	tgt_tmpdir(dir_one, sizeof dir_one, "tg-batch-one");
	tgt_tmpdir(dir_many, sizeof dir_many, "tg-batch-many");
}

static void teardown(void)
{
	tgt_rmtree(dir_one);
	tgt_rmtree(dir_many);
}

TestSuite(ledger_batch, .init = setup, .fini = teardown);

static const char *const families[] = { "gpt-4o", NULL, "claude-sonnet-4", "" };

/* Records over three days, with blocked, unpriced and unknown ones. */
static void sample(struct tg_record *r, int i)
{
	static const char *const models[] = { "gpt-4o-2024-08-06", "gpt-4o-mini",
	                                      "claude-sonnet-4-20250514", "mistral-large" };

	*r = tgt_record(T0 + (int64_t)i * 1000003 * 797, i % 2 ? "openai" : "anthropic",
	                models[i % 4], i % 3 ? "python3" : "node", i % 5 ? "team=search" : "",
	                100 + i, i % 7 ? 20 + i : TG_COUNT_UNKNOWN, 0.001 * (i % 11),
	                i % 13 == 0 ? TG_REC_BLOCKED : i % 17 == 0 ? TG_REC_UNPRICED : 0);
	snprintf(r->request_id, sizeof r->request_id, "req_%06d", i);
}

static struct tg_ledger *create(const char *dir)
{
	struct tg_ledger *l;

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	return l;
}

struct dump {
	char *buf;
	size_t len, cap;
};

static void dump_add(struct dump *d, const void *p, size_t n)
{
	if (d->len + n + 8 > d->cap) {
		d->cap = (d->len + n + 8) * 2;
		d->buf = realloc(d->buf, d->cap);
		cr_assert_not_null(d->buf);
	}
	memcpy(d->buf + d->len, &n, sizeof n);
	memcpy(d->buf + d->len + sizeof n, p, n);
	d->len += sizeof n + n;
}

/* Every totals key and value, then every record value (keys differ: they
 * carry a sequence), in key order. */
static int dump_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	MDB_dbi dbis[2] = { l->totals, l->records };

	for (int i = 0; i < 2; i++) {
		MDB_cursor *cur;
		MDB_val k, v;
		int rc;

		cr_assert_eq(mdb_cursor_open(txn, dbis[i], &cur), 0);
		while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
			if (i == 0)
				dump_add(ctx, k.mv_data, k.mv_size);
			else
				dump_add(ctx, k.mv_data, 8);   /* the time only */
			dump_add(ctx, v.mv_data, v.mv_size);
		}
		cr_assert_eq(rc, MDB_NOTFOUND);
		mdb_cursor_close(cur);
	}
	return 0;
}

static struct dump dump(struct tg_ledger *l)
{
	struct dump d = { NULL, 0, 0 };

	cr_assert_eq(tgl_ledger_read(l, dump_txn, &d), 0);
	return d;
}

Test(ledger_batch, writes_what_single_appends_write)
{
	static struct tg_record r[N];
	const char *fam[N];
	struct tg_ledger *one = create(dir_one), *many = create(dir_many);
	struct dump a, b;

	for (int i = 0; i < N; i++) {
		sample(&r[i], i);
		fam[i] = families[i % 4];
		cr_assert_eq(tg_ledger_append_scoped(one, &r[i], fam[i]), 0);
	}
	/* Two batches, so that the second adds to totals the first made. */
	cr_assert_eq(tg_ledger_append_many(many, r, fam, N / 3), 0);
	cr_assert_eq(tg_ledger_append_many(many, r + N / 3, fam + N / 3, N - N / 3), 0);
	a = dump(one);
	b = dump(many);
	cr_assert_gt(a.len, 0);
	cr_assert_eq(a.len, b.len);
	cr_assert(!memcmp(a.buf, b.buf, a.len), "records or totals differ");
	free(a.buf);
	free(b.buf);
	tg_ledger_close(one);
	tg_ledger_close(many);
}

Test(ledger_batch, takes_null_families_as_the_model)
{
	static struct tg_record r[8];
	struct tg_ledger *one = create(dir_one), *many = create(dir_many);
	struct dump a, b;

	for (int i = 0; i < 8; i++) {
		sample(&r[i], i);
		tgt_put_record(one, &r[i]);
	}
	cr_assert_eq(tg_ledger_append_many(many, r, NULL, 8), 0);
	a = dump(one);
	b = dump(many);
	cr_assert_eq(a.len, b.len);
	cr_assert(!memcmp(a.buf, b.buf, a.len));
	free(a.buf);
	free(b.buf);
	tg_ledger_close(one);
	tg_ledger_close(many);
}

static int count(void *ctx, const struct tg_record *r)
{
	(*(int *)ctx)++;
	return 0;
}

Test(ledger_batch, writes_nothing_when_one_record_is_refused)
{
	struct tg_record r[3];
	struct tg_ledger *l = create(dir_many);
	int n = 0;

	for (int i = 0; i < 3; i++)
		sample(&r[i], i);
	r[2].ts_us = -1;
	cr_assert_eq(tg_ledger_append_many(l, r, NULL, 3), TG_EINVAL);
	cr_assert_eq(tg_ledger_append_many(l, r, NULL, -1), TG_EINVAL);
	cr_assert_eq(tg_ledger_append_many(l, NULL, NULL, 1), TG_EINVAL);
	cr_assert_eq(tg_ledger_append_many(l, r, NULL, 0), 0);
	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, count, &n), 0);
	cr_assert_eq(n, 0);
	tg_ledger_close(l);
}

Test(ledger_batch, refuses_a_read_only_handle)
{
	struct tg_record r;
	struct tg_ledger *l = create(dir_many);

	tg_ledger_close(l);
	cr_assert_eq(tg_ledger_open(&l, dir_many, TG_LEDGER_RDONLY), 0);
	sample(&r, 1);
	cr_assert_eq(tg_ledger_append_many(l, &r, NULL, 1), TG_EINVAL);
	tg_ledger_close(l);
}
