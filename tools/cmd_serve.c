/* cmd_serve.c - `tokenguard-report serve --listen HOST:PORT`: a small
 * HTTP/1.1 server answering GET /metrics with `metrics`'s text, read from
 * the ledger afresh for each scrape (cmd_metrics.c).
 *
 * One connection at a time, every wait bounded by poll(): a request must
 * arrive whole (headers up to REQ_MAX bytes) within IO_TIMEOUT_MS and the
 * answer leave within the same, else the connection is dropped and the
 * next one served.  Each answer closes its connection (Connection: close),
 * which Prometheus's scraper accepts.  SIGINT and SIGTERM end it with
 * status 0; a client that goes away (EPIPE) only ends its connection. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "stop.h"

#define REQ_MAX 8192
#define IO_TIMEOUT_MS 5000
#define ACCEPT_POLL_MS 500

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until deadline; 1 ready, 0 not. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - mono_ms();
		int n;

		if (left <= 0 || tg_stop_signal)
			return 0;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 0;
	}
}

/* "HOST:PORT", "[V6]:PORT" -> a listening socket, or -1 after saying why. */
static int listen_on(const struct tg_report *rep, const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':'), *h = spec;
	size_t hl;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res, *ai;
	int fd = -1, one = 1, rc;

	if (!colon || !colon[1])
		return tg_report_fail(rep, "--listen \"%s\" is not HOST:PORT; use e.g. "
		                      "--listen 127.0.0.1:9464", spec), -1;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return tg_report_fail(rep, "--listen: host too long"), -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if ((rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res)) != 0)
		return tg_report_fail(rep, "--listen \"%s\": %s", spec, gai_strerror(rc)), -1;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
			rc = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		tg_report_fail(rep, "--listen \"%s\": %s; choose a free port", spec, strerror(rc));
	return fd;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		} else if (!wait_fd(fd, POLLOUT, deadline)) {
			return -1;
		}
	}
	return 0;
}

/* Reads the request head (through the blank line); returns its length,
 * or -1 (too long, too slow, closed). */
static ssize_t read_head(int fd, char *buf, int64_t deadline)
{
	size_t n = 0;

	while (n < REQ_MAX - 1) {
		ssize_t r;

		if (!wait_fd(fd, POLLIN, deadline))
			return -1;
		r = recv(fd, buf + n, REQ_MAX - 1 - n, MSG_DONTWAIT);
		if (r == 0)
			return -1;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)n;
	}
	return -1;
}

static void respond(int fd, int status, const char *reason, const char *type,
                    const char *body, size_t len, int head_only, int64_t deadline)
{
	char head[256];
	int hn = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	                  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	                  status, reason, type, len);

	if (send_all(fd, head, (size_t)hn, deadline) == 0 && !head_only)
		send_all(fd, body, len, deadline);
}

static void serve_one(const struct tg_report *rep, struct tg_ledger *l, int fd)
{
	static char req[REQ_MAX];
	int64_t deadline = mono_ms() + IO_TIMEOUT_MS;
	char method[16], target[256];
	int head_only;

	if (read_head(fd, req, deadline) < 0)
		return;
	if (sscanf(req, "%15s %255s HTTP/1.", method, target) != 2) {
		respond(fd, 400, "Bad Request", "text/plain", "bad request\n", 12, 0, deadline);
		return;
	}
	head_only = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head_only) {
		respond(fd, 405, "Method Not Allowed", "text/plain", "GET only\n", 9, 0, deadline);
		return;
	}
	target[strcspn(target, "?")] = '\0';
	if (strcmp(target, "/metrics")) {
		respond(fd, 404, "Not Found", "text/plain", "see /metrics\n", 13, head_only, deadline);
		return;
	}
	{
		char *body = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&body, &len);
		int rc = f ? tg_metrics_write(rep, l, f) : TG_EXIT_FAIL;

		if (f && fclose(f))
			rc = TG_EXIT_FAIL;
		if (rc)
			respond(fd, 500, "Internal Server Error", "text/plain",
			        "the ledger could not be read; see the server's stderr\n", 54, head_only,
			        deadline);
		else
			respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len,
			        head_only, deadline);
		free(body);
	}
}

int tg_cmd_serve(const struct tg_report *rep, struct tg_ledger *l)
{
	int lfd;

	if (!rep->listen)
		return tg_report_fail(rep, "serve needs --listen HOST:PORT, e.g. 127.0.0.1:9464");
	if (rep->period_given)
		return tg_report_fail(rep, "metrics are counters over every record; "
		                      "drop --since, --until and --today");
	if ((lfd = listen_on(rep, rep->listen)) < 0)
		return TG_EXIT_FAIL;
	tg_stop_on_signals();   /* poll() returns EINTR */
	signal(SIGPIPE, SIG_IGN);
	fprintf(rep->err, "tokenguard-report: serving http://%s/metrics\n", rep->listen);
	fflush(rep->err);
	while (!tg_stop_signal) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, ACCEPT_POLL_MS) <= 0)
			continue;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		serve_one(rep, l, fd);
		close(fd);
	}
	close(lfd);
	return 0;
}
