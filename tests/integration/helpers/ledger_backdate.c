/* ledger_backdate.c - puts a record of a past call into a ledger, for the
 * integration tests of calendar windows (a local day that began before
 * some records and after others): a real call is always "now".
 *
 *   ledger-backdate DIR TS_US USD
 *
 * appends one OpenAI gpt-4.1 call of 100 input and 10 output tokens that
 * cost USD dollars, at TS_US (microseconds since the epoch), made by the
 * process "backdated", as the shim would record it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"

int main(int argc, char **argv)
{
	struct tg_ledger *l;
	struct tg_record r;
	char *end;
	long long ts;
	double usd;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: ledger-backdate DIR TS_US USD\n");
		return 2;
	}
	ts = strtoll(argv[2], &end, 10);
	if (*end || ts < 0)
		return fprintf(stderr, "ledger-backdate: bad TS_US %s\n", argv[2]), 2;
	usd = strtod(argv[3], &end);
	if (*end || !(usd >= 0))
		return fprintf(stderr, "ledger-backdate: bad USD %s\n", argv[3]), 2;
	memset(&r, 0, sizeof r);
	tg_counts_unknown(&r.counts);
	r.ts_us = ts;
	r.counts.input = 100;
	r.counts.output = 10;
	r.cost_usd = usd;
	r.pid = (int32_t)getpid();
	r.status = 200;
	snprintf(r.provider, sizeof r.provider, "openai");
	snprintf(r.model, sizeof r.model, "gpt-4.1");
	snprintf(r.process, sizeof r.process, "backdated");
	if ((rc = tg_ledger_open(&l, argv[1], TG_LEDGER_CREATE)) != 0) {
		fprintf(stderr, "ledger-backdate: %s: %s\n", argv[1], tg_strerror(rc));
		return 1;
	}
	rc = tg_ledger_append_scoped(l, &r, "gpt-4.1");
	tg_ledger_close(l);
	if (rc) {
		fprintf(stderr, "ledger-backdate: %s\n", tg_strerror(rc));
		return 1;
	}
	return 0;
}
