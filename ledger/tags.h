/* tags.h - a record's tags: "key=value,key=value", a map of at most
 * TG_TAGS_MAX - 1 bytes.
 *
 * Owns: the one rule that turns text from elsewhere (a request body's
 * user id or metadata) into something the tag format can hold, and the
 * one way to set a key in a tags string, so that every source of tags
 * (TOKENGUARD_TAGS, a request body, the x-tokenguard-tags header) ends
 * up in the same map with the same override rule.  (Validating a tags
 * string a person wrote is config.c's: it refuses instead of cleaning.)
 *
 * Keys are [A-Za-z0-9_.-]+; values are any bytes but ',', '=' and
 * control characters (< 0x20, 0x7f).  No allocation.
 */
#ifndef TG_TAGS_H
#define TG_TAGS_H

#include <stddef.h>
#include <string.h>

/* One entry of a tags string, as tg_tags_next() finds it. */
struct tg_tag_item {
	const char *p;       /* the entry: up to the next ',' or the end */
	size_t len;
	size_t klen;         /* its key: up to the first '=', len when none */
	const char *value;   /* after that '=', NULL when there is none */
	size_t vlen;
};

/* The one walk over a tags string: fills *it with the entry at *at (an
 * empty one between two commas included) and moves *at past it and its
 * comma.  Returns 0, *it untouched, at the end of the string:
 *     for (const char *at = tags; tg_tags_next(&at, &it);) ... */
static inline int tg_tags_next(const char **at, struct tg_tag_item *it)
{
	const char *p = *at, *eq;

	if (!p || !*p)
		return 0;
	it->p = p;
	it->len = strcspn(p, ",");
	eq = memchr(p, '=', it->len);
	it->klen = eq ? (size_t)(eq - p) : it->len;
	it->value = eq ? eq + 1 : NULL;
	it->vlen = eq ? it->len - it->klen - 1 : 0;
	*at = p + it->len + (p[it->len] == ',');
	return 1;
}

/* Copies in[0..len) into out (n bytes, NUL included) made fit for a tag
 * value: ',', '=' and control bytes become '_'; a value longer than
 * n - 1 bytes is cut at a UTF-8 character boundary.  For a key
 * (is_key), every byte but [A-Za-z0-9_.-] becomes '_'.  Returns the
 * length written. */
size_t tg_tag_clean(char *out, size_t n, const char *in, size_t len, int is_key);

/* Sets key to value in tags (a NUL-terminated tags string in a buffer of
 * n bytes): an entry of the same key is removed, the new one appended.
 * Both must already be clean (tg_tag_clean).  Returns 0, or -1 when the
 * result would not fit in n bytes (tags is then unchanged). */
int tg_tags_put(char *tags, size_t n, const char *key, size_t klen,
                const char *value, size_t vlen);

/* tg_tags_put() of every entry of over ("k=v,k=v", clean), in order: the
 * later source wins per key.  Returns the number of entries that did not
 * fit and were dropped. */
int tg_tags_put_all(char *tags, size_t n, const char *over);

#endif
