/* grow.h - room for one more element of a growing array: the report's
 * lists (unpriced models, served models, runs, blocks) double as they
 * fill.  Header-only. */
#ifndef TG_GROW_H
#define TG_GROW_H

#include <stdlib.h>

/* Makes room for one more of n elements of size bytes in *arr (*cap of
 * them), doubling it.  Returns 0, or -1 when out of memory. */
static inline int tg_grow_for_one(void **arr, size_t n, size_t *cap, size_t size)
{
	size_t more = *cap ? *cap * 2 : 8;
	void *p;

	if (n < *cap)
		return 0;
	if (!(p = realloc(*arr, more * size)))
		return -1;
	*arr = p;
	*cap = more;
	return 0;
}

#endif
