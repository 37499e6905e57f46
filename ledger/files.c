/* files.c - see files.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
#define OFF_LAST_PAGE   136
#define OFF_TXNID       144
#define META_BYTES      152
#define PAGE_MIN        512
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

	if (m1->page_size != m0->page_size || m->last_page >= UINT64_MAX / m->page_size ||
	    size < (m->last_page + 1) * m->page_size)
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
