/* pervalue.c - what the budget gate's check of a call costs under a
 * tag:KEY=* policy as the number of the tag's values in the ledger grows,
 * and that the process's memory does not grow with them.
 *
 *   pervalue make DIR VALUES [fixed]
 *   pervalue check DIR CHECKS
 *
 * make: a ledger in DIR (which must not hold one) with today's records of
 * VALUES distinct values of tag user (user=v0 ... plus user=alice), and
 * the stored policies tag:user=*,day,usd=1000,block and
 * tag:user=*,month,tokens=1G,warn.  check: configured as the shim is
 * (TOKENGUARD_LEDGER=DIR, TOKENGUARD_TAGS=user=alice), runs the gate's
 * check of one call (tg_gate_check: the policies matched and bound to
 * alice, their spend read, the decision made) CHECKS times.
 * Prints "us_per_check maxrss_kb": the fastest of 9 rounds of CHECKS/9
 * (the round least disturbed by other load on the machine), and the peak
 * resident size of the process.  With "fixed", the policies name alice's value
 * instead (tag:user=alice,...): the cost a tag:KEY=* check is compared to.  The check is expected to
 * be flat in VALUES (the same few bucket reads for one value or many).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config.h"
#include "gate.h"
#include "ledger_budget.h"
#include "providers.h"

#define ROUNDS 9

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void put(struct tg_ledger *l, const char *user, int64_t ts)
{
	struct tg_record r;

	memset(&r, 0, sizeof r);
	tg_counts_unknown(&r.counts);
	r.ts_us = ts;
	r.counts.input = 1000;
	r.counts.output = 100;
	r.cost_usd = 0.01;
	r.pid = 1;
	r.status = 200;
	r.latency_ms = r.ttft_ms = -1;
	snprintf(r.provider, sizeof r.provider, "openai");
	snprintf(r.host, sizeof r.host, "api.openai.com");
	snprintf(r.endpoint, sizeof r.endpoint, "/v1/chat/completions");
	snprintf(r.model, sizeof r.model, "gpt-4o");
	snprintf(r.process, sizeof r.process, "bench");
	snprintf(r.tags, sizeof r.tags, "team=x,user=%s", user);
	if (tg_ledger_append_scoped(l, &r, "gpt-4o") != 0) {
		fprintf(stderr, "pervalue: cannot append a record\n");
		exit(1);
	}
}

static void make_ledger(const char *dir, int values, int fixed)
{
	static const char *const each[] = {
		"tag:user=*,day,usd=1000,block,name=per-user",
		"tag:user=*,month,tokens=1000000000,warn,name=per-user-month",
	};
	static const char *const alice[] = {
		"tag:user=alice,day,usd=1000,block,name=per-user",
		"tag:user=alice,month,tokens=1000000000,warn,name=per-user-month",
	};
	const char *const *specs = fixed ? alice : each;
	struct tg_ledger *l;
	struct timespec t;
	char user[32], err[256];

	clock_gettime(CLOCK_REALTIME, &t);
	if (tg_ledger_open(&l, dir, TG_LEDGER_CREATE) != 0) {
		fprintf(stderr, "pervalue: cannot make a ledger in %s\n", dir);
		exit(1);
	}
	put(l, "alice", (int64_t)t.tv_sec * 1000000 - 1000000);
	for (int i = 0; i < values - 1; i++) {
		snprintf(user, sizeof user, "v%d", i);
		put(l, user, (int64_t)t.tv_sec * 1000000 - 1000000 + i);
	}
	for (size_t i = 0; i < 2; i++) {
		struct tg_policy p;

		if (tg_policy_parse(specs[i], &p, err, sizeof err) != 0 ||
		    tg_ledger_policy_put(l, &p) != 0) {
			fprintf(stderr, "pervalue: %s: %s\n", specs[i], err);
			exit(1);
		}
	}
	tg_ledger_close(l);
}

static int check(const char *dir, int checks)
{
	double round_us[ROUNDS];
	struct rusage ru;

	setenv("TOKENGUARD_LEDGER", dir, 1);
	setenv("TOKENGUARD_TAGS", "user=alice", 1);
	unsetenv("TOKENGUARD_BUDGETS");
	tg_config_load();
	tg_gate_configure(tg_config_get()->budgets, tg_config_get()->fail);

	struct tg_gate_call call = {
		.provider = tg_provider_by_name("openai"), .model = "gpt-4o", .deployment = "",
		.max_tokens = -1, .can_rewrite = 1,
	};
	struct tg_gate_result out;
	tg_gate_check(&call, &out);   /* the first: opens the ledger, reads the policies */
	if (out.verdict != TG_VERDICT_ALLOW) {
		fprintf(stderr, "pervalue: the check did not allow the call: %s\n", out.message);
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_us();

		for (int i = 0; i < checks / ROUNDS; i++)
			tg_gate_check(&call, &out);
		round_us[r] = (now_us() - t0) / (checks / ROUNDS);
	}
	qsort(round_us, ROUNDS, sizeof round_us[0], cmp);
	getrusage(RUSAGE_SELF, &ru);
	printf("%.2f %ld\n", round_us[0], ru.ru_maxrss);
	return 0;
}

int main(int argc, char **argv)
{
	int n;

	if (argc >= 4 && !strcmp(argv[1], "make") && (n = atoi(argv[3])) >= 1 &&
	    (argc == 4 || (argc == 5 && !strcmp(argv[4], "fixed")))) {
		make_ledger(argv[2], n, argc == 5);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "check") && (n = atoi(argv[3])) >= ROUNDS)
		return check(argv[2], n);
	fprintf(stderr, "usage: pervalue make DIR VALUES [fixed] | pervalue check DIR CHECKS\n");
	return 2;
}
