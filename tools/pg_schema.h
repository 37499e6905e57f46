/* pg_schema.h - the fleet's PostgreSQL schema: the connection, the tables,
 * indexes and views that `tokenguard-report sync --init` creates or
 * migrates, and the check every push and fleet report makes first.
 *
 * Owns: the schema's versions (the table tokenguard_schema holds one row
 * per version applied; a later tokenguard adds a step and migrates from
 * whatever version it finds, under an advisory lock so that two agents
 * running --init at once do not both apply it), the DDL of each step, and
 * how tokenguard-report connects (connect_timeout, statement_timeout,
 * application_name) so that a dead or hung server never stalls an agent
 * for long.  Only tokenguard-report links libpq; the shim never does.
 */
#ifndef TG_PG_SCHEMA_H
#define TG_PG_SCHEMA_H

#include <stddef.h>

#include <libpq-fe.h>

/* The version this tokenguard writes and reads. */
#define TG_PG_SCHEMA_VERSION 1

/* Seconds: to connect (unless the conninfo says), and for one statement. */
#define TG_PG_CONNECT_TIMEOUT_S "5"
#define TG_PG_STATEMENT_TIMEOUT "60s"

/* The conninfo to use: over (--postgres) when not NULL, else the
 * fleet_postgres setting; NULL when neither is set. */
const char *tg_pg_conninfo(const char *over);

/* Connects to conninfo (a libpq conninfo string or URI).  Returns the
 * connection, or NULL after writing why into err (n bytes): the server's
 * or libpq's message on one line, the password never included. */
PGconn *tg_pg_connect(const char *conninfo, char *err, size_t n);

/* Creates or migrates the schema to TG_PG_SCHEMA_VERSION, in one
 * transaction.  *from is set to the version found (0: none).  Returns 0,
 * or -1 after writing why into err (a newer schema than ours included). */
int tg_pg_schema_init(PGconn *c, int *from, char *err, size_t n);

/* Checks that the schema is there at our version.  Returns 0, or -1 after
 * writing why and what to run into err. */
int tg_pg_schema_check(PGconn *c, char *err, size_t n);

/* The server's message of a failed result or connection, on one line,
 * into err (n bytes), after what ("insert: "). */
void tg_pg_error(PGconn *c, const PGresult *res, const char *what, char *err, size_t n);

#endif
