/* env.h - the one door through which tokenguard reads its environment
 * (settings.h puts the configuration files under it).
 *
 * Owns: the secure-execution rule (a setuid, setgid or file-capability
 * process, getauxval(AT_SECURE) != 0, trusts no variable: its environment
 * was written by a less privileged caller), tg_env_get, the reader every
 * TOKENGUARD_*, XDG_DATA_HOME, XDG_CONFIG_HOME and HOME lookup of the shim and the CLI goes
 * through, and the one spelling of a boolean value.  Lives in ledger/
 * because both the shim and tokenguard-report link it.
 */
#ifndef TG_ENV_H
#define TG_ENV_H

#include <stddef.h>
#include <sys/types.h>

/* 1 in a secure-execution process (see above), else 0. */
int tg_secure_execution(void);

/* getenv(name), or NULL in a secure-execution process. */
const char *tg_env_get(const char *name);

/* The path of tokenguard's configuration file name into buf (n bytes):
 * $XDG_CONFIG_HOME/tokenguard/NAME when XDG_CONFIG_HOME is an absolute
 * path, else $HOME/.config/tokenguard/NAME, else (HOME unset) the same
 * below the real user's home in /etc/passwd.  Returns 0, or -1 when
 * there is no home (always in secure execution) or the path does not fit. */
int tg_config_file_path(const char *name, char *buf, size_t n);

/* The home directory of uid from /etc/passwd into buf (n bytes).  Only
 * that file is read, never NSS: a lookup through NSS may load modules
 * and ask a directory server over the network, which the shim must not
 * do inside a host program, and the CLI must find the same file as the
 * shim.  Returns 0, or -1 when uid has no absolute home there or it does
 * not fit. */
int tg_passwd_home(uid_t uid, char *buf, size_t n);

/* Parses a boolean variable's value: 1/true/yes/on and 0/false/no/off,
 * ASCII case-insensitive.  Returns 0 with *out set, or -1 (*out untouched)
 * for anything else, empty included. */
int tg_parse_bool(const char *v, int *out);

/* Tests only: makes tg_secure_execution() answer on (1 or 0) instead of
 * the kernel, or the kernel again (-1), so the secure path can be tested
 * without a setuid binary. */
void tg_env_force_secure(int on);

#endif
