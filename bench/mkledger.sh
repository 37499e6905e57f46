#!/bin/sh
# mkledger.sh - report timings over a ledger of N records (default
# 1,000,000) made by bench/mkledger.c, and its size on disk per record.
#
#   sh bench/mkledger.sh            # a table for people
#   sh bench/mkledger.sh --lines    # also "name value unit" lines
#   MKLEDGER_LINES=1 sh bench/mkledger.sh
#
# Environment: N (records), RUNS (default 5; the median is shown),
# LEDGER (directory to make it in; default a fresh one under /tmp, removed
# after; an existing ledger there is reused as it is, not remade).
# Timings are warm: one untimed run of each report reads the file into the
# page cache first.  Needs `make` to have built build/tokenguard-report and
# the ledger objects.
set -eu

cd "$(dirname "$0")/.."
N=${N:-1000000}
RUNS=${RUNS:-5}
LINES=${MKLEDGER_LINES:-0}
[ "${1:-}" = "--lines" ] && LINES=1
# With --lines, stdout carries only the "name value unit [target]" lines
# bench/bench.sh reads; the table goes to stderr.
exec 3>&1
[ "$LINES" = 1 ] && exec 1>&2
REPORT=build/tokenguard-report
MK=build/mkledger

[ -x "$REPORT" ] || { echo "mkledger.sh: build $REPORT first (make)" >&2; exit 2; }
# Built from the objects `make` made, so it links the same ledger code.
${CC:-cc} -D_GNU_SOURCE -Ishim -Iledger -std=c11 -O2 -g -Wall -Wextra -Werror \
	-o "$MK" bench/mkledger.c build/obj/ledger/*.o \
	-llmdb -lz -lbrotlidec -lzstd -lnghttp2 -ldl -lm -pthread

if [ -n "${LEDGER:-}" ]; then
	DIR=$LEDGER
	KEEP=1
else
	DIR=$(mktemp -d /tmp/tg-mkledger-XXXXXX)/ledger
	KEEP=0
fi
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$(dirname "$DIR")"; }
trap cleanup EXIT INT TERM

if [ ! -e "$DIR/data.mdb" ]; then
	t0=$(date +%s.%N)
	"$MK" "$DIR" "$N"
	t1=$(date +%s.%N)
	make_s=$(echo "$t1 - $t0" | bc)
else
	make_s=
fi

records=$("$REPORT" check --max-usd 1000000000 --ledger "$DIR" | sed -n 's/.* over \([0-9]*\) call.*/\1/p')
blocked=$("$REPORT" check --max-usd 1000000000 --ledger "$DIR" | sed -n 's/.*note: \([0-9]*\) calls\{0,1\} blocked.*/\1/p')
records=$((records + ${blocked:-0}))
bytes=$(stat -c %s "$DIR/data.mdb")

# Median wall time in seconds of RUNS runs of the report with these
# arguments, output discarded.
time_report() {
	"$REPORT" "$@" --ledger "$DIR" >/dev/null || [ $? = 1 ]   # check exits 1 when over
	i=0
	while [ $i -lt "$RUNS" ]; do
		t0=$(date +%s%N)
		"$REPORT" "$@" --ledger "$DIR" >/dev/null || [ $? = 1 ]
		t1=$(date +%s%N)
		echo $(( (t1 - t0) / 1000 ))
		i=$((i + 1))
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f\n", v[int((NR + 1) / 2)] / 1e6 }'
}

row() {  # name value unit target
	printf '%-28s %10s %-4s (target %s)\n' "$1" "$2" "$3" "$4"
	if [ "$LINES" = 1 ]; then
		if [ "$4" = - ]; then echo "$1 $2 $3"; else echo "$1 $2 $3 $4"; fi >>"$LINESOUT"
	fi
	return 0
}
LINESOUT=$(mktemp)

echo "# ledger: $records records, $bytes bytes in data.mdb${make_s:+, made in ${make_s}s}"
row ledger_bytes_per_record "$(echo "scale=1; $bytes / $records" | bc)" B "<= 200"
row report_summary "$(time_report)" s "<= 0.1"
row report_check "$(time_report check --max-usd 1000000)" s "<= 0.1"
row report_check_filtered "$(time_report check --max-usd 1000000 --provider openai --since 2026-03-10 --until 2026-04-10)" s "<= 0.1"
row report_by_model_day "$(time_report --by model,day)" s "<= 0.3"
row report_budget_status "$(time_report budget status)" s "<= 0.1"
row report_records_jsonl "$(time_report records --format jsonl)" s "<= 1"
row report_records_csv "$(time_report records --format csv)" s "-"
[ "$LINES" = 1 ] && cat "$LINESOUT" >&3
rm -f "$LINESOUT"
