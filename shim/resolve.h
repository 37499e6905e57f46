/* resolve.h - finding the real OpenSSL behind each call to our hooks.
 *
 * Owns: struct tg_ssl_lib (the functions of one libssl, as one caller
 * links them) and the per-call-site cache that maps a hook's return
 * address to it.  A process may hold several libssl copies (a Python
 * program with psycopg2-binary's bundled libssl next to the system one, a
 * program with OpenSSL 1.1 and 3): an SSL* must only ever reach the library
 * that made it, so the real functions are looked up from the calling
 * object, whose own dependencies lead to its libssl (dlsym on the caller's
 * handle never sees this preloaded library).  The helpers we call
 * (SSL_get_servername, ...) come from the same library.
 *
 * When the caller's scope leads back to our own hook (the main program
 * calling libssl directly), the search falls back to: RTLD_NEXT; then
 * libssl.so.3 / libssl.so.1.1 if already loaded (RTLD_NOLOAD: never load a
 * second libssl); then every loaded object but the program and this
 * library.  Resolution runs at a call site's first call, not in a
 * constructor: CPython loads libssl with its _ssl extension, RTLD_LOCAL,
 * long after start-up.
 *
 * The shim never links libssl: that would force a second libssl into
 * programs that bring their own.
 */
#ifndef TG_RESOLVE_H
#define TG_RESOLVE_H

#include <stddef.h>

typedef struct ssl_st SSL;

struct tg_ssl_lib {
	int  (*SSL_write)(SSL *, const void *, int);
	int  (*SSL_write_ex)(SSL *, const void *, size_t, size_t *);
	int  (*SSL_read)(SSL *, void *, int);
	int  (*SSL_read_ex)(SSL *, void *, size_t, size_t *);
	void (*SSL_free)(SSL *);
	int  (*SSL_pending)(const SSL *);
	int  (*SSL_has_pending)(const SSL *);
	/* helpers; `helpers` is 1 when every one of them was found */
	int helpers;
	const char *(*SSL_get_servername)(const SSL *, int);
	void (*SSL_get0_alpn_selected)(const SSL *, const unsigned char **, unsigned int *);
	int  (*SSL_get_fd)(const SSL *);
	int  (*SSL_is_server)(const SSL *);
	int  (*SSL_get_error)(const SSL *, int);
	long (*SSL_ctrl)(SSL *, int, long, void *);
	int  (*SSL_shutdown)(SSL *);
	int  (*SSL_get_shutdown)(const SSL *);
	void (*SSL_set_shutdown)(SSL *, int);
	int  (*ERR_set_mark)(void);
	int  (*ERR_pop_to_mark)(void);
};

/* Indexes of the hooked functions, for tg_ssl_lib_for(). */
enum tg_hooked {
	TG_HOOK_SSL_write, TG_HOOK_SSL_write_ex, TG_HOOK_SSL_read, TG_HOOK_SSL_read_ex,
	TG_HOOK_SSL_free, TG_HOOK_SSL_pending, TG_HOOK_SSL_has_pending, TG_HOOK_COUNT,
};

/* The library that serves a call made from return address `caller` to the
 * hook `self`, `which` naming it.  Never NULL: when no libssl can be found
 * at all the returned library's function for `which` is NULL, and the hook
 * fails the call with ENOSYS (there is nothing to forward to). */
const struct tg_ssl_lib *tg_ssl_lib_for(void *caller, enum tg_hooked which, void *self);

#endif
