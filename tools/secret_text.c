/* secret_text.c - see secret_text.h. */
#include "secret_text.h"

#include <string.h>
#include <strings.h>

struct out {
	char *p;
	size_t n, len;
};

static void put(struct out *o, const char *s, size_t k)
{
	for (size_t i = 0; i < k && o->len + 1 < o->n; i++)
		o->p[o->len++] = s[i];
	o->p[o->len] = '\0';
}

#define PUT_LIT(o, lit) put(o, lit, sizeof lit - 1)

/* A URL: its userinfo's password, then every password= of its query. */
static void masked_url(struct out *o, const char *s, const char *scheme_end)
{
	const char *auth = scheme_end + 3;
	const char *path = auth + strcspn(auth, "/?#");
	const char *at = memchr(auth, '@', (size_t)(path - auth));
	const char *q;

	put(o, s, (size_t)(auth - s));
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));

		put(o, auth, (size_t)((colon ? colon : at) - auth));
		if (colon)
			PUT_LIT(o, ":***");
		auth = at;
	}
	put(o, auth, (size_t)(path - auth));
	for (q = path; *q;) {
		size_t k = strcspn(q, "?&");

		put(o, q, k);
		q += k;
		if (!*q)
			break;
		put(o, q++, 1);
		if (strncasecmp(q, "password=", 9) == 0) {
			put(o, q, 9);
			PUT_LIT(o, "***");
			q += 9 + strcspn(q + 9, "&#");
		}
	}
}

/* libpq's "key = value ..." form: the value of password, quoted ('...',
 * with \' and \\ inside) or not, becomes ***. */
static void masked_pairs(struct out *o, const char *s)
{
	while (*s) {
		const char *v, *end;
		size_t key;
		int secret;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			put(o, s++, 1);
		key = strcspn(s, " \t\n=");
		v = s + key;
		secret = key == 8 && strncasecmp(s, "password", 8) == 0;

		put(o, s, key);
		while (*v == ' ' || *v == '\t' || *v == '\n')
			put(o, v++, 1);
		if (*v != '=') {
			if (*v)
				put(o, v++, 1);
			s = v;
			continue;
		}
		put(o, v++, 1);
		while (*v == ' ' || *v == '\t' || *v == '\n')
			put(o, v++, 1);
		end = v;
		if (*end == '\'') {
			for (end++; *end && *end != '\''; end++)
				if (*end == '\\' && end[1])
					end++;
			if (*end)
				end++;
		} else {
			end += strcspn(end, " \t\n");
		}
		if (secret)
			PUT_LIT(o, "***");
		else
			put(o, v, (size_t)(end - v));
		s = end;
	}
}

void tg_conninfo_masked(const char *s, char *out, size_t n)
{
	struct out o = { out, n, 0 };
	const char *scheme_end = strstr(s, "://");

	if (n == 0)
		return;
	out[0] = '\0';
	if (scheme_end && (size_t)(scheme_end - s) == strspn(s, "abcdefghijklmnopqrstuvwxyz"
	                                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ+.-"))
		masked_url(&o, s, scheme_end);
	else
		masked_pairs(&o, s);
}
