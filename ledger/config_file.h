/* config_file.h - tokenguard's configuration files: reading one safely
 * and splitting it into key = value lines.
 *
 * Owns: the trust rules of a configuration file and its syntax.  The
 * shim and tokenguard-report both read through here, so a file one of
 * them accepts the other accepts too.  Which files exist, which keys
 * they may hold and what wins over what belong to settings.h.
 *
 * Trust: the file is opened O_RDONLY | O_NOFOLLOW | O_CLOEXEC (and
 * O_NONBLOCK, so a FIFO never stalls the host program), then fstat'ed:
 * it must be a regular file owned by its expected owner (the real user
 * for the user's file, root for the system file), closed to writes by
 * group and others, and at most TG_CONF_FILE_MAX bytes.  It is read with
 * read(2) into the caller's buffer: nothing is allocated.
 *
 * Syntax, one setting a line:
 *
 *     # a comment (only as the first thing on a line)
 *     key = value
 *     key = "value with surrounding spaces kept "
 *
 * Spaces and tabs around the key and the value are trimmed, a line may
 * end in CRLF, blank lines are skipped.  A value in double quotes is
 * taken as written between them (no escapes); a '#' after a value is part
 * of the value.  A key is lowercase letters, digits and '_'.  A line
 * longer than TG_CONF_LINE_MAX bytes, a line without '=', an empty or
 * ill-formed key, an unterminated quote or a NUL byte make that line
 * malformed: it is reported and skipped, the others apply.  A key given
 * twice: the last line wins.
 */
#ifndef TG_CONFIG_FILE_H
#define TG_CONFIG_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* What a configuration file may weigh, and one of its lines. */
#define TG_CONF_FILE_MAX 65536
#define TG_CONF_LINE_MAX 4096

/* tg_conf_read's answers. */
#define TG_CONF_READ    0    /* read: the bytes are in buf */
#define TG_CONF_ABSENT  1    /* no such file: nothing to apply */
#define TG_CONF_REFUSED (-1) /* unsafe or unreadable: err says why and what to do */

/* Reads path into buf (cap bytes, at least TG_CONF_FILE_MAX + 1 to take
 * any acceptable file), NUL-terminated, its length in *len, if it is a
 * regular file of owner (a uid) that group and others cannot write, not a
 * symlink, at most TG_CONF_FILE_MAX bytes.  Returns TG_CONF_READ,
 * TG_CONF_ABSENT, or TG_CONF_REFUSED with err (errlen bytes) set to
 * "PATH: why; what to do".  Never blocks on anything but the disk. */
int tg_conf_read(const char *path, uid_t owner, char *buf, size_t cap, size_t *len,
                 char *err, size_t errlen);

/* Called for each line that is not blank or a comment: key and value (NUL-
 * terminated, inside the buffer) for a well-formed one, else key and value
 * NULL and why set to what is wrong.  line counts from 1. */
typedef void (*tg_conf_line_fn)(void *ctx, int line, const char *key, const char *value,
                                const char *why);

/* Parses buf (len bytes and a writable byte after them, as tg_conf_read
 * leaves it; keys and values are cut out in place) and calls fn for each
 * line that is not blank or a comment, in order. */
void tg_conf_parse(char *buf, size_t len, tg_conf_line_fn fn, void *ctx);

#endif
