/* cmd_init.c - `tokenguard-report init [--force] [--system]`: writes the
 * user's configuration file (the system file with --system, as root),
 * every setting of tg_settings_table in it, commented out at its default
 * with a line on what it does.  The text comes from the table the reader
 * uses, so a key is documented here exactly when the files accept it.
 * An existing file is replaced only with --force. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "ledger.h"
#include "report.h"
#include "settings.h"

/* text as "# " comment lines of at most 78 columns, broken at spaces. */
static void comment(FILE *f, const char *text)
{
	const size_t width = 76;

	while (*text) {
		size_t n = strlen(text);

		if (n > width) {
			n = width;
			while (n > 0 && text[n] != ' ')
				n--;
			if (!n)
				n = strcspn(text, " ");
		}
		fprintf(f, "# %.*s\n", (int)n, text);
		text += n;
		while (*text == ' ')
			text++;
	}
}

static void write_template(FILE *f, const char *path, int system)
{
	fprintf(f, "# tokenguard %s configuration file, written by `tokenguard-report init`:\n"
	        "# %s\n#\n", system ? "system" : "user", path);
	comment(f, "One setting a line, key = value; a line starting with # is a comment; "
	        "spaces around the key and the value are dropped, a value in double quotes "
	        "is kept as written; an empty value means the default; a key given twice: "
	        "the last line wins.  Each key is a TOKENGUARD_* variable's name without "
	        "TOKENGUARD_, in lower case.  What wins: the environment, then the user's "
	        "file ($XDG_CONFIG_HOME/tokenguard/config, ~/.config/tokenguard/config), "
	        "then " TG_SYSTEM_CONFIG ".  The file must be its owner's (root's for the "
	        "system file) and not writable by group or others, else it is ignored.");
	fputs("#\n", f);
	comment(f, "Every setting below is commented out at its default: remove the # to "
	        "change it.  `tokenguard-report doctor` shows each setting in effect and "
	        "where it comes from.");
	for (int i = 0; i < TG_SET_COUNT; i++) {
		const struct tg_setting_def *d = &tg_settings_table[i];
		char line[1024];

		if ((d->flags & TG_SETTING_SYSTEM_ONLY) && !system)
			continue;
		fputc('\n', f);
		snprintf(line, sizeof line, "%s: %s.", d->key, d->about);
		comment(f, line);
		if (d->env)
			snprintf(line, sizeof line, "Variable: %s.  Default: %s.", d->env, d->shown);
		else
			snprintf(line, sizeof line, "No variable.  Default: %s.", d->shown);
		comment(f, line);
		fprintf(f, "#%s =%s%s\n", d->key, *d->value ? " " : "", d->value);
	}
}

/* Writes the template to path through a temporary file renamed over it,
 * so a reader never sees half a file.  Returns 0 or an errno. */
static int write_file(const char *path, mode_t mode, int system)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, e = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return errno;
	/* The mode asked for, whatever the umask. */
	if (fchmod(fd, mode) || !(f = fdopen(fd, "w"))) {
		e = errno;
		close(fd);
		unlink(tmp);
		return e;
	}
	write_template(f, path, system);
	if (fflush(f) || fsync(fd))
		e = errno;
	if (fclose(f) && !e)
		e = errno;
	if (!e && rename(tmp, path))
		e = errno;
	if (e)
		unlink(tmp);
	return e;
}

int tg_cmd_init(const struct tg_report *rep, struct tg_ledger *unused)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	int system = rep->system, rc;
	char *slash;

	if (system) {
		if (geteuid() != 0)
			return tg_report_fail(rep, "init --system writes %s, which must be root's: "
			                      "run it as root (sudo tokenguard-report init --system)",
			                      TG_SYSTEM_CONFIG);
		snprintf(path, sizeof path, "%s", TG_SYSTEM_CONFIG);
	} else if (tg_config_file_path("config", path, sizeof path)) {
		return tg_report_fail(rep, "cannot tell where the user's configuration file goes: "
		                      "set HOME (or XDG_CONFIG_HOME)");
	}
	if (!lstat(path, &st) && !rep->force)
		return tg_report_fail(rep, "%s already exists; pass --force to replace it", path);
	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		/* The system directory is for everyone to read; the user's
		 * config directories are the user's (mode 0700, as XDG asks). */
		if (system ? (mkdir(dir, 0755) && errno != EEXIST) :
		    (rc = tg_ledger_mkdirs(dir)) != 0)
			return tg_report_fail(rep, "cannot create %s: %s; create it, or pass a "
			                      "writable XDG_CONFIG_HOME", dir,
			                      system ? strerror(errno) : tg_strerror(rc));
	}
	if ((rc = write_file(path, system ? 0644 : 0600, system)) != 0)
		return tg_report_fail(rep, "cannot write %s: %s", path, strerror(rc));
	fprintf(rep->out, "wrote %s\n", path);
	return 0;
}
