/* price.c - loading the price table and costing counts (see price.h).
 * Model id matching lives in price_match.c.
 *
 * Loading is on the path of a process's first provider exchange, which
 * prices one model of the ~140 lines, so the bundled table is read
 * lazily: the first lookup for a provider indexes that provider's lines by
 * (provider, family) in a hash table, and a line's prices are parsed the
 * first time a lookup lands on it.  The bundled table is part of the
 * build and checked whole by the unit tests; an override file is the
 * user's, so it is parsed whole at load and its bad lines reported then,
 * each skipped on its own so that one typo does not cost the user every
 * other price (its lines win over bundled ones of the same provider and
 * family).  A later
 * line replaces an earlier one through the index in O(1), and a lookup is
 * one probe instead of a scan.  Rows never move once loaded (room for
 * every bundled line is made at load), so the pointers lookups return
 * stay valid; the lazy part runs under a mutex, so a table can be shared
 * by threads like an immutable one.  Prices that are plain decimals are
 * read exactly without strtod (parse_rate). */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decimal.h"
#include "file_read.h"
#include "price.h"
#include "fnv.h"

#define NCOLS 16
#define LINE_MAX_LEN 1024

extern const char tg_prices_builtin[];

/* Whether a row's prices have been read, and where it comes from. */
enum { ROW_READY, ROW_PENDING, ROW_BAD };

struct row_source {
	uint32_t off, len;              /* bundled rows: the line in the bundled text */
	unsigned char state;
	unsigned char from_file;        /* an override line: bundled ones do not replace it */
};

#define PROVIDERS_MAX 32

struct tg_prices {
	char version[32];
	char date[11];                  /* "# date:" of the bundled table, YYYY-MM-DD or "" */
	size_t nbad;                    /* override lines skipped */
	char bad[TG_PRICES_BAD_KEPT][TG_PRICES_BAD_LEN];  /* the first ones' messages */
	size_t n, cap;
	uint32_t *index;      /* open addressing on (provider, family): row + 1, 0 = empty */
	size_t index_mask;    /* slots - 1; slots = 2 * cap, a power of two */
	struct row_source *src;         /* per row */
	pthread_mutex_t lock;           /* lookups: the lazy indexing and parsing */
	/* Providers whose bundled lines are indexed; all of them once the
	 * list is full or every row was asked for. */
	char indexed[PROVIDERS_MAX][TG_PROVIDER_MAX];
	int nindexed;
	int all_indexed;
	size_t builtin_len;
	struct tg_price row[];
};

struct source {
	const char *name;  /* for messages */
	int line;
	char *err;
	size_t errlen;
};

/* A bad override line: counted, its message kept while there is room,
 * and the load goes on with the next line. */
static void skip_line(struct tg_prices *t, const char *msg)
{
	if (t->nbad < TG_PRICES_BAD_KEPT)
		snprintf(t->bad[t->nbad], sizeof t->bad[0], "%s", msg);
	t->nbad++;
}

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
	uint64_t h = tg_fnv1a(tg_fnv1a_str(TG_FNV1A_INIT, provider), "", 1);

	h = tg_fnv1a_str(h, family);
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

/* Adds row t->n (filled in by the caller, its source set), replacing the
 * row of the same provider and family if there is one. */
static void add_row(struct tg_prices *t)
{
	const struct tg_price *p = &t->row[t->n];

	*slot_of(t, p->provider, p->family) = (uint32_t)++t->n;
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

/* Room for `want` rows: the table is one allocation, grown by doubling, so
 * what a file costs follows what it validly holds, not its line count. */
static int reserve(struct tg_prices **tp, struct source *s, size_t want)
{
	struct tg_prices *t = *tp;
	struct row_source *src;
	size_t cap = t->cap;

	if (want <= cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (cap > UINT32_MAX / 2 || !(src = realloc(t->src, cap * sizeof *src)))
		return fail(s, "out of memory");
	t->src = src;
	if (!(t = realloc(t, sizeof *t + cap * sizeof t->row[0])))
		return fail(s, "out of memory");
	t->cap = cap;
	*tp = t;
	if (build_index(t))
		return fail(s, "out of memory");
	return 0;
}

/* Length of a line without its end of line. */
static size_t trim_eol(const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	return len;
}

/* The value of a "# NAME: X" comment, if that is what line is, else NULL
 * (*vlen its length). */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	const char *v = line + 1, *end = line + len;
	size_t n = strlen(name);

	while (v < end && *v == ' ')
		v++;
	if ((size_t)(end - v) <= n || strncmp(v, name, n) || v[n] != ':')
		return NULL;
	for (v += n + 1; v < end && *v == ' '; v++)
		;
	*vlen = (size_t)(end - v);
	return v;
}

/* The table's edition: its "# version:" and "# date:" header lines. */
static void take_header(struct tg_prices *t, const char *line, size_t len)
{
	const char *v;
	size_t n;
	char date[sizeof t->date + 1];

	if ((v = header_value(line, len, "version", &n)))
		snprintf(t->version, sizeof t->version, "%.*s", (int)n, v);
	if ((v = header_value(line, len, "date", &n)) && n < sizeof date) {
		memcpy(date, v, n);
		date[n] = '\0';
		if (is_date(date))
			memcpy(t->date, date, sizeof t->date);
	}
}

/* Every line of an override file, parsed now: its errors are the user's
 * to hear about at load.  A bad line is skipped and noted (skip_line); only
 * running out of memory fails the load. */
static int load_file(struct tg_prices **tp, struct source *s, const char *text, size_t n)
{
	char line[LINE_MAX_LEN], msg[TG_PRICES_BAD_LEN];
	const char *end = text + n;
	struct source line_err = *s;

	line_err.err = msg;
	line_err.errlen = sizeof msg;
	for (const char *p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *start = p;

		line_err.line = ++s->line;
		p += len + (nl != NULL);
		if (len >= sizeof line) {
			fail(&line_err, "line longer than %d bytes", LINE_MAX_LEN - 1);
			skip_line(*tp, msg);
			continue;
		}
		if (memchr(start, '\0', len))
			return fail(s, "a NUL byte: not a text file");
		memcpy(line, start, len);
		len = trim_eol(line, len);
		line[len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (reserve(tp, s, (*tp)->n + 1))
			return -1;
		if (parse_row(&line_err, line, &(*tp)->row[(*tp)->n])) {
			skip_line(*tp, msg);
			continue;
		}
		(*tp)->src[(*tp)->n].state = ROW_READY;
		(*tp)->src[(*tp)->n].from_file = 1;
		add_row(*tp);
	}
	return 0;
}

/* The provider and family columns of a bundled line, or -1. */
static int line_names(const char *line, size_t len, const char **prov, size_t *plen,
                      const char **fam, size_t *flen)
{
	const char *tab1 = memchr(line, '\t', len), *tab2;

	if (!tab1 || !(tab2 = memchr(tab1 + 1, '\t', len - (size_t)(tab1 + 1 - line))))
		return -1;
	*prov = line;
	*plen = (size_t)(tab1 - line);
	*fam = tab1 + 1;
	*flen = (size_t)(tab2 - tab1 - 1);
	return 0;
}

static int is_indexed(const struct tg_prices *t, const char *provider, size_t len)
{
	for (int i = 0; i < t->nindexed; i++)
		if (strlen(t->indexed[i]) == len && !strncasecmp(t->indexed[i], provider, len))
			return 1;
	return 0;
}

/* Indexes the bundled lines of `provider` (NULL: of every provider not
 * indexed yet).  Their prices are read by ensure_parsed.  Called with the
 * lock held; the room was made at load. */
static void index_builtin(struct tg_prices *t, const char *provider)
{
	const char *text = tg_prices_builtin, *end = text + t->builtin_len;
	size_t want;

	/* Past PROVIDERS_MAX names (ids from the network can name vendors),
	 * the rest of the table is indexed at once. */
	if (provider && t->nindexed == PROVIDERS_MAX)
		provider = NULL;
	want = provider ? strlen(provider) : 0;
	if (t->all_indexed || (provider && is_indexed(t, provider, want)))
		return;
	for (const char *p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = trim_eol(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
		const char *line = p, *prov, *fam;
		size_t plen, flen;
		struct tg_price *r = &t->row[t->n];
		char name[TG_MODEL_MAX];
		uint32_t *slot;

		p = nl ? nl + 1 : end;
		/* A line whose names cannot be read is left out, like one
		 * whose prices cannot (the unit tests read every line). */
		if (!len || line[0] == '#' || line_names(line, len, &prov, &plen, &fam, &flen) ||
		    plen >= sizeof r->provider || flen >= sizeof r->family)
			continue;
		if (provider ? plen != want || strncasecmp(prov, provider, want) : is_indexed(t, prov, plen))
			continue;
		memcpy(name, prov, plen);
		name[plen] = '\0';
		copy_lower(r->provider, sizeof r->provider, name);
		memcpy(name, fam, flen);
		name[flen] = '\0';
		copy_lower(r->family, sizeof r->family, name);
		slot = slot_of(t, r->provider, r->family);
		if (*slot && t->src[*slot - 1].from_file)
			continue;
		t->src[t->n].off = (uint32_t)(line - text);
		t->src[t->n].len = (uint32_t)len;
		t->src[t->n].state = ROW_PENDING;
		t->src[t->n].from_file = 0;
		*slot = (uint32_t)++t->n;
	}
	if (!provider)
		t->all_indexed = 1;
	else
		snprintf(t->indexed[t->nindexed++], sizeof t->indexed[0], "%s", provider);
}

/* Reads the prices of a bundled line the first time it is looked up.
 * Called with the lock held. */
static const struct tg_price *ensure_parsed(struct tg_prices *t, size_t i)
{
	struct row_source *src = &t->src[i];

	if (src->state == ROW_PENDING) {
		struct source quiet = { "prices.tsv (built in)", 0, NULL, 0 };
		char line[LINE_MAX_LEN];

		src->state = ROW_BAD;
		if (src->len < sizeof line) {
			memcpy(line, tg_prices_builtin + src->off, src->len);
			line[src->len] = '\0';
			if (parse_row(&quiet, line, &t->row[i]) == 0)
				src->state = ROW_READY;
		}
	}
	return src->state == ROW_READY ? &t->row[i] : NULL;
}

/* The version line of the bundled table, and how many lines it has (the
 * most rows it can add). */
static size_t scan_builtin(struct tg_prices *t)
{
	const char *text = tg_prices_builtin, *end = text + strlen(text);

	t->builtin_len = strlen(text);
	size_t lines = 0;

	for (const char *p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = trim_eol(p, nl ? (size_t)(nl - p) : (size_t)(end - p));

		if (len && p[0] == '#')
			take_header(t, p, len);
		lines++;
		p = nl ? nl + 1 : end;
	}
	return lines;
}

/* Frees a table that did not finish loading (its lock is not made yet). */
static void discard(struct tg_prices *t)
{
	free(t->index);
	free(t->src);
	free(t);
}

int tg_prices_load(struct tg_prices **out, const char *override_file, char *err, size_t errlen)
{
	return tg_prices_load_file(out, override_file, 0, err, errlen);
}

int tg_prices_load_file(struct tg_prices **out, const char *override_file, unsigned flags,
                        char *err, size_t errlen)
{
	struct source s = { "prices.tsv (built in)", 0, err, errlen };
	struct tg_prices *t;
	size_t cap = 256, lines;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	/* Bounded: a FIFO, a device, a directory or a huge file is refused
	 * before a byte of it is parsed. */
	if (override_file && *override_file &&
	    tg_read_small_file(override_file, TG_SMALL_FILE_MAX,
	                       flags & TG_PRICES_FOUND_FILE ?
	                       TG_READ_NOFOLLOW | TG_READ_OWNED | TG_READ_MISSING_OK : 0,
	                       &text, &len, err, errlen))
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
	if (!(t->src = malloc(cap * sizeof *t->src)) || build_index(t)) {
		discard(t);
		free(text);
		if (errlen)
			snprintf(err, errlen, "out of memory loading prices");
		return -1;
	}
	lines = scan_builtin(t);
	rc = 0;
	if (text) {
		s.name = override_file;
		rc = load_file(&t, &s, text, len);
	}
	/* Room for every bundled line now: rows must not move later. */
	if (!rc)
		rc = reserve(&t, &s, t->n + lines);
	free(text);
	if (rc) {
		discard(t);
		return -1;
	}
	/* Only now: a mutex must not be moved, and the table can no longer. */
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

const char *tg_prices_version(const struct tg_prices *t)
{
	return t->version;
}

const char *tg_prices_date(const struct tg_prices *t)
{
	return t->date;
}

size_t tg_prices_skipped(const struct tg_prices *t)
{
	return t->nbad;
}

const char *tg_prices_skipped_line(const struct tg_prices *t, size_t i)
{
	return i < t->nbad && i < TG_PRICES_BAD_KEPT ? t->bad[i] : NULL;
}

/* The table is const to its users: loaded once, then only read.  What a
 * lookup writes is the lazy part of that load, under the lock. */
static struct tg_prices *locked(const struct tg_prices *t)
{
	struct tg_prices *w = (struct tg_prices *)t;

	pthread_mutex_lock(&w->lock);
	return w;
}

size_t tg_prices_count(const struct tg_prices *t)
{
	struct tg_prices *w = locked(t);
	size_t n = 0;

	index_builtin(w, NULL);
	for (size_t i = 0; i <= w->index_mask; i++)
		n += w->index[i] && ensure_parsed(w, w->index[i] - 1);
	pthread_mutex_unlock(&w->lock);
	return n;
}

const struct tg_price *tg_prices_next(const struct tg_prices *t, size_t *cursor, int *from_file)
{
	struct tg_prices *w = locked(t);
	const struct tg_price *p = NULL;
	size_t i;

	index_builtin(w, NULL);
	for (i = *cursor; i < w->n && !p; i++) {
		/* A row a later line of the file replaced is not in the table. */
		if (*slot_of(w, w->row[i].provider, w->row[i].family) != i + 1)
			continue;
		if ((p = ensure_parsed(w, i)) && from_file)
			*from_file = w->src[i].from_file;
	}
	*cursor = i;
	pthread_mutex_unlock(&w->lock);
	return p;
}

int tg_prices_from_file(const struct tg_prices *t, const struct tg_price *p)
{
	const struct tg_price *q;
	size_t cursor = 0;
	int from_file = 0;

	while ((q = tg_prices_next(t, &cursor, &from_file)) != NULL)
		if (q == p)
			return from_file;
	return 0;
}

const struct tg_price *tg_prices_exact(const struct tg_prices *t, const char *provider,
                                       const char *family)
{
	struct tg_prices *w = locked(t);
	const struct tg_price *p = NULL;
	uint32_t slot;

	index_builtin(w, provider);
	if ((slot = *slot_of(w, provider, family)))
		p = ensure_parsed(w, slot - 1);
	pthread_mutex_unlock(&w->lock);
	return p;
}

void tg_prices_free(struct tg_prices *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	discard(t);
}

static double known(int64_t v)
{
	return v > 0 ? (double)v : 0;
}

/* The six parts of the cost of c at p, in USD per million: plain input,
 * cache reads, 5m and 1h cache writes (the input), output and reasoning
 * (the output).  The one pricing rule: tg_price_cost and
 * tg_price_cost_parts only add these up. */
enum { PART_PLAIN, PART_CACHED, PART_W5, PART_W1, PART_OUT, PART_REASONING, PARTS };

static void cost_parts(const struct tg_price *p, const struct tg_counts *c, double part[PARTS])
{
	const struct tg_rates *r;
	double plain, cached, writes, w5, w1, out, reasoning;

	r = tg_price_rates_for(p, c->input);

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

	part[PART_PLAIN] = plain * r->input;
	part[PART_CACHED] = cached * r->cached_input;
	part[PART_W5] = w5 * r->cache_write_5m;
	part[PART_W1] = w1 * r->cache_write_1h;
	part[PART_OUT] = out * r->output;
	part[PART_REASONING] = reasoning * r->reasoning;
}

const struct tg_rates *tg_price_rates_for(const struct tg_price *p, int64_t input)
{
	return p->long_threshold && input > p->long_threshold ? &p->above : &p->base;
}

double tg_price_cost(const struct tg_price *p, const struct tg_counts *c)
{
	double v[PARTS];

	if (!p)
		return 0;
	cost_parts(p, c, v);
	return (v[PART_PLAIN] + v[PART_CACHED] + v[PART_W5] + v[PART_W1] + v[PART_OUT] +
	        v[PART_REASONING]) / 1e6;
}

void tg_price_cost_parts(const struct tg_price *p, const struct tg_counts *c, double *input_usd,
                         double *output_usd)
{
	double v[PARTS];

	*input_usd = *output_usd = 0;
	if (!p)
		return;
	cost_parts(p, c, v);
	*input_usd = (v[PART_PLAIN] + v[PART_CACHED] + v[PART_W5] + v[PART_W1]) / 1e6;
	*output_usd = (v[PART_OUT] + v[PART_REASONING]) / 1e6;
}

const char *tg_price_family(const struct tg_price *p, const char *model)
{
	return p ? p->family : model;
}
