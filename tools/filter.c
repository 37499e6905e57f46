/* filter.c - record filters of the report (see filter.h). */
#include <string.h>
#include <strings.h>

#include "filter.h"

static int model_matches(const struct tg_filter *f, const struct tg_record *r)
{
	const struct tg_price *p;

	if (!strcasecmp(r->model, f->model))
		return 1;
	return f->prices && (p = tg_price_find(f->prices, r->provider, r->model)) &&
	       !strcasecmp(p->family, f->model);
}

int tg_filter_match(const struct tg_filter *f, const struct tg_record *r)
{
	if (!f)
		return 1;
	if (f->provider && strcasecmp(r->provider, f->provider))
		return 0;
	if (f->process && strcmp(r->process, f->process))
		return 0;
	if (f->model && !model_matches(f, r))
		return 0;
	for (int i = 0; i < f->ntags; i++)
		if (!tg_tags_contain(r->tags, f->tag[i]))
			return 0;
	return 1;
}
