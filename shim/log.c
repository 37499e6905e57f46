/* log.c - see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#define CLOSING_MAX 256

/* The bound in bytes follows from the bound in lines: no byte counter to
 * keep consistent between threads. */
_Static_assert(TG_LOG_LINES_MAX * TG_LOG_LINE_MAX + CLOSING_MAX <= TG_LOG_BYTES_MAX,
               "the shim's stderr output must stay under TG_LOG_BYTES_MAX");

static int log_debug_on;   /* set once by tg_log_init before any hook runs */
static int log_quiet;
static atomic_uint printed;          /* warnings that took a line of the bound */
static atomic_ulong suppressed;      /* warnings past the bound */

void tg_log_init(int debug, int quiet)
{
	log_debug_on = debug;
	log_quiet = quiet;
	atomic_store(&printed, 0);
	atomic_store(&suppressed, 0);
}

void tg_log_atfork_child(void)
{
	atomic_store(&suppressed, 0);
}

/* One write(2) of one line: lines from several threads or processes do not
 * interleave (a line is below PIPE_BUF).  A stderr that is a pipe nobody
 * reads cannot block the program on us: all we write under the bound is
 * under 4 KiB, far below a pipe's 64 KiB capacity. */
static void write_line(const char *line, size_t len)
{
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

static void log_write(const char *fmt, va_list ap)
{
	char line[TG_LOG_LINE_MAX];
	int saved = errno;
	int n = snprintf(line, sizeof line, "tokenguard: ");
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	write_line(line, len);
	errno = saved;
}

void tg_warn(const char *fmt, ...)
{
	va_list ap;
	if (log_quiet)
		return;
	/* The load first: past the bound the count stops growing, so it
	 * cannot wrap around however many warnings come. */
	if (!log_debug_on && (atomic_load(&printed) >= TG_LOG_LINES_MAX ||
	                      atomic_fetch_add(&printed, 1) >= TG_LOG_LINES_MAX)) {
		atomic_fetch_add(&suppressed, 1);
		return;
	}
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

/* The closing line: at exit, the only moment the count is known.  A
 * process killed by a signal or ending in _exit() never says it. */
__attribute__((destructor)) static void log_close(void)
{
	unsigned long n = atomic_load(&suppressed);
	char line[CLOSING_MAX];
	int saved = errno;

	if (n == 0 || log_quiet)
		return;
	int len = snprintf(line, sizeof line, "tokenguard: %lu further warning%s suppressed "
	                   "(at most %d lines per process); TOKENGUARD_DEBUG=1 shows every one, "
	                   "TOKENGUARD_QUIET=1 none\n", n, n == 1 ? " was" : "s were",
	                   TG_LOG_LINES_MAX + 1);
	if (len > 0 && (size_t)len < sizeof line)
		write_line(line, (size_t)len);
	errno = saved;
}
