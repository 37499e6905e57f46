/* ledger_fold.c - spools into the ledger: every entry applied exactly
 * once, records with their totals, in the transaction of the writer that
 * holds the lock (spool.h has the why, ledger_impl.h the calls).
 *
 * Exactly once: each payload starts with the key it is stored under.  A
 * record or alert whose key is already in the ledger was applied by an
 * earlier fold (one that committed but had not yet deleted or emptied the
 * spool) and is skipped, totals included. */
#include <stdlib.h>
#include <string.h>

#include "ledger_budget.h"
#include "ledger_impl.h"
#include "record_codec.h"
#include "total_groups.h"
#include "total_map.h"

/* A fold applies many records in one transaction (one fdatasync for all:
 * group commit).  Two things keep its cost per record flat however large
 * the ledger: the totals of all its records are summed in memory and each
 * bucket is read and written once, and the records are put in key order,
 * appended (MDB_APPEND) where they sort after every record there: LMDB then
 * fills pages instead of splitting them in half. */
#define FOLD_BATCH_MAX 4096   /* records sorted and put at a time */

struct fold_rec {
	unsigned char key[16];
	size_t len;
	unsigned char *val;
};

struct fold_ctx {
	struct tg_ledger *l;
	MDB_txn *txn;
	struct tgl_fold *f;
	struct tg_total_groups groups;  /* the records applied so far, for their totals */
	struct fold_rec *batch;         /* records not put yet */
	int nbatch;
	unsigned char last[16];         /* the greatest key in the ledger */
	int has_last;
};

int tgl_spool_parse_record(const unsigned char *p, size_t n, struct tg_record *r,
                           char family[TG_MODEL_MAX], MDB_val *value)
{
	size_t flen;

	if (n < 17 || (flen = p[16]) >= TG_MODEL_MAX || n < 17 + flen)
		return -1;
	value->mv_data = (void *)(p + 17 + flen);
	value->mv_size = n - 17 - flen;
	if (tg_record_decode(r, value->mv_data, value->mv_size) != 0)
		return -1;
	memcpy(family, p + 17, flen);
	family[flen] = '\0';
	return 0;
}

int tgl_record_put_txn(struct tg_ledger *l, MDB_txn *txn, const unsigned char key[16],
                       const MDB_val *value, const struct tg_record *r, const char *family,
                       int cover)
{
	MDB_val k = { 16, (void *)key }, d = *value;
	int rc = mdb_put(txn, l->records, &k, &d, MDB_NOOVERWRITE);

	if (rc == MDB_KEYEXIST)
		return 1;
	if (rc)
		return rc;
	return cover ? tgl_totals_add(l, txn, r, family && family[0] ? family : r->model) : 0;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(((const struct fold_rec *)a)->key, ((const struct fold_rec *)b)->key, 16);
}

/* Puts the batch in key order. */
static int put_batch(struct fold_ctx *c)
{
	int rc = 0;

	qsort(c->batch, (size_t)c->nbatch, sizeof *c->batch, key_cmp);
	for (int i = 0; i < c->nbatch; i++) {
		struct fold_rec *b = &c->batch[i];
		MDB_val k = { 16, b->key }, d = { b->len, b->val };
		int after = !c->has_last || memcmp(b->key, c->last, 16) > 0;

		if (rc == 0) {
			rc = mdb_put(c->txn, c->l->records, &k, &d, after ? MDB_APPEND : MDB_NOOVERWRITE);
			if (rc == 0 && after) {
				memcpy(c->last, b->key, 16);
				c->has_last = 1;
			}
		}
		free(b->val);
	}
	c->nbatch = 0;
	return rc;
}

/* 1 when the record under key is in the ledger already: applied by an
 * earlier fold that committed but had not yet removed the spool. */
static int applied_before(struct fold_ctx *c, const unsigned char *key)
{
	MDB_val k = { 16, (void *)key }, d;

	if (!c->has_last || memcmp(key, c->last, 16) > 0)
		return 0;   /* after every key there: cannot be there */
	return mdb_get(c->txn, c->l->records, &k, &d) == 0;
}

static int fold_record(struct fold_ctx *c, const unsigned char *p, size_t n)
{
	MDB_val d;
	struct tg_record r;
	char family[TG_MODEL_MAX];
	struct fold_rec *b;
	int rc;

	if (tgl_spool_parse_record(p, n, &r, family, &d) != 0)
		return 0;   /* cannot be ours: verify reports such entries */
	if (applied_before(c, p))
		return 0;
	if (c->nbatch == FOLD_BATCH_MAX && (rc = put_batch(c)) != 0)
		return rc;
	b = &c->batch[c->nbatch];
	if (!(b->val = malloc(d.mv_size)))
		return TG_ENOMEM;
	memcpy(b->key, p, 16);
	memcpy(b->val, d.mv_data, d.mv_size);
	b->len = d.mv_size;
	c->nbatch++;
	if (c->l->has_budget_dbs &&
	    (rc = tg_total_groups_add(&c->groups, &r, family[0] ? family : r.model)) != 0)
		return rc;
	c->f->applied++;
	return 0;
}

static int fold_alert(struct fold_ctx *c, const unsigned char *p, size_t n, int once)
{
	struct tg_alert a;
	int recorded = 0, rc;

	if (n < 16 || tgl_alert_decode(p + 16, n - 16, &a) != 0 || !tg_alert_valid(&a))
		return 0;
	rc = tgl_alert_put_txn(c->l, c->txn, p, &a, once, &recorded);
	c->f->applied += recorded;
	return rc;
}

static int fold_entry(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct fold_ctx *c = ctx;

	switch (type) {
	case TG_SPOOL_RECORD:
		return fold_record(c, p, n);
	case TG_SPOOL_ALERT:
	case TG_SPOOL_ALERT_ONCE:
		return fold_alert(c, p, n, type == TG_SPOOL_ALERT_ONCE);
	}
	return 0;   /* a type from a later version: left for it */
}

/* The spool files a read opened before its snapshot began
 * (tgl_ledger_read_spooled), for tgl_spooled_each() inside it.  Per thread:
 * each thread's read has its own.  initial-exec: the shim is loaded at
 * start-up, and a first touch must not allocate. */
static __thread const struct tg_spool_set *spools_of_this_read
	__attribute__((tls_model("initial-exec")));

struct spooled_ctx {
	struct tg_ledger *l;
	MDB_txn *txn;
	tgl_spooled_fn fn;
	void *ctx;
};

static int spooled_entry(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct spooled_ctx *c = ctx;
	MDB_val k = { 16, (void *)p }, d, found;
	struct tg_record r;
	char family[TG_MODEL_MAX];

	if (type != TG_SPOOL_RECORD || tgl_spool_parse_record(p, n, &r, family, &d) != 0)
		return 0;
	if (mdb_get(c->txn, c->l->records, &k, &found) == 0)
		return 0;   /* folded since */
	return c->fn(c->ctx, p, &r, family[0] ? family : r.model);
}

int tgl_spooled_each(struct tg_ledger *l, MDB_txn *txn, tgl_spooled_fn fn, void *ctx)
{
	struct spooled_ctx c = { l, txn, fn, ctx };

	if (spools_of_this_read)
		return tg_spool_set_read(spools_of_this_read, spooled_entry, &c);
	/* A write transaction: no fold can run meanwhile. */
	return tg_spool_read_all(l->dirfd, &l->spool, spooled_entry, &c, NULL, NULL, NULL);
}

int tgl_ledger_read_spooled(struct tg_ledger *l, tgl_ledger_txn_fn fn, void *ctx)
{
	struct tg_spool_set set = TG_SPOOL_SET_INIT;
	int rc;

	if (!l)
		return TG_EINVAL;
	if ((rc = tg_spool_set_open(l->dirfd, &set)) != 0)
		return rc;
	spools_of_this_read = &set;
	rc = tgl_ledger_read(l, fn, ctx);
	spools_of_this_read = NULL;
	tg_spool_set_close(&set);
	return rc;
}

/* The greatest key in the ledger, for put_batch(). */
static int last_key(struct fold_ctx *c)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc = mdb_cursor_open(c->txn, c->l->records, &cur);

	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	if (rc == 0 && k.mv_size == 16) {
		memcpy(c->last, k.mv_data, 16);
		c->has_last = 1;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* The summed totals, one read and one write per bucket. */
static int merge_totals(struct fold_ctx *c)
{
	struct tg_total_map buckets = { NULL, 0, 0 };
	int rc = tg_total_groups_each(&c->groups, tg_total_map_add, &buckets);

	for (size_t i = 0; rc == 0 && i < buckets.cap; i++) {
		struct tg_total_entry *e = &buckets.slot[i];

		if (e->key)
			rc = tgl_total_merge(c->l, c->txn, e->key, e->klen, &e->sum);
	}
	tg_total_map_free(&buckets);
	return rc;
}

int tgl_fold_txn(struct tg_ledger *l, MDB_txn *txn, struct tgl_fold *f)
{
	struct fold_ctx c = { l, txn, f, { NULL, 0, 0 }, NULL, 0, { 0 }, 0 };
	int rc;

	/* A run of the transaction body after MDB_MAP_FULL starts over. */
	tgl_fold_finish(l, f, 0);
	memset(f, 0, sizeof *f);
	if (!(c.batch = malloc(FOLD_BATCH_MAX * sizeof *c.batch)))
		return TG_ENOMEM;
	rc = last_key(&c);
	if (rc == 0)
		rc = tg_spool_read_all(l->dirfd, &l->spool, fold_entry, &c, &f->st, f->done,
		                       &f->ndone);
	f->own_clean = rc == 0 && f->st.damaged == 0;
	if (rc == 0)
		rc = put_batch(&c);
	for (int i = 0; i < c.nbatch; i++)
		free(c.batch[i].val);
	free(c.batch);
	if (rc == 0)
		rc = merge_totals(&c);
	tg_total_groups_free(&c.groups);
	return rc;
}

void tgl_fold_finish(struct tg_ledger *l, struct tgl_fold *f, int committed)
{
	tg_spool_done_finish(l->dirfd, f->done, f->ndone, committed);
	f->ndone = 0;
	/* Our own file can go: the writer lock keeps every fold out, and the
	 * handle's lock our own appends. */
	if (committed && f->own_clean) {
		tg_spool_remove(&l->spool, l->dirfd);
		l->pending = 0;
	}
	f->own_clean = 0;
}
