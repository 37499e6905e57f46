/* ledger_batch.c - many records appended in one write transaction: for
 * programs that make or import records in bulk (bench/mkledger.c), where a
 * transaction and a commit per record would cost more than the records.
 *
 * Each record is handled as tg_ledger_append_scoped() handles one: a key
 * of its own, its encoding, its budget totals; only the transaction is
 * shared.  What a spooling handle cannot write goes to its spool record by
 * record, as the single append would send it. */
#include <stdlib.h>
#include <string.h>

#include "ledger_impl.h"
#include "record_codec.h"

/* One record's spool payload, built before the transaction so that a body
 * that runs again (ledger_impl.h) writes the same keys:
 * key[16] | family length u8 | family | encoded record. */
struct batch_entry {
	size_t off;        /* into batch.buf */
	size_t flen, vlen;
};

struct batch {
	const struct tg_record *r;
	int n;
	struct batch_entry *e;
	unsigned char *buf;
};

static int batch_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct batch *b = ctx;

	for (int i = 0; i < b->n; i++) {
		const unsigned char *p = b->buf + b->e[i].off;
		char family[TG_MODEL_MAX];
		MDB_val d = { b->e[i].vlen, (void *)(p + 17 + b->e[i].flen) };
		int rc;

		memcpy(family, p + 17, b->e[i].flen);
		family[b->e[i].flen] = '\0';
		rc = tgl_record_put_txn(l, txn, p, &d, &b->r[i], family, 1);
		if (rc)
			return rc == 1 ? MDB_KEYEXIST : rc;
	}
	return 0;
}

/* Encodes every record into b; TG_EINVAL for one the single append would
 * refuse, TG_ENOMEM. */
static int batch_build(struct tg_ledger *l, struct batch *b, const char *const *families)
{
	size_t used = 0, cap = 0;

	for (int i = 0; i < b->n; i++) {
		const struct tg_record *r = &b->r[i];
		const char *family = families && families[i] && families[i][0] ? families[i] : r->model;
		size_t flen = strnlen(family, TG_MODEL_MAX - 1);
		unsigned char *p;
		int len;

		if (r->ts_us < 0)
			return TG_EINVAL;
		if (cap - used < 17 + flen + TG_RECORD_ENC_MAX) {
			size_t ncap = cap ? cap * 2 : 17 + TG_MODEL_MAX + TG_RECORD_ENC_MAX;
			unsigned char *nbuf;

			while (ncap - used < 17 + flen + TG_RECORD_ENC_MAX)
				ncap *= 2;
			if (!(nbuf = realloc(b->buf, ncap)))
				return TG_ENOMEM;
			b->buf = nbuf;
			cap = ncap;
		}
		p = b->buf + used;
		tgl_ledger_next_key(l, p, r->ts_us);
		p[16] = (unsigned char)flen;
		memcpy(p + 17, family, flen);
		if ((len = tg_record_encode(r, p + 17 + flen, TG_RECORD_ENC_MAX)) < 0)
			return TG_EINVAL;
		b->e[i].off = used;
		b->e[i].flen = flen;
		b->e[i].vlen = (size_t)len;
		used += 17 + flen + (size_t)len;
	}
	return 0;
}

/* The batch to the spool, entry by entry; a handle that does not spool
 * gets rc back. */
static int batch_spool(struct tg_ledger *l, const struct batch *b, int rc)
{
	for (int i = 0; i < b->n; i++) {
		const struct batch_entry *e = &b->e[i];
		int src = tgl_ledger_spool(l, rc, TG_SPOOL_RECORD, b->buf + e->off,
		                           17 + e->flen + e->vlen);

		if (src != TG_LEDGER_SPOOLED)
			return src;
	}
	return TG_LEDGER_SPOOLED;
}

int tg_ledger_append_many(struct tg_ledger *l, const struct tg_record *r,
                          const char *const *families, int n)
{
	struct batch b = { r, n, NULL, NULL };
	int rc;

	if (!l || n < 0 || (n && !r))
		return TG_EINVAL;
	if (n == 0)
		return 0;
	if (!(b.e = calloc((size_t)n, sizeof *b.e)))
		return TG_ENOMEM;
	rc = batch_build(l, &b, families);
	if (rc == 0) {
		rc = tgl_ledger_write(l, batch_txn, &b);
		if (rc)
			rc = batch_spool(l, &b, rc);
	}
	free(b.buf);
	free(b.e);
	return rc;
}
