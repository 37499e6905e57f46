/* config.h - the shim's settings, read once from the environment and the
 * configuration files.
 *
 * Owns: the single struct tg_config (tg_config_get), filled by
 * tg_config_load() at the first hook call and read-only afterwards, and the
 * process name recorded with every exchange, read by the first
 * tg_config_get() (so only by a process that calls a provider).  Every
 * setting the shim reads is read here (through tg_setting, settings.h: the
 * variable, else the user's file, else the system file) and nowhere else;
 * each is documented in tokenguard.env.example and tokenguard(7).  The
 * warnings about the files (one per file at most) are said here too.
 *
 * In a secure-execution process (setuid, setgid, file capabilities) no
 * variable and no user file is read: the shim is disabled, says nothing
 * and reads no file but the system configuration file, because no ledger,
 * price file or budget named by the caller can be trusted there; unless
 * that file says setuid_programs = yes, and then its settings alone apply.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include "attribution.h"
#include "record.h"

struct tg_config {
	int secure;                   /* secure-execution process: everything below is off
	                                 unless the system file allows it (settings.h) */
	int disabled;                 /* TOKENGUARD_DISABLE=1 (or secure): observe nothing */
	int debug;                    /* TOKENGUARD_DEBUG=1 */
	int quiet;                    /* TOKENGUARD_QUIET=1 */
	char ledger_dir[4096];        /* TOKENGUARD_LEDGER, else the XDG default; "" if none can be found */
	const char *ledger_problem;   /* why ledger_dir is "", in words; else NULL */
	const char *prices_file;      /* TOKENGUARD_PRICES, else prices_path, or NULL */
	int prices_found;             /* prices_file is prices_path: it may be absent, and is
	                                 read only when it is the user's (TG_PRICES_FOUND_FILE) */
	char prices_path[4096];       /* $XDG_CONFIG_HOME/tokenguard/prices.tsv, else
	                                 ~/.config/tokenguard/prices.tsv; "" if neither is set */
	const char *budgets;          /* TOKENGUARD_BUDGETS, or NULL (parsed by the budget gate) */
	const char *fail;             /* TOKENGUARD_FAIL, or NULL (read by the budget gate) */
	int sync_commit;              /* TOKENGUARD_SYNC=commit: each record committed in the
	                                 call that ends its exchange; default (batch): handed
	                                 off to the spool, folded in groups (sink.h) */
	char tags[TG_TAGS_MAX];       /* TOKENGUARD_TAGS, validated: "k=v,k=v" */
	enum tg_attrib_mode attribution; /* TOKENGUARD_ATTRIBUTION: what request bodies
	                                    say of who the call is for (default hash) */
	char process[TG_PROCESS_MAX]; /* program name; the script name for interpreters */
	char machine[TG_MACHINE_MAX]; /* TOKENGUARD_MACHINE, validated; "" = the ledger's
	                                 own machine (machine.h) */
};

/* Reads the settings (tg_settings_load: the files once, then the
 * environment over them).  Invalid entries are reported once on stderr and
 * dropped; a boolean that is none of 1/0/true/false/yes/no/on/off gets one
 * warning and its default (0).  Also sets up the log and configures the
 * provider table (TOKENGUARD_HOSTS).  Returns the configuration, its
 * process name not read yet: for the hooks' start-up, which needs none. */
const struct tg_config *tg_config_load(void);

/* The configuration, with the process name (read from /proc/self/cmdline
 * on the first call, never in secure execution). */
const struct tg_config *tg_config_get(void);

/* Validates a TOKENGUARD_TAGS value into out ("k=v,k=v"): keys are
 * [A-Za-z0-9_.-]+, values are any bytes but ',', '=' and control
 * characters; a key given twice keeps its first value.  Returns the number
 * of entries dropped.  (Exposed for tests.) */
int tg_config_parse_tags(const char *env, char *out, size_t outlen);

/* Derives the process name from argv: the program's basename, or for an
 * interpreter (python*, node, ruby, perl, sh, bash, ...) the basename of the
 * script it runs.  (Exposed for tests.) */
void tg_config_process_name(const char *const *argv, int argc, char *out, size_t outlen);

#endif
