#!/bin/sh
# faults.sh - the worst time the shim adds to one exchange when the ledger
# cannot keep up: a disk whose flushes take 500 ms (bench/slowsync.c), and
# a writer stopped inside its commit holding the lock (ledger-holder).
# `make bench` runs it after run.sh.
#
# Each case runs sslbench (in-memory TLS, HTTP/1.1 exchanges to
# api.openai.com) without and with the shim under the same fault and
# prints the mean and the slowest exchange of each.
set -eu
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

row() { # label base-output shim-output
	awk -v l="$1" -v b="$2" -v s="$3" 'BEGIN {
		split(b, x, " "); split(s, y, " ")
		printf "%-52s %9.1f %9.1f %11.1f %11.1f\n", l, x[1]/1000, y[1]/1000, x[3]/1000, y[3]/1000 }'
}

printf "%-52s %9s %9s %11s %11s\n" "case ($N exchanges)" "base us/x" "shim us/x" "base worst" "shim worst"

export TOKENGUARD_LEDGER="$tmp/healthy"
b=$($B/sslbench api.openai.com "$N" 2048)
s=$(LD_PRELOAD=$PWD/$B/libtokenguard.so $B/sslbench api.openai.com "$N" 2048)
row "healthy ledger on this disk" "$b" "$s"

export TOKENGUARD_LEDGER="$tmp/slow"
b=$(LD_PRELOAD=$PWD/$B/slowsync.so $B/sslbench api.openai.com "$N" 2048)
s=$(LD_PRELOAD=$PWD/$B/slowsync.so:$PWD/$B/libtokenguard.so $B/sslbench api.openai.com "$N" 2048)
row "disk whose fdatasync takes 500 ms" "$b" "$s"

export TOKENGUARD_LEDGER="$tmp/stuck"
LD_PRELOAD=$PWD/$B/libtokenguard.so $B/sslbench api.openai.com 1 2048 >/dev/null
$B/ledger-holder stop "$TOKENGUARD_LEDGER" >"$tmp/held" &
holder=$!
while [ ! -s "$tmp/held" ]; do sleep 0.01; done
b=$($B/sslbench api.openai.com "$N" 2048)
s=$(LD_PRELOAD=$PWD/$B/libtokenguard.so $B/sslbench api.openai.com "$N" 2048)
row "writer stopped inside its commit (SIGSTOP)" "$b" "$s"
kill -CONT "$holder"; wait "$holder"; holder=

echo "us/x: mean microseconds per exchange; worst: the slowest single exchange, in microseconds."
echo "A slow disk costs the one commit that finds it slow, then records are spooled for 30 s;"
echo "a stuck writer costs the first exchange of a process at most 5 ms, then one try per write."
