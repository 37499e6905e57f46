/* test_env.c - the environment's one door (tg_env_get) and the boolean spelling. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "env.h"
#include "ledger.h"

Test(env, booleans_take_every_common_spelling_in_any_case)
{
	static const char *const on[] = { "1", "true", "TRUE", "yes", "Yes", "on", "ON" };
	static const char *const off[] = { "0", "false", "False", "no", "NO", "off", "Off" };
	int v;

	for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
		v = -1;
		cr_assert_eq(tg_parse_bool(on[i], &v), 0, "%s", on[i]);
		cr_assert_eq(v, 1, "%s", on[i]);
	}
	for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
		v = -1;
		cr_assert_eq(tg_parse_bool(off[i], &v), 0, "%s", off[i]);
		cr_assert_eq(v, 0, "%s", off[i]);
	}
}

Test(env, anything_else_is_not_a_boolean)
{
	static const char *const bad[] = { "", "2", "-1", "tru", "yess", "o", " 1", "1 ", "enable", "0x1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int v = 7;
		cr_assert_eq(tg_parse_bool(bad[i], &v), -1, "\"%s\" was taken for a boolean", bad[i]);
		cr_assert_eq(v, 7, "\"%s\" changed the value", bad[i]);
	}
	cr_assert_eq(tg_parse_bool(NULL, &(int){ 0 }), -1);
}

Test(env, a_secure_execution_process_reads_no_variable)
{
	setenv("TOKENGUARD_LEDGER", "/tmp/attacker", 1);
	setenv("HOME", "/tmp/attacker-home", 1);
	cr_assert_str_eq(tg_env_get("TOKENGUARD_LEDGER"), "/tmp/attacker");
	tg_env_force_secure(1);
	cr_assert_null(tg_env_get("TOKENGUARD_LEDGER"));
	cr_assert_null(tg_env_get("HOME"));
	/* The ledger path follows: no variable steers a privileged process. */
	char dir[256];
	cr_assert_eq(tg_ledger_default_dir(dir, sizeof dir), TG_ENOENT);
	tg_env_force_secure(-1);
	cr_assert_eq(tg_secure_execution(), 0, "the unit tests do not run setuid");
}

Test(env, the_config_file_path_follows_xdg_then_home)
{
	char p[64];

	setenv("XDG_CONFIG_HOME", "/x/conf", 1);
	setenv("HOME", "/home/u", 1);
	cr_assert_eq(tg_config_file_path("prices.tsv", p, sizeof p), 0);
	cr_assert_str_eq(p, "/x/conf/tokenguard/prices.tsv");
	setenv("XDG_CONFIG_HOME", "relative/conf", 1);
	cr_assert_eq(tg_config_file_path("prices.tsv", p, sizeof p), 0);
	cr_assert_str_eq(p, "/home/u/.config/tokenguard/prices.tsv", "a relative XDG path is ignored");
	unsetenv("XDG_CONFIG_HOME");
	cr_assert_eq(tg_config_file_path("prices.tsv", p, sizeof p), 0);
	cr_assert_str_eq(p, "/home/u/.config/tokenguard/prices.tsv");
	cr_assert_eq(tg_config_file_path("prices.tsv", p, 20), -1, "too long for the buffer");
	setenv("HOME", "/home/u", 1);
	tg_env_force_secure(1);
	cr_assert_eq(tg_config_file_path("prices.tsv", p, sizeof p), -1, "none in secure execution");
	tg_env_force_secure(-1);
}

/* Without HOME, the real user's home from /etc/passwd (never NSS). */
Test(env, without_home_the_config_file_is_below_the_passwd_home)
{
	char p[256], home[256], want[300];

	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	cr_assert_eq(tg_passwd_home(getuid(), home, sizeof home), 0,
	             "the test runs as a user of /etc/passwd");
	cr_assert_eq(home[0], '/');
	snprintf(want, sizeof want, "%s/.config/tokenguard/config", home);
	cr_assert_eq(tg_config_file_path("config", p, sizeof p), 0);
	cr_assert_str_eq(p, want);
	tg_env_force_secure(1);
	cr_assert_eq(tg_config_file_path("config", p, sizeof p), -1, "none in secure execution");
	tg_env_force_secure(-1);
	cr_assert_eq(tg_passwd_home(4000000000u, home, sizeof home), -1, "no such uid");
	cr_assert_eq(tg_passwd_home(0, home, 3), -1, "too long for the buffer");
}
