/* test_budget.c - the policy model: one-line syntax (every field, every
 * rejection and its message), formatting back, TOKENGUARD_BUDGETS, UTC
 * window arithmetic and which calls a policy governs; and the decimal
 * numbers it is written with, in any locale. */
#include <criterion/criterion.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "spend_rule.h"
#include "decimal.h"

#define US INT64_C(1000000)
#define HOUR (3600 * US)
#define DAY (24 * HOUR)

/* Days since the epoch of a date, by counting (independent of policy.c). */
static int64_t days(int y, int m, int d)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int64_t n = 0;

	for (int yy = 1970; yy < y; yy++)
		n += (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0 ? 366 : 365;
	for (int mm = 1; mm < m; mm++)
		n += dim[mm - 1] + (mm == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	return n + d - 1;
}

static int64_t at(int y, int m, int d, int hh, int mi, int ss)
{
	return (days(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss) * US;
}

static struct tg_policy parse_ok(const char *spec)
{
	struct tg_policy p;
	char err[256] = "";

	cr_assert_eq(tg_policy_parse(spec, &p, err, sizeof err), 0, "%s: %s", spec, err);
	return p;
}

static void parse_fails(const char *spec, const char *want)
{
	struct tg_policy p;
	char err[512] = "";

	cr_assert_eq(tg_policy_parse(spec, &p, err, sizeof err), -1, "%s was accepted", spec);
	cr_assert_not_null(strstr(err, want), "%s: got \"%s\", want \"%s\"", spec, err, want);
}

Test(policy, parses_a_global_daily_usd_block_with_defaults)
{
	struct tg_policy p = parse_ok("global,day,usd=5,block");

	cr_assert_eq(p.scope, TG_SCOPE_GLOBAL);
	cr_assert_str_eq(p.scope_value, "");
	cr_assert_eq(p.window, TG_WIN_DAY);
	cr_assert_float_eq(p.limit_usd, 5.0, 1e-12);
	cr_assert_eq(p.limit_tokens, -1);
	cr_assert_eq(p.action, TG_ACT_BLOCK);
	cr_assert_eq(p.fallback, TG_ACT_BLOCK);
	cr_assert_eq(p.alert_pct, 80);
	cr_assert_str_eq(p.name, "");
	cr_assert_eq(p.from_env, 0);
}

Test(policy, takes_fields_in_any_order_with_spaces)
{
	struct tg_policy p = parse_ok(" tag:team=search , name=search-daily, alert=50%, warn,"
	                              "tokens=2M , usd=0.25,24h ");

	cr_assert_eq(p.scope, TG_SCOPE_TAG);
	cr_assert_str_eq(p.scope_value, "team=search");
	cr_assert_eq(p.window, TG_WIN_24H);
	cr_assert_float_eq(p.limit_usd, 0.25, 1e-12);
	cr_assert_eq(p.limit_tokens, 2000000);
	cr_assert_eq(p.action, TG_ACT_WARN);
	cr_assert_eq(p.alert_pct, 50);
	cr_assert_str_eq(p.name, "search-daily");
}

Test(policy, parses_every_scope_window_and_action)
{
	struct tg_policy p;

	p = parse_ok("model:gpt-4o,month,tokens=1.5k,downgrade:gpt-4o-mini,fallback=warn");
	cr_assert_eq(p.scope, TG_SCOPE_MODEL);
	cr_assert_str_eq(p.scope_value, "gpt-4o");
	cr_assert_eq(p.window, TG_WIN_MONTH);
	cr_assert_eq(p.limit_tokens, 1500);
	cr_assert_eq(p.action, TG_ACT_DOWNGRADE);
	cr_assert_str_eq(p.downgrade_model, "gpt-4o-mini");
	cr_assert_eq(p.fallback, TG_ACT_WARN);
	p = parse_ok("provider:anthropic,session,usd=1,clamp");
	cr_assert_eq(p.scope, TG_SCOPE_PROVIDER);
	cr_assert_eq(p.window, TG_WIN_SESSION);
	cr_assert_eq(p.action, TG_ACT_CLAMP);
	p = parse_ok("process:python3,day,tokens=50000,block,alert=100");
	cr_assert_eq(p.scope, TG_SCOPE_PROCESS);
	cr_assert_str_eq(p.scope_value, "python3");
	cr_assert_eq(p.limit_tokens, 50000);
	cr_assert_eq(p.alert_pct, 100);
	p = parse_ok("global,day,usd=0,tokens=0,block,alert=1");
	cr_assert_float_eq(p.limit_usd, 0.0, 0);
	cr_assert_eq(p.limit_tokens, 0);
	cr_assert_eq(p.alert_pct, 1);
	p = parse_ok("global,day,usd=1e-3,tokens=7K,block");
	cr_assert_float_eq(p.limit_usd, 0.001, 1e-15);
	cr_assert_eq(p.limit_tokens, 7000);
}

Test(policy, rejects_bad_specs_with_a_precise_message)
{
	parse_fails("", "empty policy; expected SCOPE,WINDOW,LIMIT,ACTION");
	parse_fails("tag:team,day,usd=1,block", "scope \"tag:team\": expected tag:KEY=VALUE");
	parse_fails("tag:=x,day,usd=1,block", "expected tag:KEY=VALUE");
	parse_fails("tag:team=,day,usd=1,block", "expected tag:KEY=VALUE");
	parse_fails("model:,day,usd=1,block", "scope model: needs a name");
	parse_fails("everything,day,usd=1,block", "scope \"everything\": expected global, tag:KEY=VALUE");
	parse_fails("global,day,usd=-1,block", "usd=-1: a limit cannot be negative");
	parse_fails("global,day,usd=abc,block", "usd=abc: expected a non-negative number");
	parse_fails("global,day,usd=,block", "usd=: expected a non-negative number");
	parse_fails("global,day,usd=inf,block", "usd=inf: expected");
	parse_fails("global,day,usd=nan,block", "usd=nan: expected");
	parse_fails("global,day,usd=0x10,block", "usd=0x10: expected");
	parse_fails("global,day,usd=+1,block", "usd=+1: expected");
	parse_fails("global,day,usd= 1e3,block", "usd= 1e3: expected");
	parse_fails("global,day,usd=1e999,block", "usd=1e999: out of range; use 0 to 1000000000 dollars");
	parse_fails("global,day,usd=1e308,block", "usd=1e308: out of range; use 0 to 1000000000 dollars");
	parse_fails("global,day,usd=1000000000.01,block", "out of range; use 0 to 1000000000 dollars");
	parse_fails("global,day,tokens=abc,block", "tokens=abc: expected a non-negative whole number");
	parse_fails("global,day,tokens=-5,block", "tokens=-5: a limit cannot be negative");
	parse_fails("global,day,tokens=1.2345k,block", "tokens=1.2345k: not a whole number");
	parse_fails("global,day,tokens=1.5,block", "not a whole number");
	parse_fails("global,day,tokens=99999999999999999999,block", "out of range");
	parse_fails("global,day,tokens=1000000000000001,block",
	            "tokens=1000000000000001: out of range; use 0 to 1000000000000000 tokens");
	parse_fails("global,day,tokens=1000000001M,block", "out of range");
	parse_fails("global,day,tokens=1000000000.5M,block", "out of range");
	parse_fails("global,day,tokens=2G,block", "tokens=2G: expected");
	parse_fails("global,day,block", "no limit; add usd=NUMBER and/or tokens=INTEGER");
	parse_fails("global,usd=1,block", "no window; add day, month, day@ZONE, month@ZONE, 24h or session");
	parse_fails("global,day,usd=1", "no action; add block, warn, downgrade:MODEL or clamp");
	parse_fails("global,day,usd=1,downgrade:", "action downgrade: needs a model after ':'");
	parse_fails("global,day,usd=1,downgrade", "action downgrade needs a model");
	parse_fails("global,week,usd=1,block", "unknown field \"week\"; expected a window (day, month, day@ZONE, month@ZONE, 24h");
	parse_fails("global,day,day,usd=1,block", "window given twice");
	parse_fails("global,day,month,usd=1,block", "window given twice");
	parse_fails("global,day,usd=1,usd=2,block", "usd= given twice");
	parse_fails("global,day,tokens=1,tokens=2,block", "tokens= given twice");
	parse_fails("global,day,usd=1,block,warn", "action given twice");
	parse_fails("global,day,usd=1,block,alert=80,alert=90", "alert= given twice");
	parse_fails("global,day,usd=1,block,name=a,name=b", "name= given twice");
	parse_fails("global,day,usd=1,block,alert=0", "alert=0: expected a percentage from 1 to 100");
	parse_fails("global,day,usd=1,block,alert=101", "alert=101: expected a percentage");
	parse_fails("global,day,usd=1,block,alert=%", "alert=%: expected a percentage");
	parse_fails("global,day,usd=1,block,alert=8x", "alert=8x: expected");
	parse_fails("global,day,usd=1,clamp,fallback=allow", "fallback=allow: expected fallback=block or fallback=warn");
	parse_fails("global,day,usd=1,block,fallback=warn", "fallback= applies to downgrade and clamp only");
	parse_fails("global,day,usd=1,block,unpriced=ignore",
	            "unpriced=ignore: expected unpriced=estimate, unpriced=block or unpriced=allow");
	parse_fails("global,day,usd=1,block,unpriced=", "unpriced=: expected");
	parse_fails("global,day,usd=1,block,unpriced=block,unpriced=allow", "unpriced= given twice");
	parse_fails("global,day,tokens=1,block,unpriced=block", "unpriced= applies to a usd= limit only");
	parse_fails("global,day,usd=1,block,name=", "name is empty");
	parse_fails("global,day,usd=1,block,name=a b", "has a character other than");
	parse_fails("global,day,usd=1,block,name=a/b", "has a character other than");
	parse_fails("global,day,usd=1,block,name="
	            "0123456789012345678901234567890123456789012345678901234567890123",
	            "is too long; use at most 63 characters");
	parse_fails("global,,day,usd=1,block", "empty field; remove the extra ','");
	parse_fails(",day,usd=1,block", "empty field where the scope should be");
	parse_fails("global,day,usd=1,block,", "empty field");
}

Test(policy, accepts_a_name_of_exactly_63_allowed_characters)
{
	struct tg_policy p = parse_ok("global,day,usd=1,block,name="
	                              "A-Za-z0_9.:-012345678901234567890123456789012345678901234567890");

	cr_assert_eq(strlen(p.name), 63);
}

static void round_trip(const char *spec)
{
	struct tg_policy p = parse_ok(spec), q;
	char line[TG_POLICY_LINE_MAX], err[256];

	cr_assert_gt(tg_policy_format(&p, line, sizeof line), 0);
	cr_assert_eq(tg_policy_parse(line, &q, err, sizeof err), 0, "%s -> %s: %s", spec, line, err);
	cr_assert_eq(memcmp(&p, &q, sizeof p), 0, "%s -> %s", spec, line);
}

Test(policy, formats_back_to_a_line_that_parses_to_the_same_policy)
{
	struct tg_policy p = parse_ok("tag:team=search,day,usd=5,tokens=2M,warn,alert=50%,name=x");
	char line[TG_POLICY_LINE_MAX];

	cr_assert_eq(tg_policy_format(&p, line, sizeof line), (int)strlen(line));
	cr_assert_str_eq(line, "tag:team=search,day,usd=5,tokens=2000000,warn,alert=50,name=x");
	round_trip("global,month,usd=200,block");
	round_trip("model:gpt-4o,24h,usd=0.1,downgrade:gpt-4o-mini,fallback=warn");
	round_trip("provider:openai,session,usd=0.3333333333333333,clamp");
	round_trip("process:py,day,usd=123456789.123456789,tokens=1000000000000000,clamp,"
	           "fallback=block,alert=99,name=n.1:x-y_z");
	round_trip("global,day,usd=1e-9,block");
	round_trip("global,day,usd=1e9,block");
	round_trip("global,day,usd=999999999.99999988,block");
	round_trip("global,day,usd=1e-300,block");
	round_trip("global,day,usd=0,tokens=0,warn");
	round_trip("global,day,usd=1,block,unpriced=block");
	round_trip("global,day,usd=1,tokens=5,warn,unpriced=allow,name=u");
	round_trip("global,day,usd=1,block,unpriced=estimate");
	round_trip("global,day@Europe/Berlin,usd=1,block");
	round_trip("tag:team=a,month@America/Argentina/Buenos_Aires,tokens=5,warn,name=z");
	round_trip("global,day@UTC,usd=1,block");
	round_trip("global,month@Etc/GMT+5,usd=1,block");
}

Test(policy, reads_a_zone_after_day_and_month)
{
	struct tg_policy p = parse_ok("global, day@Asia/Kolkata ,usd=1,block");
	char line[TG_POLICY_LINE_MAX], win[TG_WINDOW_TEXT_MAX];

	cr_assert_eq(p.window, TG_WIN_DAY);
	cr_assert_str_eq(p.zone, "Asia/Kolkata");
	cr_assert_eq(tg_policy_format(&p, line, sizeof line), (int)strlen(line));
	cr_assert_str_eq(line, "global,day@Asia/Kolkata,usd=1,block");
	cr_assert_eq(tg_policy_window_text(&p, win, sizeof win), 16);
	cr_assert_str_eq(win, "day@Asia/Kolkata");
	p = parse_ok("global,month@America/Los_Angeles,usd=1,block");
	cr_assert_eq(p.window, TG_WIN_MONTH);
	cr_assert_str_eq(p.zone, "America/Los_Angeles");
	p = parse_ok("global,day,usd=1,block");   /* no zone: UTC, as before */
	cr_assert_str_eq(p.zone, "");
	cr_assert_eq(tg_policy_window_text(&p, win, sizeof win), 3);
	parse_fails("global,24h@Europe/Berlin,usd=1,block",
	            "window \"24h@Europe/Berlin\": a 24h window does not depend on a time zone; "
	            "drop the @ZONE");
	parse_fails("global,session@UTC,usd=1,block", "a session window does not depend on a time zone");
	parse_fails("global,day@,usd=1,block", "expected a zone after '@', e.g. day@Europe/Berlin");
	parse_fails("global,day@../../etc/passwd,usd=1,block", "has a character other than");
	parse_fails("global,day@/etc/localtime,usd=1,block", "is not a tz database name");
	parse_fails("global,day@Europe/Berlin,month,usd=1,block", "window given twice");
	parse_fails("global,week@UTC,usd=1,block", "unknown field \"week@UTC\"; expected a window "
	            "(day, month, day@ZONE, month@ZONE, 24h, session)");
}

Test(policy, reads_how_a_usd_limit_treats_unmeasured_costs)
{
	cr_assert_eq(parse_ok("global,day,usd=1,block").unpriced, TG_UNPRICED_ESTIMATE);
	cr_assert_eq(parse_ok("global,day,usd=1,block,unpriced=estimate").unpriced, TG_UNPRICED_ESTIMATE);
	cr_assert_eq(parse_ok("global,day,usd=1,block,unpriced=block").unpriced, TG_UNPRICED_BLOCK);
	cr_assert_eq(parse_ok("global,day,usd=1,block, unpriced=allow ").unpriced, TG_UNPRICED_ALLOW);
	cr_assert_str_eq(tg_unpriced_name(TG_UNPRICED_BLOCK), "block");
	cr_assert_str_eq(tg_unpriced_name((enum tg_unpriced)7), "?");
}

Test(policy, refuses_to_format_into_a_small_buffer)
{
	struct tg_policy p = parse_ok("global,month,usd=200,block");
	char small[10];

	cr_assert_eq(tg_policy_format(&p, small, sizeof small), -1);
	cr_assert_eq(tg_policy_format(&p, small, 0), -1);
}

Test(policy, checks_names)
{
	char err[256];

	cr_assert_eq(tg_policy_name_check("team-daily_1.x:y", err, sizeof err), 0);
	cr_assert_eq(tg_policy_name_check("", err, sizeof err), -1);
	cr_assert_eq(tg_policy_name_check("é", err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "has a character other than"));
}

Test(policy_env, parses_several_policies_and_names_them_by_position)
{
	struct tg_policy p[4];
	char err[256] = "";
	int n = -1;

	cr_assert_eq(tg_policies_parse_env("global,day,usd=5,block; ;model:gpt-4o,month,usd=50,warn,"
	                                   "name=mine;provider:openai,24h,tokens=1M,clamp;",
	                                   p, 4, &n, err, sizeof err), 0, "%s", err);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(p[0].name, "env1");
	cr_assert_str_eq(p[1].name, "mine");
	cr_assert_str_eq(p[2].name, "env3");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(p[i].from_env, 1);
	cr_assert_eq(tg_policies_parse_env("", p, 4, &n, err, sizeof err), 0);
	cr_assert_eq(n, 0);
}

Test(policy_env, says_which_policy_is_wrong)
{
	struct tg_policy p[2];
	char err[256] = "";
	int n = -1;

	cr_assert_eq(tg_policies_parse_env("global,day,usd=5,block;global,day,usd=x,block",
	                                   p, 2, &n, err, sizeof err), -1);
	cr_assert_eq(n, 0);
	cr_assert_str_eq(err, "policy 2: usd=x: expected a non-negative number of dollars, "
	                 "e.g. usd=5 or usd=0.25");
	cr_assert_eq(tg_policies_parse_env("global,day,usd=5,block,name=a;global,day,usd=1,warn,name=a",
	                                   p, 2, &n, err, sizeof err), -1);
	cr_assert_str_eq(err, "policy 2: name a is used twice; give each policy its own name");
	cr_assert_eq(tg_policies_parse_env("global,day,usd=5,block;global,day,usd=1,warn;"
	                                   "global,day,usd=2,warn", p, 2, &n, err, sizeof err), -1);
	cr_assert_str_eq(err, "policy 3: more than 2 policies; merge some");
}

static void bounds(enum tg_window w, int64_t now, int64_t start, int64_t reset)
{
	int64_t s = -7, r = -7;

	cr_assert_eq(tg_window_bounds(w, now, &s, &r), 0);
	cr_assert_eq(s, start, "window %d at %lld: start %lld, want %lld", w, (long long)now,
	             (long long)s, (long long)start);
	cr_assert_eq(r, reset, "window %d at %lld: reset %lld, want %lld", w, (long long)now,
	             (long long)r, (long long)reset);
}

Test(window, days_run_from_utc_midnight_to_the_next)
{
	bounds(TG_WIN_DAY, at(2026, 11, 22, 8, 33, 11), at(2026, 11, 22, 0, 0, 0), at(2026, 11, 23, 0, 0, 0));
	bounds(TG_WIN_DAY, at(2026, 11, 22, 23, 59, 59) + 999999, at(2026, 11, 22, 0, 0, 0),
	       at(2026, 11, 23, 0, 0, 0));
	bounds(TG_WIN_DAY, at(2026, 11, 23, 0, 0, 0), at(2026, 11, 23, 0, 0, 0), at(2026, 11, 24, 0, 0, 0));
	bounds(TG_WIN_DAY, 0, 0, DAY);
}

Test(window, months_end_where_the_calendar_says)
{
	bounds(TG_WIN_MONTH, at(2026, 12, 31, 23, 59, 59) + 999999, at(2026, 12, 1, 0, 0, 0),
	       at(2027, 1, 1, 0, 0, 0));
	bounds(TG_WIN_MONTH, at(2027, 1, 1, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), at(2027, 2, 1, 0, 0, 0));
	bounds(TG_WIN_MONTH, at(2027, 2, 28, 23, 59, 59) + 999999, at(2027, 2, 1, 0, 0, 0),
	       at(2027, 3, 1, 0, 0, 0));
	bounds(TG_WIN_MONTH, at(2028, 2, 29, 12, 0, 0), at(2028, 2, 1, 0, 0, 0), at(2028, 3, 1, 0, 0, 0));
	bounds(TG_WIN_MONTH, at(2028, 3, 1, 0, 0, 0), at(2028, 3, 1, 0, 0, 0), at(2028, 4, 1, 0, 0, 0));
	/* 2100 is not a leap year, 2000 is */
	bounds(TG_WIN_MONTH, at(2100, 2, 28, 23, 59, 59) + 999999, at(2100, 2, 1, 0, 0, 0),
	       at(2100, 3, 1, 0, 0, 0));
	cr_assert_eq(at(2100, 3, 1, 0, 0, 0) - at(2100, 2, 1, 0, 0, 0), 28 * DAY);
	bounds(TG_WIN_MONTH, at(2000, 2, 29, 23, 59, 59) + 999999, at(2000, 2, 1, 0, 0, 0),
	       at(2000, 3, 1, 0, 0, 0));
	cr_assert_eq(at(2000, 3, 1, 0, 0, 0) - at(2000, 2, 1, 0, 0, 0), 29 * DAY);
	bounds(TG_WIN_MONTH, at(2026, 4, 30, 23, 59, 59) + 999999, at(2026, 4, 1, 0, 0, 0),
	       at(2026, 5, 1, 0, 0, 0));
	bounds(TG_WIN_MONTH, at(1970, 1, 1, 0, 0, 0), 0, 31 * DAY);
}

Test(window, every_sampled_month_of_four_centuries_starts_on_the_1st_and_ends_on_the_next)
{
	int64_t s, r;

	for (int y = 2000; y < 2400; y += 7) {
		for (int m = 1; m <= 12; m++) {
			cr_assert_eq(tg_window_bounds(TG_WIN_MONTH, at(y, m, 15, 12, 0, 0), &s, &r), 0);
			cr_assert_eq(s, at(y, m, 1, 0, 0, 0), "%d-%d", y, m);
			cr_assert_eq(r, m == 12 ? at(y + 1, 1, 1, 0, 0, 0) : at(y, m + 1, 1, 0, 0, 0));
		}
	}
}

Test(window, rolling_24h_is_hour_granular_and_resets_at_the_next_hour)
{
	int64_t now = at(2026, 11, 22, 8, 33, 11);

	bounds(TG_WIN_24H, now, at(2026, 11, 21, 8, 0, 0), at(2026, 11, 22, 9, 0, 0));
	bounds(TG_WIN_24H, at(2026, 11, 22, 9, 0, 0), at(2026, 11, 21, 9, 0, 0), at(2026, 11, 22, 10, 0, 0));
	bounds(TG_WIN_24H, at(2026, 11, 22, 8, 59, 59) + 999999, at(2026, 11, 21, 8, 0, 0),
	       at(2026, 11, 22, 9, 0, 0));
	bounds(TG_WIN_24H, at(2027, 1, 1, 0, 30, 0), at(2026, 12, 31, 0, 0, 0), at(2027, 1, 1, 1, 0, 0));
}

Test(window, session_is_not_a_time_window)
{
	int64_t s, r;

	cr_assert_eq(tg_window_bounds(TG_WIN_SESSION, 1, &s, &r), TG_EINVAL);
	cr_assert_eq(tg_window_bounds((enum tg_window)42, 1, &s, &r), TG_EINVAL);
}

Test(match, tells_which_calls_a_policy_governs)
{
	struct tg_call c = { "openai", "gpt-4o-2024-08-06", "gpt-4o", "python3", "team=search,env=prod", NULL };
	struct tg_call bare = { "openai", "gpt-4o", "gpt-4o", "python3", NULL, NULL };

	cr_assert(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_GLOBAL }, &c));
	cr_assert(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_TAG, .scope_value = "team=search" }, &c));
	cr_assert(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_TAG, .scope_value = "env=prod" }, &c));
	cr_assert_not(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_TAG, .scope_value = "team=sear" }, &c));
	cr_assert_not(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_TAG, .scope_value = "team" }, &c));
	cr_assert_not(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_TAG, .scope_value = "eam=search" }, &c));
	cr_assert_not(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_TAG, .scope_value = "team=search" }, &bare));
	cr_assert(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_MODEL, .scope_value = "gpt-4o" }, &c));
	cr_assert(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_MODEL, .scope_value = "GPT-4o-2024-08-06" }, &c));
	cr_assert_not(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_MODEL, .scope_value = "gpt-4o-mini" }, &c));
	cr_assert(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_PROVIDER, .scope_value = "OpenAI" }, &c));
	cr_assert_not(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_PROVIDER, .scope_value = "azure" }, &c));
	cr_assert(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_PROCESS, .scope_value = "python3" }, &c));
	cr_assert_not(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_PROCESS, .scope_value = "Python3" }, &c));
}

Test(match, a_model_scope_also_matches_the_model_the_program_named)
{
	/* an Azure deployment: the answer names the model served */
	struct tg_call c = { "azure-openai", "gpt-4o-2024-11-20", "gpt-4o", "app", NULL, "gpt-4o-prod" };
	struct tg_policy deployment = { .scope = TG_SCOPE_MODEL, .scope_value = "GPT-4o-prod" };
	struct tg_record r = { 0 };

	cr_assert(tg_policy_matches(&deployment, &c));
	cr_assert(tg_policy_matches(&(struct tg_policy){ .scope = TG_SCOPE_MODEL, .scope_value = "gpt-4o" }, &c));
	c.asked_model = "";
	cr_assert_not(tg_policy_matches(&deployment, &c));
	c.asked_model = NULL;
	cr_assert_not(tg_policy_matches(&deployment, &c));

	/* what a record names as asked: not after a downgrade, which chose
	 * not to serve that model */
	snprintf(r.requested_model, sizeof r.requested_model, "gpt-4o-prod");
	cr_assert_str_eq(tg_record_asked_model(&r), "gpt-4o-prod");
	r.flags = TG_REC_DOWNGRADED;
	cr_assert_str_eq(tg_record_asked_model(&r), "");
}

Test(match, names_the_scope_the_ledger_keeps_totals_under)
{
	char buf[TG_SCOPE_KEY_MAX];

	cr_assert_eq(tg_policy_scope_key(&(struct tg_policy){ .scope = TG_SCOPE_GLOBAL }, buf, sizeof buf), 6);
	cr_assert_str_eq(buf, "global");
	tg_policy_scope_key(&(struct tg_policy){ .scope = TG_SCOPE_MODEL, .scope_value = "GPT-4o" }, buf, sizeof buf);
	cr_assert_str_eq(buf, "model:gpt-4o");
	tg_policy_scope_key(&(struct tg_policy){ .scope = TG_SCOPE_TAG, .scope_value = "Team=X" }, buf, sizeof buf);
	cr_assert_str_eq(buf, "tag:Team=X");
	cr_assert_eq(tg_policy_scope_key(&(struct tg_policy){ .scope = TG_SCOPE_PROCESS, .scope_value = "py" }, buf, 5), -1);
}

/* ---- decimals, whatever the locale ---- */

static double parsed(const char *s)
{
	double d = -42;

	cr_assert_eq(tg_decimal_parse(s, &d), 0, "%s", s);
	return d;
}

Test(decimal, parses_plain_and_exponent_forms)
{
	cr_assert_eq(parsed("0.25"), 0.25);
	cr_assert_eq(parsed("25"), 25);
	cr_assert_eq(parsed(".5"), 0.5);
	cr_assert_eq(parsed("5."), 5);
	cr_assert_eq(parsed("1e-3"), 0.001);
	cr_assert_eq(parsed("1E+3"), 1000);
	cr_assert_eq(parsed("-2.5"), -2.5);
	cr_assert_eq(parsed("+2.5"), 2.5);
	cr_assert_eq(parsed("0.1"), 0.1, "correctly rounded, as strtod");
	cr_assert(isinf(parsed("1e999")), "overflow reads as an infinity: the caller checks range");
}

Test(decimal, rejects_what_is_not_a_plain_decimal)
{
	static const char *const bad[] = {
		"", ".", "-", "e5", "1e", "1e+", " 1", "1 ", "1,5", "0x10", "inf", "nan", "1..2",
		"1.2.3", "--1", "1e5.5", "1k",
	};
	double d;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(tg_decimal_parse(bad[i], &d), -1, "\"%s\" was accepted", bad[i]);
}

Test(decimal, writes_plain_text_and_never_cuts_a_value)
{
	char buf[64], small[8];

	cr_assert_eq(tg_decimal_plain(0.05, 9, buf, sizeof buf), 4);
	cr_assert_str_eq(buf, "0.05");
	tg_decimal_plain(300, 9, buf, sizeof buf);
	cr_assert_str_eq(buf, "300");
	tg_decimal_plain(-0.0, 9, buf, sizeof buf);
	cr_assert_str_eq(buf, "0");
	tg_decimal_plain(1e308, 9, buf, sizeof buf);
	cr_assert_str_eq(buf, "1e+308");
	cr_assert_eq(tg_decimal_plain(1e20, 9, small, sizeof small), 5);
	cr_assert_str_eq(small, "1e+20");
	cr_assert_eq(tg_decimal_plain(12345678.5, 9, small, sizeof small), -1,
	             "no room for a form that reads back: refused, not cut");
	cr_assert_eq(tg_decimal_plain(0.1, 9, small, 2), -1);
	cr_assert_eq(tg_decimal_plain(NAN, 9, buf, sizeof buf), -1);
}

Test(decimal, writes_the_shortest_text_that_reads_back)
{
	char buf[48];
	double back;
	static const double v[] = { 0, 0.1, 1.0 / 3, 123456789.123456789, 1e9, 1e-9, 1e-10, 1e15,
	                            5e-324, 1.7976931348623157e308 };

	tg_decimal_shortest(300, buf, sizeof buf);
	cr_assert_str_eq(buf, "300");
	tg_decimal_shortest(0.25, buf, sizeof buf);
	cr_assert_str_eq(buf, "0.25");
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		cr_assert_gt(tg_decimal_shortest(v[i], buf, sizeof buf), 0);
		cr_assert_eq(tg_decimal_parse(buf, &back), 0, "%s", buf);
		cr_assert_eq(back, v[i], "%s", buf);
	}
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

Test(decimal, reads_and_writes_a_point_in_a_decimal_comma_locale)
{
	struct tg_policy p;
	char buf[TG_POLICY_LINE_MAX], err[256];

	if (!comma_locale())
		cr_skip_test("no locale with a decimal comma is installed");
	snprintf(buf, sizeof buf, "%.2f", 0.5);
	cr_assert_str_eq(buf, "0,50", "the locale is in effect");
	cr_assert_eq(parsed("0.25"), 0.25);
	cr_assert_eq(tg_decimal_parse("0,25", &p.limit_usd), -1);
	tg_decimal_plain(0.125, 9, buf, sizeof buf);
	cr_assert_str_eq(buf, "0.125");
	tg_decimal_snprintf(buf, sizeof buf, "%.1f%%", 12.5);
	cr_assert_str_eq(buf, "12.5%");
	cr_assert_eq(tg_policy_parse("global,day,usd=0.25,block", &p, err, sizeof err), 0, "%s", err);
	cr_assert_eq(p.limit_usd, 0.25);
	p.limit_usd = 1.0 / 3;
	cr_assert_gt(tg_policy_format(&p, buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "global,day,usd=0.3333333333333333,block");
	snprintf(buf, sizeof buf, "%.2f", 0.5);
	cr_assert_str_eq(buf, "0,50", "the caller's locale is left as it was");
}

Test(decimal, caps_limits_at_what_can_be_printed_and_summed)
{
	struct tg_policy p;
	char err[256];

	cr_assert_eq(tg_policy_parse("global,day,usd=1e9,tokens=1000000000M,block", &p, err,
	                             sizeof err), 0, "%s", err);
	cr_assert_eq(p.limit_usd, TG_POLICY_USD_MAX);
	cr_assert_eq(p.limit_tokens, TG_POLICY_TOKENS_MAX);
}
