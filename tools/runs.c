/* runs.c - process runs and 5-hour blocks (see runs.h). */
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "grow.h"
#include "runs.h"

int tg_runs_note(struct tg_runs *rs, const struct tg_record *r)
{
	if (rs->want_runs) {
		struct tg_run *e;

		if (tg_grow_for_one((void **)&rs->run, rs->nruns, &rs->run_cap, sizeof *rs->run))
			return -1;
		e = &rs->run[rs->nruns++];
		e->ts_us = r->ts_us;
		e->pid = r->pid;
		memcpy(e->process, r->process, sizeof e->process);
		e->process[sizeof e->process - 1] = '\0';
	}
	if (rs->want_blocks) {
		if (tg_grow_for_one((void **)&rs->block, rs->nblocks, &rs->block_cap,
		                    sizeof *rs->block))
			return -1;
		rs->block[rs->nblocks++] = r->ts_us;
	}
	return 0;
}

static int cmp_process(const struct tg_run *a, int32_t pid, const char *process)
{
	if (a->pid != pid)
		return a->pid < pid ? -1 : 1;
	return strcmp(a->process, process);
}

static int cmp_run(const void *x, const void *y)
{
	const struct tg_run *a = x, *b = y;
	int c = cmp_process(a, b->pid, b->process);

	if (c)
		return c;
	return a->ts_us < b->ts_us ? -1 : a->ts_us > b->ts_us;
}

static int cmp_ts(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

static int64_t hour_floor(int64_t us)
{
	const int64_t hour = TG_US_PER_HOUR;

	return (us / hour - (us % hour < 0)) * hour;
}

void tg_runs_finish(struct tg_runs *rs)
{
	size_t n = 0;
	int64_t last = 0, end = INT64_MIN;

	/* Runs: of each process's records in time order, keep those that
	 * start one (the first, or one after a gap). */
	if (rs->nruns)   /* qsort's array may not be NULL, even empty */
		qsort(rs->run, rs->nruns, sizeof *rs->run, cmp_run);
	for (size_t i = 0; i < rs->nruns; i++) {
		int64_t ts = rs->run[i].ts_us;

		if (!i || cmp_process(&rs->run[i - 1], rs->run[i].pid, rs->run[i].process) ||
		    ts - last >= TG_RUN_GAP_US)
			rs->run[n++] = rs->run[i];
		last = ts;
	}
	rs->nruns = n;
	/* Blocks: a call at or after the end of the block before starts one. */
	if (rs->nblocks)
		qsort(rs->block, rs->nblocks, sizeof *rs->block, cmp_ts);
	n = 0;
	for (size_t i = 0; i < rs->nblocks; i++) {
		if (rs->block[i] >= end) {
			rs->block[n++] = hour_floor(rs->block[i]);
			end = rs->block[n - 1] + TG_BLOCK_US;
		}
	}
	rs->nblocks = n;
}

int64_t tg_runs_run_start(const struct tg_runs *rs, const struct tg_record *r)
{
	size_t lo = 0, hi = rs->nruns;

	/* The last run of r's process starting at or before r. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tg_run *e = &rs->run[mid];
		int c = cmp_process(e, r->pid, r->process);

		if (c < 0 || (c == 0 && e->ts_us <= r->ts_us))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || cmp_process(&rs->run[lo - 1], r->pid, r->process))
		return INT64_MIN;
	return rs->run[lo - 1].ts_us;
}

int64_t tg_runs_block_start(const struct tg_runs *rs, int64_t ts_us)
{
	size_t n = tg_times_at_or_before(rs->block, rs->nblocks, ts_us);

	return n ? rs->block[n - 1] : INT64_MIN;
}

void tg_runs_free(struct tg_runs *rs)
{
	free(rs->run);
	free(rs->block);
	memset(rs, 0, sizeof *rs);
}
