/* test_text_chart.c - the drawing of --chart (tools/text_chart.c): exact lines for
 * given rows and widths, in UTF-8 block elements and in ASCII. */
#include <criterion/criterion.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/text_chart.h"

#define FULL "\xe2\x96\x88"   /* U+2588 */
#define HALF "\xe2\x96\x8c"   /* U+258C, four eighths */
#define EIGHTH "\xe2\x96\x8f" /* U+258F, one eighth */
#define SEVEN "\xe2\x96\x89"  /* U+2589, seven eighths */
#define ELLIPSIS "\xe2\x80\xa6"

static char out[1 << 16];

static const char *draw(const struct tg_text_chart_row *rows, size_t n, const struct tg_text_chart_row *head,
                        const struct tg_text_chart_row *total, int width, int utf8)
{
	struct tg_text_chart c = { rows, n, head, total, width, utf8 };
	FILE *f = fmemopen(out, sizeof out, "w");

	cr_assert_not_null(f);
	tg_text_chart_write(f, &c);
	cr_assert_eq(fclose(f), 0);
	return out;
}

static const char *wrap(const char *text, int width)
{
	FILE *f = fmemopen(out, sizeof out, "w");

	cr_assert_not_null(f);
	tg_text_chart_wrap(f, text, width);
	cr_assert_eq(fclose(f), 0);
	return out;
}

/* Display columns of a line: one per UTF-8 character. */
static size_t columns(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

Test(text_chart, draws_ascii_bars_in_proportion_with_the_amounts_right_aligned)
{
	struct tg_text_chart_row rows[] = {
		{ "a", "$1", 1.0 }, { "b", "$0.50", 0.5 }, { "c", "$0", 0 },
	};

	/* label 1, a space, bar 12, a space, amount 5: 20 columns */
	cr_assert_str_eq(draw(rows, 3, NULL, NULL, 20, 0),
	                 "a ############    $1\n"
	                 "b ######       $0.50\n"
	                 "c                 $0\n");
}

Test(text_chart, draws_eighths_of_a_column_in_utf8)
{
	struct tg_text_chart_row rows[] = {
		{ "x", "$8", 8 }, { "y", "$1", 1 }, { "z", "$3", 3 }, { "w", "$7.9", 7.9 },
	};

	/* bar 12 columns, 96 eighths: 1 -> 12 eighths, 3 -> 36, 7.9 -> 94.8 -> 95 */
	cr_assert_str_eq(draw(rows, 4, NULL, NULL, 19, 1),
	                 "x " FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL "   $8\n"
	                 "y " FULL HALF "             $1\n"
	                 "z " FULL FULL FULL FULL HALF "          $3\n"
	                 "w " FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL SEVEN " $7.9\n");
}

Test(text_chart, a_tiny_spend_gets_the_smallest_bar_and_none_gets_an_empty_one)
{
	struct tg_text_chart_row rows[] = {
		{ "big", "$1,000", 1000 }, { "tiny", "$0.00001", 1e-5 }, { "none", "$0.00", 0 },
		{ "neg", "$?", -1 }, { "nan", "$?", NAN },
	};
	const char *s = draw(rows, 5, NULL, NULL, 40, 1);

	/* label 4, bar 26, amount 8 */
	cr_assert_str_eq(s,
	                 "big  " FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL
	                 FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL
	                 "   $1,000\n"
	                 "tiny " EIGHTH "                          $0.00001\n"
	                 "none                               $0.00\n"
	                 "neg                                   $?\n"
	                 "nan                                   $?\n");
	s = draw(rows, 5, NULL, NULL, 40, 0);
	cr_assert_str_eq(s,
	                 "big  ##########################   $1,000\n"
	                 "tiny #                          $0.00001\n"
	                 "none                               $0.00\n"
	                 "neg                                   $?\n"
	                 "nan                                   $?\n");
}

Test(text_chart, only_zero_values_draw_no_bar_at_all)
{
	struct tg_text_chart_row rows[] = { { "a", "$0.00", 0 }, { "b", "? (2?)", 0 } };

	cr_assert_str_eq(draw(rows, 2, NULL, NULL, 24, 0),
	                 "a                  $0.00\n"
	                 "b                 ? (2?)\n");
}

Test(text_chart, head_and_total_lines_have_no_bar_and_share_the_columns)
{
	struct tg_text_chart_row head = { "DAY", "COST (USD)", 0 };
	struct tg_text_chart_row total = { "TOTAL", "~$3.00", 99 };
	struct tg_text_chart_row rows[] = {
		{ "2026-11-20", "$1.00", 1 }, { "2026-11-21", "~$2.00", 2 },
	};

	/* label 10, bar 18, amount 10; the total's 99 is no bar and no scale */
	cr_assert_str_eq(draw(rows, 2, &head, &total, 40, 0),
	                 "DAY                           COST (USD)\n"
	                 "2026-11-20 #########               $1.00\n"
	                 "2026-11-21 ##################     ~$2.00\n"
	                 "TOTAL                             ~$3.00\n");
}

Test(text_chart, cuts_long_labels_with_an_ellipsis_keeping_the_amount_whole)
{
	struct tg_text_chart_row rows[] = {
		{ "claude-sonnet-4-5-20250929-very-long", "$1.00", 1 }, { "gpt-4.1", "$0.50", 0.5 },
	};

	/* room 23: bar 10, label 13 */
	cr_assert_str_eq(draw(rows, 2, NULL, NULL, 30, 1),
	                 "claude-sonne" ELLIPSIS " " FULL FULL FULL FULL FULL FULL FULL FULL FULL FULL
	                 " $1.00\n"
	                 "gpt-4.1       " FULL FULL FULL FULL FULL "      $0.50\n");
	cr_assert_str_eq(draw(rows, 2, NULL, NULL, 30, 0),
	                 "claude-son... ########## $1.00\n"
	                 "gpt-4.1       #####      $0.50\n");
}

Test(text_chart, narrow_widths_drop_the_bar_then_cut_the_amount_marked)
{
	struct tg_text_chart_row rows[] = {
		{ "2026-11-26", ">=$0.0123 (1?) + ~$0.002", 1 }, { "2026-11-25", "$0.05", 2 },
	};

	/* No room for a bar: label, a space, amount. */
	cr_assert_str_eq(draw(rows, 2, NULL, NULL, 32, 0),
	                 "2026... >=$0.0123 (1?) + ~$0.002\n"
	                 "2026...                    $0.05\n");
	/* Too narrow even for that: six columns of label, the amount cut. */
	cr_assert_str_eq(draw(rows, 2, NULL, NULL, 20, 1),
	                 "2026-" ELLIPSIS " >=$0.0123 (1" ELLIPSIS "\n"
	                 "2026-" ELLIPSIS "         $0.05\n");
}

/* Every width from 20 to 200: no line is wider, a bar line is exactly the
 * width, and the largest value fills its bar. */
Test(text_chart, every_width_from_20_to_200_fits_and_the_largest_fills_the_bar)
{
	struct tg_text_chart_row head = { "PROVIDER / MODEL", "COST (USD)", 0 };
	struct tg_text_chart_row total = { "TOTAL", ">=$12.3457 (3?) + ~$0.01", 0 };
	struct tg_text_chart_row rows[] = {
		{ "openai / gpt-4.1-2025-04-14", "$10.00", 10 },
		{ "anthropic / claude-sonnet-4-5-20250929", "$2.3457", 2.3457 },
		{ "acme / mystery", "? (3?) + ~$0.01", 0.01 },
		{ "blocked / gpt-4.1", "$0.00", 0 },
	};

	for (int utf8 = 0; utf8 <= 1; utf8++)
		for (int w = 20; w <= 200; w++) {
			const char *s = draw(rows, 4, &head, &total, w, utf8), *p = s;
			int lines = 0;

			while (*p) {
				size_t len = strcspn(p, "\n");

				cr_assert_leq(columns(p, len), (size_t)w, "width %d utf8 %d: %.*s", w, utf8,
				              (int)len, p);
				if (w >= 40)
					cr_assert_eq(columns(p, len), (size_t)w, "width %d: %.*s", w, (int)len, p);
				cr_assert_eq(p[len], '\n');
				p += len + 1;
				lines++;
			}
			cr_assert_eq(lines, 6);
			if (w >= 40) {
				/* amount 24, seps 2: room w - 26 shared by label and bar */
				int room = w - 26, label = 38, bar = room >= label + 10 ? room - label
				           : room >= 20 ? 10 : room - 10;
				const char *first = strchr(s, '\n') + 1;

				cr_assert_eq(count(first, utf8 ? FULL : "#") -
				             count(strchr(first, '\n'), utf8 ? FULL : "#"), (size_t)bar,
				             "width %d", w);
			}
		}
}

Test(text_chart, nothing_for_no_rows)
{
	cr_assert_str_eq(draw(NULL, 0, NULL, NULL, 80, 1), "");
}

Test(text_chart, wraps_text_at_spaces_with_an_indent)
{
	cr_assert_str_eq(wrap("note: one two three four five six seven", 20),
	                 "note: one two three\n  four five six\n  seven\n");
	cr_assert_str_eq(wrap("first line\nsecond\n", 40), "first line\nsecond\n");
	cr_assert_str_eq(wrap("a verylongwordthatdoesnotfit b", 12),
	                 "a\n  verylongwo\n  rdthatdoes\n  notfit b\n");
	cr_assert_str_eq(wrap("short", 80), "short\n");
}

Test(text_chart, takes_utf8_from_the_locale_and_puts_the_program_locale_back)
{
	const char *before;

	before = setlocale(LC_CTYPE, NULL);
	cr_assert_str_eq(before, "C");
	cr_assert_eq(setenv("LC_ALL", "C.UTF-8", 1), 0);
	cr_assert_eq(tg_text_chart_utf8(), 1);
	cr_assert_str_eq(setlocale(LC_CTYPE, NULL), "C", "LC_CTYPE put back");
	cr_assert_str_eq(setlocale(LC_NUMERIC, NULL), "C", "LC_NUMERIC never set");
	cr_assert_eq(setenv("LC_ALL", "C", 1), 0);
	cr_assert_eq(tg_text_chart_utf8(), 0);
	cr_assert_eq(setenv("LC_ALL", "POSIX", 1), 0);
	cr_assert_eq(tg_text_chart_utf8(), 0);
}
