/* ledger_fold.c - spools into the ledger: every entry applied exactly
 * once, records with their totals, in the transaction of the writer that
 * holds the lock (spool.h has the why, ledger_impl.h the calls).
 *
 * Exactly once: each payload starts with the key it is stored under.  A
 * record or alert whose key is already in the ledger was applied by an
 * earlier fold (one that committed but had not yet deleted or emptied the
 * spool) and is skipped, totals included. */
#include <string.h>

#include "ledger_budget.h"
#include "ledger_impl.h"
#include "record_codec.h"

struct fold_ctx {
	struct tg_ledger *l;
	MDB_txn *txn;
	struct tg_fold *f;
};

int tg_spool_parse_record(const unsigned char *p, size_t n, struct tg_record *r,
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

int tg_record_put_txn(struct tg_ledger *l, MDB_txn *txn, const unsigned char key[16],
                      const MDB_val *value, const struct tg_record *r, const char *family,
                      int cover)
{
	MDB_val k = { 16, (void *)key }, d = *value;
	int rc = mdb_put(txn, l->records, &k, &d, MDB_NOOVERWRITE);

	if (rc == MDB_KEYEXIST)
		return 1;
	if (rc)
		return rc;
	return cover ? tg_totals_add(l, txn, r, family && family[0] ? family : r->model) : 0;
}

static int fold_record(struct fold_ctx *c, const unsigned char *p, size_t n)
{
	MDB_val d;
	struct tg_record r;
	char family[TG_MODEL_MAX];
	int rc;

	if (tg_spool_parse_record(p, n, &r, family, &d) != 0)
		return 0;   /* cannot be ours: verify reports such entries */
	rc = tg_record_put_txn(c->l, c->txn, p, &d, &r, family, 1);
	if (rc == 0)
		c->f->applied++;
	return rc == 1 ? 0 : rc;   /* 1: applied by an earlier fold */
}

static int fold_alert(struct fold_ctx *c, const unsigned char *p, size_t n, int once)
{
	struct tg_alert a;
	int recorded = 0, rc;

	if (n < 16 || tg_alert_decode(p + 16, n - 16, &a) != 0 || !a.policy[0])
		return 0;
	rc = tg_alert_put_txn(c->l, c->txn, p, &a, once, &recorded);
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

struct spooled_ctx {
	struct tg_ledger *l;
	MDB_txn *txn;
	int (*fn)(void *ctx, const struct tg_record *r, const char *model_family);
	void *ctx;
};

static int spooled_entry(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct spooled_ctx *c = ctx;
	MDB_val k = { 16, (void *)p }, d, found;
	struct tg_record r;
	char family[TG_MODEL_MAX];

	if (type != TG_SPOOL_RECORD || tg_spool_parse_record(p, n, &r, family, &d) != 0)
		return 0;
	if (mdb_get(c->txn, c->l->records, &k, &found) == 0)
		return 0;   /* folded since */
	return c->fn(c->ctx, &r, family[0] ? family : r.model);
}

int tg_spooled_each(struct tg_ledger *l, MDB_txn *txn,
                    int (*fn)(void *ctx, const struct tg_record *r, const char *model_family),
                    void *ctx)
{
	struct spooled_ctx c = { l, txn, fn, ctx };

	return tg_spool_read_all(l->dirfd, &l->spool, spooled_entry, &c, NULL, NULL, NULL);
}

int tg_fold_txn(struct tg_ledger *l, MDB_txn *txn, struct tg_fold *f)
{
	struct fold_ctx c = { l, txn, f };
	int rc;

	/* A run of the transaction body after MDB_MAP_FULL starts over. */
	tg_fold_finish(l, f, 0);
	memset(f, 0, sizeof *f);
	rc = tg_spool_read_all(l->dirfd, &l->spool, fold_entry, &c, &f->st, f->done, &f->ndone);
	f->own_clean = rc == 0 && f->st.damaged == 0;
	return rc;
}

void tg_fold_finish(struct tg_ledger *l, struct tg_fold *f, int committed)
{
	tg_spool_done_finish(l->dirfd, f->done, f->ndone, committed);
	f->ndone = 0;
	/* Our own file can go: the writer lock keeps every fold out, and the
	 * handle's lock our own appends. */
	if (committed && f->own_clean)
		tg_spool_remove(&l->spool, l->dirfd);
	f->own_clean = 0;
}
