/* gate.h - the budget check made before a provider call is sent.
 *
 * Owns: the process's view of the budget policies (those stored in the
 * ledger, re-read only when the ledger's policy version changes, plus those
 * of TOKENGUARD_BUDGETS), the spend of session windows (the life of this
 * process, kept in memory, fed by the sink's commit observer), the fail
 * mode (TOKENGUARD_FAIL) and the orchestration of the check of one call:
 * match the policies, read their spend, have each decide (ledger/
 * policy_decide.h: allow, block, or rewrite by downgrading the model or
 * clamping the max output tokens; the verdict and result types are its),
 * then say the alerts and stderr lines that go with it and
 * write the refusal's message.  The transports ask through
 * tg_exchange_gate() (exchange.h).
 *
 * A tag:KEY=* policy is bound to the call's value of KEY (policy.h) and
 * checked as tag:KEY=VALUE: the same bucket reads as a fixed policy, and
 * no state per value, except for session windows: this process keeps
 * their spend per policy and value in a table of 64 entries; a 65th value
 * takes the entry used least recently, whose spend is forgotten (that
 * value starts again from 0 if it comes back).  The gate's cache of
 * alerts already recorded is a ring of 32 whatever the number of values.
 *
 * A fleet policy (policy.h) adds the other machines' spend that
 * `tokenguard-report sync` keeps in the ledger (ledger_fleet.h), read in
 * the same transaction: the shim never talks to the network.  When those
 * totals are stale, TOKENGUARD_FAIL=open counts the local spend alone,
 * with one warning per process; closed refuses the call.
 *
 * The check reads committed spend in one LMDB read transaction; calls of
 * other processes still in flight are not in it, so racing processes can
 * overshoot a limit by at most the calls in flight when it was crossed.
 * All functions run under the sink's lock (tg_sink_locked).
 */
#ifndef TG_GATE_H
#define TG_GATE_H

#include <stdint.h>

#include "policy_decide.h"
#include "providers.h"
#include "record.h"

struct tg_call_origin;

struct tg_gate_call {
	const struct tg_provider *provider;
	const char *model;        /* as asked; "" if unknown */
	/* An Azure deployment's name when the body names a model too; "" else.
	 * A model: scope matches either (the URL names one, the body the
	 * other); the decision goes by model. */
	const char *deployment;
	int64_t max_tokens;       /* max output tokens asked; -1 if none */
	int can_rewrite;          /* the transport can rewrite this request's body */
	const struct tg_call_origin *origin;   /* whose call (attrib.h); NULL: the process's tags */
};

/* Decides for one call.  Never fails: problems reading the ledger apply
 * the fail mode (TOKENGUARD_FAIL=open lets the call through with one
 * warning; closed blocks it). */
void tg_gate_check(const struct tg_gate_call *call, struct tg_gate_result *out);

/* Adds a committed record to the session windows it counts toward.
 * The sink's commit observer (sink.h, registered by tg_gate_configure),
 * under its lock. */
void tg_gate_account(const struct tg_record *r, const char *model_family);

/* pthread_atfork child handler: a child's session starts with no spend. */
void tg_gate_atfork_child(void);

/* The session spend this process keeps of policy (for a tag:KEY=*
 * policy, of its value; "" for others) into *usd and *calls; returns 0,
 * or -1 when it keeps none.  And how many values of tag:KEY=* policies
 * it keeps (at most 64).  (Exposed for tests.) */
int tg_gate_session_spend(const char *policy, const char *value, double *usd, int64_t *calls);
int tg_gate_session_values(void);

/* Reads TOKENGUARD_BUDGETS and TOKENGUARD_FAIL (invalid policies are
 * reported on stderr by name and field, and not applied) and registers
 * the session spend with the sink.  Called once at initialisation. */
void tg_gate_configure(const char *budgets_env, const char *fail_env);

#endif
