/* sslbench.c - cost of libtokenguard.so on a program's TLS calls.
 *
 * Runs TLS exchanges between a client and a server SSL object connected by
 * an in-memory BIO pair, so that the numbers measure the SSL calls and what
 * the shim adds to them, not a network.  bench/run.sh runs it with and
 * without LD_PRELOAD and prints the ratios.
 *
 * usage: sslbench SNI EXCHANGES BODY_BYTES
 *   SNI         server name the client sends (a provider or not)
 *   EXCHANGES   HTTP/1.1 request/response pairs on one connection
 *   BODY_BYTES  size of each response body (an OpenAI chat completion JSON
 *               padded with content)
 * Prints: "<ns per exchange> <ns per SSL call>".
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/tls_selfsigned.h"

static void die(const char *what)
{
	fprintf(stderr, "sslbench: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

/* Moves bytes between the two ends until neither wants to; returns the
 * number of bytes read into buf by `reader`. */
static size_t read_all(SSL *reader, char *buf, size_t want, long *calls)
{
	size_t got = 0;
	while (got < want) {
		int n = SSL_read(reader, buf + got, (int)(want - got));
		(*calls)++;
		if (n <= 0)
			die("SSL_read");
		got += (size_t)n;
	}
	return got;
}

static void write_all(SSL *writer, const char *buf, size_t len, long *calls)
{
	size_t off = 0;
	while (off < len) {
		int chunk = len - off > 16384 ? 16384 : (int)(len - off);
		int n = SSL_write(writer, buf + off, chunk);
		(*calls)++;
		if (n <= 0)
			die("SSL_write");
		off += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: sslbench SNI EXCHANGES BODY_BYTES\n");
		return 2;
	}
	const char *sni = argv[1];
	long exchanges = atol(argv[2]);
	size_t body_bytes = (size_t)atol(argv[3]);

	SSL_CTX *sctx = tg_selfsigned_server_ctx("bench");
	if (!sctx)
		die("server context");
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *server = SSL_new(sctx), *client = SSL_new(cctx);
	BIO *cb, *sb;
	if (!BIO_new_bio_pair(&cb, 1 << 20, &sb, 1 << 20))
		die("BIO pair");
	SSL_set_bio(client, cb, cb);
	SSL_set_bio(server, sb, sb);
	SSL_set_tlsext_host_name(client, sni);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	int done_c = 0, done_s = 0;
	for (int i = 0; i < 100 && !(done_c && done_s); i++) {
		done_c = SSL_do_handshake(client) == 1;
		done_s = SSL_do_handshake(server) == 1;
	}
	if (!done_c || !done_s)
		die("handshake");

	static const char request_body[] =
		"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
	char request[512];
	int reqlen = snprintf(request, sizeof request,
		"POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer sk-bench\r\n"
		"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		sni, sizeof request_body - 1, request_body);

	static const char head[] = "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\","
		"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":"
		"{\"role\":\"assistant\",\"content\":\"";
	static const char tail[] = "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,"
		"\"completion_tokens\":12,\"total_tokens\":21}}";
	size_t pad = body_bytes > sizeof head + sizeof tail ? body_bytes - sizeof head - sizeof tail + 2 : 0;
	size_t blen = sizeof head - 1 + pad + sizeof tail - 1;
	char *response = malloc(blen + 256), *buf = malloc(blen + 256);
	int hl = sprintf(response, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                 "x-request-id: req_bench\r\nContent-Length: %zu\r\n\r\n", blen);
	memcpy(response + hl, head, sizeof head - 1);
	memset(response + hl + sizeof head - 1, 'x', pad);
	memcpy(response + hl + sizeof head - 1 + pad, tail, sizeof tail - 1);
	size_t rlen = (size_t)hl + blen;

	long calls = 0, server_calls = 0;
	double worst = 0;
	struct timespec t0, t1, e0, e1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < exchanges; i++) {
		clock_gettime(CLOCK_MONOTONIC, &e0);
		write_all(client, request, (size_t)reqlen, &calls);
		read_all(server, buf, (size_t)reqlen, &server_calls);
		write_all(server, response, rlen, &server_calls);
		read_all(client, buf, rlen, &calls);
		clock_gettime(CLOCK_MONOTONIC, &e1);
		double one = (double)(e1.tv_sec - e0.tv_sec) * 1e9 + (double)(e1.tv_nsec - e0.tv_nsec);
		if (one > worst)
			worst = one;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	/* ns per exchange, ns per SSL call, ns of the slowest exchange */
	printf("%.0f %.0f %.0f\n", ns / (double)exchanges, ns / (double)(calls + server_calls), worst);

	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	free(response);
	free(buf);
	return 0;
}
