#!/bin/sh
# instr.sh - instructions the shim spends per provider exchange, counted by
# callgrind (exact and repeatable where wall times are noisy).
#
# bench/instr_driver.c plays the hooks' part over the shim's own objects
# (everything but the hook layer) on one HTTP/1.1 connection to
# api.openai.com.  It is built twice with the Makefile's flags:
#   core   the sink's ledger write replaced by a no-op (-Wl,--wrap): the
#          shim's own work up to the hand-off of the record
#   full   the real sink, committing to a fresh ledger (on /dev/shm when
#          there is one: instructions do not depend on the disk)
# Each runs once with the shim's calls ("shim") and once without ("base",
# the driver's loop alone); every figure is shim minus base:
#   first exchange  configuration and the first 1 KB JSON exchange of a process
#   per 1 KB JSON   mean over EXCHANGES (default 200) more such exchanges
#   per SSE byte    one OpenAI chat stream of SSE_BYTES (default 1 MB, ~1.8k
#                   events, one read per event), minus one JSON exchange,
#                   per byte of event stream
#
# Then the real build/libtokenguard.so, preloaded into bench/sslbench.c
# (in-memory TLS, 1 KB JSON responses, ledger committed) against the same
# program without it: per exchange from runs of 1 and 1 + EXCHANGES
# exchanges, and the whole added cost of a run of one exchange (loading
# the shim and its libraries, configuration, the first exchange).
#
# usage: sh bench/instr.sh [--machine]
#   --machine (or TG_INSTR_MACHINE=1) adds lines "name value unit" for the
#   bench table.
set -eu
cd "$(dirname "$0")/.."

B=${TG_BUILD:-build}
N=${EXCHANGES:-200}
SSE_BYTES=${SSE_BYTES:-1000000}
MACHINE=${TG_INSTR_MACHINE:-0}
# --lines (bench/bench.sh): only the machine lines on stdout, the summary on
# stderr; --machine: both on stdout.
exec 3>&1
case "${1:-}" in
--machine) MACHINE=1 ;;
--lines) MACHINE=1; exec 1>&2 ;;
esac

command -v valgrind >/dev/null || { echo "instr.sh: valgrind is not installed" >&2; exit 2; }
make -s -j2 all >/dev/null

# The Makefile's flags and object lists, so the driver runs the code the
# shim is built from.
mk() { make -s --no-print-directory -f Makefile -f - "$@" <<'EOF'
print-%:
	@echo $($*)
EOF
}
CC=$(mk print-CC)
CPPFLAGS=$(mk print-CPPFLAGS)
CFLAGS=$(mk print-CFLAGS)
LIBS=$(mk print-LIBS)
OBJS=$(mk print-CORE_SRCS print-LEDGER_SRCS | tr ' ' '\n' | sed -n "s|^\(.*\)\.c$|$B/obj/\1.o|p")
OBJS="$OBJS $B/obj/ledger/prices_blob.o"

tmp=$(mktemp -d)
shm=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then shm=$(mktemp -d /dev/shm/tokenguard-instr.XXXXXX); fi
trap 'rm -rf "$tmp" ${shm:+"$shm"}' EXIT

# shellcheck disable=SC2086
$CC $CPPFLAGS $CFLAGS -o "$tmp/driver-core" bench/instr_driver.c $OBJS $LIBS \
	-Wl,--wrap=tg_ledger_append_scoped
# shellcheck disable=SC2086
$CC $CPPFLAGS $CFLAGS -o "$tmp/driver-full" bench/instr_driver.c $OBJS $LIBS

# Prints "first json sse" instructions of one run, then the driver's output.
count() { # driver mode
	out="$tmp/cg-$1-$2"
	mkdir -p "$out"
	TOKENGUARD_LEDGER="${shm:-$tmp}/ledger-$1-$2" TOKENGUARD_QUIET=1 \
		valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out/cg.%p" \
		"$tmp/driver-$1" "$2" "$N" "$SSE_BYTES" >"$out/stdout" 2>"$out/stderr" ||
		{ cat "$out/stderr" >&2; exit 1; }
	# One dump per region (cg.PID.1 to .3), in the order the driver makes them.
	for part in 1 2 3; do
		sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out"/cg.*."$part"
	done | tr '\n' ' '
	echo
}

report() { # label driver
	label=$1 driver=$2
	# shellcheck disable=SC2046
	set -- $(count "$driver" shim) $(count "$driver" base)
	sse=$(sed -n 's/^sse_bytes //p' "$tmp/cg-$driver-shim/stdout")
	awk -v label="$label" -v n="$N" -v sse="$sse" -v machine="$MACHINE" \
	    -v f="$1" -v j="$2" -v s="$3" -v bf="$4" -v bj="$5" -v bs="$6" 'BEGIN {
		first = f - bf; json = (j - bj) / n; ssex = (s - bs) - json
		printf "%-44s %12.0f\n", label ": first exchange", first
		printf "%-44s %12.0f\n", label ": per 1 KB JSON exchange", json
		printf "%-44s %12.1f\n", label ": per SSE byte", ssex / sse
		if (machine) {
			tag = label == "core" ? "" : "_with_ledger"
			# The targets are for the work of the shim itself (up to the
			# hand-off of the record, no commit): only core has them.
			t1 = tag == "" ? " <= 300000" : ""; t2 = tag == "" ? " <= 60000" : ""
			t3 = tag == "" ? " <= 30" : ""
			printf "instr_first_exchange%s %.0f instructions%s\n", tag, first, t1 >> "/dev/fd/3"
			printf "instr_json_exchange%s %.0f instructions%s\n", tag, json, t2 >> "/dev/fd/3"
			printf "instr_sse_byte%s %.1f instructions%s\n", tag, ssex / sse, t3 >> "/dev/fd/3"
		}
	}'
}

# Total instructions of one sslbench run: preload sni exchanges
ssl_count() {
	out="$tmp/ssl-$1-$3"
	mkdir -p "$out"
	if [ "$1" = shim ]; then pre="$PWD/$B/libtokenguard.so"; else pre=; fi
	TOKENGUARD_LEDGER="${shm:-$tmp}/ledger-ssl-$1-$3" TOKENGUARD_QUIET=1 LD_PRELOAD=$pre \
		valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
		"$tmp/sslbench" "$2" "$3" 1024 >"$out/stdout" 2>"$out/stderr" ||
		{ cat "$out/stderr" >&2; exit 1; }
	sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out/cg"
}

echo "instructions added by the shim (callgrind; shim minus the driver's own loop)"
report core core
report "with ledger commit" full

cc -O2 -o "$tmp/sslbench" bench/sslbench.c -lssl -lcrypto
big=$((N + 1))
b1=$(ssl_count base api.openai.com 1); s1=$(ssl_count shim api.openai.com 1)
bn=$(ssl_count base api.openai.com $big); sn=$(ssl_count shim api.openai.com $big)
awk -v n="$N" -v b1="$b1" -v s1="$s1" -v bn="$bn" -v sn="$sn" -v machine="$MACHINE" 'BEGIN {
	per = ((sn - bn) - (s1 - b1)) / n
	printf "%-44s %12.0f\n", "libtokenguard.so: process with one exchange", s1 - b1
	printf "%-44s %12.0f\n", "libtokenguard.so: per 1 KB JSON exchange", per
	if (machine) {
		printf "instr_process_one_exchange_so %.0f instructions\n", s1 - b1 >> "/dev/fd/3"
		printf "instr_json_exchange_so %.0f instructions\n", per >> "/dev/fd/3"
	}
}'
