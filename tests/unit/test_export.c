/* test_export.c - the export formats' pure parts: the Prometheus text
 * exposition syntax (tools/prom.c) and the OTLP/HTTP JSON bodies of
 * `export --otlp` (tools/otlp.c): exact bytes of a span and a sum,
 * unknown counts left out, ids a function of the record key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/otlp.h"
#include "../../tools/prom.h"
#include "fixture.h"

Test(prom, label_value_escapes_backslash_quote_newline_only)
{
	char *s = NULL;

	CAPTURE(s, tg_prom_label(f, 1, "model", "a\\b\"c\nd\te=f,g}"));
	cr_assert_str_eq(s, "model=\"a\\\\b\\\"c\\nd\te=f,g}\"");
	free(s);
	CAPTURE(s, tg_prom_label(f, 0, "process", ""));
	cr_assert_str_eq(s, ",process=\"\"");
	free(s);
}

Test(prom, utf8_passes_unchanged)
{
	char *s = NULL;

	CAPTURE(s, tg_prom_label(f, 1, "tag_team", "r\xc3\xa9seau"));
	cr_assert_str_eq(s, "tag_team=\"r\xc3\xa9seau\"");
	free(s);
}

Test(prom, invalid_utf8_becomes_replacement_character)
{
	char *s = NULL;

	/* a lone continuation byte, a cut sequence, an overlong '/' */
	CAPTURE(s, tg_prom_label(f, 1, "model", "a\x80" "b\xe2\x82" "c\xc0\xaf"));
	cr_assert_str_eq(s, "model=\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c"
	                    "\xef\xbf\xbd\xef\xbf\xbd\"");
	free(s);
}

Test(prom, label_names)
{
	cr_assert(tg_prom_label_name_ok("team"));
	cr_assert(tg_prom_label_name_ok("_x9"));
	cr_assert(tg_prom_label_name_ok("Team_2"));
	cr_assert(!tg_prom_label_name_ok(""));
	cr_assert(!tg_prom_label_name_ok("__reserved"));
	cr_assert(!tg_prom_label_name_ok("9lives"));
	cr_assert(!tg_prom_label_name_ok("a-b"));
	cr_assert(!tg_prom_label_name_ok("a.b"));
	cr_assert(!tg_prom_label_name_ok("a=b"));
	cr_assert(!tg_prom_label_name_ok(NULL));
}

Test(prom, samples_and_family)
{
	char *s = NULL;

	CAPTURE(s, {
		tg_prom_family(f, "x_total", "counter", "Things.");
		tg_prom_sample_int(f, "x_total", "a=\"1\"", 42);
		tg_prom_sample_int(f, "x_total", "", 0);
		tg_prom_sample_double(f, "c_usd_total", "a=\"1\"", 0.1 + 0.2);
		tg_prom_sample_double(f, "c_usd_total", "", 2.5e-10);
		tg_prom_sample_double(f, "c_usd_total", "", 1.0 / 0.0);
	});
	cr_assert_str_eq(s, "# HELP x_total Things.\n# TYPE x_total counter\n"
	                    "x_total{a=\"1\"} 42\nx_total 0\n"
	                    "c_usd_total{a=\"1\"} 0.30000000000000004\n"
	                    "c_usd_total 2.5e-10\nc_usd_total NaN\n");
	free(s);
}

#include "../../tools/printed.h"

Test(seen, each_line_once_and_pruned_by_time)
{
	struct tg_printed s = { 0 };
	char line[32];

	for (int i = 0; i < 5000; i++) {
		int n = snprintf(line, sizeof line, "{\"ts\":%d}\n", i);

		cr_assert_eq(tg_printed_add(&s, tg_printed_hash(line, (size_t)n), i), 0, "%d", i);
	}
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(line, sizeof line, "{\"ts\":%d}\n", i);

		cr_assert_eq(tg_printed_add(&s, tg_printed_hash(line, (size_t)n), i), 1, "%d again", i);
	}
	tg_printed_prune(&s, 4000);
	cr_assert_eq(s.n, 1000);
	cr_assert_eq(tg_printed_add(&s, tg_printed_hash("{\"ts\":4500}\n", 12), 4500), 1);
	cr_assert_eq(tg_printed_add(&s, tg_printed_hash("{\"ts\":10}\n", 10), 10), 0, "forgotten");
	cr_assert_neq(tg_printed_hash("", 0), 0);
	tg_printed_free(&s);
}

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
		"{\"key\":\"gen_ai.usage.cache_write.input_tokens\",\"value\":{\"intValue\":\"0\"}},"
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
