/* alert_list.c - the alerts of a period as a table, a JSON array or JSON
 * Lines: `budget alerts` (every alert) and `alerts` (the ones for people:
 * repeats of a blocked call left out), and the table rows `alerts
 * --follow` prints one at a time (alert_list.h). */
#include <string.h>

#include "alert_list.h"
#include "alert_text.h"
#include "emit.h"
#include "ledger_watermark.h"
#include "when.h"
#include "zone.h"

/* The table is sized like the status table: a first read of the alerts
 * measures the columns (so long policy and model names keep it aligned),
 * a second writes. */
enum { AL_TIME, AL_POLICY, AL_LEVEL, AL_SPEND, AL_LIMIT, AL_PID, AL_PROCESS, AL_MODEL,
       AL_DETAIL, AL_COLS };
#define AL_CELL (TG_MODEL_MAX + TG_ALERT_DETAIL_MAX)
static const char *const al_head[AL_COLS] = {
	"TIME", "POLICY", "LEVEL", "SPEND", "LIMIT", "PID", "PROCESS", "MODEL", "DETAIL",
};
static const int al_min[AL_COLS] = { 24, 20, 9, 24, 22, 7, 16, 24, 0 };
/* On a narrow terminal the text columns are cut down to these widths;
 * the others (times, amounts) keep theirs. */
static const int al_cut_min[AL_COLS] = {
	[AL_POLICY] = 8, [AL_PROCESS] = 8, [AL_MODEL] = 10, [AL_DETAIL] = 12,
};
/* ... and before one is cut below al_cut_want, the columns read least
 * are left out, lowest rank first (emit.h). */
static const int al_cut_want[AL_COLS] = {
	[AL_POLICY] = 16, [AL_PROCESS] = 12, [AL_MODEL] = 20, [AL_DETAIL] = 24,
};
static const unsigned char al_rank[AL_COLS] = {
	[AL_PID] = 1, [AL_LIMIT] = 2, [AL_PROCESS] = 3, [AL_DETAIL] = 4, [AL_MODEL] = 5,
	[AL_SPEND] = 6,
};

struct alert_list {
	const struct tg_report *rep;
	int repeats;  /* 1: every alert; 0: a blocked call's repeats left out */
	long n;
	int measuring;
	int width[AL_COLS];
	int content[AL_COLS];          /* the widest cell of each column */
	unsigned char hidden[AL_COLS]; /* left out to fit the terminal */
	int cut;  /* narrowed to the terminal: longer cells cut (emit.h) */
};

static const char *or_dash(const char *s)
{
	return *s ? s : "-";
}

static void alert_cells(const struct tg_alert *a, char cell[AL_COLS][AL_CELL])
{
	tg_when_local_seconds(a->ts_us, cell[AL_TIME]);
	if (a->tag_value[0])   /* a tag:KEY=* policy's alert: "per-user[alice]" */
		snprintf(cell[AL_POLICY], AL_CELL, "%s[%.*s]", a->policy, TG_MODEL_MAX, a->tag_value);
	else
		snprintf(cell[AL_POLICY], AL_CELL, "%s", or_dash(a->policy));
	snprintf(cell[AL_LEVEL], AL_CELL, "%s", tg_alert_level_name(a->level));
	tg_alert_spend_text(a, cell[AL_SPEND], AL_CELL);
	tg_limit_text(a->limit_usd, a->limit_tokens, cell[AL_LIMIT], AL_CELL);
	snprintf(cell[AL_PID], AL_CELL, "%d", a->pid);
	snprintf(cell[AL_PROCESS], AL_CELL, "%s", or_dash(a->process));
	snprintf(cell[AL_MODEL], AL_CELL, "%s", or_dash(a->model));
	snprintf(cell[AL_DETAIL], AL_CELL, "%s", or_dash(a->detail));
}

static void alert_line(FILE *f, char cell[AL_COLS][AL_CELL], const int *w, int cut,
                       const unsigned char *hidden)
{
	int last = AL_COLS - 1, first = 1;

	while (last > 0 && hidden && hidden[last])
		last--;
	for (int c = 0; c <= last; c++) {
		if (hidden && hidden[c])
			continue;
		if (!first)
			fputs("  ", f);
		first = 0;
		if (cut)
			tg_emit_cell(f, cell[c], w[c], c == AL_PID, c != last || c == AL_PID);
		else if (c == last)
			fputs(cell[c], f);
		else
			fprintf(f, c == AL_PID ? "%*s" : "%-*s", w[c], cell[c]);
	}
	putc('\n', f);
}

/* The head's cells: times are the report zone's, named in its head. */
static void head_cells(char head[AL_COLS][AL_CELL])
{
	for (int c = 0; c < AL_COLS; c++)
		snprintf(head[c], AL_CELL, "%s", al_head[c]);
	snprintf(head[AL_TIME], AL_CELL, "TIME (%s)", tg_zone_name());
}

void tg_alert_list_head(FILE *f)
{
	char head[AL_COLS][AL_CELL];

	head_cells(head);
	alert_line(f, head, al_min, 0, NULL);
}

void tg_alert_list_row(FILE *f, const struct tg_alert *a)
{
	char cell[AL_COLS][AL_CELL];

	alert_cells(a, cell);
	alert_line(f, cell, al_min, 0, NULL);
}

static void alert_row(struct alert_list *al, const struct tg_alert *a)
{
	char cell[AL_COLS][AL_CELL];

	alert_cells(a, cell);
	if (!al->measuring) {
		alert_line(al->rep->out, cell, al->width, al->cut, al->hidden);
		return;
	}
	for (int c = 0; c < AL_COLS; c++)
		if ((int)strlen(cell[c]) > al->content[c])
			al->content[c] = (int)strlen(cell[c]);
}

static int each_alert(void *ctx, const unsigned char key[16], const struct tg_alert *a)
{
	struct alert_list *al = ctx;
	FILE *f = al->rep->out;

	if (a->ts_us < al->rep->since_us || (!al->repeats && a->repeat == 1))
		return 0;
	if (a->ts_us >= al->rep->until_us)
		return 1;  /* in time order: nothing later can be in the period */
	/* The id is what a consumer of `alerts` dedupes by; `budget alerts`
	 * keeps the fields it has always had. */
	if (al->repeats)
		key = NULL;
	if (al->rep->format == TG_FMT_JSON) {
		fputs(al->n == 0 ? "\n" : ",\n", f);
		tg_alert_json(f, key, a);
	} else if (al->rep->format == TG_FMT_JSONL) {
		tg_alert_json(f, key, a);
		putc('\n', f);
	} else {
		alert_row(al, a);
	}
	al->n++;
	return 0;
}

/* The alerts from the start of the period on, in key (time) order. */
static int scan(struct tg_ledger *l, struct alert_list *al)
{
	unsigned char from[16];

	tg_key_at(al->rep->since_us, from);
	return tg_ledger_alerts_after(l, from, 1, each_alert, al);
}

int tg_alert_list(const struct tg_report *rep, struct tg_ledger *l, int repeats)
{
	struct alert_list al = { .rep = rep, .repeats = repeats };
	FILE *f = rep->out;
	int rc;

	if (rep->format == TG_FMT_JSON) {
		putc('[', f);
	} else if (rep->format == TG_FMT_TABLE) {
		char head[AL_COLS][AL_CELL];
		int min[AL_COLS], want[AL_COLS], limit;

		head_cells(head);
		for (int c = 0; c < AL_COLS; c++)
			al.content[c] = (int)strlen(head[c]);
		al.measuring = 1;
		if ((rc = scan(l, &al)) < 0)
			return tg_report_ledger_fail(rep, rc);
		al.measuring = 0;
		al.n = 0;
		/* Piped: at least al_min, one layout for short values; on a
		 * terminal: its width, columns left out first, then cut. */
		limit = tg_table_limit(f);
		for (int c = 0; c < AL_COLS; c++) {
			al.width[c] = limit || al.content[c] > al_min[c] ? al.content[c] : al_min[c];
			min[c] = al_cut_min[c] && al_cut_min[c] < al.width[c] ? al_cut_min[c] : al.width[c];
			want[c] = al_cut_want[c] && al_cut_want[c] < al.width[c] ? al_cut_want[c] :
			          al.width[c];
		}
		if (limit) {
			tg_table_fit_hiding(al.width, min, want, al_rank, al.hidden, AL_COLS, 2, limit);
			al.cut = 1;
		}
		alert_line(f, head, al.width, al.cut, al.hidden);
		if ((rc = scan(l, &al)) < 0)
			return tg_report_ledger_fail(rep, rc);
		if (!al.n)
			fputs("(no alerts in this period)\n", f);
		if (limit)
			tg_table_hidden_note(f, al_head, al.hidden, AL_COLS, limit);
		return 0;
	}
	if ((rc = scan(l, &al)) < 0)
		return tg_report_ledger_fail(rep, rc);
	if (rep->format == TG_FMT_JSON)
		fputs(al.n ? "\n]\n" : "]\n", f);
	return 0;
}
