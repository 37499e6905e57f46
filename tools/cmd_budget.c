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
#include "money.h"
#include "report.h"
#include "when.h"

#define ENV_MAX 32
#define SPEC_MAX 1024
#define RECENT_ALERTS 5  /* threshold, limit and fallback alerts shown per policy */

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

static int env_policies(const struct tg_report *rep, struct tg_policy *out, int *n)
{
	char err[512];

	if (tg_policies_parse_env(tg_env_get("TOKENGUARD_BUDGETS"), out, ENV_MAX, n, err, sizeof err))
		return tg_report_fail(rep, "TOKENGUARD_BUDGETS %s; fix or unset it", err);
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
static void line_of(const struct tg_policy *p, char *buf, size_t n)
{
	struct tg_policy q = *p;

	q.name[0] = '\0';
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

	if (tg_policies_parse_env(tg_env_get("TOKENGUARD_BUDGETS"), env, ENV_MAX, &n, NULL, 0) == 0)
		for (int i = 0; i < n; i++)
			if (!strcmp(env[i].name, name))
				return tg_report_fail(rep, "%s is defined by TOKENGUARD_BUDGETS, not stored "
				                      "in the ledger; change that variable instead", name);
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
		rc = tg_ledger_budget_reset(l, name, rep->now_us);
		if (rc == 0)
			find_stored(l, name, &p);  /* to say until when */
	}
	tg_ledger_close(l);
	if (rc == TG_ENOENT)
		return not_stored(rep, name);
	if (rc == TG_EINVAL && reset)
		return tg_report_fail(rep, "%s has a session window: its spend lives in each "
		                      "process, not in the ledger; nothing to reset", name);
	if (rc)
		return tg_report_dir_fail(rep, rc);
	if (reset && tg_window_bounds(p.window, rep->now_us, &start, &end) == 0) {
		char iso[TG_WHEN_ISO_MAX];

		tg_when_iso(end, iso);
		fprintf(rep->out, "reset %s: its %s spend counts from 0 until %s\n", name,
		        tg_window_name(p.window), iso);
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

		if (strcmp(an->ps->p[i].name, a->policy))
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

/* The share of the limits used, by the gate's rule (budget.h). */
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

static void json_limit(FILE *f, double usd)
{
	if (usd >= 0)
		tg_emit_exact(f, usd);
	else
		fputs("null", f);
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

static void status_json(FILE *f, const struct tg_policy *p, const struct tg_spend *s,
                        const struct policy_alerts *pa, int first)
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
	fprintf(f, ",\"window\":\"%s\",\"action\":\"%s\",\"unpriced\":\"%s\",\"limit_usd\":",
	        tg_window_name(p->window), tg_action_name(p->action), tg_unpriced_name(p->unpriced));
	json_limit(f, p->limit_usd);
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

static void status_line(FILE *f, char cell[ST_COLS][ST_CELL], const size_t *w)
{
	for (int c = 0; c < ST_COLS; c++) {
		if (c == ST_COLS - 1)
			fprintf(f, "%s\n", cell[c]);
		else
			fprintf(f, c == ST_USED ? "%*s  " : "%-*s  ", (int)w[c], cell[c]);
	}
}

static int status_table(FILE *f, const struct policies *ps, const struct tg_spend *spend,
                        const struct policy_alerts *per)
{
	char (*cell)[ST_COLS][ST_CELL] = calloc((size_t)ps->n + 1, sizeof *cell);
	size_t w[ST_COLS];

	if (!cell)
		return -1;
	for (int c = 0; c < ST_COLS; c++) {
		snprintf(cell[0][c], ST_CELL, "%s", st_head[c]);
		w[c] = st_min[c];
	}
	for (int i = 0; i < ps->n; i++) {
		status_cells(&ps->p[i], &spend[i], &per[i], cell[i + 1]);
		for (int c = 0; c < ST_COLS; c++)
			if (strlen(cell[i + 1][c]) > w[c])
				w[c] = strlen(cell[i + 1][c]);
	}
	for (int i = 0; i <= ps->n; i++)
		status_line(f, cell[i], w);
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

static int cmd_status(const struct tg_report *rep)
{
	struct tg_ledger *l;
	struct policies ps;
	struct tg_spend *spend = NULL;
	struct alert_notes an = { &ps, NULL };
	FILE *f = rep->out;
	int rc, sessions = 0;

	if (rep->nargs != 1)
		return tg_report_fail(rep, "budget status takes no argument; see --help");
	if (open_ledger(rep, TG_LEDGER_RDONLY, &l))
		return TG_EXIT_FAIL;
	if ((rc = load(rep, l, &ps)) != 0) {
		tg_ledger_close(l);
		return rc;
	}
	spend = calloc((size_t)ps.n + 1, sizeof *spend);
	an.per = calloc((size_t)ps.n + 1, sizeof *an.per);
	if (!spend || !an.per)
		rc = tg_report_fail(rep, "out of memory; retry with more memory available");
	else if ((rc = tg_ledger_spend_many(l, ps.p, ps.n, rep->now_us, spend)) != 0 ||
	         (rc = tg_ledger_alerts(l, 0, note_alert, &an)) != 0)
		rc = tg_report_ledger_fail(rep, rc);
	tg_ledger_close(l);

	if (rc == 0) {
		if (rep->format == TG_FMT_JSON)
			putc('[', f);
		else if (status_table(f, &ps, spend, an.per))
			rc = tg_report_fail(rep, "out of memory; retry with more memory available");
		for (int i = 0; i < ps.n; i++) {
			sessions += ps.p[i].window == TG_WIN_SESSION;
			if (rep->format == TG_FMT_JSON)
				status_json(f, &ps.p[i], &spend[i], &an.per[i], i == 0);
		}
		if (rep->format == TG_FMT_JSON) {
			fputs(ps.n ? "\n]\n" : "]\n", f);
		} else {
			if (!ps.n)
				fputs("(no policies; add one with `tokenguard-report budget set NAME SPEC`)\n", f);
			if (sessions)
				fputs("note: session windows are counted inside each process; "
				      "their spend is not known outside it\n", f);
		}
	}
	free(spend);
	free(an.per);
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
