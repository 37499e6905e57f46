/* tzif.h - a named time zone read from the system's tz database, without
 * the C library's process-wide TZ.
 *
 * Owns: the zone name rule, the safe read of /usr/share/zoneinfo/NAME, the
 * TZif (RFC 8536, version 2 and later) decoder with its POSIX TZ footer
 * rule, and the two questions budgets ask of a zone: the UTC offset at an
 * instant, and the first instant of a local day or month.
 *
 * Why not localtime_r: it reads the zone named by TZ, one per process, and
 * the shim runs inside someone else's program, whose TZ it must not touch;
 * Debian ships no maintained C library that reads a named zone apart from
 * the process's TZ.  The format is small and fully specified, so it is
 * decoded here.
 *
 * A loaded zone is a fixed-size struct tg_tz: no allocation, and every
 * question is a pure function of it.  Instants are seconds since the
 * epoch (UTC), offsets seconds east of UTC.
 */
#ifndef TG_TZIF_H
#define TG_TZIF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define TG_TZ_NAME_MAX   64          /* a zone name, NUL included */
#define TG_TZ_TRANS_MAX  2000        /* transitions kept; a file with more is refused */
#define TG_TZ_TYPES_MAX  256         /* as many as a TZif file can index */
#define TG_TZ_FILE_MAX   (64 * 1024) /* the largest TZif file read */
#define TG_TZ_DIR        "/usr/share/zoneinfo"

/* One date of a POSIX TZ rule: Jn (kind 'J'), n (kind 'n') or Mm.w.d
 * (kind 'M'), and the local time of day of the change (may be negative
 * or past 24 hours, RFC 8536). */
struct tg_tz_date {
	char kind;
	int n, m, w, d;
	int32_t time;
};

/* The footer: the rule for instants after the last transition. */
struct tg_tz_rule {
	int32_t std_off, dst_off;    /* seconds east of UTC */
	int has_dst;
	struct tg_tz_date start, end; /* into and out of DST */
};

struct tg_tz {
	char name[TG_TZ_NAME_MAX];
	int ntrans;
	int64_t trans[TG_TZ_TRANS_MAX];     /* ascending */
	int32_t trans_off[TG_TZ_TRANS_MAX]; /* offset from trans[i] on */
	int32_t first_off;                  /* before trans[0] (the first type) */
	int has_rule;
	struct tg_tz_rule rule;
};

/* 0 when name can name a zone: 1..63 characters of [A-Za-z0-9_+-/], no
 * "." or ".." component, no leading '/' nor empty component.  Else -1
 * with a message. */
int tg_tz_name_check(const char *name, char *err, size_t errlen);

/* Decodes a TZif file of n bytes into *out (name left as it is).  Every
 * count is checked against n before use; version 1 files (no 64-bit data
 * and no footer), leap-second files ("right/" zones), more than
 * TG_TZ_TRANS_MAX transitions and a footer that does not parse are
 * refused.  Returns 0 or -1 with a message. */
int tg_tz_parse(const unsigned char *buf, size_t n, struct tg_tz *out, char *err, size_t errlen);

/* Parses a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3", "<+0530>-5:30")
 * as a TZif footer holds it.  Returns 0 or -1. */
int tg_tz_rule_parse(const char *s, size_t n, struct tg_tz_rule *out);

/* What tg_tz_load() works in: the caller's (zones.c keeps one, under its
 * lock), so that a load allocates nothing and takes little stack. */
struct tg_tz_scratch {
	unsigned char file[TG_TZ_FILE_MAX + 1];
	char path[PATH_MAX], real[PATH_MAX], realdir[PATH_MAX];
};

/* Reads zone name from dir (TG_TZ_DIR; tests pass their own): a symlink
 * is followed only to a file inside dir; the file must be a regular file
 * owned by root, not writable by group or others, of at most
 * TG_TZ_FILE_MAX bytes, opened O_NOFOLLOW and read into s->file.
 * Returns 0 or -1 with a message naming the zone. */
int tg_tz_load(const char *dir, const char *name, struct tg_tz *out, struct tg_tz_scratch *s,
               char *err, size_t errlen);

/* The offset (seconds east of UTC) in force at instant t. */
int32_t tg_tz_offset(const struct tg_tz *z, int64_t t);

/* The first instant whose local time is at or after local (seconds since
 * 1970-01-01 00:00 local): the start of a local day or month, which in a
 * DST gap is the end of the gap. */
int64_t tg_tz_first_at(const struct tg_tz *z, int64_t local);

/* The local day containing t: [*start, *end) in UTC instants (23 or 25
 * hours long across a DST change).  month: the local month instead. */
void tg_tz_day(const struct tg_tz *z, int64_t t, int64_t *start, int64_t *end);
void tg_tz_month(const struct tg_tz *z, int64_t t, int64_t *start, int64_t *end);

#endif
