/* fixture.c - scratch directories, test records and report runs shared by
 * the unit tests (see fixture.h).  No Test() lives here: the unit binary
 * links every C file of tests/unit, and this one only serves the others. */
#include "fixture.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <sanitizer/common_interface_defs.h>
#include <stdint.h>
#include <stdarg.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *tgt_tmpdir(char *buf, size_t n, const char *prefix)
{
	int len = snprintf(buf, n, "/tmp/%s-XXXXXX", prefix);

	cr_assert(len > 0 && (size_t)len < n, "no room for a directory named after %s", prefix);
	cr_assert_not_null(mkdtemp(buf), "mkdtemp %s", buf);
	return buf;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st; (void)type; (void)ftw;
	return remove(path);
}

void tgt_rmtree(const char *dir)
{
	/* 16 open directories: far deeper than any test's tree */
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct tg_record tgt_record(int64_t ts_us, const char *provider, const char *model,
                            const char *process, const char *tags, int64_t input,
                            int64_t output, double cost_usd, uint32_t flags)
{
	struct tg_record r;

	memset(&r, 0, sizeof r);
	tg_counts_unknown(&r.counts);
	r.ts_us = ts_us;
	r.counts.input = input;
	r.counts.output = output;
	r.cost_usd = cost_usd;
	r.flags = flags;
	snprintf(r.provider, sizeof r.provider, "%s", provider);
	snprintf(r.model, sizeof r.model, "%s", model);
	snprintf(r.process, sizeof r.process, "%s", process);
	snprintf(r.tags, sizeof r.tags, "%s", tags);
	return r;
}

void tgt_put_record(struct tg_ledger *l, const struct tg_record *r)
{
	cr_assert_eq(tg_ledger_append(l, r), 0);
}

const char *tgt_report_bin(void)
{
	const char *bin = getenv("TG_REPORT_BIN");

	if (!bin)
		bin = "build/tokenguard-report";
	if (access(bin, X_OK) != 0)
		cr_skip_test("%s not built", bin);
	return bin;
}

int tgt_run_report(const char *prefix, char *out, size_t n, const char *fmt, ...)
{
	char args[3072], cmd[4096];
	const char *bin = tgt_report_bin();
	va_list ap;
	size_t len;
	FILE *p;
	int k, st;

	va_start(ap, fmt);
	k = vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	cr_assert(k >= 0 && (size_t)k < sizeof args, "report arguments too long: %s", fmt);
	if (!prefix)
		prefix = "";
	k = snprintf(cmd, sizeof cmd, "TZ=UTC %s%s%s %s 2>&1", prefix, prefix[0] ? " " : "", bin,
	             args);
	cr_assert(k >= 0 && (size_t)k < sizeof cmd, "report command too long: %s", args);
	cr_assert_not_null(p = popen(cmd, "r"), "popen %s", cmd);
	len = fread(out, 1, n - 1, p);
	out[len] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tgt_run_report_tty(int cols, char *out, size_t n, const char *fmt, ...)
{
	struct winsize ws = { .ws_row = 50, .ws_col = (unsigned short)cols };
	char args[3072], cmd[4096];
	size_t k = 0;
	ssize_t got;
	va_list ap;
	int master, st;
	pid_t pid;

	va_start(ap, fmt);
	st = vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	cr_assert(st >= 0 && (size_t)st < sizeof args, "report arguments too long: %s", fmt);
	snprintf(cmd, sizeof cmd, "TZ=UTC %s %s", tgt_report_bin(), args);
	pid = forkpty(&master, NULL, NULL, &ws);
	cr_assert_geq(pid, 0, "forkpty");
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (k + 1 < n && (got = read(master, out + k, n - k - 1)) > 0)
		k += (size_t)got;  /* then EIO: the child has gone */
	out[k] = '\0';
	close(master);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	for (char *r; (r = strchr(out, '\r'));)
		memmove(r, r + 1, strlen(r));
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tgt_stderr_begin(void)
{
	char path[] = "/tmp/tg-stderr-XXXXXX";
	int saved = dup(STDERR_FILENO);
	int fd = mkstemp(path);

	cr_assert(saved >= 0 && fd >= 0, "cannot redirect stderr");
	unlink(path);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return saved;
}

/* Everything readable from fd into out (n bytes, NUL-terminated); returns
 * the total, what did not fit included. */
static size_t drain(int fd, char *out, size_t n)
{
	size_t total = 0;
	char chunk[4096];
	ssize_t got;

	while ((got = read(fd, chunk, sizeof chunk)) > 0) {
		if (total < n - 1) {
			size_t k = (size_t)got < n - 1 - total ? (size_t)got : n - 1 - total;
			memcpy(out + total, chunk, k);
		}
		total += (size_t)got;
	}
	out[total < n - 1 ? total : n - 1] = '\0';
	return total;
}

size_t tgt_stderr_end(int token, char *out, size_t n)
{
	size_t total;

	lseek(STDERR_FILENO, 0, SEEK_SET);
	total = drain(STDERR_FILENO, out, n);
	dup2(token, STDERR_FILENO);
	close(token);
	return total;
}

size_t tgt_child_stderr(void (*fn)(void *ctx), void *ctx, char *out, size_t n)
{
	int p[2], status;
	size_t total;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert(pid >= 0, "fork");
	if (pid == 0) {
		/* The sanitizers' words stay out of what the child is judged by:
		 * LeakSanitizer remarks at exit on the threads of the criterion
		 * worker that a fork leaves behind.  A real sanitizer error still
		 * fails the test through the exit status. */
		__sanitizer_set_report_fd((void *)(intptr_t)open("/dev/null", O_WRONLY | O_CLOEXEC));
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		fn(ctx);
		exit(0);
	}
	close(p[1]);
	total = drain(p[0], out, n);
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child did not exit 0 (%#x)", status);
	return total;
}

static int all_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

int tgt_mask_ids(char *out)
{
	int masked = 0;

	for (char *p = out; (p = strchr(p, '-')) != NULL; p++) {
		if (p - out < 16 || strlen(p + 1) < 32 || !all_hex(p - 16, 16) || !all_hex(p + 1, 32))
			continue;
		memcpy(p - 16, "ID", 2);
		memmove(p - 14, p + 33, strlen(p + 33) + 1);
		p -= 15;
		masked++;
	}
	return masked;
}
