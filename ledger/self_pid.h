/* self_pid.h - this process's id without a system call per question.
 *
 * Owns: the cached pid every module of the ledger and the shim asks when
 * it must tell a forked child from its parent (state made before a fork
 * belongs to the parent).  glibc no longer caches getpid(), and an
 * exchange asked it several times.  The cache is dropped in every child
 * made by fork(), through a pthread_atfork() handler registered on first
 * use; a child made by a raw clone(2) or _Fork(), which run no fork
 * handlers, would keep its parent's answer, as the shim's connection
 * table would (conn.c): tokenguard does not support those.
 */
#ifndef TG_SELF_PID_H
#define TG_SELF_PID_H

#include <sys/types.h>

pid_t tg_self_pid(void);

#endif
