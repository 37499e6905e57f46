/* ledger_watermark.h - named watermarks for incremental exports
 * (ledger_watermark.c): the key of the last record an exporter delivered,
 * kept in the ledger's meta database, and the scan of the records after
 * one.  Keys are the 16-byte record keys of ledger.h (time order). */
#ifndef TG_LEDGER_WATERMARK_H
#define TG_LEDGER_WATERMARK_H

#include <stddef.h>
#include <stdint.h>

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

/* A watermark in memory, as read by tg_watermark_load(): what a consumer
 * checks each key against and moves as it delivers. */
struct tg_watermark {
	unsigned char key[16];   /* the greatest key passed */
	int has;                 /* 0: nothing passed yet */
	unsigned char *recent;   /* keys delivered less than an hour before key, sorted */
	size_t nrecent;
};

/* tg_ledger_watermark_get() into *m (tg_watermark_free() it). */
int tg_watermark_load(struct tg_ledger *l, const char *name, struct tg_watermark *m);
/* tg_ledger_watermark_put() of *m. */
int tg_watermark_store(struct tg_ledger *l, const char *name, const struct tg_watermark *m);
void tg_watermark_free(struct tg_watermark *m);

/* The time of a record or alert key (its first 8 bytes); the key before
 * every key of ts_us (its pid and sequence 0, which no key has; a time
 * < 0 is 0). */
int64_t tg_key_ts(const unsigned char key[16]);
void tg_key_at(int64_t ts_us, unsigned char key[16]);

/* Where a scan for what is not delivered yet starts: the key an hour
 * before the watermark's (every key after it is looked at), zeros when
 * there is none. */
void tg_watermark_scan_from(const struct tg_watermark *m, unsigned char from[16]);

/* 1 when key was delivered: at or before the watermark and among its
 * recent keys.  A key at or before it that is not was committed after
 * the watermark passed it (a spool folded late): not delivered yet. */
int tg_watermark_delivered(const struct tg_watermark *m, const unsigned char key[16]);

/* The n keys (16 bytes each) just delivered join the recent ones, and the
 * watermark moves to the greatest; keys more than an hour before it are
 * dropped.  Returns 0 or TG_ENOMEM (m unchanged). */
int tg_watermark_advance(struct tg_watermark *m, const unsigned char *keys, size_t n);

/* Moves the watermark to key if it is greater, without counting key as
 * delivered: a key the consumer passes over on purpose (an alert it does
 * not deliver), which a scan from an hour before will look at again and
 * pass over again. */
void tg_watermark_pass(struct tg_watermark *m, const unsigned char key[16]);

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
