/* test_budget_pervalue.c - tag:KEY=* policies: every value of a tag with
 * its own limit.  The syntax and its round trip, which calls such a
 * policy governs and how it is bound to a call's value, the spend the
 * ledger gives a bound policy (and the values it lists), alerts once per
 * value, the decision for user=alice against user=bob, and the bounded
 * table of session spend per value in the gate. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "policy_decide.h"
#include "fixture.h"
#include "gate.h"
#include "ledger_budget.h"

#define US INT64_C(1000000)
#define HOUR (3600 * US)
#define NOV22 (INT64_C(1795305600) * US)  /* 2026-11-22T00:00:00Z */

static struct tg_policy pol(const char *spec)
{
	struct tg_policy p;
	char err[256] = "";

	cr_assert_eq(tg_policy_parse(spec, &p, err, sizeof err), 0, "%s: %s", spec, err);
	return p;
}

static struct tg_call call_tagged(const char *tags)
{
	return (struct tg_call){ .provider = "openai", .model = "gpt-4o", .model_family = "gpt-4o",
	                         .process = "python3", .tags = tags };
}

Test(pervalue, parses_a_star_value_as_every_value_of_the_key)
{
	struct tg_policy p = pol("tag:user=*,day,usd=5,block");

	cr_assert_eq(p.scope, TG_SCOPE_TAG);
	cr_assert_eq(p.per_value, TG_VALUE_EACH);
	cr_assert_str_eq(p.scope_value, "user=*");
	cr_assert_eq(pol("tag:user=alice,day,usd=5,block").per_value, TG_VALUE_FIXED);
	cr_assert_eq(pol("tag:user=*x,day,usd=5,block").per_value, TG_VALUE_FIXED);
	cr_assert_eq(pol("tag:user=x*,day,usd=5,block").per_value, TG_VALUE_FIXED);
	cr_assert_eq(pol("global,day,usd=5,block").per_value, TG_VALUE_FIXED);
}

Test(pervalue, formats_back_to_the_same_line)
{
	static const char *const lines[] = {
		"tag:user=*,day,usd=5,block",
		"tag:user=*,month,usd=25,tokens=2000000,warn,alert=50,name=per-user",
		"tag:tenant.id=*,session,tokens=1000,clamp,fallback=warn",
		"tag:user=*,24h,usd=1,downgrade:gpt-4o-mini",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct tg_policy p = pol(lines[i]), back;
		char buf[TG_POLICY_LINE_MAX], err[256];

		cr_assert_gt(tg_policy_format(&p, buf, sizeof buf), 0);
		cr_assert_str_eq(buf, lines[i]);
		cr_assert_eq(tg_policy_parse(buf, &back, err, sizeof err), 0, "%s", err);
		cr_assert_eq(memcmp(&back, &p, sizeof p), 0, "%s does not read back the same", buf);
	}
}

Test(pervalue, reads_from_the_environment_like_any_policy)
{
	struct tg_policy ps[4];
	char err[256];
	int n = 0;

	cr_assert_eq(tg_policies_parse_env("tag:user=*,day,usd=5,block;global,month,usd=9,warn",
	                                   ps, 4, &n, err, sizeof err), 0, "%s", err);
	cr_assert_eq(n, 2);
	cr_assert_eq(ps[0].per_value, TG_VALUE_EACH);
	cr_assert_str_eq(ps[0].name, "env1");
	cr_assert_eq(ps[1].per_value, TG_VALUE_FIXED);
}

Test(pervalue, governs_a_call_with_the_key_whatever_its_value)
{
	struct tg_policy p = pol("tag:user=*,day,usd=5,block");
	struct tg_call alice = call_tagged("team=x,user=alice"), bob = call_tagged("user=bob");
	struct tg_call none = call_tagged("team=x"), empty = call_tagged("user="),
	               longer = call_tagged("username=alice,users=bob"), null = call_tagged(NULL);

	cr_assert_eq(tg_policy_matches(&p, &alice), 1);
	cr_assert_eq(tg_policy_matches(&p, &bob), 1);
	cr_assert_eq(tg_policy_matches(&p, &none), 0, "a call without the tag is not governed");
	cr_assert_eq(tg_policy_matches(&p, &empty), 0, "an empty value is no value");
	cr_assert_eq(tg_policy_matches(&p, &longer), 0, "only the exact key");
	cr_assert_eq(tg_policy_matches(&p, &null), 0);
}

Test(pervalue, binds_to_the_calls_value)
{
	struct tg_policy p = pol("tag:user=*,day,usd=5,block,name=per-user"), a, b, f;
	struct tg_call alice = call_tagged("team=x,user=alice"), bob = call_tagged("user=bob,team=x");
	char key[TG_SCOPE_KEY_MAX];

	cr_assert_eq(tg_policy_bind(&p, &alice, &a), 1);
	cr_assert_eq(tg_policy_bind(&p, &bob, &b), 1);
	cr_assert_eq(a.per_value, TG_VALUE_BOUND);
	cr_assert_str_eq(a.scope_value, "user=alice");
	cr_assert_str_eq(a.name, "per-user");
	cr_assert_str_eq(tg_policy_value(&a), "alice");
	cr_assert_str_eq(tg_policy_value(&b), "bob");
	cr_assert_eq(tg_policy_scope_key(&a, key, sizeof key), (int)strlen("tag:user=alice"));
	cr_assert_str_eq(key, "tag:user=alice");
	cr_assert_eq(tg_policy_scope_key(&b, key, sizeof key), (int)strlen("tag:user=bob"));
	cr_assert_str_eq(key, "tag:user=bob");
	/* bound, it governs that value's calls only */
	cr_assert_eq(tg_policy_matches(&a, &alice), 1);
	cr_assert_eq(tg_policy_matches(&a, &bob), 0);
	/* unbound, it has no one scope */
	cr_assert_eq(tg_policy_scope_key(&p, key, sizeof key), -1);
	cr_assert_str_eq(tg_policy_value(&p), "");
	cr_assert_eq(tg_policy_each_key(&p, key, sizeof key), 4);
	cr_assert_str_eq(key, "user");
	cr_assert_eq(tg_policy_each_key(&a, key, sizeof key), -1);
	/* a fixed policy binds as itself; a call it does not govern, not at all */
	struct tg_policy fixed = pol("tag:team=x,day,usd=5,block");
	cr_assert_eq(tg_policy_bind(&fixed, &alice, &f), 1);
	cr_assert_eq(memcmp(&f, &fixed, sizeof f), 0);
	struct tg_call none = call_tagged("team=y");
	cr_assert_eq(tg_policy_bind(&p, &none, &f), 0);
	/* a call's tags are a map: the first item of a key is its value */
	struct tg_call twice = call_tagged("userx=z,user=carol,user=dave");
	cr_assert_eq(tg_policy_bind(&p, &twice, &f), 1);
	cr_assert_str_eq(tg_policy_value(&f), "carol");
	cr_assert_eq(tg_policy_bind(&fixed, &none, &f), 0);
}

/* ---- the ledger ---- */

static char dir[64];

static void setup(void)
{
	tgt_tmpdir(dir, sizeof dir, "tg-pervalue-test");
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

static struct tg_ledger *open_rw(void)
{
	struct tg_ledger *l;

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	return l;
}

static void put(struct tg_ledger *l, int64_t ts, const char *tags, double cost)
{
	struct tg_record r = tgt_record(ts, "openai", "gpt-4o", "python3", tags, 100, 10, cost, 0);

	r.pid = 1;
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "gpt-4o"), 0);
}

static struct tg_spend spend_of(struct tg_ledger *l, const struct tg_policy *p, int64_t now)
{
	struct tg_spend s;

	cr_assert_eq(tg_ledger_spend(l, p, now, &s), 0);
	return s;
}

static int list_value(void *ctx, const char *value)
{
	char *out = ctx;

	strcat(out, value);
	strcat(out, ";");
	return 0;
}

Test(pervalue_ledger, reads_the_spend_of_the_calls_value, .init = setup, .fini = teardown)
{
	struct tg_ledger *l = open_rw();
	struct tg_policy p = pol("tag:user=*,day,usd=5,block,name=per-user"), a, b, c;
	struct tg_call alice = call_tagged("user=alice"), bob = call_tagged("user=bob"),
	               carol = call_tagged("user=carol");
	int64_t t = NOV22 + 10 * HOUR;

	put(l, t, "user=alice", 1.5);
	put(l, t + 1, "team=x,user=alice", 2.0);
	put(l, t + 2, "user=bob", 0.25);
	put(l, t + 3, "team=x", 7.0);       /* no user: in no value's spend */
	put(l, t - 24 * HOUR, "user=alice", 9.0);   /* the day before */
	cr_assert_eq(tg_policy_bind(&p, &alice, &a), 1);
	cr_assert_eq(tg_policy_bind(&p, &bob, &b), 1);
	cr_assert_eq(tg_policy_bind(&p, &carol, &c), 1);

	struct tg_spend sa = spend_of(l, &a, t + HOUR), sb = spend_of(l, &b, t + HOUR),
	                sc = spend_of(l, &c, t + HOUR), sp = spend_of(l, &p, t + HOUR);
	cr_assert_eq(sa.usd, 3.5);
	cr_assert_eq(sa.calls, 2);
	cr_assert_eq(sa.tokens, 220);
	cr_assert_eq(sb.usd, 0.25);
	cr_assert_eq(sb.calls, 1);
	cr_assert_eq(sc.usd, 0);
	cr_assert_eq(sc.calls, 0);
	/* unbound it has no spend, but its window */
	cr_assert_eq(sp.usd, 0);
	cr_assert_eq(sp.calls, 0);
	cr_assert_eq(sp.window_start_us, NOV22);

	struct tg_policy m = pol("tag:user=*,month,usd=50,warn"), am;
	cr_assert_eq(tg_policy_bind(&m, &alice, &am), 1);
	cr_assert_eq(spend_of(l, &am, t + HOUR).usd, 12.5);

	char values[256] = "";
	cr_assert_eq(tg_ledger_tag_values(l, "user", list_value, values), 0);
	cr_assert_str_eq(values, "alice;bob;");
	values[0] = '\0';
	cr_assert_eq(tg_ledger_tag_values(l, "team", list_value, values), 0);
	cr_assert_str_eq(values, "x;");
	values[0] = '\0';
	cr_assert_eq(tg_ledger_tag_values(l, "use", list_value, values), 0);
	cr_assert_str_eq(values, "", "a key is not a prefix of another");
	tg_ledger_close(l);
}

Test(pervalue_ledger, lists_each_value_once_past_the_empty_one, .init = setup, .fini = teardown)
{
	struct tg_ledger *l = open_rw();
	int64_t t = NOV22 + 10 * HOUR;
	char values[256] = "";

	put(l, t, "user=", 1);
	put(l, t, "user=b", 1);
	put(l, t + HOUR, "user=b", 1);      /* a second hour bucket of b */
	put(l, t + 2 * HOUR, "user=a b", 1);
	put(l, t, "user=ab", 1);
	put(l, t, "userx=z", 1);
	cr_assert_eq(tg_ledger_tag_values(l, "user", list_value, values), 0);
	cr_assert_str_eq(values, "a b;ab;b;");
	tg_ledger_close(l);
}

static struct tg_alert alert_for(const char *value, int level)
{
	struct tg_alert a;

	memset(&a, 0, sizeof a);
	a.ts_us = NOV22 + HOUR;
	snprintf(a.policy, sizeof a.policy, "per-user");
	a.level = level;
	a.limit_usd = 5;
	a.limit_tokens = -1;
	a.window_start_us = NOV22;
	a.pid = 7;
	snprintf(a.tag_value, sizeof a.tag_value, "%s", value);
	return a;
}

static int collect_alert(void *ctx, const struct tg_alert *a)
{
	char *out = ctx;

	strcat(out, a->tag_value[0] ? a->tag_value : "-");
	strcat(out, ";");
	return 0;
}

Test(pervalue_ledger, alerts_once_per_policy_value_and_window, .init = setup, .fini = teardown)
{
	struct tg_ledger *l = open_rw();
	struct tg_alert alice = alert_for("alice", TG_ALERT_LIMIT), bob = alert_for("bob", TG_ALERT_LIMIT),
	                none = alert_for("", TG_ALERT_LIMIT), next = alert_for("alice", TG_ALERT_LIMIT);
	char got[256] = "";

	next.window_start_us += 24 * HOUR;
	cr_assert_eq(tg_ledger_alert_once(l, &alice), 1);
	cr_assert_eq(tg_ledger_alert_once(l, &alice), 0, "the same value is said once");
	cr_assert_eq(tg_ledger_alert_once(l, &bob), 1, "another value is said too");
	cr_assert_eq(tg_ledger_alert_once(l, &bob), 0);
	cr_assert_eq(tg_ledger_alert_once(l, &none), 1, "a fixed policy's key is apart");
	cr_assert_eq(tg_ledger_alert_once(l, &next), 1, "the next window is said again");
	cr_assert_eq(tg_ledger_alerts(l, 0, collect_alert, got), 0);
	cr_assert_str_eq(got, "alice;bob;-;alice;", "the value is kept with the alert");
	tg_ledger_close(l);
}

/* ---- the decision for two values of one policy ---- */

Test(pervalue_ledger, blocks_alice_over_her_limit_and_lets_bob_through, .init = setup,
     .fini = teardown)
{
	struct tg_ledger *l = open_rw();
	struct tg_policy p = pol("tag:user=*,day,usd=5,block,name=per-user"), bound;
	struct tg_call alice = call_tagged("user=alice"), bob = call_tagged("user=bob");
	struct tg_decide_call dc = { .model = "gpt-4o", .max_tokens = -1, .can_rewrite = 1 };
	struct tg_gate_result out;
	struct tg_policy_verdict v;
	int64_t t = NOV22 + 10 * HOUR;

	put(l, t, "user=alice", 3.0);
	put(l, t + 1, "user=alice", 2.0);
	put(l, t + 2, "user=bob", 4.99);

	cr_assert_eq(tg_policy_bind(&p, &alice, &bound), 1);
	struct tg_spend s = spend_of(l, &bound, t + HOUR);
	tg_policy_decide(&bound, &s, &dc, &v);
	cr_assert_eq(v.verdict, TG_VERDICT_BLOCK, "alice spent $5 of $5");
	cr_assert(v.alerts & (1u << TG_ALERT_LIMIT));
	memset(&out, 0, sizeof out);
	out.new_max_tokens = -1;
	cr_assert_eq(tg_verdict_merge(&out, &bound, &v), 1);
	cr_assert_str_eq(out.policy, "per-user", "the block carries the policy's name");

	cr_assert_eq(tg_policy_bind(&p, &bob, &bound), 1);
	s = spend_of(l, &bound, t + HOUR);
	tg_policy_decide(&bound, &s, &dc, &v);
	cr_assert_eq(v.verdict, TG_VERDICT_ALLOW, "bob spent $4.99 of $5");
	cr_assert(v.alerts & (1u << TG_ALERT_THRESHOLD));
	tg_ledger_close(l);
}

/* ---- the gate's session spend per value ---- */

static void account(const char *tags, double cost)
{
	struct tg_record r = tgt_record(NOV22, "openai", "gpt-4o", "python3", tags, 10, 1, cost, 0);

	tg_gate_account(&r, "gpt-4o");
}

Test(pervalue_gate, keeps_session_spend_per_value_in_a_bounded_table)
{
	double usd;
	int64_t calls;
	char tags[64];

	tg_gate_atfork_child();
	tg_gate_configure("tag:user=*,session,usd=1,block,name=s;global,session,usd=9,warn,name=g",
	                  NULL);
	account("user=alice", 0.5);
	account("user=alice", 0.25);
	account("user=bob", 0.125);
	account("team=x", 2);   /* no user: only the global policy */
	cr_assert_eq(tg_gate_session_spend("s", "alice", &usd, &calls), 0);
	cr_assert_eq(usd, 0.75);
	cr_assert_eq(calls, 2);
	cr_assert_eq(tg_gate_session_spend("s", "bob", &usd, &calls), 0);
	cr_assert_eq(usd, 0.125);
	cr_assert_eq(tg_gate_session_spend("g", "", &usd, &calls), 0);
	cr_assert_eq(usd, 2.875);
	cr_assert_eq(calls, 4);
	cr_assert_eq(tg_gate_session_values(), 2);

	/* 200 more values: the table stays at 64, the oldest forgotten */
	for (int i = 0; i < 200; i++) {
		snprintf(tags, sizeof tags, "user=u%d", i);
		account(tags, 0.01);
		cr_assert_leq(tg_gate_session_values(), 64);
	}
	cr_assert_eq(tg_gate_session_values(), 64);
	cr_assert_eq(tg_gate_session_spend("s", "alice", &usd, &calls), -1, "alice was forgotten");
	cr_assert_eq(tg_gate_session_spend("s", "u199", &usd, &calls), 0);
	cr_assert_eq(calls, 1);
	cr_assert_eq(tg_gate_session_spend("s", "u136", &usd, &calls), 0, "the last 64 are kept");
	cr_assert_eq(tg_gate_session_spend("s", "u135", &usd, &calls), -1);
	/* a value used again is kept over older ones */
	account("user=u136", 0.01);
	account("user=new", 0.01);
	cr_assert_eq(tg_gate_session_spend("s", "u136", &usd, &calls), 0);
	cr_assert_eq(calls, 2);
	cr_assert_eq(tg_gate_session_spend("s", "u137", &usd, &calls), -1);
	/* a forked child starts from nothing */
	tg_gate_atfork_child();
	cr_assert_eq(tg_gate_session_values(), 0);
	account("user=u199", 0.5);
	cr_assert_eq(tg_gate_session_spend("s", "u199", &usd, &calls), 0);
	cr_assert_eq(usd, 0.5);
	cr_assert_eq(calls, 1);
	tg_gate_configure(NULL, NULL);
}
