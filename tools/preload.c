/* preload.c - LD_PRELOAD append and TOKENGUARD_TAGS merge (preload.h). */
#include <stdio.h>
#include <string.h>

#include "preload.h"
#include "tags.h"

#define SHIM_NAME "libtokenguard.so"

/* 1 when the entry [s, s+len) is a libtokenguard.so, whatever its directory. */
static int is_shim(const char *s, size_t len)
{
	size_t name = strlen(SHIM_NAME);

	return len >= name && !memcmp(s + len - name, SHIM_NAME, name) &&
	       (len == name || s[len - name - 1] == '/');
}

int tg_preload_append(const char *existing, const char *lib, char *buf, size_t n)
{
	const char *p = existing ? existing : "";
	int len;

	for (const char *s = p; *s;) {
		size_t l = strcspn(s, ": ");

		if (l && is_shim(s, l))
			return snprintf(buf, n, "%s", p) < (int)n ? 0 : -1;
		s += l;
		s += strspn(s, ": ");
	}
	p += strspn(p, ": ");
	len = *p ? snprintf(buf, n, "%s:%s", p, lib) : snprintf(buf, n, "%s", lib);
	return len >= 0 && (size_t)len < n ? 1 : -1;
}

static int key_given(const char *pair, size_t len, const char *const *tags, int ntags)
{
	const char *eq = memchr(pair, '=', len);
	size_t klen = eq ? (size_t)(eq - pair) : len;

	for (int i = 0; i < ntags; i++) {
		const char *teq = strchr(tags[i], '=');
		size_t tk = teq ? (size_t)(teq - tags[i]) : strlen(tags[i]);

		if (tk == klen && !memcmp(tags[i], pair, klen))
			return 1;
	}
	return 0;
}

static int add(char *buf, size_t n, size_t *at, const char *s, size_t len)
{
	if (*at + (*at ? 1 : 0) + len + 1 > n)
		return -1;
	if (*at)
		buf[(*at)++] = ',';
	memcpy(buf + *at, s, len);
	*at += len;
	buf[*at] = '\0';
	return 0;
}

int tg_tags_merge(const char *existing, const char *const *tags, int ntags, char *buf,
                  size_t n)
{
	size_t at = 0;
	struct tg_tag_item it;

	if (!n)
		return -1;
	buf[0] = '\0';
	for (const char *e = existing; tg_tags_next(&e, &it);)
		if (it.len && !key_given(it.p, it.len, tags, ntags) && add(buf, n, &at, it.p, it.len))
			return -1;
	for (int i = 0; i < ntags; i++)
		if (add(buf, n, &at, tags[i], strlen(tags[i])))
			return -1;
	return 0;
}
