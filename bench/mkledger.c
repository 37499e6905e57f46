/* mkledger.c - makes a ledger of N records (default 1,000,000) for timing
 * reports on a ledger of realistic size: several providers and models,
 * a few processes and tags, request and response ids as long as real
 * ones, timestamps spread over 60 days, some streamed, unpriced, usage
 * unknown or blocked calls.  Written through the ledger library itself
 * (tg_ledger_append_many, budget totals included), so the file is what
 * the shim would have left.  Deterministic for a given N and seed.
 *
 *   mkledger DIR [N] [SEED]
 *
 * DIR must not hold a ledger yet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger.h"
#include "price.h"

#define BATCH 20000
#define DAYS 60
#define T0 INT64_C(1772323200000000)   /* 2026-03-01T00:00:00Z */
#define US_PER_DAY (INT64_C(86400) * 1000000)

struct model {
	const char *provider, *host, *endpoint, *model, *id_prefix;
	double in_per_mtok, out_per_mtok;   /* USD per million tokens */
	int weight;
};

static const struct model models[] = {
	{ "openai", "api.openai.com", "/v1/chat/completions", "gpt-4o-2024-08-06", "chatcmpl-", 2.5, 10, 30 },
	{ "openai", "api.openai.com", "/v1/chat/completions", "gpt-4o-mini", "chatcmpl-", 0.15, 0.6, 25 },
	{ "openai", "api.openai.com", "/v1/responses", "o3-mini", "resp_", 1.1, 4.4, 8 },
	{ "anthropic", "api.anthropic.com", "/v1/messages", "claude-sonnet-4-20250514", "msg_01", 3, 15, 20 },
	{ "anthropic", "api.anthropic.com", "/v1/messages", "claude-3-5-haiku-20241022", "msg_01", 0.8, 4, 8 },
	{ "google", "generativelanguage.googleapis.com", "/v1beta/models/gemini-2.0-flash:generateContent",
	  "gemini-2.0-flash", "", 0.1, 0.4, 5 },
	{ "mistral", "api.mistral.ai", "/v1/chat/completions", "mistral-large-latest", "", 2, 6, 3 },
	{ "openai", "api.openai.com", "/v1/chat/completions", "ft:gpt-4o-mini:acme::B1x2y3z4", "chatcmpl-", 0, 0, 1 },
};
#define NMODELS (sizeof models / sizeof models[0])

static const char *const processes[] = { "python3", "node", "curl", "ruby", "java" };
static const char *const tags[] = {
	"team=search,env=prod", "team=search,env=staging", "team=ads,env=prod",
	"team=support,env=prod,feature=summarise", "", "team=research",
};

static uint64_t rng_state;

/* xorshift64*: deterministic and fast. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static void rnd_id(char *out, size_t n, const char *prefix, size_t len)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t k = (size_t)snprintf(out, n, "%s", prefix);

	for (; k < len && k + 1 < n; k++)
		out[k] = alnum[rnd() % (sizeof alnum - 1)];
	out[k] = '\0';
}

static const struct model *pick_model(void)
{
	int total = 0, x;

	for (size_t i = 0; i < NMODELS; i++)
		total += models[i].weight;
	x = (int)(rnd() % (uint64_t)total);
	for (size_t i = 0; i < NMODELS; i++) {
		if (x < models[i].weight)
			return &models[i];
		x -= models[i].weight;
	}
	return &models[0];
}

/* Record i of n: times rise with i (as a ledger fills), spread evenly
 * over DAYS with jitter. */
static void make(struct tg_record *r, int64_t i, int64_t n, const struct tg_prices *prices,
                 const char **family)
{
	const struct model *m = pick_model();
	const struct tg_price *p;
	uint64_t roll = rnd() % 1000;

	memset(r, 0, sizeof *r);
	tg_counts_unknown(&r->counts);
	r->ts_us = T0 + (int64_t)((double)i / (double)n * DAYS * US_PER_DAY) +
	           (int64_t)(rnd() % 1000000);
	r->pid = 1000 + (int32_t)(rnd() % 40);
	r->status = 200;
	r->latency_ms = 200 + (int64_t)(rnd() % 20000);
	r->ttft_ms = -1;
	snprintf(r->provider, sizeof r->provider, "%s", m->provider);
	snprintf(r->host, sizeof r->host, "%s", m->host);
	snprintf(r->endpoint, sizeof r->endpoint, "%s", m->endpoint);
	snprintf(r->model, sizeof r->model, "%s", m->model);
	snprintf(r->process, sizeof r->process, "%s", processes[rnd() % 5]);
	snprintf(r->tags, sizeof r->tags, "%s", tags[rnd() % 6]);
	rnd_id(r->request_id, sizeof r->request_id, "req_", 28);
	if (*m->id_prefix)
		rnd_id(r->response_id, sizeof r->response_id, m->id_prefix, 38);
	if (rnd() % 3 == 0) {
		r->flags |= TG_REC_STREAM;
		r->ttft_ms = 80 + (int64_t)(rnd() % 900);
	}
	p = tg_price_find(prices, r->provider, r->model);
	*family = tg_price_family(p, r->model);
	if (roll < 4) {           /* refused by a budget: never sent */
		r->flags |= TG_REC_BLOCKED;
		r->status = 0;
		r->latency_ms = -1;
		snprintf(r->policy, sizeof r->policy, "team-daily");
		return;
	}
	if (roll < 10) {          /* no usage in the response */
		r->flags |= TG_REC_USAGE_UNKNOWN;
		if (roll < 7)
			r->flags |= TG_REC_INCOMPLETE;
		return;
	}
	r->counts.input = 50 + (int64_t)(rnd() % 8000);
	r->counts.output = 10 + (int64_t)(rnd() % 1500);
	r->counts.cached_input = rnd() % 4 == 0 ? r->counts.input / 2 : 0;
	if (!strcmp(m->provider, "anthropic")) {
		r->counts.cache_creation = rnd() % 5 == 0 ? r->counts.input / 4 : 0;
		r->counts.cache_creation_5m = r->counts.cache_creation;
		r->counts.cache_creation_1h = 0;
	}
	if (!strcmp(m->model, "o3-mini"))
		r->counts.reasoning = r->counts.output / 2;
	if (!p) {
		r->flags |= TG_REC_UNPRICED;
		return;
	}
	r->cost_usd = ((double)r->counts.input * m->in_per_mtok +
	               (double)r->counts.output * m->out_per_mtok) / 1e6;
}

int main(int argc, char **argv)
{
	struct tg_ledger *l;
	struct tg_prices *prices = NULL;
	struct tg_record *batch;
	const char **families;
	int64_t n = 1000000;
	struct stat st;
	char data[4096], err[256];
	int rc;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: mkledger DIR [N] [SEED]\n");
		return 2;
	}
	if (argc > 2)
		n = strtoll(argv[2], NULL, 10);
	rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) | 1 : UINT64_C(0x9e3779b97f4a7c15);
	if (n <= 0) {
		fprintf(stderr, "mkledger: N must be positive\n");
		return 2;
	}
	snprintf(data, sizeof data, "%s/data.mdb", argv[1]);
	if (stat(data, &st) == 0) {
		fprintf(stderr, "mkledger: %s already holds a ledger\n", argv[1]);
		return 2;
	}
	if (tg_prices_load(&prices, NULL, err, sizeof err) != 0) {
		fprintf(stderr, "mkledger: price table: %s\n", err);
		return 2;
	}
	if ((rc = tg_ledger_open(&l, argv[1], TG_LEDGER_CREATE)) != 0) {
		fprintf(stderr, "mkledger: %s: %s\n", argv[1], tg_strerror(rc));
		return 2;
	}
	batch = malloc(BATCH * sizeof *batch);
	families = malloc(BATCH * sizeof *families);
	if (!batch || !families) {
		fprintf(stderr, "mkledger: out of memory\n");
		return 2;
	}
	for (int64_t i = 0; i < n;) {
		int k = 0;

		for (; k < BATCH && i < n; k++, i++)
			make(&batch[k], i, n, prices, &families[k]);
		if ((rc = tg_ledger_append_many(l, batch, families, k)) != 0) {
			fprintf(stderr, "mkledger: append: %s\n", tg_strerror(rc));
			return 2;
		}
	}
	free(batch);
	free(families);
	tg_ledger_close(l);
	tg_prices_free(prices);
	return 0;
}
