/* lazy_probe.c - which of the libraries the shim loads on first need
 * (shim/lazylib.h) a process holds after one HTTP/1.1 exchange.
 *
 * A client and a server SSL object joined by an in-memory BIO pair make
 * one exchange: a chat completion request to SNI, answered with BODYFILE's
 * bytes (default: an OpenAI chat completion JSON) and, when given, a
 * Content-Encoding header.  This program links libssl only, so whatever
 * else it holds at the end the shim loaded (tests/integration/lazy_libs.py).
 *
 * usage: lazy_probe SNI [ENCODING BODYFILE]
 * Prints the response body's length, then one line per library of the
 * shim's lazy set that is loaded: "loaded <soname>".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* dl_iterate_phdr */
#endif
#include <link.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tls_selfsigned.h"

static const char *const lazy_set[] = {
	"liblmdb.so.0", "libz.so.1", "libbrotlidec.so.1", "libzstd.so.1", "libnghttp2.so.14",
};

static void die(const char *what)
{
	fprintf(stderr, "lazy_probe: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static int note_loaded(struct dl_phdr_info *info, size_t size, void *arg)
{
	int *seen = arg;
	const char *slash = strrchr(info->dlpi_name, '/');
	const char *base = slash ? slash + 1 : info->dlpi_name;
	for (size_t i = 0; i < sizeof lazy_set / sizeof lazy_set[0]; i++)
		if (strcmp(base, lazy_set[i]) == 0)
			seen[i] = 1;
	return 0;
}

static void write_all(SSL *ssl, const char *buf, size_t len)
{
	while (len > 0) {
		int n = SSL_write(ssl, buf, len > 16384 ? 16384 : (int)len);
		if (n <= 0)
			die("SSL_write");
		buf += n;
		len -= (size_t)n;
	}
}

static void read_all(SSL *ssl, char *buf, size_t len)
{
	while (len > 0) {
		int n = SSL_read(ssl, buf, len > 16384 ? 16384 : (int)len);
		if (n <= 0)
			die("SSL_read");
		buf += n;
		len -= (size_t)n;
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);
	if (!f || !buf)
		die(path);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	static const char json[] = "{\"id\":\"chatcmpl-probe\",\"object\":\"chat.completion\","
		"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":"
		"{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
		"\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12,\"total_tokens\":21}}";
	static const char request_body[] =
		"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: lazy_probe SNI [ENCODING BODYFILE]\n");
		return 2;
	}
	const char *sni = argv[1];
	const char *encoding = argc == 4 ? argv[2] : NULL;
	size_t blen = sizeof json - 1;
	const char *body = encoding ? read_file(argv[3], &blen) : json;

	SSL_CTX *sctx = tg_selfsigned_server_ctx("probe");
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	if (!sctx || !cctx)
		die("context");
	SSL *server = SSL_new(sctx), *client = SSL_new(cctx);
	BIO *cb, *sb;
	if (!BIO_new_bio_pair(&cb, 1 << 21, &sb, 1 << 21))
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

	char request[512];
	int reqlen = snprintf(request, sizeof request,
		"POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer sk-probe\r\n"
		"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		sni, sizeof request_body - 1, request_body);
	char head[256];
	int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                  "%s%s%sContent-Length: %zu\r\n\r\n", encoding ? "Content-Encoding: " : "",
	                  encoding ? encoding : "", encoding ? "\r\n" : "", blen);
	char *buf = malloc((size_t)hl + blen + (size_t)reqlen);
	if (!buf)
		die("malloc");

	write_all(client, request, (size_t)reqlen);
	read_all(server, buf, (size_t)reqlen);
	write_all(server, head, (size_t)hl);
	write_all(server, body, blen);
	read_all(client, buf, (size_t)hl + blen);
	printf("%zu\n", blen);

	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);

	int seen[sizeof lazy_set / sizeof lazy_set[0]] = { 0 };
	dl_iterate_phdr(note_loaded, seen);
	for (size_t i = 0; i < sizeof lazy_set / sizeof lazy_set[0]; i++)
		if (seen[i])
			printf("loaded %s\n", lazy_set[i]);
	free(buf);
	return 0;
}
