/* ledger_totals.c - spend totals per scope and bucket, reset baselines and
 * the spend of a policy's window (layouts in ledger_budget.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "civil.h"
#include "fnv.h"
#include "ledger_budget.h"
#include "ledger_impl.h"
#include "price.h"
#include "record_codec.h"
#include "spool_cache.h"
#include "tags.h"
#include "zones.h"

#define SCOPE_INLINE_MAX 400   /* longer scope strings are hashed */
#define TKEY_MAX (SCOPE_INLINE_MAX + 1 + 1 + 8)
#define TVAL_LEN 32        /* the first layout (ledger_budget.h) */
#define TVAL_LEN_2 64      /* the second, with the fields reports sum */
#define TVAL_LEN_3 80      /* the third, with the estimated part of usd */

enum bucket { B_HOUR, B_DAY, B_MONTH };

static size_t total_key(unsigned char *key, const char *scope, enum bucket b, int64_t start_us)
{
	size_t n = strlen(scope);

	if (n > SCOPE_INLINE_MAX) {
		n = (size_t)snprintf((char *)key, SCOPE_INLINE_MAX, "#%016llx",
		                     (unsigned long long)tg_fnv1a_str(TG_FNV1A_INIT, scope));
	} else {
		memcpy(key, scope, n);
	}
	key[n++] = '\0';
	key[n++] = (unsigned char)b;
	tg_put_be64(key + n, (uint64_t)start_us);
	return n + 8;
}

static void put_double(unsigned char *p, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof u);
	tg_put_be64(p, u);
}

static double get_double(const unsigned char *p)
{
	uint64_t u = tg_get_be64(p);
	double d;

	memcpy(&d, &u, sizeof d);
	return d;
}

static void encode_amounts(unsigned char v[TVAL_LEN], const struct tg_total *a)
{
	put_double(v, a->usd);
	tg_put_be64(v + 8, (uint64_t)a->tokens);
	tg_put_be64(v + 16, (uint64_t)a->calls);
	tg_put_be64(v + 24, (uint64_t)a->blocked);
}

/* A stored value: the second layout unless a is partial. */
static size_t encode_total(unsigned char v[TVAL_LEN_3], const struct tg_total *a)
{
	encode_amounts(v, a);
	if (a->partial)
		return TVAL_LEN;
	put_double(v + 32, a->usd_known);
	tg_put_be64(v + 40, (uint64_t)a->unpriced);
	tg_put_be64(v + 48, (uint64_t)a->usage_unknown);
	tg_put_be64(v + 56, (uint64_t)a->tokens_unknown);
	put_double(v + 64, a->usd_estimated);
	tg_put_be64(v + 72, (uint64_t)a->estimated);
	return TVAL_LEN_3;
}

/* Longer values are from a later version that appended fields. */
int tgl_total_decode(const MDB_val *d, struct tg_total *a)
{
	const unsigned char *p = d->mv_data;

	if (d->mv_size < TVAL_LEN)
		return TG_ECORRUPT;
	memset(a, 0, sizeof *a);
	a->usd = get_double(p);
	a->tokens = (int64_t)tg_get_be64(p + 8);
	a->calls = (int64_t)tg_get_be64(p + 16);
	a->blocked = (int64_t)tg_get_be64(p + 24);
	if (d->mv_size < TVAL_LEN_2) {
		a->partial = 1;
		return 0;
	}
	a->usd_known = get_double(p + 32);
	a->unpriced = (int64_t)tg_get_be64(p + 40);
	a->usage_unknown = (int64_t)tg_get_be64(p + 48);
	a->tokens_unknown = (int64_t)tg_get_be64(p + 56);
	if (d->mv_size >= TVAL_LEN_3) {
		a->usd_estimated = get_double(p + 64);
		a->estimated = (int64_t)tg_get_be64(p + 72);
	}
	return 0;
}

/* Reads one bucket; an absent bucket is zero. */
static int get_bucket(struct tg_ledger *l, MDB_txn *txn, const char *scope, enum bucket b,
                      int64_t start_us, struct tg_total *a)
{
	unsigned char key[TKEY_MAX];
	MDB_val k = { total_key(key, scope, b, start_us), key }, d;
	int rc;

	memset(a, 0, sizeof *a);
	rc = mdb_get(txn, l->totals, &k, &d);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc ? rc : tgl_total_decode(&d, a);
}

static int64_t bucket_start(enum bucket b, int64_t ts_us)
{
	int64_t start, reset;

	if (b == B_HOUR)
		return ts_us / TG_US_PER_HOUR * TG_US_PER_HOUR;  /* ts_us >= 0 */
	tg_window_bounds(b == B_DAY ? TG_WIN_DAY : TG_WIN_MONTH, ts_us, &start, &reset);
	return start;
}

/* Calls fn with the key of each bucket of scope that ts_us falls in. */
static int each_bucket(const char *scope, int64_t ts_us, const struct tg_total *delta,
                       tgl_total_fn fn, void *ctx)
{
	for (int b = B_HOUR; b <= B_MONTH; b++) {
		unsigned char key[TKEY_MAX];
		size_t n = total_key(key, scope, (enum bucket)b, bucket_start((enum bucket)b, ts_us));
		int rc = fn(ctx, key, n, delta);

		if (rc)
			return rc;
	}
	return 0;
}

/* The scope strings come from tg_policy_scope_key() so that what is
 * written here is exactly what a policy reads back. */
static int scope_of(enum tg_scope s, const char *value, size_t len, char *buf)
{
	struct tg_policy p;

	if (len == 0 || len >= sizeof p.scope_value)
		return -1;
	p.scope = s;
	p.per_value = TG_VALUE_FIXED;
	memcpy(p.scope_value, value, len);
	p.scope_value[len] = '\0';
	return tg_policy_scope_key(&p, buf, TG_SCOPE_KEY_MAX) < 0 ? -1 : 0;
}

static int each_value(enum tg_scope s, const char *value, size_t len, const struct tg_record *r,
                      const struct tg_total *delta, tgl_total_fn fn, void *ctx)
{
	char scope[TG_SCOPE_KEY_MAX];

	if (scope_of(s, value, len, scope) != 0)
		return 0;  /* empty or overlong: the record is in no such scope */
	return each_bucket(scope, r->ts_us, delta, fn, ctx);
}

/* 1 when the tag item at item (len bytes) also appears before it: a
 * record tagged twice alike must count once. */
static int tag_repeated(const char *tags, const char *item, size_t len)
{
	struct tg_tag_item it;

	for (const char *at = tags; at < item && tg_tags_next(&at, &it);)
		if (it.len == len && !memcmp(it.p, item, len))
			return 1;
	return 0;
}

int tgl_totals_each(const struct tg_record *r, const char *model_family, tgl_total_fn fn,
                    void *ctx)
{
	struct tg_total delta;

	tg_total_of_record(r, &delta);   /* the one rule: spend_rule.h */
	return tgl_totals_each_delta(r, model_family, &delta, fn, ctx);
}

int tgl_totals_each_delta(const struct tg_record *r, const char *model_family,
                          const struct tg_total *amounts, tgl_total_fn fn, void *ctx)
{
	struct tg_total delta = *amounts;
	struct tg_tag_item it;
	int rc;

	if ((rc = each_bucket("global", r->ts_us, &delta, fn, ctx)) != 0 ||
	    (rc = each_value(TG_SCOPE_PROVIDER, r->provider,
	                     strnlen(r->provider, sizeof r->provider), r, &delta, fn, ctx)) != 0 ||
	    (rc = each_value(TG_SCOPE_MODEL, model_family, strlen(model_family), r, &delta,
	                     fn, ctx)) != 0 ||
	    (rc = each_value(TG_SCOPE_PROCESS, r->process,
	                     strnlen(r->process, sizeof r->process), r, &delta, fn, ctx)) != 0)
		return rc;
	if (strcasecmp(r->model, model_family) &&
	    (rc = each_value(TG_SCOPE_MODEL, r->model, strnlen(r->model, sizeof r->model),
	                     r, &delta, fn, ctx)) != 0)
		return rc;
	/* The model the program named, when the one served differs (an Azure
	 * deployment's name): a model: policy naming it sees the spend. */
	const char *asked = tg_record_asked_model(r);
	if (asked[0] && strcasecmp(asked, model_family) && strcasecmp(asked, r->model) &&
	    (rc = each_value(TG_SCOPE_MODEL, asked, strnlen(asked, TG_MODEL_MAX), r, &delta,
	                     fn, ctx)) != 0)
		return rc;
	for (const char *at = r->tags; tg_tags_next(&at, &it);)
		/* Only well-formed k=v items can be named by a tag policy. */
		if (it.value && it.klen && !tag_repeated(r->tags, it.p, it.len) &&
		    (rc = each_value(TG_SCOPE_TAG, it.p, it.len, r, &delta, fn, ctx)) != 0)
			return rc;
	return 0;
}

struct add_ctx {
	struct tg_ledger *l;
	MDB_txn *txn;
};

/* Adds delta to the stored bucket under key; a bucket of the first
 * layout stays in it (tg_total_sum keeps it partial). */
int tgl_total_merge(struct tg_ledger *l, MDB_txn *txn, const unsigned char *key, size_t klen,
                    const struct tg_total *delta)
{
	unsigned char val[TVAL_LEN_3];
	MDB_val k = { klen, (void *)key }, d;
	struct tg_total a;
	int rc;

	memset(&a, 0, sizeof a);
	rc = mdb_get(txn, l->totals, &k, &d);
	if (rc == 0)
		rc = tgl_total_decode(&d, &a);
	else if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc)
		return rc;
	tg_total_sum(&a, delta);
	d.mv_size = encode_total(val, &a);
	d.mv_data = val;
	return mdb_put(txn, l->totals, &k, &d, 0);
}

static int add_bucket(void *ctx, const unsigned char *key, size_t klen, const struct tg_total *delta)
{
	struct add_ctx *c = ctx;

	return tgl_total_merge(c->l, c->txn, key, klen, delta);
}

int tgl_totals_add(struct tg_ledger *l, MDB_txn *txn, const struct tg_record *r,
                   const char *model_family)
{
	struct add_ctx c = { l, txn };

	if (!l->has_budget_dbs)
		return 0;
	return tgl_totals_each(r, model_family, add_bucket, &c);
}

void tgl_total_key_describe(const unsigned char *key, size_t klen, char *buf, size_t n)
{
	static const char *const kinds[] = { "hour", "day", "month" };
	const unsigned char *nul = memchr(key, '\0', klen);
	int64_t start, y;
	int m, d;

	if (!nul || klen != (size_t)(nul - key) + 10 || nul[1] > B_MONTH) {
		snprintf(buf, n, "a totals key of %zu bytes that is not ours", klen);
		return;
	}
	start = (int64_t)tg_get_be64(nul + 2);
	tg_civil_from_days(start / 1000000 / 86400, &y, &m, &d);
	snprintf(buf, n, "%.*s %s %04lld-%02d-%02dT%02lld:00Z", (int)(nul - key), (const char *)key,
	         kinds[nul[1]], (long long)y, m, d, (long long)(start / TG_US_PER_HOUR % 24));
}

int tgl_totals_from_get(struct tg_ledger *l, MDB_txn *txn, unsigned char key[16], int *has)
{
	return tgl_meta_key_get(l, txn, TGL_META_TOTALS_FROM, key, has);
}

int tgl_totals_cover(const unsigned char key[16], const unsigned char from[16], int has_from)
{
	return !has_from || memcmp(key, from, 16) > 0;
}

const char *tgl_record_family(const struct tg_prices *prices, const struct tg_record *r)
{
	const struct tg_price *p = NULL;

	if (prices && r->model[0])
		p = tg_price_find(prices, r->provider, r->model);
	return tg_price_family(p, r->model);
}

/* ---- baselines ---- */

#define BASE_FIXED (1 + 8 + TVAL_LEN)

struct baseline {
	enum tg_window window;
	int64_t bucket_us;   /* day/month: window start; 24h: the hour of the reset */
	struct tg_total a;
	char scope[TG_SCOPE_KEY_MAX];
};

static int get_baseline(struct tg_ledger *l, MDB_txn *txn, const char *name, struct baseline *b)
{
	MDB_val k = { strlen(name), (void *)name }, d, amounts;
	const unsigned char *p;
	int rc;

	if (!*name)
		return MDB_NOTFOUND;
	if ((rc = mdb_get(txn, l->resets, &k, &d)) != 0)
		return rc;
	p = d.mv_data;
	if (d.mv_size < BASE_FIXED || d.mv_size - BASE_FIXED >= sizeof b->scope || p[0] > TG_WIN_SESSION)
		return TG_ECORRUPT;
	b->window = (enum tg_window)p[0];
	b->bucket_us = (int64_t)tg_get_be64(p + 1);
	amounts.mv_data = (void *)(p + 9);
	amounts.mv_size = TVAL_LEN;   /* a baseline's amounts keep the first layout */
	tgl_total_decode(&amounts, &b->a);
	memcpy(b->scope, p + BASE_FIXED, d.mv_size - BASE_FIXED);
	b->scope[d.mv_size - BASE_FIXED] = '\0';
	return 0;
}

/* Adds the amounts of a bucket or a spooled record to a spend. */
static void spend_add(struct tg_spend *s, const struct tg_total *a)
{
	s->usd += a->usd;
	s->usd_estimated += a->usd_estimated;
	s->tokens += a->tokens;
	s->calls += a->calls;
	s->cost_unknown += tg_total_cost_unknown(a);
	s->tokens_unknown += a->tokens_unknown;
	s->partial |= a->partial;
}

static void subtract(struct tg_spend *s, const struct tg_total *a)
{
	s->usd = s->usd > a->usd ? s->usd - a->usd : 0;
	s->tokens = s->tokens > a->tokens ? s->tokens - a->tokens : 0;
	s->calls = s->calls > a->calls ? s->calls - a->calls : 0;
}

/* Sums the hour buckets of scope from from_us to the hour of now_us. */
static int sum_hours(struct tg_ledger *l, MDB_txn *txn, const char *scope, int64_t from_us,
                     int64_t now_us, struct tg_spend *s)
{
	unsigned char key[TKEY_MAX];
	size_t plen = total_key(key, scope, B_HOUR, from_us) - 8;
	MDB_val k = { plen + 8, key }, d;
	MDB_cursor *cur;
	int rc;

	if ((rc = mdb_cursor_open(txn, l->totals, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		struct tg_total a;

		if (k.mv_size != plen + 8 || memcmp(k.mv_data, key, plen) ||
		    (int64_t)tg_get_be64((unsigned char *)k.mv_data + plen) > now_us)
			break;
		if ((rc = tgl_total_decode(&d, &a)) != 0)
			break;
		spend_add(s, &a);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

static int sum_zoned(struct tg_ledger *l, MDB_txn *txn, const struct tg_policy *p,
                     const char *scope, int64_t start_us, int64_t end_us, struct tg_total *out);

static int spend_one(struct tg_ledger *l, MDB_txn *txn, const struct tg_policy *p,
                     int64_t now_us, struct tg_spend *s)
{
	char scope[TG_SCOPE_KEY_MAX];
	struct baseline b;
	struct tg_total a;
	int rc, based;

	memset(s, 0, sizeof *s);
	if (tg_policy_bounds(p, now_us, &s->window_start_us, &s->reset_us) != 0) {
		s->window_start_us = s->reset_us = -1;
		return TG_EINVAL;
	}
	/* tag:KEY=* has no spend of its own: each value's is its bound
	 * policy's (tg_policy_bind). */
	if (!l->has_budget_dbs || p->per_value == TG_VALUE_EACH)
		return 0;
	if (tg_policy_scope_key(p, scope, sizeof scope) < 0)
		return TG_EINVAL;
	rc = get_baseline(l, txn, p->name, &b);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	based = rc == 0 && b.window == p->window && !strcmp(b.scope, scope);

	if (p->window == TG_WIN_24H) {
		based = based && b.bucket_us >= s->window_start_us;
		rc = sum_hours(l, txn, scope, based ? b.bucket_us : s->window_start_us, now_us, s);
	} else if (p->zone[0]) {
		based = based && b.bucket_us == s->window_start_us;
		rc = sum_zoned(l, txn, p, scope, s->window_start_us, s->reset_us, &a);
		if (rc == 0)
			spend_add(s, &a);
	} else {
		based = based && b.bucket_us == s->window_start_us;
		rc = get_bucket(l, txn, scope, p->window == TG_WIN_DAY ? B_DAY : B_MONTH,
		                s->window_start_us, &a);
		if (rc == 0)
			spend_add(s, &a);
	}
	if (rc == 0 && based)
		subtract(s, &b.a);
	return rc;
}

struct spend_req {
	const struct tg_policy *p;
	int n;
	int64_t now_us;
	struct tg_spend *out;
	int session_is_error;
	struct tg_spool_cache *spooled;   /* held across the transaction */
};

/* A spooled record (not in the totals yet) counts in every window it
 * falls in, as it will once folded: a stuck writer hides nobody's spend. */
static int add_spooled(void *ctx, const struct tg_spooled_spend *r)
{
	struct spend_req *q = ctx;

	for (int i = 0; i < q->n; i++) {
		struct tg_spend *s = &q->out[i];

		if (q->p[i].window == TG_WIN_SESSION || q->p[i].per_value == TG_VALUE_EACH ||
		    r->ts_us < s->window_start_us ||
		    r->ts_us > q->now_us || !tg_policy_matches(&q->p[i], &r->call))
			continue;
		spend_add(s, &r->amounts);
	}
	return 0;
}

static int spend_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct spend_req *q = ctx;

	for (int i = 0; i < q->n; i++) {
		int rc = spend_one(l, txn, &q->p[i], q->now_us, &q->out[i]);

		if (rc == TG_EINVAL && q->p[i].window == TG_WIN_SESSION && !q->session_is_error)
			continue;
		if (rc == 0 && q->p[i].fleet && q->p[i].per_value != TG_VALUE_EACH)
			rc = tg_fleet_spend_txn(l, txn, &q->p[i], q->now_us, &q->out[i]);
		if (rc)
			return rc;
	}
	return l->has_budget_dbs ? tg_spool_cache_each(q->spooled, l, txn, add_spooled, q) : 0;
}

/* The spools are taken in before the snapshot begins (spool_cache.h). */
static int spend_read(struct tg_ledger *l, struct spend_req *q)
{
	int rc;

	if (!l)
		return TG_EINVAL;
	if ((rc = tg_spool_cache_hold(l, &q->spooled)) != 0)
		return rc;
	rc = tgl_ledger_read(l, spend_txn, q);
	tg_spool_cache_release(q->spooled);
	return rc;
}

int tg_ledger_spend(struct tg_ledger *l, const struct tg_policy *p, int64_t now_us,
                    struct tg_spend *out)
{
	struct spend_req q = { p, 1, now_us, out, 1, NULL };

	if (!p || !out)
		return TG_EINVAL;
	if (p->window == TG_WIN_SESSION) {
		memset(out, 0, sizeof *out);
		out->window_start_us = out->reset_us = -1;
		return TG_EINVAL;
	}
	return spend_read(l, &q);
}

int tg_ledger_spend_many(struct tg_ledger *l, const struct tg_policy *p, int n, int64_t now_us,
                         struct tg_spend *out)
{
	struct spend_req q = { p, n, now_us, out, 0, NULL };

	if (n < 0 || (n && (!p || !out)))
		return TG_EINVAL;
	if (n == 0)
		return 0;
	return spend_read(l, &q);
}

/* ---- the values of a tag ---- */

struct values_req {
	const char *key;
	int (*fn)(void *ctx, const char *value);
	void *ctx;
	int stop;    /* fn's nonzero value, kept apart from the ledger's codes */
};

/* The scope strings "tag:KEY=VALUE" sort together; after each, the seek
 * jumps past its buckets to the next scope ("\1" sorts below every
 * byte a tag value may hold), so the walk reads one key per value. */
static int values_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct values_req *q = ctx;
	char seek[TG_SCOPE_KEY_MAX + 1];
	int plen = snprintf(seek, sizeof seek, "tag:%s=", q->key), rc;
	MDB_val k = { (size_t)plen, seek }, d;
	MDB_cursor *cur;

	if (!l->has_budget_dbs)
		return 0;
	if (plen < 0 || (size_t)plen >= sizeof seek - 1)
		return TG_EINVAL;
	if ((rc = mdb_cursor_open(txn, l->totals, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE)) {
		const char *key = k.mv_data, *nul = memchr(key, '\0', k.mv_size);
		size_t n = nul ? (size_t)(nul - key) : 0;

		if (!nul || n < (size_t)plen || memcmp(key, seek, (size_t)plen) || n >= sizeof seek - 1)
			break;
		memcpy(seek, key, n);   /* the prefix is unchanged: seek keeps it */
		seek[n] = '\0';
		/* An empty value ("KEY=") is counted by no tag:KEY=* policy. */
		if (n > (size_t)plen && (q->stop = q->fn(q->ctx, seek + plen)) != 0) {
			rc = TG_EINVAL;
			break;
		}
		seek[n] = '\1';
		k.mv_size = n + 1;
		k.mv_data = seek;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int tg_ledger_tag_values(struct tg_ledger *l, const char *key,
                         int (*fn)(void *ctx, const char *value), void *ctx)
{
	struct values_req q = { key, fn, ctx, 0 };
	int rc;

	if (!l || !key || !*key || !fn)
		return TG_EINVAL;
	rc = tgl_ledger_read(l, values_txn, &q);
	return q.stop ? q.stop : rc;
}

/* ---- reset ---- */

struct reset_req {
	const char *name;
	int64_t now_us;
};

static int reset_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct reset_req *q = ctx;
	unsigned char val[BASE_FIXED + TG_SCOPE_KEY_MAX];
	char scope[TG_SCOPE_KEY_MAX];
	struct tg_policy p;
	struct tg_total a;
	int64_t start, reset, bucket;
	MDB_val k = { strlen(q->name), (void *)q->name }, d;
	size_t slen;
	int rc;

	if ((rc = tgl_policy_get_txn(l, txn, q->name, &p)) != 0)
		return rc;
	if (tg_policy_bounds(&p, q->now_us, &start, &reset) != 0)
		return TG_EINVAL;
	bucket = p.window == TG_WIN_24H ? bucket_start(B_HOUR, q->now_us) : start;
	if (tg_policy_scope_key(&p, scope, sizeof scope) < 0)
		return TG_EINVAL;
	if (p.zone[0])   /* day@ZONE, month@ZONE: the window's sum so far */
		rc = sum_zoned(l, txn, &p, scope, start, reset, &a);
	else
		rc = get_bucket(l, txn, scope, p.window == TG_WIN_24H ? B_HOUR :
		                p.window == TG_WIN_DAY ? B_DAY : B_MONTH, bucket, &a);
	if (rc)
		return rc;
	slen = strlen(scope);
	val[0] = (unsigned char)p.window;
	tg_put_be64(val + 1, (uint64_t)bucket);
	encode_amounts(val + 9, &a);
	memcpy(val + BASE_FIXED, scope, slen);
	d.mv_size = BASE_FIXED + slen;
	d.mv_data = val;
	if ((rc = mdb_put(txn, l->resets, &k, &d, 0)) != 0)
		return rc;
	return tgl_policy_version_bump(l, txn);
}

int tg_ledger_policy_reset(struct tg_ledger *l, const char *name, int64_t now_us)
{
	struct reset_req q = { name, now_us };

	if (!name || !*name || now_us < 0)
		return TG_EINVAL;
	return tgl_ledger_write(l, reset_txn, &q);
}

/* ---- sums for reports ---- */

struct sum_req {
	const struct tg_policy *scope;
	int64_t since_us, until_us;
	unsigned text;    /* the text fields match reads (TG_TEXT_*) */
	int (*match)(void *ctx, const struct tg_record *r);
	void *ctx;
	struct tg_total *out;
	struct tg_sum_how how;
	int stop;
};

static int sum_record(struct sum_req *q, const struct tg_record *r)
{
	struct tg_total a;
	int rc = q->match ? q->match(q->ctx, r) : 1;

	if (rc == 0)
		return 0;
	if (rc != 1) {
		q->stop = rc;   /* match's own stop, kept apart from the ledger's codes */
		return TG_EINVAL;
	}
	tg_total_of_record(r, &a);
	tg_total_sum(q->out, &a);
	return 0;
}

/* Calls fn for each record of [since_us, until_us) as the ledger holds
 * them (spools apart), viewed in place with the text fields in text. */
static int each_view(struct tg_ledger *l, MDB_txn *txn, int64_t since_us, int64_t until_us,
                     unsigned text, int (*fn)(void *ctx, const struct tg_record_view *v),
                     void *ctx)
{
	unsigned char start[16] = { 0 };
	MDB_val k = { sizeof start, start }, d;
	MDB_cursor *cur;
	struct tg_record_view v;
	int rc;

	if (since_us >= until_us)
		return 0;
	if ((rc = mdb_cursor_open(txn, l->records, &cur)) != 0)
		return rc;
	tg_put_be64(start, (uint64_t)since_us);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		uint64_t ts;

		if (k.mv_size != 16) {
			rc = TG_ECORRUPT;
			break;
		}
		ts = tg_get_be64(k.mv_data);
		if (ts > INT64_MAX || (int64_t)ts >= until_us)
			break;
		if ((rc = tg_record_view_decode(&v, d.mv_data, d.mv_size, text)) != 0)
			break;
		v.key = k.mv_data;
		if ((rc = fn(ctx, &v)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct each_record_req {
	int (*fn)(void *ctx, const struct tg_record *r);
	void *ctx;
	struct tg_record r;
};

static int each_record_one(void *ctx, const struct tg_record_view *v)
{
	struct each_record_req *q = ctx;

	tg_record_from_view(&q->r, v);
	return q->fn(q->ctx, &q->r);
}

/* each_view() for callers that read a struct tg_record. */
static int each_record(struct tg_ledger *l, MDB_txn *txn, int64_t since_us, int64_t until_us,
                       unsigned text, int (*fn)(void *ctx, const struct tg_record *r),
                       void *ctx)
{
	struct each_record_req q;

	q.fn = fn;
	q.ctx = ctx;
	return each_view(l, txn, since_us, until_us, text, each_record_one, &q);
}

static int sum_scanned(void *ctx, const struct tg_record *r)
{
	struct sum_req *q = ctx;

	q->how.scanned++;
	return sum_record(q, r);
}

/* Adds the matching records of [since_us, until_us) as the ledger holds
 * them (spools apart). */
static int sum_records(struct tg_ledger *l, MDB_txn *txn, struct sum_req *q, int64_t since_us,
                       int64_t until_us)
{
	return each_record(l, txn, since_us, until_us, q->text, sum_scanned, q);
}

/* ---- zoned windows (ledger_budget.h) ---- */

void tg_ledger_set_prices(struct tg_ledger *l, const struct tg_prices *p)
{
	if (l)
		l->prices = p;
}

/* Whether a record adds to one scope: the buckets it fills (the one rule
 * of tgl_totals_each) include one of that scope. */
struct scope_match {
	struct tg_ledger *l;
	unsigned char prefix[TKEY_MAX];   /* scope | NUL, as in a totals key */
	size_t plen;
};

static int scope_bucket(void *ctx, const unsigned char *key, size_t klen,
                        const struct tg_total *delta)
{
	const struct scope_match *m = ctx;

	(void)delta;
	return klen > m->plen && !memcmp(key, m->prefix, m->plen);   /* 1 stops the walk */
}

static int in_scope(void *ctx, const struct tg_record *r)
{
	struct scope_match *m = ctx;

	return tgl_totals_each(r, tgl_record_family(m->l->prices, r), scope_bucket, m) == 1;
}

_Static_assert(TKEY_MAX <= TGL_EDGE_PREFIX_MAX, "a scope prefix fits the edge memo");

/* The records of scope in [from_us, to_us), within one hour, added to
 * q->out: none to read when the hour's bucket of the scope is empty, and
 * read once while it stays the same (struct tgl_edge_memo).  The memo's
 * lock is only tried: a reader that finds it taken reads the records. */
static int sum_edge(struct tg_ledger *l, MDB_txn *txn, struct sum_req *q,
                    const struct scope_match *m, const char *scope, int64_t from_us,
                    int64_t to_us)
{
	int64_t hour = from_us / TG_US_PER_HOUR * TG_US_PER_HOUR;
	struct tg_total bucket, part, *out = q->out;
	int rc, locked;

	if (from_us >= to_us)
		return 0;
	if ((rc = get_bucket(l, txn, scope, B_HOUR, hour, &bucket)) != 0)
		return rc;
	if (bucket.calls == 0 && bucket.blocked == 0)
		return 0;
	locked = pthread_mutex_trylock(&l->edge_lock) == 0;
	for (int i = 0; locked && i < TGL_EDGE_MEMO_MAX; i++) {
		const struct tgl_edge_memo *e = &l->edge_memo[i];

		/* The buckets compared byte for byte: equal totals in other
		 * padding bytes are a miss, which only reads the records again.
		 * NOLINTBEGIN(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c) */
		if (e->from_us == from_us && e->to_us == to_us && e->prices == l->prices &&
		    e->plen == m->plen &&
		    !memcmp(e->prefix, m->prefix, m->plen) && !memcmp(&e->bucket, &bucket, sizeof bucket)) {
			tg_total_sum(out, &e->sum);
			pthread_mutex_unlock(&l->edge_lock);
			return 0;
		}
		/* NOLINTEND(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c) */
	}
	memset(&part, 0, sizeof part);
	q->out = &part;
	rc = sum_records(l, txn, q, from_us, to_us);
	q->out = out;
	if (rc == 0) {
		tg_total_sum(out, &part);
		if (locked) {
			struct tgl_edge_memo *e = &l->edge_memo[l->edge_next];

			l->edge_next = (l->edge_next + 1) % TGL_EDGE_MEMO_MAX;
			e->from_us = from_us;
			e->to_us = to_us;
			e->prices = l->prices;
			e->bucket = bucket;
			e->sum = part;
			e->plen = m->plen;
			memcpy(e->prefix, m->prefix, m->plen);
		}
	}
	if (locked)
		pthread_mutex_unlock(&l->edge_lock);
	return rc;
}

/* Adds the buckets of kind b of scope starting in [from_us, to_us), one
 * step (an hour or a day) apart; an absent bucket is zero. */
static int add_buckets(struct tg_ledger *l, MDB_txn *txn, const char *scope, enum bucket b,
                       int64_t from_us, int64_t to_us, struct tg_total *out)
{
	int64_t step = b == B_HOUR ? TG_US_PER_HOUR : TG_US_PER_DAY;

	for (int64_t t = from_us; t < to_us; t += step) {
		struct tg_total a;
		int rc = get_bucket(l, txn, scope, b, t, &a);

		if (rc)
			return rc;
		tg_total_sum(out, &a);
	}
	return 0;
}

static int64_t up_to(int64_t t, int64_t step)
{
	return (t + step - 1) / step * step;   /* t >= 0 */
}

/* The spend of scope in [start_us, end_us) for a zoned window: whole UTC
 * days from their buckets, whole hours from theirs, and the records of
 * the partial hours at the ends (zones whose offset is not whole hours). */
static int sum_zoned(struct tg_ledger *l, MDB_txn *txn, const struct tg_policy *p,
                     const char *scope, int64_t start_us, int64_t end_us, struct tg_total *out)
{
	struct scope_match m;
	struct sum_req q = { p, start_us, end_us, TG_TEXT_ALL, in_scope, &m, out, { 0, 0, 0 }, 0 };
	int64_t h0, h1, d0, d1;
	int rc;

	memset(out, 0, sizeof *out);
	if (start_us < 0 || end_us <= start_us)
		return 0;
	m.l = l;
	m.plen = total_key(m.prefix, scope, B_HOUR, 0) - 9;
	h0 = up_to(start_us, TG_US_PER_HOUR);
	h1 = end_us / TG_US_PER_HOUR * TG_US_PER_HOUR;
	if (h0 >= h1)
		return sum_records(l, txn, &q, start_us, end_us);
	if ((rc = sum_edge(l, txn, &q, &m, scope, start_us, h0)) != 0 ||
	    (rc = sum_edge(l, txn, &q, &m, scope, h1, end_us)) != 0)
		return rc;
	d0 = up_to(h0, TG_US_PER_DAY);
	d1 = h1 / TG_US_PER_DAY * TG_US_PER_DAY;
	if (d0 >= d1)
		return add_buckets(l, txn, scope, B_HOUR, h0, h1, out);
	if ((rc = add_buckets(l, txn, scope, B_HOUR, h0, d0, out)) != 0 ||
	    (rc = add_buckets(l, txn, scope, B_DAY, d0, d1, out)) != 0)
		return rc;
	return add_buckets(l, txn, scope, B_HOUR, d1, h1, out);
}

static int sum_spooled(void *ctx, const unsigned char key[16], const struct tg_record *r,
                       const char *model_family)
{
	struct sum_req *q = ctx;

	(void)key;
	if (r->ts_us < q->since_us || r->ts_us >= q->until_us)
		return 0;
	q->how.spooled++;
	return sum_record(q, r);
}

/* The whole hours [from_us, to_us) of q's scope, from their buckets; an
 * hour whose bucket lacks the report fields is read from its records. */
static int sum_hours_detailed(struct tg_ledger *l, MDB_txn *txn, struct sum_req *q,
                              int64_t from_us, int64_t to_us)
{
	char scope[TG_SCOPE_KEY_MAX];
	unsigned char key[TKEY_MAX];
	size_t plen;
	MDB_val k, d;
	MDB_cursor *cur;
	int rc;

	if (tg_policy_scope_key(q->scope, scope, sizeof scope) < 0)
		return TG_EINVAL;
	plen = total_key(key, scope, B_HOUR, from_us) - 8;
	k.mv_size = plen + 8;
	k.mv_data = key;
	if ((rc = mdb_cursor_open(txn, l->totals, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		struct tg_total a;
		int64_t start;

		if (k.mv_size != plen + 8 || memcmp(k.mv_data, key, plen))
			break;
		start = (int64_t)tg_get_be64((unsigned char *)k.mv_data + plen);
		if (start >= to_us)
			break;
		if ((rc = tgl_total_decode(&d, &a)) != 0)
			break;
		if (a.partial)
			rc = sum_records(l, txn, q, start, start + TG_US_PER_HOUR);
		else
			tg_total_sum(q->out, &a), q->how.buckets++;
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int sum_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct sum_req *q = ctx;
	int64_t hours_from = -1, hours_to = -1;
	int rc;

	memset(q->out, 0, sizeof *q->out);
	memset(&q->how, 0, sizeof q->how);
	q->stop = 0;
	if (q->scope && l->has_budget_dbs && q->since_us <= INT64_MAX - TG_US_PER_HOUR) {
		unsigned char from[16];
		int has_from;

		if ((rc = tgl_totals_from_get(l, txn, from, &has_from)) != 0)
			return rc;
		hours_from = (q->since_us + TG_US_PER_HOUR - 1) / TG_US_PER_HOUR * TG_US_PER_HOUR;
		if (has_from) {
			/* That record's hour mixes records in no total with others. */
			uint64_t last = tg_get_be64(from);
			int64_t after = last >= (uint64_t)(INT64_MAX - TG_US_PER_HOUR) ? INT64_MAX :
			                ((int64_t)last / TG_US_PER_HOUR + 1) * TG_US_PER_HOUR;

			if (after > hours_from)
				hours_from = after;
		}
		hours_to = q->until_us / TG_US_PER_HOUR * TG_US_PER_HOUR;
	}
	if (hours_from < hours_to) {
		if ((rc = sum_records(l, txn, q, q->since_us, hours_from)) != 0 ||
		    (rc = sum_hours_detailed(l, txn, q, hours_from, hours_to)) != 0 ||
		    (rc = sum_records(l, txn, q, hours_to, q->until_us)) != 0)
			return rc;
	} else if ((rc = sum_records(l, txn, q, q->since_us, q->until_us)) != 0) {
		return rc;
	}
	return tgl_spooled_each(l, txn, sum_spooled, q);
}

int tg_ledger_sum(struct tg_ledger *l, const struct tg_policy *scope, int64_t since_us,
                  int64_t until_us, unsigned text,
                  int (*match)(void *ctx, const struct tg_record *r), void *ctx,
                  struct tg_total *out, struct tg_sum_how *how)
{
	struct sum_req q = { scope, since_us < 0 ? 0 : since_us, until_us, text, match, ctx, out,
	                     { 0, 0, 0 }, 0 };
	int rc;

	if (!l || !out || (scope && scope->scope != TG_SCOPE_GLOBAL && !scope->scope_value[0]))
		return TG_EINVAL;
	memset(out, 0, sizeof *out);
	if (q.until_us <= q.since_us)
		rc = 0;
	else
		rc = tgl_ledger_read_spooled(l, sum_txn, &q);
	if (how)
		*how = q.how;
	return q.stop ? q.stop : rc;
}

/* ---- scans that view the records in place ---- */

struct scan_views {
	int64_t since_us, until_us;
	unsigned text;
	int (*fn)(void *ctx, const struct tg_record_view *v);
	void *ctx;
	int stop;    /* fn's nonzero value, kept apart from the ledger's codes */
};

static int scan_views_one(void *ctx, const struct tg_record_view *v)
{
	struct scan_views *q = ctx;

	return (q->stop = q->fn(q->ctx, v)) != 0 ? TG_EINVAL : 0;
}

static int scan_views_spooled(void *ctx, const unsigned char key[16], const struct tg_record *r,
                              const char *model_family)
{
	struct scan_views *q = ctx;
	struct tg_record_view v;

	(void)model_family;
	if (r->ts_us < q->since_us || r->ts_us >= q->until_us)
		return 0;
	tg_record_view_of(&v, r);
	v.key = key;
	return scan_views_one(q, &v);
}

static int scan_views_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct scan_views *q = ctx;
	int rc = each_view(l, txn, q->since_us, q->until_us, q->text, scan_views_one, q);

	return rc ? rc : tgl_spooled_each(l, txn, scan_views_spooled, q);
}

int tg_ledger_scan_views(struct tg_ledger *l, int64_t since_us, int64_t until_us,
                         unsigned text,
                         int (*fn)(void *ctx, const struct tg_record_view *v), void *ctx)
{
	struct scan_views q = { since_us < 0 ? 0 : since_us, until_us, text, fn, ctx, 0 };
	int rc;

	if (!l || !fn)
		return TG_EINVAL;
	if (q.until_us <= q.since_us)
		return 0;
	rc = tgl_ledger_read_spooled(l, scan_views_txn, &q);
	return q.stop ? q.stop : rc;
}

/* The same scan, each view copied into a struct tg_record for fn. */
int tg_ledger_scan_some(struct tg_ledger *l, int64_t since_us, int64_t until_us, unsigned text,
                        int (*fn)(void *ctx, const struct tg_record *r), void *ctx)
{
	struct each_record_req q = { .fn = fn, .ctx = ctx };

	if (!fn)
		return TG_EINVAL;
	return tg_ledger_scan_views(l, since_us, until_us, text, each_record_one, &q);
}
