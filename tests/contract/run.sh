#!/bin/sh
# run.sh - the shim's contract with the host program: build/ssl-contract
# (tests/contract/ssl_contract.c) run without and with libtokenguard.so.
#
# Owns: running each scenario twice, comparing the two transcripts byte for
# byte, and comparing the ledger of the preloaded run with the records the
# transcript's "expect record" lines name (a scenario that expects none
# must not even create the ledger directory).  `make contract` runs it
# after `make all`.
#
# Environment: TG_CONTRACT_SCENARIOS (default: all), TG_CONTRACT_KEEP=1
# keeps the work directory for inspection; under `make test SAN=...` the
# variables of tests/san.sh.
set -u

TG_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TG_TOP/tests/san.sh"
bin=$TG_BUILD/ssl-contract
shim=$TG_BUILD/libtokenguard.so
report=$TG_BUILD/tokenguard-report
scenarios=${TG_CONTRACT_SCENARIOS:-peek want-write partial-write errno server-side fork not-provider threads}

for f in "$bin" "$shim" "$report"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "run.sh: $f is missing (make all contract)" >&2; exit 2; }
done

# Whatever the caller's environment says, the shim runs with its defaults.
unset LD_PRELOAD TOKENGUARD_LEDGER TOKENGUARD_TAGS TOKENGUARD_HOSTS TOKENGUARD_PRICES \
	TOKENGUARD_DISABLE TOKENGUARD_DEBUG TOKENGUARD_QUIET TOKENGUARD_BUDGETS TOKENGUARD_FAIL

work=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-contract.XXXXXX") || exit 2
cleanup() {
	if [ "${TG_CONTRACT_KEEP:-0}" = 1 ]; then
		echo "# work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# ssl-contract frees what it allocates: a leak under the shim is the shim's.
tg_san_setup "$work/sanitizer" 1

# One line per record, the fields a scenario decides, in a fixed order.
normalise() {
	awk 'function get(k,   v) {
		if (!match($0, "\"" k "\":(\"[^\"]*\"|[^,}]*)"))
			return "(missing)"
		v = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
		gsub(/"/, "", v)
		return v
	}
	{
		print get("provider"), get("host"), get("endpoint"), get("model"), get("status"),
		      get("input_tokens"), get("output_tokens"), "pid=" get("pid"),
		      "incomplete=" get("incomplete"), "usage_unknown=" get("usage_unknown"),
		      "blocked=" get("blocked")
	}' | LC_ALL=C sort
}

# The first lines of a file, as "# " comments.
show() {
	sed -n "1,${2:-20}p" "$1" | sed 's/^/# /'
}

# run_scenario NAME DIR: empty output and status 0 when the contract holds;
# otherwise the reason on the first line, details after it.
run_scenario() {
	s=$1 d=$2
	LD_PRELOAD=$(tg_preload) "$bin" "$s" >"$d/base.out" 2>"$d/base.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "fails without the shim (status $rc)"
		show "$d/base.err"
		return 1
	fi
	TOKENGUARD_LEDGER=$d/ledger LD_PRELOAD=$(tg_preload "$shim") "$bin" "$s" "$d/pid" >"$d/shim.out" 2>"$d/shim.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		if [ $rc -gt 128 ]; then
			echo "killed by signal $((rc - 128)) with the shim (SIGALRM: a deadlock)"
		else
			echo "fails with the shim (status $rc)"
		fi
		show "$d/shim.err"
		diff "$d/base.out" "$d/shim.out" | sed -n '1,16p' | sed 's/^/# /'
		return 1
	fi
	if ! grep -q '^SSL_write .*libtokenguard' "$d/pid" 2>/dev/null; then
		echo "the shim was not loaded: $(sed -n 's/^SSL_write //p' "$d/pid" 2>/dev/null)"
		show "$d/shim.err"
		return 1
	fi
	if ! cmp -s "$d/base.out" "$d/shim.out"; then
		line=$(cmp "$d/base.out" "$d/shim.out" 2>/dev/null | sed -n 's/.* line \([0-9]*\).*/\1/p')
		echo "transcripts differ from line ${line:-?} (< without, > with the shim)"
		diff "$d/base.out" "$d/shim.out" | sed -n '1,16p' | sed 's/^/# /'
		return 1
	fi

	pid=$(sed -n 's/^pid //p' "$d/pid")
	sed -n 's/^expect record //p' "$d/base.out" |
		sed "s/\$/ pid=$pid incomplete=false usage_unknown=false blocked=false/" |
		LC_ALL=C sort >"$d/expected"
	want=$(wc -l <"$d/expected")
	if [ "$want" -eq 0 ]; then
		if [ -e "$d/ledger" ]; then
			echo "no record expected, yet the ledger directory was created"
			return 1
		fi
		return 0
	fi
	if ! "$report" records --ledger "$d/ledger" --format jsonl >"$d/records.jsonl" 2>"$d/report.err"; then
		echo "tokenguard-report records failed"
		show "$d/report.err"
		return 1
	fi
	normalise <"$d/records.jsonl" >"$d/got"
	if ! cmp -s "$d/expected" "$d/got"; then
		echo "the ledger holds $(wc -l <"$d/got") records, $want expected (< expected, > found)"
		diff "$d/expected" "$d/got" | sed -n '1,16p' | sed 's/^/# /'
		return 1
	fi
	return 0
}

passed=0 failed=0
for s in $scenarios; do
	d=$work/$s
	mkdir -p "$d"
	if run_scenario "$s" "$d" >"$d/why"; then
		echo "ok - contract $s"
		passed=$((passed + 1))
	else
		echo "not ok - contract $s: $(sed -n 1p "$d/why")"
		sed -n '2,$p' "$d/why"
		failed=$((failed + 1))
	fi
done
if ! tg_san_reports "$work"/*/shim.err >"$work/san-reports"; then
	echo "not ok - contract: a sanitizer report"
	cat "$work/san-reports"
	failed=$((failed + 1))
fi
echo "contract: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
