/* hooks.c - the interposed OpenSSL functions: the only code of the shim the
 * host program calls.
 *
 * Owns: the definitions of SSL_write, SSL_write_ex, SSL_read, SSL_read_ex and
 * SSL_free exported by libtokenguard.so, the one-time initialisation
 * (pthread_once: configuration, fork handlers) and the per-thread reentrancy
 * guard.
 *
 * The contract with the host: each hook calls the real function with the
 * caller's arguments and returns its result; errno is saved before and
 * restored after our own work; nothing of ours touches the OpenSSL error
 * queue.  Observation happens only after the real call and only on bytes it
 * reports as transferred (a partial write, a WANT_WRITE retry, an SSL_peek
 * are never counted twice: SSL_peek is not hooked at all).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "config.h"
#include "conn.h"
#include "resolve.h"
#include "sink.h"

#define TG_EXPORT __attribute__((visibility("default")))

/* TLSEXT_NAMETYPE_host_name and SSL_ERROR_* values, fixed by the TLS and
 * OpenSSL ABIs; repeated here so the shim needs no OpenSSL headers. */
#define TG_TLSEXT_NAMETYPE_host_name 0
#define TG_SSL_ERROR_SSL          1
#define TG_SSL_ERROR_SYSCALL      5
#define TG_SSL_ERROR_ZERO_RETURN  6

/* Set while this thread runs shim code, so a hooked call made from inside
 * (none today; a future dependency might) is passed straight through.
 * initial-exec: no allocation on first touch, and LD_PRELOAD objects are
 * loaded at start-up, which makes the model legal. */
static __thread int in_shim __attribute__((tls_model("initial-exec")));

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int observing;   /* written once under init_once */

static const char *ops_servername(void *ssl)
{
	return tg_real.SSL_get_servername(ssl, TG_TLSEXT_NAMETYPE_host_name);
}

static int ops_peer_port(void *ssl)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	int fd = tg_real.SSL_get_fd(ssl);
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
	tg_real.SSL_get0_alpn_selected(ssl, &proto, &len);
	return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

static int ops_is_server(void *ssl)
{
	return tg_real.SSL_is_server(ssl) == 1;
}

static const struct tg_ssl_ops ssl_ops = {
	.servername = ops_servername,
	.peer_port = ops_peer_port,
	.alpn_is_h2 = ops_alpn_is_h2,
	.is_server = ops_is_server,
};

static void init(void)
{
	tg_config_load();
	tg_conn_set_ops(&ssl_ops);
	pthread_atfork(tg_sink_atfork_prepare, tg_sink_atfork_parent, tg_sink_atfork_child);
	observing = !tg_config_get()->disabled;
}

/* Runs our side of a hook; `what` is 0 for bytes, 1 for a close, 2 for free. */
static void observe(SSL *ssl, enum tg_dir dir, const void *buf, size_t len, int what)
{
	if (in_shim)
		return;
	int saved_errno = errno;
	in_shim = 1;
	pthread_once(&init_once, init);
	if (observing && tg_resolve_helpers()) {
		if (what == 0)
			tg_conn_bytes(ssl, dir, buf, len);
		else if (what == 1)
			tg_conn_eof(ssl);
		else
			tg_conn_forget(ssl);
	}
	in_shim = 0;
	errno = saved_errno;
}

static int read_ended(SSL *ssl, int ret)
{
	if (!tg_resolve_helpers())
		return 0;
	int saved_errno = errno;
	int err = tg_real.SSL_get_error(ssl, ret);
	errno = saved_errno;
	return err == TG_SSL_ERROR_ZERO_RETURN || err == TG_SSL_ERROR_SYSCALL || err == TG_SSL_ERROR_SSL;
}

#define REAL(name) ((__typeof__(tg_real.name))tg_resolve((void **)&tg_real.name, #name, (void *)name))

TG_EXPORT int SSL_write(SSL *ssl, const void *buf, int num)
{
	__typeof__(tg_real.SSL_write) real = REAL(SSL_write);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	int ret = real(ssl, buf, num);
	if (ret > 0)
		observe(ssl, TG_DIR_REQUEST, buf, (size_t)ret, 0);
	return ret;
}

TG_EXPORT int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written)
{
	__typeof__(tg_real.SSL_write_ex) real = REAL(SSL_write_ex);
	if (!real) {
		errno = ENOSYS;
		return 0;
	}
	int ret = real(ssl, buf, num, written);
	if (ret == 1 && written && *written > 0)
		observe(ssl, TG_DIR_REQUEST, buf, *written, 0);
	return ret;
}

TG_EXPORT int SSL_read(SSL *ssl, void *buf, int num)
{
	__typeof__(tg_real.SSL_read) real = REAL(SSL_read);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	int ret = real(ssl, buf, num);
	if (ret > 0)
		observe(ssl, TG_DIR_RESPONSE, buf, (size_t)ret, 0);
	else if (!in_shim && read_ended(ssl, ret))
		observe(ssl, TG_DIR_RESPONSE, NULL, 0, 1);
	return ret;
}

TG_EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
	__typeof__(tg_real.SSL_read_ex) real = REAL(SSL_read_ex);
	if (!real) {
		errno = ENOSYS;
		return 0;
	}
	int ret = real(ssl, buf, num, readbytes);
	if (ret == 1 && readbytes && *readbytes > 0)
		observe(ssl, TG_DIR_RESPONSE, buf, *readbytes, 0);
	else if (ret != 1 && !in_shim && read_ended(ssl, ret))
		observe(ssl, TG_DIR_RESPONSE, NULL, 0, 1);
	return ret;
}

TG_EXPORT void SSL_free(SSL *ssl)
{
	__typeof__(tg_real.SSL_free) real = REAL(SSL_free);
	if (ssl)
		observe(ssl, TG_DIR_REQUEST, NULL, 0, 2);
	if (real)
		real(ssl);
}
