/* prom.h - the Prometheus text exposition format (version 0.0.4): label
 * names, escaped label values, and sample lines.  Owns only the syntax;
 * which metrics `metrics` and `serve` expose is cmd_metrics.c's.
 *
 * Syntax followed (prometheus/docs, exposition_formats.md): a label value
 * is a double-quoted string in which backslash, double quote and line feed
 * are escaped as \\, \" and \n; a label name matches [a-zA-Z_][a-zA-Z0-9_]*
 * and names starting with "__" are reserved.  Label values are UTF-8:
 * bytes that are not (ledger text is whatever the wire carried) become
 * U+FFFD, as in the JSON output, so one odd model name cannot make
 * Prometheus reject the whole scrape. */
#ifndef TG_PROM_H
#define TG_PROM_H

#include <stdint.h>
#include <stdio.h>

/* 1 when s may be a label name of ours: [a-zA-Z_][a-zA-Z0-9_]*, not
 * starting with "__". */
int tg_prom_label_name_ok(const char *s);

/* name="value" with value escaped; a comma before it when !first. */
void tg_prom_label(FILE *f, int first, const char *name, const char *value);

/* "# HELP name help\n# TYPE name type\n"; help must not hold a line feed
 * or a backslash (ours are constants). */
void tg_prom_family(FILE *f, const char *name, const char *type, const char *help);

/* A sample: name{labels} value, labels being the text tg_prom_label()
 * wrote (without braces; "" for none), the value an integer. */
void tg_prom_sample_int(FILE *f, const char *name, const char *labels, int64_t v);

/* The same with a double, as the shortest decimal that reads back as
 * exactly v (a counter's value must not move when nothing was added);
 * NaN when v is not finite. */
void tg_prom_sample_double(FILE *f, const char *name, const char *labels, double v);

#endif
