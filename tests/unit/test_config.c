/* test_config.c - TOKENGUARD_TAGS validation, process naming, and what the loader makes
 * of the environment: booleans, the ledger path, secure execution. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "env.h"
#include "fixture.h"
#include "providers.h"

Test(config, tags_keep_valid_pairs_in_order)
{
	char out[TG_TAGS_MAX];
	cr_assert_eq(tg_config_parse_tags("team=search,feature=auto-complete,user=u.42", out, sizeof out), 0);
	cr_assert_str_eq(out, "team=search,feature=auto-complete,user=u.42");
}

Test(config, tags_drop_malformed_pairs_and_count_them)
{
	char out[TG_TAGS_MAX];
	cr_assert_eq(tg_config_parse_tags("team=search,novalue,=x,bad key=1,a=b=c,,ok=1", out, sizeof out), 4);
	cr_assert_str_eq(out, "team=search,ok=1");
}

Test(config, a_repeated_tag_key_keeps_its_first_value)
{
	char out[TG_TAGS_MAX];
	cr_assert_eq(tg_config_parse_tags("team=a,user=u,team=b", out, sizeof out), 1);
	cr_assert_str_eq(out, "team=a,user=u");
}

Test(config, tags_absent_give_empty_string)
{
	char out[TG_TAGS_MAX] = "junk";
	cr_assert_eq(tg_config_parse_tags(NULL, out, sizeof out), 0);
	cr_assert_str_eq(out, "");
}

Test(config, empty_tag_value_is_allowed)
{
	char out[TG_TAGS_MAX];
	cr_assert_eq(tg_config_parse_tags("team=", out, sizeof out), 0);
	cr_assert_str_eq(out, "team=");
}

static void name_of(const char *const *argv, int argc, const char *want)
{
	char out[TG_PROCESS_MAX];
	tg_config_process_name(argv, argc, out, sizeof out);
	cr_assert_str_eq(out, want);
}

Test(config, process_is_the_program_name)
{
	const char *argv[] = { "/usr/bin/curl", "-s", "https://api.openai.com/" };
	name_of(argv, 3, "curl");
}

Test(config, interpreters_are_named_after_their_script)
{
	const char *py[] = { "/usr/bin/python3.11", "-u", "/srv/app/summarise.py", "--fast" };
	name_of(py, 4, "summarise.py");
	const char *mod[] = { "python3", "-m", "myapp.worker" };
	name_of(mod, 3, "myapp.worker");
	const char *cmd[] = { "python3", "-c", "print(1)" };
	name_of(cmd, 3, "python3");
	const char *sh[] = { "bash", "./run-evals.sh" };
	name_of(sh, 2, "run-evals.sh");
}

Test(config, long_names_are_cut_to_the_field)
{
	char longname[200];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	const char *argv[] = { longname };
	char out[TG_PROCESS_MAX];
	tg_config_process_name(argv, 1, out, sizeof out);
	cr_assert_eq(strlen(out), TG_PROCESS_MAX - 1);
}

Test(config, inline_code_never_names_the_process)
{
	const char *node[] = { "node", "-e", "const key='sk-proj-SECRET'; fetch('x')" };
	name_of(node, 3, "node");
	const char *perl[] = { "/usr/bin/perl", "-E", "say 1" };
	name_of(perl, 3, "perl");
	const char *php[] = { "php", "-r", "echo 1;" };
	name_of(php, 3, "php");
	const char *ruby[] = { "ruby", "-e", "puts 1" };
	name_of(ruby, 3, "ruby");
}

Test(config, option_values_are_not_taken_for_the_script)
{
	const char *py[] = { "python3", "-W", "ignore", "-X", "dev", "app.py" };
	name_of(py, 6, "app.py");
	const char *node[] = { "node", "-r", "dotenv/config", "server.js" };
	name_of(node, 4, "server.js");
	const char *uv[] = { "uv", "run", "--with", "httpx", "agent.py" };
	name_of(uv, 5, "agent.py");
}

Test(config, text_that_is_not_a_name_is_not_recorded)
{
	const char *sh[] = { "bash", "echo $OPENAI_API_KEY; curl x" };
	name_of(sh, 2, "bash");
}

/* ---- what the loader makes of the environment (each test is a process of
 * its own, so setenv does not leak) */

static const struct tg_config *load_capturing(char *err, size_t n)
{
	int token = tgt_stderr_begin();
	tg_config_load();
	tgt_stderr_end(token, err, n);
	return tg_config_get();
}

Test(config, booleans_take_their_spellings)
{
	char err[4096];
	setenv("TOKENGUARD_DISABLE", "Yes", 1);
	setenv("TOKENGUARD_QUIET", "off", 1);
	const struct tg_config *c = load_capturing(err, sizeof err);
	cr_assert_eq(c->disabled, 1);
	cr_assert_eq(c->quiet, 0);
	cr_assert_str_eq(err, "");
}

Test(config, a_garbage_boolean_warns_once_and_keeps_the_default)
{
	char err[4096];
	setenv("TOKENGUARD_DISABLE", "garbage", 1);
	const struct tg_config *c = load_capturing(err, sizeof err);
	cr_assert_eq(c->disabled, 0, "garbage must not turn recording off");
	cr_assert_str_eq(err, "tokenguard: TOKENGUARD_DISABLE=garbage: expected 1/0, true/false, "
	                 "yes/no or on/off; using 0\n");
}

Test(config, budgets_and_fail_mode_are_read_here)
{
	char err[4096];
	setenv("TOKENGUARD_BUDGETS", "global,day,usd=1,block", 1);
	setenv("TOKENGUARD_FAIL", "closed", 1);
	const struct tg_config *c = load_capturing(err, sizeof err);
	cr_assert_str_eq(c->budgets, "global,day,usd=1,block");
	cr_assert_str_eq(c->fail, "closed");
}

Test(config, attribution_is_hash_unless_said_otherwise)
{
	char err[4096];
	const struct tg_config *c;

	unsetenv("TOKENGUARD_ATTRIBUTION");
	c = load_capturing(err, sizeof err);
	cr_assert_eq(c->attribution, TG_ATTRIB_HASH);
	setenv("TOKENGUARD_ATTRIBUTION", "plain", 1);
	c = load_capturing(err, sizeof err);
	cr_assert_eq(c->attribution, TG_ATTRIB_PLAIN);
	cr_assert_str_eq(err, "");
	setenv("TOKENGUARD_ATTRIBUTION", "clear", 1);
	c = load_capturing(err, sizeof err);
	cr_assert_eq(c->attribution, TG_ATTRIB_HASH, "an unknown mode must not record ids in clear");
	cr_assert_str_eq(err, "tokenguard: TOKENGUARD_ATTRIBUTION=clear: expected hash, plain or off; "
	                 "using hash\n");
}

Test(config, a_ledger_path_too_long_says_so)
{
	char err[4096], *path = malloc(5006);
	memset(path, 'd', 5005);
	path[0] = '/';
	path[5005] = '\0';
	setenv("TOKENGUARD_LEDGER", path, 1);
	const struct tg_config *c = load_capturing(err, sizeof err);
	cr_assert_str_eq(c->ledger_dir, "");
	cr_assert_not_null(strstr(c->ledger_problem, "path is too long"), "%s", c->ledger_problem);
	cr_assert_null(strstr(c->ledger_problem, "--ledger"), "%s", c->ledger_problem);
	free(path);
}

Test(config, a_secure_execution_process_reads_nothing_and_says_nothing)
{
	char err[4096], prices[] = "/tmp/tg-secret-prices-XXXXXX";
	int fd = mkstemp(prices);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "SECRET-LINE\n", 12), 12);
	close(fd);
	setenv("TOKENGUARD_PRICES", prices, 1);
	setenv("TOKENGUARD_LEDGER", "/tmp/tg-planted-ledger", 1);
	setenv("TOKENGUARD_TAGS", "team=x", 1);
	setenv("TOKENGUARD_HOSTS", "evil.example=openai,bad entry", 1);
	setenv("TOKENGUARD_BUDGETS", "global,day,usd=0,block", 1);
	setenv("TOKENGUARD_DISABLE", "0", 1);
	setenv("TOKENGUARD_DEBUG", "1", 1);
	setenv("TOKENGUARD_QUIET", "garbage", 1);
	tg_env_force_secure(1);
	const struct tg_config *c = load_capturing(err, sizeof err);
	tg_env_force_secure(-1);
	unlink(prices);
	cr_assert_eq(c->secure, 1);
	cr_assert_eq(c->disabled, 1, "a secure-execution process must not be observed");
	cr_assert_eq(c->debug, 0);
	cr_assert_null(c->prices_file);
	cr_assert_null(c->budgets);
	cr_assert_null(c->fail);
	cr_assert_str_eq(c->ledger_dir, "");
	cr_assert_str_eq(c->tags, "");
	cr_assert_null(tg_provider_for_host("evil.example", 443));
	cr_assert_str_eq(err, "", "a secure-execution process printed: %s", err);
}

/* /proc/self/cmdline is read by the first reader of the name (a record, a
 * budget check), not at start-up: a process that never calls a provider
 * does not pay for it. */
Test(config, reads_the_process_name_at_its_first_need)
{
	char err[4096];
	int token = tgt_stderr_begin();
	const struct tg_config *loaded = tg_config_load();
	tgt_stderr_end(token, err, sizeof err);
	cr_assert_str_empty(loaded->process);
	const struct tg_config *cfg = tg_config_get();
	cr_assert_eq(cfg, loaded);
	cr_assert_str_not_empty(cfg->process);
	/* A reload keeps it: it is the program's, not configuration. */
	token = tgt_stderr_begin();
	tg_config_load();
	tgt_stderr_end(token, err, sizeof err);
	cr_assert_str_not_empty(cfg->process);
}

Test(config, the_users_price_file_applies_without_a_variable_and_the_variable_wins)
{
	char err[4096];
	unsetenv("TOKENGUARD_PRICES");
	setenv("XDG_CONFIG_HOME", "/tmp/tg-xdg-config", 1);
	const struct tg_config *c = load_capturing(err, sizeof err);
	cr_assert_str_eq(c->prices_file, "/tmp/tg-xdg-config/tokenguard/prices.tsv");
	cr_assert_eq(c->prices_found, 1, "found, not named: read on the user's terms");

	setenv("TOKENGUARD_PRICES", "/tmp/tg-named-prices.tsv", 1);
	c = load_capturing(err, sizeof err);
	cr_assert_str_eq(c->prices_file, "/tmp/tg-named-prices.tsv");
	cr_assert_eq(c->prices_found, 0);

	unsetenv("TOKENGUARD_PRICES");
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/tmp/tg-home", 1);
	c = load_capturing(err, sizeof err);
	cr_assert_str_eq(c->prices_file, "/tmp/tg-home/.config/tokenguard/prices.tsv");

	tg_env_force_secure(1);
	c = load_capturing(err, sizeof err);
	tg_env_force_secure(-1);
	cr_assert_null(c->prices_file, "no file is read in secure execution");
}

/* ---- the configuration files, as the shim reads them (settings.h) */

static char conf_dir[128];

/* A user file with text under a fresh XDG_CONFIG_HOME, mode mode. */
static void user_config(const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	tgt_tmpdir(conf_dir, sizeof conf_dir, "tg-shimconf");
	snprintf(path, sizeof path, "%s/tokenguard", conf_dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/tokenguard/config", conf_dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
	setenv("XDG_CONFIG_HOME", conf_dir, 1);
	for (const char *const *v = (const char *const[]){ "TOKENGUARD_TAGS", "TOKENGUARD_SYNC",
	     "TOKENGUARD_BUDGETS", "TOKENGUARD_FAIL", "TOKENGUARD_LEDGER", "TOKENGUARD_QUIET",
	     "TOKENGUARD_DEBUG", NULL }; *v; v++)
		unsetenv(*v);
}

Test(config, the_users_file_sets_what_no_variable_does)
{
	char err[4096];

	user_config("tags = team=cfg\nsync = commit\nbudgets = global,day,usd=1,block\n"
	            "fail = closed\nledger = /tmp/tg-cfg-ledger\n", 0600);
	const struct tg_config *c = load_capturing(err, sizeof err);
	cr_assert_str_eq(err, "");
	cr_assert_str_eq(c->tags, "team=cfg");
	cr_assert_eq(c->sync_commit, 1);
	cr_assert_str_eq(c->budgets, "global,day,usd=1,block");
	cr_assert_str_eq(c->fail, "closed");
	cr_assert_str_eq(c->ledger_dir, "/tmp/tg-cfg-ledger");

	setenv("TOKENGUARD_TAGS", "team=env", 1);
	setenv("TOKENGUARD_SYNC", "", 1);
	c = load_capturing(err, sizeof err);
	cr_assert_str_eq(c->tags, "team=env", "the variable wins");
	cr_assert_eq(c->sync_commit, 0, "an empty variable wins too: the default");
	tgt_rmtree(conf_dir);
}

/* A bad value warns with the file and line it came from; bad lines cost
 * one warning per file, however many. */
Test(config, a_files_problems_cost_one_warning_each_naming_the_line)
{
	char err[4096], want[512];

	user_config("quiet = maybe\nledgr = x\nno equals\nfoo = 1\ntags = t=1\n", 0600);
	const struct tg_config *c = load_capturing(err, sizeof err);
	cr_assert_str_eq(c->tags, "t=1");
	snprintf(want, sizeof want, "tokenguard: %s/tokenguard/config:2: unknown key \"ledgr\"; "
	         "line skipped (and more: see `tokenguard-report doctor`)\n", conf_dir);
	cr_assert_not_null(strstr(err, want), "%s", err);
	snprintf(want, sizeof want, "tokenguard: %s/tokenguard/config:1 (quiet)=maybe: expected",
	         conf_dir);
	cr_assert_not_null(strstr(err, want), "%s", err);
	int lines = 0;
	for (const char *p = err; (p = strchr(p, '\n')); p++)
		lines++;
	cr_assert_eq(lines, 2, "%s", err);
	tgt_rmtree(conf_dir);
}

Test(config, a_user_file_others_can_write_is_ignored_with_one_warning)
{
	char err[4096];

	user_config("tags = team=cfg\n", 0622);
	const struct tg_config *c = load_capturing(err, sizeof err);
	cr_assert_str_eq(c->tags, "");
	cr_assert_not_null(strstr(err, "can be written by group or others (mode 0622); ignored"),
	                   "%s", err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
	tgt_rmtree(conf_dir);
}
