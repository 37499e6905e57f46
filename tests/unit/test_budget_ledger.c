/* test_budget_ledger.c - budgets in the ledger: totals written with each
 * record, spend per window, reset baselines, stored policies, alerts once
 * across processes, and the upgrade of a schema 1 ledger. */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "ledger_budget.h"

#define US INT64_C(1000000)
#define HOUR (3600 * US)
#define DAY (24 * HOUR)
#define NOV22 (INT64_C(1795305600) * US)  /* 2026-11-22T00:00:00Z */

static char dir[64];

static void setup(void)
{
	tgt_tmpdir(dir, sizeof dir, "tg-budget-test");
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(budget_ledger, .init = setup, .fini = teardown);

static struct tg_ledger *open_rw(void)
{
	struct tg_ledger *l;

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	return l;
}

static void put(struct tg_ledger *l, int64_t ts, const char *provider, const char *model,
                const char *family, const char *process, const char *tags,
                int64_t in, int64_t out, double cost, uint32_t flags)
{
	struct tg_record r = tgt_record(ts, provider, model, process, tags, in, out, cost, flags);

	r.pid = 1;
	cr_assert_eq(tg_ledger_append_scoped(l, &r, family), 0);
}

static struct tg_policy pol(const char *spec)
{
	struct tg_policy p;
	char err[256];

	cr_assert_eq(tg_policy_parse(spec, &p, err, sizeof err), 0, "%s: %s", spec, err);
	return p;
}

static void spend_is(struct tg_ledger *l, const char *spec, int64_t now, double usd,
                     int64_t tokens, int64_t calls)
{
	struct tg_policy p = pol(spec);
	struct tg_spend s;

	cr_assert_eq(tg_ledger_spend(l, &p, now, &s), 0, "%s", spec);
	cr_assert_eq(s.usd, usd, "%s: usd %.17g, want %.17g", spec, s.usd, usd);
	cr_assert_eq(s.tokens, tokens, "%s: tokens %lld, want %lld", spec, (long long)s.tokens,
	             (long long)tokens);
	cr_assert_eq(s.calls, calls, "%s: calls %lld, want %lld", spec, (long long)s.calls,
	             (long long)calls);
}

static void fill(struct tg_ledger *l)
{
	int64_t t = NOV22 + 10 * HOUR;  /* 10:00 on the 22nd */

	put(l, t, "openai", "gpt-4o-2024-08-06", "gpt-4o", "python3", "team=search,env=prod",
	    1000, 100, 0.25, 0);
	put(l, t + 1, "openai", "gpt-4o", "gpt-4o", "python3", "team=search", 500, 50, 0.125, 0);
	put(l, t + 2, "anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5", "curl", "team=ads",
	    2000, -1, 0.5, TG_REC_STREAM);
	put(l, t + 3, "openai", "mystery", "", "curl", "", -1, -1, 0, TG_REC_USAGE_UNKNOWN);
	put(l, t + 4, "openai", "gpt-4o", "gpt-4o", "python3", "team=search", 0, 0, 0, TG_REC_BLOCKED);
	/* the day before, and the month before */
	put(l, t - DAY, "openai", "gpt-4o", "gpt-4o", "python3", "team=search", 10, 1, 1.0, 0);
	put(l, NOV22 - 30 * DAY, "openai", "gpt-4o", "gpt-4o", "python3", "team=search", 10, 1, 2.0, 0);
}

Test(budget_ledger, sums_each_scope_in_the_same_transaction_as_the_record)
{
	struct tg_ledger *l = open_rw();
	int64_t now = NOV22 + 10 * HOUR + 30 * 60 * US;

	fill(l);
	spend_is(l, "global,day,usd=1,block", now, 0.875, 3650, 4);
	spend_is(l, "provider:openai,day,usd=1,block", now, 0.375, 1650, 3);
	spend_is(l, "provider:OpenAI,day,usd=1,block", now, 0.375, 1650, 3);
	spend_is(l, "model:gpt-4o,day,usd=1,block", now, 0.375, 1650, 2);
	spend_is(l, "model:gpt-4o-2024-08-06,day,usd=1,block", now, 0.25, 1100, 1);
	spend_is(l, "model:mystery,day,usd=1,block", now, 0, 0, 1);
	spend_is(l, "model:claude-sonnet-4-5,day,usd=1,block", now, 0.5, 2000, 1);
	spend_is(l, "process:python3,day,usd=1,block", now, 0.375, 1650, 2);
	spend_is(l, "process:curl,day,usd=1,block", now, 0.5, 2000, 2);
	spend_is(l, "tag:team=search,day,usd=1,block", now, 0.375, 1650, 2);
	spend_is(l, "tag:env=prod,day,usd=1,block", now, 0.25, 1100, 1);
	spend_is(l, "tag:team=nobody,day,usd=1,block", now, 0, 0, 0);
	spend_is(l, "tag:team=search,month,usd=1,block", now, 1.375, 1661, 3);
	spend_is(l, "tag:team=search,24h,usd=1,block", now, 1.375, 1661, 3);
	spend_is(l, "tag:team=search,24h,usd=1,block", now + 2 * HOUR, 0.375, 1650, 2);
	tg_ledger_close(l);
}

Test(budget_ledger, evaluates_many_policies_in_one_read)
{
	struct tg_ledger *l = open_rw();
	struct tg_policy p[3] = {
		pol("global,month,usd=10,block"), pol("global,session,usd=1,block"),
		pol("provider:anthropic,24h,tokens=5000,warn"),
	};
	struct tg_spend s[3];
	int64_t now = NOV22 + 11 * HOUR;

	fill(l);
	cr_assert_eq(tg_ledger_spend_many(l, p, 3, now, s), 0);
	cr_assert_eq(s[0].usd, 1.875);
	cr_assert_eq(s[0].calls, 5);
	cr_assert_eq(s[0].window_start_us, NOV22 - 21 * DAY);
	cr_assert_eq(s[0].reset_us, NOV22 + 9 * DAY);
	cr_assert_eq(s[1].usd, 0);
	cr_assert_eq(s[1].window_start_us, -1);
	cr_assert_eq(s[1].reset_us, -1);
	cr_assert_eq(s[2].tokens, 2000);
	cr_assert_eq(s[2].window_start_us, NOV22 - 13 * HOUR);
	cr_assert_eq(s[2].reset_us, NOV22 + 12 * HOUR);
	cr_assert_eq(tg_ledger_spend(l, &p[1], now, &s[1]), TG_EINVAL);
	tg_ledger_close(l);
}

Test(budget_ledger, counts_a_blocked_call_as_no_spend)
{
	struct tg_ledger *l = open_rw();
	int64_t t = NOV22 + HOUR;

	put(l, t, "openai", "gpt-4o", "gpt-4o", "py", "", 100, 100, 1.5, TG_REC_BLOCKED);
	spend_is(l, "global,day,usd=1,block", t, 0, 0, 0);
	tg_ledger_close(l);
}

/* Counting tokens (count_tokens) is free: a call, no spend. */
Test(budget_ledger, counts_a_token_counting_call_as_no_token_spend)
{
	struct tg_ledger *l = open_rw();
	int64_t t = NOV22 + HOUR;
	struct tg_record r = tgt_record(t, "anthropic", "claude-sonnet-4-5", "py", "", 2095, 0, 0, 0);

	snprintf(r.operation, sizeof r.operation, "count_tokens");
	cr_assert_eq(tg_ledger_append_scoped(l, &r, "claude-sonnet-4-5"), 0);
	spend_is(l, "global,day,tokens=1000,block", t, 0, 0, 1);
	put(l, t + 1, "anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5", "py", "", 100, 10, 0.5, 0);
	spend_is(l, "global,day,tokens=1000,block", t + 1, 0.5, 110, 2);
	tg_ledger_close(l);
}

Test(budget_ledger, reset_zeroes_the_current_window_only)
{
	struct tg_ledger *l = open_rw();
	struct tg_policy p = pol("tag:team=search,day,usd=1,block,name=search");
	struct tg_policy h = pol("tag:team=search,24h,usd=1,block,name=search24");
	int64_t t = NOV22 + 10 * HOUR;

	fill(l);
	cr_assert_eq(tg_ledger_policy_put(l, &p), 0);
	cr_assert_eq(tg_ledger_policy_put(l, &h), 0);
	cr_assert_eq(tg_ledger_policy_reset(l, "search", t + 5 * 60 * US), 0);
	cr_assert_eq(tg_ledger_policy_reset(l, "search24", t + 5 * 60 * US), 0);
	spend_is(l, "tag:team=search,day,usd=1,block,name=search", t + 6 * 60 * US, 0, 0, 0);
	spend_is(l, "tag:team=search,24h,usd=1,block,name=search24", t + 6 * 60 * US, 0, 0, 0);
	/* an unnamed policy of the same scope has no baseline */
	spend_is(l, "tag:team=search,day,usd=1,block", t + 6 * 60 * US, 0.375, 1650, 2);
	put(l, t + 7 * 60 * US, "openai", "gpt-4o", "gpt-4o", "py", "team=search", 1, 1, 0.5, 0);
	put(l, t + 2 * HOUR, "openai", "gpt-4o", "gpt-4o", "py", "team=search", 1, 1, 0.25, 0);
	spend_is(l, "tag:team=search,day,usd=1,block,name=search", t + 3 * HOUR, 0.75, 4, 2);
	spend_is(l, "tag:team=search,24h,usd=1,block,name=search24", t + 3 * HOUR, 0.75, 4, 2);
	/* the next day starts from the real spend */
	put(l, NOV22 + DAY + HOUR, "openai", "gpt-4o", "gpt-4o", "py", "team=search", 1, 1, 0.125, 0);
	spend_is(l, "tag:team=search,day,usd=1,block,name=search", NOV22 + DAY + 2 * HOUR, 0.125, 2, 1);
	/* a rolling window past the reset hour counts everything since */
	spend_is(l, "tag:team=search,24h,usd=1,block,name=search24", NOV22 + DAY + 11 * HOUR,
	         0.375, 4, 2);
	/* a changed window ignores the old baseline */
	p = pol("tag:team=search,month,usd=1,block,name=search");
	cr_assert_eq(tg_ledger_policy_put(l, &p), 0);
	spend_is(l, "tag:team=search,month,usd=1,block,name=search", NOV22 + DAY + 2 * HOUR,
	         2.25, 1667, 6);
	cr_assert_eq(tg_ledger_policy_reset(l, "nobody", t), TG_ENOENT);
	tg_ledger_close(l);
}

Test(budget_ledger, stores_replaces_and_removes_policies_with_a_version)
{
	struct tg_ledger *l = open_rw(), *ro;
	struct tg_policy out[4], a = pol("global,month,usd=200,block,name=zeta");
	struct tg_policy b = pol("model:gpt-4o,24h,tokens=2M,downgrade:gpt-4o-mini,fallback=warn,name=alpha");
	uint64_t v = 99, v2;
	int n = -1;

	cr_assert_eq(tg_ledger_policy_version(l, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(tg_ledger_policies(l, out, 4, &n, &v), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(tg_ledger_policy_put(l, &a), 0);
	cr_assert_eq(tg_ledger_policy_put(l, &b), 0);
	cr_assert_eq(tg_ledger_policy_version(l, &v), 0);
	cr_assert_eq(v, 2);
	b.limit_tokens = 3000000;
	cr_assert_eq(tg_ledger_policy_put(l, &b), 0);
	cr_assert_eq(tg_ledger_policies(l, out, 4, &n, &v2), 0);
	cr_assert_eq(v2, 3);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(out[0].name, "alpha");
	cr_assert_eq(memcmp(&out[0], &b, sizeof b), 0);
	cr_assert_eq(memcmp(&out[1], &a, sizeof a), 0);
	cr_assert_eq(tg_ledger_policies(l, out, 1, &n, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(tg_ledger_policy_rm(l, "zeta"), 0);
	cr_assert_eq(tg_ledger_policy_rm(l, "zeta"), TG_ENOENT);
	cr_assert_eq(tg_ledger_policy_version(l, &v), 0);
	cr_assert_eq(v, 4);
	a.name[0] = '\0';
	cr_assert_eq(tg_ledger_policy_put(l, &a), TG_EINVAL);
	tg_ledger_close(l);
	cr_assert_eq(tg_ledger_open(&ro, dir, TG_LEDGER_RDONLY), 0);
	cr_assert_eq(tg_ledger_policies(ro, out, 4, &n, &v), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(tg_ledger_policy_put(ro, &b), TG_EINVAL);
	tg_ledger_close(ro);
}

static struct tg_alert alert(const char *policy, int level, int64_t window)
{
	struct tg_alert a;

	memset(&a, 0, sizeof a);
	a.ts_us = NOV22 + HOUR;
	snprintf(a.policy, sizeof a.policy, "%s", policy);
	a.level = level;
	a.spend_usd = 4.5;
	a.spend_tokens = 1234;
	a.limit_usd = 5;
	a.limit_tokens = -1;
	a.window_start_us = window;
	a.pid = getpid();
	snprintf(a.process, sizeof a.process, "python3");
	snprintf(a.model, sizeof a.model, "gpt-4o");
	snprintf(a.detail, sizeof a.detail, "90%% of $5");
	return a;
}

struct seen {
	struct tg_alert a[16];
	int n;
};

static int collect(void *ctx, const struct tg_alert *a)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->a[s->n] = *a;
	s->n++;
	return 0;
}

Test(budget_ledger, records_an_alert_once_per_policy_level_and_window)
{
	struct tg_ledger *l = open_rw();
	struct tg_alert a = alert("daily", TG_ALERT_THRESHOLD, NOV22);
	struct seen *s = calloc(1, sizeof *s);

	cr_assert_eq(tg_ledger_alert_once(l, &a), 1);
	cr_assert_eq(tg_ledger_alert_once(l, &a), 0);
	a.level = TG_ALERT_LIMIT;
	cr_assert_eq(tg_ledger_alert_once(l, &a), 1);
	a.window_start_us = NOV22 + DAY;
	cr_assert_eq(tg_ledger_alert_once(l, &a), 1);
	a.level = TG_ALERT_BLOCKED;
	cr_assert_eq(tg_ledger_alert_add(l, &a), 0);
	cr_assert_eq(tg_ledger_alert_add(l, &a), 0);
	cr_assert_eq(tg_ledger_alerts(l, 0, collect, s), 0);
	cr_assert_eq(s->n, 5);
	cr_assert_eq(s->a[0].level, TG_ALERT_THRESHOLD);
	cr_assert_str_eq(s->a[0].policy, "daily");
	cr_assert_str_eq(s->a[0].detail, "90% of $5");
	cr_assert_eq(s->a[0].spend_usd, 4.5);
	cr_assert_eq(s->a[0].limit_tokens, -1);
	cr_assert_eq(s->a[0].pid, getpid());
	cr_assert_eq(s->a[4].level, TG_ALERT_BLOCKED);
	s->n = 0;
	cr_assert_eq(tg_ledger_alerts(l, NOV22 + HOUR + 1, collect, s), 0);
	cr_assert_eq(s->n, 0);
	cr_assert_str_eq(tg_alert_level_name(TG_ALERT_FALLBACK), "fallback");
	free(s);
	tg_ledger_close(l);
}

static void child_alerts(void)
{
	struct tg_ledger *l;
	struct tg_alert a = alert("shared", TG_ALERT_LIMIT, NOV22);
	int rc;

	if (tg_ledger_open(&l, dir, TG_LEDGER_CREATE) != 0)
		_exit(10);
	rc = tg_ledger_alert_once(l, &a);
	tg_ledger_close(l);
	_exit(rc == 1 ? 1 : rc == 0 ? 0 : 20);
}

Test(budget_ledger, records_an_alert_once_from_eight_processes_at_the_same_moment)
{
	struct tg_ledger *l = open_rw();
	struct seen *s = calloc(1, sizeof *s);
	pid_t kids[8];
	int recorded = 0, status;

	tg_ledger_close(l);
	for (int i = 0; i < 8; i++) {
		kids[i] = fork();
		cr_assert_geq(kids[i], 0);
		if (kids[i] == 0)
			child_alerts();
	}
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(waitpid(kids[i], &status, 0), kids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) <= 1, "status %d", status);
		recorded += WEXITSTATUS(status);
	}
	cr_assert_eq(recorded, 1);
	l = open_rw();
	cr_assert_eq(tg_ledger_alerts(l, 0, collect, s), 0);
	cr_assert_eq(s->n, 1);
	free(s);
	tg_ledger_close(l);
}

/* A ledger as schema 1 left it: meta and records only. */
static void make_schema1(void)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, rec;
	unsigned char one[4] = { 0, 0, 0, 1 };
	MDB_val k = { 6, "schema" }, d = { 4, one };

	cr_assert_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta), 0);
	cr_assert_eq(mdb_dbi_open(txn, "records", MDB_CREATE, &rec), 0);
	cr_assert_eq(mdb_put(txn, meta, &k, &d, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

Test(budget_ledger, reads_a_schema_1_ledger_as_empty_and_upgrades_it_on_write)
{
	struct tg_ledger *l;
	struct tg_policy p = pol("global,day,usd=1,block,name=g");
	struct tg_policy out[1];
	struct tg_spend s;
	uint64_t v;
	int n = -1;

	make_schema1();
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), 0);
	cr_assert_eq(tg_ledger_policies(l, out, 1, &n, &v), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(tg_ledger_spend(l, &p, NOV22, &s), 0);
	cr_assert_eq(s.calls, 0);
	tg_ledger_close(l);
	l = open_rw();
	cr_assert_eq(tg_ledger_policy_put(l, &p), 0);
	put(l, NOV22 + 1, "openai", "gpt-4o", NULL, "py", "", 1, 2, 0.5, 0);
	spend_is(l, "global,day,usd=1,block", NOV22 + 2, 0.5, 3, 1);
	tg_ledger_close(l);
}

Test(budget_ledger, keeps_totals_for_very_long_tags)
{
	struct tg_ledger *l = open_rw();
	char tags[TG_TAGS_MAX], spec[TG_TAGS_MAX + 64];

	memset(tags, 'v', sizeof tags - 1);
	tags[sizeof tags - 1] = '\0';
	memcpy(tags, "k=", 2);
	put(l, NOV22 + 1, "openai", "gpt-4o", "gpt-4o", "py", tags, 1, 1, 0.25, 0);
	snprintf(spec, sizeof spec, "tag:%s,day,usd=1,block", tags);
	spend_is(l, spec, NOV22 + 2, 0.25, 2, 1);
	tg_ledger_close(l);
}
