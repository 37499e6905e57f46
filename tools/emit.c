/* emit.c - escaping and number formatting for the report (see emit.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "decimal.h"
#include "emit.h"

int tg_emit_format(const char *name)
{
	static const char *names[] = { "table", "json", "jsonl", "csv" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
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

/* u in decimal at buf (20 bytes at most, no NUL); returns the length. */
static size_t put_u64(char *buf, uint64_t u)
{
	char tmp[20], *p = tmp + sizeof tmp;
	size_t n;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	n = (size_t)(tmp + sizeof tmp - p);
	memcpy(buf, p, n);
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

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one
 * (overlong forms, surrogates and values past U+10FFFF included). */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Bytes a JSON string takes as they are: printable ASCII but the quote
 * and the backslash.  DEL is legal JSON but escaped anyway: it hides in
 * terminals. */
static int json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* The longest text one byte or UTF-8 sequence of the input becomes. */
#define JSON_SEQ_MAX 6

/* One pass, written straight into the buffer: a byte or sequence at a
 * time while JSON_SEQ_MAX bytes are left, then a flush. */
void tg_obuf_json_str(struct tg_obuf *o, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;

	tg_obuf_char(o, '"');
	while (*s) {
		char *q, *end;

		if (o->cap - o->n < 8 * JSON_SEQ_MAX)
			tg_obuf_flush(o);
		q = o->b + o->n;
		end = o->b + o->cap - JSON_SEQ_MAX;
		while (*s && q <= end) {
			unsigned char c = *s;
			int n;

			if (json_plain(c)) {
				*q++ = (char)c;
				s++;
				continue;
			}
			if (c >= 0x80) {
				if ((n = utf8_len(s)) == 0) {
					memcpy(q, "\xef\xbf\xbd", 3);
					q += 3;
					s++;
				} else {
					memcpy(q, s, (size_t)n);
					q += n;
					s += n;
				}
				continue;
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
			s++;
		}
		o->n = (size_t)(q - o->b);
	}
	tg_obuf_char(o, '"');
}

void tg_obuf_json_str_or_null(struct tg_obuf *o, const char *s)
{
	if (*s)
		tg_obuf_json_str(o, s);
	else
		tg_obuf_put(o, "null", 4);
}

/* ---- CSV ---- */

/* Spreadsheets run a cell that starts with one of these as a formula
 * (tab and CR too, as they may precede one). */
static int formula_lead(char c)
{
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

void tg_obuf_csv_field(struct tg_obuf *o, const char *s)
{
	size_t len = strlen(s);
	int lead = formula_lead(s[0]);

	if (!strpbrk(s, ",\"\r\n") && (!len || (s[0] != ' ' && s[len - 1] != ' '))) {
		if (lead)
			tg_obuf_char(o, '\'');
		tg_obuf_put(o, s, len);
		return;
	}
	tg_obuf_char(o, '"');
	if (lead)
		tg_obuf_char(o, '\'');
	for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1)
		tg_obuf_put(o, s, (size_t)(q - s + 1)), tg_obuf_char(o, '"');
	tg_obuf_str(o, s);
	tg_obuf_char(o, '"');
}

/* ---- numbers ---- */

/* tg_decimal_plain(usd, 9) without printf for the amounts a ledger holds
 * (0 <= usd < 1e6): the exact product usd * 1e9 (its rounding error from
 * fma) rounded to an integer, unless it lies so near a half that the
 * rounding printf does could differ; then -1, and printf decides.  Both
 * agree digit for digit (test_report.c compares them). */
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
		k = tg_decimal_plain(usd, 9, buf, sizeof buf);
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

void tg_emit_json_str(FILE *f, const char *s)
{
	char b[SMALL_BUF];
	struct tg_obuf o = { f, b, 0, sizeof b };

	tg_obuf_json_str(&o, s);
	tg_obuf_flush(&o);
}

void tg_emit_json_str_or_null(FILE *f, const char *s)
{
	char b[SMALL_BUF];
	struct tg_obuf o = { f, b, 0, sizeof b };

	tg_obuf_json_str_or_null(&o, s);
	tg_obuf_flush(&o);
}

void tg_emit_csv_field(FILE *f, const char *s)
{
	char b[SMALL_BUF];
	struct tg_obuf o = { f, b, 0, sizeof b };

	tg_obuf_csv_field(&o, s);
	tg_obuf_flush(&o);
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

void tg_emit_count(FILE *f, int64_t v, const char *null_text)
{
	char b[SMALL_BUF];
	struct tg_obuf o = { f, b, 0, sizeof b };

	tg_obuf_count(&o, v, null_text);
	tg_obuf_flush(&o);
}
