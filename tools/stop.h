/* stop.h - how a command that runs until asked to end (serve, watch,
 * records --follow, alerts --follow, sync --follow) learns it was asked.
 *
 * Owns: the one SIGINT/SIGTERM handler of tokenguard-report.  It only
 * notes the signal; each loop looks at tg_stop_signal between steps and
 * ends with exit 0.  No SA_RESTART, so that a poll() or nanosleep() in
 * progress returns EINTR and the loop sees the request at once.
 */
#ifndef TG_STOP_H
#define TG_STOP_H

#include <signal.h>

/* 0, or the signal that asked the command to end. */
extern volatile sig_atomic_t tg_stop_signal;

/* Installs the handler for SIGINT and SIGTERM. */
void tg_stop_on_signals(void);

/* Sleeps ms milliseconds, or less when a stop is asked meanwhile.
 * Returns 1 when a stop was asked, else 0. */
int tg_stop_nap_ms(long ms);

#endif
