/* spend_rule.h - the one rule for what a ledger record counts for in every
 * sum: the shim's budget totals and session spend, `summary`, `check`,
 * `budget status` and `verify` all take a record's amounts from
 * tg_total_of_record() and nowhere else.
 *
 * Owns: struct tg_total (the amounts of one record or of many) and the
 * rule that fills it:
 *  - a sent call is a record not flagged TG_REC_BLOCKED.  A blocked call
 *    was refused by a budget policy and never left the machine: it adds 1
 *    to blocked and nothing else (no call, no token, no cost).
 *  - tokens = input + output of a sent call (cache reads and writes are
 *    parts of input, reasoning of output: record.h).  An unknown count
 *    adds nothing and the call is counted in tokens_unknown, so tokens is
 *    then a lower bound ("at least"), never a guess.
 *  - cost: a sent call whose response carried no usage has an unknown
 *    cost (usage_unknown); one with usage but no price for its model is
 *    unpriced; only the others add to usd_known.  usd, the budgets' sum,
 *    adds every finite positive cost_usd.  The shim writes for both
 *    unknown kinds an estimate (shim/estimate.h) flagged
 *    TG_REC_COST_ESTIMATE, or 0 where it has none; such a cost adds to
 *    usd and to usd_estimated, never to usd_known.  A policy with
 *    unpriced=allow counts usd - usd_estimated (tg_total_usd_for()).
 *
 * Whoever shows such a sum says "at least" when tokens_unknown, unpriced
 * or usage_unknown is not zero (money.h formats the amounts).
 */
#ifndef TG_SPEND_RULE_H
#define TG_SPEND_RULE_H

#include <stdint.h>

#include "record.h"

struct tg_total {
	double usd;                 /* the budgets' sum: every sent call's cost_usd */
	int64_t tokens;             /* input + output of sent calls, unknown counts left out */
	int64_t calls;              /* sent calls */
	int64_t blocked;            /* calls refused by a policy: never sent */
	/* The fields reports sum, appended by the second totals layout
	 * (ledger_budget.h).  partial is set for a value of the first layout,
	 * which does not hold them: a report must count that bucket's records
	 * itself. */
	double usd_known;           /* cost of the calls priced with known usage */
	int64_t unpriced;           /* calls with usage but no price */
	int64_t usage_unknown;      /* calls whose response carried no usage */
	int64_t tokens_unknown;     /* calls with input or output unknown */
	/* Appended by the third totals layout: the part of usd that is an
	 * estimate (records flagged TG_REC_COST_ESTIMATE).  No record before
	 * that layout held one, so a value of the second layout says 0
	 * rightly. */
	double usd_estimated;
	int64_t estimated;          /* calls whose cost_usd is an estimate */
	int partial;
};

/* The model r's program named, when it counts as well as the served one
 * for model: scopes (the ledger's totals, the spool's spend, the gate's
 * session spend): requested_model, unless a downgrade rewrote it (the
 * policy chose not to serve that model).  "" when none. */
const char *tg_record_asked_model(const struct tg_record *r);

/* 1 when r was sent to the provider: not refused by a budget policy. */
int tg_record_sent(const struct tg_record *r);

/* What r adds to every sum it is in, by the rule above. */
void tg_total_of_record(const struct tg_record *r, struct tg_total *a);

/* Adds delta to a, field by field: the one place where amounts are summed
 * (a bucket's records, buckets into a period, a batch before its write, a
 * report's groups). */
void tg_total_sum(struct tg_total *a, const struct tg_total *delta);

/* 1 when r's cost_usd is an estimate (TG_REC_COST_ESTIMATE). */
int tg_record_cost_estimated(const struct tg_record *r);

/* The USD a policy counts of usd and its estimated part: all of it, or
 * with count_estimates 0 (unpriced=allow) the measured part alone. */
double tg_total_usd_for(double usd, double usd_estimated, int count_estimates);

/* Calls whose cost is not in usd_known: unpriced + usage_unknown. */
int64_t tg_total_cost_unknown(const struct tg_total *a);

/* Of those, the calls without an estimate either: what a sum of usd_known
 * + usd_estimated still leaves out ("at least"). */
int64_t tg_total_cost_unestimated(const struct tg_total *a);

#endif
