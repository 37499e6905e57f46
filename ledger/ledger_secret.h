/* ledger_secret.h - the ledger's small secret files.
 *
 * Owns: how a ledger keeps a random 16-byte secret in a file of its
 * directory: the attribution key (attribution.h) and the ledger id's key
 * (machine.h).  Made once by the first process that needs it (written
 * to a temporary name, then linked into place: racing processes all end
 * up with the one that won), mode 0600, read only when it is a regular
 * file of the effective user that nobody else can read or write.  A file
 * rather than an LMDB key, so that a process can read it without a
 * transaction and make it without the writer lock.
 */
#ifndef TG_LEDGER_SECRET_H
#define TG_LEDGER_SECRET_H

#include <stdint.h>

#include "siphash.h"

/* Reads the secret file name of directory dir into key; with create,
 * makes the directory (as the ledger would, 0700) and the file when
 * there is none.  Returns 0, TG_ENOENT (no file and not create),
 * TG_EUNSAFE (the file or directory is not the user's own, or others may
 * read it), TG_ECORRUPT (not TG_SIPHASH_KEY_BYTES long), TG_EIO (no
 * randomness, or any other failure) or another TG_E* code of the file
 * system. */
int tg_ledger_secret_load(const char *dir, const char *name, int create,
                          uint8_t key[TG_SIPHASH_KEY_BYTES]);

#endif
