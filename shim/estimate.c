/* estimate.c - see estimate.h. */
#include "estimate.h"

#include <string.h>

void tg_estimate_counts(const struct tg_record *r, const struct tg_call_size *size,
                        struct tg_counts *out)
{
	int64_t out_bytes = size && size->content_bytes >= 0 ? size->content_bytes
	                    : size ? size->response_bytes : -1;

	memset(out, 0, sizeof *out);
	out->input = r->counts.input >= 0 ? r->counts.input
	             : tg_estimate_tokens(size ? size->request_bytes : -1);
	out->output = r->counts.output >= 0 ? r->counts.output : tg_estimate_tokens(out_bytes);
	if (!(r->flags & TG_REC_USAGE_UNKNOWN)) {
		/* Measured counts keep their parts, each priced at its rate. */
		out->cached_input = r->counts.cached_input;
		out->cache_creation = r->counts.cache_creation;
		out->cache_creation_5m = r->counts.cache_creation_5m;
		out->cache_creation_1h = r->counts.cache_creation_1h;
		out->reasoning = r->counts.reasoning;
	}
}

void tg_estimate_cost(struct tg_record *r, const struct tg_call_size *size,
                      const struct tg_price *priced, const struct tg_price *ceiling)
{
	const struct tg_price *at = priced ? priced : ceiling;
	struct tg_counts c;

	if (!priced)
		r->flags |= TG_REC_UNPRICED;
	r->cost_usd = 0;
	if (priced && !(r->flags & TG_REC_USAGE_UNKNOWN)) {
		r->cost_usd = tg_price_cost(priced, &r->counts);
		return;
	}
	if (!at)
		return;
	tg_estimate_counts(r, size, &c);
	if (c.input < 0 && c.output < 0)
		return;
	r->cost_usd = tg_price_cost(at, &c);
	if (r->cost_usd == 0 && !(r->flags & TG_REC_USAGE_UNKNOWN))
		return;   /* nothing billed (a refused call's zero counts): no estimate */
	r->flags |= TG_REC_COST_ESTIMATE;
}
