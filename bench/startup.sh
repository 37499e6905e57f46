#!/bin/sh
# startup.sh - what preloading libtokenguard.so costs a process that never
# talks to a provider, from start to exit.
#
# bench/spawntime.c starts a program RUNS times without LD_PRELOAD and RUNS
# times each with an empty object and with the shim preloaded, in turns,
# and takes the median of each turn's difference (with - without):
#  - /bin/true (RUNS, default 2000): loading the shim and exiting, nothing
#    else.  The empty object is the floor: what preloading anything at all
#    costs on this machine;
#  - bench/startup_tls.c (TLS_RUNS, default 500): a program that makes and
#    frees one SSL object for example.com, so it also pays the shim's first
#    hooked call (its configuration, finding the caller's libssl, one
#    connection lookup).
# TG_BENCH_SHIM names another build; TG_BENCH_BASE_SHIM adds one more
# object to compare with (an older build).
#
# usage: sh bench/startup.sh [--machine]
# Prints a human summary; with --machine (or TG_BENCH_MACHINE=1) also one
# line per figure, "name value unit".
set -eu
cd "$(dirname "$0")/.."

B=build
SHIM=${TG_BENCH_SHIM:-$PWD/$B/libtokenguard.so}
RUNS=${RUNS:-2000}
TLS_RUNS=${TLS_RUNS:-500}
MACHINE=${TG_BENCH_MACHINE:-0}
# --lines (bench/bench.sh): only the machine lines on stdout, the summary on
# stderr; --machine: both on stdout.
exec 3>&1
case "${1:-}" in
--machine) MACHINE=1 ;;
--lines) MACHINE=1; exec 1>&2 ;;
esac
[ -f "$SHIM" ] || { echo "startup.sh: $SHIM is missing: run make" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TOKENGUARD_LEDGER="$tmp/ledger"
cc -O2 -Wall -Wextra -Werror -o $B/spawntime bench/spawntime.c
cc -O2 -Wall -Wextra -Werror -o $B/startup_tls bench/startup_tls.c -lssl -lcrypto
echo 'int tg_bench_empty_object;' >"$tmp/empty.c"
cc -shared -fPIC -o "$tmp/empty.so" "$tmp/empty.c"

objects="$tmp/empty.so:$SHIM"
names="empty shim"
if [ -n "${TG_BENCH_BASE_SHIM:-}" ]; then
	objects="$objects:$TG_BENCH_BASE_SHIM"
	names="$names base"
fi

report() { # label key runs program
	$B/spawntime "$3" "$objects" "$4" >"$tmp/out"
	echo "$names" | tr ' ' '\n' | paste -d' ' - "$tmp/out" |
	awk -v label="$1" -v key="$2" -v runs="$3" -v machine="$MACHINE" '
	{ name[NR] = $1; base[NR] = $2; with[NR] = $3; d[NR] = $4 }
	END {
		printf "start-up, %s: %.0f us without LD_PRELOAD; added by the shim %+.1f us, by an empty object %+.1f us", label, base[1] / 1000, d[2] / 1000, d[1] / 1000
		if (NR > 2)
			printf ", by the base shim %+.1f us", d[3] / 1000
		printf " (median of %d paired runs)\n", runs
		if (machine) {
			printf "%s_base %.1f us\n", key, base[1] / 1000 >> "/dev/fd/3"
			for (i = 1; i <= NR; i++)
				printf "%s_added_%s %.1f us%s\n", key, name[i], d[i] / 1000,
				       key == "startup_true" && name[i] == "shim" ? " <= 50" : "" >> "/dev/fd/3"
		}
	}'
}

report "/bin/true" startup_true "$RUNS" /bin/true
report "a TLS program, not a provider" startup_tls "$TLS_RUNS" "$PWD/$B/startup_tls"
