#!/bin/sh
# commits.sh [--lines] - records per second reaching the ledger on disk
# from 1, 2, 4 and 8 processes exchanging at once.  bench/bench.sh runs it
# with --lines (bench/table.py says how lines are read).
#
# Owns: the ledger's throughput under concurrent writers.  The load is
# sslbench (in-memory TLS, HTTP/1.1 exchanges with api.openai.com, 2 KiB
# bodies), not a network client: over loopback, client and server together
# make fewer than 20k exchanges/s on two cores, so they could not show a
# ledger that takes more; sslbench makes several times that.  Each round
# runs P processes of COMMIT_EXCHANGES exchanges each under the shim with a
# fresh ledger on disk, counts the records in LMDB once all exited (only
# folded records: not those still in a spool file, which tokenguard-report
# would add), then the same processes without the shim (the ceiling the
# load itself puts on the figure).  Median of COMMIT_ROUNDS rounds.
#
# Environment: COMMIT_ROUNDS [3], COMMIT_EXCHANGES [2000], TG_BENCH_SHIM,
# TG_BENCH_REPORT, TG_BENCH_DISK (as in exchanges.sh).  Needs mdb_stat
# (Debian lmdb-utils, which tests/deps.sh installs).
set -eu

TG_TOP=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" != --lines ]; then
	sh "$0" --lines | /usr/bin/python3 "$TG_TOP/bench/table.py"
	exit
fi

ROUNDS=${COMMIT_ROUNDS:-3}
N=${COMMIT_EXCHANGES:-2000}
SHIM=${TG_BENCH_SHIM:-$TG_TOP/build/libtokenguard.so}
REPORT=${TG_BENCH_REPORT:-$TG_TOP/build/tokenguard-report}
LOAD=$TG_TOP/build/sslbench
command -v mdb_stat >/dev/null || { echo "commits.sh: needs mdb_stat (Debian lmdb-utils)" >&2; exit 2; }
for f in "$SHIM" "$REPORT" "$LOAD"; do
	[ -f "$f" ] || { echo "commits.sh: $f is missing: run make bench" >&2; exit 2; }
done

mkdir -p "${TG_BENCH_DISK:-$TG_TOP/build/bench-ledgers}"
disk=$(mktemp -d "${TG_BENCH_DISK:-$TG_TOP/build/bench-ledgers}/commits.XXXXXX")
trap 'rm -rf "$disk"' EXIT
trap 'exit 130' INT TERM
if [ "$(stat -f -c %T "$disk")" = tmpfs ]; then
	echo "commits.sh: $disk is on tmpfs: set TG_BENCH_DISK to a directory on disk" >&2
	exit 2
fi

now_ns() { date +%s%N; }

# Records in the ledger's LMDB records table (0 when there is no ledger).
folded() {
	mdb_stat -s records "$1" 2>/dev/null | awk '/Entries:/ { n = $2 } END { print n + 0 }'
}
# Records the CLI sees: folded ones and those still in spool files.
readable() {
	"$REPORT" records --ledger "$1" --format jsonl | grep -c . || true
}

# at_once P [shim]: wall ns of P load processes started together.
at_once() {
	t0=$(now_ns)
	k=0
	while [ $k -lt "$1" ]; do
		if [ "${2:-}" = shim ]; then
			env TOKENGUARD_LEDGER="$disk/ledger" TOKENGUARD_QUIET=1 LD_PRELOAD="$SHIM" \
				"$LOAD" api.openai.com "$N" 2048 >/dev/null &
		else
			env -u LD_PRELOAD "$LOAD" api.openai.com "$N" 2048 >/dev/null &
		fi
		k=$((k + 1))
	done
	wait
	echo $(($(now_ns) - t0))
}

for p in 1 2 4 8; do
	: >"$disk/shim"
	: >"$disk/base"
	: >"$disk/left"
	k=0
	while [ $k -lt "$ROUNDS" ]; do
		rm -rf "$disk/ledger"
		ns=$(at_once $p shim)
		recs=$(folded "$disk/ledger")
		echo "$recs $ns" >>"$disk/shim"
		echo "$(($(readable "$disk/ledger") - recs))" >>"$disk/left"
		echo "$((p * N)) $(at_once $p)" >>"$disk/base"
		k=$((k + 1))
	done
	target=
	[ $p = 8 ] && target=" >= 20000"
	echo "commits_per_s_${p}proc $(/usr/bin/python3 "$TG_TOP/bench/stats.py" rate "$disk/shim") records/s$target"
	echo "base_exchanges_per_s_${p}proc $(/usr/bin/python3 "$TG_TOP/bench/stats.py" rate "$disk/base") exchanges/s"
	if [ $p = 8 ]; then
		echo "unfolded_at_exit_8proc $(sort -n "$disk/left" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') records"
	fi
done
