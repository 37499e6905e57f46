"""pgserver.py - a throwaway PostgreSQL for the tests of the fleet
(fleet_pg.py, bench/fleet_pg.py): Debian's postgresql 15 server binaries,
a cluster made by initdb in a temporary directory, on loopback only.

Owns: the cluster's life.  initdb -A trust (no password: the socket is in
a private directory, conninfo, and TCP listens on 127.0.0.1 at a free
port, tcp_conninfo), fsync off (a test's data need not survive the
machine; a crash of the server alone loses nothing, as the WAL is
written at each commit: synchronous_commit stays on, or a killed server
would lose commits the agents were told of),
pg_ctl -w start and stop, a stop that is a crash (-m immediate, for the
tests of a server killed under the agents), and the removal of the
directory.  The server refuses to run as root: as root, initdb, pg_ctl and
the server run as nobody (setpriv), in a directory nobody owns.  Use it as
a context manager so that the server is stopped and its directory removed
even when a test fails.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile

PG_BIN = os.environ.get("TG_PG_BIN", "/usr/lib/postgresql/15/bin")
USER = "tokenguard"
TIMEOUT = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Failure(Exception):
    pass


class PgServer:
    def __init__(self, log_dir=None):
        for prog in ("initdb", "pg_ctl", "postgres"):
            if not os.access(os.path.join(PG_BIN, prog), os.X_OK):
                raise Failure("no %s/%s: install Debian's postgresql (tests/deps.sh)"
                              % (PG_BIN, prog))
        self.root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="tokenguard-pg.")
        self.data = os.path.join(self.dir, "data")
        # The server writes its log where it can (nobody cannot enter a
        # test's directory); close() copies it to log_dir.
        self.log = os.path.join(self.dir, "postgres.log")
        self.log_dir = log_dir
        self.port = free_port()
        self.running = False
        if self.root:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)

    @property
    def conninfo(self):
        """Through the socket in the private directory: no other program
        can take its place while the server is down, as one could take
        a TCP port."""
        return "host=%s port=%d user=%s dbname=postgres" % (self.dir, self.port, USER)

    @property
    def tcp_conninfo(self):
        return "host=127.0.0.1 port=%d user=%s dbname=postgres" % (self.port, USER)

    def _run(self, argv, what):
        if self.root:
            argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                    "--reset-env"] + argv
        p = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, cwd=self.dir)
        if p.returncode != 0:
            raise Failure("%s: exit %d: %s%s" % (what, p.returncode, p.stdout.decode()[-400:],
                                                p.stderr.decode()[-400:]))
        return p

    def init(self):
        self._run([os.path.join(PG_BIN, "initdb"), "-A", "trust", "-U", USER, "-E", "UTF8",
                   "--locale=C", "--no-sync", "-D", self.data], "initdb")
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\nport = %d\n"
                    "unix_socket_directories = '%s'\nfsync = off\n"
                    "full_page_writes = off\n"
                    "max_connections = 200\nshared_buffers = 32MB\n" % (self.port, self.dir))
        return self

    def start(self):
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-w", "-t", "60", "-D", self.data,
                   "-l", self.log, "start"], "pg_ctl start")
        self.running = True
        return self

    def stop(self, crash=False):
        """Stops the server: fast shutdown, or a crash (-m immediate)."""
        if not self.running:
            return
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-w", "-D", self.data, "-m",
                   "immediate" if crash else "fast", "stop"], "pg_ctl stop")
        self.running = False

    def psql(self, sql):
        """The rows of sql as lists of text (psql, tab-separated)."""
        p = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-A", "-t", "-F", "\t", "-v",
                            "ON_ERROR_STOP=1", "-d", self.conninfo, "-c", sql],
                           capture_output=True, timeout=TIMEOUT)
        if p.returncode != 0:
            raise Failure("psql %r: %s" % (sql, p.stderr.decode()[-400:]))
        return [line.split("\t") for line in p.stdout.decode().splitlines() if line]

    def close(self):
        try:
            self.stop()
        finally:
            if self.log_dir and os.path.exists(self.log):
                shutil.copy(self.log, os.path.join(self.log_dir, "postgres.log"))
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.init().start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()
        return False
