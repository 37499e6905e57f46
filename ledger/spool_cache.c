/* spool_cache.c - see spool_cache.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "spool.h"
#include "spool_cache.h"

enum { F_PROVIDER, F_MODEL, F_FAMILY, F_PROCESS, F_TAGS, F_ASKED, NFIELDS };

struct item {
	unsigned char key[16];
	int64_t ts_us;
	struct tg_total amounts;
	uint32_t text[NFIELDS];      /* offsets of NUL-terminated names in the arena */
};

struct cached_file {
	char name[64];
	int fd;
	uint64_t dev, ino;
	int64_t off;                 /* entries before it are in items */
	int seen;                    /* in the directory at this check */
	struct item *items;
	size_t n, cap;
	char *arena;
	size_t alen, acap;
};

struct tg_spool_cache {
	pthread_mutex_t lock;        /* checks run under the handle's shared lock */
	struct cached_file *files;
	size_t n, cap;
};

static void file_free(struct cached_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->items);
	free(f->arena);
}

static void files_free(struct tg_spool_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		file_free(&c->files[i]);
	free(c->files);
}

void tg_spool_cache_free(struct tg_spool_cache *c)
{
	if (!c)
		return;
	files_free(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void tg_spool_cache_abandon(struct tg_spool_cache *c)
{
	/* The lock may be held by a thread the child does not have: it and
	 * the struct are left, as tg_ledger_abandon() leaves the handle's. */
	if (c)
		files_free(c);
}

static int put_text(struct cached_file *f, const char *s, uint32_t *at)
{
	size_t n = strlen(s) + 1;

	if (f->alen + n > f->acap) {
		size_t cap = f->acap ? f->acap * 2 : 4096;
		char *a;

		while (cap < f->alen + n)
			cap *= 2;
		if (!(a = realloc(f->arena, cap)))
			return TG_ENOMEM;
		f->arena = a;
		f->acap = cap;
	}
	memcpy(f->arena + f->alen, s, n);
	*at = (uint32_t)f->alen;
	f->alen += n;
	return 0;
}

/* A record entry read for the first time: decoded once, kept compact. */
static int take_entry(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct cached_file *f = ctx;
	struct tg_record r;
	char family[TG_MODEL_MAX];
	struct item *it;
	MDB_val value;
	int rc;

	if (type != TG_SPOOL_RECORD || tgl_spool_parse_record(p, n, &r, family, &value) != 0)
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct item *items = realloc(f->items, cap * sizeof *items);

		if (!items)
			return TG_ENOMEM;
		f->items = items;
		f->cap = cap;
	}
	it = &f->items[f->n];
	memcpy(it->key, p, 16);
	it->ts_us = r.ts_us;
	tg_total_of_record(&r, &it->amounts);
	if ((rc = put_text(f, r.provider, &it->text[F_PROVIDER])) != 0 ||
	    (rc = put_text(f, r.model, &it->text[F_MODEL])) != 0 ||
	    (rc = put_text(f, family[0] ? family : r.model, &it->text[F_FAMILY])) != 0 ||
	    (rc = put_text(f, r.process, &it->text[F_PROCESS])) != 0 ||
	    (rc = put_text(f, r.tags, &it->text[F_TAGS])) != 0 ||
	    (rc = put_text(f, tg_record_asked_model(&r), &it->text[F_ASKED])) != 0)
		return rc;
	f->n++;
	return 0;
}

static struct cached_file *find(struct tg_spool_cache *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->files[i].name, name))
			return &c->files[i];
	return NULL;
}

static struct cached_file *add(struct tg_spool_cache *c, int dirfd, const char *name)
{
	struct cached_file *f;
	struct stat st;
	int fd = tg_file_open(dirfd, name, O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return NULL;   /* gone meanwhile, or not the user's own: skipped */
	if (fstat(fd, &st) != 0) {
		close(fd);
		return NULL;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct cached_file *files = realloc(c->files, cap * sizeof *files);

		if (!files) {
			close(fd);
			return NULL;
		}
		c->files = files;
		c->cap = cap;
	}
	f = &c->files[c->n++];
	memset(f, 0, sizeof *f);
	snprintf(f->name, sizeof f->name, "%.63s", name);
	f->fd = fd;
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	return f;
}

/* Brings the cache up to the directory as it is now: new files are
 * opened, grown ones read from where the last check stopped, and files
 * no longer there forgotten. */
static int refresh(struct tg_spool_cache *c, int ledger_dirfd)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int rc;

	for (size_t i = 0; i < c->n; i++)
		c->files[i].seen = 0;
	if ((rc = tg_spool_dir_open(ledger_dirfd, &d)) != 0)
		return rc;
	while (d && rc == 0 && (e = readdir(d)) != NULL) {
		struct cached_file *f;
		int64_t end;
		int clean;

		if (e->d_name[0] == '.' || !tg_spool_name_valid(e->d_name))
			continue;
		if (!(f = find(c, e->d_name)) && !(f = add(c, dirfd(d), e->d_name)))
			continue;
		f->seen = 1;
		if (fstat(f->fd, &st) != 0 || st.st_size <= f->off)
			continue;
		rc = tg_spool_read_from(f->fd, f->off, take_entry, f, NULL, &end, &clean);
		f->off = end;
	}
	if (d)
		closedir(d);
	/* Forget what went: the order of the rest does not matter. */
	for (size_t i = 0; i < c->n;) {
		if (c->files[i].seen) {
			i++;
			continue;
		}
		file_free(&c->files[i]);
		c->files[i] = c->files[--c->n];
	}
	return rc;
}

int tg_spool_cache_hold(struct tg_ledger *l, struct tg_spool_cache **out)
{
	struct tg_spool_cache *c;
	int rc;

	if (!(c = __atomic_load_n(&l->spool_cache, __ATOMIC_ACQUIRE))) {
		struct tg_spool_cache *made = calloc(1, sizeof *made), *none = NULL;

		if (!made || pthread_mutex_init(&made->lock, NULL) != 0) {
			free(made);
			return TG_ENOMEM;
		}
		if (!__atomic_compare_exchange_n(&l->spool_cache, &none, made, 0, __ATOMIC_ACQ_REL,
		                                 __ATOMIC_ACQUIRE))
			tg_spool_cache_free(made);   /* another thread made it first */
		c = l->spool_cache;
	}
	pthread_mutex_lock(&c->lock);
	if ((rc = refresh(c, l->dirfd)) != 0) {
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	*out = c;
	return 0;
}

void tg_spool_cache_release(struct tg_spool_cache *c)
{
	pthread_mutex_unlock(&c->lock);
}

int tg_spool_cache_each(struct tg_spool_cache *c, struct tg_ledger *l, MDB_txn *txn,
                        int (*fn)(void *ctx, const struct tg_spooled_spend *s), void *ctx)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < c->n; i++) {
		struct cached_file *f = &c->files[i];

		for (size_t j = 0; rc == 0 && j < f->n; j++) {
			struct item *it = &f->items[j];
			MDB_val k = { 16, it->key }, d;
			struct tg_spooled_spend s = {
				it->ts_us, it->amounts,
				{ f->arena + it->text[F_PROVIDER], f->arena + it->text[F_MODEL],
				  f->arena + it->text[F_FAMILY], f->arena + it->text[F_PROCESS],
				  f->arena + it->text[F_TAGS], f->arena + it->text[F_ASKED] },
			};

			if (mdb_get(txn, l->records, &k, &d) == 0)
				continue;   /* folded since */
			rc = fn(ctx, &s);
		}
	}
	return rc;
}
