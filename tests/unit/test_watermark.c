/* test_watermark.c - the ledger's export watermarks
 * (ledger/ledger_watermark.c): absent, stored, read back; the scan after
 * a key; a repair keeping them. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "ledger_verify.h"
#include "ledger_watermark.h"

/* The watermark: absent, stored, read back; the scan after it gives only
 * the later records; a repair keeps it. */
static int collect(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	int64_t *ts = ctx;

	(void)key;
	for (; *ts; ts++)
		;
	*ts = r->ts_us;
	return 0;
}

static int last_key(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	(void)r;
	memcpy(ctx, key, 16);
	return 0;
}

Test(otlp, watermark_scan_after_and_repair)
{
	char dir[256];
	struct tg_ledger *l;
	unsigned char key[16], got[16];
	int64_t ts[8] = { 0 };
	struct tg_repair out;
	unsigned char *recent = (unsigned char *)"", two[32];
	size_t nrecent = 1;
	int has = 1;

	cr_assert_not_null(tgt_tmpdir(dir, sizeof dir, "tg-otlp"));
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	for (int i = 1; i <= 3; i++) {
		struct tg_record r = tgt_record(i * 1000, "openai", "gpt-4.1", "t", "", 1, 1, 0, 0);

		tgt_put_record(l, &r);
	}
	cr_assert_eq(tg_ledger_watermark_get(l, "otlp", key, &has, &recent, &nrecent), 0);
	cr_assert_eq(has, 0);
	cr_assert(recent == NULL && nrecent == 0);
	/* The key of the second record: scan the first two. */
	{
		struct tg_record r = tgt_record(4000, "openai", "gpt-4.1", "t", "", 1, 1, 0, 0);
		int n = 0;

		cr_assert_eq(tg_ledger_scan_after(l, key, 0, collect, ts), 0);
		for (; ts[n]; n++)
			;
		cr_assert_eq(n, 3);
		memset(ts, 0, sizeof ts);
		tgt_put_record(l, &r);
	}
	cr_assert_eq(tg_ledger_scan_after(l, key, 0, last_key, key), 0);  /* the last: 4000 */
	memcpy(two, key, 16);
	memcpy(two + 16, key, 16);
	two[15] = 1;
	cr_assert_eq(tg_ledger_watermark_put(l, "otlp", key, two, 2), 0);
	cr_assert_eq(tg_ledger_scan_after(l, key, 1, collect, ts), 0);
	cr_assert_eq(ts[0], 0, "nothing after the last key, got %lld", (long long)ts[0]);
	tg_ledger_close(l);

	cr_assert_eq(tg_ledger_repair(dir, NULL, 1, 1000, &out), 0);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), 0);
	cr_assert_eq(tg_ledger_watermark_get(l, "otlp", got, &has, &recent, &nrecent), 0);
	cr_assert_eq(has, 1, "repair dropped the watermark");
	cr_assert(!memcmp(got, key, 16));
	cr_assert_eq(nrecent, 2, "repair dropped the recent keys");
	cr_assert(!memcmp(recent, two, 32));
	free(recent);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}
