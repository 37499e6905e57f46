/* deliver.h - the loop every exporter that sends each record once runs
 * (`export --spans` to an OTLP collector, `sync` to PostgreSQL): the
 * records after a named watermark (ledger_watermark.h), in batches, the
 * watermark moved and stored only once a batch was taken for good.
 *
 * Owns: where a scan starts (an hour before the watermark, for records
 * committed late), which records are passed over (delivered ones), the
 * batch size, and the order: scan, send, advance, store.  A crash or a
 * failure between a send and the store leaves the watermark where it was,
 * so the next run sends that batch again: receivers must take a record
 * twice without counting it twice (span ids, the PostgreSQL row id).
 * Records still in a spool are not delivered; a later run sends them once
 * folded.
 */
#ifndef TG_DELIVER_H
#define TG_DELIVER_H

#include <stdint.h>

#include "ledger_watermark.h"

/* Where tg_deliver() stopped when it did not return 0. */
enum tg_deliver_stage { TG_DELIVER_SCAN, TG_DELIVER_SEND, TG_DELIVER_STORE };

struct tg_deliver {
	const char *watermark;   /* its name */
	int batch_max;           /* records per send, from 1 */
	/* Adds the record to the batch being built: 0 added, 1 passed over
	 * (a filter), any other value stops and is returned. */
	int (*add)(void *ctx, const unsigned char key[16], const struct tg_record *r);
	/* Sends the n records added since the last send: 0 once the receiver
	 * has them, else a nonzero value that stops and is returned.  The
	 * batch is empty afterwards either way. */
	int (*send)(void *ctx, int n);
	void *ctx;
};

/* Delivers every committed record not delivered yet under d's watermark,
 * which m holds (tg_watermark_load() it; it moves with each batch).
 * *sent (added to) counts the records sent and stored.  Returns 0; add's
 * or send's value; or a TG_E* code (the scan's, TG_ENOMEM, the store's).
 * *stage says which step stopped. */
int tg_deliver(struct tg_ledger *l, const struct tg_deliver *d, struct tg_watermark *m,
               int64_t *sent, enum tg_deliver_stage *stage);

#endif
