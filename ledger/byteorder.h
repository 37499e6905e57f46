/* byteorder.h - big-endian integers in byte buffers: the ledger's keys and
 * values, the TZif files, HTTP/2 frames and AWS event streams all store
 * them so.  Every reader and writer of such bytes uses these, so that
 * there is one definition of the byte order.
 *
 * Header-only (static inline): the shim's parsers, the ledger and the
 * tools include it without a link-time dependency. */
#ifndef TG_BYTEORDER_H
#define TG_BYTEORDER_H

#include <stdint.h>

static inline uint16_t tg_get_be16(const unsigned char *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t tg_get_be24(const unsigned char *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t tg_get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t tg_get_be64(const unsigned char *p)
{
	return (uint64_t)tg_get_be32(p) << 32 | tg_get_be32(p + 4);
}

/* Little-endian, for the files LMDB writes in the machine's order (x86-64,
 * the only one the salvage and the damage checks read) and SipHash. */
static inline uint16_t tg_get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint64_t tg_get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline void tg_put_be16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static inline void tg_put_be24(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 16);
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)v;
}

static inline void tg_put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void tg_put_be64(unsigned char *p, uint64_t v)
{
	tg_put_be32(p, (uint32_t)(v >> 32));
	tg_put_be32(p + 4, (uint32_t)v);
}

#endif
