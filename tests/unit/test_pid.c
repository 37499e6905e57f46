/* test_pid.c - the cached process id follows fork(). */
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pid.h"

Test(pid, is_the_process_id_and_the_child_s_own_after_fork)
{
	pid_t parent = tg_getpid(), child;
	int status;

	cr_assert_eq(parent, getpid());
	cr_assert_eq(tg_getpid(), parent);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0)
		_exit(tg_getpid() == getpid() && tg_getpid() != parent ? 0 : 1);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child read its parent's id");
	cr_assert_eq(tg_getpid(), parent);
}
