/* spend_rule.c - what a record counts for (see spend_rule.h). */
#include <math.h>
#include <string.h>

#include "spend_rule.h"

const char *tg_record_asked_model(const struct tg_record *r)
{
	return r->flags & TG_REC_DOWNGRADED ? "" : r->requested_model;
}

int tg_record_sent(const struct tg_record *r)
{
	return !(r->flags & TG_REC_BLOCKED);
}

void tg_total_of_record(const struct tg_record *r, struct tg_total *a)
{
	memset(a, 0, sizeof *a);
	if (!tg_record_sent(r)) {
		a->blocked = 1;
		return;
	}
	a->calls = 1;
	a->usd = isfinite(r->cost_usd) && r->cost_usd > 0 ? r->cost_usd : 0;
	/* A token count asked for is not spent: the call is free.  (Its
	 * tokens_unknown stays as for any call: older records of such calls,
	 * without usage, were summed that way.) */
	if (!tg_operation_counts_tokens(r->operation))
		a->tokens = (r->counts.input > 0 ? r->counts.input : 0) +
		            (r->counts.output > 0 ? r->counts.output : 0);
	a->tokens_unknown = r->counts.input < 0 || r->counts.output < 0;
	if (tg_record_cost_estimated(r)) {
		a->usd_estimated = a->usd;
		a->estimated = 1;
	}
	if (r->flags & TG_REC_USAGE_UNKNOWN)
		a->usage_unknown = 1;
	else if (r->flags & TG_REC_UNPRICED)
		a->unpriced = 1;
	else if (!tg_record_cost_estimated(r))
		a->usd_known = r->cost_usd;
}

int tg_record_cost_estimated(const struct tg_record *r)
{
	return (r->flags & TG_REC_COST_ESTIMATE) != 0;
}

double tg_total_usd_for(double usd, double usd_estimated, int count_estimates)
{
	double d = count_estimates ? usd : usd - usd_estimated;

	return d > 0 ? d : 0;
}

void tg_total_sum(struct tg_total *a, const struct tg_total *delta)
{
	a->usd += delta->usd;
	a->tokens += delta->tokens;
	a->calls += delta->calls;
	a->blocked += delta->blocked;
	a->usd_known += delta->usd_known;
	a->unpriced += delta->unpriced;
	a->usage_unknown += delta->usage_unknown;
	a->tokens_unknown += delta->tokens_unknown;
	a->usd_estimated += delta->usd_estimated;
	a->estimated += delta->estimated;
	a->partial |= delta->partial;
}

int64_t tg_total_cost_unknown(const struct tg_total *a)
{
	return a->unpriced + a->usage_unknown;
}

int64_t tg_total_cost_unestimated(const struct tg_total *a)
{
	int64_t n = tg_total_cost_unknown(a) - a->estimated;

	return n > 0 ? n : 0;
}
