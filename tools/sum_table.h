/* sum_table.h - what a summary table shows, whatever it is drawn with:
 * its columns, the text of each cell, the key headings and the legends
 * under it.  The terminal table (cmd_summary.c) and the HTML one (html.c)
 * both take their cells from here, so the two say the same thing: the
 * same "?", ">=", "(N?)" and "~$" marks (emit.h's tg_sum_cell) and the
 * same legends for them. */
#ifndef TG_SUM_TABLE_H
#define TG_SUM_TABLE_H

#include <stddef.h>

#include "agg.h"
#include "emit.h"

/* The columns after the keys, in order.  MARKS is shown only when a row
 * has a mark (tg_sum_legend.mark). */
enum tg_sum_col {
	TG_COL_CALLS, TG_COL_BLOCKED, TG_COL_TOK,
	TG_COL_TOKENS = TG_COL_TOK + TG_TOK_KINDS, TG_COL_COST, TG_COL_MARKS,
	TG_SUM_COLS
};

/* The heading of column c ("CALLS", "COST (USD)"). */
const char *tg_sum_col_head(int c);

/* The text of column c for the sums s into buf (TG_CELL_MAX bytes):
 * "12", ">=4200 (1?)", ">=$0.0046 (2?) + ~$0.0123", "cut 1, err 2". */
void tg_sum_cell_text(const struct tg_agg_sums *s, int c, char *buf);

/* The heading of key i: its name upper-cased ("MODEL", "TAG:TEAM"). */
void tg_sum_key_head(const struct tg_agg *a, int i, char *buf, size_t n);

/* A key value as shown: "-" for none (a record without that tag). */
const char *tg_sum_key_text(const char *v);

/* The label of the TOTAL row, in the first key column. */
#define TG_SUM_TOTAL "TOTAL"

/* What the table of a needs explained under it. */
struct tg_sum_legend {
	int blocked;   /* a call was blocked */
	int unknown;   /* a cell shows "?" */
	int estimate;  /* an amount includes an estimate ("~$") */
	int mark;      /* a row has a mark: the MARKS column is shown */
};
void tg_sum_legend_of(const struct tg_agg *a, struct tg_sum_legend *lg);

/* The legend lines lg calls for, in their order, each ending in "\n",
 * into line[]; returns how many (at most TG_SUM_LEGEND_MAX). */
#define TG_SUM_LEGEND_MAX 4
int tg_sum_legend_lines(const struct tg_sum_legend *lg, const char *line[TG_SUM_LEGEND_MAX]);

/* What a table with no key and no group says instead of rows. */
#define TG_SUM_NO_CALLS "(no calls in this period)\n"

#endif
