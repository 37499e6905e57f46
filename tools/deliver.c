/* deliver.c - see deliver.h. */
#include "deliver.h"

#include <stdlib.h>
#include <string.h>

struct batch {
	const struct tg_deliver *d;
	const struct tg_watermark *m;
	unsigned char *keys;   /* batch_max keys of 16 bytes */
	int count;
	int stop;              /* add's value that stopped the scan, else 0 */
};

/* The scan stops with 1 when the batch is full or add said stop. */
static int each(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	struct batch *b = ctx;
	int rc;

	if (tg_watermark_delivered(b->m, key))
		return 0;
	rc = b->d->add(b->d->ctx, key, r);
	if (rc == 1)
		return 0;
	if (rc) {
		b->stop = rc;
		return 1;
	}
	memcpy(b->keys + (size_t)b->count * 16, key, 16);
	return ++b->count == b->d->batch_max;
}

int tg_deliver(struct tg_ledger *l, const struct tg_deliver *d, struct tg_watermark *m,
               int64_t *sent, enum tg_deliver_stage *stage)
{
	struct batch b = { d, m, malloc((size_t)d->batch_max * 16), 0, 0 };
	unsigned char from[16];
	int rc;

	*stage = TG_DELIVER_SCAN;
	if (!b.keys)
		return TG_ENOMEM;
	for (;;) {
		b.count = 0;
		tg_watermark_scan_from(m, from);
		rc = tg_ledger_scan_after(l, from, 1, each, &b);
		if (rc == 1 && b.stop)
			rc = b.stop;
		else if (rc == 1)
			rc = 0;   /* a full batch: send it, then scan on */
		if (rc || !b.count)
			break;
		*stage = TG_DELIVER_SEND;
		if ((rc = d->send(d->ctx, b.count)) != 0)
			break;
		*stage = TG_DELIVER_STORE;
		if ((rc = tg_watermark_advance(m, b.keys, (size_t)b.count)) != 0 ||
		    (rc = tg_watermark_store(l, d->watermark, m)) != 0)
			break;
		*sent += b.count;
		if (b.count < d->batch_max)
			break;
		*stage = TG_DELIVER_SCAN;
	}
	free(b.keys);
	return rc;
}
