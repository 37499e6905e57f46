/* html_chart.c - the data of the HTML page's chart: bars, series and
 * values from a grouping by period and model (see html_chart.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "html_chart.h"
#include "sum_table.h"
#include "when.h"

/* The most bars a chart lists every period for: ten years of days. */
#define PERIOD_MAX TG_HTML_PERIOD_MAX
#define PERIODS_MAX 3660

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
