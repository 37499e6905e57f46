/* ledger_watermark.h - named watermarks for incremental exports
 * (ledger_watermark.c): the key of the last record an exporter delivered,
 * kept in the ledger's meta database, and the scan of the records after
 * one.  Keys are the 16-byte record keys of ledger.h (time order). */
#ifndef TG_LEDGER_WATERMARK_H
#define TG_LEDGER_WATERMARK_H

#include <stddef.h>

#include "ledger.h"

/* The watermark name (at most 64 bytes): the greatest key delivered
 * (*has 0 when none is stored) and, in *recent (malloc'd, *nrecent keys
 * of 16 bytes, sorted; NULL for none), the keys delivered that are less
 * than TG_WATERMARK_RECENT_US older than it.  Returns 0 or a TG_E* code. */
#define TG_WATERMARK_RECENT_US (3600 * 1000000LL)
int tg_ledger_watermark_get(struct tg_ledger *l, const char *name, unsigned char key[16],
                            int *has, unsigned char **recent, size_t *nrecent);

/* Stores key and the nrecent keys of recent as the watermark name, in one
 * transaction (needs a handle opened for writing). */
int tg_ledger_watermark_put(struct tg_ledger *l, const char *name, const unsigned char key[16],
                            const unsigned char *recent, size_t nrecent);

/* 1 when a meta key is a watermark's (repair copies those). */
int tg_meta_is_watermark(const void *key, size_t n);

/* Calls fn for each committed record whose key is after from (every one
 * when !has_from), in key order, in one read transaction.  Records still
 * in a spool are not delivered: a later scan sees them once folded.
 * Returns 0, fn's nonzero value, or a TG_E* code. */
int tg_ledger_scan_after(struct tg_ledger *l, const unsigned char from[16], int has_from,
                         int (*fn)(void *ctx, const unsigned char key[16],
                                   const struct tg_record *r), void *ctx);

#endif
