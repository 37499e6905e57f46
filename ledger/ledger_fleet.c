/* ledger_fleet.c - the fleet overlay and the sync state in the meta
 * database (see ledger_fleet.h). */
#include <stdio.h>
#include <string.h>

#include "ledger_fleet.h"
#include "ledger_impl.h"

#define PREFIX "fleet:"
#define SYNC_KEY "fleet-sync"
#define SYNC_FIXED (5 * 8)

int tg_fleet_key(const struct tg_policy *p, char *buf, size_t n)
{
	char scope[TG_SCOPE_KEY_MAX], win[TG_WINDOW_TEXT_MAX];
	int k;

	/* tag:KEY=* has no one scope: its key is its marker's ("tag:KEY=*") */
	if (p->per_value == TG_VALUE_EACH)
		k = snprintf(scope, sizeof scope, "tag:%s", p->scope_value);
	else
		k = tg_policy_scope_key(p, scope, sizeof scope);
	if (k < 0 || (size_t)k >= sizeof scope || tg_policy_window_text(p, win, sizeof win) < 0)
		return -1;
	k = snprintf(buf, n, PREFIX "%s|%s", scope, win);
	return k < 0 || (size_t)k >= n ? -1 : k;
}

int tg_fleet_judge(const struct tg_fleet_overlay *o, int64_t window_start_us, int64_t now_us,
                   struct tg_fleet_overlay *counts)
{
	memset(counts, 0, sizeof *counts);
	if (!o)
		return TG_FLEET_MISSING;
	counts->pulled_us = o->pulled_us;
	counts->window_start_us = window_start_us;
	/* A pull "from the future" beyond the bound means a clock moved. */
	if (o->fresh_us <= 0 || now_us - o->pulled_us > o->fresh_us ||
	    o->pulled_us - now_us > o->fresh_us)
		return TG_FLEET_STALE;
	if (o->window_start_us == window_start_us) {
		counts->usd_micro = o->usd_micro;
		counts->estimated_micro = o->estimated_micro;
		counts->tokens = o->tokens;
	}
	return TG_FLEET_FRESH;
}

void tg_fleet_overlay_encode(const struct tg_fleet_overlay *o, unsigned char buf[TG_FLEET_OVERLAY_LEN])
{
	tg_put_be64(buf, (uint64_t)o->window_start_us);
	tg_put_be64(buf + 8, (uint64_t)o->pulled_us);
	tg_put_be64(buf + 16, (uint64_t)o->fresh_us);
	tg_put_be64(buf + 24, (uint64_t)o->usd_micro);
	tg_put_be64(buf + 32, (uint64_t)o->estimated_micro);
	tg_put_be64(buf + 40, (uint64_t)o->tokens);
}

int tg_fleet_overlay_decode(const void *p, size_t n, struct tg_fleet_overlay *o)
{
	const unsigned char *b = p;

	if (n != TG_FLEET_OVERLAY_LEN)
		return -1;
	o->window_start_us = (int64_t)tg_get_be64(b);
	o->pulled_us = (int64_t)tg_get_be64(b + 8);
	o->fresh_us = (int64_t)tg_get_be64(b + 16);
	o->usd_micro = (int64_t)tg_get_be64(b + 24);
	o->estimated_micro = (int64_t)tg_get_be64(b + 32);
	o->tokens = (int64_t)tg_get_be64(b + 40);
	return 0;
}

/* ---- the check's read, inside the spend's transaction ---- */

/* p's overlay in *o (*has 0 when there is none, or it is not one). */
static int overlay_get(struct tg_ledger *l, MDB_txn *txn, const struct tg_policy *p,
                       struct tg_fleet_overlay *o, int *has)
{
	char key[TG_FLEET_KEY_MAX];
	int klen = tg_fleet_key(p, key, sizeof key), rc;
	MDB_val k, d;

	if (klen < 0)
		return TG_EINVAL;
	k = (MDB_val){ (size_t)klen, key };
	rc = mdb_get(txn, l->meta, &k, &d);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	*has = rc == 0 && tg_fleet_overlay_decode(d.mv_data, d.mv_size, o) == 0;
	return 0;
}

int tg_fleet_spend_txn(struct tg_ledger *l, MDB_txn *txn, const struct tg_policy *p,
                       int64_t now_us, struct tg_spend *s)
{
	struct tg_fleet_overlay o, counts;
	int rc, has;

	if ((rc = overlay_get(l, txn, p, &o, &has)) != 0)
		return rc;
	if (!has && p->per_value == TG_VALUE_BOUND) {
		/* A value of a tag:KEY=* policy that no machine spent on: its
		 * policy's marker says whether the agent's last pull is fresh;
		 * if so, the others spent nothing on it. */
		struct tg_policy each = *p;
		char *eq = strchr(each.scope_value, '=');

		if (eq && (size_t)(eq + 2 - each.scope_value) < sizeof each.scope_value) {
			memcpy(eq + 1, "*", 2);
			each.per_value = TG_VALUE_EACH;
			if ((rc = overlay_get(l, txn, &each, &o, &has)) != 0)
				return rc;
			o.usd_micro = o.estimated_micro = o.tokens = 0;
		}
	}
	s->fleet = tg_fleet_judge(has ? &o : NULL, s->window_start_us, now_us, &counts);
	s->fleet_pulled_us = counts.pulled_us;
	s->fleet_usd = (double)counts.usd_micro / 1e6;
	s->fleet_usd_estimated = (double)counts.estimated_micro / 1e6;
	s->fleet_tokens = counts.tokens;
	s->usd += s->fleet_usd;
	s->usd_estimated += s->fleet_usd_estimated;
	s->tokens += s->fleet_tokens;
	return 0;
}

/* ---- sync's write and the reads of reports ---- */

struct put_req {
	const char *const *keys;
	const struct tg_fleet_overlay *o;
	int n;
	const struct tg_fleet_sync *s;
};

static size_t sync_encode(const struct tg_fleet_sync *s, unsigned char *buf)
{
	size_t elen = strnlen(s->error, sizeof s->error - 1), wlen = strnlen(s->where, sizeof s->where - 1);
	unsigned char *p = buf;

	tg_put_be64(p, (uint64_t)s->last_ok_us);
	tg_put_be64(p + 8, (uint64_t)s->last_try_us);
	tg_put_be64(p + 16, (uint64_t)s->interval_us);
	tg_put_be64(p + 24, (uint64_t)s->fresh_us);
	tg_put_be64(p + 32, (uint64_t)s->policies);
	p += SYNC_FIXED;
	tg_put_be16(p, (uint16_t)elen);
	memcpy(p + 2, s->error, elen);
	p += 2 + elen;
	tg_put_be16(p, (uint16_t)wlen);
	memcpy(p + 2, s->where, wlen);
	return (size_t)(p + 2 + wlen - buf);
}

static int sync_decode(const unsigned char *p, size_t n, struct tg_fleet_sync *s)
{
	size_t elen, wlen;

	memset(s, 0, sizeof *s);
	if (n < SYNC_FIXED + 4)
		return TG_ECORRUPT;
	s->last_ok_us = (int64_t)tg_get_be64(p);
	s->last_try_us = (int64_t)tg_get_be64(p + 8);
	s->interval_us = (int64_t)tg_get_be64(p + 16);
	s->fresh_us = (int64_t)tg_get_be64(p + 24);
	s->policies = (int64_t)tg_get_be64(p + 32);
	elen = tg_get_be16(p + SYNC_FIXED);
	if (elen >= sizeof s->error || SYNC_FIXED + 4 + elen > n)
		return TG_ECORRUPT;
	memcpy(s->error, p + SYNC_FIXED + 2, elen);
	wlen = tg_get_be16(p + SYNC_FIXED + 2 + elen);
	if (wlen >= sizeof s->where || SYNC_FIXED + 4 + elen + wlen != n)
		return TG_ECORRUPT;
	memcpy(s->where, p + SYNC_FIXED + 4 + elen, wlen);
	return 0;
}

static int put_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct put_req *q = ctx;
	unsigned char buf[SYNC_FIXED + 4 + TG_FLEET_ERROR_MAX + TG_FLEET_WHERE_MAX];
	MDB_val k, d;
	int rc;

	for (int i = 0; i < q->n; i++) {
		tg_fleet_overlay_encode(&q->o[i], buf);
		k = (MDB_val){ strlen(q->keys[i]), (void *)q->keys[i] };
		d = (MDB_val){ TG_FLEET_OVERLAY_LEN, buf };
		if ((rc = mdb_put(txn, l->meta, &k, &d, 0)) != 0)
			return rc;
	}
	k = (MDB_val){ sizeof SYNC_KEY - 1, (void *)SYNC_KEY };
	d = (MDB_val){ sync_encode(q->s, buf), buf };
	return mdb_put(txn, l->meta, &k, &d, 0);
}

int tg_fleet_put(struct tg_ledger *l, const char *const *keys, const struct tg_fleet_overlay *o,
                 int n, const struct tg_fleet_sync *s)
{
	struct put_req q = { keys, o, n, s };

	if (!l || n < 0 || !s || (n && (!keys || !o)))
		return TG_EINVAL;
	for (int i = 0; i < n; i++)
		if (strncmp(keys[i], PREFIX, sizeof PREFIX - 1) || strlen(keys[i]) >= TG_FLEET_KEY_MAX)
			return TG_EINVAL;
	return tgl_ledger_write(l, put_txn, &q);
}

struct get_req {
	const char *key;
	struct tg_fleet_overlay *o;
	struct tg_fleet_sync *s;
	int *has;
};

static int get_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct get_req *q = ctx;
	MDB_val k = { strlen(q->key), (void *)q->key }, d;
	int rc = mdb_get(txn, l->meta, &k, &d);

	*q->has = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (q->o ? tg_fleet_overlay_decode(d.mv_data, d.mv_size, q->o) != 0
	         : sync_decode(d.mv_data, d.mv_size, q->s) != 0)
		return TG_ECORRUPT;
	*q->has = 1;
	return 0;
}

int tg_fleet_get(struct tg_ledger *l, const char *key, struct tg_fleet_overlay *o, int *has)
{
	struct get_req q = { key, o, NULL, has };

	if (!l || !key || !o || !has)
		return TG_EINVAL;
	return tgl_ledger_read(l, get_txn, &q);
}

int tg_fleet_sync_get(struct tg_ledger *l, struct tg_fleet_sync *s, int *has)
{
	struct get_req q = { SYNC_KEY, NULL, s, has };

	if (!l || !s || !has)
		return TG_EINVAL;
	return tgl_ledger_read(l, get_txn, &q);
}
