/* cmd_records.c - `tokenguard-report records`: one line or object per
 * record, with a fixed list of fields in a fixed order (scripts rely on
 * both).  With --follow (JSONL or CSV) it then polls the ledger and its
 * spools for records not printed yet, for log shippers: each record once
 * (printed.h), a flush per line, exit 0 when the reader goes away (EPIPE) or
 * on SIGINT / SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio_ext.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "decimal.h"
#include "emit.h"
#include "ledger_budget.h"
#include "machine.h"
#include "money.h"
#include "printed.h"
#include "record_codec.h"
#include "report.h"
#include "stop.h"
#include "spend_rule.h"
#include "when.h"
#include "zone.h"

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
	F_MACHINE,  /* string, "" as the ledger's own machine (machine.h) */
	F_GID,      /* the record's global id (machine.h), null while spooled */
};

struct field {
	const char *name;
	enum field_kind kind;
	size_t off;        /* offsetof the member in struct tg_record_view */
	uint32_t flag;     /* F_FLAG only */
};

#define AT(m) offsetof(struct tg_record_view, m)
#define TEXT(i) offsetof(struct tg_record_view, text[i])
static const struct field fields[] = {
	{ "ts",                          F_TS,    AT(ts_us), 0 },
	{ "provider",                    F_TEXT,  TEXT(TG_TI_PROVIDER), 0 },
	{ "host",                        F_TEXT,  TEXT(TG_TI_HOST), 0 },
	{ "endpoint",                    F_TEXT,  TEXT(TG_TI_ENDPOINT), 0 },
	{ "model",                       F_TEXT,  TEXT(TG_TI_MODEL), 0 },
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
	{ "process",                     F_TEXT,  TEXT(TG_TI_PROCESS), 0 },
	{ "tags",                        F_TAGS,  TEXT(TG_TI_TAGS), 0 },
	{ "request_id",                  F_ID,    TEXT(TG_TI_REQUEST_ID), 0 },
	{ "response_id",                 F_ID,    TEXT(TG_TI_RESPONSE_ID), 0 },
	{ "incomplete",                  F_FLAG,  0, TG_REC_INCOMPLETE },
	{ "usage_unknown",               F_FLAG,  0, TG_REC_USAGE_UNKNOWN },
	{ "blocked",                     F_FLAG,  0, TG_REC_BLOCKED },
	{ "downgraded",                  F_FLAG,  0, TG_REC_DOWNGRADED },
	{ "clamped",                     F_FLAG,  0, TG_REC_CLAMPED },
	{ "requested_model",             F_ID,    TEXT(TG_TI_REQUESTED_MODEL), 0 },
	{ "policy",                      F_ID,    TEXT(TG_TI_POLICY), 0 },
	/* Later fields go last, so that CSV columns keep their places. */
	{ "too_large",                   F_FLAG,  0, TG_REC_TOO_LARGE },
	{ "operation",                   F_ID,    TEXT(TG_TI_OPERATION), 0 },
	{ "error",                       F_ID,    TEXT(TG_TI_ERROR), 0 },
	/* cost_usd is an estimate (a model without a price, a response
	 * without usage: shim/estimate.h), what budgets were charged */
	{ "cost_estimated",              F_FLAG,  0, TG_REC_COST_ESTIMATE },
	/* Where it was made, and its id across every machine's ledger. */
	{ "machine",                     F_MACHINE, TEXT(TG_TI_MACHINE), 0 },
	{ "id",                          F_GID,   0, 0 },
};
#undef AT
#undef TEXT
#define NFIELDS (sizeof fields / sizeof fields[0])

/* Output goes through one large buffer (emit.h). */
#define OUT_BUF (1 << 17)

struct ctx {
	const struct tg_report *rep;
	struct tg_obuf o;
	long n;
	int filtered;       /* the filter has conditions */
	struct tg_when_memo when;
	struct tg_record r; /* the record, for the filter and the table */
	int measuring;      /* table: the first scan, which sizes the columns */
	int width[16];      /* table: column widths */
	int content[16];    /* table: the widest cell of each column */
	unsigned char hidden[16]; /* table: left out to fit the terminal */
	int limit;          /* table: the terminal's width, 0 piped */
	int any_mark;       /* table: a record has a mark */
	int cut;            /* table: narrowed to the terminal, longer cells cut */
	int noted;          /* table: a "?" or a mark was shown */
	struct tg_printed *seen; /* --follow: the records printed */
	int64_t newest_us;  /* --follow: the latest request time printed */
	int identity;       /* 0: machine and uid not looked up yet; 1: done */
	char machine[TG_MACHINE_MAX];   /* the ledger's own machine; "" not known */
	char uid[TG_LEDGER_UID_LEN + 1];   /* the ledger's id; "" not known */
};

/* A scan stopped because the output cannot be written (EPIPE, full). */
#define STOP_OUTPUT 3
#define STOP_NOMEM 4

static const void *member(const struct tg_record_view *v, const struct field *fd)
{
	return (const char *)v + fd->off;
}

/* "k=v,k=v" as {"k":"v","k":"v"}; an empty pair is skipped, a pair
 * without '=' has the value "". */
static void json_tags(struct tg_obuf *o, const struct tg_text *tags)
{
	const char *p = tags->p, *end = p + tags->n;
	int first = 1;

	tg_obuf_char(o, '{');
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t len = comma ? (size_t)(comma - p) : (size_t)(end - p);
		const char *eq = memchr(p, '=', len);
		size_t kl = eq ? (size_t)(eq - p) : len;

		if (len) {
			if (!first)
				tg_obuf_char(o, ',');
			tg_obuf_json_strn(o, p, kl);
			tg_obuf_char(o, ':');
			tg_obuf_json_strn(o, eq ? eq + 1 : "", eq ? len - kl - 1 : 0);
			first = 0;
		}
		p += len + (comma != NULL);
	}
	tg_obuf_char(o, '}');
}

/* CSV lists tags as k=v;k=v so the field needs no quoting. */
static void csv_tags(struct tg_obuf *o, const struct tg_text *tags)
{
	char buf[TG_TAGS_MAX];

	memcpy(buf, tags->p, tags->n);
	for (size_t i = 0; i < tags->n; i++)
		if (buf[i] == ',')
			buf[i] = ';';
	tg_obuf_csv_fieldn(o, buf, tags->n);
}

/* The ledger's machine name and id, looked up at the first record
 * written (not before: they may make the ledger's key, and a command
 * that finds no record must leave the directory as it was). */
static void identity(struct ctx *c)
{
	if (c->identity)
		return;
	c->identity = 1;
	if (tg_machine_name(c->rep->dir, c->machine, sizeof c->machine) != 0)
		c->machine[0] = '\0';
	if (tg_ledger_uid(c->rep->dir, c->uid) != 0)
		c->uid[0] = '\0';
}

static void emit_machine(struct ctx *c, const struct tg_text *t, int csv)
{
	const char *p = t->p;
	size_t n = t->n;

	if (n == 0) {
		identity(c);
		p = c->machine, n = strlen(c->machine);
	}
	if (csv)
		tg_obuf_csv_fieldn(&c->o, p, n);
	else
		tg_obuf_json_strn_or_null(&c->o, p, n);
}

static void emit_gid(struct ctx *c, const struct tg_record_view *v, int csv)
{
	char gid[TG_RECORD_GID_MAX];

	identity(c);
	if (!v->key || !c->uid[0]) {
		if (!csv)
			tg_obuf_put(&c->o, "null", 4);
		return;
	}
	tg_record_gid(c->uid, v->key, gid);
	if (csv)
		tg_obuf_put(&c->o, gid, strlen(gid));
	else
		tg_obuf_json_strn(&c->o, gid, strlen(gid));
}

static void emit_ts(struct ctx *c, int64_t ts_us, int csv)
{
	struct tg_obuf *o = &c->o;
	char *q = tg_obuf_room(o, TG_WHEN_ISO_MAX + 2);

	if (!csv)
		*q++ = '"';
	q += tg_when_iso_memo(&c->when, ts_us, q);
	if (!csv)
		*q++ = '"';
	o->n = (size_t)(q - o->b);
}

/* One value; csv selects the CSV spelling (empty for null, tags k=v;k=v).
 * Small, so that it is inlined into the loops over the fields. */
static inline void emit_value(struct ctx *c, const struct tg_record_view *v, const struct field *fd,
                       int csv)
{
	struct tg_obuf *o = &c->o;
	const void *m = member(v, fd);
	const struct tg_text *t = m;

	switch (fd->kind) {
	case F_TS:
		emit_ts(c, *(const int64_t *)m, csv);
		break;
	case F_TEXT:
	case F_ID:
		if (csv)
			tg_obuf_csv_fieldn(o, t->p, t->n);
		else if (fd->kind == F_ID)
			tg_obuf_json_strn_or_null(o, t->p, t->n);
		else
			tg_obuf_json_strn(o, t->p, t->n);
		break;
	case F_TAGS:
		if (csv)
			csv_tags(o, t);
		else
			json_tags(o, t);
		break;
	case F_INT:
		tg_obuf_int(o, *(const int32_t *)m);
		break;
	case F_COUNT:
		tg_obuf_count(o, *(const int64_t *)m, csv ? "" : "null");
		break;
	case F_COST:
		tg_obuf_cost(o, *(const double *)m);
		break;
	case F_FLAG:
		if (v->flags & fd->flag)
			tg_obuf_put(o, "true", 4);
		else
			tg_obuf_put(o, "false", 5);
		break;
	case F_MACHINE:
		emit_machine(c, t, csv);
		break;
	case F_GID:
		emit_gid(c, v, csv);
		break;
	}
}

/* The field names as JSON keys, made once: {"ts": ,"provider": ... */
#define JSON_KEY_MAX 48
static char json_keys[NFIELDS][JSON_KEY_MAX];
static size_t json_key_len[NFIELDS];

static void json_keys_make(void)
{
	for (size_t i = 0; i < NFIELDS; i++)
		json_key_len[i] = (size_t)snprintf(json_keys[i], sizeof json_keys[i], "%s\"%s\":",
		                                   i ? "," : "{", fields[i].name);
}

static void emit_json(struct ctx *c, const struct tg_record_view *v)
{
	struct tg_obuf *o = &c->o;

	for (size_t i = 0; i < NFIELDS; i++) {
		/* The whole slot, a copy of constant size, of which len counts. */
		memcpy(tg_obuf_room(o, JSON_KEY_MAX), json_keys[i], JSON_KEY_MAX);
		o->n += json_key_len[i];
		emit_value(c, v, &fields[i], 0);
	}
	tg_obuf_char(o, '}');
}

static void emit_csv(struct ctx *c, const struct tg_record_view *v)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		if (i)
			tg_obuf_char(&c->o, ',');
		emit_value(c, v, &fields[i], 1);
	}
	tg_obuf_put(&c->o, "\r\n", 2);
}

/* The table shows the columns people scan for; the other formats carry
 * every field.  Its columns are as wide as their longest cell: a first
 * scan measures, a second writes (a record spooled between the two may
 * be wider: it is then padded, never cut).  A count or cost that is not
 * known is "?", as in `summary`; MARKS says why, and a legend line after
 * the table says what each mark means. */
enum { T_TS, T_PROVIDER, T_MODEL, T_STATUS, T_INPUT, T_CACHED, T_CACHE_WR, T_OUTPUT,
       T_REASONING, T_COST, T_LATENCY, T_MARKS, T_PROCESS, T_COLS };
#define T_CELL (TG_MODEL_MAX + 8)
static const char *const t_head[T_COLS] = {
	"TIME", "PROVIDER", "MODEL", "STATUS", "INPUT", "CACHED", "CACHE-WR", "OUTPUT",
	"REASONING", "COST (USD)", "LAT(ms)", "MARKS", "PROCESS",
};
/* The narrowest each column is when piped, so that short values keep one
 * layout. */
static const int t_min[T_COLS] = { 19, 10, 32, 6, 9, 9, 9, 9, 9, 12, 8, 5, 0 };
/* On a narrow terminal the text columns are cut down to these widths
 * (the others keep theirs: a cut number would be a wrong one), ... */
static const int t_cut_min[T_COLS] = {
	[T_PROVIDER] = 8, [T_MODEL] = 12, [T_MARKS] = 5, [T_PROCESS] = 8,
};
/* ... and before one is cut below these, the columns people scan for
 * least are left out, lowest rank first. */
static const int t_cut_want[T_COLS] = {
	[T_PROVIDER] = 10, [T_MODEL] = 20, [T_MARKS] = 9, [T_PROCESS] = 12,
};
static const unsigned char t_rank[T_COLS] = {
	[T_LATENCY] = 1, [T_CACHE_WR] = 2, [T_REASONING] = 3, [T_CACHED] = 4, [T_STATUS] = 5,
	[T_PROCESS] = 6, [T_INPUT] = 7, [T_OUTPUT] = 8,
};
static const unsigned char t_right[T_COLS] = {
	[T_STATUS] = 1, [T_INPUT] = 1, [T_CACHED] = 1, [T_CACHE_WR] = 1, [T_OUTPUT] = 1,
	[T_REASONING] = 1, [T_COST] = 1, [T_LATENCY] = 1,
};

/* The marks, in the order they are listed, and the legend. */
static const struct { uint32_t flag; const char *mark; } t_marks[] = {
	{ TG_REC_BLOCKED, "blocked" }, { TG_REC_INCOMPLETE, "cut" },
	{ TG_REC_STREAM_ERROR, "err" }, { TG_REC_USAGE_UNKNOWN, "no-usage" },
	{ TG_REC_UNPRICED, "unpriced" }, { TG_REC_TOO_LARGE, "too-large" },
	{ TG_REC_DOWNGRADED, "downgraded" }, { TG_REC_CLAMPED, "clamped" },
};
#define T_LEGEND "?: not known; ~: an estimate, what budgets were charged.  MARKS: blocked: refused by a budget policy, never sent; " \
	"cut: cut off before its end; err: the stream ended with an error event; " \
	"no-usage: the response carried no usage; unpriced: no price for the model; " \
	"too-large: the body passed the inspection limit; downgraded, clamped: " \
	"rewritten by a budget policy\n"

static void count_cell(char *buf, int64_t v)
{
	if (v < 0)
		snprintf(buf, T_CELL, "?");
	else
		snprintf(buf, T_CELL, "%lld", (long long)v);
}

/* The cells of r; returns 1 when any is "?" or marked. */
static int table_cells(struct ctx *c, const struct tg_record *r, char cell[T_COLS][T_CELL])
{
	const struct tg_counts *n = &r->counts;
	size_t k = 0;
	int noted = 0;

	tg_when_local_seconds(r->ts_us, cell[T_TS]);
	snprintf(cell[T_PROVIDER], T_CELL, "%s", r->provider);
	snprintf(cell[T_MODEL], T_CELL, "%s", r->model);
	snprintf(cell[T_STATUS], T_CELL, "%d", r->status);
	count_cell(cell[T_INPUT], n->input);
	count_cell(cell[T_CACHED], n->cached_input);
	count_cell(cell[T_CACHE_WR], n->cache_creation);
	count_cell(cell[T_OUTPUT], n->output);
	count_cell(cell[T_REASONING], n->reasoning);
	if (!tg_record_sent(r))
		snprintf(cell[T_COST], T_CELL, "-");   /* never sent: nothing to pay */
	else if (r->flags & TG_REC_COST_ESTIMATE) {
		char est[TG_MONEY_MAX];

		if (tg_money_text(r->cost_usd, est, sizeof est) < 0)
			snprintf(est, sizeof est, "$?");
		snprintf(cell[T_COST], T_CELL, "~%s", est);
		noted = 1;
	} else if (r->flags & (TG_REC_USAGE_UNKNOWN | TG_REC_UNPRICED))
		snprintf(cell[T_COST], T_CELL, "?");
	else if (tg_money_text(r->cost_usd, cell[T_COST], T_CELL) < 0)
		snprintf(cell[T_COST], T_CELL, "$?");
	count_cell(cell[T_LATENCY], r->latency_ms);
	if (r->latency_ms < 0)
		snprintf(cell[T_LATENCY], T_CELL, "-");
	cell[T_MARKS][0] = '\0';
	for (size_t i = 0; i < sizeof t_marks / sizeof t_marks[0]; i++) {
		if (!(r->flags & t_marks[i].flag) || k >= T_CELL)
			continue;
		k += (size_t)snprintf(cell[T_MARKS] + k, T_CELL - k, "%s%s", k ? "," : "",
		                      t_marks[i].mark);
	}
	snprintf(cell[T_PROCESS], T_CELL, "%s", r->process);
	for (int i = T_INPUT; i <= T_COST && !noted; i++)
		noted = !strcmp(cell[i], "?");
	return noted || cell[T_MARKS][0];
}

/* Left out: to fit the terminal, or MARKS on a terminal when no record
 * has one. */
static int shown_not(const struct ctx *c, int col)
{
	return c->hidden[col] || (col == T_MARKS && c->limit && !c->any_mark);
}

static void emit_table_line(struct tg_obuf *o, char cell[T_COLS][T_CELL], const struct ctx *c)
{
	int last = T_COLS - 1;

	while (last > 0 && shown_not(c, last))
		last--;
	for (int i = 0, first = 1; i < T_COLS; i++) {
		if (shown_not(c, i))
			continue;
		if (!first)
			tg_obuf_put(o, "  ", 2);
		first = 0;
		/* the last column is not padded after its text, but a number
		 * there is still aligned right */
		if (c->cut)
			tg_obuf_cell(o, cell[i], c->width[i], t_right[i], i != last || t_right[i]);
		else if (i == last && !t_right[i])
			tg_obuf_str(o, cell[i]);
		else
			tg_obuf_pad(o, cell[i], c->width[i], t_right[i]);
	}
	tg_obuf_char(o, '\n');
}

static void emit_table(struct ctx *c, const struct tg_record *r)
{
	char cell[T_COLS][T_CELL];

	c->noted |= table_cells(c, r, cell);
	if (c->measuring) {
		for (int i = 0; i < T_COLS; i++)
			if ((int)strlen(cell[i]) > c->content[i])
				c->content[i] = (int)strlen(cell[i]);
		c->any_mark |= cell[T_MARKS][0] != '\0';
		return;
	}
	emit_table_line(&c->o, cell, c);
}

/* The column widths: piped, the widest cell and at least t_min; on a
 * terminal, the widest cell narrowed to the terminal's width, columns
 * left out first (tg_table_fit_hiding).  Sets c->cut when cells are cut
 * to their column. */
static void size_columns(struct ctx *c)
{
	int min[T_COLS], want[T_COLS];

	c->limit = tg_table_limit(c->rep->out);
	for (int i = 0; i < T_COLS; i++) {
		c->width[i] = c->content[i] > t_min[i] || c->limit ? c->content[i] : t_min[i];
		min[i] = t_cut_min[i] && t_cut_min[i] < c->width[i] ? t_cut_min[i] : c->width[i];
		want[i] = t_cut_want[i] && t_cut_want[i] < c->width[i] ? t_cut_want[i] : c->width[i];
	}
	if (c->limit && !c->any_mark)
		c->width[T_MARKS] = min[T_MARKS] = want[T_MARKS] = 0;  /* not shown */
	memset(c->hidden, 0, sizeof c->hidden);
	if (c->limit)
		tg_table_fit_hiding(c->width, min, want, t_rank, c->hidden, T_COLS, 2, c->limit);
	c->cut = c->limit != 0;
}

static void emit_table_head(struct ctx *c)
{
	char cell[T_COLS][T_CELL];

	for (int i = 0; i < T_COLS; i++)
		snprintf(cell[i], T_CELL, "%s", t_head[i]);
	/* Times are the report zone's wall clock: the head names the zone. */
	snprintf(cell[T_TS], T_CELL, "TIME (%s)", tg_zone_name());
	emit_table_line(&c->o, cell, c);
}

/* --follow: the line just made (the buffer holds it alone, flushed after
 * each) is dropped when printed before, else written out at once. */
static int follow_line(struct ctx *c, int64_t ts_us)
{
	struct tg_obuf *o = &c->o;
	int rc = tg_printed_add(c->seen, tg_printed_hash(o->b, o->n), ts_us);

	if (rc) {
		o->n = 0;
		return rc < 0 ? STOP_NOMEM : 0;
	}
	if (ts_us > c->newest_us)
		c->newest_us = ts_us;
	c->n++;
	tg_obuf_flush(o);
	if (fflush(o->f) || ferror(o->f))
		return STOP_OUTPUT;
	return 0;
}

/* JSON and CSV are written from the view; the filter and the table read
 * a struct tg_record, made only when they are used. */
static int each(void *p, const struct tg_record_view *v)
{
	struct ctx *c = p;
	struct tg_obuf *o = &c->o;
	int need_record = c->filtered || c->rep->format == TG_FMT_TABLE;

	if (need_record)
		tg_record_from_view(&c->r, v);
	if (c->filtered && !tg_filter_match(&c->rep->filter, &c->r))
		return 0;
	switch (c->rep->format) {
	case TG_FMT_JSONL:
		emit_json(c, v);
		tg_obuf_char(o, '\n');
		break;
	case TG_FMT_JSON:
		tg_obuf_str(o, c->n ? ",\n" : "\n");
		emit_json(c, v);
		break;
	case TG_FMT_CSV:
		emit_csv(c, v);
		break;
	default:
		emit_table(c, &c->r);
	}
	if (c->seen)
		return follow_line(c, v->ts_us);
	c->n++;
	return 0;
}

/* How far back each poll of --follow looks for records that showed up
 * late: a record is committed when its exchange ends, under the time its
 * request started.  A record that appears later than this after its start
 * is not printed. */
#define FOLLOW_LOOKBACK_US TG_US_PER_HOUR
#define FOLLOW_POLL_MS 500

static int follow(const struct tg_report *rep, struct tg_ledger *l, struct ctx *c)
{
	struct tg_printed seen = { 0 };
	int rc = 0;

	tg_stop_on_signals();
	signal(SIGPIPE, SIG_IGN);   /* a reader gone is EPIPE, an exit 0 */
	/* cppcheck-suppress autoVariables ; cleared below, before seen goes */
	c->seen = &seen;
	c->newest_us = INT64_MIN;
	while (!tg_stop_signal) {
		int64_t since = rep->since_us;
		struct timespec nap = { 0, FOLLOW_POLL_MS * 1000000L };

		if (c->newest_us != INT64_MIN && c->newest_us - FOLLOW_LOOKBACK_US > since)
			since = c->newest_us - FOLLOW_LOOKBACK_US;
		rc = tg_ledger_scan_views(l, since, rep->until_us, TG_TEXT_ALL, each, c);
		if (rc == STOP_OUTPUT) {
			/* The reader went away: that ends a follow, it is no
			 * error.  What stdio still holds is dropped, so that the
			 * final flush of main.c does not report it as one. */
			__fpurge(rep->out);
			clearerr(rep->out);
			rc = 0;
			break;
		}
		if (rc == STOP_NOMEM) {
			rc = tg_report_fail(rep, "out of memory while following");
			break;
		}
		if (rc) {
			rc = tg_report_ledger_fail(rep, rc);
			break;
		}
		if (since > rep->since_us)
			tg_printed_prune(&seen, since);
		nanosleep(&nap, NULL);   /* a signal cuts it short */
	}
	tg_printed_free(&seen);
	c->seen = NULL;
	return rc;
}

int tg_cmd_records(const struct tg_report *rep, struct tg_ledger *l)
{
	static char buf[OUT_BUF];
	struct ctx c = { .rep = rep, .o = { rep->out, buf, 0, sizeof buf },
	                 .filtered = tg_filter_text(&rep->filter) != 0,
	                 .when = TG_WHEN_MEMO_INIT };
	int rc;

	json_keys_make();
	if (rep->follow && rep->format != TG_FMT_JSONL && rep->format != TG_FMT_CSV)
		return tg_report_fail(rep, "--follow writes jsonl or csv, one record per line; "
		                      "drop --format or use one of those");
	if (rep->format == TG_FMT_JSON)
		putc('[', rep->out);
	if (rep->format == TG_FMT_CSV) {
		for (size_t i = 0; i < NFIELDS; i++)
			fprintf(rep->out, "%s%s", i ? "," : "", fields[i].name);
		fputs("\r\n", rep->out);
	}
	if (rep->format == TG_FMT_TABLE) {
		for (int i = 0; i < T_COLS; i++)
			c.content[i] = (int)strlen(t_head[i]);
		c.content[T_TS] = (int)strlen("TIME ()") + (int)strlen(tg_zone_name());
		c.measuring = 1;
		if ((rc = tg_ledger_scan_views(l, rep->since_us, rep->until_us, TG_TEXT_ALL, each,
		                               &c)) != 0)
			return tg_report_ledger_fail(rep, rc);
		c.measuring = 0;
		c.n = 0;
		size_columns(&c);
		emit_table_head(&c);
	}
	if (rep->follow)
		return follow(rep, l, &c);
	/* Every field is written: TG_TEXT_ALL, viewed where the ledger holds
	 * it rather than copied into a record first. */
	rc = tg_ledger_scan_views(l, rep->since_us, rep->until_us, TG_TEXT_ALL, each, &c);
	if (rep->format == TG_FMT_TABLE && c.noted && rc == 0)
		tg_obuf_str(&c.o, T_LEGEND);
	tg_obuf_flush(&c.o);
	if (rep->format == TG_FMT_TABLE && rc == 0)
		tg_table_hidden_note(rep->out, t_head, c.hidden, T_COLS, c.limit);
	if (rc)
		return tg_report_ledger_fail(rep, rc);
	if (rep->format == TG_FMT_JSON)
		fputs(c.n ? "\n]\n" : "]\n", rep->out);
	return 0;
}
