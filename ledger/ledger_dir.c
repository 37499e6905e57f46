/* ledger_dir.c - where the ledger lives: the default directory and its
 * creation.  See ledger.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "env.h"
#include "ledger.h"
#include "settings.h"

int tg_ledger_default_dir(char *buf, size_t n)
{
	const char *v;
	int len;

	if ((v = tg_setting(TG_SET_LEDGER)) && *v)
		len = snprintf(buf, n, "%s", v);
	else if ((v = tg_env_get("XDG_DATA_HOME")) && *v == '/')
		len = snprintf(buf, n, "%s/tokenguard", v);  /* relative XDG paths are invalid: ignored */
	else if ((v = tg_env_get("HOME")) && *v)
		len = snprintf(buf, n, "%s/.local/share/tokenguard", v);
	else
		return TG_ENOENT;
	return len < 0 || (size_t)len >= n ? TG_ETOOLONG : 0;
}

const char *tg_ledger_dir_problem(int rc)
{
	if (rc == TG_ETOOLONG)
		return "the ledger path is too long (TOKENGUARD_LEDGER or the ledger setting of a "
		       "configuration file, or XDG_DATA_HOME or HOME below it)";
	if (tg_settings_secure_allowed())
		return "a setuid, setgid or file-capability program takes its ledger only from "
		       "the ledger setting of " TG_SYSTEM_CONFIG ", and it has none";
	if (tg_secure_execution())
		return "a setuid, setgid or file-capability program trusts no TOKENGUARD_LEDGER, "
		       "XDG_DATA_HOME or HOME";
	return "cannot tell where the ledger is: none of TOKENGUARD_LEDGER, XDG_DATA_HOME "
	       "and HOME is set";
}

static int mkdir_one(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return tg_error_from_errno(errno);
	if (stat(path, &st) != 0)
		return tg_error_from_errno(errno);
	return S_ISDIR(st.st_mode) ? 0 : TG_ENOENT;
}

int tg_ledger_mkdirs(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	int rc;

	if (len == 0)
		return TG_EINVAL;
	if (len >= sizeof path)
		return TG_ETOOLONG;
	memcpy(path, dir, len + 1);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	for (char *p = path + 1; *p; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		rc = mkdir_one(path);
		*p = '/';
		if (rc)
			return rc;
	}
	return mkdir_one(path);
}
