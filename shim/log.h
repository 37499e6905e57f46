/* log.h - tokenguard's own diagnostics on the host program's stderr.
 *
 * Owns: the "tokenguard: " prefix, the TOKENGUARD_DEBUG and TOKENGUARD_QUIET
 * switches, the write path and the bound on what the shim may say.
 * Messages go straight to fd 2 with write(2) so that the host's stdio
 * buffers and locks are never touched, and errno is preserved.
 *
 * The shim is a guest in someone else's program, so its voice is bounded:
 * over a process's life at most TG_LOG_LINES_MAX warnings are printed
 * (each at most TG_LOG_LINE_MAX bytes); any further ones are counted, and
 * one closing line saying how many were suppressed is printed when the
 * process exits normally (exit(), return from main).  Everything together
 * stays under TG_LOG_BYTES_MAX.  TOKENGUARD_DEBUG=1 lifts the bound (the
 * person asked for every line), TOKENGUARD_QUIET=1 silences warnings and
 * the closing line.  A forked child goes on from its parent's count of
 * printed lines (they share the stderr), and counts its own suppressed ones.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#define TG_LOG_LINES_MAX 7       /* warnings printed; the closing line is the 8th */
#define TG_LOG_LINE_MAX 512      /* bytes of one line, newline included */
#define TG_LOG_BYTES_MAX 4096    /* everything, closing line included */

/* Sets the switches and starts the count afresh (called once, by
 * tg_config_load, before any hook observes anything). */
void tg_log_init(int debug, int quiet);

/* In a forked child: the suppressed warnings counted so far are the
 * parent's to report, not the child's. */
void tg_log_atfork_child(void);

void tg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
