/* alert_list.h - the alerts of a period for people and programs
 * (alert_list.c), shared by `budget alerts` and `alerts`. */
#ifndef TG_ALERT_LIST_H
#define TG_ALERT_LIST_H

#include <stdio.h>

#include "ledger_budget.h"
#include "report.h"

/* The alerts of rep's period in rep->format (table, json, jsonl) on
 * rep->out; repeats 0 leaves out the repeats of a blocked call (struct
 * tg_alert).  Returns 0, or TG_EXIT_FAIL after saying why. */
int tg_alert_list(const struct tg_report *rep, struct tg_ledger *l, int repeats);

/* The table's head and one row at the narrowest widths, for a follow
 * that cannot measure what is yet to come. */
void tg_alert_list_head(FILE *f);
void tg_alert_list_row(FILE *f, const struct tg_alert *a);

#endif
