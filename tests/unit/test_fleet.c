/* test_fleet.c - fleet policies (policy.h's word fleet) and the overlay of
 * the other machines' spend (ledger/ledger_fleet.c): the syntax and its
 * refusals, the overlay's and the sync state's storage, the judgement of
 * freshness, the spend a fleet policy counts (local + others of the same
 * window) and the decision it leads to. */
#include <criterion/criterion.h>
#include <string.h>

#include "policy.h"
#include "policy_decide.h"
#include "fixture.h"
#include "ledger_budget.h"
#include "ledger_fleet.h"

#define US INT64_C(1000000)
#define DAY (86400 * US)

static struct tg_policy parse_ok(const char *spec)
{
	struct tg_policy p;
	char err[256] = "";

	cr_assert_eq(tg_policy_parse(spec, &p, err, sizeof err), 0, "%s: %s", spec, err);
	return p;
}

static void round_trip(const char *spec, const char *want)
{
	struct tg_policy p = parse_ok(spec), q;
	char line[TG_POLICY_LINE_MAX], err[256];

	cr_assert(p.fleet);
	cr_assert_gt(tg_policy_format(&p, line, sizeof line), 0);
	cr_assert_str_eq(line, want);
	cr_assert_eq(tg_policy_parse(line, &q, err, sizeof err), 0, "%s: %s", line, err);
	cr_assert_eq(memcmp(&p, &q, sizeof p), 0, "%s -> %s", spec, line);
}

Test(fleet, the_word_fleet_round_trips_with_every_shared_window)
{
	round_trip("tag:team=search,day,usd=50,block,fleet", "tag:team=search,day,usd=50,block,fleet");
	round_trip("global, fleet ,month,tokens=2M,warn,name=f", "global,month,tokens=2000000,warn,fleet,name=f");
	round_trip("model:gpt-4o,fleet,day@Europe/Berlin,usd=1,clamp",
	           "model:gpt-4o,day@Europe/Berlin,usd=1,clamp,fleet");
	round_trip("provider:openai,month@Asia/Kolkata,usd=1,block,fleet,unpriced=allow",
	           "provider:openai,month@Asia/Kolkata,usd=1,block,unpriced=allow,fleet");
	round_trip("tag:team=ads,24h,usd=10,block,fleet", "tag:team=ads,24h,usd=10,block,fleet");
	round_trip("tag:user=*,day,usd=5,block,fleet", "tag:user=*,day,usd=5,block,fleet");
	cr_assert_not(parse_ok("global,day,usd=1,block").fleet);
}

static void parse_fails(const char *spec, const char *want)
{
	struct tg_policy p;
	char err[512] = "";

	cr_assert_eq(tg_policy_parse(spec, &p, err, sizeof err), -1, "%s was accepted", spec);
	cr_assert_not_null(strstr(err, want), "%s: got \"%s\", want \"%s\"", spec, err, want);
}

Test(fleet, refuses_windows_and_scopes_the_machines_cannot_share)
{
	parse_fails("global,session,usd=1,block,fleet", "fleet: a session window is the life of one process");
	parse_fails("global,day,usd=1,block,fleet,fleet", "fleet given twice");
	parse_fails("global,day,usd=1,block,fleets", "unknown field \"fleets\"");
}

Test(fleet, key_names_scope_and_window)
{
	struct tg_policy p = parse_ok("tag:team=search,day@Europe/Berlin,usd=1,block,fleet");
	char key[TG_FLEET_KEY_MAX];

	cr_assert_gt(tg_fleet_key(&p, key, sizeof key), 0);
	cr_assert_str_eq(key, "fleet:tag:team=search|day@Europe/Berlin");
	p = parse_ok("model:GPT-4o,month,usd=1,block,fleet");
	cr_assert_gt(tg_fleet_key(&p, key, sizeof key), 0);
	cr_assert_str_eq(key, "fleet:model:gpt-4o|month");
	cr_assert_eq(tg_fleet_key(&p, key, 10), -1);
	/* tag:KEY=*: the marker's key; bound to a value, the value's */
	p = parse_ok("tag:user=*,day,usd=5,block,fleet");
	cr_assert_gt(tg_fleet_key(&p, key, sizeof key), 0);
	cr_assert_str_eq(key, "fleet:tag:user=*|day");
}

static struct tg_ledger *new_ledger(char *dir, size_t n);

/* A value of a tag:KEY=* fleet policy: its own overlay when a machine
 * spent on it; else, while the policy's marker is fresh, zero others
 * (never "stale", which fail=closed would turn into a refusal). */
Test(fleet, a_value_counts_its_overlay_or_zero_others_under_a_fresh_marker)
{
	char dir[256], mkey[TG_FLEET_KEY_MAX], akey[TG_FLEET_KEY_MAX];
	struct tg_ledger *l = new_ledger(dir, sizeof dir);
	struct tg_policy each = parse_ok("tag:user=*,day,usd=5,block,fleet,name=per-user"), b[2];
	struct tg_call alice = { "openai", "gpt-4.1", "gpt-4.1", "t", "user=alice", NULL };
	struct tg_call bob = { "openai", "gpt-4.1", "gpt-4.1", "t", "user=bob", NULL };
	int64_t now = 20000 * DAY + 12 * 3600 * US;
	struct tg_record r = tgt_record(now - 60 * US, "openai", "gpt-4.1", "t", "user=alice", 10, 10,
	                                1.0, 0);
	struct tg_fleet_overlay o[2] = { { 20000 * DAY, now - US, 5 * US, 3000000, 0, 500 },
	                                 { 20000 * DAY, now - US, 5 * US, 0, 0, 0 } };
	struct tg_fleet_sync s = { now - US, now - US, US, 5 * US, 1, "", "x" };
	const char *keys[2] = { akey, mkey };
	struct tg_spend sp[2];

	tgt_put_record(l, &r);
	cr_assert_eq(tg_policy_bind(&each, &alice, &b[0]), 1);
	cr_assert_eq(tg_policy_bind(&each, &bob, &b[1]), 1);
	/* no pull yet: both missing */
	cr_assert_eq(tg_ledger_spend_many(l, b, 2, now, sp), 0);
	cr_assert_eq(sp[0].fleet, TG_FLEET_MISSING);
	cr_assert_eq(sp[1].fleet, TG_FLEET_MISSING);
	cr_assert_gt(tg_fleet_key(&b[0], akey, sizeof akey), 0);
	cr_assert_str_eq(akey, "fleet:tag:user=alice|day");
	cr_assert_gt(tg_fleet_key(&each, mkey, sizeof mkey), 0);
	cr_assert_eq(tg_fleet_put(l, keys, o, 2, &s), 0);
	cr_assert_eq(tg_ledger_spend_many(l, b, 2, now, sp), 0);
	/* alice: her local dollar and the others' three */
	cr_assert_eq(sp[0].fleet, TG_FLEET_FRESH);
	cr_assert_float_eq(sp[0].usd, 4.0, 1e-9);
	cr_assert_eq(sp[0].tokens, 520);
	/* bob: nobody spent on him, and the marker is fresh */
	cr_assert_eq(sp[1].fleet, TG_FLEET_FRESH);
	cr_assert_float_eq(sp[1].usd, 0, 1e-12);
	cr_assert_eq(sp[1].fleet_usd, 0);
	/* the marker gone stale: bob's totals are stale, not zero */
	cr_assert_eq(tg_ledger_spend_many(l, b, 2, now + 6 * US, sp), 0);
	cr_assert_eq(sp[1].fleet, TG_FLEET_STALE);
	cr_assert_eq(sp[0].fleet, TG_FLEET_STALE);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

Test(fleet, judges_fresh_stale_missing_and_other_windows)
{
	struct tg_fleet_overlay o = { 10 * DAY, 10 * DAY + 100 * US, 5 * US, 2500000, 500000, 77 }, c;

	cr_assert_eq(tg_fleet_judge(NULL, 10 * DAY, 10 * DAY + 200 * US, &c), TG_FLEET_MISSING);
	cr_assert(c.usd_micro == 0 && c.tokens == 0 && c.pulled_us == 0);
	/* within the bound, same window: the others count */
	cr_assert_eq(tg_fleet_judge(&o, 10 * DAY, 10 * DAY + 105 * US, &c), TG_FLEET_FRESH);
	cr_assert(c.usd_micro == 2500000 && c.estimated_micro == 500000 && c.tokens == 77);
	cr_assert_eq(c.pulled_us, o.pulled_us);
	/* just past it: stale, nothing counts */
	cr_assert_eq(tg_fleet_judge(&o, 10 * DAY, 10 * DAY + 105 * US + 1, &c), TG_FLEET_STALE);
	cr_assert(c.usd_micro == 0 && c.tokens == 0 && c.pulled_us == o.pulled_us);
	/* the window turned since the pull: fresh, but zero others */
	cr_assert_eq(tg_fleet_judge(&o, 11 * DAY, 10 * DAY + 104 * US, &c), TG_FLEET_FRESH);
	cr_assert(c.usd_micro == 0 && c.tokens == 0);
	/* a pull from the future beyond the bound: a clock moved back */
	cr_assert_eq(tg_fleet_judge(&o, 10 * DAY, 10 * DAY + 94 * US, &c), TG_FLEET_STALE);
	cr_assert_eq(tg_fleet_judge(&o, 10 * DAY, 10 * DAY + 96 * US, &c), TG_FLEET_FRESH);
	o.fresh_us = 0;
	cr_assert_eq(tg_fleet_judge(&o, 10 * DAY, 10 * DAY + 100 * US, &c), TG_FLEET_STALE);
}

Test(fleet, overlay_encoding_is_48_bytes_and_checked)
{
	struct tg_fleet_overlay o = { -1, 2, 3, INT64_MAX, 5, 6 }, back;
	unsigned char buf[TG_FLEET_OVERLAY_LEN];

	tg_fleet_overlay_encode(&o, buf);
	cr_assert_eq(tg_fleet_overlay_decode(buf, sizeof buf, &back), 0);
	cr_assert_eq(memcmp(&o, &back, sizeof o), 0);
	cr_assert_eq(tg_fleet_overlay_decode(buf, sizeof buf - 1, &back), -1);
}

static struct tg_ledger *new_ledger(char *dir, size_t n)
{
	struct tg_ledger *l;

	cr_assert_not_null(tgt_tmpdir(dir, n, "tg-fleet"));
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	return l;
}

Test(fleet, overlay_and_sync_state_are_stored_in_one_write)
{
	char dir[256], key[TG_FLEET_KEY_MAX];
	struct tg_ledger *l = new_ledger(dir, sizeof dir);
	struct tg_policy p = parse_ok("global,day,usd=1,block,fleet");
	struct tg_fleet_overlay o = { DAY, DAY + 5, 5 * US, 1, 2, 3 }, back;
	struct tg_fleet_sync s = { 100, 200, US, 5 * US, 1, "boom: refused", "redis://h:1/0" }, sb;
	const char *keys[1] = { key };
	int has = 1;

	tg_fleet_key(&p, key, sizeof key);
	cr_assert_eq(tg_fleet_get(l, key, &back, &has), 0);
	cr_assert_eq(has, 0);
	cr_assert_eq(tg_fleet_sync_get(l, &sb, &has), 0);
	cr_assert_eq(has, 0);
	cr_assert_eq(tg_fleet_put(l, keys, &o, 1, &s), 0);
	cr_assert_eq(tg_fleet_get(l, key, &back, &has), 0);
	cr_assert(has && memcmp(&o, &back, sizeof o) == 0);
	cr_assert_eq(tg_fleet_sync_get(l, &sb, &has), 0);
	cr_assert(has);
	cr_assert(sb.last_ok_us == 100 && sb.last_try_us == 200 && sb.interval_us == US &&
	          sb.fresh_us == 5 * US && sb.policies == 1);
	cr_assert_str_eq(sb.error, "boom: refused");
	cr_assert_str_eq(sb.where, "redis://h:1/0");
	/* a state alone (a failed round) leaves the overlay as it was */
	s.error[0] = '\0';
	cr_assert_eq(tg_fleet_put(l, NULL, NULL, 0, &s), 0);
	cr_assert_eq(tg_fleet_get(l, key, &back, &has), 0);
	cr_assert(has && back.tokens == 3);
	cr_assert_eq(tg_fleet_sync_get(l, &sb, &has), 0);
	cr_assert_str_eq(sb.error, "");
	/* only fleet keys */
	keys[0] = "watermark:x";
	cr_assert_eq(tg_fleet_put(l, keys, &o, 1, &s), TG_EINVAL);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

/* A ledger with $1.50 and 300 tokens spent locally today (of which $0.50
 * an estimate), a fleet policy of $4, and an overlay of others. */
Test(fleet, spend_is_local_plus_the_others_of_the_same_window_when_fresh)
{
	char dir[256], key[TG_FLEET_KEY_MAX];
	struct tg_ledger *l = new_ledger(dir, sizeof dir);
	struct tg_policy p[2] = { parse_ok("global,day,usd=4,block,fleet,name=f"),
	                          parse_ok("global,day,usd=4,block,name=local") };
	int64_t now = 20000 * DAY + 12 * 3600 * US;
	struct tg_record r1 = tgt_record(now - 60 * US, "openai", "gpt-4.1", "t", "", 100, 100, 1.0, 0);
	struct tg_record r2 = tgt_record(now - 30 * US, "openai", "gpt-4.1", "t", "", 50, 50, 0.5,
	                                 TG_REC_COST_ESTIMATE);
	struct tg_fleet_overlay o = { 20000 * DAY, now - US, 5 * US, 2000000, 250000, 1000 };
	struct tg_fleet_sync s = { now - US, now - US, US, 5 * US, 1, "", "x" };
	const char *keys[1] = { key };
	struct tg_spend sp[2];

	tgt_put_record(l, &r1);
	tgt_put_record(l, &r2);
	/* no overlay yet: local only, missing */
	cr_assert_eq(tg_ledger_spend_many(l, p, 2, now, sp), 0);
	cr_assert_eq(sp[0].fleet, TG_FLEET_MISSING);
	cr_assert_eq(sp[1].fleet, TG_FLEET_NOT);
	cr_assert_float_eq(sp[0].usd, 1.5, 1e-9);
	cr_assert_eq(sp[0].tokens, 300);
	tg_fleet_key(&p[0], key, sizeof key);
	cr_assert_eq(tg_fleet_put(l, keys, &o, 1, &s), 0);
	cr_assert_eq(tg_ledger_spend_many(l, p, 2, now, sp), 0);
	cr_assert_eq(sp[0].fleet, TG_FLEET_FRESH);
	cr_assert_float_eq(sp[0].usd, 3.5, 1e-9);
	cr_assert_float_eq(sp[0].usd_estimated, 0.75, 1e-9);
	cr_assert_eq(sp[0].tokens, 1300);
	cr_assert_float_eq(sp[0].fleet_usd, 2.0, 1e-12);
	cr_assert_eq(sp[0].fleet_tokens, 1000);
	cr_assert_eq(sp[0].fleet_pulled_us, now - US);
	cr_assert_float_eq(sp[1].usd, 1.5, 1e-9);   /* not fleet: the overlay is not its */
	cr_assert_eq(sp[1].fleet, TG_FLEET_NOT);
	/* the same policy by the gate's rule: 3.5 of 4 allows; one more local dollar blocks */
	{
		struct tg_decide_call c = { "gpt-4.1", -1, 1, NULL, NULL, 0 };
		struct tg_policy_verdict v;
		struct tg_record r3 = tgt_record(now - 10 * US, "openai", "gpt-4.1", "t", "", 1, 1, 0.5, 0);

		tg_policy_decide(&p[0], &sp[0], &c, &v);
		cr_assert_eq(v.verdict, TG_VERDICT_ALLOW);
		tgt_put_record(l, &r3);
		cr_assert_eq(tg_ledger_spend_many(l, p, 1, now, sp), 0);
		tg_policy_decide(&p[0], &sp[0], &c, &v);
		cr_assert_eq(v.verdict, TG_VERDICT_BLOCK);
		/* unpriced=allow leaves the others' estimated part out too */
		p[0].unpriced = TG_UNPRICED_ALLOW;
		tg_policy_decide(&p[0], &sp[0], &c, &v);
		cr_assert_float_eq(v.spend.usd, 4.0 - 0.75, 1e-9);
		cr_assert_eq(v.verdict, TG_VERDICT_ALLOW);
		p[0].unpriced = TG_UNPRICED_ESTIMATE;
	}
	/* 6 s later the overlay is stale: local only */
	cr_assert_eq(tg_ledger_spend_many(l, p, 1, now + 6 * US, sp), 0);
	cr_assert_eq(sp[0].fleet, TG_FLEET_STALE);
	cr_assert_float_eq(sp[0].usd, 2.0, 1e-9);
	cr_assert_eq(sp[0].fleet_usd, 0);
	/* an overlay of yesterday's window counts as zero others */
	o.window_start_us -= DAY;
	cr_assert_eq(tg_fleet_put(l, keys, &o, 1, &s), 0);
	cr_assert_eq(tg_ledger_spend_many(l, p, 1, now, sp), 0);
	cr_assert_eq(sp[0].fleet, TG_FLEET_FRESH);
	cr_assert_float_eq(sp[0].usd, 2.0, 1e-9);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

/* Without fresh totals: the local spend decides with fail open (and says
 * so), closed blocks whatever the spend; fresh totals say nothing. */
Test(fleet, stale_totals_follow_the_fail_mode)
{
	struct tg_policy p = parse_ok("global,day,usd=4,block,fleet,name=f");
	struct tg_policy local = parse_ok("global,day,usd=4,block,name=l");
	struct tg_decide_call open = { "gpt-4.1", -1, 1, NULL, NULL, 0 }, closed = open;
	struct tg_spend s = { .usd = 1, .fleet = TG_FLEET_STALE };
	struct tg_policy_verdict v;

	closed.fail_closed = 1;
	for (int state = TG_FLEET_STALE; state <= TG_FLEET_MISSING; state++) {
		s.fleet = state;
		tg_policy_decide(&p, &s, &open, &v);
		cr_assert_eq(v.verdict, TG_VERDICT_ALLOW);
		cr_assert_not_null(v.fleet_note);
		cr_assert_not_null(strstr(v.fleet_note, "TOKENGUARD_FAIL=open"));
		tg_policy_decide(&p, &s, &closed, &v);
		cr_assert_eq(v.verdict, TG_VERDICT_BLOCK);
		cr_assert_eq(v.reason, TG_BLOCK_FLEET_STALE);
		/* the local part still enforces when open */
		s.usd = 4;
		tg_policy_decide(&p, &s, &open, &v);
		cr_assert_eq(v.verdict, TG_VERDICT_BLOCK);
		cr_assert_eq(v.reason, TG_BLOCK_OVER);
		s.usd = 1;
	}
	s.fleet = TG_FLEET_FRESH;
	tg_policy_decide(&p, &s, &closed, &v);
	cr_assert_eq(v.verdict, TG_VERDICT_ALLOW);
	cr_assert_null(v.fleet_note);
	/* not a fleet policy: the overlay's state is none of its business */
	s.fleet = TG_FLEET_NOT;
	tg_policy_decide(&local, &s, &closed, &v);
	cr_assert_eq(v.verdict, TG_VERDICT_ALLOW);
	cr_assert_null(v.fleet_note);
}
