/* spawntime.c - what preloading an object costs a process's whole life.
 *
 * Starts PROGRAM RUNS times without LD_PRELOAD and RUNS times with
 * LD_PRELOAD=OBJECT for each OBJECT of a colon-separated list, in turn, so
 * that a busy machine slows all alike, and times each run from posix_spawn() to the end of waitpid():
 * loading, relocation, constructors, the program itself, exit.  The
 * program's output goes to /dev/null.  bench/startup.sh runs it.
 *
 * usage: spawntime RUNS OBJECT[:OBJECT...] PROGRAM [ARG...]
 * Prints for each OBJECT one line: "<median ns without> <median ns with>
 * <median of the paired differences, ns> <p90 without> <p90 with>".  The
 * paired difference (each run with the object minus the run without it
 * in the same turn) is the figure to read: it cancels most of what the
 * machine did meanwhile.  An empty object in the list shows the floor:
 * what preloading anything at all costs.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static long long quantile(long long *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof *v, by_value);
	return v[(int)(q * (n - 1) + 0.5)];
}

static long long run_once(char **argv, char **envp, const posix_spawn_file_actions_t *fa)
{
	pid_t pid;
	int status;
	long long t0 = now_ns();
	if (posix_spawn(&pid, argv[0], fa, NULL, argv, envp) != 0) {
		perror("spawntime: posix_spawn");
		exit(2);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "spawntime: %s failed\n", argv[0]);
		exit(2);
	}
	return now_ns() - t0;
}

#define OBJECTS_MAX 8

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: spawntime RUNS OBJECT[:OBJECT...] PROGRAM [ARG...]\n");
		return 2;
	}
	int runs = atoi(argv[1]);
	if (runs < 1)
		return 2;

	/* The environment without any LD_PRELOAD, and the same plus each
	 * object's. */
	int n = 0;
	while (environ[n])
		n++;
	char **plain = calloc((size_t)n + 1, sizeof *plain);
	int m = 0;
	for (int i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			plain[m++] = environ[i];
	char **preload[OBJECTS_MAX];
	int nobj = 0;
	for (char *obj = strtok(argv[2], ":"); obj && nobj < OBJECTS_MAX; obj = strtok(NULL, ":")) {
		char **env = calloc((size_t)m + 2, sizeof *env);
		size_t len = strlen(obj) + sizeof "LD_PRELOAD=";
		memcpy(env, plain, (size_t)m * sizeof *plain);
		env[m] = malloc(len);
		snprintf(env[m], len, "LD_PRELOAD=%s", obj);
		preload[nobj++] = env;
	}

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);

	long long *base = malloc((size_t)runs * sizeof *base);
	long long *with[OBJECTS_MAX];
	for (int k = 0; k < nobj; k++)
		with[k] = malloc((size_t)runs * sizeof *with[k]);
	for (int i = 0; i < 20; i++) {   /* page cache and CPU frequency settle */
		run_once(argv + 3, plain, &fa);
		for (int k = 0; k < nobj; k++)
			run_once(argv + 3, preload[k], &fa);
	}
	for (int i = 0; i < runs; i++) {
		/* The run without first in one turn, last in the next: no order
		 * effect either way. */
		if (i & 1)
			base[i] = run_once(argv + 3, plain, &fa);
		for (int k = 0; k < nobj; k++)
			with[k][i] = run_once(argv + 3, preload[k], &fa);
		if (!(i & 1))
			base[i] = run_once(argv + 3, plain, &fa);
	}
	long long *diff = malloc((size_t)runs * sizeof *diff);
	for (int k = 0; k < nobj; k++) {
		for (int i = 0; i < runs; i++)
			diff[i] = with[k][i] - base[i];
		long long d50 = quantile(diff, runs, 0.5);
		long long w50 = quantile(with[k], runs, 0.5), w90 = quantile(with[k], runs, 0.9);
		printf("%lld %lld %lld %lld %lld\n", quantile(base, runs, 0.5), w50, d50,
		       quantile(base, runs, 0.9), w90);
	}
	return 0;
}
