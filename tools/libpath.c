/* libpath.c - finding libtokenguard.so (libpath.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libpath.h"
#include "settings.h"

static int try(const char *path, char *buf, size_t n, char *tried, size_t tn)
{
	size_t used = strlen(tried);

	snprintf(tried + used, tn - used, "%s%s", used ? ", " : "", path);
	if (access(path, R_OK))
		return -1;
	if (!realpath(path, buf) && snprintf(buf, n, "%s", path) >= (int)n)
		return -1;
	return 0;
}

int tg_libpath_find(char *buf, size_t n, char *tried, size_t tn)
{
	const char *env = tg_setting(TG_SET_LIB);
	char self[PATH_MAX], cand[PATH_MAX + 32];
	ssize_t len;
	char *slash;

	tried[0] = '\0';
	if (env && *env)
		return try(env, buf, n, tried, tn);
	len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len <= 0)
		return -1;
	self[len] = '\0';
	if ((slash = strrchr(self, '/')))
		*slash = '\0';
	snprintf(cand, sizeof cand, "%s/../lib/libtokenguard.so", self);
	if (!try(cand, buf, n, tried, tn))
		return 0;
	snprintf(cand, sizeof cand, "%s/libtokenguard.so", self);
	return try(cand, buf, n, tried, tn);
}
