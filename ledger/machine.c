/* machine.c - machine names, ledger ids and global record ids (machine.h). */
#include "machine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "byteorder.h"
#include "error.h"
#include "ledger_secret.h"
#include "file_read.h"
#include "record.h"
#include "settings.h"
#include "siphash.h"

/* What the ledger's id hashes: any fixed text no machine id can equal
 * (those are 32 hex digits). */
#define LEDGER_UID_TEXT "tokenguard ledger id"

int tg_machine_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= TG_MACHINE_MAX)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* The machine id's text, its line end cut, into buf; on a machine
 * without one (a container image often has none), "host:" and the host
 * name, which at least tells machines apart.  Returns its length, or a
 * TG_E* code. */
static int read_machine_id(char *buf, size_t n)
{
	static const char *const paths[] = { "/etc/machine-id", "/var/lib/dbus/machine-id" };
	int err = TG_ENOENT;

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		struct stat st;
		int fd = tg_file_open_checked(paths[i], 0, &st);

		if (fd < 0) {
			err = tg_error_from_errno(errno);
			continue;
		}
		ssize_t got = S_ISREG(st.st_mode) ? tg_file_read_upto(fd, buf, n - 1) : -1;
		close(fd);
		while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
			got--;
		if (got > 0)
			return (int)got;
		err = TG_ECORRUPT;
	}
	if (n > 6 && gethostname(buf + 5, n - 6) == 0) {
		buf[n - 1] = '\0';
		memcpy(buf, "host:", 5);
		if (buf[5])
			return (int)strlen(buf);
	}
	return err;
}

int tg_machine_name(const char *ledger_dir, char *buf, size_t n)
{
	const char *named = tg_setting(TG_SET_MACHINE);
	uint8_t key[TG_SIPHASH_KEY_BYTES];
	char id[128];
	int len, rc;

	if (n < TG_MACHINE_MAX)
		return TG_EINVAL;
	if (named && *named) {
		if (!tg_machine_name_valid(named))
			return TG_EINVAL;
		memcpy(buf, named, strlen(named) + 1);
		return 0;
	}
	if ((len = read_machine_id(id, sizeof id)) < 0)
		return len;
	if ((rc = tg_ledger_secret_load(ledger_dir, TG_LEDGER_ID_FILE, 1, key)) != 0)
		return rc;
	snprintf(buf, n, "m-%012llx",
	         (unsigned long long)(tg_siphash24(key, id, (size_t)len) >> 16));
	return 0;
}

int tg_ledger_uid(const char *ledger_dir, char uid[TG_LEDGER_UID_LEN + 1])
{
	uint8_t key[TG_SIPHASH_KEY_BYTES];
	int rc = tg_ledger_secret_load(ledger_dir, TG_LEDGER_ID_FILE, 1, key);

	if (rc != 0)
		return rc;
	snprintf(uid, TG_LEDGER_UID_LEN + 1, "%016llx",
	         (unsigned long long)tg_siphash24(key, LEDGER_UID_TEXT, sizeof LEDGER_UID_TEXT - 1));
	return 0;
}

void tg_record_gid(const char uid[TG_LEDGER_UID_LEN + 1], const unsigned char key[16],
                   char out[TG_RECORD_GID_MAX])
{
	snprintf(out, TG_RECORD_GID_MAX, "%.*s-%016llx%016llx", TG_LEDGER_UID_LEN, uid,
	         (unsigned long long)tg_get_be64(key), (unsigned long long)tg_get_be64(key + 8));
}
