#!/bin/sh
# pervalue.sh - the budget gate's check under tag:KEY=* policies with 1
# and with VALUES (default 1000) values of the tag in the ledger
# (bench/pervalue.c): time per check and the checking process's peak
# resident size, and their ratios (target: flat, within 1.2x); and, for
# comparison, the same check under tag:user=alice policies.
#
# usage: sh bench/pervalue.sh [--lines]
#   --lines: "name value unit" lines for the bench table.
set -eu
cd "$(dirname "$0")/.."

B=${TG_BUILD:-build}
N=${VALUES:-1000}
CHECKS=${CHECKS:-90000}
LINES=0
[ "${1:-}" = --lines ] && LINES=1
make -s -j2 all >/dev/null

# The Makefile's flags and object lists: the gate checked is the shim's.
mk() { make -s --no-print-directory -f Makefile -f - "$@" <<'MK'
print-%:
	@echo $($*)
MK
}
CC=$(mk print-CC)
CPPFLAGS=$(mk print-CPPFLAGS)
CFLAGS=$(mk print-CFLAGS)
LIBS=$(mk print-LIBS)
OBJS=$(mk print-CORE_SRCS print-LEDGER_SRCS | tr ' ' '\n' | sed -n "s|^\(.*\)\.c$|$B/obj/\1.o|p")
OBJS="$OBJS $B/obj/ledger/prices_blob.o"
# shellcheck disable=SC2086
$CC $CPPFLAGS $CFLAGS -o "$B/pervalue" bench/pervalue.c $OBJS $LIBS

mkdir -p "$B/bench-ledgers"
tmp=$(mktemp -d "$B/bench-ledgers/pervalue.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
set -- $("$B/pervalue" "$tmp/one" 1 "$CHECKS")
one_us=$1 one_kb=$2
set -- $("$B/pervalue" "$tmp/many" "$N" "$CHECKS")
many_us=$1 many_kb=$2
set -- $("$B/pervalue" "$tmp/fixed" "$N" "$CHECKS" fixed)
fixed_us=$1
r_us=$(awk -v a="$many_us" -v b="$one_us" 'BEGIN { printf "%.2f", a / b }')
r_kb=$(awk -v a="$many_kb" -v b="$one_kb" 'BEGIN { printf "%.2f", a / b }')

if [ "$LINES" = 1 ]; then
	echo "pervalue_check_us_1 $one_us us"
	echo "pervalue_check_us_$N $many_us us"
	echo "pervalue_check_ratio $r_us x <= 1.2"
	echo "pervalue_maxrss_kb_1 $one_kb KB"
	echo "pervalue_maxrss_kb_$N $many_kb KB"
	echo "pervalue_maxrss_ratio $r_kb x <= 1.2"
	echo "fixed_tag_check_us_$N $fixed_us us"
else
	printf '%-34s %10s %10s %6s\n' "tag:user=* gate check" "1 value" "$N values" ratio
	printf '%-34s %10s %10s %6s\n' "time per check (us, median)" "$one_us" "$many_us" "$r_us"
	printf '%-34s %10s %10s %6s\n' "peak resident size (KB)" "$one_kb" "$many_kb" "$r_kb"
	printf '%-34s %10s %10s\n' "tag:user=alice check (us)" "" "$fixed_us"
fi
