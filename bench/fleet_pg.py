#!/usr/bin/python3
"""fleet_pg.py - the load a fleet puts on its PostgreSQL: LEDGERS ledgers
(default 50) of RECORDS records each (default 20,000, made by
bench/mkledger.c), each pushed by its own `tokenguard-report sync` into one
PostgreSQL 15 on this machine (a throwaway cluster on loopback,
tests/integration/pgserver.py: fsync off, as a test's; a production server
syncs its WAL, which bounds commits rather than rows).

  python3 bench/fleet_pg.py            # a table for people
  python3 bench/fleet_pg.py --lines    # "name value unit" lines (bench/table.py)

Three phases, each timed:
  backlog  every agent's first sync at once (JOBS at a time, default
           LEDGERS): rows inserted per second over the wall time, and each
           sync's latency;
  steady   STEADY new records (default 100) in every ledger, then every
           agent at once again: what a timer running sync every minute
           costs the server and each machine;
  report   `tokenguard-report --fleet --by machine,model` over every row.
Needs `make` (build/tokenguard-report, the ledger objects) and
build/ledger-put (`make build/ledger-put`).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.dont_write_bytecode = True
import pgserver  # noqa: E402

LEDGERS = int(os.environ.get("LEDGERS", "50"))
RECORDS = int(os.environ.get("RECORDS", "20000"))
STEADY = int(os.environ.get("STEADY", "100"))
JOBS = int(os.environ.get("JOBS", str(LEDGERS)))
REPORT = os.path.join(TOP, "build", "tokenguard-report")
PUT = os.path.join(TOP, "build", "ledger-put")
MK = os.path.join(TOP, "build", "mkledger")


def build_mkledger():
    # The objects of the ledger's sources as they are (not every .o in the
    # build directory: a renamed source leaves its old object behind).
    objs = sorted(os.path.join(TOP, "build", "obj", "ledger", f[:-2] + ".o")
                  for f in os.listdir(os.path.join(TOP, "ledger"))
                  if f.endswith(".c")) + [os.path.join(TOP, "build", "obj", "ledger",
                                                       "prices_blob.o")]
    subprocess.run([os.environ.get("CC", "cc"), "-D_GNU_SOURCE", "-Ishim", "-Iledger",
                    "-std=c11", "-O2", "-o", MK, "bench/mkledger.c"] + objs +
                   ["-llmdb", "-lz", "-lbrotlidec", "-lzstd", "-lnghttp2", "-ldl", "-lm",
                    "-pthread"], cwd=TOP, check=True)


def timed(argv, env):
    t = time.monotonic()
    p = subprocess.run(argv, env=env, capture_output=True)
    if p.returncode != 0:
        sys.exit("fleet_pg.py: %s: exit %d: %s" % (" ".join(argv[:3]), p.returncode,
                                                    p.stderr.decode()[-300:]))
    return time.monotonic() - t


def sync_all(pg, ledgers):
    """Every ledger's sync at once (JOBS at a time): the wall time and each
    sync's seconds."""
    def one(i):
        env = dict(os.environ, TOKENGUARD_MACHINE="m%02d" % i)
        return timed([REPORT, "sync", "--postgres", pg.conninfo, "--ledger", ledgers[i]], env)
    start = time.monotonic()
    with ThreadPoolExecutor(JOBS) as ex:
        each = list(ex.map(one, range(len(ledgers))))
    return time.monotonic() - start, each


def rows(pg):
    return int(pg.psql("SELECT count(*) FROM tokenguard_records")[0][0])


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    lines = "--lines" in sys.argv[1:]
    for prog in (REPORT, PUT):
        if not os.access(prog, os.X_OK):
            sys.exit("fleet_pg.py: build %s first (make all build/ledger-put)" % prog)
    build_mkledger()
    work = tempfile.mkdtemp(prefix="tg-fleet-bench.")
    try:
        ledgers = []
        for i in range(LEDGERS):
            d = os.path.join(work, "ledger-%02d" % i)
            subprocess.run([MK, d, str(RECORDS), str(i + 1)], check=True,
                           stdout=subprocess.DEVNULL)
            ledgers.append(d)
        with pgserver.PgServer() as pg:
            subprocess.run([REPORT, "sync", "--init", "--postgres", pg.conninfo], check=True,
                           stdout=subprocess.DEVNULL)
            wall, each = sync_all(pg, ledgers)
            n = rows(pg)
            if n != LEDGERS * RECORDS:
                sys.exit("fleet_pg.py: %d rows after the backlog, want %d" % (n, LEDGERS * RECORDS))
            backlog = (n / wall, wall, statistics.median(each), max(each))

            now = int(time.time())
            for i, d in enumerate(ledgers):
                text = "".join("%d\topenai\tgpt-4o\tbench\t%d\t%d\t0.001\t-\n"
                               % (now - 60 + k % 60, 100 + k, 10 + i) for k in range(STEADY))
                subprocess.run([PUT, d], input=text.encode(), check=True,
                               stdout=subprocess.DEVNULL)
            wall2, each2 = sync_all(pg, ledgers)
            n2 = rows(pg)
            if n2 != n + LEDGERS * STEADY:
                sys.exit("fleet_pg.py: %d rows after the steady round, want %d"
                         % (n2, n + LEDGERS * STEADY))
            steady = ((n2 - n) / wall2, wall2, statistics.median(each2), pct(each2, 0.95))

            t = time.monotonic()
            subprocess.run([REPORT, "--fleet", "--postgres", pg.conninfo, "--by",
                            "machine,model", "--format", "json", "--ledger", ledgers[0]],
                           check=True, stdout=subprocess.DEVNULL)
            report_s = time.monotonic() - t
            size = pg.psql("SELECT pg_total_relation_size('tokenguard_records')")[0][0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    out = sys.stderr if lines else sys.stdout
    print("fleet of %d ledgers x %d records -> one PostgreSQL 15 on this machine (%d jobs)"
          % (LEDGERS, RECORDS, JOBS), file=out)
    print("  backlog: %d rows in %.2fs: %.0f rows/s; a sync: median %.2fs, max %.2fs"
          % (n, backlog[1], backlog[0], backlog[2], backlog[3]), file=out)
    print("  steady:  %d new rows (%d per ledger) in %.2fs: %.0f rows/s; a sync: median %.3fs,"
          " p95 %.3fs" % (n2 - n, STEADY, steady[1], steady[0], steady[2], steady[3]), file=out)
    print("  --fleet --by machine,model over %d rows: %.2fs; table and indexes %.0f bytes/row"
          % (n2, report_s, int(size) / n2), file=out)
    if lines:
        print("fleet_pg_backlog_rows_per_s %.0f rows/s" % backlog[0])
        print("fleet_pg_backlog_sync_median %.3f s" % backlog[2])
        print("fleet_pg_steady_sync_median %.3f s" % steady[2])
        print("fleet_pg_steady_sync_p95 %.3f s" % steady[3])
        print("fleet_pg_report_s %.3f s" % report_s)
        print("fleet_pg_bytes_per_row %.0f bytes" % (int(size) / n2))


if __name__ == "__main__":
    main()
