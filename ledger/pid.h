/* pid.h - this process's id without a system call per use.
 *
 * Owns: the cached process id.  getpid() is a system call in current glibc
 * and the shim needs the pid for every record, budget check and ledger
 * transaction; the cache is filled at first use and dropped in the child
 * of every fork() (a pthread_atfork handler), so a child reads its own.
 * Not seen by that handler: a child made with _Fork() or a raw clone()
 * that goes on running library code without exec: it would read its
 * parent's id.  vfork() and posix_spawn() children only exec.
 */
#ifndef TG_PID_H
#define TG_PID_H

#include <sys/types.h>

pid_t tg_getpid(void);

#endif
