/* test_digits.c - the one bounded reader of decimal digits (digits.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "digits.h"

Test(digits, reads_the_leading_digits_and_says_how_many)
{
	uint64_t v = 7;

	cr_assert_eq(tg_digits("1234x", 5, 9999, &v), 4);
	cr_assert_eq(v, 1234);
	cr_assert_eq(tg_digits("x1", 2, 9999, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(tg_digits("12", 1, 9999, &v), 1, "n bounds the read");
	cr_assert_eq(v, 1);
}

Test(digits, the_bound_is_inclusive_and_nothing_overflows)
{
	uint64_t v = 7;

	cr_assert_eq(tg_digits("999", 3, 999, &v), 3);
	cr_assert_eq(v, 999);
	v = 7;
	cr_assert_eq(tg_digits("1000", 4, 999, &v), -1);
	cr_assert_eq(v, 7, "unchanged when over");
	cr_assert_eq(tg_digits("18446744073709551615", 20, UINT64_MAX, &v), 20);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(tg_digits("18446744073709551616", 20, UINT64_MAX, &v), -1);
	cr_assert_eq(tg_digits("99999999999999999999999", 23, UINT64_MAX, &v), -1);
	cr_assert_eq(tg_digits("999999999999999999", 18, TG_DIGITS_18, &v), 18);
	cr_assert_eq(tg_digits("1000000000000000000", 19, TG_DIGITS_18, &v), -1);
}

Test(digits, all_wants_at_least_one_digit_and_nothing_else)
{
	uint64_t v = 7;

	cr_assert_eq(tg_digits_all("42", 2, 100, &v), 1);
	cr_assert_eq(v, 42);
	cr_assert_eq(tg_digits_all("", 0, 100, &v), 0);
	cr_assert_eq(tg_digits_all("4 2", 3, 100, &v), 0);
	cr_assert_eq(tg_digits_all("-1", 2, 100, &v), 0);
	cr_assert_eq(tg_digits_all("101", 3, 100, &v), 0);
	cr_assert_eq(v, 42);
}
