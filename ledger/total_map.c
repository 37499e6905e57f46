/* total_map.c - totals summed in memory (see total_map.h). */
#include <stdlib.h>
#include <string.h>

#include "total_map.h"
#include "fnv.h"

#define FIRST_CAP 1024

static size_t hash(const unsigned char *key, size_t klen)
{
	return (size_t)tg_fnv1a(TG_FNV1A_INIT, key, klen);
}

static struct tg_total_entry *probe(struct tg_total_entry *slot, size_t cap,
                                    const unsigned char *key, size_t klen)
{
	for (size_t i = hash(key, klen) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!slot[i].key || (slot[i].klen == klen && !memcmp(slot[i].key, key, klen)))
			return &slot[i];
}

static int grow(struct tg_total_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : FIRST_CAP;
	struct tg_total_entry *slot = calloc(cap, sizeof *slot);

	if (!slot)
		return TG_ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slot[i].key)
			*probe(slot, cap, m->slot[i].key, m->slot[i].klen) = m->slot[i];
	free(m->slot);
	m->slot = slot;
	m->cap = cap;
	return 0;
}

int tg_total_map_add(void *map, const unsigned char *key, size_t klen,
                     const struct tg_total *delta)
{
	struct tg_total_map *m = map;
	struct tg_total_entry *e;

	if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
		return TG_ENOMEM;
	e = probe(m->slot, m->cap, key, klen);
	if (!e->key) {
		if (!(e->key = malloc(klen)))
			return TG_ENOMEM;
		memcpy(e->key, key, klen);
		e->klen = klen;
		m->n++;
	}
	tg_total_sum(&e->sum, delta);
	return 0;
}

struct tg_total_entry *tg_total_map_find(struct tg_total_map *m, const unsigned char *key,
                                         size_t klen)
{
	struct tg_total_entry *e;

	if (!m->cap)
		return NULL;
	e = probe(m->slot, m->cap, key, klen);
	return e->key ? e : NULL;
}

void tg_total_map_free(struct tg_total_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slot[i].key);
	free(m->slot);
	memset(m, 0, sizeof *m);
}
