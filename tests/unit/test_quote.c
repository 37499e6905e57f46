/* test_quote.c - the price of a call before it is made (tools/quote.h):
 * its arithmetic at a line's base and long-context rates, an output not
 * given, the input of a file by the shim's rule of thumb, a model without
 * a price at its provider's highest rates, and which provider a model
 * named alone is priced by.  Prices come from a price file of the test's
 * own, so every expected amount is worked out here. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "../../tools/quote.h"
#include "token_rule.h"

static char dir[64], file[128];
static struct tg_prices *t;

/* provider family input output cached w5m w1h reasoning long_threshold
 * long_input long_output long_cached long_w5m long_w1h date source */
static const char lines[] =
	"openai\tq-small\t2\t8\t0.5\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://example.com/p\n"
	"openai\tq-long\t1\t4\t-\t-\t-\t-\t1000\t3\t12\t-\t-\t-\t2026-01-02\thttps://example.com/p\n"
	"openai\tq-dear\t500\t900\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-03\thttps://example.com/p\n"
	"groq\tq-twice\t1\t1\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-04\thttps://example.com/p\n"
	"together\tq-twice\t2\t2\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-04\thttps://example.com/p\n"
	"vllm\tq-own\t0.1\t0.2\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-05\thttps://example.com/p\n";

static void setup(void)
{
	char err[256];
	FILE *f;

	tgt_tmpdir(dir, sizeof dir, "tg-quote");
	snprintf(file, sizeof file, "%s/prices.tsv", dir);
	cr_assert_not_null(f = fopen(file, "w"));
	fputs(lines, f);
	fclose(f);
	cr_assert_eq(tg_prices_load(&t, file, err, sizeof err), 0, "%s", err);
	cr_assert_eq(tg_prices_skipped(t), 0, "%s", tg_prices_skipped_line(t, 0));
}

static void teardown(void)
{
	tg_prices_free(t);
	tgt_rmtree(dir);
}

TestSuite(quote, .init = setup, .fini = teardown);

static int close_to(double a, double b)
{
	return fabs(a - b) <= 1e-15 + 1e-12 * fabs(b);
}

Test(quote, input_and_output_each_at_their_rate)
{
	struct tg_quote q;

	tg_quote_make(t, "openai", "q-small", 1000, -1, 500, &q);
	cr_assert_not_null(q.line);
	cr_assert_str_eq(q.line->family, "q-small");
	cr_assert(q.priced_at && !q.input_estimated);
	cr_assert_eq(q.input_tokens, 1000);
	cr_assert(close_to(q.input_usd, 1000 * 2.0 / 1e6), "%.17g", q.input_usd);
	cr_assert(close_to(q.output_usd, 500 * 8.0 / 1e6), "%.17g", q.output_usd);
	cr_assert(close_to(q.total_usd, 0.006), "%.17g", q.total_usd);
	/* The total is the shim's own cost of those counts. */
	struct tg_counts c;
	tg_counts_unknown(&c);
	c.input = 1000;
	c.output = 500;
	cr_assert_eq(q.total_usd, tg_price_cost(q.line, &c));
}

Test(quote, a_dated_id_is_priced_by_its_family)
{
	struct tg_quote q;

	tg_quote_make(t, "openai", "q-small-2026-01-01", 10, -1, 0, &q);
	cr_assert_not_null(q.line);
	cr_assert_str_eq(q.line->family, "q-small");
}

Test(quote, above_the_threshold_the_long_context_rates_apply)
{
	struct tg_quote q;

	tg_quote_make(t, "openai", "q-long", 1000, -1, 100, &q);
	cr_assert_eq(tg_price_rates_for(&q.at, q.input_tokens), &q.at.base);
	cr_assert(close_to(q.input_usd, 1000 * 1.0 / 1e6) && close_to(q.output_usd, 100 * 4.0 / 1e6));
	tg_quote_make(t, "openai", "q-long", 1001, -1, 100, &q);
	cr_assert_eq(tg_price_rates_for(&q.at, q.input_tokens), &q.at.above);
	cr_assert(close_to(q.input_usd, 1001 * 3.0 / 1e6), "%.17g", q.input_usd);
	cr_assert(close_to(q.output_usd, 100 * 12.0 / 1e6), "%.17g", q.output_usd);
}

Test(quote, without_output_tokens_the_total_is_the_input_alone)
{
	struct tg_quote q;

	tg_quote_make(t, "openai", "q-small", 1000, -1, -1, &q);
	cr_assert_eq(q.output_tokens, -1);
	cr_assert_eq(q.output_usd, 0);
	cr_assert(close_to(q.input_usd, 0.002));
	cr_assert_eq(q.total_usd, q.input_usd);
}

Test(quote, the_input_of_a_file_is_its_size_at_four_bytes_a_token)
{
	char path[160], buf[4001];
	struct tg_quote q;
	int64_t bytes;
	int fd;

	snprintf(path, sizeof path, "%s/body.json", dir);
	memset(buf, 'x', sizeof buf);
	cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	cr_assert_eq(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
	close(fd);
	cr_assert_geq(fd = open(path, O_RDONLY), 0);
	cr_assert_eq(tg_quote_read_size(fd, &bytes), 0);
	close(fd);
	cr_assert_eq(bytes, 4001);

	tg_quote_make(t, "openai", "q-small", 7, bytes, -1, &q);
	cr_assert(q.input_estimated);
	cr_assert_eq(q.input_bytes, 4001);
	cr_assert_eq(q.input_tokens, 1001);   /* rounded up */
	cr_assert_eq(q.input_tokens, tg_estimate_tokens(4001));
	cr_assert(close_to(q.input_usd, 1001 * 2.0 / 1e6));
}

Test(quote, a_pipe_is_read_to_its_end)
{
	int fds[2];
	int64_t bytes;
	char buf[100000];

	memset(buf, 'y', sizeof buf);
	cr_assert_eq(pipe(fds), 0);
	if (fork() == 0) {
		close(fds[0]);
		for (int i = 0; i < 3; i++)
			if (write(fds[1], buf, sizeof buf) != (ssize_t)sizeof buf)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	cr_assert_eq(tg_quote_read_size(fds[0], &bytes), 0);
	close(fds[0]);
	cr_assert_eq(bytes, 300000);
}

Test(quote, a_directory_is_an_error)
{
	int64_t bytes;
	int fd = open(dir, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_neq(tg_quote_read_size(fd, &bytes), 0);
	close(fd);
}

Test(quote, a_model_without_a_price_is_estimated_at_its_providers_highest_rates)
{
	struct tg_price ceiling;
	struct tg_quote q;

	cr_assert_eq(tg_price_ceiling(t, "openai", &ceiling), 0);
	cr_assert_geq(ceiling.base.input, 500);   /* the file's q-dear line at least */
	tg_quote_make(t, "openai", "no-such-model", 1000, -1, 100, &q);
	cr_assert_null(q.line);
	cr_assert(q.priced_at && !q.whole_table);
	cr_assert_eq(q.at.base.input, ceiling.base.input);
	cr_assert_eq(q.at.base.output, ceiling.base.output);
	cr_assert(close_to(q.input_usd, 1000 * ceiling.base.input / 1e6));
	cr_assert(close_to(q.output_usd, 100 * ceiling.base.output / 1e6));
}

Test(quote, a_provider_without_lines_is_estimated_at_the_whole_tables_highest)
{
	struct tg_price whole;
	struct tg_quote q;

	cr_assert_eq(tg_price_ceiling(t, NULL, &whole), 0);
	tg_quote_make(t, "mistral-like-nothing", "x", 10, -1, 10, &q);
	cr_assert_null(q.line);
	cr_assert_eq(q.at.base.input, whole.base.input);
	cr_assert(q.whole_table);
}

static int provider(const char *given, const char *model, char *out, size_t *n)
{
	const struct tg_price *found[4];

	return tg_quote_provider(t, given, model, out, TG_PROVIDER_MAX, found, 4, n);
}

Test(quote, a_model_alone_takes_the_provider_of_its_only_line)
{
	char out[TG_PROVIDER_MAX];
	size_t n;

	cr_assert_eq(provider(NULL, "q-small-2026-01-01", out, &n), TG_QUOTE_PROVIDER_OK);
	cr_assert_str_eq(out, "openai");
	cr_assert_eq(n, 1);
	cr_assert_eq(provider(NULL, "q-own", out, &n), TG_QUOTE_PROVIDER_OK);
	cr_assert_str_eq(out, "vllm");
}

Test(quote, a_model_several_providers_price_is_ambiguous)
{
	const struct tg_price *found[4];
	char out[TG_PROVIDER_MAX];
	size_t n;

	cr_assert_eq(tg_quote_provider(t, NULL, "q-twice", out, sizeof out, found, 4, &n),
	             TG_QUOTE_PROVIDER_AMBIGUOUS);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(found[0]->provider, "groq");
	cr_assert_str_eq(found[1]->provider, "together");
	cr_assert_eq(provider("together", "q-twice", out, &n), TG_QUOTE_PROVIDER_OK);
	cr_assert_str_eq(out, "together");
}

Test(quote, no_line_for_a_model_alone_and_unknown_providers)
{
	char out[TG_PROVIDER_MAX];
	size_t n;

	cr_assert_eq(provider(NULL, "no-such-model", out, &n), TG_QUOTE_PROVIDER_NONE);
	cr_assert_eq(provider("nosuch", "q-small", out, &n), TG_QUOTE_PROVIDER_UNKNOWN);
	/* the shim's names, any case, and a price file's own provider */
	cr_assert_eq(provider("DeepSeek", "anything", out, &n), TG_QUOTE_PROVIDER_OK);
	cr_assert_eq(provider("vllm", "anything", out, &n), TG_QUOTE_PROVIDER_OK);
	cr_assert_str_eq(out, "vllm");
}

Test(quote, a_vendor_id_finds_its_vendors_line_once)
{
	const struct tg_price *found[8];
	struct tg_prices *bundled;
	char err[256];

	cr_assert_eq(tg_prices_load(&bundled, "", err, sizeof err), 0, "%s", err);
	/* Found through every provider of the table (vendor/model), kept once. */
	cr_assert_eq(tg_price_find_any(bundled, "anthropic/claude-sonnet-4-5", found, 8), 1);
	cr_assert_str_eq(found[0]->provider, "anthropic");
	tg_prices_free(bundled);
}
