/* emit.h - the report's output primitives: JSON strings, CSV fields, HTML
 * text and numbers, written to a FILE or into an output buffer (struct
 * tg_obuf).
 * Every machine-readable format goes through these, so escaping is decided
 * in one place: the FILE functions are the buffer ones on a small buffer.
 *
 * A report of a million records goes through a tg_obuf: text is formatted
 * into it and handed to the FILE in large blocks, rather than a stdio call
 * per field or per character. */
#ifndef TG_EMIT_H
#define TG_EMIT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum tg_format { TG_FMT_TABLE, TG_FMT_JSON, TG_FMT_JSONL, TG_FMT_CSV, TG_FMT_HTML };

/* Output gathered in b (cap bytes, at least TG_OBUF_MIN) and written to f
 * with one fwrite() whenever it fills, and by tg_obuf_flush(). */
#define TG_OBUF_MIN 64
struct tg_obuf {
	FILE *f;
	char *b;
	size_t n, cap;
};

/* Writes out what b holds. */
void tg_obuf_flush(struct tg_obuf *o);

/* Makes room for k more bytes (k <= cap) and returns where they go; the
 * caller then adds what it wrote to o->n. */
static inline char *tg_obuf_room(struct tg_obuf *o, size_t k)
{
	if (o->cap - o->n < k)
		tg_obuf_flush(o);
	return o->b + o->n;
}

/* Adds n bytes: a copy while they fit, the rest of the time a flush. */
void tg_obuf_put_slow(struct tg_obuf *o, const char *s, size_t n);
static inline void tg_obuf_put(struct tg_obuf *o, const char *s, size_t n)
{
	if (o->cap - o->n < n) {
		tg_obuf_put_slow(o, s, n);
		return;
	}
	memcpy(o->b + o->n, s, n);
	o->n += n;
}

void tg_obuf_str(struct tg_obuf *o, const char *s);
static inline void tg_obuf_char(struct tg_obuf *o, char c)
{
	*tg_obuf_room(o, 1) = c;
	o->n++;
}

/* v in decimal, with a '-' when negative. */
void tg_obuf_int(struct tg_obuf *o, int64_t v);

/* s left-aligned (right when right is set) in a field of width bytes,
 * never cut: the table's %-Ns and %Ns. */
void tg_obuf_pad(struct tg_obuf *o, const char *s, int width, int right);

/* ---- tables that fit the terminal ----
 * A table on a terminal is as wide as the terminal: its text columns are
 * cut, the cut marked with an ellipsis, so that lines neither wrap nor
 * lose their alignment.  Piped, it keeps its full width. */

/* The columns a table written to f may take: the terminal's width when f
 * is one (TIOCGWINSZ, else $COLUMNS), 0 (no limit) when it is not. */
int tg_table_limit(FILE *f);

/* The columns of the terminal f is (TIOCGWINSZ), else $COLUMNS, else
 * otherwise: for output that has a width piped too (charts). */
int tg_term_columns(FILE *f, int otherwise);

/* From now on f (a memory stream a frame is drawn into, for watch) is a
 * terminal of columns columns to the two functions above; columns 0 ends
 * that. */
void tg_term_pretend(FILE *f, int columns);

/* Narrows the column widths w[0..n), separated by sep spaces, until the
 * line fits limit (0: no limit): the widest column that may shrink loses
 * a column at a time, down to min[i] (min[i] >= w[i]: a column that
 * never shrinks, e.g. a number).  Returns 1 when it fits. */
int tg_table_fit(int *w, const int *min, int n, int sep, int limit);

/* tg_table_fit() for a table with more columns than a narrow terminal
 * holds: before any text column is cut below want[i] (its width when
 * cut no further than a person still reads it), whole columns are left
 * out, those with the lowest rank[i] first (rank 0: never left out), and
 * hidden[i] set for each; then the rest is fitted as tg_table_fit()
 * does.  Returns the number of columns left out. */
int tg_table_fit_hiding(int *w, const int *min, const int *want, const unsigned char *rank,
                        unsigned char *hidden, int n, int sep, int limit);

/* The line under a table some columns of which were left out:
 * "Hidden to fit 80 columns: CACHED, REASONING (--format json
 * has every column)". */
void tg_table_hidden_note(FILE *f, const char *const *head, const unsigned char *hidden, int n,
                          int limit);

/* s in exactly width display columns (UTF-8 characters): padded like
 * tg_obuf_pad when shorter, cut to width - 1 characters and "\u2026" when
 * longer; not padded when pad is 0 (the last column). */
void tg_obuf_cell(struct tg_obuf *o, const char *s, int width, int right, int pad);

/* The display columns of s, a UTF-8 character being one. */
size_t tg_text_columns(const char *s);

/* The mark of a cut: U+2026. */
#define TG_ELLIPSIS "\xe2\x80\xa6"

/* tg_obuf_cell with the cut marked by mark (its display columns taken
 * from the width) instead of the ellipsis: "..." where only ASCII may be
 * written.  A width narrower than mark gets the text cut, unmarked. */
void tg_obuf_cell_mark(struct tg_obuf *o, const char *s, int width, int right, int pad,
                       const char *mark);

/* tg_obuf_cell on a FILE. */
void tg_emit_cell(FILE *f, const char *s, int width, int right, int pad);

/* The buffer forms of the functions below; the ...n forms take text of
 * n bytes that holds no NUL (a record's text viewed in place). */
void tg_obuf_json_str(struct tg_obuf *o, const char *s);
void tg_obuf_json_strn(struct tg_obuf *o, const char *s, size_t n);
void tg_obuf_json_str_or_null(struct tg_obuf *o, const char *s);
void tg_obuf_json_strn_or_null(struct tg_obuf *o, const char *s, size_t n);
void tg_obuf_csv_field(struct tg_obuf *o, const char *s);
void tg_obuf_csv_fieldn(struct tg_obuf *o, const char *s, size_t n);
void tg_obuf_cost(struct tg_obuf *o, double usd);
void tg_obuf_count(struct tg_obuf *o, int64_t v, const char *null_text);

/* A sum for a table that leaves unknown of its calls calls out (their
 * count or cost not known; spend_rule.h): the sum as it is when none is
 * left out; "?" when every call is (nothing is known); ">=" and the sum
 * (at least: never a guess passed off as the number) when some are.  Both
 * unknown forms end in "(N?)", how many calls; unknown < 0 means some,
 * but the ledger does not say how many: "(?)".  Every table that sums
 * uses this, and TG_UNKNOWN_LEGEND under it. */
#define TG_CELL_MAX 64
void tg_sum_cell(char *buf, size_t n, const char *sum, int64_t unknown, int64_t calls);
#define TG_UNKNOWN_LEGEND "?: not known; >=: at least, the sum leaving out the calls whose " \
	"count or cost is unknown; (N?): how many calls of the row those are\n"

/* 1 when unknown of a row's calls calls leave out every one of them:
 * nothing of the sum is known, so JSON and HTML say null, CSV an empty
 * field and a table "?". */
static inline int tg_sum_none_known(int64_t unknown, int64_t calls)
{
	return unknown > 0 && unknown >= calls;
}

/* Under a table with an amount that holds an estimate ("~$0.0123"). */
#define TG_ESTIMATE_LEGEND "~: includes estimates of calls whose cost the wire does not give " \
	"(a model without a price, a response without usage)\n"

/* Length of the valid UTF-8 sequence at s, of the n bytes left, or 0 when
 * it is not one (cut short, overlong forms, surrogates and values past
 * U+10FFFF included). */
int tg_utf8_len(const unsigned char *s, size_t n);

/* "table", "json", "jsonl", "csv", "html" -> enum; -1 for anything else. */
int tg_emit_format(const char *name);

/* The name of format (enum tg_format), or NULL for none. */
const char *tg_emit_format_name(int format);

/* A JSON string literal, quotes included.  Control characters, quotes and
 * backslashes are escaped; bytes that are not valid UTF-8 (ledger text is
 * whatever the wire carried) become U+FFFD, so the output is always valid
 * UTF-8 JSON. */
void tg_emit_json_str(FILE *f, const char *s);

/* tg_emit_json_str, or null for an empty string (ids, optional text). */
void tg_emit_json_str_or_null(FILE *f, const char *s);

/* A CSV text field per RFC 4180: quoted, with quotes doubled, when it
 * holds a comma, quote, CR or LF (or starts or ends with a space).  Text
 * starting with =, +, -, @, tab or CR gets a ' in front, so a spreadsheet
 * shows it instead of running it as a formula: process names, tags and
 * the model names a gateway returns are not ours to trust.  Numbers are
 * not written with this. */
void tg_emit_csv_field(FILE *f, const char *s);

/* Text for HTML, in an element or a quoted attribute value: & < > " '
 * become character references, so ledger text (model names, tags,
 * process names: not ours to trust) never makes markup.  Control
 * characters, DEL and bytes that are not valid UTF-8 become U+FFFD, so
 * the page is always valid UTF-8 and holds nothing a reader cannot see. */
void tg_obuf_html_str(struct tg_obuf *o, const char *s);
void tg_obuf_html_strn(struct tg_obuf *o, const char *s, size_t n);
/* An amount of dollars as money.h spells it ("$?" when it cannot be
 * spelt), escaped for HTML and SVG text. */
void tg_obuf_html_money(struct tg_obuf *o, double usd);

/* A USD amount for machines, in full precision: tg_money_exact() of
 * money.h (0.00123, 2.2e-10), null for one that is not finite. */
void tg_emit_cost(FILE *f, double usd);

/* v as the shortest decimal that reads back as exactly v (0.25, 300,
 * 1e-300): for values a person wrote, such as limits, which rounding to
 * nine decimals could turn into 0.  '.' in every locale; null when v is
 * not finite. */
void tg_emit_exact(FILE *f, double v);

/* A USD limit as tg_emit_exact(), or null when usd < 0 (no limit in
 * dollars). */
void tg_emit_limit(FILE *f, double usd);

/* An integer, or null_text when v < 0 (an unknown count). */
void tg_emit_count(FILE *f, int64_t v, const char *null_text);

#endif
