/* seed_ledger.c - writes the seeds of fuzz_ledger and fuzz_record: a small
 * real ledger (data.mdb, and lock.mdb) and the encodings of its records,
 * made by the ledger code itself.  Run by make_corpus.py.
 *
 * Usage: seed_ledger DIR  (DIR: a fresh directory for the ledger; the
 * record encodings go to DIR/record-N). */
#include <stdio.h>
#include <string.h>

#include "ledger.h"
#include "record.h"
#include "record_codec.h"

int main(int argc, char **argv)
{
	static const struct {
		const char *provider, *model, *tags;
		long long in, out;
		unsigned flags;
	} rows[] = {
		{ "openai", "gpt-4o-2024-08-06", "team=search", 1200, 80, TG_REC_STREAM },
		{ "anthropic", "claude-sonnet-4-5", "team=search,env=prod", 5000, 700, 0 },
		{ "openai", "text-embedding-3-small", "", 5120, 0, 0 },
		{ "openai", "gpt-4o", "", -1, -1, TG_REC_USAGE_UNKNOWN | TG_REC_TOO_LARGE },
		{ "gemini", "gemini-2.5-flash", "feature=\xc3\xa9t\xc3\xa9", 30, 9, TG_REC_BLOCKED },
	};
	struct tg_ledger *l;
	char path[512];

	if (argc != 2 || tg_ledger_open(&l, argv[1], TG_LEDGER_CREATE) != 0)
		return 2;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct tg_record r;
		unsigned char enc[TG_RECORD_ENC_MAX];
		int n;
		FILE *f;

		memset(&r, 0, sizeof r);
		tg_counts_unknown(&r.counts);
		r.ts_us = 1795336393000000LL + (long long)i * 1000;
		r.counts.input = rows[i].in;
		r.counts.output = rows[i].out;
		r.cost_usd = rows[i].in > 0 ? rows[i].in * 2.5e-6 : 0;
		r.latency_ms = 250;
		r.ttft_ms = -1;
		r.pid = 4242;
		r.status = 200;
		r.flags = rows[i].flags;
		snprintf(r.provider, sizeof r.provider, "%s", rows[i].provider);
		snprintf(r.host, sizeof r.host, "api.%s.com", rows[i].provider);
		snprintf(r.endpoint, sizeof r.endpoint, "/v1/chat/completions");
		snprintf(r.model, sizeof r.model, "%s", rows[i].model);
		snprintf(r.process, sizeof r.process, "python3");
		snprintf(r.tags, sizeof r.tags, "%s", rows[i].tags);
		snprintf(r.request_id, sizeof r.request_id, "req_%zu", i);
		if (tg_ledger_append(l, &r) != 0)
			return 1;
		n = tg_record_encode(&r, enc, sizeof enc);
		snprintf(path, sizeof path, "%s/record-%zu", argv[1], i);
		if (n <= 0 || !(f = fopen(path, "wb")) || fwrite(enc, 1, (size_t)n, f) != (size_t)n || fclose(f))
			return 1;
	}
	tg_ledger_close(l);
	return 0;
}
