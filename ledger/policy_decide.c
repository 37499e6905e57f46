/* policy_decide.c - see policy_decide.h. */
#include "policy_decide.h"

#include <stdio.h>
#include <string.h>

#include "ledger_fleet.h"

#define NO_REWRITE(what) \
	"cannot rewrite this request's " what " (not held whole, compressed, or no room at its " \
	"announced length): "
/* The note for the fallback p takes: a string literal, since the verdict
 * keeps only the pointer. */
#define FALLBACK_NOTE(p, what) \
	((p)->fallback == TG_ACT_BLOCK ? NO_REWRITE(what) "blocking instead" \
	                               : NO_REWRITE(what) "letting it through")

static int zero_priced(const struct tg_decide_call *c)
{
	return c->price && c->price->base.input == 0 && c->price->base.output == 0;
}

/* Output tokens the rest of the budget pays for at the output rate of
 * rates (NULL: no USD bound); INT64_MAX if unbounded. */
static int64_t affordable_tokens(const struct tg_policy *p, const struct tg_spend *s,
                                 const struct tg_rates *rates)
{
	int64_t n = INT64_MAX;
	if (p->limit_usd >= 0 && rates && rates->output > 0) {
		double left = p->limit_usd - s->usd;
		double t = left > 0 ? left / (rates->output / 1e6) : 0;
		n = t < (double)INT64_MAX ? (int64_t)t : INT64_MAX;
	}
	if (p->limit_tokens >= 0) {
		int64_t left = p->limit_tokens - s->tokens;
		if (left < n)
			n = left > 0 ? left : 0;
	}
	return n;
}

/* A rewrite the request cannot take: the fallback decides. */
static void cannot_rewrite(const struct tg_policy *p, struct tg_policy_verdict *v, const char *what)
{
	v->alerts |= 1u << TG_ALERT_FALLBACK;
	v->fallback_note = what;
	if (p->fallback == TG_ACT_BLOCK) {
		v->verdict = TG_VERDICT_BLOCK;
		v->reason = TG_BLOCK_OVER;
	}
}

static void downgrade(const struct tg_policy *p, const struct tg_decide_call *c, int over,
                      struct tg_policy_verdict *v)
{
	if (!over || strcmp(c->model, p->downgrade_model) == 0)
		return;
	if (c->can_rewrite) {
		v->verdict = TG_VERDICT_REWRITE;
		v->new_model = p->downgrade_model;
	} else {
		cannot_rewrite(p, v, FALLBACK_NOTE(p, "model"));
	}
}

static void clamp(const struct tg_policy *p, const struct tg_decide_call *c,
                  struct tg_policy_verdict *v)
{
	const struct tg_price *rate = zero_priced(c) ? NULL : c->price ? c->price : c->ceiling;
	int64_t can = affordable_tokens(p, &v->spend, rate ? &rate->base : NULL);
	if (can == INT64_MAX || (c->max_tokens >= 0 && c->max_tokens <= can))
		return;
	if (can < 1) {
		if (p->fallback == TG_ACT_BLOCK) {
			v->verdict = TG_VERDICT_BLOCK;
			v->reason = TG_BLOCK_OVER;
		}
		return;
	}
	if (c->can_rewrite) {
		v->verdict = TG_VERDICT_REWRITE;
		v->new_max_tokens = can;
	} else {
		cannot_rewrite(p, v, FALLBACK_NOTE(p, "max tokens"));
	}
}

/* unpriced=block: a named model without a price is refused outright. */
static int unpriced_refused(const struct tg_policy *p, const struct tg_decide_call *c,
                            struct tg_policy_verdict *v)
{
	if (p->unpriced != TG_UNPRICED_BLOCK || p->limit_usd < 0 || c->price || !c->model[0])
		return 0;
	if (p->action == TG_ACT_WARN) {
		v->alerts |= 1u << TG_ALERT_FALLBACK;
		v->fallback_note = "no price for this model (unpriced=block): letting it through (warn)";
		return 0;
	}
	v->verdict = TG_VERDICT_BLOCK;
	v->reason = TG_BLOCK_UNPRICED;
	return 1;
}

void tg_policy_decide(const struct tg_policy *p, const struct tg_spend *s,
                      const struct tg_decide_call *c, struct tg_policy_verdict *v)
{
	memset(v, 0, sizeof *v);
	v->verdict = TG_VERDICT_ALLOW;
	v->new_max_tokens = -1;
	v->spend = *s;
	v->spend.usd = tg_total_usd_for(s->usd, s->usd_estimated, p->unpriced != TG_UNPRICED_ALLOW);
	v->pct = tg_policy_used_pct(p, v->spend.usd, v->spend.tokens, !zero_priced(c));
	int over = v->pct >= 100.0;
	if (over)
		v->alerts |= 1u << TG_ALERT_LIMIT;
	else if (v->pct >= p->alert_pct)
		v->alerts |= 1u << TG_ALERT_THRESHOLD;
	if (p->fleet && (s->fleet == TG_FLEET_STALE || s->fleet == TG_FLEET_MISSING)) {
		if (c->fail_closed) {
			v->verdict = TG_VERDICT_BLOCK;
			v->reason = TG_BLOCK_FLEET_STALE;
			v->fleet_note = "the fleet's totals are stale: refused (TOKENGUARD_FAIL=closed)";
			return;
		}
		v->fleet_note = "the fleet's totals are stale: this machine's spend only "
		                "(TOKENGUARD_FAIL=open)";
	}
	if (unpriced_refused(p, c, v))
		return;
	switch (p->action) {
	case TG_ACT_WARN:
		break;
	case TG_ACT_BLOCK:
		if (over) {
			v->verdict = TG_VERDICT_BLOCK;
			v->reason = TG_BLOCK_OVER;
		}
		break;
	case TG_ACT_DOWNGRADE:
		downgrade(p, c, over, v);
		break;
	case TG_ACT_CLAMP:
		clamp(p, c, v);
		break;
	}
}

int tg_verdict_merge(struct tg_gate_result *out, const struct tg_policy *p,
                     const struct tg_policy_verdict *v)
{
	if (out->verdict == TG_VERDICT_BLOCK || v->verdict == TG_VERDICT_ALLOW)
		return 0;
	if (v->verdict == TG_VERDICT_BLOCK) {
		out->verdict = TG_VERDICT_BLOCK;
		snprintf(out->policy, sizeof out->policy, "%s", p->name);
		out->new_model[0] = '\0';
		out->new_max_tokens = -1;
		return 1;
	}
	if (out->verdict == TG_VERDICT_ALLOW)
		snprintf(out->policy, sizeof out->policy, "%s", p->name);
	out->verdict = TG_VERDICT_REWRITE;
	if (v->new_model)
		snprintf(out->new_model, sizeof out->new_model, "%s", v->new_model);
	if (v->new_max_tokens >= 0 && (out->new_max_tokens < 0 || v->new_max_tokens < out->new_max_tokens))
		out->new_max_tokens = v->new_max_tokens;
	return 0;
}
