/* ledger_secret.c - see ledger_secret.h. */
#include "ledger_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "files.h"
#include "ledger.h"

static int read_secret(int dirfd, const char *name, uint8_t key[TG_SIPHASH_KEY_BYTES])
{
	struct stat st;
	ssize_t n;
	int fd = tg_file_open(dirfd, name, O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return TG_EIO;
	}
	/* a secret: nobody else may read it either */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return TG_EUNSAFE;
	}
	if (st.st_size != TG_SIPHASH_KEY_BYTES) {
		close(fd);
		return TG_ECORRUPT;
	}
	n = read(fd, key, TG_SIPHASH_KEY_BYTES);
	close(fd);
	return n == TG_SIPHASH_KEY_BYTES ? 0 : TG_ECORRUPT;
}

/* Makes the secret under a temporary name and links it into place, so no
 * process ever reads one half written; losing the race is no error. */
static int make_secret(int dirfd, const char *name)
{
	uint8_t key[TG_SIPHASH_KEY_BYTES];
	char tmp[64];
	int fd, rc = 0;

	/* GRND_NONBLOCK: a program started before the pool is ready gets no
	 * secret (and records no user id) rather than a stall */
	if (getrandom(key, sizeof key, GRND_NONBLOCK) != (ssize_t)sizeof key)
		return TG_EIO;
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", name, (long)getpid());
	(void)unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return tg_error_from_errno(errno);
	if (write(fd, key, sizeof key) != (ssize_t)sizeof key || fsync(fd) != 0)
		rc = TG_EIO;
	close(fd);
	if (rc == 0 && linkat(dirfd, tmp, dirfd, name, 0) != 0 && errno != EEXIST)
		rc = tg_error_from_errno(errno);
	(void)unlinkat(dirfd, tmp, 0);
	return rc;
}

int tg_ledger_secret_load(const char *dir, const char *name, int create,
                          uint8_t key[TG_SIPHASH_KEY_BYTES])
{
	int dirfd, rc;

	if (!dir || !*dir)
		return TG_ENOENT;
	if (create && (rc = tg_ledger_mkdirs(dir)) != 0)
		return rc;
	dirfd = tg_dir_open(dir);
	if (dirfd < 0)
		return dirfd;
	rc = read_secret(dirfd, name, key);
	if (rc == TG_ENOENT && create) {
		rc = make_secret(dirfd, name);
		if (rc == 0)
			rc = read_secret(dirfd, name, key);
	}
	close(dirfd);
	return rc;
}
