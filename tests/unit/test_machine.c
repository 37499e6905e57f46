/* test_machine.c - machine names, ledger ids and global record ids
 * (ledger/machine.c). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fixture.h"
#include "machine.h"
#include "record.h"
#include "settings.h"

static char dir[256], other[256];

static void setup(void)
{
	unsetenv("TOKENGUARD_MACHINE");
	tg_settings_force_paths("/nonexistent/system", "/nonexistent/user");
	tg_settings_load();
	tgt_tmpdir(dir, sizeof dir, "tg-machine");
	tgt_tmpdir(other, sizeof other, "tg-machine-other");
}

static void teardown(void)
{
	unsetenv("TOKENGUARD_MACHINE");
	tg_settings_force_paths(NULL, NULL);
	tg_settings_load();
	tgt_rmtree(dir);
	tgt_rmtree(other);
}

TestSuite(machine, .init = setup, .fini = teardown);

static int hex_only(const char *s, size_t n)
{
	return strspn(s, "0123456789abcdef") == n;
}

Test(machine, names_are_short_words_of_a_safe_alphabet)
{
	char longest[TG_MACHINE_MAX + 1];

	cr_assert(tg_machine_name_valid("web-01.eu_west"));
	cr_assert_not(tg_machine_name_valid(""));
	cr_assert_not(tg_machine_name_valid("a b"));
	cr_assert_not(tg_machine_name_valid("a,b"));
	cr_assert_not(tg_machine_name_valid("a=b"));
	cr_assert_not(tg_machine_name_valid("caf\xc3\xa9"));
	memset(longest, 'x', sizeof longest);
	longest[TG_MACHINE_MAX - 1] = '\0';
	cr_assert(tg_machine_name_valid(longest));
	longest[TG_MACHINE_MAX - 1] = 'x';
	longest[TG_MACHINE_MAX] = '\0';
	cr_assert_not(tg_machine_name_valid(longest));
}

Test(machine, the_default_is_a_keyed_hash_of_the_machine_id)
{
	char a[TG_MACHINE_MAX], again[TG_MACHINE_MAX], b[TG_MACHINE_MAX];
	struct stat st;

	if (stat("/etc/machine-id", &st) != 0 && stat("/var/lib/dbus/machine-id", &st) != 0)
		cr_skip_test("this machine has no machine id");
	cr_assert_eq(tg_machine_name(dir, a, sizeof a), 0);
	cr_assert_eq(strlen(a), 14, "%s", a);
	cr_assert_eq(strncmp(a, "m-", 2), 0, "%s", a);
	cr_assert(hex_only(a + 2, 12), "%s", a);
	/* stable for one ledger, another for another ledger's key */
	cr_assert_eq(tg_machine_name(dir, again, sizeof again), 0);
	cr_assert_str_eq(a, again);
	cr_assert_eq(tg_machine_name(other, b, sizeof b), 0);
	cr_assert_str_neq(a, b);
	cr_assert(tg_machine_name_valid(a));
}

Test(machine, the_setting_names_the_machine)
{
	char name[TG_MACHINE_MAX];

	setenv("TOKENGUARD_MACHINE", "ci-runner-7", 1);
	cr_assert_eq(tg_machine_name(dir, name, sizeof name), 0);
	cr_assert_str_eq(name, "ci-runner-7");
	setenv("TOKENGUARD_MACHINE", "not a name", 1);
	cr_assert_eq(tg_machine_name(dir, name, sizeof name), TG_EINVAL);
	cr_assert_eq(tg_machine_name(dir, name, 8), TG_EINVAL);
}

Test(machine, a_global_id_is_the_ledger_id_and_the_key)
{
	char uid[TG_LEDGER_UID_LEN + 1], again[TG_LEDGER_UID_LEN + 1], other_uid[TG_LEDGER_UID_LEN + 1];
	char gid[TG_RECORD_GID_MAX];
	const unsigned char key[16] = { 0x00, 0x06, 0x60, 0xbe, 0x0a, 0xb5, 0xc0, 0x00,
	                                0x00, 0x00, 0x43, 0x55, 0x00, 0x00, 0x00, 0x04 };

	cr_assert_eq(tg_ledger_uid(dir, uid), 0);
	cr_assert_eq(strlen(uid), TG_LEDGER_UID_LEN);
	cr_assert(hex_only(uid, TG_LEDGER_UID_LEN), "%s", uid);
	cr_assert_eq(tg_ledger_uid(dir, again), 0);
	cr_assert_str_eq(uid, again);
	cr_assert_eq(tg_ledger_uid(other, other_uid), 0);
	cr_assert_str_neq(uid, other_uid);
	tg_record_gid(uid, key, gid);
	cr_assert_eq(strlen(gid), TG_RECORD_GID_MAX - 1);
	cr_assert_eq(strncmp(gid, uid, TG_LEDGER_UID_LEN), 0);
	cr_assert_str_eq(gid + TG_LEDGER_UID_LEN, "-000660be0ab5c0000000435500000004");
}
