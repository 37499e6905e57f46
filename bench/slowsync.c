/* slowsync.c - a disk whose every flush takes SLOWSYNC_MS milliseconds
 * (default 500), for bench/faults.sh: preloaded before the shim, it
 * delays fdatasync(2) and fsync(2) of the whole process, LMDB's commits
 * included, then does the real flush. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void stall(void)
{
	const char *v = getenv("SLOWSYNC_MS");
	long ms = v ? atol(v) : 500;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	stall();
	return real(fd);
}

int fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	stall();
	return real(fd);
}
