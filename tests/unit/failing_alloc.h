/* failing_alloc.h - make malloc and realloc fail (failing_alloc.c). */
#ifndef TGT_FAILING_ALLOC_H
#define TGT_FAILING_ALLOC_H

#include <stddef.h>

/* While not 0, every malloc or realloc of at least this many bytes made
 * by the test binary's objects returns NULL. */
extern size_t tgt_alloc_fail_from;

#endif
