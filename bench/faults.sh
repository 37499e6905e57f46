#!/bin/sh
# faults.sh - the worst time the shim adds to one exchange when the ledger
# cannot keep up: a disk whose flushes take 500 ms (bench/slowsync.c), and
# a writer stopped inside its commit holding the lock (ledger-holder).
# `make bench` runs it after run.sh.
#
# Each case runs sslbench (in-memory TLS, HTTP/1.1 exchanges to
# api.openai.com) without and with the shim under the same fault and
# prints the mean and the slowest exchange of each.  With --lines it prints
# the figures bench/bench.sh folds into its table instead (bench/table.py
# says how lines are read): the slowest exchange under each fault with the
# shim, and the mean it adds per exchange.  The stuck writer's target is the
# bound README.md's design promises (50 ms of waiting in all).
set -eu
lines=0
[ "${1:-}" = --lines ] && lines=1
cd "$(dirname "$0")/.."

B=build
N=${EXCHANGES:-200}
cc -O2 -Wall -Wextra -Werror -o $B/sslbench bench/sslbench.c -lssl -lcrypto
cc -O2 -Wall -Wextra -Werror -shared -fPIC -o $B/slowsync.so bench/slowsync.c -ldl
[ -x $B/ledger-holder ] || make -s $B/ledger-holder

tmp=$(mktemp -d)
holder=
cleanup() {
	[ -n "$holder" ] && kill -CONT "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

row() { # label base-output shim-output [line-name target]
	if [ $lines = 1 ]; then
		[ $# -ge 4 ] || return 0
		awk -v n="$4" -v t="${5:-}" -v b="$2" -v s="$3" 'BEGIN {
			split(b, x, " "); split(s, y, " ")
			printf "%s_worst %.0f us%s\n", n, y[3]/1000, t
			printf "%s_mean_added %.1f us\n", n, (y[1]-x[1])/1000 }'
		return 0
	fi
	awk -v l="$1" -v b="$2" -v s="$3" 'BEGIN {
		split(b, x, " "); split(s, y, " ")
		printf "%-52s %9.1f %9.1f %11.1f %11.1f\n", l, x[1]/1000, y[1]/1000, x[3]/1000, y[3]/1000 }'
}

[ $lines = 1 ] || printf "%-52s %9s %9s %11s %11s\n" "case ($N exchanges)" "base us/x" "shim us/x" "base worst" "shim worst"

export TOKENGUARD_LEDGER="$tmp/healthy"
b=$($B/sslbench api.openai.com "$N" 2048)
s=$(LD_PRELOAD=$PWD/$B/libtokenguard.so $B/sslbench api.openai.com "$N" 2048)
row "healthy ledger on this disk" "$b" "$s"

export TOKENGUARD_LEDGER="$tmp/slow"
b=$(LD_PRELOAD=$PWD/$B/slowsync.so $B/sslbench api.openai.com "$N" 2048)
s=$(LD_PRELOAD=$PWD/$B/slowsync.so:$PWD/$B/libtokenguard.so $B/sslbench api.openai.com "$N" 2048)
row "disk whose fdatasync takes 500 ms" "$b" "$s" fault_slow_disk

export TOKENGUARD_LEDGER="$tmp/stuck"
LD_PRELOAD=$PWD/$B/libtokenguard.so $B/sslbench api.openai.com 1 2048 >/dev/null
$B/ledger-holder stop "$TOKENGUARD_LEDGER" >"$tmp/held" &
holder=$!
while [ ! -s "$tmp/held" ]; do sleep 0.01; done
b=$($B/sslbench api.openai.com "$N" 2048)
s=$(LD_PRELOAD=$PWD/$B/libtokenguard.so $B/sslbench api.openai.com "$N" 2048)
row "writer stopped inside its commit (SIGSTOP)" "$b" "$s" fault_stuck_writer " <= 50000"
kill -CONT "$holder"; wait "$holder"; holder=

[ $lines = 1 ] && exit 0
echo "us/x: mean microseconds per exchange; worst: the slowest single exchange, in microseconds."
echo "A slow disk costs the one commit that finds it slow, then records are spooled for 30 s;"
echo "a stuck writer costs the first exchange of a process at most 5 ms, then one try per write."
