/* fuzz_price.c - libFuzzer target for the price-table parser.
 *
 * The input is a TOKENGUARD_PRICES file: written to a scratch file and
 * loaded over the built-in table, as the shim and the report load it.
 * When it loads, every model the built-in names and a few the file may
 * name are looked up and costed: costs must be finite and not negative.
 * The seed corpus holds the built-in table and lines of its format.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "price.h"

static char path[64];

static void scratch(void)
{
	static char dir[] = "/tmp/tg-fuzz-price.XXXXXX";

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/prices.tsv", dir);
}

static void cleanup(void)
{
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const asks[][2] = {
		{ "openai", "gpt-4o" }, { "openai", "gpt-4o-2024-08-06" }, { "anthropic", "claude-sonnet-4-5" },
		{ "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0" }, { "gemini", "gemini-2.5-pro" },
		{ "x", "x" }, { "acme", "model-a" }, { "", "" },
	};
	struct tg_counts c = { 300000, 2000, 1000, 500, 200, 300, 100 };
	struct tg_prices *t;
	char err[256];
	FILE *f;

	if (!path[0]) {
		scratch();
		atexit(cleanup);
	}
	if (!(f = fopen(path, "w")) || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if (tg_prices_load(&t, path, err, sizeof err) != 0) {
		if (!memchr(err, '\0', sizeof err))
			abort();
		return 0;
	}
	if (!tg_prices_version(t) || tg_prices_count(t) == 0)
		abort();
	for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
		const struct tg_price *p = tg_price_find(t, asks[i][0], asks[i][1]);

		if (p) {
			double cost = tg_price_cost(p, &c);

			if (!isfinite(cost) || cost < 0)
				abort();
		}
	}
	tg_prices_free(t);
	return 0;
}
