/* stop.c - see stop.h. */
#include "stop.h"

#include <errno.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t tg_stop_signal;

static void on_stop(int sig)
{
	tg_stop_signal = sig;
}

void tg_stop_on_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int tg_stop_nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (!tg_stop_signal && nanosleep(&t, &t) && errno == EINTR)
		;
	return tg_stop_signal != 0;
}
