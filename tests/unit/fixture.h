/* fixture.h - what the unit tests that touch the disk have in common.
 *
 * Owns: the scratch directory of a test and its removal, records filled
 * and appended for a test's ledger, runs of the built tokenguard-report
 * with its output captured, and what the code under test writes to fd 2.  Nothing here keeps state between calls; every
 * buffer is the caller's.  A step that goes wrong fails the calling test
 * (criterion) instead of returning an error, so a test reads as its steps.
 */
#ifndef TGT_FIXTURE_H
#define TGT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

/* What stmt wrote to FILE *f, a memory stream, into out: a string the
 * caller frees. */
#define CAPTURE(out, stmt) do { \
	size_t n_ = 0; \
	FILE *f = open_memstream(&(out), &n_); \
	cr_assert_not_null(f); \
	stmt; \
	fclose(f); \
} while (0)

/* Creates a fresh directory /tmp/PREFIX-XXXXXX, its path in buf (n bytes);
 * returns buf. */
char *tgt_tmpdir(char *buf, size_t n, const char *prefix);

/* Removes dir and everything below it without following links.  "" is a
 * directory never made (its setup skipped the test): nothing to remove. */
void tgt_rmtree(const char *dir);

/* A record with these fields and token counts, every other count unknown
 * and every other field zero or empty, for the caller to amend. */
struct tg_record tgt_record(int64_t ts_us, const char *provider, const char *model,
                            const char *process, const char *tags, int64_t input,
                            int64_t output, double cost_usd, uint32_t flags);

/* Appends r to l; the test fails if the ledger refuses it. */
void tgt_put_record(struct tg_ledger *l, const struct tg_record *r);

/* The report binary under test: $TG_REPORT_BIN, else build/tokenguard-report.
 * Skips the test when that is not an executable, since it is built apart
 * from the unit tests. */
const char *tgt_report_bin(void);

/* Runs "PREFIX REPORT ARGS 2>&1" through the shell, ARGS formatted from fmt
 * and PREFIX (NULL or "" for none) for env(1) and the like.  The report
 * runs with TZ=UTC unless PREFIX sets TZ, so that its local days are the
 * same on every machine.  out (n bytes)
 * gets as much of the output as fits, NUL-terminated.  Returns the exit
 * status, or -1 when the report did not exit normally. */
int tgt_run_report(const char *prefix, char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Replaces, in place, every record global id in out (16 hex digits, '-',
 * 32 hex digits: machine.h) by "ID", so that a test can compare output
 * whose ids depend on the ledger's key and the writer's pid.  Returns how
 * many it replaced. */
int tgt_mask_ids(char *out);

/* tgt_run_report without a prefix, on a terminal cols columns wide (a
 * pty with that window size) instead of a pipe; stdout and stderr both
 * go to it, "\r\n" in out made "\n". */
int tgt_run_report_tty(int cols, char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sends fd 2 to a fresh temporary file until tgt_stderr_end; returns the
 * token tgt_stderr_end needs (the saved descriptor). */
int tgt_stderr_begin(void);

/* Puts fd 2 back; out (n bytes) gets what was written meanwhile, as much
 * as fits, NUL-terminated.  Returns the number of bytes written in all. */
size_t tgt_stderr_end(int token, char *out, size_t n);

/* Runs fn(ctx) in a forked child whose fd 2 is a pipe and which then ends
 * with exit(0), so destructors run as in a real program's exit.  out (n
 * bytes) gets what the child wrote to fd 2, NUL-terminated; returns the
 * number of bytes it wrote in all.  The test fails if the child does not
 * exit 0. */
size_t tgt_child_stderr(void (*fn)(void *ctx), void *ctx, char *out, size_t n);

#endif
