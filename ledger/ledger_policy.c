/* ledger_policy.c - stored budget policies and their version counter
 * (layout in ledger_budget.h).  A policy is stored as its one-line text:
 * readable with mdb_dump, and its parser already rejects anything a
 * damaged or foreign value could hold. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "ledger_budget.h"
#include "ledger_impl.h"

#define VERSION_KEY "policy_version"
#define STAMP_NAME "policy-stamp"

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

int tgl_policy_get_txn(struct tg_ledger *l, MDB_txn *txn, const char *name, struct tg_policy *p)
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
	unsigned char b[8];
	int has, rc = tgl_meta_get(l, txn, VERSION_KEY, b, sizeof b, &has);

	*v = has ? tg_get_be64(b) : 0;
	return rc;
}

int tgl_policy_version_bump(struct tg_ledger *l, MDB_txn *txn)
{
	unsigned char buf[8];
	MDB_val k = { sizeof VERSION_KEY - 1, VERSION_KEY }, d = { sizeof buf, buf };
	uint64_t v;
	int rc;

	if ((rc = get_version(l, txn, &v)) != 0)
		return rc;
	tg_put_be64(buf, v + 1);
	if ((rc = mdb_put(txn, l->meta, &k, &d, 0)) != 0)
		return rc;
	/* Readers learn of the change from the stamp, once this commits. */
	l->stamp_due = 1;
	l->stamp_version = v + 1;
	return 0;
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
	if ((rc = tgl_ledger_read(l, list_txn, &q)) != 0)
		return rc;
	*n = q.n;
	if (version)
		*version = q.version;
	return 0;
}

/* ---- the stamp: a look at the policies that costs one fstatat ---- */

int tgl_policy_stamp_txn(struct tg_ledger *l, MDB_txn *txn)
{
	struct stat st;
	uint64_t v;
	int rc;

	if (l->stamp_due || l->stamp_kept)
		return 0;
	if (fstatat(l->dirfd, STAMP_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		l->stamp_kept = 1;
		return 0;
	}
	if (!l->has_budget_dbs || (rc = get_version(l, txn, &v)) != 0)
		return 0;   /* the stamp waits for a write that can read the version */
	l->stamp_due = 1;
	l->stamp_version = v;
	return 0;
}

void tgl_policy_stamp_write(struct tg_ledger *l)
{
	char tmp[32], text[32];
	int fd, n;

	if (!l->stamp_due)
		return;
	l->stamp_due = 0;
	/* A new file renamed over the old one: a new inode, so a reader's
	 * fstatat sees the change even within the file system's clock tick. */
	snprintf(tmp, sizeof tmp, ".%s.%d", STAMP_NAME, (int)getpid());
	n = snprintf(text, sizeof text, "%llu\n", (unsigned long long)l->stamp_version);
	fd = tg_file_open(l->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC);
	if (fd < 0)
		return;
	if (write(fd, text, (size_t)n) == n && renameat(l->dirfd, tmp, l->dirfd, STAMP_NAME) == 0)
		l->stamp_kept = 1;
	else
		unlinkat(l->dirfd, tmp, 0);
	close(fd);
}

int tg_ledger_policy_stamp(struct tg_ledger *l, struct tg_policy_stamp *s)
{
	struct stat st;

	memset(s, 0, sizeof *s);
	if (!l)
		return TG_EINVAL;
	if (fstatat(l->dirfd, STAMP_NAME, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			return tg_error_from_errno(errno);
		/* No stamp: a ledger no writer of ours touched since stamps
		 * exist, which may hold policies, or one without data yet. */
		s->state = fstatat(l->dirfd, "data.mdb", &st, AT_SYMLINK_NOFOLLOW) == 0 ?
		           TG_STAMP_UNKNOWN : TG_STAMP_EMPTY_LEDGER;
		return 0;
	}
	s->state = TG_STAMP_PRESENT;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->size = (int64_t)st.st_size;
	s->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

int tg_policy_stamp_same(const struct tg_policy_stamp *a, const struct tg_policy_stamp *b)
{
	return a->state == TG_STAMP_PRESENT && b->state == TG_STAMP_PRESENT && a->dev == b->dev &&
	       a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
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
	return tgl_ledger_read(l, version_txn, version);
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
	return tgl_policy_version_bump(l, txn);
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
	return tgl_ledger_write(l, put_txn, &(struct put_req){ p->name, line, (size_t)len });
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
	return tgl_policy_version_bump(l, txn);
}

int tg_ledger_policy_rm(struct tg_ledger *l, const char *name)
{
	if (!name || !*name || strlen(name) >= TG_POLICY_NAME_MAX)
		return TG_EINVAL;
	return tgl_ledger_write(l, rm_txn, (void *)name);
}
