#!/bin/sh
# run.sh - what libtokenguard.so costs a program, measured against the same
# program without it, in the same run.  `make bench` runs it.
#
# Each case runs sslbench (in-memory TLS, one connection, HTTP/1.1
# exchanges) ROUNDS times alternately without and with the shim and keeps
# the median.  The ledger is a fresh temporary directory.
set -eu
cd "$(dirname "$0")/.."

B=build
ROUNDS=${ROUNDS:-7}
N=${EXCHANGES:-2000}
cc -O2 -Wall -Wextra -Werror -o $B/sslbench bench/sslbench.c -lssl -lcrypto

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TOKENGUARD_LEDGER="$tmp/ledger"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_case() { # label sni exchanges body_bytes
	label=$1; sni=$2; n=$3; body=$4
	: >"$tmp/base"; : >"$tmp/shim"; : >"$tmp/base_call"; : >"$tmp/shim_call"
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		$B/sslbench "$sni" "$n" "$body" >"$tmp/out"
		cut -d' ' -f1 "$tmp/out" >>"$tmp/base"; cut -d' ' -f2 "$tmp/out" >>"$tmp/base_call"
		LD_PRELOAD=$PWD/$B/libtokenguard.so $B/sslbench "$sni" "$n" "$body" >"$tmp/out"
		cut -d' ' -f1 "$tmp/out" >>"$tmp/shim"; cut -d' ' -f2 "$tmp/out" >>"$tmp/shim_call"
		i=$((i + 1))
	done
	b=$(median <"$tmp/base"); s=$(median <"$tmp/shim")
	bc=$(median <"$tmp/base_call"); sc=$(median <"$tmp/shim_call")
	awk -v l="$label" -v b="$b" -v s="$s" -v bc="$bc" -v sc="$sc" 'BEGIN {
		printf "%-44s %10.1f %10.1f %+9.1f %7.3fx %8.0f %8.0f\n", l, b/1000, s/1000, (s-b)/1000, s/b, bc, sc }'
}

printf "%-44s %10s %10s %9s %8s %8s %8s\n" "case (median of $ROUNDS runs)" "base us/x" "shim us/x" "delta us" "ratio" "base ns/c" "shim ns/c"
run_case "not a provider (example.com), 2 KiB bodies" example.com "$N" 2048
run_case "provider (api.openai.com), 2 KiB bodies" api.openai.com "$N" 2048
run_case "provider (api.openai.com), 256 KiB bodies" api.openai.com 200 262144
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	shm=$(mktemp -d /dev/shm/tokenguard-bench.XXXXXX)
	trap 'rm -rf "$tmp" "$shm"' EXIT
	TOKENGUARD_LEDGER="$shm/ledger" run_case "provider, 2 KiB bodies, ledger on tmpfs" api.openai.com "$N" 2048
fi
echo "us/x: microseconds per exchange (request + response, both ends); ns/c: nanoseconds per SSL call."
echo "Each provider exchange commits one ledger transaction, whose fdatasync dominates on a"
echo "disk; the tmpfs case shows the shim's own CPU cost."
