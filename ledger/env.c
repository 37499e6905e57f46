/* env.c - see env.h. */
#include "env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

static int forced_secure = -1;   /* tests only: tg_env_force_secure */

int tg_secure_execution(void)
{
	if (forced_secure >= 0)
		return forced_secure;
	/* The kernel's own verdict, the one glibc's secure_getenv and the
	 * loader follow: set for setuid, setgid and file capabilities. */
	return getauxval(AT_SECURE) != 0;
}

const char *tg_env_get(const char *name)
{
	return tg_secure_execution() ? NULL : getenv(name);
}

/* The home field of line ("name:pw:uid:gid:gecos:home:shell") when its
 * uid is uid, else NULL; line is cut in place. */
static const char *home_of(char *line, uid_t uid)
{
	char *field[7], *end;
	int i = 0;

	for (char *p = line; i < 7; i++) {
		field[i] = p;
		if (!(p = strchr(p, ':')))
			break;
		*p++ = '\0';
	}
	if (i < 6)
		return NULL;
	field[6][strcspn(field[6], ":")] = '\0';
	errno = 0;
	unsigned long u = strtoul(field[2], &end, 10);
	if (errno || end == field[2] || *end || u != (unsigned long)uid)
		return NULL;
	return field[5][0] == '/' ? field[5] : NULL;
}

int tg_passwd_home(uid_t uid, char *buf, size_t n)
{
	char chunk[4096], line[1024];
	size_t used = 0;
	int skipping = 0, rc = -1;
	ssize_t got;
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -1;
	while (rc && (got = read(fd, chunk, sizeof chunk)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (ssize_t i = 0; i < got && rc; i++) {
			if (chunk[i] != '\n') {
				/* A line longer than line is no user's: skipped whole. */
				if (used + 1 < sizeof line)
					line[used++] = chunk[i];
				else
					skipping = 1;
				continue;
			}
			line[used] = '\0';
			const char *home = skipping ? NULL : home_of(line, uid);
			if (home && (size_t)snprintf(buf, n, "%s", home) < n)
				rc = 0;
			used = 0;
			skipping = 0;
		}
	}
	close(fd);
	return rc;
}

int tg_config_file_path(const char *name, char *buf, size_t n)
{
	char home[1024];
	const char *v;
	int k;

	/* A relative XDG_CONFIG_HOME is to be ignored (XDG Base Directory
	 * specification): it would name a different file in each directory. */
	if ((v = tg_env_get("XDG_CONFIG_HOME")) && *v == '/')
		k = snprintf(buf, n, "%s/tokenguard/%s", v, name);
	else if ((v = tg_env_get("HOME")) && *v)
		k = snprintf(buf, n, "%s/.config/tokenguard/%s", v, name);
	else if (!tg_secure_execution() && tg_passwd_home(getuid(), home, sizeof home) == 0)
		k = snprintf(buf, n, "%s/.config/tokenguard/%s", home, name);
	else
		return -1;
	return k >= 0 && (size_t)k < n ? 0 : -1;
}

int tg_parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	if (!v)
		return -1;
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

void tg_env_force_secure(int on)
{
	forced_secure = on;
}
