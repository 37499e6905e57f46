/* settings.c - see settings.h. */
#include "settings.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "env.h"

const struct tg_setting_def tg_settings_table[TG_SET_COUNT] = {
	[TG_SET_LEDGER] = { "ledger", "TOKENGUARD_LEDGER", "",
		"$XDG_DATA_HOME/tokenguard, else ~/.local/share/tokenguard",
		"directory of the LMDB ledger shared by every process of this user", 0 },
	[TG_SET_SYNC] = { "sync", "TOKENGUARD_SYNC", "batch", "batch",
		"when a record becomes durable: batch (spooled, folded in groups) or commit "
		"(each committed in the call that ends its exchange)", TG_SETTING_CHOICE,
		"batch|commit" },
	[TG_SET_TAGS] = { "tags", "TOKENGUARD_TAGS", "", "no tags",
		"tags stored with every record: key=value pairs separated by commas", 0 },
	[TG_SET_HOSTS] = { "hosts", "TOKENGUARD_HOSTS", "", "none (the built-in table only)",
		"extra provider hosts: host[:port]=provider or host[:port]=name/format, "
		"comma-separated", 0 },
	[TG_SET_PRICES] = { "prices", "TOKENGUARD_PRICES", "",
		"$XDG_CONFIG_HOME/tokenguard/prices.tsv if it exists, else the built-in table",
		"price file (README, Prices) whose lines replace or add to the built-in "
		"prices", 0 },
	[TG_SET_DISABLE] = { "disable", "TOKENGUARD_DISABLE", "0", "0",
		"1: observe nothing (every hooked call passes straight through)", TG_SETTING_BOOL },
	[TG_SET_DEBUG] = { "debug", "TOKENGUARD_DEBUG", "0", "0",
		"1: print what the shim recognises and records, and every warning, on stderr",
		TG_SETTING_BOOL },
	[TG_SET_QUIET] = { "quiet", "TOKENGUARD_QUIET", "0", "0",
		"1: no warnings on stderr at all", TG_SETTING_BOOL },
	[TG_SET_BUDGETS] = { "budgets", "TOKENGUARD_BUDGETS", "", "none",
		"budget policies besides the ledger's, ';'-separated, each "
		"SCOPE,WINDOW,LIMIT[,LIMIT],ACTION[,alert=N][,fallback=F][,name=NAME]", 0 },
	[TG_SET_FAIL] = { "fail", "TOKENGUARD_FAIL", "open", "open",
		"when the ledger cannot be read: open lets a call through with a warning, "
		"closed refuses it with a 429", TG_SETTING_CHOICE, "open|closed" },
	[TG_SET_LIB] = { "lib", "TOKENGUARD_LIB", "",
		"../lib/libtokenguard.so from the tokenguard program, else next to it",
		"libtokenguard.so for the tokenguard launcher and doctor", 0 },
	[TG_SET_ATTRIBUTION] = { "attribution", "TOKENGUARD_ATTRIBUTION", "hash", "hash",
		"who a call is for, from its request body (OpenAI user, Anthropic "
		"metadata.user_id, ...): hash records a keyed hash of the id, plain the id, "
		"off nothing from bodies", TG_SETTING_CHOICE, "hash|plain|off" },
	[TG_SET_MACHINE] = { "machine", "TOKENGUARD_MACHINE", "",
		"m- and a keyed hash of /etc/machine-id",
		"this machine's name in records and fleet totals: letters, digits, '.', '_', "
		"'-', at most 63 bytes", 0 },
	[TG_SET_SETUID_PROGRAMS] = { "setuid_programs", NULL, "no", "no",
		"yes: the shim also records in setuid, setgid and file-capability programs, "
		"with this file's settings only (system file only)",
		TG_SETTING_SYSTEM_ONLY | TG_SETTING_BOOL },
	[TG_SET_FLEET_REDIS] = { "fleet_redis", "TOKENGUARD_FLEET_REDIS", "", "none",
		"the Redis that `tokenguard-report sync` exchanges fleet budgets' spend through: "
		"redis://[:password@]host:port[/db] or unix:///path", 0 },
	[TG_SET_FLEET_STALE] = { "fleet_stale", "TOKENGUARD_FLEET_STALE", "5", "5",
		"seconds after the last pull of the fleet's totals (or 3 sync intervals, if longer) "
		"that a fleet budget stops counting them and TOKENGUARD_FAIL decides", 0 },
	[TG_SET_FLEET_POSTGRES] = { "fleet_postgres", "TOKENGUARD_FLEET_POSTGRES", "", "none",
		"PostgreSQL of the fleet (libpq conninfo or postgresql:// URI; passwords in "
		"~/.pgpass): where `tokenguard-report sync` pushes records and --fleet reads "
		"them", 0 },
};

struct problem {
	int line;
	const char *why;      /* static text */
	char key[40];         /* the unknown or misplaced key, "" for a malformed line */
};

struct file {
	char path[4096];      /* "" when there is none */
	int state;            /* TG_CONF_READ, TG_CONF_ABSENT, TG_CONF_REFUSED, TG_CONF_UNREAD */
	char refused[512];    /* why, when TG_CONF_REFUSED */
	int nproblems;
	struct problem problem[TG_SETTINGS_PROBLEMS_KEPT];
	const char *value[TG_SET_COUNT];   /* into buf; NULL when not set */
	int line[TG_SET_COUNT];
	char buf[TG_CONF_FILE_MAX + 1];
};

/* Written by tg_settings_load only (once per process outside the tests:
 * the shim's initialisation, the start of a CLI command, or the first
 * tg_setting), read-only afterwards. */
static struct {
	int secure;           /* a secure-execution process */
	int secure_allowed;   /* ... whose system file says setuid_programs = yes */
	struct file file[2];  /* TG_CONF_SYSTEM, TG_CONF_USER */
} S;

static const char *forced_path[2];   /* tests only */
static pthread_once_t loaded = PTHREAD_ONCE_INIT;
static int load_done;                /* tg_settings_load has run */

int tg_setting_valid(enum tg_setting_id id, const char *v)
{
	const struct tg_setting_def *d = &tg_settings_table[id];
	int b;

	if (!v || !*v)
		return 1;
	if (d->flags & TG_SETTING_BOOL)
		return tg_parse_bool(v, &b) == 0;
	if (d->flags & TG_SETTING_CHOICE)
		for (const char *c = d->choices; *c;) {
			size_t n = strcspn(c, "|");

			if (strlen(v) == n && !strncmp(v, c, n))
				return 1;
			c += n + (c[n] == '|');
		}
	return !(d->flags & TG_SETTING_CHOICE);
}

int tg_setting_find(const char *key)
{
	for (int i = 0; i < TG_SET_COUNT; i++)
		if (!strcmp(tg_settings_table[i].key, key))
			return i;
	return -1;
}

static void add_problem(struct file *f, int line, const char *why, const char *key)
{
	if (f->nproblems < TG_SETTINGS_PROBLEMS_KEPT) {
		struct problem *p = &f->problem[f->nproblems];

		p->line = line;
		p->why = why;
		snprintf(p->key, sizeof p->key, "%s", key ? key : "");
	}
	f->nproblems++;
}

struct parse_ctx {
	struct file *f;
	enum tg_conf_which which;
};

static void each_line(void *ctx, int line, const char *key, const char *value, const char *why)
{
	struct parse_ctx *c = ctx;
	int id;

	if (why) {
		add_problem(c->f, line, why, NULL);
	} else if ((id = tg_setting_find(key)) < 0) {
		add_problem(c->f, line, "unknown key", key);
	} else if ((tg_settings_table[id].flags & TG_SETTING_SYSTEM_ONLY) &&
	           c->which != TG_CONF_SYSTEM) {
		add_problem(c->f, line, "only the system file " TG_SYSTEM_CONFIG " may set", key);
	} else {
		/* A key given twice: the last line wins, as in the shell. */
		c->f->value[id] = value;
		c->f->line[id] = line;
	}
}

static void read_file(enum tg_conf_which which, uid_t owner)
{
	struct file *f = &S.file[which];
	struct parse_ctx c = { f, which };
	size_t len;

	f->state = tg_conf_read(f->path, owner, f->buf, sizeof f->buf, &len, f->refused,
	                        sizeof f->refused);
	if (f->state == TG_CONF_READ)
		tg_conf_parse(f->buf, len, each_line, &c);
}

/* Forgets what a file said, leaving its buffer alone: a memset of the
 * buffers would make 128 KiB resident in every program the shim is in,
 * where read() touches only the pages a file fills. */
static void forget(struct file *f)
{
	f->path[0] = '\0';
	f->state = TG_CONF_ABSENT;
	f->refused[0] = '\0';
	f->nproblems = 0;
	memset(f->value, 0, sizeof f->value);
	memset(f->line, 0, sizeof f->line);
}

void tg_settings_load(void)
{
	struct file *sys = &S.file[TG_CONF_SYSTEM], *user = &S.file[TG_CONF_USER];
	int yes = 0;

	S.secure = S.secure_allowed = 0;
	forget(sys);
	forget(user);
	load_done = 1;
	S.secure = tg_secure_execution();
	snprintf(sys->path, sizeof sys->path, "%s",
	         forced_path[TG_CONF_SYSTEM] ? forced_path[TG_CONF_SYSTEM] : TG_SYSTEM_CONFIG);
	read_file(TG_CONF_SYSTEM, 0);
	if (S.secure) {
		/* The caller of a privileged program wrote its environment and
		 * may own the user file: only root's file can let it in. */
		S.secure_allowed = tg_parse_bool(sys->value[TG_SET_SETUID_PROGRAMS], &yes) == 0 && yes;
		user->state = TG_CONF_UNREAD;
		return;
	}
	if (forced_path[TG_CONF_USER])
		snprintf(user->path, sizeof user->path, "%s", forced_path[TG_CONF_USER]);
	else if (tg_config_file_path("config", user->path, sizeof user->path))
		user->path[0] = '\0';
	if (!user->path[0]) {
		user->state = TG_CONF_ABSENT;
		return;
	}
	read_file(TG_CONF_USER, getuid());
}

/* The first tg_setting of a process that did not load explicitly. */
static void load_once(void)
{
	if (!load_done)
		tg_settings_load();
}

/* The one place the precedence is decided. */
static const char *lookup(enum tg_setting_id id, int *source, int *line)
{
	const struct tg_setting_def *d = &tg_settings_table[id];
	const char *v;

	pthread_once(&loaded, load_once);
	*source = TG_SRC_DEFAULT;
	*line = 0;
	if (S.secure && !S.secure_allowed)
		return NULL;
	/* tg_env_get answers NULL in a secure-execution process. */
	if (d->env && (v = tg_env_get(d->env))) {
		*source = TG_SRC_ENV;
		return v;
	}
	if ((v = S.file[TG_CONF_USER].value[id])) {
		*source = TG_SRC_USER;
		*line = S.file[TG_CONF_USER].line[id];
		return v;
	}
	if ((v = S.file[TG_CONF_SYSTEM].value[id])) {
		*source = TG_SRC_SYSTEM;
		*line = S.file[TG_CONF_SYSTEM].line[id];
		return v;
	}
	return NULL;
}

const char *tg_setting(enum tg_setting_id id)
{
	int source, line;

	return lookup(id, &source, &line);
}

const char *tg_setting_origin(enum tg_setting_id id, int *source, char *where, size_t n)
{
	int src, line;
	const char *v = lookup(id, &src, &line);

	if (source)
		*source = src;
	if (src == TG_SRC_ENV)
		snprintf(where, n, "%s", tg_settings_table[id].env);
	else if (src == TG_SRC_USER || src == TG_SRC_SYSTEM)
		snprintf(where, n, "%s:%d",
		         S.file[src == TG_SRC_USER ? TG_CONF_USER : TG_CONF_SYSTEM].path, line);
	else
		snprintf(where, n, "default");
	return v;
}

int tg_settings_secure_allowed(void)
{
	pthread_once(&loaded, load_once);
	return S.secure && S.secure_allowed;
}

const char *tg_settings_file_path(enum tg_conf_which which)
{
	pthread_once(&loaded, load_once);
	return S.file[which].path;
}

int tg_settings_file_state(enum tg_conf_which which, const char **why)
{
	pthread_once(&loaded, load_once);
	if (why)
		*why = S.file[which].state == TG_CONF_REFUSED ? S.file[which].refused : NULL;
	return S.file[which].state;
}

int tg_settings_problems(enum tg_conf_which which)
{
	pthread_once(&loaded, load_once);
	return S.file[which].nproblems;
}

int tg_settings_problem(enum tg_conf_which which, int i, char *buf, size_t n)
{
	const struct file *f = &S.file[which];
	const struct problem *p;

	pthread_once(&loaded, load_once);
	if (i < 0 || i >= f->nproblems || i >= TG_SETTINGS_PROBLEMS_KEPT)
		return -1;
	p = &f->problem[i];
	if (p->key[0])
		snprintf(buf, n, "%s:%d: %s \"%s\"; line skipped", f->path, p->line, p->why, p->key);
	else
		snprintf(buf, n, "%s:%d: %s; line skipped", f->path, p->line, p->why);
	return 0;
}

void tg_settings_force_paths(const char *system_path, const char *user_path)
{
	forced_path[TG_CONF_SYSTEM] = system_path;
	forced_path[TG_CONF_USER] = user_path;
}
