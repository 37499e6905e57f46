/* when.c - date arithmetic for the report (see when.h).  The civil
 * calendar conversions are the usual era-based ones (proleptic Gregorian),
 * done by hand; the zone's offsets come from zone.c alone. */
#include <ctype.h>
#include <string.h>

#include "civil.h"
#include "when.h"
#include "zone.h"

static int days_in_month(int64_t y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

/* Reads exactly n digits. */
static int digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return -1;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

static int parse_duration(const char *s, int64_t now_us, int64_t *out)
{
	int64_t n = 0, unit;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > INT64_C(1) << 40)
			return -1;
		n = n * 10 + (*p - '0');
	}
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (p[1] || n > INT64_MAX / TG_US_PER_SEC / unit)
		return -1;
	*out = now_us - n * unit * TG_US_PER_SEC;
	return 0;
}

/* Floor division, so times before 1970 still land on the right day. */
/* "today" and "yesterday": the local midnight starting that day, or the
 * next one when end_of_day is set. */
static int parse_day_word(const char *s, int64_t now_us, int end_of_day, int64_t *out)
{
	int64_t today, day;

	if (strcmp(s, "today") && strcmp(s, "yesterday"))
		return -1;
	today = tg_floor_div(now_us / TG_US_PER_SEC + tg_zone_offset(now_us), 86400);
	day = today - (s[0] == 'y') + (end_of_day != 0);
	*out = tg_zone_utc_of_local(day * 86400) * TG_US_PER_SEC;
	return 0;
}

/* The zone of a time: none (*local set: the report's zone), Z or an offset. */
static int parse_zone(const char *p, int64_t *offset_s, int *local)
{
	int sign, hh, mm = 0;

	*offset_s = 0;
	*local = !*p;
	if (!*p)
		return 0;
	if ((*p == 'Z' || *p == 'z') && !p[1])
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, &hh) || hh > 23)
		return -1;
	if (*p == ':')
		p++;
	if (*p && (digits(&p, 2, &mm) || mm > 59))
		return -1;
	if (*p)
		return -1;
	*offset_s = sign * (hh * 3600 + mm * 60);
	return 0;
}

int tg_when_parse(const char *s, int64_t now_us, int end_of_day, int64_t *out_us)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, local, compact;
	int64_t frac_us = 0, offset_s, t;

	if (!s || !*s)
		return -1;
	if (parse_duration(s, now_us, out_us) == 0 ||
	    parse_day_word(s, now_us, end_of_day, out_us) == 0)
		return 0;
	compact = strlen(s) == 8;   /* YYYYMMDD */
	if (digits(&p, 4, &y) || (!compact && *p++ != '-') || digits(&p, 2, &mo) ||
	    (!compact && *p++ != '-') || digits(&p, 2, &d) || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo))
		return -1;
	t = tg_days_from_civil(y, mo, d) * 86400;
	if (!*p) {
		*out_us = tg_zone_utc_of_local(t + (end_of_day ? 86400 : 0)) * TG_US_PER_SEC;
		return 0;
	}
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || h > 23 || mi > 59)
		return -1;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec) || sec > 60)
			return -1;
		if (*p == '.' || *p == ',') {
			int64_t scale = 100000;

			if (!isdigit((unsigned char)*++p))
				return -1;
			for (; isdigit((unsigned char)*p); p++, scale /= 10)
				frac_us += (*p - '0') * scale;
		}
	}
	if (parse_zone(p, &offset_s, &local))
		return -1;
	t += h * 3600 + mi * 60 + sec;
	*out_us = (local ? tg_zone_utc_of_local(t) : t - offset_s) * TG_US_PER_SEC + frac_us;
	return 0;
}

int64_t tg_when_day_start(int64_t us)
{
	return tg_floor_div(us, TG_US_PER_DAY) * TG_US_PER_DAY;
}

/* Writes v as exactly width digits (timestamps are years 0000-9999). */
static char *put_digits(char *p, int64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + (v < 0 ? -v : v) % 10);
	return p + width;
}

static char *put_date(char *p, int64_t days)
{
	int64_t y;
	int m, d;

	tg_civil_from_days(days, &y, &m, &d);
	p = put_digits(p, y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	return put_digits(p, d, 2);
}

/* The date of us into m, when m does not already hold it. */
static void memo_date(struct tg_when_memo *m, int64_t us)
{
	int64_t days = tg_floor_div(us, TG_US_PER_DAY);

	if (days != m->day) {
		put_date(m->date, days);
		m->day = days;
	}
}

int tg_when_iso_memo(struct tg_when_memo *m, int64_t us, char buf[TG_WHEN_ISO_MAX])
{
	int64_t days = tg_floor_div(us, TG_US_PER_DAY), rem = us - days * TG_US_PER_DAY;
	int64_t secs = rem / TG_US_PER_SEC;
	char *p = buf;

	memo_date(m, us);
	memcpy(p, m->date, sizeof m->date);
	p += sizeof m->date;
	*p++ = 'T';
	p = put_digits(p, secs / 3600, 2);
	*p++ = ':';
	p = put_digits(p, secs / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, secs % 60, 2);
	*p++ = '.';
	p = put_digits(p, rem % TG_US_PER_SEC / 1000, 3);
	*p++ = 'Z';
	*p = '\0';
	return (int)(p - buf);
}

void tg_when_iso(int64_t us, char buf[TG_WHEN_ISO_MAX])
{
	struct tg_when_memo m = TG_WHEN_MEMO_INIT;

	tg_when_iso_memo(&m, us, buf);
}

void tg_when_day_memo(struct tg_when_memo *m, int64_t us, char buf[11])
{
	memo_date(m, us);
	memcpy(buf, m->date, 10);
	buf[10] = '\0';
}

void tg_when_month_memo(struct tg_when_memo *m, int64_t us, char buf[8])
{
	memo_date(m, us);
	memcpy(buf, m->date, 7);
	buf[7] = '\0';
}

void tg_when_day(int64_t us, char buf[11])
{
	struct tg_when_memo m = TG_WHEN_MEMO_INIT;

	tg_when_day_memo(&m, us, buf);
}

void tg_when_month(int64_t us, char buf[8])
{
	struct tg_when_memo m = TG_WHEN_MEMO_INIT;

	tg_when_month_memo(&m, us, buf);
}

int64_t tg_when_local(int64_t us)
{
	return us + tg_zone_offset(us) * TG_US_PER_SEC;
}

void tg_when_week(int64_t us, char buf[9])
{
	int64_t days = tg_floor_div(us, TG_US_PER_DAY), thursday, y;
	int m, d;

	/* ISO 8601: Monday starts the week, which belongs to the year of its
	 * Thursday.  1970-01-01 was a Thursday. */
	thursday = days - tg_floor_mod(days + 3, 7) + 3;
	tg_civil_from_days(thursday, &y, &m, &d);
	put_digits(buf, y, 4);
	memcpy(buf + 4, "-W", 2);
	put_digits(buf + 6, (thursday - tg_days_from_civil(y, 1, 1)) / 7 + 1, 2);
	buf[8] = '\0';
}

void tg_when_hour(int64_t us, char buf[3])
{
	put_digits(buf, tg_floor_mod(tg_floor_div(us, 3600 * TG_US_PER_SEC), 24), 2);
	buf[2] = '\0';
}

int tg_when_local_iso(int64_t us, char buf[TG_WHEN_ISO_MAX])
{
	int64_t off = tg_zone_offset(us), local = us + off * TG_US_PER_SEC;
	int64_t days = tg_floor_div(local, TG_US_PER_DAY), secs = (local - days * TG_US_PER_DAY) / TG_US_PER_SEC;
	char *p = put_date(buf, days);

	*p++ = 'T';
	p = put_digits(p, secs / 3600, 2);
	*p++ = ':';
	p = put_digits(p, secs / 60 % 60, 2);
	*p++ = off < 0 ? '-' : '+';
	off = off < 0 ? -off : off;
	p = put_digits(p, off / 3600, 2);
	*p++ = ':';
	p = put_digits(p, off / 60 % 60, 2);
	*p = '\0';
	return (int)(p - buf);
}

int tg_when_local_seconds(int64_t us, char buf[TG_WHEN_LOCAL_MAX])
{
	int64_t local = tg_when_local(us);
	int64_t days = tg_floor_div(local, TG_US_PER_DAY), secs = (local - days * TG_US_PER_DAY) / TG_US_PER_SEC;
	char *p = put_date(buf, days);

	*p++ = ' ';
	p = put_digits(p, secs / 3600, 2);
	*p++ = ':';
	p = put_digits(p, secs / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, secs % 60, 2);
	*p = '\0';
	return (int)(p - buf);
}
