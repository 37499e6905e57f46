/* tlsclient.c - a minimal HTTP/1.1 client over OpenSSL that times each
 * exchange, for bench/bench.sh.
 *
 * Owns: the client side of the benchmark's per-exchange latency, memory per
 * connection and long-stream figures.  It does nothing a real client would
 * not do on the hooked calls (one SSL_write per request, SSL_read until the
 * response's Content-Length is in), so what the shim adds to it is what it
 * adds to any client; it keeps no response bytes, so its own memory stays
 * flat whatever the response size.
 *
 * usage: tlsclient MODE PORT SNI PATH BODY_FILE N
 *   connects to 127.0.0.1:PORT, sends SNI and Host: SNI, POSTs BODY_FILE.
 *   seq    one connection, N exchanges one after the other (keep-alive);
 *          prints the nanoseconds of each exchange, one per line.
 *   conns  N connections, one exchange on each, all kept open; prints the
 *          resident set (KiB) after the first connection and after the Nth.
 *   one    N exchanges on one connection (for one long response: N = 1);
 *          prints total nanoseconds and the peak resident set (KiB).
 * Certificates are not verified: the server is the bench's own nginx on
 * loopback inside a private network namespace.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "tlsclient: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The named field of /proc/self/status (VmRSS, VmHWM), in KiB. */
static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	size_t n = strlen(field);
	if (!f)
		die("open /proc/self/status");
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			kib = atol(line + n + 1);
	fclose(f);
	return kib;
}

static SSL *connect_tls(SSL_CTX *ctx, int port, const char *sni)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	SSL *ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, sni))
		die("SSL setup");
	if (SSL_connect(ssl) != 1)
		die("SSL_connect");
	return ssl;
}

/* One request, then reads the whole response (Content-Length framing, as
 * nginx sends for its static files and its proxied fixed-size bodies). */
static void exchange(SSL *ssl, const char *req, int req_len)
{
	static char buf[65536];
	if (SSL_write(ssl, req, req_len) != req_len)
		die("SSL_write");
	size_t have = 0;
	char *end = NULL;
	while (!end) {
		if (have == sizeof buf - 1)
			die("response headers too long");
		int n = SSL_read(ssl, buf + have, (int)(sizeof buf - 1 - have));
		if (n <= 0)
			die("SSL_read (headers)");
		have += (size_t)n;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0) {
		fprintf(stderr, "tlsclient: unexpected response: %.80s\n", buf);
		exit(2);
	}
	long long length = -1;
	for (char *p = strstr(buf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, "content-length:", 15) == 0)
			length = atoll(p + 17);
	if (length < 0)
		die("finding Content-Length");
	long long body = (long long)have - (end + 4 - buf);
	while (body < length) {
		long long want = length - body < (long long)sizeof buf ? length - body : (long long)sizeof buf;
		int n = SSL_read(ssl, buf, (int)want);
		if (n <= 0)
			die("SSL_read (body)");
		body += n;
	}
	if (body != length)
		die("reading exactly one response");
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: tlsclient seq|conns|one PORT SNI PATH BODY_FILE N\n");
		return 2;
	}
	const char *mode = argv[1], *sni = argv[3], *path = argv[4];
	int port = atoi(argv[2]);
	long n = atol(argv[6]);

	static char body[16384], req[20000];
	FILE *f = fopen(argv[5], "r");
	if (!f)
		die("open BODY_FILE");
	size_t body_len = fread(body, 1, sizeof body, f);
	fclose(f);
	int req_len = snprintf(req, sizeof req,
			       "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tokenguard-bench\r\n"
			       "Content-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
			       "Content-Length: %zu\r\n\r\n%.*s",
			       path, sni, body_len, (int)body_len, body);
	if (req_len <= 0 || req_len >= (int)sizeof req)
		die("building the request");

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		die("SSL_CTX_new");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

	if (strcmp(mode, "seq") == 0) {
		SSL *ssl = connect_tls(ctx, port, sni);
		long long *t = calloc((size_t)n, sizeof *t);
		if (!t)
			die("calloc");
		for (long i = 0; i < n; i++) {
			long long t0 = now_ns();
			exchange(ssl, req, req_len);
			t[i] = now_ns() - t0;
		}
		for (long i = 0; i < n; i++)
			printf("%lld\n", t[i]);
	} else if (strcmp(mode, "conns") == 0) {
		SSL **conns = calloc((size_t)n, sizeof *conns);
		long first = 0;
		if (!conns || n < 2)
			die("conns needs N >= 2");
		for (long i = 0; i < n; i++) {
			conns[i] = connect_tls(ctx, port, sni);
			exchange(conns[i], req, req_len);
			if (i == 0)
				first = status_kib("VmRSS");
		}
		printf("%ld %ld\n", first, status_kib("VmRSS"));
	} else if (strcmp(mode, "one") == 0) {
		SSL *ssl = connect_tls(ctx, port, sni);
		long long t0 = now_ns();
		for (long i = 0; i < n; i++)
			exchange(ssl, req, req_len);
		printf("%lld %ld\n", now_ns() - t0, status_kib("VmHWM"));
	} else {
		fprintf(stderr, "tlsclient: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
