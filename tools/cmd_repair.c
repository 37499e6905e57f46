/* cmd_repair.c - `tokenguard-report repair`: rebuilds a damaged ledger
 * (ledger_verify.h says how) and says what it kept and what it lost.
 * Exit 0 when the ledger is sound afterwards (or was), 2 when the repair
 * could not run. */
#include <stdio.h>

#include "ledger_verify.h"
#include "price.h"
#include "report.h"

#define LOCK_WAIT_MS 5000

static void print(FILE *o, const struct tg_repair *r)
{
	if (!r->old_readable)
		fprintf(o, "records   LMDB cannot open the old data.mdb (%s); %lld record(s) read "
		        "from its pages directly, the rest are lost; the file is kept\n",
		        r->old_rc == TG_ECORRUPT ? "shorter than its header says, or its header or "
		        "trees are damaged" : tg_strerror(r->old_rc), (long long)r->records_salvaged);
	else
		fprintf(o, "records   %lld kept, %lld lost (undecodable)%s\n",
		        (long long)r->records_kept, (long long)r->records_lost,
		        r->read_stopped && !r->records_salvaged
		        ? ", and every record past a damaged page (uncounted)" : "");
	if (r->old_readable && r->records_salvaged)
		fprintf(o, "          %lld of them read from pages LMDB no longer reaches\n",
		        (long long)r->records_salvaged);
	if (r->lmdb_failed)
		fprintf(o, "          LMDB met a page of the old file it could not read; every leaf "
		        "page was then read directly\n");
	if (r->old_readable)
		fprintf(o, "totals    rebuilt from the records kept (%lld were wrong or missing)\n"
		        "policies  %lld kept, %lld lost; %lld reset baseline(s) kept\n"
		        "alerts    %lld kept, %lld lost\n", (long long)r->before.totals_bad,
		        (long long)r->policies_kept, (long long)r->policies_lost,
		        (long long)r->resets_kept, (long long)r->alerts_kept,
		        (long long)r->alerts_lost);
	if (r->fold_rc)
		fprintf(o, "spools    not folded yet (%s); the next program to write folds them\n",
		        tg_strerror(r->fold_rc));
	else
		fprintf(o, "spools    %lld entr%s folded in\n", (long long)r->spool_folded,
		        r->spool_folded == 1 ? "y" : "ies");
	fprintf(o, "old files %s (data.mdb, lock.mdb); remove it once you no longer need it\n",
	        r->kept_in);
}

int tg_cmd_repair(const struct tg_report *rep, struct tg_ledger *unused)
{
	struct tg_prices *prices;
	struct tg_repair r;
	int rc;

	if (tg_report_load_prices(rep, &prices, "the model families of the totals"))
		return TG_EXIT_FAIL;
	rc = tg_ledger_repair(rep->dir, prices, rep->force, LOCK_WAIT_MS, &r);
	tg_prices_free(prices);
	if (rc == TG_ELOCKED)
		return tg_report_fail(rep, "%s: %s holds the ledger's writer lock; repair waited %d s "
		                      "for it: retry when it has finished, or end it if it is stuck",
		                      rep->dir, r.holder, LOCK_WAIT_MS / 1000);
	if (rc)
		return tg_report_dir_fail(rep, rc);
	if (r.healthy) {
		fprintf(rep->out, "%s: the ledger is consistent (%lld records); nothing to repair "
		        "(--force rebuilds it anyway)\n", rep->dir, (long long)r.before.records);
		if (r.before.spool_problems)
			fprintf(rep->out, "its spools have %lld problem(s) a rebuild cannot mend; "
			        "see `tokenguard-report verify`\n", (long long)r.before.spool_problems);
		return 0;
	}
	fprintf(rep->out, "%s: rebuilt\n", rep->dir);
	print(rep->out, &r);
	return 0;
}
