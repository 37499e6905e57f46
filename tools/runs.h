/* runs.h - the process runs (sessions) and the 5-hour blocks of a set of
 * records, for the --by keys session and block.
 *
 * Owns: what a run and a block are.  A record names its process (pid and
 * name) but no start time of the process, so a run is the records of one
 * pid and process name with no gap of TG_RUN_GAP_US or more between one
 * and the next: a pid reused by a later process of the same name after a
 * pause is another run; one reused within the gap cannot be told apart.
 * A block is ccusage's 5-hour billing block: it starts at the hour (UTC)
 * of the first call after the previous block ended and lasts TG_BLOCK_US.
 *
 * Both depend on the records before, and the ledger gives spooled records
 * after the stored ones, so they are worked out from every record first
 * (tg_runs_note() for each, then tg_runs_finish()); the grouping then
 * asks for the run or block a record falls in. */
#ifndef TG_RUNS_H
#define TG_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define TG_RUN_GAP_US   (INT64_C(30) * 60 * 1000000)
#define TG_BLOCK_US     (INT64_C(5) * 3600 * 1000000)

struct tg_run {
	int64_t ts_us;              /* a record's time; after finish, the run's start */
	int32_t pid;
	char process[TG_PROCESS_MAX];
};

struct tg_runs {
	struct tg_run *run;         /* sorted by pid, process, start after finish */
	size_t nruns, run_cap;
	int64_t *block;             /* block starts after finish, in time order */
	size_t nblocks, block_cap;
	int want_runs, want_blocks;
};

/* Notes one record.  Returns 0, or -1 when out of memory. */
int tg_runs_note(struct tg_runs *rs, const struct tg_record *r);

/* Works the runs and blocks out from the records noted. */
void tg_runs_finish(struct tg_runs *rs);

/* The start of r's run, or of the block of ts_us (INT64_MIN: none noted). */
int64_t tg_runs_run_start(const struct tg_runs *rs, const struct tg_record *r);
int64_t tg_runs_block_start(const struct tg_runs *rs, int64_t ts_us);

void tg_runs_free(struct tg_runs *rs);

#endif
