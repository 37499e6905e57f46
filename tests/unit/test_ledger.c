/* test_ledger.c - the record encoding and the LMDB ledger: round trips,
 * damaged input, growth, concurrency across threads and processes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "ledger.h"
#include "record_codec.h"

static void sample(struct tg_record *r, int64_t ts, int i)
{
	memset(r, 0, sizeof *r);
	r->ts_us = ts;
	r->latency_ms = 1234;
	r->ttft_ms = -1;
	r->counts.input = 1000 + i;
	r->counts.output = 50;
	r->counts.cached_input = 200;
	r->counts.cache_creation = 0;
	r->counts.cache_creation_5m = TG_COUNT_UNKNOWN;
	r->counts.cache_creation_1h = TG_COUNT_UNKNOWN;
	r->counts.reasoning = 7;
	r->cost_usd = 0.00123;
	r->pid = 4242;
	r->status = 200;
	r->flags = TG_REC_STREAM;
	snprintf(r->provider, sizeof r->provider, "openai");
	snprintf(r->host, sizeof r->host, "api.openai.com");
	snprintf(r->endpoint, sizeof r->endpoint, "/v1/chat/completions");
	snprintf(r->model, sizeof r->model, "gpt-4o-2024-08-06");
	snprintf(r->process, sizeof r->process, "python3");
	snprintf(r->tags, sizeof r->tags, "team=search,env=prod");
	snprintf(r->request_id, sizeof r->request_id, "req_%d", i);
	snprintf(r->requested_model, sizeof r->requested_model, "gpt-4o");
	snprintf(r->policy, sizeof r->policy, "team-daily");
	snprintf(r->operation, sizeof r->operation, "chat");
	snprintf(r->error, sizeof r->error, "overloaded_error");
	snprintf(r->machine, sizeof r->machine, "worker-3.eu");
}

static int encode(const struct tg_record *r, unsigned char *buf)
{
	int n = tg_record_encode(r, buf, TG_RECORD_ENC_MAX);

	cr_assert_gt(n, 0);
	return n;
}

/* ---- encoding ---- */

Test(record, round_trips_every_field)
{
	unsigned char buf[TG_RECORD_ENC_MAX];
	struct tg_record in, out;
	int n;

	sample(&in, 1763800391123456, 3);
	in.counts.cache_creation_5m = 10;
	in.counts.cache_creation_1h = INT64_MAX;
	in.counts.input = INT64_MIN;
	in.flags = 0xffffffffu;
	in.status = INT32_MIN;
	in.response_id[0] = '\0';
	n = encode(&in, buf);
	cr_assert_eq(tg_record_decode(&out, buf, (size_t)n), 0);
	cr_assert_eq(memcmp(&in, &out, sizeof in), 0);
}

Test(record, round_trips_text_fields_at_full_length)
{
	unsigned char buf[TG_RECORD_ENC_MAX];
	struct tg_record in, out;

	sample(&in, 1, 0);
	memset(in.host, 'h', sizeof in.host - 1);
	memset(in.tags, 't', sizeof in.tags - 1);
	memset(in.model, 'm', sizeof in.model - 1);
	memset(in.provider, 'p', sizeof in.provider - 1);
	memset(in.endpoint, 'e', sizeof in.endpoint - 1);
	memset(in.process, 'c', sizeof in.process - 1);
	memset(in.request_id, 'q', sizeof in.request_id - 1);
	memset(in.response_id, 'r', sizeof in.response_id - 1);
	memset(in.requested_model, 'M', sizeof in.requested_model - 1);
	memset(in.policy, 'P', sizeof in.policy - 1);
	memset(in.operation, 'o', sizeof in.operation - 1);
	memset(in.error, 'x', sizeof in.error - 1);
	memset(in.machine, 'w', sizeof in.machine - 1);
	cr_assert_eq(tg_record_decode(&out, buf, (size_t)encode(&in, buf)), 0);
	cr_assert_eq(memcmp(&in, &out, sizeof in), 0);
}

Test(record, refuses_a_buffer_that_is_too_small)
{
	unsigned char buf[16];
	struct tg_record r;

	sample(&r, 1, 0);
	cr_assert_eq(tg_record_encode(&r, buf, sizeof buf), TG_EINVAL);
}

Test(record, gives_absent_fields_their_defaults)
{
	unsigned char v[] = { 1 };
	struct tg_record r;

	cr_assert_eq(tg_record_decode(&r, v, sizeof v), 0);
	cr_assert_eq(r.counts.input, TG_COUNT_UNKNOWN);
	cr_assert_eq(r.counts.reasoning, TG_COUNT_UNKNOWN);
	cr_assert_eq(r.latency_ms, -1);
	cr_assert_eq(r.ttft_ms, -1);
	cr_assert_str_eq(r.model, "");
}

Test(record, skips_tags_it_does_not_know)
{
	/* version, unknown tag 99 with 3 bytes, then status (13) = zigzag(200) */
	unsigned char v[] = { 1, 99, 3, 'x', 'y', 'z', 13, 2, 0x90, 0x03 };
	struct tg_record r;

	cr_assert_eq(tg_record_decode(&r, v, sizeof v), 0);
	cr_assert_eq(r.status, 200);
}

Test(record, reads_requested_model_and_policy_from_tags_28_and_29)
{
	unsigned char v[] = { 1, 28, 6, 'g', 'p', 't', '-', '4', 'o', 29, 5, 'd', 'a', 'i', 'l', 'y' };
	struct tg_record r;

	cr_assert_eq(tg_record_decode(&r, v, sizeof v), 0);
	cr_assert_str_eq(r.requested_model, "gpt-4o");
	cr_assert_str_eq(r.policy, "daily");
}

Test(record, reads_the_operation_from_tag_30)
{
	unsigned char v[] = { 1, 30, 10, 'e', 'm', 'b', 'e', 'd', 'd', 'i', 'n', 'g', 's' };
	struct tg_record r;

	cr_assert_eq(tg_record_decode(&r, v, sizeof v), 0);
	cr_assert_str_eq(r.operation, "embeddings");
}

Test(record, reads_the_error_from_tag_31)
{
	unsigned char v[] = { 1, 14, 2, 0x84, 0x02, 31, 12,
	                      's', 'e', 'r', 'v', 'e', 'r', '_', 'e', 'r', 'r', 'o', 'r' };
	struct tg_record r;

	cr_assert_eq(tg_record_decode(&r, v, sizeof v), 0);
	cr_assert_eq(r.flags, TG_REC_STREAM_ERROR | TG_REC_INCOMPLETE);
	cr_assert_str_eq(r.error, "server_error");
}

Test(record, reads_a_record_written_before_the_error_field_as_without_error)
{
	unsigned char v[] = { 1, 30, 4, 'c', 'h', 'a', 't' };
	struct tg_record r;

	cr_assert_eq(tg_record_decode(&r, v, sizeof v), 0);
	cr_assert_str_eq(r.operation, "chat");
	cr_assert_str_eq(r.error, "");
}

Test(record, reports_every_truncation_as_corrupt_or_a_clean_prefix)
{
	unsigned char buf[TG_RECORD_ENC_MAX];
	struct tg_record in, out;
	int n;

	sample(&in, 1763800391123456, 1);
	n = encode(&in, buf);
	for (int cut = 0; cut < n; cut++) {
		int rc = tg_record_decode(&out, buf, (size_t)cut);

		cr_assert(rc == 0 || rc == TG_ECORRUPT, "cut %d gave %d", cut, rc);
	}
	cr_assert_eq(tg_record_decode(&out, buf, 0), TG_ECORRUPT);
}

Test(record, rejects_malformed_fields)
{
	struct tg_record r;
	unsigned char zero_version[] = { 0 };
	unsigned char newer[] = { 2, 1, 1, 0 };
	unsigned char nul_in_text[] = { 1, 23, 3, 'a', 0, 'b' };
	unsigned char long_len[] = { 1, 23, 0x80, 0x80, 0x01, 'a' };
	unsigned char bad_cost[] = { 1, 11, 4, 0, 0, 0, 0 };
	unsigned char int_with_slack[] = { 1, 13, 2, 0x02, 0x00 };
	unsigned char pid_too_big[] = { 1, 12, 5, 0xff, 0xff, 0xff, 0xff, 0x7f };
	unsigned char endless_varint[] = { 1, 4, 11, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	unsigned char tag_zero[] = { 1, 0, 0 };

	cr_assert_eq(tg_record_decode(&r, zero_version, sizeof zero_version), TG_ECORRUPT);
	cr_assert_eq(tg_record_decode(&r, newer, sizeof newer), TG_ESCHEMA);
	cr_assert_eq(tg_record_decode(&r, nul_in_text, sizeof nul_in_text), TG_ECORRUPT);
	cr_assert_eq(tg_record_decode(&r, long_len, sizeof long_len), TG_ECORRUPT);
	cr_assert_eq(tg_record_decode(&r, bad_cost, sizeof bad_cost), TG_ECORRUPT);
	cr_assert_eq(tg_record_decode(&r, int_with_slack, sizeof int_with_slack), TG_ECORRUPT);
	cr_assert_eq(tg_record_decode(&r, pid_too_big, sizeof pid_too_big), TG_ECORRUPT);
	cr_assert_eq(tg_record_decode(&r, endless_varint, sizeof endless_varint), TG_ECORRUPT);
	cr_assert_eq(tg_record_decode(&r, tag_zero, sizeof tag_zero), TG_ECORRUPT);
}

Test(record, cuts_overlong_text_at_a_utf8_boundary)
{
	unsigned char v[2 + 2 + TG_PROVIDER_MAX + 8];
	struct tg_record r;
	size_t len = TG_PROVIDER_MAX + 4, i = 0;

	v[i++] = 1;
	v[i++] = 20;
	v[i++] = (unsigned char)len;
	/* 'a' x (MAX-2), then a 3-byte character straddling the cut */
	memset(v + i, 'a', TG_PROVIDER_MAX - 2);
	i += TG_PROVIDER_MAX - 2;
	memcpy(v + i, "\xe2\x82\xac" "bbb", 6);
	i += 6;
	cr_assert_eq(tg_record_decode(&r, v, i), 0);
	cr_assert_eq(strlen(r.provider), TG_PROVIDER_MAX - 2);
}

Test(record, survives_random_bytes)
{
	unsigned char v[256];
	struct tg_record r;
	unsigned seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof v);

		for (size_t i = 0; i < n; i++)
			v[i] = (unsigned char)rand_r(&seed);
		if (n)
			v[0] = 1;
		int rc = tg_record_decode(&r, v, n);
		cr_assert(rc == 0 || rc == TG_ECORRUPT);
	}
}

Test(record, sets_every_count_unknown)
{
	struct tg_counts c;

	memset(&c, 0, sizeof c);
	tg_counts_unknown(&c);
	cr_assert_eq(c.input, -1);
	cr_assert_eq(c.output, -1);
	cr_assert_eq(c.cached_input, -1);
	cr_assert_eq(c.cache_creation, -1);
	cr_assert_eq(c.cache_creation_5m, -1);
	cr_assert_eq(c.cache_creation_1h, -1);
	cr_assert_eq(c.reasoning, -1);
}

/* ---- ledger ---- */

struct collect {
	int n;
	int stop_at;
	int64_t ts[4096];
	int64_t input[4096];
};

static int collect(void *ctx, const struct tg_record *r)
{
	struct collect *c = ctx;

	if (c->n < 4096) {
		c->ts[c->n] = r->ts_us;
		c->input[c->n] = r->counts.input;
	}
	c->n++;
	return c->stop_at && c->n == c->stop_at ? 7 : 0;
}

static int count_records(const char *dir)
{
	struct tg_ledger *l;
	struct collect *c = calloc(1, sizeof *c);
	int n;

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), 0);
	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, collect, c), 0);
	tg_ledger_close(l);
	n = c->n;
	free(c);
	return n;
}

Test(ledger, appends_and_scans_in_time_order)
{
	char dir[64];
	struct tg_ledger *l;
	struct tg_record r;
	struct collect *c = calloc(1, sizeof *c);
	int64_t ts[] = { 3000, 1000, 2000, 1000, 5000 };

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	for (int i = 0; i < 5; i++) {
		sample(&r, ts[i], i);
		cr_assert_eq(tg_ledger_append(l, &r), 0);
	}
	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, collect, c), 0);
	cr_assert_eq(c->n, 5);
	for (int i = 1; i < 5; i++)
		cr_assert_leq(c->ts[i - 1], c->ts[i]);
	/* same timestamp: insertion order kept by the sequence */
	cr_assert_eq(c->input[0], 1001);
	cr_assert_eq(c->input[1], 1003);

	memset(c, 0, sizeof *c);
	cr_assert_eq(tg_ledger_scan(l, 1000, 3000, collect, c), 0);
	cr_assert_eq(c->n, 3, "since is inclusive, until exclusive");

	memset(c, 0, sizeof *c);
	c->stop_at = 2;
	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, collect, c), 7);
	cr_assert_eq(c->n, 2);

	tg_ledger_close(l);
	free(c);
	tgt_rmtree(dir);
}

Test(ledger, creates_private_directory_and_files)
{
	char dir[64], sub[128], path[160];
	struct tg_ledger *l;
	struct stat st;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	snprintf(sub, sizeof sub, "%s/a/b/tokenguard", dir);
	cr_assert_eq(tg_ledger_open(&l, sub, TG_LEDGER_CREATE), 0);
	tg_ledger_close(l);
	cr_assert_eq(stat(sub, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof path, "%s/data.mdb", sub);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0077, 0);
	tgt_rmtree(dir);
}

Test(ledger, read_only_open_creates_nothing)
{
	char dir[64], sub[128];
	struct tg_ledger *l;
	struct stat st;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	snprintf(sub, sizeof sub, "%s/nope", dir);
	cr_assert_eq(tg_ledger_open(&l, sub, TG_LEDGER_RDONLY), TG_ENOENT);
	cr_assert_null(l);
	cr_assert_neq(stat(sub, &st), 0);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), TG_ENOENT);
	cr_assert_eq(tg_ledger_open(&l, dir, 0), TG_ENOENT);
	cr_assert_eq(rmdir(dir), 0, "the directory must still be empty");
}

Test(ledger, read_only_handle_refuses_to_append)
{
	char dir[64];
	struct tg_ledger *l;
	struct tg_record r;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	tg_ledger_close(l);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), 0);
	sample(&r, 1, 0);
	cr_assert_eq(tg_ledger_append(l, &r), TG_EINVAL);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

Test(ledger, rejects_conflicting_flags_and_negative_times)
{
	char dir[64];
	struct tg_ledger *l;
	struct tg_record r;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY | TG_LEDGER_CREATE), TG_EINVAL);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	sample(&r, -5, 0);
	cr_assert_eq(tg_ledger_append(l, &r), TG_EINVAL);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

Test(ledger, reports_permission_denied_on_a_read_only_directory)
{
	char dir[64], sub[128];
	struct tg_ledger *l;

	if (geteuid() == 0)
		cr_skip_test("root ignores directory permissions");
	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(chmod(dir, 0500), 0);
	snprintf(sub, sizeof sub, "%s/tokenguard", dir);
	cr_assert_eq(tg_ledger_open(&l, sub, TG_LEDGER_CREATE), TG_EACCES);
	chmod(dir, 0700);
	tgt_rmtree(dir);
}

Test(ledger, reports_a_garbage_data_file_as_corrupt)
{
	char dir[64], path[128];
	struct tg_ledger *l;
	unsigned char junk[8192];
	unsigned seed = 7;
	FILE *f;

	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)rand_r(&seed);
	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	cr_assert_not_null(f = fopen(path, "wb"));
	fwrite(junk, 1, sizeof junk, f);
	fclose(f);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), TG_ECORRUPT);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), TG_ECORRUPT);
	cr_assert_eq(tg_ledger_open(&l, dir, 0), TG_ECORRUPT);
	tgt_rmtree(dir);
}

/* Writes straight through LMDB, as another program (or damage) would. */
static void raw_put(const char *dir, const char *db, const void *k, size_t kn,
                    const void *v, size_t vn)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };

	cr_assert_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	cr_assert_eq(mdb_put(txn, dbi, &key, &val, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

Test(ledger, refuses_an_lmdb_environment_that_is_not_a_ledger)
{
	char dir[64];
	struct tg_ledger *l;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	raw_put(dir, NULL, "k", 1, "v", 1);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), TG_ECORRUPT);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), TG_ECORRUPT);
	tgt_rmtree(dir);
}

Test(ledger, refuses_a_ledger_from_a_newer_version)
{
	char dir[64];
	struct tg_ledger *l;
	unsigned char v99[4] = { 0, 0, 0, 99 };

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	tg_ledger_close(l);
	raw_put(dir, "meta", "schema", 6, v99, 4);
	cr_assert_eq(tg_ledger_open(&l, dir, 0), TG_ESCHEMA);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), TG_ESCHEMA);
	cr_assert_str_eq(tg_strerror(TG_ESCHEMA),
	                 "ledger written by a newer tokenguard; "
	                 "upgrade tokenguard, or use a separate ledger directory for this version");
	tgt_rmtree(dir);
}

Test(ledger, surfaces_a_corrupt_value_as_an_error)
{
	char dir[64];
	struct tg_ledger *l;
	struct tg_record r;
	struct collect *c = calloc(1, sizeof *c);
	unsigned char key[16] = { 0, 0, 0, 0, 0, 0, 0x27, 0x10 };  /* ts 10000 */
	unsigned char junk[] = { 1, 23, 200, 'x' };

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	sample(&r, 5000, 0);
	cr_assert_eq(tg_ledger_append(l, &r), 0);
	tg_ledger_close(l);
	raw_put(dir, "records", key, sizeof key, junk, sizeof junk);

	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), 0);
	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, collect, c), TG_ECORRUPT);
	cr_assert_eq(c->n, 1, "records before the damage are delivered");
	tg_ledger_close(l);
	free(c);
	tgt_rmtree(dir);
}

Test(ledger, surfaces_a_malformed_key_as_an_error)
{
	char dir[64];
	struct tg_ledger *l;
	struct collect *c = calloc(1, sizeof *c);
	unsigned char v[] = { 1 };

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	tg_ledger_close(l);
	raw_put(dir, "records", "short", 5, v, 1);
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_RDONLY), 0);
	cr_assert_eq(tg_ledger_scan(l, 0, INT64_MAX, collect, c), TG_ECORRUPT);
	tg_ledger_close(l);
	free(c);
	tgt_rmtree(dir);
}

Test(ledger, grows_the_map_from_a_tiny_start)
{
	char dir[64];
	struct tg_ledger *l;
	struct tg_record r;
	struct tg_ledger_opts o = { .map_initial = 128 << 10, .map_max = 64 << 20 };

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open_ex(&l, dir, TG_LEDGER_CREATE, &o), 0);
	for (int i = 0; i < 3000; i++) {
		sample(&r, 1000 + i, i);
		memset(r.tags, 'x', 300);
		cr_assert_eq(tg_ledger_append(l, &r), 0, "append %d", i);
	}
	tg_ledger_close(l);
	cr_assert_eq(count_records(dir), 3000);
	tgt_rmtree(dir);
}

Test(ledger, reports_full_when_the_map_cap_is_reached)
{
	char dir[64];
	struct tg_ledger *l;
	struct tg_record r;
	struct tg_ledger_opts o = { .map_initial = 128 << 10, .map_max = 256 << 10 };
	int rc = 0, i;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open_ex(&l, dir, TG_LEDGER_CREATE, &o), 0);
	for (i = 0; i < 10000 && rc == 0; i++) {
		sample(&r, 1000 + i, i);
		memset(r.tags, 'x', 400);
		rc = tg_ledger_append(l, &r);
	}
	cr_assert_eq(rc, TG_EFULL);
	cr_assert_gt(i, 100);
	tg_ledger_close(l);
	cr_assert_eq(count_records(dir), i - 1, "every acknowledged append is kept");
	tgt_rmtree(dir);
}

static const char *proc_dir;

static void child_appends(int id)
{
	struct tg_ledger *l;
	struct tg_record r;
	/* 1,600 commits in all, each with its fdatasync: on a loaded machine
	 * under the sanitizers one child can wait its turn longer than the
	 * CLI's 3 s (flock is not fair).  What this test is about is that no
	 * acknowledged record is lost, so the wait is made long. */
	struct tg_ledger_opts o = { .map_initial = 256 << 10, .lock_wait_ms = 120000 };

	if (tg_ledger_open_ex(&l, proc_dir, TG_LEDGER_CREATE, &o) != 0)
		_exit(10);
	for (int i = 0; i < 200; i++) {
		sample(&r, 1000000 + i, id * 1000 + i);  /* same timestamps in every child */
		r.pid = getpid();
		if (tg_ledger_append(l, &r) != 0)
			_exit(11);
	}
	tg_ledger_close(l);
	_exit(0);
}

Test(ledger, keeps_every_record_from_eight_concurrent_processes)
{
	char dir[64];
	pid_t kids[8];
	int status;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	proc_dir = dir;
	for (int i = 0; i < 8; i++) {
		kids[i] = fork();
		cr_assert_geq(kids[i], 0);
		if (kids[i] == 0)
			child_appends(i);
	}
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(waitpid(kids[i], &status, 0), kids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		          "child %d status %d", i, status);
	}
	cr_assert_eq(count_records(dir), 1600);
	tgt_rmtree(dir);
}

struct thread_arg {
	struct tg_ledger *l;
	int id;
	int failures;
};

static void *thread_appends(void *p)
{
	struct thread_arg *a = p;
	struct tg_record r;

	for (int i = 0; i < 100; i++) {
		sample(&r, 42, a->id * 1000 + i);
		if (tg_ledger_append(a->l, &r) != 0)
			a->failures++;
	}
	return NULL;
}

Test(ledger, keeps_every_record_from_concurrent_threads)
{
	char dir[64];
	struct tg_ledger *l;
	pthread_t t[4];
	struct thread_arg a[4];
	struct tg_ledger_opts o = { .map_initial = 128 << 10 };

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open_ex(&l, dir, TG_LEDGER_CREATE, &o), 0);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct thread_arg){ l, i, 0 };
		cr_assert_eq(pthread_create(&t[i], NULL, thread_appends, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(a[i].failures, 0);
	}
	tg_ledger_close(l);
	cr_assert_eq(count_records(dir), 400);
	tgt_rmtree(dir);
}

Test(ledger, refuses_a_handle_inherited_across_fork)
{
	char dir[64];
	struct tg_ledger *l;
	struct tg_record r;
	pid_t pid;
	int status;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	pid = fork();
	if (pid == 0) {
		struct tg_ledger *mine = NULL;
		int ok;

		sample(&r, 1, 0);
		ok = tg_ledger_append(l, &r) == TG_EFORKED;
		tg_ledger_abandon(l);
		ok = ok && tg_ledger_open(&mine, dir, 0) == 0 && tg_ledger_append(mine, &r) == 0;
		tg_ledger_close(mine);
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sample(&r, 2, 0);
	cr_assert_eq(tg_ledger_append(l, &r), 0, "the parent's handle still works");
	tg_ledger_close(l);
	cr_assert_eq(count_records(dir), 2);
	tgt_rmtree(dir);
}

Test(ledger, clears_no_readers_when_none_died)
{
	char dir[64];
	struct tg_ledger *l;
	int dead = -1;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	cr_assert_eq(tg_ledger_reader_check(l, &dead), 0);
	cr_assert_eq(dead, 0);
	tg_ledger_close(l);
	tgt_rmtree(dir);
}

Test(ledger, names_the_problem_and_the_remedy_for_every_code)
{
	for (int rc = TG_ELAST; rc <= TG_EINVAL; rc++)
		cr_assert_not_null(strstr(tg_strerror(rc), "; "), "code %d", rc);
}

Test(ledger, maps_errno_to_the_same_code_wherever_it_comes_from)
{
	static const struct { int e, rc; } map[] = {
		{ 0, 0 }, { ENOENT, TG_ENOENT }, { ENOTDIR, TG_ENOENT }, { EACCES, TG_EACCES },
		{ EPERM, TG_EACCES }, { EROFS, TG_EACCES }, { ENOSPC, TG_EFULL }, { EDQUOT, TG_EFULL },
		{ EFBIG, TG_EFULL }, { ENOMEM, TG_ENOMEM }, { ENAMETOOLONG, TG_ETOOLONG }, { EIO, TG_EIO },
		{ EEXIST, TG_EIO }, { ELIBACC, TG_ENOLIB },
	};
	struct tg_ledger *l;
	char dir[64], path[512];

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		cr_assert_eq(tg_error_from_errno(map[i].e), map[i].rc, "errno %d", map[i].e);
	/* A name longer than any file system allows, met first by mkdir()
	 * (ledger_dir.c) and then by stat() (ledger.c). */
	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	snprintf(path, sizeof path, "%s/%0300d", dir, 0);
	cr_assert_eq(tg_ledger_mkdirs(path), TG_ETOOLONG);
	cr_assert_eq(tg_ledger_open(&l, path, TG_LEDGER_RDONLY), TG_ETOOLONG);
	tgt_rmtree(dir);
}

/* ---- default directory ---- */

Test(ledger_dir, prefers_tokenguard_ledger_then_xdg_then_home)
{
	char buf[256];

	setenv("HOME", "/home/u", 1);
	setenv("XDG_DATA_HOME", "/x/data", 1);
	setenv("TOKENGUARD_LEDGER", "/var/tg", 1);
	cr_assert_eq(tg_ledger_default_dir(buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "/var/tg");
	unsetenv("TOKENGUARD_LEDGER");
	cr_assert_eq(tg_ledger_default_dir(buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "/x/data/tokenguard");
	setenv("XDG_DATA_HOME", "relative/ignored", 1);
	cr_assert_eq(tg_ledger_default_dir(buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "/home/u/.local/share/tokenguard");
	cr_assert_eq(tg_ledger_default_dir(buf, 8), TG_ETOOLONG);
	unsetenv("XDG_DATA_HOME");
	unsetenv("HOME");
	cr_assert_eq(tg_ledger_default_dir(buf, sizeof buf), TG_ENOENT);
}

Test(ledger_dir, mkdirs_refuses_a_path_through_a_file)
{
	char dir[64], path[128];
	FILE *f;

	tgt_tmpdir(dir, sizeof dir, "tg-ledger-test");
	snprintf(path, sizeof path, "%s/file", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fclose(f);
	snprintf(path, sizeof path, "%s/file/sub", dir);
	cr_assert_eq(tg_ledger_mkdirs(path), TG_ENOENT);
	snprintf(path, sizeof path, "%s//x///y/", dir);
	cr_assert_eq(tg_ledger_mkdirs(path), 0);
	tgt_rmtree(dir);
}
