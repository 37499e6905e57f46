/* cmd_summary.c - the default command: calls, blocked calls, tokens by
 * kind and cost, grouped by --by keys, with a total and notes saying what
 * the sums leave out (unpriced calls, calls without usage, unknown
 * counts).  The sums are those of spend_rule.h, so they agree with
 * `check`, `budget status` and `verify`; a blocked call was never sent and
 * is only in BLOCKED.  Written as a table (its cells: sum_table.h), JSON,
 * CSV or an HTML page (html.h), which also sums the period by time and
 * model for its chart in the same scan; with --chart, as bars on a
 * terminal (text_chart.h), one per row, by day when no --by is given. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "text_chart.h"
#include "decimal.h"
#include "emit.h"
#include "html.h"
#include "ledger_budget.h"
#include "money.h"
#include "report.h"
#include "sum_table.h"
#include "unknowns.h"
#include "runs.h"
#include "when.h"
#include "zone.h"

#define DEFAULT_BY "provider,model"
#define CHART_BY "day"   /* --chart alone: the spend of each day */
#define MAX_NOTES 8
#define NOTE_MAX 512
#define UNPRICED_NAMED 5

static const char *const tok_short[TG_TOK_KINDS] = {
	"input", "cached input", "cache write", "output", "reasoning",
};

struct notes {
	char text[MAX_NOTES][NOTE_MAX];
	int n;
};

static void note(struct notes *ns, const char *fmt, ...)
{
	va_list ap;

	if (ns->n == MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(ns->text[ns->n++], NOTE_MAX, fmt, ap);
	va_end(ap);
}

static const char *calls(int64_t n)
{
	return n == 1 ? "call" : "calls";
}

static void unpriced_note(struct notes *ns, const struct tg_agg *a)
{
	char list[NOTE_MAX] = "";
	size_t len = 0;

	if (!a->total.t.unpriced)
		return;
	for (size_t i = 0; i < a->nunpriced && i < UNPRICED_NAMED; i++) {
		int k;

		if (a->nunpriced == 1)
			k = snprintf(list, sizeof list, "model %s", a->unpriced[0].model);
		else
			k = snprintf(list + len, sizeof list - len, "%s%s (%lld)",
			             i ? ", " : "models ", a->unpriced[i].model,
			             (long long)a->unpriced[i].calls);
		if (k < 0 || (size_t)k >= sizeof list - len)
			break;
		len += (size_t)k;
	}
	if (a->nunpriced > UNPRICED_NAMED)
		snprintf(list + len, sizeof list - len, " and %zu more", a->nunpriced - UNPRICED_NAMED);
	note(ns, "%lld %s unpriced: cost unknown for %s", (long long)a->total.t.unpriced,
	     calls(a->total.t.unpriced), list);
}

/* ccusage's active block: the last block when it has not ended, its time
 * left and its cost projected to the block's end at the rate so far. */
static void active_block_note(struct notes *ns, const struct tg_report *rep,
                              const struct tg_agg *a, const struct tg_runs *rs)
{
	struct tg_total t = { 0 };
	int64_t start, left;
	char iso[TG_WHEN_ISO_MAX], end[TG_WHEN_ISO_MAX], cost[TG_MONEY_MAX] = "$?";
	char proj[TG_MONEY_MAX] = "$?";

	if (!rs->nblocks)
		return;
	start = rs->block[rs->nblocks - 1];
	left = start + TG_BLOCK_US - rep->now_us;
	if (left <= 0 || rep->now_us < start)
		return;
	tg_when_local_iso(start, iso);
	tg_when_local_iso(start + TG_BLOCK_US, end);
	for (size_t g = 0; g < a->ngroups; g++)
		if (!strcmp(a->group[g].value[0], iso))
			tg_total_sum(&t, &a->group[g].sums.t);
	tg_money_text(t.usd_known, cost, sizeof cost);
	tg_money_text(t.usd_known / (double)(rep->now_us - start + 1) * (double)TG_BLOCK_US, proj,
	              sizeof proj);
	if (tg_total_cost_unknown(&t))
		note(ns, "%lld %s of the active block of unknown cost: left out of its projection",
		     (long long)tg_total_cost_unknown(&t), calls(tg_total_cost_unknown(&t)));
	note(ns, "active block %s: ends %s, %lldh%02lldm left; %s so far, %s projected for the "
	     "whole block at the rate so far", iso, end, (long long)(left / 3600000000),
	     (long long)(left / 60000000 % 60), cost, proj);
}

static void build_notes(struct notes *ns, const struct tg_agg *a)
{
	const struct tg_agg_sums *s = &a->total;
	const struct tg_total *t = &s->t;

	unpriced_note(ns, a);
	if (t->usage_unknown)
		note(ns, "%lld %s without usage in the response: tokens and cost unknown, "
		     "left out of every sum", (long long)t->usage_unknown, calls(t->usage_unknown));
	if (t->estimated) {
		char est[TG_MONEY_MAX];

		if (tg_money_text(t->usd_estimated, est, sizeof est) < 0)
			snprintf(est, sizeof est, "$?");
		note(ns, "%lld of the %s of unknown cost estimated at ~%s in all, as budgets count "
		     "them (a model without a price at its provider's highest rates, a response "
		     "without usage from its size)", (long long)t->estimated,
		     calls(tg_total_cost_unknown(t)), est);
	}
	for (size_t i = 0; i < a->nserved; i++)
		if (a->served[i].blocked_moved)
			note(ns, "%lld blocked %s asked for %s: shown in the row of %s, the model "
			     "served for it", (long long)a->served[i].blocked_moved,
			     calls(a->served[i].blocked_moved), a->served[i].requested,
			     a->served[i].served);
	for (int k = 0; k < TG_TOK_KINDS; k++) {
		int64_t n = s->unknown[k] - t->usage_unknown;

		if (n > 0)
			note(ns, "%s count unknown for %lld %s: left out of the %s sum", tok_short[k],
			     (long long)n, calls(n), tok_short[k]);
	}
}

/* ---- table ---- */

/* On a terminal, the key columns (model names, tags, endpoints) are cut
 * to fit its width, down to KEY_CUT_MIN each; the numbers are never cut.
 * Before a key is cut below KEY_CUT_WANT, the token columns people need
 * least are left out (col_rank) and named under the table.  Returns 1
 * when cells are to be cut to their column. */
#define KEY_CUT_MIN 8
#define KEY_CUT_WANT 20
static const unsigned char col_rank[TG_SUM_COLS] = {
	[TG_COL_TOK + TG_TOK_REASONING] = 1, [TG_COL_TOK + TG_TOK_CACHE_WRITE] = 2,
	[TG_COL_TOK + TG_TOK_CACHED] = 3, [TG_COL_BLOCKED] = 4,
	[TG_COL_TOK + TG_TOK_INPUT] = 5, [TG_COL_TOK + TG_TOK_OUTPUT] = 6,
};

static int key_is_time(enum tg_agg_by by)
{
	return by == TG_BY_DAY || by == TG_BY_MONTH || by == TG_BY_WEEK || by == TG_BY_HOUR ||
	       by == TG_BY_BLOCK;
}

static int fit_terminal(FILE *f, const struct tg_agg *a, size_t *kw, const size_t *nw,
                        int any_mark, unsigned char *hide, int *limit)
{
	int nkeys = a->nkeys;
	int w[TG_AGG_MAX_KEYS + TG_SUM_COLS], min[TG_AGG_MAX_KEYS + TG_SUM_COLS];
	int want[TG_AGG_MAX_KEYS + TG_SUM_COLS], at[TG_SUM_COLS], n = 0;
	unsigned char rank[TG_AGG_MAX_KEYS + TG_SUM_COLS], hidden[TG_AGG_MAX_KEYS + TG_SUM_COLS];

	memset(hide, 0, TG_SUM_COLS);
	if (!(*limit = tg_table_limit(f)))
		return 0;
	for (int k = 0; k < nkeys; k++, n++) {
		w[n] = (int)kw[k];
		/* A cut date says nothing: time keys keep their width. */
		min[n] = w[n] < KEY_CUT_MIN || key_is_time(a->key[k].by) ? w[n] : KEY_CUT_MIN;
		want[n] = w[n] < KEY_CUT_WANT || key_is_time(a->key[k].by) ? w[n] : KEY_CUT_WANT;
		rank[n] = 0;
	}
	for (int c = 0; c < TG_SUM_COLS; c++)
		if (c != TG_COL_MARKS || any_mark) {
			w[n] = min[n] = want[n] = (int)nw[c];
			rank[n] = col_rank[c];
			at[n - nkeys] = c;
			n++;
		}
	tg_table_fit_hiding(w, min, want, rank, hidden, n, 2, *limit);
	for (int k = 0; k < nkeys; k++)
		kw[k] = (size_t)w[k];
	for (int i = nkeys; i < n; i++)
		hide[at[i - nkeys]] = hidden[i];
	return 1;
}

static void table(const struct tg_report *rep, const struct tg_agg *a, const struct notes *ns)
{
	char head[TG_AGG_MAX_KEYS][TG_AGG_TAG_MAX + 8], cell[TG_CELL_MAX];
	size_t kw[TG_AGG_MAX_KEYS], nw[TG_SUM_COLS];
	const char *legend[TG_SUM_LEGEND_MAX];
	struct tg_sum_legend lg;
	FILE *f = rep->out;
	int cut, nlegend, limit;
	unsigned char hide[TG_SUM_COLS];
	const char *heads[TG_SUM_COLS];

	tg_sum_legend_of(a, &lg);
	for (int k = 0; k < a->nkeys; k++) {
		tg_sum_key_head(a, k, head[k], sizeof head[k]);
		kw[k] = strlen(head[k]);
		for (size_t g = 0; g < a->ngroups; g++)
			if (strlen(tg_sum_key_text(a->group[g].value[k])) > kw[k])
				kw[k] = strlen(tg_sum_key_text(a->group[g].value[k]));
	}
	if (a->nkeys && kw[0] < sizeof TG_SUM_TOTAL - 1)
		kw[0] = sizeof TG_SUM_TOTAL - 1;
	for (int c = 0; c < TG_SUM_COLS; c++) {
		nw[c] = strlen(tg_sum_col_head(c));
		for (size_t g = 0; g <= a->ngroups; g++) {
			tg_sum_cell_text(g < a->ngroups ? &a->group[g].sums : &a->total, c, cell);
			if (strlen(cell) > nw[c])
				nw[c] = strlen(cell);
		}
	}

	cut = fit_terminal(f, a, kw, nw, lg.mark, hide, &limit);
	for (int k = 0; k < a->nkeys; k++) {
		if (cut)
			tg_emit_cell(f, head[k], (int)kw[k], 0, 1);
		else
			fprintf(f, "%-*s", (int)kw[k], head[k]);
		fputs("  ", f);
	}
	for (int c = 0, first = 1; c < TG_SUM_COLS; c++) {
		heads[c] = tg_sum_col_head(c);
		if (hide[c])
			continue;
		if (c == TG_COL_MARKS)
			fprintf(f, lg.mark ? "  %s" : "", tg_sum_col_head(c));
		else
			fprintf(f, first ? "%*s" : "  %*s", (int)nw[c], tg_sum_col_head(c));
		first = 0;
	}
	putc('\n', f);

	for (size_t g = 0; g <= a->ngroups; g++) {
		const struct tg_agg_sums *s = g < a->ngroups ? &a->group[g].sums : &a->total;

		for (int k = 0; k < a->nkeys; k++) {
			const char *v = g < a->ngroups ? tg_sum_key_text(a->group[g].value[k]) :
			                k ? "" : TG_SUM_TOTAL;

			if (cut)
				tg_emit_cell(f, v, (int)kw[k], 0, 1);
			else
				fprintf(f, "%-*s", (int)kw[k], v);
			fputs("  ", f);
		}
		for (int c = 0, first = 1; c < TG_SUM_COLS; c++) {
			if (hide[c])
				continue;
			tg_sum_cell_text(s, c, cell);
			if (c == TG_COL_MARKS) {
				if (cell[0])
					fprintf(f, "  %s", cell);
			} else {
				fprintf(f, first ? "%*s" : "  %*s", (int)nw[c], cell);
			}
			first = 0;
		}
		putc('\n', f);
	}
	if (!a->nkeys && !a->ngroups)
		fputs(TG_SUM_NO_CALLS, f);
	if (cut)
		tg_table_hidden_note(f, heads, hide, TG_SUM_COLS, limit);
	nlegend = tg_sum_legend_lines(&lg, legend);
	for (int i = 0; i < nlegend; i++)
		fputs(legend[i], f);
	for (int i = 0; i < ns->n; i++)
		fprintf(f, "note: %s\n", ns->text[i]);
}

/* ---- chart (--chart) ---- */

#define CHART_KEY_SEP " / "

/* The key values of group g (or the key headings, g < 0) joined. */
static char *chart_label(const struct tg_agg *a, long g)
{
	char name[TG_AGG_MAX_KEYS][TG_AGG_TAG_MAX + 8];
	const char *v[TG_AGG_MAX_KEYS];
	size_t n = 1;
	char *s;

	for (int k = 0; k < a->nkeys; k++) {
		if (g < 0) {
			tg_sum_key_head(a, k, name[k], sizeof name[k]);
			v[k] = name[k];
		} else {
			v[k] = tg_sum_key_text(a->group[g].value[k]);
		}
		n += strlen(v[k]) + sizeof CHART_KEY_SEP;
	}
	if (!(s = malloc(n)))
		return NULL;
	s[0] = '\0';
	for (int k = 0; k < a->nkeys; k++) {
		if (k)
			strcat(s, CHART_KEY_SEP);
		strcat(s, v[k]);
	}
	return s;
}

/* One bar per group, its length the group's cost: the measured part and
 * the estimates (what budgets count); the amount is the table's COST
 * cell, so an estimate shows "~$", an unknown cost "?" or ">=".  The
 * legends are the table's, those of the amounts alone (no BLOCKED or
 * MARKS column here), wrapped to the chart's width like the notes. */
static int draw_chart(const struct tg_report *rep, const struct tg_agg *a, const struct notes *ns)
{
	struct tg_text_chart_row *row = calloc(a->ngroups + 1, sizeof *row), head, total;
	char (*amount)[TG_CELL_MAX] = calloc(a->ngroups + 1, sizeof *amount);
	char *head_label = chart_label(a, -1);
	int width = tg_term_columns(rep->out, TG_TEXT_CHART_WIDTH), any_unknown = 0, rc = 0;
	struct tg_text_chart c = { row, a->ngroups, &head, &total, width, tg_text_chart_utf8() };
	const char *legend[TG_SUM_LEGEND_MAX];
	struct tg_sum_legend lg;
	size_t g;
	int nlegend;

	for (g = 0; row && amount && head_label && g < a->ngroups; g++) {
		const struct tg_total *t = &a->group[g].sums.t;

		if (!(row[g].label = chart_label(a, (long)g)))
			break;
		tg_sum_cell_text(&a->group[g].sums, TG_COL_COST, amount[g]);
		row[g].amount = amount[g];
		row[g].value = t->usd_known + t->usd_estimated;
		any_unknown |= strchr(amount[g], '?') != NULL;
	}
	if (!row || !amount || !head_label || g < a->ngroups) {
		rc = tg_report_fail(rep, "out of memory; retry with more memory available");
		goto out;
	}
	head = (struct tg_text_chart_row){ head_label, tg_sum_col_head(TG_COL_COST), 0 };
	tg_sum_cell_text(&a->total, TG_COL_COST, amount[a->ngroups]);
	any_unknown |= strchr(amount[a->ngroups], '?') != NULL;
	total = (struct tg_text_chart_row){ TG_SUM_TOTAL, amount[a->ngroups], 0 };
	tg_text_chart_write(rep->out, &c);
	if (!a->ngroups)
		tg_text_chart_wrap(rep->out, TG_SUM_NO_CALLS, width);
	tg_sum_legend_of(a, &lg);
	lg.blocked = lg.mark = 0;
	lg.unknown = any_unknown;
	nlegend = tg_sum_legend_lines(&lg, legend);
	for (int i = 0; i < nlegend; i++)
		tg_text_chart_wrap(rep->out, legend[i], width);
	for (int i = 0; i < ns->n; i++) {
		char text[NOTE_MAX + 8];

		snprintf(text, sizeof text, "note: %s", ns->text[i]);
		tg_text_chart_wrap(rep->out, text, width);
	}
out:
	for (size_t i = 0; row && i < a->ngroups; i++)
		free((char *)row[i].label);
	free(row);
	free(amount);
	free(head_label);
	return rc;
}

/* ---- json ---- */

/* A sum, or null when every call of the row leaves it out. */
static void json_sum(FILE *f, const char *name, int64_t sum, int64_t unknown, int64_t calls)
{
	fprintf(f, ",\"%s\":", name);
	tg_emit_count(f, tg_sum_none_known(unknown, calls) ? -1 : sum, "null");
}

static void json_sums(FILE *f, const struct tg_agg_sums *s)
{
	const struct tg_total *t = &s->t;
	int64_t cost_unknown = tg_total_cost_unknown(t);

	fprintf(f, "\"calls\":%lld,\"blocked_calls\":%lld", (long long)t->calls,
	        (long long)t->blocked);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		json_sum(f, tg_tok_name[k], s->tokens[k], s->unknown[k], t->calls);
	json_sum(f, "tokens", t->tokens, t->tokens_unknown, t->calls);
	fputs(",\"cost_usd\":", f);
	if (tg_sum_none_known(cost_unknown, t->calls))
		fputs("null", f);
	else
		tg_emit_cost(f, t->usd_known);
	fputs(",\"estimated_cost_usd\":", f);
	tg_emit_cost(f, t->usd_estimated);
	fprintf(f, ",\"unpriced_calls\":%lld,\"usage_unknown_calls\":%lld,"
	        "\"tokens_unknown_calls\":%lld,\"incomplete_calls\":%lld,"
	        "\"stream_error_calls\":%lld,\"unknown_counts\":{",
	        (long long)t->unpriced, (long long)t->usage_unknown, (long long)t->tokens_unknown,
	        (long long)s->incomplete, (long long)s->stream_error);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, "%s\"%s\":%lld", k ? "," : "", tg_tok_name[k], (long long)s->unknown[k]);
	putc('}', f);
}

static void json(const struct tg_report *rep, const struct tg_agg *a, const struct notes *ns)
{
	char name[TG_AGG_TAG_MAX + 8];
	FILE *f = rep->out;

	fputs("{\"group_by\":[", f);
	for (int k = 0; k < a->nkeys; k++) {
		tg_agg_key_name(a, k, name, sizeof name);
		fputs(k ? "," : "", f);
		tg_emit_json_str(f, name);
	}
	/* The zone the time keys (day, week, ...) are local to. */
	fputs("],\"timezone\":", f);
	tg_emit_json_str(f, tg_zone_name());
	fputs(",\n\"groups\":[", f);
	for (size_t g = 0; g < a->ngroups; g++) {
		fputs(g ? ",\n{" : "\n{", f);
		for (int k = 0; k < a->nkeys; k++) {
			tg_agg_key_name(a, k, name, sizeof name);
			tg_emit_json_str(f, name);
			putc(':', f);
			tg_emit_json_str(f, a->group[g].value[k]);
			putc(',', f);
		}
		json_sums(f, &a->group[g].sums);
		putc('}', f);
	}
	fputs("],\n\"total\":{", f);
	json_sums(f, &a->total);
	fputs("},\n\"notes\":[", f);
	for (int i = 0; i < ns->n; i++) {
		fputs(i ? "," : "", f);
		tg_emit_json_str(f, ns->text[i]);
	}
	fputs("]}\n", f);
}

/* ---- csv ---- */

/* A sum, or an empty field when every call of the row leaves it out. */
static void csv_sum(FILE *f, int64_t sum, int64_t unknown, int64_t calls)
{
	putc(',', f);
	tg_emit_count(f, tg_sum_none_known(unknown, calls) ? -1 : sum, "");
}

static void csv_sums(FILE *f, const struct tg_agg_sums *s)
{
	const struct tg_total *t = &s->t;
	int64_t cost_unknown = tg_total_cost_unknown(t);

	fprintf(f, "%lld", (long long)t->calls);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		csv_sum(f, s->tokens[k], s->unknown[k], t->calls);
	putc(',', f);
	if (!tg_sum_none_known(cost_unknown, t->calls))
		tg_emit_cost(f, t->usd_known);
	fprintf(f, ",%lld,%lld", (long long)t->unpriced, (long long)t->usage_unknown);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, ",%lld", (long long)s->unknown[k]);
	/* Columns added later go last, so that the others keep their places. */
	fprintf(f, ",%lld", (long long)t->blocked);
	csv_sum(f, t->tokens, t->tokens_unknown, t->calls);
	fprintf(f, ",%lld,%lld,%lld,", (long long)t->tokens_unknown, (long long)s->incomplete,
	        (long long)s->stream_error);
	tg_emit_cost(f, t->usd_estimated);
	fputs("\r\n", f);
}

static void csv(const struct tg_report *rep, const struct tg_agg *a, const struct notes *ns)
{
	char name[TG_AGG_TAG_MAX + 8];
	FILE *f = rep->out;

	for (int k = 0; k < a->nkeys; k++) {
		tg_agg_key_name(a, k, name, sizeof name);
		tg_emit_csv_field(f, name);
		putc(',', f);
	}
	fputs("calls", f);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, ",%s", tg_tok_name[k]);
	fputs(",cost_usd,unpriced_calls,usage_unknown_calls", f);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, ",%s_unknown_calls", tg_tok_name[k]);
	fputs(",blocked_calls,tokens,tokens_unknown_calls,incomplete_calls,stream_error_calls,"
	      "estimated_cost_usd\r\n", f);
	for (size_t g = 0; g < a->ngroups; g++) {
		for (int k = 0; k < a->nkeys; k++) {
			tg_emit_csv_field(f, a->group[g].value[k]);
			putc(',', f);
		}
		csv_sums(f, &a->group[g].sums);
	}
	/* Notes are not data: they go to stderr so the CSV stays a table. */
	for (int i = 0; i < ns->n; i++)
		fprintf(rep->err, "tokenguard-report: note: %s\n", ns->text[i]);
}

struct runs_ctx {
	const struct tg_filter *filter;
	struct tg_runs *runs;
};

static int note_run(void *p, const struct tg_record *r)
{
	struct runs_ctx *c = p;

	if (!tg_filter_match(c->filter, r))
		return 0;
	return tg_runs_note(c->runs, r) ? 1 : 0;
}

/* Both sums of a scan: the summary's and the HTML page's chart. */
struct two_scans {
	struct tg_agg_scan a, chart;
};

static int add_to_both(void *p, const struct tg_record *r)
{
	struct two_scans *t = p;

	return tg_agg_add_matching(&t->a, r) || tg_agg_add_matching(&t->chart, r);
}

/* Scans the period into a (and chart, when not NULL), after working out
 * the runs and blocks a's keys need (a first scan: they depend on every
 * record). */
static int sum_period(const struct tg_report *rep, struct tg_ledger *l, struct tg_agg *a,
                      struct tg_agg *chart, struct tg_runs *rs)
{
	struct runs_ctx c = { &rep->filter, rs };
	struct two_scans both = { { a, &rep->filter }, { chart, &rep->filter } };
	unsigned text = tg_agg_text(a) | tg_filter_text(&rep->filter) |
	                (chart ? tg_agg_text(chart) : 0);
	int rc;

	if (!l)
		return 0;   /* no ledger yet (watch): nothing spent */
	if (tg_agg_wants_runs(a, rs)) {
		if ((rc = tg_ledger_scan_some(l, rep->since_us, rep->until_us, text, note_run, &c)))
			return rc;
		tg_runs_finish(rs);
		a->runs = rs;
	}
	if (chart)
		return tg_ledger_scan_some(l, rep->since_us, rep->until_us, text, add_to_both, &both);
	return tg_ledger_scan_some(l, rep->since_us, rep->until_us, text, tg_agg_add_matching,
	                           &both.a);
}

int tg_cmd_summary(const struct tg_report *rep, struct tg_ledger *l)
{
	return tg_summary_by(rep, l, rep->by ? rep->by : rep->chart ? CHART_BY : DEFAULT_BY, 0);
}

/* --by tag:KEY where no group has a value for KEY is most often a typo
 * of the key: warned, with the keys the period has (unknowns.h).
 * Returns 0, or -1 when the ledger could not be read. */
static int warn_unknown_tag_keys(const struct tg_report *rep, struct tg_ledger *l,
                                 const struct tg_agg *a)
{
	for (int k = 0; k < a->nkeys; k++) {
		size_t g = 0;

		if (a->key[k].by != TG_BY_TAG || !a->ngroups)
			continue;
		while (g < a->ngroups && !a->group[g].value[k][0])
			g++;
		if (g == a->ngroups && tg_unknown_tag_key(rep, l, a->key[k].tag))
			return -1;
	}
	return 0;
}

/* The page of --format html; rc as tg_summary_by's. */
static int html(const struct tg_report *rep, const struct tg_agg *a, const struct tg_agg *chart,
                const struct notes *ns)
{
	const char *note[MAX_NOTES];

	for (int i = 0; i < ns->n; i++)
		note[i] = ns->text[i];
	if (tg_html_summary(rep, a, chart, note, ns->n))
		return tg_report_fail(rep, "out of memory; retry with more memory available");
	return 0;
}

int tg_summary_by(const struct tg_report *rep, struct tg_ledger *l, const char *by, int blocks)
{
	struct tg_runs rs = { 0 };
	struct tg_agg a, chart, *ch = NULL;
	struct notes *ns = NULL;
	char err[256];
	size_t dropped;
	int rc;

	if (tg_agg_init(&a, by, err, sizeof err))
		return tg_report_fail(rep, "%s; see --help", err);
	a.ledger_dir = rep->dir;   /* --by machine: the ledger's own */
	if (rep->format == TG_FMT_HTML) {
		if (tg_agg_init(&chart, tg_html_chart_by(&a), err, sizeof err)) {
			tg_agg_free(&a);
			return tg_report_fail(rep, "%s", err);
		}
		ch = &chart;
	}
	if ((rc = sum_period(rep, l, &a, ch, &rs)) != 0) {
		if (rc == 1)
			rc = tg_report_fail(rep, "out of memory while summing; "
			                    "narrow the period with --since/--until");
		else
			rc = tg_report_ledger_fail(rep, rc);
		goto out;
	}
	if (tg_agg_finish(&a) || (ch && tg_agg_finish(ch)) || !(ns = calloc(1, sizeof *ns))) {
		rc = tg_report_fail(rep, "out of memory; retry with more memory available");
		goto out;
	}
	if (warn_unknown_tag_keys(rep, l, &a)) {
		rc = TG_EXIT_FAIL;
		goto out;
	}
	if (blocks)
		active_block_note(ns, rep, &a, &rs);
	dropped = tg_agg_order(&a, (enum tg_agg_sort)rep->sort, rep->desc, rep->limit);
	build_notes(ns, &a);
	if (dropped)
		note(ns, "%s %lld: %zu more %s not shown; TOTAL is of them all",
		     rep->top ? "--top" : "--limit", (long long)rep->limit, dropped, dropped == 1 ? "row" : "rows");
	if (rep->chart)
		rc = draw_chart(rep, &a, ns);
	else if (rep->format == TG_FMT_JSON)
		json(rep, &a, ns);
	else if (rep->format == TG_FMT_CSV)
		csv(rep, &a, ns);
	else if (rep->format == TG_FMT_HTML)
		rc = html(rep, &a, ch, ns);
	else
		table(rep, &a, ns);
out:
	free(ns);
	if (ch)
		tg_agg_free(ch);
	tg_agg_free(&a);
	tg_runs_free(&rs);
	return rc;
}
