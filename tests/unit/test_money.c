/* test_money.c - the one money formatter (money.h): amounts for people
 * and for machines. */
#include <criterion/criterion.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "decimal.h"
#include "money.h"

static const char *text(double usd)
{
	static char buf[TG_MONEY_MAX];

	cr_assert_geq(tg_money_text(usd, buf, sizeof buf), 0, "%.17g", usd);
	return buf;
}

struct shown {
	double usd;
	const char *text;
};

static void all_shown(const struct shown *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(text(s[i].usd), s[i].text, "%.17g", s[i].usd);
}

Test(money, shows_four_decimals_from_a_cent_and_at_least_two)
{
	static const struct shown s[] = {
		{ 0.0123, "$0.0123" }, { 0.012345, "$0.0123" }, { 5, "$5.00" },
		{ 0.5, "$0.50" }, { 0.0423, "$0.0423" }, { 0, "$0.00" },
	};

	all_shown(s, sizeof s / sizeof s[0]);
}

Test(money, never_shows_a_sub_cent_amount_as_zero)
{
	static const struct shown s[] = {
		{ 0.00000022, "$0.00000022" }, { 0.005, "$0.005" }, { 0.000123456, "$0.000123" },
		{ 1e-12, "$0.000000000001" }, { 0.0099999, "$0.01" }, { 0.001, "$0.001" },
	};

	all_shown(s, sizeof s / sizeof s[0]);
}

Test(money, separates_thousands_and_signs_negatives)
{
	static const struct shown s[] = {
		{ 1234.5678, "$1,234.5678" }, { 1234567.891, "$1,234,567.891" },
		{ 999.99, "$999.99" }, { 1000, "$1,000.00" }, { -0.5, "-$0.50" },
		{ -0.0, "$0.00" }, { INFINITY, "$?" }, { 1e16, "$1e+16" },
	};

	all_shown(s, sizeof s / sizeof s[0]);
}

Test(money, is_the_same_under_a_decimal_comma_locale)
{
	if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8"))
		cr_skip_test("no decimal-comma locale installed");
	cr_assert_str_eq(text(1234.5), "$1,234.50");
	setlocale(LC_NUMERIC, "C");
}

Test(money, writes_machines_the_exact_amount)
{
	char buf[48];
	double back;
	const double v[] = { 0.00000022, 0.0036999999999999997, 1e-12, 0.1, 123456.789, 0 };

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		cr_assert_geq(tg_money_exact(v[i], buf, sizeof buf), 0);
		cr_assert_eq(tg_decimal_parse(buf, &back), 0, "%s", buf);
		cr_assert_eq(back, v[i], "%s reads back as %.17g, not %.17g", buf, back, v[i]);
	}
	tg_money_exact(-0.0, buf, sizeof buf);
	cr_assert_str_eq(buf, "0");
	cr_assert_eq(tg_money_exact(NAN, buf, sizeof buf), -1);
}
