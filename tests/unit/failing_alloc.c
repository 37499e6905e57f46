/* failing_alloc.c - an allocator that fails on demand, for the paths a
 * host program reaches only when memory runs out.  The unit-test binary
 * is linked with --wrap=malloc,--wrap=realloc: every call from its own
 * objects (the shim's included) comes here first. */
#include <stddef.h>

#include "failing_alloc.h"

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);

size_t tgt_alloc_fail_from;

void *__wrap_malloc(size_t n)
{
	if (tgt_alloc_fail_from && n >= tgt_alloc_fail_from)
		return NULL;
	return __real_malloc(n);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (tgt_alloc_fail_from && n >= tgt_alloc_fail_from)
		return NULL;
	return __real_realloc(p, n);
}
