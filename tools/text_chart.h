/* text_chart.h - spend drawn as horizontal bars (--chart): one line per row,
 * its label, its bar and its amount, every line within a given width.
 *
 * Owns: the drawing alone.  How wide the label, bar and amount columns
 * are for a width; how a value becomes a bar (block elements in eighths
 * of a column, U+2588..U+258F, when the terminal takes UTF-8; '#' in
 * whole columns otherwise); how a label is cut (an ellipsis); how text
 * under the chart is wrapped to the width.  What the rows are (the
 * summary's groups), their amounts and how an amount says it is an
 * estimate or unknown ("~$", "?", ">=": emit.h) are the caller's: an
 * amount is drawn as given.
 *
 * The bars: the largest value fills the bar column; a value v gets
 * v / max of it, rounded to the nearest eighth (UTF-8) or column
 * (ASCII), and at least one eighth or one '#' when v > 0, so that a
 * small spend never looks like none.  A value of 0 (or negative, or not
 * finite) draws an empty bar.
 *
 * The columns: label, a space, bar, a space, amount (right-aligned).
 * Amounts are never cut while there is room for them; labels are cut
 * first (down to TG_TEXT_CHART_LABEL_MIN), then the bar narrows (down to
 * TG_TEXT_CHART_BAR_MIN), then the label again, then the bar goes.  Only a
 * width too narrow for the amount and TG_TEXT_CHART_LABEL_FLOOR columns of
 * label cuts the amount (marked as cut, as a label is).
 */
#ifndef TG_TEXT_CHART_H
#define TG_TEXT_CHART_H

#include <stddef.h>
#include <stdio.h>

#define TG_TEXT_CHART_LABEL_MIN 10
#define TG_TEXT_CHART_BAR_MIN 10
#define TG_TEXT_CHART_LABEL_FLOOR 6
/* The width of a chart not written to a terminal and without $COLUMNS. */
#define TG_TEXT_CHART_WIDTH 80

struct tg_text_chart_row {
	const char *label;   /* UTF-8; one display column per character */
	const char *amount;  /* as the tables show it: "$1.23", "? (2?)", ... */
	double value;        /* the bar, relative to the largest of the rows */
};

struct tg_text_chart {
	const struct tg_text_chart_row *row;
	size_t nrows;
	const struct tg_text_chart_row *head;   /* a first line without a bar, or NULL */
	const struct tg_text_chart_row *total;  /* a last line without a bar, or NULL */
	int width;                          /* no line is longer (in columns) */
	int utf8;                           /* block elements and U+2026; else ASCII */
};

/* The chart's lines into f, each ending in '\n': head, rows, total;
 * nothing when there are none. */
void tg_text_chart_write(FILE *f, const struct tg_text_chart *c);

/* text wrapped at spaces into lines of at most width columns, the lines
 * after the first of a paragraph indented by two spaces; a word too long
 * for a line is cut.  A '\n' in text ends a paragraph; a trailing one is
 * not a paragraph of its own. */
void tg_text_chart_wrap(FILE *f, const char *text, int width);

/* 1 when the user's locale (LC_CTYPE from the environment) has UTF-8 as
 * its codeset.  The program's own LC_CTYPE is put back, and LC_NUMERIC is
 * never touched: numbers keep their '.'. */
int tg_text_chart_utf8(void);

#endif
