/* unknowns.c - filter values no record has (see unknowns.h). */
#include <string.h>
#include <strings.h>

#include "provider_names.h"
#include "settings.h"
#include "unknowns.h"
#include "tags.h"

/* Distinct values seen, as many as a message names. */
#define SEEN_MAX 8
#define SEEN_LEN 64

struct seen_set {
	char v[SEEN_MAX][SEEN_LEN];
	int n, more;
};

struct scan {
	const struct tg_filter *f;
	int found_provider, found_model, found_process, found_tag[TG_FILTER_TAGS_MAX];
	struct seen_set providers, models, processes, tags;
};

static void seen_add(struct seen_set *s, const char *v, size_t len)
{
	if (!len)
		return;
	if (len >= SEEN_LEN)
		len = SEEN_LEN - 1;
	for (int i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == len && !memcmp(s->v[i], v, len))
			return;
	if (s->n == SEEN_MAX) {
		s->more = 1;
		return;
	}
	memcpy(s->v[s->n], v, len);
	s->v[s->n++][len] = '\0';
}

static int all_found(const struct scan *s)
{
	if ((s->f->provider && !s->found_provider) || (s->f->model && !s->found_model) ||
	    (s->f->process && !s->found_process))
		return 0;
	for (int i = 0; i < s->f->ntags; i++)
		if (!s->found_tag[i])
			return 0;
	return 1;
}

static int look(void *ctx, const struct tg_record *r)
{
	struct scan *s = ctx;
	struct tg_filter model_only = { .model = s->f->model, .prices = s->f->prices };
	struct tg_tag_item it;

	if (s->f->provider && !strcasecmp(r->provider, s->f->provider))
		s->found_provider = 1;
	if (s->f->model && tg_filter_match(&model_only, r))
		s->found_model = 1;
	if (s->f->process && !strcmp(r->process, s->f->process))
		s->found_process = 1;
	for (int i = 0; i < s->f->ntags; i++)
		if (tg_filter_tag_holds(s->f, i, r->tags))
			s->found_tag[i] = 1;
	seen_add(&s->providers, r->provider, strlen(r->provider));
	seen_add(&s->models, r->model, strlen(r->model));
	seen_add(&s->processes, r->process, strlen(r->process));
	for (const char *at = r->tags; tg_tags_next(&at, &it);)
		seen_add(&s->tags, it.p, it.len);
	return all_found(s);  /* 1 stops the scan */
}

/* Whether an entry host[:port]=NAME[/wire] of TOKENGUARD_HOSTS (the
 * shim's own providers, shim/providers.h) names the provider name. */
static int is_added_provider(const char *name)
{
	const char *hosts = tg_setting(TG_SET_HOSTS);

	for (const char *p = hosts ? hosts : ""; *p; p += *p == ',') {
		size_t len = strcspn(p, ","), eq = strcspn(p, "=");

		if (eq < len) {
			const char *v = p + eq + 1;
			size_t vlen = strcspn(v, ",/");

			if (vlen == strlen(name) && !strncasecmp(v, name, vlen))
				return 1;
		}
		p += len;
	}
	return 0;
}

/* No ledger yet: a provider that none could ever hold is a typo. */
static int unknown_without_ledger(const struct tg_report *rep, int fatal)
{
	const char *name = rep->filter.provider, *sep = "";

	if (!name || tg_provider_name_known(name) || is_added_provider(name))
		return 0;
	fprintf(rep->err, "tokenguard-report: %s: \"%s\" is no provider tokenguard knows, nor one "
	        "TOKENGUARD_HOSTS adds; providers: ", fatal ? "error" : "warning", name);
#define LIST(n, wire) fprintf(rep->err, "%s%s", sep, n), sep = ", ";
	TG_PROVIDER_NAMES(LIST)
#undef LIST
	putc('\n', rep->err);
	return 1;
}

static void say(const struct tg_report *rep, int fatal, const char *what, const char *value,
                const char *plural, const struct seen_set *set, const char *extra)
{
	fprintf(rep->err, "tokenguard-report: %s: no record has %s \"%s\"%s; %s in this ledger: ",
	        fatal ? "error" : "warning", what, value, extra, plural);
	for (int i = 0; i < set->n; i++)
		fprintf(rep->err, "%s%s", i ? ", " : "", set->v[i]);
	fputs(set->n ? (set->more ? ", ...\n" : "\n") : "none\n", rep->err);
}

int tg_unknown_filter_values(const struct tg_report *rep, struct tg_ledger *l, int fatal)
{
	const struct tg_filter *f = &rep->filter;
	struct scan s;
	int rc, unknown = 0;

	memset(&s, 0, sizeof s);
	s.f = f;
	if (!l)
		return unknown_without_ledger(rep, fatal);
	if (all_found(&s))
		return 0;
	rc = tg_ledger_scan(l, 0, INT64_MAX, look, &s);
	if (rc < 0) {
		tg_report_ledger_fail(rep, rc);
		return -1;
	}
	if (f->provider && !s.found_provider && ++unknown)
		say(rep, fatal, "provider", f->provider, "providers", &s.providers,
		    tg_provider_name_known(f->provider) ? "" : " (nor is it a provider tokenguard knows)");
	if (f->model && !s.found_model && ++unknown)
		say(rep, fatal, "model", f->model, "models", &s.models, "");
	if (f->process && !s.found_process && ++unknown)
		say(rep, fatal, "process", f->process, "processes", &s.processes, "");
	for (int i = 0; i < f->ntags; i++)
		if (!s.found_tag[i] && ++unknown)
			say(rep, fatal, "tag", f->tag[i], "tags", &s.tags, "");
	return unknown;
}

static int tag_keys(void *ctx, const struct tg_record *r)
{
	struct seen_set *keys = ctx;

	struct tg_tag_item it;

	for (const char *at = r->tags; tg_tags_next(&at, &it);)
		seen_add(keys, it.p, it.klen);
	return 0;
}

int tg_unknown_tag_key(const struct tg_report *rep, struct tg_ledger *l, const char *key)
{
	struct seen_set keys;
	int rc;

	memset(&keys, 0, sizeof keys);
	if ((rc = tg_ledger_scan(l, rep->since_us, rep->until_us, tag_keys, &keys)) < 0) {
		tg_report_ledger_fail(rep, rc);
		return -1;
	}
	fprintf(rep->err, "tokenguard-report: warning: no record of the period has tag \"%s\"; "
	        "tag keys in the period: ", key);
	for (int i = 0; i < keys.n; i++)
		fprintf(rep->err, "%s%s", i ? ", " : "", keys.v[i]);
	fputs(keys.n ? (keys.more ? ", ...\n" : "\n") : "none\n", rep->err);
	return 0;
}
