/* otlp.c - OTLP/HTTP JSON bodies: spans of ledger records with the GenAI
 * semantic-convention attributes, and cumulative sums (otlp.h). */
#include <string.h>

#include "emit.h"
#include "otlp.h"
#include "fnv.h"
#include "report.h"
#include "tags.h"

/* AggregationTemporality AGGREGATION_TEMPORALITY_CUMULATIVE and
 * SpanKind SPAN_KIND_CLIENT of opentelemetry-proto; Status STATUS_CODE_ERROR. */
#define OTLP_CUMULATIVE 2
#define OTLP_SPAN_CLIENT 3
#define OTLP_STATUS_ERROR 2

/* Ledger provider names (shim/providers.c) by the gen_ai.provider.name
 * well-known values of the GenAI registry; the others pass as they are.
 * Cache writes are gen_ai.usage.cache_write.input_tokens, the GenAI
 * conventions' current name (gen_ai.usage.cache_creation.input_tokens
 * before them). */
static const char *const provider_names[][2] = {
	{ "openai", "openai" },           { "azure-openai", "azure.ai.openai" },
	{ "anthropic", "anthropic" },     { "gemini", "gcp.gemini" },
	{ "bedrock", "aws.bedrock" },     { "cohere", "cohere" },
	{ "mistral", "mistral_ai" },      { "groq", "groq" },
	{ "xai", "x_ai" },                { "perplexity", "perplexity" },
	{ "deepseek", "deepseek" },
};

const char *tg_otlp_provider_name(const char *provider)
{
	for (size_t i = 0; i < sizeof provider_names / sizeof provider_names[0]; i++)
		if (!strcmp(provider, provider_names[i][0]))
			return provider_names[i][1];
	return provider;
}

/* The trace id is the key itself (time | pid | sequence: unique in the
 * ledger, never all zero); the span id its FNV-1a 64-bit hash, which is
 * 0 for no key we make, but an id of 0 is invalid, so 1 then. */
void tg_otlp_ids(const unsigned char key[16], unsigned char trace_id[16],
                 unsigned char span_id[8])
{
	uint64_t h = tg_fnv1a(TG_FNV1A_INIT, key, 16);

	memcpy(trace_id, key, 16);
	if (!h)
		h = 1;
	for (int i = 0; i < 8; i++)
		span_id[i] = (unsigned char)(h >> (56 - 8 * i));
}

static void hex(FILE *f, const unsigned char *p, size_t n)
{
	putc('"', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	putc('"', f);
}

/* An attribute (KeyValue): the key, then the value as AnyValue. */
static void attr_key(FILE *f, int *first, const char *key)
{
	fputs(*first ? "{\"key\":" : ",{\"key\":", f);
	*first = 0;
	tg_emit_json_str(f, key);
	fputs(",\"value\":", f);
}

static void attr_str(FILE *f, int *first, const char *key, const char *v)
{
	attr_key(f, first, key);
	fputs("{\"stringValue\":", f);
	tg_emit_json_str(f, v);
	fputs("}}", f);
}

/* Unknown counts (< 0) are left out, never sent as 0. */
static void attr_int(FILE *f, int *first, const char *key, int64_t v)
{
	if (v < 0)
		return;
	attr_key(f, first, key);
	fprintf(f, "{\"intValue\":\"%lld\"}}", (long long)v);
}

static void attr_bool(FILE *f, int *first, const char *key, int v)
{
	attr_key(f, first, key);
	fprintf(f, "{\"boolValue\":%s}}", v ? "true" : "false");
}

static void attr_double(FILE *f, int *first, const char *key, double v)
{
	attr_key(f, first, key);
	fputs("{\"doubleValue\":", f);
	tg_emit_exact(f, v);
	fputs("}}", f);
}

static void resource(FILE *f)
{
	int first = 1;

	fputs("{\"resource\":{\"attributes\":[", f);
	attr_str(f, &first, "service.name", "tokenguard");
	fputs("]},", f);
}

static void scope(FILE *f)
{
	fputs("{\"scope\":{\"name\":\"tokenguard\",\"version\":\"" TG_VERSION "\"},", f);
}

void tg_otlp_traces_open(FILE *f)
{
	fputs("{\"resourceSpans\":[", f);
	resource(f);
	fputs("\"scopeSpans\":[", f);
	scope(f);
	fputs("\"spans\":[", f);
}

void tg_otlp_traces_close(FILE *f)
{
	fputs("]}]}]}", f);
}

/* "k=v,k=v" as tokenguard.tag.k attributes. */
static void tag_attrs(FILE *f, int *first, const char *tags)
{
	char key[TG_TAGS_MAX + 16], val[TG_TAGS_MAX];

	struct tg_tag_item it;

	for (const char *at = tags; tg_tags_next(&at, &it);)
		if (it.value) {
			snprintf(key, sizeof key, "tokenguard.tag.%.*s", (int)it.klen, it.p);
			snprintf(val, sizeof val, "%.*s", (int)it.vlen, it.value);
			attr_str(f, first, key, val);
		}
}

void tg_otlp_span(FILE *f, int first, const unsigned char key[16], const struct tg_record *r)
{
	unsigned char trace_id[16], span_id[8];
	const char *request_model = *r->requested_model ? r->requested_model : r->model;
	int blocked = !!(r->flags & TG_REC_BLOCKED), a = 1;
	int64_t start_ns = r->ts_us * 1000;
	int64_t end_ns = start_ns + (r->latency_ms > 0 ? r->latency_ms * 1000000 : 0);
	char name[TG_OPERATION_MAX + TG_MODEL_MAX + 2];

	tg_otlp_ids(key, trace_id, span_id);
	/* The convention's span name: "{gen_ai.operation.name} {gen_ai.request.model}". */
	snprintf(name, sizeof name, "%s%s%s", r->operation, *r->operation && *request_model ? " " : "",
	         request_model);
	fputs(first ? "{\"traceId\":" : ",{\"traceId\":", f);
	hex(f, trace_id, sizeof trace_id);
	fputs(",\"spanId\":", f);
	hex(f, span_id, sizeof span_id);
	fputs(",\"name\":", f);
	tg_emit_json_str(f, *name ? name : r->provider);
	fprintf(f, ",\"kind\":%d,\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\","
	        "\"attributes\":[", OTLP_SPAN_CLIENT, (long long)start_ns, (long long)end_ns);
	attr_str(f, &a, "gen_ai.provider.name", tg_otlp_provider_name(r->provider));
	if (*r->operation)
		attr_str(f, &a, "gen_ai.operation.name", r->operation);
	if (*request_model)
		attr_str(f, &a, "gen_ai.request.model", request_model);
	if (!blocked && *r->model)
		attr_str(f, &a, "gen_ai.response.model", r->model);
	if (*r->response_id)
		attr_str(f, &a, "gen_ai.response.id", r->response_id);
	attr_int(f, &a, "gen_ai.usage.input_tokens", r->counts.input);
	attr_int(f, &a, "gen_ai.usage.output_tokens", r->counts.output);
	attr_int(f, &a, "gen_ai.usage.cache_read.input_tokens", r->counts.cached_input);
	attr_int(f, &a, "gen_ai.usage.cache_write.input_tokens", r->counts.cache_creation);
	attr_int(f, &a, "gen_ai.usage.reasoning.output_tokens", r->counts.reasoning);
	if (r->status > 0)
		attr_int(f, &a, "http.response.status_code", r->status);
	if (*r->error)
		attr_str(f, &a, "error.type", r->error);
	if (!(r->flags & TG_REC_UNPRICED) || (r->flags & TG_REC_COST_ESTIMATE))
		attr_double(f, &a, "tokenguard.cost_usd", r->cost_usd);
	attr_bool(f, &a, "tokenguard.cost_estimated", !!(r->flags & TG_REC_COST_ESTIMATE));
	attr_bool(f, &a, "tokenguard.blocked", blocked);
	if (*r->policy)
		attr_str(f, &a, "tokenguard.policy", r->policy);
	attr_str(f, &a, "tokenguard.process", r->process);
	tag_attrs(f, &a, r->tags);
	fputs("]", f);
	if (blocked || r->status >= 400 || *r->error)
		fprintf(f, ",\"status\":{\"code\":%d}", OTLP_STATUS_ERROR);
	fputs("}", f);
}

void tg_otlp_metrics_open(FILE *f)
{
	fputs("{\"resourceMetrics\":[", f);
	resource(f);
	fputs("\"scopeMetrics\":[", f);
	scope(f);
	fputs("\"metrics\":[", f);
}

void tg_otlp_metrics_close(FILE *f)
{
	fputs("]}]}]}", f);
}

void tg_otlp_metric_open(FILE *f, int first, const char *name, const char *unit,
                         const char *description)
{
	fputs(first ? "{\"name\":" : ",{\"name\":", f);
	tg_emit_json_str(f, name);
	fputs(",\"unit\":", f);
	tg_emit_json_str(f, unit);
	fputs(",\"description\":", f);
	tg_emit_json_str(f, description);
	fputs(",\"sum\":{\"dataPoints\":[", f);
}

void tg_otlp_metric_close(FILE *f)
{
	fprintf(f, "],\"aggregationTemporality\":%d,\"isMonotonic\":true}}", OTLP_CUMULATIVE);
}

void tg_otlp_point(FILE *f, int first, const char *const *names, const char *const *values,
                   int n, int64_t start_ns, int64_t now_ns, int is_double, int64_t iv,
                   double dv)
{
	int a = 1;

	fputs(first ? "{\"attributes\":[" : ",{\"attributes\":[", f);
	for (int i = 0; i < n; i++)
		attr_str(f, &a, names[i], values[i]);
	fprintf(f, "],\"startTimeUnixNano\":\"%lld\",\"timeUnixNano\":\"%lld\",",
	        (long long)start_ns, (long long)now_ns);
	if (is_double) {
		fputs("\"asDouble\":", f);
		tg_emit_exact(f, dv);
	} else {
		fprintf(f, "\"asInt\":\"%lld\"", (long long)iv);
	}
	fputs("}", f);
}
