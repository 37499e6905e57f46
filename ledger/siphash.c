/* siphash.c - see siphash.h. */
#include "siphash.h"

#include "byteorder.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* One SipRound over the four state words. */
static void round4(uint64_t v[4])
{
	v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
	v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

static void compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	round4(v);   /* c = 2 rounds per message word */
	round4(v);
	v[0] ^= m;
}

uint64_t tg_siphash24(const uint8_t key[TG_SIPHASH_KEY_BYTES], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = tg_get_le64(key), k1 = tg_get_le64(key + 8);
	uint64_t v[4] = {
		k0 ^ UINT64_C(0x736f6d6570736575), k1 ^ UINT64_C(0x646f72616e646f6d),
		k0 ^ UINT64_C(0x6c7967656e657261), k1 ^ UINT64_C(0x7465646279746573),
	};
	uint64_t last = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8)
		compress(v, tg_get_le64(p + i));
	for (size_t j = 0; i + j < len; j++)
		last |= (uint64_t)p[i + j] << (8 * j);
	compress(v, last);
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)   /* d = 4 finalisation rounds */
		round4(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}
