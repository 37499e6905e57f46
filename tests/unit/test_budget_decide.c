/* test_budget_decide.c - the budget decision for one call (policy_decide.h),
 * table by table: every action over and under its limit, rewritable or
 * not, each fallback, each window's spend as given, each unpriced mode,
 * and the merge of several verdicts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "policy_decide.h"

static const struct tg_price priced = { "openai", "m", { 2.0, 8.0, 0.5, 2.0, 2.0, 8.0 }, 0,
                                        { 2.0, 8.0, 0.5, 2.0, 2.0, 8.0 }, "" };
static const struct tg_price free_model = { "openai", "f", { 0, 0, 0, 0, 0, 0 }, 0,
                                            { 0, 0, 0, 0, 0, 0 }, "" };
static const struct tg_price ceiling = { "openai", "", { 10.0, 40.0, 10.0, 10.0, 10.0, 40.0 }, 0,
                                         { 10.0, 40.0, 10.0, 10.0, 10.0, 40.0 }, "" };

enum price_kind { PRICED, UNPRICED, FREE };

struct row {
	const char *policy;
	double usd, usd_estimated;
	int64_t tokens;
	enum price_kind price;
	int64_t max_tokens;
	int can_rewrite;
	/* expected */
	enum tg_verdict verdict;
	enum tg_block_reason reason;
	const char *new_model;      /* NULL: none */
	int64_t new_max_tokens;
	unsigned alerts;
};

#define A(l) (1u << TG_ALERT_##l)

static const struct row rows[] = {
	/* block */
	{ "global,day,usd=1,block", 0.5, 0, 0, PRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, 0 },
	{ "global,day,usd=1,block", 0.85, 0, 0, PRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, A(THRESHOLD) },
	{ "global,day,usd=1,block", 1.0, 0, 0, PRICED, -1, 1, TG_VERDICT_BLOCK, TG_BLOCK_OVER, NULL, -1, A(LIMIT) },
	{ "global,day,tokens=100,block", 0, 0, 100, PRICED, -1, 1, TG_VERDICT_BLOCK, TG_BLOCK_OVER, NULL, -1, A(LIMIT) },
	{ "global,day,usd=0,block", 0, 0, 0, PRICED, -1, 1, TG_VERDICT_BLOCK, TG_BLOCK_OVER, NULL, -1, A(LIMIT) },
	/* a model priced at zero on purpose is not held by a USD limit */
	{ "global,day,usd=1,block", 2.0, 0, 0, FREE, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, 0 },
	{ "global,session,usd=1,block,alert=50", 0.6, 0, 0, PRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, A(THRESHOLD) },
	/* warn */
	{ "global,month,usd=1,warn", 5.0, 0, 0, PRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, A(LIMIT) },
	/* downgrade */
	{ "global,24h,usd=1,downgrade:small", 0.2, 0, 0, PRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, 0 },
	{ "global,24h,usd=1,downgrade:small", 1.2, 0, 0, PRICED, -1, 1, TG_VERDICT_REWRITE, 0, "small", -1, A(LIMIT) },
	{ "global,24h,usd=1,downgrade:small", 1.2, 0, 0, PRICED, -1, 0, TG_VERDICT_BLOCK, TG_BLOCK_OVER, NULL, -1,
	  A(LIMIT) | A(FALLBACK) },
	{ "global,24h,usd=1,downgrade:small,fallback=warn", 1.2, 0, 0, PRICED, -1, 0, TG_VERDICT_ALLOW, 0, NULL, -1,
	  A(LIMIT) | A(FALLBACK) },
	/* clamp: $0.5 left at $8/M output pays 62500 tokens */
	{ "global,day,usd=1,clamp", 0.5, 0, 0, PRICED, 100000, 1, TG_VERDICT_REWRITE, 0, NULL, 62500, 0 },
	{ "global,day,usd=1,clamp", 0.5, 0, 0, PRICED, 1000, 1, TG_VERDICT_ALLOW, 0, NULL, -1, 0 },
	{ "global,day,usd=1,clamp", 0.5, 0, 0, PRICED, -1, 1, TG_VERDICT_REWRITE, 0, NULL, 62500, 0 },
	{ "global,day,tokens=1000,clamp", 0, 0, 400, PRICED, 5000, 1, TG_VERDICT_REWRITE, 0, NULL, 600, 0 },
	{ "global,day,usd=1,clamp", 1.0, 0, 0, PRICED, 100, 1, TG_VERDICT_BLOCK, TG_BLOCK_OVER, NULL, -1, A(LIMIT) },
	{ "global,day,usd=1,clamp,fallback=warn", 1.0, 0, 0, PRICED, 100, 1, TG_VERDICT_ALLOW, 0, NULL, -1, A(LIMIT) },
	{ "global,day,usd=1,clamp", 0.5, 0, 0, PRICED, 100000, 0, TG_VERDICT_BLOCK, TG_BLOCK_OVER, NULL, -1, A(FALLBACK) },
	{ "global,day,usd=1,clamp,fallback=warn", 0.5, 0, 0, PRICED, 100000, 0, TG_VERDICT_ALLOW, 0, NULL, -1,
	  A(FALLBACK) },
	/* clamp of a model without a price: at its provider's highest output rate ($40/M),
	 * rounded down ($0.5 / 40e-6 is 12499.99... in binary floating point) */
	{ "global,day,usd=1,clamp", 0.5, 0.5, 0, UNPRICED, 100000, 1, TG_VERDICT_REWRITE, 0, NULL, 12499, 0 },
	/* unpriced=estimate (default): estimates count */
	{ "global,day,usd=1,block", 1.1, 1.0, 0, UNPRICED, -1, 1, TG_VERDICT_BLOCK, TG_BLOCK_OVER, NULL, -1, A(LIMIT) },
	{ "global,day,usd=1,block,unpriced=estimate", 0.2, 0.1, 0, UNPRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, 0 },
	/* unpriced=allow: they do not */
	{ "global,day,usd=1,block,unpriced=allow", 1.1, 1.0, 0, UNPRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, 0 },
	{ "global,day,usd=1,block,unpriced=allow", 1.5, 0.4, 0, PRICED, -1, 1, TG_VERDICT_BLOCK, TG_BLOCK_OVER, NULL, -1,
	  A(LIMIT) },
	/* unpriced=block: a model without a price is refused at any spend */
	{ "global,day,usd=1,block,unpriced=block", 0, 0, 0, UNPRICED, -1, 1, TG_VERDICT_BLOCK, TG_BLOCK_UNPRICED, NULL, -1, 0 },
	{ "global,day,usd=1,block,unpriced=block", 0, 0, 0, PRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, 0 },
	{ "global,day,usd=1,block,unpriced=block", 0, 0, 0, FREE, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, 0 },
	{ "global,day,usd=1,clamp,unpriced=block", 0, 0, 0, UNPRICED, -1, 1, TG_VERDICT_BLOCK, TG_BLOCK_UNPRICED, NULL, -1, 0 },
	{ "global,day,usd=1,downgrade:small,unpriced=block", 0, 0, 0, UNPRICED, -1, 1, TG_VERDICT_BLOCK, TG_BLOCK_UNPRICED,
	  NULL, -1, 0 },
	{ "global,day,usd=1,warn,unpriced=block", 0, 0, 0, UNPRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL, -1, A(FALLBACK) },
	{ "global,day,usd=1,tokens=10,block,unpriced=block", 0, 0, 0, UNPRICED, -1, 1, TG_VERDICT_BLOCK, TG_BLOCK_UNPRICED,
	  NULL, -1, 0 },
};

/* Rows about the model asked for (the rows above ask for "big"). */
static const struct {
	const char *model;
	struct row r;
} model_rows[] = {
	/* a call naming no model (a listing) is no unpriced model */
	{ "", { "global,day,usd=1,block,unpriced=block", 0, 0, 0, UNPRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL,
	        -1, 0 } },
	/* a downgrade to the model asked for is no rewrite */
	{ "small", { "global,day,usd=1,downgrade:small", 2, 0, 0, PRICED, -1, 1, TG_VERDICT_ALLOW, 0, NULL,
	             -1, A(LIMIT) } },
};

static void decide(const struct row *r, const char *model, struct tg_policy *p, struct tg_policy_verdict *v)
{
	char err[256];
	struct tg_spend s = { 0 };
	struct tg_decide_call c = { model, r->max_tokens, r->can_rewrite,
	                            r->price == PRICED ? &priced : r->price == FREE ? &free_model : NULL,
	                            &ceiling, 0 };

	cr_assert_eq(tg_policy_parse(r->policy, p, err, sizeof err), 0, "%s: %s", r->policy, err);
	snprintf(p->name, sizeof p->name, "p");
	s.usd = r->usd;
	s.usd_estimated = r->usd_estimated;
	s.tokens = r->tokens;
	tg_policy_decide(p, &s, &c, v);
}

static void check_row(const char *label, size_t i, const struct row *r, const char *model)
{
	struct tg_policy p;
	struct tg_policy_verdict v;

	decide(r, model, &p, &v);
	cr_expect_eq(v.verdict, r->verdict, "%s %zu %s: verdict %d", label, i, r->policy, v.verdict);
	if (r->verdict == TG_VERDICT_BLOCK)
		cr_expect_eq(v.reason, r->reason, "%s %zu %s: reason %d", label, i, r->policy, v.reason);
	if (r->new_model)
		cr_expect(v.new_model && !strcmp(v.new_model, r->new_model), "%s %zu", label, i);
	else
		cr_expect_null(v.new_model, "%s %zu %s", label, i, r->policy);
	cr_expect_eq(v.new_max_tokens, r->new_max_tokens, "%s %zu %s: clamp %lld", label, i, r->policy,
	             (long long)v.new_max_tokens);
	cr_expect_eq(v.alerts, r->alerts, "%s %zu %s: alerts %#x", label, i, r->policy, v.alerts);
	if (v.alerts & A(FALLBACK))
		cr_expect_not_null(v.fallback_note, "%s %zu", label, i);
}

Test(budget_decide, every_action_fallback_and_unpriced_mode)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_row("row", i, &rows[i], "big");
	for (size_t i = 0; i < sizeof model_rows / sizeof model_rows[0]; i++)
		check_row("model row", i, &model_rows[i].r, model_rows[i].model);
}

Test(budget_decide, the_spend_a_policy_counts_follows_its_unpriced_mode)
{
	const struct row est = { "global,day,usd=1,warn", 0.9, 0.4, 0, PRICED, -1, 1, 0, 0, NULL, -1, 0 };
	const struct row allow = { "global,day,usd=1,warn,unpriced=allow", 0.9, 0.4, 0, PRICED, -1, 1, 0, 0,
	                           NULL, -1, 0 };
	struct tg_policy p;
	struct tg_policy_verdict v;

	decide(&est, "m", &p, &v);
	cr_assert_float_eq(v.spend.usd, 0.9, 1e-12);
	cr_assert_float_eq(v.pct, 90.0, 1e-9);
	decide(&allow, "m", &p, &v);
	cr_assert_float_eq(v.spend.usd, 0.5, 1e-12);
	cr_assert_float_eq(v.pct, 50.0, 1e-9);
}

static struct tg_policy named(const char *name)
{
	struct tg_policy p;
	memset(&p, 0, sizeof p);
	snprintf(p.name, sizeof p.name, "%s", name);
	return p;
}

Test(budget_decide, merge_keeps_the_first_block_the_downgrade_and_the_lowest_clamp)
{
	struct tg_gate_result out = { .verdict = TG_VERDICT_ALLOW, .new_max_tokens = -1 };
	struct tg_policy a = named("a"), b = named("b"), c = named("c"), d = named("d");
	struct tg_policy_verdict clamp500 = { .verdict = TG_VERDICT_REWRITE, .new_max_tokens = 500 };
	struct tg_policy_verdict clamp200 = { .verdict = TG_VERDICT_REWRITE, .new_max_tokens = 200 };
	struct tg_policy_verdict down = { .verdict = TG_VERDICT_REWRITE, .new_model = "small", .new_max_tokens = -1 };
	struct tg_policy_verdict block = { .verdict = TG_VERDICT_BLOCK };
	struct tg_policy_verdict allow = { .verdict = TG_VERDICT_ALLOW, .new_max_tokens = -1 };

	cr_assert_eq(tg_verdict_merge(&out, &a, &allow), 0);
	cr_assert_eq(out.verdict, TG_VERDICT_ALLOW);
	cr_assert_str_empty(out.policy);
	cr_assert_eq(tg_verdict_merge(&out, &a, &clamp500), 0);
	cr_assert_eq(tg_verdict_merge(&out, &b, &down), 0);
	cr_assert_eq(tg_verdict_merge(&out, &c, &clamp200), 0);
	cr_assert_eq(out.verdict, TG_VERDICT_REWRITE);
	cr_assert_str_eq(out.policy, "a");
	cr_assert_str_eq(out.new_model, "small");
	cr_assert_eq(out.new_max_tokens, 200);
	cr_assert_eq(tg_verdict_merge(&out, &d, &block), 1);
	cr_assert_eq(out.verdict, TG_VERDICT_BLOCK);
	cr_assert_str_eq(out.policy, "d");
	cr_assert_eq(tg_verdict_merge(&out, &a, &block), 0, "the first block stays");
	cr_assert_str_eq(out.policy, "d");
}
