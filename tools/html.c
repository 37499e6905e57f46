/* html.c - the summary as one self-contained HTML page (see html.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "html.h"
#include "money.h"
#include "sum_table.h"
#include "when.h"
#include "zone.h"

#define OBUF_SIZE 65536
/* The most bars a chart lists every period for: ten years of days. */
#define PERIOD_MAX TG_HTML_PERIOD_MAX
#define PERIODS_MAX 3660

/* ---- the chart's data ---- */

const char *tg_html_chart_by(const struct tg_agg *a)
{
	for (int k = 0; k < a->nkeys; k++)
		switch (a->key[k].by) {
		case TG_BY_WEEK: return "week,model";
		case TG_BY_MONTH: return "month,model";
		case TG_BY_DAY: return "day,model";
		default: break;
		}
	return "day,model";
}

static int by_name(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

struct model {
	const char *name;
	double usd;       /* known cost, over the period */
	size_t series;    /* its series; SIZE_MAX: none (no known cost) */
};

/* Biggest known cost first, then by name: the order of the stack, bottom
 * up, and of the legend. */
static int by_cost(const void *x, const void *y)
{
	const struct model *a = x, *b = y;

	if (a->usd != b->usd)
		return a->usd > b->usd ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int by_model_name(const void *key, const void *m)
{
	return strcmp(key, ((const struct model *)m)->name);
}

static int models_by_name(const void *x, const void *y)
{
	return strcmp(((const struct model *)x)->name, ((const struct model *)y)->name);
}

void tg_html_chart_free(struct tg_html_chart *hc)
{
	free(hc->bar);
	free(hc->series);
	free(hc->colour);
	free(hc->value);
	free(hc->series_usd);
	free(hc->names);
	memset(hc, 0, sizeof *hc);
}

/* The distinct models of the groups, each with its known cost, in by_cost
 * order; *n of them.  NULL when out of memory. */
static struct model *models_of(const struct tg_agg *ch, size_t *n)
{
	const char **names = malloc(ch->ngroups * sizeof *names);
	struct model *m = calloc(ch->ngroups, sizeof *m);
	size_t k = 0;

	if (!names || !m) {
		free(names);
		free(m);
		return NULL;
	}
	for (size_t g = 0; g < ch->ngroups; g++)
		names[g] = ch->group[g].value[1];
	qsort(names, ch->ngroups, sizeof *names, by_name);
	for (size_t g = 0; g < ch->ngroups; g++)
		if (!k || strcmp(m[k - 1].name, names[g]))
			m[k++].name = names[g];
	free(names);
	for (size_t g = 0; g < ch->ngroups; g++) {
		struct model *e = bsearch(ch->group[g].value[1], m, k, sizeof *m, by_model_name);

		e->usd += ch->group[g].sums.t.usd_known;
	}
	qsort(m, k, sizeof *m, by_cost);
	*n = k;
	return m;
}

/* Which series each model is: the ones with a known cost in by_cost
 * order, past the palette the rest in one "other"; then the estimates.
 * Returns the number of series; *other and *estimate get the index of
 * those (SIZE_MAX when there is none). */
static size_t assign_series(const struct tg_agg *ch, struct model *m, size_t nm, size_t *other,
                            size_t *estimate)
{
	size_t priced = 0, ns;
	double est = 0;

	while (priced < nm && m[priced].usd > 0)
		priced++;
	ns = priced <= TG_CHART_COLOURS ? priced : TG_CHART_COLOURS - 1;
	*other = priced > ns ? ns++ : SIZE_MAX;
	for (size_t i = 0; i < nm; i++)
		m[i].series = i < priced ? (i < TG_CHART_COLOURS - 1 || *other == SIZE_MAX ? i : *other)
		                         : SIZE_MAX;
	for (size_t g = 0; g < ch->ngroups; g++)
		est += ch->group[g].sums.t.usd_estimated;
	*estimate = est > 0 ? ns++ : SIZE_MAX;
	return ns;
}

/* ---- the chart's bars: every period from the first to the last ---- */

/* Days since the epoch of wall time (a local day read as UTC: agg.h's
 * time keys) of the first day of the period named key; -1 when key is
 * not the name of such a period. */
static int64_t period_day(enum tg_agg_by by, const char *key)
{
	int y, m, d, n = -1;
	int64_t jan4;

	if (strlen(key) >= PERIOD_MAX)
		return -1;
	switch (by) {
	case TG_BY_DAY:
		if (sscanf(key, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3)
			return -1;
		break;
	case TG_BY_MONTH:
		d = 1;
		if (sscanf(key, "%4d-%2d%n", &y, &m, &n) != 2)
			return -1;
		break;
	case TG_BY_WEEK:
		/* Week 1 is the one with January 4th; weeks start on Monday
		 * (1970-01-01 was a Thursday). */
		if (sscanf(key, "%4d-W%2d%n", &y, &m, &n) != 2)
			return -1;
		jan4 = tg_days_from_civil(y, 1, 4);
		return jan4 - ((jan4 + 3) % 7 + 7) % 7 + (int64_t)(m - 1) * 7;
	default:
		return -1;
	}
	if (key[n] || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	return tg_days_from_civil(y, m, d);
}

static int64_t period_after(enum tg_agg_by by, int64_t day)
{
	int64_t y;
	int m, d;

	if (by == TG_BY_DAY)
		return day + 1;
	if (by == TG_BY_WEEK)
		return day + 7;
	tg_civil_from_days(day, &y, &m, &d);
	return m == 12 ? tg_days_from_civil(y + 1, 1, 1) : tg_days_from_civil(y, m + 1, 1);
}

static void period_name(enum tg_agg_by by, int64_t day, char buf[PERIOD_MAX])
{
	int64_t us = day * INT64_C(86400000000);

	if (by == TG_BY_DAY)
		tg_when_day(us, buf);
	else if (by == TG_BY_WEEK)
		tg_when_week(us, buf);
	else
		tg_when_month(us, buf);
}

/* Every period from the first group's to the last's, days, weeks or
 * months without a call included (a time axis without holes), into
 * *names; returns how many.  0 when they cannot be listed that way (a
 * name that is not a period's, too many): the caller then takes the
 * groups' own periods. */
static size_t periods_between(const struct tg_agg *ch, char (**names)[PERIOD_MAX])
{
	enum tg_agg_by by = ch->key[0].by;
	const char *last = ch->group[ch->ngroups - 1].value[0];
	int64_t day = period_day(by, ch->group[0].value[0]);
	size_t n = 0, g = 0;

	*names = NULL;
	if (day < 0 || period_day(by, last) < day)
		return 0;
	if (!(*names = malloc(PERIODS_MAX * sizeof **names)))
		return 0;
	for (; n < PERIODS_MAX; n++, day = period_after(by, day)) {
		period_name(by, day, (*names)[n]);
		/* Each group's period must be one of these, in order. */
		while (g < ch->ngroups && !strcmp(ch->group[g].value[0], (*names)[n]))
			g++;
		if (!strcmp((*names)[n], last))
			break;
	}
	if (n == PERIODS_MAX || g != ch->ngroups) {
		free(*names);
		*names = NULL;
		return 0;
	}
	return n + 1;
}

/* The groups' own periods, each once, into *names; returns how many. */
static size_t periods_of_groups(const struct tg_agg *ch, char (**names)[PERIOD_MAX])
{
	size_t n = 0;

	if (!(*names = malloc(ch->ngroups * sizeof **names)))
		return 0;
	for (size_t g = 0; g < ch->ngroups; g++)
		if (!g || strcmp(ch->group[g].value[0], ch->group[g - 1].value[0]))
			snprintf((*names)[n++], PERIOD_MAX, "%s", ch->group[g].value[0]);
	return n;
}

int tg_html_chart_of(const struct tg_agg *ch, struct tg_html_chart *hc)
{
	struct model *m = NULL, *byname = NULL;
	size_t nm = 0, ns, other, estimate, nbars, b;

	memset(hc, 0, sizeof *hc);
	hc->estimate = SIZE_MAX;
	if (!ch->ngroups)
		return 0;
	if (!(m = models_of(ch, &nm)))
		return -1;
	ns = assign_series(ch, m, nm, &other, &estimate);
	if (!(nbars = periods_between(ch, &hc->names)))
		nbars = periods_of_groups(ch, &hc->names);
	hc->bar = malloc(nbars * sizeof *hc->bar);
	hc->series = calloc(ns + 1, sizeof *hc->series);
	hc->colour = calloc(ns + 1, sizeof *hc->colour);
	hc->series_usd = calloc(ns + 1, sizeof *hc->series_usd);
	hc->value = calloc(nbars * (ns + 1), sizeof *hc->value);
	byname = malloc(nm * sizeof *byname);
	if (!nbars || !hc->bar || !hc->series || !hc->colour || !hc->series_usd || !hc->value ||
	    !byname) {
		free(m);
		free(byname);
		tg_html_chart_free(hc);
		return -1;
	}
	for (b = 0; b < nbars; b++)
		hc->bar[b] = hc->names[b];
	for (size_t i = 0; i < nm; i++)
		if (m[i].series != SIZE_MAX && m[i].series != other) {
			hc->series[m[i].series] = tg_sum_key_text(m[i].name);
			hc->colour[m[i].series] = tg_chart_colour(m[i].series);
		}
	if (other != SIZE_MAX) {
		size_t gathered = 0;

		for (size_t i = 0; i < nm; i++)
			gathered += m[i].series == other;
		snprintf(hc->other, sizeof hc->other, "%zu other models", gathered);
		hc->series[other] = hc->other;
		hc->colour[other] = TG_CHART_OTHER_COLOUR;
	}
	if (estimate != SIZE_MAX) {
		hc->series[estimate] = "estimates (~), all models";
		hc->colour[estimate] = TG_CHART_ESTIMATE_COLOUR;
	}
	/* The same models by name, to find a group's series. */
	memcpy(byname, m, nm * sizeof *m);
	qsort(byname, nm, sizeof *byname, models_by_name);
	b = 0;
	for (size_t g = 0; g < ch->ngroups; g++) {
		const struct tg_agg_group *gr = &ch->group[g];
		const struct model *e = bsearch(gr->value[1], byname, nm, sizeof *byname,
		                                by_model_name);

		/* The groups are in period order, as the bars. */
		while (strcmp(hc->bar[b], gr->value[0]))
			b++;
		if (e->series != SIZE_MAX && gr->sums.t.usd_known > 0) {
			hc->value[b * ns + e->series] += gr->sums.t.usd_known;
			hc->series_usd[e->series] += gr->sums.t.usd_known;
		}
		if (estimate != SIZE_MAX && gr->sums.t.usd_estimated > 0) {
			hc->value[b * ns + estimate] += gr->sums.t.usd_estimated;
			hc->series_usd[estimate] += gr->sums.t.usd_estimated;
		}
	}
	free(m);
	free(byname);
	hc->estimate = estimate;
	hc->c = (struct tg_chart){ nbars, ns, hc->bar, hc->series, hc->colour, hc->value };
	return 0;
}

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

static void money(struct tg_obuf *o, double usd)
{
	char m[TG_MONEY_MAX];

	if (tg_money_text(usd, m, sizeof m) < 0)
		snprintf(m, sizeof m, "$?");
	text(o, m);
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

static void head(struct tg_obuf *o, const struct tg_report *rep, const struct tg_agg *a)
{
	tg_obuf_str(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	            "style-src 'unsafe-inline'; img-src data:\">\n"
	            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	            "<title>tokenguard: spend by ");
	key_list(o, a);
	tg_obuf_str(o, "</title>\n<style>\n");
	tg_obuf_put(o, style, sizeof style - 1);
	tg_obuf_str(o, "</style>\n</head>\n<body>\n<h1>tokenguard: spend by ");
	key_list(o, a);
	tg_obuf_str(o, "</h1>\n<dl class=\"meta\"><dt>Ledger</dt><dd><code>");
	text(o, rep->dir ? rep->dir : "");
	tg_obuf_str(o, "</code></dd><dt>Period</dt><dd>");
	if (rep->since_us > 0)
		when(o, rep->since_us);
	else
		tg_obuf_str(o, "the first record");
	tg_obuf_str(o, " to ");
	if (rep->until_us != INT64_MAX)
		when(o, rep->until_us);
	else {
		tg_obuf_str(o, "now, ");
		when(o, rep->now_us);
	}
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
		money(o, hc->series_usd[s]);
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
