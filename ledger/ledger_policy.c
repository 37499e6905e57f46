/* ledger_policy.c - stored budget policies and their version counter
 * (layout in ledger_budget.h).  A policy is stored as its one-line text:
 * readable with mdb_dump, and its parser already rejects anything a
 * damaged or foreign value could hold. */
#include <string.h>

#include "ledger_budget.h"
#include "ledger_impl.h"

#define VERSION_KEY "policy_version"

static int decode(const MDB_val *d, struct tg_policy *p)
{
	char line[TG_POLICY_LINE_MAX];

	if (d->mv_size >= sizeof line || memchr(d->mv_data, 0, d->mv_size))
		return TG_ECORRUPT;
	memcpy(line, d->mv_data, d->mv_size);
	line[d->mv_size] = '\0';
	if (tg_policy_parse(line, p, NULL, 0) != 0 || !p->name[0])
		return TG_ECORRUPT;
	return 0;
}

int tg_policy_get_txn(struct tg_ledger *l, MDB_txn *txn, const char *name, struct tg_policy *p)
{
	MDB_val k = { strlen(name), (void *)name }, d;
	int rc;

	if (!l->has_budget_dbs || !*name)
		return TG_ENOENT;
	rc = mdb_get(txn, l->policies, &k, &d);
	if (rc)
		return rc == MDB_NOTFOUND ? TG_ENOENT : rc;
	return decode(&d, p);
}

static int get_version(struct tg_ledger *l, MDB_txn *txn, uint64_t *v)
{
	MDB_val k = { sizeof VERSION_KEY - 1, VERSION_KEY }, d;
	int rc = mdb_get(txn, l->meta, &k, &d);

	*v = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (d.mv_size != 8)
		return TG_ECORRUPT;
	*v = tg_get_be64(d.mv_data);
	return 0;
}

int tg_policy_version_bump(struct tg_ledger *l, MDB_txn *txn)
{
	unsigned char buf[8];
	MDB_val k = { sizeof VERSION_KEY - 1, VERSION_KEY }, d = { sizeof buf, buf };
	uint64_t v;
	int rc;

	if ((rc = get_version(l, txn, &v)) != 0)
		return rc;
	tg_put_be64(buf, v + 1);
	return mdb_put(txn, l->meta, &k, &d, 0);
}

struct list_req {
	struct tg_policy *out;
	int max, n;
	uint64_t version;
};

static int list_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct list_req *q = ctx;
	struct tg_policy p;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	q->n = 0;
	if ((rc = get_version(l, txn, &q->version)) != 0 || !l->has_budget_dbs)
		return rc;
	if ((rc = mdb_cursor_open(txn, l->policies, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if ((rc = decode(&d, &p)) != 0)
			break;
		if (k.mv_size != strlen(p.name) || memcmp(k.mv_data, p.name, k.mv_size)) {
			rc = TG_ECORRUPT;
			break;
		}
		if (q->n < q->max)
			q->out[q->n] = p;
		q->n++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int tg_ledger_policies(struct tg_ledger *l, struct tg_policy *out, int max, int *n,
                       uint64_t *version)
{
	struct list_req q = { out, max, 0, 0 };
	int rc;

	if (!n || max < 0 || (max && !out))
		return TG_EINVAL;
	*n = 0;
	if ((rc = tg_ledger_read(l, list_txn, &q)) != 0)
		return rc;
	*n = q.n;
	if (version)
		*version = q.version;
	return 0;
}

static int version_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	return get_version(l, txn, ctx);
}

int tg_ledger_policy_version(struct tg_ledger *l, uint64_t *version)
{
	if (!version)
		return TG_EINVAL;
	*version = 0;
	return tg_ledger_read(l, version_txn, version);
}

struct put_req {
	const char *name;
	const char *line;
	size_t len;
};

static int put_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct put_req *q = ctx;
	MDB_val k = { strlen(q->name), (void *)q->name }, d = { q->len, (void *)q->line };
	int rc;

	if ((rc = mdb_put(txn, l->policies, &k, &d, 0)) != 0)
		return rc;
	return tg_policy_version_bump(l, txn);
}

int tg_ledger_policy_put(struct tg_ledger *l, const struct tg_policy *p)
{
	char line[TG_POLICY_LINE_MAX];
	struct tg_policy back;
	int len;

	if (!p || tg_policy_name_check(p->name, NULL, 0) != 0)
		return TG_EINVAL;
	/* What would not read back must not be stored: it would make every
	 * later read of the policies fail as corrupt. */
	if ((len = tg_policy_format(p, line, sizeof line)) < 0 ||
	    tg_policy_parse(line, &back, NULL, 0) != 0)
		return TG_EINVAL;
	return tg_ledger_write(l, put_txn, &(struct put_req){ p->name, line, (size_t)len });
}

static int rm_txn(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	const char *name = ctx;
	MDB_val k = { strlen(name), (void *)name };
	int rc = mdb_del(txn, l->policies, &k, NULL);

	if (rc)
		return rc == MDB_NOTFOUND ? TG_ENOENT : rc;
	rc = mdb_del(txn, l->resets, &k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	return tg_policy_version_bump(l, txn);
}

int tg_ledger_policy_rm(struct tg_ledger *l, const char *name)
{
	if (!name || !*name || strlen(name) >= TG_POLICY_NAME_MAX)
		return TG_EINVAL;
	return tg_ledger_write(l, rm_txn, (void *)name);
}
