/* resolve.h - finding the real OpenSSL functions behind our hooks.
 *
 * Owns: the table of real function pointers (struct tg_real, one instance,
 * tg_real) and how they are found.  Each is resolved at its first use, not in
 * a constructor: CPython loads libssl with its _ssl extension long after
 * start-up, and RTLD_LOCAL, so dlsym(RTLD_NEXT) from here cannot see it.  The
 * search is: RTLD_NEXT; then libssl.so.3 / libssl.so.1.1 if already loaded
 * (RTLD_NOLOAD: never load a second libssl); then every loaded object
 * (dl_iterate_phdr) but the program and this library.  A candidate equal to
 * our own hook is refused.  The helpers we call (SSL_get_servername, ...)
 * are taken from the same object as the real SSL_write, so an SSL* is only
 * ever handed to the library that made it.
 *
 * The shim never links libssl: that would force a second libssl into
 * programs that bring their own.
 */
#ifndef TG_RESOLVE_H
#define TG_RESOLVE_H

#include <stddef.h>

typedef struct ssl_st SSL;

struct tg_real {
	int  (*SSL_write)(SSL *, const void *, int);
	int  (*SSL_write_ex)(SSL *, const void *, size_t, size_t *);
	int  (*SSL_read)(SSL *, void *, int);
	int  (*SSL_read_ex)(SSL *, void *, size_t, size_t *);
	void (*SSL_free)(SSL *);
	/* helpers, from the object that defines SSL_write */
	const char *(*SSL_get_servername)(const SSL *, int);
	void (*SSL_get0_alpn_selected)(const SSL *, const unsigned char **, unsigned int *);
	int  (*SSL_get_fd)(const SSL *);
	int  (*SSL_is_server)(const SSL *);
	int  (*SSL_get_error)(const SSL *, int);
	long (*SSL_ctrl)(SSL *, int, long, void *);
	int  (*SSL_pending)(const SSL *);
	int  (*SSL_has_pending)(const SSL *);
	int  (*SSL_shutdown)(SSL *);
	int  (*SSL_get_shutdown)(const SSL *);
	void (*SSL_set_shutdown)(SSL *, int);
	int  (*ERR_set_mark)(void);
	int  (*ERR_pop_to_mark)(void);
};

extern struct tg_real tg_real;

/* Resolves `name` (one of the hooked functions) into *slot if not yet done;
 * `self` is our hook of that name.  Returns the pointer or NULL. */
void *tg_resolve(void **slot, const char *name, void *self);

/* Resolves the helpers once the real SSL_write or SSL_read is known.
 * Returns 1 when all of them are available. */
int tg_resolve_helpers(void);

#endif
