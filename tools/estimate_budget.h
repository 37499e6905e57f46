/* estimate_budget.h - `estimate --budget`: what each budget policy that
 * would govern a call says of it now, and what the shim would do.
 *
 * Owns: gathering the policies the shim's gate applies (TOKENGUARD_BUDGETS
 * of this environment first, then those stored in the ledger, matched
 * with tg_policy_matches on the call), their spend as the gate reads it
 * (tg_ledger_spend_many: the window's totals less a reset's baseline,
 * spools included; a session window is a new process's, 0), and the
 * verdict of each and of all by the gate's own pure functions
 * (policy_decide.h: tg_policy_decide, tg_verdict_merge).  Nothing here
 * decides anything itself, so a change to a rule or a window reaches the
 * estimate with the shim.
 *
 * What the shim knows and the estimate assumes: the request can be
 * rewritten (a body held whole: the usual case; else the policy's
 * fallback applies), and its max output tokens are --output-tokens (none
 * when not given).
 */
#ifndef TG_ESTIMATE_BUDGET_H
#define TG_ESTIMATE_BUDGET_H

#include <stdint.h>

#include "policy_decide.h"
#include "quote.h"
#include "report.h"

struct tg_estimate_row {
	struct tg_policy policy;
	struct tg_spend spend;          /* as the gate reads it; zeros for a session window */
	struct tg_policy_verdict v;     /* v.new_model points into policy */
};

struct tg_estimate_budget {
	struct tg_estimate_row *rows;   /* the policies that govern the call, in the gate's order */
	int n;
	struct tg_gate_result merged;   /* what the shim would do */
	int no_ledger;                  /* no ledger at rep->dir: no stored policy, nothing spent */
	int env_ignored;                /* TOKENGUARD_BUDGETS does not parse: the shim applies
	                                   none of it (said on rep->err) */
	int64_t now_us;
};

/* Fills *b for the call of quote q to model, with rep's --tag and
 * --process as the call's tags and process.  Returns 0, or TG_EXIT_FAIL
 * after saying why (a ledger that cannot be read). */
int tg_estimate_budget(const struct tg_report *rep, const struct tg_quote *q, const char *model,
                       struct tg_estimate_budget *b);

void tg_estimate_budget_free(struct tg_estimate_budget *b);

/* The verdict of one policy as a word of the table and JSON: "allow",
 * "warn" (over its limit, or its fallback let the call through), "block",
 * "downgrade", "clamp". */
const char *tg_estimate_verdict_name(const struct tg_policy_verdict *v);

#endif
