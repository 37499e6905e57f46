/* cmd_metrics.c - `tokenguard-report metrics`: the ledger's sums as
 * Prometheus counters (text exposition format, prom.h), and the body that
 * `serve` answers a scrape of /metrics with.
 *
 * Every value is a sum over all the records of the ledger (spooled ones
 * included: the ledger's read path), so each is a counter that only grows
 * as records are added; a period (--since, --until, --today) is refused,
 * since a window is not a counter.  The sums are summary's (spend_rule.h
 * through agg.h), so a query of the scraped series gives what `summary
 * --format json` totals.  One series per provider, model, operation,
 * process and the tags named by --tag-label; never a pid or a request id,
 * whose values would make a series per call.
 *
 * Blocked calls are in the series of the model they asked for: summary's
 * regrouping under the model served (agg.h) depends on records that come
 * later, and would move counts from one series to another, which a
 * counter must not do.
 *
 * Names follow Prometheus's conventions (a _total suffix for counters,
 * the unit in the name) and the OpenTelemetry GenAI conventions where
 * they name something: gen_ai.client.token.usage is a histogram of the
 * tokens of each operation by gen_ai.token.type ("input", "output"), so
 * the token counter is tokenguard_tokens_total with the label
 * gen_ai_token_type, whose sum over input and output is that histogram's
 * sum.  README "Export" lists the mapping. */
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "ledger_budget.h"
#include "prom.h"
#include "report.h"

/* The keys of the series, in label order; the --tag-label ones follow. */
#define SERIES_BY "provider,model,operation,process"
#define SERIES_LABELS TG_METRIC_SERIES_LABELS
const char *const tg_metric_series_label[SERIES_LABELS] = { "provider", "model", "operation",
                                                         "process" };

/* The token kinds by the label value each is exposed with (agg.h order).
 * cache_read and cache_write are parts of input, reasoning of output. */
const char *const tg_metric_token_type[TG_TOK_KINDS] = {
	[TG_TOK_INPUT] = "input", [TG_TOK_CACHED] = "cache_read",
	[TG_TOK_CACHE_WRITE] = "cache_write", [TG_TOK_OUTPUT] = "output",
	[TG_TOK_REASONING] = "reasoning",
};

/* The label text of group g: provider="...",model="...",... */
static char *group_labels(const struct tg_report *rep, const struct tg_agg_group *g)
{
	char *text = NULL, name[TG_AGG_TAG_MAX + 8];
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (!f)
		return NULL;
	for (int k = 0; k < SERIES_LABELS + rep->ntag_labels; k++) {
		if (k >= SERIES_LABELS)
			snprintf(name, sizeof name, "tag_%s", rep->tag_label[k - SERIES_LABELS]);
		tg_prom_label(f, k == 0, k < SERIES_LABELS ? tg_metric_series_label[k] : name, g->value[k]);
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

static int64_t calls(const struct tg_agg_sums *s) { return s->t.calls; }
static int64_t blocked(const struct tg_agg_sums *s) { return s->t.blocked; }
static int64_t unpriced(const struct tg_agg_sums *s) { return s->t.unpriced; }
static int64_t usage_unknown(const struct tg_agg_sums *s) { return s->t.usage_unknown; }
static int64_t tokens_unknown(const struct tg_agg_sums *s) { return s->t.tokens_unknown; }
static double usd_known(const struct tg_agg_sums *s) { return s->t.usd_known; }
static double usd_estimated(const struct tg_agg_sums *s) { return s->t.usd_estimated; }

static const struct tg_metric_family families[] = {
	{ "tokenguard_calls_total", "tokenguard.calls", "{call}", "LLM calls sent to a provider.", calls, NULL },
	{ "tokenguard_blocked_calls_total", "tokenguard.blocked_calls", "{call}", "Calls refused by a budget policy, never sent.",
	  blocked, NULL },
	{ "tokenguard_cost_usd_total", "tokenguard.cost", "USD", "Cost in USD of the calls priced with known usage.",
	  NULL, usd_known },
	{ "tokenguard_estimated_cost_usd_total", "tokenguard.estimated_cost", "USD", "Estimated cost in USD of the calls whose "
	  "model has no price or whose response carried no usage.", NULL, usd_estimated },
	{ "tokenguard_unpriced_calls_total", "tokenguard.unpriced_calls", "{call}", "Calls with usage but no price for their model: "
	  "cost unknown.", unpriced, NULL },
	{ "tokenguard_usage_unknown_calls_total", "tokenguard.usage_unknown_calls", "{call}", "Calls whose response carried no usage: "
	  "tokens and cost unknown.", usage_unknown, NULL },
	{ "tokenguard_tokens_unknown_calls_total", "tokenguard.tokens_unknown_calls", "{call}", "Calls whose input or output token count "
	  "is unknown, left out of tokenguard_tokens_total.", tokens_unknown, NULL },
};
#define NFAMILIES (sizeof families / sizeof families[0])

static void write_families(FILE *f, const struct tg_agg *a, char **labels)
{
	for (size_t i = 0; i < NFAMILIES; i++) {
		const struct tg_metric_family *fm = &families[i];

		tg_prom_family(f, fm->name, "counter", fm->help);
		for (size_t g = 0; g < a->ngroups; g++) {
			if (fm->count)
				tg_prom_sample_int(f, fm->name, labels[g], fm->count(&a->group[g].sums));
			else
				tg_prom_sample_double(f, fm->name, labels[g], fm->usd(&a->group[g].sums));
		}
	}
	tg_prom_family(f, "tokenguard_tokens_total", "counter",
	               "Tokens of sent calls by gen_ai_token_type: input and output (their sum "
	               "is the total); cache_read and cache_write are parts of input, reasoning "
	               "of output.  Unknown counts are left out.");
	for (size_t g = 0; g < a->ngroups; g++) {
		for (int k = 0; k < TG_TOK_KINDS; k++) {
			char *lab = NULL;
			size_t n = 0;
			FILE *m = open_memstream(&lab, &n);

			if (!m)
				continue;
			fputs(labels[g], m);
			tg_prom_label(m, !*labels[g], "gen_ai_token_type", tg_metric_token_type[k]);
			if (fclose(m) == 0)
				tg_prom_sample_int(f, "tokenguard_tokens_total", lab,
				                   a->group[g].sums.tokens[k]);
			free(lab);
		}
	}
}

const struct tg_metric_family *tg_metric_families(size_t *n)
{
	*n = NFAMILIES;
	return families;
}

int tg_metrics_sum(const struct tg_report *rep, struct tg_ledger *l, struct tg_agg *a)
{
	char by[sizeof SERIES_BY + TG_REPORT_TAG_LABELS * (TG_AGG_TAG_MAX + 5)], err[256];
	int rc;

	snprintf(by, sizeof by, "%s", SERIES_BY);
	for (int i = 0; i < rep->ntag_labels; i++)
		snprintf(by + strlen(by), sizeof by - strlen(by), ",tag:%s", rep->tag_label[i]);
	if (tg_agg_init(a, by, err, sizeof err))
		return tg_report_fail(rep, "%s", err);
	a->model_key = -1;  /* no regrouping of blocked calls: see the header */
	rc = tg_ledger_scan_some(l, 0, INT64_MAX, tg_agg_text(a) | tg_filter_text(&rep->filter),
	                         tg_agg_add_matching, &(struct tg_agg_scan){ a, &rep->filter });
	if (rc) {
		tg_agg_free(a);
		if (rc == 1)
			return tg_report_fail(rep, "out of memory while summing");
		return tg_report_ledger_fail(rep, rc);
	}
	tg_agg_sort(a);
	return 0;
}

int tg_metrics_write(const struct tg_report *rep, struct tg_ledger *l, FILE *f)
{
	struct tg_agg a;
	char **labels;
	int rc;

	if ((rc = tg_metrics_sum(rep, l, &a)) != 0)
		return rc;
	if (!(labels = calloc(a.ngroups + 1, sizeof *labels))) {
		tg_agg_free(&a);
		return tg_report_fail(rep, "out of memory");
	}
	for (size_t g = 0; g < a.ngroups; g++)
		if (!(labels[g] = group_labels(rep, &a.group[g])))
			rc = TG_EXIT_FAIL;
	if (!rc)
		write_families(f, &a, labels);
	for (size_t g = 0; g < a.ngroups; g++)
		free(labels[g]);
	free(labels);
	tg_agg_free(&a);
	return rc ? tg_report_fail(rep, "out of memory") : 0;
}

int tg_cmd_metrics(const struct tg_report *rep, struct tg_ledger *l)
{
	if (rep->period_given)
		return tg_report_fail(rep, "metrics are counters over every record; "
		                      "drop --since, --until and --today");
	return tg_metrics_write(rep, l, rep->out);
}
