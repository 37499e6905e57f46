/* sum_table.c - the cells, headings and legends of a summary table (see
 * sum_table.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "sum_table.h"

static const char *const tok_head[TG_TOK_KINDS] = {
	"INPUT", "CACHED", "CACHE-WRITE", "OUTPUT", "REASONING",
};

const char *tg_sum_col_head(int c)
{
	switch (c) {
	case TG_COL_CALLS: return "CALLS";
	case TG_COL_BLOCKED: return "BLOCKED";
	case TG_COL_TOKENS: return "TOKENS";
	case TG_COL_COST: return "COST (USD)";
	case TG_COL_MARKS: return "MARKS";
	default: return tok_head[c - TG_COL_TOK];
	}
}

static void marks_cell(const struct tg_agg_sums *s, char *buf)
{
	int k = 0;

	buf[0] = '\0';
	if (s->incomplete)
		k = snprintf(buf, TG_CELL_MAX, "cut %lld", (long long)s->incomplete);
	if (s->stream_error && k >= 0 && k < TG_CELL_MAX)
		snprintf(buf + k, TG_CELL_MAX - (size_t)k, "%serr %lld", k ? ", " : "",
		         (long long)s->stream_error);
}

/* The estimated cost of the calls the measured sum leaves out (estimate.h),
 * after it: ">=$0.0046 (2?) + ~$0.0123". */
static void estimate_suffix(double usd_estimated, char *buf, size_t n)
{
	char est[TG_MONEY_MAX];
	size_t k = strlen(buf);

	if (usd_estimated > 0 && tg_money_text(usd_estimated, est, sizeof est) >= 0 &&
	    k + 4 + strlen(est) < n) {
		memcpy(buf + k, " + ~", 4);
		memcpy(buf + k + 4, est, strlen(est) + 1);
	}
}

void tg_sum_cell_text(const struct tg_agg_sums *s, int c, char *buf)
{
	char sum[TG_MONEY_MAX];

	switch (c) {
	case TG_COL_CALLS:
		snprintf(buf, TG_CELL_MAX, "%lld", (long long)s->t.calls);
		break;
	case TG_COL_BLOCKED:
		snprintf(buf, TG_CELL_MAX, "%lld", (long long)s->t.blocked);
		break;
	case TG_COL_TOKENS:
		snprintf(sum, sizeof sum, "%lld", (long long)s->t.tokens);
		tg_sum_cell(buf, TG_CELL_MAX, sum, s->t.tokens_unknown, s->t.calls);
		break;
	case TG_COL_COST:
		if (tg_money_text(s->t.usd_known, sum, sizeof sum) < 0)
			snprintf(sum, sizeof sum, "$?");
		tg_sum_cell(buf, TG_CELL_MAX, sum, tg_total_cost_unknown(&s->t), s->t.calls);
		estimate_suffix(s->t.usd_estimated, buf, TG_CELL_MAX);
		break;
	case TG_COL_MARKS:
		marks_cell(s, buf);
		break;
	default:
		snprintf(sum, sizeof sum, "%lld", (long long)s->tokens[c - TG_COL_TOK]);
		tg_sum_cell(buf, TG_CELL_MAX, sum, s->unknown[c - TG_COL_TOK], s->t.calls);
	}
}

void tg_sum_key_head(const struct tg_agg *a, int i, char *buf, size_t n)
{
	tg_agg_key_name(a, i, buf, n);
	for (char *p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

const char *tg_sum_key_text(const char *v)
{
	return *v ? v : "-";
}

void tg_sum_legend_of(const struct tg_agg *a, struct tg_sum_legend *lg)
{
	char cell[TG_CELL_MAX];

	memset(lg, 0, sizeof *lg);
	lg->blocked = a->total.t.blocked > 0;
	lg->estimate = a->total.t.usd_estimated > 0;
	for (size_t g = 0; g <= a->ngroups; g++) {
		const struct tg_agg_sums *s = g < a->ngroups ? &a->group[g].sums : &a->total;

		for (int c = 0; c < TG_SUM_COLS; c++) {
			tg_sum_cell_text(s, c, cell);
			if (c == TG_COL_MARKS)
				lg->mark |= cell[0] != '\0';
			else
				lg->unknown |= strchr(cell, '?') != NULL;
		}
	}
}

int tg_sum_legend_lines(const struct tg_sum_legend *lg, const char *line[TG_SUM_LEGEND_MAX])
{
	int n = 0;

	if (lg->blocked)
		line[n++] = "BLOCKED: calls refused by a budget policy: never sent, in no other column\n";
	if (lg->unknown)
		line[n++] = TG_UNKNOWN_LEGEND;
	if (lg->estimate)
		line[n++] = TG_ESTIMATE_LEGEND;
	if (lg->mark)
		line[n++] = "MARKS: cut N: N calls cut off before their end; err N: N streams that "
		            "ended with an error event\n";
	return n;
}
