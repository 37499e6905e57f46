/* fuzz_ledger.c - libFuzzer target for opening a ledger someone else's
 * bytes have damaged (a truncated copy, a disk error, random bytes).
 *
 * The input after its first two bytes becomes the ledger directory's
 * data.mdb; when bit 0 of the first byte is set, its first 64 x (second
 * byte) bytes become lock.mdb instead.  The directory is opened read-only, as
 * `tokenguard-report` opens it, and every record is scanned.  Whatever the
 * bytes, that must end in an error code or a scan, never a fault.  The
 * seed corpus holds real small ledgers.
 *
 * What ledger open checks before LMDB maps anything (files.h: the meta
 * pages, a data.mdb as long as they say, a lock.mdb with real blocks) no
 * longer faults.  Garbage inside a B-tree page still can: LMDB 0.9 keeps
 * no page checksums and trusts a page's node offsets and child page
 * numbers, so bytes changed inside a page of a small ledger make it read
 * outside the page (SEGV inside liblmdb, within a few hundred
 * executions).  That is a limitation of the shim (README, Limitations);
 * the CLI turns it into exit 2 and `repair` reads such files without
 * LMDB.  run.sh reports such a finding without failing.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"

static char dir[] = "/tmp/tg-fuzz-ledger.XXXXXX";

static void put(const char *name, const uint8_t *p, size_t n)
{
	char path[sizeof dir + 16];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	if (!p)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0)
		abort();
}

static void cleanup(void)
{
	put("data.mdb", NULL, 0);
	put("lock.mdb", NULL, 0);
	rmdir(dir);
}

static int count(void *ctx, const struct tg_record *r)
{
	(*(long *)ctx)++;
	return r->provider[sizeof r->provider - 1] != '\0';   /* NUL-terminated fields */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct tg_ledger *l;
	long n = 0;

	if (size < 2)
		return 0;
	if (!ready) {
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
		ready = 1;
	}
	const uint8_t *p = data + 2;
	size_t len = size - 2, lock = 0;

	if (data[0] & 1) {
		lock = (size_t)data[1] * 64;
		if (lock > len)
			lock = len;
		put("lock.mdb", p, lock);
	} else {
		put("lock.mdb", NULL, 0);
	}
	put("data.mdb", p + lock, len - lock);
	if (tg_ledger_open(&l, dir, TG_LEDGER_RDONLY) == 0) {
		tg_ledger_scan(l, INT64_MIN, INT64_MAX, count, &n);
		tg_ledger_close(l);
	}
	return 0;
}
