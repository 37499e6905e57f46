/* html.c - the summary as one self-contained HTML page (see html.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "money.h"
#include "sum_table.h"
#include "when.h"
#include "zone.h"

#define OBUF_SIZE 65536

/* ---- the page ---- */

static const char style[] =
	"body{font:14px/1.45 system-ui,sans-serif;color:#222;margin:24px;max-width:1200px}\n"
	"h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px}\n"
	".meta{color:#555;margin:0}.meta dt{display:inline;font-weight:600}"
	".meta dd{display:inline;margin:0 18px 0 4px}\n"
	"code{font:13px ui-monospace,monospace}\n"
	"svg{max-width:100%;height:auto;display:block}svg text{font:12px system-ui,sans-serif;"
	"fill:#333}\nsvg .grid{stroke:#e4e4e4}svg .axis{stroke:#666}\n"
	/* Edges on whole pixels: each bar's colour exact, not blended. */
	"svg rect,svg line{shape-rendering:crispEdges}\n"
	".legend{list-style:none;padding:0;margin:8px 0;display:flex;flex-wrap:wrap;gap:4px 20px}\n"
	".sw{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px;"
	"border:1px solid #0002}\n"
	".empty{padding:32px;border:1px dashed #bbb;text-align:center;color:#555;font-size:16px}\n"
	"table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
	"th,td{padding:4px 10px;border-bottom:1px solid #e2e2e2;text-align:left;white-space:nowrap}"
	"\nthead th{border-bottom:2px solid #555;font-size:12px;letter-spacing:.03em}\n"
	".num{text-align:right}tfoot td{font-weight:600;border-top:2px solid #555}\n"
	".note{color:#444;margin:4px 0}\n";

static void text(struct tg_obuf *o, const char *s)
{
	tg_obuf_html_str(o, s);
}

/* A line of the text table's ("...\n"), without its end. */
static void line(struct tg_obuf *o, const char *s)
{
	size_t n = strlen(s);

	tg_obuf_html_strn(o, s, n && s[n - 1] == '\n' ? n - 1 : n);
}

/* "day, model" of a's keys, lower case as --by takes them. */
static void key_list(struct tg_obuf *o, const struct tg_agg *a)
{
	char name[TG_AGG_TAG_MAX + 8];

	for (int k = 0; k < a->nkeys; k++) {
		tg_agg_key_name(a, k, name, sizeof name);
		if (k)
			tg_obuf_str(o, ", ");
		text(o, name);
	}
}

static void when(struct tg_obuf *o, int64_t us)
{
	char iso[TG_WHEN_ISO_MAX];

	tg_when_local_iso(us, iso);
	text(o, iso);
}

static void filters(struct tg_obuf *o, const struct tg_filter *f)
{
	const char *name[] = { "provider", "model", "process" };
	const char *value[] = { f->provider, f->model, f->process };
	int any = 0;

	for (int i = 0; i < 3; i++)
		if (value[i]) {
			tg_obuf_str(o, any++ ? ", " : "<dt>Only</dt><dd>");
			text(o, name[i]);
			tg_obuf_char(o, ' ');
			text(o, value[i]);
		}
	for (int i = 0; i < f->ntags; i++) {
		tg_obuf_str(o, any++ ? ", " : "<dt>Only</dt><dd>");
		tg_obuf_str(o, "tag ");
		text(o, f->tag[i]);
	}
	if (any)
		tg_obuf_str(o, "</dd>");
}

/* "2026-11-19T00:00+00:00 to now, 2026-11-26T17:25+00:00" */
static void period(struct tg_obuf *o, const struct tg_report *rep)
{
	if (rep->since_us > 0)
		when(o, rep->since_us);
	else
		tg_obuf_str(o, "the first record");
	tg_obuf_str(o, " to ");
	if (rep->until_us != INT64_MAX) {
		when(o, rep->until_us);
		return;
	}
	tg_obuf_str(o, "now, ");
	when(o, rep->now_us);
}

static void head(struct tg_obuf *o, const struct tg_report *rep, const struct tg_agg *a)
{
	tg_obuf_str(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	            "style-src 'unsafe-inline'; img-src data:\">\n"
	            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	            "<title>tokenguard: spend by ");
	key_list(o, a);
	tg_obuf_str(o, ", ");
	period(o, rep);
	tg_obuf_str(o, " (");
	text(o, tg_zone_name());
	tg_obuf_str(o, ")</title>\n<style>\n");
	tg_obuf_put(o, style, sizeof style - 1);
	tg_obuf_str(o, "</style>\n</head>\n<body>\n<h1>tokenguard: spend by ");
	key_list(o, a);
	tg_obuf_str(o, "</h1>\n<dl class=\"meta\"><dt>Ledger</dt><dd><code>");
	text(o, rep->dir ? rep->dir : "");
	tg_obuf_str(o, "</code></dd><dt>Period</dt><dd>");
	period(o, rep);
	tg_obuf_str(o, "</dd><dt>Time zone</dt><dd>");
	text(o, tg_zone_name());
	tg_obuf_str(o, "</dd>");
	filters(o, &rep->filter);
	tg_obuf_str(o, "</dl>\n");
}

static void chart_section(struct tg_obuf *o, const struct tg_agg *chart,
                          const struct tg_html_chart *hc)
{
	char period[TG_AGG_TAG_MAX + 8], title[128];

	tg_agg_key_name(chart, 0, period, sizeof period);
	snprintf(title, sizeof title, "Cost per %s by model", period);
	tg_obuf_str(o, "<h2>");
	text(o, title);
	tg_obuf_str(o, "</h2>\n");
	if (!chart->ngroups) {
		tg_obuf_str(o, "<p class=\"empty\" id=\"chart-empty\">No calls in this range.</p>\n");
		return;
	}
	if (!(tg_chart_max(&hc->c) > 0)) {
		tg_obuf_str(o, "<p class=\"empty\" id=\"chart-empty\">No known cost to chart in this "
		            "range: ");
		tg_obuf_int(o, chart->total.t.calls);
		tg_obuf_str(o, chart->total.t.calls == 1 ? " call" : " calls");
		tg_obuf_str(o, ", of no known or estimated cost (the table below has their counts).</p>\n");
		return;
	}
	tg_obuf_str(o, "<figure id=\"chart\" style=\"margin:0\">\n");
	tg_chart_svg(o, &hc->c, title);
	tg_obuf_str(o, "<ul class=\"legend\">\n");
	for (size_t s = 0; s < hc->c.nseries; s++) {
		tg_obuf_str(o, "<li><span class=\"sw\" style=\"background:");
		text(o, hc->colour[s]);
		tg_obuf_str(o, "\"></span>");
		text(o, hc->series[s]);
		tg_obuf_char(o, ' ');
		if (s == hc->estimate)
			tg_obuf_char(o, '~');
		tg_obuf_html_money(o, hc->series_usd[s]);
		tg_obuf_str(o, "</li>\n");
	}
	tg_obuf_str(o, "</ul>\n<figcaption class=\"note\">Each bar is the known cost of the calls "
	            "of its ");
	text(o, period);
	tg_obuf_str(o, ", one colour per model");
	if (hc->estimate != SIZE_MAX)
		tg_obuf_str(o, ", the estimates of calls of unknown cost on top");
	tg_obuf_str(o, "; calls of unknown cost without an estimate are not in it (see the "
	            "table).</figcaption>\n</figure>\n");
}

/* A sum as --format json writes it: null when no call of the row has it. */
static void data_count(struct tg_obuf *o, const char *name, int64_t sum, int64_t unknown,
                       int64_t calls)
{
	tg_obuf_str(o, " data-");
	tg_obuf_str(o, name);
	tg_obuf_str(o, "=\"");
	tg_obuf_count(o, tg_sum_none_known(unknown, calls) ? -1 : sum, "null");
	tg_obuf_char(o, '"');
}

/* data-input-tokens and the like: the JSON names, '_' made '-'. */
static void data_token_kind(struct tg_obuf *o, const struct tg_agg_sums *s, int k)
{
	char name[64];

	snprintf(name, sizeof name, "%s", tg_tok_name[k]);
	for (char *p = name; *p; p++)
		if (*p == '_')
			*p = '-';
	data_count(o, name, s->tokens[k], s->unknown[k], s->t.calls);
}

static void data_cost(struct tg_obuf *o, const struct tg_total *t)
{
	tg_obuf_str(o, " data-usd=\"");
	if (tg_sum_none_known(tg_total_cost_unknown(t), t->calls))
		tg_obuf_str(o, "null");
	else
		tg_obuf_cost(o, t->usd_known);
	tg_obuf_str(o, "\" data-estimated-usd=\"");
	tg_obuf_cost(o, t->usd_estimated);
	tg_obuf_char(o, '"');
}

static void sums_cells(struct tg_obuf *o, const struct tg_agg_sums *s, int marks)
{
	char cell[TG_CELL_MAX];

	for (int c = 0; c < TG_SUM_COLS; c++) {
		if (c == TG_COL_MARKS && !marks)
			continue;
		tg_obuf_str(o, c == TG_COL_MARKS ? "<td" : "<td class=\"num\"");
		if (c == TG_COL_CALLS)
			data_count(o, "calls", s->t.calls, 0, s->t.calls);
		else if (c == TG_COL_BLOCKED)
			data_count(o, "blocked-calls", s->t.blocked, 0, s->t.calls);
		else if (c == TG_COL_TOKENS)
			data_count(o, "tokens", s->t.tokens, s->t.tokens_unknown, s->t.calls);
		else if (c == TG_COL_COST)
			data_cost(o, &s->t);
		else if (c != TG_COL_MARKS)
			data_token_kind(o, s, c - TG_COL_TOK);
		tg_obuf_char(o, '>');
		tg_sum_cell_text(s, c, cell);
		text(o, cell);
		tg_obuf_str(o, "</td>");
	}
}

static void table(struct tg_obuf *o, const struct tg_agg *a, const char *const *note, int nnotes)
{
	char head[TG_AGG_TAG_MAX + 8];
	const char *legend[TG_SUM_LEGEND_MAX];
	struct tg_sum_legend lg;
	int nlegend;

	tg_sum_legend_of(a, &lg);
	tg_obuf_str(o, "<h2>Summary</h2>\n<table id=\"summary\">\n<thead><tr>");
	for (int k = 0; k < a->nkeys; k++) {
		tg_sum_key_head(a, k, head, sizeof head);
		tg_obuf_str(o, "<th scope=\"col\">");
		text(o, head);
		tg_obuf_str(o, "</th>");
	}
	for (int c = 0; c < TG_SUM_COLS; c++)
		if (c != TG_COL_MARKS || lg.mark) {
			tg_obuf_str(o, c == TG_COL_MARKS ? "<th scope=\"col\">" :
			            "<th scope=\"col\" class=\"num\">");
			text(o, tg_sum_col_head(c));
			tg_obuf_str(o, "</th>");
		}
	tg_obuf_str(o, "</tr></thead>\n<tbody>\n");
	for (size_t g = 0; g < a->ngroups; g++) {
		tg_obuf_str(o, "<tr>");
		for (int k = 0; k < a->nkeys; k++) {
			tg_obuf_str(o, "<td>");
			text(o, tg_sum_key_text(a->group[g].value[k]));
			tg_obuf_str(o, "</td>");
		}
		sums_cells(o, &a->group[g].sums, lg.mark);
		tg_obuf_str(o, "</tr>\n");
	}
	tg_obuf_str(o, "</tbody>\n<tfoot><tr id=\"total\">");
	for (int k = 0; k < a->nkeys; k++)
		tg_obuf_str(o, k ? "<td></td>" : "<td>" TG_SUM_TOTAL "</td>");
	sums_cells(o, &a->total, lg.mark);
	tg_obuf_str(o, "</tr></tfoot>\n</table>\n");
	if (!a->nkeys && !a->ngroups) {
		tg_obuf_str(o, "<p class=\"note\">");
		line(o, TG_SUM_NO_CALLS);
		tg_obuf_str(o, "</p>\n");
	}
	nlegend = tg_sum_legend_lines(&lg, legend);
	for (int i = 0; i < nlegend; i++) {
		tg_obuf_str(o, "<p class=\"note legend-line\">");
		line(o, legend[i]);
		tg_obuf_str(o, "</p>\n");
	}
	for (int i = 0; i < nnotes; i++) {
		tg_obuf_str(o, "<p class=\"note\">note: ");
		text(o, note[i]);
		tg_obuf_str(o, "</p>\n");
	}
}

int tg_html_summary(const struct tg_report *rep, const struct tg_agg *a,
                    const struct tg_agg *chart, const char *const *note, int nnotes)
{
	struct tg_html_chart hc;
	struct tg_obuf o = { rep->out, malloc(OBUF_SIZE), 0, OBUF_SIZE };

	if (!o.b || tg_html_chart_of(chart, &hc)) {
		free(o.b);
		return -1;
	}
	head(&o, rep, a);
	chart_section(&o, chart, &hc);
	table(&o, a, note, nnotes);
	tg_obuf_str(&o, "</body>\n</html>\n");
	tg_obuf_flush(&o);
	tg_html_chart_free(&hc);
	free(o.b);
	return 0;
}
