/* html.h - the summary and its views as one self-contained HTML page
 * (--format html): a heading naming the ledger, the period and the zone;
 * a stacked bar chart of the cost per period by model (svg_chart.h); the
 * table of --format table with the same cells, marks and legends
 * (sum_table.h); the notes.
 *
 * The page fetches nothing: no script, no stylesheet, font or image from
 * anywhere, and a Content-Security-Policy that forbids any (inline styles
 * and data: images aside), so opening it makes no request.  Every text
 * from the ledger is escaped (tg_obuf_html_str).  The numbers are also in
 * the DOM for machines: each sum's cell carries its value as `--format
 * json` writes it (data-calls, data-blocked-calls, data-input-tokens ...,
 * data-tokens, data-usd, data-estimated-usd; "null" where JSON has null),
 * and the TOTAL row has id="total". */
#ifndef TG_HTML_H
#define TG_HTML_H

#include <stddef.h>

#include "agg.h"
#include "report.h"
#include "svg_chart.h"

/* The --by list of the chart of a summary grouped as a: the first of
 * a's keys that is a day, week or month ("week,model"), else by day. */
const char *tg_html_chart_by(const struct tg_agg *a);

/* The chart of chart, grouped by a period key and model (in that order,
 * after tg_agg_finish): one bar per period from the first with a call to
 * the last, those without one included (a time axis has no holes; up to
 * ten years of days), one series per model by its
 * known cost, the biggest at the bottom; past TG_CHART_COLOURS models the
 * smallest are gathered in one "other" series; the estimated cost of all
 * models (spend_rule.h) is a series of its own, last.  The arrays are
 * owned by the chart: tg_html_chart_free() them. */
#define TG_HTML_PERIOD_MAX 16   /* "2026-11-22", "2026-W48", "2026-11" */
struct tg_html_chart {
	struct tg_chart c;
	char (*names)[TG_HTML_PERIOD_MAX];   /* the bars' names */
	const char **bar, **series, **colour;
	double *value;
	double *series_usd;   /* each series' sum, for the legend */
	size_t estimate;      /* the series of the estimates; SIZE_MAX: none */
	char other[64];       /* the name of the "other" series */
};

/* Returns 0, or -1 when out of memory. */
int tg_html_chart_of(const struct tg_agg *chart, struct tg_html_chart *hc);
void tg_html_chart_free(struct tg_html_chart *hc);

/* Writes the page of the summary a (its rows as ordered) with the chart
 * of chart (see above; every group of the period, whatever --limit left
 * in a) and the notes to rep->out.  Returns 0, or -1 when out of memory
 * (nothing written then). */
int tg_html_summary(const struct tg_report *rep, const struct tg_agg *a,
                    const struct tg_agg *chart, const char *const *note, int nnotes);

#endif
