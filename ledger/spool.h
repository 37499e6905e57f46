/* spool.h - the ledger's spools: what a writer keeps when it cannot have
 * the ledger's writer lock at once.
 *
 * Owns: the files <ledger>/spool/<pid>-<random> and their byte layout.
 * The shim's processes hand every record off to a spool file of their own
 * (group commit, ledger.h), and any writer that finds the ledger locked
 * (another process is committing, or is stopped inside its commit)
 * appends the entry there instead of waiting; whichever writer next holds
 * the lock folds every spool into LMDB (ledger_fold.c).  An entry is applied at most once
 * because every payload carries the key it is stored under in LMDB, and a
 * fold skips what is already there: a spool may be read any number of
 * times, by any number of folds, with the same result.
 *
 *   file   = entry*
 *   entry  = magic:u32 BE "TGS1" | type:u8 | 0:u8 0:u8 0:u8 | len:u32 BE |
 *            crc:u32 BE | payload[len]
 *   crc    = zlib crc32 of type, the three zero bytes, len and payload
 *
 * Entries are appended with one write(2) each, so a reader sees whole
 * entries and at most one partial one at the end of a live writer's file
 * (it is read again next time).  A file's owner holds flock(LOCK_EX) on it
 * for as long as it lives: a file nobody holds belongs to a process that
 * is gone, and a fold that has applied all of it deletes it; a writer
 * removes its own once a fold has applied it.  A new file
 * is made under a dot-name, locked, then renamed into place, so no fold
 * ever sees an unlocked live file.
 *
 * The spool directory and its files must belong to the effective user and
 * be closed to group and others, like the ledger itself (ledger_files.c);
 * anything else in the directory is skipped and counted.
 *
 * Return convention as in ledger.h: 0 or a negative TG_E* code.
 */
#ifndef TG_SPOOL_H
#define TG_SPOOL_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

#define TG_SPOOL_DIR "spool"
#define TG_SPOOL_ENTRY_HDR 16
#define TG_SPOOL_PAYLOAD_MAX (64 * 1024)
/* A spool is for the minutes a writer is stuck, not a second ledger: past
 * this size a file takes no more entries and the writer says so. */
#define TG_SPOOL_FILE_MAX ((off_t)64 << 20)

enum tg_spool_type {
	TG_SPOOL_RECORD = 1,      /* key[16] | family len u8 | family | encoded record */
	TG_SPOOL_ALERT = 2,       /* key[16] | encoded alert */
	TG_SPOOL_ALERT_ONCE = 3,  /* key[16] | encoded alert, once per policy/level/window */
};

/* One writer's own spool file. */
struct tg_spool {
	int fd;              /* -1 until the first append */
	char name[64];       /* file name inside the spool directory */
	int64_t size;        /* bytes appended: only its owner writes the file */
};

#define TG_SPOOL_INIT { -1, "", 0 }

/* Appends one entry to s, creating the spool directory and s's file on
 * first use (ledger_dirfd is the ledger directory, opened by the caller).
 * Returns 0, TG_EFULL (the file reached TG_SPOOL_FILE_MAX, or the disk is
 * full: nothing of the entry stays), TG_EACCES (the spool directory is not
 * the user's own), TG_EINVAL or TG_EIO. */
int tg_spool_append(struct tg_spool *s, int ledger_dirfd, int type,
                    const void *payload, size_t len);

/* Removes s's own file after a fold applied all of it (the next append
 * makes a new one): every fold opens every file there is, so an empty one
 * kept by a live process would cost each of them.  Only the owner may do
 * this, with the writer lock held (no fold reads it) and while no append
 * of its own can run. */
void tg_spool_remove(struct tg_spool *s, int ledger_dirfd);

/* Closes s; an empty file is removed, one with entries stays for the next
 * fold. */
void tg_spool_close(struct tg_spool *s, int ledger_dirfd);

/* Forgets s in a forked child without touching the file, which belongs
 * to the parent (closing our copy of the descriptor keeps its lock). */
void tg_spool_abandon(struct tg_spool *s);

/* What a reading of the spools found. */
struct tg_spool_stats {
	int files;           /* spool files read */
	int64_t entries;     /* well-formed entries delivered */
	int64_t bytes;       /* bytes of those entries */
	int damaged;         /* files with a bad entry before their end: read up to it */
	int torn;            /* files of dead writers ending in a partial entry */
	int skipped;         /* names that are not spool files, or not the user's own */
};

/* Called for each well-formed entry; a nonzero return stops the reading
 * and is returned. */
typedef int (*tg_spool_entry_fn)(void *ctx, int type, const unsigned char *payload,
                                 size_t len);

/* A file whose writer is gone, fully applied: to delete after commit. */
struct tg_spool_done {
	int fd;              /* holds the file's lock until it is deleted */
	char name[64];
};

#define TG_SPOOL_DONE_MAX 32

/* The spools of a ledger, read in one pass.  own (may be NULL) is the
 * caller's own spool, which is read like the others but never counted as
 * dead.  When done is not NULL, files of dead writers that were read to
 * their end are put there (at most TG_SPOOL_DONE_MAX, *ndone set) with
 * their lock held: the caller deletes them with tg_spool_done_finish()
 * once what it did with their entries is durable.  Returns 0 (also when
 * there is no spool directory), fn's value, or a TG_E* code. */
int tg_spool_read_all(int ledger_dirfd, const struct tg_spool *own, tg_spool_entry_fn fn,
                      void *ctx, struct tg_spool_stats *st, struct tg_spool_done *done,
                      int *ndone);

/* Delivers the well-formed entries of one spool file from offset start
 * (an entry boundary).  *end is set past the last entry delivered; *clean
 * to 1 when the file ended on an entry boundary, 0 when it ended inside
 * one (a live writer's append under way, or a dead writer's torn one),
 * -1 when an entry is damaged (bad magic or checksum): nothing past it is
 * read.  st (may be NULL) counts what was delivered.  Returns 0, fn's
 * value, or a TG_E* code. */
int tg_spool_read_from(int fd, int64_t start, tg_spool_entry_fn fn, void *ctx,
                       struct tg_spool_stats *st, int64_t *end, int *clean);

/* The spool files of a ledger, opened at one moment.  A reader opens them
 * before it begins its LMDB snapshot: a fold that commits afterwards and
 * then deletes a file cannot take that file's records from both the
 * snapshot and the reader (an open file stays readable), and a record
 * folded before the snapshot is found in it and skipped by key. */
struct tg_spool_set {
	int *fd;
	size_t n, cap;
};

#define TG_SPOOL_SET_INIT { NULL, 0, 0 }

/* Opens every spool file now in the directory (none: an empty set).
 * Returns 0 or a TG_E* code (the set is then empty). */
int tg_spool_set_open(int ledger_dirfd, struct tg_spool_set *s);

/* tg_spool_read_from() of every file of the set from its start. */
int tg_spool_set_read(const struct tg_spool_set *s, tg_spool_entry_fn fn, void *ctx);

void tg_spool_set_close(struct tg_spool_set *s);

/* Opens the spool directory for readdir() after the same checks as the
 * ledger's own directory (files.h).  Returns 0 with *out NULL when there is
 * no spool directory, 0 with *out open, or a TG_E* code. */
int tg_spool_dir_open(int ledger_dirfd, DIR **out);

/* 1 when name is a spool file's: <pid>-<16 hex digits>. */
int tg_spool_name_valid(const char *name);

/* Deletes (unlink != 0) or just releases the files tg_spool_read_all()
 * handed over. */
void tg_spool_done_finish(int ledger_dirfd, struct tg_spool_done *done, int ndone, int unlink);

#endif
