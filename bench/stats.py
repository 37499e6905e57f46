#!/usr/bin/python3
"""stats.py - the arithmetic of bench/exchanges.sh: raw timings in, one
`name value` line per figure out.

Owns: how a figure is drawn from interleaved runs.  Every comparison pairs
the runs of one round (made back to back), takes the difference within the
round, and reports the median over rounds, so that a machine busy with
something else during one round moves that round's baseline as much as its
shim run and does not move the result.

  stats.py latency RAWDIR CASE...   RAWDIR/CASE/VARIANT.ROUND: ns per exchange
  stats.py rate FILE                lines "count ns": median count per second
  stats.py memconn FILE CONNS       lines "variant rss_first rss_last" (KiB)
  stats.py big FILE                 lines "variant big|small ns peak_rss_kib"
"""
import os
import statistics
import sys

VARIANTS = ("base", "disk", "shm", "hop")


def percentile(values, p):
    """Nearest-rank percentile: the smallest value with p% at or below it."""
    s = sorted(values)
    rank = max(1, -(-len(s) * p // 100))
    return s[int(rank) - 1]


def fmt(x, digits=1):
    return "-" if x is None else "%.*f" % (digits, x)


def run_figures(path):
    """Median and p99 (ns) of one run; its first exchange is dropped: it
    carries the connection's set-up and the process's first exchange, which
    other lines of the table measure."""
    with open(path) as f:
        t = [int(line) for line in f if line.strip()][1:]
    if not t:
        sys.exit("stats.py: no exchanges in %s" % path)
    return statistics.median(t), percentile(t, 99)


def latency(rawdir, cases):
    for case in cases:
        d = os.path.join(rawdir, case)
        runs = {v: {} for v in VARIANTS}
        for name in os.listdir(d):
            v, _, r = name.partition(".")
            if v in runs and r.isdigit():
                runs[v][int(r)] = run_figures(os.path.join(d, name))
        rounds = sorted(runs["base"])

        def added(v, which):
            return statistics.median(runs[v][r][which] - runs["base"][r][which] for r in rounds) / 1000

        base = statistics.median(runs["base"][r][0] for r in rounds) / 1000
        print("%s_base_median %s" % (case, fmt(base)))
        for v in ("disk", "shm", "hop"):
            print("%s_%s_added_median %s" % (case, v, fmt(added(v, 0))))
            print("%s_%s_added_p99 %s" % (case, v, fmt(added(v, 1))))
        hop = added("hop", 0)
        print("%s_disk_vs_hop %s" % (case, fmt(added("disk", 0) / hop if hop > 0 else None, 2)))
        with open(os.path.join(d, "records")) as f:
            recs, n = f.read().split()
        print("%s_records_per_exchange %s" % (case, fmt(int(recs) / int(n), 3)))


def rate(path):
    with open(path) as f:
        rows = [line.split() for line in f if line.strip()]
    print("%.0f" % statistics.median(int(c) / (int(ns) / 1e9) for c, ns in rows))


def memconn(path, conns):
    per = {"base": [], "disk": []}
    with open(path) as f:
        for line in f:
            v, first, last = line.split()
            per[v].append((int(last) - int(first)) / (conns - 1))
    print(fmt(statistics.median(s - b for b, s in zip(per["base"], per["disk"]))))


def big(path):
    rows = {}
    with open(path) as f:
        for line in f:
            v, kind, ns, hwm = line.split()
            rows.setdefault((v, kind), []).append((int(ns), int(hwm)))
    pairs = list(zip(rows[("base", "big")], rows[("base", "small")],
                     rows[("disk", "big")], rows[("disk", "small")]))
    added_ms = statistics.median((sb[0] - bb[0]) / 1e6 for bb, _, sb, _ in pairs)
    rss = statistics.median((sb[1] - ss[1]) - (bb[1] - bs[1]) for bb, bs, sb, ss in pairs)
    print("sse_50mb_added_ms %s" % fmt(added_ms))
    print("sse_50mb_peak_rss_added %s" % fmt(rss, 0))


def main(argv):
    if len(argv) >= 3 and argv[1] == "latency":
        latency(argv[2], argv[3:])
    elif len(argv) == 3 and argv[1] == "rate":
        rate(argv[2])
    elif len(argv) == 4 and argv[1] == "memconn":
        memconn(argv[2], int(argv[3]))
    elif len(argv) == 3 and argv[1] == "big":
        big(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
