/* emit.c - escaping and number formatting for the report (see emit.h). */
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

void tg_emit_json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putc('"', f);
	while (*s) {
		int n = utf8_len(s);

		if (n == 0) {
			fputs("\xef\xbf\xbd", f);
			s++;
			continue;
		}
		if (n > 1) {
			fwrite(s, 1, (size_t)n, f);
			s += n;
			continue;
		}
		switch (*s) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			/* DEL is legal JSON but escaped anyway: it hides in terminals. */
			if (*s < 0x20 || *s == 0x7f)
				fprintf(f, "\\u%04x", *s);
			else
				putc(*s, f);
		}
		s++;
	}
	putc('"', f);
}

/* Spreadsheets run a cell that starts with one of these as a formula
 * (tab and CR too, as they may precede one). */
static int formula_lead(char c)
{
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

void tg_emit_json_str_or_null(FILE *f, const char *s)
{
	if (*s)
		tg_emit_json_str(f, s);
	else
		fputs("null", f);
}

void tg_emit_csv_field(FILE *f, const char *s)
{
	size_t len = strlen(s);
	const char *lead = formula_lead(s[0]) ? "'" : "";

	if (!strpbrk(s, ",\"\r\n") && (!len || (s[0] != ' ' && s[len - 1] != ' '))) {
		fputs(lead, f);
		fputs(s, f);
		return;
	}
	putc('"', f);
	fputs(lead, f);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

void tg_emit_cost(FILE *f, double usd)
{
	char buf[64];

	if (tg_decimal_plain(usd, 9, buf, sizeof buf) < 0)
		fputs("null", f);
	else
		fputs(buf, f);
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
	if (v < 0)
		fputs(null_text, f);
	else
		fprintf(f, "%lld", (long long)v);
}
