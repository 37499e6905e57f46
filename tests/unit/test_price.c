/* test_price.c - the bundled price table, model id matching, costing and
 * override files. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <locale.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "price.h"

static struct tg_prices *load(void)
{
	struct tg_prices *t;
	char err[256];

	cr_assert_eq(tg_prices_load(&t, "", err, sizeof err), 0, "%s", err);
	return t;
}

static void expect(const struct tg_prices *t, const char *provider, const char *model,
                   const char *want_provider, const char *want_family)
{
	const struct tg_price *p = tg_price_find(t, provider, model);

	if (!want_family) {
		cr_expect_null(p, "%s %s matched %s", provider, model, p ? p->family : "");
		return;
	}
	cr_expect_not_null(p, "%s %s: no price", provider, model);
	if (!p)
		return;
	cr_expect_str_eq(p->family, want_family, "%s %s", provider, model);
	cr_expect_str_eq(p->provider, want_provider, "%s %s", provider, model);
}

static int close_to(double a, double b)
{
	return fabs(a - b) < 1e-12 + 1e-9 * fabs(b);
}

static struct tg_counts counts(int64_t in, int64_t out)
{
	struct tg_counts c;

	tg_counts_unknown(&c);
	c.input = in;
	c.output = out;
	return c;
}

Test(price, bundled_table_loads_with_a_version)
{
	struct tg_prices *t = load();

	cr_assert_neq(tg_prices_version(t)[0], '\0');
	cr_assert_gt(tg_prices_count(t), 100);
	tg_prices_free(t);
}

Test(price, bundled_table_covers_every_provider)
{
	static const char *want[][2] = {
		{ "openai", "gpt-5" }, { "openai", "gpt-5-mini" }, { "openai", "gpt-5-nano" },
		{ "openai", "gpt-4.1" }, { "openai", "gpt-4.1-mini" }, { "openai", "gpt-4.1-nano" },
		{ "openai", "gpt-4o" }, { "openai", "gpt-4o-mini" }, { "openai", "o1" },
		{ "openai", "o3" }, { "openai", "o3-mini" }, { "openai", "o4-mini" },
		{ "openai", "text-embedding-3-small" }, { "openai", "text-embedding-3-large" },
		{ "openai", "gpt-3.5-turbo-instruct" },
		{ "anthropic", "claude-opus-4-1" }, { "anthropic", "claude-opus-4" },
		{ "anthropic", "claude-sonnet-4-5" }, { "anthropic", "claude-sonnet-4" },
		{ "anthropic", "claude-3-7-sonnet" }, { "anthropic", "claude-haiku-4-5" },
		{ "anthropic", "claude-3-5-haiku" }, { "anthropic", "claude-3-haiku" },
		{ "gemini", "gemini-2.5-pro" }, { "gemini", "gemini-2.5-flash" },
		{ "gemini", "gemini-2.5-flash-lite" }, { "gemini", "gemini-2.0-flash" },
		{ "gemini", "text-embedding-004" },
		{ "mistral", "mistral-large" }, { "mistral", "mistral-small" },
		{ "cohere", "command-a" }, { "cohere", "command-r" }, { "cohere", "command-r-plus" },
		{ "cohere", "embed-v4.0" },
		{ "groq", "llama-3.3-70b-versatile" }, { "groq", "llama-3.1-8b-instant" },
		{ "xai", "grok-4" }, { "xai", "grok-3" }, { "xai", "grok-3-mini" },
		{ "deepseek", "deepseek-chat" }, { "deepseek", "deepseek-reasoner" },
		{ "together", "meta-llama/llama-3.3-70b-instruct-turbo" },
		{ "fireworks", "llama-v3p1-70b-instruct" },
		{ "perplexity", "sonar" }, { "perplexity", "sonar-pro" },
	};
	struct tg_prices *t = load();

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_expect_not_null(tg_prices_exact(t, want[i][0], want[i][1]), "%s %s",
		                   want[i][0], want[i][1]);
	tg_prices_free(t);
}

Test(price, strips_dates_and_channels_to_find_the_family)
{
	struct tg_prices *t = load();

	expect(t, "openai", "gpt-4o-2024-08-06", "openai", "gpt-4o");
	expect(t, "openai", "gpt-4o-mini-2024-07-18", "openai", "gpt-4o-mini");
	expect(t, "openai", "gpt-4o-2024-05-13", "openai", "gpt-4o-2024-05-13");
	expect(t, "openai", "gpt-3.5-turbo-0125", "openai", "gpt-3.5-turbo");
	expect(t, "openai", "gpt-4-1106-preview", "openai", "gpt-4-1106-preview");
	expect(t, "openai", "o3-mini-2025-01-31", "openai", "o3-mini");
	expect(t, "openai", "GPT-5-Mini", "openai", "gpt-5-mini");
	expect(t, "azure", "gpt-4o-2024-11-20", "openai", "gpt-4o");
	expect(t, "anthropic", "claude-sonnet-4-5-20250929", "anthropic", "claude-sonnet-4-5");
	expect(t, "anthropic", "claude-3-5-haiku-latest", "anthropic", "claude-3-5-haiku");
	expect(t, "anthropic", "claude-opus-4-1-20250805", "anthropic", "claude-opus-4-1");
	expect(t, "vertex", "gemini-2.5-flash-preview-05-20", "gemini", "gemini-2.5-flash");
	expect(t, "gemini", "gemini-2.5-flash-preview-05-20", "gemini", "gemini-2.5-flash");
	expect(t, "gemini", "models/gemini-2.5-pro", "gemini", "gemini-2.5-pro");
	expect(t, "gemini", "gemini-1.5-pro-002", "gemini", "gemini-1.5-pro");
	expect(t, "gemini", "gemini-2.0-flash-001", "gemini", "gemini-2.0-flash");
	expect(t, "mistral", "mistral-large-2411", "mistral", "mistral-large");
	expect(t, "mistral", "mistral-large-latest", "mistral", "mistral-large");
	expect(t, "cohere", "command-r-plus-08-2024", "cohere", "command-r-plus");
	expect(t, "cohere", "command-a-03-2025", "cohere", "command-a");
	expect(t, "xai", "grok-4-0709", "xai", "grok-4");
	expect(t, "xai", "grok-3-mini-latest", "xai", "grok-3-mini");
	tg_prices_free(t);
}

Test(price, resolves_prefixed_ids_of_hosting_providers)
{
	struct tg_prices *t = load();

	expect(t, "bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic",
	       "claude-3-5-sonnet");
	expect(t, "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic",
	       "claude-sonnet-4-5");
	expect(t, "bedrock", "eu.anthropic.claude-3-7-sonnet-20250219-v1%3A0", "anthropic",
	       "claude-3-7-sonnet");
	expect(t, "bedrock", "meta.llama3-3-70b-instruct-v1:0", "bedrock",
	       "meta.llama3-3-70b-instruct");
	expect(t, "bedrock", "amazon.nova-pro-v1:0", "bedrock", "amazon.nova-pro");
	expect(t, "fireworks", "accounts/fireworks/models/llama-v3p1-70b-instruct", "fireworks",
	       "llama-v3p1-70b-instruct");
	expect(t, "openrouter", "openai/gpt-4o", "openai", "gpt-4o");
	expect(t, "openrouter", "anthropic/claude-3.5-sonnet", "anthropic", "claude-3-5-sonnet");
	expect(t, "openrouter", "anthropic/claude-sonnet-4.5:beta", "anthropic", "claude-sonnet-4-5");
	expect(t, "openrouter", "google/gemini-2.5-pro", "gemini", "gemini-2.5-pro");
	expect(t, "openrouter", "x-ai/grok-4", "xai", "grok-4");
	expect(t, "openrouter", "mistralai/mistral-large-2411", "mistral", "mistral-large");
	expect(t, "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "together",
	       "meta-llama/llama-3.3-70b-instruct-turbo");
	expect(t, "groq", "openai/gpt-oss-120b", "groq", "openai/gpt-oss-120b");
	expect(t, "anthropic", "claude-3-5-sonnet@20240620", "anthropic", "claude-3-5-sonnet");
	tg_prices_free(t);
}

Test(price, never_matches_a_neighbouring_family)
{
	struct tg_prices *t = load();

	expect(t, "openai", "gpt-4.5-x", NULL, NULL);
	expect(t, "openai", "gpt-4o-mini-x", NULL, NULL);
	expect(t, "openai", "gpt-4o-", NULL, NULL);
	expect(t, "openai", "gpt-5-turbo", NULL, NULL);
	expect(t, "anthropic", "claude-opus-4-9", NULL, NULL);
	expect(t, "anthropic", "claude-sonnet-4-5-mini", NULL, NULL);
	expect(t, "openai", "claude-sonnet-4-5", NULL, NULL);
	expect(t, "openai", "", NULL, NULL);
	expect(t, "openrouter", "openai/gpt-4o:free", NULL, NULL);
	expect(t, "nobody", "gpt-4o", NULL, NULL);
	cr_expect_str_eq(tg_price_find(t, "openai", "gpt-4o")->family, "gpt-4o");
	cr_expect_str_eq(tg_price_find(t, "openai", "gpt-4o-mini")->family, "gpt-4o-mini");
	tg_prices_free(t);
}

Test(price, costs_plain_input_and_output)
{
	struct tg_prices *t = load();
	const struct tg_price *p = tg_price_find(t, "openai", "gpt-4o");
	struct tg_counts c = counts(1000000, 100000);

	/* 1M in at 2.50 + 100k out at 10 */
	cr_assert(close_to(tg_price_cost(p, &c), 3.5));
	cr_assert_eq(tg_price_cost(NULL, &c), 0);
	tg_prices_free(t);
}

Test(price, costs_cache_reads_at_their_own_rate)
{
	struct tg_prices *t = load();
	const struct tg_price *p = tg_price_find(t, "openai", "gpt-4o");
	struct tg_counts c = counts(1000000, 0);

	c.cached_input = 400000;
	/* 600k at 2.50 + 400k at 1.25 */
	cr_assert(close_to(tg_price_cost(p, &c), 1.5 + 0.5));
	tg_prices_free(t);
}

Test(price, splits_anthropic_cache_writes_by_lifetime)
{
	struct tg_prices *t = load();
	const struct tg_price *p = tg_price_find(t, "anthropic", "claude-sonnet-4-5");
	struct tg_counts c = counts(100000, 1000);
	double expect_cost;

	c.cached_input = 20000;
	c.cache_creation = 30000;
	c.cache_creation_5m = 10000;
	c.cache_creation_1h = 20000;
	/* 50k plain at 3, 20k reads at 0.30, 10k at 3.75, 20k at 6, 1k out at 15 */
	expect_cost = (50000 * 3 + 20000 * 0.30 + 10000 * 3.75 + 20000 * 6.0 + 1000 * 15) / 1e6;
	cr_assert(close_to(tg_price_cost(p, &c), expect_cost), "%f", tg_price_cost(p, &c));

	c.cache_creation_5m = TG_COUNT_UNKNOWN;
	c.cache_creation_1h = TG_COUNT_UNKNOWN;
	expect_cost = (50000 * 3 + 20000 * 0.30 + 30000 * 3.75 + 1000 * 15) / 1e6;
	cr_assert(close_to(tg_price_cost(p, &c), expect_cost), "unsplit writes at the 5m rate");
	tg_prices_free(t);
}

Test(price, picks_the_long_context_tier_by_input_tokens)
{
	struct tg_prices *t = load();
	const struct tg_price *p = tg_price_find(t, "anthropic", "claude-sonnet-4-5");
	const struct tg_price *g = tg_price_find(t, "gemini", "gemini-2.5-pro");
	struct tg_counts at = counts(200000, 1000), above = counts(200001, 1000);

	cr_assert(close_to(tg_price_cost(p, &at), (200000 * 3 + 1000 * 15) / 1e6));
	cr_assert(close_to(tg_price_cost(p, &above), (200001 * 6 + 1000 * 22.5) / 1e6));
	above.cached_input = 100000;
	cr_assert(close_to(tg_price_cost(p, &above), (100001 * 6 + 100000 * 0.60 + 1000 * 22.5) / 1e6));
	cr_assert(close_to(tg_price_cost(g, &above), (100001 * 2.5 + 100000 * 0.25 + 1000 * 15) / 1e6));
	tg_prices_free(t);
}

Test(price, prices_reasoning_apart_only_when_the_table_does)
{
	struct tg_prices *t = load();
	const struct tg_price *dr = tg_price_find(t, "perplexity", "sonar-deep-research");
	const struct tg_price *o3 = tg_price_find(t, "openai", "o3");
	struct tg_counts c = counts(1000, 5000);

	c.reasoning = 4000;
	cr_assert(close_to(tg_price_cost(dr, &c), (1000 * 2 + 1000 * 8 + 4000 * 3.0) / 1e6));
	cr_assert(close_to(tg_price_cost(o3, &c), (1000 * 2 + 5000 * 8) / 1e6));
	tg_prices_free(t);
}

Test(price, lets_unknown_counts_contribute_nothing)
{
	struct tg_prices *t = load();
	const struct tg_price *p = tg_price_find(t, "openai", "gpt-4o");
	struct tg_counts c;

	tg_counts_unknown(&c);
	cr_assert_eq(tg_price_cost(p, &c), 0);
	c.output = 1000;
	cr_assert(close_to(tg_price_cost(p, &c), 0.01));
	tg_prices_free(t);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(price, override_file_replaces_and_extends_the_table)
{
	char path[] = "/tmp/tg-prices-XXXXXX", err[256];
	struct tg_prices *t;
	const struct tg_price *p;
	size_t before;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path,
	           "# local contract prices\n"
	           "openai\tgpt-4o\t1\t4\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://example.com/contract\n"
	           "\n"
	           "acme\tacme-1\t0.5\t1.5\t0.1\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://example.com/acme\r\n");
	t = load();
	before = tg_prices_count(t);
	tg_prices_free(t);

	cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), 0, "%s", err);
	cr_assert_eq(tg_prices_count(t), before + 1);
	p = tg_price_find(t, "openai", "gpt-4o-2024-08-06");
	cr_assert(close_to(p->base.input, 1));
	cr_assert(close_to(p->base.cached_input, 1), "unset cached price falls back to input");
	p = tg_price_find(t, "acme", "ACME-1-latest");
	cr_assert_not_null(p);
	cr_assert(close_to(p->base.reasoning, 1.5));
	tg_prices_free(t);

	setenv("TOKENGUARD_PRICES", path, 1);
	cr_assert_eq(tg_prices_load(&t, NULL, err, sizeof err), 0, "%s", err);
	cr_assert_null(tg_price_find(t, "acme", "acme-1"), "NULL means the bundled table only");
	tg_prices_free(t);
	cr_assert_eq(tg_prices_load(&t, "", err, sizeof err), 0, "%s", err);
	cr_assert_null(tg_price_find(t, "acme", "acme-1"), "\"\" means the bundled table only");
	tg_prices_free(t);
	unlink(path);
}

Test(price, skips_a_bad_line_naming_file_and_line_and_applies_the_rest)
{
	char path[] = "/tmp/tg-prices-XXXXXX", err[512], want[600];
	struct tg_prices *t;
	int fd = mkstemp(path);
	static const struct { const char *line, *msg; } bad[] = {
		{ "openai\tgpt-x\t1\t2\n", "4 columns, expected 16 (tab-separated)" },
		{ "openai\tgpt-x\tcheap\t2\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n",
		  "input: \"cheap\" is not a price" },
		{ "openai\tgpt-x\t-\t2\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n",
		  "input price missing" },
		{ "openai\tgpt-x\t1\t2\t-\t-\t-\t-\t-1\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n",
		  "long_threshold: \"-1\" is not a token count" },
		{ "openai\tgpt-x\t1\t2\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-1-1\thttps://x\n",
		  "date: \"2026-1-1\" is not YYYY-MM-DD" },
		{ "openai\tgpt-x\t1\t2\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\tsomewhere\n",
		  "source: \"somewhere\" is not a URL" },
	};
	static const char good_before[] =
		"openai\tgpt-4o\t1\t4\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n";
	static const char good_after[] =
		"acme\tacme-1\t0.5\t1.5\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n";

	cr_assert_geq(fd, 0);
	close(fd);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[1024];

		snprintf(text, sizeof text, "# ok\n%s%s%s", good_before, bad[i].line, good_after);
		write_file(path, text);
		cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), 0, "%s", err);
		cr_expect_eq(tg_prices_skipped(t), 1);
		snprintf(want, sizeof want, "%s:3: %s", path, bad[i].msg);
		cr_expect_str_eq(tg_prices_skipped_line(t, 0), want);
		cr_expect_null(tg_prices_skipped_line(t, 1));
		cr_expect_null(tg_price_find(t, "openai", "gpt-x"), "the bad line applies nothing");
		cr_expect(close_to(tg_price_find(t, "openai", "gpt-4o")->base.input, 1),
		          "the line before the bad one applies");
		cr_expect_not_null(tg_price_find(t, "acme", "acme-1"), "the line after it applies");
		tg_prices_free(t);
	}
	unlink(path);
	cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "No such file"));
}

Test(price, counts_every_bad_line_and_keeps_the_first_messages)
{
	char path[] = "/tmp/tg-prices-XXXXXX", err[256], want[300];
	struct tg_prices *t;
	FILE *f;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_not_null(f = fdopen(fd, "w"));
	for (int i = 0; i < TG_PRICES_BAD_KEPT + 3; i++)
		fprintf(f, "bad line %d\n", i);
	fprintf(f, "%0*d\n", 2000, 0);  /* too long */
	fputs("acme\tacme-1\t0.5\t1.5\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x", f);
	fclose(f);
	cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), 0, "%s", err);
	cr_expect_eq(tg_prices_skipped(t), TG_PRICES_BAD_KEPT + 4);
	snprintf(want, sizeof want, "%s:%d: 1 columns, expected 16 (tab-separated)", path,
	         TG_PRICES_BAD_KEPT);
	cr_expect_str_eq(tg_prices_skipped_line(t, TG_PRICES_BAD_KEPT - 1), want);
	cr_expect_null(tg_prices_skipped_line(t, TG_PRICES_BAD_KEPT));
	cr_expect_not_null(tg_price_find(t, "acme", "acme-1"), "the last line applies");
	tg_prices_free(t);
	unlink(path);
}

/* A locale with a decimal comma, or NULL when none is installed. */
static const char *comma_locale(void)
{
	static const char *const names[] = {
		"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "nl_NL.UTF-8", "de_DE",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (setlocale(LC_NUMERIC, names[i]) && !strcmp(localeconv()->decimal_point, ","))
			return names[i];
	return NULL;
}

Test(price, reads_decimal_points_inside_a_host_with_a_decimal_comma_locale)
{
	char path[] = "/tmp/tg-prices-XXXXXX", err[256];
	struct tg_prices *t;
	const struct tg_price *p;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path, "acme\tacme-1\t0.25\t1.5\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n");
	if (!comma_locale()) {
		unlink(path);
		cr_skip_test("no locale with a decimal comma is installed");
	}
	cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), 0, "%s", err);
	cr_assert_not_null(p = tg_price_find(t, "acme", "acme-1"));
	cr_assert(close_to(p->base.input, 0.25), "%g", p->base.input);
	cr_assert(close_to(p->base.output, 1.5), "%g", p->base.output);
	tg_prices_free(t);
	cr_assert_eq(tg_prices_load(&t, "", err, sizeof err), 0, "%s", err);
	cr_assert_not_null(p = tg_price_find(t, "openai", "gpt-5-mini"));
	cr_assert(close_to(p->base.input, 0.25), "the bundled table too: %g", p->base.input);
	tg_prices_free(t);
	unlink(path);
}

/* The bundled table is read lazily (price.c): every line must still read,
 * each to exactly the prices its text says. */
Test(price, bundled_table_reads_every_line_exactly)
{
	struct tg_prices *t = load();
	FILE *f = fopen("ledger/prices.tsv", "r");
	char line[1024];
	size_t lines = 0;

	cr_assert_not_null(f, "run from the repository root");
	while (fgets(line, sizeof line, f)) {
		char *prov, *fam, *input, *save = NULL;
		const struct tg_price *p;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		lines++;
		prov = strtok_r(line, "\t", &save);
		fam = strtok_r(NULL, "\t", &save);
		input = strtok_r(NULL, "\t", &save);
		cr_assert(prov && fam && input);
		for (char *c = prov; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		for (char *c = fam; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		p = tg_prices_exact(t, prov, fam);
		cr_assert_not_null(p, "%s %s", prov, fam);
		cr_expect_eq(p->base.input, strtod(input, NULL), "%s %s: %s", prov, fam, input);
	}
	fclose(f);
	cr_expect_eq(tg_prices_count(t), lines);
	tg_prices_free(t);
}

Test(price, override_lines_win_over_bundled_lines_read_later)
{
	char path[] = "/tmp/tg-prices-XXXXXX", err[256];
	struct tg_prices *t;
	const struct tg_price *p;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path, "OpenAI\tGPT-4o\t1\t4\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://example.com/c\n");
	cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), 0, "%s", err);
	p = tg_price_find(t, "openai", "gpt-4o");
	cr_assert_not_null(p);
	cr_expect(close_to(p->base.input, 1));
	cr_expect_not_null(tg_price_find(t, "openai", "gpt-4o-mini"), "the other lines still read");
	p = tg_price_find(t, "openai", "gpt-4o-2024-08-06");
	cr_expect(close_to(p->base.input, 1));
	tg_prices_free(t);
	unlink(path);
}

Test(price, reads_prices_as_strtod_does)
{
	static const char *const rates[] = {
		"0.1", "2.675", "0.000001", "123456789012345", "1.10", "0.30000000000001",
		"1234567890123456", "3e-1", "0.1234567890123456789", "00.5", "7.",
	};
	char path[] = "/tmp/tg-prices-XXXXXX", err[256], text[4096];
	size_t n = 0;
	struct tg_prices *t;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
		                      "acme\tm%zu\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://example.com/\n",
		                      i, rates[i]);
	write_file(path, text);
	cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), 0, "%s", err);
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		char fam[8];
		const struct tg_price *p;

		snprintf(fam, sizeof fam, "m%zu", i);
		cr_assert_not_null(p = tg_prices_exact(t, "acme", fam));
		cr_expect_eq(p->base.input, strtod(rates[i], NULL), "%s", rates[i]);
	}
	tg_prices_free(t);
	unlink(path);
}

struct lookups {
	const struct tg_prices *t;
	int found;
};

static void *look_up_many(void *arg)
{
	static const char *const asks[][2] = {
		{ "openai", "gpt-4o-mini-2024-07-18" }, { "anthropic", "claude-sonnet-4-5-20250929" },
		{ "gemini", "models/gemini-2.5-pro" }, { "mistral", "mistral-large-latest" },
		{ "bedrock", "us.anthropic.claude-3-5-sonnet-20240620-v1:0" }, { "groq", "llama-3.3-70b-versatile" },
	};
	struct lookups *l = arg;

	for (int round = 0; round < 50; round++)
		for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++)
			l->found += tg_price_find(l->t, asks[i][0], asks[i][1]) != NULL;
	return NULL;
}

Test(price, threads_may_share_a_table_read_lazily)
{
	struct tg_prices *t = load(), *ref = load();
	struct lookups l[4];
	pthread_t th[4];
	int want = 0;

	{
		struct lookups one = { ref, 0 };

		look_up_many(&one);
		want = one.found;
	}
	cr_assert_gt(want, 0);
	for (int i = 0; i < 4; i++) {
		l[i].t = t;
		l[i].found = 0;
		cr_assert_eq(pthread_create(&th[i], NULL, look_up_many, &l[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(l[i].found, want);
	}
	tg_prices_free(t);
	tg_prices_free(ref);
}

Test(price, finds_bundled_lines_after_many_unknown_providers)
{
	struct tg_prices *t = load(), *ref = load();
	char name[16];

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "vendor%d", i);
		cr_assert_null(tg_price_find(t, name, "model-1"));
	}
	expect(t, "anthropic", "claude-sonnet-4-5-20250929", "anthropic", "claude-sonnet-4-5");
	expect(t, "openai", "gpt-4o-mini", "openai", "gpt-4o-mini");
	cr_expect_eq(tg_prices_count(t), tg_prices_count(ref));
	tg_prices_free(t);
	tg_prices_free(ref);
}

Test(price, names_the_bundled_tables_date)
{
	struct tg_prices *t = load();
	const char *d = tg_prices_date(t);

	cr_assert_eq(strlen(d), 10, "\"%s\"", d);
	cr_expect(isdigit((unsigned char)d[0]) && d[4] == '-' && d[7] == '-', "\"%s\"", d);
	tg_prices_free(t);
}

Test(price, lists_each_line_once_the_users_first_and_marked)
{
	char path[] = "/tmp/tg-prices-XXXXXX", err[256];
	struct tg_prices *t;
	const struct tg_price *p;
	size_t cursor = 0, n = 0, users = 0, gpt4o = 0;
	int user = -1, fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path,
	           "openai\tgpt-4o\t1\t4\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n"
	           "acme\tacme-1\t0.5\t1.5\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n"
	           "openai\tgpt-4o\t2\t8\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-02\thttps://x\n");
	cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), 0, "%s", err);
	while ((p = tg_prices_next(t, &cursor, &user))) {
		if (n < 2)
			cr_expect_eq(user, 1, "line %zu: the file's lines come first", n);
		users += user == 1;
		if (!strcmp(p->provider, "openai") && !strcmp(p->family, "gpt-4o")) {
			gpt4o++;
			cr_expect(close_to(p->base.input, 2), "the later line of the file wins");
		}
		n++;
	}
	cr_expect_eq(n, tg_prices_count(t));
	cr_expect_eq(users, 2);
	cr_expect_eq(gpt4o, 1, "a replaced line is listed once");
	cr_expect_null(tg_prices_next(t, &cursor, &user), "the end stays the end");
	tg_prices_free(t);
	unlink(path);
}

/* The example of README's Prices section is a price file every line of
 * which applies: copied into a file, it loads with nothing skipped. */
Test(price, the_readme_example_loads_whole)
{
	char path[] = "/tmp/tg-prices-XXXXXX", line[1024], err[256];
	FILE *readme = fopen("README.md", "r"), *out;
	struct tg_prices *t;
	int fd = mkstemp(path), in_section = 0, in_block = 0, lines = 0;

	cr_assert_not_null(readme, "run from the repository root");
	cr_assert_not_null(out = fdopen(fd, "w"));
	while (fgets(line, sizeof line, readme)) {
		if (!strncmp(line, "#", 1) && !in_block)
			in_section = !strcmp(line, "### Prices\n");
		else if (in_section && !strncmp(line, "```", 3)) {
			if (in_block)
				break;
			in_block = 1;
		} else if (in_block) {
			fputs(line, out);
			lines += line[0] != '#';
		}
	}
	fclose(readme);
	fclose(out);
	cr_assert_geq(lines, 2, "README's Prices section has no example");
	cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), 0, "%s", err);
	cr_expect_eq(tg_prices_skipped(t), 0, "%s", tg_prices_skipped_line(t, 0));
	cr_expect_not_null(tg_price_find(t, "acme", "acme-large"));
	cr_expect(close_to(tg_price_find(t, "openai", "gpt-4o-2024-08-06")->base.input, 2.25));
	tg_prices_free(t);
	unlink(path);
}

/* The ceiling an unpriced model is estimated at (estimate.h): each rate the
 * highest of its provider's lines, long-context tier included; the whole
 * table's for a provider without lines.  A line of zeros is a price. */
Test(price, the_ceiling_is_the_highest_rate_of_the_provider)
{
	char path[] = "/tmp/tg-prices-XXXXXX", err[256];
	struct tg_prices *t;
	struct tg_price c, whole, openai;
	const struct tg_price *p;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path,
	           "acme\tacme-small\t1\t2\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n"
	           "acme\tacme-big\t3\t9\t0.3\t-\t-\t-\t1000\t6\t20\t-\t-\t-\t2026-01-01\thttps://x\n"
	           "acme\tacme-free\t0\t0\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2026-01-01\thttps://x\n");
	cr_assert_eq(tg_prices_load(&t, path, err, sizeof err), 0, "%s", err);
	unlink(path);
	cr_assert_eq(tg_price_ceiling(t, "ACME", &c), 0);
	cr_assert(close_to(c.base.input, 6), "the long-context input rate");
	cr_assert(close_to(c.base.output, 20), "the long-context output rate");
	cr_assert(close_to(c.base.cached_input, 1), "acme-small's cached rate (its input), acme-big's "
	          "being 0.3 in both tiers");
	cr_assert_eq(c.long_threshold, 0);
	cr_assert_str_eq(c.provider, "acme");
	p = tg_price_find(t, "acme", "acme-free");
	cr_assert(p && p->base.input == 0 && p->base.output == 0, "a zero price is a price");

	cr_assert_eq(tg_price_ceiling(t, "no-such-provider", &whole), 0);
	cr_assert_geq(whole.base.output, c.base.output, "the whole table's highest");
	cr_assert_geq(whole.base.output, tg_price_find(t, "openai", "gpt-4o")->base.output);
	cr_assert_eq(tg_price_ceiling(t, "azure", &c), 0);
	cr_assert_eq(tg_price_ceiling(t, "openai", &openai), 0);
	cr_assert(close_to(c.base.output, openai.base.output), "an alias has its canonical provider's ceiling");
	cr_assert_eq(tg_price_ceiling(NULL, "acme", &c), -1);
	tg_prices_free(t);
}
