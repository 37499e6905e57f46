/* test_tzif.c - the TZif reader (tzif.h) against glibc as the oracle, its
 * refusal of bad and unsafe files, local days and months across DST, and
 * the zone cache (zones.h).
 *
 * glibc reads the zone named by TZ; each test runs in its own process
 * (criterion forks), so setting TZ here touches no other test. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "fixture.h"
#include "tzif.h"
#include "zones.h"

#define DAY 86400
#define Y2100 INT64_C(4133980800)   /* 2101-01-01T00:00:00Z */

static const char *const zones_oracle[] = {
	"UTC", "Europe/Berlin", "Europe/London", "Europe/Dublin", "Europe/Moscow",
	"Europe/Lisbon", "Europe/Istanbul", "America/Los_Angeles", "America/New_York",
	"America/Chicago", "America/Denver", "America/Phoenix", "America/St_Johns",
	"America/Sao_Paulo", "America/Santiago", "America/Havana", "America/Asuncion",
	"America/Godthab", "America/Caracas", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Tehran",
	"Asia/Tokyo", "Asia/Shanghai", "Asia/Gaza", "Asia/Jerusalem", "Asia/Dhaka",
	"Australia/Lord_Howe", "Australia/Sydney", "Australia/Adelaide", "Australia/Eucla",
	"Pacific/Chatham", "Pacific/Auckland", "Pacific/Apia", "Pacific/Kiritimati",
	"Africa/Casablanca", "Africa/Cairo", "Atlantic/Azores", "Antarctica/Troll", "Etc/GMT+5",
	"CET", "EST5EDT",
};
#define NZONES (sizeof zones_oracle / sizeof zones_oracle[0])

static struct tg_tz_scratch scratch;
static struct tg_tz zone;

static void load(const char *name)
{
	char err[256];

	cr_assert_eq(tg_tz_load(TG_TZ_DIR, name, &zone, &scratch, err, sizeof err), 0,
	             "%s: %s", name, err);
}

static void oracle(const char *name)
{
	char tz[80];

	snprintf(tz, sizeof tz, ":%s", name);
	setenv("TZ", tz, 1);
	tzset();
}

static long glibc_off(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	cr_assert(localtime_r(&tt, tm));
	return tm->tm_gmtoff;
}

static int64_t local_day(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	localtime_r(&tt, &tm);
	return (int64_t)(tm.tm_year + 1900) * 400 + tm.tm_yday;   /* orders days, not a count */
}

Test(tzif, offsets_agree_with_glibc_1970_to_2100)
{
	long checked = 0;

	for (size_t i = 0; i < NZONES; i++) {
		load(zones_oracle[i]);
		oracle(zones_oracle[i]);
		/* Steps of a little over 6 days land on every hour and weekday. */
		for (int64_t t = 0; t < Y2100; t += 6 * DAY + 3607) {
			struct tm tm;
			long want = glibc_off(t, &tm);

			cr_assert_eq(tg_tz_offset(&zone, t), want, "%s at %lld: %d, glibc %ld",
			             zones_oracle[i], (long long)t, tg_tz_offset(&zone, t), want);
			checked++;
		}
		/* Both sides of every transition the table holds. */
		for (int k = 0; k < zone.ntrans; k++) {
			struct tm tm;

			for (int64_t d = -1; d <= 0; d++) {
				int64_t t = zone.trans[k] + d;

				if (t < INT32_MIN)
					continue;
				cr_assert_eq(tg_tz_offset(&zone, t), glibc_off(t, &tm), "%s at %lld",
				             zones_oracle[i], (long long)t);
			}
		}
	}
	cr_assert_gt(checked, 30 * 7000);
}

Test(tzif, footer_rule_beyond_the_table)
{
	/* Instants past 2037 (the end of a fat file's table) and past the
	 * last transition of a slim one come from the footer. */
	load("Europe/Berlin");
	cr_assert(zone.has_rule);
	cr_assert_eq(zone.rule.std_off, 3600);
	cr_assert_eq(zone.rule.dst_off, 7200);
	cr_assert_eq(zone.rule.start.kind, 'M');
	cr_assert_eq(zone.rule.end.time, 3 * 3600);
	/* 2099-03-29 is the last Sunday of March: 01:00Z is the change. */
	cr_assert_eq(tg_tz_offset(&zone, INT64_C(4078429200) - 1), 3600);
	cr_assert_eq(tg_tz_offset(&zone, INT64_C(4078429200)), 7200);
}

Test(tzif, rule_strings)
{
	struct tg_tz_rule r;
	const char *s;

	s = "<+0530>-5:30";
	cr_assert_eq(tg_tz_rule_parse(s, strlen(s), &r), 0);
	cr_assert_eq(r.std_off, 5 * 3600 + 1800);
	cr_assert_not(r.has_dst);
	s = "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45";
	cr_assert_eq(tg_tz_rule_parse(s, strlen(s), &r), 0);
	cr_assert_eq(r.dst_off, 13 * 3600 + 45 * 60);
	cr_assert_eq(r.start.time, 2 * 3600 + 45 * 60);
	s = "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0";   /* Lord Howe: a 30-minute DST */
	cr_assert_eq(tg_tz_rule_parse(s, strlen(s), &r), 0);
	cr_assert_eq(r.dst_off - r.std_off, 1800);
	s = "<-02>2<-01>,M3.5.0/-1,M10.5.0/0";          /* a negative time */
	cr_assert_eq(tg_tz_rule_parse(s, strlen(s), &r), 0);
	cr_assert_eq(r.start.time, -3600);
	s = "EST5EDT,J60/25,300/1:30:15";
	cr_assert_eq(tg_tz_rule_parse(s, strlen(s), &r), 0);
	cr_assert_eq(r.start.kind, 'J');
	cr_assert_eq(r.start.time, 25 * 3600);
	cr_assert_eq(r.end.kind, 'n');
	cr_assert_eq(r.end.n, 300);
	cr_assert_eq(r.end.time, 3600 + 1800 + 15);
	const char *bad[] = { "", "CE-1", "CET", "CET-1CEST,M3.5", "CET-1CEST,M13.5.0,M10.5.0",
	                      "CET-1CEST,M3.5.0", "CET-1CEST,M3.5.0,M10.5.0/200", "<+05-5",
	                      "CET-1CEST,J0,J100", "CET-1CEST,M3.6.0,M10.5.0", "CET-1 x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_neq(tg_tz_rule_parse(bad[i], strlen(bad[i]), &r), 0, "%s", bad[i]);
}

/* Every local day of 2024-2027 (and a few far ones) in zones with DST
 * changes at odd times: the window starts at the day's first instant and
 * ends at the next day's, as glibc tells the local dates. */
Test(tzif, local_days_match_glibc)
{
	static const char *const z[] = {
		"Europe/Berlin", "America/Los_Angeles", "America/Santiago", "America/Havana",
		"Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham",
		"America/St_Johns", "Africa/Casablanca", "Asia/Tehran", "America/Asuncion", "UTC",
	};

	for (size_t i = 0; i < sizeof z / sizeof z[0]; i++) {
		load(z[i]);
		oracle(z[i]);
		for (int64_t t = INT64_C(1704067200); t < INT64_C(1830297600); t += 7 * 3600 + 61) {
			int64_t s, e;

			tg_tz_day(&zone, t, &s, &e);
			cr_assert(s <= t && t < e, "%s %lld: [%lld, %lld)", z[i], (long long)t,
			          (long long)s, (long long)e);
			cr_assert_eq(local_day(s), local_day(t), "%s %lld", z[i], (long long)t);
			cr_assert_neq(local_day(s - 1), local_day(t), "%s %lld", z[i], (long long)t);
			cr_assert_eq(local_day(e - 1), local_day(t), "%s %lld", z[i], (long long)t);
			cr_assert_neq(local_day(e), local_day(t), "%s %lld", z[i], (long long)t);
			cr_assert(e - s >= 22 * 3600 && e - s <= 26 * 3600);
		}
	}
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
	                 .tm_min = mi };

	return (int64_t)timegm(&tm);
}

Test(tzif, dst_days_are_23_and_25_hours)
{
	int64_t s, e;

	load("Europe/Berlin");
	tg_tz_day(&zone, utc(2026, 3, 29, 12, 0), &s, &e);
	cr_assert_eq(s, utc(2026, 3, 28, 23, 0));
	cr_assert_eq(e, utc(2026, 3, 29, 22, 0));     /* 23 hours */
	tg_tz_day(&zone, utc(2026, 10, 25, 12, 0), &s, &e);
	cr_assert_eq(s, utc(2026, 10, 24, 22, 0));
	cr_assert_eq(e, utc(2026, 10, 25, 23, 0));    /* 25 hours */
	tg_tz_month(&zone, utc(2026, 3, 31, 22, 30), &s, &e);   /* April 1st, 00:30 local */
	cr_assert_eq(s, utc(2026, 3, 31, 22, 0));
	cr_assert_eq(e, utc(2026, 4, 30, 22, 0));

	load("America/Los_Angeles");
	tg_tz_day(&zone, utc(2026, 3, 8, 20, 0), &s, &e);
	cr_assert_eq(s, utc(2026, 3, 8, 8, 0));
	cr_assert_eq(e, utc(2026, 3, 9, 7, 0));

	/* Chile springs forward at midnight: 2026-09-06 begins at 01:00 local. */
	load("America/Santiago");
	tg_tz_day(&zone, utc(2026, 9, 6, 15, 0), &s, &e);
	cr_assert_eq(s, utc(2026, 9, 6, 4, 0));
	cr_assert_eq(e, utc(2026, 9, 7, 3, 0));

	load("Australia/Lord_Howe");      /* +10:30, +11 in summer */
	tg_tz_day(&zone, utc(2026, 10, 4, 6, 0), &s, &e);
	cr_assert_eq(s, utc(2026, 10, 3, 13, 30));
	cr_assert_eq(e, utc(2026, 10, 4, 13, 0));     /* 23.5 hours */

	load("Asia/Kolkata");
	tg_tz_day(&zone, utc(2026, 11, 26, 17, 0), &s, &e);
	cr_assert_eq(s, utc(2026, 11, 25, 18, 30));
	cr_assert_eq(e, utc(2026, 11, 26, 18, 30));
	tg_tz_month(&zone, utc(2026, 11, 30, 18, 30), &s, &e);   /* December 1st, 00:00 local */
	cr_assert_eq(s, utc(2026, 11, 30, 18, 30));
	cr_assert_eq(e, utc(2026, 12, 31, 18, 30));

	load("Asia/Kathmandu");
	tg_tz_day(&zone, utc(2026, 11, 26, 17, 0), &s, &e);
	cr_assert_eq(s, utc(2026, 11, 25, 18, 15));
}

Test(tzif, names)
{
	const char *good[] = { "UTC", "Europe/Berlin", "Etc/GMT+5", "America/Port-au-Prince",
	                       "America/Argentina/Buenos_Aires" };
	const char *bad[] = { "", "/etc/passwd", "../etc/passwd", "Europe/../../etc", "Europe//Berlin",
	                      "Europe/", "Europe/Berlin ", "Europe/Berlin\n", ".", "a.b",
	                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
	char err[256];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		cr_assert_eq(tg_tz_name_check(good[i], err, sizeof err), 0, "%s: %s", good[i], err);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_neq(tg_tz_name_check(bad[i], err, sizeof err), 0, "%s", bad[i]);
	cr_assert_neq(tg_tz_load(TG_TZ_DIR, "No/Such_Zone", &zone, &scratch, err, sizeof err), 0);
	cr_assert(strstr(err, "unknown zone No/Such_Zone"), "%s", err);
}

/* ---- malformed and unsafe files ---- */

static size_t read_file(const char *path, unsigned char *out, size_t n)
{
	FILE *f = fopen(path, "rb");
	size_t k;

	cr_assert(f, "%s", path);
	k = fread(out, 1, n, f);
	fclose(f);
	return k;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Where the second header begins: after the version 1 data block. */
static size_t second_header(const unsigned char *b)
{
	uint64_t isut = get32(b + 20), isstd = get32(b + 24), leap = get32(b + 28),
	         timecnt = get32(b + 32), typecnt = get32(b + 36), charcnt = get32(b + 40);

	return 44 + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
}

static int parses(const unsigned char *b, size_t n, char *err, size_t errlen)
{
	return tg_tz_parse(b, n, &zone, err, errlen);
}

Test(tzif, malformed_files_are_refused)
{
	static unsigned char good[TG_TZ_FILE_MAX], b[TG_TZ_FILE_MAX];
	size_t n = read_file(TG_TZ_DIR "/Europe/Berlin", good, sizeof good), v1;
	char err[256];

	cr_assert_eq(parses(good, n, err, sizeof err), 0, "%s", err);
	/* Every truncation is refused, never read past. */
	for (size_t k = 0; k < n; k++) {
		memcpy(b, good, k);
		cr_assert_neq(parses(b, k, err, sizeof err), 0, "truncated to %zu", k);
	}
	v1 = second_header(good);
	/* Counts: each of the second header's six, made huge, then off by one. */
	for (int c = 0; c < 6; c++) {
		uint32_t was;

		memcpy(b, good, n);
		was = get32(b + v1 + 20 + 4 * c);
		put32(b + v1 + 20 + 4 * c, 0xffffffffu);
		cr_assert_neq(parses(b, n, err, sizeof err), 0, "count %d huge", c);
		put32(b + v1 + 20 + 4 * c, was + 1);
		cr_assert_neq(parses(b, n, err, sizeof err), 0, "count %d plus one", c);
	}
	/* The first header's counts decide where the second header is. */
	memcpy(b, good, n);
	put32(b + 32, 0x7fffffffu);
	cr_assert_neq(parses(b, n, err, sizeof err), 0);
	/* Version 1, a bad magic, a transition of an unknown type, no footer. */
	memcpy(b, good, n);
	b[4] = 0;
	cr_assert_neq(parses(b, n, err, sizeof err), 0);
	cr_assert(strstr(err, "version 1"), "%s", err);
	memcpy(b, good, n);
	b[0] = 'X';
	cr_assert_neq(parses(b, n, err, sizeof err), 0);
	memcpy(b, good, n);
	{
		uint32_t timecnt = get32(b + v1 + 32);

		b[v1 + 44 + timecnt * 8] = 200;   /* the first transition's type */
		cr_assert_neq(parses(b, n, err, sizeof err), 0);
	}
	memcpy(b, good, n);
	cr_assert_neq(parses(b, n - 1, err, sizeof err), 0);   /* footer's newline gone */
	memcpy(b, good, n);
	memcpy(b + n - 27, "CET-1CEST,M3.5.0,M10.5.9/3", 26);
	cr_assert_neq(parses(b, n, err, sizeof err), 0);
	cr_assert(strstr(err, "footer"), "%s", err);
}

Test(tzif, more_transitions_than_the_cap_are_refused)
{
	/* A synthetic file: no 32-bit data, TG_TZ_TRANS_MAX + 1 transitions. */
	static unsigned char b[TG_TZ_FILE_MAX];
	uint32_t nt = TG_TZ_TRANS_MAX + 1;
	size_t n = 0;
	char err[256];

	memset(b, 0, sizeof b);
	memcpy(b, "TZif2", 5);
	put32(b + 20 + 16, 1);   /* typecnt */
	put32(b + 20 + 20, 1);   /* charcnt */
	n = 44 + 6 + 1;
	memcpy(b + n, "TZif2", 5);
	put32(b + n + 32, nt);
	put32(b + n + 36, 1);
	put32(b + n + 40, 1);
	n += 44;
	for (uint32_t i = 0; i < nt; i++)
		put32(b + n + 8 * i + 4, i * 1000);
	n += 9 * nt + 6 + 1;
	memcpy(b + n, "\nUTC0\n", 6);
	n += 6;
	cr_assert_neq(parses(b, n, err, sizeof err), 0);
	cr_assert(strstr(err, "transitions"), "%s", err);
}

Test(tzif, a_file_without_transitions_is_its_footer)
{
	/* Version 2, one type (CET), no transition, a DST footer: RFC 8536
	 * gives every instant to the footer, as glibc does. */
	static const unsigned char head[] = "TZif2";
	unsigned char b[256];
	size_t n = 0;
	char err[256];

	memset(b, 0, sizeof b);
	for (int k = 0; k < 2; k++) {
		memcpy(b + n, head, 5);
		put32(b + n + 36, 1);   /* typecnt */
		put32(b + n + 40, 4);   /* charcnt */
		n += 44;
		put32(b + n, 3600);
		memcpy(b + n + 6, "CET", 4);
		n += 10;
	}
	memcpy(b + n, "\nCET-1CEST,M3.5.0,M10.5.0/3\n", 28);
	n += 28;
	cr_assert_eq(parses(b, n, err, sizeof err), 0, "%s", err);
	cr_assert_eq(zone.ntrans, 0);
	cr_assert_eq(tg_tz_offset(&zone, utc(2026, 7, 1, 0, 0)), 7200);
	cr_assert_eq(tg_tz_offset(&zone, utc(2026, 1, 1, 0, 0)), 3600);
	cr_assert_eq(tg_tz_offset(&zone, utc(1975, 7, 1, 0, 0)), 7200);
}

static char tmp[64];

static void tmp_setup(void)
{
	tgt_tmpdir(tmp, sizeof tmp, "tg-tzif");
}

static void tmp_teardown(void)
{
	tgt_rmtree(tmp);
}

static void copy_zone(const char *from, const char *to, mode_t mode)
{
	static unsigned char b[TG_TZ_FILE_MAX];
	size_t n = read_file(from, b, sizeof b);
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0, "%s", to);
	cr_assert_eq(write(fd, b, n), (ssize_t)n);
	fchmod(fd, mode);
	close(fd);
}

Test(tzif_files, links_inside_only_and_safe_files, .init = tmp_setup, .fini = tmp_teardown)
{
	char db[128], out[128], path[256], target[256], err[256];

	snprintf(db, sizeof db, "%s/db", tmp);
	snprintf(out, sizeof out, "%s/outside", tmp);
	cr_assert_eq(mkdir(db, 0755), 0);
	cr_assert_eq(mkdir(out, 0755), 0);
	snprintf(path, sizeof path, "%s/Berlin", db);
	copy_zone(TG_TZ_DIR "/Europe/Berlin", path, 0644);
	snprintf(path, sizeof path, "%s/Alias", db);
	cr_assert_eq(symlink("Berlin", path), 0);
	snprintf(target, sizeof target, "%s/Evil", out);
	copy_zone(TG_TZ_DIR "/Europe/Berlin", target, 0644);
	snprintf(path, sizeof path, "%s/Evil", db);
	cr_assert_eq(symlink(target, path), 0);
	snprintf(path, sizeof path, "%s/Open", db);
	copy_zone(TG_TZ_DIR "/Europe/Berlin", path, 0666);
	snprintf(path, sizeof path, "%s/Big", db);
	{
		int fd = open(path, O_WRONLY | O_CREAT, 0644);

		cr_assert_eq(ftruncate(fd, TG_TZ_FILE_MAX + 1), 0);
		close(fd);
	}
	snprintf(path, sizeof path, "%s/Dir", db);
	cr_assert_eq(mkdir(path, 0755), 0);

	if (geteuid() == 0) {
		cr_assert_eq(tg_tz_load(db, "Berlin", &zone, &scratch, err, sizeof err), 0, "%s", err);
		cr_assert_str_eq(zone.name, "Berlin");
		cr_assert_eq(tg_tz_load(db, "Alias", &zone, &scratch, err, sizeof err), 0, "%s", err);
		/* Another owner: root can make one. */
		snprintf(path, sizeof path, "%s/Theirs", db);
		copy_zone(TG_TZ_DIR "/Europe/Berlin", path, 0644);
		cr_assert_eq(chown(path, 65534, 65534), 0);
		cr_assert_neq(tg_tz_load(db, "Theirs", &zone, &scratch, err, sizeof err), 0);
		cr_assert(strstr(err, "root-owned"), "%s", err);
	} else {
		/* A file made by another user cannot be root's: refused as such. */
		cr_assert_neq(tg_tz_load(db, "Berlin", &zone, &scratch, err, sizeof err), 0);
		cr_assert(strstr(err, "root-owned"), "%s", err);
	}
	cr_assert_neq(tg_tz_load(db, "Evil", &zone, &scratch, err, sizeof err), 0);
	cr_assert(strstr(err, "leads outside"), "%s", err);
	cr_assert_neq(tg_tz_load(db, "Open", &zone, &scratch, err, sizeof err), 0);
	cr_assert(strstr(err, "only root can write"), "%s", err);
	cr_assert_neq(tg_tz_load(db, "Big", &zone, &scratch, err, sizeof err), 0);
	cr_assert_neq(tg_tz_load(db, "Dir", &zone, &scratch, err, sizeof err), 0);
	cr_assert_neq(tg_tz_load(db, "Nope", &zone, &scratch, err, sizeof err), 0);
	cr_assert(strstr(err, "unknown zone"), "%s", err);
}

Test(tzif_files, cache_loads_once_and_remembers_failures, .init = tmp_setup,
     .fini = tmp_teardown)
{
	char db[128], path[256], err[256];
	const struct tg_tz *a, *b;

	if (geteuid() != 0)
		cr_skip_test("zone files must be root's; not root here");
	snprintf(db, sizeof db, "%s/db", tmp);
	cr_assert_eq(mkdir(db, 0755), 0);
	snprintf(path, sizeof path, "%s/Berlin", db);
	copy_zone(TG_TZ_DIR "/Europe/Berlin", path, 0644);
	tg_zones_reset_for_tests(db);
	cr_assert(a = tg_zone_get("Berlin", err, sizeof err), "%s", err);
	unlink(path);   /* loaded once: the file is not read again */
	cr_assert(b = tg_zone_get("Berlin", err, sizeof err));
	cr_assert_eq(a, b);
	cr_assert_null(tg_zone_get("Gone", err, sizeof err));
	copy_zone(TG_TZ_DIR "/Europe/Berlin", path, 0644);
	snprintf(path, sizeof path, "%s/Gone", db);
	copy_zone(TG_TZ_DIR "/Europe/Berlin", path, 0644);
	cr_assert_null(tg_zone_get("Gone", err, sizeof err));   /* a failure is remembered */
	cr_assert(strstr(err, "unknown zone Gone"), "%s", err);
	/* Bounded: the ninth distinct zone is refused. */
	for (int i = 1; i < TG_ZONES_MAX; i++) {
		char name[16];

		snprintf(name, sizeof name, "Z%d", i);
		snprintf(path, sizeof path, "%s/%s", db, name);
		copy_zone(TG_TZ_DIR "/Europe/Berlin", path, 0644);
		cr_assert(tg_zone_get(name, err, sizeof err), "%s: %s", name, err);
	}
	snprintf(path, sizeof path, "%s/Z99", db);
	copy_zone(TG_TZ_DIR "/Europe/Berlin", path, 0644);
	cr_assert_null(tg_zone_get("Z99", err, sizeof err));
	cr_assert(strstr(err, "zones in use"), "%s", err);
	tg_zones_reset_for_tests(NULL);
}

Test(tzif, policy_bounds_use_the_zone)
{
	struct tg_policy p;
	char err[256];
	int64_t s, e;

	tg_zones_reset_for_tests(NULL);
	cr_assert_eq(tg_policy_parse("global,day@Asia/Kolkata,usd=1,block", &p, err, sizeof err), 0);
	cr_assert_eq(tg_policy_bounds(&p, utc(2026, 11, 26, 17, 0) * INT64_C(1000000), &s, &e), 0);
	cr_assert_eq(s, utc(2026, 11, 25, 18, 30) * INT64_C(1000000));
	cr_assert_eq(e, utc(2026, 11, 26, 18, 30) * INT64_C(1000000));
	cr_assert_eq(tg_policy_parse("global,day,usd=1,block", &p, err, sizeof err), 0);
	cr_assert_eq(tg_policy_bounds(&p, utc(2026, 11, 26, 17, 0) * INT64_C(1000000), &s, &e), 0);
	cr_assert_eq(s, utc(2026, 11, 26, 0, 0) * INT64_C(1000000));
	cr_assert_eq(tg_policy_parse("global,month@No/Where,usd=1,block", &p, err, sizeof err), 0);
	cr_assert_eq(tg_policy_bounds(&p, 0, &s, &e), TG_EINVAL);
	cr_assert_neq(tg_policy_zone_ready(&p, err, sizeof err), 0);
	cr_assert(strstr(err, "unknown zone No/Where"), "%s", err);
}
