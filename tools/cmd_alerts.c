/* cmd_alerts.c - `tokenguard-report alerts`: the budget and price alerts
 * of the ledger brought to a person.  Printed (a table, JSON, JSON
 * Lines), followed as they are recorded (--follow), or delivered, each
 * once, to a command (--exec CMD, the alert in its environment) or a
 * webhook (--webhook URL, Slack-compatible or JSON).
 *
 * What is delivered: every alert but the repeats of a blocked call (the
 * ledger marks every blocked call after the first of its policy and
 * window a repeat, ledger_budget.h), so a loop hitting a limit is one
 * message, not one per call.
 *
 * Once: a delivering consumer keeps a watermark in the ledger
 * (ledger_watermark.h) named by --name, by default "alerts-exec-HASH" or
 * "alerts-webhook-HASH", HASH the FNV-1a 64 of the command or URL, so
 * that two consumers with different targets each get every alert.  It
 * moves after each alert delivered, in key (time) order, so a restart
 * delivers nothing twice and misses nothing: an alert recorded while no
 * consumer ran is delivered at its next start; one committed late (a
 * spool folded after later alerts) is found by looking an hour back, at
 * start and every minute of a follow.  Failures: a command that exits
 * non-zero or runs over EXEC_TIMEOUT_S, a webhook that answers non-2xx
 * or not at all, is retried after 1, 2, 4, 8 and 16 s; after the sixth
 * failure the alert is given up: said on stderr with its whole text, and
 * marked handled so that the alerts after it are not held up behind it
 * for ever.  SIGINT or SIGTERM end a follow (exit 0) without marking the
 * alert being retried, which the next start delivers.
 *
 * Polling: every POLL_MS the alerts after the last key seen are read
 * (one read transaction, a cursor from that key); the watermark is written
 * after each delivery and otherwise at most once a minute, with a fold of
 * the spools at each look back (an alert spooled by a process is in no
 * read until then; printing, read-only, waits for another writer's fold).
 * The ledger may not exist yet: a follow waits for it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alert_list.h"
#include "alert_text.h"
#include "emit.h"
#include "fnv.h"
#include "http.h"
#include "ledger_watermark.h"
#include "report.h"
#include "stop.h"

extern char **environ;

#define POLL_MS 500
#define LOOKBACK_POLLS 120          /* a minute of polls */
#define BATCH 256                   /* alerts read per transaction */
#define ATTEMPTS 6                  /* the first, then retries after 1, 2, 4, 8, 16 s */
#define EXEC_TIMEOUT_S 60
#define WEBHOOK_CONNECT_S 10L
#define WEBHOOK_TIMEOUT_S 20L

struct pending {
	unsigned char key[16];
	struct tg_alert a;
};

struct consumer {
	const struct tg_report *rep;
	struct tg_ledger *l;
	char name[72];              /* watermark; "" when printing */
	struct tg_watermark wm;     /* stored when delivering; in memory when printing */
	int dirty;                  /* wm moved and not stored yet */
	unsigned char cursor[16];   /* the last key read */
	int has_cursor;
	struct pending batch[BATCH];
	int n;
	long delivered, given_up;
};

/* ---- delivery ---- */

/* The environment of the command: ours without any TOKENGUARD_ALERT_*
 * (a field the alert does not know must be unset, not inherited), then
 * the alert's.  Returns a NULL-terminated array (free_env it) or NULL. */
static char **alert_environ(const unsigned char *key, const struct tg_alert *a, int *nvars)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + TG_ALERT_ENV_MAX + 1, sizeof *env)))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], TG_ALERT_ENV_PREFIX, sizeof TG_ALERT_ENV_PREFIX - 1))
			env[k++] = environ[i];
	if ((*nvars = tg_alert_env(key, a, env + k)) < 0) {
		free(env);
		return NULL;
	}
	return env;
}

static void free_env(char **env, int nvars)
{
	size_t k = 0;

	while (env[k])
		k++;
	for (int i = 0; i < nvars; i++)
		free(env[k - 1 - (size_t)i]);
	free(env);
}

/* Runs /bin/sh -c cmd in a process group of its own, stdin /dev/null,
 * waits for it (at most EXEC_TIMEOUT_S, then the group is killed).
 * Returns 0 when it exited 0, else -1 with why. */
static int run_command(const char *cmd, char **env, char *why, size_t n)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int status, rc;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	/* SIGPIPE is ignored here (a reader gone is EPIPE): the command gets
	 * it back, or its pipelines would not end as a shell's do. */
	sigset_t dflt;

	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigdefault(&at, &dflt);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc) {
		snprintf(why, n, "cannot run /bin/sh: %s", strerror(rc));
		return -1;
	}
	/* Its time is counted in 50 ms steps; a stop signal does not cut it
	 * short: the command is left to finish its delivery. */
	for (int waited = 0;; waited += 50) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		struct timespec t = { 0, 50000000L };

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			snprintf(why, n, "lost the command: %s", strerror(errno));
			return -1;
		}
		if (waited >= EXEC_TIMEOUT_S * 1000) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			snprintf(why, n, "still running after %d s: killed", EXEC_TIMEOUT_S);
			return -1;
		}
		nanosleep(&t, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(why, n, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(why, n, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

static int deliver_exec(const struct tg_report *rep, const struct pending *p, char *why, size_t n)
{
	int nvars = 0, rc;
	char **env = alert_environ(p->key, &p->a, &nvars);

	if (!env) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	fflush(NULL);   /* its output follows ours */
	rc = run_command(rep->alert_exec, env, why, n);
	free_env(env, nvars);
	return rc;
}

static int deliver_webhook(const struct tg_report *rep, const struct pending *p, char *why,
                           size_t n)
{
	struct tg_http_answer ans;
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	int rc;

	if (!f) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	if (rep->webhook_json)
		tg_alert_json(f, p->key, &p->a);
	else
		tg_alert_slack(f, &p->a);
	if (fclose(f)) {
		free(body);
		snprintf(why, n, "out of memory");
		return -1;
	}
	rc = tg_http_post_json(rep->webhook, body, len, WEBHOOK_CONNECT_S, WEBHOOK_TIMEOUT_S, &ans);
	free(body);
	if (rc < 0)
		snprintf(why, n, "%s", ans.error);
	else if (rc > 0)
		snprintf(why, n, "answered HTTP %ld", ans.status);
	return rc ? -1 : 0;
}

static void print_alert(const struct tg_report *rep, const struct pending *p)
{
	if (rep->format == TG_FMT_TABLE) {
		tg_alert_list_row(rep->out, &p->a);
	} else {
		tg_alert_json(rep->out, p->key, &p->a);
		putc('\n', rep->out);
	}
	fflush(rep->out);
}

static int delivering(const struct tg_report *rep)
{
	return rep->alert_exec || rep->webhook;
}

/* Delivers p, retrying with backoff.  Returns 0 delivered, 1 given up
 * (said), -1 stopped by a signal before it was delivered. */
static int deliver(struct consumer *c, const struct pending *p)
{
	const struct tg_report *rep = c->rep;
	char why[512], message[TG_ALERT_MESSAGE_MAX], id[33];
	long backoff_ms = 1000;

	if (!delivering(rep)) {
		print_alert(rep, p);
		return 0;
	}
	for (int attempt = 1;; attempt++, backoff_ms *= 2) {
		int rc = rep->alert_exec ? deliver_exec(rep, p, why, sizeof why)
		                         : deliver_webhook(rep, p, why, sizeof why);

		if (rc == 0)
			return 0;
		for (int i = 0; i < 16; i++)
			snprintf(id + 2 * i, 3, "%02x", p->key[i]);
		if (attempt == ATTEMPTS) {
			tg_alert_message(&p->a, message, sizeof message);
			fprintf(rep->err, "tokenguard-report: alerts: %s %s (attempt %d of %d); giving up "
			        "on alert %s, marked handled so that the next ones go on: %s\n",
			        rep->alert_exec ? "the command" : rep->webhook, why, attempt, ATTEMPTS,
			        id, message);
			return 1;
		}
		fprintf(rep->err, "tokenguard-report: alerts: %s %s (attempt %d of %d); alert %s "
		        "retried in %ld s\n", rep->alert_exec ? "the command" : rep->webhook, why,
		        attempt, ATTEMPTS, id, backoff_ms / 1000);
		if (tg_stop_nap_ms(backoff_ms))
			return -1;
	}
}

/* ---- the watermark ---- */

/* The watermark name: --name, else the kind of target and its hash. */
static void watermark_name(const struct tg_report *rep, char *buf, size_t n)
{
	const char *target = rep->alert_exec ? rep->alert_exec : rep->webhook;
	uint64_t h;

	if (rep->alert_name) {
		snprintf(buf, n, "%s", rep->alert_name);
		return;
	}
	h = tg_fnv1a_str(TG_FNV1A_INIT, target);
	snprintf(buf, n, "alerts-%s-%016llx", rep->alert_exec ? "exec" : "webhook",
	         (unsigned long long)h);
}

static void store(struct consumer *c)
{
	int rc;

	if (!c->dirty || !c->name[0])
		return;
	if ((rc = tg_watermark_store(c->l, c->name, &c->wm)) != 0) {
		fprintf(c->rep->err, "tokenguard-report: alerts: %s: cannot store the watermark %s "
		        "(%s); tried again at the next poll, and a restart before that delivers "
		        "the last ones again\n", c->rep->dir, c->name, tg_strerror(rc));
		return;
	}
	c->dirty = 0;
}

/* ---- reading ---- */

static int collect(void *ctx, const unsigned char key[16], const struct tg_alert *a)
{
	struct consumer *c = ctx;

	memcpy(c->batch[c->n].key, key, 16);
	c->batch[c->n].a = *a;
	return ++c->n == BATCH;
}

/* Handles one read alert: delivered, passed over, or already done.
 * Returns what deliver() returns (0 for the others). */
static int handle(struct consumer *c, const struct pending *p)
{
	int rc;

	if (tg_watermark_delivered(&c->wm, p->key))
		return 0;
	if (p->a.repeat == 1 || p->a.ts_us < c->rep->since_us || p->a.ts_us >= c->rep->until_us) {
		tg_watermark_pass(&c->wm, p->key);
		c->dirty = 1;
		return 0;
	}
	if ((rc = deliver(c, p)) < 0)
		return rc;
	if (tg_watermark_advance(&c->wm, p->key, 1) != 0) {
		/* Out of memory: the key is at least passed, never delivered twice
		 * by this run; a restart may deliver it again. */
		tg_watermark_pass(&c->wm, p->key);
	}
	c->dirty = 1;
	if (rc == 0)
		c->delivered++;
	else
		c->given_up++;
	store(c);
	return rc;
}

/* Reads and handles what is new: after the cursor, or (lookback) from an
 * hour before the watermark.  Returns 0, -1 when stopped, or
 * TG_EXIT_FAIL after saying why. */
static int poll_once(struct consumer *c, int lookback)
{
	const int persist = lookback;

	/* An alert a process spooled (the writer lock busy, a slow disk) is
	 * in no read until a write folds it: a consumer that can write folds
	 * the spools itself when it looks back, if the lock is free at once. */
	if (lookback && delivering(c->rep))
		tg_ledger_try_fold(c->l);
	for (;;) {
		unsigned char from[16];
		int rc;

		if (lookback || !c->has_cursor) {
			unsigned char since[16];

			tg_watermark_scan_from(&c->wm, from);
			tg_key_at(c->rep->since_us, since);
			if (memcmp(since, from, 16) > 0)
				memcpy(from, since, 16);
		} else {
			memcpy(from, c->cursor, 16);
		}
		c->n = 0;
		/* from is never a key (pid 0), or the cursor, already read */
		rc = tg_ledger_alerts_after(c->l, from, 1, collect, c);
		if (rc < 0)
			return tg_report_ledger_fail(c->rep, rc);
		for (int i = 0; i < c->n; i++) {
			if (!c->has_cursor || memcmp(c->batch[i].key, c->cursor, 16) > 0) {
				memcpy(c->cursor, c->batch[i].key, 16);
				c->has_cursor = 1;
			}
			if ((rc = handle(c, &c->batch[i])) < 0)
				return -1;
		}
		/* Alerts passed over move the mark too; kept once a minute, not
		 * at every poll a loop of blocked calls adds repeats to. */
		if (persist)
			store(c);
		if (c->n < BATCH)
			return 0;
		lookback = 0;   /* the rest: after the last one read */
	}
}

/* Opens the ledger: read-only to print, for writing (the watermark) to
 * deliver.  Returns 0, 1 when it does not exist yet, or TG_EXIT_FAIL. */
static int open_ledger(struct consumer *c)
{
	int rc = tg_ledger_open(&c->l, c->rep->dir, delivering(c->rep) ? 0 : TG_LEDGER_RDONLY);

	if (rc == TG_ENOENT) {
		c->l = NULL;
		return 1;
	}
	if (rc)
		return tg_report_dir_fail(c->rep, rc);
	if (c->name[0] && (rc = tg_watermark_load(c->l, c->name, &c->wm)) != 0)
		return tg_report_dir_fail(c->rep, rc);
	return 0;
}

static int follow(struct consumer *c)
{
	int rc = 0;

	tg_stop_on_signals();
	if (!delivering(c->rep) && c->rep->format == TG_FMT_TABLE) {
		tg_alert_list_head(c->rep->out);
		fflush(c->rep->out);
	}
	for (long polls = 0; !tg_stop_signal; polls++) {
		if (!c->l && (rc = open_ledger(c)) != 0) {
			if (rc != 1)
				return rc;
			rc = 0;
			polls = -1;   /* a first look back once it exists */
		} else if ((rc = poll_once(c, polls % LOOKBACK_POLLS == 0)) != 0) {
			if (rc < 0)
				rc = 0;
			break;
		}
		if (ferror(c->rep->out))
			break;   /* the reader went away: that ends a follow */
		tg_stop_nap_ms(POLL_MS);
	}
	return rc;
}

/* ---- the command ---- */

static int check_options(const struct tg_report *rep)
{
	const char *n = rep->alert_name;

	if (rep->alert_exec && rep->webhook)
		return tg_report_fail(rep, "--exec and --webhook both deliver the alerts; use one "
		                      "(run two `alerts` for both)");
	if (rep->webhook_format && !rep->webhook)
		return tg_report_fail(rep, "--webhook-format applies to --webhook only; drop it");
	if (rep->webhook && strncmp(rep->webhook, "http://", 7) && strncmp(rep->webhook, "https://", 8))
		return tg_report_fail(rep, "--webhook \"%s\" is not an http:// or https:// URL",
		                      rep->webhook);
	if (rep->alert_exec && !*rep->alert_exec)
		return tg_report_fail(rep, "--exec needs a command; use e.g. --exec 'notify-send "
		                      "\"$TOKENGUARD_ALERT_MESSAGE\"'");
	if (n && !delivering(rep))
		return tg_report_fail(rep, "--name names the watermark of --exec or --webhook; add "
		                      "one of those or drop it");
	if (n && (!*n || strlen(n) > 48 || strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                           "0123456789._-") != strlen(n) || !strcmp(n, "otlp")))
		return tg_report_fail(rep, "--name \"%s\": 1 to 48 letters, digits, '.', '_' or '-' "
		                      "(and not otlp, export's); use e.g. --name pager", n);
	if (delivering(rep) && rep->format_given)
		return tg_report_fail(rep, "--format applies to printing; --exec and --webhook get "
		                      "the alert in their own form: drop it");
	if ((rep->follow || delivering(rep)) && rep->until_us != INT64_MAX)
		return tg_report_fail(rep, "--until applies to printing the alerts of a period; "
		                      "drop it with --follow, --exec or --webhook");
	if (rep->follow && rep->format == TG_FMT_JSON)
		return tg_report_fail(rep, "--follow writes one alert per line: jsonl or table; "
		                      "drop --format json");
	return 0;
}

int tg_cmd_alerts(const struct tg_report *rep, struct tg_ledger *unused)
{
	struct consumer *c;
	int rc;

	(void)unused;
	if ((rc = check_options(rep)) != 0)
		return rc;
	if (!(c = calloc(1, sizeof *c)))
		return tg_report_fail(rep, "out of memory");
	c->rep = rep;
	if (delivering(rep))
		watermark_name(rep, c->name, sizeof c->name);
	signal(SIGPIPE, SIG_IGN);   /* a reader gone is EPIPE, an exit 0 */
	if (rep->webhook && curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(c);
		return tg_report_fail(rep, "cannot start libcurl");
	}
	if (rep->follow) {
		rc = follow(c);
	} else if ((rc = open_ledger(c)) == 1) {
		rc = delivering(rep) ? 0 : tg_report_fail(rep, "%s: no ledger yet, so no alert; "
		                                          "--follow waits for one", rep->dir);
	} else if (rc == 0) {
		rc = delivering(rep) ? poll_once(c, 1) : tg_alert_list(rep, c->l, 0);
		if (rc < 0)
			rc = 0;
	}
	if (delivering(rep) && !rep->follow && rc == 0) {
		fprintf(rep->err, "tokenguard-report: alerts: %ld delivered, %ld given up\n",
		        c->delivered, c->given_up);
		if (c->given_up)
			rc = 1;
	}
	if (rep->webhook)
		curl_global_cleanup();
	tg_ledger_close(c->l);
	tg_watermark_free(&c->wm);
	free(c);
	return rc;
}
