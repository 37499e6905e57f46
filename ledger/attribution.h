/* attribution.h - who made a call, as a ledger may keep it.
 *
 * Owns: the attribution modes (TOKENGUARD_ATTRIBUTION), the ledger's
 * attribution key and the keyed hash of an end-user id, shared by the
 * shim (which writes "user=h:..." tags) and tokenguard-report (which
 * hashes the id a person gives to find them).
 *
 * The key is 16 random bytes (getrandom) in the file TG_ATTRIB_KEY_FILE
 * of the ledger directory, kept as ledger_secret.h says.  A copy of
 * the ledger without this file can no longer be searched by user id: its
 * hashes stay grouped, but nobody can tell whose they are.
 *
 * A hash is "h:" and 16 hex digits: SipHash-2-4 (siphash.h) of the id
 * under the key.  The same id gives the same hash in every process of
 * one ledger, so reports and budgets group by it; another ledger (another
 * key) gives another; without the key the id cannot be recovered.
 */
#ifndef TG_ATTRIBUTION_H
#define TG_ATTRIBUTION_H

#include <stddef.h>
#include <stdint.h>

#include "siphash.h"

#define TG_ATTRIB_KEY_FILE "attribution-key"
#define TG_ATTRIB_HASH_LEN 18          /* "h:" + 16 hex digits */

enum tg_attrib_mode {
	TG_ATTRIB_HASH,    /* default: end-user ids hashed with the ledger's key */
	TG_ATTRIB_PLAIN,   /* end-user ids as the body gives them */
	TG_ATTRIB_OFF,     /* nothing from request bodies */
};

/* "hash", "plain" or "off" (exact).  Returns 0, or -1 for anything else. */
int tg_attrib_mode_parse(const char *s, enum tg_attrib_mode *out);

/* Reads the ledger's key from directory dir into key; with create, makes
 * the directory (as the ledger would, 0700) and the key when there is
 * none.  Returns 0, TG_ENOENT (no key and not create), TG_EUNSAFE (the
 * file or directory is not the user's own, or others may read the key),
 * TG_ECORRUPT (not TG_SIPHASH_KEY_BYTES long), TG_EIO (no randomness, or
 * any other failure) or another TG_E* code of the file system. */
int tg_attrib_key_load(const char *dir, int create, uint8_t key[TG_SIPHASH_KEY_BYTES]);

/* Writes the hash of id[0..len) under key into out (at least
 * TG_ATTRIB_HASH_LEN + 1 bytes). */
void tg_attrib_hash(const uint8_t key[TG_SIPHASH_KEY_BYTES], const char *id, size_t len,
                    char *out);

#endif
