/* emit.c - escaping and number formatting for the report (see emit.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "decimal.h"
#include "emit.h"
#include "env.h"
#include "money.h"

static const char *const format_names[] = { "table", "json", "jsonl", "csv", "html" };
#define NFORMATS (int)(sizeof format_names / sizeof format_names[0])

int tg_emit_format(const char *name)
{
	for (int i = 0; i < NFORMATS; i++)
		if (!strcmp(name, format_names[i]))
			return i;
	return -1;
}

const char *tg_emit_format_name(int format)
{
	return format >= 0 && format < NFORMATS ? format_names[format] : NULL;
}

/* ---- the output buffer ---- */

void tg_obuf_flush(struct tg_obuf *o)
{
	if (o->n)
		fwrite(o->b, 1, o->n, o->f);
	o->n = 0;
}

void tg_obuf_put_slow(struct tg_obuf *o, const char *s, size_t n)
{
	while (n > o->cap - o->n) {
		size_t k = o->cap - o->n;

		memcpy(o->b + o->n, s, k);
		o->n += k;
		s += k;
		n -= k;
		tg_obuf_flush(o);
	}
	memcpy(o->b + o->n, s, n);
	o->n += n;
}

void tg_obuf_str(struct tg_obuf *o, const char *s)
{
	tg_obuf_put(o, s, strlen(s));
}

/* "00" to "99": two digits per division. */
static const char digit_pairs[] =
	"0001020304050607080910111213141516171819202122232425262728293031323334353637383940"
	"4142434445464748495051525354555657585960616263646566676869707172737475767778798081"
	"8283848586878889909192939495969798" "99";

/* u in decimal at buf (20 bytes at most, no NUL); returns the length.
 * The digits are counted first so that they go straight to their place. */
static size_t put_u64(char *buf, uint64_t u)
{
	size_t n = 1;
	char *p;

	for (uint64_t t = u; t >= 100; t /= 100)
		n += 2;
	if (u >= 10) {
		uint64_t t = u;

		while (t >= 100)
			t /= 100;
		n += t >= 10;
	}
	p = buf + n;
	while (u >= 100) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10)
		memcpy(p - 2, digit_pairs + 2 * u, 2);
	else
		p[-1] = (char)('0' + u);
	return n;
}

void tg_obuf_int(struct tg_obuf *o, int64_t v)
{
	char *p = tg_obuf_room(o, 21);

	if (v < 0)
		*p++ = '-';
	o->n = (size_t)(p - o->b) + put_u64(p, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

void tg_obuf_pad(struct tg_obuf *o, const char *s, int width, int right)
{
	size_t len = strlen(s);
	size_t fill = width > 0 && (size_t)width > len ? (size_t)width - len : 0;

	if (!right)
		tg_obuf_put(o, s, len);
	for (; fill; fill--)
		tg_obuf_char(o, ' ');
	if (right)
		tg_obuf_put(o, s, len);
}

/* ---- tables that fit the terminal ---- */

/* What watch draws into memory for a terminal (tg_term_pretend). */
static FILE *pretend_f;
static int pretend_cols;

void tg_term_pretend(FILE *f, int columns)
{
	pretend_f = columns > 0 ? f : NULL;
	pretend_cols = columns;
}

int tg_term_columns(FILE *f, int otherwise)
{
	struct winsize ws;
	const char *cols;
	char *end;
	long n;

	if (pretend_f && f == pretend_f)
		return pretend_cols;
	if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col > 0)
		return ws.ws_col;
	cols = tg_env_get("COLUMNS");
	if (!cols || !*cols)
		return otherwise;
	n = strtol(cols, &end, 10);
	return *end || n <= 0 || n > 100000 ? otherwise : (int)n;
}

int tg_table_limit(FILE *f)
{
	if (!(pretend_f && f == pretend_f) && !isatty(fileno(f)))
		return 0;
	return tg_term_columns(f, 0);
}

int tg_table_fit(int *w, const int *min, int n, int sep, int limit)
{
	long total = (long)sep * (n > 0 ? n - 1 : 0);
	int widest;

	for (int i = 0; i < n; i++)
		total += w[i];
	while (limit > 0 && total > limit) {
		widest = -1;
		for (int i = 0; i < n; i++)
			if (w[i] > min[i] && (widest < 0 || w[i] > w[widest]))
				widest = i;
		if (widest < 0)
			return 0;
		w[widest]--;
		total--;
	}
	return 1;
}

#define TABLE_COLS_MAX 32

/* The width of the shown columns with each cut to no less than floor[i]. */
static long table_width(const int *w, const int *floor, const unsigned char *hidden, int n,
                        int sep)
{
	long total = 0;
	int shown = 0;

	for (int i = 0; i < n; i++)
		if (!hidden[i]) {
			total += w[i] < floor[i] ? w[i] : floor[i];
			shown++;
		}
	return total + (long)sep * (shown > 0 ? shown - 1 : 0);
}

int tg_table_fit_hiding(int *w, const int *min, const int *want, const unsigned char *rank,
                        unsigned char *hidden, int n, int sep, int limit)
{
	int cw[TABLE_COLS_MAX] = { 0 }, cmin[TABLE_COLS_MAX] = { 0 }, at[TABLE_COLS_MAX] = { 0 };
	int m = 0, nhidden = 0;
	int floor[TABLE_COLS_MAX];

	memset(hidden, 0, (size_t)n);
	if (n > TABLE_COLS_MAX)
		return tg_table_fit(w, min, n, sep, limit), 0;
	for (int i = 0; i < n; i++)
		floor[i] = want[i] > min[i] ? want[i] : min[i];
	while (limit > 0 && table_width(w, floor, hidden, n, sep) > limit) {
		int drop = -1;

		for (int i = 0; i < n; i++)
			if (!hidden[i] && rank[i] && (drop < 0 || rank[i] < rank[drop]))
				drop = i;
		if (drop < 0)
			break;
		hidden[drop] = 1;
		nhidden++;
	}
	for (int i = 0; i < n; i++)
		if (!hidden[i]) {
			cw[m] = w[i];
			cmin[m] = min[i];
			at[m++] = i;
		}
	tg_table_fit(cw, cmin, m, sep, limit);
	for (int j = 0; j < m; j++)
		w[at[j]] = cw[j];
	return nhidden;
}

void tg_table_hidden_note(FILE *f, const char *const *head, const unsigned char *hidden, int n,
                          int limit)
{
	int listed = 0;

	for (int i = 0; i < n; i++) {
		if (!hidden[i])
			continue;
		if (listed++)
			fprintf(f, ", %s", head[i]);
		else
			fprintf(f, "Hidden to fit %d columns: %s", limit, head[i]);
	}
	if (listed)
		fputs(" (--format json has every column)\n", f);
}

size_t tg_text_columns(const char *s)
{
	size_t cols = 0;

	for (; *s; s++)
		cols += ((unsigned char)*s & 0xC0) != 0x80;
	return cols;
}

void tg_obuf_cell_mark(struct tg_obuf *o, const char *s, int width, int right, int pad,
                       const char *mark)
{
	size_t cols = tg_text_columns(s), mcols = tg_text_columns(mark), keep, k = 0;
	size_t fill = width > 0 && (size_t)width > cols ? (size_t)width - cols : 0;

	if (width <= 0 || cols <= (size_t)width) {
		if (right && pad)
			for (size_t i = fill; i; i--)
				tg_obuf_char(o, ' ');
		tg_obuf_str(o, s);
		if (!right && pad)
			for (; fill; fill--)
				tg_obuf_char(o, ' ');
		return;
	}
	/* The first width - mcols characters, whole, then the mark; a cell
	 * narrower than the mark gets what fits of the text alone. */
	if (mcols >= (size_t)width)
		mark = "", mcols = 0;
	for (keep = (size_t)width - mcols; s[k]; k++)
		if (((unsigned char)s[k] & 0xC0) != 0x80 && !keep--)
			break;
	tg_obuf_put(o, s, k);
	tg_obuf_str(o, mark);
}

void tg_obuf_cell(struct tg_obuf *o, const char *s, int width, int right, int pad)
{
	tg_obuf_cell_mark(o, s, width, right, pad, TG_ELLIPSIS);
}

/* ---- JSON ---- */

int tg_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	int k;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if ((size_t)k > n)
		return 0;
	for (int i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* Bytes a JSON string takes as they are: printable ASCII but the quote
 * and the backslash.  DEL is legal JSON but escaped anyway: it hides in
 * terminals.  A table, as it is asked once per byte of every string. */
#define PLAIN16(c) PLAIN4(c), PLAIN4(c + 4), PLAIN4(c + 8), PLAIN4(c + 12)
#define PLAIN4(c) PLAIN1(c), PLAIN1(c + 1), PLAIN1(c + 2), PLAIN1(c + 3)
#define PLAIN1(c) ((c) >= 0x20 && (c) < 0x7f && (c) != '"' && (c) != '\\')
static const unsigned char json_plain[256] = {
	PLAIN16(0x00), PLAIN16(0x10), PLAIN16(0x20), PLAIN16(0x30),
	PLAIN16(0x40), PLAIN16(0x50), PLAIN16(0x60), PLAIN16(0x70),
};
#undef PLAIN1
#undef PLAIN4
#undef PLAIN16

/* 1 when the 8 bytes of w are all plain (json_plain): no byte >= 0x80, none
 * below 0x20, no DEL, quote or backslash.  Each test is the exact "some
 * byte is zero / below n" bit trick. */
static inline int json_plain8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\'), d = w ^ (ones * 0x7f);

	return !((w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b) |
	          ((d - ones) & ~d)) & highs);
}

/* The longest text one byte or UTF-8 sequence of the input becomes. */
#define JSON_SEQ_MAX 6

/* One byte or sequence that is not plain, written at q; returns how many
 * input bytes it took and advances *qp. */
static size_t json_escape_one(const unsigned char *s, size_t n, char **qp)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = *s;
	char *q = *qp;
	int k;

	if (c >= 0x80) {
		if ((k = tg_utf8_len(s, n)) == 0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			*qp = q + 3;
			return 1;
		}
		memcpy(q, s, (size_t)k);
		*qp = q + k;
		return (size_t)k;
	}
	*q++ = '\\';
	switch (c) {
	case '"': *q++ = '"'; break;
	case '\\': *q++ = '\\'; break;
	case '\n': *q++ = 'n'; break;
	case '\r': *q++ = 'r'; break;
	case '\t': *q++ = 't'; break;
	default:
		memcpy(q, "u00", 3);
		q[3] = hex[c >> 4];
		q[4] = hex[c & 15];
		q += 5;
	}
	*qp = q;
	return 1;
}

/* Escapes from *sp (*np bytes) into q while JSON_SEQ_MAX bytes are left
 * before limit, eight plain bytes at a time where it can; returns where
 * it stopped writing, *sp and *np moved past what it read. */
static inline char *json_escape_run(const unsigned char **sp, size_t *np, char *q,
                                    const char *limit)
{
	const unsigned char *s = *sp;
	size_t n = *np;

	while (n && limit - q >= JSON_SEQ_MAX) {
		uint64_t w;
		size_t k;

		if (n >= 8 && limit - q >= 8 && (memcpy(&w, s, 8), json_plain8(w))) {
			memcpy(q, s, 8);
			q += 8;
			s += 8;
			n -= 8;
			continue;
		}
		if (json_plain[*s]) {
			*q++ = (char)*s++;
			n--;
			continue;
		}
		k = json_escape_one(s, n, &q);
		s += k;
		n -= k;
	}
	*sp = s;
	*np = n;
	return q;
}

/* One pass, written straight into the buffer.  When the buffer has room
 * for the worst case, in one run (the usual case: model names, ids,
 * hosts); otherwise a run while JSON_SEQ_MAX bytes are left, then a
 * flush. */
void tg_obuf_json_strn(struct tg_obuf *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	if (n < 256 && o->cap - o->n >= JSON_SEQ_MAX * n + 2) {
		char *q = o->b + o->n;

		*q++ = '"';
		q = json_escape_run(&s, &n, q, o->b + o->cap);
		*q++ = '"';
		o->n = (size_t)(q - o->b);
		return;
	}
	tg_obuf_char(o, '"');
	while (n) {
		if (o->cap - o->n < 8 * JSON_SEQ_MAX)
			tg_obuf_flush(o);
		o->n = (size_t)(json_escape_run(&s, &n, o->b + o->n, o->b + o->cap) - o->b);
	}
	tg_obuf_char(o, '"');
}

void tg_obuf_json_str(struct tg_obuf *o, const char *s)
{
	tg_obuf_json_strn(o, s, strlen(s));
}

void tg_obuf_json_strn_or_null(struct tg_obuf *o, const char *s, size_t n)
{
	if (n)
		tg_obuf_json_strn(o, s, n);
	else
		tg_obuf_put(o, "null", 4);
}

void tg_obuf_json_str_or_null(struct tg_obuf *o, const char *s)
{
	tg_obuf_json_strn_or_null(o, s, strlen(s));
}

/* ---- CSV ---- */

/* Spreadsheets run a cell that starts with one of these as a formula
 * (tab and CR too, as they may precede one). */
static int formula_lead(char c)
{
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* 1 when s holds a byte that makes a CSV field need quotes. */
static int csv_needs_quotes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return 1;
	return n && (s[0] == ' ' || s[n - 1] == ' ');
}

void tg_obuf_csv_fieldn(struct tg_obuf *o, const char *s, size_t n)
{
	int lead = n && formula_lead(s[0]);
	const char *q;

	if (!csv_needs_quotes(s, n)) {
		if (lead)
			tg_obuf_char(o, '\'');
		tg_obuf_put(o, s, n);
		return;
	}
	tg_obuf_char(o, '"');
	if (lead)
		tg_obuf_char(o, '\'');
	while ((q = memchr(s, '"', n)) != NULL) {
		size_t k = (size_t)(q - s + 1);

		tg_obuf_put(o, s, k);
		tg_obuf_char(o, '"');
		s += k;
		n -= k;
	}
	tg_obuf_put(o, s, n);
	tg_obuf_char(o, '"');
}

void tg_obuf_csv_field(struct tg_obuf *o, const char *s)
{
	tg_obuf_csv_fieldn(o, s, strlen(s));
}

/* ---- HTML ---- */

void tg_obuf_html_strn(struct tg_obuf *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	while (n) {
		size_t plain = 0;
		int k;

		/* The run of bytes that go as they are, copied at once. */
		while (plain < n && s[plain] >= 0x20 && s[plain] < 0x7f && s[plain] != '&' &&
		       s[plain] != '<' && s[plain] != '>' && s[plain] != '"' && s[plain] != '\'')
			plain++;
		tg_obuf_put(o, (const char *)s, plain);
		s += plain;
		n -= plain;
		if (!n)
			break;
		switch (*s) {
		case '&': tg_obuf_put(o, "&amp;", 5); break;
		case '<': tg_obuf_put(o, "&lt;", 4); break;
		case '>': tg_obuf_put(o, "&gt;", 4); break;
		case '"': tg_obuf_put(o, "&quot;", 6); break;
		case '\'': tg_obuf_put(o, "&#39;", 5); break;
		default:
			/* Valid UTF-8 goes as it is; a control character, DEL or
			 * a byte that is not UTF-8 becomes U+FFFD. */
			if (*s >= 0x80 && (k = tg_utf8_len(s, n)) > 0) {
				tg_obuf_put(o, (const char *)s, (size_t)k);
				s += k;
				n -= (size_t)k;
				continue;
			}
			tg_obuf_put(o, "\xef\xbf\xbd", 3);
		}
		s++;
		n--;
	}
}

void tg_obuf_html_str(struct tg_obuf *o, const char *s)
{
	tg_obuf_html_strn(o, s, strlen(s));
}

/* ---- numbers ---- */

/* The amounts a ledger holds (0 <= usd < 1e6) mostly have at most nine
 * decimals: those are written without printf, from the exact product
 * usd * 1e9 (its rounding error from fma) rounded to an integer n, and
 * only when n / 1e9 is usd itself: both are correctly rounded quotients of
 * the same rational, so the text reads back as exactly usd.  Anything else
 * returns -1 and tg_money_exact() writes it in full. */
static int cost_fast(double usd, char *buf)
{
	double p, e, whole, frac;
	uint64_t n;
	char *q;
	int k;

	if (!(usd >= 0 && usd < 1e6))
		return -1;
	p = usd * 1e9;
	e = fma(usd, 1e9, -p);
	whole = floor(p);
	frac = (p - whole) + e;
	if (fabs(frac - 0.5) < 1e-6)
		return -1;
	n = (uint64_t)whole + (frac > 0.5);
	if ((double)n / 1e9 != usd)
		return -1;
	q = buf + put_u64(buf, n / 1000000000);
	n %= 1000000000;
	if (n) {
		*q++ = '.';
		for (k = 8; k >= 0; k--)
			q[k] = (char)('0' + n % 10), n /= 10;
		q += 9;
		while (q[-1] == '0')
			q--;
	}
	*q = '\0';
	return (int)(q - buf);
}

void tg_obuf_cost(struct tg_obuf *o, double usd)
{
	char buf[64];
	int k = cost_fast(usd, buf);

	if (k < 0)
		k = tg_money_exact(usd, buf, sizeof buf);
	if (k < 0)
		tg_obuf_put(o, "null", 4);
	else
		tg_obuf_put(o, buf, (size_t)k);
}

void tg_obuf_count(struct tg_obuf *o, int64_t v, const char *null_text)
{
	if (v < 0)
		tg_obuf_str(o, null_text);
	else
		tg_obuf_int(o, v);
}

/* ---- the same on a FILE ---- */

#define SMALL_BUF 512

void tg_emit_cell(FILE *f, const char *s, int width, int right, int pad)
{
	char b[SMALL_BUF];
	struct tg_obuf o = { f, b, 0, sizeof b };

	tg_obuf_cell(&o, s, width, right, pad);
	tg_obuf_flush(&o);
}

/* The text writers below, each a tg_obuf_* one through a buffer on the
 * stack. */
static void emit_text(FILE *f, void (*put)(struct tg_obuf *o, const char *s), const char *s)
{
	char b[SMALL_BUF];
	struct tg_obuf o = { f, b, 0, sizeof b };

	put(&o, s);
	tg_obuf_flush(&o);
}

void tg_emit_json_str(FILE *f, const char *s)
{
	emit_text(f, tg_obuf_json_str, s);
}

void tg_emit_json_str_or_null(FILE *f, const char *s)
{
	emit_text(f, tg_obuf_json_str_or_null, s);
}

void tg_emit_csv_field(FILE *f, const char *s)
{
	emit_text(f, tg_obuf_csv_field, s);
}

void tg_emit_cost(FILE *f, double usd)
{
	char b[SMALL_BUF];
	struct tg_obuf o = { f, b, 0, sizeof b };

	tg_obuf_cost(&o, usd);
	tg_obuf_flush(&o);
}

void tg_emit_exact(FILE *f, double v)
{
	char buf[48];

	if (tg_decimal_shortest(v, buf, sizeof buf) < 0)
		fputs("null", f);
	else
		fputs(buf, f);
}

void tg_emit_limit(FILE *f, double usd)
{
	if (usd >= 0)
		tg_emit_exact(f, usd);
	else
		fputs("null", f);
}

void tg_emit_count(FILE *f, int64_t v, const char *null_text)
{
	char b[SMALL_BUF];
	struct tg_obuf o = { f, b, 0, sizeof b };

	tg_obuf_count(&o, v, null_text);
	tg_obuf_flush(&o);
}

/* ---- sums that leave calls out ---- */

void tg_sum_cell(char *buf, size_t n, const char *sum, int64_t unknown, int64_t calls)
{
	if (unknown == 0)
		snprintf(buf, n, "%s", sum);
	else if (unknown < 0)
		snprintf(buf, n, ">=%s (?)", sum);
	else if (unknown >= calls)
		snprintf(buf, n, "? (%lld?)", (long long)unknown);
	else
		snprintf(buf, n, ">=%s (%lld?)", sum, (long long)unknown);
}

void tg_obuf_html_money(struct tg_obuf *o, double usd)
{
	char text[TG_MONEY_MAX];

	if (tg_money_text(usd, text, sizeof text) < 0)
		snprintf(text, sizeof text, "$?");
	tg_obuf_html_str(o, text);
}
