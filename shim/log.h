/* log.h - tokenguard's own diagnostics on the host program's stderr.
 *
 * Owns: the "tokenguard: " prefix, the TOKENGUARD_DEBUG switch and the
 * write path.  Messages go straight to fd 2 with write(2) so that the host's
 * stdio buffers and locks are never touched, and errno is preserved.
 * Warnings are always printed (they are rare and each one says what to do);
 * debug lines only when TOKENGUARD_DEBUG is set.  TOKENGUARD_QUIET=1 silences
 * warnings too.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

void tg_log_init(int debug, int quiet);
void tg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
