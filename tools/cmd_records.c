/* cmd_records.c - `tokenguard-report records`: one line or object per
 * record, with a fixed list of fields in a fixed order (scripts rely on
 * both). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decimal.h"
#include "emit.h"
#include "report.h"
#include "when.h"

/* The fields of `records`, in their fixed order (scripts rely on both the
 * names and the order): one table that the JSON and CSV writers walk, so a
 * field cannot be added to one format and not the other. */
enum field_kind {
	F_TS,       /* ISO 8601 time */
	F_TEXT,     /* string */
	F_ID,       /* string, null when empty */
	F_TAGS,     /* "k=v,k=v": an object in JSON, "k=v;k=v" in CSV */
	F_INT,      /* int32 */
	F_COUNT,    /* int64, unknown (< 0) as null / empty */
	F_COST,     /* double */
	F_FLAG,     /* a bit of flags, as true / false */
};

struct field {
	const char *name;
	enum field_kind kind;
	size_t off;        /* offsetof the member in struct tg_record */
	uint32_t flag;     /* F_FLAG only */
};

#define AT(m) offsetof(struct tg_record, m)
static const struct field fields[] = {
	{ "ts",                          F_TS,    AT(ts_us), 0 },
	{ "provider",                    F_TEXT,  AT(provider), 0 },
	{ "host",                        F_TEXT,  AT(host), 0 },
	{ "endpoint",                    F_TEXT,  AT(endpoint), 0 },
	{ "model",                       F_TEXT,  AT(model), 0 },
	{ "status",                      F_INT,   AT(status), 0 },
	{ "stream",                      F_FLAG,  0, TG_REC_STREAM },
	{ "input_tokens",                F_COUNT, AT(counts.input), 0 },
	{ "output_tokens",               F_COUNT, AT(counts.output), 0 },
	{ "cached_input_tokens",         F_COUNT, AT(counts.cached_input), 0 },
	{ "cache_creation_input_tokens", F_COUNT, AT(counts.cache_creation), 0 },
	{ "reasoning_tokens",            F_COUNT, AT(counts.reasoning), 0 },
	{ "cost_usd",                    F_COST,  AT(cost_usd), 0 },
	{ "unpriced",                    F_FLAG,  0, TG_REC_UNPRICED },
	{ "latency_ms",                  F_COUNT, AT(latency_ms), 0 },
	{ "ttft_ms",                     F_COUNT, AT(ttft_ms), 0 },
	{ "pid",                         F_INT,   AT(pid), 0 },
	{ "process",                     F_TEXT,  AT(process), 0 },
	{ "tags",                        F_TAGS,  AT(tags), 0 },
	{ "request_id",                  F_ID,    AT(request_id), 0 },
	{ "response_id",                 F_ID,    AT(response_id), 0 },
	{ "incomplete",                  F_FLAG,  0, TG_REC_INCOMPLETE },
	{ "usage_unknown",               F_FLAG,  0, TG_REC_USAGE_UNKNOWN },
	{ "blocked",                     F_FLAG,  0, TG_REC_BLOCKED },
	{ "downgraded",                  F_FLAG,  0, TG_REC_DOWNGRADED },
	{ "clamped",                     F_FLAG,  0, TG_REC_CLAMPED },
	{ "requested_model",             F_ID,    AT(requested_model), 0 },
	{ "policy",                      F_ID,    AT(policy), 0 },
	/* Later fields go last, so that CSV columns keep their places. */
	{ "too_large",                   F_FLAG,  0, TG_REC_TOO_LARGE },
};
#undef AT
#define NFIELDS (sizeof fields / sizeof fields[0])

struct ctx {
	const struct tg_report *rep;
	long n;
};

static const void *member(const struct tg_record *r, const struct field *fd)
{
	return (const char *)r + fd->off;
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

/* One value; csv selects the CSV spelling (empty for null, tags k=v;k=v). */
static void emit_value(FILE *f, const struct tg_record *r, const struct field *fd, int csv)
{
	const void *m = member(r, fd);
	char buf[TG_TAGS_MAX];

	switch (fd->kind) {
	case F_TS:
		tg_when_iso(*(const int64_t *)m, buf);
		fprintf(f, csv ? "%s" : "\"%s\"", buf);
		break;
	case F_TEXT:
	case F_ID:
		if (csv)
			tg_emit_csv_field(f, m);
		else if (fd->kind == F_ID)
			tg_emit_json_str_or_null(f, m);
		else
			tg_emit_json_str(f, m);
		break;
	case F_TAGS:
		if (!csv) {
			json_tags(f, m);
			break;
		}
		/* CSV lists tags as k=v;k=v so the field needs no quoting. */
		snprintf(buf, sizeof buf, "%s", (const char *)m);
		for (char *p = buf; (p = strchr(p, ',')); )
			*p = ';';
		tg_emit_csv_field(f, buf);
		break;
	case F_INT:
		fprintf(f, "%d", *(const int32_t *)m);
		break;
	case F_COUNT:
		tg_emit_count(f, *(const int64_t *)m, csv ? "" : "null");
		break;
	case F_COST:
		tg_emit_cost(f, *(const double *)m);
		break;
	case F_FLAG:
		fputs(r->flags & fd->flag ? "true" : "false", f);
		break;
	}
}

static void emit_json(FILE *f, const struct tg_record *r)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		fprintf(f, "%s\"%s\":", i ? "," : "{", fields[i].name);
		emit_value(f, r, &fields[i], 0);
	}
	putc('}', f);
}

static void emit_csv(FILE *f, const struct tg_record *r)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		if (i)
			putc(',', f);
		emit_value(f, r, &fields[i], 1);
	}
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
			fprintf(rep->out, "%s%s", i ? "," : "", fields[i].name);
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
