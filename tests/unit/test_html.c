/* test_html.c - the HTML page of the summary (--format html): escaping of
 * ledger text, the chart's geometry (a segment's height is its share of
 * the axis, exactly), the chart's series, the page with no calls, and the
 * built report end to end: hostile model names escaped, the TOTAL row's
 * data-* the values --format json gives, every view, records refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#include "../../tools/sum_table.h"
#include "../../tools/svg_chart.h"
#include "../../tools/html_chart.h"
#include "../../tools/html.h"

#define US 1000000LL
#define NOV22 INT64_C(1795305600)  /* 2026-11-22T00:00:00Z */
#define HOSTILE "<script>alert(\"x&y'\")</script>"
#define HOSTILE_HTML "&lt;script&gt;alert(&quot;x&amp;y&#39;&quot;)&lt;/script&gt;"

/* What f wrote to the memory stream of buf/len, as a string. */
struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static void mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	cr_assert_not_null(m->f);
}

static char *mem_close(struct mem *m)
{
	fclose(m->f);
	return m->buf;
}

static char *html_of(const char *s, size_t n)
{
	struct mem m;
	char b[TG_OBUF_MIN];
	struct tg_obuf o;

	mem_open(&m);
	o = (struct tg_obuf){ m.f, b, 0, sizeof b };
	tg_obuf_html_strn(&o, s, n);
	tg_obuf_flush(&o);
	return mem_close(&m);
}

Test(html_escape, turns_markup_and_both_quotes_into_references)
{
	char *out = html_of(HOSTILE, strlen(HOSTILE));

	cr_assert_str_eq(out, HOSTILE_HTML);
	free(out);
}

Test(html_escape, keeps_utf8_and_replaces_what_is_not_text)
{
	static const char in[] = "caf\xc3\xa9 \x01x\x7f\xff\xc3";
	char *out = html_of(in, sizeof in - 1);

	/* é kept; SOH, DEL, a stray 0xff and a cut sequence each U+FFFD. */
	cr_assert_str_eq(out, "caf\xc3\xa9 \xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(out);
}

Test(html_escape, is_the_same_across_buffer_flushes)
{
	char long_in[3000], want[3000 * 5 + 1];
	char *out;

	for (size_t i = 0; i < sizeof long_in; i++)
		long_in[i] = i % 3 ? 'a' : '&';
	want[0] = '\0';
	for (size_t i = 0; i < sizeof long_in; i++)
		strcat(want, i % 3 ? "a" : "&amp;");
	out = html_of(long_in, sizeof long_in);
	cr_assert_str_eq(out, want);
	free(out);
}

/* ---- the chart ---- */

Test(svg_chart, axis_steps_are_round_and_top_covers_the_tallest_bar)
{
	struct tg_chart_axis ax;

	tg_chart_axis(3, &ax);
	cr_assert(ax.step == 1 && ax.ticks == 3 && ax.top == 3, "%g %d %g", ax.step, ax.ticks, ax.top);
	tg_chart_axis(5, &ax);
	cr_assert(ax.step == 1 && ax.ticks == 5 && ax.top == 5, "%g %d %g", ax.step, ax.ticks, ax.top);
	tg_chart_axis(2, &ax);
	cr_assert(ax.step == 0.5 && ax.ticks == 4 && ax.top == 2, "%g %d %g", ax.step, ax.ticks, ax.top);
	tg_chart_axis(0.0123, &ax);
	cr_assert(ax.step == 0.0025 && ax.ticks == 5, "%g %d %g", ax.step, ax.ticks, ax.top);
	cr_assert(ax.top >= 0.0123 && ax.top - 0.0125 < 1e-15, "%.17g", ax.top);
	/* 0.3 / 0.1 is 2.9999999999999996: three steps, not four. */
	tg_chart_axis(0.3, &ax);
	cr_assert(ax.ticks == 3 && ax.step == 0.1, "%g %d", ax.step, ax.ticks);
	tg_chart_axis(1234, &ax);
	cr_assert(ax.step == 250 && ax.ticks == 5 && ax.top == 1250, "%g %d", ax.step, ax.ticks);
}

/* Two bars, two series: [1, 1] and [0.5, 0].  The tallest bar is $2, the
 * axis 0 to $2 by $0.5, so $1 is half the plot's 320 units. */
static const char *const two_bars[] = { "2026-11-22", "2026-11-23" };
static const char *const two_series[] = { "gpt-4.1", HOSTILE };
static const char *const two_colours[] = { "#4e79a7", "#f28e2b" };
static const double two_values[] = { 1, 1, 0.5, 0 };
static const struct tg_chart two = { 2, 2, two_bars, two_series, two_colours, two_values };

Test(svg_chart, segment_heights_are_exactly_their_share_of_the_axis)
{
	struct tg_chart_axis ax;
	struct tg_chart_box r;

	cr_assert_eq(TG_CHART_PLOT_H, 320);
	cr_assert_eq(TG_CHART_PLOT_W, 1050);
	tg_chart_axis(tg_chart_max(&two), &ax);
	cr_assert(ax.top == 2 && ax.ticks == 4);
	/* Slot 525 wide, bar 80 (the cap), centred: x = 90 + 222.5. */
	tg_chart_segment(&two, &ax, 0, 0, &r);
	cr_assert(r.x == 312.5 && r.w == 80 && r.h == 160 && r.y == 180, "%g %g %g %g", r.x, r.y,
	          r.w, r.h);
	tg_chart_segment(&two, &ax, 0, 1, &r);
	cr_assert(r.h == 160 && r.y == 20, "stacked on the first: %g %g", r.y, r.h);
	tg_chart_segment(&two, &ax, 1, 0, &r);
	cr_assert(r.x == 837.5 && r.h == 80 && r.y == 260, "%g %g %g", r.x, r.y, r.h);
}

Test(svg_chart, writes_those_rectangles_ticks_and_escaped_titles)
{
	struct mem m;
	char b[4096];
	struct tg_obuf o;
	char *svg;

	mem_open(&m);
	o = (struct tg_obuf){ m.f, b, 0, sizeof b };
	tg_chart_svg(&o, &two, "Cost per day by model");
	tg_obuf_flush(&o);
	svg = mem_close(&m);
	cr_assert(strstr(svg, "<rect x=\"312.5\" y=\"180\" width=\"80\" height=\"160\" "
	                      "fill=\"#4e79a7\"><title>gpt-4.1, 2026-11-22: $1.00</title></rect>"), "%s", svg);
	cr_assert(strstr(svg, "<rect x=\"312.5\" y=\"20\" width=\"80\" height=\"160\" "
	                      "fill=\"#f28e2b\"><title>" HOSTILE_HTML ", 2026-11-22: $1.00</title>"),
	          "%s", svg);
	cr_assert(strstr(svg, "<rect x=\"837.5\" y=\"260\" width=\"80\" height=\"80\" "
	                      "fill=\"#4e79a7\">"), "%s", svg);
	/* A value of 0 draws nothing: three segments. */
	cr_assert_eq(strstr(strstr(strstr(strstr(svg, "<rect") + 1, "<rect") + 1, "<rect") + 1,
	                    "<rect"), NULL, "%s", svg);
	cr_assert(strstr(svg, ">$0.00</text>") && strstr(svg, ">$0.50</text>") &&
	          strstr(svg, ">$2.00</text>") && !strstr(svg, ">$2.50</text>"), "%s", svg);
	cr_assert_null(strstr(svg, "<script"), "%s", svg);
	free(svg);
}

Test(svg_chart, one_bar_is_a_bar_not_a_wall)
{
	static const char *const bar[] = { "2026-11-22" };
	static const double v[] = { 0.25 };
	const struct tg_chart one = { 1, 1, bar, two_series, two_colours, v };
	struct tg_chart_axis ax;
	struct tg_chart_box r;

	tg_chart_axis(tg_chart_max(&one), &ax);
	tg_chart_segment(&one, &ax, 0, 0, &r);
	cr_assert(r.w == TG_CHART_BAR_MAX && r.x == 90 + (1050 - 80) / 2.0 && r.h == 320,
	          "%g %g %g", r.x, r.w, r.h);
}

/* ---- the chart's series ---- */

static void add(struct tg_agg *a, int64_t day, const char *model, double cost, uint32_t flags)
{
	struct tg_record r = tgt_record((NOV22 + day * 86400 + 3600) * US, "openai", model, "p", "",
	                                100, 10, cost, flags);

	cr_assert_eq(tg_agg_add(a, &r), 0);
}

Test(html_chart, series_by_known_cost_with_estimates_apart)
{
	struct tg_agg a;
	struct tg_html_chart hc;
	char err[128];

	cr_assert_eq(tg_agg_init(&a, "day,model", err, sizeof err), 0, "%s", err);
	add(&a, 0, "small", 0.5, 0);
	add(&a, 0, "big", 2, 0);
	add(&a, 2, "big", 1, 0);
	add(&a, 2, "nameless-price", 0.25, TG_REC_UNPRICED | TG_REC_COST_ESTIMATE);
	cr_assert_eq(tg_agg_finish(&a), 0);
	cr_assert_eq(tg_html_chart_of(&a, &hc), 0);
	/* Every day from the first call's to the last's, the one between
	 * without a call too; big ($3) under small ($0.5); the unpriced
	 * model has no known cost: only in the estimates. */
	cr_assert_eq(hc.c.nbars, 3);
	cr_assert_str_eq(hc.c.bar[0], "2026-11-22");
	cr_assert_str_eq(hc.c.bar[1], "2026-11-23");
	cr_assert_str_eq(hc.c.bar[2], "2026-11-24");
	cr_assert_eq(hc.c.nseries, 3);
	cr_assert_str_eq(hc.c.series[0], "big");
	cr_assert_str_eq(hc.c.series[1], "small");
	cr_assert_str_eq(hc.c.series[2], "estimates (~), all models");
	cr_assert_eq(hc.estimate, 2);
	cr_assert_str_eq(hc.c.colour[0], tg_chart_colour(0));
	cr_assert_str_eq(hc.c.colour[2], TG_CHART_ESTIMATE_COLOUR);
	cr_assert(hc.c.value[0] == 2 && hc.c.value[1] == 0.5 && hc.c.value[2] == 0);
	cr_assert(hc.c.value[3] == 0 && hc.c.value[4] == 0 && hc.c.value[5] == 0);
	cr_assert(hc.c.value[6] == 1 && hc.c.value[7] == 0 && hc.c.value[8] == 0.25);
	cr_assert(hc.series_usd[0] == 3 && hc.series_usd[1] == 0.5 && hc.series_usd[2] == 0.25);
	tg_html_chart_free(&hc);
	tg_agg_free(&a);
}

Test(html_chart, models_past_the_palette_are_gathered_in_one_series)
{
	struct tg_agg a;
	struct tg_html_chart hc;
	char err[128], name[16];

	cr_assert_eq(tg_agg_init(&a, "week,model", err, sizeof err), 0, "%s", err);
	for (int i = 0; i < TG_CHART_COLOURS + 3; i++) {
		snprintf(name, sizeof name, "m%02d", i);
		add(&a, 0, name, 1.0 + i, 0);   /* m11 costs most */
	}
	cr_assert_eq(tg_agg_finish(&a), 0);
	cr_assert_eq(tg_html_chart_of(&a, &hc), 0);
	cr_assert_eq(hc.c.nbars, 1);
	cr_assert_str_eq(hc.c.bar[0], "2026-W47");
	cr_assert_eq(hc.c.nseries, TG_CHART_COLOURS);
	cr_assert_str_eq(hc.c.series[0], "m11");
	cr_assert_str_eq(hc.c.series[TG_CHART_COLOURS - 2], "m04");
	cr_assert_str_eq(hc.c.series[TG_CHART_COLOURS - 1], "4 other models");
	cr_assert_str_eq(hc.c.colour[TG_CHART_COLOURS - 1], TG_CHART_OTHER_COLOUR);
	/* m00..m03: 1 + 2 + 3 + 4. */
	cr_assert(hc.c.value[TG_CHART_COLOURS - 1] == 10, "%g", hc.c.value[TG_CHART_COLOURS - 1]);
	cr_assert_eq(hc.estimate, SIZE_MAX);
	tg_html_chart_free(&hc);
	tg_agg_free(&a);
}

/* The bars of a chart of key with calls on the given days after NOV22. */
static void bars_of(const char *key, const int *days, int n, const char *const *want, size_t nwant)
{
	struct tg_agg a;
	struct tg_html_chart hc;
	char err[128];

	cr_assert_eq(tg_agg_init(&a, key, err, sizeof err), 0, "%s", err);
	for (int i = 0; i < n; i++)
		add(&a, days[i], "m", 1, 0);
	cr_assert_eq(tg_agg_finish(&a), 0);
	cr_assert_eq(tg_html_chart_of(&a, &hc), 0);
	cr_assert_eq(hc.c.nbars, nwant, "%s: %zu bars", key, hc.c.nbars);
	for (size_t b = 0; b < nwant; b++)
		cr_assert_str_eq(hc.c.bar[b], want[b], "%s: bar %zu", key, b);
	tg_html_chart_free(&hc);
	tg_agg_free(&a);
}

Test(html_chart, weeks_and_months_without_calls_are_bars_across_the_year_end)
{
	/* 2026 has 53 ISO weeks; Monday 2026-12-21 and 2027-01-04. */
	static const int days[] = { 29, 43 };
	static const char *const weeks[] = { "2026-W52", "2026-W53", "2027-W01" };
	static const int mdays[] = { 0, 80 };
	static const char *const months[] = { "2026-11", "2026-12", "2027-01", "2027-02" };

	bars_of("week,model", days, 2, weeks, 3);
	bars_of("month,model", mdays, 2, months, 4);
}

Test(html_chart, period_is_the_first_time_key_else_the_day)
{
	struct tg_agg a;
	char err[128];

	cr_assert_eq(tg_agg_init(&a, "provider,month,day", err, sizeof err), 0);
	cr_assert_str_eq(tg_html_chart_by(&a), "month,model");
	tg_agg_free(&a);
	cr_assert_eq(tg_agg_init(&a, "session", err, sizeof err), 0);
	cr_assert_str_eq(tg_html_chart_by(&a), "day,model");
	tg_agg_free(&a);
}

/* ---- the page ---- */

Test(html_page, with_no_calls_says_so_instead_of_an_empty_chart)
{
	struct tg_agg a, chart;
	struct mem m;
	struct tg_report rep = { .since_us = NOV22 * US, .until_us = (NOV22 + 86400) * US };
	char err[128], *page;

	cr_assert_eq(tg_agg_init(&a, "day", err, sizeof err), 0);
	cr_assert_eq(tg_agg_init(&chart, "day,model", err, sizeof err), 0);
	cr_assert_eq(tg_agg_finish(&a), 0);
	cr_assert_eq(tg_agg_finish(&chart), 0);
	mem_open(&m);
	rep.out = m.f;
	rep.dir = "/tmp/<ledger>";
	cr_assert_eq(tg_html_summary(&rep, &a, &chart, NULL, 0), 0);
	page = mem_close(&m);
	cr_assert(strstr(page, "<p class=\"empty\" id=\"chart-empty\">No calls in this range.</p>"),
	          "%s", page);
	cr_assert_null(strstr(page, "<svg"), "%s", page);
	cr_assert(strstr(page, "<code>/tmp/&lt;ledger&gt;</code>"), "%s", page);
	cr_assert(strstr(page, "<title>tokenguard: spend by day, 2026-11-22T00:00+00:00 to "
	                       "2026-11-23T00:00+00:00 (UTC)</title>"), "%s", page);
	cr_assert(strstr(page, "<dt>Period</dt><dd>2026-11-22T00:00+00:00 to "
	                       "2026-11-23T00:00+00:00</dd><dt>Time zone</dt><dd>UTC</dd>"), "%s", page);
	cr_assert(strstr(page, "<tr id=\"total\"><td>TOTAL</td><td class=\"num\" data-calls=\"0\">0"
	                       "</td>"), "%s", page);
	cr_assert(strstr(page, "data-usd=\"0\" data-estimated-usd=\"0\">$0.00</td>"), "%s", page);
	free(page);
	tg_agg_free(&a);
	tg_agg_free(&chart);
}

/* ---- the built report ---- */

static char dir[64];

static void put(struct tg_ledger *l, int64_t day, const char *model, double cost, uint32_t flags)
{
	struct tg_record r = tgt_record((NOV22 + day * 86400 + 7200) * US, "openai", model, "agent",
	                                "team=a", 1000, 100, cost, flags);

	r.counts.cached_input = r.counts.cache_creation = r.counts.reasoning = 0;
	tgt_put_record(l, &r);
}

static void setup(void)
{
	struct tg_ledger *l;

	tgt_report_bin();
	tgt_tmpdir(dir, sizeof dir, "tg-html");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	put(l, 0, "gpt-4.1", 0.25, 0);
	put(l, 0, HOSTILE, 0.5, 0);
	put(l, 1, "gpt-4.1", 0.125, 0);
	put(l, 2, "no-price-model", 0.003, TG_REC_UNPRICED | TG_REC_COST_ESTIMATE);
	tg_ledger_close(l);
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

#define PERIOD "--since 2026-11-20 --until 2026-11-30"

/* The text of attribute name in the element that has id="total". */
static void total_attr(const char *page, const char *name, char *buf, size_t n)
{
	const char *row = strstr(page, "id=\"total\""), *p, *end;
	char key[64];

	cr_assert_not_null(row, "%s", page);
	snprintf(key, sizeof key, " %s=\"", name);
	p = strstr(row, key);
	cr_assert_not_null(p, "%s in %s", name, row);
	p += strlen(key);
	end = strchr(p, '"');
	snprintf(buf, n, "%.*s", (int)(end - p), p);
}

/* The text after "name": in the "total" object of a summary's JSON. */
static void json_total(const char *json, const char *name, char *buf, size_t n)
{
	const char *t = strstr(json, "\"total\":{"), *p;
	char key[64];

	cr_assert_not_null(t, "%s", json);
	snprintf(key, sizeof key, "\"%s\":", name);
	p = strstr(t, key);
	cr_assert_not_null(p, "%s", json);
	p += strlen(key);
	snprintf(buf, n, "%.*s", (int)strcspn(p, ",}"), p);
}

Test(html_report, escapes_a_hostile_model_name_everywhere, .init = setup, .fini = teardown)
{
	static char out[131072];

	cr_assert_eq(tgt_run_report("TZ=UTC", out, sizeof out, "summary --by model --ledger %s "
	                            PERIOD " --format html", dir), 0, "%s", out);
	cr_assert(!strncmp(out, "<!DOCTYPE html>\n", 16), "%.300s", out);
	cr_assert_null(strstr(out, "<script"), "%s", out);
	cr_assert(strstr(out, "<td>" HOSTILE_HTML "</td>"), "the table row:\n%s", out);
	cr_assert(strstr(out, "<title>" HOSTILE_HTML ", 2026-11-22: $0.50</title>"), "the bar:\n%s",
	          out);
	cr_assert(strstr(out, "</span>" HOSTILE_HTML " $0.50</li>"), "the legend:\n%s", out);
	cr_assert(strstr(out, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	                      "'none'; style-src 'unsafe-inline'; img-src data:\">"), "%.600s", out);
	cr_assert(strstr(out, "</html>\n"), "%s", out);
}

Test(html_report, total_cells_carry_the_json_totals, .init = setup, .fini = teardown)
{
	static char page[131072], json[16384];
	char want[64], got[64];
	static const char *const names[][2] = {
		{ "data-usd", "cost_usd" }, { "data-estimated-usd", "estimated_cost_usd" },
		{ "data-calls", "calls" }, { "data-tokens", "tokens" },
		{ "data-blocked-calls", "blocked_calls" }, { "data-input-tokens", "input_tokens" },
		{ "data-reasoning-tokens", "reasoning_tokens" },
	};

	cr_assert_eq(tgt_run_report("TZ=UTC", page, sizeof page, "daily --ledger %s " PERIOD
	                            " --format html", dir), 0, "%s", page);
	cr_assert_eq(tgt_run_report("TZ=UTC", json, sizeof json, "daily --ledger %s " PERIOD
	                            " --format json", dir), 0, "%s", json);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		total_attr(page, names[i][0], got, sizeof got);
		json_total(json, names[i][1], want, sizeof want);
		cr_assert_str_eq(got, want, "%s", names[i][0]);
	}
	/* The figures themselves: 0.25 + 0.5 + 0.125 known, 0.003 estimated. */
	total_attr(page, "data-usd", got, sizeof got);
	cr_assert_str_eq(got, "0.875");
	total_attr(page, "data-calls", got, sizeof got);
	cr_assert_str_eq(got, "4");
	/* The same marks as the table, and their legends. */
	cr_assert(strstr(page, ">&gt;=$0.875 (1?) + ~$0.003</td>"), "%s", page);
	cr_assert(strstr(page, "<p class=\"note legend-line\">?: not known;"), "%s", page);
	cr_assert(strstr(page, "<p class=\"note legend-line\">~: includes estimates"), "%s", page);
	cr_assert(strstr(page, "<p class=\"note\">note: 1 call unpriced: cost unknown for model "
	                       "no-price-model</p>"), "%s", page);
}

Test(html_report, every_view_writes_a_page, .init = setup, .fini = teardown)
{
	static char out[131072];
	static const char *const views[][2] = {
		{ "summary", "Cost per day by model" }, { "daily", "Cost per day by model" },
		{ "weekly", "Cost per week by model" }, { "monthly", "Cost per month by model" },
		{ "session", "Cost per day by model" }, { "blocks", "Cost per day by model" },
	};

	for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
		cr_assert_eq(tgt_run_report("TZ=UTC", out, sizeof out, "%s --ledger %s " PERIOD
		                            " --format html", views[i][0], dir), 0, "%s", out);
		cr_assert(!strncmp(out, "<!DOCTYPE html>", 15), "%s: %.200s", views[i][0], out);
		cr_assert(strstr(out, views[i][1]) && strstr(out, "<svg"), "%s: %s", views[i][0], out);
	}
	cr_assert_eq(tgt_run_report("TZ=UTC", out, sizeof out, "weekly --ledger %s " PERIOD
	                            " --format html", dir), 0, "%s", out);
	/* Sunday 2026-11-22 ends week 47: two bars, each label under its bar. */
	cr_assert(strstr(out, "<text class=\"label\" text-anchor=\"middle\" x=\"352.5\" y=\"362\">"
	                      "2026-W47</text>\n<text class=\"label\" text-anchor=\"middle\" "
	                      "x=\"877.5\" y=\"362\">2026-W48</text>"), "%s", out);
}

Test(html_report, an_empty_range_says_no_calls, .init = setup, .fini = teardown)
{
	static char out[131072];

	cr_assert_eq(tgt_run_report("TZ=UTC", out, sizeof out, "daily --ledger %s --since "
	                            "2026-10-01 --until 2026-10-02 --format html", dir), 0, "%s", out);
	cr_assert(strstr(out, "No calls in this range."), "%s", out);
	cr_assert_null(strstr(out, "<svg"), "%s", out);
}

Test(html_report, records_refuses_html, .init = setup, .fini = teardown)
{
	char out[1024];

	cr_assert_eq(tgt_run_report(NULL, out, sizeof out, "records --ledger %s --format html", dir),
	             2, "%s", out);
	cr_assert(strstr(out, "records cannot be written as \"html\"; its formats: table, json, "
	                      "jsonl, csv (html: summary and the views"), "%s", out);
}
