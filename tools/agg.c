/* agg.c - grouping and summing records (see agg.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "fnv.h"
#include "grow.h"
#include "machine.h"
#include "record_codec.h"
#include "tags.h"
#include "when.h"

const char *const tg_tok_name[TG_TOK_KINDS] = {
	"input_tokens", "cached_input_tokens", "cache_creation_input_tokens",
	"output_tokens", "reasoning_tokens",
};

static const char *const by_name[] = {
	"provider", "model", "host", "endpoint", "day", "month", "process", "operation",
	"week", "hour", "session", "block", "machine",
};

int tg_agg_init(struct tg_agg *a, const char *by, char *err, size_t errlen)
{
	const char *p = by;

	memset(a, 0, sizeof *a);
	a->when = (struct tg_when_memo)TG_WHEN_MEMO_INIT;
	a->model_key = -1;
	while (*p) {
		size_t n = strcspn(p, ",");
		struct tg_agg_key *k;
		int found = 0;

		if (a->nkeys == TG_AGG_MAX_KEYS) {
			snprintf(err, errlen, "--by: at most %d keys", TG_AGG_MAX_KEYS);
			return -1;
		}
		k = &a->key[a->nkeys];
		if (n > 4 && !strncmp(p, "tag:", 4) && n - 4 < sizeof k->tag) {
			k->by = TG_BY_TAG;
			memcpy(k->tag, p + 4, n - 4);
			k->tag[n - 4] = '\0';
			found = 1;
		}
		for (int i = 0; !found && i < (int)(sizeof by_name / sizeof by_name[0]); i++) {
			if (strlen(by_name[i]) == n && !strncmp(p, by_name[i], n)) {
				k->by = (enum tg_agg_by)i;
				found = 1;
			}
		}
		if (!found) {
			snprintf(err, errlen,
			         "--by: unknown key \"%.*s\" (use provider, model, host, endpoint, "
			         "day, week, month, hour, process, operation, session, block, machine or "
			         "tag:NAME)", (int)n, p);
			return -1;
		}
		if (k->by == TG_BY_MODEL && a->model_key < 0)
			a->model_key = a->nkeys;
		a->nkeys++;
		p += n;
		if (*p == ',' && *++p == '\0') {
			snprintf(err, errlen, "--by: empty key after ','");
			return -1;
		}
	}
	return 0;
}

int tg_agg_wants_runs(const struct tg_agg *a, struct tg_runs *rs)
{
	for (int k = 0; k < a->nkeys; k++) {
		rs->want_runs |= a->key[k].by == TG_BY_SESSION;
		rs->want_blocks |= a->key[k].by == TG_BY_BLOCK;
	}
	return rs->want_runs || rs->want_blocks;
}

/* A run: its local start, process and pid, so that runs sort by start. */
static void run_value(const struct tg_runs *rs, const struct tg_record *r, char *buf, size_t n)
{
	int64_t start = rs ? tg_runs_run_start(rs, r) : INT64_MIN;
	char iso[TG_WHEN_ISO_MAX];

	buf[0] = '\0';
	if (start == INT64_MIN)
		return;
	tg_when_local_iso(start, iso);
	snprintf(buf, n, "%s %s[%ld]", iso, r->process[0] ? r->process : "?", (long)r->pid);
}

static void block_value(const struct tg_runs *rs, int64_t ts, char *buf)
{
	int64_t start = rs ? tg_runs_block_start(rs, ts) : INT64_MIN;

	buf[0] = '\0';
	if (start != INT64_MIN)
		tg_when_local_iso(start, buf);
}

void tg_agg_key_name(const struct tg_agg *a, int i, char *buf, size_t n)
{
	if (a->key[i].by == TG_BY_TAG)
		snprintf(buf, n, "tag:%s", a->key[i].tag);
	else
		snprintf(buf, n, "%s", by_name[a->key[i].by]);
}

int tg_tags_get(const char *tags, const char *name, char *buf, size_t n)
{
	struct tg_tag_item it;
	size_t nl = strlen(name);

	buf[0] = '\0';
	for (const char *at = tags; tg_tags_next(&at, &it);)
		if (it.klen == nl && !strncmp(it.p, name, nl)) {
			snprintf(buf, n, "%.*s", (int)it.vlen, it.value ? it.value : "");
			return 1;
		}
	return 0;
}

/* s into buf (n bytes), cut to fit: snprintf's "%s" without its cost
 * for every key of every record. */
static void copy_text(char *buf, size_t n, const char *s)
{
	size_t len = strnlen(s, n - 1);

	memcpy(buf, s, len);
	buf[len] = '\0';
}

/* A record's machine: its own, else the ledger's. */
static void machine_value(struct tg_agg *a, const struct tg_record *r, char *buf, size_t n)
{
	if (r->machine[0]) {
		copy_text(buf, n, r->machine);
		return;
	}
	if (!a->machine_known) {
		a->machine_known = 1;
		if (!a->ledger_dir || tg_machine_name(a->ledger_dir, a->machine, sizeof a->machine))
			a->machine[0] = '\0';
	}
	copy_text(buf, n, a->machine);
}

static void key_value(struct tg_agg *a, const struct tg_agg_key *k, const struct tg_record *r,
                      char *buf, size_t n)
{
	switch (k->by) {
	case TG_BY_PROVIDER: copy_text(buf, n, r->provider); break;
	case TG_BY_MODEL: copy_text(buf, n, r->model); break;
	case TG_BY_HOST: copy_text(buf, n, r->host); break;
	case TG_BY_ENDPOINT: copy_text(buf, n, r->endpoint); break;
	case TG_BY_PROCESS: copy_text(buf, n, r->process); break;
	case TG_BY_OPERATION: copy_text(buf, n, r->operation); break;
	case TG_BY_DAY: tg_when_day_memo(&a->when, tg_when_local(r->ts_us), buf); break;
	case TG_BY_MONTH: tg_when_month_memo(&a->when, tg_when_local(r->ts_us), buf); break;
	case TG_BY_WEEK: tg_when_week(tg_when_local(r->ts_us), buf); break;
	case TG_BY_HOUR: tg_when_hour(tg_when_local(r->ts_us), buf); break;
	case TG_BY_SESSION: run_value(a->runs, r, buf, n); break;
	case TG_BY_BLOCK: block_value(a->runs, r->ts_us, buf); break;
	case TG_BY_MACHINE: machine_value(a, r, buf, n); break;
	case TG_BY_TAG: tg_tags_get(r->tags, k->tag, buf, n); break;
	}
}

unsigned tg_agg_text(const struct tg_agg *a)
{
	static const unsigned by_text[] = {
		[TG_BY_PROVIDER] = TG_TEXT_PROVIDER, [TG_BY_MODEL] = TG_TEXT_MODEL,
		[TG_BY_HOST] = TG_TEXT_HOST, [TG_BY_ENDPOINT] = TG_TEXT_ENDPOINT,
		[TG_BY_DAY] = 0, [TG_BY_MONTH] = 0,
		[TG_BY_PROCESS] = TG_TEXT_PROCESS, [TG_BY_OPERATION] = TG_TEXT_OPERATION,
		[TG_BY_WEEK] = 0, [TG_BY_HOUR] = 0, [TG_BY_SESSION] = TG_TEXT_PROCESS,
		[TG_BY_BLOCK] = 0, [TG_BY_MACHINE] = TG_TEXT_MACHINE,
		[TG_BY_TAG] = TG_TEXT_TAGS,
	};
	unsigned text = TG_TEXT_MODEL;

	for (int k = 0; k < a->nkeys; k++)
		text |= by_text[a->key[k].by];
	if (a->model_key >= 0)
		text |= TG_TEXT_REQUESTED_MODEL;   /* the model served for a blocked call's */
	return text;
}

static int rehash(struct tg_agg *a)
{
	size_t n = 64, *slot;

	while (n < (a->ngroups + 1) * 4)
		n *= 2;
	slot = calloc(n, sizeof *slot);

	if (!slot)
		return -1;
	for (size_t g = 0; g < a->ngroups; g++) {
		size_t i = a->group[g].hash & (n - 1);

		while (slot[i])
			i = (i + 1) & (n - 1);
		slot[i] = g + 1;
	}
	free(a->slot);
	a->slot = slot;
	a->nslots = n;
	return 0;
}

static int same_key(const struct tg_agg *a, const struct tg_agg_group *g,
                    char vals[][TG_TAGS_MAX])
{
	for (int k = 0; k < a->nkeys; k++)
		if (strcmp(g->value[k], vals[k]))
			return 0;
	return 1;
}

static struct tg_agg_group *new_group(struct tg_agg *a, char vals[][TG_TAGS_MAX], uint64_t h)
{
	struct tg_agg_group *g;
	size_t total = 1;
	char *mem;

	if (a->ngroups == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct tg_agg_group *ng = realloc(a->group, cap * sizeof *ng);

		if (!ng)
			return NULL;
		a->group = ng;
		a->cap = cap;
	}
	for (int k = 0; k < a->nkeys; k++)
		total += strlen(vals[k]) + 1;
	if (!(mem = malloc(total)))
		return NULL;
	g = &a->group[a->ngroups++];
	memset(g, 0, sizeof *g);
	g->hash = h;
	g->value[0] = mem;  /* for a key-less aggregation, an empty block */
	*mem = '\0';
	for (int k = 0; k < a->nkeys; k++) {
		size_t n = strlen(vals[k]) + 1;

		g->value[k] = memcpy(mem, vals[k], n);
		mem += n;
	}
	return g;
}

static struct tg_agg_group *find_group_of(struct tg_agg *a, char vals[][TG_TAGS_MAX])
{
	uint64_t h = TG_FNV1A_INIT;
	struct tg_agg_group *g;
	size_t i;

	for (int k = 0; k < a->nkeys; k++)
		h = tg_fnv1a(h, vals[k], strlen(vals[k]) + 1);
	if ((a->ngroups + 1) * 2 > a->nslots && rehash(a))
		return NULL;
	for (i = h & (a->nslots - 1); a->slot[i]; i = (i + 1) & (a->nslots - 1)) {
		g = &a->group[a->slot[i] - 1];
		if (g->hash == h && same_key(a, g, vals))
			return g;
	}
	if (!(g = new_group(a, vals, h)))
		return NULL;
	a->slot[i] = a->ngroups;
	return g;
}

static struct tg_agg_group *find_group(struct tg_agg *a, const struct tg_record *r)
{
	char vals[TG_AGG_MAX_KEYS][TG_TAGS_MAX];

	for (int k = 0; k < a->nkeys; k++)
		key_value(a, &a->key[k], r, vals[k], sizeof vals[k]);
	return find_group_of(a, vals);
}

/* A record's amounts: the rule of spend_rule.h, and the token kinds by the
 * same rule (a blocked call adds to none). */
static void add_sums(struct tg_agg_sums *s, const struct tg_record *r)
{
	const int64_t v[TG_TOK_KINDS] = {
		r->counts.input, r->counts.cached_input, r->counts.cache_creation,
		r->counts.output, r->counts.reasoning,
	};
	struct tg_total t;

	tg_total_of_record(r, &t);
	tg_total_sum(&s->t, &t);
	if (!tg_record_sent(r))
		return;
	for (int k = 0; k < TG_TOK_KINDS; k++) {
		if (v[k] < 0)
			s->unknown[k]++;
		else
			s->tokens[k] += v[k];
	}
	s->incomplete += (r->flags & TG_REC_INCOMPLETE) != 0;
	s->stream_error += (r->flags & TG_REC_STREAM_ERROR) != 0;
}

static void merge_sums(struct tg_agg_sums *s, const struct tg_agg_sums *d)
{
	tg_total_sum(&s->t, &d->t);
	for (int k = 0; k < TG_TOK_KINDS; k++) {
		s->tokens[k] += d->tokens[k];
		s->unknown[k] += d->unknown[k];
	}
	s->incomplete += d->incomplete;
	s->stream_error += d->stream_error;
}

static int note_unpriced(struct tg_agg *a, const char *model)
{
	for (size_t i = 0; i < a->nunpriced; i++) {
		if (!strcmp(a->unpriced[i].model, model)) {
			a->unpriced[i].calls++;
			return 0;
		}
	}
	if (tg_grow_for_one((void **)&a->unpriced, a->nunpriced, &a->unpriced_cap,
	                 sizeof *a->unpriced))
		return -1;
	snprintf(a->unpriced[a->nunpriced].model, TG_MODEL_MAX, "%s", model);
	a->unpriced[a->nunpriced++].calls = 1;
	return 0;
}

/* Notes that r asked for one model and was served another, unless a
 * policy chose the one served. */
static int note_served(struct tg_agg *a, const struct tg_record *r)
{
	struct tg_agg_served *e = NULL;

	if (!r->requested_model[0] || (r->flags & TG_REC_DOWNGRADED) ||
	    !strcmp(r->requested_model, r->model))
		return 0;
	for (size_t i = 0; i < a->nserved && !e; i++)
		if (!strcmp(a->served[i].requested, r->requested_model))
			e = &a->served[i];
	if (!e) {
		if (tg_grow_for_one((void **)&a->served, a->nserved, &a->served_cap,
		                    sizeof *a->served))
			return -1;
		e = &a->served[a->nserved++];
		memset(e, 0, sizeof *e);
		e->ts_us = INT64_MIN;
		copy_text(e->requested, sizeof e->requested, r->requested_model);
	}
	if (r->ts_us >= e->ts_us) {
		e->ts_us = r->ts_us;
		copy_text(e->served, sizeof e->served, r->model);
	}
	return 0;
}

/* Blocked calls wait in a->blocked, grouped by the same keys, for
 * tg_agg_finish() to know the models served. */
static int defer_blocked(struct tg_agg *a, const struct tg_record *r)
{
	if (!a->blocked) {
		if (!(a->blocked = calloc(1, sizeof *a->blocked)))
			return -1;
		memcpy(a->blocked->key, a->key, sizeof a->key);
		a->blocked->nkeys = a->nkeys;
		a->blocked->model_key = -1;
		a->blocked->runs = a->runs;
		a->blocked->ledger_dir = a->ledger_dir;
		a->blocked->when = (struct tg_when_memo)TG_WHEN_MEMO_INIT;
	}
	return tg_agg_add(a->blocked, r);
}

int tg_agg_add(struct tg_agg *a, const struct tg_record *r)
{
	struct tg_agg_group *g;

	if (a->model_key >= 0) {
		if (!tg_record_sent(r))
			return defer_blocked(a, r);
		if (note_served(a, r))
			return -1;
	}
	if (!(g = find_group(a, r)))
		return -1;
	add_sums(&g->sums, r);
	add_sums(&a->total, r);
	if ((r->flags & TG_REC_UNPRICED) && !(r->flags & TG_REC_USAGE_UNKNOWN))
		return note_unpriced(a, r->model[0] ? r->model : "(none)");
	return 0;
}

static int cmp_group(const void *x, const void *y, void *nkeys)
{
	const struct tg_agg_group *a = x, *b = y;

	for (int k = 0; k < *(const int *)nkeys; k++) {
		int c = strcmp(a->value[k], b->value[k]);

		if (c)
			return c;
	}
	return 0;
}

void tg_agg_sort(struct tg_agg *a)
{
	/* The hash index refers to positions: sorting invalidates it (a later
	 * tg_agg_add() rebuilds it). */
	free(a->slot);
	a->slot = NULL;
	a->nslots = 0;
	if (a->ngroups)   /* no groups: no array, which qsort_r may not be given */
		qsort_r(a->group, a->ngroups, sizeof *a->group, cmp_group, &a->nkeys);
}

int tg_agg_finish(struct tg_agg *a)
{
	char vals[TG_AGG_MAX_KEYS][TG_TAGS_MAX];
	struct tg_agg *b = a->blocked;

	for (size_t i = 0; b && i < b->ngroups; i++) {
		struct tg_agg_group *g;
		char *model = vals[a->model_key];

		for (int k = 0; k < a->nkeys; k++)
			copy_text(vals[k], sizeof vals[k], b->group[i].value[k]);
		for (size_t j = 0; j < a->nserved; j++) {
			if (!strcmp(a->served[j].requested, model)) {
				copy_text(model, sizeof vals[0], a->served[j].served);
				a->served[j].blocked_moved += b->group[i].sums.t.blocked;
				break;
			}
		}
		if (!(g = find_group_of(a, vals)))
			return -1;
		merge_sums(&g->sums, &b->group[i].sums);
		merge_sums(&a->total, &b->group[i].sums);
	}
	if (b) {
		tg_agg_free(b);
		free(b);
		a->blocked = NULL;
	}
	tg_agg_sort(a);
	return 0;
}

struct order {
	int nkeys;
	enum tg_agg_sort by;
	int desc;
};

static int cmp_ordered(const void *x, const void *y, void *p)
{
	const struct tg_agg_group *a = x, *b = y;
	const struct order *o = p;
	const struct tg_total *s = &a->sums.t, *t = &b->sums.t;
	int c = 0;

	switch (o->by) {
	case TG_SORT_KEY: c = cmp_group(x, y, (void *)&o->nkeys); return o->desc ? -c : c;
	case TG_SORT_COST: c = (s->usd_known > t->usd_known) - (s->usd_known < t->usd_known); break;
	case TG_SORT_CALLS: c = (s->calls > t->calls) - (s->calls < t->calls); break;
	case TG_SORT_TOKENS: c = (s->tokens > t->tokens) - (s->tokens < t->tokens); break;
	}
	/* Ties in key order, whichever way the amounts go. */
	return c ? (o->desc ? -c : c) : cmp_group(x, y, (void *)&o->nkeys);
}

size_t tg_agg_order(struct tg_agg *a, enum tg_agg_sort by, int desc, int64_t limit)
{
	struct order o = { a->nkeys, by, desc };
	size_t dropped = 0;

	if (a->ngroups)   /* no groups: no array, which qsort_r may not be given */
		qsort_r(a->group, a->ngroups, sizeof *a->group, cmp_ordered, &o);
	if (limit >= 0 && (uint64_t)limit < a->ngroups) {
		dropped = a->ngroups - (size_t)limit;
		for (size_t i = (size_t)limit; i < a->ngroups; i++)
			free(a->group[i].value[0]);
		a->ngroups = (size_t)limit;
	}
	return dropped;
}

void tg_agg_free(struct tg_agg *a)
{
	if (a->blocked) {
		tg_agg_free(a->blocked);
		free(a->blocked);
	}
	free(a->served);
	for (size_t i = 0; i < a->ngroups; i++)
		free(a->group[i].value[0]);
	free(a->group);
	free(a->slot);
	free(a->unpriced);
	memset(a, 0, sizeof *a);
}

int tg_agg_add_matching(void *ctx, const struct tg_record *r)
{
	struct tg_agg_scan *c = ctx;

	if (!tg_filter_match(c->filter, r))
		return 0;
	return tg_agg_add(c->a, r) ? 1 : 0;
}
