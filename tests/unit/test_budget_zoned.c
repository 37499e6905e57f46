/* test_budget_zoned.c - the spend of day@ZONE and month@ZONE windows
 * (ledger_budget.h): summed from day and hour buckets and the records of
 * partial hours, it must equal a record-by-record recount of the window
 * that tg_policy_bounds() gives, in zones with whole, half and
 * three-quarter hour offsets and across a DST change; resets too. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "ledger_budget.h"
#include "ledger_impl.h"
#include "price.h"
#include "zones.h"

#define US INT64_C(1000000)
#define HOUR (3600 * US)
#define DAY (24 * HOUR)
#define NOV22 (INT64_C(1795305600) * US)  /* 2026-11-22T00:00:00Z */
#define NREC 1500

static char dir[64];

static void setup(void)
{
	tgt_tmpdir(dir, sizeof dir, "tg-zoned-test");
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(budget_zoned, .init = setup, .fini = teardown);

struct kept {
	struct tg_record r;
	char family[TG_MODEL_MAX];
};

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* NREC records from early October (before Europe's DST ends on the 25th)
 * to early December, at any second, of a few providers, models and tags. */
static struct kept *fill(struct tg_ledger *l, const struct tg_prices *prices)
{
	static const char *const models[][2] = {
		{ "openai", "gpt-4o-2024-08-06" }, { "openai", "gpt-4o-mini" },
		{ "anthropic", "claude-3-5-sonnet-20241022" }, { "openai", "gpt-4o" },
	};
	static const char *const tags[] = { "team=a", "team=b,env=prod", "", "team=a,env=dev" };
	struct kept *k = calloc(NREC, sizeof *k);

	cr_assert(k);
	for (int i = 0; i < NREC; i++) {
		int64_t ts = NOV22 - 52 * DAY + (int64_t)(rnd() % (uint64_t)(62 * DAY / US)) * US;
		int m = (int)(rnd() % 4);
		uint32_t flags = rnd() % 23 == 0 ? TG_REC_BLOCKED : 0;

		k[i].r = tgt_record(ts, models[m][0], models[m][1], i % 3 ? "python3" : "node",
		                    tags[rnd() % 4], (int64_t)(rnd() % 5000), (int64_t)(rnd() % 900),
		                    (double)(rnd() % 100000) / 1e5, flags);
		k[i].r.pid = 1;
		snprintf(k[i].family, sizeof k[i].family, "%s", tgl_record_family(prices, &k[i].r));
		cr_assert_eq(tg_ledger_append_scoped(l, &k[i].r, k[i].family), 0);
	}
	return k;
}

/* The recount: every kept record in [start, end) that p governs, by the
 * rule of spend_rule.h. */
static void recount(const struct kept *k, const struct tg_policy *p, int64_t start, int64_t end,
                    struct tg_total *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < NREC; i++) {
		struct tg_call c = { k[i].r.provider, k[i].r.model, k[i].family, k[i].r.process,
		                     k[i].r.tags, NULL };
		struct tg_total a;

		if (k[i].r.ts_us < start || k[i].r.ts_us >= end || !tg_policy_matches(p, &c))
			continue;
		tg_total_of_record(&k[i].r, &a);
		tg_total_sum(out, &a);
	}
}

static struct tg_policy pol(const char *spec)
{
	struct tg_policy p;
	char err[256];

	cr_assert_eq(tg_policy_parse(spec, &p, err, sizeof err), 0, "%s: %s", spec, err);
	cr_assert_eq(tg_policy_zone_ready(&p, err, sizeof err), 0, "%s: %s", spec, err);
	return p;
}

Test(budget_zoned, spend_equals_a_recount_of_the_records)
{
	static const char *const zones[] = { "Asia/Kolkata", "Asia/Kathmandu", "Europe/Berlin",
	                                     "America/Los_Angeles", "Australia/Lord_Howe",
	                                     "Pacific/Chatham", "America/St_Johns", "UTC" };
	static const char *const scopes[] = { "global", "provider:openai", "model:gpt-4o",
	                                      "tag:team=a", "process:node" };
	static const char *const windows[] = { "day", "month" };
	/* Nows: mid-November, the DST change in Europe (Oct 25), the turn of
	 * a month in India and in Nepal, just after a local midnight. */
	const int64_t nows[] = { NOV22 + 13 * HOUR + 17 * 60 * US, INT64_C(1792886400) * US + 5 * HOUR,
	                         NOV22 + 8 * DAY + 18 * HOUR + 31 * 60 * US,
	                         NOV22 + 8 * DAY + 18 * HOUR + 14 * 60 * US,
	                         NOV22 - 22 * DAY + 23 * HOUR + 59 * 60 * US };
	struct tg_prices *prices;
	struct tg_ledger *l;
	struct kept *k;
	char err[256];
	int nonzero = 0, compared = 0;

	cr_assert_eq(tg_prices_load(&prices, NULL, err, sizeof err), 0, "%s", err);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	tg_ledger_set_prices(l, prices);
	k = fill(l, prices);
	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++)
	for (size_t s = 0; s < sizeof scopes / sizeof scopes[0]; s++)
	for (size_t w = 0; w < 2; w++)
	for (size_t n = 0; n < sizeof nows / sizeof nows[0]; n++) {
		char spec[160];
		struct tg_policy p;
		struct tg_spend got;
		struct tg_total want;
		int64_t start, end;

		snprintf(spec, sizeof spec, "%s,%s@%s,usd=1,block,name=p", scopes[s], windows[w],
		         zones[z]);
		p = pol(spec);
		cr_assert_eq(tg_policy_bounds(&p, nows[n], &start, &end), 0);
		recount(k, &p, start, end, &want);
		cr_assert_eq(tg_ledger_spend(l, &p, nows[n], &got), 0, "%s", spec);
		cr_assert_eq(got.window_start_us, start);
		cr_assert_eq(got.reset_us, end);
		cr_assert_eq(got.calls, want.calls, "%s at %lld: %lld calls, recount %lld", spec,
		             (long long)nows[n], (long long)got.calls, (long long)want.calls);
		cr_assert_eq(got.tokens, want.tokens, "%s: tokens", spec);
		cr_assert_float_eq(got.usd, want.usd, 1e-9, "%s: usd %.12f, recount %.12f", spec,
		                   got.usd, want.usd);
		nonzero += want.calls > 0;
		compared++;
	}
	cr_assert_eq(compared, 8 * 5 * 2 * 5);
	cr_assert_gt(nonzero, compared * 3 / 4);   /* the windows are not empty */
	tg_ledger_close(l);
	tg_prices_free(prices);
	free(k);
}

Test(budget_zoned, a_zoned_reset_counts_from_zero_until_the_local_midnight)
{
	struct tg_policy p = pol("global,day@Asia/Kolkata,usd=100,block,name=ist");
	int64_t now = NOV22 + 12 * HOUR;   /* 17:30 in India; the day began at 18:30Z on the 21st */
	struct tg_ledger *l;
	struct tg_spend s;
	struct tg_record r;

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	r = tgt_record(NOV22 - 5 * HOUR - 20 * 60 * US, "openai", "gpt-4o", "py", "", 10, 1, 1.0, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);   /* 18:40Z: in the window */
	r = tgt_record(NOV22 - 5 * HOUR - 40 * 60 * US, "openai", "gpt-4o", "py", "", 10, 1, 2.0, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);   /* 18:20Z: the day before */
	cr_assert_eq(tg_ledger_policy_put(l, &p), 0);
	cr_assert_eq(tg_ledger_spend(l, &p, now, &s), 0);
	cr_assert_float_eq(s.usd, 1.0, 1e-12);
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(tg_ledger_policy_reset(l, "ist", now), 0);
	cr_assert_eq(tg_ledger_spend(l, &p, now, &s), 0);
	cr_assert_float_eq(s.usd, 0.0, 1e-12);
	r = tgt_record(now + 60 * US, "openai", "gpt-4o", "py", "", 10, 1, 0.5, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);
	cr_assert_eq(tg_ledger_spend(l, &p, now + 120 * US, &s), 0);
	cr_assert_float_eq(s.usd, 0.5, 1e-12);
	cr_assert_eq(s.calls, 1);
	/* The next local day (from 18:30Z) starts from its real spend. */
	r = tgt_record(NOV22 + 18 * HOUR + 31 * 60 * US, "openai", "gpt-4o", "py", "", 10, 1, 0.25, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);
	cr_assert_eq(tg_ledger_spend(l, &p, NOV22 + 19 * HOUR, &s), 0);
	cr_assert_float_eq(s.usd, 0.25, 1e-12);
	cr_assert_eq(s.window_start_us, NOV22 + 18 * HOUR + 30 * 60 * US);
	tg_ledger_close(l);
}

/* The records of a partial hour are read once and kept while the hour's
 * bucket of the scope stays the same: a record of the scope added there
 * later counts at once, one of another scope changes nothing. */
Test(budget_zoned, a_partial_hour_read_once_still_sees_new_records)
{
	struct tg_policy p = pol("provider:openai,day@Asia/Kathmandu,usd=100,block,name=npt");
	int64_t start = NOV22 - 5 * HOUR - 45 * 60 * US;   /* 18:15Z on the 21st */
	int64_t now = NOV22 + 12 * HOUR;
	struct tg_ledger *l;
	struct tg_spend s;
	struct tg_record r;

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	r = tgt_record(start + 5 * 60 * US, "openai", "gpt-4o", "py", "", 10, 1, 1.0, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);
	r = tgt_record(start - 5 * 60 * US, "openai", "gpt-4o", "py", "", 10, 1, 2.0, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);   /* the day before */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(tg_ledger_spend(l, &p, now, &s), 0);
		cr_assert_eq(s.window_start_us, start);
		cr_assert_float_eq(s.usd, 1.0, 1e-12);
		cr_assert_eq(s.calls, 1);
	}
	r = tgt_record(start + 20 * 60 * US, "anthropic", "claude-3-5-haiku", "py", "", 10, 1, 4.0, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "claude-3-5-haiku"), 0);
	cr_assert_eq(tg_ledger_spend(l, &p, now, &s), 0);
	cr_assert_float_eq(s.usd, 1.0, 1e-12);
	r = tgt_record(start + 30 * 60 * US, "openai", "gpt-4o", "py", "", 10, 1, 0.5, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);
	cr_assert_eq(tg_ledger_spend(l, &p, now, &s), 0);
	cr_assert_float_eq(s.usd, 1.5, 1e-12);
	cr_assert_eq(s.calls, 2);
	r = tgt_record(start - 1 * US, "openai", "gpt-4o", "py", "", 10, 1, 8.0, 0);
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);   /* same hour, the day before */
	cr_assert_eq(tg_ledger_spend(l, &p, now, &s), 0);
	cr_assert_float_eq(s.usd, 1.5, 1e-12);
	tg_ledger_close(l);
}
