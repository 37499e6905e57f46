/* quote.c - see quote.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "provider_names.h"
#include "quote.h"
#include "token_rule.h"

/* 1 when the table has a line of provider (a price file may add one). */
static int table_has_provider(const struct tg_prices *t, const char *provider)
{
	const struct tg_price *p;
	size_t cursor = 0;

	while ((p = tg_prices_next(t, &cursor, NULL)) != NULL)
		if (!strcasecmp(p->provider, provider))
			return 1;
	return 0;
}

int tg_quote_provider(const struct tg_prices *t, const char *provider, const char *model,
                      char *out, size_t n, const struct tg_price **lines, size_t max,
                      size_t *nlines)
{
	const struct tg_price *one = NULL;
	size_t found;

	*nlines = 0;
	if (provider) {
		if (!tg_provider_name_known(provider) && !table_has_provider(t, provider))
			return TG_QUOTE_PROVIDER_UNKNOWN;
		snprintf(out, n, "%s", provider);
		return TG_QUOTE_PROVIDER_OK;
	}
	found = tg_price_find_any(t, model, max ? lines : &one, max ? max : 1);
	*nlines = found;
	if (found == 0)
		return TG_QUOTE_PROVIDER_NONE;
	if (found > 1)
		return TG_QUOTE_PROVIDER_AMBIGUOUS;
	snprintf(out, n, "%s", (max ? lines[0] : one)->provider);
	return TG_QUOTE_PROVIDER_OK;
}

void tg_quote_make(const struct tg_prices *t, const char *provider, const char *model,
                   int64_t input, int64_t input_bytes, int64_t output, struct tg_quote *q)
{
	struct tg_counts c;
	double out_usd;

	memset(q, 0, sizeof *q);
	snprintf(q->provider, sizeof q->provider, "%s", provider);
	q->input_bytes = input_bytes;
	q->input_estimated = input_bytes >= 0;
	q->input_tokens = q->input_estimated ? tg_estimate_tokens(input_bytes) : input;
	q->output_tokens = output;

	/* The shim's lookups: the model's line, else its provider's highest
	 * rates (sink.c, estimate.h). */
	q->line = tg_price_find(t, provider, model);
	if (q->line) {
		q->at = *q->line;
		q->priced_at = 1;
	} else {
		q->priced_at = tg_price_ceiling(t, provider, &q->at) == 0;
		/* at.provider is the name the ceiling went by (aliases resolved) */
		q->whole_table = q->priced_at && !table_has_provider(t, q->at.provider);
	}
	if (!q->priced_at)
		return;

	tg_counts_unknown(&c);
	c.input = q->input_tokens;
	c.output = output >= 0 ? output : 0;
	tg_price_cost_parts(&q->at, &c, &q->input_usd, &out_usd);
	if (output >= 0) {
		q->output_usd = out_usd;
		q->total_usd = tg_price_cost(&q->at, &c);
	} else {
		q->total_usd = q->input_usd;
	}
}

int tg_quote_read_size(int fd, int64_t *bytes)
{
	char buf[65536];
	ssize_t got;

	*bytes = 0;
	for (;;) {
		got = read(fd, buf, sizeof buf);
		if (got == 0)
			return 0;
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		*bytes += got;
	}
}
