/* test_report.c - the report's pure parts: time parsing and formatting,
 * output escaping, aggregation (tools/ modules linked into the unit
 * binary: UNIT_TOOL_SRCS in the Makefile). */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "fixture.h"
#include "money.h"

#include "../../tools/when.h"
#include "../../tools/emit.h"
#include "../../tools/agg.h"
#include "../../tools/runs.h"
#include "../../tools/zone.h"
#include "../../tools/filter.h"

#define US 1000000LL
#define NOV22 INT64_C(1795305600)  /* 2026-11-22T00:00:00Z */

static int64_t parse(const char *s, int end)
{
	int64_t out = -42;

	cr_assert_eq(tg_when_parse(s, NOV22 * US + 12 * 3600 * US, end, &out), 0, "%s", s);
	return out;
}

Test(when, parses_dates_as_utc_midnight)
{
	cr_assert_eq(parse("2026-11-22", 0), NOV22 * US);
	cr_assert_eq(parse("2026-11-22", 1), (NOV22 + 86400) * US, "--until includes the day");
	cr_assert_eq(parse("1970-01-01", 0), 0);
	cr_assert_eq(parse("2024-02-29", 0), INT64_C(1709164800) * US);
}

Test(when, parses_iso_timestamps_with_zones_and_fractions)
{
	cr_assert_eq(parse("2026-11-22T08:33:11Z", 0), (NOV22 + 8 * 3600 + 33 * 60 + 11) * US);
	cr_assert_eq(parse("2026-11-22T08:33:11.123Z", 0),
	             (NOV22 + 8 * 3600 + 33 * 60 + 11) * US + 123000);
	cr_assert_eq(parse("2026-11-22 08:33", 0), (NOV22 + 8 * 3600 + 33 * 60) * US);
	cr_assert_eq(parse("2026-11-22T10:33:11+02:00", 1), (NOV22 + 8 * 3600 + 33 * 60 + 11) * US);
	cr_assert_eq(parse("2026-11-22T03:33:11-0530", 0), (NOV22 + 9 * 3600 + 3 * 60 + 11) * US);
	cr_assert_eq(parse("2026-11-22T00:00:00.0000019Z", 0), NOV22 * US + 1);
}

Test(when, parses_compact_dates_and_day_words)
{
	cr_assert_eq(parse("20261122", 0), NOV22 * US);
	cr_assert_eq(parse("20261122", 1), (NOV22 + 86400) * US);
	cr_assert_eq(parse("today", 0), NOV22 * US);
	cr_assert_eq(parse("today", 1), (NOV22 + 86400) * US, "--until today includes today");
	cr_assert_eq(parse("yesterday", 0), (NOV22 - 86400) * US);
	cr_assert_eq(parse("yesterday", 1), NOV22 * US);
}

static void use_zone(const char *name)
{
	char err[256];

	cr_assert_eq(tg_zone_use(name, err, sizeof err), 0, "%s", err);
}

Test(when, reads_dates_and_day_words_in_the_chosen_zone)
{
	int64_t out;

	use_zone("Asia/Tokyo");
	cr_assert_eq(parse("2026-11-22", 0), (NOV22 - 9 * 3600) * US);
	cr_assert_eq(parse("2026-11-22 08:33", 0), (NOV22 - 9 * 3600 + 8 * 3600 + 33 * 60) * US);
	cr_assert_eq(parse("2026-11-22T08:33Z", 0), (NOV22 + 8 * 3600 + 33 * 60) * US,
	             "an explicit zone wins");
	/* 20:00 UTC is 05:00 of the next day in Tokyo */
	cr_assert_eq(tg_when_parse("today", (NOV22 + 20 * 3600) * US, 0, &out), 0);
	cr_assert_eq(out, (NOV22 + 15 * 3600) * US);
	use_zone("America/Los_Angeles");
	cr_assert_eq(tg_when_parse("yesterday", (NOV22 + 3 * 3600) * US, 0, &out), 0);
	cr_assert_eq(out, (NOV22 - 2 * 86400 + 8 * 3600) * US, "03:00Z is still the 21st in LA");
}

Test(when, dst_days_in_berlin_are_23_and_25_hours)
{
	use_zone("Europe/Berlin");
	cr_assert_eq(parse("2026-03-29", 0), INT64_C(1774738800) * US);
	cr_assert_eq(parse("2026-03-29", 1), INT64_C(1774821600) * US, "23 hours later");
	/* 02:30 does not exist that day: read with the offset before, 03:30 CEST */
	cr_assert_eq(parse("2026-03-29 02:30", 0), INT64_C(1774747800) * US);
	/* 02:30 happens twice on 2026-10-25: the first, still CEST */
	cr_assert_eq(parse("2026-10-25 02:30", 0), INT64_C(1792888200) * US);
	cr_assert_eq(parse("2026-10-25", 0), INT64_C(1792879200) * US);
	cr_assert_eq(parse("2026-10-25", 1) - parse("2026-10-25", 0), 25 * 3600 * US);
}

Test(when, iso_weeks_hours_and_local_times)
{
	char buf[TG_WHEN_ISO_MAX];

	tg_when_week(NOV22 * US, buf);
	cr_assert_str_eq(buf, "2026-W47", "a Sunday ends its week");
	tg_when_week((NOV22 + 86400) * US, buf);
	cr_assert_str_eq(buf, "2026-W48");
	tg_when_week(INT64_C(1798761600) * US, buf);
	cr_assert_str_eq(buf, "2026-W53", "2027-01-01 is in the last week of 2026");
	tg_when_week(INT64_C(1735516800) * US, buf);
	cr_assert_str_eq(buf, "2025-W01", "2024-12-30 is in the first week of 2025");
	tg_when_week(-1, buf);
	cr_assert_str_eq(buf, "1970-W01");
	tg_when_hour(NOV22 * US - 1, buf);
	cr_assert_str_eq(buf, "23");
	tg_when_hour(-1, buf);
	cr_assert_str_eq(buf, "23");
	tg_when_local_iso(NOV22 * US, buf);
	cr_assert_str_eq(buf, "2026-11-22T00:00+00:00", "UTC until a zone is chosen");
	use_zone("Asia/Tokyo");
	tg_when_local_iso(NOV22 * US, buf);
	cr_assert_str_eq(buf, "2026-11-22T09:00+09:00");
	use_zone("America/St_Johns");
	tg_when_local_iso(NOV22 * US, buf);
	cr_assert_str_eq(buf, "2026-11-21T20:30-03:30");
}

Test(when, refuses_names_outside_the_zone_database)
{
	static const char *bad[] = { "", "Mars/Olympus", "/etc/localtime", "../zoneinfo/UTC",
	                             "Europe/../Europe/Berlin", "zone.tab" };
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(tg_zone_use(bad[i], err, sizeof err), -1, "\"%s\"", bad[i]);
}

Test(when, parses_durations_back_from_now)
{
	int64_t now = NOV22 * US + 12 * 3600 * US;

	cr_assert_eq(parse("7d", 0), now - 7 * 86400 * US);
	cr_assert_eq(parse("12h", 0), now - 12 * 3600 * US);
	cr_assert_eq(parse("30m", 0), now - 30 * 60 * US);
	cr_assert_eq(parse("45s", 0), now - 45 * US);
	cr_assert_eq(parse("2w", 0), now - 14 * 86400 * US);
}

Test(when, rejects_what_is_not_a_time)
{
	static const char *bad[] = {
		"", "7", "7x", "d", "7d3", "-7d", "2026-13-01", "2026-02-30", "2025-02-29",
		"2026-11-22T24:00", "2026-11-22T08", "2026-11-22T08:60", "2026-11-22T08:00:00+25:00",
		"2026-11-22T08:00:00.Z", "2026-11-22X", "26-11-22", "2026-1-22", "99999999999999999999d",
		"2026-11-22T08:00:00Zjunk", "2026112", "202611220", "20261322", "Today", "tomorrow",
		"20261122T08:00",
	};
	int64_t out;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(tg_when_parse(bad[i], 0, 0, &out), -1, "\"%s\"", bad[i]);
}

Test(when, formats_iso_with_milliseconds)
{
	char buf[TG_WHEN_ISO_MAX], day[11], month[8];

	tg_when_iso((NOV22 + 8 * 3600 + 33 * 60 + 11) * US + 123456, buf);
	cr_assert_str_eq(buf, "2026-11-22T08:33:11.123Z");
	tg_when_iso(0, buf);
	cr_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
	tg_when_iso(INT64_C(951782400) * US - 1, buf);  /* leap day boundary */
	cr_assert_str_eq(buf, "2000-02-28T23:59:59.999Z");
	tg_when_day(NOV22 * US - 1, day);
	cr_assert_str_eq(day, "2026-11-21");
	tg_when_month(NOV22 * US, month);
	cr_assert_str_eq(month, "2026-11");
	cr_assert_eq(tg_when_day_start(NOV22 * US + 5), NOV22 * US);
}

Test(when, round_trips_every_day_of_four_centuries)
{
	char buf[TG_WHEN_ISO_MAX];

	for (int64_t d = -1000; d < 146097; d += 7) {
		int64_t us = d * 86400 * US + 3723 * US + 4000, back;

		tg_when_iso(us, buf);
		cr_assert_eq(tg_when_parse(buf, 0, 0, &back), 0, "%s", buf);
		cr_assert_eq(back, us, "%s", buf);
	}
}

static char *capture(void (*fn)(FILE *, const char *), const char *s)
{
	static char out[1024];
	FILE *f;

	memset(out, 0, sizeof out);
	f = fmemopen(out, sizeof out, "w");

	fn(f, s);
	fclose(f);
	return out;
}

Test(emit, escapes_json_strings)
{
	cr_assert_str_eq(capture(tg_emit_json_str, "a\"b\\c"), "\"a\\\"b\\\\c\"");
	cr_assert_str_eq(capture(tg_emit_json_str, "\n\r\t\x01\x1f\x7f"),
	                 "\"\\n\\r\\t\\u0001\\u001f\\u007f\"");
	cr_assert_str_eq(capture(tg_emit_json_str, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	                 "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	cr_assert_str_eq(capture(tg_emit_json_str, ""), "\"\"");
}

Test(emit, replaces_invalid_utf8_in_json)
{
	/* lone continuation, overlong '/', surrogate, past U+10FFFF, truncated */
	cr_assert_str_eq(capture(tg_emit_json_str, "a\x80z"), "\"a\xef\xbf\xbdz\"");
	cr_assert_str_eq(capture(tg_emit_json_str, "\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	cr_assert_str_eq(capture(tg_emit_json_str, "\xed\xa0\x80"),
	                 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	cr_assert_str_eq(capture(tg_emit_json_str, "\xf4\x90\x80\x80"),
	                 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	cr_assert_str_eq(capture(tg_emit_json_str, "x\xe2\x82"), "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
}

Test(emit, quotes_csv_fields_per_rfc4180)
{
	cr_assert_str_eq(capture(tg_emit_csv_field, "plain"), "plain");
	cr_assert_str_eq(capture(tg_emit_csv_field, ""), "");
	cr_assert_str_eq(capture(tg_emit_csv_field, "a,b"), "\"a,b\"");
	cr_assert_str_eq(capture(tg_emit_csv_field, "say \"hi\""), "\"say \"\"hi\"\"\"");
	cr_assert_str_eq(capture(tg_emit_csv_field, "two\r\nlines"), "\"two\r\nlines\"");
	cr_assert_str_eq(capture(tg_emit_csv_field, " padded"), "\" padded\"");
}

Test(emit, defuses_csv_text_that_a_spreadsheet_would_run_as_a_formula)
{
	cr_assert_str_eq(capture(tg_emit_csv_field, "=HYPERLINK(\"http://x\")"),
	                 "\"'=HYPERLINK(\"\"http://x\"\")\"");
	cr_assert_str_eq(capture(tg_emit_csv_field, "=1+2"), "'=1+2");
	cr_assert_str_eq(capture(tg_emit_csv_field, "+1"), "'+1");
	cr_assert_str_eq(capture(tg_emit_csv_field, "-2"), "'-2");
	cr_assert_str_eq(capture(tg_emit_csv_field, "@SUM(A1)"), "'@SUM(A1)");
	cr_assert_str_eq(capture(tg_emit_csv_field, "\t=1"), "'\t=1");
	cr_assert_str_eq(capture(tg_emit_csv_field, "\r=1"), "\"'\r=1\"");
	cr_assert_str_eq(capture(tg_emit_csv_field, "=a,b"), "\"'=a,b\"");
	cr_assert_str_eq(capture(tg_emit_csv_field, "a=b-c+d@e"), "a=b-c+d@e");
	cr_assert_str_eq(capture(tg_emit_csv_field, "gpt-4o"), "gpt-4o");
}

static void json_str_only(FILE *f, const char *s)
{
	tg_emit_json_str(f, s);
}

Test(emit, leaves_formula_text_alone_in_json)
{
	cr_assert_str_eq(capture(json_str_only, "=1+2"), "\"=1+2\"");
	cr_assert_str_eq(capture(json_str_only, "@x"), "\"@x\"");
}

/* Read without the locale, which some tests set to a decimal comma; inf
 * and nan are no decimals and read the same everywhere. */
static void cost_str(FILE *f, const char *s)
{
	double d;

	if (tg_decimal_parse(s, &d))
		d = strtod(s, NULL);
	tg_emit_cost(f, d);
}

Test(emit, writes_costs_in_full_precision_without_trailing_zeros)
{
	cr_assert_str_eq(capture(cost_str, "0.00123"), "0.00123");
	cr_assert_str_eq(capture(cost_str, "1e-7"), "0.0000001");
	cr_assert_str_eq(capture(cost_str, "0.00000022"), "0.00000022");
	cr_assert_str_eq(capture(cost_str, "12"), "12");
	cr_assert_str_eq(capture(cost_str, "0"), "0");
	/* never rounded to 0: a sum below a nanodollar is still a sum */
	cr_assert_str_eq(capture(cost_str, "1e-12"), "1e-12");
	cr_assert_str_eq(capture(cost_str, "-1e-12"), "-1e-12");
	cr_assert_str_eq(capture(cost_str, "0.1234567891"), "0.1234567891");
	cr_assert_str_eq(capture(cost_str, "1000000000"), "1000000000");
}

/* The cost writer's fast path (cost_fast) and its fallback must both give
 * the shortest text that reads back as exactly the amount
 * (tg_money_exact), digit for digit: amounts near a half of the ninth
 * decimal, exact decimals, random amounts and bits. */
static void cost_agrees(double d)
{
	char want[64], got[64];
	FILE *f;

	if (tg_money_exact(d, want, sizeof want) < 0)
		snprintf(want, sizeof want, "null");
	memset(got, 0, sizeof got);
	f = fmemopen(got, sizeof got - 1, "w");
	tg_emit_cost(f, d);
	fclose(f);
	cr_assert_str_eq(got, want, "%.17g", d);
}

Test(emit, writes_costs_that_read_back_exactly)
{
	static const double fixed[] = { 0, -0.0, 1e-12, 4e-10, 5e-10, 6e-10, 1.5e-9, 2.5e-9,
	                                0.1, 0.125, 0.3, 1.0000000005, 0.0000000015, 999999.9999999995,
	                                999999.999999999, 123456.123456789, 1e6, 2e15, -0.5, 0.00123 };
	uint64_t x = 0x9e3779b97f4a7c15u;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		cost_agrees(fixed[i]);
	for (int i = 0; i < 200000; i++) {
		double d;

		x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
		switch (i % 4) {
		case 0: d = (double)(x % 100000000000u) / 1e9; break;         /* n nanodollars */
		case 1: d = ((double)(x % 2000000000u) + 0.5) / 1e9; break;   /* halves */
		case 2: d = (double)(x >> 11) / 9007199254740992.0 * 1000; break;
		default: memcpy(&d, &x, sizeof d); break;                     /* any bits */
		}
		cost_agrees(d);
	}
}

/* Text escaped through a buffer that fills many times over comes out as
 * it does through one that never fills. */
static size_t obuf_json(char *out, size_t n, size_t cap, const char *s)
{
	static char b[1 << 16];
	FILE *f = fmemopen(out, n, "w");
	struct tg_obuf o = { f, b, 0, cap };

	cr_assert_not_null(f);
	tg_obuf_json_str(&o, s);
	tg_obuf_flush(&o);
	fclose(f);
	return strlen(out);
}

Test(emit, escapes_json_the_same_whatever_the_buffer_size)
{
	static const char *const bits[] = { "plain text ", "\"q\"", "\\", "\n\r\t", "\x01\x1f\x7f",
	                                    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff",
	                                    "\xc3", "\xed\xa0\x80" };
	static char in[4000], small[30000], large[30000];
	size_t len = 0;

	for (int i = 0; len + 8 < sizeof in; i = (i * 7 + 3) % 11) {
		size_t k = strlen(bits[i]);

		memcpy(in + len, bits[i], k);
		len += k;
	}
	in[len] = '\0';
	for (size_t cap = TG_OBUF_MIN; cap <= 200; cap += 13) {
		memset(small, 0, sizeof small);
		memset(large, 0, sizeof large);
		obuf_json(small, sizeof small - 1, cap, in);
		obuf_json(large, sizeof large - 1, 1 << 16, in);
		cr_assert_gt(strlen(large), len);
		cr_assert_str_eq(small, large, "buffer of %zu bytes", cap);
	}
}

Test(emit, writes_a_cost_too_large_for_plain_notation_in_full_not_as_0)
{
	cr_assert_str_eq(capture(cost_str, "1e308"), "1e+308");
	cr_assert_str_eq(capture(cost_str, "1.7976931348623157e308"), "1.7976931348623157e+308");
	cr_assert_str_eq(capture(cost_str, "123456789012345678901234567890123456789012345678901234567890"),
	                 "1.2345678901234567e+59");
	cr_assert_str_eq(capture(cost_str, "inf"), "null");
	cr_assert_str_eq(capture(cost_str, "nan"), "null");
}

static void exact_str(FILE *f, const char *s)
{
	double d;

	if (tg_decimal_parse(s, &d))
		d = strtod(s, NULL);
	tg_emit_exact(f, d);
}

Test(emit, writes_limits_exactly_even_below_nine_decimals)
{
	cr_assert_str_eq(capture(exact_str, "0.25"), "0.25");
	cr_assert_str_eq(capture(exact_str, "0.1"), "0.1");
	cr_assert_str_eq(capture(exact_str, "1e9"), "1000000000");
	cr_assert_str_eq(capture(exact_str, "1e-12"), "1e-12");
	cr_assert_str_eq(capture(exact_str, "0.000000000123"), "1.23e-10");
	cr_assert_str_eq(capture(exact_str, "nan"), "null");
}

/* A locale with a decimal comma, or NULL when none is installed. */
static const char *comma_locale(void)
{
	static const char *const names[] = {
		"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "nl_NL.UTF-8", "de_DE",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (setlocale(LC_NUMERIC, names[i]) && !strcmp(localeconv()->decimal_point, ","))
			return names[i];
	return NULL;
}

Test(emit, writes_a_decimal_point_in_a_decimal_comma_locale)
{
	char buf[32];

	if (!comma_locale())
		cr_skip_test("no locale with a decimal comma is installed");
	snprintf(buf, sizeof buf, "%.2f", 0.5);
	cr_assert_str_eq(buf, "0,50", "the locale is in effect");
	cr_assert_str_eq(capture(cost_str, "0.00123"), "0.00123");
	cr_assert_str_eq(capture(cost_str, "1e308"), "1e+308");
}

Test(emit, knows_the_format_names)
{
	cr_assert_eq(tg_emit_format("table"), TG_FMT_TABLE);
	cr_assert_eq(tg_emit_format("jsonl"), TG_FMT_JSONL);
	cr_assert_eq(tg_emit_format("csv"), TG_FMT_CSV);
	cr_assert_eq(tg_emit_format("xml"), -1);
}

static struct tg_record rec(const char *provider, const char *model, int64_t ts, int64_t in,
                            int64_t out, double cost, uint32_t flags, const char *tags)
{
	struct tg_record r = tgt_record(ts, provider, model, "", tags, in, out, cost, flags);

	r.counts.cached_input = in > 0 ? in / 10 : TG_COUNT_UNKNOWN;
	return r;
}

static struct tg_agg_group *group(struct tg_agg *a, const char *v0)
{
	for (size_t i = 0; i < a->ngroups; i++)
		if (!strcmp(a->group[i].value[0], v0))
			return &a->group[i];
	return NULL;
}

Test(agg, parses_group_keys)
{
	struct tg_agg a;
	char err[256], name[80];

	cr_assert_eq(tg_agg_init(&a, "provider,day,tag:team", err, sizeof err), 0, "%s", err);
	cr_assert_eq(a.nkeys, 3);
	cr_assert_eq(a.key[1].by, TG_BY_DAY);
	tg_agg_key_name(&a, 2, name, sizeof name);
	cr_assert_str_eq(name, "tag:team");
	tg_agg_free(&a);
	cr_assert_eq(tg_agg_init(&a, "provider,colour", err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "\"colour\""));
	cr_assert_eq(tg_agg_init(&a, "model,", err, sizeof err), -1);
	cr_assert_eq(tg_agg_init(&a, "tag:", err, sizeof err), -1);
	cr_assert_eq(tg_agg_init(&a, "", err, sizeof err), 0);
	tg_agg_free(&a);
}

Test(agg, sums_known_counts_and_counts_unknown_ones_apart)
{
	struct tg_agg a;
	char err[128];
	struct tg_record r;
	struct tg_agg_group *g;

	cr_assert_eq(tg_agg_init(&a, "model", err, sizeof err), 0);
	r = rec("openai", "gpt-4o", 1, 1000, 100, 0.5, 0, "");
	tg_agg_add(&a, &r);
	r = rec("openai", "gpt-4o", 2, 3000, 300, 1.5, 0, "");
	r.counts.reasoning = 50;
	tg_agg_add(&a, &r);
	r = rec("openai", "gpt-4o", 3, -1, -1, 0, TG_REC_USAGE_UNKNOWN, "");
	tg_agg_add(&a, &r);
	r = rec("acme", "mystery-1", 4, 10, 1, 0, TG_REC_UNPRICED, "");
	tg_agg_add(&a, &r);
	tg_agg_add(&a, &r);
	tg_agg_sort(&a);

	cr_assert_eq(a.ngroups, 2);
	cr_assert_str_eq(a.group[0].value[0], "gpt-4o", "groups are sorted");
	g = group(&a, "gpt-4o");
	cr_assert_eq(g->sums.t.calls, 3);
	cr_assert_eq(g->sums.tokens[TG_TOK_INPUT], 4000);
	cr_assert_eq(g->sums.tokens[TG_TOK_CACHED], 400);
	cr_assert_eq(g->sums.unknown[TG_TOK_INPUT], 1);
	cr_assert_eq(g->sums.tokens[TG_TOK_REASONING], 50);
	cr_assert_eq(g->sums.unknown[TG_TOK_REASONING], 2);
	cr_assert_float_eq(g->sums.t.usd_known, 2.0, 1e-12);
	cr_assert_eq(g->sums.t.usage_unknown, 1);
	cr_assert_eq(a.total.t.calls, 5);
	cr_assert_eq(a.total.t.unpriced, 2);
	cr_assert_eq(a.nunpriced, 1);
	cr_assert_str_eq(a.unpriced[0].model, "mystery-1");
	cr_assert_eq(a.unpriced[0].calls, 2);
	tg_agg_free(&a);
}

/* A blocked call is no call: only BLOCKED counts it, whatever counts it
 * carries; it joins the row of the model served for the model it asked
 * for, unless that model was chosen by a downgrade. */
Test(agg, keeps_blocked_calls_apart_in_the_row_of_the_model_served)
{
	struct tg_agg a;
	char err[128];
	struct tg_record r;
	struct tg_agg_group *g;

	cr_assert_eq(tg_agg_init(&a, "model", err, sizeof err), 0);
	r = rec("openai", "gpt-4.1", 1, 500, 0, 0, TG_REC_BLOCKED, "");
	tg_agg_add(&a, &r);
	r = rec("openai", "gpt-4.1-2025-04-14", 2, 1000, 100, 0.5, TG_REC_INCOMPLETE, "");
	snprintf(r.requested_model, sizeof r.requested_model, "gpt-4.1");
	tg_agg_add(&a, &r);
	r = rec("openai", "o3", 3, 70, 0, 0, TG_REC_BLOCKED, "");
	tg_agg_add(&a, &r);
	r = rec("openai", "o3-mini", 4, 10, 10, 0.1, TG_REC_DOWNGRADED, "");
	snprintf(r.requested_model, sizeof r.requested_model, "o3");
	tg_agg_add(&a, &r);
	cr_assert_eq(tg_agg_finish(&a), 0);

	cr_assert_eq(a.ngroups, 3, "gpt-4.1 joins its served row; o3 stays apart");
	g = group(&a, "gpt-4.1-2025-04-14");
	cr_assert_eq(g->sums.t.calls, 1);
	cr_assert_eq(g->sums.t.blocked, 1);
	cr_assert_eq(g->sums.tokens[TG_TOK_INPUT], 1000, "the blocked call's 500 are no tokens");
	cr_assert_eq(g->sums.t.tokens, 1100);
	cr_assert_eq(g->sums.incomplete, 1);
	g = group(&a, "o3");
	cr_assert_eq(g->sums.t.calls, 0);
	cr_assert_eq(g->sums.t.blocked, 1);
	cr_assert_eq(g->sums.tokens[TG_TOK_INPUT], 0);
	cr_assert_eq(a.total.t.calls, 2);
	cr_assert_eq(a.total.t.blocked, 2);
	cr_assert_eq(a.total.tokens[TG_TOK_INPUT], 1010);
	cr_assert_eq(a.served[0].blocked_moved, 1);
	tg_agg_free(&a);
}

Test(agg, groups_by_day_month_and_tag)
{
	struct tg_agg a;
	char err[128];
	struct tg_record r;

	cr_assert_eq(tg_agg_init(&a, "day,tag:team", err, sizeof err), 0);
	r = rec("openai", "m", NOV22 * US - 1, 1, 1, 0, 0, "team=search,env=prod");
	tg_agg_add(&a, &r);
	r = rec("openai", "m", NOV22 * US, 1, 1, 0, 0, "env=prod,team=search");
	tg_agg_add(&a, &r);
	r = rec("openai", "m", NOV22 * US + 5, 1, 1, 0, 0, "env=prod");
	tg_agg_add(&a, &r);
	tg_agg_sort(&a);
	cr_assert_eq(a.ngroups, 3);
	cr_assert_str_eq(a.group[0].value[0], "2026-11-21");
	cr_assert_str_eq(a.group[0].value[1], "search");
	cr_assert_str_eq(a.group[1].value[0], "2026-11-22");
	cr_assert_str_eq(a.group[1].value[1], "");
	cr_assert_str_eq(a.group[2].value[1], "search");
	tg_agg_free(&a);
}

Test(agg, keeps_many_groups_apart)
{
	struct tg_agg a;
	char err[128], model[32];
	struct tg_record r;

	cr_assert_eq(tg_agg_init(&a, "model", err, sizeof err), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 1000; i++) {
			snprintf(model, sizeof model, "m-%d", i);
			r = rec("p", model, i, i, 1, 0.001, 0, "");
			cr_assert_eq(tg_agg_add(&a, &r), 0);
		}
		if (round == 1)
			tg_agg_sort(&a);  /* adding after a sort must still work */
	}
	cr_assert_eq(a.ngroups, 1000);
	cr_assert_eq(a.total.t.calls, 3000);
	for (size_t i = 0; i < a.ngroups; i++)
		cr_assert_eq(a.group[i].sums.t.calls, 3);
	tg_agg_free(&a);
}

Test(agg, reads_tag_values)
{
	char v[32];

	cr_assert_eq(tg_tags_get("a=1,team=x y,b", "team", v, sizeof v), 1);
	cr_assert_str_eq(v, "x y");
	cr_assert_eq(tg_tags_get("a=1,b", "b", v, sizeof v), 1);
	cr_assert_str_eq(v, "");
	cr_assert_eq(tg_tags_get("ab=1", "a", v, sizeof v), 0);
	cr_assert_eq(tg_tags_get("", "a", v, sizeof v), 0);
}

/* The JSON writer takes eight plain bytes at a time: every byte value, at
 * every place of a long string, must come out as it does alone. */
Test(emit, escapes_each_byte_alike_at_every_place_of_a_long_string)
{
	for (int c = 1; c < 256; c++) {
		char alone[2] = { (char)c, '\0' }, want_inner[16];
		const char *q = capture(tg_emit_json_str, alone) + 1;
		size_t wl = strlen(q) - 1;         /* without the closing quote */

		cr_assert_lt(wl, sizeof want_inner);
		memcpy(want_inner, q, wl);
		want_inner[wl] = '\0';
		for (int at = 0; at < 20; at++) {
			char s[21], want[64];

			memset(s, 'a', 20);
			s[20] = '\0';
			s[at] = (char)c;
			snprintf(want, sizeof want, "\"%.*s%s%.*s\"", at, s, want_inner, 19 - at,
			         s + at + 1);
			cr_assert_str_eq(capture(tg_emit_json_str, s), want, "byte %#x at %d", c, at);
		}
	}
}

/* Counts are written without printf: every length of number, both ends. */
static void count_agrees(int64_t v)
{
	char want[32], got[32];
	FILE *f;

	memset(got, 0, sizeof got);
	f = fmemopen(got, sizeof got - 1, "w");
	tg_emit_count(f, v, "null");
	fclose(f);
	snprintf(want, sizeof want, "%lld", (long long)v);
	cr_assert_str_eq(got, v < 0 ? "null" : want);
}

Test(emit, writes_counts_as_printf_does)
{
	char b[TG_OBUF_MIN], got[32];
	int64_t v = 1;
	FILE *f;

	for (int i = 0; i <= 18; i++) {
		count_agrees(v - 1);
		count_agrees(v);
		count_agrees(v + 1);
		if (i < 18)
			v *= 10;
	}
	count_agrees(INT64_MAX);
	memset(got, 0, sizeof got);
	f = fmemopen(got, sizeof got - 1, "w");
	{
		struct tg_obuf o = { f, b, 0, sizeof b };

		tg_obuf_int(&o, INT64_MIN);
		tg_obuf_flush(&o);
	}
	fclose(f);
	cr_assert_str_eq(got, "-9223372036854775808");
}

/* The memo that keeps a scan's last date gives what the plain functions
 * give, in time order, backwards and across days, months and years. */
Test(when, formats_the_same_through_the_memo)
{
	static const int64_t steps[] = { 1, 3599 * US, 86399 * US, -86400 * US, 31 * 86400 * US,
	                                 -1, 366 * 86400 * US, -400 * 86400 * US };
	struct tg_when_memo m = TG_WHEN_MEMO_INIT;
	char want[TG_WHEN_ISO_MAX], got[TG_WHEN_ISO_MAX];
	int64_t us = (NOV22 - 40 * 86400) * US;

	for (int i = 0; i < 400; i++) {
		us += steps[i % 8];
		tg_when_iso(us, want);
		cr_assert_eq(tg_when_iso_memo(&m, us, got), (int)strlen(want));
		cr_assert_str_eq(got, want);
		tg_when_day(us, want);
		tg_when_day_memo(&m, us, got);
		cr_assert_str_eq(got, want);
		tg_when_month(us, want);
		tg_when_month_memo(&m, us, got);
		cr_assert_str_eq(got, want);
	}
}
