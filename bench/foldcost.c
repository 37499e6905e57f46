/* foldcost.c - what a fold costs per record, in time and in bytes written,
 * on the ledger in DIR as it is: run on an empty ledger and on one of a
 * million records, the two must be alike (the totals of a fold are summed
 * in memory and the records appended in key order, so neither the tree's
 * depth nor the number of totals makes a fold dearer).
 *
 * Usage: foldcost DIR ROUNDS.  Each round hands 256 records off (a spool
 * write each, as the shim does) and times the fold that commits them;
 * bytes are what the fold passed to write(2) (/proc/self/io wchar: LMDB's
 * page writes), per record.  Prints "us_per_record bytes_per_record", the
 * medians over the rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger.h"

#define BATCH 256

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static long long wchar(void)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen("/proc/self/io", "r");

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "wchar: %lld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct tg_ledger *l;
	struct tg_record r;
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	double *us, *bytes;
	long long ts = (long long)time(NULL) * 1000000;
	static const char *const models[] = { "gpt-4o-mini-2024-07-18", "claude-sonnet-4-20250514",
		                              "gemini-2.5-flash" };
	static const char *const providers[] = { "openai", "anthropic", "gemini" };

	if (argc < 2 || rounds < 1) {
		fprintf(stderr, "usage: foldcost DIR ROUNDS\n");
		return 2;
	}
	if (tg_ledger_open(&l, argv[1], TG_LEDGER_CREATE | TG_LEDGER_SPOOL | TG_LEDGER_HANDOFF) != 0 ||
	    tg_ledger_try_fold(l) != 0) {
		fprintf(stderr, "foldcost: cannot open %s\n", argv[1]);
		return 2;
	}
	us = calloc((size_t)rounds, sizeof *us);
	bytes = calloc((size_t)rounds, sizeof *bytes);
	memset(&r, 0, sizeof r);
	tg_counts_unknown(&r.counts);
	r.status = 200;
	r.latency_ms = 850;
	r.ttft_ms = -1;
	strcpy(r.endpoint, "/v1/chat/completions");
	strcpy(r.process, "worker.py");
	strcpy(r.tags, "team=search,env=prod");
	for (int k = 0; k < rounds; k++) {
		for (int i = 0; i < BATCH; i++) {
			int m = i % 3;

			r.ts_us = ts += 1000;
			r.counts.input = 1200 + i;
			r.counts.output = 300;
			r.cost_usd = 0.0009;
			snprintf(r.provider, sizeof r.provider, "%s", providers[m]);
			snprintf(r.host, sizeof r.host, "api.%s.com", providers[m]);
			snprintf(r.model, sizeof r.model, "%s", models[m]);
			snprintf(r.request_id, sizeof r.request_id, "req_%032x", k * BATCH + i);
			snprintf(r.response_id, sizeof r.response_id, "chatcmpl-%029d", k * BATCH + i);
			if (tg_ledger_append(l, &r) != TG_LEDGER_SPOOLED) {
				fprintf(stderr, "foldcost: a hand-off failed\n");
				return 2;
			}
		}
		long long w0 = wchar();
		double t0 = now_us();
		if (tg_ledger_try_fold(l) != 0) {
			fprintf(stderr, "foldcost: a fold failed\n");
			return 2;
		}
		us[k] = (now_us() - t0) / BATCH;
		bytes[k] = (double)(wchar() - w0) / BATCH;
	}
	qsort(us, (size_t)rounds, sizeof *us, cmp);
	qsort(bytes, (size_t)rounds, sizeof *bytes, cmp);
	printf("%.2f %.0f\n", us[rounds / 2], bytes[rounds / 2]);
	tg_ledger_close(l);
	return 0;
}
