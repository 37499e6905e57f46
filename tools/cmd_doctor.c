/* cmd_doctor.c - `tokenguard-report doctor [-- COMMAND | --pid PID]`:
 * whether the shim will see a program (seen.h), whether a running
 * process has it loaded and is recorded, and the state of the
 * installation (library, ledger, price table, budgets setting, the
 * fleet's sync state, the configuration files and every setting with
 * where it comes from; a Redis password shown as ***).
 * Each finding says what to do; exit 1 when one needs attention. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "files.h"
#include "ledger_budget.h"
#include "ledger_fleet.h"
#include "ledger_watermark.h"
#include "libpath.h"
#include "price.h"
#include "report.h"
#include "seen.h"
#include "settings.h"
#include "spend_rule.h"
#include "spool.h"
#include "secret_text.h"
#include "sync_pg.h"
#include "sync_redis.h"
#include "when.h"
#include "zones.h"

#define MODELS_SHOWN 8
#define HOUR_US INT64_C(3600000000)

struct scan {
	int64_t count, last_us;
	int32_t pid;              /* --pid: its records are counted in pid_count */
	int64_t since_pid_us, pid_count;
	char models[MODELS_SHOWN][TG_PROVIDER_MAX + TG_MODEL_MAX + 2];
	int nmodels, more_models;
};

static int each(void *ctx, const struct tg_record *r)
{
	struct scan *s = ctx;
	char name[sizeof s->models[0]];

	s->count++;
	if (r->ts_us > s->last_us)
		s->last_us = r->ts_us;
	if (s->pid && r->pid == s->pid && r->ts_us >= s->since_pid_us)
		s->pid_count++;
	if (!(r->flags & TG_REC_UNPRICED) || !tg_record_sent(r))
		return 0;
	snprintf(name, sizeof name, "%s/%s", r->provider, r->model);
	for (int i = 0; i < s->nmodels; i++)
		if (!strcmp(s->models[i], name))
			return 0;
	if (s->nmodels < MODELS_SHOWN)
		strcpy(s->models[s->nmodels++], name);
	else
		s->more_models = 1;
	return 0;
}

/* Spool files waiting to be folded, and their bytes. */
static void spools(const struct tg_report *rep, int *attention)
{
	char path[PATH_MAX];
	int64_t files = 0, bytes = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof path, "%s/%s", rep->dir, TG_SPOOL_DIR);
	if (!(dir = opendir(path))) {
		fprintf(rep->out, "  spools: none pending\n");
		return;
	}
	while ((d = readdir(dir))) {
		struct stat st;

		if (!tg_spool_name_valid(d->d_name) || fstatat(dirfd(dir), d->d_name, &st, 0) ||
		    !st.st_size)
			continue;
		files++;
		bytes += st.st_size;
	}
	closedir(dir);
	fprintf(rep->out, "  spools: %lld file%s pending, %lld bytes%s\n", (long long)files,
	        files == 1 ? "" : "s", (long long)bytes,
	        files ? " (folded by the next write or report; normal while programs run)" : "");
}

static void ledger_state(const struct tg_report *rep, struct scan *s, int *attention)
{
	char path[PATH_MAX], when[TG_WHEN_ISO_MAX];
	struct tg_ledger *l;
	struct stat st;
	int rc;

	fprintf(rep->out, "ledger: %s\n", rep->dir);
	if (lstat(rep->dir, &st)) {
		fprintf(rep->out, "  missing: no ledger yet; it is created by the first recorded "
		        "call (run a program under the shim)\n");
		*attention = 1;
		return;
	}
	fprintf(rep->out, "  directory: owner uid %u, mode %04o\n", (unsigned)st.st_uid,
	        (unsigned)(st.st_mode & 07777));
	if (tg_dir_check(&st)) {
		fprintf(rep->out, "  unsafe: the directory must be a real directory of uid %u that "
		        "group and others cannot write; the shim will not use it: chown it to "
		        "you and chmod 700 it\n", (unsigned)geteuid());
		*attention = 1;
	}
	snprintf(path, sizeof path, "%s/data.mdb", rep->dir);
	if (!stat(path, &st))
		fprintf(rep->out, "  data.mdb: %lld bytes, owner uid %u, mode %04o\n",
		        (long long)st.st_size, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	rc = tg_ledger_open(&l, rep->dir, TG_LEDGER_RDONLY);
	if (rc) {
		fprintf(rep->out, "  cannot open: %s; %s\n", tg_strerror(rc),
		        rc == TG_ENOENT ? "it is created by the first recorded call" :
		        rc == TG_ECORRUPT ? "run 'tokenguard-report verify', then 'repair'" :
		        rc == TG_ESCHEMA ? "use the newer tokenguard-report that wrote it" :
		        "fix the owner and mode (chmod 700 DIR, 600 files)");
		*attention = 1;
		return;
	}
	fprintf(rep->out, "  schema: %d (this version's)\n", TG_LEDGER_SCHEMA);
	rc = tg_ledger_scan(l, 0, INT64_MAX, each, s);
	tg_ledger_close(l);
	if (rc) {
		fprintf(rep->out, "  cannot read every record: %s; run 'tokenguard-report verify'\n",
		        tg_strerror(rc));
		*attention = 1;
	}
	fprintf(rep->out, "  records: %lld\n", (long long)s->count);
	if (s->count) {
		tg_when_iso(s->last_us, when);
		fprintf(rep->out, "  last record: %s\n", when);
	}
	spools(rep, attention);
	for (int i = 0; i < s->nmodels; i++)
		fprintf(rep->out, "  unpriced model: %s; its calls cost $0 in the sums: add its "
		        "price to a price file (README, Prices)\n", s->models[i]);
	if (s->more_models)
		fprintf(rep->out, "  more unpriced models: see 'tokenguard-report --by model'\n");
	if (s->nmodels)
		*attention = 1;
}

static void prices_state(const struct tg_report *rep, int *attention)
{
	struct tg_prices *t;
	long age;

	if (tg_report_load_prices(rep, &t, "doctor")) {
		*attention = 1;
		return;
	}
	age = tg_prices_age_days(tg_prices_date(t), rep->now_us);
	fprintf(rep->out, "price table: %s, dated %s", *tg_prices_version(t) ?
	        tg_prices_version(t) : "(no version)", *tg_prices_date(t) ? tg_prices_date(t) :
	        "(no date)");
	if (age >= 0)
		fprintf(rep->out, " (%ld day%s old)", age, age == 1 ? "" : "s");
	fputc('\n', rep->out);
	if (age < 0 || age > TG_PRICES_STALE_DAYS) {
		fprintf(rep->out, "  stale: prices may have changed; check the ones you use and "
		        "put what changed in a price file (README, Prices)\n");
		*attention = 1;
	}
	if (tg_report_prices_file())
		fprintf(rep->out, "  user price file: %s\n", tg_report_prices_file());
	tg_prices_free(t);
}

static void budgets_state(const struct tg_report *rep, int *attention)
{
	struct tg_policy p[32];
	char err[256], line[TG_POLICY_LINE_MAX], where[PATH_MAX + 32];
	int src, n = 0;
	const char *env = tg_setting_origin(TG_SET_BUDGETS, &src, where, sizeof where);

	if (!env || !*env) {
		fprintf(rep->out, "environment policies: none (no TOKENGUARD_BUDGETS, no budgets "
		        "in a configuration file)\n");
		return;
	}
	if (tg_policies_parse_env(env, p, 32, &n, err, sizeof err)) {
		fprintf(rep->out, "environment policies: %s%s: %s; fix it (the shim ignores every "
		        "policy of a setting it cannot parse)\n", where,
		        src == TG_SRC_ENV ? "" : " (budgets)", err);
		*attention = 1;
		return;
	}
	fprintf(rep->out, "environment policies: %d%s%s%s\n", n, src == TG_SRC_ENV ? "" : " (from ",
	        src == TG_SRC_ENV ? "" : where, src == TG_SRC_ENV ? "" : ")");
	for (int i = 0; i < n; i++) {
		if (tg_policy_format(&p[i], line, sizeof line) < 0)
			continue;
		if (tg_policy_zone_ready(&p[i], err, sizeof err)) {
			fprintf(rep->out, "  %s: %s; the shim refuses this policy\n", line, err);
			*attention = 1;
		} else {
			fprintf(rep->out, "  %s\n", line);
		}
	}
}

/* A Redis URL with its password (between "//" and '@') shown as ***. */
static void ago(const struct tg_report *rep, int64_t us)
{
	char when[TG_WHEN_ISO_MAX];

	tg_when_iso(us, when);
	fprintf(rep->out, "%s (%.1f s ago)", when, (double)(rep->now_us - us) / 1e6);
}

/* The fleet's sync (sync_redis.h, ledger_fleet.h): its fleet policies,
 * the Redis configured, and the state the last `sync` round left. */
static void fleet_state(const struct tg_report *rep, int *attention)
{
	static struct tg_policy p[TG_STORED_POLICIES_MAX + TG_ENV_POLICIES_MAX];
	const char *url = tg_setting(TG_SET_FLEET_REDIS);
	struct tg_fleet_sync st = { 0 };
	struct tg_ledger *l;
	char err[256], shown[TG_FLEET_WHERE_MAX];
	int n = 0, has = 0;

	if (tg_ledger_open(&l, rep->dir, TG_LEDGER_RDONLY) != 0)
		return;   /* said under ledger */
	n = tg_sync_fleet_policies(l, p, (int)(sizeof p / sizeof p[0]), err, sizeof err);
	if (tg_fleet_sync_get(l, &st, &has) != 0)
		has = 0;
	tg_ledger_close(l);
	if (n <= 0 && !has) {
		fprintf(rep->out, "fleet sync: no fleet policies\n");
		return;
	}
	fprintf(rep->out, "fleet sync: %d fleet scope%s\n", n > 0 ? n : 0, n == 1 ? "" : "s");
	if (url && *url) {
		tg_conninfo_masked(url, shown, sizeof shown);
		fprintf(rep->out, "  redis: %s (fleet_redis)\n", shown);
	} else if (n > 0) {
		fprintf(rep->out, "  redis: none: set fleet_redis (TOKENGUARD_FLEET_REDIS) for "
		        "`tokenguard-report sync`\n");
		*attention = 1;
	}
	if (!has) {
		fprintf(rep->out, "  never synced: fleet policies count this machine's spend only "
		        "(TOKENGUARD_FAIL=open) or refuse every call (closed); run "
		        "`tokenguard-report sync --follow` (contrib/systemd/tokenguard-sync.service)\n");
		*attention = 1;
		return;
	}
	if (st.interval_us)
		fprintf(rep->out, "  last sync with: %s, every %.3g s; totals fresh for %.3g s\n",
		        st.where, (double)st.interval_us / 1e6, (double)st.fresh_us / 1e6);
	else
		fprintf(rep->out, "  last sync with: %s, one-shot; totals fresh for %.3g s\n", st.where,
		        (double)st.fresh_us / 1e6);
	fprintf(rep->out, "  last success: ");
	if (st.last_ok_us)
		ago(rep, st.last_ok_us);
	else
		fputs("never", rep->out);
	fprintf(rep->out, "\n  last attempt: ");
	ago(rep, st.last_try_us);
	fputc('\n', rep->out);
	if (st.error[0])
		fprintf(rep->out, "  last error: %s\n", st.error);
	if (n > 0 && (!st.last_ok_us || rep->now_us - st.last_ok_us > st.fresh_us)) {
		fprintf(rep->out, "  stale: the fleet's totals are older than %.3g s: fleet policies "
		        "count this machine's spend only (TOKENGUARD_FAIL=open) or refuse calls "
		        "(closed); check that `tokenguard-report sync --follow` runs and reaches Redis\n",
		        (double)st.fresh_us / 1e6);
		*attention = 1;
	}
}

struct pending_count {
	const struct tg_watermark *wm;
	long n;
};

static int count_pending(void *ctx, const unsigned char key[16], const struct tg_record *r)
{
	struct pending_count *c = ctx;

	(void)r;
	c->n += !tg_watermark_delivered(c->wm, key);
	return 0;
}

/* The records' push to the fleet's PostgreSQL (sync_pg.h): where to, how
 * far it got (the watermark), and how many committed records wait. */
static void fleet_records_state(const struct tg_report *rep, int *attention)
{
	const char *conninfo = tg_setting(TG_SET_FLEET_POSTGRES);
	struct tg_watermark wm = { 0 };
	struct pending_count c = { &wm, 0 };
	unsigned char from[16];
	struct tg_ledger *l;
	char shown[512];
	int rc;

	if (!conninfo || !*conninfo)
		return;
	tg_conninfo_masked(conninfo, shown, sizeof shown);
	fprintf(rep->out, "fleet records: postgres %s (fleet_postgres)\n", shown);
	if (tg_ledger_open(&l, rep->dir, TG_LEDGER_RDONLY) != 0)
		return;   /* said under ledger */
	rc = tg_watermark_load(l, TG_SYNC_PG_WATERMARK, &wm);
	if (rc == 0) {
		tg_watermark_scan_from(&wm, from);
		rc = tg_ledger_scan_after(l, from, wm.has, count_pending, &c);
	}
	tg_ledger_close(l);
	if (rc != 0) {
		fprintf(rep->out, "  cannot read what was sent: %s\n", tg_strerror(rc));
		*attention = 1;
	} else if (!wm.has) {
		fprintf(rep->out, "  never sent: %ld record%s wait; run `tokenguard-report sync --init` "
		        "once, then `sync --follow` (contrib/systemd/tokenguard-sync.service)\n",
		        c.n, c.n == 1 ? "" : "s");
		*attention = c.n > 0;
	} else {
		fprintf(rep->out, "  sent: every record up to ");
		ago(rep, tg_key_ts(wm.key));
		fprintf(rep->out, "; %ld committed record%s not sent yet\n", c.n, c.n == 1 ? "" : "s");
	}
	tg_watermark_free(&wm);
}

/* The configuration files, then every setting in effect and where it
 * comes from. */
static void settings_state(const struct tg_report *rep, int *attention)
{
	static const char *const source[] = {
		[TG_SRC_DEFAULT] = "default", [TG_SRC_ENV] = "environment",
		[TG_SRC_USER] = "user file", [TG_SRC_SYSTEM] = "system file",
	};
	char where[PATH_MAX + 32], text[PATH_MAX + 256];

	fprintf(rep->out, "configuration files:\n");
	for (int w = TG_CONF_SYSTEM; w <= TG_CONF_USER; w++) {
		const char *why, *path = tg_settings_file_path(w);
		int state = tg_settings_file_state(w, &why), n = tg_settings_problems(w);

		fprintf(rep->out, "  %s file: %s", w == TG_CONF_SYSTEM ? "system" : "user",
		        *path ? path : "(none: no HOME)");
		if (state == TG_CONF_READ)
			fprintf(rep->out, " (read%s)\n", n ? "; lines skipped below" : "");
		else if (state == TG_CONF_ABSENT)
			fprintf(rep->out, " (absent%s)\n", w == TG_CONF_USER ?
			        ": `tokenguard-report init` writes one" : "");
		else if (state == TG_CONF_UNREAD)
			fprintf(rep->out, " (not read in a setuid program)\n");
		else
			fprintf(rep->out, "\n    unsafe: %s\n", why);
		for (int i = 0; i < n && !tg_settings_problem(w, i, text, sizeof text); i++)
			fprintf(rep->out, "    %s: fix or remove it\n", text);
		if (n > TG_SETTINGS_PROBLEMS_KEPT)
			fprintf(rep->out, "    and %d more lines skipped\n", n - TG_SETTINGS_PROBLEMS_KEPT);
		if (state == TG_CONF_REFUSED || n)
			*attention = 1;
	}
	fprintf(rep->out, "settings:\n");
	for (int i = 0; i < TG_SET_COUNT; i++) {
		const struct tg_setting_def *d = &tg_settings_table[i];
		int src;
		const char *v = tg_setting_origin(i, &src, where, sizeof where);

		if (src == TG_SRC_DEFAULT)
			fprintf(rep->out, "  %s: %s (default)\n", d->key, d->shown);
		else if (!*v)
			fprintf(rep->out, "  %s: %s (the default: empty in %s %s)\n", d->key, d->shown,
			        source[src], where);
		else {
			/* the fleet's servers may be given with a password */
			tg_conninfo_masked(v, text, sizeof text);
			fprintf(rep->out, "  %s = %s (%s %s)\n", d->key,
			        i == TG_SET_FLEET_REDIS || i == TG_SET_FLEET_POSTGRES ? text : v,
			        source[src], where);
		}
		if (!tg_setting_valid(i, v)) {
			fprintf(rep->out, "    invalid: expected %s; the default applies: fix it\n",
			        d->flags & TG_SETTING_BOOL ? "1/0, true/false, yes/no or on/off" :
			        d->choices);
			*attention = 1;
		}
	}
}

static void library_state(const struct tg_report *rep, int *attention)
{
	char lib[PATH_MAX], tried[2 * PATH_MAX + 64];

	if (tg_libpath_find(lib, sizeof lib, tried, sizeof tried)) {
		fprintf(rep->out, "library: not found (tried %s); run 'make install', or set "
		        "TOKENGUARD_LIB\n", tried);
		*attention = 1;
	} else {
		fprintf(rep->out, "library: %s\n", lib);
	}
}

/* The TOKENGUARD_LEDGER the process was started with (a process of the
 * same user: /proc/PID/environ is closed to others), into buf.  Returns 0,
 * or -1 when it has none or it cannot be read. */
static int process_ledger(long pid, char *buf, size_t n)
{
	static const char var[] = "TOKENGUARD_LEDGER=";
	char path[64], env[65536];
	size_t got;
	int rc = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/environ", pid);
	if (!(f = fopen(path, "re")))
		return -1;
	got = fread(env, 1, sizeof env - 1, f);
	fclose(f);
	env[got] = '\0';
	for (size_t at = 0; at < got; at += strlen(env + at) + 1)
		if (!strncmp(env + at, var, sizeof var - 1) && env[at + sizeof var - 1])
			rc = snprintf(buf, n, "%s", env + at + sizeof var - 1) < (int)n ? 0 : -1;
	return rc;
}

/* --pid: the shim and libssl in its maps, its records of the last hour. */
static int process_state(const struct tg_report *rep, int *attention)
{
	char path[64], line[PATH_MAX + 128], shim[PATH_MAX] = "", ssl[4][PATH_MAX];
	struct scan s = { 0 };
	char own[PATH_MAX];
	const char *ledger;
	struct tg_ledger *l;
	int nssl = 0;
	char *end;
	long pid = strtol(rep->pid, &end, 10);
	FILE *f;

	if (*end || pid <= 0 || pid > INT32_MAX)
		return tg_report_fail(rep, "--pid \"%s\" is not a process id; use e.g. --pid 1234",
		                      rep->pid);
	snprintf(path, sizeof path, "/proc/%ld/maps", pid);
	if (!(f = fopen(path, "re")))
		return tg_report_fail(rep, "process %ld: %s; check the id (and run as its user)", pid,
		                      strerror(errno));
	while (fgets(line, sizeof line, f)) {
		char *file = strchr(line, '/');

		if (!file)
			continue;
		file[strcspn(file, "\n")] = '\0';
		if (strstr(file, "/libtokenguard.so"))
			snprintf(shim, sizeof shim, "%s", file);
		if (strstr(file, "/libssl.so")) {
			int dup = 0;

			for (int i = 0; i < nssl; i++)
				dup |= !strcmp(ssl[i], file);
			if (!dup && nssl < 4)
				snprintf(ssl[nssl++], sizeof ssl[0], "%s", file);
		}
	}
	fclose(f);
	fprintf(rep->out, "process %ld:\n", pid);
	if (*shim) {
		fprintf(rep->out, "  shim: %s is loaded\n", shim);
	} else {
		fprintf(rep->out, "  shim: not loaded; start the program with 'tokenguard -- "
		        "COMMAND' (a running process cannot be instrumented)\n");
		*attention = 1;
	}
	for (int i = 0; i < nssl; i++)
		fprintf(rep->out, "  libssl: %s\n", ssl[i]);
	if (!nssl)
		fprintf(rep->out, "  libssl: none mapped (yet); its TLS is seen only once it loads "
		        "libssl: see 'doctor -- PROGRAM'\n");
	s.pid = (int32_t)pid;
	s.since_pid_us = rep->now_us - HOUR_US;
	ledger = process_ledger(pid, own, sizeof own) ? rep->dir : own;
	fprintf(rep->out, "  ledger: %s%s\n", ledger, ledger == own ? " (its TOKENGUARD_LEDGER)" : "");
	if (!tg_ledger_open(&l, ledger, TG_LEDGER_RDONLY)) {
		tg_ledger_scan(l, s.since_pid_us, INT64_MAX, each, &s);
		tg_ledger_close(l);
	}
	fprintf(rep->out, "  records in the last hour: %lld%s\n", (long long)s.pid_count,
	        s.pid_count || !*shim ? "" : " (none yet: it made no provider call, or its "
	        "calls go through a TLS stack the shim does not see)");
	return 0;
}

int tg_cmd_doctor(const struct tg_report *rep, struct tg_ledger *unused)
{
	int attention = 0;
	struct scan s = { 0 };

	if (rep->pid && rep->nargs)
		return tg_report_fail(rep, "doctor takes -- COMMAND or --pid PID, not both");
	if (rep->nargs) {
		enum tg_seen v;

		fprintf(rep->out, "%s:\n", rep->args[0]);
		v = tg_seen_program(rep->args[0], rep->out);
		if (v == TG_SEEN_NOTFOUND)
			return 1;
		return v != TG_SEEN_YES;
	}
	if (rep->pid)
		return process_state(rep, &attention) ? TG_EXIT_FAIL : attention;
	library_state(rep, &attention);
	ledger_state(rep, &s, &attention);
	prices_state(rep, &attention);
	budgets_state(rep, &attention);
	fleet_state(rep, &attention);
	fleet_records_state(rep, &attention);
	settings_state(rep, &attention);
	fprintf(rep->out, "%s\n", attention ? "doctor: findings above need attention" :
	        "doctor: all is well");
	return attention;
}
