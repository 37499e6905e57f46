/* svg_chart.c - the stacked bar chart as SVG (see svg_chart.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "svg_chart.h"

/* A bar label takes about this many units: labels closer than that are
 * thinned to every k-th bar. */
#define LABEL_UNITS 84.0

static const char *const palette[TG_CHART_COLOURS] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f",
};

const char *tg_chart_colour(size_t i)
{
	return palette[i % TG_CHART_COLOURS];
}

void tg_chart_axis(double max, struct tg_chart_axis *ax)
{
	static const double mult[] = { 1, 2, 2.5, 5 };
	double p = pow(10, floor(log10(max / TG_CHART_TICKS)));

	ax->step = 10 * p;
	for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++)
		if (mult[i] * p * TG_CHART_TICKS >= max) {
			ax->step = mult[i] * p;
			break;
		}
	/* max / step is a whole number less an error of division at times
	 * (0.3 / 0.1): such a one is not a step more. */
	ax->ticks = (int)ceil(max / ax->step - 1e-9);
	if (ax->ticks < 1)
		ax->ticks = 1;
	ax->top = ax->ticks * ax->step;
}

static double bar_total(const struct tg_chart *c, size_t b)
{
	double t = 0;

	for (size_t s = 0; s < c->nseries; s++)
		t += c->value[b * c->nseries + s];
	return t;
}

double tg_chart_max(const struct tg_chart *c)
{
	double max = 0;

	for (size_t b = 0; b < c->nbars; b++)
		if (bar_total(c, b) > max)
			max = bar_total(c, b);
	return max;
}

void tg_chart_segment(const struct tg_chart *c, const struct tg_chart_axis *ax, size_t b,
                      size_t s, struct tg_chart_box *r)
{
	double slot = (double)TG_CHART_PLOT_W / (double)c->nbars, below = 0;
	const double *v = c->value + b * c->nseries;

	r->w = fmin(slot * TG_CHART_BAR_SHARE, TG_CHART_BAR_MAX);
	r->x = TG_CHART_LEFT + slot * (double)b + (slot - r->w) / 2;
	for (size_t i = 0; i < s; i++)
		below += v[i];
	r->h = v[s] / ax->top * TG_CHART_PLOT_H;
	r->y = TG_CHART_TOP + TG_CHART_PLOT_H - below / ax->top * TG_CHART_PLOT_H - r->h;
}

/* v with two decimals at most ("12.5", "300"), whatever the locale. */
static void put_units(struct tg_obuf *o, double v)
{
	int64_t hundredths = llround(v * 100);

	if (hundredths < 0) {
		tg_obuf_char(o, '-');
		hundredths = -hundredths;
	}
	tg_obuf_int(o, hundredths / 100);
	if (hundredths % 100) {
		tg_obuf_char(o, '.');
		tg_obuf_char(o, (char)('0' + hundredths % 100 / 10));
		if (hundredths % 10)
			tg_obuf_char(o, (char)('0' + hundredths % 10));
	}
}

static void attr(struct tg_obuf *o, const char *name, double v)
{
	tg_obuf_char(o, ' ');
	tg_obuf_str(o, name);
	tg_obuf_put(o, "=\"", 2);
	put_units(o, v);
	tg_obuf_char(o, '"');
}

static void axis(struct tg_obuf *o, const struct tg_chart_axis *ax)
{
	for (int i = 0; i <= ax->ticks; i++) {
		double y = TG_CHART_TOP + TG_CHART_PLOT_H - (double)i / ax->ticks * TG_CHART_PLOT_H;

		tg_obuf_str(o, "<line class=\"grid\"");
		attr(o, "x1", TG_CHART_LEFT);
		attr(o, "x2", TG_CHART_LEFT + TG_CHART_PLOT_W);
		attr(o, "y1", y);
		attr(o, "y2", y);
		tg_obuf_str(o, "/><text class=\"tick\" text-anchor=\"end\"");
		attr(o, "x", TG_CHART_LEFT - 8);
		attr(o, "y", y + 4);
		tg_obuf_char(o, '>');
		tg_obuf_html_money(o, ax->step * i);
		tg_obuf_str(o, "</text>\n");
	}
}

static void bars(struct tg_obuf *o, const struct tg_chart *c, const struct tg_chart_axis *ax)
{
	struct tg_chart_box r;

	for (size_t b = 0; b < c->nbars; b++)
		for (size_t s = 0; s < c->nseries; s++) {
			double v = c->value[b * c->nseries + s];

			if (!(v > 0))
				continue;
			tg_chart_segment(c, ax, b, s, &r);
			tg_obuf_str(o, "<rect");
			attr(o, "x", r.x);
			attr(o, "y", r.y);
			attr(o, "width", r.w);
			attr(o, "height", r.h);
			tg_obuf_str(o, " fill=\"");
			tg_obuf_html_str(o, c->colour[s]);
			tg_obuf_str(o, "\"><title>");
			tg_obuf_html_str(o, c->series[s]);
			tg_obuf_str(o, ", ");
			tg_obuf_html_str(o, c->bar[b]);
			tg_obuf_str(o, ": ");
			tg_obuf_html_money(o, v);
			tg_obuf_str(o, "</title></rect>\n");
		}
}

static void labels(struct tg_obuf *o, const struct tg_chart *c)
{
	double slot = (double)TG_CHART_PLOT_W / (double)c->nbars;
	size_t every = (size_t)ceil(LABEL_UNITS / slot);

	for (size_t b = 0; b < c->nbars; b += every ? every : 1) {
		tg_obuf_str(o, "<text class=\"label\" text-anchor=\"middle\"");
		attr(o, "x", TG_CHART_LEFT + slot * ((double)b + 0.5));
		attr(o, "y", TG_CHART_TOP + TG_CHART_PLOT_H + 22);
		tg_obuf_char(o, '>');
		tg_obuf_html_str(o, c->bar[b]);
		tg_obuf_str(o, "</text>\n");
	}
}

void tg_chart_svg(struct tg_obuf *o, const struct tg_chart *c, const char *title)
{
	struct tg_chart_axis ax;

	tg_chart_axis(tg_chart_max(c), &ax);
	tg_obuf_str(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"");
	attr(o, "width", TG_CHART_WIDTH);
	attr(o, "height", TG_CHART_HEIGHT);
	tg_obuf_str(o, " viewBox=\"0 0 ");
	tg_obuf_int(o, TG_CHART_WIDTH);
	tg_obuf_char(o, ' ');
	tg_obuf_int(o, TG_CHART_HEIGHT);
	tg_obuf_str(o, "\"><title>");
	tg_obuf_html_str(o, title);
	tg_obuf_str(o, "</title>\n");
	axis(o, &ax);
	bars(o, c, &ax);
	tg_obuf_str(o, "<line class=\"axis\"");
	attr(o, "x1", TG_CHART_LEFT);
	attr(o, "x2", TG_CHART_LEFT + TG_CHART_PLOT_W);
	attr(o, "y1", TG_CHART_TOP + TG_CHART_PLOT_H);
	attr(o, "y2", TG_CHART_TOP + TG_CHART_PLOT_H);
	tg_obuf_str(o, "/>\n");
	labels(o, c);
	tg_obuf_str(o, "</svg>\n");
}
