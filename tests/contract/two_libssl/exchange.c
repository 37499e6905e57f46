/* exchange.c - one HTTP/1.1 LLM exchange over an in-memory TLS pair,
 * built into two plugins, each linked against a different copy of libssl
 * (see two_libssl.sh).  Everything but the entry point is static, so each
 * plugin's code uses only its own library. */
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "../../tls_selfsigned.h"

#ifndef ENTRY
#error "define ENTRY, the plugin's entry point"
#endif

static int pump(SSL *from, SSL *to, const char *msg, size_t len)
{
	char buf[4096];
	size_t got = 0;
	if (SSL_write(from, msg, (int)len) != (int)len)
		return -1;
	while (got < len) {
		int n = SSL_read(to, buf, (int)sizeof buf);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

__attribute__((visibility("default"))) int ENTRY(const char *sni, int input_tokens)
{
	SSL_CTX *sctx = tg_selfsigned_server_ctx("plugin"), *cctx = SSL_CTX_new(TLS_client_method());
	if (!sctx || !cctx)
		return -1;
	SSL *server = SSL_new(sctx), *client = SSL_new(cctx);
	BIO *cb, *sb;
	if (!BIO_new_bio_pair(&cb, 1 << 16, &sb, 1 << 16))
		return -1;
	SSL_set_bio(client, cb, cb);
	SSL_set_bio(server, sb, sb);
	SSL_set_tlsext_host_name(client, sni);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	int dc = 0, ds = 0;
	for (int i = 0; i < 100 && !(dc && ds); i++) {
		dc = SSL_do_handshake(client) == 1;
		ds = SSL_do_handshake(server) == 1;
	}
	if (!dc || !ds)
		return -1;

	static const char body[] = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";
	char req[512], resp[512], rbody[256];
	int rl = snprintf(req, sizeof req, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n"
	                  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	                  sni, sizeof body - 1, body);
	int bl = snprintf(rbody, sizeof rbody, "{\"id\":\"chatcmpl-%d\",\"model\":\"gpt-4o-mini-2024-07-18\","
	                  "\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":5}}",
	                  input_tokens, input_tokens);
	int sl = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                  "Content-Length: %d\r\n\r\n%s", bl, rbody);
	int rc = pump(client, server, req, (size_t)rl) || pump(server, client, resp, (size_t)sl) ? -1 : 0;
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	return rc;
}
