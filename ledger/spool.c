/* spool.c - see spool.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"
#include "files.h"
#include "ledger_impl.h"
#include "spool.h"

#define ENTRY_MAGIC 0x54475331u   /* "TGS1" */
/* Room for the largest entry and then some; below malloc's mmap threshold, so
 * that the budget check of every request, which reads the spools, does not
 * map and unmap it each time. */
#define READ_CHUNK (96 * 1024)

static uint32_t entry_crc(const unsigned char *hdr, const void *payload, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, hdr + 4, 8);   /* type, three zero bytes, len */
	return (uint32_t)crc32(crc, payload, (uInt)len);
}

static void entry_header(unsigned char hdr[TG_SPOOL_ENTRY_HDR], int type,
                         const void *payload, size_t len)
{
	tg_put_be32(hdr, ENTRY_MAGIC);
	hdr[4] = (unsigned char)type;
	hdr[5] = hdr[6] = hdr[7] = 0;
	tg_put_be32(hdr + 8, (uint32_t)len);
	tg_put_be32(hdr + 12, entry_crc(hdr, payload, len));
}

/* A spool file of our own: made under a dot-name that folds ignore,
 * locked, and only then given the name folds read. */
static int spool_create(struct tg_spool *s, int spooldir)
{
	char tmp[80];
	uint64_t rnd = 0;
	int fd, rc;

	if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);   /* the name must be new, not secret */
		rnd = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 40;
	}
	snprintf(s->name, sizeof s->name, "%d-%016llx", (int)getpid(), (unsigned long long)rnd);
	snprintf(tmp, sizeof tmp, ".%s", s->name);
	fd = tg_file_open(spooldir, tmp, O_RDWR | O_CREAT | O_EXCL | O_APPEND);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || renameat(spooldir, tmp, spooldir, s->name) != 0) {
		rc = tg_error_from_errno(errno);
		unlinkat(spooldir, tmp, 0);
		close(fd);
		return rc;
	}
	s->fd = fd;
	s->size = 0;
	return 0;
}

int tg_spool_append(struct tg_spool *s, int ledger_dirfd, int type,
                    const void *payload, size_t len)
{
	unsigned char hdr[TG_SPOOL_ENTRY_HDR];
	struct iovec iov[2];
	ssize_t w;
	int rc;

	if (!s || len > TG_SPOOL_PAYLOAD_MAX || type < TG_SPOOL_RECORD || type > TG_SPOOL_ALERT_ONCE)
		return TG_EINVAL;
	if (s->fd < 0) {
		int spooldir = tg_subdir_open(ledger_dirfd, TG_SPOOL_DIR);

		if (spooldir < 0)
			return spooldir;
		rc = spool_create(s, spooldir);
		close(spooldir);
		if (rc)
			return rc;
	}
	if (s->size + TG_SPOOL_ENTRY_HDR + (int64_t)len > TG_SPOOL_FILE_MAX)
		return TG_EFULL;
	entry_header(hdr, type, payload, len);
	iov[0] = (struct iovec){ hdr, sizeof hdr };
	iov[1] = (struct iovec){ (void *)payload, len };
	w = writev(s->fd, iov, 2);
	if (w == (ssize_t)(sizeof hdr + len)) {
		s->size += w;
		return 0;
	}
	rc = w < 0 ? tg_error_from_errno(errno) : TG_EFULL;
	/* Leave no partial entry behind: the next one would follow it and a
	 * reader would stop at the partial one. */
	if (ftruncate(s->fd, (off_t)s->size) != 0)
		rc = TG_EIO;
	return rc;
}

static void unlink_in_spool_dir(int ledger_dirfd, const char *name)
{
	int spooldir = openat(ledger_dirfd, TG_SPOOL_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (spooldir >= 0) {
		unlinkat(spooldir, name, 0);
		close(spooldir);
	}
}

void tg_spool_remove(struct tg_spool *s, int ledger_dirfd)
{
	if (!s || s->fd < 0)
		return;
	unlink_in_spool_dir(ledger_dirfd, s->name);
	close(s->fd);
	s->fd = -1;
}

void tg_spool_close(struct tg_spool *s, int ledger_dirfd)
{
	struct stat st;

	if (!s || s->fd < 0)
		return;
	if (fstat(s->fd, &st) == 0 && st.st_size == 0)
		unlink_in_spool_dir(ledger_dirfd, s->name);
	close(s->fd);
	s->fd = -1;
}

void tg_spool_abandon(struct tg_spool *s)
{
	if (!s || s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
}

int tg_spool_name_valid(const char *name)
{
	const char *dash = strchr(name, '-');
	size_t n = strlen(name);

	if (!dash || dash == name || n - (size_t)(dash - name) != 17)
		return 0;
	for (const char *p = name; p < dash; p++)
		if (*p < '0' || *p > '9')
			return 0;
	for (const char *p = dash + 1; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

int tg_spool_read_from(int fd, int64_t start, tg_spool_entry_fn fn, void *ctx,
                       struct tg_spool_stats *st, int64_t *end, int *clean)
{
	unsigned char *buf = malloc(READ_CHUNK);
	size_t have = 0, off;
	off_t pos = (off_t)start;
	int rc = 0;

	*clean = 1;
	*end = start;
	if (!buf)
		return TG_ENOMEM;
	for (;;) {
		ssize_t n = pread(fd, buf + have, READ_CHUNK - have, pos);

		if (n < 0) {
			rc = tg_error_from_errno(errno);
			break;
		}
		pos += n;
		have += (size_t)n;
		for (off = 0; have - off >= TG_SPOOL_ENTRY_HDR;) {
			const unsigned char *h = buf + off;
			uint32_t len = tg_get_be32(h + 8);

			if (tg_get_be32(h) != ENTRY_MAGIC || h[5] || h[6] || h[7] ||
			    len > TG_SPOOL_PAYLOAD_MAX) {
				*clean = -1;
				goto out;
			}
			if (have - off < TG_SPOOL_ENTRY_HDR + len)
				break;
			if (tg_get_be32(h + 12) != entry_crc(h, h + TG_SPOOL_ENTRY_HDR, len)) {
				*clean = -1;
				goto out;
			}
			if ((rc = fn(ctx, h[4], h + TG_SPOOL_ENTRY_HDR, len)) != 0)
				goto out;
			if (st) {
				st->entries++;
				st->bytes += TG_SPOOL_ENTRY_HDR + len;
			}
			off += TG_SPOOL_ENTRY_HDR + len;
			*end += TG_SPOOL_ENTRY_HDR + len;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		if (n == 0) {
			*clean = have == 0;
			break;
		}
	}
out:
	free(buf);
	return rc;
}

int tg_spool_read_all(int ledger_dirfd, const struct tg_spool *own, tg_spool_entry_fn fn,
                      void *ctx, struct tg_spool_stats *st, struct tg_spool_done *done,
                      int *ndone)
{
	struct tg_spool_stats ignored;
	struct dirent *e;
	DIR *d;
	int rc;

	if (!st)
		st = &ignored;
	memset(st, 0, sizeof *st);
	if (ndone)
		*ndone = 0;
	if ((rc = tg_spool_dir_open(ledger_dirfd, &d)) != 0 || !d)
		return rc;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		int64_t end;
		int fd, clean, mine;

		if (e->d_name[0] == '.')
			continue;   /* ".", "..", and files still being made */
		if (!tg_spool_name_valid(e->d_name)) {
			st->skipped++;
			continue;
		}
		fd = tg_file_open(dirfd(d), e->d_name, O_RDONLY | O_NONBLOCK);
		if (fd < 0) {
			if (fd != TG_ENOENT)   /* removed by another fold meanwhile */
				st->skipped++;
			continue;
		}
		mine = own && own->fd >= 0 && strcmp(own->name, e->d_name) == 0;
		st->files++;
		rc = tg_spool_read_from(fd, 0, fn, ctx, st, &end, &clean);
		if (clean < 0)
			st->damaged++;
		/* Nobody holds the lock of a file whose writer is gone. */
		if (rc == 0 && !mine && clean >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (!clean)
				st->torn++;
			if (done && *ndone < TG_SPOOL_DONE_MAX) {
				done[*ndone].fd = fd;
				snprintf(done[*ndone].name, sizeof done[*ndone].name, "%.63s", e->d_name);
				(*ndone)++;
				continue;
			}
		}
		close(fd);
	}
	closedir(d);
	return rc;
}

int tg_spool_dir_open(int ledger_dirfd, DIR **out)
{
	int spooldir = openat(ledger_dirfd, TG_SPOOL_DIR,
	                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat sst;
	int rc = 0;

	*out = NULL;
	if (spooldir < 0)
		return errno == ENOENT ? 0 : errno == ELOOP ? TG_EUNSAFE : tg_error_from_errno(errno);
	if (fstat(spooldir, &sst) != 0 || (rc = tg_dir_check(&sst)) != 0 ||
	    !(*out = fdopendir(spooldir))) {
		close(spooldir);
		return rc ? rc : TG_EIO;
	}
	return 0;
}

int tg_spool_set_open(int ledger_dirfd, struct tg_spool_set *s)
{
	struct dirent *e;
	DIR *d;
	int rc;

	s->n = 0;
	if ((rc = tg_spool_dir_open(ledger_dirfd, &d)) != 0 || !d)
		return rc;
	while ((e = readdir(d)) != NULL) {
		int fd;

		if (e->d_name[0] == '.' || !tg_spool_name_valid(e->d_name))
			continue;
		if ((fd = tg_file_open(dirfd(d), e->d_name, O_RDONLY | O_NONBLOCK)) < 0)
			continue;   /* removed meanwhile, or not the user's own */
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 16;
			int *fds = realloc(s->fd, cap * sizeof *fds);

			if (!fds) {
				close(fd);
				rc = TG_ENOMEM;
				break;
			}
			s->fd = fds;
			s->cap = cap;
		}
		s->fd[s->n++] = fd;
	}
	closedir(d);
	if (rc)
		tg_spool_set_close(s);
	return rc;
}

int tg_spool_set_read(const struct tg_spool_set *s, tg_spool_entry_fn fn, void *ctx)
{
	for (size_t i = 0; i < s->n; i++) {
		int64_t end;
		int clean, rc = tg_spool_read_from(s->fd[i], 0, fn, ctx, NULL, &end, &clean);

		if (rc)
			return rc;
	}
	return 0;
}

void tg_spool_set_close(struct tg_spool_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		close(s->fd[i]);
	free(s->fd);
	s->fd = NULL;
	s->n = s->cap = 0;
}

void tg_spool_done_finish(int ledger_dirfd, struct tg_spool_done *done, int ndone, int unlink)
{
	int spooldir = -1;

	if (unlink && ndone > 0)
		spooldir = openat(ledger_dirfd, TG_SPOOL_DIR,
		                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (int i = 0; i < ndone; i++) {
		if (spooldir >= 0)
			unlinkat(spooldir, done[i].name, 0);
		close(done[i].fd);
	}
	if (spooldir >= 0)
		close(spooldir);
}
