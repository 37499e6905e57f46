/* preload.h - the environment the launcher hands its command: the shim
 * appended to LD_PRELOAD and the tags merged into TOKENGUARD_TAGS.
 *
 * Owns the two merge rules:
 *  - LD_PRELOAD: the shim goes after what is there (like eatmydata), so a
 *    preload the user set (a sanitizer runtime that must come first) keeps
 *    its place; entries are split on ':' and ' ' as ld.so splits them; an
 *    entry that already is a libtokenguard.so (any path) is not doubled.
 *  - TOKENGUARD_TAGS: the existing key=value list, less the keys a --tag
 *    names again, then the --tag pairs in order (a --tag wins). */
#ifndef TG_PRELOAD_H
#define TG_PRELOAD_H

#include <stddef.h>

/* existing (may be NULL or empty) with lib appended, into buf.  Returns 1
 * when lib was added, 0 when a libtokenguard.so was already there (buf
 * then holds existing unchanged), -1 when n is too small. */
int tg_preload_append(const char *existing, const char *lib, char *buf, size_t n);

/* existing TOKENGUARD_TAGS (may be NULL) merged with the ntags "k=v" of
 * tags, into buf.  Returns 0, or -1 when n is too small. */
int tg_tags_merge(const char *existing, const char *const *tags, int ntags, char *buf,
                  size_t n);

#endif
