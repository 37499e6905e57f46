/* pid.c - see pid.h. */
#include "pid.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static _Atomic pid_t cached;
static pthread_once_t registered = PTHREAD_ONCE_INIT;

static void forget(void)
{
	atomic_store_explicit(&cached, 0, memory_order_relaxed);
}

static void register_forget(void)
{
	pthread_atfork(NULL, NULL, forget);
}

pid_t tg_getpid(void)
{
	pid_t pid = atomic_load_explicit(&cached, memory_order_relaxed);

	if (pid == 0) {
		pthread_once(&registered, register_forget);
		pid = getpid();
		atomic_store_explicit(&cached, pid, memory_order_relaxed);
	}
	return pid;
}
