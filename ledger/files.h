/* files.h - the ledger's trust in its own files.
 *
 * Owns: the rules every file and directory of a ledger must meet before
 * tokenguard reads, writes or maps it, and the checks of LMDB's files that
 * keep a damaged or replaced file from faulting the program that maps it:
 *
 *  - a directory (the ledger's, its spool directory) belongs to the
 *    effective user and is closed to writes by group and others;
 *  - a file is opened O_NOFOLLOW | O_CLOEXEC and must be a regular file
 *    owned by the effective user, closed to writes by group and others;
 *  - data.mdb is as long as its newer meta page says (read with pread,
 *    never through the map), so a short file is refused before any page
 *    of it is touched;
 *  - lock.mdb has real blocks behind the part LMDB maps (posix_fallocate),
 *    so a full file system is an error code, never SIGBUS.
 *
 * Return convention as in ledger.h: 0 or a negative TG_E* code.
 */
#ifndef TG_FILES_H
#define TG_FILES_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The part of lock.mdb LMDB maps with its default 126 reader slots:
 * (126 - 1) slots of 64 bytes after a 192-byte header. */
#define TG_LOCK_FILE_BYTES 8192

/* 0 when st is a directory of the effective user that group and others
 * cannot write; TG_EUNSAFE otherwise (TG_ENOENT if not a directory). */
int tg_dir_check(const struct stat *st);

/* Opens dir (following symlinks in the path, as a user's home may) as a
 * directory file descriptor and checks it with tg_dir_check().  Returns
 * the descriptor, or a TG_E* code. */
int tg_dir_open(const char *dir);

/* Makes name in dirfd (mode 0700) unless it exists, then opens and checks
 * it like tg_dir_open().  Returns the descriptor or a TG_E* code. */
int tg_subdir_open(int dirfd, const char *name);

/* openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600), then checks
 * that what was opened is a regular file of the effective user that group
 * and others cannot write.  A symlink is TG_EUNSAFE.  Returns the
 * descriptor or a TG_E* code. */
int tg_file_open(int dirfd, const char *name, int flags);

/* What data.mdb's header says, from the newer of its two meta pages. */
struct tg_data_meta {
	uint32_t page_size;
	uint64_t last_page;
	uint64_t txnid;
	uint64_t map_size;
	uint64_t main_root;     /* root page of the main database, ~0 when empty */
	uint64_t free_root;     /* root page of the free-page database */
};

/* Checks data.mdb on fd against its meta pages.  Returns 0 and fills m
 * (may be NULL), TG_ENOENT for an empty file (created, never
 * initialised), TG_ECORRUPT for a file that is not an LMDB data file or
 * is shorter than its last page. */
int tg_data_check(int fd, struct tg_data_meta *m);

/* What LMDB's own open trusts in data.mdb before any lock of its is
 * held: the page size of each meta page it would take (a zero one makes
 * it divide by zero).  Returns 0 or TG_ECORRUPT; the length and the trees
 * are checked after LMDB's open (tg_data_check, tg_data_check_trees). */
int tg_data_precheck(int fd);

/* The newer of data.mdb's meta pages, whatever the file's length: for a
 * repair that reads what a short file still holds.  Returns 0 or
 * TG_ECORRUPT (a meta page is unreadable or not LMDB's). */
int tg_data_meta_read(int fd, struct tg_data_meta *m);

/* tg_data_check() on data.mdb as mapped at map, size bytes long now:
 * no system call, for the check before every transaction.  The meta
 * pages are read only once size says they are in the file. */
int tg_data_check_mapped(const void *map, uint64_t size, struct tg_data_meta *m);

/* How many pages tg_data_check_trees() reads at most. */
#define TG_TREE_CHECK_PAGES 64

/* Reads, with pread, the first TG_TREE_CHECK_PAGES pages of data.mdb's
 * trees breadth first from the roots each meta page names (the main
 * database, the databases it holds, the free pages) and checks what LMDB trusts on them
 * without checking: each page's own number, its kind, its node offsets
 * and sizes within the page, child and overflow page numbers within the
 * file.  LMDB keeps no checksums, and a damaged page there makes it read
 * outside the page; this catches that in the top of every tree (all of a
 * small ledger) before LMDB reads it.  Returns 0, TG_ECORRUPT or
 * TG_ENOMEM. */
int tg_data_check_trees(int fd);

/* Gives lock.mdb (open read-write on fd) real blocks for the part LMDB
 * maps.  Returns 0, TG_EFULL or TG_EIO. */
int tg_lock_file_reserve(int fd);

#endif
