/* libpath.h - where libtokenguard.so is, for the launcher and doctor:
 * $TOKENGUARD_LIB, else next to the running program's own directory as
 * `make install` lays it out (BINDIR/../lib/libtokenguard.so), else in
 * that directory itself (the build tree: build/tokenguard and
 * build/libtokenguard.so). */
#ifndef TG_LIBPATH_H
#define TG_LIBPATH_H

#include <stddef.h>

/* Returns 0 with the library's absolute path in buf; -1 when none was
 * found, tried then naming every path looked at ("A, B"). */
int tg_libpath_find(char *buf, size_t n, char *tried, size_t tn);

#endif
