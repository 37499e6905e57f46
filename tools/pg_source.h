/* pg_source.h - --fleet: the fleet's records, read from PostgreSQL, as a
 * ledger every report reads the way it reads the local one.
 *
 * Owns: the seam between the fleet's table and the reports.  The rows of
 * the report's period (the time range is the WHERE clause, on the ts
 * index) are read through a cursor in one read-only, repeatable-read
 * transaction (a consistent snapshot), decoded back into records (NULL
 * counts unknown again: pg_row.h) with their machine, and appended to a
 * throwaway ledger in a private temporary directory.  The command then
 * runs on that ledger unchanged: summary and the views, records, check
 * (its hour buckets included), the filters and their typo warnings all
 * behave as on one machine's ledger, with no code of their own for the
 * fleet.  The directory is removed when the process exits.
 *
 * One thing the copy cannot keep is a record's global id (machine.h): the
 * copy's keys and ledger id are its own.  With want_ids the ids read are
 * kept by the copy's key, for `records` (tg_pg_fleet_gid()).
 */
#ifndef TG_PG_SOURCE_H
#define TG_PG_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

/* Rows read per FETCH, and appended per transaction. */
#define TG_FLEET_FETCH 4096

/* The fleet's records with since_us <= ts < until_us (0 and INT64_MAX:
 * unbounded) from the PostgreSQL of conninfo, as a ledger opened into *l
 * (tg_ledger_close() it; its directory, dir of n bytes, goes at exit).
 * *rows is how many were read.  Returns 0, or -1 after writing into err
 * what went wrong. */
int tg_pg_fleet_ledger(const char *conninfo, int64_t since_us, int64_t until_us,
                       int want_ids, struct tg_ledger **l, char *dir, size_t dirn,
                       int64_t *rows, char *err, size_t n);

/* The global id, as PostgreSQL holds it, of the record under key in the
 * copy; NULL when ids were not kept or key is none of the copy's. */
const char *tg_pg_fleet_gid(const unsigned char *key);

#endif
