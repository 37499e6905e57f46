/* ledger_holder.c - holds a ledger's writer lock for the integration
 * tests, the two ways a real process can hold it:
 *
 *   ledger-holder stop DIR   opens DIR as tokenguard does and stops itself
 *                            (SIGSTOP) inside a write transaction: a program
 *                            stopped in its commit (Ctrl-Z, a debugger).
 *                            SIGCONT lets it commit and exit.
 *   ledger-holder lmdb DIR   a writer that is not tokenguard's: LMDB's own
 *                            write transaction, held until stdin closes.
 *
 * Prints "held" on stdout once it holds the lock.
 */
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ledger_impl.h"

static int stop_inside(struct tg_ledger *l, MDB_txn *txn, void *ctx)
{
	puts("held");
	fflush(stdout);
	raise(SIGSTOP);
	return 0;
}

static int hold_tokenguard(const char *dir)
{
	struct tg_ledger *l;
	int rc = tg_ledger_open(&l, dir, TG_LEDGER_CREATE);

	if (rc) {
		fprintf(stderr, "ledger-holder: %s: %s\n", dir, tg_strerror(rc));
		return 2;
	}
	rc = tgl_ledger_write(l, stop_inside, NULL);
	tg_ledger_close(l);
	return rc ? 1 : 0;
}

static int hold_lmdb(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	char buf[64];
	int rc;

	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 12)) ||
	    (rc = mdb_env_open(env, dir, 0, 0600)) || (rc = mdb_txn_begin(env, NULL, 0, &txn))) {
		fprintf(stderr, "ledger-holder: %s: %s\n", dir, mdb_strerror(rc));
		return 2;
	}
	puts("held");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof buf) > 0)
		;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "stop") == 0)
		return hold_tokenguard(argv[2]);
	if (argc == 3 && strcmp(argv[1], "lmdb") == 0)
		return hold_lmdb(argv[2]);
	fprintf(stderr, "usage: ledger-holder stop|lmdb DIR\n");
	return 2;
}
