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

unsigned tg_filter_text(const struct tg_filter *f)
{
	unsigned text = 0;

	if (!f)
		return 0;
	if (f->provider)
		text |= TG_TEXT_PROVIDER;
	if (f->process)
		text |= TG_TEXT_PROCESS;
	if (f->model)
		text |= TG_TEXT_MODEL | TG_TEXT_PROVIDER;   /* the price family: both */
	if (f->ntags)
		text |= TG_TEXT_TAGS;
	return text;
}
