/* file_read.h - reading a small file named by someone else, safely.
 *
 * Owns: the one way the shim and tokenguard-report read a file a user
 * names (TOKENGUARD_PRICES today, any future configuration file): it must
 * be a regular file of at most max bytes, opened without blocking (a FIFO
 * or a device never stalls the host program), never left open across an
 * exec, and read with a cap, so /dev/zero, a FIFO, a directory or a huge
 * file costs one fstat and an error message, not a hang or a spin.
 */
#ifndef TG_FILE_READ_H
#define TG_FILE_READ_H

#include <stddef.h>

/* What a configuration file may weigh: far above any price table. */
#define TG_SMALL_FILE_MAX (4u << 20)

/* Flags of tg_read_small_file. */
#define TG_READ_NOFOLLOW 1   /* refuse a symlink (files of the ledger directory) */
#define TG_READ_OWNED    2   /* refuse a file of another user, or one group or others can
                                write (a file nobody named: found in the config directory) */
#define TG_READ_MISSING_OK 4 /* a file that does not exist is empty: 0, *buf NULL */

/* Reads path whole into a malloc'ed, NUL-terminated *buf (length *len,
 * which may hold NUL bytes of its own).  Returns 0, or -1 with *buf NULL
 * and err set to "PATH: why" (not a regular file, larger than max bytes,
 * or the system's reason).  Never blocks on anything but the disk. */
int tg_read_small_file(const char *path, size_t max, int flags, char **buf, size_t *len,
                       char *err, size_t errlen);

#endif
