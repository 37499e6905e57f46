/* cmd_records.c - `tokenguard-report records`: one line or object per
 * record, with a fixed list of fields in a fixed order (scripts rely on
 * both). */
#include <string.h>

#include "decimal.h"
#include "emit.h"
#include "report.h"
#include "when.h"

static const char *const fields[] = {
	"ts", "provider", "host", "endpoint", "model", "status", "stream",
	"input_tokens", "output_tokens", "cached_input_tokens",
	"cache_creation_input_tokens", "reasoning_tokens", "cost_usd", "unpriced",
	"latency_ms", "ttft_ms", "pid", "process", "tags", "request_id",
	"response_id", "incomplete", "usage_unknown", "blocked", "downgraded", "clamped",
	"requested_model", "policy",
};
#define NFIELDS (sizeof fields / sizeof fields[0])

struct ctx {
	const struct tg_report *rep;
	long n;
};

static const char *yes(const struct tg_record *r, uint32_t flag)
{
	return r->flags & flag ? "true" : "false";
}

static void json_tags(FILE *f, const char *tags)
{
	int first = 1;

	putc('{', f);
	for (const char *p = tags; *p;) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		size_t kl = eq ? (size_t)(eq - p) : len;
		char key[TG_TAGS_MAX], val[TG_TAGS_MAX];

		if (len) {
			memcpy(key, p, kl);
			key[kl] = '\0';
			snprintf(val, sizeof val, "%.*s", eq ? (int)(len - kl - 1) : 0, eq ? eq + 1 : "");
			fputs(first ? "" : ",", f);
			tg_emit_json_str(f, key);
			putc(':', f);
			tg_emit_json_str(f, val);
			first = 0;
		}
		p += len + (p[len] == ',');
	}
	putc('}', f);
}

static void json_id(FILE *f, const char *id)
{
	if (*id)
		tg_emit_json_str(f, id);
	else
		fputs("null", f);
}

static void emit_json(FILE *f, const struct tg_record *r)
{
	char ts[TG_WHEN_ISO_MAX];
	const struct tg_counts *c = &r->counts;

	tg_when_iso(r->ts_us, ts);
	fprintf(f, "{\"ts\":\"%s\",\"provider\":", ts);
	tg_emit_json_str(f, r->provider);
	fputs(",\"host\":", f);
	tg_emit_json_str(f, r->host);
	fputs(",\"endpoint\":", f);
	tg_emit_json_str(f, r->endpoint);
	fputs(",\"model\":", f);
	tg_emit_json_str(f, r->model);
	fprintf(f, ",\"status\":%d,\"stream\":%s,\"input_tokens\":", r->status, yes(r, TG_REC_STREAM));
	tg_emit_count(f, c->input, "null");
	fputs(",\"output_tokens\":", f);
	tg_emit_count(f, c->output, "null");
	fputs(",\"cached_input_tokens\":", f);
	tg_emit_count(f, c->cached_input, "null");
	fputs(",\"cache_creation_input_tokens\":", f);
	tg_emit_count(f, c->cache_creation, "null");
	fputs(",\"reasoning_tokens\":", f);
	tg_emit_count(f, c->reasoning, "null");
	fputs(",\"cost_usd\":", f);
	tg_emit_cost(f, r->cost_usd);
	fprintf(f, ",\"unpriced\":%s,\"latency_ms\":", yes(r, TG_REC_UNPRICED));
	tg_emit_count(f, r->latency_ms, "null");
	fputs(",\"ttft_ms\":", f);
	tg_emit_count(f, r->ttft_ms, "null");
	fprintf(f, ",\"pid\":%d,\"process\":", r->pid);
	tg_emit_json_str(f, r->process);
	fputs(",\"tags\":", f);
	json_tags(f, r->tags);
	fputs(",\"request_id\":", f);
	json_id(f, r->request_id);
	fputs(",\"response_id\":", f);
	json_id(f, r->response_id);
	fprintf(f, ",\"incomplete\":%s,\"usage_unknown\":%s,\"blocked\":%s,\"downgraded\":%s,"
	        "\"clamped\":%s,\"requested_model\":", yes(r, TG_REC_INCOMPLETE),
	        yes(r, TG_REC_USAGE_UNKNOWN), yes(r, TG_REC_BLOCKED), yes(r, TG_REC_DOWNGRADED),
	        yes(r, TG_REC_CLAMPED));
	json_id(f, r->requested_model);
	fputs(",\"policy\":", f);
	json_id(f, r->policy);
	putc('}', f);
}

static void emit_csv(FILE *f, const struct tg_record *r)
{
	char ts[TG_WHEN_ISO_MAX], tags[TG_TAGS_MAX];
	const struct tg_counts *c = &r->counts;

	tg_when_iso(r->ts_us, ts);
	/* CSV lists tags as k=v;k=v so the field needs no quoting. */
	snprintf(tags, sizeof tags, "%s", r->tags);
	for (char *p = tags; (p = strchr(p, ',')); )
		*p = ';';
	fprintf(f, "%s,", ts);
	tg_emit_csv_field(f, r->provider);
	putc(',', f);
	tg_emit_csv_field(f, r->host);
	putc(',', f);
	tg_emit_csv_field(f, r->endpoint);
	putc(',', f);
	tg_emit_csv_field(f, r->model);
	fprintf(f, ",%d,%s,", r->status, yes(r, TG_REC_STREAM));
	tg_emit_count(f, c->input, "");
	putc(',', f);
	tg_emit_count(f, c->output, "");
	putc(',', f);
	tg_emit_count(f, c->cached_input, "");
	putc(',', f);
	tg_emit_count(f, c->cache_creation, "");
	putc(',', f);
	tg_emit_count(f, c->reasoning, "");
	putc(',', f);
	tg_emit_cost(f, r->cost_usd);
	fprintf(f, ",%s,", yes(r, TG_REC_UNPRICED));
	tg_emit_count(f, r->latency_ms, "");
	putc(',', f);
	tg_emit_count(f, r->ttft_ms, "");
	fprintf(f, ",%d,", r->pid);
	tg_emit_csv_field(f, r->process);
	putc(',', f);
	tg_emit_csv_field(f, tags);
	putc(',', f);
	tg_emit_csv_field(f, r->request_id);
	putc(',', f);
	tg_emit_csv_field(f, r->response_id);
	fprintf(f, ",%s,%s,%s,%s,%s,", yes(r, TG_REC_INCOMPLETE), yes(r, TG_REC_USAGE_UNKNOWN),
	        yes(r, TG_REC_BLOCKED), yes(r, TG_REC_DOWNGRADED), yes(r, TG_REC_CLAMPED));
	tg_emit_csv_field(f, r->requested_model);
	putc(',', f);
	tg_emit_csv_field(f, r->policy);
	fputs("\r\n", f);
}

/* The table shows the columns people scan for; the other formats carry
 * every field. */
static void emit_table_head(FILE *f)
{
	fprintf(f, "%-24s  %-10s  %-32s  %6s  %9s  %9s  %9s  %9s  %9s  %12s  %8s  %s\n", "TS",
	        "PROVIDER", "MODEL", "STATUS", "INPUT", "CACHED", "CACHE-WR", "OUTPUT",
	        "REASONING", "COST (USD)", "LAT(ms)", "PROCESS");
}

static void table_count(FILE *f, int64_t v)
{
	if (v < 0)
		fprintf(f, "  %9s", "?");
	else
		fprintf(f, "  %9lld", (long long)v);
}

static void emit_table(FILE *f, const struct tg_record *r)
{
	char ts[TG_WHEN_ISO_MAX];
	const struct tg_counts *c = &r->counts;

	tg_when_iso(r->ts_us, ts);
	fprintf(f, "%-24s  %-10s  %-32s  %6d", ts, r->provider, r->model, r->status);
	table_count(f, c->input);
	table_count(f, c->cached_input);
	table_count(f, c->cache_creation);
	table_count(f, c->output);
	table_count(f, c->reasoning);
	if (r->flags & TG_REC_BLOCKED)
		fprintf(f, "  %12s", "blocked");
	else if (r->flags & (TG_REC_UNPRICED | TG_REC_USAGE_UNKNOWN))
		fprintf(f, "  %12s", "unpriced");
	else
		tg_decimal_fprintf(f, "  %12.6f", r->cost_usd);
	table_count(f, r->latency_ms);
	fprintf(f, "  %s\n", r->process);
}

static int each(void *p, const struct tg_record *r)
{
	struct ctx *c = p;
	FILE *f = c->rep->out;

	if (!tg_filter_match(&c->rep->filter, r))
		return 0;
	switch (c->rep->format) {
	case TG_FMT_JSONL:
		emit_json(f, r);
		putc('\n', f);
		break;
	case TG_FMT_JSON:
		fputs(c->n ? ",\n" : "\n", f);
		emit_json(f, r);
		break;
	case TG_FMT_CSV:
		emit_csv(f, r);
		break;
	default:
		emit_table(f, r);
	}
	c->n++;
	return 0;
}

int tg_cmd_records(const struct tg_report *rep, struct tg_ledger *l)
{
	struct ctx c = { rep, 0 };
	int rc;

	if (rep->format == TG_FMT_JSON)
		putc('[', rep->out);
	if (rep->format == TG_FMT_CSV) {
		for (size_t i = 0; i < NFIELDS; i++)
			fprintf(rep->out, "%s%s", i ? "," : "", fields[i]);
		fputs("\r\n", rep->out);
	}
	if (rep->format == TG_FMT_TABLE)
		emit_table_head(rep->out);
	rc = tg_ledger_scan(l, rep->since_us, rep->until_us, each, &c);
	if (rc)
		return tg_report_ledger_fail(rep, rc);
	if (rep->format == TG_FMT_JSON)
		fputs(c.n ? "\n]\n" : "]\n", rep->out);
	return 0;
}
