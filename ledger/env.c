/* env.c - see env.h. */
#include "env.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/auxv.h>

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

int tg_config_file_path(const char *name, char *buf, size_t n)
{
	const char *v;
	int k;

	/* A relative XDG_CONFIG_HOME is to be ignored (XDG Base Directory
	 * specification): it would name a different file in each directory. */
	if ((v = tg_env_get("XDG_CONFIG_HOME")) && *v == '/')
		k = snprintf(buf, n, "%s/tokenguard/%s", v, name);
	else if ((v = tg_env_get("HOME")) && *v)
		k = snprintf(buf, n, "%s/.config/tokenguard/%s", v, name);
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
