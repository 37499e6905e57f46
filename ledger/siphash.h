/* siphash.h - SipHash-2-4, the keyed hash of attribution (attribution.h).
 *
 * Owns: one function, SipHash-2-4 with a 128-bit key and a 64-bit
 * result, written from the algorithm's description (Aumasson and
 * Bernstein, "SipHash: a fast short-input PRF", 2012).  It is a
 * pseudorandom function: without the key its results say nothing of the
 * input, and it is made for short inputs such as a user id.  Why not
 * HMAC-SHA256 from libcrypto: the shim must not load a libcrypto into a
 * program that has none, nor call into one of another version than the
 * program's, and the report must compute exactly the same value; thirty
 * lines shared by both are simpler than either.
 */
#ifndef TG_SIPHASH_H
#define TG_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define TG_SIPHASH_KEY_BYTES 16

uint64_t tg_siphash24(const uint8_t key[TG_SIPHASH_KEY_BYTES], const void *data, size_t len);

#endif
