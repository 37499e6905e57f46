/* sync_machine.c - see sync_machine.h. */
#include "sync_machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                  "0123456789._-") == n;
}

int tg_sync_machine_name(const char *ledger_dir, char *buf, size_t n)
{
	const char *v = getenv("TOKENGUARD_MACHINE");
	char host[256];

	(void)ledger_dir;
	if (v && *v)
		return valid(v) && snprintf(buf, n, "%s", v) < (int)n ? 0 : -1;
	if (gethostname(host, sizeof host) != 0)
		return -1;
	host[sizeof host - 1] = '\0';
	return valid(host) && snprintf(buf, n, "%s", host) < (int)n ? 0 : -1;
}
