#!/bin/sh
# foldcost.sh [--lines] - a fold's cost per record, in time and in bytes
# written, on an empty ledger and on one of N records (default 1,000,000,
# made by bench/mkledger.c), and the ratio of the two (target: flat, within
# 20%).  bench/bench.sh runs it with --lines.
#
# Environment: N, FOLD_ROUNDS (default 21 folds of 256 records; medians).
# The ledgers are made under build/bench-ledgers/ (on disk).
set -eu
cd "$(dirname "$0")/.."
N=${N:-1000000}
ROUNDS=${FOLD_ROUNDS:-21}
LINES=0
[ "${1:-}" = "--lines" ] && LINES=1

[ -d build/obj/ledger ] || { echo "foldcost.sh: run make first" >&2; exit 2; }
for prog in foldcost mkledger; do
	${CC:-cc} -D_GNU_SOURCE -Ishim -Iledger -std=c11 -O2 -g -Wall -Wextra -Werror \
		-o "build/$prog" "bench/$prog.c" build/obj/ledger/*.o \
		-llmdb -lz -lbrotlidec -lzstd -lnghttp2 -ldl -lm -pthread
done
mkdir -p build/bench-ledgers
tmp=$(mktemp -d build/bench-ledgers/foldcost.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

build/mkledger "$tmp/big" "$N" >/dev/null
set -- $(build/foldcost "$tmp/empty" "$ROUNDS")
e_us=$1 e_b=$2
set -- $(build/foldcost "$tmp/big" "$ROUNDS")
b_us=$1 b_b=$2
r_us=$(awk -v a="$b_us" -v b="$e_us" 'BEGIN { printf "%.2f", a / b }')
r_b=$(awk -v a="$b_b" -v b="$e_b" 'BEGIN { printf "%.2f", a / b }')

if [ "$LINES" = 1 ]; then
	echo "fold_us_per_record_empty $e_us us"
	echo "fold_us_per_record_${N} $b_us us"
	echo "fold_cost_ratio_full_vs_empty $r_us x <= 1.2"
	echo "fold_bytes_per_record_empty $e_b bytes"
	echo "fold_bytes_per_record_${N} $b_b bytes"
	echo "fold_bytes_ratio_full_vs_empty $r_b x <= 1.2"
else
	printf "%-32s %10s %10s %8s\n" "fold of 256 records, per record" "empty" "$N recs" "ratio"
	printf "%-32s %10s %10s %8s\n" "time (us)" "$e_us" "$b_us" "$r_us"
	printf "%-32s %10s %10s %8s\n" "bytes written" "$e_b" "$b_b" "$r_b"
fi
