/* printed.c - the set of printed records of `records --follow` (printed.h):
 * open addressing, linear probing, rebuilt to prune. */
#include <stdlib.h>
#include <string.h>

#include "printed.h"
#include "fnv.h"

uint64_t tg_printed_hash(const char *p, size_t n)
{
	uint64_t h = tg_fnv1a(TG_FNV1A_INIT, p, n);  /* then a final mix */

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static void put(struct tg_printed_entry *slot, size_t nslots, uint64_t hash, int64_t ts_us)
{
	size_t i = hash & (nslots - 1);

	while (slot[i].hash)
		i = (i + 1) & (nslots - 1);
	slot[i].hash = hash;
	slot[i].ts_us = ts_us;
}

/* Rebuilds into nslots slots, keeping entries from before_us on. */
static int rebuild(struct tg_printed *s, size_t nslots, int64_t before_us)
{
	struct tg_printed_entry *slot = calloc(nslots, sizeof *slot);

	if (!slot)
		return -1;
	s->n = 0;
	for (size_t i = 0; i < s->nslots; i++) {
		if (s->slot[i].hash && s->slot[i].ts_us >= before_us) {
			put(slot, nslots, s->slot[i].hash, s->slot[i].ts_us);
			s->n++;
		}
	}
	free(s->slot);
	s->slot = slot;
	s->nslots = nslots;
	return 0;
}

int tg_printed_add(struct tg_printed *s, uint64_t hash, int64_t ts_us)
{
	size_t i;

	if ((s->n + 1) * 2 > s->nslots &&
	    rebuild(s, s->nslots ? s->nslots * 2 : 1024, INT64_MIN))
		return -1;
	for (i = hash & (s->nslots - 1); s->slot[i].hash; i = (i + 1) & (s->nslots - 1))
		if (s->slot[i].hash == hash)
			return 1;
	s->slot[i].hash = hash;
	s->slot[i].ts_us = ts_us;
	s->n++;
	return 0;
}

void tg_printed_prune(struct tg_printed *s, int64_t before_us)
{
	if (s->nslots)
		rebuild(s, s->nslots, before_us);  /* out of memory: kept as it is */
}

void tg_printed_free(struct tg_printed *s)
{
	free(s->slot);
	memset(s, 0, sizeof *s);
}
