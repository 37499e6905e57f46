/* cmd_summary.c - the default command: calls, tokens by kind and cost,
 * grouped by --by keys, with a total and notes saying what the sums leave
 * out (unpriced calls, calls without usage, unknown counts). */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "decimal.h"
#include "emit.h"
#include "ledger_budget.h"
#include "report.h"

#define DEFAULT_BY "provider,model"
#define MAX_NOTES 8
#define NOTE_MAX 512
#define CELL_MAX 64
#define UNPRICED_NAMED 5

static const char *const tok_head[TG_TOK_KINDS] = {
	"INPUT", "CACHED", "CACHE-WRITE", "OUTPUT", "REASONING",
};
static const char *const tok_short[TG_TOK_KINDS] = {
	"input", "cached input", "cache write", "output", "reasoning",
};

struct notes {
	char text[MAX_NOTES][NOTE_MAX];
	int n;
};

static void note(struct notes *ns, const char *fmt, ...)
{
	va_list ap;

	if (ns->n == MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(ns->text[ns->n++], NOTE_MAX, fmt, ap);
	va_end(ap);
}

static const char *calls(int64_t n)
{
	return n == 1 ? "call" : "calls";
}

static void unpriced_note(struct notes *ns, const struct tg_agg *a)
{
	char list[NOTE_MAX] = "";
	size_t len = 0;

	if (!a->total.unpriced)
		return;
	for (size_t i = 0; i < a->nunpriced && i < UNPRICED_NAMED; i++) {
		int k;

		if (a->nunpriced == 1)
			k = snprintf(list, sizeof list, "model %s", a->unpriced[0].model);
		else
			k = snprintf(list + len, sizeof list - len, "%s%s (%lld)",
			             i ? ", " : "models ", a->unpriced[i].model,
			             (long long)a->unpriced[i].calls);
		if (k < 0 || (size_t)k >= sizeof list - len)
			break;
		len += (size_t)k;
	}
	if (a->nunpriced > UNPRICED_NAMED)
		snprintf(list + len, sizeof list - len, " and %zu more", a->nunpriced - UNPRICED_NAMED);
	note(ns, "%lld %s unpriced: cost unknown for %s", (long long)a->total.unpriced,
	     calls(a->total.unpriced), list);
}

static void build_notes(struct notes *ns, const struct tg_agg *a)
{
	const struct tg_agg_sums *t = &a->total;

	unpriced_note(ns, a);
	if (t->usage_unknown)
		note(ns, "%lld %s without usage in the response: tokens and cost unknown, "
		     "left out of every sum", (long long)t->usage_unknown, calls(t->usage_unknown));
	for (int k = 0; k < TG_TOK_KINDS; k++) {
		int64_t n = t->unknown[k] - t->usage_unknown;

		if (n > 0)
			note(ns, "%s count unknown for %lld %s: left out of the %s sum", tok_short[k],
			     (long long)n, calls(n), tok_short[k]);
	}
}

/* ---- table ---- */

enum { COL_CALLS, COL_TOK, COL_COST = COL_TOK + TG_TOK_KINDS, NUM_COLS };

/* A sum is printed as it is when every call of the row is in it, as
 * ">=" and the sum when some are not (a lower bound: never a guess passed
 * off as the number), and as "?", the mark `records` uses, when none is.
 * The notes say how many calls each leaves out. */
static void num_cell(const struct tg_agg_sums *s, int col, char *buf)
{
	if (col == COL_CALLS) {
		snprintf(buf, CELL_MAX, "%lld", (long long)s->calls);
	} else if (col == COL_COST) {
		int64_t left_out = s->unpriced + s->usage_unknown;

		if (left_out > 0 && left_out >= s->calls && s->cost_usd == 0)
			snprintf(buf, CELL_MAX, "?");
		else
			tg_decimal_snprintf(buf, CELL_MAX, "%s%.6f", left_out > 0 ? ">=" : "",
			                    s->cost_usd);
	} else {
		int64_t unknown = s->unknown[col - COL_TOK];

		if (unknown > 0 && unknown >= s->calls)
			snprintf(buf, CELL_MAX, "?");
		else
			snprintf(buf, CELL_MAX, "%s%lld", unknown > 0 ? ">=" : "",
			         (long long)s->tokens[col - COL_TOK]);
	}
}

static const char *shown(const char *v)
{
	return *v ? v : "-";
}

static void table(const struct tg_report *rep, const struct tg_agg *a, const struct notes *ns)
{
	char head[TG_AGG_MAX_KEYS][TG_AGG_TAG_MAX + 8], cell[CELL_MAX];
	size_t kw[TG_AGG_MAX_KEYS], nw[NUM_COLS];
	FILE *f = rep->out;
	int any_star = 0;

	for (int k = 0; k < a->nkeys; k++) {
		tg_agg_key_name(a, k, head[k], sizeof head[k]);
		for (char *p = head[k]; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		kw[k] = strlen(head[k]);
		for (size_t g = 0; g < a->ngroups; g++)
			if (strlen(shown(a->group[g].value[k])) > kw[k])
				kw[k] = strlen(shown(a->group[g].value[k]));
	}
	if (a->nkeys && kw[0] < 5)
		kw[0] = 5;  /* room for TOTAL */
	for (int c = 0; c < NUM_COLS; c++) {
		nw[c] = c == COL_CALLS ? 5 : c == COL_COST ? 10 : strlen(tok_head[c - COL_TOK]);
		for (size_t g = 0; g <= a->ngroups; g++) {
			num_cell(g < a->ngroups ? &a->group[g].sums : &a->total, c, cell);
			any_star |= cell[0] == '?' || cell[0] == '>';
			if (strlen(cell) > nw[c])
				nw[c] = strlen(cell);
		}
	}

	for (int k = 0; k < a->nkeys; k++)
		fprintf(f, "%-*s  ", (int)kw[k], head[k]);
	fprintf(f, "%*s", (int)nw[COL_CALLS], "CALLS");
	for (int t = 0; t < TG_TOK_KINDS; t++)
		fprintf(f, "  %*s", (int)nw[COL_TOK + t], tok_head[t]);
	fprintf(f, "  %*s\n", (int)nw[COL_COST], "COST (USD)");

	for (size_t g = 0; g <= a->ngroups; g++) {
		const struct tg_agg_sums *s = g < a->ngroups ? &a->group[g].sums : &a->total;

		for (int k = 0; k < a->nkeys; k++) {
			const char *v = g < a->ngroups ? shown(a->group[g].value[k]) : k ? "" : "TOTAL";

			fprintf(f, "%-*s  ", (int)kw[k], v);
		}
		for (int c = 0; c < NUM_COLS; c++) {
			num_cell(s, c, cell);
			fprintf(f, c ? "  %*s" : "%*s", (int)nw[c], cell);
		}
		putc('\n', f);
	}
	if (!a->nkeys && !a->ngroups)
		fputs("(no calls in this period)\n", f);
	if (any_star)
		fputs("?: not known for any call of the row; >=: at least, leaving out the unknown "
		      "counts or the calls without a cost (see the notes)\n", f);
	for (int i = 0; i < ns->n; i++)
		fprintf(f, "note: %s\n", ns->text[i]);
}

/* ---- json ---- */

static void json_sums(FILE *f, const struct tg_agg_sums *s)
{
	fprintf(f, "\"calls\":%lld", (long long)s->calls);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, ",\"%s\":%lld", tg_tok_name[k], (long long)s->tokens[k]);
	fputs(",\"cost_usd\":", f);
	tg_emit_cost(f, s->cost_usd);
	fprintf(f, ",\"unpriced_calls\":%lld,\"usage_unknown_calls\":%lld,\"unknown_counts\":{",
	        (long long)s->unpriced, (long long)s->usage_unknown);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, "%s\"%s\":%lld", k ? "," : "", tg_tok_name[k], (long long)s->unknown[k]);
	putc('}', f);
}

static void json(const struct tg_report *rep, const struct tg_agg *a, const struct notes *ns)
{
	char name[TG_AGG_TAG_MAX + 8];
	FILE *f = rep->out;

	fputs("{\"group_by\":[", f);
	for (int k = 0; k < a->nkeys; k++) {
		tg_agg_key_name(a, k, name, sizeof name);
		fputs(k ? "," : "", f);
		tg_emit_json_str(f, name);
	}
	fputs("],\n\"groups\":[", f);
	for (size_t g = 0; g < a->ngroups; g++) {
		fputs(g ? ",\n{" : "\n{", f);
		for (int k = 0; k < a->nkeys; k++) {
			tg_agg_key_name(a, k, name, sizeof name);
			tg_emit_json_str(f, name);
			putc(':', f);
			tg_emit_json_str(f, a->group[g].value[k]);
			putc(',', f);
		}
		json_sums(f, &a->group[g].sums);
		putc('}', f);
	}
	fputs("],\n\"total\":{", f);
	json_sums(f, &a->total);
	fputs("},\n\"notes\":[", f);
	for (int i = 0; i < ns->n; i++) {
		fputs(i ? "," : "", f);
		tg_emit_json_str(f, ns->text[i]);
	}
	fputs("]}\n", f);
}

/* ---- csv ---- */

static void csv_sums(FILE *f, const struct tg_agg_sums *s)
{
	fprintf(f, "%lld", (long long)s->calls);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, ",%lld", (long long)s->tokens[k]);
	putc(',', f);
	tg_emit_cost(f, s->cost_usd);
	fprintf(f, ",%lld,%lld", (long long)s->unpriced, (long long)s->usage_unknown);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, ",%lld", (long long)s->unknown[k]);
	fputs("\r\n", f);
}

static void csv(const struct tg_report *rep, const struct tg_agg *a, const struct notes *ns)
{
	char name[TG_AGG_TAG_MAX + 8];
	FILE *f = rep->out;

	for (int k = 0; k < a->nkeys; k++) {
		tg_agg_key_name(a, k, name, sizeof name);
		tg_emit_csv_field(f, name);
		putc(',', f);
	}
	fputs("calls", f);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, ",%s", tg_tok_name[k]);
	fputs(",cost_usd,unpriced_calls,usage_unknown_calls", f);
	for (int k = 0; k < TG_TOK_KINDS; k++)
		fprintf(f, ",%s_unknown_calls", tg_tok_name[k]);
	fputs("\r\n", f);
	for (size_t g = 0; g < a->ngroups; g++) {
		for (int k = 0; k < a->nkeys; k++) {
			tg_emit_csv_field(f, a->group[g].value[k]);
			putc(',', f);
		}
		csv_sums(f, &a->group[g].sums);
	}
	/* Notes are not data: they go to stderr so the CSV stays a table. */
	for (int i = 0; i < ns->n; i++)
		fprintf(rep->err, "tokenguard-report: note: %s\n", ns->text[i]);
}

struct add_ctx {
	struct tg_agg *a;
	const struct tg_filter *filter;
};

static int add(void *p, const struct tg_record *r)
{
	struct add_ctx *c = p;

	if (!tg_filter_match(c->filter, r))
		return 0;
	return tg_agg_add(c->a, r) ? 1 : 0;
}

int tg_cmd_summary(const struct tg_report *rep, struct tg_ledger *l)
{
	struct tg_agg a;
	struct notes *ns;
	char err[256];
	int rc;

	if (tg_agg_init(&a, rep->by ? rep->by : DEFAULT_BY, err, sizeof err))
		return tg_report_fail(rep, "%s; see --help", err);
	rc = tg_ledger_scan_some(l, rep->since_us, rep->until_us,
	                         tg_agg_text(&a) | tg_filter_text(&rep->filter), add,
	                         &(struct add_ctx){ &a, &rep->filter });
	if (rc) {
		tg_agg_free(&a);
		if (rc == 1)
			return tg_report_fail(rep, "out of memory while summing; "
			                      "narrow the period with --since/--until");
		return tg_report_ledger_fail(rep, rc);
	}
	tg_agg_sort(&a);
	if (!(ns = calloc(1, sizeof *ns))) {
		tg_agg_free(&a);
		return tg_report_fail(rep, "out of memory; retry with more memory available");
	}
	build_notes(ns, &a);
	if (rep->format == TG_FMT_JSON)
		json(rep, &a, ns);
	else if (rep->format == TG_FMT_CSV)
		csv(rep, &a, ns);
	else
		table(rep, &a, ns);
	free(ns);
	tg_agg_free(&a);
	return 0;
}
