/* policy.c - policy syntax, windows and scope matching (see policy.h).
 *
 * The parser works on (pointer, length) slices of the caller's string, so
 * it never copies a field it has not yet recognised and never allocates. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy.h"
#include "civil.h"
#include "error.h"
#include "decimal.h"
#include "digits.h"

#define SHOWN_MAX 60  /* characters of a bad field quoted back in a message */

static const char *const window_names[] = { "day", "month", "24h", "session" };
static const char *const scope_names[] = { "global", "tag", "model", "provider", "process" };
static const char *const action_names[] = { "block", "warn", "downgrade", "clamp" };
static const char *const unpriced_names[] = { "estimate", "block", "allow" };

const char *tg_window_name(enum tg_window w)
{
	return (unsigned)w < 4 ? window_names[w] : "?";
}

const char *tg_scope_name(enum tg_scope s)
{
	return (unsigned)s < 5 ? scope_names[s] : "?";
}

const char *tg_action_name(enum tg_action a)
{
	return (unsigned)a < 4 ? action_names[a] : "?";
}

const char *tg_unpriced_name(enum tg_unpriced u)
{
	return (unsigned)u < 3 ? unpriced_names[u] : "?";
}

/* A slice of the spec: one field, or part of one. */
struct slice {
	const char *p;
	size_t n;
};

static int shown(struct slice s)
{
	return s.n > SHOWN_MAX ? SHOWN_MAX : (int)s.n;
}

static int is(struct slice s, const char *word)
{
	return strlen(word) == s.n && !memcmp(s.p, word, s.n);
}

/* When s starts with prefix, sets *rest to what follows and returns 1. */
static int prefixed(struct slice s, const char *prefix, struct slice *rest)
{
	size_t k = strlen(prefix);

	if (s.n < k || memcmp(s.p, prefix, k))
		return 0;
	rest->p = s.p + k;
	rest->n = s.n - k;
	return 1;
}

static struct slice trim(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return (struct slice){ p, n };
}

static int copy(char *dst, size_t size, struct slice s)
{
	if (s.n >= size)
		return -1;
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return 0;
}

int tg_policy_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n == 0)
		return tg_err_say(err, errlen, "name is empty; use 1 to %d characters of A-Z a-z 0-9 _ . : -",
		            TG_POLICY_NAME_MAX - 1);
	if (n >= TG_POLICY_NAME_MAX)
		return tg_err_say(err, errlen, "name \"%.*s...\" is too long; use at most %d characters",
		            20, name, TG_POLICY_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != ':' && c != '-')
			return tg_err_say(err, errlen, "name \"%s\" has a character other than "
			            "A-Z a-z 0-9 _ . : -", name);
	}
	return 0;
}

static int parse_scope(struct slice s, struct tg_policy *p, char *err, size_t errlen)
{
	static const struct { const char *prefix; enum tg_scope scope; size_t max; } named[] = {
		{ "model:", TG_SCOPE_MODEL, TG_MODEL_MAX },
		{ "provider:", TG_SCOPE_PROVIDER, TG_PROVIDER_MAX },
		{ "process:", TG_SCOPE_PROCESS, TG_PROCESS_MAX },
	};
	struct slice v;

	if (is(s, "global")) {
		p->scope = TG_SCOPE_GLOBAL;
		return 0;
	}
	if (prefixed(s, "tag:", &v)) {
		const char *eq = memchr(v.p, '=', v.n);

		if (!eq || eq == v.p || eq == v.p + v.n - 1)
			return tg_err_say(err, errlen, "scope \"%.*s\": expected tag:KEY=VALUE with a "
			            "non-empty key and value", shown(s), s.p);
		if (copy(p->scope_value, sizeof p->scope_value, v))
			return tg_err_say(err, errlen, "scope tag: KEY=VALUE is longer than %d characters",
			            TG_TAGS_MAX - 1);
		p->scope = TG_SCOPE_TAG;
		/* tag:KEY=*: every value of KEY counts apart (policy.h). */
		if (eq == v.p + v.n - 2 && eq[1] == '*')
			p->per_value = TG_VALUE_EACH;
		return 0;
	}
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		if (!prefixed(s, named[i].prefix, &v))
			continue;
		if (v.n == 0)
			return tg_err_say(err, errlen, "scope %s needs a name, e.g. %sNAME",
			            named[i].prefix, named[i].prefix);
		if (v.n >= named[i].max)
			return tg_err_say(err, errlen, "scope %s name is longer than %zu characters",
			            named[i].prefix, named[i].max - 1);
		copy(p->scope_value, sizeof p->scope_value, v);
		p->scope = named[i].scope;
		return 0;
	}
	return tg_err_say(err, errlen, "scope \"%.*s\": expected global, tag:KEY=VALUE, tag:KEY=*, "
	            "model:NAME, provider:NAME or process:NAME", shown(s), s.p);
}

static int parse_usd(struct slice v, double *out, char *err, size_t errlen)
{
	char buf[64];
	double d;

	if (v.n && v.p[0] == '-')
		return tg_err_say(err, errlen, "usd=%.*s: a limit cannot be negative", shown(v), v.p);
	if (v.n == 0 || v.n >= sizeof buf || v.p[0] == '+')
		goto bad;
	copy(buf, sizeof buf, v);
	if (tg_decimal_parse(buf, &d) != 0)
		goto bad;
	if (!(d <= TG_POLICY_USD_MAX))
		goto range;  /* an infinity included: 1e999 reads as one */
	*out = d;
	return 0;
range:
	return tg_err_say(err, errlen, "usd=%.*s: out of range; use 0 to %lld dollars", shown(v), v.p,
	            (long long)TG_POLICY_USD_MAX);
bad:
	return tg_err_say(err, errlen, "usd=%.*s: expected a non-negative number of dollars, "
	            "e.g. usd=5 or usd=0.25", shown(v), v.p);
}

/* digits[.digits][k|K|M], exact: 1.5k is 1500, 1.2345k is refused. */
static int parse_tokens(struct slice v, int64_t *out, char *err, size_t errlen)
{
	int64_t whole, frac = 0, scale = 1, mult = 1;
	uint64_t w;
	long got = tg_digits(v.p, v.n, INT64_MAX, &w);
	size_t i, nd;

	if (got < 0)
		goto big;
	whole = (int64_t)w;
	i = nd = (size_t)got;
	if (i < v.n && v.p[i] == '.') {
		for (i++; i < v.n && isdigit((unsigned char)v.p[i]); i++, nd++) {
			if (scale == 1000000000)
				goto bad;  /* keeps frac * mult far from overflow */
			frac = frac * 10 + (v.p[i] - '0');
			scale *= 10;
		}
	}
	if (i < v.n && (v.p[i] == 'k' || v.p[i] == 'K'))
		mult = 1000, i++;
	else if (i < v.n && v.p[i] == 'M')
		mult = 1000000, i++;
	if (nd == 0 || i != v.n)
		goto bad;
	if (whole > TG_POLICY_TOKENS_MAX / mult)
		goto big;
	if (frac * mult % scale)
		return tg_err_say(err, errlen, "tokens=%.*s: not a whole number of tokens", shown(v), v.p);
	*out = whole * mult + frac * mult / scale;
	if (*out > TG_POLICY_TOKENS_MAX)
		goto big;
	return 0;
big:
	return tg_err_say(err, errlen, "tokens=%.*s: out of range; use 0 to %lld tokens", shown(v), v.p,
	            (long long)TG_POLICY_TOKENS_MAX);
bad:
	if (v.n && v.p[0] == '-')
		return tg_err_say(err, errlen, "tokens=%.*s: a limit cannot be negative", shown(v), v.p);
	return tg_err_say(err, errlen, "tokens=%.*s: expected a non-negative whole number, "
	            "k and M suffixes allowed, e.g. tokens=50000 or tokens=2M", shown(v), v.p);
}

static int parse_alert(struct slice v, int *out, char *err, size_t errlen)
{
	uint64_t got = 0;
	long digits = tg_digits(v.p, v.n < 4 ? v.n : 4, 9999, &got);
	size_t i = digits > 0 ? (size_t)digits : 0;
	int pct = (int)got;

	if (i < v.n && v.p[i] == '%')
		i++;
	if (i == 0 || i != v.n || v.p[0] == '%' || pct < 1 || pct > 100)
		return tg_err_say(err, errlen, "alert=%.*s: expected a percentage from 1 to 100, "
		            "e.g. alert=80 or alert=80%%", shown(v), v.p);
	*out = pct;
	return 0;
}

static int parse_action(struct slice f, struct tg_policy *p, char *err, size_t errlen)
{
	struct slice m;

	if (is(f, "block")) {
		p->action = TG_ACT_BLOCK;
	} else if (is(f, "warn")) {
		p->action = TG_ACT_WARN;
	} else if (is(f, "clamp")) {
		p->action = TG_ACT_CLAMP;
	} else if (is(f, "downgrade")) {
		return tg_err_say(err, errlen, "action downgrade needs a model, e.g. downgrade:gpt-4o-mini");
	} else if (prefixed(f, "downgrade:", &m)) {
		m = trim(m.p, m.n);
		if (m.n == 0)
			return tg_err_say(err, errlen, "action downgrade: needs a model after ':', "
			            "e.g. downgrade:gpt-4o-mini");
		if (copy(p->downgrade_model, sizeof p->downgrade_model, m))
			return tg_err_say(err, errlen, "downgrade model is longer than %d characters",
			            TG_MODEL_MAX - 1);
		p->action = TG_ACT_DOWNGRADE;
	} else {
		return 1;  /* not an action */
	}
	return 0;
}

enum { SEEN_WINDOW, SEEN_USD, SEEN_TOKENS, SEEN_ACTION, SEEN_ALERT, SEEN_FALLBACK, SEEN_NAME,
       SEEN_UNPRICED, SEEN_FLEET };

static const char *const seen_name[] = {
	"window", "usd=", "tokens=", "action", "alert=", "fallback=", "name=", "unpriced=", "fleet",
};

static int parse_unpriced(struct slice v, enum tg_unpriced *out, char *err, size_t errlen)
{
	for (int u = 0; u < 3; u++) {
		if (is(v, unpriced_names[u])) {
			*out = (enum tg_unpriced)u;
			return 0;
		}
	}
	return tg_err_say(err, errlen, "unpriced=%.*s: expected unpriced=estimate, unpriced=block "
	            "or unpriced=allow", shown(v), v.p);
}

static int once(unsigned *seen, int what, char *err, size_t errlen)
{
	if (*seen & (1u << what))
		return tg_err_say(err, errlen, "%s given twice; give each field once", seen_name[what]);
	*seen |= 1u << what;
	return 0;
}

/* day@ZONE, month@ZONE: the name is checked here, the zone itself is
 * read when the policy is loaded (zones.h). */
static int parse_zone(struct slice f, enum tg_window w, struct slice z, struct tg_policy *p,
                      char *err, size_t errlen)
{
	char msg[160];

	if (w == TG_WIN_24H || w == TG_WIN_SESSION)
		return tg_err_say(err, errlen, "window \"%.*s\": a %s window does not depend on a time "
		            "zone; drop the @ZONE (only day@ZONE and month@ZONE take one)",
		            shown(f), f.p, window_names[w]);
	if (z.n == 0)
		return tg_err_say(err, errlen, "window \"%.*s\": expected a zone after '@', e.g. "
		            "%s@Europe/Berlin", shown(f), f.p, window_names[w]);
	if (z.n >= sizeof p->zone)
		return tg_err_say(err, errlen, "window \"%.*s\": the zone is longer than %d characters",
		            shown(f), f.p, TG_TZ_NAME_MAX - 1);
	copy(p->zone, sizeof p->zone, z);
	if (tg_tz_name_check(p->zone, msg, sizeof msg))
		return tg_err_say(err, errlen, "window \"%.*s\": %s", shown(f), f.p, msg);
	p->window = w;
	return 0;
}

static int parse_field(struct slice f, struct tg_policy *p, unsigned *seen, char *err, size_t errlen)
{
	struct slice v;
	int rc;

	for (int w = 0; w < 4; w++) {
		if (is(f, window_names[w])) {
			p->window = (enum tg_window)w;
			return once(seen, SEEN_WINDOW, err, errlen);
		}
		if (prefixed(f, window_names[w], &v) && v.n && v.p[0] == '@') {
			if (once(seen, SEEN_WINDOW, err, errlen))
				return -1;
			return parse_zone(f, (enum tg_window)w, (struct slice){ v.p + 1, v.n - 1 }, p,
			                  err, errlen);
		}
	}
	if (prefixed(f, "usd=", &v))
		return once(seen, SEEN_USD, err, errlen) ? -1 : parse_usd(v, &p->limit_usd, err, errlen);
	if (prefixed(f, "tokens=", &v))
		return once(seen, SEEN_TOKENS, err, errlen) ? -1 :
		       parse_tokens(v, &p->limit_tokens, err, errlen);
	if (prefixed(f, "alert=", &v))
		return once(seen, SEEN_ALERT, err, errlen) ? -1 : parse_alert(v, &p->alert_pct, err, errlen);
	if (prefixed(f, "fallback=", &v)) {
		if (once(seen, SEEN_FALLBACK, err, errlen))
			return -1;
		if (is(v, "block") || is(v, "warn")) {
			p->fallback = is(v, "warn") ? TG_ACT_WARN : TG_ACT_BLOCK;
			return 0;
		}
		return tg_err_say(err, errlen, "fallback=%.*s: expected fallback=block or fallback=warn",
		            shown(v), v.p);
	}
	if (prefixed(f, "unpriced=", &v))
		return once(seen, SEEN_UNPRICED, err, errlen) ? -1 :
		       parse_unpriced(v, &p->unpriced, err, errlen);
	if (is(f, "fleet")) {
		p->fleet = 1;
		return once(seen, SEEN_FLEET, err, errlen);
	}
	if (prefixed(f, "name=", &v)) {
		if (once(seen, SEEN_NAME, err, errlen))
			return -1;
		if (v.n >= TG_POLICY_NAME_MAX)
			return tg_err_say(err, errlen, "name \"%.*s...\" is too long; use at most %d characters",
			            20, v.p, TG_POLICY_NAME_MAX - 1);
		copy(p->name, sizeof p->name, v);
		return tg_policy_name_check(p->name, err, errlen);
	}
	if ((rc = parse_action(f, p, err, errlen)) <= 0)
		return rc ? rc : once(seen, SEEN_ACTION, err, errlen);
	return tg_err_say(err, errlen, "unknown field \"%.*s\"; expected a window (day, month, "
	            "day@ZONE, month@ZONE, 24h, session), a limit (usd=NUMBER, tokens=INTEGER), an action (block, warn, "
	            "downgrade:MODEL, clamp), alert=N, fallback=block|warn, "
	            "unpriced=estimate|block|allow, fleet or name=NAME",
	            shown(f), f.p);
}

/* What a fleet policy can count: the machines' spend is exchanged per
 * scope and window start (ledger_fleet.h), one Redis hash each (for
 * tag:KEY=*, each value's).  A 24h window starts on the hour, the same
 * hour on every machine, so each machine's spend since that start is
 * exchanged under it, a hash an hour. */
static int fleet_check(const struct tg_policy *p, char *err, size_t errlen)
{
	if (p->window == TG_WIN_SESSION)
		return tg_err_say(err, errlen, "fleet: a session window is the life of one process, "
		            "which no other machine shares; use day, month or 24h");
	return 0;
}

int tg_policy_parse(const char *spec, struct tg_policy *out, char *err, size_t errlen)
{
	const char *p = spec, *end = spec + strlen(spec);
	unsigned seen = 0;
	int first = 1;

	memset(out, 0, sizeof *out);
	out->limit_usd = -1;
	out->limit_tokens = -1;
	out->fallback = TG_ACT_BLOCK;
	out->alert_pct = TG_ALERT_PCT_DEFAULT;
	if (trim(spec, strlen(spec)).n == 0)
		return tg_err_say(err, errlen, "empty policy; expected SCOPE,WINDOW,LIMIT,ACTION, "
		            "e.g. global,day,usd=5,block");
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		struct slice f = trim(p, (size_t)((comma ? comma : end) - p));

		if (f.n == 0)
			return tg_err_say(err, errlen, "empty field%s; remove the extra ','",
			            first ? " where the scope should be" : "");
		if (first ? parse_scope(f, out, err, errlen) : parse_field(f, out, &seen, err, errlen))
			return -1;
		first = 0;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (!(seen & (1u << SEEN_WINDOW)))
		return tg_err_say(err, errlen, "no window; add day, month, day@ZONE, month@ZONE, 24h "
		            "or session");
	if (!(seen & (1u << SEEN_USD | 1u << SEEN_TOKENS)))
		return tg_err_say(err, errlen, "no limit; add usd=NUMBER and/or tokens=INTEGER");
	if (!(seen & (1u << SEEN_ACTION)))
		return tg_err_say(err, errlen, "no action; add block, warn, downgrade:MODEL or clamp");
	if ((seen & (1u << SEEN_FALLBACK)) && out->action != TG_ACT_DOWNGRADE &&
	    out->action != TG_ACT_CLAMP)
		return tg_err_say(err, errlen, "fallback= applies to downgrade and clamp only; "
		            "drop it for %s", tg_action_name(out->action));
	if ((seen & (1u << SEEN_UNPRICED)) && !(seen & (1u << SEEN_USD)))
		return tg_err_say(err, errlen, "unpriced= applies to a usd= limit only; add usd=NUMBER "
		            "or drop it");
	return out->fleet ? fleet_check(out, err, errlen) : 0;
}

int tg_policies_parse_env(const char *env, struct tg_policy *out, int max, int *n,
                          char *err, size_t errlen)
{
	const char *p = env;
	int pos = 0;
	char msg[256];

	*n = 0;
	while (p && *p) {
		size_t len = strcspn(p, ";");
		struct slice s = trim(p, len);
		char spec[TG_POLICY_LINE_MAX];

		p += len + (p[len] == ';');
		if (s.n == 0)
			continue;
		pos++;
		if (*n == max)
			goto too_many;
		if (copy(spec, sizeof spec, s)) {
			snprintf(msg, sizeof msg, "longer than %d characters", TG_POLICY_LINE_MAX - 1);
			goto bad;
		}
		if (tg_policy_parse(spec, &out[*n], msg, sizeof msg))
			goto bad;
		if (!out[*n].name[0])
			snprintf(out[*n].name, sizeof out[*n].name, "env%d", pos);
		out[*n].from_env = 1;
		for (int i = 0; i < *n; i++) {
			if (!strcmp(out[i].name, out[*n].name)) {
				snprintf(msg, sizeof msg, "name %s is used twice; give each policy "
				         "its own name", out[i].name);
				goto bad;
			}
		}
		(*n)++;
	}
	return 0;
too_many:
	*n = 0;
	return tg_err_say(err, errlen, "policy %d: more than %d policies; merge some", pos, max);
bad:
	*n = 0;
	return tg_err_say(err, errlen, "policy %d: %s", pos, msg);
}

int tg_policy_format(const struct tg_policy *p, char *buf, size_t n)
{
	size_t len = 0;
	int k;

#define PUT(...)                                                             \
	do {                                                                 \
		k = snprintf(buf + len, n - len, __VA_ARGS__);               \
		if (k < 0 || (size_t)k >= n - len)                           \
			return -1;                                           \
		len += (size_t)k;                                            \
	} while (0)

	if (!n)
		return -1;
	if (p->scope == TG_SCOPE_GLOBAL)
		PUT("global");
	else
		PUT("%s:%s", tg_scope_name(p->scope), p->scope_value);
	PUT(",%s", tg_window_name(p->window));
	if (p->zone[0])
		PUT("@%s", p->zone);
	if (p->limit_usd >= 0) {
		char num[48];

		if (tg_decimal_shortest(p->limit_usd, num, sizeof num) < 0)
			return -1;
		PUT(",usd=%s", num);
	}
	if (p->limit_tokens >= 0)
		PUT(",tokens=%lld", (long long)p->limit_tokens);
	if (p->action == TG_ACT_DOWNGRADE)
		PUT(",downgrade:%s", p->downgrade_model);
	else
		PUT(",%s", tg_action_name(p->action));
	if ((p->action == TG_ACT_DOWNGRADE || p->action == TG_ACT_CLAMP) && p->fallback == TG_ACT_WARN)
		PUT(",fallback=warn");
	if (p->alert_pct != TG_ALERT_PCT_DEFAULT)
		PUT(",alert=%d", p->alert_pct);
	if (p->unpriced != TG_UNPRICED_ESTIMATE)
		PUT(",unpriced=%s", tg_unpriced_name(p->unpriced));
	if (p->fleet)
		PUT(",fleet");
	if (p->name[0])
		PUT(",name=%s", p->name);
#undef PUT
	return (int)len;
}

int tg_window_bounds(enum tg_window w, int64_t now_us, int64_t *start_us, int64_t *reset_us)
{
	int64_t day = tg_floor_div(now_us, TG_US_PER_DAY), hour = tg_floor_div(now_us, TG_US_PER_HOUR), y;
	int m, dom;

	switch (w) {
	case TG_WIN_DAY:
		*start_us = day * TG_US_PER_DAY;
		*reset_us = *start_us + TG_US_PER_DAY;
		return 0;
	case TG_WIN_MONTH:
		tg_civil_from_days(day, &y, &m, &dom);
		*start_us = tg_days_from_civil(y, m, 1) * TG_US_PER_DAY;
		*reset_us = (m == 12 ? tg_days_from_civil(y + 1, 1, 1) : tg_days_from_civil(y, m + 1, 1)) *
		            TG_US_PER_DAY;
		return 0;
	case TG_WIN_24H:
		*start_us = (hour - 24) * TG_US_PER_HOUR;
		*reset_us = (hour + 1) * TG_US_PER_HOUR;
		return 0;
	case TG_WIN_SESSION:
		break;
	}
	return TG_EINVAL;
}

int tg_window_bounds_tz(enum tg_window w, const struct tg_tz *tz, int64_t now_us,
                        int64_t *start_us, int64_t *reset_us)
{
	int64_t s, e, t = tg_floor_div(now_us, 1000000);

	if (!tz || (w != TG_WIN_DAY && w != TG_WIN_MONTH))
		return tg_window_bounds(w, now_us, start_us, reset_us);
	if (w == TG_WIN_DAY)
		tg_tz_day(tz, t, &s, &e);
	else
		tg_tz_month(tz, t, &s, &e);
	*start_us = s * 1000000;
	*reset_us = e * 1000000;
	return 0;
}

int tg_policy_window_text(const struct tg_policy *p, char *buf, size_t n)
{
	int k = p->zone[0] ? snprintf(buf, n, "%s@%s", tg_window_name(p->window), p->zone) :
	        snprintf(buf, n, "%s", tg_window_name(p->window));

	return k < 0 || (size_t)k >= n ? -1 : k;
}

double tg_policy_used_pct(const struct tg_policy *p, double usd, int64_t tokens, int usd_applies)
{
	double pct = 0;

	if (p->limit_usd >= 0 && usd_applies)
		pct = p->limit_usd > 0 ? 100.0 * usd / p->limit_usd : 100.0;
	if (p->limit_tokens >= 0) {
		double t = p->limit_tokens > 0 ? 100.0 * (double)tokens / (double)p->limit_tokens : 100.0;

		if (t > pct)
			pct = t;
	}
	return pct;
}

static int same_ci(const char *a, const char *b)
{
	return a && b && !strcasecmp(a, b);
}

int tg_policy_matches(const struct tg_policy *p, const struct tg_call *c)
{
	switch (p->scope) {
	case TG_SCOPE_GLOBAL:
		return 1;
	case TG_SCOPE_TAG:
		if (p->per_value == TG_VALUE_EACH) {
			size_t vlen;

			return c->tags && tg_tags_value(c->tags, p->scope_value,
			                                strlen(p->scope_value) - 2, &vlen) && vlen;
		}
		return c->tags && tg_tags_contain(c->tags, p->scope_value);
	case TG_SCOPE_MODEL:
		return same_ci(c->model, p->scope_value) || same_ci(c->model_family, p->scope_value) ||
		       same_ci(c->asked_model, p->scope_value);
	case TG_SCOPE_PROVIDER:
		return same_ci(c->provider, p->scope_value);
	case TG_SCOPE_PROCESS:
		return c->process && !strcmp(c->process, p->scope_value);
	}
	return 0;
}

int tg_policy_bind(const struct tg_policy *p, const struct tg_call *c, struct tg_policy *out)
{
	size_t klen, vlen;
	const char *v;

	if (!tg_policy_matches(p, c))
		return 0;
	*out = *p;
	if (p->per_value != TG_VALUE_EACH)
		return 1;
	klen = strlen(p->scope_value) - 2;   /* "KEY=*" */
	v = tg_tags_value(c->tags, p->scope_value, klen, &vlen);
	if (klen + 1 + vlen >= sizeof out->scope_value)
		return 0;   /* cannot be: the call's tags fit in as many bytes */
	memcpy(out->scope_value + klen + 1, v, vlen);
	out->scope_value[klen + 1 + vlen] = '\0';
	out->per_value = TG_VALUE_BOUND;
	return 1;
}

const char *tg_policy_value(const struct tg_policy *p)
{
	const char *eq;

	if (p->per_value != TG_VALUE_BOUND || !(eq = strchr(p->scope_value, '=')))
		return "";
	return eq + 1;
}

int tg_policy_each_key(const struct tg_policy *p, char *buf, size_t n)
{
	size_t klen;

	if (p->scope != TG_SCOPE_TAG || p->per_value != TG_VALUE_EACH)
		return -1;
	klen = strlen(p->scope_value) - 2;
	if (klen >= n)
		return -1;
	memcpy(buf, p->scope_value, klen);
	buf[klen] = '\0';
	return (int)klen;
}

int tg_policy_scope_key(const struct tg_policy *p, char *buf, size_t n)
{
	int k;

	if (p->per_value == TG_VALUE_EACH)
		return -1;   /* no one scope: bind it to a value first */
	if (p->scope == TG_SCOPE_GLOBAL)
		k = snprintf(buf, n, "global");
	else
		k = snprintf(buf, n, "%s:%s", tg_scope_name(p->scope), p->scope_value);
	if (k < 0 || (size_t)k >= n)
		return -1;
	if (p->scope == TG_SCOPE_MODEL || p->scope == TG_SCOPE_PROVIDER)
		for (char *s = buf; *s; s++)
			*s = (char)tolower((unsigned char)*s);
	return k;
}
