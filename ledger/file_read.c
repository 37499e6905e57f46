/* file_read.c - see file_read.h. */
#include "file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!errlen)
		return -1;
	k = snprintf(err, errlen, "%s: ", path);
	if (k >= 0 && (size_t)k < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char *kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

int tg_file_open_checked(const char *path, int nofollow, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
	int e;

	if (fd >= 0 && fstat(fd, st) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

ssize_t tg_file_read_upto(int fd, void *buf, size_t want)
{
	size_t got = 0;

	while (got < want) {
		ssize_t n = read(fd, (char *)buf + got, want - got);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int tg_read_small_file(const char *path, size_t max, int flags, char **buf, size_t *len,
                       char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *b;
	int fd, e;

	*buf = NULL;
	*len = 0;
	fd = tg_file_open_checked(path, flags & TG_READ_NOFOLLOW, &st);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT && (flags & TG_READ_MISSING_OK))
			return 0;
		if (e == ELOOP && (flags & TG_READ_NOFOLLOW))
			return refuse(err, errlen, path, "is a symbolic link; refused");
		return refuse(err, errlen, path, "%s", strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return refuse(err, errlen, path, "is %s, expected a regular file", kind(st.st_mode));
	}
	/* Checked on what was opened, not on the name: nothing can be
	 * swapped in between. */
	if ((flags & TG_READ_OWNED) && st.st_uid != geteuid()) {
		close(fd);
		return refuse(err, errlen, path, "belongs to another user; refused");
	}
	if ((flags & TG_READ_OWNED) && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return refuse(err, errlen, path, "can be written by group or others; refused "
		              "(chmod go-w)");
	}
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		return refuse(err, errlen, path, "larger than %zu bytes; refused", max);
	}
	/* Read to one byte past the size seen: a file that grew since the
	 * fstat is read no further than that, and refused. */
	size_t cap = ((size_t)st.st_size < max ? (size_t)st.st_size : max) + 1;
	if (!(b = malloc(cap + 1))) {
		close(fd);
		return refuse(err, errlen, path, "out of memory");
	}
	if ((n = tg_file_read_upto(fd, b, cap)) < 0) {
		e = errno;
		close(fd);
		free(b);
		return refuse(err, errlen, path, "%s", strerror(e));
	}
	got = (size_t)n;
	close(fd);
	if (got > (size_t)st.st_size) {
		free(b);
		return refuse(err, errlen, path, "changed while it was read; refused");
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
}
