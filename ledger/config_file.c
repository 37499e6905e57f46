/* config_file.c - see config_file.h. */
#include "config_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_read.h"

static int refuse(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!errlen)
		return TG_CONF_REFUSED;
	k = snprintf(err, errlen, "%s: ", path);
	if (k >= 0 && (size_t)k < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return TG_CONF_REFUSED;
}

int tg_conf_read(const char *path, uid_t owner, char *buf, size_t cap, size_t *len,
                 char *err, size_t errlen)
{
	struct stat st;
	size_t got, want;
	ssize_t n;
	int fd, e;

	*len = 0;
	if (cap)
		buf[0] = '\0';
	/* Checked on what was opened, not on the name: nothing can be
	 * swapped in between. */
	fd = tg_file_open_checked(path, 1, &st);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return TG_CONF_ABSENT;
		if (e == ELOOP)
			return refuse(err, errlen, path, "is a symbolic link; ignored (put the file "
			              "itself there)");
		return refuse(err, errlen, path, "cannot be read (%s); ignored", strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return refuse(err, errlen, path, "is not a regular file; ignored");
	}
	if (st.st_uid != owner) {
		close(fd);
		return refuse(err, errlen, path, "belongs to uid %u, not uid %u; ignored "
		              "(chown %u %s)", (unsigned)st.st_uid, (unsigned)owner,
		              (unsigned)owner, path);
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		close(fd);
		return refuse(err, errlen, path, "can be written by group or others (mode %04o); "
		              "ignored (chmod go-w %s)", (unsigned)(st.st_mode & 07777), path);
	}
	if (st.st_size > (off_t)TG_CONF_FILE_MAX || (size_t)st.st_size >= cap) {
		close(fd);
		return refuse(err, errlen, path, "is larger than %d bytes; ignored",
		              TG_CONF_FILE_MAX);
	}
	/* Read to one byte past the size seen: a file that grew since the
	 * fstat is read no further than that, and refused. */
	want = (size_t)st.st_size + 1 < cap ? (size_t)st.st_size + 1 : cap - 1;
	if ((n = tg_file_read_upto(fd, buf, want)) < 0) {
		e = errno;
		close(fd);
		buf[0] = '\0';
		return refuse(err, errlen, path, "cannot be read (%s); ignored", strerror(e));
	}
	got = (size_t)n;
	close(fd);
	if (got > (size_t)st.st_size) {
		buf[0] = '\0';
		return refuse(err, errlen, path, "changed while it was read; ignored");
	}
	buf[got] = '\0';
	*len = got;
	return TG_CONF_READ;
}

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* One line, s..s+n (no newline; s[n] is writable), made NUL-terminated
 * pieces in place.  Returns NULL with *key and *value set for a setting,
 * NULL with *key NULL for a blank or comment line, else what is wrong. */
static const char *parse_line(char *s, size_t n, char **key, char **value)
{
	char *eq, *end, *v;

	*key = *value = NULL;
	if (n > 0 && s[n - 1] == '\r')
		n--;   /* CRLF */
	if (n > TG_CONF_LINE_MAX)
		return "longer than " STR(TG_CONF_LINE_MAX) " bytes";
	if (memchr(s, '\0', n))
		return "holds a NUL byte";
	s[n] = '\0';
	while (blank(*s))
		s++;
	if (!*s || *s == '#')
		return NULL;
	if (!(eq = strchr(s, '=')))
		return "expected key = value";
	for (end = eq; end > s && blank(end[-1]); end--)
		;
	*end = '\0';
	if (!*s)
		return "no key before '='";
	for (const char *k = s; *k; k++)
		if (!key_char(*k))
			return "a key is lowercase letters, digits and '_'";
	v = eq + 1;
	while (blank(*v))
		v++;
	end = v + strlen(v);
	while (end > v && blank(end[-1]))
		end--;
	*end = '\0';
	if (*v == '"') {
		if (end - v < 2 || end[-1] != '"')
			return "a value that starts with '\"' must end with it";
		end[-1] = '\0';
		v++;
	}
	*key = s;
	*value = v;
	return NULL;
}

void tg_conf_parse(char *buf, size_t len, tg_conf_line_fn fn, void *ctx)
{
	int line = 0;

	for (size_t at = 0; at < len;) {
		char *nl = memchr(buf + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (buf + at)) : len - at;

		char *key, *value;
		const char *why = parse_line(buf + at, n, &key, &value);

		line++;
		if (why || key)
			fn(ctx, line, key, value, why);
		at += n + 1;
	}
}
