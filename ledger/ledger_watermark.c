/* ledger_watermark.c - named watermarks for incremental exports, and the
 * scan of the records committed after a key.
 *
 * A watermark is the greatest key of the records an exporter delivered,
 * kept in the meta database under "watermark:NAME" (16 bytes, the record
 * key layout of ledger.h), with the keys it delivered that are less than
 * an hour older than that one under "watermark:NAME:recent" (16 bytes
 * each, sorted): a record committed after the watermark moved past its
 * key (a long stream, a spool folded late) is found in that hour and told
 * from the ones sent.  Both are written in one transaction, live and die
 * with the ledger, and a repair copies them (ledger_repair.c).
 * tg_ledger_scan_after() reads the records database only: records still
 * in a spool have no place in the key order yet and are delivered by a
 * later scan, once folded. */
#include <stdlib.h>
#include <string.h>

#include "ledger_watermark.h"
#include "ledger_impl.h"
#include "record_codec.h"

#define PREFIX "watermark:"

static int meta_key(char *buf, size_t n, const char *name)
{
	size_t len = strlen(name);

	if (!len || len + sizeof PREFIX > n)
		return TG_EINVAL;
	memcpy(buf, PREFIX, sizeof PREFIX - 1);
	memcpy(buf + sizeof PREFIX - 1, name, len + 1);
	return 0;
}

#define RECENT ":recent"

struct wm {
	char name[sizeof PREFIX + 64 + sizeof RECENT];
	unsigned char *key;
	int *has;
	const unsigned char *put;
	unsigned char **recent;          /* get: malloc'd copy */
	const unsigned char *put_recent;
	size_t *nrecent, put_n;
};

int tgl_meta_get(struct tg_ledger *l, MDB_txn *txn, const char *name, void *out, size_t size,
                 int *has)
{
	MDB_val k = { strlen(name), (void *)name }, d;
	int rc = mdb_get(txn, l->meta, &k, &d);

	*has = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (d.mv_size != size)
		return TG_ECORRUPT;
	memcpy(out, d.mv_data, size);
	*has = 1;
	return 0;
}

int tgl_meta_key_get(struct tg_ledger *l, MDB_txn *txn, const char *name, unsigned char key[16],
                     int *has)
{
	return tgl_meta_get(l, txn, name, key, 16, has);
}

static int wm_get(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct wm *w = ctx;
	size_t len = strlen(w->name);
	MDB_val k, d;
	int rc;

	*w->recent = NULL;
	*w->nrecent = 0;
	if ((rc = tgl_meta_key_get(l, txn, w->name, w->key, w->has)) != 0 || !*w->has)
		return rc;
	memcpy(w->name + len, RECENT, sizeof RECENT);
	k = (MDB_val){ strlen(w->name), w->name };
	rc = mdb_get(txn, l->meta, &k, &d);
	w->name[len] = 0;
	if (rc == MDB_NOTFOUND || (rc == 0 && d.mv_size == 0))
		return 0;
	if (rc)
		return rc;
	if (d.mv_size % 16)
		return TG_ECORRUPT;
	if (!(*w->recent = malloc(d.mv_size)))
		return TG_ENOMEM;
	memcpy(*w->recent, d.mv_data, d.mv_size);
	*w->nrecent = d.mv_size / 16;
	return 0;
}

int tg_ledger_watermark_get(struct tg_ledger *l, const char *name, unsigned char key[16],
                            int *has, unsigned char **recent, size_t *nrecent)
{
	struct wm w = { .key = key, .has = has, .recent = recent, .nrecent = nrecent };
	int rc;

	if ((rc = meta_key(w.name, sizeof w.name - sizeof RECENT + 1, name)) != 0)
		return rc;
	rc = tgl_ledger_read(l, wm_get, &w);
	if (rc) {
		free(*recent);
		*recent = NULL;
		*nrecent = 0;
	}
	return rc;
}

static int wm_put(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct wm *w = ctx;
	size_t len = strlen(w->name);
	MDB_val k = { len, w->name }, d = { 16, (void *)w->put };
	int rc;

	if ((rc = mdb_put(txn, l->meta, &k, &d, 0)) != 0)
		return rc;
	memcpy(w->name + len, RECENT, sizeof RECENT);
	k = (MDB_val){ strlen(w->name), w->name };
	d = (MDB_val){ w->put_n * 16, (void *)w->put_recent };
	rc = mdb_put(txn, l->meta, &k, &d, 0);
	w->name[len] = 0;
	return rc;
}

int tg_ledger_watermark_put(struct tg_ledger *l, const char *name, const unsigned char key[16],
                            const unsigned char *recent, size_t nrecent)
{
	struct wm w = { .put = key, .put_recent = recent, .put_n = nrecent };
	int rc;

	if ((rc = meta_key(w.name, sizeof w.name - sizeof RECENT + 1, name)) != 0)
		return rc;
	return tgl_ledger_write(l, wm_put, &w);
}

int tg_meta_is_watermark(const void *key, size_t n)
{
	return n > sizeof PREFIX - 1 && !memcmp(key, PREFIX, sizeof PREFIX - 1);
}

struct after {
	const unsigned char *from;
	int has_from;
	int (*fn)(void *ctx, const unsigned char key[16], const struct tg_record *r);
	void *ctx;
	int stop;   /* fn's nonzero value: kept here, since the transaction
	               would read it as an errno */
};

static int scan_after(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct after *a = ctx;
	unsigned char zero[16] = { 0 };
	MDB_val k = { 16, (void *)(a->has_from ? a->from : zero) }, d;
	struct tg_record rec;
	MDB_cursor *cur;
	int rc;

	if ((rc = mdb_cursor_open(txn, l->records, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 16) {
			rc = TG_ECORRUPT;
			break;
		}
		if (a->has_from && !memcmp(k.mv_data, a->from, 16))
			continue;
		if ((rc = tg_record_decode(&rec, d.mv_data, d.mv_size)) != 0)
			break;
		if ((a->stop = a->fn(a->ctx, k.mv_data, &rec)) != 0) {
			rc = MDB_NOTFOUND;
			break;
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int tg_ledger_scan_after(struct tg_ledger *l, const unsigned char from[16], int has_from,
                         int (*fn)(void *ctx, const unsigned char key[16],
                                   const struct tg_record *r), void *ctx)
{
	struct after a = { from, has_from, fn, ctx, 0 };
	int rc = tgl_ledger_read(l, scan_after, &a);

	return rc ? rc : a.stop;
}

int tg_watermark_load(struct tg_ledger *l, const char *name, struct tg_watermark *m)
{
	memset(m, 0, sizeof *m);
	return tg_ledger_watermark_get(l, name, m->key, &m->has, &m->recent, &m->nrecent);
}

int tg_watermark_store(struct tg_ledger *l, const char *name, const struct tg_watermark *m)
{
	return tg_ledger_watermark_put(l, name, m->key, m->recent, m->nrecent);
}

void tg_watermark_free(struct tg_watermark *m)
{
	free(m->recent);
	m->recent = NULL;
	m->nrecent = 0;
}

int64_t tg_key_ts(const unsigned char key[16])
{
	return (int64_t)tg_get_be64(key);
}

void tg_key_at(int64_t ts_us, unsigned char key[16])
{
	memset(key, 0, 16);
	tg_put_be64(key, (uint64_t)(ts_us > 0 ? ts_us : 0));
}

void tg_watermark_scan_from(const struct tg_watermark *m, unsigned char from[16])
{
	tg_key_at(m->has ? tg_key_ts(m->key) - TG_WATERMARK_RECENT_US : 0, from);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

int tg_watermark_delivered(const struct tg_watermark *m, const unsigned char key[16])
{
	return m->has && memcmp(key, m->key, 16) <= 0 && m->nrecent &&
	       bsearch(key, m->recent, m->nrecent, 16, key_cmp) != NULL;
}

/* Keeps the recent keys of the hour before the watermark's, once each. */
static void prune(struct tg_watermark *m)
{
	int64_t from = tg_key_ts(m->key) - TG_WATERMARK_RECENT_US;
	size_t k = 0;

	for (size_t i = 0; i < m->nrecent; i++)
		if (tg_key_ts(m->recent + i * 16) >= from &&
		    (!k || memcmp(m->recent + i * 16, m->recent + (k - 1) * 16, 16)))
			memmove(m->recent + k++ * 16, m->recent + i * 16, 16);
	m->nrecent = k;
}

void tg_watermark_pass(struct tg_watermark *m, const unsigned char key[16])
{
	if (m->has && memcmp(key, m->key, 16) <= 0)
		return;
	memcpy(m->key, key, 16);
	m->has = 1;
	prune(m);
}

int tg_watermark_advance(struct tg_watermark *m, const unsigned char *keys, size_t n)
{
	size_t all_n = m->nrecent + n;
	unsigned char *all;

	if (!n)
		return 0;
	if (!(all = malloc(all_n * 16)))
		return TG_ENOMEM;
	/* memcpy may not be given a NULL array, even for no bytes */
	if (m->nrecent)
		memcpy(all, m->recent, m->nrecent * 16);
	memcpy(all + m->nrecent * 16, keys, n * 16);
	qsort(all, all_n, 16, key_cmp);
	free(m->recent);
	m->recent = all;
	m->nrecent = all_n;
	if (!m->has || memcmp(all + (all_n - 1) * 16, m->key, 16) > 0)
		memcpy(m->key, all + (all_n - 1) * 16, 16);
	m->has = 1;
	prune(m);
	return 0;
}
