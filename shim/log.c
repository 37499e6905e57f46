/* log.c - see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int log_debug_on;   /* set once by tg_log_init before any hook runs */
static int log_quiet;

void tg_log_init(int debug, int quiet)
{
	log_debug_on = debug;
	log_quiet = quiet;
}

static void log_write(const char *fmt, va_list ap)
{
	char line[512];
	int saved = errno;
	int n = snprintf(line, sizeof line, "tokenguard: ");
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	/* One write(2): lines from several threads or processes do not interleave. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
	errno = saved;
}

void tg_warn(const char *fmt, ...)
{
	va_list ap;
	if (log_quiet)
		return;
	va_start(ap, fmt);
	log_write(fmt, ap);
	va_end(ap);
}

void tg_debug(const char *fmt, ...)
{
	va_list ap;
	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_write(fmt, ap);
	va_end(ap);
}
