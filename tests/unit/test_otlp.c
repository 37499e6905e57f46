/* test_otlp.c - the OTLP/HTTP JSON bodies of `export --otlp` (tools/otlp.c)
 * and the ledger's export watermark (ledger/ledger_watermark.c): exact
 * bytes of a span and a sum, unknown counts left out, ids a function of
 * the record key, the scan after a watermark, and a repair keeping it.
 * The unit binary links only shim/ and ledger/, so the tools/ module is
 * compiled in here (emit.c comes with test_report.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/otlp.c"
#include "fixture.h"
#include "ledger_verify.h"
#include "ledger_watermark.h"

#define CAPTURE(out, stmt) do { \
	size_t n_ = 0; \
	FILE *f = open_memstream(&(out), &n_); \
	cr_assert_not_null(f); \
	stmt; \
	fclose(f); \
} while (0)

static const unsigned char key1[16] = { 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40, 0, 0, 0x30, 0x39,
                                        0, 0, 0, 7 };

static struct tg_record full_record(void)
{
	struct tg_record r = tgt_record(1000000, "anthropic", "claude-sonnet-4-5-20250929",
	                                "python3", "team=search,env=a=b", 1200, 80, 0.00123, 0);

	r.latency_ms = 1500;
	r.status = 200;
	r.counts.cached_input = 1000;
	r.counts.cache_creation = 0;
	r.counts.reasoning = TG_COUNT_UNKNOWN;
	snprintf(r.requested_model, sizeof r.requested_model, "claude-sonnet-4-5");
	snprintf(r.response_id, sizeof r.response_id, "msg_01\"x");
	snprintf(r.operation, sizeof r.operation, "chat");
	return r;
}

/* Every field in its protobuf JSON name, int64 values as strings, the ids
 * as hex: the key itself and its FNV-1a 64 hash (4e5df0e7d904a788,
 * checked apart); the end is the start plus the latency; the unknown
 * reasoning count is left out, the known 0 of cache writes is sent. */
Test(otlp, span_exact_bytes)
{
	struct tg_record r = full_record();
	char *s = NULL;

	CAPTURE(s, tg_otlp_span(f, 1, key1, &r));
	cr_assert_str_eq(s,
		"{\"traceId\":\"00000000000f42400000303900000007\",\"spanId\":\"4e5df0e7d904a788\","
		"\"name\":\"chat claude-sonnet-4-5\",\"kind\":3,\"startTimeUnixNano\":\"1000000000\","
		"\"endTimeUnixNano\":\"2500000000\",\"attributes\":["
		"{\"key\":\"gen_ai.provider.name\",\"value\":{\"stringValue\":\"anthropic\"}},"
		"{\"key\":\"gen_ai.operation.name\",\"value\":{\"stringValue\":\"chat\"}},"
		"{\"key\":\"gen_ai.request.model\",\"value\":{\"stringValue\":\"claude-sonnet-4-5\"}},"
		"{\"key\":\"gen_ai.response.model\",\"value\":{\"stringValue\":"
		"\"claude-sonnet-4-5-20250929\"}},"
		"{\"key\":\"gen_ai.response.id\",\"value\":{\"stringValue\":\"msg_01\\\"x\"}},"
		"{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"intValue\":\"1200\"}},"
		"{\"key\":\"gen_ai.usage.output_tokens\",\"value\":{\"intValue\":\"80\"}},"
		"{\"key\":\"gen_ai.usage.cache_read.input_tokens\",\"value\":{\"intValue\":\"1000\"}},"
		"{\"key\":\"gen_ai.usage.cache_creation.input_tokens\",\"value\":{\"intValue\":\"0\"}},"
		"{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"200\"}},"
		"{\"key\":\"tokenguard.cost_usd\",\"value\":{\"doubleValue\":0.00123}},"
		"{\"key\":\"tokenguard.cost_estimated\",\"value\":{\"boolValue\":false}},"
		"{\"key\":\"tokenguard.blocked\",\"value\":{\"boolValue\":false}},"
		"{\"key\":\"tokenguard.process\",\"value\":{\"stringValue\":\"python3\"}},"
		"{\"key\":\"tokenguard.tag.team\",\"value\":{\"stringValue\":\"search\"}},"
		"{\"key\":\"tokenguard.tag.env\",\"value\":{\"stringValue\":\"a=b\"}}]}");
	free(s);
}

/* A call whose response carried no usage and whose model has no price:
 * no usage attribute, no cost, no response model for a blocked call, an
 * error status; the span is not the first of its body. */
Test(otlp, unknowns_left_out_blocked_is_error)
{
	struct tg_record r = tgt_record(5, "groq", "llama-3.3-70b", "curl", "", TG_COUNT_UNKNOWN,
	                                TG_COUNT_UNKNOWN, 0, TG_REC_USAGE_UNKNOWN | TG_REC_UNPRICED |
	                                TG_REC_BLOCKED);
	char *s = NULL;

	r.latency_ms = -1;
	CAPTURE(s, tg_otlp_span(f, 0, key1, &r));
	cr_assert(!strncmp(s, ",{\"traceId\":", 12), "%s", s);
	cr_assert_null(strstr(s, "gen_ai.usage"), "%s", s);
	cr_assert_null(strstr(s, "tokenguard.cost_usd"), "%s", s);
	cr_assert_null(strstr(s, "gen_ai.response.model"), "%s", s);
	cr_assert_not_null(strstr(s, "\"startTimeUnixNano\":\"5000\",\"endTimeUnixNano\":\"5000\""),
	                   "%s", s);
	cr_assert_not_null(strstr(s, "{\"key\":\"gen_ai.request.model\",\"value\":"
	                          "{\"stringValue\":\"llama-3.3-70b\"}}"), "%s", s);
	cr_assert_not_null(strstr(s, "{\"key\":\"tokenguard.blocked\",\"value\":"
	                          "{\"boolValue\":true}}"), "%s", s);
	cr_assert(strstr(s, "]," "\"status\":{\"code\":2}}") != NULL, "%s", s);
	free(s);
}

/* An estimate is sent, flagged as one. */
Test(otlp, estimate_sent_flagged)
{
	struct tg_record r = tgt_record(5, "openai", "new-model", "curl", "", 10, 5, 0.5,
	                                TG_REC_UNPRICED | TG_REC_COST_ESTIMATE);
	char *s = NULL;

	CAPTURE(s, tg_otlp_span(f, 1, key1, &r));
	cr_assert_not_null(strstr(s, "{\"key\":\"tokenguard.cost_usd\",\"value\":"
	                          "{\"doubleValue\":0.5}},{\"key\":\"tokenguard.cost_estimated\","
	                          "\"value\":{\"boolValue\":true}}"), "%s", s);
	free(s);
}

Test(otlp, provider_names_of_the_registry)
{
	cr_assert_str_eq(tg_otlp_provider_name("azure-openai"), "azure.ai.openai");
	cr_assert_str_eq(tg_otlp_provider_name("gemini"), "gcp.gemini");
	cr_assert_str_eq(tg_otlp_provider_name("bedrock"), "aws.bedrock");
	cr_assert_str_eq(tg_otlp_provider_name("mistral"), "mistral_ai");
	cr_assert_str_eq(tg_otlp_provider_name("xai"), "x_ai");
	cr_assert_str_eq(tg_otlp_provider_name("openrouter"), "openrouter");
}

/* Ids are a function of the key alone: equal for equal keys, apart for
 * keys one bit apart, never zero. */
Test(otlp, ids_from_the_key)
{
	unsigned char k2[16], t1[16], s1[8], t2[16], s2[8], t3[16], s3[8], zero[8] = { 0 };

	memcpy(k2, key1, 16);
	tg_otlp_ids(key1, t1, s1);
	tg_otlp_ids(k2, t2, s2);
	cr_assert(!memcmp(t1, t2, 16) && !memcmp(s1, s2, 8));
	k2[15] ^= 1;
	tg_otlp_ids(k2, t3, s3);
	cr_assert(memcmp(t1, t3, 16) && memcmp(s1, s3, 8));
	cr_assert(memcmp(s1, zero, 8) && memcmp(s3, zero, 8));
}

/* A cumulative monotonic sum: asInt as a string, asDouble a number. */
Test(otlp, sum_exact_bytes)
{
	const char *names[2] = { "provider", "gen_ai.token.type" }, *values[2] = { "openai", "input" };
	char *s = NULL;

	CAPTURE(s, (tg_otlp_metric_open(f, 1, "tokenguard.tokens", "{token}", "d"),
	            tg_otlp_point(f, 1, names, values, 2, 0, 1700000000000000000LL, 0,
	                          12345678901LL, 0),
	            tg_otlp_point(f, 0, names, values, 0, 0, 5, 1, 0, 0.25),
	            tg_otlp_metric_close(f)));
	cr_assert_str_eq(s,
		"{\"name\":\"tokenguard.tokens\",\"unit\":\"{token}\",\"description\":\"d\","
		"\"sum\":{\"dataPoints\":[{\"attributes\":["
		"{\"key\":\"provider\",\"value\":{\"stringValue\":\"openai\"}},"
		"{\"key\":\"gen_ai.token.type\",\"value\":{\"stringValue\":\"input\"}}],"
		"\"startTimeUnixNano\":\"0\",\"timeUnixNano\":\"1700000000000000000\","
		"\"asInt\":\"12345678901\"},{\"attributes\":[],\"startTimeUnixNano\":\"0\","
		"\"timeUnixNano\":\"5\",\"asDouble\":0.25}],\"aggregationTemporality\":2,"
		"\"isMonotonic\":true}}");
	free(s);
}

/* The watermark: absent, stored, read back; the scan after it gives only
 * the later records; a repair keeps it. */
static int collect(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	int64_t *ts = ctx;

	(void)key;
	for (; *ts; ts++)
		;
	*ts = r->ts_us;
	return 0;
}

static int last_key(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	(void)r;
	memcpy(ctx, key, 16);
	return 0;
}

Test(otlp, watermark_scan_after_and_repair)
{
	char dir[256];
	struct tg_ledger *l;
	unsigned char key[16], got[16];
	int64_t ts[8] = { 0 };
	struct tg_repair out;
	int has = 1;

	cr_assert_not_null(tgt_tmpdir(dir, sizeof dir, "tg-otlp"));
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	for (int i = 1; i <= 3; i++) {
		struct tg_record r = tgt_record(i * 1000, "openai", "gpt-4.1", "t", "", 1, 1, 0, 0);

		tgt_put_record(l, &r);
	}
	cr_assert_eq(tg_ledger_watermark_get(l, "otlp", key, &has), 0);
	cr_assert_eq(has, 0);
	/* The key of the second record: scan the first two. */
	{
		struct tg_record r = tgt_record(4000, "openai", "gpt-4.1", "t", "", 1, 1, 0, 0);
		int n = 0;

		cr_assert_eq(tg_ledger_scan_after(l, key, 0, collect, ts), 0);
		for (; ts[n]; n++)
			;
		cr_assert_eq(n, 3);
		memset(ts, 0, sizeof ts);
		tgt_put_record(l, &r);
	}
	cr_assert_eq(tg_ledger_scan_after(l, key, 0, last_key, key), 0);  /* the last: 4000 */
	cr_assert_eq(tg_ledger_watermark_put(l, "otlp", key), 0);
	cr_assert_eq(tg_ledger_scan_after(l, key, 1, collect, ts), 0);
	cr_assert_eq(ts[0], 0, "nothing after the last key, got %lld", (long long)ts[0]);
	tg_ledger_close(l);

	cr_assert_eq(tg_ledger_repair(dir, NULL, 1, 1000, &out), 0);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), 0);
	cr_assert_eq(tg_ledger_watermark_get(l, "otlp", got, &has), 0);
	cr_assert_eq(has, 1, "repair dropped the watermark");
	cr_assert(!memcmp(got, key, 16));
	tg_ledger_close(l);
	tgt_rmtree(dir);
}
