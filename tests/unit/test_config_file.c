/* test_config_file.c - the configuration files: every line form of the syntax (config_file.h),
 * the trust checks of a file, and which value wins (settings.h). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_file.h"
#include "env.h"
#include "fixture.h"
#include "ledger.h"
#include "settings.h"

/* ---- the syntax */

struct seen {
	int n;
	int line[16];
	char key[16][64], value[16][256], why[16][128];
};

static void collect(void *ctx, int line, const char *key, const char *value, const char *why)
{
	struct seen *s = ctx;

	cr_assert_lt(s->n, 16);
	s->line[s->n] = line;
	snprintf(s->key[s->n], sizeof s->key[0], "%s", key ? key : "(null)");
	snprintf(s->value[s->n], sizeof s->value[0], "%s", value ? value : "(null)");
	snprintf(s->why[s->n], sizeof s->why[0], "%s", why ? why : "");
	s->n++;
}

/* Parses text (copied: the parser cuts it in place) into s. */
static void parse(const char *text, size_t len, struct seen *s)
{
	char *buf = malloc(len + 1);

	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(s, 0, sizeof *s);
	tg_conf_parse(buf, len, collect, s);
	free(buf);
}

static void parse_str(const char *text, struct seen *s)
{
	parse(text, strlen(text), s);
}

static void setting(const struct seen *s, int i, int line, const char *key, const char *value)
{
	cr_assert_eq(s->line[i], line, "entry %d: line %d, not %d", i, s->line[i], line);
	cr_assert_str_eq(s->key[i], key);
	cr_assert_str_eq(s->value[i], value);
	cr_assert_str_empty(s->why[i]);
}

static void malformed(const struct seen *s, int i, int line, const char *why_part)
{
	cr_assert_eq(s->line[i], line);
	cr_assert_str_eq(s->key[i], "(null)");
	cr_assert_not_null(strstr(s->why[i], why_part), "line %d: \"%s\"", line, s->why[i]);
}

Test(config_file, key_value_lines_are_trimmed_and_comments_and_blank_lines_skipped)
{
	struct seen s;

	parse_str("# a comment\n"
	          "\n"
	          "   \t \n"
	          "ledger = /srv/ledger\n"
	          "  tags\t=\tteam=search,feature=x  \n"
	          "   # an indented comment\n"
	          "budgets=global,day,usd=20,block\n"
	          "hosts =\n"
	          "sync = commit", &s);
	cr_assert_eq(s.n, 5);
	setting(&s, 0, 4, "ledger", "/srv/ledger");
	setting(&s, 1, 5, "tags", "team=search,feature=x");
	setting(&s, 2, 7, "budgets", "global,day,usd=20,block");
	setting(&s, 3, 8, "hosts", "");
	setting(&s, 4, 9, "sync", "commit");   /* no newline at the end of the file */
}

Test(config_file, double_quotes_keep_what_is_between_them)
{
	struct seen s;

	parse_str("tags = \"team=a b\"\n"
	          "ledger = \"  /with spaces/  \"\n"
	          "hosts = \"\"\n"
	          "budgets = a\"b\"\n"
	          "prices = \"#not a comment\"\n"
	          "sync = batch # stays in the value\n", &s);
	cr_assert_eq(s.n, 6);
	setting(&s, 0, 1, "tags", "team=a b");
	setting(&s, 1, 2, "ledger", "  /with spaces/  ");
	setting(&s, 2, 3, "hosts", "");
	setting(&s, 3, 4, "budgets", "a\"b\"");
	setting(&s, 4, 5, "prices", "#not a comment");
	setting(&s, 5, 6, "sync", "batch # stays in the value");
}

Test(config_file, crlf_line_ends_are_taken)
{
	struct seen s;

	parse_str("# windows\r\nledger = /a\r\ntags = \"t=1\"\r\n\r\n", &s);
	cr_assert_eq(s.n, 2);
	setting(&s, 0, 2, "ledger", "/a");
	setting(&s, 1, 3, "tags", "t=1");
}

Test(config_file, a_malformed_line_is_reported_and_the_others_apply)
{
	struct seen s;

	parse_str("ledger /no/equals\n"
	          "= value\n"
	          "Ledger = /upper\n"
	          "led-ger = /dash\n"
	          "tags = \"unterminated\n"
	          "tags = \"\n"
	          "quiet = 1\n", &s);
	cr_assert_eq(s.n, 7);
	malformed(&s, 0, 1, "expected key = value");
	malformed(&s, 1, 2, "no key");
	malformed(&s, 2, 3, "lowercase");
	malformed(&s, 3, 4, "lowercase");
	malformed(&s, 4, 5, "must end with it");
	malformed(&s, 5, 6, "must end with it");
	setting(&s, 6, 7, "quiet", "1");
}

Test(config_file, an_over_long_line_or_a_nul_byte_is_malformed)
{
	static char text[TG_CONF_LINE_MAX + 64];
	struct seen s;
	size_t n = 0;

	n += (size_t)sprintf(text, "tags = ");
	memset(text + n, 'x', TG_CONF_LINE_MAX);
	n += TG_CONF_LINE_MAX;
	text[n++] = '\n';
	memcpy(text + n, "ledger = /a\0b\nquiet = 1\n", 24);
	n += 24;
	parse(text, n, &s);
	cr_assert_eq(s.n, 3);
	malformed(&s, 0, 1, "longer than 4096 bytes");
	malformed(&s, 1, 2, "NUL");
	setting(&s, 2, 3, "quiet", "1");

	/* Exactly TG_CONF_LINE_MAX bytes is still a line. */
	n = (size_t)sprintf(text, "tags = ");
	memset(text + n, 'y', TG_CONF_LINE_MAX - n);
	parse(text, TG_CONF_LINE_MAX, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_str_empty(s.why[0]);
}

/* ---- reading a file: the trust checks */

static char dir[128];

static void setup(void)
{
	tgt_tmpdir(dir, sizeof dir, "tg-conf");
	tg_settings_force_paths(NULL, NULL);
}

static void teardown(void)
{
	tgt_rmtree(dir);
}

TestSuite(config_read, .init = setup, .fini = teardown);
TestSuite(settings, .init = setup, .fini = teardown);

static char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[2][256];
	static int next;
	char *p = path[next++ % 2];
	int fd;

	snprintf(p, 256, "%s/%s", dir, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(chmod(p, mode), 0);
	return p;
}

static int read_conf(const char *path, uid_t owner, char *err, size_t n)
{
	static char buf[TG_CONF_FILE_MAX + 1];
	size_t len;

	err[0] = '\0';
	return tg_conf_read(path, owner, buf, sizeof buf, &len, err, n);
}

Test(config_read, a_file_of_its_owner_closed_to_writes_is_read)
{
	static char buf[TG_CONF_FILE_MAX + 1];
	char err[512];
	size_t len;
	char *p = write_file("config", "ledger = /a\n", 0644);

	cr_assert_eq(tg_conf_read(p, getuid(), buf, sizeof buf, &len, err, sizeof err), TG_CONF_READ);
	cr_assert_eq(len, 12);
	cr_assert_str_eq(buf, "ledger = /a\n");
}

Test(config_read, a_missing_file_is_absent_not_an_error)
{
	char err[512], p[300];

	snprintf(p, sizeof p, "%s/none", dir);
	cr_assert_eq(read_conf(p, getuid(), err, sizeof err), TG_CONF_ABSENT);
	snprintf(p, sizeof p, "%s/none/config", dir);
	cr_assert_eq(read_conf(p, getuid(), err, sizeof err), TG_CONF_ABSENT);
}

Test(config_read, group_or_other_writable_files_are_refused)
{
	char err[512];
	char *p = write_file("config", "ledger = /a\n", 0664);

	cr_assert_eq(read_conf(p, getuid(), err, sizeof err), TG_CONF_REFUSED);
	cr_assert_not_null(strstr(err, "can be written by group or others (mode 0664)"), "%s", err);
	cr_assert_not_null(strstr(err, "chmod go-w"), "%s", err);
	p = write_file("config", "ledger = /a\n", 0602);
	cr_assert_eq(read_conf(p, getuid(), err, sizeof err), TG_CONF_REFUSED);
}

Test(config_read, a_file_of_another_owner_is_refused)
{
	char err[512];
	char *p = write_file("config", "ledger = /a\n", 0644);

	cr_assert_eq(read_conf(p, getuid() + 1, err, sizeof err), TG_CONF_REFUSED);
	cr_assert_not_null(strstr(err, "belongs to uid"), "%s", err);
	cr_assert_not_null(strstr(err, "chown"), "%s", err);
}

Test(config_read, symlinks_directories_fifos_and_big_files_are_refused)
{
	char err[512], p[300], big[300];
	char *target = write_file("real", "ledger = /a\n", 0644);

	snprintf(p, sizeof p, "%s/link", dir);
	cr_assert_eq(symlink(target, p), 0);
	cr_assert_eq(read_conf(p, getuid(), err, sizeof err), TG_CONF_REFUSED);
	cr_assert_not_null(strstr(err, "symbolic link"), "%s", err);

	cr_assert_eq(read_conf(dir, getuid(), err, sizeof err), TG_CONF_REFUSED);
	cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);

	snprintf(p, sizeof p, "%s/fifo", dir);
	cr_assert_eq(mkfifo(p, 0600), 0);
	cr_assert_eq(read_conf(p, getuid(), err, sizeof err), TG_CONF_REFUSED, "a FIFO never blocks");

	snprintf(big, sizeof big, "%s/big", dir);
	int fd = open(big, O_WRONLY | O_CREAT, 0600);
	cr_assert_eq(ftruncate(fd, TG_CONF_FILE_MAX + 1), 0);
	close(fd);
	cr_assert_eq(read_conf(big, getuid(), err, sizeof err), TG_CONF_REFUSED);
	cr_assert_not_null(strstr(err, "larger than 65536 bytes"), "%s", err);
	cr_assert_eq(truncate(big, TG_CONF_FILE_MAX), 0);
	cr_assert_eq(read_conf(big, getuid(), err, sizeof err), TG_CONF_READ, "64 KiB is allowed");
}

/* ---- settings: the precedence and the keys */

static void use_files(const char *system_text, const char *user_text)
{
	static char sys[300], user[300];

	snprintf(sys, sizeof sys, "%s/system", dir);
	snprintf(user, sizeof user, "%s/user", dir);
	unlink(sys);
	unlink(user);
	if (system_text)
		write_file("system", system_text, 0644);
	if (user_text)
		write_file("user", user_text, 0600);
	/* The test runs as a user: the "system" file is its own, so the
	 * owner root is only asserted for root (see below). */
	tg_settings_force_paths(sys, user);
	tg_settings_load();
}

static void unset_all(void)
{
	for (int i = 0; i < TG_SET_COUNT; i++)
		if (tg_settings_table[i].env)
			unsetenv(tg_settings_table[i].env);
}

Test(settings, the_environment_wins_over_the_user_file_over_the_system_file)
{
	char where[512];
	int src;

	if (geteuid() != 0)
		cr_skip_test("the system file must be root's: run as root");
	unset_all();
	use_files("ledger = /sys\ntags = s=1\nfail = closed\n", "ledger = /user\ntags = u=1\n");
	setenv("TOKENGUARD_LEDGER", "/env", 1);

	cr_assert_str_eq(tg_setting_origin(TG_SET_LEDGER, &src, where, sizeof where), "/env");
	cr_assert_eq(src, TG_SRC_ENV);
	cr_assert_str_eq(where, "TOKENGUARD_LEDGER");

	cr_assert_str_eq(tg_setting_origin(TG_SET_TAGS, &src, where, sizeof where), "u=1");
	cr_assert_eq(src, TG_SRC_USER);
	cr_assert_str_eq(where + strlen(where) - 7, "/user:2");

	cr_assert_str_eq(tg_setting_origin(TG_SET_FAIL, &src, where, sizeof where), "closed");
	cr_assert_eq(src, TG_SRC_SYSTEM);
	cr_assert_str_eq(where + strlen(where) - 9, "/system:3");

	cr_assert_null(tg_setting_origin(TG_SET_SYNC, &src, where, sizeof where));
	cr_assert_eq(src, TG_SRC_DEFAULT);
	cr_assert_str_eq(where, "default");

	/* A variable set to "" still wins: "" is the default. */
	setenv("TOKENGUARD_TAGS", "", 1);
	cr_assert_str_eq(tg_setting(TG_SET_TAGS), "");
	/* The ledger's place follows the setting. */
	char dirbuf[64];
	unsetenv("TOKENGUARD_LEDGER");
	cr_assert_eq(tg_ledger_default_dir(dirbuf, sizeof dirbuf), 0);
	cr_assert_str_eq(dirbuf, "/user");
}

Test(settings, a_key_given_twice_takes_its_last_line)
{
	char where[512];

	unset_all();
	use_files(NULL, "tags = a=1\nquiet = 1\ntags = b=2\n");
	cr_assert_str_eq(tg_setting_origin(TG_SET_TAGS, NULL, where, sizeof where), "b=2");
	cr_assert_str_eq(where + strlen(where) - 7, "/user:3");
	cr_assert_eq(tg_settings_problems(TG_CONF_USER), 0);
}

Test(settings, unknown_keys_and_malformed_lines_are_skipped_with_their_line)
{
	char text[512];

	unset_all();
	use_files(NULL, "ledgr = /typo\nquiet = 1\nnot a setting\nsetuid_programs = yes\n");
	cr_assert_str_eq(tg_setting(TG_SET_QUIET), "1");
	cr_assert_null(tg_setting(TG_SET_LEDGER));
	cr_assert_eq(tg_settings_problems(TG_CONF_USER), 3);
	cr_assert_eq(tg_settings_problem(TG_CONF_USER, 0, text, sizeof text), 0);
	cr_assert_not_null(strstr(text, "/user:1: unknown key \"ledgr\"; line skipped"), "%s", text);
	cr_assert_eq(tg_settings_problem(TG_CONF_USER, 1, text, sizeof text), 0);
	cr_assert_not_null(strstr(text, "/user:3: expected key = value; line skipped"), "%s", text);
	cr_assert_eq(tg_settings_problem(TG_CONF_USER, 2, text, sizeof text), 0);
	cr_assert_not_null(strstr(text, "/user:4: only the system file /etc/tokenguard/config may "
	                          "set \"setuid_programs\""), "%s", text);
	cr_assert_eq(tg_settings_problem(TG_CONF_USER, 3, text, sizeof text), -1);
}

Test(settings, an_unsafe_user_file_is_ignored_whole)
{
	const char *why;

	unset_all();
	use_files(NULL, "tags = team=x\n");
	cr_assert_str_eq(tg_setting(TG_SET_TAGS), "team=x");
	char p[300];
	snprintf(p, sizeof p, "%s/user", dir);
	cr_assert_eq(chmod(p, 0620), 0);
	tg_settings_load();
	cr_assert_null(tg_setting(TG_SET_TAGS));
	cr_assert_eq(tg_settings_file_state(TG_CONF_USER, &why), TG_CONF_REFUSED);
	cr_assert_not_null(strstr(why, "can be written by group or others"), "%s", why);
}

Test(settings, a_system_file_not_roots_is_ignored)
{
	const char *why;

	unset_all();
	use_files("tags = team=x\n", NULL);
	if (geteuid() == 0) {   /* else the file is already the test user's */
		char p[300];
		snprintf(p, sizeof p, "%s/system", dir);
		cr_assert_eq(chown(p, 65534, 65534), 0);
		tg_settings_load();
	}
	cr_assert_null(tg_setting(TG_SET_TAGS));
	cr_assert_eq(tg_settings_file_state(TG_CONF_SYSTEM, &why), TG_CONF_REFUSED);
	cr_assert_not_null(strstr(why, "not uid 0"), "%s", why);
}

/* A secure-execution process: no variable, never the user file, the
 * system file only when it says setuid_programs = yes. */
Test(settings, a_setuid_program_reads_only_a_system_file_that_lets_it)
{
	const char *why;

	if (geteuid() != 0)
		cr_skip_test("the system file must be root's: run as root");
	unset_all();
	setenv("TOKENGUARD_TAGS", "from=env", 1);
	tg_env_force_secure(1);
	use_files("tags = from=system\nledger = /var/lib/tg\n", "tags = from=user\n");
	cr_assert_eq(tg_settings_secure_allowed(), 0);
	cr_assert_null(tg_setting(TG_SET_TAGS), "no source applies without the system's yes");
	cr_assert_null(tg_setting(TG_SET_LEDGER));
	cr_assert_eq(tg_settings_file_state(TG_CONF_USER, &why), TG_CONF_UNREAD);

	use_files("tags = from=system\nsetuid_programs = yes\n", "tags = from=user\nledger = /u\n");
	cr_assert_eq(tg_settings_secure_allowed(), 1);
	cr_assert_str_eq(tg_setting(TG_SET_TAGS), "from=system", "neither env nor user file");
	cr_assert_null(tg_setting(TG_SET_LEDGER), "the user file is never read");
	char d[64];
	cr_assert_eq(tg_ledger_default_dir(d, sizeof d), TG_ENOENT, "no HOME fallback either");
	cr_assert_not_null(strstr(tg_ledger_dir_problem(TG_ENOENT), "only from the ledger setting"));

	use_files("setuid_programs = no\n", NULL);
	cr_assert_eq(tg_settings_secure_allowed(), 0);
	tg_env_force_secure(-1);

	/* Outside secure execution the key is the system file's only. */
	use_files("setuid_programs = yes\n", "setuid_programs = yes\n");
	cr_assert_eq(tg_settings_secure_allowed(), 0, "not a secure-execution process");
	cr_assert_eq(tg_settings_problems(TG_CONF_USER), 1);
}

Test(settings, every_key_has_its_variable_and_a_line_of_help)
{
	for (int i = 0; i < TG_SET_COUNT; i++) {
		const struct tg_setting_def *d = &tg_settings_table[i];
		char want[64];

		cr_assert_not_null(d->key, "row %d", i);
		cr_assert_eq(tg_setting_find(d->key), i);
		cr_assert_not_null(d->about);
		cr_assert_not_null(d->shown);
		cr_assert_not_null(d->value);
		if (d->flags & TG_SETTING_SYSTEM_ONLY) {
			cr_assert_null(d->env, "%s: no variable may grant it", d->key);
			continue;
		}
		snprintf(want, sizeof want, "TOKENGUARD_%s", d->key);
		for (char *c = want; *c; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		cr_assert_str_eq(d->env, want, "the key is the variable's name without TOKENGUARD_");
	}
	cr_assert_eq(tg_setting_find("nope"), -1);
}

Test(settings, booleans_and_choices_are_checked_by_their_kind)
{
	cr_assert(tg_setting_valid(TG_SET_SYNC, "commit"));
	cr_assert(tg_setting_valid(TG_SET_SYNC, "batch"));
	cr_assert(tg_setting_valid(TG_SET_SYNC, ""), "empty: the default");
	cr_assert_not(tg_setting_valid(TG_SET_SYNC, "batc"));
	cr_assert_not(tg_setting_valid(TG_SET_SYNC, "batch|commit"));
	cr_assert(tg_setting_valid(TG_SET_FAIL, "closed"));
	cr_assert_not(tg_setting_valid(TG_SET_FAIL, "shut"));
	cr_assert(tg_setting_valid(TG_SET_QUIET, "Yes"));
	cr_assert_not(tg_setting_valid(TG_SET_QUIET, "maybe"));
	cr_assert_not(tg_setting_valid(TG_SET_SETUID_PROGRAMS, "y"));
	cr_assert(tg_setting_valid(TG_SET_TAGS, "anything: checked where it is used"));
}
