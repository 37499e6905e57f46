/* ledger_verify.h - checking a ledger against itself, and rebuilding one
 * that fails the check.
 *
 * Owns: what "consistent" means for a ledger, and how a damaged one is
 * replaced:
 *  - every record decodes (record_codec.h);
 *  - every total equals the sum of its records, recomputed with the very
 *    rule that wrote it (tgl_totals_each in ledger_totals.c, model family
 *    from the price table as the shim's sink picks it), records before
 *    meta totals_from left out (they predate budgets); USD sums agree to
 *    1e-9 relative, counts exactly;
 *  - every stored policy parses, every alert decodes;
 *  - every spool file is well-formed (spool.h) and its records' payloads
 *    decode.
 *
 * Return convention as in ledger.h: 0 or a negative TG_E* code.
 */
#ifndef TG_LEDGER_VERIFY_H
#define TG_LEDGER_VERIFY_H

#include <stdint.h>

#include "ledger.h"
#include "spend_rule.h"
#include "spool.h"

struct tg_prices;

struct tg_verify {
	int64_t records;         /* records read */
	int64_t records_bad;     /* that do not decode */
	int64_t records_before;  /* older than the totals (schema 1) */
	int64_t totals;          /* stored totals compared */
	int64_t totals_bad;      /* wrong, missing or without records */
	int64_t policies, policies_bad;
	int64_t alerts, alerts_bad;
	struct tg_spool_stats spool;
	int64_t spool_pending;   /* spooled records not in the ledger yet */
	int64_t spool_bad;       /* well-framed entries that are not ours */
	int64_t problems;        /* everything above that is wrong, and read errors */
	int64_t spool_problems;  /* the part of problems found in the spools */
	struct tg_total sum;     /* every decodable record and pending spooled one,
	                            by the rule of spend_rule.h: what summary and
	                            check report for the whole ledger */
};

/* Told each problem, in words, as it is found. */
typedef void (*tg_verify_note_fn)(void *ctx, const char *problem);

/* Checks l (which may be read-only; nothing is written, spools are read
 * without being folded) in one read transaction.  prices (may be NULL)
 * gives the model families.  Returns 0 when the check ran to its end,
 * whatever it found (v->problems), or a ledger error when it could not
 * start. */
int tg_ledger_verify(struct tg_ledger *l, const struct tg_prices *prices, struct tg_verify *v,
                     tg_verify_note_fn note, void *ctx);

/* What a repair did. */
struct tg_repair {
	int healthy;             /* the old ledger verified clean (spools aside) and
	                            force was not given: nothing was done */
	int old_readable;        /* the old data.mdb could be opened */
	int old_rc;              /* why not (a TG_E* code) */
	struct tg_verify before; /* the old ledger's check, when readable */
	int before_failed;       /* that check could not read it all */
	int64_t records_kept, records_lost;
	int read_stopped;        /* a damaged page ended the read of the records:
	                            those past it are lost too, uncounted */
	int64_t records_salvaged; /* of records_kept: found only by reading the old
	                            file's leaf pages without LMDB */
	int lmdb_failed;         /* LMDB met a page of the old file it could not
	                            read (in a child process): kept what came before */
	int64_t policies_kept, policies_lost, resets_kept, alerts_kept, alerts_lost;
	int64_t spool_folded;    /* spool entries applied to the new ledger */
	int fold_rc;             /* 0, or why the fold did not run: the next
	                            writer folds them then */
	char kept_in[4096];      /* where the old data.mdb and lock.mdb are */
	char holder[160];        /* TG_ELOCKED: who holds the writer lock */
};

/* Rebuilds the ledger in dir.  With the writer lock held (waiting up to
 * lock_wait_ms; TG_ELOCKED fills out->holder), the old ledger is checked;
 * unless it is clean (out->healthy) or force is set, a new one is built
 * beside it from every record that decodes (under its own key, so a later
 * fold of a spooled copy is not applied twice), with totals recomputed,
 * and the policies, reset baselines and alerts that read back.  Then
 * data.mdb and lock.mdb move into dir/damaged-<UTC time>/ (out->kept_in)
 * and the new data.mdb takes data.mdb's place in one rename; running
 * programs notice the new file before their next transaction and reopen.
 * An old data.mdb LMDB cannot open at all yields an empty new ledger.
 * The spools stay where their writers append, and are folded into the new
 * ledger last.  Returns 0, TG_ELOCKED, or the error that stopped it (the
 * old ledger is then untouched). */
int tg_ledger_repair(const char *dir, const struct tg_prices *prices, int force,
                     int lock_wait_ms, struct tg_repair *out);

#endif
