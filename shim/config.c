/* config.c - see config.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env.h"
#include "ledger.h"
#include "log.h"
#include "machine.h"
#include "providers.h"
#include "settings.h"
#include "text.h"

static struct tg_config config;   /* written once by tg_config_load */
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static void load_process_name(void);

/* The process name is read at its first need (a record, a budget check),
 * not by tg_config_load: reading /proc/self/cmdline is the dearest part of
 * the configuration, and a process that never calls a provider needs no
 * name.  Every reader of the name comes through here. */
const struct tg_config *tg_config_get(void)
{
	pthread_once(&process_once, load_process_name);
	return &config;
}

/* Where setting id comes from, for a warning: its variable, or
 * "PATH:LINE (key)" for a configuration file's line. */
static const char *origin(enum tg_setting_id id, char *buf, size_t n)
{
	int src;
	size_t len;

	tg_setting_origin(id, &src, buf, n);
	len = strlen(buf);
	if (src != TG_SRC_ENV)
		snprintf(buf + len, n - len, " (%s)", tg_settings_table[id].key);
	return buf;
}

/* Sets *dst from a boolean setting (unset or empty: 0).  Returns the value
 * when it is not a boolean, for a warning once the log is set up. */
static const char *setting_flag(enum tg_setting_id id, int *dst)
{
	const char *v = tg_setting(id);
	*dst = 0;
	if (!v || !*v || tg_parse_bool(v, dst) == 0)
		return NULL;
	return v;
}

/* One warning per configuration file at most: refused whole, or its first
 * skipped line and how many more (doctor lists them). */
static void warn_files(void)
{
	for (int w = TG_CONF_SYSTEM; w <= TG_CONF_USER; w++) {
		const char *why;
		char first[512];   /* a warning: truncated beyond that, as the log would */
		int n = tg_settings_problems(w);

		if (tg_settings_file_state(w, &why) == TG_CONF_REFUSED)
			tg_warn("%s", why);
		else if (n && tg_settings_problem(w, 0, first, sizeof first) == 0)
			tg_warn("%s%s", first, n > 1 ? " (and more: see `tokenguard-report doctor`)" : "");
	}
}

static int tag_key_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static int tag_value_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '=' || s[i] == 0x7f)
			return 0;
	return 1;
}

int tg_config_parse_tags(const char *env, char *out, size_t outlen)
{
	int bad = 0;
	size_t used = 0;
	out[0] = '\0';
	if (!env)
		return 0;
	for (const char *p = env; *p;) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		if (len > 0) {
			size_t klen = eq ? (size_t)(eq - p) : 0;
			size_t vlen = eq ? len - klen - 1 : 0;
			if (!eq || !tag_key_ok(p, klen) || !tag_value_ok(eq + 1, vlen) ||
			    tg_tags_value(out, p, klen, &(size_t){ 0 }) || used + len + 2 > outlen) {
				bad++;
			} else {
				if (used)
					out[used++] = ',';
				memcpy(out + used, p, len);
				used += len;
				out[used] = '\0';
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return bad;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static int is_interpreter(const char *name)
{
	static const char *const interpreters[] = {
		"python", "node", "nodejs", "ruby", "perl", "php", "sh", "bash", "dash",
		"zsh", "deno", "bun", "uv", "uvx",
	};
	for (size_t i = 0; i < sizeof interpreters / sizeof interpreters[0]; i++) {
		size_t n = strlen(interpreters[i]);
		/* python3, python3.11, perl5.36: a version may follow the name. */
		if (strncmp(name, interpreters[i], n) == 0 &&
		    strspn(name + n, "0123456789.") == strlen(name + n))
			return 1;
	}
	return 0;
}

static int one_of(const char *arg, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(arg, *list) == 0)
			return 1;
	return 0;
}

/* Options after which the program is inline code, not a file: the code
 * may hold anything (a key pasted into `node -e`), so it never names the
 * process. */
static const char *const inline_code[] = {
	"-c", "-e", "-E", "-p", "--eval", "--print", "--command", NULL,
};

/* Options that take the next argument as their value. */
static const char *const takes_value[] = {
	"-W", "-X", "-Q", "-I", "-C", "--require", "--import", "--loader", "--env-file",
	"--with", "--python", "--project", "--directory", NULL,
};

/* A name worth recording: a file or module name, not text. */
static int plausible_name(const char *s)
{
	return *s && strcspn(s, " \t\"'`;=$(){}<>|&") == strlen(s);
}

void tg_config_process_name(const char *const *argv, int argc, char *out, size_t outlen)
{
	const char *name = argc > 0 ? base_name(argv[0]) : "";
	const char *program = name;
	if (argc > 0 && is_interpreter(program)) {
		int php = strncmp(program, "php", 3) == 0;
		for (int i = 1; i < argc; i++) {
			const char *a = argv[i];
			if (one_of(a, inline_code) || (php && strcmp(a, "-r") == 0))
				break;   /* keep the interpreter's name */
			if (strcmp(a, "-m") == 0) {
				if (i + 1 < argc && plausible_name(argv[i + 1]))
					name = argv[i + 1];
				break;
			}
			if (one_of(a, takes_value) || (!php && strcmp(a, "-r") == 0)) {
				i++;
				continue;
			}
			if (a[0] == '-')
				continue;
			/* uv run app.py, deno run app.ts, bun run app.ts */
			if (strcmp(a, "run") == 0 && i == 1 && strcmp(program, "python") != 0)
				continue;
			if (plausible_name(a))
				name = base_name(a);
			break;
		}
	}
	size_t n = strlen(name);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, name, n);
	out[n] = '\0';
}

/* argv from /proc/self/cmdline: the shim may be first called long after
 * main() changed its own argv, and glibc's program_invocation_name is only
 * the program. */
static void load_process_name(void)
{
	if (config.secure) {
		/* No file is read in secure execution (config.h). */
		tg_copy_text(config.process, sizeof config.process, program_invocation_short_name,
		             strlen(program_invocation_short_name));
		return;
	}
	char buf[2048];
	const char *argv[16];
	int argc = 0;
	ssize_t n = -1;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
	}
	if (n <= 0) {
		tg_copy_text(config.process, sizeof config.process, program_invocation_short_name,
		             strlen(program_invocation_short_name));
		return;
	}
	buf[n] = '\0';
	for (ssize_t i = 0; i < n && argc < 16; i += (ssize_t)strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	tg_config_process_name(argv, argc, config.process, sizeof config.process);
}

const struct tg_config *tg_config_load(void)
{
	static const enum tg_setting_id flag_ids[] = { TG_SET_DISABLE, TG_SET_DEBUG, TG_SET_QUIET };
	int *flags[] = { &config.disabled, &config.debug, &config.quiet };
	const char *bad[3];
	char process[sizeof config.process], where[512];   /* where: for a warning only */

	/* The process name, if it was already read, is the program's, not
	 * configuration: it outlives a reload. */
	memcpy(process, config.process, sizeof process);
	memset(&config, 0, sizeof config);
	/* Every setting below comes through tg_setting: the environment over
	 * the user's file over the system file, read here once. */
	tg_settings_load();
	config.secure = tg_secure_execution();
	if (config.secure && !tg_settings_secure_allowed()) {
		/* The caller wrote this environment, not the program's owner:
		 * nothing of it is read, nothing is recorded, nothing said. */
		config.disabled = 1;
		config.ledger_problem = tg_ledger_dir_problem(TG_ENOENT);
		tg_log_init(0, 1);
		tg_providers_configure(NULL);
		return &config;
	}
	memcpy(config.process, process, sizeof process);
	for (int i = 0; i < 3; i++)
		bad[i] = setting_flag(flag_ids[i], flags[i]);
	tg_log_init(config.debug, config.quiet);
	warn_files();
	for (int i = 0; i < 3; i++)
		if (bad[i])
			tg_warn("%s=%.40s: expected 1/0, true/false, yes/no or on/off; using 0",
			        origin(flag_ids[i], where, sizeof where), bad[i]);

	/* A price file named for this environment wins over the user's
	 * standing one, which applies to every process without a variable. */
	const char *prices = tg_setting(TG_SET_PRICES);
	config.prices_file = prices && *prices ? prices : NULL;
	if (!config.prices_file &&
	    tg_config_file_path("prices.tsv", config.prices_path, sizeof config.prices_path) == 0) {
		config.prices_file = config.prices_path;
		config.prices_found = 1;
	}
	config.budgets = tg_setting(TG_SET_BUDGETS);
	config.fail = tg_setting(TG_SET_FAIL);

	const char *sync = tg_setting(TG_SET_SYNC);
	if (sync && *sync && strcmp(sync, "batch") != 0) {
		if (strcmp(sync, "commit") == 0)
			config.sync_commit = 1;
		else
			tg_warn("%s=%.40s: expected batch or commit; using batch",
			        origin(TG_SET_SYNC, where, sizeof where), sync);
	}

	int rc = tg_ledger_default_dir(config.ledger_dir, sizeof config.ledger_dir);
	if (rc != 0) {
		config.ledger_dir[0] = '\0';
		config.ledger_problem = tg_ledger_dir_problem(rc);
	}

	int ntags = tg_config_parse_tags(tg_setting(TG_SET_TAGS), config.tags, sizeof config.tags);
	if (ntags)
		tg_warn("%s: %d entr%s dropped: expected key=value[,key=value...] "
		        "with keys of letters, digits, '_', '.', '-', each key once",
		        origin(TG_SET_TAGS, where, sizeof where), ntags, ntags == 1 ? "y" : "ies");

	const char *attribution = tg_setting(TG_SET_ATTRIBUTION);
	config.attribution = TG_ATTRIB_HASH;
	if (attribution && *attribution && tg_attrib_mode_parse(attribution, &config.attribution) != 0)
		tg_warn("%s=%.40s: expected hash, plain or off; using hash",
		        origin(TG_SET_ATTRIBUTION, where, sizeof where), attribution);

	const char *machine = tg_setting(TG_SET_MACHINE);
	config.machine[0] = '\0';
	if (machine && *machine) {
		if (tg_machine_name_valid(machine))
			memcpy(config.machine, machine, strlen(machine) + 1);
		else
			tg_warn("%s=%.40s: a machine name is 1 to 63 letters, digits, '.', '_' "
			        "or '-'; using the ledger's own", origin(TG_SET_MACHINE, where, sizeof where),
			        machine);
	}

	tg_providers_configure(tg_setting(TG_SET_HOSTS));
	return &config;
}
