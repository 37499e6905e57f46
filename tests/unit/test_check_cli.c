/* test_check_cli.c - `tokenguard-report check` and the --tag, --provider,
 * --model and --process filters of summary and records, end to end through
 * the built binary (build/tokenguard-report, or $TG_REPORT_BIN).  Skipped
 * when the binary has not been built. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "ledger_impl.h"

#define NOV22 INT64_C(1795305600000000)  /* 2026-11-22T00:00:00Z */
#define HOUR INT64_C(3600000000)

static char dir[64];

static void put(struct tg_ledger *l, int64_t ts, const char *provider, const char *model,
                const char *process, const char *tags, int64_t in, int64_t out, double cost,
                uint32_t flags)
{
	struct tg_record r = tgt_record(ts, provider, model, process, tags, in, out, cost, flags);

	r.pid = 7;
	tgt_put_record(l, &r);
}

static void setup(void)
{
	struct tg_ledger *l;

	tgt_report_bin();  /* skips the test before any work when it is not built */
	tgt_tmpdir(dir, sizeof dir, "tg-check-cli");
	cr_assert_eq(tg_ledger_open(&l, dir, TG_LEDGER_CREATE), 0);
	put(l, NOV22 + HOUR, "openai", "gpt-4o-2024-08-06", "python3", "team=search,env=prod",
	    1000, 100, 0.0123, 0);
	put(l, NOV22 + 2 * HOUR, "anthropic", "claude-sonnet-4-5", "curl", "team=ads", 2000, 200, 0.03, 0);
	put(l, NOV22 + 3 * HOUR, "acme", "mystery-1", "curl", "team=ads", 10, 5, 0, TG_REC_UNPRICED);
	put(l, NOV22 + 4 * HOUR, "openai", "gpt-4o", "python3", "team=search", 0, 0, 0, TG_REC_BLOCKED);
	put(l, NOV22 - 24 * HOUR, "openai", "gpt-4o", "python3", "team=search", 1, 1, 1.0, 0);
	/* two days later, apart from the filters above: no usage, then a
	 * priced call whose output count is unknown */
	put(l, NOV22 + 48 * HOUR, "mistral", "mistral-large", "node", "team=ml", -1, -1, 0,
	    TG_REC_USAGE_UNKNOWN);
	put(l, NOV22 + 49 * HOUR, "mistral", "mistral-large", "node", "team=ml", 40, -1, 0.001, 0);
	tg_ledger_close(l);
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

static int run(const char *args, char *out, size_t n)
{
	return tgt_run_report(NULL, out, n, "%s --ledger %s", args, dir);
}

TestSuite(check_cli, .init = setup, .fini = teardown);

Test(check_cli, exits_0_under_the_limit_with_one_line)
{
	char out[4096];

	cr_assert_eq(run("check --max-usd 0.05 --since 2026-11-22 --tag team=search", out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out, "tokenguard: ok: $0.0123 of $0.05 (24.6%) over 1 call since "
	                 "2026-11-22T00:00:00.000Z\n"
	                 "tokenguard: note: 1 call blocked by a budget policy: never sent, not counted\n");
}

Test(check_cli, exits_1_over_the_limit_with_the_reason)
{
	char out[4096];

	cr_assert_eq(run("check --max-usd 0.04 --since 2026-11-22 --until 2026-11-22", out, sizeof out), 1, "%s", out);
	cr_assert_str_eq(out, "tokenguard: over budget: at least $0.0423 > $0.04 over 3 calls from "
	                 "2026-11-22T00:00:00.000Z until 2026-11-23T00:00:00.000Z\n"
	                 "tokenguard: note: cost unknown for 1 call (1 unpriced, 0 without usage): "
	                 "not in the USD sum\n"
	                 "tokenguard: note: 1 call blocked by a budget policy: never sent, not counted\n");
}

Test(check_cli, checks_tokens_and_the_whole_ledger)
{
	char out[4096];

	cr_assert_eq(run("check --max-tokens 3k --provider anthropic", out, sizeof out), 0, "%s", out);
	cr_assert_str_eq(out, "tokenguard: ok: 2200 of 3000 tokens (73.3%) over 1 call in the whole ledger\n");
	cr_assert_eq(run("check --max-tokens 2000 --max-usd 5 --process curl", out, sizeof out), 1, "%s", out);
	cr_assert_str_eq(out, "tokenguard: over budget: 2215 tokens > 2000 over 2 calls in the whole ledger\n"
	                 "tokenguard: note: cost unknown for 1 call (1 unpriced, 0 without usage): "
	                 "not in the USD sum\n");
	cr_assert_eq(run("check --max-usd 0.5 --model gpt-4o", out, sizeof out), 1, "%s", out);
	cr_assert_not_null(strstr(out, "over budget: $1.0123 > $0.5 over 2 calls"), "%s", out);
}

Test(check_cli, exits_2_on_bad_flags_and_a_required_missing_ledger)
{
	char out[4096];

	cr_assert_eq(run("check", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: check needs a limit; add --max-usd X and/or "
	                 "--max-tokens N\n");
	cr_assert_eq(run("check --max-usd abc", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "--max-usd \"abc\" is not a non-negative number"), "%s", out);
	cr_assert_eq(run("check --max-usd 1 --tag team", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "--tag \"team\" is not KEY=VALUE"), "%s", out);
	cr_assert_eq(run("check --max-usd 1 --by model", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: --by does not apply to check; drop it\n");
	cr_assert_eq(run("check --max-usd 1 extra", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: unexpected argument \"extra\"; see --help\n");
	tgt_rmtree(dir);
	/* No ledger is no spend (a CI job that made no call), unless required. */
	cr_assert_eq(run("check --max-usd 1", out, sizeof out), 0, "%s", out);
	cr_assert_eq(run("check --max-usd 1 --require-ledger", out, sizeof out), 2);
	cr_assert_not_null(strstr(out, "no ledger found"), "%s", out);
}

Test(check_cli, filters_records_and_summary)
{
	char out[8192];

	cr_assert_eq(run("records --format csv --tag team=ads --process curl", out, sizeof out), 0, "%s", out);
	cr_assert_eq(strncmp(strchr(out, '\n') + 1, "2026-11-22T02:00:00.000Z,anthropic,", 35), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\n2026-11-22T03:00:00.000Z,acme,"), "%s", out);
	cr_assert_null(strstr(out, "openai"), "%s", out);
	cr_assert_eq(run("--by provider --format csv --model GPT-4o --tag env=prod", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\r\nopenai,1,1000,"), "%s", out);
	cr_assert_null(strstr(out, "anthropic"), "%s", out);
	cr_assert_eq(run("records --model gpt-4o --format jsonl", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\"blocked\":true,\"downgraded\":false,\"clamped\":false,"
	                          "\"requested_model\":null,\"policy\":null,\"too_large\":false,"
	                          "\"operation\":null,\"error\":null,\"cost_estimated\":false,"), "%s", out);
}

Test(check_cli, strict_exits_1_when_a_cost_is_unknown_with_the_reason_in_the_line)
{
	static const char over[] = "tokenguard: over budget: at least $0.0423 > $0.04 over 3 calls from "
	                           "2026-11-22T00:00:00.000Z until 2026-11-23T00:00:00.000Z; cost "
	                           "unknown for 1 call (1 unpriced, 0 without usage)\n";
	char out[4096];

	cr_assert_eq(run("check --max-usd 0.05 --since 2026-11-22 --until 2026-11-22 --strict", out,
	                 sizeof out), 1, "%s", out);
	cr_assert_str_eq(out, "tokenguard: spend unknown (--strict): at least $0.0423 of $0.05 (84.6%) over "
	                 "3 calls from 2026-11-22T00:00:00.000Z until 2026-11-23T00:00:00.000Z; "
	                 "cost unknown for 1 call (1 unpriced, 0 without usage)\n"
	                 "tokenguard: note: 1 call blocked by a budget policy: never sent, not counted\n");
	cr_assert_eq(run("check --max-usd 0.04 --since 2026-11-22 --until 2026-11-22 --strict", out,
	                 sizeof out), 1, "%s", out);
	cr_assert_eq(strncmp(out, over, sizeof over - 1), 0, "%s", out);
}

Test(check_cli, strict_exits_1_when_a_token_count_is_unknown)
{
	char out[4096];

	cr_assert_eq(run("check --max-tokens 100 --provider mistral --strict", out, sizeof out), 1,
	             "%s", out);
	cr_assert_str_eq(out, "tokenguard: spend unknown (--strict): at least 40 of 100 tokens (40.0%) over "
	                 "2 calls in the whole ledger; cost unknown for 1 call (0 unpriced, 1 without "
	                 "usage); token count unknown for 2 calls\n");
	cr_assert_eq(run("check --max-tokens 100 --provider mistral --since 2026-11-24T01:00:00Z "
	                 "--strict", out, sizeof out), 1, "%s", out);
	cr_assert_str_eq(out, "tokenguard: spend unknown (--strict): at least 40 of 100 tokens (40.0%) over "
	                 "1 call since 2026-11-24T01:00:00.000Z; token count unknown for 1 call\n");
	cr_assert_eq(run("check --max-tokens 100 --provider mistral", out, sizeof out), 0,
	             "without --strict the unknowns are a note: %s", out);
}

Test(check_cli, strict_passes_when_every_cost_and_count_is_known)
{
	char out[4096];

	cr_assert_eq(run("check --max-usd 0.05 --since 2026-11-22 --tag team=search --strict", out,
	                 sizeof out), 0, "%s", out);
	cr_assert_str_eq(out, "tokenguard: ok: $0.0123 of $0.05 (24.6%) over 1 call since "
	                 "2026-11-22T00:00:00.000Z\n"
	                 "tokenguard: note: 1 call blocked by a budget policy: never sent, not counted\n");
	cr_assert_eq(run("records --strict", out, sizeof out), 2);
	cr_assert_str_eq(out, "tokenguard-report: --strict does not apply to records; drop it\n");
}

/* One --tag is read from the hour totals of its scope; the same tag given
 * twice is two conditions, which only the records answer: both ways must
 * print the same, for whole and partial hours, before and after the
 * records, with spooled records in the sums. */
Test(check_cli, prints_the_same_from_totals_as_from_the_records)
{
	static const char *const periods[] = {
		"", "--since 2026-11-22T01:30 --until 2026-11-24T01:00:00.5",
		"--since 2026-11-22T02:00 --until 2026-11-22T05:00", "--until 2026-11-22T03:00:00.001",
		"--since 2026-11-24T00:59 --until 2026-11-24T01:01", "--since 2026-12-01",
	};
	static const char *const tags[] = { "team=search", "team=ads", "team=ml", "env=prod" };
	struct tg_ledger *l, *holder, *spooler;
	char a[4096], b[4096], args[512];

	cr_assert_eq(tg_ledger_open(&l, dir, 0), 0);
	for (int i = 0; i < 60; i++)
		put(l, NOV22 + i * (HOUR / 3) + i, i % 2 ? "openai" : "acme", "gpt-4o", "python3",
		    tags[i % 4], 10 * i, i % 5 ? i : -1, (double)i / 1000,
		    i % 7 ? 0 : TG_REC_UNPRICED);
	tg_ledger_close(l);
	cr_assert_eq(tg_ledger_open(&holder, dir, 0), 0);
	cr_assert_eq(tg_ledger_open(&spooler, dir, TG_LEDGER_SPOOL), 0);
	cr_assert_eq(tgl_writer_lock(holder, 0, 0), 0);
	for (int i = 0; i < 4; i++) {
		struct tg_record r = tgt_record(NOV22 + 5 * HOUR + i, "openai", "gpt-4o", "node",
		                                tags[i], 5, 5, 0.5, 0);

		cr_assert_eq(tg_ledger_append(spooler, &r), TG_LEDGER_SPOOLED);
	}
	for (size_t p = 0; p < sizeof periods / sizeof periods[0]; p++) {
		for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
			snprintf(args, sizeof args, "check --max-usd 0.3 --max-tokens 500 %s --tag %s",
			         periods[p], tags[t]);
			cr_assert_leq(run(args, a, sizeof a), 1);
			snprintf(args, sizeof args, "check --max-usd 0.3 --max-tokens 500 %s --tag %s --tag %s",
			         periods[p], tags[t], tags[t]);
			cr_assert_leq(run(args, b, sizeof b), 1);
			cr_assert_str_eq(a, b, "%s", args);
		}
	}
	tgl_writer_unlock(holder);
	tg_ledger_close(spooler);
	tg_ledger_close(holder);
}

/* records writes the ledger's records from their stored values and the
 * spooled ones from memory: both must come out, in the same spelling, with
 * and without a filter. */
Test(check_cli, lists_spooled_records_like_stored_ones)
{
	struct tg_ledger *holder, *spooler;
	char all[8192], node[4096], stored[4096], spooled[4096];
	struct tg_record r = tgt_record(NOV22 + 5 * HOUR, "openai", "gpt-4o", "node", "team=x",
	                                5, 6, 0.5, 0);

	r.pid = 7;
	/* A record made where TOKENGUARD_MACHINE named the machine; spooled,
	 * it already has the id it keeps once folded. */
	snprintf(r.machine, sizeof r.machine, "node-box");
	cr_assert_eq(run("records --format csv --process python3", stored, sizeof stored), 0);
	cr_assert_eq(tg_ledger_open(&holder, dir, 0), 0);
	cr_assert_eq(tg_ledger_open(&spooler, dir, TG_LEDGER_SPOOL), 0);
	cr_assert_eq(tgl_writer_lock(holder, 0, 0), 0);
	cr_assert_eq(tg_ledger_append(spooler, &r), TG_LEDGER_SPOOLED);
	cr_assert_eq(run("records --format jsonl", all, sizeof all), 0, "%s", all);
	cr_assert_eq(run("records --format jsonl --process node --until 2026-11-23", node,
	                 sizeof node), 0, "%s", node);
	snprintf(spooled, sizeof spooled, "%s", node);
	cr_assert_eq(tgt_mask_ids(node), 1, "%s", node);
	cr_assert_eq(tgt_mask_ids(all), 8, "%s", all);
	cr_assert_str_eq(node, "{\"ts\":\"2026-11-22T05:00:00.000Z\",\"provider\":\"openai\","
	                 "\"host\":\"\",\"endpoint\":\"\",\"model\":\"gpt-4o\",\"status\":0,"
	                 "\"stream\":false,\"input_tokens\":5,\"output_tokens\":6,"
	                 "\"cached_input_tokens\":null,\"cache_creation_input_tokens\":null,"
	                 "\"reasoning_tokens\":null,\"cost_usd\":0.5,\"unpriced\":false,"
	                 "\"latency_ms\":0,\"ttft_ms\":0,\"pid\":7,\"process\":\"node\","
	                 "\"tags\":{\"team\":\"x\"},\"request_id\":null,\"response_id\":null,"
	                 "\"incomplete\":false,\"usage_unknown\":false,\"blocked\":false,"
	                 "\"downgraded\":false,\"clamped\":false,\"requested_model\":null,"
	                 "\"policy\":null,\"too_large\":false,\"operation\":null,\"error\":null,\"cost_estimated\":false,"
	                 "\"machine\":\"node-box\",\"id\":\"ID\"}\n");
	cr_assert(strstr(all, node), "%s", all);
	cr_assert_eq(run("records --format csv --process python3", node, sizeof node), 0);
	cr_assert_str_eq(node, stored);
	tgl_writer_unlock(holder);
	/* folded, it keeps its id */
	cr_assert_eq(tg_ledger_fold(holder, NULL, NULL), 0);
	cr_assert_eq(run("records --format jsonl --process node --until 2026-11-23", node,
	                 sizeof node), 0, "%s", node);
	cr_assert_str_eq(node, spooled);
	tg_ledger_close(spooler);
	tg_ledger_close(holder);
}
