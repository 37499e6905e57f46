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
#include <sys/stat.h>
#include <sys/types.h>

/* What a configuration file may weigh: far above any price table. */
#define TG_SMALL_FILE_MAX (4u << 20)

/* Flags of tg_read_small_file. */
#define TG_READ_NOFOLLOW 1   /* refuse a symlink (files of the ledger directory) */
#define TG_READ_OWNED    2   /* refuse a file of another user, or one group or others can
                                write (a file nobody named: found in the config directory) */
#define TG_READ_MISSING_OK 4 /* a file that does not exist is empty: 0, *buf NULL */

/* The two steps every checked reader of a file (this one, the
 * configuration files of config_file.c, the zone files of tzif.c) shares:
 *
 * tg_file_open_checked() opens path O_RDONLY | O_NONBLOCK (a FIFO never
 * waits for a writer) | O_CLOEXEC | O_NOCTTY, | O_NOFOLLOW with nofollow
 * (a symlink then fails with ELOOP), and fstats what was opened, so that
 * every check is of that file, never of a name another can swap.  Returns
 * the descriptor, or -1 with errno set.
 *
 * tg_file_read_upto() reads up to want bytes (EINTR retried) into buf and
 * returns how many it read, or -1 with errno set.  A caller asks for one
 * byte more than the size fstat gave: getting it means the file grew
 * while it was read. */
int tg_file_open_checked(const char *path, int nofollow, struct stat *st);
ssize_t tg_file_read_upto(int fd, void *buf, size_t want);

/* Reads path whole into a malloc'ed, NUL-terminated *buf (length *len,
 * which may hold NUL bytes of its own).  Returns 0, or -1 with *buf NULL
 * and err set to "PATH: why" (not a regular file, larger than max bytes,
 * or the system's reason).  Never blocks on anything but the disk. */
int tg_read_small_file(const char *path, size_t max, int flags, char **buf, size_t *len,
                       char *err, size_t errlen);

#endif
