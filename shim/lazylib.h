/* lazylib.h - the libraries the shim loads only when a provider needs them.
 *
 * Owns: when and how libtokenguard.so loads LMDB, zlib, libbrotlidec,
 * libzstd and libnghttp2, and what the shim does when one cannot be loaded.
 *
 * Why: libtokenguard.so is preloaded into every program of a session, and
 * most of them never talk to a provider.  Linked as ordinary dependencies,
 * those libraries cost every process about 0.4 ms at start (opening,
 * mapping and relocating six more objects).  So the shim links none of them
 * (see the Makefile's $(SHIM) rule): shim/lazylib_api.c defines, inside the
 * shim and hidden, one function of the same name and prototype for each
 * library function the shim calls (mdb_txn_begin, inflate, ...), which loads
 * its library with dlopen() on its first call and forwards to it.  The
 * callers (ledger/, shim/decode.c, shim/h2.c, shim/eventstream.c) are the
 * same code the CLI and the unit tests link with the real libraries: nothing
 * in them knows.  A function the shim starts to call without a forwarder
 * fails the shim's link (-z defs), never silently.
 *
 * When each library is loaded, on first need, never on the path of a
 * connection that is not to a provider:
 *  - LMDB and zlib together, when the ledger is first opened (the first
 *    provider exchange or budget check): the ledger's spool entries carry a
 *    zlib CRC-32 that the ledger never computes before LMDB opened;
 *  - zlib alone for the first gzip/deflate body or AWS event stream;
 *  - libbrotlidec, libzstd for the first body in their encoding;
 *  - libnghttp2 for the first HTTP/2 connection to a provider.
 *
 * A library that cannot be loaded (missing, or lacking a function) turns
 * off what needs it, for the life of the process, and never a call of the
 * program: its functions return their library's own failure (a NULL
 * decoder, Z_STREAM_ERROR, ELIBACC from LMDB, ...), which the callers
 * already handle as "this connection or body is not observed".  One warning
 * says so through the capped log (shim/log.c); for the ledger's libraries
 * the ledger's own warning (TG_ENOLIB) is that one, with the loader's
 * message at TOKENGUARD_DEBUG=1.
 *
 * Threads and fork: each library is loaded under its own pthread_once, so
 * concurrent first calls load it once, and a fork() that interrupts a load
 * in another thread restarts it in the child (glibc's pthread_once knows
 * fork).  A child inherits what its parent loaded.  What remains is
 * glibc's, not ours: before 2.38 a child forked while another thread of
 * its parent was inside dlopen() may hang in its own first dlopen(), ours
 * or the program's alike.  Handles are never closed: a program that dlcloses its own libssl,
 * libz or libnghttp2 (which may be the very objects we loaded: dlopen of a
 * loaded soname shares it) cannot unload them from under us.  They are
 * loaded RTLD_LOCAL, so their symbols never take part in the program's own
 * lookups, and the forwarders are hidden, so they never interpose the
 * program's calls to the same libraries.
 */
#ifndef TG_LAZYLIB_H
#define TG_LAZYLIB_H

#include <pthread.h>

struct tg_lazylib {
	const char *soname;          /* the Debian 12 soname: the ABI the shim was built for */
	const char *const *names;    /* the functions the shim calls, in `fns` order */
	void **fns;                  /* filled by the load */
	int nfns;
	const char *consequence;     /* what is off without it; NULL: its caller says it */
	int ok;                      /* every function was found; set once, under the once */
};

/* Loads lib (dlopen, then every function): called once, from a
 * pthread_once.  On failure lib->ok stays 0, lib->fns is left all NULL
 * and one warning (or a debug line, see consequence) is given. */
void tg_lazylib_load(struct tg_lazylib *lib);

#endif
