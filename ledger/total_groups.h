/* total_groups.h - records summed by what decides which totals they add
 * to, so that a fold builds each totals key once per group instead of
 * once per record.
 *
 * Owns: a hash table from a record's totals signature (its hour, provider,
 * model, model family, process and tags: everything tgl_totals_each()
 * reads to name buckets) to the summed amounts of the records that share
 * it.  Records of one hour share their day and month buckets too, so the
 * hour stands for the time.  Open addressing, grown at half full.
 *
 * Return convention as in ledger.h: 0 or a negative TG_E* code.
 */
#ifndef TG_TOTAL_GROUPS_H
#define TG_TOTAL_GROUPS_H

#include <stddef.h>

#include "ledger_impl.h"

struct tg_total_group;

struct tg_total_groups {
	struct tg_total_group *slot;
	size_t cap, n;
};

/* Adds r's amounts to its group (model_family as for tgl_totals_each).
 * Returns 0 or TG_ENOMEM. */
int tg_total_groups_add(struct tg_total_groups *g, const struct tg_record *r,
                        const char *model_family);

/* Calls fn, as tgl_totals_each() would for one record, with every bucket of
 * every group and the group's sum.  fn's nonzero value stops and is
 * returned. */
int tg_total_groups_each(const struct tg_total_groups *g, tgl_total_fn fn, void *ctx);

void tg_total_groups_free(struct tg_total_groups *g);

#endif
