/* total_map.h - totals summed in memory, keyed by their ledger key.
 *
 * Owns: a hash table from a totals key (ledger_budget.h) to the amounts
 * recomputed for it, so a check can compare every stored total with the
 * sum of its records without writing anything.  Open addressing, grown
 * at half full; keys are copied.
 *
 * Return convention as in ledger.h: 0 or a negative TG_E* code.
 */
#ifndef TG_TOTAL_MAP_H
#define TG_TOTAL_MAP_H

#include <stddef.h>

#include "ledger_impl.h"

struct tg_total_entry {
	unsigned char *key;    /* NULL: a free slot */
	size_t klen;
	struct tg_total sum;
	int seen;              /* matched with a stored total */
};

struct tg_total_map {
	struct tg_total_entry *slot;
	size_t cap, n;
};

/* Adds delta to the entry of key, making it at zero first.  Returns 0 or
 * TG_ENOMEM.  Usable as a tgl_total_fn with the map as ctx. */
int tg_total_map_add(void *map, const unsigned char *key, size_t klen,
                     const struct tg_total *delta);

/* The entry of key, or NULL. */
struct tg_total_entry *tg_total_map_find(struct tg_total_map *m, const unsigned char *key,
                                         size_t klen);

void tg_total_map_free(struct tg_total_map *m);

#endif
