/* sync_pg.h - the PostgreSQL half of `tokenguard-report sync`: this
 * ledger's records pushed once each into the fleet's tokenguard_records.
 *
 * Owns: the push.  The records after the ledger's watermark "sync-postgres"
 * (deliver.h) go in INSERTs of up to TG_SYNC_PG_BATCH rows, each one
 * statement and so one transaction, ON CONFLICT DO NOTHING; the watermark
 * is stored after the server committed.  A crash between the commit and
 * the store sends that batch again, and the row ids (the record's global
 * id, machine.h) make the second insert a no-op: repeated and concurrent
 * syncs of a ledger land each record once.  The spools are folded first
 * (when the writer lock is free at once) so that handed-off records go
 * too.  The shim never runs any of this: it only writes the local ledger.
 */
#ifndef TG_SYNC_PG_H
#define TG_SYNC_PG_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

#define TG_SYNC_PG_WATERMARK "sync-postgres"
/* Rows per INSERT: 29 parameters each, under libpq's 65535. */
#define TG_SYNC_PG_BATCH 1000

struct tg_sync_pg_stats {
	int64_t sent;        /* records sent and marked as sent */
	int64_t inserted;    /* of those, rows the server did not hold yet */
	int64_t batches;     /* INSERT statements */
};

/* A connection to the fleet's PostgreSQL, kept from one push to the next
 * (`sync --follow` pushes every second: one connection for the agent's
 * life rather than one a round).  Made at the first push; a push that
 * fails through a kept one (the server restarted) makes a new one and
 * tries once more.  tg_sync_pg_new() returns NULL only when out of memory. */
struct tg_sync_pg;
struct tg_sync_pg *tg_sync_pg_new(const char *conninfo);
void tg_sync_pg_free(struct tg_sync_pg *s);

/* Pushes the records of the ledger l (in directory dir) not pushed yet
 * through s.  Returns 0; -1 after writing into err (n bytes) what went
 * wrong and what to do (the server unreachable, no schema, the ledger
 * unreadable); what was committed before a failure stays marked as
 * sent. */
int tg_sync_pg_push(struct tg_sync_pg *s, struct tg_ledger *l, const char *dir,
                    struct tg_sync_pg_stats *st, char *err, size_t n);

/* `sync --init`: creates or migrates the schema (pg_schema.h).  *from is
 * the version found.  Returns 0, or -1 after saying why into err. */
int tg_sync_pg_init(const char *conninfo, int *from, char *err, size_t n);

#endif
