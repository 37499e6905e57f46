/* budget_gate.c - see budget_gate.h. */
#include "budget_gate.h"

#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "config.h"
#include "decimal.h"
#include "ledger_budget.h"
#include "log.h"
#include "money.h"
#include "pid.h"
#include "price.h"
#include "sink.h"
#include "text.h"

#define ENV_POLICIES_MAX    16
#define STORED_POLICIES_MAX 64
#define MATCH_MAX           (ENV_POLICIES_MAX + STORED_POLICIES_MAX)

/* Guarded by the sink's lock (every entry point runs inside
 * tg_sink_locked); env_policies and fail_closed are written once at
 * configuration, before any call is observed. */
static struct {
	struct tg_policy env_policies[ENV_POLICIES_MAX];
	int nenv;
	int fail_closed;

	struct tg_policy stored[STORED_POLICIES_MAX];
	int nstored;
	uint64_t stored_version;
	struct tg_policy_stamp stamp;   /* as seen when the list was read */
	int stored_loaded;
	pid_t stored_pid;

	/* Session windows: spend of this process, by policy name. */
	struct session_spend {
		char name[TG_POLICY_NAME_MAX];
		double usd;
		int64_t tokens;
		int64_t calls;
		unsigned alerted;   /* bit per alert level already printed */
	} session[MATCH_MAX];
	int nsession;

	/* Alerts this process knows are recorded (by it or another process):
	 * asking the ledger again would cost a write transaction per call. */
	struct known_alert {
		char policy[TG_POLICY_NAME_MAX];
		int level;
		int64_t window_start_us;
	} known[32];
	int nknown, next_known;
} gate;

void tg_gate_atfork_child(void)
{
	gate.nsession = 0;
}

static int alert_known(const char *policy, int level, int64_t window_start_us)
{
	for (int i = 0; i < gate.nknown; i++)
		if (gate.known[i].level == level && gate.known[i].window_start_us == window_start_us &&
		    strcmp(gate.known[i].policy, policy) == 0)
			return 1;
	return 0;
}

static void alert_remember(const char *policy, int level, int64_t window_start_us)
{
	struct known_alert *k = &gate.known[gate.next_known];
	gate.next_known = (gate.next_known + 1) % 32;
	if (gate.nknown < 32)
		gate.nknown++;
	snprintf(k->policy, sizeof k->policy, "%s", policy);
	k->level = level;
	k->window_start_us = window_start_us;
}

void tg_gate_configure(const char *budgets_env, const char *fail_env)
{
	char err[256];
	gate.nenv = 0;
	if (budgets_env && *budgets_env &&
	    tg_policies_parse_env(budgets_env, gate.env_policies, ENV_POLICIES_MAX, &gate.nenv,
	                          err, sizeof err) != 0) {
		tg_warn("TOKENGUARD_BUDGETS: %s; none of its policies apply until it is fixed", err);
		gate.nenv = 0;
	}
	gate.fail_closed = 0;
	if (fail_env && *fail_env) {
		if (strcmp(fail_env, "closed") == 0)
			gate.fail_closed = 1;
		else if (strcmp(fail_env, "open") != 0)
			tg_warn("TOKENGUARD_FAIL=%s: expected open or closed; using open", fail_env);
	}
}

static struct session_spend *session_slot(const char *name, int create)
{
	for (int i = 0; i < gate.nsession; i++)
		if (strcmp(gate.session[i].name, name) == 0)
			return &gate.session[i];
	if (!create || gate.nsession == MATCH_MAX)
		return NULL;
	snprintf(gate.session[gate.nsession].name, TG_POLICY_NAME_MAX, "%s", name);
	return &gate.session[gate.nsession++];
}

static void call_of_record(const struct tg_record *r, const char *family, struct tg_call *c)
{
	c->provider = r->provider;
	c->model = r->model;
	c->model_family = family && *family ? family : r->model;
	c->process = r->process;
	c->tags = r->tags;
}

static void account_list(const struct tg_policy *list, int n, const struct tg_record *r,
                         const struct tg_call *c)
{
	struct tg_total a;
	tg_total_of_record(r, &a);   /* the rule of every spend total: spend_rule.h */
	for (int i = 0; i < n; i++) {
		if (list[i].window != TG_WIN_SESSION || !tg_policy_matches(&list[i], c))
			continue;
		struct session_spend *s = session_slot(list[i].name, 1);
		if (!s)
			continue;
		s->usd += a.usd;
		s->tokens += a.tokens;
		s->calls += a.calls;
	}
}

void tg_gate_account(const struct tg_record *r, const char *model_family)
{
	struct tg_call c;
	if (r->flags & TG_REC_BLOCKED)
		return;
	call_of_record(r, model_family, &c);
	account_list(gate.env_policies, gate.nenv, r, &c);
	if (gate.stored_loaded && gate.stored_pid == tg_getpid())
		account_list(gate.stored, gate.nstored, r, &c);
}

/* Re-reads the stored policies when another process changed them: the
 * policy stamp (ledger_budget.h) says so with one fstatat, so a request
 * that meets no change reads nothing of LMDB. */
static int load_stored(struct tg_ledger *l)
{
	struct tg_policy_stamp stamp;
	uint64_t v;
	int current = gate.stored_loaded && gate.stored_pid == tg_getpid();
	int rc = tg_ledger_policy_stamp(l, &stamp);
	if (rc != 0)
		return rc;
	if (current && tg_policy_stamp_same(&stamp, &gate.stamp))
		return 0;
	if (stamp.state == TG_STAMP_EMPTY_LEDGER) {
		gate.nstored = 0;   /* nothing stored yet: nothing to read */
		gate.stored_version = 0;
		gate.stored_loaded = 1;
		gate.stored_pid = tg_getpid();
		gate.stamp = stamp;
		return 0;
	}
	/* The stamp seen before the read: a change made during it is seen
	 * at the next request. */
	gate.stamp = stamp;
	rc = tg_ledger_policy_version(l, &v);
	if (rc != 0)
		return rc;
	if (current && v == gate.stored_version)
		return 0;
	int n = 0;
	gate.nstored = 0;
	if (v != 0) {
		rc = tg_ledger_policies(l, gate.stored, STORED_POLICIES_MAX, &n, &v);
		if (rc != 0)
			return rc;
		if (n > STORED_POLICIES_MAX) {
			tg_warn("more than %d budget policies are stored; only the first %d apply",
			        STORED_POLICIES_MAX, STORED_POLICIES_MAX);
			n = STORED_POLICIES_MAX;
		}
	}
	gate.nstored = n;
	gate.stored_version = v;
	gate.stored_loaded = 1;
	gate.stored_pid = tg_getpid();
	return 0;
}

static void describe(const struct tg_policy *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s, %s", tg_scope_name(p->scope), p->scope_value[0] ? ":" : "",
	         p->scope_value, tg_window_name(p->window));
}

/* In the C locale whatever the host program set: the text ends up in a
 * JSON error body and on stderr, where a decimal comma would mislead. */
static void spend_text(const struct tg_policy *p, const struct tg_spend *s, char *buf, size_t n)
{
	/* The spend by the one money formatter (money.h); the limit as written. */
	char usd[TG_MONEY_MAX], lim[48];
	if (tg_money_text(s->usd, usd, sizeof usd) < 0)
		snprintf(usd, sizeof usd, "$?");
	if (tg_decimal_shortest(p->limit_usd, lim, sizeof lim) < 0)
		snprintf(lim, sizeof lim, "?");
	if (p->limit_usd >= 0 && p->limit_tokens >= 0)
		snprintf(buf, n, "spent %s of $%s and %lld of %lld tokens", usd, lim,
		         (long long)s->tokens, (long long)p->limit_tokens);
	else if (p->limit_usd >= 0)
		snprintf(buf, n, "spent %s of $%s", usd, lim);
	else
		snprintf(buf, n, "used %lld of %lld tokens", (long long)s->tokens, (long long)p->limit_tokens);
}

/* The window an alert is said once for.  A rolling 24h window starts anew
 * every hour: keyed by its start, an alert would be repeated hourly while
 * the spend stays high, so it is keyed by the UTC day instead. */
static int64_t alert_window(const struct tg_policy *p, const struct tg_spend *s)
{
	const int64_t day_us = INT64_C(86400000000);
	if (p->window != TG_WIN_24H)
		return s->window_start_us;
	int64_t now = tg_wall_us();
	return now - (now % day_us + day_us) % day_us;
}

static void fill_alert(struct tg_alert *a, const struct tg_policy *p, const struct tg_spend *s,
                       int level, const char *model, const char *detail)
{
	memset(a, 0, sizeof *a);
	a->ts_us = tg_wall_us();
	snprintf(a->policy, sizeof a->policy, "%s", p->name);
	a->level = level;
	a->spend_usd = s->usd;
	a->spend_tokens = s->tokens;
	a->limit_usd = p->limit_usd;
	a->limit_tokens = p->limit_tokens;
	a->window_start_us = alert_window(p, s);
	a->pid = (int32_t)tg_getpid();
	snprintf(a->process, sizeof a->process, "%s", tg_config_get()->process);
	snprintf(a->model, sizeof a->model, "%s", model);
	snprintf(a->detail, sizeof a->detail, "%s", detail);
}

/* One line per policy, level and window across every process: the ledger
 * records the alert once, and only the process that recorded it prints. */
static void alert_once(struct tg_ledger *l, const struct tg_policy *p, const struct tg_spend *s,
                       int level, const char *model, const char *what)
{
	struct tg_alert a;
	char scope[TG_TAGS_MAX + 32], spent[160];
	describe(p, scope, sizeof scope);
	spend_text(p, s, spent, sizeof spent);
	fill_alert(&a, p, s, level, model, what);
	if (p->window == TG_WIN_SESSION) {
		/* Session windows belong to this process: the ledger cannot tell
		 * one process's session from another's, so print per process. */
		struct session_spend *slot = session_slot(p->name, 1);
		if (!slot || (slot->alerted & (1u << level)))
			return;
		slot->alerted |= 1u << level;
	} else {
		if (!l || alert_known(p->name, level, a.window_start_us))
			return;
		int rc = tg_ledger_alert_once(l, &a);
		if (rc >= 0)
			alert_remember(p->name, level, a.window_start_us);
		if (rc != 1)
			return;
	}
	tg_warn("budget '%s' (%s): %s: %s", p->name, scope, what, spent);
}

struct match {
	const struct tg_policy *p;
	struct tg_spend spend;
};

static double pct_used(const struct tg_policy *p, const struct tg_spend *s, int zero_priced)
{
	double pct = 0;
	if (p->limit_usd > 0 && !zero_priced)
		pct = s->usd / p->limit_usd * 100.0;
	else if (p->limit_usd == 0 && !zero_priced)
		pct = 100.0;
	if (p->limit_tokens > 0 && (double)s->tokens / (double)p->limit_tokens * 100.0 > pct)
		pct = (double)s->tokens / (double)p->limit_tokens * 100.0;
	else if (p->limit_tokens == 0)
		pct = 100.0;
	return pct;
}

/* Output tokens the rest of the budget can pay for; INT64_MAX if unbounded. */
static int64_t affordable_tokens(const struct tg_policy *p, const struct tg_spend *s,
                                 const struct tg_price *price)
{
	int64_t n = INT64_MAX;
	if (p->limit_usd >= 0 && price && price->base.output > 0) {
		double left = p->limit_usd - s->usd;
		double t = left > 0 ? left / (price->base.output / 1e6) : 0;
		n = t < (double)INT64_MAX ? (int64_t)t : INT64_MAX;
	}
	if (p->limit_tokens >= 0) {
		int64_t left = p->limit_tokens - s->tokens;
		if (left < n)
			n = left > 0 ? left : 0;
	}
	return n;
}

struct check_ctx {
	const struct tg_gate_call *call;
	struct tg_gate_result *out;
};

static void set_block(struct tg_gate_result *out, const struct tg_policy *p, const char *message)
{
	out->verdict = TG_VERDICT_BLOCK;
	snprintf(out->policy, sizeof out->policy, "%s", p->name);
	snprintf(out->message, sizeof out->message, "%s", message);
}

static void check_locked(struct tg_ledger *l, const struct tg_prices *prices, void *arg)
{
	struct check_ctx *cx = arg;
	const struct tg_gate_call *call = cx->call;
	struct tg_gate_result *out = cx->out;
	const struct tg_config *cfg = tg_config_get();
	struct match m[MATCH_MAX];
	int nm = 0;
	int64_t now = tg_wall_us();

	/* An unreadable ledger is said once, with the sink's ledger warnings
	 * (one line per cause); the fail mode decides what happens to the
	 * call. */
	int rc = l ? load_stored(l) : TG_ENOENT;
	if (rc != 0) {
		if (gate.fail_closed) {
			out->verdict = TG_VERDICT_BLOCK;
			snprintf(out->policy, sizeof out->policy, "fail-closed");
			snprintf(out->message, sizeof out->message,
			         "tokenguard: the budget ledger at %.160s cannot be read and TOKENGUARD_FAIL=closed; "
			         "the call was not sent", cfg->ledger_dir);
			return;
		}
		if (l)
			tg_sink_ledger_problem(rc, "cannot read the budget policies in",
			                       "budgets are not checked (TOKENGUARD_FAIL=open) and calls may not be recorded");
		return;
	}
	if (gate.nenv == 0 && gate.nstored == 0)
		return;

	const struct tg_price *price = call->model[0] && prices
		? tg_price_find(prices, call->provider->name, call->model) : NULL;
	int zero_priced = price && price->base.input == 0 && price->base.output == 0;
	struct tg_call c = {
		.provider = call->provider->name,
		.model = call->model,
		.model_family = price ? price->family : call->model,
		.process = cfg->process,
		.tags = cfg->tags,
	};
	for (int i = 0; i < gate.nenv && nm < MATCH_MAX; i++)
		if (tg_policy_matches(&gate.env_policies[i], &c))
			m[nm++].p = &gate.env_policies[i];
	for (int i = 0; i < gate.nstored && nm < MATCH_MAX; i++)
		if (tg_policy_matches(&gate.stored[i], &c))
			m[nm++].p = &gate.stored[i];
	if (nm == 0)
		return;

	struct tg_policy ps[MATCH_MAX];
	struct tg_spend sp[MATCH_MAX];
	for (int i = 0; i < nm; i++)
		ps[i] = *m[i].p;
	if (tg_ledger_spend_many(l, ps, nm, now, sp) != 0) {
		if (gate.fail_closed) {
			set_block(out, m[0].p, "tokenguard: budget spend cannot be read and TOKENGUARD_FAIL=closed; "
			          "the call was not sent");
			return;
		}
		return;
	}
	for (int i = 0; i < nm; i++) {
		m[i].spend = sp[i];
		if (m[i].p->window == TG_WIN_SESSION) {
			struct session_spend *s = session_slot(m[i].p->name, 0);
			m[i].spend.usd = s ? s->usd : 0;
			m[i].spend.tokens = s ? s->tokens : 0;
			m[i].spend.calls = s ? s->calls : 0;
		}
	}

	char scope[TG_TAGS_MAX + 32], spent[160];
	for (int i = 0; i < nm && out->verdict != TG_VERDICT_BLOCK; i++) {
		const struct tg_policy *p = m[i].p;
		const struct tg_spend *s = &m[i].spend;
		double pct = pct_used(p, s, zero_priced);
		int over = pct >= 100.0;
		describe(p, scope, sizeof scope);
		spend_text(p, s, spent, sizeof spent);

		if (pct >= p->alert_pct && !over)
			alert_once(l, p, s, TG_ALERT_THRESHOLD, call->model, "alert threshold reached");
		if (over)
			alert_once(l, p, s, TG_ALERT_LIMIT, call->model, "limit reached");

		char message[320];
		snprintf(message, sizeof message, "tokenguard: budget '%.63s' (%.80s) %.120s; the call was not sent",
		         p->name, scope, spent);

		switch (p->action) {
		case TG_ACT_WARN:
			break;
		case TG_ACT_BLOCK:
			if (over)
				set_block(out, p, message);
			break;
		case TG_ACT_DOWNGRADE:
			if (!over || strcmp(call->model, p->downgrade_model) == 0)
				break;
			if (call->can_rewrite) {
				out->verdict = TG_VERDICT_REWRITE;
				snprintf(out->policy, sizeof out->policy, "%s", p->name);
				snprintf(out->new_model, sizeof out->new_model, "%s", p->downgrade_model);
			} else {
				alert_once(l, p, s, TG_ALERT_FALLBACK, call->model,
				           p->fallback == TG_ACT_BLOCK
				           ? "cannot rewrite this request's model (not held whole, compressed, or no room at its "
				           "announced length): blocking instead"
				           : "cannot rewrite this request's model (not held whole, compressed, or no room at its "
				           "announced length): letting it through");
				if (p->fallback == TG_ACT_BLOCK)
					set_block(out, p, message);
			}
			break;
		case TG_ACT_CLAMP: {
			int64_t can = affordable_tokens(p, s, zero_priced ? NULL : price);
			if (can == INT64_MAX || (call->max_tokens >= 0 && call->max_tokens <= can))
				break;
			if (can < 1) {
				if (p->fallback == TG_ACT_BLOCK)
					set_block(out, p, message);
				break;
			}
			if (call->can_rewrite) {
				if (out->verdict == TG_VERDICT_ALLOW)
					snprintf(out->policy, sizeof out->policy, "%s", p->name);
				out->verdict = TG_VERDICT_REWRITE;
				if (out->new_max_tokens < 0 || can < out->new_max_tokens)
					out->new_max_tokens = can;
			} else {
				alert_once(l, p, s, TG_ALERT_FALLBACK, call->model,
				           p->fallback == TG_ACT_BLOCK
				           ? "cannot rewrite this request's max tokens (not held whole, compressed, or no room at its "
				           "announced length): blocking instead"
				           : "cannot rewrite this request's max tokens (not held whole, compressed, or no room at its "
				           "announced length): letting it through");
				if (p->fallback == TG_ACT_BLOCK)
					set_block(out, p, message);
			}
			break;
		}
		}
	}
	if (out->verdict == TG_VERDICT_BLOCK) {
		const struct tg_policy *p = NULL;
		for (int i = 0; i < nm; i++)
			if (strcmp(m[i].p->name, out->policy) == 0)
				p = m[i].p;
		if (p) {
			struct tg_alert a;
			struct tg_spend s0 = { 0 };
			const struct tg_spend *s = &s0;
			for (int i = 0; i < nm; i++)
				if (m[i].p == p)
					s = &m[i].spend;
			fill_alert(&a, p, s, TG_ALERT_BLOCKED, call->model, "call blocked");
			if (tg_ledger_alert_add(l, &a) != 0)
				tg_debug("could not record the blocked call of budget '%s'", p->name);
		}
	}
}

void tg_gate_check(const struct tg_gate_call *call, struct tg_gate_result *out)
{
	struct check_ctx cx = { call, out };
	memset(out, 0, sizeof *out);
	out->verdict = TG_VERDICT_ALLOW;
	out->new_max_tokens = -1;
	tg_sink_locked(check_locked, &cx);
}
