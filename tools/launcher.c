/* launcher.c - tokenguard: run a command under the shim without setting
 * LD_PRELOAD by hand.
 *
 * Owns: the launcher's command line, the environment it hands the command
 * (LD_PRELOAD appended, TOKENGUARD_TAGS merged: preload.h; TOKENGUARD_LEDGER;
 * TOKENGUARD_BUDGETS), the refusal of a program the shim cannot see
 * (seen.h) and, with --summary, the run's spend.
 *
 * Without --summary the command replaces the launcher (execvp), so
 * signals, the exit status and the process id are the command's own.
 * With --summary the launcher must outlive it: it forks, waits, prints
 * the spend of the records tagged tokenguard_run=<id> (a tag unique to
 * this run, added to TOKENGUARD_TAGS: every process of the run's tree
 * inherits it, and nothing else carries it), and exits with the command's
 * status (128+N for a death by signal N). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "filter.h"
#include "ledger.h"
#include "libpath.h"
#include "money.h"
#include "preload.h"
#include "report.h"
#include "settings.h"
#include "seen.h"
#include "spend_rule.h"
#include "zones.h"

#define EXIT_USAGE 2
#define TAGS_MAX_GIVEN 32
#define RUN_TAG "tokenguard_run"

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("tokenguard: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	putc('\n', stderr);
	return EXIT_USAGE;
}

static void usage(FILE *f)
{
	fputs("usage: tokenguard [--tag KEY=VALUE]... [--ledger DIR] [--budget POLICY]...\n"
	      "                  [--summary] [--force] [--] COMMAND [ARGS...]\n\n"
	      "Runs COMMAND with libtokenguard.so preloaded: every LLM call it (or a\n"
	      "program it starts) makes through the system's OpenSSL is recorded.\n"
	      "`tokenguard -- bash` instruments a shell session.\n\n"
	      "  --tag KEY=VALUE   add a tag to every record (repeatable; merged with\n"
	      "                    $TOKENGUARD_TAGS, a --tag replacing the same key)\n"
	      "  --ledger DIR      the ledger directory (sets TOKENGUARD_LEDGER)\n"
	      "  --budget POLICY   a budget policy for this run, SCOPE,WINDOW,LIMIT,ACTION\n"
	      "                    (repeatable; added to $TOKENGUARD_BUDGETS)\n"
	      "  --summary         wait for COMMAND and print its run's calls, tokens and\n"
	      "                    cost on stderr (its records carry tokenguard_run=ID)\n"
	      "  --force           run a program the shim cannot see anyway\n"
	      "  -h, --help        this text\n"
	      "  -V, --version     print the version\n\n"
	      "The library is $TOKENGUARD_LIB, else ../lib/libtokenguard.so from this\n"
	      "program's directory, else libtokenguard.so beside it.\n"
	      "Exit status: COMMAND's own (128+N when killed by signal N); 126 when it\n"
	      "cannot be run, 127 when it is not found; 2 on a usage error.\n", f);
}

static int set(const char *name, const char *value)
{
	if (setenv(name, value, 1))
		return fail("cannot set %s: %s", name, strerror(errno));
	return 0;
}

struct run {
	const char *ledger;
	char tag_id[64];
	int64_t start_us;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct sum {
	struct tg_filter filter;
	struct tg_total total;
};

static int add_record(void *ctx, const struct tg_record *r)
{
	struct sum *s = ctx;
	struct tg_total t;

	if (!tg_filter_match(&s->filter, r))
		return 0;
	tg_total_of_record(r, &t);
	tg_total_sum(&s->total, &t);
	return 0;
}

/* The run's spend on stderr: the records tagged with its id. */
static void print_summary(const struct run *run)
{
	char dir[PATH_MAX], tag[96], money[TG_MONEY_MAX];
	struct sum s = { 0 };
	struct tg_ledger *l;
	int rc;

	if (run->ledger)
		snprintf(dir, sizeof dir, "%s", run->ledger);
	else if ((rc = tg_ledger_default_dir(dir, sizeof dir)) != 0) {
		fprintf(stderr, "tokenguard: summary: %s\n", tg_ledger_dir_problem(rc));
		return;
	}
	snprintf(tag, sizeof tag, "%s=%s", RUN_TAG, run->tag_id);
	s.filter.tag[0] = tag;
	s.filter.ntags = 1;
	rc = tg_ledger_open(&l, dir, TG_LEDGER_RDONLY);
	if (rc == TG_ENOENT) {
		fprintf(stderr, "tokenguard: summary: 0 LLM calls (%s)\n", tag);
		return;
	}
	if (rc == 0)
		rc = tg_ledger_scan(l, run->start_us - 1000000, INT64_MAX, add_record, &s);
	tg_ledger_close(l);
	if (rc) {
		fprintf(stderr, "tokenguard: summary: %s: %s\n", dir, tg_strerror(rc));
		return;
	}
	tg_money_text(s.total.usd_known, money, sizeof money);
	fprintf(stderr, "tokenguard: summary: %lld LLM call%s, %s%lld tokens, %s%s",
	        (long long)s.total.calls, s.total.calls == 1 ? "" : "s",
	        s.total.tokens_unknown ? "at least " : "", (long long)s.total.tokens,
	        tg_total_cost_unknown(&s.total) ? "at least " : "", money);
	if (tg_total_cost_unknown(&s.total))
		fprintf(stderr, " (%lld unpriced, %lld without usage)", (long long)s.total.unpriced,
		        (long long)s.total.usage_unknown);
	if (s.total.blocked)
		fprintf(stderr, ", %lld blocked by a budget", (long long)s.total.blocked);
	fprintf(stderr, " (%s)\n", tag);
}

static int exec_status(int err)
{
	return err == ENOENT ? 127 : 126;
}

static int run_and_wait(char **argv, const struct run *run)
{
	int status, err[1] = { 0 }, pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return fail("cannot start %s: %s", argv[0], strerror(errno));
	if ((pid = fork()) < 0)
		return fail("cannot start %s: %s", argv[0], strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		execvp(argv[0], argv);
		err[0] = errno;
		if (write(pfd[1], err, sizeof err) < 0)
			_exit(126);
		_exit(exec_status(errno));
	}
	close(pfd[1]);
	/* A terminal's ^C reaches the whole process group: the command decides
	 * what it means, the launcher waits to report. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	if (read(pfd[0], err, sizeof err) == (ssize_t)sizeof err)
		fprintf(stderr, "tokenguard: %s: %s\n", argv[0], strerror(err[0]));
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail("waiting for %s: %s", argv[0], strerror(errno));
	print_summary(run);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "ledger", required_argument, NULL, 'l' },
		{ "budget", required_argument, NULL, 'b' },
		{ "summary", no_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tags[TAGS_MAX_GIVEN + 1];
	char lib[PATH_MAX], tried[2 * PATH_MAX + 64], buf[8192], run_tag[96], why[4096];
	char *budgets = NULL;
	int ntags = 0, summary = 0, force = 0, c;
	struct run run = { 0 };
	enum tg_seen seen;
	FILE *mem;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (ntags == TAGS_MAX_GIVEN)
				return fail("more than %d --tag options; use fewer", TAGS_MAX_GIVEN);
			if (!strchr(optarg, '=') || *optarg == '=' || strchr(optarg, ','))
				return fail("--tag \"%s\" is not KEY=VALUE; use e.g. --tag team=search",
				            optarg);
			tags[ntags++] = optarg;
			break;
		case 'l':
			run.ledger = optarg;
			break;
		case 'b': {
			struct tg_policy p;
			char err[256];
			size_t old = budgets ? strlen(budgets) : 0;
			char *grown;

			if (tg_policy_parse(optarg, &p, err, sizeof err) ||
			    tg_policy_zone_ready(&p, err, sizeof err))
				return fail("--budget \"%s\": %s; see tokenguard-report --help, Budgets",
				            optarg, err);
			if (!(grown = realloc(budgets, old + strlen(optarg) + 2))) {
				free(budgets);
				return fail("out of memory");
			}
			budgets = grown;
			sprintf(budgets + old, "%s%s", old ? ";" : "", optarg);
			break;
		}
		case 's': summary = 1; break;
		case 'f': force = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tokenguard %s\n", TG_VERSION); return 0;
		case ':': return fail("%s needs a value; see --help", argv[optind - 1]);
		default: return fail("unknown option %s; see --help", argv[optind - 1]);
		}
	}
	argv += optind;
	if (!argv[0])
		return fail("no command given; use e.g. tokenguard -- python3 app.py");

	if (tg_libpath_find(lib, sizeof lib, tried, sizeof tried))
		return fail("libtokenguard.so not found (tried %s); run `make install`, or set "
		            "TOKENGUARD_LIB to its path", tried);

	/* The doctor's verdict, shown only when it refuses. */
	mem = fmemopen(why, sizeof why, "w");
	seen = tg_seen_program(argv[0], mem ? mem : stderr);
	if (mem)
		fclose(mem);
	if (seen == TG_SEEN_NOTFOUND) {
		fprintf(stderr, "tokenguard: %s: command not found\n", argv[0]);
		return 127;
	}
	if ((seen == TG_SEEN_NO || seen == TG_SEEN_INACTIVE) && !force) {
		fprintf(stderr, "tokenguard: the shim cannot see %s's LLM calls:\n%s"
		        "tokenguard: not run; pass --force to run it anyway\n", argv[0], why);
		return EXIT_USAGE;
	}

	if (tg_preload_append(getenv("LD_PRELOAD"), lib, buf, sizeof buf) < 0)
		return fail("LD_PRELOAD is too long to add %s; shorten it", lib);
	if (set("LD_PRELOAD", buf))
		return EXIT_USAGE;
	if (summary) {
		run.start_us = now_us();
		snprintf(run.tag_id, sizeof run.tag_id, "%lld-%ld", (long long)(run.start_us / 1000),
		         (long)getpid());
		snprintf(run_tag, sizeof run_tag, "%s=%s", RUN_TAG, run.tag_id);
		tags[ntags++] = run_tag;
	}
	if (ntags) {
		/* Over the tags in effect, the files' included: the variable
		 * set here hides them from the program. */
		if (tg_tags_merge(tg_setting(TG_SET_TAGS), tags, ntags, buf, sizeof buf) ||
		    strlen(buf) >= TG_TAGS_MAX)
			return fail("the tags are longer than %d bytes; use fewer or shorter --tag",
			            TG_TAGS_MAX - 1);
		if (set("TOKENGUARD_TAGS", buf))
			return EXIT_USAGE;
	}
	if (run.ledger && set("TOKENGUARD_LEDGER", run.ledger))
		return EXIT_USAGE;
	if (budgets) {
		const char *old = tg_setting(TG_SET_BUDGETS);

		if (old && *old) {
			if (snprintf(buf, sizeof buf, "%s;%s", old, budgets) >= (int)sizeof buf)
				return fail("TOKENGUARD_BUDGETS is too long; use fewer policies");
			free(budgets);
			budgets = strdup(buf);
		}
		if (!budgets || set("TOKENGUARD_BUDGETS", budgets))
			return EXIT_USAGE;
		free(budgets);
	}
	if (summary)
		return run_and_wait(argv, &run);
	execvp(argv[0], argv);
	fprintf(stderr, "tokenguard: %s: %s\n", argv[0], strerror(errno));
	return exec_status(errno);
}
