/* files.c - see files.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "byteorder.h"
#include "error.h"
#include "files.h"

/* LMDB 0.9's data file: two meta pages, each a 16-byte page header then
 * struct MDB_meta (lmdb's mdb.c): magic u32, version u32, address, map
 * size, two MDB_db of 48 bytes (the first one's leading u32 is the page
 * size), last page, transaction id.  Offsets are for 64-bit builds, the
 * only ones whose files this reads (a 32-bit LMDB writes a different,
 * incompatible layout, refused here as LMDB refuses it). */
#define META_MAGIC      0xBEEFC0DEu
#define META_VERSION    1u
#define OFF_MAGIC       16
#define OFF_VERSION     20
#define OFF_MAPSIZE     32
#define OFF_PAGESIZE    40
#define OFF_FREE_FLAGS  44       /* mm_dbs[0].md_flags: MDB_INTEGERKEY */
#define OFF_FREE_ROOT   80       /* mm_dbs[0].md_root */
#define OFF_MAIN_FLAGS  92       /* mm_dbs[1].md_flags: none */
#define OFF_MAIN_ROOT   128      /* mm_dbs[1].md_root */
#define FREE_DB_FLAGS   0x08
#define OFF_LAST_PAGE   136
#define OFF_TXNID       144
#define META_BYTES      152
#define PAGE_MIN        512
#define PRECHECK_TRIES  3
#define PAGE_MAX        65536

static uint32_t le32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);   /* LMDB writes host order; Linux x86-64 and arm64 are little-endian */
	return v;
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

int tg_dir_check(const struct stat *st)
{
	if (!S_ISDIR(st->st_mode))
		return TG_ENOENT;
	if (st->st_uid != geteuid() || (st->st_mode & (S_IWGRP | S_IWOTH)))
		return TG_EUNSAFE;
	return 0;
}

static int check_fd_dir(int fd)
{
	struct stat st;
	int rc;

	if (fstat(fd, &st) != 0)
		rc = tg_error_from_errno(errno);
	else
		rc = tg_dir_check(&st);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int tg_dir_open(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return tg_error_from_errno(errno);
	return check_fd_dir(fd);
}

int tg_subdir_open(int dirfd, const char *name)
{
	int fd;

	if (mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST)
		return tg_error_from_errno(errno);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? TG_EUNSAFE : tg_error_from_errno(errno);
	return check_fd_dir(fd);
}

int tg_file_open(int dirfd, const char *name, int flags)
{
	struct stat st;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno == ELOOP ? TG_EUNSAFE : tg_error_from_errno(errno);
	if (fstat(fd, &st) != 0) {
		int rc = tg_error_from_errno(errno);
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return TG_EUNSAFE;
	}
	return fd;
}

static int parse_meta(const unsigned char *b, struct tg_data_meta *m)
{
	if (le32(b + OFF_MAGIC) != META_MAGIC || le32(b + OFF_VERSION) != META_VERSION)
		return TG_ECORRUPT;
	m->page_size = le32(b + OFF_PAGESIZE);
	m->map_size = le64(b + OFF_MAPSIZE);
	m->last_page = le64(b + OFF_LAST_PAGE);
	m->txnid = le64(b + OFF_TXNID);
	m->free_root = le64(b + OFF_FREE_ROOT);
	m->main_root = le64(b + OFF_MAIN_ROOT);
	/* LMDB takes a database's flags (sorted duplicates, integer keys)
	 * from the file: other flags than ours would make it read our pages
	 * as another layout. */
	if (tg_get_le16(b + OFF_FREE_FLAGS) != FREE_DB_FLAGS ||
	    tg_get_le16(b + OFF_MAIN_FLAGS) != 0)
		return TG_ECORRUPT;
	if (m->page_size < PAGE_MIN || m->page_size > PAGE_MAX || (m->page_size & (m->page_size - 1)))
		return TG_ECORRUPT;
	return 0;
}

/* Both meta pages sound, and every page up to the newer one's last page
 * in the file: LMDB reads the newer meta, and a page past the end of the
 * file raises SIGBUS when it is read through the map. */
static int check_metas(const struct tg_data_meta *m0, const struct tg_data_meta *m1,
                       uint64_t size, struct tg_data_meta *out)
{
	const struct tg_data_meta *m = m1->txnid > m0->txnid ? m1 : m0;
	uint64_t last = m0->last_page > m1->last_page ? m0->last_page : m1->last_page;

	/* Writers read the newer meta, readers the one the lock file's last
	 * transaction id points to: both must fit. */
	if (m1->page_size != m0->page_size || last >= UINT64_MAX / m->page_size ||
	    size < (last + 1) * m->page_size)
		return TG_ECORRUPT;
	if (out)
		*out = *m;
	return 0;
}

int tg_data_check(int fd, struct tg_data_meta *out)
{
	unsigned char b[META_BYTES];
	struct tg_data_meta m0, m1;
	struct stat st;

	if (fstat(fd, &st) != 0)
		return tg_error_from_errno(errno);
	if (st.st_size == 0)
		return TG_ENOENT;
	if (pread(fd, b, sizeof b, 0) != (ssize_t)sizeof b || parse_meta(b, &m0) != 0 ||
	    (uint64_t)st.st_size < 2 * (uint64_t)m0.page_size ||
	    pread(fd, b, sizeof b, m0.page_size) != (ssize_t)sizeof b || parse_meta(b, &m1) != 0)
		return TG_ECORRUPT;
	return check_metas(&m0, &m1, (uint64_t)st.st_size, out);
}

int tg_data_meta_read(int fd, struct tg_data_meta *out)
{
	unsigned char b[META_BYTES];
	struct tg_data_meta m0, m1;

	if (pread(fd, b, sizeof b, 0) != (ssize_t)sizeof b || parse_meta(b, &m0) != 0 ||
	    pread(fd, b, sizeof b, m0.page_size) != (ssize_t)sizeof b || parse_meta(b, &m1) != 0 ||
	    m1.page_size != m0.page_size)
		return TG_ECORRUPT;
	*out = m1.txnid > m0.txnid ? m1 : m0;
	return 0;
}

/* A meta page LMDB would take (its magic and version) must have a page
 * size LMDB can divide by and map with. */
static int meta_takeable(const unsigned char *b)
{
	struct tg_data_meta m;

	if (le32(b + OFF_MAGIC) != META_MAGIC || le32(b + OFF_VERSION) != META_VERSION)
		return 1;   /* LMDB refuses it itself */
	return parse_meta(b, &m) == 0;
}

int tg_data_precheck(int fd)
{
	unsigned char b[META_BYTES];

	for (int tries = 0; tries < PRECHECK_TRIES; tries++) {
		ssize_t n = pread(fd, b, sizeof b, 0);
		uint32_t psize = n == (ssize_t)sizeof b ? le32(b + OFF_PAGESIZE) : 0;

		if (n < (ssize_t)sizeof b)
			return 0;   /* new or short: LMDB's open says which */
		if (meta_takeable(b) && (le32(b + OFF_MAGIC) != META_MAGIC ||
		    pread(fd, b, sizeof b, psize) != (ssize_t)sizeof b || meta_takeable(b)))
			return 0;
		/* A meta page being written by the process that makes the
		 * ledger can be read half done: look again before calling it
		 * damage. */
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return TG_ECORRUPT;
}

int tg_data_check_mapped(const void *map, uint64_t size, struct tg_data_meta *out)
{
	const unsigned char *p = map;
	struct tg_data_meta m0, m1;

	/* Page 0 is readable once the file has a byte; page 1 once the file
	 * holds two pages of the size page 0 gives. */
	if (size < META_BYTES || parse_meta(p, &m0) != 0 || size < 2 * (uint64_t)m0.page_size ||
	    parse_meta(p + m0.page_size, &m1) != 0)
		return TG_ECORRUPT;
	return check_metas(&m0, &m1, size, out);
}

/* LMDB 0.9's pages (mdb.c): header pgno u64, pad u16, flags u16, lower
 * u16, upper u16, then lower-16 bytes of u16 node offsets; a node is
 * lo u16, hi u16, flags u16, key size u16, key, data.  In a branch node,
 * lo | hi << 16 | flags << 32 is the child's page number; in a leaf node,
 * lo | hi << 16 is the data's size, and flag 1 (big data) makes the data a
 * page number of overflow pages, flag 2 (sub-database) a 48-byte MDB_db
 * whose root is at offset 40. */
#define TREE_CHECK_TRIES 8
#define P_BRANCH     0x01
#define P_LEAF       0x02
#define P_INVALID    UINT64_MAX
#define F_BIGDATA    0x01
#define F_SUBDATA    0x02
#define PAGE_HDR     16
#define NODE_HDR     8
#define DB_FLAGS_OFF 4
#define DB_ROOT_OFF  40
#define DB_SIZE      48

struct walk {
	const struct tg_data_meta *m;
	uint64_t queue[TG_TREE_CHECK_PAGES];
	unsigned char free_tree[TG_TREE_CHECK_PAGES];
	int head, tail;
	int in_free;           /* the page being read is of the free-page tree */
};

static int push(struct walk *w, uint64_t pgno)
{
	if (pgno == P_INVALID)
		return 0;
	if (pgno < 2 || pgno > w->m->last_page)
		return TG_ECORRUPT;
	/* In a tree every page has one parent: a page met again is a cycle,
	 * down which LMDB's cursor stack would overflow. */
	for (int i = 0; i < w->tail; i++)
		if (w->queue[i] == pgno)
			return TG_ECORRUPT;
	if (w->tail < TG_TREE_CHECK_PAGES) {
		w->free_tree[w->tail] = (unsigned char)w->in_free;
		w->queue[w->tail++] = pgno;
	}
	return 0;
}

static int check_node(struct walk *w, const unsigned char *pg, unsigned off, int branch)
{
	uint32_t psize = w->m->page_size;
	const unsigned char *node = pg + off;
	unsigned ksize = tg_get_le16(node + 6), flags = tg_get_le16(node + 4);
	uint64_t size = (uint64_t)tg_get_le16(node) | (uint64_t)tg_get_le16(node + 2) << 16;
	const unsigned char *data = node + NODE_HDR + ksize;

	if (off + NODE_HDR + (uint64_t)ksize > psize)
		return TG_ECORRUPT;
	if (branch)
		return push(w, size | (uint64_t)flags << 32);
	/* Big data or a sub-database, never both, nor sorted duplicates: no
	 * database of ours has them. */
	if (flags != 0 && flags != F_BIGDATA && flags != F_SUBDATA)
		return TG_ECORRUPT;
	if (flags & F_BIGDATA) {
		uint64_t first, pages;

		if (data + 8 > pg + psize)
			return TG_ECORRUPT;
		first = le64(data);
		pages = (size + PAGE_HDR + psize - 1) / psize;
		return first >= 2 && first <= w->m->last_page &&
		       pages <= w->m->last_page + 1 - first ? 0 : TG_ECORRUPT;
	}
	if (data + size > pg + psize)
		return TG_ECORRUPT;
	if (flags & F_SUBDATA)   /* every database of ours is opened without flags */
		return size == DB_SIZE && tg_get_le16(data + DB_FLAGS_OFF) == 0
		       ? push(w, le64(data + DB_ROOT_OFF)) : TG_ECORRUPT;
	return 0;
}

static int check_tree(int fd, const struct tg_data_meta *m)
{
	uint32_t psize = m->page_size;
	unsigned char *pg = malloc(psize);
	struct walk *w = calloc(1, sizeof *w);
	int rc = 0;

	if (!pg || !w) {
		rc = TG_ENOMEM;
		goto out;
	}
	w->m = m;
	if ((rc = push(w, m->main_root)) != 0)
		goto out;
	w->in_free = 1;
	if ((rc = push(w, m->free_root)) != 0)
		goto out;
	while (rc == 0 && w->head < w->tail) {
		uint64_t pgno = w->queue[w->head];
		unsigned flags, lower, upper;

		w->in_free = w->free_tree[w->head++];
		if (pread(fd, pg, psize, (off_t)(pgno * psize)) != (ssize_t)psize) {
			rc = TG_ECORRUPT;
			break;
		}
		flags = tg_get_le16(pg + 10);
		lower = tg_get_le16(pg + 12);
		upper = tg_get_le16(pg + 14);
		if (le64(pg) != pgno || !(flags & (P_BRANCH | P_LEAF)) ||
		    (flags & (P_BRANCH | P_LEAF)) == (P_BRANCH | P_LEAF) || lower < PAGE_HDR ||
		    (lower & 1) || lower > upper || upper > psize ||
		    /* a branch has two children at least, but in the free-page tree */
		    ((flags & P_BRANCH) && lower < PAGE_HDR + (w->in_free ? 2 : 4))) {
			rc = TG_ECORRUPT;
			break;
		}
		for (unsigned i = 0; rc == 0 && i < (lower - PAGE_HDR) / 2; i++) {
			unsigned off = tg_get_le16(pg + PAGE_HDR + 2 * i);

			rc = off < upper || off > psize - NODE_HDR ? TG_ECORRUPT
			                                           : check_node(w, pg, off, flags & P_BRANCH);
		}
	}
out:
	free(pg);
	free(w);
	return rc;
}

static int read_metas(int fd, struct tg_data_meta m[2])
{
	unsigned char b[META_BYTES];

	for (int i = 0; i < 2; i++) {
		/* cppcheck-suppress uninitvar ; m[1] is read after parse_meta filled m[0] */
		off_t at = i ? m[0].page_size : 0;

		if (pread(fd, b, sizeof b, at) != (ssize_t)sizeof b || parse_meta(b, &m[i]) != 0)
			return TG_ECORRUPT;
	}
	return 0;
}

int tg_data_check_trees(int fd)
{
	struct tg_data_meta m[2], again[2];
	int rc = TG_ECORRUPT;

	/* These reads are no LMDB reader: a writer committing meanwhile may
	 * reuse pages of the trees being read.  A check that fails while the
	 * meta pages moved is tried again; one that fails on the same meta
	 * pages twice is damage. */
	for (int tries = 0; tries < TREE_CHECK_TRIES; tries++) {
		if (read_metas(fd, m) != 0)
			return TG_ECORRUPT;
		/* LMDB may read through either meta page (see check_metas). */
		rc = check_tree(fd, &m[0]);
		if (rc == 0 && (m[1].main_root != m[0].main_root || m[1].free_root != m[0].free_root))
			rc = check_tree(fd, &m[1]);
		if (rc != TG_ECORRUPT)
			return rc;
		if (read_metas(fd, again) != 0)
			return TG_ECORRUPT;
		if (again[0].txnid == m[0].txnid && again[1].txnid == m[1].txnid)
			return rc;
	}
	return rc;
}

int tg_lock_file_reserve(int fd)
{
	int rc = posix_fallocate(fd, 0, TG_LOCK_FILE_BYTES);

	/* A file system without fallocate (some FUSE ones) gets the blocks
	 * the plain way: writing zeros where the file has none. */
	if (rc == EOPNOTSUPP || rc == EINVAL) {
		struct stat st;
		static const unsigned char zero[TG_LOCK_FILE_BYTES];

		if (fstat(fd, &st) != 0)
			return tg_error_from_errno(errno);
		if (st.st_size >= TG_LOCK_FILE_BYTES && st.st_blocks * 512 >= TG_LOCK_FILE_BYTES)
			return 0;
		if (st.st_size > 0)
			return 0;   /* in use by others: never overwrite their slots */
		rc = pwrite(fd, zero, sizeof zero, 0) == (ssize_t)sizeof zero ? 0 : errno;
		if (rc == 0)
			rc = fdatasync(fd) == 0 ? 0 : errno;
	}
	return rc ? tg_error_from_errno(rc) : 0;
}
