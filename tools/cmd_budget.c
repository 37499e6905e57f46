/* cmd_budget.c - `tokenguard-report budget`: set, list, rm, reset and
 * status of budget policies, and the alerts they raised.  Stored policies
 * govern every process that uses the ledger; TOKENGUARD_BUDGETS policies
 * of the current environment are shown beside them, marked env.  set
 * creates the ledger when it is missing (it is a write); the other
 * subcommands need an existing one.  Every argument is checked before the
 * ledger is opened, so a typo is reported as such even without one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_list.h"
#include "alert_text.h"
#include "decimal.h"
#include "emit.h"
#include "env.h"
#include "ledger_budget.h"
#include "ledger_fleet.h"
#include "money.h"
#include "price.h"
#include "report.h"
#include "settings.h"
#include "when.h"
#include "zones.h"

#define ENV_MAX 32
#define SPEC_MAX 1024
#define RECENT_ALERTS 5  /* threshold, limit and fallback alerts shown per policy */
#define STATUS_VALUES 20 /* rows of a tag:KEY=* policy's values without --limit */

struct policies {
	struct tg_policy *p;  /* stored ones first, then env ones */
	int n, nstored;
};

static int open_ledger(const struct tg_report *rep, unsigned flags, struct tg_ledger **l)
{
	int rc = tg_ledger_open(l, rep->dir, flags);

	if (rc == TG_ENOENT)
		return tg_report_fail(rep, "%s: no ledger found; set a policy with "
		                      "`tokenguard-report budget set`, or point --ledger / "
		                      "TOKENGUARD_LEDGER at an existing ledger", rep->dir);
	if (rc)
		return tg_report_dir_fail(rep, rc);
	return 0;
}

/* Alerts a process could only spool (a busy writer) reach no read until a
 * write folds them, and budget status and alerts show alerts: folded
 * first when this user may write the ledger and no one else is writing
 * (never waited for: a busy writer folds them itself). */
static void fold_spooled(const struct tg_report *rep)
{
	struct tg_ledger *w;

	if (tg_ledger_open(&w, rep->dir, 0) == 0) {
		tg_ledger_try_fold(w);
		tg_ledger_close(w);
	}
}

/* The budgets setting, and in where (n bytes) its variable or "PATH:LINE
 * (budgets)" for messages. */
static const char *budgets_setting(char *where, size_t n)
{
	int src;
	const char *v = tg_setting_origin(TG_SET_BUDGETS, &src, where, n);
	size_t len = strlen(where);

	if (src != TG_SRC_ENV)
		snprintf(where + len, n - len, " (budgets)");
	return v;
}

static int env_policies(const struct tg_report *rep, struct tg_policy *out, int *n)
{
	char err[512], where[4200];
	const char *v = budgets_setting(where, sizeof where);

	if (tg_policies_parse_env(v, out, ENV_MAX, n, err, sizeof err))
		return tg_report_fail(rep, "%s %s; fix or unset it", where, err);
	return 0;
}

/* Stored and env policies in one array, freed by the caller. */
static int load(const struct tg_report *rep, struct tg_ledger *l, struct policies *ps)
{
	int n = 0, nenv = 0, rc;

	memset(ps, 0, sizeof *ps);
	if ((rc = tg_ledger_policies(l, NULL, 0, &n, NULL)) != 0)
		return tg_report_ledger_fail(rep, rc);
	if (!(ps->p = calloc((size_t)n + ENV_MAX, sizeof *ps->p)))
		return tg_report_fail(rep, "out of memory; retry with more memory available");
	/* A policy set between the two reads is simply not shown. */
	if ((rc = tg_ledger_policies(l, ps->p, n, &ps->nstored, NULL)) != 0) {
		free(ps->p);
		return tg_report_ledger_fail(rep, rc);
	}
	if (ps->nstored > n)
		ps->nstored = n;
	if (env_policies(rep, ps->p + ps->nstored, &nenv)) {
		free(ps->p);
		return TG_EXIT_FAIL;
	}
	ps->n = ps->nstored + nenv;
	return 0;
}

/* The policy line without its name, for display. */
/* The policy's line; for the row of one value of a tag:KEY=* policy
 * (bound to it: policy.h), the line of that policy. */
static void line_of(const struct tg_policy *p, char *buf, size_t n)
{
	struct tg_policy q = *p;
	char *eq = strchr(q.scope_value, '=');

	q.name[0] = '\0';
	if (q.per_value == TG_VALUE_BOUND && eq) {
		snprintf(eq + 1, sizeof q.scope_value - (size_t)(eq + 1 - q.scope_value), "*");
		q.per_value = TG_VALUE_EACH;
	}
	if (tg_policy_format(&q, buf, n) < 0)
		snprintf(buf, n, "?");
}

static const char *source(const struct tg_policy *p)
{
	return p->from_env ? "env" : "ledger";
}

/* ---- set ---- */

static int flag_spec(const struct tg_report *rep, char *spec, size_t n)
{
	const struct tg_budget_flags *b = &rep->budget;
	size_t len;

	if (!b->scope || !b->window || !b->action)
		return tg_report_fail(rep, "budget set: the flag form needs --scope, --window and "
		                      "--action (and --usd and/or --tokens); see --help");
	len = (size_t)snprintf(spec, n, "%s,%s", b->scope, b->window);
	if (b->usd && len < n)
		len += (size_t)snprintf(spec + len, n - len, ",usd=%s", b->usd);
	if (b->tokens && len < n)
		len += (size_t)snprintf(spec + len, n - len, ",tokens=%s", b->tokens);
	if (len < n)
		len += (size_t)snprintf(spec + len, n - len, ",%s", b->action);
	if (b->alert && len < n)
		len += (size_t)snprintf(spec + len, n - len, ",alert=%s", b->alert);
	if (b->fallback && len < n)
		len += (size_t)snprintf(spec + len, n - len, ",fallback=%s", b->fallback);
	if (b->unpriced && len < n)
		len += (size_t)snprintf(spec + len, n - len, ",unpriced=%s", b->unpriced);
	if (len >= n)
		return tg_report_fail(rep, "budget set: the policy is too long; shorten its values");
	return 0;
}

static int has_flags(const struct tg_budget_flags *b)
{
	return b->scope || b->window || b->usd || b->tokens || b->action || b->alert || b->fallback ||
	       b->unpriced;
}

static int cmd_set(const struct tg_report *rep)
{
	const char *name = rep->nargs > 1 ? rep->args[1] : NULL;
	char spec[SPEC_MAX], err[512], line[TG_POLICY_LINE_MAX];
	struct tg_ledger *l;
	struct tg_policy p;
	int rc;

	if (!name || rep->nargs > 3)
		return tg_report_fail(rep, "budget set takes NAME and SPEC, or NAME and --scope ... "
		                      "flags; see --help");
	if (tg_policy_name_check(name, err, sizeof err))
		return tg_report_fail(rep, "budget set: %s", err);
	if (rep->nargs == 3 && has_flags(&rep->budget))
		return tg_report_fail(rep, "budget set: give either SPEC or the --scope ... flags, "
		                      "not both");
	if (rep->nargs == 3)
		snprintf(spec, sizeof spec, "%s", rep->args[2]);
	else if (flag_spec(rep, spec, sizeof spec))
		return TG_EXIT_FAIL;
	if (tg_policy_parse(spec, &p, err, sizeof err))
		return tg_report_fail(rep, "budget set %s: %s", name, err);
	if (p.name[0])
		return tg_report_fail(rep, "budget set: the name is NAME (%s); drop name= from SPEC",
		                      name);
	snprintf(p.name, sizeof p.name, "%s", name);
	if (tg_policy_zone_ready(&p, err, sizeof err))
		return tg_report_fail(rep, "budget set %s: %s", name, err);
	if (open_ledger(rep, TG_LEDGER_CREATE, &l))
		return TG_EXIT_FAIL;
	rc = tg_ledger_policy_put(l, &p);
	tg_ledger_close(l);
	if (rc)
		return tg_report_dir_fail(rep, rc);
	line_of(&p, line, sizeof line);
	fprintf(rep->out, "set %s: %s\n", name, line);
	return 0;
}

/* ---- rm, reset ---- */

static int not_stored(const struct tg_report *rep, const char *name)
{
	struct tg_policy env[ENV_MAX];
	int n = 0;

	char where[4200];
	const char *v = budgets_setting(where, sizeof where);

	if (tg_policies_parse_env(v, env, ENV_MAX, &n, NULL, 0) == 0)
		for (int i = 0; i < n; i++)
			if (!strcmp(env[i].name, name))
				return tg_report_fail(rep, "%s is defined by %s, not stored in the ledger; "
				                      "change it there instead", name, where);
	return tg_report_fail(rep, "no stored policy named %s; see `tokenguard-report budget list`",
	                      name);
}

/* The stored policy name into *p; p->window is TG_WIN_SESSION when it
 * cannot be read. */
static void find_stored(struct tg_ledger *l, const char *name, struct tg_policy *p)
{
	struct tg_policy *all;
	int n = 0;

	p->window = TG_WIN_SESSION;
	if (tg_ledger_policies(l, NULL, 0, &n, NULL) || !(all = calloc((size_t)n + 1, sizeof *all)))
		return;
	if (tg_ledger_policies(l, all, n, &n, NULL) == 0)
		for (int i = 0; i < n; i++)
			if (!strcmp(all[i].name, name))
				*p = all[i];
	free(all);
}

static int cmd_rm_reset(const struct tg_report *rep, int reset)
{
	const char *what = reset ? "reset" : "rm", *name = rep->args[1];
	struct tg_ledger *l;
	struct tg_policy p = { .window = TG_WIN_SESSION };
	int64_t start, end;
	int rc;

	if (rep->nargs != 2)
		return tg_report_fail(rep, "budget %s takes one NAME; see --help", what);
	if (open_ledger(rep, 0, &l))
		return TG_EXIT_FAIL;
	if (!reset) {
		rc = tg_ledger_policy_rm(l, name);
	} else {
		rc = tg_ledger_policy_reset(l, name, rep->now_us);
		if (rc == 0 || rc == TG_EINVAL)
			find_stored(l, name, &p);  /* to say until when, or why not */
	}
	tg_ledger_close(l);
	if (rc == TG_ENOENT)
		return not_stored(rep, name);
	if (rc == TG_EINVAL && reset && p.per_value == TG_VALUE_EACH)
		return tg_report_fail(rep, "%s counts each value of its tag apart (%s:%s); a reset "
		                      "of every value is not supported: raise its limit with `budget "
		                      "set`, or wait for its window to end", name,
		                      tg_scope_name(p.scope), p.scope_value);
	if (rc == TG_EINVAL && reset)
		return tg_report_fail(rep, "%s has a session window: its spend lives in each "
		                      "process, not in the ledger; nothing to reset", name);
	if (rc)
		return tg_report_dir_fail(rep, rc);
	if (reset && tg_policy_bounds(&p, rep->now_us, &start, &end) == 0) {
		char iso[TG_WHEN_ISO_MAX], win[TG_WINDOW_TEXT_MAX];

		tg_when_iso(end, iso);
		tg_policy_window_text(&p, win, sizeof win);
		fprintf(rep->out, "reset %s: its %s spend counts from 0 until %s\n", name, win, iso);
	} else {
		fprintf(rep->out, "%s %s\n", reset ? "reset" : "removed", name);
	}
	return 0;
}

/* ---- list ---- */

static int cmd_list(const struct tg_report *rep)
{
	char line[TG_POLICY_LINE_MAX];
	struct tg_ledger *l;
	struct policies ps;
	FILE *f = rep->out;
	int rc, name_w = 24;   /* the narrowest: short names keep one layout */

	if (rep->nargs != 1)
		return tg_report_fail(rep, "budget list takes no argument; see --help");
	if (open_ledger(rep, TG_LEDGER_RDONLY, &l))
		return TG_EXIT_FAIL;
	rc = load(rep, l, &ps);
	tg_ledger_close(l);
	if (rc)
		return rc;
	for (int i = 0; i < ps.n; i++)   /* long names keep the column aligned */
		if ((int)strlen(ps.p[i].name) > name_w)
			name_w = (int)strlen(ps.p[i].name);
	if (rep->format == TG_FMT_JSON)
		putc('[', f);
	else
		fprintf(f, "%-*s  %-6s  %s\n", name_w, "NAME", "SOURCE", "POLICY");
	for (int i = 0; i < ps.n; i++) {
		line_of(&ps.p[i], line, sizeof line);
		if (rep->format == TG_FMT_JSON) {
			fputs(i ? ",\n{\"name\":" : "\n{\"name\":", f);
			tg_emit_json_str(f, ps.p[i].name);
			fprintf(f, ",\"source\":\"%s\",\"policy\":", source(&ps.p[i]));
			tg_emit_json_str(f, line);
			putc('}', f);
		} else {
			fprintf(f, "%-*s  %-6s  %s\n", name_w, ps.p[i].name, source(&ps.p[i]), line);
		}
	}
	if (rep->format == TG_FMT_JSON)
		fputs(ps.n ? "\n]\n" : "]\n", f);
	else if (!ps.n)
		fputs("(no policies; add one with `tokenguard-report budget set NAME SPEC`)\n", f);
	free(ps.p);
	return 0;
}

/* ---- status ---- */

/* What status shows of a policy's alerts: its last blocked call and its
 * RECENT_ALERTS latest other alerts (a ring, oldest overwritten). */
struct policy_alerts {
	struct tg_alert last_blocked;  /* ts_us 0 = none */
	struct tg_alert recent[RECENT_ALERTS];
	int nrecent;                   /* alerts seen; the ring holds the last ones */
};

struct alert_notes {
	const struct policies *ps;
	struct policy_alerts *per;     /* one per policy */
};

static int note_alert(void *ctx, const struct tg_alert *a)
{
	struct alert_notes *an = ctx;

	for (int i = 0; i < an->ps->n; i++) {
		struct policy_alerts *pa = &an->per[i];

		/* the row of one value of a tag:KEY=* policy: its alerts only */
		if (strcmp(an->ps->p[i].name, a->policy) ||
		    (an->ps->p[i].per_value == TG_VALUE_BOUND &&
		     strcmp(tg_policy_value(&an->ps->p[i]), a->tag_value)))
			continue;
		if (a->level == TG_ALERT_BLOCKED) {
			if (a->ts_us >= pa->last_blocked.ts_us)
				pa->last_blocked = *a;
		} else {
			pa->recent[pa->nrecent++ % RECENT_ALERTS] = *a;
		}
	}
	return 0;
}

/* The USD a policy counts of a window's spend (spend_rule.h: estimates
 * unless unpriced=allow), as the shim's gate does. */
static double counted_usd(const struct tg_policy *p, const struct tg_spend *s)
{
	return tg_total_usd_for(s->usd, s->usd_estimated, p->unpriced != TG_UNPRICED_ALLOW);
}

/* The share of the limits used, by the gate's rule (policy.h). */
static double used_pct(const struct tg_policy *p, const struct tg_spend *s)
{
	return tg_policy_used_pct(p, counted_usd(p, s), s->tokens, 1);
}

static const char *state(const struct tg_policy *p, double pct)
{
	return pct >= 100 ? "over" : pct >= p->alert_pct ? "alert" : "ok";
}

static void scope_text(const struct tg_policy *p, char *buf, size_t n)
{
	if (p->scope == TG_SCOPE_GLOBAL)
		snprintf(buf, n, "global");
	else
		snprintf(buf, n, "%s:%s", tg_scope_name(p->scope), p->scope_value);
}

static void json_recent(FILE *f, const struct policy_alerts *pa)
{
	int n = pa->nrecent < RECENT_ALERTS ? pa->nrecent : RECENT_ALERTS;
	char iso[TG_WHEN_ISO_MAX];

	fputs(",\"alerts\":[", f);
	for (int i = 0; i < n; i++) {
		const struct tg_alert *a = &pa->recent[(pa->nrecent - n + i) % RECENT_ALERTS];

		tg_when_iso(a->ts_us, iso);
		fprintf(f, "%s{\"ts\":\"%s\",\"level\":\"%s\",\"spend_usd\":", i ? "," : "", iso,
		        tg_alert_level_name(a->level));
		tg_emit_cost(f, a->spend_usd);
		fprintf(f, ",\"spend_tokens\":%lld,\"detail\":", (long long)a->spend_tokens);
		tg_emit_json_str_or_null(f, a->detail);
		putc('}', f);
	}
	putc(']', f);
}

static const char *fleet_state_name(int state)
{
	switch (state) {
	case TG_FLEET_FRESH: return "fresh";
	case TG_FLEET_STALE: return "stale";
	case TG_FLEET_MISSING: return "missing";
	}
	return "?";
}

/* A fleet policy's parts (ledger_fleet.h): this machine's spend, the
 * others' as last pulled (counted only when fresh), and how old that is. */
static void json_fleet(FILE *f, const struct tg_policy *p, const struct tg_spend *s, int64_t now_us)
{
	char iso[TG_WHEN_ISO_MAX];

	fputs(",\"fleet\":", f);
	if (!p->fleet) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"state\":\"%s\",\"local_usd\":", fleet_state_name(s->fleet));
	/* a difference of sums: rounded to the nano-dollar, below any price */
	tg_emit_cost(f, round((counted_usd(p, s) - tg_total_usd_for(s->fleet_usd, s->fleet_usd_estimated,
	                                             p->unpriced != TG_UNPRICED_ALLOW)) * 1e9) / 1e9);
	fputs(",\"others_usd\":", f);
	tg_emit_cost(f, tg_total_usd_for(s->fleet_usd, s->fleet_usd_estimated,
	                                 p->unpriced != TG_UNPRICED_ALLOW));
	fprintf(f, ",\"local_tokens\":%lld,\"others_tokens\":%lld,\"pulled\":",
	        (long long)(s->tokens - s->fleet_tokens), (long long)s->fleet_tokens);
	if (s->fleet_pulled_us) {
		tg_when_iso(s->fleet_pulled_us, iso);
		tg_decimal_fprintf(f, "\"%s\",\"age_s\":%.3f}", iso,
		                   (double)(now_us - s->fleet_pulled_us) / 1e6);
	} else {
		fputs("null,\"age_s\":null}", f);
	}
}

static void status_json(FILE *f, const struct tg_policy *p, const struct tg_spend *s,
                        const struct policy_alerts *pa, int64_t more, int first, int64_t now_us)
{
	char buf[TG_POLICY_LINE_MAX], iso[TG_WHEN_ISO_MAX];
	const struct tg_alert *last = &pa->last_blocked;
	int session = p->window == TG_WIN_SESSION;
	double pct = used_pct(p, s);

	fputs(first ? "\n{\"name\":" : ",\n{\"name\":", f);
	tg_emit_json_str(f, p->name);
	fprintf(f, ",\"source\":\"%s\",\"policy\":", source(p));
	line_of(p, buf, sizeof buf);
	tg_emit_json_str(f, buf);
	fputs(",\"scope\":", f);
	scope_text(p, buf, sizeof buf);
	tg_emit_json_str(f, buf);
	tg_policy_window_text(p, buf, sizeof buf);
	fputs(",\"window\":", f);
	tg_emit_json_str(f, buf);
	fprintf(f, ",\"action\":\"%s\",\"unpriced\":\"%s\",\"limit_usd\":",
	        tg_action_name(p->action), tg_unpriced_name(p->unpriced));
	tg_emit_limit(f, p->limit_usd);
	fputs(",\"limit_tokens\":", f);
	tg_emit_count(f, p->limit_tokens, "null");
	if (session) {
		fputs(",\"spend_usd\":null,\"spend_usd_estimated\":null,\"spend_tokens\":null,\"calls\":null,\"percent_used\":null,"
		      "\"window_start\":null,\"resets\":null,\"state\":null,"
		      "\"note\":\"session window: spend is known only inside each process\","
		      "\"cost_unknown_calls\":null,\"tokens_unknown_calls\":null", f);
	} else {
		fputs(",\"spend_usd\":", f);
		tg_emit_cost(f, counted_usd(p, s));
		fputs(",\"spend_usd_estimated\":", f);
		tg_emit_cost(f, p->unpriced != TG_UNPRICED_ALLOW ? s->usd_estimated : 0);
		tg_decimal_fprintf(f, ",\"spend_tokens\":%lld,\"calls\":%lld,\"percent_used\":%.1f",
		                   (long long)s->tokens, (long long)s->calls, pct);
		tg_when_iso(s->window_start_us, iso);
		fprintf(f, ",\"window_start\":\"%s\"", iso);
		tg_when_iso(s->reset_us, iso);
		fprintf(f, ",\"resets\":\"%s\",\"state\":\"%s\"", iso, state(p, pct));
		/* what the sums leave out; null when the ledger does not say */
		fputs(",\"cost_unknown_calls\":", f);
		tg_emit_count(f, s->partial ? -1 : s->cost_unknown, "null");
		fputs(",\"tokens_unknown_calls\":", f);
		tg_emit_count(f, s->partial ? -1 : s->tokens_unknown, "null");
	}
	json_fleet(f, p, s, now_us);
	if (p->per_value != TG_VALUE_FIXED) {
		fputs(",\"tag_value\":", f);
		tg_emit_json_str_or_null(f, tg_policy_value(p));
		fputs(",\"values_not_shown\":", f);   /* null: a session window's, not listed */
		tg_emit_count(f, more, "null");
	}
	json_recent(f, pa);
	fputs(",\"last_blocked\":", f);
	if (last->ts_us) {
		tg_when_iso(last->ts_us, iso);
		fprintf(f, "{\"ts\":\"%s\",\"pid\":%d,\"process\":", iso, last->pid);
		tg_emit_json_str(f, last->process);
		fputs(",\"model\":", f);
		tg_emit_json_str(f, last->model);
		putc('}', f);
	} else {
		fputs("null", f);
	}
	putc('}', f);
}

/* The columns of the status table; widths follow the longest cell, so
 * long scope and model names keep the table aligned. */
enum { ST_NAME, ST_SOURCE, ST_SCOPE, ST_WINDOW, ST_SPEND, ST_LIMIT, ST_USED, ST_RESETS,
       ST_STATE, ST_BLOCKED, ST_COLS };
#define ST_CELL (TG_SCOPE_KEY_MAX + TG_WHEN_ISO_MAX + TG_PROCESS_MAX + TG_MODEL_MAX)
/* The narrowest each column is, so that short values keep one layout. */
static const size_t st_min[ST_COLS] = { 20, 6, 24, 7, 24, 22, 7, 24, 5, 0 };
static const char *const st_head[ST_COLS] = {
	"NAME", "SOURCE", "SCOPE", "WINDOW", "SPEND", "LIMIT", "USED", "RESETS", "STATE",
	"LAST BLOCKED",
};
/* On a narrow terminal (emit.h): the text columns are cut no further than
 * st_cut_min, and before one is cut below st_cut_want the columns read
 * least are left out, lowest st_rank first. */
static const int st_cut_min[ST_COLS] = { [ST_NAME] = 8, [ST_SCOPE] = 10, [ST_BLOCKED] = 12 };
static const int st_cut_want[ST_COLS] = { [ST_NAME] = 12, [ST_SCOPE] = 16, [ST_BLOCKED] = 24 };
static const unsigned char st_rank[ST_COLS] = {
	[ST_BLOCKED] = 1, [ST_SOURCE] = 2, [ST_RESETS] = 3, [ST_WINDOW] = 4, [ST_LIMIT] = 5,
	[ST_SCOPE] = 6,
};

/* A window's spend in the policy's dimensions.  Dollars the policy counts
 * with an estimate in them are "~" (estimate.h); else ">=" and how many
 * calls the sum leaves out where some cost or token count is unknown, as
 * in `summary` (emit.h). */
static void window_spend_text(const struct tg_policy *p, const struct tg_spend *s, char *buf,
                              size_t n)
{
	char money[TG_MONEY_MAX], tok[24], usd_cell[TG_CELL_MAX + 1], tok_cell[TG_CELL_MAX];

	tg_money_or_unknown(counted_usd(p, s), money, sizeof money);
	snprintf(tok, sizeof tok, "%lld", (long long)s->tokens);
	if (s->usd_estimated > 0 && p->unpriced != TG_UNPRICED_ALLOW)
		snprintf(usd_cell, sizeof usd_cell, "~%s", money);
	else
		tg_sum_cell(usd_cell, sizeof usd_cell, money, s->partial ? -1 : s->cost_unknown, s->calls);
	tg_sum_cell(tok_cell, sizeof tok_cell, tok, s->partial ? -1 : s->tokens_unknown, s->calls);
	tg_amounts_text(p->limit_usd >= 0 ? usd_cell : NULL, p->limit_tokens >= 0 ? tok_cell : NULL, buf, n);
}

static void status_cells(const struct tg_policy *p, const struct tg_spend *s,
                         const struct policy_alerts *pa, char cell[ST_COLS][ST_CELL])
{
	const struct tg_alert *last = &pa->last_blocked;
	double pct = used_pct(p, s);

	snprintf(cell[ST_NAME], ST_CELL, "%s", p->name);
	snprintf(cell[ST_SOURCE], ST_CELL, "%s", source(p));
	scope_text(p, cell[ST_SCOPE], ST_CELL);
	if (tg_policy_window_text(p, cell[ST_WINDOW], ST_CELL) < 0)
		snprintf(cell[ST_WINDOW], ST_CELL, "%s", tg_window_name(p->window));
	tg_limit_text(p->limit_usd, p->limit_tokens, cell[ST_LIMIT], ST_CELL);
	if (p->window == TG_WIN_SESSION) {
		snprintf(cell[ST_SPEND], ST_CELL, "per process");
		snprintf(cell[ST_USED], ST_CELL, "-");
		snprintf(cell[ST_RESETS], ST_CELL, "at exit");
		snprintf(cell[ST_STATE], ST_CELL, "-");
	} else {
		window_spend_text(p, s, cell[ST_SPEND], ST_CELL);
		/* A tiny limit makes a percentage long: the exponent form then,
		 * rather than a cut number. */
		if (tg_decimal_snprintf(cell[ST_USED], 16, "%.1f%%", pct) >= 16)
			tg_decimal_snprintf(cell[ST_USED], 16, "%.3g%%", pct);
		tg_when_iso(s->reset_us, cell[ST_RESETS]);
		snprintf(cell[ST_STATE], ST_CELL, "%s", state(p, pct));
	}
	snprintf(cell[ST_BLOCKED], ST_CELL, "-");
	if (last->ts_us) {
		char iso[TG_WHEN_ISO_MAX];

		tg_when_iso(last->ts_us, iso);
		snprintf(cell[ST_BLOCKED], ST_CELL, "%s %s %s", iso, last->process, last->model);
	}
}

/* One line of the table: hidden columns left out, cells cut to their
 * width when cut is set (a terminal). */
static void status_line(FILE *f, char cell[ST_COLS][ST_CELL], const size_t *w,
                        const unsigned char *hidden, int cut)
{
	int last = ST_COLS - 1, first = 1;

	while (last > 0 && hidden[last])
		last--;
	for (int c = 0; c <= last; c++) {
		if (hidden[c])
			continue;
		if (!first)
			fputs("  ", f);
		first = 0;
		if (cut)
			tg_emit_cell(f, cell[c], (int)w[c], c == ST_USED, c != last || c == ST_USED);
		else if (c == last)
			fputs(cell[c], f);
		else
			fprintf(f, c == ST_USED ? "%*s" : "%-*s", (int)w[c], cell[c]);
	}
	putc('\n', f);
}

/* Narrows w to the terminal's width (none when f is no terminal): sets
 * hidden and returns the width, 0 when piped. */
static int status_fit(FILE *f, size_t *w, const size_t *content, unsigned char *hidden)
{
	int iw[ST_COLS], min[ST_COLS], want[ST_COLS], limit = tg_table_limit(f);

	memset(hidden, 0, ST_COLS);
	if (!limit)
		return 0;
	for (int c = 0; c < ST_COLS; c++) {
		iw[c] = (int)content[c];
		min[c] = st_cut_min[c] && st_cut_min[c] < iw[c] ? st_cut_min[c] : iw[c];
		want[c] = st_cut_want[c] && st_cut_want[c] < iw[c] ? st_cut_want[c] : iw[c];
	}
	tg_table_fit_hiding(iw, min, want, st_rank, hidden, ST_COLS, 2, limit);
	for (int c = 0; c < ST_COLS; c++)
		w[c] = (size_t)iw[c];
	return limit;
}

static int status_table(FILE *f, const struct policies *ps, const struct tg_spend *spend,
                        const struct policy_alerts *per)
{
	char (*cell)[ST_COLS][ST_CELL] = calloc((size_t)ps->n + 1, sizeof *cell);
	size_t w[ST_COLS], content[ST_COLS];
	unsigned char hidden[ST_COLS];
	int limit;

	if (!cell)
		return -1;
	for (int c = 0; c < ST_COLS; c++) {
		snprintf(cell[0][c], ST_CELL, "%s", st_head[c]);
		content[c] = strlen(st_head[c]);
	}
	for (int i = 0; i < ps->n; i++) {
		status_cells(&ps->p[i], &spend[i], &per[i], cell[i + 1]);
		for (int c = 0; c < ST_COLS; c++)
			if (strlen(cell[i + 1][c]) > content[c])
				content[c] = strlen(cell[i + 1][c]);
	}
	for (int c = 0; c < ST_COLS; c++)
		w[c] = content[c] > st_min[c] ? content[c] : st_min[c];
	limit = status_fit(f, w, content, hidden);
	for (int i = 0; i <= ps->n; i++)
		status_line(f, cell[i], w, hidden, limit != 0);
	if (limit)
		tg_table_hidden_note(f, st_head, hidden, ST_COLS, limit);
	for (int i = 1; i <= ps->n; i++) {
		if (strchr(cell[i][ST_SPEND], '?')) {
			fputs(TG_UNKNOWN_LEGEND, f);
			break;
		}
	}
	for (int i = 1; i <= ps->n; i++) {
		if (strchr(cell[i][ST_SPEND], '~')) {
			fputs(TG_ESTIMATE_LEGEND, f);
			break;
		}
	}
	free(cell);
	return 0;
}

/* The zones of the policies' windows, loaded before any spend is read:
 * a zone that cannot be read is said as such, not as a ledger error. */
static int zones_ready(const struct tg_report *rep, const struct policies *ps)
{
	char err[256];

	for (int i = 0; i < ps->n; i++)
		if (tg_policy_zone_ready(&ps->p[i], err, sizeof err))
			return tg_report_fail(rep, "policy %s: %s; fix it with `tokenguard-report "
			                      "budget set %s ...`%s", ps->p[i].name, err, ps->p[i].name,
			                      ps->p[i].from_env ? " or in TOKENGUARD_BUDGETS" : "");
	return 0;
}

/* ---- status rows: one per policy, one per value of a tag:KEY=* one ---- */

struct rows {
	struct policies ps;      /* the rows' policies: fixed, or bound to a value */
	struct tg_spend *spend;
	int64_t *more;           /* per row: values of its tag:KEY=* policy not shown */
	int cap;
};

static int row_add(struct rows *r, const struct tg_policy *p, int64_t more)
{
	if (r->ps.n == r->cap) {
		int cap = r->cap ? 2 * r->cap : 16;
		struct tg_policy *np = realloc(r->ps.p, (size_t)cap * sizeof *np);
		struct tg_spend *ns;
		int64_t *nm;

		if (np)
			r->ps.p = np;
		ns = np ? realloc(r->spend, (size_t)cap * sizeof *ns) : NULL;
		if (ns)
			r->spend = ns;
		nm = ns ? realloc(r->more, (size_t)cap * sizeof *nm) : NULL;
		if (!nm)
			return -1;
		r->more = nm;
		r->cap = cap;
	}
	r->ps.p[r->ps.n] = *p;
	memset(&r->spend[r->ps.n], 0, sizeof r->spend[0]);
	r->more[r->ps.n++] = more;
	return 0;
}

/* p (tag:KEY=*) bound to KEY=value as the gate binds it for a call. */
static int bind_value(const struct tg_policy *p, const char *key, const char *value,
                      struct tg_policy *out)
{
	char tags[TG_TAGS_MAX];
	struct tg_call c = { .tags = tags };

	if ((size_t)snprintf(tags, sizeof tags, "%s=%s", key, value) >= sizeof tags)
		return -1;
	return tg_policy_bind(p, &c, out) ? 0 : -1;
}

struct value_walk {
	const struct tg_policy *p;
	const char *key;
	struct rows *r;
};

static int walk_value(void *ctx, const char *value)
{
	struct value_walk *w = ctx;
	struct tg_policy b;

	if (bind_value(w->p, w->key, value, &b) != 0)
		return 0;   /* too long to be a call's tag: never spent */
	return row_add(w->r, &b, 0) ? TG_ENOMEM : 0;
}

/* The --tag KEY=VALUE asked for key; NULL when none.  *hashed is the
 * value's hash under the ledger's attribution key when the filter has one
 * (a user id: filter.h), else NULL. */
static const char *asked_value(const struct tg_report *rep, const char *key, const char **hashed)
{
	size_t k = strlen(key);

	*hashed = NULL;
	for (int i = 0; i < rep->filter.ntags; i++)
		if (!strncmp(rep->filter.tag[i], key, k) && rep->filter.tag[i][k] == '=') {
			if (rep->filter.tag_hashed[i][0])
				*hashed = strchr(rep->filter.tag_hashed[i], '=') + 1;
			return rep->filter.tag[i] + k + 1;
		}
	return NULL;
}

/* The row of the value --tag asked for: under its hash when the ledger
 * keeps that value hashed (it spent under it), else as given. */
static int asked_row(const struct tg_report *rep, struct tg_ledger *l, const struct tg_policy *p,
                     const char *key, const char *asked, const char *hashed, struct rows *out)
{
	struct tg_policy b;
	struct tg_spend *s;
	int rc;

	if (bind_value(p, key, hashed ? hashed : asked, &b) != 0)
		return tg_report_fail(rep, "--tag %s=%s is too long to be a tag", key, asked);
	if (row_add(out, &b, 0))
		return TG_ENOMEM;
	s = &out->spend[out->ps.n - 1];
	if ((rc = tg_ledger_spend_many(l, &b, 1, rep->now_us, s)) != 0 || !hashed ||
	    s->calls || s->tokens || s->usd > 0 || bind_value(p, key, asked, &b) != 0)
		return rc;
	out->ps.p[out->ps.n - 1] = b;
	return tg_ledger_spend_many(l, &b, 1, rep->now_us, s);
}

/* Biggest spend first (dollars, then tokens), then the value. */
static int by_spend(const void *a, const void *b, void *ctx)
{
	const struct rows *r = ctx;
	int i = *(const int *)a, j = *(const int *)b;
	const struct tg_policy *p = &r->ps.p[i];
	double ui = counted_usd(p, &r->spend[i]), uj = counted_usd(p, &r->spend[j]);

	if (ui != uj)
		return ui > uj ? -1 : 1;
	if (r->spend[i].tokens != r->spend[j].tokens)
		return r->spend[i].tokens > r->spend[j].tokens ? -1 : 1;
	return strcmp(tg_policy_value(p), tg_policy_value(&r->ps.p[j]));
}

/* The rows of tag:KEY=* policy p: its values spent in its window, the
 * limit biggest (the rest counted), or the value --tag asks for. */
static int value_rows(const struct tg_report *rep, struct tg_ledger *l, const struct tg_policy *p,
                      struct rows *out)
{
	char key[TG_TAGS_MAX];
	struct rows all = { { NULL, 0, 0 }, NULL, NULL, 0 };
	struct value_walk w = { p, key, &all };
	int64_t limit = rep->limit >= 0 ? rep->limit : STATUS_VALUES, seen = 0;
	const char *asked, *hashed;
	int *order = NULL, rc;

	tg_policy_each_key(p, key, sizeof key);
	if ((asked = asked_value(rep, key, &hashed)))
		return asked_row(rep, l, p, key, asked, hashed, out);
	if ((rc = tg_ledger_tag_values(l, key, walk_value, &w)) == 0 && all.ps.n &&
	    (rc = tg_ledger_spend_many(l, all.ps.p, all.ps.n, rep->now_us, all.spend)) == 0 &&
	    !(order = malloc((size_t)all.ps.n * sizeof *order)))
		rc = TG_ENOMEM;
	for (int i = 0; rc == 0 && i < all.ps.n; i++)   /* the values spent in the window */
		if (all.spend[i].calls || all.spend[i].tokens || all.spend[i].usd > 0)
			order[seen++] = i;
	if (rc == 0 && seen)
		qsort_r(order, (size_t)seen, sizeof *order, by_spend, &all);
	for (int64_t i = 0; rc == 0 && i < seen && i < limit; i++) {
		if (row_add(out, &all.ps.p[order[i]], seen > limit ? seen - limit : 0))
			rc = TG_ENOMEM;
		else
			out->spend[out->ps.n - 1] = all.spend[order[i]];
	}
	if (rc == 0 && (seen == 0 || limit == 0) &&
	    (rc = row_add(out, p, seen > limit ? seen - limit : 0)) == 0)
		rc = tg_ledger_spend_many(l, p, 1, rep->now_us, &out->spend[out->ps.n - 1]);
	free(order);
	free(all.ps.p);
	free(all.spend);
	free(all.more);
	return rc;
}

/* Every policy's rows with their spend. */
static int status_rows(const struct tg_report *rep, struct tg_ledger *l, const struct policies *ps,
                       struct rows *r)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < ps->n; i++) {
		const struct tg_policy *p = &ps->p[i];

		if (p->per_value != TG_VALUE_EACH || p->window == TG_WIN_SESSION) {
			rc = row_add(r, p, -1) ? TG_ENOMEM : 0;
			if (rc == 0)
				rc = tg_ledger_spend_many(l, p, 1, rep->now_us, &r->spend[r->ps.n - 1]);
		} else {
			rc = value_rows(rep, l, p, r);
		}
	}
	return rc;
}

/* A --tag must name the key of a tag:KEY=* policy. */
static int check_asked(const struct tg_report *rep, const struct policies *ps)
{
	for (int t = 0; t < rep->filter.ntags; t++) {
		const char *tag = rep->filter.tag[t];
		int found = 0;

		for (int i = 0; i < ps->n && !found; i++) {
			char key[TG_TAGS_MAX];
			int k = tg_policy_each_key(&ps->p[i], key, sizeof key);

			found = k > 0 && !strncmp(tag, key, (size_t)k) && tag[k] == '=';
		}
		if (!found)
			return tg_report_fail(rep, "budget status --tag %s: no tag:KEY=* policy counts "
			                      "that key; --tag picks the value of one (see budget list)",
			                      tag);
	}
	return 0;
}

static void more_notes(FILE *f, const struct rows *r)
{
	for (int i = 0; i < r->ps.n; i++) {
		const struct tg_policy *p = &r->ps.p[i];
		char key[TG_TAGS_MAX];

		if (r->more[i] <= 0 || (i + 1 < r->ps.n && !strcmp(r->ps.p[i + 1].name, p->name) &&
		                        r->ps.p[i + 1].from_env == p->from_env))
			continue;   /* said once, after the last row of the policy */
		snprintf(key, sizeof key, "%s", p->scope_value);   /* "KEY=VALUE" or "KEY=*" */
		key[strcspn(key, "=")] = '\0';
		fprintf(f, "note: %s: %lld more value%s of tag %s spent in this window; "
		        "--limit N shows more, --tag %s=VALUE one\n", p->name, (long long)r->more[i],
		        r->more[i] == 1 ? "" : "s", key, key);
	}
}

/* Under the table: what each fleet policy's spend is made of. */
static void fleet_notes(FILE *f, const struct policies *ps, const struct tg_spend *spend, int64_t now_us)
{
	for (int i = 0; i < ps->n; i++) {
		const struct tg_policy *p = &ps->p[i];
		const struct tg_spend *s = &spend[i];
		char local[TG_MONEY_MAX], others[TG_MONEY_MAX], total[TG_MONEY_MAX];
		double o = tg_total_usd_for(s->fleet_usd, s->fleet_usd_estimated,
		                            p->unpriced != TG_UNPRICED_ALLOW);

		if (!p->fleet)
			continue;
		tg_money_or_unknown(counted_usd(p, s) - o, local, sizeof local);
		tg_money_or_unknown(o, others, sizeof others);
		tg_money_or_unknown(counted_usd(p, s), total, sizeof total);
		if (s->fleet == TG_FLEET_FRESH)
			tg_decimal_fprintf(f, "fleet %s: this machine %s (%lld tokens) + the others %s "
			                   "(%lld tokens, pulled %.1f s ago) = %s\n", p->name, local,
			                   (long long)(s->tokens - s->fleet_tokens), others,
			                   (long long)s->fleet_tokens,
			                   (double)(now_us - s->fleet_pulled_us) / 1e6, total);
		else if (s->fleet == TG_FLEET_STALE)
			tg_decimal_fprintf(f, "fleet %s: the others' totals are stale (pulled %.1f s ago): "
			                   "this machine's %s only; TOKENGUARD_FAIL decides (open: "
			                   "local spend, closed: blocked)\n", p->name,
			                   (double)(now_us - s->fleet_pulled_us) / 1e6, local);
		else
			fprintf(f, "fleet %s: no fleet totals pulled yet (is `tokenguard-report sync "
			        "--follow` running?): this machine's %s only; TOKENGUARD_FAIL decides\n",
			        p->name, local);
	}
}

static int cmd_status(const struct tg_report *rep)
{
	struct tg_ledger *l;
	struct policies ps;
	struct rows r = { { NULL, 0, 0 }, NULL, NULL, 0 };
	struct alert_notes an = { &r.ps, NULL };
	struct tg_prices *prices = NULL;
	FILE *f = rep->out;
	int rc, sessions = 0;

	if (rep->nargs != 1)
		return tg_report_fail(rep, "budget status takes no argument; see --help");
	fold_spooled(rep);
	if (open_ledger(rep, TG_LEDGER_RDONLY, &l))
		return TG_EXIT_FAIL;
	if ((rc = load(rep, l, &ps)) != 0) {
		tg_ledger_close(l);
		return rc;
	}
	/* The families a zoned window's partial hours match by, as the shim's. */
	if (tg_report_load_prices(rep, &prices, "budget status")) {
		rc = TG_EXIT_FAIL;
		goto out;
	}
	tg_ledger_set_prices(l, prices);
	if ((rc = zones_ready(rep, &ps)) != 0)
		goto out;
	if ((rc = check_asked(rep, &ps)) != 0)
		goto out;
	rc = status_rows(rep, l, &ps, &r);
	if (rc == 0 && !(an.per = calloc((size_t)r.ps.n + 1, sizeof *an.per)))
		rc = TG_ENOMEM;
	if (rc == 0)
		rc = tg_ledger_alerts(l, 0, note_alert, &an);
	if (rc == TG_ENOMEM)
		rc = tg_report_fail(rep, "out of memory; retry with more memory available");
	else if (rc < 0)
		rc = tg_report_ledger_fail(rep, rc);   /* else 0, or TG_EXIT_FAIL already said */
	tg_ledger_close(l);
	tg_prices_free(prices);

	if (rc == 0) {
		if (rep->format == TG_FMT_JSON)
			putc('[', f);
		else if (status_table(f, &r.ps, r.spend, an.per))
			rc = tg_report_fail(rep, "out of memory; retry with more memory available");
		for (int i = 0; i < r.ps.n; i++) {
			sessions += r.ps.p[i].window == TG_WIN_SESSION;
			if (rep->format == TG_FMT_JSON)
				status_json(f, &r.ps.p[i], &r.spend[i], &an.per[i], r.more[i], i == 0,
				            rep->now_us);
		}
		if (rep->format == TG_FMT_JSON) {
			fputs(r.ps.n ? "\n]\n" : "]\n", f);
		} else {
			if (!r.ps.n)
				fputs("(no policies; add one with `tokenguard-report budget set NAME SPEC`)\n", f);
			more_notes(f, &r);
			fleet_notes(f, &r.ps, r.spend, rep->now_us);
			if (sessions)
				fputs("note: session windows are counted inside each process; "
				      "their spend is not known outside it\n", f);
		}
	}
	free(an.per);
	free(r.ps.p);
	free(r.spend);
	free(r.more);
	free(ps.p);
	return rc;
out:
	tg_ledger_close(l);
	tg_prices_free(prices);
	free(ps.p);
	return rc;
}

/* Every alert of the period, repeats included (alert_list.h). */
static int cmd_alerts(const struct tg_report *rep)
{
	struct tg_ledger *l;
	int rc;

	if (rep->nargs != 1)
		return tg_report_fail(rep, "budget alerts takes no argument; see --help");
	fold_spooled(rep);
	if (open_ledger(rep, TG_LEDGER_RDONLY, &l))
		return TG_EXIT_FAIL;
	rc = tg_alert_list(rep, l, 1);
	tg_ledger_close(l);
	return rc;
}

int tg_cmd_budget(const struct tg_report *rep, struct tg_ledger *unused)
{
	const char *sub = rep->nargs ? rep->args[0] : "";
	static const char *const subs[] = { "set", "list", "rm", "reset", "status", "alerts" };
	int known = 0;

	(void)unused;
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		known |= !strcmp(sub, subs[i]);
	if (!*sub)
		return tg_report_fail(rep, "budget needs a subcommand: set, list, rm, reset, status "
		                      "or alerts; see --help");
	if (!known)
		return tg_report_fail(rep, "unknown budget subcommand \"%s\"; use set, list, rm, "
		                      "reset, status or alerts", sub);
	if (strcmp(sub, "set") && has_flags(&rep->budget))
		return tg_report_fail(rep, "--scope, --window, --usd, --tokens, --action, --alert, "
		                      "--fallback and --unpriced apply to budget set only; drop them");
	if (rep->format_given && strcmp(sub, "list") && strcmp(sub, "status") && strcmp(sub, "alerts"))
		return tg_report_fail(rep, "--format applies to budget list, status and alerts only; "
		                      "drop it");
	if ((rep->filter.ntags || rep->limit >= 0) && strcmp(sub, "status"))
		return tg_report_fail(rep, "--tag and --limit apply to budget status only; drop them");
	if (rep->period_given && strcmp(sub, "alerts"))
		return tg_report_fail(rep, "--since, --until and --today apply to budget alerts only; "
		                      "drop them");
	if (!strcmp(sub, "set"))
		return cmd_set(rep);
	if (!strcmp(sub, "list"))
		return cmd_list(rep);
	if (!strcmp(sub, "rm"))
		return cmd_rm_reset(rep, 0);
	if (!strcmp(sub, "reset"))
		return cmd_rm_reset(rep, 1);
	if (!strcmp(sub, "status"))
		return cmd_status(rep);
	return cmd_alerts(rep);
}
