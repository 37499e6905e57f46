/* printed.h - the records `records --follow` has printed, so that each is
 * printed once although every poll scans back over a window (a record
 * shows up when its exchange ends, under the time its request started, and
 * first in a spool, then in the ledger proper).
 *
 * A record is known by a 64-bit hash of the line printed for it (every
 * field, the time to the microsecond and the pid included), kept with its
 * time so that those older than the window can be forgotten. */
#ifndef TG_PRINTED_H
#define TG_PRINTED_H

#include <stddef.h>
#include <stdint.h>

struct tg_printed_entry {
	uint64_t hash;   /* 0: empty slot */
	int64_t ts_us;
};

struct tg_printed {
	struct tg_printed_entry *slot;
	size_t nslots, n;
};

/* The hash of a printed line (never 0). */
uint64_t tg_printed_hash(const char *p, size_t n);

/* Adds hash; returns 1 when it was there already, 0 when added, -1 when
 * out of memory. */
int tg_printed_add(struct tg_printed *s, uint64_t hash, int64_t ts_us);

/* Forgets every entry older than before_us. */
void tg_printed_prune(struct tg_printed *s, int64_t before_us);

void tg_printed_free(struct tg_printed *s);

#endif
