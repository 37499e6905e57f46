/* machine.h - which machine a record was made on, and each record's id
 * across machines.
 *
 * Owns: the rule for machine names, the ledger's own machine name, the
 * ledger's id and the global id of a record, shared by the shim (which
 * stamps a named machine into records), `records` (which shows both) and
 * `sync` (which sends them to the fleet's stores).
 *
 * A machine is named by the `machine` setting (TOKENGUARD_MACHINE) when
 * it is set; else it is "m-" and 12 hex digits of SipHash-2-4 of
 * /etc/machine-id (or the host name where there is none) under the
 * ledger's secret TG_LEDGER_ID_FILE
 * (ledger_secret.h; not the attribution key, which a ledger that records
 * no user id never makes).
 * The hash, not the id itself: machine-id(5) asks that the id not leave
 * the machine, and a keyed hash cannot be traced back to it.  A record
 * whose machine field is "" was made on the ledger's own machine.
 *
 * A ledger's id is 16 hex digits of SipHash of a fixed text under the
 * same key: stable for the ledger's life, different for every ledger.
 * A record's global id is that id, '-', and the 32 hex digits of its
 * 16-byte ledger key (time, pid, sequence): the same record always gets
 * the same id, so sending it twice stores it once, and two ledgers never
 * give the same one.
 */
#ifndef TG_MACHINE_H
#define TG_MACHINE_H

#include <stddef.h>

#define TG_LEDGER_ID_FILE "ledger-id"
#define TG_LEDGER_UID_LEN 16
#define TG_RECORD_GID_MAX (TG_LEDGER_UID_LEN + 1 + 32 + 1)

/* 1 when s is a machine name: 1 to TG_MACHINE_MAX - 1 bytes of
 * [A-Za-z0-9._-]. */
int tg_machine_name_valid(const char *s);

/* The ledger's machine name into buf (at least TG_MACHINE_MAX bytes):
 * the `machine` setting when it is set and valid, else the hash of
 * /etc/machine-id (or /var/lib/dbus/machine-id) under the key of the
 * ledger in ledger_dir, made when there is none.  Returns 0, TG_EINVAL
 * for a `machine` setting that is not a name, or the key's or the
 * machine id's TG_E* error. */
int tg_machine_name(const char *ledger_dir, char *buf, size_t n);

/* The id of the ledger in ledger_dir (its key made when there is none).
 * Returns 0 or the key's TG_E* error (attribution.h). */
int tg_ledger_uid(const char *ledger_dir, char uid[TG_LEDGER_UID_LEN + 1]);

/* The global id of the record under key in the ledger of id uid. */
void tg_record_gid(const char uid[TG_LEDGER_UID_LEN + 1], const unsigned char key[16],
                   char out[TG_RECORD_GID_MAX]);

#endif
