/* settings.h - every setting of tokenguard, and where its value comes from.
 *
 * Owns: the one table of settings (tg_settings_table: each key of the
 * configuration files, its TOKENGUARD_* variable, its default and what it
 * does; the reader, `tokenguard-report init` and `doctor` all use it), the
 * two configuration files and the precedence between them:
 *
 *     environment  >  user file  >  system file  >  default
 *
 * The system file is TG_SYSTEM_CONFIG (/etc/tokenguard/config, root's);
 * the user file $XDG_CONFIG_HOME/tokenguard/config, else
 * ~/.config/tokenguard/config (env.h, tg_config_file_path), the real
 * user's.  Both are read with config_file.h's checks, once per process
 * (tg_settings_load), into static buffers: nothing is allocated.  A
 * variable that is set wins even when empty; an empty value (variable or
 * file) means the default.
 *
 * A secure-execution process (setuid, setgid, file capabilities; env.h)
 * reads no variable and never the user file.  It reads the system file
 * only to learn whether `setuid_programs = yes` is in it (a key no other
 * source may set); then the system file's settings, and only they, apply
 * there; else nothing does and the shim stays off.
 *
 * Values are read by tg_setting(); the first call loads the files if
 * tg_settings_load() has not run.  Lives in ledger/ because both the shim
 * and tokenguard-report link it.
 */
#ifndef TG_SETTINGS_H
#define TG_SETTINGS_H

#include <stddef.h>

#include "config_file.h"   /* TG_CONF_READ, TG_CONF_ABSENT, TG_CONF_REFUSED */

#ifndef TG_SYSTEM_CONFIG
#define TG_SYSTEM_CONFIG "/etc/tokenguard/config"
#endif

enum tg_setting_id {
	TG_SET_LEDGER,
	TG_SET_SYNC,
	TG_SET_TAGS,
	TG_SET_HOSTS,
	TG_SET_PRICES,
	TG_SET_DISABLE,
	TG_SET_DEBUG,
	TG_SET_QUIET,
	TG_SET_BUDGETS,
	TG_SET_FAIL,
	TG_SET_LIB,
	TG_SET_ATTRIBUTION,
	TG_SET_MACHINE,
	TG_SET_SETUID_PROGRAMS,
	TG_SET_FLEET_REDIS,
	TG_SET_FLEET_STALE,
	TG_SET_FLEET_POSTGRES,
	TG_SET_COUNT
};

#define TG_SETTING_SYSTEM_ONLY 1u   /* only the system file may set it; no variable */
#define TG_SETTING_BOOL        2u   /* 1/0, true/false, yes/no, on/off (tg_parse_bool) */
#define TG_SETTING_CHOICE      4u   /* one of the words of choices */

struct tg_setting_def {
	const char *key;      /* in the files: "ledger" */
	const char *env;      /* "TOKENGUARD_LEDGER"; NULL for a system-only key */
	const char *value;    /* the default as a value ("batch", "0"); "" when it is
	                         computed or none (an empty value means the default) */
	const char *shown;    /* the default in words, for people */
	const char *about;    /* what it does, one line */
	unsigned flags;       /* TG_SETTING_* */
	const char *choices;  /* TG_SETTING_CHOICE: "batch|commit" */
};

extern const struct tg_setting_def tg_settings_table[TG_SET_COUNT];

/* Where an effective value comes from. */
enum tg_setting_source { TG_SRC_DEFAULT, TG_SRC_ENV, TG_SRC_USER, TG_SRC_SYSTEM };

/* The two files, for tg_settings_file_*. */
enum tg_conf_which { TG_CONF_SYSTEM, TG_CONF_USER };

/* (Re)reads both files as the rules above say.  Problems are kept for
 * tg_settings_file_state / tg_settings_problem; nothing is printed. */
void tg_settings_load(void);

/* The effective value of id: the variable, else the user file's, else the
 * system file's, else NULL (the default).  "" is a value: the default. */
const char *tg_setting(enum tg_setting_id id);

/* Like tg_setting, and where the value comes from: the source, and in
 * where (n bytes) the variable ("TOKENGUARD_X"), "PATH:LINE" or "default". */
const char *tg_setting_origin(enum tg_setting_id id, int *source, char *where, size_t n);

/* 1 when v is a value setting id can take ("" included: the default), as
 * far as its kind tells (booleans, choices); any other value is 1. */
int tg_setting_valid(enum tg_setting_id id, const char *v);

/* The key whose name is key, or -1. */
int tg_setting_find(const char *key);

/* 1 when this is a secure-execution process whose system file says
 * setuid_programs = yes: the system file applies in it. */
int tg_settings_secure_allowed(void);

/* A file's path ("" when there is none: no home), and what became of it:
 * TG_CONF_READ, TG_CONF_ABSENT, TG_CONF_REFUSED (*why: the reason and the
 * remedy), or 2 when it was not looked at (the user file in a secure-
 * execution process). */
#define TG_CONF_UNREAD 2
const char *tg_settings_file_path(enum tg_conf_which which);
int tg_settings_file_state(enum tg_conf_which which, const char **why);

/* How many lines of a file were skipped, and the i-th of them (the first
 * TG_SETTINGS_PROBLEMS_KEPT are kept) as "PATH:LINE: what is wrong" in buf
 * (n bytes).  Returns 0, or -1 when there is no such problem kept. */
#define TG_SETTINGS_PROBLEMS_KEPT 16
int tg_settings_problems(enum tg_conf_which which);
int tg_settings_problem(enum tg_conf_which which, int i, char *buf, size_t n);

/* Tests only: reads these paths instead of the system file and the user's
 * (NULL: the usual one again) at the next tg_settings_load. */
void tg_settings_force_paths(const char *system_path, const char *user_path);

#endif
