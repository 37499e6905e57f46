/* test_report_scan.c - the partial decode and scan that reports use when
 * they read a few fields of every record: what they fill must be what the
 * full decode gives, and what they skip must read as empty. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "ledger_budget.h"
#include "record_codec.h"

#define T0 INT64_C(1767225600000000)   /* 2026-01-01T00:00:00Z */

static struct tg_record full(int i)
{
	struct tg_record r = tgt_record(T0 + i * INT64_C(1000003), "openai", "gpt-4o-mini", "python3",
	                                "team=a,env=prod", 1000 + i, 300 - i, 0.25 * i,
	                                TG_REC_STREAM | (i % 2 ? TG_REC_UNPRICED : 0));

	r.latency_ms = 1234;
	r.ttft_ms = 56;
	r.counts.cached_input = 7;
	r.counts.cache_creation = 3;
	r.counts.cache_creation_5m = 2;
	r.counts.cache_creation_1h = 1;
	r.counts.reasoning = 11;
	r.pid = 4242;
	r.status = 200;
	snprintf(r.host, sizeof r.host, "api.openai.com");
	snprintf(r.endpoint, sizeof r.endpoint, "/v1/chat/completions");
	snprintf(r.request_id, sizeof r.request_id, "req_%08d", i);
	snprintf(r.response_id, sizeof r.response_id, "chatcmpl-%d", i);
	snprintf(r.requested_model, sizeof r.requested_model, "gpt-4o");
	snprintf(r.policy, sizeof r.policy, "team-daily");
	return r;
}

/* want with the text fields not in text emptied. */
static void expect(const struct tg_record *got, const struct tg_record *want, unsigned text)
{
	const struct {
		unsigned bit;
		const char *g, *w;
	} t[] = {
		{ TG_TEXT_PROVIDER, got->provider, want->provider },
		{ TG_TEXT_HOST, got->host, want->host },
		{ TG_TEXT_ENDPOINT, got->endpoint, want->endpoint },
		{ TG_TEXT_MODEL, got->model, want->model },
		{ TG_TEXT_PROCESS, got->process, want->process },
		{ TG_TEXT_TAGS, got->tags, want->tags },
		{ TG_TEXT_REQUEST_ID, got->request_id, want->request_id },
		{ TG_TEXT_RESPONSE_ID, got->response_id, want->response_id },
		{ TG_TEXT_REQUESTED_MODEL, got->requested_model, want->requested_model },
		{ TG_TEXT_POLICY, got->policy, want->policy },
	};

	cr_assert_eq(got->ts_us, want->ts_us);
	cr_assert_eq(got->latency_ms, want->latency_ms);
	cr_assert_eq(got->ttft_ms, want->ttft_ms);
	cr_assert(!memcmp(&got->counts, &want->counts, sizeof got->counts));
	cr_assert(got->cost_usd == want->cost_usd);
	cr_assert_eq(got->pid, want->pid);
	cr_assert_eq(got->status, want->status);
	cr_assert_eq(got->flags, want->flags);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		cr_assert_str_eq(t[i].g, text & t[i].bit ? t[i].w : "", "text field %zu", i);
}

Test(report_scan, decodes_the_numbers_and_the_text_asked_for)
{
	static const unsigned masks[] = { 0, TG_TEXT_ALL, TG_TEXT_MODEL,
	                                  TG_TEXT_PROVIDER | TG_TEXT_TAGS, TG_TEXT_POLICY | TG_TEXT_HOST };
	struct tg_record in = full(3), all, some;
	unsigned char buf[TG_RECORD_ENC_MAX];
	int n = tg_record_encode(&in, buf, sizeof buf);

	cr_assert_gt(n, 0);
	cr_assert_eq(tg_record_decode(&all, buf, (size_t)n), 0);
	for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
		/* Garbage first: the partial decode does not clear r. */
		memset(&some, 0x5a, sizeof some);
		cr_assert_eq(tg_record_decode_some(&some, buf, (size_t)n, masks[i]), 0);
		expect(&some, &all, masks[i]);
	}
}

Test(report_scan, refuses_what_the_full_decode_refuses_in_the_fields_it_reads)
{
	struct tg_record in = full(1), r;
	unsigned char buf[TG_RECORD_ENC_MAX];
	int n = tg_record_encode(&in, buf, sizeof buf);

	cr_assert_gt(n, 0);
	cr_assert_eq(tg_record_decode_some(&r, buf, (size_t)n - 1, TG_TEXT_ALL), TG_ECORRUPT);
	cr_assert_eq(tg_record_decode_some(&r, buf, (size_t)n - 1, 0), TG_ECORRUPT);
	buf[0] = TG_RECORD_ENC_VERSION + 1;
	cr_assert_eq(tg_record_decode_some(&r, buf, (size_t)n, 0), TG_ESCHEMA);
}

struct seen {
	struct tg_record r[64];
	int n;
	unsigned text;
};

static int collect(void *ctx, const struct tg_record *r)
{
	struct seen *s = ctx;

	cr_assert_lt(s->n, 64);
	s->r[s->n++] = *r;
	return 0;
}

static int stop_at_two(void *ctx, const struct tg_record *r)
{
	return ++*(int *)ctx == 2 ? 7 : 0;
}

Test(report_scan, scans_like_tg_ledger_scan_with_the_text_asked_for)
{
	char dir[64];
	struct tg_ledger *l;
	struct seen all = { .n = 0 }, some = { .n = 0 };
	int calls = 0;

	tgt_tmpdir(dir, sizeof dir, "tg-scan");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	for (int i = 0; i < 20; i++) {
		struct tg_record r = full(i);

		tgt_put_record(l, &r);
	}
	cr_assert_eq(tg_ledger_scan(l, T0 + 3000000, T0 + 15000000, collect, &all), 0);
	cr_assert_eq(tg_ledger_scan_some(l, T0 + 3000000, T0 + 15000000, TG_TEXT_MODEL | TG_TEXT_TAGS,
	                                 collect, &some), 0);
	cr_assert_eq(all.n, 12);
	cr_assert_eq(some.n, all.n);
	for (int i = 0; i < all.n; i++)
		expect(&some.r[i], &all.r[i], TG_TEXT_MODEL | TG_TEXT_TAGS);
	/* fn's own stop comes back as it was given. */
	cr_assert_eq(tg_ledger_scan_some(l, 0, INT64_MAX, 0, stop_at_two, &calls), 7);
	cr_assert_eq(calls, 2);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

/* The view the `records` scan writes from: the same numbers and text as
 * the decode into a record, read in place. */
static void expect_view(const struct tg_record_view *v, const struct tg_record *want,
                        unsigned text)
{
	struct tg_record got;

	memset(&got, 0x5a, sizeof got);
	tg_record_from_view(&got, v);
	expect(&got, want, text);
}

Test(report_scan, views_a_record_as_the_decode_reads_it)
{
	static const unsigned masks[] = { 0, TG_TEXT_ALL, TG_TEXT_MODEL, TG_TEXT_POLICY | TG_TEXT_HOST };
	struct tg_record in = full(5), all;
	struct tg_record_view v;
	unsigned char buf[TG_RECORD_ENC_MAX];
	int n = tg_record_encode(&in, buf, sizeof buf);

	cr_assert_gt(n, 0);
	cr_assert_eq(tg_record_decode(&all, buf, (size_t)n), 0);
	for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
		cr_assert_eq(tg_record_view_decode(&v, buf, (size_t)n, masks[i]), 0);
		expect_view(&v, &all, masks[i]);
		/* The text points into the value: nothing was copied. */
		if (masks[i] & TG_TEXT_MODEL)
			cr_assert(v.text[TG_TI_MODEL].p > (const char *)buf &&
			          v.text[TG_TI_MODEL].p < (const char *)buf + n);
	}
	tg_record_view_of(&v, &all);
	expect_view(&v, &all, TG_TEXT_ALL);
}

/* A value as a later version may write it: a model longer than our field,
 * cut at a UTF-8 boundary by both ways; a NUL in a text field read is
 * damage to both, in a field not read to neither. */
Test(report_scan, views_long_and_damaged_text_as_the_decode_does)
{
	unsigned char v[1 + 3 + TG_MODEL_MAX + 8 + 2 + 4];
	size_t n = 0, mlen = TG_MODEL_MAX + 8;
	struct tg_record r;
	struct tg_record_view view;

	v[n++] = TG_RECORD_ENC_VERSION;
	v[n++] = 23;                            /* T_MODEL */
	v[n++] = (unsigned char)(0x80 | (mlen & 0x7f));
	v[n++] = (unsigned char)(mlen >> 7);
	memset(v + n, 'm', mlen);
	memcpy(v + n + TG_MODEL_MAX - 3, "\xe2\x82\xac", 3);   /* a euro sign across the cut */
	n += mlen;
	v[n++] = 24;                            /* T_PROCESS */
	v[n++] = 4;
	memcpy(v + n, "py\0x", 4);
	n += 4;

	cr_assert_eq(tg_record_decode_some(&r, v, n, TG_TEXT_MODEL), 0);
	cr_assert_eq(tg_record_view_decode(&view, v, n, TG_TEXT_MODEL), 0);
	cr_assert_eq(strlen(r.model), TG_MODEL_MAX - 3);
	cr_assert_eq(view.text[TG_TI_MODEL].n, strlen(r.model));
	cr_assert(!memcmp(view.text[TG_TI_MODEL].p, r.model, strlen(r.model)));
	cr_assert_eq(tg_record_decode_some(&r, v, n, TG_TEXT_PROCESS), TG_ECORRUPT);
	cr_assert_eq(tg_record_view_decode(&view, v, n, TG_TEXT_PROCESS), TG_ECORRUPT);
	/* Long text fields with a NUL past the first eight bytes too. */
	memset(v + 4, 'm', mlen);
	v[4 + 77] = '\0';
	cr_assert_eq(tg_record_view_decode(&view, v, n, TG_TEXT_MODEL), TG_ECORRUPT);
	cr_assert_eq(tg_record_decode_some(&r, v, n, TG_TEXT_MODEL), TG_ECORRUPT);
}

struct seen_views {
	struct tg_record r[64];
	int n;
};

static int collect_view(void *ctx, const struct tg_record_view *v)
{
	struct seen_views *s = ctx;

	cr_assert_lt(s->n, 64);
	memset(&s->r[s->n], 0, sizeof s->r[s->n]);
	tg_record_from_view(&s->r[s->n++], v);
	return 0;
}

static int stop_view_at_two(void *ctx, const struct tg_record_view *v)
{
	return ++*(int *)ctx == 2 ? 7 : 0;
}

Test(report_scan, scans_views_like_tg_ledger_scan)
{
	char dir[64];
	struct tg_ledger *l;
	struct seen all = { .n = 0 };
	struct seen_views views = { .n = 0 };
	int calls = 0;

	tgt_tmpdir(dir, sizeof dir, "tg-scanv");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	for (int i = 0; i < 20; i++) {
		struct tg_record r = full(i);

		tgt_put_record(l, &r);
	}
	cr_assert_eq(tg_ledger_scan(l, T0 + 3000000, T0 + 15000000, collect, &all), 0);
	cr_assert_eq(tg_ledger_scan_views(l, T0 + 3000000, T0 + 15000000, TG_TEXT_ALL,
	                                  collect_view, &views), 0);
	cr_assert_eq(all.n, 12);
	cr_assert_eq(views.n, all.n);
	for (int i = 0; i < all.n; i++)
		expect(&views.r[i], &all.r[i], TG_TEXT_ALL);
	cr_assert_eq(tg_ledger_scan_views(l, 0, INT64_MAX, 0, stop_view_at_two, &calls), 7);
	cr_assert_eq(calls, 2);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}
