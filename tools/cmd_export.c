/* cmd_export.c - `tokenguard-report export --otlp URL [--spans]`: the
 * counters of `metrics` as OTLP/HTTP cumulative sums (POST URL/v1/metrics)
 * and, with --spans, one span per record (POST URL/v1/traces), JSON
 * encoded (otlp.h), over libcurl.
 *
 * Incremental: the greatest key of the records sent as spans, and the
 * keys sent in the hour before it, are the ledger's watermark "otlp"
 * (ledger_watermark.h); a run sends the spans of the records after it and
 * of those committed late within that hour, and moves it only once the
 * receiver has answered 2xx, so a timer can run export every minute and a
 * failed run is resent whole by the next.  A record committed more than
 * an hour after its request started (as for records --follow) and after
 * the watermark passed it is counted in the sums but sent as no span.  The spool is folded first (when the
 * writer lock is free at once), so the records handed off so far are
 * committed and sent; a record still in a spool is sent by a later run,
 * once folded.  --provider, --model, --process and --tag select the
 * records of both; the watermark is one per ledger, so one exporter runs
 * per ledger.  Span ids derive from the record key (otlp.h), so a
 * resend after a lost answer carries the same ids.  The sums are over
 * every record (spooled ones included), so they need no watermark. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "deliver.h"
#include "http.h"
#include "otlp.h"
#include "report.h"

#define WATERMARK "otlp"
#define SPANS_PER_POST 1000
#define CONNECT_TIMEOUT_S 10L
#define TIMEOUT_S 30L

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* POSTs body to base + path.  Returns 0 on a 2xx answer, else
 * TG_EXIT_FAIL after saying what went wrong and what to do. */
static int post(const struct tg_report *rep, const char *path, const char *body, size_t n)
{
	char url[4096];
	size_t blen = strlen(rep->otlp);
	struct tg_http_answer ans;
	int rc;

	while (blen && rep->otlp[blen - 1] == '/')
		blen--;
	snprintf(url, sizeof url, "%.*s%s", (int)blen, rep->otlp, path);
	rc = tg_http_post_json(url, body, n, CONNECT_TIMEOUT_S, TIMEOUT_S, &ans);
	if (rc < 0)
		return tg_report_fail(rep, "%s: %s; check the URL and that the collector is up "
		                      "(nothing was marked as sent: the next run sends it again)",
		                      url, ans.error);
	if (rc > 0)
		return tg_report_fail(rep, "%s answered HTTP %ld; see the collector's log (nothing was "
		                      "marked as sent: the next run sends it again)", url, ans.status);
	return 0;
}

static int send_metrics(const struct tg_report *rep, struct tg_ledger *l)
{
	const char *names[TG_METRIC_SERIES_LABELS + TG_REPORT_TAG_LABELS + 1];
	char tagname[TG_REPORT_TAG_LABELS][TG_AGG_TAG_MAX + 16];
	const struct tg_metric_family *fam;
	int64_t now = now_ns();
	size_t nfam, n = 0;
	char *body = NULL;
	struct tg_agg a;
	int nl = TG_METRIC_SERIES_LABELS + rep->ntag_labels, rc;
	FILE *f;

	if ((rc = tg_metrics_sum(rep, l, &a)) != 0)
		return rc;
	for (int k = 0; k < nl; k++) {
		if (k < TG_METRIC_SERIES_LABELS) {
			names[k] = tg_metric_series_label[k];
		} else {
			snprintf(tagname[k - TG_METRIC_SERIES_LABELS], sizeof tagname[0],
			         "tokenguard.tag.%s", rep->tag_label[k - TG_METRIC_SERIES_LABELS]);
			names[k] = tagname[k - TG_METRIC_SERIES_LABELS];
		}
	}
	names[nl] = "gen_ai.token.type";
	if (!(f = open_memstream(&body, &n))) {
		tg_agg_free(&a);
		return tg_report_fail(rep, "out of memory");
	}
	fam = tg_metric_families(&nfam);
	tg_otlp_metrics_open(f);
	/* Start 0: a cumulative sum over every record since the ledger began. */
	for (size_t i = 0; i < nfam; i++) {
		tg_otlp_metric_open(f, i == 0, fam[i].otel_name, fam[i].unit, fam[i].help);
		for (size_t g = 0; g < a.ngroups; g++) {
			const struct tg_agg_sums *s = &a.group[g].sums;

			tg_otlp_point(f, g == 0, names, (const char *const *)a.group[g].value, nl, 0, now,
			              fam[i].usd != NULL, fam[i].count ? fam[i].count(s) : 0,
			              fam[i].usd ? fam[i].usd(s) : 0);
		}
		tg_otlp_metric_close(f);
	}
	tg_otlp_metric_open(f, nfam == 0, "tokenguard.tokens", "{token}",
	                    "Tokens of sent calls by gen_ai.token.type: input and output (their sum "
	                    "is the total); cache_read and cache_write are parts of input, reasoning "
	                    "of output.  Unknown counts are left out.");
	for (size_t g = 0, first = 1; g < a.ngroups; g++) {
		const char *values[TG_METRIC_SERIES_LABELS + TG_REPORT_TAG_LABELS + 1];

		memcpy(values, a.group[g].value, nl * sizeof *values);
		for (int k = 0; k < TG_TOK_KINDS; k++, first = 0) {
			values[nl] = tg_metric_token_type[k];
			tg_otlp_point(f, first, names, values, nl + 1, 0, now, 0,
			              a.group[g].sums.tokens[k], 0);
		}
	}
	tg_otlp_metric_close(f);
	tg_otlp_metrics_close(f);
	tg_agg_free(&a);
	if (fclose(f)) {
		free(body);
		return tg_report_fail(rep, "out of memory");
	}
	rc = post(rep, "/v1/metrics", body, n);
	free(body);
	return rc;
}

/* One POST's worth of spans: the body being written. */
struct batch {
	const struct tg_report *rep;
	const struct tg_filter *filter;  /* --provider, --model, --process, --tag */
	FILE *f;
	char *body;
	size_t n;
	int count;
};

static int add_span(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	struct batch *b = ctx;

	if (!tg_filter_match(b->filter, r))
		return 1;
	if (!b->f) {
		if (!(b->f = open_memstream(&b->body, &b->n)))
			return tg_report_fail(b->rep, "out of memory");
		tg_otlp_traces_open(b->f);
	}
	tg_otlp_span(b->f, b->count++ == 0, key, r);
	return 0;
}

static void batch_clear(struct batch *b)
{
	if (b->f)
		fclose(b->f);
	free(b->body);
	b->f = NULL;
	b->body = NULL;
	b->count = 0;
}

static int post_spans(void *ctx, int n)
{
	struct batch *b = ctx;
	int rc;

	(void)n;
	tg_otlp_traces_close(b->f);
	rc = fclose(b->f) ? tg_report_fail(b->rep, "out of memory")
	                  : post(b->rep, "/v1/traces", b->body, b->n);
	b->f = NULL;
	batch_clear(b);
	return rc;
}

/* The spans not sent yet, a POST of up to SPANS_PER_POST at a time, the
 * watermark moved after each one the receiver took (deliver.h). */
static int send_spans(const struct tg_report *rep, struct tg_ledger *l, int64_t *sent)
{
	struct batch b = { rep, &rep->filter, NULL, NULL, 0, 0 };
	const struct tg_deliver d = { WATERMARK, SPANS_PER_POST, add_span, post_spans, &b };
	enum tg_deliver_stage stage;
	struct tg_watermark m;
	int rc = tg_watermark_load(l, WATERMARK, &m);

	if (rc)
		return tg_report_dir_fail(rep, rc);
	rc = tg_deliver(l, &d, &m, sent, &stage);
	batch_clear(&b);
	tg_watermark_free(&m);
	if (rc > 0)
		return rc;   /* said already */
	if (rc == TG_ENOMEM)
		return tg_report_fail(rep, "out of memory");
	if (rc && stage == TG_DELIVER_STORE)
		return tg_report_fail(rep, "%s: the spans were sent but the watermark could not be "
		                      "stored (%s): the next run sends them again", rep->dir,
		                      tg_strerror(rc));
	return rc ? tg_report_ledger_fail(rep, rc) : 0;
}

int tg_cmd_export(const struct tg_report *rep, struct tg_ledger *unused)
{
	struct tg_ledger *l;
	int64_t sent = 0;
	int rc;

	(void)unused;
	if (!rep->otlp)
		return tg_report_fail(rep, "export needs --otlp URL (the collector's OTLP/HTTP base, "
		                      "e.g. http://127.0.0.1:4318)");
	if (rep->period_given)
		return tg_report_fail(rep, "export sends counters over every record and the spans "
		                      "not sent yet; drop --since, --until and --today");
	if (strncmp(rep->otlp, "http://", 7) && strncmp(rep->otlp, "https://", 8))
		return tg_report_fail(rep, "--otlp \"%s\" is not an http:// or https:// URL", rep->otlp);
	if ((rc = tg_ledger_open(&l, rep->dir, 0)) != 0)
		return tg_report_dir_fail(rep, rc);
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		tg_ledger_close(l);
		return tg_report_fail(rep, "cannot start libcurl");
	}
	rc = tg_ledger_try_fold(l);
	if (rc && rc != TG_ELOCKED) {
		rc = tg_report_dir_fail(rep, rc);
	} else {
		rc = send_metrics(rep, l);
		if (!rc && rep->spans)
			rc = send_spans(rep, l, &sent);
	}
	if (!rc && rep->spans)
		fprintf(rep->err, "tokenguard-report: export: %lld spans sent\n", (long long)sent);
	curl_global_cleanup();
	tg_ledger_close(l);
	return rc;
}
