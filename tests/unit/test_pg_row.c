/* test_pg_row.c - a record as a row of the fleet's PostgreSQL table and
 * back (tools/pg_row.c), without a server: unknown counts stay NULL, text
 * reaches the server as valid UTF-8, tags go as written and as jsonb; and
 * the delivery loop sync and export share (tools/deliver.c): batches, a
 * failed send that moves nothing, a late record delivered once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../tools/deliver.h"
#include "fixture.h"
#include "../../tools/pg_row.h"

/* The row's values as the SELECT gives them back: ts in microseconds. */
static void read_back(const struct tg_pg_row *row, int64_t ts_us, const char *value[],
                      char ts[32])
{
	for (int i = 0; i < TG_PG_READ_COLS; i++)
		value[i] = row->value[i];
	snprintf(ts, 32, "%lld", (long long)ts_us);
	value[TG_PG_TS] = ts;
}

Test(pg_row, unknown_counts_are_null_and_come_back_unknown)
{
	struct tg_record r = tgt_record(1764189289123456LL, "openai", "gpt-4o", "", "", 0, 0, 0.5, 0);
	struct tg_record back;
	struct tg_pg_row row;
	const char *value[TG_PG_READ_COLS];
	char ts[32], id[TG_PG_ID_MAX], machine[64];

	tg_counts_unknown(&r.counts);
	r.counts.input = 0;   /* known zero is not unknown */
	r.latency_ms = -1;
	r.ttft_ms = -1;
	r.flags = TG_REC_USAGE_UNKNOWN | TG_REC_COST_ESTIMATE;
	tg_pg_row_encode(&r, "0123456789abcdef-00", "web-1", &row);
	cr_assert_str_eq(row.value[TG_PG_INPUT], "0");
	cr_assert_null(row.value[TG_PG_OUTPUT]);
	cr_assert_null(row.value[TG_PG_CACHED_INPUT]);
	cr_assert_null(row.value[TG_PG_REASONING]);
	cr_assert_null(row.value[TG_PG_LATENCY]);
	cr_assert_null(row.value[TG_PG_TTFT]);
	cr_assert_null(row.value[TG_PG_REQUEST_ID]);
	cr_assert_str_eq(row.value[TG_PG_TS], "2025-11-26 20:34:49.123456+00");
	cr_assert_str_eq(row.value[TG_PG_FLAGS], "520");
	read_back(&row, r.ts_us, value, ts);
	cr_assert_eq(tg_pg_row_decode(value, &back, id, machine, sizeof machine), 0);
	cr_assert_str_eq(id, "0123456789abcdef-00");
	cr_assert_str_eq(machine, "web-1");
	cr_assert_eq(back.ts_us, r.ts_us);
	cr_assert_eq(back.counts.input, 0);
	cr_assert_eq(back.counts.output, TG_COUNT_UNKNOWN);
	cr_assert_eq(back.counts.cache_creation_1h, TG_COUNT_UNKNOWN);
	cr_assert_eq(back.latency_ms, -1);
	cr_assert_eq(back.ttft_ms, -1);
	cr_assert_eq(back.flags, r.flags);
	cr_assert_eq(back.cost_usd, 0.5);
}

Test(pg_row, every_field_round_trips)
{
	struct tg_record r = tgt_record(86400000000LL * 365 + 7, "anthropic", "claude-sonnet-4-5",
	                                "", "", 1234, 56, 0.1 + 0.2, 0);
	struct tg_record back;
	struct tg_pg_row row;
	const char *value[TG_PG_READ_COLS];
	char ts[32];

	r.counts.cached_input = 1000;
	r.counts.cache_creation = 200;
	r.counts.cache_creation_5m = 150;
	r.counts.cache_creation_1h = 50;
	r.counts.reasoning = 7;
	r.latency_ms = 812;
	r.ttft_ms = 95;
	r.pid = 4242;
	r.status = 200;
	r.flags = TG_REC_STREAM | TG_REC_DOWNGRADED;
	strcpy(r.host, "api.anthropic.com");
	strcpy(r.endpoint, "/v1/messages");
	strcpy(r.process, "agent.py");
	strcpy(r.tags, "team=search,user=h:00ff,team=other");
	strcpy(r.request_id, "req_1");
	strcpy(r.response_id, "msg_1");
	strcpy(r.requested_model, "claude-opus-4");
	strcpy(r.policy, "cheap");
	strcpy(r.operation, "chat");
	strcpy(r.error, "overloaded_error");
	tg_pg_row_encode(&r, "id", "m", &row);
	/* jsonb keeps a key's last value: the first is sent, as readers take it. */
	cr_assert_str_eq(row.value[TG_PG_TAGS_JSON], "{\"team\":\"search\",\"user\":\"h:00ff\"}");
	cr_assert_str_eq(row.value[TG_PG_TAGS_TEXT], r.tags);
	read_back(&row, r.ts_us, value, ts);
	cr_assert_eq(tg_pg_row_decode(value, &back, NULL, NULL, 0), 0);
	cr_assert_eq(memcmp(&back.counts, &r.counts, sizeof r.counts), 0);
	cr_assert_eq(back.cost_usd, r.cost_usd, "the double comes back exactly");
	cr_assert_eq(back.latency_ms, 812);
	cr_assert_eq(back.ttft_ms, 95);
	cr_assert_eq(back.pid, 4242);
	cr_assert_eq(back.status, 200);
	cr_assert_eq(back.flags, r.flags);
	cr_assert_str_eq(back.provider, r.provider);
	cr_assert_str_eq(back.model, r.model);
	cr_assert_str_eq(back.host, r.host);
	cr_assert_str_eq(back.endpoint, r.endpoint);
	cr_assert_str_eq(back.process, r.process);
	cr_assert_str_eq(back.tags, r.tags);
	cr_assert_str_eq(back.request_id, r.request_id);
	cr_assert_str_eq(back.response_id, r.response_id);
	cr_assert_str_eq(back.requested_model, r.requested_model);
	cr_assert_str_eq(back.policy, r.policy);
	cr_assert_str_eq(back.operation, r.operation);
	cr_assert_str_eq(back.error, r.error);
}

Test(pg_row, invalid_utf8_is_replaced_and_json_escaped)
{
	struct tg_record r = tgt_record(1, "openai", "gpt-\xff\xc3", "", "", 1, 1, 0, 0);
	struct tg_pg_row row;

	strcpy(r.process, "caf\xc3\xa9");
	strcpy(r.tags, "note=a\"b\\c");
	tg_pg_row_encode(&r, "id", "m\x80", &row);
	cr_assert_str_eq(row.value[TG_PG_MODEL], "gpt-??");
	cr_assert_str_eq(row.value[TG_PG_PROCESS], "caf\xc3\xa9");
	cr_assert_str_eq(row.value[TG_PG_MACHINE], "m?");
	cr_assert_str_eq(row.value[TG_PG_TAGS_JSON], "{\"note\":\"a\\\"b\\\\c\"}");
}

Test(pg_row, a_value_out_of_its_range_does_not_decode)
{
	struct tg_record r = tgt_record(5, "openai", "gpt-4o", "", "", 1, 1, 0, 0), back;
	struct tg_pg_row row;
	const char *value[TG_PG_READ_COLS];
	char ts[32];

	tg_pg_row_encode(&r, "id", "m", &row);
	read_back(&row, r.ts_us, value, ts);
	value[TG_PG_PID] = "99999999999";
	cr_assert_eq(tg_pg_row_decode(value, &back, NULL, NULL, 0), -1);
	read_back(&row, r.ts_us, value, ts);
	value[TG_PG_OUTPUT] = "-3";
	cr_assert_eq(tg_pg_row_decode(value, &back, NULL, NULL, 0), -1);
	read_back(&row, r.ts_us, value, ts);
	value[TG_PG_TS] = NULL;
	cr_assert_eq(tg_pg_row_decode(value, &back, NULL, NULL, 0), -1);
}

/* A receiver that takes batches, or refuses them while fail is set. */
struct receiver {
	int64_t got[16];
	int ngot, pending, sends, fail;
	int64_t pending_ts[16];
};

static int rx_add(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	struct receiver *x = ctx;

	(void)key;
	if (!strcmp(r->model, "skip"))
		return 1;
	x->pending_ts[x->pending++] = r->ts_us;
	return 0;
}

static int rx_send(void *ctx, int n)
{
	struct receiver *x = ctx;

	cr_assert_eq(n, x->pending);
	x->sends++;
	if (!x->fail)
		for (int i = 0; i < n; i++)
			x->got[x->ngot++] = x->pending_ts[i];
	x->pending = 0;
	return x->fail ? 7 : 0;
}

static int64_t deliver_all(struct tg_ledger *l, struct receiver *x, int *rc)
{
	const struct tg_deliver d = { "test", 2, rx_add, rx_send, x };
	enum tg_deliver_stage stage;
	struct tg_watermark m;
	int64_t sent = 0;

	cr_assert_eq(tg_watermark_load(l, "test", &m), 0);
	*rc = tg_deliver(l, &d, &m, &sent, &stage);
	if (*rc == 7)
		cr_assert_eq(stage, TG_DELIVER_SEND);
	tg_watermark_free(&m);
	return sent;
}

Test(deliver, batches_failures_and_late_records_each_once)
{
	struct receiver x = { 0 };
	struct tg_ledger *l;
	struct tg_record r;
	char dir[256];
	int rc;

	tgt_tmpdir(dir, sizeof dir, "deliver");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	for (int i = 1; i <= 5; i++) {
		r = tgt_record(1000000LL * 3600 * 10 + i, "openai", i == 3 ? "skip" : "gpt-4o", "",
		                "", 1, 1, 0, 0);
		tgt_put_record(l, &r);
	}
	x.fail = 1;
	cr_assert_eq(deliver_all(l, &x, &rc), 0);
	cr_assert_eq(rc, 7, "the receiver's failure is returned");
	cr_assert_eq(x.ngot, 0);
	x.fail = 0;
	cr_assert_eq(deliver_all(l, &x, &rc), 4);
	cr_assert_eq(rc, 0);
	cr_assert_eq(x.sends, 1 + 2, "two batches of 2 after the failed one");
	cr_assert_eq(x.ngot, 4);
	/* Nothing new: nothing sent. */
	cr_assert_eq(deliver_all(l, &x, &rc), 0);
	cr_assert_eq(x.ngot, 4);
	/* Committed late, before the watermark: delivered, once. */
	r = tgt_record(1000000LL * 3600 * 10 + 2, "openai", "gpt-4o", "", "", 1, 1, 0, 0);
	tgt_put_record(l, &r);
	cr_assert_eq(deliver_all(l, &x, &rc), 1);
	cr_assert_eq(deliver_all(l, &x, &rc), 0);
	cr_assert_eq(x.ngot, 5);
	cr_assert_eq(x.got[4], r.ts_us);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}
