/* unknowns.h - filter values no record has: a --provider, --model,
 * --process or --tag that matches no record of the ledger is most often a
 * typo, and a report (or a CI check) that answers "0 calls" hides it.
 *
 * Owns: the one scan that looks for each value and gathers the values the
 * ledger does have, and the warning naming both. */
#ifndef TG_UNKNOWNS_H
#define TG_UNKNOWNS_H

#include "report.h"

/* Looks for each of rep's filter values in the whole ledger l (a scan that
 * stops once every value is found); for each that no record has, prints
 * on rep->err "warning: no record has provider "nosuch"; providers in this
 * ledger: openai, anthropic" (error: instead of warning: when fatal).
 * Returns the number of such values, or -1 after saying why the ledger
 * could not be read. */
int tg_unknown_filter_values(const struct tg_report *rep, struct tg_ledger *l, int fatal);

/* For --by tag:KEY when no record of the period has the tag KEY: prints
 * "warning: no record of the period has tag "KEY"; tag keys in the
 * period: team, env" on rep->err (one scan of the period, run only then).
 * Returns 0, or -1 after saying why the ledger could not be read. */
int tg_unknown_tag_key(const struct tg_report *rep, struct tg_ledger *l, const char *key);

#endif
