/* tags.c - see tags.h. */
#include "tags.h"

#include <string.h>

static int key_byte_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

size_t tg_tag_clean(char *out, size_t n, const char *in, size_t len, int is_key)
{
	size_t i;

	if (n == 0)
		return 0;
	if (len > n - 1) {
		len = n - 1;
		/* never half a character: the cut goes back to a lead byte */
		while (len > 0 && ((unsigned char)in[len] & 0xC0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (is_key)
			out[i] = key_byte_ok((char)c) ? (char)c : '_';
		else
			out[i] = c < 0x20 || c == 0x7f || c == ',' || c == '=' ? '_' : (char)c;
	}
	out[len] = '\0';
	return len;
}

/* Removes the entry of key from tags, if any. */
static void remove_key(char *tags, const char *key, size_t klen)
{
	char *p = tags;

	while (*p) {
		size_t len = strcspn(p, ",");

		if (len > klen && p[klen] == '=' && memcmp(p, key, klen) == 0) {
			char *next = p + len + (p[len] == ',');

			memmove(p, next, strlen(next) + 1);
			/* the entry was the last one: drop the comma before it */
			if (*p == '\0' && p > tags)
				p[-1] = '\0';
			return;
		}
		p += len + (p[len] == ',');
	}
}

int tg_tags_put(char *tags, size_t n, const char *key, size_t klen,
                const char *value, size_t vlen)
{
	size_t used = strlen(tags), have = 0;
	struct tg_tag_item it;

	if (klen == 0)
		return -1;
	/* the size of the entry it replaces, to know whether the new one fits */
	for (const char *at = tags; tg_tags_next(&at, &it);)
		if (it.value && it.klen == klen && memcmp(it.p, key, klen) == 0)
			have = it.len + (used > it.len);   /* its comma, unless it is alone */
	if (used - have + (used - have > 0) + klen + 1 + vlen + 1 > n)
		return -1;
	remove_key(tags, key, klen);
	used = strlen(tags);
	if (used)
		tags[used++] = ',';
	memcpy(tags + used, key, klen);
	used += klen;
	tags[used++] = '=';
	memcpy(tags + used, value, vlen);
	tags[used + vlen] = '\0';
	return 0;
}

int tg_tags_put_all(char *tags, size_t n, const char *over)
{
	int dropped = 0;

	struct tg_tag_item it;

	for (const char *at = over; tg_tags_next(&at, &it);)
		if (it.value && it.klen && tg_tags_put(tags, n, it.p, it.klen, it.value, it.vlen) != 0)
			dropped++;
	return dropped;
}
