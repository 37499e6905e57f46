/* hooks.c - the interposed OpenSSL functions: the only code of the shim the
 * host program calls.
 *
 * Owns: the definitions of SSL_write, SSL_write_ex, SSL_read, SSL_read_ex,
 * SSL_pending, SSL_has_pending and SSL_free exported by libtokenguard.so,
 * the one-time initialisation (pthread_once: configuration, budgets, fork
 * handlers), the per-thread reentrancy guard, and the per-thread library of
 * the call in progress (cur_lib, for the connection layer's questions).
 *
 * The contract with the host: each hook calls the caller's own libssl with
 * the caller's arguments and returns its result; errno is saved before and
 * restored after our own work; nothing of ours stays on the OpenSSL error
 * queue.  A request is observed just before its bytes are handed to the
 * real SSL_write (so that a budget can stop it), and counted once however
 * often the write is retried; responses are observed after the real read,
 * on the bytes it returned.  SSL_peek is not hooked: its bytes come back
 * through SSL_read.  The only departures from pass-through are a budget's:
 * a refused call's write is swallowed and its 429 read back instead, a
 * downgraded or clamped one's write carries the rewritten request.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "attrib.h"
#include "config.h"
#include "conn.h"
#include "gate.h"
#include "log.h"
#include "resolve.h"
#include "sink.h"

#define TG_EXPORT __attribute__((visibility("default")))

/* TLSEXT_NAMETYPE_host_name and SSL_ERROR_* values, fixed by the TLS and
 * OpenSSL ABIs; repeated here so the shim needs no OpenSSL headers. */
#define TG_TLSEXT_NAMETYPE_host_name 0
#define TG_SSL_ERROR_SSL          1
#define TG_SSL_ERROR_SYSCALL      5
#define TG_SSL_ERROR_ZERO_RETURN  6
#define TG_SSL_CTRL_MODE          33
#define TG_SSL_MODE_ENABLE_PARTIAL_WRITE 0x1L

/* Set while this thread runs shim code, so a hooked call made from inside
 * (none today; a future dependency might) is passed straight through.
 * initial-exec: no allocation on first touch, and LD_PRELOAD objects are
 * loaded at start-up, which makes the model legal. */
static __thread int in_shim __attribute__((tls_model("initial-exec")));

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int observing;   /* written once under init_once */

/* The library serving the hook this thread is in: the ops below must ask
 * the libssl that made the SSL object. */
static __thread const struct tg_ssl_lib *cur_lib __attribute__((tls_model("initial-exec")));

static const char *ops_servername(void *ssl)
{
	return cur_lib->SSL_get_servername(ssl, TG_TLSEXT_NAMETYPE_host_name);
}

static int ops_peer_port(void *ssl)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	int fd = cur_lib->SSL_get_fd(ssl);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
		return 0;   /* memory BIO (asyncio), or not a socket */
	if (sa.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&sa)->sin_port);
	if (sa.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	return 0;
}

static int ops_alpn_is_h2(void *ssl)
{
	const unsigned char *proto = NULL;
	unsigned int len = 0;
	cur_lib->SSL_get0_alpn_selected(ssl, &proto, &len);
	return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

static int ops_is_server(void *ssl)
{
	return cur_lib->SSL_is_server(ssl) == 1;
}

static int ops_memory_bio(void *ssl)
{
	return cur_lib->SSL_get_fd(ssl) < 0;
}

static int ops_partial_writes(void *ssl)
{
	/* SSL_get_mode() is SSL_ctrl(ssl, SSL_CTRL_MODE, 0, NULL). */
	return (cur_lib->SSL_ctrl(ssl, TG_SSL_CTRL_MODE, 0, NULL) & TG_SSL_MODE_ENABLE_PARTIAL_WRITE) != 0;
}

static const struct tg_ssl_ops ssl_ops = {
	.servername = ops_servername,
	.peer_port = ops_peer_port,
	.alpn_is_h2 = ops_alpn_is_h2,
	.is_server = ops_is_server,
	.partial_writes = ops_partial_writes,
	.memory_bio = ops_memory_bio,
};

static void atfork_child(void)
{
	tg_log_atfork_child();
	tg_sink_atfork_child();
	tg_conn_atfork_child();
	tg_gate_atfork_child();
	tg_attrib_atfork_child();
}

static void init(void)
{
	const struct tg_config *cfg = tg_config_load();
	tg_gate_configure(cfg->budgets, cfg->fail);
	tg_conn_set_ops(&ssl_ops);
	pthread_atfork(tg_sink_atfork_prepare, tg_sink_atfork_parent, atfork_child);
	observing = !cfg->disabled;
}

/* Enters shim code for a call served by lib: 0 when this call must pass
 * straight through (reentry, disabled, or a library without the helpers
 * the shim needs). */
static int enter(const struct tg_ssl_lib *lib, int *saved_errno)
{
	if (in_shim || !lib->helpers)
		return 0;
	*saved_errno = errno;
	in_shim = 1;
	/* Every hook ran the initialisation already (LIB below). */
	if (observing) {
		cur_lib = lib;
		return 1;
	}
	in_shim = 0;
	errno = *saved_errno;
	return 0;
}

static void leave(int saved_errno)
{
	in_shim = 0;
	errno = saved_errno;
}

static void write_begin(const struct tg_ssl_lib *lib, SSL *ssl, const void *buf, size_t num,
                        struct tg_write_plan *plan)
{
	int e;
	*plan = (struct tg_write_plan){ .buf = buf, .len = num };
	if (num == 0 || !enter(lib, &e))
		return;
	tg_conn_write_begin(ssl, buf, num, plan);
	leave(e);
}

/* Queues a close_notify after a refused HTTP/1.1 call on a memory BIO: the
 * server then closes without having seen a request, and the program's
 * socket becomes readable, so it reads the refusal.  The shutdown state is
 * put back to what the program set (none), so that the server's answering
 * close_notify reads as a clean end of stream; whatever SSL_shutdown pushes
 * on the error queue is popped again, and errno restored. */
static void close_refused(const struct tg_ssl_lib *lib, SSL *ssl)
{
	int e = errno;
	int state = lib->SSL_get_shutdown(ssl);
	lib->ERR_set_mark();
	lib->SSL_shutdown(ssl);
	lib->ERR_pop_to_mark();
	lib->SSL_set_shutdown(ssl, state);
	errno = e;
}

static void prefix_sent(const struct tg_ssl_lib *lib, const struct tg_write_plan *plan)
{
	int e;
	if (!enter(lib, &e))
		return;
	tg_conn_prefix_sent(plan);
	leave(e);
}

/* ret is the real call's result: a failure other than WANT_READ or
 * WANT_WRITE means the connection is dead and the program will not retry. */
static void write_end(const struct tg_ssl_lib *lib, SSL *ssl, const struct tg_write_plan *plan,
                      size_t consumed, int failed, int ret)
{
	int e;
	if (!plan->conn || !enter(lib, &e))
		return;
	int dead = 0;
	if (failed) {
		int err = lib->SSL_get_error(ssl, ret);
		dead = err == TG_SSL_ERROR_SSL || err == TG_SSL_ERROR_SYSCALL || err == TG_SSL_ERROR_ZERO_RETURN;
	}
	tg_conn_write_end(plan, consumed, dead);
	leave(e);
}

static void read_begin(const struct tg_ssl_lib *lib, SSL *ssl, void *buf, size_t num,
                       struct tg_read_plan *plan)
{
	int e;
	memset(plan, 0, sizeof *plan);
	if (num == 0 || !enter(lib, &e))
		return;
	tg_conn_read_begin(ssl, buf, num, plan);
	leave(e);
}

static void read_end(const struct tg_ssl_lib *lib, SSL *ssl, const struct tg_read_plan *plan,
                     const void *buf, size_t got, int ret)
{
	int e;
	if (!plan->conn || !enter(lib, &e))
		return;
	int ended = 0;
	if (got == 0) {
		int err = lib->SSL_get_error(ssl, ret);
		ended = err == TG_SSL_ERROR_ZERO_RETURN || err == TG_SSL_ERROR_SYSCALL || err == TG_SSL_ERROR_SSL;
	}
	tg_conn_read_end(plan, buf, got, ended);
	leave(e);
}

/* The library serving this call: the caller's own libssl. */
/* Initialisation comes first, so that a first resolution can be reported
 * (TOKENGUARD_DEBUG); after it, pthread_once is one atomic load. */
#define LIB(name) (pthread_once(&init_once, init), \
                   tg_ssl_lib_for(__builtin_return_address(0), TG_HOOK_##name, (void *)name))

/* A rewritten write is reported done only when all of it went out: with
 * partial writes enabled the shim never rewrites (conn.c), so anything
 * else is a failure the program retries with the same bytes. */
TG_EXPORT int SSL_write(SSL *ssl, const void *buf, int num)
{
	const struct tg_ssl_lib *lib = LIB(SSL_write);
	struct tg_write_plan plan;
	if (!lib->SSL_write) {
		errno = ENOSYS;
		return -1;
	}
	write_begin(lib, ssl, buf, num > 0 ? (size_t)num : 0, &plan);
	if (plan.swallow) {
		if (plan.close_tls)
			close_refused(lib, ssl);
		write_end(lib, ssl, &plan, (size_t)num, 0, num);
		return num;
	}
	if (plan.prefix) {
		/* Written whole or not at all: a rewriting connection has no
		 * partial writes.  A failure is the program's to retry. */
		int ret = lib->SSL_write(ssl, plan.prefix, (int)plan.prefix_len);
		if (ret <= 0) {
			write_end(lib, ssl, &plan, 0, 1, ret);
			return ret;
		}
		prefix_sent(lib, &plan);
	}
	if (plan.buf == buf) {
		/* The program's own arguments, whatever they are (num may be
		 * invalid: OpenSSL answers that, not us). */
		int ret = lib->SSL_write(ssl, buf, num);
		write_end(lib, ssl, &plan, ret > 0 ? (size_t)ret : 0, ret <= 0, ret);
		return ret;
	}
	int ret = lib->SSL_write(ssl, plan.buf, (int)plan.len);
	if (ret > 0 && (size_t)ret == plan.len)
		ret = num;
	write_end(lib, ssl, &plan, ret > 0 ? (size_t)ret : 0, ret <= 0, ret);
	return ret;
}

TG_EXPORT int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written)
{
	const struct tg_ssl_lib *lib = LIB(SSL_write_ex);
	struct tg_write_plan plan;
	size_t done = 0;
	if (!lib->SSL_write_ex) {
		errno = ENOSYS;
		return 0;
	}
	write_begin(lib, ssl, buf, num, &plan);
	if (plan.swallow) {
		if (plan.close_tls)
			close_refused(lib, ssl);
		write_end(lib, ssl, &plan, num, 0, 1);
		if (written)
			*written = num;
		return 1;
	}
	if (plan.prefix) {
		int ret = lib->SSL_write_ex(ssl, plan.prefix, plan.prefix_len, &done);
		if (ret != 1) {
			write_end(lib, ssl, &plan, 0, 1, ret);
			return ret;
		}
		prefix_sent(lib, &plan);
	}
	if (plan.buf == buf) {
		int ret = lib->SSL_write_ex(ssl, buf, num, written);
		write_end(lib, ssl, &plan, ret == 1 && written ? *written : 0, ret != 1, ret);
		return ret;
	}
	int ret = lib->SSL_write_ex(ssl, plan.buf, plan.len, &done);
	/* The program's count is set only on success, as OpenSSL does. */
	if (ret == 1 && written)
		*written = done == plan.len ? num : done;
	write_end(lib, ssl, &plan, ret == 1 ? (done == plan.len ? num : done) : 0, ret != 1, ret);
	return ret;
}

TG_EXPORT int SSL_read(SSL *ssl, void *buf, int num)
{
	const struct tg_ssl_lib *lib = LIB(SSL_read);
	struct tg_read_plan plan;
	if (!lib->SSL_read) {
		errno = ENOSYS;
		return -1;
	}
	read_begin(lib, ssl, buf, num > 0 ? (size_t)num : 0, &plan);
	if (plan.served)
		return (int)plan.served;
	if (plan.cap && plan.cap < (size_t)num)
		num = (int)plan.cap;
	int ret = lib->SSL_read(ssl, buf, num);
	read_end(lib, ssl, &plan, buf, ret > 0 ? (size_t)ret : 0, ret);
	return ret;
}

TG_EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
	const struct tg_ssl_lib *lib = LIB(SSL_read_ex);
	struct tg_read_plan plan;
	if (!lib->SSL_read_ex) {
		errno = ENOSYS;
		return 0;
	}
	read_begin(lib, ssl, buf, num, &plan);
	if (plan.served) {
		if (readbytes)
			*readbytes = plan.served;
		return 1;
	}
	if (plan.cap && plan.cap < num)
		num = plan.cap;
	int ret = lib->SSL_read_ex(ssl, buf, num, readbytes);
	read_end(lib, ssl, &plan, buf, ret == 1 && readbytes ? *readbytes : 0, ret);
	return ret;
}

/* Synthesized bytes count as pending: programs such as curl read without
 * waiting on the socket only when the TLS layer says data is buffered. */
TG_EXPORT int SSL_pending(const SSL *ssl)
{
	const struct tg_ssl_lib *lib = LIB(SSL_pending);
	int n = lib->SSL_pending ? lib->SSL_pending(ssl) : 0;
	int e;
	if (enter(lib, &e)) {
		size_t extra = tg_conn_pending(ssl);
		n += extra > (size_t)INT_MAX - (size_t)n ? INT_MAX - n : (int)extra;
		leave(e);
	}
	return n;
}

TG_EXPORT int SSL_has_pending(const SSL *ssl)
{
	const struct tg_ssl_lib *lib = LIB(SSL_has_pending);
	int has = lib->SSL_has_pending ? lib->SSL_has_pending(ssl) : 0;
	int e;
	if (!has && enter(lib, &e)) {
		has = tg_conn_pending(ssl) > 0;
		leave(e);
	}
	return has;
}

TG_EXPORT void SSL_free(SSL *ssl)
{
	const struct tg_ssl_lib *lib = LIB(SSL_free);
	int e;
	if (ssl && enter(lib, &e)) {
		tg_conn_forget(ssl);
		leave(e);
	}
	if (lib->SSL_free)
		lib->SSL_free(ssl);
}
