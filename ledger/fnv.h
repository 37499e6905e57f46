/* fnv.h - the 64-bit FNV-1a hash, for the hash tables, the names made
 * from a text (watermarks, long scope keys) and the span ids: fast,
 * no table, good enough where no one chooses the input to collide.
 * Never for anything secret: the attribution hash is SipHash (siphash.h).
 *
 * Header-only (static inline). */
#ifndef TG_FNV_H
#define TG_FNV_H

#include <stddef.h>
#include <stdint.h>

#define TG_FNV1A_INIT UINT64_C(0xcbf29ce484222325)
#define TG_FNV1A_PRIME UINT64_C(0x100000001b3)

/* h extended over p[0..n): start with TG_FNV1A_INIT. */
static inline uint64_t tg_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * TG_FNV1A_PRIME;
	return h;
}

/* The same over a NUL-terminated string, the NUL left out. */
static inline uint64_t tg_fnv1a_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * TG_FNV1A_PRIME;
	return h;
}

#endif
