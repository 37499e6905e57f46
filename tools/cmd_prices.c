/* cmd_prices.c - `tokenguard-report prices [MODEL]`: the price table the
 * shim uses (bundled lines and the user's file, marked), or what one model
 * id matches and each of its prices; both with the table's edition and
 * age, and a warning when it is too old to trust without a look. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "price.h"
#include "report.h"

/* A rate without trailing zeros: "0.075", "2.5", "10". */
static const char *rate(double v, char *buf, size_t n)
{
	size_t len;

	snprintf(buf, n, "%.6f", v);
	len = strlen(buf);
	while (len && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (len && buf[len - 1] == '.')
		buf[--len] = '\0';
	return buf;
}

long tg_prices_age_days(const char *date, int64_t now_us)
{
	struct tm tm = { 0 };
	int y, m, d;

	if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (long)((now_us / 1000000 - (int64_t)timegm(&tm)) / 86400);
}

void tg_report_price_edition(const struct tg_report *rep, const struct tg_prices *t)
{
	const char *date = tg_prices_date(t), *file = tg_report_prices_file();
	long age = tg_prices_age_days(date, rep->now_us);

	fprintf(rep->out, "price table %s, dated %s", *tg_prices_version(t) ? tg_prices_version(t) :
	        "(no version)", *date ? date : "(no date)");
	if (age >= 0)
		fprintf(rep->out, " (%ld day%s old)", age, age == 1 ? "" : "s");
	fprintf(rep->out, "; USD per million tokens\n");
	if (file)
		fprintf(rep->out, "user price file: %s (lines marked user)\n", file);
	if (age < 0)
		fprintf(rep->err, "tokenguard-report: warning: the price table has no date: its "
		        "prices may be out of date\n");
	else if (age > TG_PRICES_STALE_DAYS)
		fprintf(rep->err, "tokenguard-report: warning: the price table is %ld days old "
		        "(more than %d): prices may have changed since %s; check the ones you use "
		        "against their sources and put what changed in a price file (README, "
		        "Prices)\n", age, TG_PRICES_STALE_DAYS, date);
}

static void list(const struct tg_report *rep, const struct tg_prices *t)
{
	const struct tg_price *p;
	size_t cursor = 0;
	int user;

	int pw = 10, fw = 36;   /* the narrowest; a longer provider or family widens them */

	while ((p = tg_prices_next(t, &cursor, &user))) {
		if ((int)strlen(p->provider) > pw)
			pw = (int)strlen(p->provider);
		if ((int)strlen(p->family) > fw)
			fw = (int)strlen(p->family);
	}
	cursor = 0;
	fprintf(rep->out, "%-*s %-*s %9s %9s %9s %9s %9s %9s %9s %-10s %s\n", pw, "PROVIDER", fw,
	        "FAMILY", "INPUT", "OUTPUT", "CACHED", "WRITE_5M", "WRITE_1H", "REASONING",
	        "LONG_OVER", "DATE", "FROM");
	while ((p = tg_prices_next(t, &cursor, &user))) {
		char b[6][32], th[24];

		if (rep->filter.provider && strcasecmp(rep->filter.provider, p->provider))
			continue;
		snprintf(th, sizeof th, "%lld", (long long)p->long_threshold);
		fprintf(rep->out, "%-*s %-*s %9s %9s %9s %9s %9s %9s %9s %-10s %s\n", pw, p->provider,
		        fw, p->family, rate(p->base.input, b[0], 32), rate(p->base.output, b[1], 32),
		        rate(p->base.cached_input, b[2], 32), rate(p->base.cache_write_5m, b[3], 32),
		        rate(p->base.cache_write_1h, b[4], 32), rate(p->base.reasoning, b[5], 32),
		        p->long_threshold ? th : "-", p->date, user ? "user" : "built-in");
	}
}

static void rates(FILE *f, const struct tg_rates *r, int with_reasoning)
{
	static const char *names[] = { "input", "output", "cached_input", "cache_write_5m",
	                               "cache_write_1h", "reasoning" };
	const double v[] = { r->input, r->output, r->cached_input, r->cache_write_5m,
	                     r->cache_write_1h, r->reasoning };
	char b[32];

	for (int i = 0; i < 5 + with_reasoning; i++)
		fprintf(f, "  %-16s %s\n", names[i], rate(v[i], b, sizeof b));
}

static void show(const struct tg_report *rep, const struct tg_prices *t, const char *model,
                 const struct tg_price *p)
{
	fprintf(rep->out, "\n%s (%s): family %s, %s line, effective %s\n", model, p->provider,
	        p->family, tg_prices_from_file(t, p) ? "user" : "built-in", p->date);
	rates(rep->out, &p->base, 1);
	if (p->long_threshold) {
		fprintf(rep->out, "  above %lld input tokens:\n", (long long)p->long_threshold);
		rates(rep->out, &p->above, 0);
	}
}

/* Every line of the table that prices model (or only --provider's). */
static int lookup(const struct tg_report *rep, const struct tg_prices *t, const char *model)
{
	const struct tg_price *p, *lines[64];
	size_t n;

	if (rep->filter.provider) {
		if ((p = tg_price_find(t, rep->filter.provider, model))) {
			show(rep, t, model, p);
			return 0;
		}
	} else if ((n = tg_price_find_any(t, model, lines, sizeof lines / sizeof lines[0]))) {
		for (size_t i = 0; i < n && i < sizeof lines / sizeof lines[0]; i++)
			show(rep, t, model, lines[i]);
		return 0;
	}
	fprintf(rep->err, "tokenguard-report: no price for \"%s\"%s%s; its calls are recorded "
	        "unpriced (add it to a price file, see README, Prices)\n", model,
	        rep->filter.provider ? " of provider " : "",
	        rep->filter.provider ? rep->filter.provider : "");
	return 1;
}

int tg_cmd_prices(const struct tg_report *rep, struct tg_ledger *l)
{
	struct tg_prices *t;
	int rc = 0;

	if (rep->filter.ntags || rep->filter.model || rep->filter.process)
		return tg_report_fail(rep, "prices takes only --provider; drop the other filters");
	if (rep->nargs > 1)
		return tg_report_fail(rep, "prices takes one model id at most, not \"%s\"",
		                      rep->args[1]);
	if (tg_report_load_prices(rep, &t, "the table"))
		return TG_EXIT_FAIL;
	tg_report_price_edition(rep, t);
	if (rep->nargs)
		rc = lookup(rep, t, rep->args[0]);
	else
		list(rep, t);
	tg_prices_free(t);
	return rc;
}
