/* instr_driver.c - provider exchanges driven through the shim's core, for
 * counting instructions with callgrind (bench/instr.sh).
 *
 * The driver is linked with the shim's objects except the hook layer and
 * plays the hooks' part: it hands the connection layer (shim/conn.h) the
 * bytes a program would write and read on one HTTP/1.1 connection to
 * api.openai.com, through a fake SSL object.  Everything the shim does per
 * exchange runs: connection lookup, HTTP/1.1 framing, the budget gate, the
 * request scan, the usage parse, the record, pricing and the sink.  Built
 * with -Wl,--wrap=tg_ledger_append_scoped the sink's ledger write becomes a
 * no-op (the record hand-off excluded); built without it, records go to
 * the ledger in $TOKENGUARD_LEDGER.
 *
 * The response bytes are made before the measured regions, so what is
 * counted is the shim's work plus the driver's loop around its calls.  With
 * "base" as the first argument the same loop runs with the shim's calls
 * left out: bench/instr.sh subtracts that.
 *
 * usage: instr_driver shim|base EXCHANGES SSE_BYTES
 * Under callgrind (--collect-atstart=no) it dumps three profiles, in order:
 *   first   tg_config_load and the first 1 KB JSON exchange of the process
 *   json    EXCHANGES more 1 KB JSON exchanges
 *   sse     one exchange whose SSE response body is SSE_BYTES long
 * and prints the byte counts instr.sh divides by.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

#include "config.h"
#include "conn.h"
#include "gate.h"
#include "ledger.h"

/* The fake SSL object: only its address matters to the shim. */
static int fake_ssl;

static const char *ops_servername(void *ssl) { (void)ssl; return "api.openai.com"; }
static int ops_peer_port(void *ssl) { (void)ssl; return 443; }
static int ops_zero(void *ssl) { (void)ssl; return 0; }

static const struct tg_ssl_ops ops = {
	.servername = ops_servername,
	.peer_port = ops_peer_port,
	.alpn_is_h2 = ops_zero,
	.is_server = ops_zero,
	.partial_writes = ops_zero,
	.memory_bio = ops_zero,
};

static int shim_on;

/* What a hooked SSL_write does around the real write. */
static void program_write(const char *buf, size_t len)
{
	struct tg_write_plan plan;

	if (!shim_on)
		return;
	tg_conn_write_begin(&fake_ssl, buf, len, &plan);
	tg_conn_write_end(&plan, len, 0);
}

/* What a hooked SSL_read does around the real read: the bytes "arrive" in
 * the program's buffer. */
static void program_read(char *dst, const char *src, size_t len)
{
	struct tg_read_plan plan;

	if (shim_on)
		tg_conn_read_begin(&fake_ssl, dst, len, &plan);
	memcpy(dst, src, len);
	if (shim_on)
		tg_conn_read_end(&plan, dst, len, 0);
}

struct msg {
	char *buf;
	size_t len;
	size_t *reads;    /* lengths of the reads the response arrives in */
	size_t nreads;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "instr_driver: out of memory\n");
		exit(2);
	}
	return p;
}

static const char request_body[] =
	"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
	"\"Explain in one sentence why the sky is blue.\"}],\"max_tokens\":200}";

static void make_request(struct msg *m, int stream)
{
	const char *body = request_body;
	char sbody[sizeof request_body + 64];

	if (stream) {
		snprintf(sbody, sizeof sbody, "%.*s,\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
		         (int)(sizeof request_body - 2), request_body);
		body = sbody;
	}
	m->buf = xmalloc(1024);
	m->len = (size_t)snprintf(m->buf, 1024,
		"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		"Authorization: Bearer sk-bench\r\nContent-Type: application/json\r\n"
		"Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	m->reads = NULL;
	m->nreads = 0;
}

/* A chat completion of exactly 1024 body bytes, read in one piece. */
static void make_json_response(struct msg *m)
{
	static const char head[] =
		"{\"id\":\"chatcmpl-BZ3lU1vDRpHs0fLLzcA3mbKEMWtUq\",\"object\":\"chat.completion\","
		"\"created\":1747922100,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
		"\"message\":{\"role\":\"assistant\",\"content\":\"";
	static const char tail[] =
		"\",\"refusal\":null,\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
		"\"usage\":{\"prompt_tokens\":27,\"completion_tokens\":23,\"total_tokens\":50,"
		"\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
		"\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
		"\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},"
		"\"service_tier\":\"default\",\"system_fingerprint\":\"fp_b3f1157249\"}";
	size_t pad = 1024 - (sizeof head - 1) - (sizeof tail - 1);
	char body[1025];
	size_t n = 0;

	memcpy(body, head, sizeof head - 1);
	n += sizeof head - 1;
	for (size_t i = 0; i < pad; i++)
		body[n++] = "Sunlight scatters off air molecules. "[i % 37];
	memcpy(body + n, tail, sizeof tail);
	m->buf = xmalloc(2048);
	m->len = (size_t)snprintf(m->buf, 2048,
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n"
		"x-request-id: req_0123456789abcdef\r\nopenai-processing-ms: 412\r\n\r\n%s", body);
	m->reads = xmalloc(sizeof *m->reads);
	m->reads[0] = m->len;
	m->nreads = 1;
}

/* An OpenAI chat completion stream of about sse_bytes body bytes: one
 * HTTP chunk per event, each read on its own, as a streaming client reads
 * them; the last event carries the usage.  Returns the SSE bytes. */
static size_t make_sse_response(struct msg *m, size_t sse_bytes)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
	                           "Transfer-Encoding: chunked\r\nx-request-id: req_0123456789abcdef\r\n\r\n";
	static const char words[][12] = { "Rayleigh", " scattering", " makes", " the", " sky", " look",
	                                  " blue", " because", " shorter", " waves", " scatter", " more" };
	static const char usage_event[] =
		"data: {\"id\":\"chatcmpl-BZ3nq7cT0Y8hWkQ2rP9xVb4LmN6sJ\",\"object\":\"chat.completion.chunk\","
		"\"created\":1747922211,\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\","
		"\"system_fingerprint\":\"fp_34a54ae93c\",\"choices\":[],\"usage\":{\"prompt_tokens\":27,"
		"\"completion_tokens\":4000,\"total_tokens\":4027,\"prompt_tokens_details\":{\"cached_tokens\":0,"
		"\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
		"\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}\n\n";
	static const char done_event[] = "data: [DONE]\n\n";
	size_t cap = sse_bytes + sse_bytes / 4 + 4096, events = 0, sse = 0;
	int usage_sent = 0;
	char event[512];

	m->buf = xmalloc(cap);
	m->reads = xmalloc((sse_bytes / 200 + 8) * sizeof *m->reads);
	memcpy(m->buf, head, sizeof head - 1);
	m->len = sizeof head - 1;
	m->reads[0] = m->len;
	m->nreads = 1;
	for (;;) {
		int n;

		if (sse + sizeof usage_event + sizeof done_event < sse_bytes)
			n = snprintf(event, sizeof event,
				"data: {\"id\":\"chatcmpl-BZ3nq7cT0Y8hWkQ2rP9xVb4LmN6sJ\",\"object\":\"chat.completion.chunk\","
				"\"created\":1747922211,\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\","
				"\"system_fingerprint\":\"fp_34a54ae93c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
				"\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
				words[events % 12]);
		else
			n = snprintf(event, sizeof event, "%s", usage_sent++ ? done_event : usage_event);
		size_t start = m->len;
		m->len += (size_t)sprintf(m->buf + m->len, "%x\r\n", n);
		memcpy(m->buf + m->len, event, (size_t)n);
		m->len += (size_t)n;
		memcpy(m->buf + m->len, "\r\n", 2);
		m->len += 2;
		m->reads[m->nreads++] = m->len - start;
		sse += (size_t)n;
		events++;
		if (strcmp(event, done_event) == 0)
			break;
	}
	memcpy(m->buf + m->len, "0\r\n\r\n", 5);
	m->len += 5;
	m->reads[m->nreads++] = 5;
	return sse;
}

static char read_buf[1 << 16];

static void exchange(const struct msg *req, const struct msg *resp)
{
	const char *p = resp->buf;

	program_write(req->buf, req->len);
	for (size_t i = 0; i < resp->nreads; i++) {
		program_read(read_buf, p, resp->reads[i]);
		p += resp->reads[i];
	}
}

int main(int argc, char **argv)
{
	struct msg req, sreq, resp, sresp;
	long exchanges;
	size_t sse_bytes;

	if (argc != 4 || (strcmp(argv[1], "shim") && strcmp(argv[1], "base"))) {
		fprintf(stderr, "usage: instr_driver shim|base EXCHANGES SSE_BYTES\n");
		return 2;
	}
	shim_on = strcmp(argv[1], "shim") == 0;
	exchanges = atol(argv[2]);
	make_request(&req, 0);
	make_request(&sreq, 1);
	make_json_response(&resp);
	sse_bytes = make_sse_response(&sresp, (size_t)atol(argv[3]));

	/* What the hook layer does once per process (shim/hooks.c init()),
	 * then the process's first exchange. */
	CALLGRIND_TOGGLE_COLLECT;
	if (shim_on) {
		tg_config_load();
		tg_gate_configure(tg_config_get()->budgets, tg_config_get()->fail);
		tg_conn_set_ops(&ops);
	}
	exchange(&req, &resp);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("first");

	CALLGRIND_TOGGLE_COLLECT;
	for (long i = 0; i < exchanges; i++)
		exchange(&req, &resp);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("json");

	CALLGRIND_TOGGLE_COLLECT;
	exchange(&sreq, &sresp);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("sse");

	printf("json_body_bytes 1024\nsse_bytes %zu\nexchanges %ld\n", sse_bytes, exchanges);
	return 0;
}

/* With -Wl,--wrap=tg_ledger_append_scoped: the sink prices and accounts
 * the record as usual, and this takes the place of the ledger write. */
int __wrap_tg_ledger_append_scoped(struct tg_ledger *l, const struct tg_record *r,
                                   const char *model_family);
int __wrap_tg_ledger_append_scoped(struct tg_ledger *l, const struct tg_record *r,
                                   const char *model_family)
{
	(void)l;
	(void)r;
	(void)model_family;
	return 0;
}
