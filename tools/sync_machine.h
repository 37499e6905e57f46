/* sync_machine.h - the name this machine pushes its fleet spend under:
 * TOKENGUARD_MACHINE, else the host name.  (The ledger's machine rule,
 * ledger/machine.h's tg_machine_name, replaces it once merged.) */
#ifndef TG_SYNC_MACHINE_H
#define TG_SYNC_MACHINE_H

#include <stddef.h>

/* 0, or -1 when there is no name of 1..63 characters of [A-Za-z0-9._-]. */
int tg_sync_machine_name(const char *ledger_dir, char *buf, size_t n);

#endif
