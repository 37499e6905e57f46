/* total_groups.c - see total_groups.h. */
#include <stdlib.h>
#include <string.h>

#include "total_groups.h"
#include "civil.h"
#include "fnv.h"

#define SIG_MAX (8 + TG_PROVIDER_MAX + 2 * TG_MODEL_MAX + TG_PROCESS_MAX + TG_TAGS_MAX)

struct tg_total_group {
	unsigned char *sig;        /* NULL: a free slot */
	size_t siglen;
	uint64_t hash;
	struct tg_record *r;       /* the first record, its time moved to the hour */
	char family[TG_MODEL_MAX];
	struct tg_total sum;
};

static size_t put_text(unsigned char *p, const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return n + 1;
}

static size_t signature(unsigned char *sig, const struct tg_record *r, const char *family,
                        int64_t hour)
{
	size_t n = 8;

	tg_put_be64(sig, (uint64_t)hour);
	n += put_text(sig + n, r->provider, sizeof r->provider);
	n += put_text(sig + n, r->model, sizeof r->model);
	n += put_text(sig + n, family, TG_MODEL_MAX);
	n += put_text(sig + n, r->process, sizeof r->process);
	n += put_text(sig + n, r->tags, sizeof r->tags);
	return n;
}

static struct tg_total_group *probe(struct tg_total_group *slot, size_t cap, uint64_t hash,
                                    const unsigned char *sig, size_t siglen)
{
	for (size_t i = (size_t)hash & (cap - 1);; i = (i + 1) & (cap - 1)) {
		struct tg_total_group *e = &slot[i];

		if (!e->sig || (e->hash == hash && e->siglen == siglen && !memcmp(e->sig, sig, siglen)))
			return e;
	}
}

static int grow(struct tg_total_groups *g)
{
	size_t cap = g->cap ? g->cap * 2 : 64;
	struct tg_total_group *slot = calloc(cap, sizeof *slot);

	if (!slot)
		return TG_ENOMEM;
	for (size_t i = 0; i < g->cap; i++)
		if (g->slot[i].sig)
			*probe(slot, cap, g->slot[i].hash, g->slot[i].sig, g->slot[i].siglen) = g->slot[i];
	free(g->slot);
	g->slot = slot;
	g->cap = cap;
	return 0;
}

int tg_total_groups_add(struct tg_total_groups *g, const struct tg_record *r,
                        const char *model_family)
{
	unsigned char sig[SIG_MAX];
	int64_t hour = r->ts_us / TG_US_PER_HOUR * TG_US_PER_HOUR;   /* ts_us >= 0 */
	size_t siglen = signature(sig, r, model_family, hour);
	uint64_t hash = tg_fnv1a(TG_FNV1A_INIT, sig, siglen);
	struct tg_total_group *e;
	struct tg_total a;

	if ((g->n + 1) * 2 > g->cap && grow(g) != 0)
		return TG_ENOMEM;
	e = probe(g->slot, g->cap, hash, sig, siglen);
	if (!e->sig) {
		if (!(e->sig = malloc(siglen)) || !(e->r = malloc(sizeof *e->r))) {
			free(e->sig);
			e->sig = NULL;
			return TG_ENOMEM;
		}
		memcpy(e->sig, sig, siglen);
		e->siglen = siglen;
		e->hash = hash;
		*e->r = *r;
		e->r->ts_us = hour;
		put_text((unsigned char *)e->family, model_family, sizeof e->family);
		memset(&e->sum, 0, sizeof e->sum);
		g->n++;
	}
	tg_total_of_record(r, &a);
	tg_total_sum(&e->sum, &a);
	return 0;
}

int tg_total_groups_each(const struct tg_total_groups *g, tgl_total_fn fn, void *ctx)
{
	for (size_t i = 0; i < g->cap; i++) {
		const struct tg_total_group *e = &g->slot[i];
		int rc;

		if (e->sig && (rc = tgl_totals_each_delta(e->r, e->family, &e->sum, fn, ctx)) != 0)
			return rc;
	}
	return 0;
}

void tg_total_groups_free(struct tg_total_groups *g)
{
	for (size_t i = 0; i < g->cap; i++) {
		free(g->slot[i].sig);
		free(g->slot[i].r);
	}
	free(g->slot);
	g->slot = NULL;
	g->cap = g->n = 0;
}
