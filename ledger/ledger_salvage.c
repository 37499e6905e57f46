/* ledger_salvage.c - records read out of a damaged data.mdb page by page,
 * without LMDB: for `tokenguard-report repair` (ledger_repair.c).
 *
 * LMDB's B-tree is copy-on-write: a file cut short loses its newest pages,
 * which hold the roots of every tree, and LMDB cannot find anything in
 * what is left; a page overwritten in the middle ends every walk that
 * reaches it.  Yet the leaf pages that are left still hold whole records.
 * This reads every page with pread (no map, so no SIGBUS; no LMDB, so no
 * assertion), takes each leaf node whose key is 16 bytes and whose value
 * decodes as a record with that key's time, and hands it on.  A
 * record may stand in several pages (pages freed by later transactions
 * keep old copies; records never change, so the copies are the same):
 * the caller applies each key once.
 *
 * The layout read is LMDB 0.9's on 64-bit little-endian Linux (mdb.c):
 * a page header of pgno u64, pad u16, flags u16, lower u16, upper u16,
 * then lower-16 bytes of u16 node offsets; a node is data size (u16 lo,
 * u16 hi), flags u16, key size u16, key, data. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "byteorder.h"
#include "ledger_impl.h"
#include "record_codec.h"

#define PAGE_HDR      16
#define NODE_HDR      8
#define P_LEAF        0x02
#define P_NOT_NODES   (0x04 | 0x08 | 0x20 | 0x40)   /* overflow, meta, leaf2, sub-page */

/* One leaf page: every node that is a record of ours. */
static int scan_leaf(const unsigned char *pg, uint32_t psize, tgl_salvage_fn fn, void *ctx,
                     int64_t *found)
{
	unsigned lower = tg_get_le16(pg + 12), upper = tg_get_le16(pg + 14);
	struct tg_record r;
	int rc;

	if (lower < PAGE_HDR || lower > upper || upper > psize)
		return 0;
	for (unsigned i = 0; i < (lower - PAGE_HDR) / 2; i++) {
		unsigned off = tg_get_le16(pg + PAGE_HDR + 2 * i);
		const unsigned char *node = pg + off, *key, *val;
		size_t dsize;

		if (off < upper || off + NODE_HDR + 16 > psize)
			continue;
		dsize = (size_t)tg_get_le16(node) | (size_t)tg_get_le16(node + 2) << 16;
		if (tg_get_le16(node + 4) != 0 || tg_get_le16(node + 6) != 16 || dsize > psize - off - NODE_HDR - 16)
			continue;
		key = node + NODE_HDR;
		val = key + 16;
		if (tg_record_decode(&r, val, dsize) != 0 || r.ts_us != (int64_t)tg_get_be64(key))
			continue;
		(*found)++;
		if ((rc = fn(ctx, key, val, dsize, &r)) != 0)
			return rc;
	}
	return 0;
}

int tgl_salvage_records(int fd, uint32_t page_size, tgl_salvage_fn fn, void *ctx,
                        int64_t *found)
{
	unsigned char *pg;
	int rc = 0;

	*found = 0;
	if (page_size < 512 || page_size > 65536 || !(pg = malloc(page_size)))
		return TG_EINVAL;
	/* Pages 0 and 1 are the meta pages. */
	for (off_t at = 2 * (off_t)page_size;
	     rc == 0 && pread(fd, pg, page_size, at) == (ssize_t)page_size; at += page_size) {
		if ((tg_get_le16(pg + 10) & P_LEAF) && !(tg_get_le16(pg + 10) & P_NOT_NODES))
			rc = scan_leaf(pg, page_size, fn, ctx, found);
	}
	free(pg);
	return rc;
}
