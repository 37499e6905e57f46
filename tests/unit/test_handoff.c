/* test_handoff.c - group commit (TG_LEDGER_HANDOFF): an append is a spool
 * write and nothing more, readers see handed-off records at once, and a
 * fold applies many records in one transaction with the totals a commit
 * per record would have written. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "ledger_budget.h"
#include "ledger_impl.h"
#include "ledger_verify.h"

#define T0 INT64_C(1767225600000000)   /* 2026-01-01T00:00:00Z */

static int count(void *ctx, const struct tg_record *r)
{
	(*(int *)ctx)++;
	return 0;
}

static int records_in(struct tg_ledger *l)
{
	int n = 0;

	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, count, &n), 0);
	return n;
}

static int exists(const char *dir, const char *name)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static int spool_files(const char *dir)
{
	char cmd[400], out[32] = "";
	FILE *f;

	snprintf(cmd, sizeof cmd, "ls %s/spool 2>/dev/null | wc -l", dir);
	cr_assert_not_null(f = popen(cmd, "r"));
	cr_assert_not_null(fgets(out, sizeof out, f));
	pclose(f);
	return atoi(out);
}

static struct tg_record rec(int64_t ts, const char *model, const char *tags)
{
	return tgt_record(ts, "openai", model, "app", tags, 100, 10, 0.25, 0);
}

static void verify_clean(struct tg_ledger *l, int64_t records)
{
	struct tg_verify v;

	cr_assert_eq(tg_ledger_verify(l, NULL, &v, NULL, NULL), 0);
	cr_assert_eq(v.records, records);
	cr_assert_eq(v.records_bad, 0);
	cr_assert_eq(v.totals_bad, 0, "%lld totals differ from the sum of their records",
	             (long long)v.totals_bad);
}

Test(handoff, an_append_touches_only_the_spool_and_readers_see_it_at_once)
{
	char dir[64];
	struct tg_ledger *w, *r;
	struct tg_policy p;
	struct tg_spend s;

	tgt_tmpdir(dir, sizeof dir, "tg-handoff");
	/* A new ledger is made at once, so that readers find one... */
	cr_assert_eq(tg_ledger_open(&w, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL | TG_LEDGER_HANDOFF),
	             0);
	cr_assert(exists(dir, "data.mdb"));
	tg_ledger_close(w);
	/* ...but an existing one is not even opened for three appends. */
	cr_assert_eq(tg_ledger_open(&w, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL | TG_LEDGER_HANDOFF),
	             0);
	for (int i = 0; i < 3; i++) {
		struct tg_record x = rec(T0 + i, "gpt-4o", "team=a");
		cr_assert_eq(tg_ledger_append(w, &x), TG_LEDGER_SPOOLED);
	}
	cr_assert_null(w->env);
	cr_assert_eq(tg_ledger_pending(w), 3);
	cr_assert_eq(tg_ledger_fold_due(w), 0);

	/* A reader of its own sees them... */
	cr_assert_eq(records_in(w), 3);
	cr_assert_eq(tg_policy_parse("tag:team=a,day,usd=10,warn,name=a", &p, NULL, 0), 0);
	cr_assert_eq(tg_ledger_spend(w, &p, T0 + 10, &s), 0);
	cr_assert_eq(s.calls, 3);
	cr_assert_float_eq(s.usd, 0.75, 1e-9);
	/* ...and so does another process's handle. */
	cr_assert_eq(tg_ledger_open(&r, dir, TG_LEDGER_RDONLY), 0);
	cr_assert_eq(records_in(r), 3);
	cr_assert_eq(tg_ledger_spend(r, &p, T0 + 10, &s), 0);
	cr_assert_eq(s.calls, 3);

	/* The fold commits them once and removes the spool. */
	cr_assert_eq(tg_ledger_try_fold(w), 0);
	cr_assert_eq(tg_ledger_pending(w), 0);
	cr_assert_eq(spool_files(dir), 0);
	cr_assert_eq(records_in(r), 3);
	cr_assert_eq(tg_ledger_spend(r, &p, T0 + 10, &s), 0);
	cr_assert_eq(s.calls, 3);
	verify_clean(r, 3);
	tg_ledger_close(r);
	tg_ledger_close(w);
	tgt_rmtree(dir);
}

Test(handoff, a_fold_is_due_at_a_count_or_an_age)
{
	char dir[64];
	struct tg_ledger *w;

	tgt_tmpdir(dir, sizeof dir, "tg-handoff");
	cr_assert_eq(tg_ledger_open(&w, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL | TG_LEDGER_HANDOFF),
	             0);
	for (int i = 0; i < TG_FOLD_RECORDS - 1; i++) {
		struct tg_record x = rec(T0 + i, "gpt-4o", "");
		cr_assert_eq(tg_ledger_append(w, &x), TG_LEDGER_SPOOLED);
	}
	cr_assert_eq(tg_ledger_fold_due(w), 0);
	struct tg_record last = rec(T0 + 1000, "gpt-4o", "");
	cr_assert_eq(tg_ledger_append(w, &last), TG_LEDGER_SPOOLED);
	cr_assert_eq(tg_ledger_fold_due(w), 1);
	cr_assert_eq(tg_ledger_try_fold(w), 0);
	cr_assert_eq(tg_ledger_fold_due(w), 0);

	struct tg_record one = rec(T0 + 2000, "gpt-4o", "");
	cr_assert_eq(tg_ledger_append(w, &one), TG_LEDGER_SPOOLED);
	cr_assert_eq(tg_ledger_fold_due(w), 0);
	usleep((TG_FOLD_AGE_MS + 50) * 1000);
	cr_assert_eq(tg_ledger_fold_due(w), 1);
	cr_assert_eq(tg_ledger_try_fold(w), 0);
	verify_clean(w, TG_FOLD_RECORDS + 1);
	tg_ledger_close(w);
	tgt_rmtree(dir);
}

Test(handoff, a_fold_never_waits_for_a_held_lock_and_loses_nothing)
{
	char dir[64];
	struct tg_ledger *holder, *w;

	tgt_tmpdir(dir, sizeof dir, "tg-handoff");
	cr_assert_eq(tg_ledger_open(&holder, dir, TG_LEDGER_CREATE), 0);
	cr_assert_eq(tg_ledger_open(&w, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL | TG_LEDGER_HANDOFF),
	             0);
	struct tg_record x = rec(T0, "gpt-4o", "");
	cr_assert_eq(tg_ledger_append(w, &x), TG_LEDGER_SPOOLED);
	cr_assert_eq(tgl_writer_lock(holder, 0, 0), 0);
	cr_assert_eq(tg_ledger_try_fold(w), TG_ELOCKED);
	cr_assert_eq(tg_ledger_pending(w), 1);
	tgl_writer_unlock(holder);
	/* Any writer folds every spool: the holder's next write takes ours. */
	cr_assert_eq(tg_ledger_fold(holder, NULL, NULL), 0);
	cr_assert_eq(records_in(holder), 1);
	/* Ours, folded by the holder, is applied once when we fold it again. */
	cr_assert_eq(tg_ledger_try_fold(w), 0);
	cr_assert_eq(tg_ledger_pending(w), 0);
	verify_clean(holder, 1);
	tg_ledger_close(w);
	tg_ledger_close(holder);
	tgt_rmtree(dir);
}

/* Two writers whose records interleave in time, one of them older than
 * what the ledger holds: the fold puts them in key order, appending where
 * it can, and the result is what one commit per record would have made. */
Test(handoff, records_out_of_order_fold_to_the_same_ledger_as_commits)
{
	char dir[64], ref[64];
	struct tg_ledger *a, *b, *c;
	static const char *const models[] = { "gpt-4o", "gpt-4o-mini", "o3" };
	static const char *const tags[] = { "team=a", "team=b,user=x", "" };

	tgt_tmpdir(dir, sizeof dir, "tg-handoff");
	tgt_tmpdir(ref, sizeof ref, "tg-commit");
	cr_assert_eq(tg_ledger_open(&a, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL | TG_LEDGER_HANDOFF),
	             0);
	cr_assert_eq(tg_ledger_open(&b, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL | TG_LEDGER_HANDOFF),
	             0);
	cr_assert_eq(tg_ledger_open(&c, ref, TG_LEDGER_CREATE), 0);
	for (int i = 0; i < 600; i++) {
		/* b writes an hour behind a; every 7th record is a day old. */
		int64_t ts = T0 + (int64_t)i * 1000000 - (i % 2 ? 3600000000LL : 0) -
		             (i % 7 == 0 ? 86400000000LL : 0);
		struct tg_record x = rec(ts, models[i % 3], tags[i % 3]);
		cr_assert_eq(tg_ledger_append(i % 2 ? b : a, &x), TG_LEDGER_SPOOLED);
		cr_assert_eq(tg_ledger_append(c, &x), 0);
		if (i == 300)
			cr_assert_eq(tg_ledger_try_fold(a), 0);   /* folds b's so far too */
	}
	cr_assert_eq(tg_ledger_try_fold(b), 0);
	cr_assert_eq(tg_ledger_try_fold(a), 0);
	verify_clean(a, 600);

	/* Every total equals the one of the ledger written a commit each. */
	for (int m = 0; m < 3; m++) {
		char line[128];
		struct tg_policy p;
		struct tg_spend s1, s2;

		snprintf(line, sizeof line, "model:%s,month,usd=1,warn,name=m", models[m]);
		cr_assert_eq(tg_policy_parse(line, &p, NULL, 0), 0);
		cr_assert_eq(tg_ledger_spend(a, &p, T0 + 600000000, &s1), 0);
		cr_assert_eq(tg_ledger_spend(c, &p, T0 + 600000000, &s2), 0);
		cr_assert_eq(s1.calls, s2.calls);
		cr_assert_eq(s1.tokens, s2.tokens);
		cr_assert_float_eq(s1.usd, s2.usd, 1e-9);
	}
	tg_ledger_close(a);
	tg_ledger_close(b);
	tg_ledger_close(c);
	tgt_rmtree(dir);
	tgt_rmtree(ref);
}

struct mid_fold {
	struct tg_ledger *folder;
	int seen;
};

static int count_spooled(void *ctx, const unsigned char key[16], const struct tg_record *r,
                         const char *family)
{
	(void)key;
	((struct mid_fold *)ctx)->seen++;
	return 0;
}

/* A read whose snapshot began, then another process's fold commits and
 * deletes its spool, then the read looks at the spools. */
static int read_across_a_fold(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	struct mid_fold *m = ctx;

	cr_assert_eq(tg_ledger_try_fold(m->folder), 0);
	return tgl_spooled_each(l, txn, count_spooled, m);
}

Test(handoff, a_fold_during_a_read_hides_no_record_from_it)
{
	char dir[64];
	struct tg_ledger *w, *r;
	struct mid_fold m;

	tgt_tmpdir(dir, sizeof dir, "tg-handoff");
	cr_assert_eq(tg_ledger_open(&w, dir, TG_LEDGER_CREATE | TG_LEDGER_SPOOL | TG_LEDGER_HANDOFF),
	             0);
	cr_assert_eq(tg_ledger_open(&r, dir, TG_LEDGER_RDONLY), 0);
	for (int i = 0; i < 5; i++) {
		struct tg_record x = rec(T0 + i, "gpt-4o", "");
		cr_assert_eq(tg_ledger_append(w, &x), TG_LEDGER_SPOOLED);
	}
	m.folder = w;
	m.seen = 0;
	/* The snapshot does not have the records, the spool is gone by the
	 * time the body looks: only the files opened before it began can
	 * still show them. */
	cr_assert_eq(tgl_ledger_read_spooled(r, read_across_a_fold, &m), 0);
	cr_assert_eq(spool_files(dir), 0);
	cr_assert_eq(m.seen, 5, "%d of 5 records seen across the fold", m.seen);
	/* Budget spend reads the same way (spool_cache.c). */
	struct tg_policy p;
	struct tg_spend s;
	cr_assert_eq(tg_policy_parse("global,day,usd=10,warn,name=g", &p, NULL, 0), 0);
	cr_assert_eq(tg_ledger_spend(r, &p, T0 + 10, &s), 0);
	cr_assert_eq(s.calls, 5);
	tg_ledger_close(r);
	tg_ledger_close(w);
	tgt_rmtree(dir);
}
