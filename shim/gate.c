/* gate.c - see gate.h. */
#include "gate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "attrib.h"
#include "policy.h"
#include "policy_decide.h"
#include "config.h"
#include "ledger_budget.h"
#include "ledger_fleet.h"
#include "log.h"
#include "money.h"
#include "pid.h"
#include "price.h"
#include "sink.h"
#include "text.h"
#include "zones.h"

#define ENV_POLICIES_MAX    TG_ENV_POLICIES_MAX
#define STORED_POLICIES_MAX TG_STORED_POLICIES_MAX
#define MATCH_MAX           (ENV_POLICIES_MAX + STORED_POLICIES_MAX)
#define SESSION_VALUES_MAX  64   /* session spend kept per tag:KEY=* value */
#define KNOWN_MAX           32

/* Guarded by the sink's lock (every entry point runs inside
 * tg_sink_locked); env_policies and fail_closed are written once at
 * configuration, before any call is observed. */
static struct {
	struct tg_policy env_policies[ENV_POLICIES_MAX];
	int nenv;
	int fail_closed;
	int fleet_warned;   /* the warning of stale fleet totals was said */

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
		double usd_estimated;
	} session[MATCH_MAX];
	int nsession;

	/* Session windows of tag:KEY=* policies: by policy name and value,
	 * at most SESSION_VALUES_MAX; when full, the value used least
	 * recently is forgotten (gate.h). */
	struct value_session {
		struct session_spend s;
		char value[TG_TAGS_MAX];
		uint64_t used;      /* gate.clock at its last use */
	} values[SESSION_VALUES_MAX];
	int nvalues;
	uint64_t clock;

	/* The policies that govern the call being checked, and their spend. */
	struct tg_policy matched[MATCH_MAX];
	struct tg_spend spend[MATCH_MAX];

	/* Alerts this process knows are recorded (by it or another process):
	 * asking the ledger again would cost a write transaction per call. */
	struct known_alert {
		char policy[TG_POLICY_NAME_MAX];
		int level;
		int64_t window_start_us;
		char tag_value[TG_TAGS_MAX];   /* of a tag:KEY=* policy; "" else */
	} known[KNOWN_MAX];
	int nknown, next_known;
} gate;

void tg_gate_atfork_child(void)
{
	gate.nsession = 0;
	gate.nvalues = 0;
}

static int alert_known(const struct tg_alert *a)
{
	for (int i = 0; i < gate.nknown; i++)
		if (gate.known[i].level == a->level && gate.known[i].window_start_us == a->window_start_us &&
		    strcmp(gate.known[i].policy, a->policy) == 0 &&
		    strcmp(gate.known[i].tag_value, a->tag_value) == 0)
			return 1;
	return 0;
}

static void alert_remember(const struct tg_alert *a)
{
	struct known_alert *k = &gate.known[gate.next_known];
	gate.next_known = (gate.next_known + 1) % KNOWN_MAX;
	if (gate.nknown < KNOWN_MAX)
		gate.nknown++;
	snprintf(k->policy, sizeof k->policy, "%s", a->policy);
	k->level = a->level;
	k->window_start_us = a->window_start_us;
	snprintf(k->tag_value, sizeof k->tag_value, "%s", a->tag_value);
}

/* Drops the policies of list whose zone cannot be loaded (zones.h), one
 * warning each: the others still apply.  Zones are loaded here, when a
 * list is read, never per call.  Returns the new count. */
static int keep_zoned(struct tg_policy *list, int n, const char *where)
{
	int kept = 0;
	char err[256];

	for (int i = 0; i < n; i++) {
		if (tg_policy_zone_ready(&list[i], err, sizeof err) != 0) {
			tg_warn("%s policy %s: %s; it does not apply until that is fixed", where,
			        list[i].name, err);
			continue;
		}
		if (kept != i)
			list[kept] = list[i];
		kept++;
	}
	return kept;
}

void tg_gate_configure(const char *budgets_env, const char *fail_env)
{
	char err[256];
	tg_sink_observe(tg_gate_account);
	gate.nenv = 0;
	if (budgets_env && *budgets_env &&
	    tg_policies_parse_env(budgets_env, gate.env_policies, ENV_POLICIES_MAX, &gate.nenv,
	                          err, sizeof err) != 0) {
		tg_warn("TOKENGUARD_BUDGETS: %s; none of its policies apply until it is fixed", err);
		gate.nenv = 0;
	}
	gate.nenv = keep_zoned(gate.env_policies, gate.nenv, "TOKENGUARD_BUDGETS");
	gate.fail_closed = 0;
	if (fail_env && *fail_env) {
		if (strcmp(fail_env, "closed") == 0)
			gate.fail_closed = 1;
		else if (strcmp(fail_env, "open") != 0)
			tg_warn("TOKENGUARD_FAIL=%s: expected open or closed; using open", fail_env);
	}
}

/* The session spend of a tag:KEY=* policy's value: found, else (create)
 * a free slot, else the one used least recently, forgotten. */
static struct session_spend *value_slot(const char *name, const char *value, int create)
{
	struct value_session *v = NULL;
	for (int i = 0; i < gate.nvalues; i++) {
		if (strcmp(gate.values[i].s.name, name) == 0 && strcmp(gate.values[i].value, value) == 0) {
			v = &gate.values[i];
			break;
		}
	}
	if (!v && !create)
		return NULL;
	if (!v && gate.nvalues < SESSION_VALUES_MAX) {
		v = &gate.values[gate.nvalues++];
		v->used = 0;   /* may hold a forked parent's entry */
	} else if (!v) {
		v = &gate.values[0];
		for (int i = 1; i < SESSION_VALUES_MAX; i++)
			if (gate.values[i].used < v->used)
				v = &gate.values[i];
		tg_debug("session budget '%s': more than %d values; forgetting the spend of "
		         "the least recently used", name, SESSION_VALUES_MAX);
	}
	if (v->used == 0 || strcmp(v->s.name, name) || strcmp(v->value, value)) {
		memset(v, 0, sizeof *v);   /* a new entry, or a forgotten one's */
		snprintf(v->s.name, sizeof v->s.name, "%s", name);
		snprintf(v->value, sizeof v->value, "%s", value);
	}
	v->used = ++gate.clock;
	return &v->s;
}

/* The session spend of policy name (for a tag:KEY=* policy bound to a
 * value, of that value). */
static struct session_spend *session_slot(const char *name, const char *value, int create)
{
	if (value[0])
		return value_slot(name, value, create);
	for (int i = 0; i < gate.nsession; i++)
		if (strcmp(gate.session[i].name, name) == 0)
			return &gate.session[i];
	if (!create || gate.nsession == MATCH_MAX)
		return NULL;
	/* cleared first: after a fork the entry may hold the parent's spend */
	memset(&gate.session[gate.nsession], 0, sizeof gate.session[0]);
	snprintf(gate.session[gate.nsession].name, TG_POLICY_NAME_MAX, "%s", name);
	return &gate.session[gate.nsession++];
}

int tg_gate_session_spend(const char *policy, const char *value, double *usd, int64_t *calls)
{
	const struct session_spend *s = session_slot(policy, value, 0);
	if (!s)
		return -1;
	*usd = s->usd;
	*calls = s->calls;
	return 0;
}

int tg_gate_session_values(void)
{
	return gate.nvalues;
}

static void call_of_record(const struct tg_record *r, const char *family, struct tg_call *c)
{
	c->provider = r->provider;
	c->model = r->model;
	c->model_family = family && *family ? family : r->model;
	c->process = r->process;
	c->tags = r->tags;
	c->asked_model = tg_record_asked_model(r);
}

static void account_list(const struct tg_policy *list, int n, const struct tg_record *r,
                         const struct tg_call *c)
{
	struct tg_total a;
	tg_total_of_record(r, &a);   /* the rule of every spend total: spend_rule.h */
	for (int i = 0; i < n; i++) {
		struct tg_policy bound;
		if (list[i].window != TG_WIN_SESSION || !tg_policy_bind(&list[i], c, &bound))
			continue;
		struct session_spend *s = session_slot(bound.name, tg_policy_value(&bound), 1);
		if (!s)
			continue;
		s->usd += a.usd;
		s->usd_estimated += a.usd_estimated;
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
		n = keep_zoned(gate.stored, n, "stored");
	}
	gate.nstored = n;
	gate.stored_version = v;
	gate.stored_loaded = 1;
	gate.stored_pid = tg_getpid();
	return 0;
}

static void describe(const struct tg_policy *p, char *buf, size_t n)
{
	char win[TG_WINDOW_TEXT_MAX];

	if (tg_policy_window_text(p, win, sizeof win) < 0)
		snprintf(win, sizeof win, "%s", tg_window_name(p->window));
	snprintf(buf, n, "%s%s%s, %s", tg_scope_name(p->scope), p->scope_value[0] ? ":" : "",
	         p->scope_value, win);
}

/* Why a fleet policy's totals are not fresh, for people. */
static void fleet_why(const struct tg_spend *s, char *buf, size_t n)
{
	if (s->fleet == TG_FLEET_MISSING)
		snprintf(buf, n, "no fleet totals were ever pulled");
	else
		snprintf(buf, n, "the fleet totals were last pulled %.1f s ago",
		         (double)(tg_wall_us() - s->fleet_pulled_us) / 1e6);
}

/* A fleet policy whose fleet totals are not fresh (no `sync` ran, or
 * Redis cannot be reached) counts the local spend alone with
 * TOKENGUARD_FAIL=open (policy_decide.h): said once per process. */
static void fleet_warn(const struct tg_policy *p, const struct tg_policy_verdict *v)
{
	char why[96];
	if (!v->fleet_note || v->verdict == TG_VERDICT_BLOCK || gate.fleet_warned)
		return;
	gate.fleet_warned = 1;
	fleet_why(&v->spend, why, sizeof why);
	tg_warn("fleet budget '%s': %s (is `tokenguard-report sync --follow` running, and Redis "
	        "reachable?); counting this machine's spend only (TOKENGUARD_FAIL=open)", p->name, why);
}

/* In the C locale whatever the host program set: the text ends up in a
 * JSON error body and on stderr, where a decimal comma would mislead.
 * Amounts by the one money formatter (money.h); a USD policy says
 * dollars, a token policy tokens, and the estimated part of a spend is
 * said as one (estimate.h). */
static void spend_text(const struct tg_policy *p, const struct tg_spend *s, char *buf, size_t n)
{
	char usd[TG_MONEY_MAX], lim[TG_MONEY_MAX], est[TG_MONEY_MAX + 32] = "";
	if (tg_money_text(s->usd, usd, sizeof usd) < 0)
		snprintf(usd, sizeof usd, "$?");
	if (tg_money_text(p->limit_usd, lim, sizeof lim) < 0)
		snprintf(lim, sizeof lim, "$?");
	if (s->usd_estimated > 0 && p->unpriced != TG_UNPRICED_ALLOW) {
		char e[TG_MONEY_MAX];
		if (tg_money_text(s->usd_estimated, e, sizeof e) >= 0)
			snprintf(est, sizeof est, " (~%s of it estimated)", e);
	}
	if (p->limit_usd >= 0 && p->limit_tokens >= 0)
		snprintf(buf, n, "spent %s%s of %s and %lld of %lld tokens", usd, est, lim,
		         (long long)s->tokens, (long long)p->limit_tokens);
	else if (p->limit_usd >= 0)
		snprintf(buf, n, "spent %s%s of %s", usd, est, lim);
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

/* The call an alert is about: its provider and model. */
struct alert_call {
	const char *provider, *model;
};

static void fill_alert(struct tg_alert *a, const struct tg_policy *p, const struct tg_spend *s,
                       int level, const struct alert_call *call, const char *detail)
{
	tg_alert_init(a);
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
	snprintf(a->model, sizeof a->model, "%s", call->model);
	snprintf(a->detail, sizeof a->detail, "%s", detail);
	snprintf(a->provider, sizeof a->provider, "%s", call->provider);
	if (tg_policy_scope_key(p, a->scope, sizeof a->scope) < 0)
		a->scope[0] = '\0';
	a->window = (int)p->window;
	a->alert_pct = p->alert_pct;
	a->repeat = 0;
	snprintf(a->tag_value, sizeof a->tag_value, "%s", tg_policy_value(p));
}

/* One line per policy, level and window across every process: the ledger
 * records the alert once, and only the process that recorded it prints. */
static void alert_once(struct tg_ledger *l, const struct tg_policy *p, const struct tg_spend *s,
                       int level, const struct alert_call *call, const char *what)
{
	struct tg_alert a;
	char scope[TG_TAGS_MAX + TG_WINDOW_TEXT_MAX + 32], spent[160];
	describe(p, scope, sizeof scope);
	spend_text(p, s, spent, sizeof spent);
	fill_alert(&a, p, s, level, call, what);
	if (p->window == TG_WIN_SESSION) {
		/* Session windows belong to this process: the ledger cannot tell
		 * one process's session from another's, so print per process. */
		struct session_spend *slot = session_slot(p->name, tg_policy_value(p), 1);
		if (!slot || (slot->alerted & (1u << level)))
			return;
		slot->alerted |= 1u << level;
	} else {
		if (!l || alert_known(&a))
			return;
		int rc = tg_ledger_alert_once(l, &a);
		if (rc >= 0)
			alert_remember(&a);
		if (rc != 1)
			return;
	}
	tg_warn("budget '%s' (%s): %s: %s", p->name, scope, what, spent);
}

/* The call as the gate sees it: its scopes and what a decision needs. */
struct gate_view {
	struct tg_call scope;
	struct tg_decide_call decide;
	struct tg_price ceiling;
};

static void view_of(const struct tg_gate_call *call, const char *tags,
                    const struct tg_prices *prices, struct gate_view *v)
{
	const struct tg_config *cfg = tg_config_get();
	const struct tg_price *price = call->model[0] && prices
		? tg_price_find(prices, call->provider->name, call->model) : NULL;

	v->scope = (struct tg_call){
		.provider = call->provider->name,
		.model = call->model,
		.model_family = tg_price_family(price, call->model),
		.process = cfg->process,
		.tags = tags,
		.asked_model = call->deployment,
	};
	v->decide = (struct tg_decide_call){
		.model = call->model,
		.max_tokens = call->max_tokens,
		.can_rewrite = call->can_rewrite,
		.price = price,
		.ceiling = NULL,
	};
}

/* A clamp of a model without a price caps at its provider's highest
 * output rate: read from the table only when a policy would clamp it. */
static void view_ceiling(struct gate_view *v, const struct tg_prices *prices, const char *provider,
                         int n)
{
	if (v->decide.price || !prices)
		return;
	for (int i = 0; i < n; i++) {
		if (gate.matched[i].action == TG_ACT_CLAMP) {
			if (tg_price_ceiling(prices, provider, &v->ceiling) == 0)
				v->decide.ceiling = &v->ceiling;
			return;
		}
	}
}

/* Copies the policies that govern c into gate.matched, a tag:KEY=* one
 * bound to c's value (its spend is then that value's: policy.h); returns
 * how many. */
static int match_policies(const struct tg_call *c)
{
	int n = 0;
	for (int i = 0; i < gate.nenv && n < MATCH_MAX; i++)
		n += tg_policy_bind(&gate.env_policies[i], c, &gate.matched[n]);
	for (int i = 0; i < gate.nstored && n < MATCH_MAX; i++)
		n += tg_policy_bind(&gate.stored[i], c, &gate.matched[n]);
	return n;
}

/* The spend of each matched policy: the ledger's for time windows, this
 * process's own for session windows.  Returns 0 or a ledger error. */
static int read_spend(struct tg_ledger *l, int n)
{
	int rc = tg_ledger_spend_many(l, gate.matched, n, tg_wall_us(), gate.spend);
	if (rc != 0)
		return rc;
	for (int i = 0; i < n; i++) {
		struct session_spend *s;
		if (gate.matched[i].window != TG_WIN_SESSION)
			continue;
		s = session_slot(gate.matched[i].name, tg_policy_value(&gate.matched[i]), 0);
		gate.spend[i].usd = s ? s->usd : 0;
		gate.spend[i].usd_estimated = s ? s->usd_estimated : 0;
		gate.spend[i].tokens = s ? s->tokens : 0;
		gate.spend[i].calls = s ? s->calls : 0;
	}
	return 0;
}

/* The refusal's text, cut to fit. */
static void say(struct tg_gate_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct tg_gate_result *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof out->message, fmt, ap);
	va_end(ap);
}

static void block_with(struct tg_gate_result *out, const char *policy, const char *message)
{
	out->verdict = TG_VERDICT_BLOCK;
	snprintf(out->policy, sizeof out->policy, "%s", policy);
	snprintf(out->message, sizeof out->message, "%s", message);
}

/* The policies cannot be read: said once with the sink's ledger
 * warnings (one line per cause); the fail mode decides the call. */
static void policies_unreadable(struct tg_ledger *l, int rc, struct tg_gate_result *out)
{
	char message[320];
	if (gate.fail_closed) {
		snprintf(message, sizeof message,
		         "tokenguard: the budget ledger at %.160s cannot be read and TOKENGUARD_FAIL=closed; "
		         "the call was not sent", tg_config_get()->ledger_dir);
		block_with(out, "fail-closed", message);
	} else if (l) {
		tg_sink_ledger_problem(rc, "cannot read the budget policies in",
		                       "budgets are not checked (TOKENGUARD_FAIL=open) and calls may not be recorded");
	}
}

/* The alerts v says are due, once per policy, level and window. */
static void announce(struct tg_ledger *l, const struct tg_policy *p, const struct tg_policy_verdict *v,
                     const struct alert_call *call)
{
	if (v->alerts & (1u << TG_ALERT_THRESHOLD))
		alert_once(l, p, &v->spend, TG_ALERT_THRESHOLD, call, "alert threshold reached");
	if (v->alerts & (1u << TG_ALERT_LIMIT))
		alert_once(l, p, &v->spend, TG_ALERT_LIMIT, call, "limit reached");
	if (v->alerts & (1u << TG_ALERT_FALLBACK))
		alert_once(l, p, &v->spend, TG_ALERT_FALLBACK, call, v->fallback_note);
}

/* The refusal the program reads, and the blocked call kept in the
 * ledger's alerts (each one: not once; the ledger marks every one after
 * the first of its policy and window a repeat, which `alerts` does not
 * deliver; a session window's first is this process's own). */
static void refuse(struct tg_ledger *l, const struct tg_policy *p, const struct tg_policy_verdict *v,
                   const struct alert_call *call, struct tg_gate_result *out)
{
	const char *model = call->model;
	char scope[TG_TAGS_MAX + TG_WINDOW_TEXT_MAX + 32], spent[200];
	struct tg_alert a;
	describe(p, scope, sizeof scope);
	if (v->reason == TG_BLOCK_FLEET_STALE) {
		char why[96];
		fleet_why(&v->spend, why, sizeof why);
		say(out, "tokenguard: fleet budget '%.63s' (%.80s): %s (is `tokenguard-report sync "
		    "--follow` running, and Redis reachable?) and TOKENGUARD_FAIL=closed; the call was "
		    "not sent", p->name, scope, why);
	} else if (v->reason == TG_BLOCK_UNPRICED)
		say(out, "tokenguard: budget '%.63s' (%.80s) refuses model \"%.80s\", which has no price "
		    "(unpriced=block); the call was not sent", p->name, scope, model);
	else {
		spend_text(p, &v->spend, spent, sizeof spent);
		say(out, "tokenguard: budget '%.63s' (%.80s) %s; the call was not sent", p->name, scope, spent);
	}
	fill_alert(&a, p, &v->spend, TG_ALERT_BLOCKED, call,
	           v->reason == TG_BLOCK_UNPRICED ? "call blocked: model has no price" :
	           v->reason == TG_BLOCK_FLEET_STALE ? "call blocked: fleet totals stale" :
	           "call blocked");
	if (p->window == TG_WIN_SESSION) {
		struct session_spend *slot = session_slot(p->name, tg_policy_value(p), 1);
		a.repeat = slot && (slot->alerted & (1u << TG_ALERT_BLOCKED)) ? 1 : 0;
		if (slot)
			slot->alerted |= 1u << TG_ALERT_BLOCKED;
	}
	if (tg_ledger_alert_add(l, &a) != 0)
		tg_debug("could not record the blocked call of budget '%s'", p->name);
}

struct check_ctx {
	const struct tg_gate_call *call;
	const char *tags;         /* the call's (attrib.h) */
	struct tg_gate_result *out;
};

static void check_locked(struct tg_ledger *l, const struct tg_prices *prices, void *arg)
{
	struct check_ctx *cx = arg;
	struct gate_view view;
	int rc = l ? load_stored(l) : TG_ENOENT, n;

	if (rc != 0) {
		policies_unreadable(l, rc, cx->out);
		return;
	}
	if (gate.nenv == 0 && gate.nstored == 0)
		return;
	view_of(cx->call, cx->tags, prices, &view);
	if ((n = match_policies(&view.scope)) == 0)
		return;
	view_ceiling(&view, prices, cx->call->provider->name, n);
	view.decide.fail_closed = gate.fail_closed;
	if (read_spend(l, n) != 0) {
		if (gate.fail_closed)
			block_with(cx->out, gate.matched[0].name, "tokenguard: budget spend cannot be read and "
			           "TOKENGUARD_FAIL=closed; the call was not sent");
		return;
	}
	struct alert_call ac = { cx->call->provider->name, cx->call->model };
	for (int i = 0; i < n && cx->out->verdict != TG_VERDICT_BLOCK; i++) {
		struct tg_policy_verdict v;
		tg_policy_decide(&gate.matched[i], &gate.spend[i], &view.decide, &v);
		fleet_warn(&gate.matched[i], &v);
		announce(l, &gate.matched[i], &v, &ac);
		if (tg_verdict_merge(cx->out, &gate.matched[i], &v))
			refuse(l, &gate.matched[i], &v, &ac, cx->out);
	}
}

void tg_gate_check(const struct tg_gate_call *call, struct tg_gate_result *out)
{
	const struct tg_config *cfg = tg_config_get();
	char tags[TG_TAGS_MAX];
	struct check_ctx cx = { call, cfg->tags, out };

	/* before the sink's lock: a hashed user id may read the ledger's key */
	if (call->origin) {
		tg_attrib_call_tags(cfg, call->origin->req, call->origin->header, tags);
		cx.tags = tags;
	}
	memset(out, 0, sizeof *out);
	out->verdict = TG_VERDICT_ALLOW;
	out->new_max_tokens = -1;
	tg_sink_locked(check_locked, &cx);
}
