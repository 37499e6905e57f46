/* test_export.c - the export formats' pure parts: the Prometheus text
 * exposition syntax (tools/prom.c).  The unit binary links only shim/ and
 * ledger/, so the tools/ module is compiled in here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/prom.c"

/* What fn wrote to a memory stream, as a string the caller frees. */
#define CAPTURE(out, stmt) do { \
	size_t n_ = 0; \
	FILE *f = open_memstream(&(out), &n_); \
	cr_assert_not_null(f); \
	stmt; \
	fclose(f); \
} while (0)

Test(prom, label_value_escapes_backslash_quote_newline_only)
{
	char *s = NULL;

	CAPTURE(s, tg_prom_label(f, 1, "model", "a\\b\"c\nd\te=f,g}"));
	cr_assert_str_eq(s, "model=\"a\\\\b\\\"c\\nd\te=f,g}\"");
	free(s);
	CAPTURE(s, tg_prom_label(f, 0, "process", ""));
	cr_assert_str_eq(s, ",process=\"\"");
	free(s);
}

Test(prom, utf8_passes_unchanged)
{
	char *s = NULL;

	CAPTURE(s, tg_prom_label(f, 1, "tag_team", "r\xc3\xa9seau"));
	cr_assert_str_eq(s, "tag_team=\"r\xc3\xa9seau\"");
	free(s);
}

Test(prom, invalid_utf8_becomes_replacement_character)
{
	char *s = NULL;

	/* a lone continuation byte, a cut sequence, an overlong '/' */
	CAPTURE(s, tg_prom_label(f, 1, "model", "a\x80" "b\xe2\x82" "c\xc0\xaf"));
	cr_assert_str_eq(s, "model=\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c"
	                    "\xef\xbf\xbd\xef\xbf\xbd\"");
	free(s);
}

Test(prom, label_names)
{
	cr_assert(tg_prom_label_name_ok("team"));
	cr_assert(tg_prom_label_name_ok("_x9"));
	cr_assert(tg_prom_label_name_ok("Team_2"));
	cr_assert(!tg_prom_label_name_ok(""));
	cr_assert(!tg_prom_label_name_ok("__reserved"));
	cr_assert(!tg_prom_label_name_ok("9lives"));
	cr_assert(!tg_prom_label_name_ok("a-b"));
	cr_assert(!tg_prom_label_name_ok("a.b"));
	cr_assert(!tg_prom_label_name_ok("a=b"));
	cr_assert(!tg_prom_label_name_ok(NULL));
}

Test(prom, samples_and_family)
{
	char *s = NULL;

	CAPTURE(s, {
		tg_prom_family(f, "x_total", "counter", "Things.");
		tg_prom_sample_int(f, "x_total", "a=\"1\"", 42);
		tg_prom_sample_int(f, "x_total", "", 0);
		tg_prom_sample_double(f, "c_usd_total", "a=\"1\"", 0.1 + 0.2);
		tg_prom_sample_double(f, "c_usd_total", "", 2.5e-10);
		tg_prom_sample_double(f, "c_usd_total", "", 1.0 / 0.0);
	});
	cr_assert_str_eq(s, "# HELP x_total Things.\n# TYPE x_total counter\n"
	                    "x_total{a=\"1\"} 42\nx_total 0\n"
	                    "c_usd_total{a=\"1\"} 0.30000000000000004\n"
	                    "c_usd_total 2.5e-10\nc_usd_total NaN\n");
	free(s);
}

#include "../../tools/printed.c"

Test(seen, each_line_once_and_pruned_by_time)
{
	struct tg_printed s = { 0 };
	char line[32];

	for (int i = 0; i < 5000; i++) {
		int n = snprintf(line, sizeof line, "{\"ts\":%d}\n", i);

		cr_assert_eq(tg_printed_add(&s, tg_printed_hash(line, (size_t)n), i), 0, "%d", i);
	}
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(line, sizeof line, "{\"ts\":%d}\n", i);

		cr_assert_eq(tg_printed_add(&s, tg_printed_hash(line, (size_t)n), i), 1, "%d again", i);
	}
	tg_printed_prune(&s, 4000);
	cr_assert_eq(s.n, 1000);
	cr_assert_eq(tg_printed_add(&s, tg_printed_hash("{\"ts\":4500}\n", 12), 4500), 1);
	cr_assert_eq(tg_printed_add(&s, tg_printed_hash("{\"ts\":10}\n", 10), 10), 0, "forgotten");
	cr_assert_neq(tg_printed_hash("", 0), 0);
	tg_printed_free(&s);
}
