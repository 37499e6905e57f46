/* html_chart.h - what the HTML page's chart (html.h) shows, worked out
 * from the groups of a scan by period and model: the bars, the series and
 * their colours, each segment's value.  The drawing is svg_chart.h's.
 *
 * Owns: the choice of the period (the summary's first time key), the
 * order of the series (costliest model at the bottom), which models share
 * the "other" series past the palette, and the estimates' series. */
#ifndef TG_HTML_CHART_H
#define TG_HTML_CHART_H

#include <stddef.h>

#include "agg.h"
#include "svg_chart.h"

/* The --by list of the chart of a summary grouped as a: the first of
 * a's keys that is a day, week or month ("week,model"), else by day. */
const char *tg_html_chart_by(const struct tg_agg *a);

/* The chart of chart, grouped by a period key and model (in that order,
 * after tg_agg_finish): one bar per period from the first with a call to
 * the last, those without one included (a time axis has no holes; up to
 * ten years of days); one series per model by its known cost, the
 * biggest at the bottom; past TG_CHART_COLOURS models the smallest are
 * gathered in one "other" series; the estimated cost of all models
 * (spend_rule.h) is a series of its own, last.  The arrays are owned by
 * the chart: tg_html_chart_free() them. */
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

#endif
