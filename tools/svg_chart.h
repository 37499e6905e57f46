/* svg_chart.h - a stacked bar chart of amounts in USD as inline SVG, for
 * the HTML report (html.c): one bar per period, one segment per series
 * (a model), a dollar axis with round ticks.  No script, no reference to
 * anything outside the SVG: it is drawn by any browser that opens the file,
 * offline.
 *
 * Owns: the geometry (where each bar, segment and tick goes; a segment's
 * height is exactly its share of the axis) and the palette.  The caller
 * owns the data: labels and values are only read.  All text written is
 * escaped (emit.h), since labels are model names from the ledger. */
#ifndef TG_SVG_CHART_H
#define TG_SVG_CHART_H

#include <stddef.h>

#include "emit.h"

/* The drawing, in SVG user units (CSS pixels at full size): a plot area
 * inside margins that leave room for the dollar ticks and bar labels. */
#define TG_CHART_WIDTH   1160
#define TG_CHART_HEIGHT  400
#define TG_CHART_LEFT    90
#define TG_CHART_RIGHT   20
#define TG_CHART_TOP     20
#define TG_CHART_BOTTOM  60
#define TG_CHART_PLOT_W  (TG_CHART_WIDTH - TG_CHART_LEFT - TG_CHART_RIGHT)
#define TG_CHART_PLOT_H  (TG_CHART_HEIGHT - TG_CHART_TOP - TG_CHART_BOTTOM)
/* A bar takes this share of its slot, and never more than BAR_MAX units:
 * one day is a bar, not a wall. */
#define TG_CHART_BAR_SHARE 0.7
#define TG_CHART_BAR_MAX   80.0
/* At most this many intervals on the dollar axis. */
#define TG_CHART_TICKS     5

struct tg_chart {
	size_t nbars, nseries;
	const char *const *bar;      /* each bar's label, left to right */
	const char *const *series;   /* each series' name, stacked from the bottom */
	const char *const *colour;   /* each series' fill, "#rrggbb" */
	const double *value;         /* value[b * nseries + s]: USD, >= 0 */
};

/* The dollar axis: from 0 to top in ticks steps of step. */
struct tg_chart_axis {
	double top, step;
	int ticks;
};

/* The axis for bars up to max (> 0): step is 1, 2, 2.5 or 5 times a power
 * of ten, the smallest that needs at most TG_CHART_TICKS intervals; top is
 * the first multiple of step at or above max. */
void tg_chart_axis(double max, struct tg_chart_axis *ax);

/* The tallest bar of c: the largest sum of a bar's values. */
double tg_chart_max(const struct tg_chart *c);

struct tg_chart_box {
	double x, y, w, h;
};

/* Where the segment of series s in bar b goes: as wide as the bar, as
 * tall as value / ax->top of the plot's height, on top of the series
 * before it. */
void tg_chart_segment(const struct tg_chart *c, const struct tg_chart_axis *ax, size_t b,
                      size_t s, struct tg_chart_box *r);

/* Writes c as an <svg> element, title being its accessible name (a
 * <title>); each segment has a <title> too (series, bar, amount), which a
 * browser shows on hover.  c must have a bar with a value > 0. */
void tg_chart_svg(struct tg_obuf *o, const struct tg_chart *c, const char *title);

/* The palette: TG_CHART_COLOURS colours that tell apart on screen and in
 * print (Tableau 10, without its grey), then the colour of the series
 * that gathers what has none and that of estimates. */
#define TG_CHART_COLOURS 9
const char *tg_chart_colour(size_t i);
#define TG_CHART_OTHER_COLOUR    "#bab0ac"
#define TG_CHART_ESTIMATE_COLOUR "#e2e2e2"

#endif
