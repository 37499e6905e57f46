/* self_pid.c - see self_pid.h. */
#include <pthread.h>
#include <unistd.h>

#include "self_pid.h"

static pid_t cached;   /* 0: ask the kernel */
static pthread_once_t registered = PTHREAD_ONCE_INIT;

static void forget(void)
{
	__atomic_store_n(&cached, 0, __ATOMIC_RELAXED);
}

static void register_handler(void)
{
	pthread_atfork(NULL, NULL, forget);
}

pid_t tg_self_pid(void)
{
	pid_t pid = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (pid)
		return pid;
	pthread_once(&registered, register_handler);
	pid = getpid();
	__atomic_store_n(&cached, pid, __ATOMIC_RELAXED);
	return pid;
}
