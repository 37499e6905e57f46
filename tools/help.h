/* help.h - the option lines of `--help` and the help of each command
 * (`help COMMAND`, `COMMAND --help`): purpose, its options only, examples.
 * The option lines are one table (help.c), printed whole in the global
 * help and filtered by a command's TG_TAKES_* bits in its own. */
#ifndef TG_HELP_H
#define TG_HELP_H

#include <stdio.h>

#include "report.h"

/* The option lines of the options a command with takes accepts; every
 * option when all. */
void tg_help_options(FILE *f, unsigned takes, int all);

/* The help of cmd: its purpose, its options, examples. */
void tg_help_command(FILE *f, const struct tg_cmd *cmd);

#endif
