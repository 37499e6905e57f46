#!/bin/sh
# bench.sh - `make bench`: runs every benchmark of bench/, prints one table
# (name, value, unit, target, met) and writes bench/results.json.
#
# Owns: which pieces make up the benchmark, their order, and what the table
# says about a piece that is missing or fails.  Each piece is a script that
# prints `name value unit [op target]` lines when given --lines
# (bench/table.py defines the convention and judges the targets).  A piece
# that does not exist is skipped, and one that fails is reported, each with
# a line saying so in the table: never a value it did not measure.  Pieces
# run one after the other, never at once, so none slows another.
#
# Environment: BENCH_PIECES (default: all, in the order below) to run some
# only; BENCH_JSON (default bench/results.json); each piece's own
# repetition counts (see bench/README.md).  Needs `make` to have built
# build/libtokenguard.so, build/tokenguard-report, build/tlsclient and
# build/sslbench
# (`make bench` does).  nginx comes from Debian: missing, it is installed
# when run as root (like tests/deps.sh); otherwise its lines say
# "not measured".
set -eu

TG_TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TG_TOP"
PIECES=${BENCH_PIECES:-"bench/exchanges.sh bench/commits.sh bench/faults.sh bench/instr.sh bench/startup.sh bench/bulk.sh bench/mkledger.sh bench/foldcost.sh bench/pervalue.sh bench/fleet_redis.sh"}
JSON=${BENCH_JSON:-bench/results.json}
TABLE="/usr/bin/python3 bench/table.py"

out=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-bench-lines.XXXXXX")
trap 'rm -rf "$out"' EXIT
trap 'exit 130' INT TERM

if ! command -v nginx >/dev/null; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		echo "bench: installing nginx-light (Debian) for the provider and the gateway hop" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null ||
			echo "bench: could not install nginx: its lines will say not measured" >&2
	else
		echo "bench: nginx is missing: run as root: apt-get install -y nginx-light" >&2
	fi
fi

now() { date +%s; }
start=$(now)
: >"$out/lines"
for piece in $PIECES; do
	if [ ! -f "$piece" ]; then
		echo "! $piece: not there yet, skipped" >>"$out/lines"
		continue
	fi
	t0=$(now)
	echo "bench: $piece ..." >&2
	if sh "$piece" --lines >"$out/piece" 2>"$out/err"; then
		rc=0
	else
		rc=$?
	fi
	cat "$out/err" >&2
	if [ $rc -ne 0 ]; then
		echo "! $piece failed (exit $rc): its stderr is above the table" >>"$out/lines"
	elif ! $TABLE "$out/piece" >/dev/null 2>"$out/err"; then
		cat "$out/err" >&2
		echo "! $piece printed a line that is not \`name value unit [op target]\`" >>"$out/lines"
	else
		cat "$out/piece" >>"$out/lines"
	fi
	echo "bench: $piece took $(($(now) - t0)) s" >&2
done
echo "bench_total_time $(($(now) - start)) s <= 900" >>"$out/lines"

$TABLE --json "$JSON" "$out/lines"
echo "(written to $JSON; bench/README.md says what each line measures)"
