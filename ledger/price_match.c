/* price_match.c - from a provider's model id to a price line (see
 * tg_price_find in price.h).
 *
 * Ids are reduced step by step and looked up exactly after each step, so a
 * dated id listed in the table wins over its family, and nothing is ever
 * matched by prefix: "gpt-4o-mini" can only be found as itself, and an
 * unknown "gpt-4.5-x" is not a "gpt-4".  Only tokens that are plainly
 * dates, snapshot numbers or release channels are stripped. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "price.h"

#define ID_MAX (TG_MODEL_MAX * 2)

static const struct { const char *name, *canon; } provider_alias[] = {
	{ "azure", "openai" },   /* Azure OpenAI bills OpenAI's list prices */
	{ "azure-openai", "openai" },
	{ "azure_openai", "openai" },
	{ "google", "gemini" },  /* also OpenRouter's vendor name */
	{ "vertex", "gemini" },
	{ "aws-bedrock", "bedrock" },
	{ "x-ai", "xai" },
	{ "mistralai", "mistral" },
};

static const char *canon_provider(const char *p)
{
	for (size_t i = 0; i < sizeof provider_alias / sizeof provider_alias[0]; i++)
		if (!strcmp(p, provider_alias[i].name))
			return provider_alias[i].canon;
	return p;
}

static int all_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Start of the n-th last '-' token of s (n = 1 is the last), or NULL. */
static char *token_from_end(char *s, int n)
{
	char *p = s + strlen(s);

	while (n-- > 0) {
		while (p > s && p[-1] != '-')
			p--;
		if (p == s)
			return NULL;
		if (n)
			p--;
	}
	return p;
}

static size_t toklen(const char *t)
{
	const char *e = strchr(t, '-');

	return e ? (size_t)(e - t) : strlen(t);
}

static int is_digits_of(const char *t, size_t lo, size_t hi)
{
	size_t n = toklen(t);

	return n >= lo && n <= hi && all_digits(t, n);
}

static void cut_before(char *tok)
{
	tok[-1] = '\0';
}

/* Removes one dated or channel suffix; returns 0 when there is none. */
static int strip_one(char *id)
{
	char *t1 = token_from_end(id, 1), *t2 = token_from_end(id, 2),
	     *t3 = token_from_end(id, 3), *at = strrchr(id, '@');
	static const char *channels[] = { "latest", "preview", "exp", "experimental" };

	if (at && at != id) {  /* Vertex: claude-3-5-sonnet@20240620 */
		*at = '\0';
		return 1;
	}
	if (!t1)
		return 0;
	if (t3 && is_digits_of(t3, 4, 4) && is_digits_of(t2, 2, 2) && is_digits_of(t1, 2, 2)) {
		cut_before(t3);  /* -2024-08-06 */
		return 1;
	}
	if (t2 && is_digits_of(t2, 2, 2) && is_digits_of(t1, 4, 4)) {
		cut_before(t2);  /* Cohere: -08-2024 */
		return 1;
	}
	if (t2 && is_digits_of(t2, 2, 2) && is_digits_of(t1, 2, 2)) {
		cut_before(t2);  /* Gemini previews: -05-20 */
		return 1;
	}
	if (is_digits_of(t1, 3, 8)) {
		cut_before(t1);  /* -0613, -2411, -002, -20250929 */
		return 1;
	}
	for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++) {
		if (!strcmp(t1, channels[i])) {
			cut_before(t1);
			return 1;
		}
	}
	return 0;
}

/* OpenRouter spells Claude versions with dots (claude-3.5-sonnet). */
static void claude_dots_to_dashes(char *id)
{
	if (strncmp(id, "claude-", 7))
		return;
	for (char *p = id + 1; *p; p++)
		if (*p == '.' && isdigit((unsigned char)p[-1]) && isdigit((unsigned char)p[1]))
			*p = '-';
}

static const struct tg_price *find_family(const struct tg_prices *t, const char *provider,
                                          const char *id)
{
	char buf[ID_MAX];
	const struct tg_price *p;

	if (strlen(id) >= sizeof buf)
		return NULL;
	strcpy(buf, id);
	if (!strcmp(provider, "anthropic"))
		claude_dots_to_dashes(buf);
	do {
		if ((p = tg_prices_exact(t, provider, buf)))
			return p;
	} while (strip_one(buf));
	return NULL;
}

/* Bedrock ids: [region.]vendor.model[-vN[:M]], e.g.
 * us.anthropic.claude-3-5-sonnet-20240620-v1:0.  Claude is billed at
 * Anthropic's prices; other vendors have Bedrock lines of their own. */
static const struct tg_price *find_bedrock(const struct tg_prices *t, char *id)
{
	static const char *regions[] = { "us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au." };
	char *v;
	size_t n;

	for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++) {
		n = strlen(regions[i]);
		if (!strncmp(id, regions[i], n) && strchr(id + n, '.')) {
			id += n;
			break;
		}
	}
	if ((v = strrchr(id, ':')) && all_digits(v + 1, strlen(v + 1)))
		*v = '\0';
	if ((v = strrchr(id, '-')) && v[1] == 'v' && all_digits(v + 2, strlen(v + 2)))
		*v = '\0';
	if (!strncmp(id, "anthropic.", 10))
		return find_family(t, "anthropic", id + 10);
	return find_family(t, "bedrock", id);
}

/* Lowercases, undoes the URL escapes Bedrock paths carry, drops "models/". */
static int normalise(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	if (!strncmp(src, "models/", 7))
		src += 7;
	for (; *src; src++) {
		char c = *src;

		if (c == '%' && src[1] == '3' && (src[2] == 'A' || src[2] == 'a')) {
			c = ':';
			src += 2;
		} else if (c == '%' && src[1] == '2' && (src[2] == 'F' || src[2] == 'f')) {
			c = '/';
			src += 2;
		}
		if (n + 1 >= size)
			return -1;
		dst[n++] = (char)tolower((unsigned char)c);
	}
	dst[n] = '\0';
	return n ? 0 : -1;
}

const struct tg_price *tg_price_find(const struct tg_prices *t, const char *provider,
                                     const char *model)
{
	char prov[TG_PROVIDER_MAX], id[ID_MAX], vendor[TG_PROVIDER_MAX];
	const struct tg_price *p;
	const char *canon, *slash;
	size_t vn;

	if (!t || !provider || !model || normalise(prov, sizeof prov, provider) ||
	    normalise(id, sizeof id, model))
		return NULL;
	canon = canon_provider(prov);
	if (!strcmp(canon, "bedrock"))
		return find_bedrock(t, id);
	if ((p = find_family(t, canon, id)))
		return p;
	if (!(slash = strchr(id, '/')))
		return NULL;

	/* accounts/fireworks/models/NAME and similar paths */
	if ((p = find_family(t, canon, strrchr(id, '/') + 1)))
		return p;

	/* vendor/model (OpenRouter; routing variants like :beta dropped) */
	vn = (size_t)(slash - id);
	if (vn >= sizeof vendor)
		return NULL;
	memcpy(vendor, id, vn);
	vendor[vn] = '\0';
	if (!strcmp(canon, "openrouter")) {
		char *variant = strrchr(id, ':');

		if (variant && strcmp(variant, ":free"))
			*variant = '\0';
	}
	return find_family(t, canon_provider(vendor), slash + 1);
}

/* 1 when a line the table gives before cursor (tg_prices_next's) has
 * provider: so that each provider of the table is asked once. */
static int provider_seen_before(const struct tg_prices *t, size_t cursor, const char *provider)
{
	const struct tg_price *q;
	size_t c = 0;

	while (c < cursor && (q = tg_prices_next(t, &c, NULL)) != NULL && c <= cursor)
		if (!strcmp(q->provider, provider))
			return 1;
	return 0;
}

size_t tg_price_find_any(const struct tg_prices *t, const char *model,
                         const struct tg_price **out, size_t max)
{
	const struct tg_price *p, *found;
	size_t cursor = 0, before = 0, n = 0;

	while ((p = tg_prices_next(t, &cursor, NULL)) != NULL) {
		size_t i;

		if (provider_seen_before(t, before, p->provider)) {
			before = cursor;
			continue;
		}
		before = cursor;
		if (!(found = tg_price_find(t, p->provider, model)))
			continue;
		/* A vendor/model id finds the vendor's line from any provider. */
		for (i = 0; i < n && i < max && out[i] != found; i++)
			;
		if (i < n && i < max)
			continue;
		if (n < max)
			out[n] = found;
		n++;
	}
	return n;
}

/* The shim links no libm. */
static double higher(double a, double b)
{
	return b > a ? b : a;
}

static void rates_max(struct tg_rates *m, const struct tg_rates *r)
{
	m->input = higher(m->input, r->input);
	m->output = higher(m->output, r->output);
	m->cached_input = higher(m->cached_input, r->cached_input);
	m->cache_write_5m = higher(m->cache_write_5m, r->cache_write_5m);
	m->cache_write_1h = higher(m->cache_write_1h, r->cache_write_1h);
	m->reasoning = higher(m->reasoning, r->reasoning);
}

int tg_price_ceiling(const struct tg_prices *t, const char *provider, struct tg_price *out)
{
	char prov[TG_PROVIDER_MAX];
	const char *canon = NULL;
	const struct tg_price *p;
	int found = 0;

	memset(out, 0, sizeof *out);
	if (!t)
		return -1;
	if (provider && !normalise(prov, sizeof prov, provider))
		canon = canon_provider(prov);
	for (int pass = canon ? 0 : 1; pass < 2 && !found; pass++) {
		size_t cursor = 0;

		/* Pass 0: the provider's lines; pass 1: the whole table, for a
		 * provider without any. */
		while ((p = tg_prices_next(t, &cursor, NULL)) != NULL) {
			if (pass == 0 && strcmp(p->provider, canon) != 0)
				continue;
			rates_max(&out->base, &p->base);
			if (p->long_threshold)
				rates_max(&out->base, &p->above);
			found = 1;
		}
	}
	if (!found)
		return -1;
	out->above = out->base;
	snprintf(out->provider, sizeof out->provider, "%s", canon ? canon : "");
	return 0;
}
