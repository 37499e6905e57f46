/* ledger_alert.c - budget alerts: recording them, once per policy, level
 * and window across every process, and reading them back (layout in
 * ledger_budget.h).
 *
 * An alert value is: version u8 (1) | ts_us i64 | level u8 | spend_usd f64
 * | spend_tokens i64 | limit_usd f64 | limit_tokens i64 | window_start i64
 * | pid i32, all big-endian, then policy, process, model and detail, each
 * a u16 BE length and that many bytes.  Then, added later in the same
 * version (an older reader ignores them, a newer one reads an alert that
 * ends before them as "not known"): provider and scope, strings as above,
 * window u8, alert_pct u8 and repeat u8 (0xff: not known); then, when it
 * is not empty, the tag value of a tag:KEY=* policy's alert, a string.
 * Bytes after those are from a later version and ignored. */
#include <stdio.h>
#include <string.h>

#include "fnv.h"
#include "ledger_budget.h"
#include "ledger_impl.h"

#define ALERT_VERSION 1
#define FIXED_LEN (1 + 8 + 1 + 8 * 5 + 4)
#define ALERT_MAX (FIXED_LEN + 7 * 2 + TG_POLICY_NAME_MAX + TG_PROCESS_MAX + TG_MODEL_MAX + \
                   TG_ALERT_DETAIL_MAX + TG_PROVIDER_MAX + TG_SCOPE_KEY_MAX + 3 + TG_TAGS_MAX)
#define SUBJECT_MAX (TG_PROVIDER_MAX + 1 + TG_MODEL_MAX)
#define ONCE_KEY_MAX (SUBJECT_MAX + 1 + 1 + 8 + 8)
#define UNKNOWN_U8 0xff

const char *tg_alert_level_name(int level)
{
	switch (level) {
	case TG_ALERT_THRESHOLD: return "threshold";
	case TG_ALERT_LIMIT: return "limit";
	case TG_ALERT_BLOCKED: return "blocked";
	case TG_ALERT_FALLBACK: return "fallback";
	case TG_ALERT_UNPRICED: return "unpriced";
	}
	return "?";
}

int tg_alert_valid(const struct tg_alert *a)
{
	return a->policy[0] || a->level == TG_ALERT_UNPRICED;
}

void tg_alert_init(struct tg_alert *a)
{
	memset(a, 0, sizeof *a);
	a->window = a->alert_pct = a->repeat = -1;
	a->spend_usd = -1;
	a->spend_tokens = -1;
	a->limit_usd = -1;
	a->limit_tokens = -1;
	a->window_start_us = -1;
}

/* A small field of the tail: its value, or UNKNOWN_U8 for -1. */
static unsigned char small(int v)
{
	return v >= 0 && v < UNKNOWN_U8 ? (unsigned char)v : UNKNOWN_U8;
}

static unsigned char *put_u64(unsigned char *p, uint64_t v)
{
	tg_put_be64(p, v);
	return p + 8;
}

static unsigned char *put_f64(unsigned char *p, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof u);
	return put_u64(p, u);
}

static unsigned char *put_str(unsigned char *p, const char *s, size_t size)
{
	size_t n = strnlen(s, size - 1);

	tg_put_be16(p, (uint16_t)n);
	memcpy(p + 2, s, n);
	return p + 2 + n;
}

size_t tgl_alert_encode(const struct tg_alert *a, unsigned char *buf)
{
	unsigned char *p = buf;
	uint32_t pid = (uint32_t)a->pid;

	*p++ = ALERT_VERSION;
	p = put_u64(p, (uint64_t)a->ts_us);
	*p++ = (unsigned char)a->level;
	p = put_f64(p, a->spend_usd);
	p = put_u64(p, (uint64_t)a->spend_tokens);
	p = put_f64(p, a->limit_usd);
	p = put_u64(p, (uint64_t)a->limit_tokens);
	p = put_u64(p, (uint64_t)a->window_start_us);
	for (int i = 3; i >= 0; i--, pid >>= 8)
		p[i] = (unsigned char)pid;
	p += 4;
	p = put_str(p, a->policy, sizeof a->policy);
	p = put_str(p, a->process, sizeof a->process);
	p = put_str(p, a->model, sizeof a->model);
	p = put_str(p, a->detail, sizeof a->detail);
	p = put_str(p, a->provider, sizeof a->provider);
	p = put_str(p, a->scope, sizeof a->scope);
	*p++ = small(a->window);
	*p++ = small(a->alert_pct);
	*p++ = small(a->repeat);
	if (a->tag_value[0])
		p = put_str(p, a->tag_value, sizeof a->tag_value);
	return (size_t)(p - buf);
}

static double get_f64(const unsigned char *p)
{
	uint64_t u = tg_get_be64(p);
	double d;

	memcpy(&d, &u, sizeof d);
	return d;
}

/* Reads a length-prefixed string into dst, cut to its size (the cut may
 * split a UTF-8 sequence: these fields are ASCII in practice). */
static int get_str(const unsigned char **p, const unsigned char *end, char *dst, size_t size)
{
	size_t n;

	if (end - *p < 2)
		return TG_ECORRUPT;
	n = tg_get_be16(*p);
	if ((size_t)(end - *p - 2) < n || memchr(*p + 2, 0, n))
		return TG_ECORRUPT;
	memcpy(dst, *p + 2, n < size ? n : size - 1);
	dst[n < size ? n : size - 1] = '\0';
	*p += 2 + n;
	return 0;
}

int tgl_alert_decode(const void *buf, size_t n, struct tg_alert *a)
{
	const unsigned char *p = buf, *end = p + n;

	tg_alert_init(a);
	if (n < FIXED_LEN || p[0] == 0)
		return TG_ECORRUPT;
	if (p[0] > ALERT_VERSION)
		return TG_ESCHEMA;
	a->ts_us = (int64_t)tg_get_be64(p + 1);
	a->level = p[9];
	a->spend_usd = get_f64(p + 10);
	a->spend_tokens = (int64_t)tg_get_be64(p + 18);
	a->limit_usd = get_f64(p + 26);
	a->limit_tokens = (int64_t)tg_get_be64(p + 34);
	a->window_start_us = (int64_t)tg_get_be64(p + 42);
	a->pid = (int32_t)tg_get_be32(p + 50);
	p += FIXED_LEN;
	if (get_str(&p, end, a->policy, sizeof a->policy) ||
	    get_str(&p, end, a->process, sizeof a->process) ||
	    get_str(&p, end, a->model, sizeof a->model) ||
	    get_str(&p, end, a->detail, sizeof a->detail))
		return TG_ECORRUPT;
	/* The later fields, each optional: an older writer stopped before. */
	if (p == end)
		return 0;
	if (get_str(&p, end, a->provider, sizeof a->provider) ||
	    (p < end && get_str(&p, end, a->scope, sizeof a->scope)))
		return TG_ECORRUPT;
	int *tail[] = { &a->window, &a->alert_pct, &a->repeat };
	for (size_t i = 0; i < sizeof tail / sizeof tail[0] && p < end; i++, p++)
		*tail[i] = *p == UNKNOWN_U8 ? -1 : *p;
	if (p < end && get_str(&p, end, a->tag_value, sizeof a->tag_value))
		return TG_ECORRUPT;
	return 0;
}

/* The alert_once key of a: its subject, NUL, level, window start. */
static size_t once_key(const struct tg_alert *a, unsigned char *okey)
{
	int n;

	if (a->level == TG_ALERT_UNPRICED)
		n = snprintf((char *)okey, SUBJECT_MAX, "%s/%s", a->provider, a->model);
	else
		n = snprintf((char *)okey, SUBJECT_MAX, "%s", a->policy);
	if (n < 0)
		n = 0;
	if (n >= SUBJECT_MAX)
		n = SUBJECT_MAX - 1;
	okey[n] = '\0';
	okey[n + 1] = (unsigned char)a->level;
	tg_put_be64(okey + n + 2, (uint64_t)a->window_start_us);
	if (a->tag_value[0]) {
		/* once per value of a tag:KEY=* policy; a hash keeps the key
		 * within LMDB's size whatever the value's length */
		tg_put_be64(okey + n + 10, tg_fnv1a_str(TG_FNV1A_INIT, a->tag_value));
		return (size_t)n + 18;
	}
	return (size_t)n + 10;
}

int tgl_alert_put_txn(struct tg_ledger *l, MDB_txn *txn, const unsigned char key[16],
                      const struct tg_alert *a, int once, int *recorded)
{
	unsigned char val[ALERT_MAX], okey[ONCE_KEY_MAX];
	struct tg_alert copy = *a;
	MDB_val k = { 16, (void *)key }, d;
	int rc;

	if (recorded)
		*recorded = 0;
	/* Once: not recorded again.  Unconditional: recorded, marked as a
	 * repeat when one was (a session window's own repeat, -1 start, is
	 * its process's to say).  Write transactions are serialised across
	 * processes, so this lookup and the puts below cannot interleave
	 * with another's. */
	if (once || a->window_start_us >= 0) {
		MDB_val ok = { once_key(a, okey), okey }, od = { 0, "" }, found;

		rc = mdb_get(txn, l->alert_once, &ok, &found);
		if (rc == 0 && once)
			return 0;
		if (rc == 0)
			copy.repeat = 1;
		else if (rc != MDB_NOTFOUND || (rc = mdb_put(txn, l->alert_once, &ok, &od, 0)) != 0)
			return rc;
		else if (!once)
			copy.repeat = 0;
	}
	d = (MDB_val){ tgl_alert_encode(&copy, val), val };
	rc = mdb_put(txn, l->alerts, &k, &d, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return 0;   /* folded from a spool before: already there */
	if (rc == 0 && recorded)
		*recorded = 1;
	return rc;
}

struct add_req {
	const struct tg_alert *a;
	const unsigned char *key;
	int once;
	int recorded;
};

static int add_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct add_req *q = ctx;

	return tgl_alert_put_txn(l, txn, q->key, q->a, q->once, &q->recorded);
}

/* Returns 1 when a was recorded now (or spooled, to be recorded by the
 * next fold: the process that spooled it is the one that says it), 0 when
 * it already was, or a TG_E* code. */
static int add(struct tg_ledger *l, const struct tg_alert *a, int once)
{
	unsigned char key[16], payload[16 + ALERT_MAX];
	struct add_req q = { a, key, once, 0 };
	int rc;

	if (!l || !a || a->ts_us < 0 || !tg_alert_valid(a))
		return TG_EINVAL;
	tgl_ledger_next_key(l, key, a->ts_us);
	rc = tgl_ledger_write(l, add_txn, &q);
	if (rc == 0)
		return q.recorded;
	memcpy(payload, key, 16);
	rc = tgl_ledger_spool(l, rc, once ? TG_SPOOL_ALERT_ONCE : TG_SPOOL_ALERT, payload,
	                      16 + tgl_alert_encode(a, payload + 16));
	return rc < 0 ? rc : 1;
}

int tg_ledger_alert_once(struct tg_ledger *l, const struct tg_alert *a)
{
	return add(l, a, 1);
}

int tg_ledger_alert_add(struct tg_ledger *l, const struct tg_alert *a)
{
	int rc = add(l, a, 0);

	return rc < 0 ? rc : 0;
}

struct scan_req {
	int64_t since_us;
	int (*fn)(void *ctx, const struct tg_alert *a);
	void *ctx;
	int stopped;
};

static int scan_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct scan_req *q = ctx;
	unsigned char start[8];
	MDB_val k = { sizeof start, start }, d;
	MDB_cursor *cur;
	struct tg_alert a;
	int rc;

	q->stopped = 0;
	if (!l->has_budget_dbs)
		return 0;
	tg_put_be64(start, (uint64_t)q->since_us);
	if ((rc = mdb_cursor_open(txn, l->alerts, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if ((rc = tgl_alert_decode(d.mv_data, d.mv_size, &a)) != 0)
			break;
		if ((q->stopped = q->fn(q->ctx, &a)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int tg_ledger_alerts(struct tg_ledger *l, int64_t since_us,
                     int (*fn)(void *ctx, const struct tg_alert *a), void *ctx)
{
	struct scan_req q = { since_us < 0 ? 0 : since_us, fn, ctx, 0 };
	int rc;

	if (!fn)
		return TG_EINVAL;
	rc = tgl_ledger_read(l, scan_txn, &q);
	return rc ? rc : q.stopped;
}

struct after_req {
	const unsigned char *from;
	int has_from;
	int (*fn)(void *ctx, const unsigned char key[16], const struct tg_alert *a);
	void *ctx;
	int stop;   /* fn's value, kept apart from the transaction's codes */
};

static int after_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct after_req *q = ctx;
	unsigned char zero[16] = { 0 };
	MDB_val k = { 16, (void *)(q->has_from ? q->from : zero) }, d;
	MDB_cursor *cur;
	struct tg_alert a;
	int rc;

	q->stop = 0;
	if (!l->has_budget_dbs)
		return 0;
	if ((rc = mdb_cursor_open(txn, l->alerts, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 16 || tgl_alert_decode(d.mv_data, d.mv_size, &a) != 0) {
			rc = TG_ECORRUPT;
			break;
		}
		if (q->has_from && !memcmp(k.mv_data, q->from, 16))
			continue;
		if ((q->stop = q->fn(q->ctx, k.mv_data, &a)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || q->stop ? 0 : rc;
}

int tg_ledger_alerts_after(struct tg_ledger *l, const unsigned char from[16], int has_from,
                           int (*fn)(void *ctx, const unsigned char key[16],
                                     const struct tg_alert *a), void *ctx)
{
	struct after_req q = { from, has_from, fn, ctx, 0 };
	int rc;

	if (!fn)
		return TG_EINVAL;
	rc = tgl_ledger_read(l, after_txn, &q);
	return rc ? rc : q.stop;
}
