/* error.h - the ledger's error codes.
 *
 * Owns: the negative TG_E* codes returned by the ledger and the record
 * decoder, tg_strerror() and the errno to TG_E* mapping.  Kept apart from
 * ledger.h so the record encoding and the report can name the codes
 * without pulling in LMDB.
 */
#ifndef TG_ERROR_H
#define TG_ERROR_H

#include <stddef.h>

enum tg_err {
	TG_EINVAL   = -1,  /* bad argument (a caller bug) */
	TG_ENOENT   = -2,  /* no ledger at that place */
	TG_EACCES   = -3,  /* permission denied, or a read-only file system */
	TG_ECORRUPT = -4,  /* not a tokenguard ledger, or damaged data */
	TG_ESCHEMA  = -5,  /* written by a newer tokenguard */
	TG_EFULL    = -6,  /* disk full, quota, or the map size cap reached */
	TG_EIO      = -7,  /* any other I/O or LMDB failure */
	TG_ENOMEM   = -8,  /* out of memory */
	TG_EBUSY    = -9,  /* every reader slot stayed taken */
	TG_EFORKED  = -10, /* handle inherited across fork() */
	TG_ELOCKED  = -11, /* another process holds the writer lock */
	TG_EUNSAFE  = -12, /* a ledger directory or file not the user's own, open to
	                      others' writes, or a symlink */
	TG_ETOOLONG = -13, /* a path longer than the system allows */
	TG_ENOLIB   = -14, /* liblmdb or zlib could not be loaded (shim/lazylib.h) */
};

#define TG_ELAST TG_ENOLIB   /* the lowest code: codes are TG_ELAST..-1 */

/* An errno value as a TG_E* code (0 stays 0), one table for every file
 * of the ledger that makes system calls. */
int tg_error_from_errno(int e);

/* A static, one-line description of rc: what is wrong, then what to do,
 * separated by "; ".  Never NULL; unknown codes get a generic text. */
const char *tg_strerror(int rc);

/* Writes a message into err (errlen bytes; nothing when err is NULL or
 * errlen 0) and returns -1: the one form of "fail with why" of the
 * parsers that report into a caller's buffer. */
int tg_err_say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
