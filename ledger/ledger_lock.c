/* ledger_lock.c - the ledger's writer lock, which no tokenguard writer
 * ever waits on for longer than it was told to.
 *
 * LMDB 0.9 has one way to write: mdb_txn_begin(), which waits on the
 * environment's writer mutex for as long as another process holds it,
 * with no try-variant.  A process stopped inside its commit (Ctrl-Z,
 * SIGSTOP, a debugger, a stalled disk) would hang every program under the
 * shim.  So every tokenguard writer first takes flock(LOCK_EX | LOCK_NB)
 * on the ledger directory: while one holds it, the others know at once
 * and spool (spool.h) or give up, and LMDB's mutex is never contended
 * among them.  A writer that is not tokenguard (an LMDB tool, a script
 * using the lmdb bindings) does not take the flock, so the lock also
 * reads, without taking it, the owner word of LMDB's writer mutex in
 * lock.mdb: a live owner there means the same as a held flock.  That
 * look and mdb_txn_begin() are not one atomic step; the window is the
 * few instructions between them, and only a foreign writer can enter it.
 *
 * The word read is glibc's pthread_mutex_t.__lock of LMDB's robust,
 * process-shared writer mutex: the owner's thread id, plus the
 * FUTEX_OWNER_DIED bit when its owner died (LMDB recovers such a mutex
 * in mdb_txn_begin() without waiting).  It sits at offset 64 of lock.mdb
 * (MDB_txninfo's second cache line) in LMDB 0.9 on 64-bit Linux; the
 * look is skipped unless the file's magic and the mutex's kind word say
 * this is that layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "ledger_impl.h"

#define LOCK_MAGIC        0xBEEFC0DEu
#define TXNID_OFFSET      48      /* MDB_txninfo.mti_txnid: the last commit */
#define WMUTEX_OFFSET     64
#define WMUTEX_KIND_OFF   (WMUTEX_OFFSET + 16)
#define MUTEX_ROBUST_BIT  0x10    /* PTHREAD_MUTEX_ROBUST_NORMAL_NP in __kind */
#define FUTEX_TID_MASK    0x3fffffffu
#define FUTEX_OWNER_DIED  0x40000000u
#define STEP_FIRST_US     50
#define STEP_MAX_US       1000

static uint32_t word(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

/* The thread id holding LMDB's writer mutex, 0 when nobody alive does. */
static pid_t lmdb_writer(int lockfd)
{
	unsigned char b[WMUTEX_KIND_OFF + 4];
	uint32_t owner;
	char proc[32];

	if (lockfd < 0 || pread(lockfd, b, sizeof b, 0) != (ssize_t)sizeof b)
		return 0;
	if (word(b) != LOCK_MAGIC || !(word(b + WMUTEX_KIND_OFF) & MUTEX_ROBUST_BIT))
		return 0;
	owner = word(b + WMUTEX_OFFSET);
	if ((owner & FUTEX_OWNER_DIED) || (owner & FUTEX_TID_MASK) == 0)
		return 0;
	snprintf(proc, sizeof proc, "/proc/%u", owner & FUTEX_TID_MASK);
	if (access(proc, F_OK) != 0 && errno == ENOENT)
		return 0;   /* its thread is gone: LMDB recovers the mutex */
	return (pid_t)(owner & FUTEX_TID_MASK);
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The id of the last transaction committed: it moves while writers take
 * turns, and stands still while one is stuck. */
static uint64_t last_commit(int lockfd)
{
	uint64_t id = 0;

	if (lockfd < 0 || pread(lockfd, &id, sizeof id, TXNID_OFFSET) != (ssize_t)sizeof id)
		return 0;
	return id;
}

/* flock() has no timed form: the wait polls, from 50 us (a commit takes
 * a few hundred) doubling up to 1 ms.  It ends when no commit was seen
 * for idle_us (the holder is stuck, not busy), or after max_us in all. */
int tgl_writer_lock_fds(int dirfd, int lockfd, int idle_us, int max_us)
{
	int64_t start = mono_us(), progress = start;
	uint64_t seen = 0;   /* read at the first wait only: a free lock costs nothing more */

	for (int64_t step = STEP_FIRST_US;; step = step * 2 > STEP_MAX_US ? STEP_MAX_US : step * 2) {
		int64_t now, left;
		uint64_t id;

		if (flock(dirfd, LOCK_EX | LOCK_NB) == 0) {
			if (lmdb_writer(lockfd) == 0)
				return 0;
			flock(dirfd, LOCK_UN);
		} else if (errno != EWOULDBLOCK && errno != EINTR) {
			return TG_EIO;
		}
		now = mono_us();
		if ((id = last_commit(lockfd)) != seen) {
			if (seen)
				progress = now;   /* another writer committed meanwhile */
			seen = id;
		}
		left = progress + idle_us - now;
		if (start + max_us - now < left)
			left = start + max_us - now;
		if (left <= 0)
			return TG_ELOCKED;
		if (step > left)
			step = left;
		nanosleep(&(struct timespec){ 0, (long)step * 1000 }, NULL);
	}
}

int tgl_writer_lock(struct tg_ledger *l, int idle_us, int max_us)
{
	return tgl_writer_lock_fds(l->dirfd, l->lockfd, idle_us, max_us);
}

void tgl_writer_unlock(struct tg_ledger *l)
{
	flock(l->dirfd, LOCK_UN);
}

/* The process of thread tid, as "process PID (NAME)". */
static int describe_thread(pid_t tid, char *buf, size_t n)
{
	char path[64], line[128], name[64] = "?";
	long tgid = tid;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "Name:\t%63s", name) == 1)
			continue;
		if (sscanf(line, "Tgid:\t%ld", &tgid) == 1)
			break;
	}
	fclose(f);
	snprintf(buf, n, "process %ld (%s)", tgid, name);
	return 1;
}

/* The holder of the flock on the ledger directory, from /proc/locks:
 * "N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF". */
static pid_t flock_holder(int dirfd)
{
	struct stat st;
	char line[256];
	pid_t found = 0;
	FILE *f;

	if (fstat(dirfd, &st) != 0 || !(f = fopen("/proc/locks", "re")))
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned maj, min;
		unsigned long long ino;
		long pid;
		char kind[16], mode[16];

		if (sscanf(line, "%*d: %15s %*s %15s %ld %x:%x:%llu", kind, mode, &pid, &maj, &min,
		           &ino) == 6 &&
		    strcmp(kind, "FLOCK") == 0 && strcmp(mode, "WRITE") == 0 && ino == st.st_ino &&
		    maj == major(st.st_dev) && min == minor(st.st_dev) && pid > 0 && pid != getpid())
			found = (pid_t)pid;
	}
	fclose(f);
	return found;
}

void tgl_writer_holder_fds(int dirfd, int lockfd, char *buf, size_t n)
{
	pid_t who = flock_holder(dirfd);

	if (!who)
		who = lmdb_writer(lockfd);
	if (!who || !describe_thread(who, buf, n))
		snprintf(buf, n, "another process");
}

void tgl_writer_holder(struct tg_ledger *l, char *buf, size_t n)
{
	tgl_writer_holder_fds(l->dirfd, l->lockfd, buf, n);
}

void tg_ledger_dir_holder(const char *dir, char *buf, size_t n)
{
	int dirfd = tg_dir_open(dir), lockfd;

	if (dirfd < 0) {
		snprintf(buf, n, "another process");
		return;
	}
	lockfd = tg_file_open(dirfd, "lock.mdb", O_RDONLY);
	tgl_writer_holder_fds(dirfd, lockfd < 0 ? -1 : lockfd, buf, n);
	if (lockfd >= 0)
		close(lockfd);
	close(dirfd);
}
