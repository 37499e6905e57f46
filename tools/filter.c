/* filter.c - record filters of the report (see filter.h). */
#include <string.h>
#include <strings.h>

#include "filter.h"
#include "error.h"

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
		if (!tg_filter_tag_holds(f, i, r->tags))
			return 0;
	return 1;
}

int tg_filter_tag_holds(const struct tg_filter *f, int i, const char *tags)
{
	return tg_tags_contain(tags, f->tag[i]) ||
	       (f->tag_hashed[i][0] && tg_tags_contain(tags, f->tag_hashed[i]));
}

int tg_filter_attribute(struct tg_filter *f, const char *dir)
{
	uint8_t key[TG_SIPHASH_KEY_BYTES];
	int rc, have = 0;

	for (int i = 0; i < f->ntags; i++) {
		const char *id = f->tag[i] + 5;

		f->tag_hashed[i][0] = '\0';
		/* an id already hashed is matched as it is */
		if (strncmp(f->tag[i], "user=", 5) != 0 || strncmp(id, "h:", 2) == 0)
			continue;
		if (!have) {
			rc = tg_attrib_key_load(dir, 0, key);
			if (rc == TG_ENOENT)
				return 0;
			if (rc != 0)
				return rc;
			have = 1;
		}
		memcpy(f->tag_hashed[i], "user=", 5);
		tg_attrib_hash(key, id, strlen(id), f->tag_hashed[i] + 5);
	}
	return 0;
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
