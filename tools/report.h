/* report.h - what the tokenguard-report commands share: the parsed
 * options and the command table entry.  main.c parses the command line
 * and opens the ledger; each cmd_*.c file is one command. */
#ifndef TG_REPORT_H
#define TG_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "ledger.h"

#ifndef TG_VERSION
#define TG_VERSION "0.1.0"
#endif

#define TG_EXIT_FAIL 2

struct tg_report {
	int64_t since_us;   /* inclusive; 0 when not given */
	int64_t until_us;   /* exclusive; INT64_MAX when not given */
	int format;         /* enum tg_format */
	const char *by;     /* --by list, or NULL */
	FILE *out;
	FILE *err;
};

struct tg_cmd {
	const char *name;
	const char *usage;     /* one line for --help */
	unsigned formats;      /* 1u << enum tg_format accepted */
	int default_format;
	int takes_by;
	int (*run)(const struct tg_report *rep, struct tg_ledger *l);  /* exit status */
};

/* Prints "tokenguard-report: <message>" on rep->err; returns TG_EXIT_FAIL. */
int tg_report_fail(const struct tg_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reports a ledger error from a scan; returns TG_EXIT_FAIL. */
int tg_report_ledger_fail(const struct tg_report *rep, int rc);

int tg_cmd_summary(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_records(const struct tg_report *rep, struct tg_ledger *l);

#endif
