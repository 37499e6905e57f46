#!/bin/sh
# pervalue.sh - the budget gate's check under tag:KEY=* policies with 1
# and with VALUES (default 1000) values of the tag in the ledger
# (bench/pervalue.c): time per check and the checking process's peak
# resident size, and their ratios (target: flat, within 1.2x); and, for
# comparison, the same check under tag:user=alice policies.  Wall times
# are noisy on a loaded machine; when valgrind is installed the
# instructions per check are counted too (callgrind, exact: the
# difference of runs of 900 and 1800 checks, over 900).
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
"$B/pervalue" make "$tmp/one" 1
"$B/pervalue" make "$tmp/many" "$N"
"$B/pervalue" make "$tmp/fixed" "$N" fixed
set -- $("$B/pervalue" check "$tmp/one" "$CHECKS")
one_us=$1 one_kb=$2
set -- $("$B/pervalue" check "$tmp/many" "$CHECKS")
many_us=$1 many_kb=$2
set -- $("$B/pervalue" check "$tmp/fixed" "$CHECKS")
fixed_us=$1
r_us=$(awk -v a="$many_us" -v b="$one_us" 'BEGIN { printf "%.2f", a / b }')
r_kb=$(awk -v a="$many_kb" -v b="$one_kb" 'BEGIN { printf "%.2f", a / b }')

# Instructions per check, from two runs of the checks.
instr() {
	for c in 900 1800; do
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$B/pervalue" \
			check "$tmp/$1" "$c" >/dev/null 2>"$tmp/cg.err"
		sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/cg.err"
	done | awk 'NR == 1 { a = $1 } NR == 2 { printf "%d", ($1 - a) / 900 }'
}
i_one=- i_many=- i_fixed=-
if command -v valgrind >/dev/null; then
	i_one=$(instr one)
	i_many=$(instr many)
	i_fixed=$(instr fixed)
fi

# The flatness target goes by instructions when counted (times wander
# with the machine's load), else by time.
r_check=$r_us
[ "$i_one" != - ] && r_check=$(awk -v a="$i_many" -v b="$i_one" 'BEGIN { printf "%.2f", a / b }')

if [ "$LINES" = 1 ]; then
	echo "pervalue_check_us_1 $one_us us"
	echo "pervalue_check_us_$N $many_us us"
	echo "pervalue_check_ratio $r_check x <= 1.2"
	echo "pervalue_maxrss_kb_1 $one_kb KB"
	echo "pervalue_maxrss_kb_$N $many_kb KB"
	echo "pervalue_maxrss_ratio $r_kb x <= 1.2"
	echo "fixed_tag_check_us_$N $fixed_us us"
	if [ "$i_one" != - ]; then
		echo "pervalue_check_instr_1 $i_one instructions"
		echo "pervalue_check_instr_$N $i_many instructions"
		echo "fixed_tag_check_instr_$N $i_fixed instructions"
	fi
else
	printf '%-34s %10s %10s %6s\n' "tag:user=* gate check" "1 value" "$N values" ratio
	printf '%-34s %10s %10s %6s\n' "time per check (us, fastest round)" "$one_us" "$many_us" "$r_us"
	printf '%-34s %10s %10s %6s\n' "peak resident size (KB)" "$one_kb" "$many_kb" "$r_kb"
	printf '%-34s %10s %10s\n' "tag:user=alice check (us)" "" "$fixed_us"
	printf '%-34s %10s %10s %6s\n' "instructions per check" "$i_one" "$i_many" "$r_check"
	printf '%-34s %10s %10s\n' "tag:user=alice: instructions" "" "$i_fixed"
fi
