/* tzif.c - see tzif.h.  The layout is RFC 8536; the footer's syntax is
 * POSIX TZ with the RFC's extension (hours of a rule's time from -167 to
 * 167). */
#include "tzif.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byteorder.h"
#include "civil.h"
#include "error.h"
#include "file_read.h"

#define DAY 86400
#define HEADER 44
/* Offsets TZif allows: -25:59:59 .. +25:59:59. */
#define OFF_MAX (26 * 3600 - 1)

int tg_tz_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n == 0 || n >= TG_TZ_NAME_MAX)
		return tg_err_say(err, errlen, "zone name must have 1 to %d characters, "
		            "e.g. Europe/Berlin", TG_TZ_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '/'))
			return tg_err_say(err, errlen, "zone \"%.*s\" has a character other than "
			            "A-Z a-z 0-9 _ + - /", (int)n, name);
	}
	/* No '.' at all, so no ".." either; no empty component, so no
	 * absolute path: nothing outside the database can be named. */
	if (name[0] == '/' || name[n - 1] == '/' || strstr(name, "//"))
		return tg_err_say(err, errlen, "zone \"%s\" is not a tz database name, "
		            "e.g. Europe/Berlin or UTC", name);
	return 0;
}

/* ---- the POSIX TZ footer ---- */

struct cur {
	const char *p, *end;
};

static int peek(const struct cur *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static int number(struct cur *c, int max, int *out)
{
	int v = 0, k = 0;

	while (peek(c) >= '0' && peek(c) <= '9') {
		v = v * 10 + (*c->p++ - '0');
		if (v > max || ++k > 3)
			return -1;
	}
	*out = v;
	return k ? 0 : -1;
}

/* A zone abbreviation: three or more letters, or <...> of [A-Za-z0-9+-]. */
static int abbrev(struct cur *c)
{
	int k = 0;

	if (peek(c) == '<') {
		c->p++;
		for (; peek(c) != '>'; c->p++, k++) {
			int ch = peek(c);

			if (ch < 0 || !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			                (ch >= '0' && ch <= '9') || ch == '+' || ch == '-'))
				return -1;
		}
		c->p++;
	} else {
		for (; (peek(c) >= 'A' && peek(c) <= 'Z') || (peek(c) >= 'a' && peek(c) <= 'z');
		     c->p++)
			k++;
	}
	return k >= 3 ? 0 : -1;
}

/* [+-]hh[:mm[:ss]] with hours up to max_h; seconds, sign applied. */
static int hms(struct cur *c, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (peek(c) == '+' || peek(c) == '-')
		sign = *c->p++ == '-' ? -1 : 1;
	if (number(c, max_h, &h))
		return -1;
	if (peek(c) == ':') {
		c->p++;
		if (number(c, 59, &m))
			return -1;
		if (peek(c) == ':') {
			c->p++;
			if (number(c, 59, &s))
				return -1;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
}

static int rule_date(struct cur *c, struct tg_tz_date *d)
{
	memset(d, 0, sizeof *d);
	d->time = 2 * 3600;   /* POSIX: 02:00 when no time is given */
	if (peek(c) == 'J') {
		c->p++;
		d->kind = 'J';
		if (number(c, 365, &d->n) || d->n < 1)
			return -1;
	} else if (peek(c) == 'M') {
		c->p++;
		d->kind = 'M';
		if (number(c, 12, &d->m) || d->m < 1 || peek(c) != '.')
			return -1;
		c->p++;
		if (number(c, 5, &d->w) || d->w < 1 || peek(c) != '.')
			return -1;
		c->p++;
		if (number(c, 6, &d->d))
			return -1;
	} else {
		d->kind = 'n';
		if (number(c, 365, &d->n))
			return -1;
	}
	if (peek(c) == '/') {
		c->p++;
		if (hms(c, 167, &d->time))
			return -1;
	}
	return 0;
}

int tg_tz_rule_parse(const char *s, size_t n, struct tg_tz_rule *out)
{
	struct cur c = { s, s + n };
	int32_t off;

	memset(out, 0, sizeof *out);
	if (abbrev(&c) || hms(&c, 24, &off))
		return -1;
	out->std_off = -off;   /* POSIX counts west of Greenwich */
	if (peek(&c) < 0)
		return 0;
	if (abbrev(&c))
		return -1;
	out->has_dst = 1;
	out->dst_off = out->std_off + 3600;
	if (peek(&c) >= 0 && peek(&c) != ',') {
		if (hms(&c, 24, &off))
			return -1;
		out->dst_off = -off;
	}
	if (peek(&c) < 0) {
		/* No dates: POSIX leaves them to the implementation; glibc's are
		 * the US rules, so use those too. */
		out->start = (struct tg_tz_date){ 'M', 0, 3, 2, 0, 7200 };
		out->end = (struct tg_tz_date){ 'M', 0, 11, 1, 0, 7200 };
		return 0;
	}
	if (peek(&c) != ',')
		return -1;
	c.p++;
	if (rule_date(&c, &out->start) || peek(&c) != ',')
		return -1;
	c.p++;
	if (rule_date(&c, &out->end) || peek(&c) >= 0)
		return -1;
	return 0;
}

/* ---- the file ---- */

int tg_tz_parse(const unsigned char *buf, size_t n, struct tg_tz *out, char *err, size_t errlen)
{
	uint64_t isut, isstd, leap, timecnt, typecnt, charcnt, v1, v2;
	const unsigned char *h, *p, *idx, *types, *foot, *nl;
	int32_t off[TG_TZ_TYPES_MAX];

	if (n < HEADER || memcmp(buf, "TZif", 4))
		return tg_err_say(err, errlen, "not a TZif file");
	if (buf[4] < '2')
		return tg_err_say(err, errlen, "a TZif version 1 file, which has no 64-bit data; "
		            "expected version 2 or later");
	h = buf + 20;
	isut = tg_get_be32(h), isstd = tg_get_be32(h + 4), leap = tg_get_be32(h + 8);
	timecnt = tg_get_be32(h + 12), typecnt = tg_get_be32(h + 16), charcnt = tg_get_be32(h + 20);
	v1 = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
	if (v1 > n - HEADER || n - HEADER - v1 < HEADER)
		return tg_err_say(err, errlen, "TZif header counts larger than the file");
	h = buf + HEADER + v1;
	if (memcmp(h, "TZif", 4) || h[4] < '2')
		return tg_err_say(err, errlen, "TZif second header missing");
	h += 20;
	isut = tg_get_be32(h), isstd = tg_get_be32(h + 4), leap = tg_get_be32(h + 8);
	timecnt = tg_get_be32(h + 12), typecnt = tg_get_be32(h + 16), charcnt = tg_get_be32(h + 20);
	if (typecnt == 0 || typecnt > TG_TZ_TYPES_MAX || charcnt == 0 ||
	    (isut && isut != typecnt) || (isstd && isstd != typecnt))
		return tg_err_say(err, errlen, "TZif counts out of range");
	if (leap)
		return tg_err_say(err, errlen, "a zone with leap seconds (a right/ zone); use the "
		            "zone's plain name");
	if (timecnt > TG_TZ_TRANS_MAX)
		return tg_err_say(err, errlen, "more than %d transitions; refused", TG_TZ_TRANS_MAX);
	v2 = timecnt * 9 + typecnt * 6 + charcnt + isstd + isut;
	p = h + 24;
	if (v2 > (uint64_t)(buf + n - p))
		return tg_err_say(err, errlen, "TZif data counts larger than the file");
	idx = p + timecnt * 8;
	types = idx + timecnt;
	for (uint64_t i = 0; i < typecnt; i++) {
		const unsigned char *t = types + i * 6;
		int32_t o = (int32_t)tg_get_be32(t);

		if (o < -OFF_MAX || o > OFF_MAX || t[4] > 1 || t[5] >= charcnt)
			return tg_err_say(err, errlen, "TZif time type %d out of range", (int)i);
		off[i] = o;
	}
	out->ntrans = (int)timecnt;
	for (uint64_t i = 0; i < timecnt; i++) {
		out->trans[i] = (int64_t)tg_get_be64(p + i * 8);
		if (idx[i] >= typecnt || (i && out->trans[i] <= out->trans[i - 1]))
			return tg_err_say(err, errlen, "TZif transitions out of order or of an unknown type");
		out->trans_off[i] = off[idx[i]];
	}
	out->first_off = off[0];
	foot = p + v2;
	out->has_rule = 0;
	if (foot >= buf + n || *foot != '\n' || !(nl = memchr(foot + 1, '\n', (size_t)(buf + n - foot - 1))))
		return tg_err_say(err, errlen, "TZif footer missing");
	if (nl > foot + 1) {
		if (tg_tz_rule_parse((const char *)foot + 1, (size_t)(nl - foot - 1), &out->rule))
			return tg_err_say(err, errlen, "TZif footer \"%.*s\" is not a TZ rule this reader "
			            "knows", (int)(nl - foot - 1 > 60 ? 60 : nl - foot - 1), foot + 1);
		out->has_rule = 1;
	}
	return 0;
}

int tg_tz_load(const char *dir, const char *name, struct tg_tz *out, struct tg_tz_scratch *s,
               char *err, size_t errlen)
{
	char *path = s->path, *real = s->real, *realdir = s->realdir;
	unsigned char *buf = s->file;
	struct stat st;
	size_t got, dlen;
	ssize_t n;
	int fd, e;

	if (tg_tz_name_check(name, err, errlen))
		return -1;
	if (snprintf(path, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return tg_err_say(err, errlen, "zone %s: path too long", name);
	/* The database links aliases (UTC -> Etc/UTC): follow a link only to
	 * a file inside the database. */
	if (!realpath(dir, realdir))
		return tg_err_say(err, errlen, "%s: %s", dir, strerror(errno));
	if (!realpath(path, real)) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return tg_err_say(err, errlen, "unknown zone %s (no %s); use a tz database name "
			            "such as Europe/Berlin or UTC", name, path);
		return tg_err_say(err, errlen, "zone %s: %s", name, strerror(e));
	}
	dlen = strlen(realdir);
	if (strncmp(real, realdir, dlen) || real[dlen] != '/')
		return tg_err_say(err, errlen, "zone %s: %s leads outside %s; refused", name, path, dir);
	fd = tg_file_open_checked(real, 1, &st);
	if (fd < 0)
		return tg_err_say(err, errlen, "zone %s: %s", name, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size > TG_TZ_FILE_MAX) {
		close(fd);
		return tg_err_say(err, errlen, "zone %s: %s is not a root-owned regular file of at most "
		            "%d bytes that only root can write; refused", name, real, TG_TZ_FILE_MAX);
	}
	if ((n = tg_file_read_upto(fd, buf, TG_TZ_FILE_MAX + 1)) < 0) {
		e = errno;
		close(fd);
		return tg_err_say(err, errlen, "zone %s: %s", name, strerror(e));
	}
	got = (size_t)n;
	close(fd);
	if (got > TG_TZ_FILE_MAX)
		return tg_err_say(err, errlen, "zone %s: grew past %d bytes while read; refused", name,
		            TG_TZ_FILE_MAX);
	if (tg_tz_parse(buf, got, out, err, errlen)) {
		char why[160];

		snprintf(why, sizeof why, "%s", err && errlen ? err : "");
		return tg_err_say(err, errlen, "zone %s: %s", name, why);
	}
	snprintf(out->name, sizeof out->name, "%s", name);
	return 0;
}

/* ---- questions ---- */

/* The day (since the epoch) a rule date falls on in year y. */
static int64_t date_day(const struct tg_tz_date *d, int64_t y)
{
	int64_t jan1 = tg_days_from_civil(y, 1, 1), first, day;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0, mdays;

	if (d->kind == 'J')
		return jan1 + d->n - 1 + (leap && d->n >= 60);
	if (d->kind == 'n')
		return jan1 + d->n;
	first = tg_days_from_civil(y, d->m, 1);
	mdays = (int)((d->m == 12 ? tg_days_from_civil(y + 1, 1, 1) :
	              tg_days_from_civil(y, d->m + 1, 1)) - first);
	/* 1970-01-01 was a Thursday (4); Sunday is 0. */
	day = first + (d->d - (first + 4 - tg_floor_div(first + 4, 7) * 7) + 7) % 7;
	day += 7 * (d->w - 1);
	while (day >= first + mdays)
		day -= 7;
	return day;
}

/* The instants DST starts and ends in year y. */
static void rule_year(const struct tg_tz_rule *r, int64_t y, int64_t *start, int64_t *end)
{
	*start = date_day(&r->start, y) * DAY + r->start.time - r->std_off;
	*end = date_day(&r->end, y) * DAY + r->end.time - r->dst_off;
}

static int64_t year_of(int64_t t)
{
	int64_t y;
	int m, d;

	tg_civil_from_days(tg_floor_div(t, DAY), &y, &m, &d);
	return y;
}

static int32_t rule_offset(const struct tg_tz_rule *r, int64_t t)
{
	int64_t y, s, e;

	if (!r->has_dst)
		return r->std_off;
	y = year_of(t + r->std_off);
	rule_year(r, y, &s, &e);
	if (s < e)
		return t >= s && t < e ? r->dst_off : r->std_off;
	return t >= e && t < s ? r->std_off : r->dst_off;   /* southern: DST spans the new year */
}

/* The index of the last transition at or before t, or -1. */
static int last_at(const struct tg_tz *z, int64_t t)
{
	return (int)tg_times_at_or_before(z->trans, (size_t)z->ntrans, t) - 1;
}

int32_t tg_tz_offset(const struct tg_tz *z, int64_t t)
{
	int i = last_at(z, t);

	/* No transition at all: the footer, when there is one, is the zone. */
	if (i < 0 && !(z->ntrans == 0 && z->has_rule))
		return z->first_off;
	if (i == z->ntrans - 1 && z->has_rule)
		return rule_offset(&z->rule, t);
	return z->trans_off[i];
}

/* The first change of offset after t, or INT64_MAX when none is known. */
static int64_t next_change(const struct tg_tz *z, int64_t t)
{
	int i = last_at(z, t);
	int64_t best = INT64_MAX, y, s, e;

	if (i + 1 < z->ntrans)
		return z->trans[i + 1];
	if (!z->has_rule || !z->rule.has_dst)
		return best;
	y = year_of(t);
	for (int64_t k = y - 1; k <= y + 1; k++) {
		rule_year(&z->rule, k, &s, &e);
		if (s > t && s < best)
			best = s;
		if (e > t && e < best)
			best = e;
	}
	return best;
}

int64_t tg_tz_first_at(const struct tg_tz *z, int64_t local)
{
	/* Local time is u + offset(u), one straight piece between changes:
	 * walk the pieces from well before local and take the first instant
	 * of the first piece that reaches it. */
	int64_t u = local - 2 * DAY;

	for (int guard = 0; guard < 64; guard++) {
		int32_t o = tg_tz_offset(z, u);
		int64_t next = next_change(z, u), c = local - o;

		if (c < u)
			c = u;
		if (c < next)
			return c;
		u = next;
	}
	return local - tg_tz_offset(z, local);   /* not reached with real zones */
}

static void bounds(const struct tg_tz *z, int64_t t, int month, int64_t *start, int64_t *end)
{
	int64_t local = t + tg_tz_offset(z, t), day = tg_floor_div(local, DAY), y, s, e;
	int m, d;

	/* The window is [first(D), first(next D)); a fall-back across
	 * midnight can make the local date of t disagree with that, so step
	 * until t is inside. */
	for (int guard = 0; guard < 4; guard++) {
		int64_t from, to;

		tg_civil_from_days(day, &y, &m, &d);
		from = month ? tg_days_from_civil(y, m, 1) : day;
		to = month ? (m == 12 ? tg_days_from_civil(y + 1, 1, 1) : tg_days_from_civil(y, m + 1, 1)) :
		     day + 1;
		s = tg_tz_first_at(z, from * DAY);
		e = tg_tz_first_at(z, to * DAY);
		if (t < s)
			day = from - 1;
		else if (t >= e)
			day = to;
		else
			break;
	}
	*start = s;
	*end = e;
}

void tg_tz_day(const struct tg_tz *z, int64_t t, int64_t *start, int64_t *end)
{
	bounds(z, t, 0, start, end);
}

void tg_tz_month(const struct tg_tz *z, int64_t t, int64_t *start, int64_t *end)
{
	bounds(z, t, 1, start, end);
}
