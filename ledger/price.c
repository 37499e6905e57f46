/* price.c - loading the price table and costing counts (see price.h).
 * Model id matching lives in price_match.c.
 *
 * Loading is on the path of a process's first provider exchange, so the
 * table is read in one pass that does no more than the format needs: rows
 * land in a hash index on (provider, family) as they parse (a later line
 * replaces an earlier one in O(1), and lookups are one probe instead of a
 * scan), nothing is cleared that is about to be written, and prices that
 * are plain decimals are read exactly without strtod (parse_rate). */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decimal.h"
#include "file_read.h"
#include "price.h"

#define NCOLS 16
#define LINE_MAX_LEN 1024

extern const char tg_prices_builtin[];

struct tg_prices {
	char version[32];
	size_t n, cap;
	uint32_t *index;      /* open addressing on (provider, family): row + 1, 0 = empty */
	size_t index_mask;    /* slots - 1; slots = 2 * cap, a power of two */
	struct tg_price row[];
};

struct source {
	const char *name;  /* for messages */
	int line;
	char *err;
	size_t errlen;
};

static int fail(struct source *s, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!s->errlen)
		return -1;
	k = snprintf(s->err, s->errlen, "%s:%d: ", s->name, s->line);
	if (k >= 0 && (size_t)k < s->errlen) {
		va_start(ap, fmt);
		vsnprintf(s->err + k, s->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A plain decimal of at most 15 significant digits ("2.50", "0.075") is
 * its digits over a power of ten: both are exact doubles and the division
 * is correctly rounded, so this is the value strtod would give, at a
 * fraction of its cost.  Returns -1 for anything else. */
static int parse_plain_decimal(const char *s, double *out)
{
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
	                                1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	uint64_t m = 0;
	int digits = 0, frac = -1;

	for (; *s; s++) {
		if (*s == '.' && frac < 0 && digits > 0) {
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || ++digits > 15)
			return -1;
		m = m * 10 + (uint64_t)(*s - '0');
		if (frac >= 0)
			frac++;
	}
	if (digits == 0 || frac == 0)
		return -1;
	*out = (double)m / pow10[frac < 0 ? 0 : frac];
	return 0;
}

/* "-" and "" are unset (NAN) so defaults can be told from explicit zeros.
 * Read with '.' as the decimal point: TOKENGUARD_PRICES is read inside
 * host programs, whatever LC_NUMERIC they chose. */
static int parse_rate(const char *s, double *out)
{
	if (!*s || (s[0] == '-' && !s[1])) {
		*out = NAN;
		return 0;
	}
	if (parse_plain_decimal(s, out) == 0)
		return 0;
	return tg_decimal_parse(s, out) || !isfinite(*out) || *out < 0 ? -1 : 0;
}

static int parse_threshold(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || (s[0] == '-' && !s[1])) {
		*out = 0;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno || v <= 0)
		return -1;
	*out = v;
	return 0;
}

static double or(double v, double fallback)
{
	return isnan(v) ? fallback : v;
}

static void fill_defaults(struct tg_rates *r, const struct tg_rates *base)
{
	if (base) {
		r->input = or(r->input, base->input);
		r->output = or(r->output, base->output);
		r->cached_input = or(r->cached_input, base->cached_input);
		r->cache_write_5m = or(r->cache_write_5m, base->cache_write_5m);
		r->cache_write_1h = or(r->cache_write_1h, base->cache_write_1h);
		r->reasoning = or(r->reasoning, base->reasoning);
		return;
	}
	r->output = or(r->output, 0);
	r->cached_input = or(r->cached_input, r->input);
	r->cache_write_5m = or(r->cache_write_5m, r->input);
	r->cache_write_1h = or(r->cache_write_1h, r->cache_write_5m);
	r->reasoning = or(r->reasoning, r->output);
}

/* ASCII only, whatever the host's locale: names are compared bytewise. */
static int copy_lower(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i]; i++) {
		char c = src[i];

		if (i + 1 >= size)
			return -1;
		dst[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	dst[i] = '\0';
	return 0;
}

static int is_date(const char *s)
{
	static const char shape[] = "dddd-dd-dd";

	if (strlen(s) != sizeof shape - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != '-')
			return 0;
	return 1;
}

static int parse_row(struct source *s, char *line, struct tg_price *p)
{
	static const char *names[] = {
		"input", "output", "cached_input", "cache_write_5m", "cache_write_1h",
		"reasoning", "long_threshold", "long_input", "long_output",
		"long_cached_input", "long_cache_write_5m", "long_cache_write_1h",
	};
	char *col[NCOLS];
	double *base[] = { &p->base.input, &p->base.output, &p->base.cached_input,
	                   &p->base.cache_write_5m, &p->base.cache_write_1h,
	                   &p->base.reasoning };
	double *above[] = { &p->above.input, &p->above.output, &p->above.cached_input,
	                    &p->above.cache_write_5m, &p->above.cache_write_1h };
	int n = 0;

	for (char *c = line;; c++) {
		if (n == NCOLS)
			return fail(s, "more than %d tab-separated columns", NCOLS);
		col[n++] = c;
		if (!(c = strchr(c, '\t')))
			break;
		*c = '\0';
	}
	if (n != NCOLS)
		return fail(s, "%d columns, expected %d (tab-separated)", n, NCOLS);

	if (!*col[0] || copy_lower(p->provider, sizeof p->provider, col[0]))
		return fail(s, "provider missing or longer than %d bytes", TG_PROVIDER_MAX - 1);
	if (!*col[1] || copy_lower(p->family, sizeof p->family, col[1]))
		return fail(s, "model family missing or longer than %d bytes", TG_MODEL_MAX - 1);
	for (int i = 0; i < 6; i++)
		if (parse_rate(col[2 + i], base[i]))
			return fail(s, "%s: \"%s\" is not a price", names[i], col[2 + i]);
	if (isnan(p->base.input))
		return fail(s, "input price missing");
	p->above.reasoning = NAN;
	if (parse_threshold(col[8], &p->long_threshold))
		return fail(s, "long_threshold: \"%s\" is not a token count", col[8]);
	for (int i = 0; i < 5; i++)
		if (parse_rate(col[9 + i], above[i]))
			return fail(s, "%s: \"%s\" is not a price", names[7 + i], col[9 + i]);
	if (!is_date(col[14]))
		return fail(s, "date: \"%s\" is not YYYY-MM-DD", col[14]);
	memcpy(p->date, col[14], sizeof p->date);
	if (strncmp(col[15], "https://", 8) && strncmp(col[15], "http://", 7))
		return fail(s, "source: \"%s\" is not a URL", col[15]);

	fill_defaults(&p->base, NULL);
	fill_defaults(&p->above, &p->base);
	return 0;
}

/* FNV-1a over provider, a NUL, and family. */
static size_t key_hash(const char *provider, const char *family)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (const char *c = provider; *c; c++)
		h = (h ^ (unsigned char)*c) * UINT64_C(0x100000001b3);
	h *= UINT64_C(0x100000001b3);
	for (const char *c = family; *c; c++)
		h = (h ^ (unsigned char)*c) * UINT64_C(0x100000001b3);
	return (size_t)(h ^ h >> 32);
}

/* The index slot holding (provider, family), or the empty slot where it
 * would go.  The index is never more than half full. */
static uint32_t *slot_of(const struct tg_prices *t, const char *provider, const char *family)
{
	for (size_t i = key_hash(provider, family);; i++) {
		uint32_t *slot = &t->index[i & t->index_mask];

		if (*slot == 0 || (!strcmp(t->row[*slot - 1].family, family) &&
		                   !strcmp(t->row[*slot - 1].provider, provider)))
			return slot;
	}
}

static void add_row(struct tg_prices *t, const struct tg_price *p)
{
	uint32_t *slot = slot_of(t, p->provider, p->family);

	if (*slot) {
		t->row[*slot - 1] = *p;
		return;
	}
	t->row[t->n] = *p;
	*slot = (uint32_t)++t->n;
}

/* An index of 2 * cap slots over the rows there are. */
static int build_index(struct tg_prices *t)
{
	size_t slots = 2 * t->cap;

	free(t->index);
	if (!(t->index = calloc(slots, sizeof *t->index)))
		return -1;
	t->index_mask = slots - 1;
	for (size_t i = 0; i < t->n; i++)
		*slot_of(t, t->row[i].provider, t->row[i].family) = (uint32_t)(i + 1);
	return 0;
}

/* Room for one more row: the table is one allocation, grown by doubling
 * as rows parse, so what a file costs follows what it validly holds, not
 * its line count. */
static int make_room(struct tg_prices **tp, struct source *s)
{
	struct tg_prices *t = *tp;
	size_t cap = t->cap * 2;

	if (t->n < t->cap)
		return 0;
	if (cap > UINT32_MAX / 2 || !(t = realloc(t, sizeof *t + cap * sizeof t->row[0])))
		return fail(s, "out of memory");
	t->cap = cap;
	*tp = t;
	if (build_index(t))
		return fail(s, "out of memory");
	return 0;
}

/* One line without its end of line; comments give the version. */
static int take_line(struct tg_prices **tp, struct source *s, char *line, int want_version)
{
	struct tg_price p;
	size_t len = strlen(line);

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (!len)
		return 0;
	if (line[0] == '#') {
		const char *v = line + 1;

		while (*v == ' ')
			v++;
		if (want_version && !strncmp(v, "version:", 8)) {
			for (v += 8; *v == ' '; v++)
				;
			snprintf((*tp)->version, sizeof (*tp)->version, "%s", v);
		}
		return 0;
	}
	if (parse_row(s, line, &p) || make_room(tp, s))
		return -1;
	add_row(*tp, &p);
	return 0;
}

/* Every line of text (n bytes, the built-in table or a file's contents). */
static int load_text(struct tg_prices **tp, struct source *s, const char *text, size_t n,
                     int want_version)
{
	char line[LINE_MAX_LEN];
	const char *end = text + n;

	for (const char *p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		s->line++;
		if (len >= sizeof line)
			return fail(s, "line longer than %d bytes", LINE_MAX_LEN - 1);
		if (memchr(p, '\0', len))
			return fail(s, "a NUL byte: not a text file");
		memcpy(line, p, len);
		line[len] = '\0';
		if (take_line(tp, s, line, want_version))
			return -1;
		p += len + (nl != NULL);
	}
	return 0;
}

int tg_prices_load(struct tg_prices **out, const char *override_file, char *err, size_t errlen)
{
	struct source s = { "prices.tsv (built in)", 0, err, errlen };
	struct tg_prices *t;
	size_t cap = 256;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	/* Bounded: a FIFO, a device, a directory or a huge file is refused
	 * before a byte of it is parsed. */
	if (override_file && *override_file &&
	    tg_read_small_file(override_file, TG_SMALL_FILE_MAX, 0, &text, &len, err, errlen))
		return -1;
	/* Rows are written whole as they parse: only the header is cleared. */
	if (!(t = malloc(sizeof *t + cap * sizeof t->row[0]))) {
		free(text);
		if (errlen)
			snprintf(err, errlen, "out of memory loading prices");
		return -1;
	}
	memset(t, 0, sizeof *t);
	t->cap = cap;
	if (build_index(t)) {
		free(t);
		free(text);
		if (errlen)
			snprintf(err, errlen, "out of memory loading prices");
		return -1;
	}
	rc = load_text(&t, &s, tg_prices_builtin, strlen(tg_prices_builtin), 1);
	if (!rc && text) {
		s.name = override_file;
		s.line = 0;
		rc = load_text(&t, &s, text, len, 0);
	}
	free(text);
	if (rc) {
		tg_prices_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

const char *tg_prices_version(const struct tg_prices *t)
{
	return t->version;
}

size_t tg_prices_count(const struct tg_prices *t)
{
	return t->n;
}

const struct tg_price *tg_prices_exact(const struct tg_prices *t, const char *provider,
                                       const char *family)
{
	uint32_t slot = *slot_of(t, provider, family);

	return slot ? &t->row[slot - 1] : NULL;
}

void tg_prices_free(struct tg_prices *t)
{
	if (t)
		free(t->index);
	free(t);
}

static double known(int64_t v)
{
	return v > 0 ? (double)v : 0;
}

double tg_price_cost(const struct tg_price *p, const struct tg_counts *c)
{
	const struct tg_rates *r;
	double plain, cached, writes, w5, w1, out, reasoning;

	if (!p)
		return 0;
	r = p->long_threshold && c->input > p->long_threshold ? &p->above : &p->base;

	cached = known(c->cached_input);
	writes = known(c->cache_creation);
	plain = known(c->input) - cached - writes;
	if (plain < 0)
		plain = 0;

	w5 = writes;
	w1 = 0;
	if (c->cache_creation_5m >= 0 && c->cache_creation_1h >= 0) {
		w1 = known(c->cache_creation_1h);
		w5 = writes - w1;  /* anything not split is charged at the 5m rate */
		if (w5 < 0)
			w5 = 0;
	}

	reasoning = r->reasoning != r->output ? known(c->reasoning) : 0;
	out = known(c->output) - reasoning;
	if (out < 0)
		out = 0;

	return (plain * r->input + cached * r->cached_input + w5 * r->cache_write_5m +
	        w1 * r->cache_write_1h + out * r->output + reasoning * r->reasoning) / 1e6;
}

const char *tg_price_family(const struct tg_price *p, const char *model)
{
	return p ? p->family : model;
}
