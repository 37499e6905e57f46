/* text_chart.c - spend as horizontal bars (see text_chart.h). */
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text_chart.h"
#include "emit.h"

/* U+2588 FULL BLOCK; U+2589..U+258F are seven eighths down to one. */
#define FULL_BLOCK "\xe2\x96\x88"
#define ASCII_CUT "..."

struct layout {
	int label, bar, amount;  /* column widths; bar 0: no bar column */
};

static int widest(const struct tg_text_chart *c, int amount)
{
	size_t w = 0, k;

	for (size_t i = 0; i < c->nrows + 2; i++) {
		const struct tg_text_chart_row *r = i < c->nrows ? &c->row[i] : i == c->nrows ? c->head
		                               : c->total;

		if (!r)
			continue;
		k = tg_text_columns(amount ? r->amount : r->label);
		if (k > w)
			w = k;
	}
	return w > 100000 ? 100000 : (int)w;
}

/* The order of chart.h: the label gives way first, then the bar, then the
 * label again, then the bar goes; the amount only when nothing else is
 * left. */
static struct layout lay_out(const struct tg_text_chart *c)
{
	struct layout l = { widest(c, 0), 0, widest(c, 1) };
	int w = c->width < 1 ? 1 : c->width;
	int lmin = l.label < TG_TEXT_CHART_LABEL_MIN ? l.label : TG_TEXT_CHART_LABEL_MIN;
	int room = w - l.amount - 2;   /* for label and bar */

	if (room >= l.label + TG_TEXT_CHART_BAR_MIN) {
		l.bar = room - l.label;
	} else if (room >= lmin + TG_TEXT_CHART_BAR_MIN) {
		l.bar = TG_TEXT_CHART_BAR_MIN;
		l.label = room - l.bar;
	} else if (room > lmin) {
		l.label = lmin;
		l.bar = room - lmin;
	} else {
		/* No room for a bar: label, a space, amount.  A row must still
		 * say what it is: down to TG_TEXT_CHART_LABEL_FLOOR columns of label,
		 * the amount cut (and marked) if it must. */
		int floor = l.label < TG_TEXT_CHART_LABEL_FLOOR ? l.label : TG_TEXT_CHART_LABEL_FLOOR;

		room = w - l.amount - 1;
		if (room < l.label)
			l.label = room > floor ? room : floor;
		if (l.label > w - 2)
			l.label = w - 2 > 0 ? w - 2 : 0;
		if (l.amount > w - l.label - 1)
			l.amount = w - l.label - 1;
		if (l.amount <= 0) {
			l.label = w;
			l.amount = 0;
		}
	}
	return l;
}

static double largest(const struct tg_text_chart *c)
{
	double max = 0;

	for (size_t i = 0; i < c->nrows; i++)
		if (isfinite(c->row[i].value) && c->row[i].value > max)
			max = c->row[i].value;
	return max;
}

/* v's bar in exactly width columns. */
static void bar(struct tg_obuf *o, double v, double max, int width, int utf8)
{
	long units = 0, per = utf8 ? 8 : 1, full, cols;

	if (isfinite(v) && v > 0 && max > 0) {
		units = lround(v / max * (double)width * (double)per);
		if (units < 1)
			units = 1;
		if (units > (long)width * per)
			units = (long)width * per;
	}
	full = units / per;
	for (long i = 0; i < full; i++)
		tg_obuf_str(o, utf8 ? FULL_BLOCK : "#");
	cols = full;
	if (units % per) {
		char part[4] = { '\xe2', '\x96', (char)(0x88 + per - units % per), 0 };

		tg_obuf_str(o, part);
		cols++;
	}
	for (; cols < width; cols++)
		tg_obuf_char(o, ' ');
}

static void line(struct tg_obuf *o, const struct tg_text_chart *c, const struct layout *l,
                 const struct tg_text_chart_row *r, double max, int with_bar)
{
	const char *mark = c->utf8 ? TG_ELLIPSIS : ASCII_CUT;

	if (l->label)
		tg_obuf_cell_mark(o, r->label, l->label, 0, l->bar || l->amount, mark);
	if (l->bar) {
		if (l->label)
			tg_obuf_char(o, ' ');
		bar(o, with_bar ? r->value : 0, max, l->bar, c->utf8);
	}
	if (l->amount) {
		if (l->label || l->bar)
			tg_obuf_char(o, ' ');
		tg_obuf_cell_mark(o, r->amount, l->amount, 1, 1, mark);
	}
	tg_obuf_char(o, '\n');
}

void tg_text_chart_write(FILE *f, const struct tg_text_chart *c)
{
	char b[4096];
	struct tg_obuf o = { f, b, 0, sizeof b };
	struct layout l;
	double max = largest(c);

	if (!c->nrows && !c->head && !c->total)
		return;
	l = lay_out(c);
	if (c->head)
		line(&o, c, &l, c->head, max, 0);
	for (size_t i = 0; i < c->nrows; i++)
		line(&o, c, &l, &c->row[i], max, 1);
	if (c->total)
		line(&o, c, &l, c->total, max, 0);
	tg_obuf_flush(&o);
}

/* The bytes of s's first n display columns. */
static size_t bytes_of_columns(const char *s, size_t len, size_t n)
{
	size_t k = 0;

	for (; k < len; k++)
		if (((unsigned char)s[k] & 0xC0) != 0x80 && !n--)
			break;
	return k;
}

static size_t columns_of(const char *s, size_t len)
{
	size_t cols = 0;

	for (size_t k = 0; k < len; k++)
		cols += ((unsigned char)s[k] & 0xC0) != 0x80;
	return cols;
}

void tg_text_chart_wrap(FILE *f, const char *text, int width)
{
	size_t w = width < 1 ? 1 : (size_t)width;
	size_t indent = w > 10 ? 2 : 0;

	while (*text) {
		size_t para = strcspn(text, "\n"), at = 0, used = 0;

		/* One paragraph: words put on a line while they fit. */
		while (at < para) {
			size_t start = at, wlen, wcols, room;

			while (at < para && text[at] == ' ')
				at++;
			if (at == para)
				break;
			start = at;
			while (at < para && text[at] != ' ')
				at++;
			wlen = at - start;
			wcols = columns_of(text + start, wlen);
			if (used && used + 1 + wcols > w) {
				fputc('\n', f);
				fprintf(f, "%*s", (int)indent, "");
				used = indent;
			} else if (used) {
				fputc(' ', f);
				used++;
			}
			/* A word longer than a whole line is cut into pieces. */
			while (used + wcols > w) {
				room = w - used;
				fwrite(text + start, 1, bytes_of_columns(text + start, wlen, room), f);
				start += bytes_of_columns(text + start, wlen, room);
				wlen = at - start;
				wcols -= room;
				fputc('\n', f);
				fprintf(f, "%*s", (int)indent, "");
				used = indent;
			}
			fwrite(text + start, 1, wlen, f);
			used += wcols;
		}
		fputc('\n', f);
		text += para;
		if (*text == '\n')
			text++;
	}
}

int tg_text_chart_utf8(void)
{
	const char *was = setlocale(LC_CTYPE, NULL);
	char *saved = was ? strdup(was) : NULL;
	int utf8 = 0;

	if (setlocale(LC_CTYPE, "")) {
		const char *set = nl_langinfo(CODESET);

		utf8 = set && (!strcmp(set, "UTF-8") || !strcmp(set, "utf8"));
	}
	setlocale(LC_CTYPE, saved ? saved : "C");
	free(saved);
	return utf8;
}
