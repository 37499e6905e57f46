/* test_alerts.c - alerts as people and programs receive them
 * (tools/alert_text.c: the sentence, the JSON object, the Slack body, the
 * environment of `alerts --exec`), the alert fields added to the ledger's
 * encoding (an older alert reads back with them unknown), the repeat mark
 * of blocked calls, the unpriced-model alert once per provider, model and
 * day, the scan of alerts after a key, and the in-memory watermark rules
 * `alerts` and `export` share. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/alert_text.h"
#include "fixture.h"
#include "ledger_impl.h"
#include "ledger_watermark.h"

#define NOV22 INT64_C(1795305600000000)  /* 2026-11-22T00:00:00Z */
#define HOUR INT64_C(3600000000)

static struct tg_alert threshold(void)
{
	struct tg_alert a;

	tg_alert_init(&a);
	a.ts_us = NOV22 + 8 * HOUR;
	a.level = TG_ALERT_THRESHOLD;
	snprintf(a.policy, sizeof a.policy, "daily");
	snprintf(a.scope, sizeof a.scope, "global");
	a.window = TG_WIN_DAY;
	a.alert_pct = 50;
	a.repeat = 0;
	a.spend_usd = 2.5;
	a.spend_tokens = 1200;
	a.limit_usd = 4;
	a.window_start_us = NOV22;
	a.pid = 77;
	snprintf(a.process, sizeof a.process, "agent.py");
	snprintf(a.model, sizeof a.model, "gpt-4o");
	snprintf(a.provider, sizeof a.provider, "openai");
	snprintf(a.detail, sizeof a.detail, "alert threshold reached");
	return a;
}

static struct tg_alert unpriced(void)
{
	struct tg_alert a;

	tg_alert_init(&a);
	a.ts_us = NOV22 + 9 * HOUR;
	a.level = TG_ALERT_UNPRICED;
	a.window_start_us = NOV22;
	a.repeat = 0;
	a.pid = 78;
	snprintf(a.process, sizeof a.process, "curl");
	snprintf(a.model, sizeof a.model, "acme-\"x\"");
	snprintf(a.provider, sizeof a.provider, "acme");
	return a;
}

Test(alert_text, a_threshold_says_policy_scope_share_and_who)
{
	struct tg_alert a = threshold();
	char m[TG_ALERT_MESSAGE_MAX];

	tg_alert_message(&a, m, sizeof m);
	cr_assert_str_eq(m, "tokenguard: budget 'daily' (global, day) reached its alert threshold of "
	                 "50%: spent $2.50 of $4.00 (62%); process agent.py (pid 77), model "
	                 "openai/gpt-4o");
	cr_assert_eq(tg_alert_pct(&a), 62);
}

Test(alert_text, a_token_limit_and_an_older_alert_say_only_what_they_hold)
{
	struct tg_alert a = threshold();
	char m[TG_ALERT_MESSAGE_MAX];

	a.level = TG_ALERT_LIMIT;
	a.limit_usd = -1;
	a.limit_tokens = 1000;
	a.scope[0] = a.provider[0] = '\0';
	a.window = a.alert_pct = -1;
	tg_alert_message(&a, m, sizeof m);
	cr_assert_str_eq(m, "tokenguard: budget 'daily' reached its limit: used 1200 of 1000 tokens "
	                 "(120%); process agent.py (pid 77), model gpt-4o");
	tg_alert_message(&a, m, 40);
	cr_assert_eq(strlen(m), 39);
}

Test(alert_text, an_unpriced_model_has_no_policy_and_no_spend)
{
	struct tg_alert a = unpriced();
	char m[TG_ALERT_MESSAGE_MAX], *s = NULL;

	tg_alert_message(&a, m, sizeof m);
	cr_assert_str_eq(m, "tokenguard: acme model \"acme-\"x\"\" has no price: its calls are charged "
	                 "to budgets at an estimate; add it to the price file; process curl (pid 78)");
	CAPTURE(s, tg_alert_json(f, NULL, &a));
	cr_assert_str_eq(s, "{\"ts\":\"2026-11-22T09:00:00.000Z\",\"policy\":null,\"level\":\"unpriced\","
	                 "\"spend_usd\":null,\"spend_tokens\":null,\"limit_usd\":null,"
	                 "\"limit_tokens\":null,\"window_start\":\"2026-11-22T00:00:00.000Z\",\"pid\":78,"
	                 "\"process\":\"curl\",\"model\":\"acme-\\\"x\\\"\",\"detail\":null,"
	                 "\"provider\":\"acme\",\"scope\":null,\"window\":null,\"alert_pct\":null,"
	                 "\"pct\":null,\"repeat\":false,\"message\":\"tokenguard: acme model "
	                 "\\\"acme-\\\"x\\\"\\\" has no price: its calls are charged to budgets at an "
	                 "estimate; add it to the price file; process curl (pid 78)\"}");
	free(s);
	CAPTURE(s, tg_alert_slack(f, &a));
	cr_assert_str_eq(s, "{\"text\":\"tokenguard: acme model \\\"acme-\\\"x\\\"\\\" has no price: its "
	                 "calls are charged to budgets at an estimate; add it to the price file; "
	                 "process curl (pid 78)\"}");
	free(s);
}

Test(alert_text, the_json_of_a_threshold_has_its_id)
{
	struct tg_alert a = threshold();
	unsigned char key[16];
	char *s = NULL;

	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)(0xa0 + i);
	CAPTURE(s, tg_alert_json(f, key, &a));
	cr_assert_str_eq(s, "{\"ts\":\"2026-11-22T08:00:00.000Z\",\"policy\":\"daily\","
	                 "\"level\":\"threshold\",\"spend_usd\":2.5,\"spend_tokens\":1200,"
	                 "\"limit_usd\":4,\"limit_tokens\":null,"
	                 "\"window_start\":\"2026-11-22T00:00:00.000Z\",\"pid\":77,"
	                 "\"process\":\"agent.py\",\"model\":\"gpt-4o\","
	                 "\"detail\":\"alert threshold reached\",\"provider\":\"openai\","
	                 "\"scope\":\"global\",\"window\":\"day\",\"alert_pct\":50,\"pct\":62,"
	                 "\"repeat\":false,\"message\":\"tokenguard: budget 'daily' (global, day) "
	                 "reached its alert threshold of 50%: spent $2.50 of $4.00 (62%); process "
	                 "agent.py (pid 77), model openai/gpt-4o\","
	                 "\"id\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\"}");
	free(s);
}

static void free_vars(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
}

Test(alert_env, every_field_the_alert_holds_and_nothing_else)
{
	struct tg_alert a = threshold();
	unsigned char key[16] = { 0, 6, 0x60, 0xd8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1 };
	char *v[TG_ALERT_ENV_MAX];
	static const char *const want[] = {
		"TOKENGUARD_ALERT_KIND=threshold",
		"TOKENGUARD_ALERT_POLICY=daily",
		"TOKENGUARD_ALERT_SCOPE=global",
		"TOKENGUARD_ALERT_WINDOW=day",
		"TOKENGUARD_ALERT_WINDOW_START=2026-11-22T00:00:00.000Z",
		"TOKENGUARD_ALERT_LIMIT_USD=4",
		"TOKENGUARD_ALERT_SPEND_USD=2.5",
		"TOKENGUARD_ALERT_SPEND_TOKENS=1200",
		"TOKENGUARD_ALERT_PCT=62",
		"TOKENGUARD_ALERT_THRESHOLD=50",
		"TOKENGUARD_ALERT_MODEL=gpt-4o",
		"TOKENGUARD_ALERT_PROVIDER=openai",
		"TOKENGUARD_ALERT_PROCESS=agent.py",
		"TOKENGUARD_ALERT_PID=77",
		"TOKENGUARD_ALERT_TIME=2026-11-22T08:00:00.000Z",
		"TOKENGUARD_ALERT_DETAIL=alert threshold reached",
		"TOKENGUARD_ALERT_MESSAGE=tokenguard: budget 'daily' (global, day) reached its alert "
		"threshold of 50%: spent $2.50 of $4.00 (62%); process agent.py (pid 77), model "
		"openai/gpt-4o",
		"TOKENGUARD_ALERT_ID=000660d8000000000000000700000001",
	};
	int n = tg_alert_env(key, &a, v);

	cr_assert_eq(n, (int)(sizeof want / sizeof want[0]));
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(v[i], want[i]);
	free_vars(v, n);
}

Test(alert_env, an_unknown_field_has_no_variable)
{
	struct tg_alert a = unpriced();
	char *v[TG_ALERT_ENV_MAX];
	int n = tg_alert_env(NULL, &a, v);
	static const char *const want[] = {
		"TOKENGUARD_ALERT_KIND=unpriced",
		"TOKENGUARD_ALERT_WINDOW_START=2026-11-22T00:00:00.000Z",
		"TOKENGUARD_ALERT_MODEL=acme-\"x\"",
		"TOKENGUARD_ALERT_PROVIDER=acme",
		"TOKENGUARD_ALERT_PROCESS=curl",
		"TOKENGUARD_ALERT_PID=78",
		"TOKENGUARD_ALERT_TIME=2026-11-22T09:00:00.000Z",
	};

	cr_assert_eq(n, 8, "%d variables", n);   /* and the message */
	for (int i = 0; i < 7; i++)
		cr_assert_str_eq(v[i], want[i]);
	cr_assert(!strncmp(v[7], "TOKENGUARD_ALERT_MESSAGE=tokenguard: acme model", 46));
	free_vars(v, n);
}

/* ---- the ledger's side ---- */

Test(alert_codec, the_added_fields_round_trip_and_an_older_alert_has_them_unknown)
{
	struct tg_alert a = threshold(), b;
	unsigned char buf[4096];
	size_t n = tgl_alert_encode(&a, buf), tail;

	cr_assert_eq(tgl_alert_decode(buf, n, &b), 0);
	cr_assert_str_eq(b.scope, "global");
	cr_assert_str_eq(b.provider, "openai");
	cr_assert(b.window == TG_WIN_DAY && b.alert_pct == 50 && b.repeat == 0);
	/* What a writer before these fields wrote ends after the detail. */
	tail = 2 + strlen(a.provider) + 2 + strlen(a.scope) + 3;
	cr_assert_eq(tgl_alert_decode(buf, n - tail, &b), 0);
	cr_assert(b.provider[0] == 0 && b.scope[0] == 0);
	cr_assert(b.window == -1 && b.alert_pct == -1 && b.repeat == -1);
	cr_assert_str_eq(b.detail, "alert threshold reached");
	/* Cut inside a string of the tail: damaged. */
	cr_assert_eq(tgl_alert_decode(buf, n - tail + 3, &b), TG_ECORRUPT);
}

struct keyed {
	unsigned char key[8][16];
	struct tg_alert a[8];
	int n;
};

static int keep(void *ctx, const unsigned char key[16], const struct tg_alert *a)
{
	struct keyed *k = ctx;

	if (k->n < 8) {
		memcpy(k->key[k->n], key, 16);
		k->a[k->n] = *a;
	}
	k->n++;
	return 0;
}

Test(alert_ledger, blocked_calls_after_the_first_of_a_window_are_repeats)
{
	char dir[256];
	struct tg_ledger *l;
	struct tg_alert a = threshold(), u = unpriced();
	struct keyed *k = calloc(1, sizeof *k);

	cr_assert_not_null(tgt_tmpdir(dir, sizeof dir, "tg-alerts"));
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	a.level = TG_ALERT_BLOCKED;
	for (int i = 0; i < 3; i++, a.ts_us += 1000)
		cr_assert_eq(tg_ledger_alert_add(l, &a), 0);
	a.window_start_us = NOV22 + 24 * HOUR;   /* the next day: a first again */
	cr_assert_eq(tg_ledger_alert_add(l, &a), 0);
	a.window_start_us = -1;                  /* a session's: its process says */
	a.repeat = 1;
	cr_assert_eq(tg_ledger_alert_add(l, &a), 0);
	/* An unpriced model: once per provider, model and day, no policy. */
	cr_assert_eq(tg_ledger_alert_once(l, &u), 1);
	cr_assert_eq(tg_ledger_alert_once(l, &u), 0);
	snprintf(u.provider, sizeof u.provider, "other");
	cr_assert_eq(tg_ledger_alert_once(l, &u), 1);
	cr_assert_eq(tg_ledger_alerts_after(l, NULL, 0, keep, k), 0);
	cr_assert_eq(k->n, 7);
	int want[] = { 0, 1, 1, 0, 1 };
	for (int i = 0; i < 5; i++)
		cr_assert_eq(k->a[i].repeat, want[i], "alert %d: repeat %d", i, k->a[i].repeat);
	cr_assert(k->a[5].level == TG_ALERT_UNPRICED && !strcmp(k->a[5].provider, "acme"));
	cr_assert(k->a[6].level == TG_ALERT_UNPRICED && !strcmp(k->a[6].provider, "other"));
	/* After a key: the ones that follow it only. */
	unsigned char from[16];
	memcpy(from, k->key[4], 16);
	k->n = 0;
	cr_assert_eq(tg_ledger_alerts_after(l, from, 1, keep, k), 0);
	cr_assert_eq(k->n, 2);
	cr_assert_eq(k->a[0].level, TG_ALERT_UNPRICED);
	/* An alert of no policy that is not an unpriced model's is refused. */
	a.policy[0] = '\0';
	cr_assert_eq(tg_ledger_alert_add(l, &a), TG_EINVAL);
	tg_ledger_close(l);
	tgt_rmtree(dir);
	free(k);
}

Test(watermark, delivered_passed_and_looked_back_at)
{
	struct tg_watermark m = { 0 };
	unsigned char k1[16], k2[16], k3[16], from[16];

	tg_key_at(NOV22 + 2 * HOUR - 1, k1);
	k1[15] = 1;
	tg_key_at(NOV22 + 3 * HOUR, k2);
	k2[15] = 1;
	tg_key_at(NOV22 + 3 * HOUR + 1, k3);
	k3[15] = 1;
	tg_watermark_scan_from(&m, from);
	cr_assert_eq(tg_key_ts(from), 0);
	cr_assert_eq(tg_watermark_advance(&m, k1, 1), 0);
	cr_assert(tg_watermark_delivered(&m, k1));
	cr_assert(!tg_watermark_delivered(&m, k2));
	/* Passed over: the mark moves, k2 is not counted delivered, and k1,
	 * more than an hour before, is dropped from the recent keys. */
	tg_watermark_pass(&m, k2);
	cr_assert(!memcmp(m.key, k2, 16));
	cr_assert_eq(m.nrecent, 0);
	cr_assert(!tg_watermark_delivered(&m, k2));
	tg_watermark_scan_from(&m, from);
	cr_assert_eq(tg_key_ts(from), NOV22 + 2 * HOUR);
	cr_assert_eq(tg_watermark_advance(&m, k3, 1), 0);
	cr_assert(tg_watermark_delivered(&m, k3) && !memcmp(m.key, k3, 16));
	tg_watermark_pass(&m, k2);   /* behind the mark: nothing moves */
	cr_assert(!memcmp(m.key, k3, 16) && m.nrecent == 1);
	tg_watermark_free(&m);
}
