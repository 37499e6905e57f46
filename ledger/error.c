/* error.c - the TG_E* codes' messages and the errno mapping (see error.h).
 *
 * Each message names the problem and the remedy, because the report prints
 * it as is and the person reading it has no other context. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

int tg_error_from_errno(int e)
{
	switch (e) {
	case 0: return 0;
	case ENOENT: case ENOTDIR: return TG_ENOENT;
	case EACCES: case EPERM: case EROFS: return TG_EACCES;
	case ENOSPC: case EDQUOT: case EFBIG: return TG_EFULL;
	case ENOMEM: return TG_ENOMEM;
	case ENAMETOOLONG: return TG_ETOOLONG;
	case ELIBACC: return TG_ENOLIB;
	}
	return TG_EIO;
}

const char *tg_strerror(int rc)
{
	switch (rc) {
	case 0:
		return "success";
	case TG_EINVAL:
		return "invalid argument; this is a bug in tokenguard: please report it";
	case TG_ETOOLONG:
		return "path too long; choose a shorter ledger directory";
	case TG_ENOENT:
		/* The shim reads these texts too: no remedy names a CLI flag. */
		return "no ledger found; check the ledger path (no part of it may be a file), "
		       "or run a program under libtokenguard.so to create the ledger";
	case TG_EACCES:
		return "permission denied on the ledger directory or its files; "
		       "fix the ownership/permissions (directory 0700, files 0600) or choose another directory";
	case TG_ECORRUPT:
		return "the ledger is damaged or is not a tokenguard ledger; "
		       "run 'tokenguard-report repair' to rebuild it from what can still be read";
	case TG_ESCHEMA:
		return "ledger written by a newer tokenguard; "
		       "upgrade tokenguard, or use a separate ledger directory for this version";
	case TG_EFULL:
		return "the ledger cannot grow (disk full, quota, or size cap reached); "
		       "free disk space or move old ledgers elsewhere";
	case TG_EIO:
		return "I/O error on the ledger; check the disk and the system log, then retry";
	case TG_ENOMEM:
		return "out of memory; retry with more memory available";
	case TG_EBUSY:
		return "every ledger reader slot is taken; "
		       "retry when fewer programs are reading the ledger";
	case TG_ELOCKED:
		return "another process holds the ledger's writer lock; "
		       "retry when it has finished, or stop it if it is stuck";
	case TG_EUNSAFE:
		return "the ledger directory or a file in it is not your own, is writable by group or "
		       "others, or is a symlink; chmod 700 the directory (files 600) and remove what "
		       "you did not put there, or choose another directory";
	case TG_ENOLIB:
		return "a library the ledger needs (liblmdb.so.0, libz.so.1) cannot be loaded; "
		       "install the liblmdb0 and zlib1g packages";
	case TG_EFORKED:
		return "ledger handle used in a forked child; "
		       "abandon it with tg_ledger_abandon() and open a new one in the child";
	}
	return "unknown ledger error; this is a bug, please report it";
}

int tg_err_say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}
