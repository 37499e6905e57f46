#!/bin/sh
# bulk.sh - what libtokenguard.so costs a program that moves bulk data over
# TLS to a host that is not a provider: throughput, cost per SSL call, and
# instructions (callgrind), each against the same run without the shim.
#
# Throughput: sslbench (bench/sslbench.c: one connection over an in-memory
# BIO pair, so no network is measured) sends BULK_MIB (default 1024) MiB of
# response bodies to example.com, 256 KiB per HTTP/1.1 exchange, in 16 KiB
# SSL_write/SSL_read calls, ROUNDS (default 15) times without and with the
# shim, alternating; the figure is the median over the rounds of each
# round's ratio (a round's two runs see the same machine), beside the
# medians of each side.  Times are CPU times
# (perf stat's task-clock of the process: the benchmark is one thread that
# never waits), which other work on a shared machine disturbs far less than
# wall time; sslbench's own wall-clock figure per call is printed beside.
# Instructions: one run of
# CALLGRIND_MIB (default 64) MiB each way under callgrind (the whole
# process: start, handshake, transfer, exit).
#
# usage: sh bench/bulk.sh [--machine]
# Prints a human summary; with --machine (or TG_BENCH_MACHINE=1) also one
# line per figure, "name value unit".  TG_BENCH_SHIM names another build.
set -eu
cd "$(dirname "$0")/.."

B=build
SHIM=${TG_BENCH_SHIM:-$PWD/$B/libtokenguard.so}
ROUNDS=${ROUNDS:-15}
BULK_MIB=${BULK_MIB:-1024}
CALLGRIND_MIB=${CALLGRIND_MIB:-64}
MACHINE=${TG_BENCH_MACHINE:-0}
# --lines (bench/bench.sh): only the machine lines on stdout, the summary on
# stderr; --machine: both on stdout.
exec 3>&1
case "${1:-}" in
--machine) MACHINE=1 ;;
--lines) MACHINE=1; exec 1>&2 ;;
esac
BODY=262144
[ -f "$SHIM" ] || { echo "bulk.sh: $SHIM is missing: run make" >&2; exit 2; }
command -v perf >/dev/null 2>&1 || { echo "bulk.sh: needs perf (Debian: linux-perf)" >&2; exit 2; }
cc -O2 -Wall -Wextra -Werror -o $B/sslbench bench/sslbench.c -lssl -lcrypto

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Nothing is recorded for example.com; a ledger of its own all the same.
export TOKENGUARD_LEDGER="$tmp/ledger"
exchanges=$((BULK_MIB * 4))

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$tmp/base"; : >"$tmp/shim"; : >"$tmp/base_call"; : >"$tmp/shim_call"
i=0
while [ $i -lt "$ROUNDS" ]; do
	# Which goes first alternates too.
	if [ $((i % 2)) = 0 ]; then order="base shim"; else order="shim base"; fi
	for who in $order; do
		preload=; [ $who = shim ] && preload=$SHIM
		perf stat -x, -e task-clock -o "$tmp/perf" \
			env LD_PRELOAD="$preload" $B/sslbench example.com $exchanges $BODY >"$tmp/out"
		awk -F, '/task-clock/ {print $1 * 1e6}' "$tmp/perf" >>"$tmp/$who"
		cut -d' ' -f2 "$tmp/out" >>"$tmp/${who}_call"
		# SSL calls per exchange, both ends: ns per exchange / ns per call.
		awk '{printf "%.0f\n", $1 / $2}' "$tmp/out" >"$tmp/calls"
	done
	i=$((i + 1))
done
b=$(median <"$tmp/base"); s=$(median <"$tmp/shim")
r=$(paste "$tmp/base" "$tmp/shim" | awk '{print $1 / $2}' | median)
bc=$(median <"$tmp/base_call"); sc=$(median <"$tmp/shim_call")

callgrind() { # preload(empty or the shim) -> total instructions
	LD_PRELOAD=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		$B/sslbench example.com $((CALLGRIND_MIB * 4)) $BODY 2>&1 >/dev/null |
		awk '/Collected :/ {print $NF}'
}
if command -v valgrind >/dev/null 2>&1; then
	ib=$(callgrind ""); is=$(callgrind "$SHIM")
else
	ib=0; is=0
fi

cpe=$(cat "$tmp/calls")
awk -v b="$b" -v s="$s" -v r="$r" -v cpe="$cpe" -v bc="$bc" -v sc="$sc" -v ib="$ib" -v is="$is" \
    -v mib="$BULK_MIB" -v cmib="$CALLGRIND_MIB" -v rounds="$ROUNDS" -v machine="$MACHINE" 'BEGIN {
	tb = mib / (b / 1e9); ts = mib / (s / 1e9)
	printf "non-provider bulk, %d MiB in 16 KiB SSL calls, CPU time, medians of %d rounds: %.0f MiB/s without the shim, %.0f with; throughput with the shim %.1f%% of without (median of the rounds'"'"' ratios); wall time per SSL call %.0f ns without, %.0f with (%+.0f)\n", mib, rounds, tb, ts, 100 * r, bc, sc, sc - bc
	calls = cmib * 4 * cpe
	if (ib > 0)
		printf "callgrind, %d MiB (%d SSL calls): %d instructions without, %d with: %+.3f%%, %.0f instructions per SSL call (once-per-process costs included)\n", cmib, calls, ib, is, 100 * (is - ib) / ib, (is - ib) / calls
	else
		print "callgrind: valgrind is not installed"
	if (machine) {
		printf "bulk_throughput_base %.1f MiB/s\n", tb >> "/dev/fd/3"
		printf "bulk_throughput_shim %.1f MiB/s\n", ts >> "/dev/fd/3"
		printf "bulk_throughput_ratio %.2f %% >= 99\n", 100 * r >> "/dev/fd/3"
		printf "bulk_ssl_call_added %.0f ns\n", sc - bc >> "/dev/fd/3"
		if (ib > 0) {
			printf "bulk_callgrind_base %d instructions\n", ib >> "/dev/fd/3"
			printf "bulk_callgrind_shim %d instructions\n", is >> "/dev/fd/3"
			printf "bulk_callgrind_added %.3f %% <= 1\n", 100 * (is - ib) / ib >> "/dev/fd/3"
			printf "bulk_callgrind_per_call %.0f instructions\n", (is - ib) / calls >> "/dev/fd/3"
		}
	}
}'
