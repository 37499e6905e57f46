/* pg_row.h - one ledger record as a row of the fleet's PostgreSQL table
 * tokenguard_records, and back.
 *
 * Owns: the columns the record fields map to (their order is that of the
 * INSERT's parameters and of the SELECT that reads rows back), the text of
 * each value as libpq sends it (text format: no binary layouts to keep in
 * step with the server), and the reverse.  No libpq here, so the unit tests
 * check the round trip without a server.
 *
 * Unknown stays unknown: a count of TG_COUNT_UNKNOWN is NULL (never 0), as
 * are a latency or time to first token of -1 and the empty optional texts
 * (requested_model, operation, request_id, response_id, policy, error);
 * reading a row back gives the record its unknowns again.  Text is sent
 * as valid UTF-8 (PostgreSQL refuses anything else, which would stop every
 * later push): a byte that is not part of a valid sequence is sent as '?'.
 * Tags go twice: tags_text, the record's "k=v,k=v" as written (order and
 * all, what reports group by), and tags, a jsonb object {"k": "v"} for
 * queries and the GIN index (a key given twice: its first value, as for
 * every reader of tags).
 */
#ifndef TG_PG_ROW_H
#define TG_PG_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* The columns written, in parameter order; tags (jsonb) is the last. */
enum tg_pg_col {
	TG_PG_ID, TG_PG_MACHINE, TG_PG_TS, TG_PG_PROVIDER, TG_PG_HOST, TG_PG_ENDPOINT,
	TG_PG_MODEL, TG_PG_REQUESTED_MODEL, TG_PG_OPERATION, TG_PG_PROCESS, TG_PG_PID,
	TG_PG_STATUS, TG_PG_FLAGS, TG_PG_INPUT, TG_PG_OUTPUT, TG_PG_CACHED_INPUT,
	TG_PG_CACHE_CREATION, TG_PG_CACHE_CREATION_5M, TG_PG_CACHE_CREATION_1H,
	TG_PG_REASONING, TG_PG_COST, TG_PG_LATENCY, TG_PG_TTFT, TG_PG_REQUEST_ID,
	TG_PG_RESPONSE_ID, TG_PG_POLICY, TG_PG_ERROR, TG_PG_TAGS_TEXT, TG_PG_TAGS_JSON,
	TG_PG_NCOLS
};

/* The columns read back: every written one but tags (jsonb), ts as
 * microseconds since the epoch. */
#define TG_PG_READ_COLS TG_PG_TAGS_JSON

/* The column names, in enum tg_pg_col order. */
extern const char *const tg_pg_col_name[TG_PG_NCOLS];

/* The select list reading a row back, in enum tg_pg_col order up to
 * TG_PG_READ_COLS: "id, machine, (extract(epoch from ts) * 1000000)::bigint, ...". */
const char *tg_pg_select_list(void);

/* Sizes of the longest global id and machine name a row holds. */
#define TG_PG_ID_MAX 96
#define TG_PG_MACHINE_MAX 64

/* One row's values as text, NULL for SQL NULL.  The buffers hold every
 * value; value[] points into them (or is NULL). */
struct tg_pg_row {
	const char *value[TG_PG_NCOLS];
	char id[TG_PG_ID_MAX], machine[TG_PG_MACHINE_MAX], ts[64];
	char num[TG_PG_NCOLS][32];
	char text[TG_PG_NCOLS][TG_TAGS_MAX];  /* the texts, made valid UTF-8 */
	char tags_json[TG_TAGS_MAX * 6 + 8];  /* worst case: every byte \u00XX-escaped */
};

/* ts_us as a timestamptz literal, exact to the microsecond:
 * "2026-11-26 20:34:49.123456+00" (a floating-point epoch would not be). */
void tg_pg_ts_text(int64_t ts_us, char out[64]);

/* r as the row of id on machine. */
void tg_pg_row_encode(const struct tg_record *r, const char *id, const char *machine,
                      struct tg_pg_row *row);

/* A row read back (value[i] for column i < TG_PG_READ_COLS, NULL for SQL
 * NULL; ts as microseconds) into *r, its id and machine into id and machine
 * (their sizes above; either may be NULL).  Returns 0, or -1 when a value
 * is not what its column holds (a number that does not parse, ts missing). */
int tg_pg_row_decode(const char *const *value, struct tg_record *r, char *id,
                     char *machine, size_t machine_n);

#endif
