/* policy_decide.h - the budget decision for one call: a pure function.
 *
 * Owns: what one policy says about one call given the spend of its
 * window (allow, block, rewrite the model or the max output tokens, and
 * which alerts are due), and how the verdicts of every policy that
 * governs the call add up.  No I/O, no globals, no clock: the shim's gate
 * (shim/gate.h) reads the policies and the spend, calls these,
 * then alerts, records and answers; the report's `estimate --budget`
 * reads the same policies and spend and calls these too, so that what it
 * says a call would meet is what the shim then does.  It lives in ledger/
 * for that: both link it.  The tests drive every action, fallback and
 * unpriced mode through tables (tests/unit/test_budget_decide.c).
 *
 * Rules:
 *  - a policy's USD spend is the window's usd, estimates included unless
 *    unpriced=allow (spend_rule.h, tg_total_usd_for);
 *  - used % is the larger of USD and token use; a limit of 0 is 100 %;
 *    a call to a model priced at zero on purpose is not held by a USD
 *    limit (it cannot add to it);
 *  - over (>= 100 %): block blocks, warn only alerts, downgrade rewrites
 *    the model (unless it is already the target), clamp caps the max
 *    output tokens at what the rest of the budget pays for (at the model's
 *    output rate, or its provider's highest for a model without a price);
 *    downgrade and clamp apply their fallback when the request cannot be
 *    rewritten, and clamp blocks (fallback=block) when nothing is left;
 *  - unpriced=block: a call naming a model without a price is refused
 *    while the policy has a USD limit, whatever the spend (a warn policy
 *    only says so);
 *  - a fleet policy (policy.h) whose others' spend is not fresh
 *    (ledger_fleet.h: stale, or never pulled) counts the local spend
 *    alone; with the fail mode closed it blocks instead, whatever the
 *    spend;
 *  - merging: the first block wins; a downgrade's model and the lowest
 *    clamp are kept.
 */
#ifndef TG_POLICY_DECIDE_H
#define TG_POLICY_DECIDE_H

#include <stdint.h>

#include "policy.h"
#include "ledger_budget.h"
#include "price.h"

enum tg_verdict {
	TG_VERDICT_ALLOW,
	TG_VERDICT_BLOCK,
	TG_VERDICT_REWRITE,       /* new_model and/or new_max_tokens set */
};

/* What every policy that governs a call says of it, merged
 * (tg_verdict_merge): the shim's answer to the call. */
struct tg_gate_result {
	enum tg_verdict verdict;
	char policy[TG_POLICY_NAME_MAX];   /* the policy that decided; "" for allow */
	char new_model[TG_MODEL_MAX];      /* downgrade target; "" to keep */
	int64_t new_max_tokens;            /* clamp; -1 to keep */
	char message[320];                 /* for the refusal the program reads */
};

/* The call as a decision sees it. */
struct tg_decide_call {
	const char *model;              /* as asked; "" if unknown */
	int64_t max_tokens;             /* max output tokens asked; -1 if none */
	int can_rewrite;                /* the transport can rewrite the body */
	const struct tg_price *price;   /* the model's price line; NULL: none */
	const struct tg_price *ceiling; /* its provider's highest rates; NULL: none known */
	int fail_closed;                /* TOKENGUARD_FAIL=closed */
};

/* Why a policy blocks. */
enum tg_block_reason { TG_BLOCK_NONE, TG_BLOCK_OVER, TG_BLOCK_UNPRICED, TG_BLOCK_FLEET_STALE };

/* What one policy says. */
struct tg_policy_verdict {
	enum tg_verdict verdict;
	enum tg_block_reason reason;    /* for TG_VERDICT_BLOCK */
	const char *new_model;          /* downgrade target, or NULL */
	int64_t new_max_tokens;         /* clamp, or -1 */
	unsigned alerts;                /* bit (1u << level) per enum tg_alert_level due */
	const char *fallback_note;      /* detail of the TG_ALERT_FALLBACK alert */
	const char *fleet_note;         /* a fleet policy without fresh totals: what
	                                   was done about it; NULL otherwise */
	double pct;                     /* used %, for the messages */
	struct tg_spend spend;          /* the spend as the policy counts it */
};

/* Decides for p, whose window has spent *s, about call c. */
void tg_policy_decide(const struct tg_policy *p, const struct tg_spend *s,
                      const struct tg_decide_call *c, struct tg_policy_verdict *out);

/* Adds v, the verdict of p, to the call's result out (initially allow,
 * new_max_tokens -1).  Returns 1 when v decided out's block. */
int tg_verdict_merge(struct tg_gate_result *out, const struct tg_policy *p,
                     const struct tg_policy_verdict *v);

#endif
