#!/bin/sh
# h2bench.sh - what libtokenguard.so adds to each exchange of a real program
# (curl) talking to a provider over real TLS, on one HTTP/2 connection
# carrying many streams at once and on one HTTP/1.1 keep-alive connection.
#
# Owns: the end-to-end benchmark.  It runs inside the integration tests'
# private network namespace (tests/integration/netns.sh), with the fake
# provider answering every provider hostname on 127.0.0.1:443.  Each case
# is one curl process making EXCHANGES exchanges, run ROUNDS times
# alternately without and with LD_PRELOAD=build/libtokenguard.so (a fresh
# ledger each time); the table shows the median wall times.  The fake
# provider (Python) costs far more per exchange than curl does, so the
# ratio understates the shim's share of a fast server's exchange: the delta
# per exchange is the figure to read.
#
# Environment: ROUNDS (default 5), EXCHANGES (default 200), TG_BENCH_SHIM,
# TG_BENCH_REPORT (default build/libtokenguard.so, build/tokenguard-report),
# TG_BENCH_LEDGER_DIR (where the ledgers go; default a temporary directory
# under TMPDIR: put it on tmpfs to see the cost without the disk's syncs).
set -eu

TG_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TG_TOP/tests/integration/netns.sh"
tg_netns_enter "$0" "$@"

ROUNDS=${ROUNDS:-5}
N=${EXCHANGES:-200}
SHIM=${TG_BENCH_SHIM:-$TG_TOP/build/libtokenguard.so}
REPORT=${TG_BENCH_REPORT:-$TG_TOP/build/tokenguard-report}
for f in "$SHIM" "$REPORT"; do
	[ -f "$f" ] || { echo "h2bench.sh: $f is missing: run make" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "h2bench.sh: needs curl" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-bench.XXXXXX")
cleanup() {
	tg_fake_stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ledger_dir=$(mktemp -d "${TG_BENCH_LEDGER_DIR:-$work}/ledger.XXXXXX")

cases=$TG_TOP/tests/fixtures/cases.json
tg_netns_setup "$work" "$cases" >/dev/null
tg_fake_start "$work" "$cases"
fixtures=$TG_TOP/tests/fixtures

# curl_config FILE CASE PATH MAX HTTP: N transfers of one case; MAX > 0 runs
# them in parallel, at most MAX streams at once (the fake provider allows
# 100 per connection), so they share one HTTP/2 connection.
curl_config() {
	cfg=$1 case=$2 host=$3 path=$4 max=$5 http=$6
	{
		echo "silent"
		echo "show-error"
		echo "no-progress-meter"
		[ "$max" -gt 0 ] && printf 'parallel\nparallel-max = %d\n' "$max"
		i=0
		while [ $i -lt "$N" ]; do
			[ $i -gt 0 ] && echo "next"
			printf 'cacert = "%s"\n' "$work/ca/ca.pem"
			[ "$http" = 1.1 ] && echo "http1.1"
			printf 'url = "https://%s%s"\n' "$host" "$path"
			printf 'data-binary = "@%s/%s.req.json"\n' "$fixtures" "$case"
			echo 'header = "Content-Type: application/json"'
			echo 'header = "Authorization: Bearer sk-bench"'
			printf 'header = "x-fake-case: %s"\n' "$case"
			echo 'output = "/dev/null"'
			printf '%s\n' 'write-out = "%{http_code}\n"'
			i=$((i + 1))
		done
	} >"$cfg"
}

now_us() { echo $(($(date +%s%N) / 1000)); }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# one_run CFG STATUS LEDGER|-: wall microseconds of one curl run; with a
# ledger, under the shim.  Fails unless every transfer answered STATUS.
one_run() {
	cfg=$1 status=$2 ledger=$3
	t0=$(now_us)
	if [ "$ledger" = - ]; then
		env -u LD_PRELOAD curl -K "$cfg" >"$work/codes"
	else
		env TOKENGUARD_LEDGER="$ledger" TOKENGUARD_QUIET=1 LD_PRELOAD="$SHIM" \
			curl -K "$cfg" >"$work/codes"
	fi
	t1=$(now_us)
	ok=$(grep -c "^$status\$" "$work/codes" || true)
	if [ "$ok" -ne "$N" ]; then
		echo "h2bench.sh: only $ok of $N transfers answered $status" >&2
		exit 1
	fi
	echo $((t1 - t0))
}

run_case() { # label case host path max http status
	label=$1 status=$7
	cfg=$work/curlrc
	curl_config "$cfg" "$2" "$3" "$4" "$5" "$6"
	: >"$work/base"
	: >"$work/shim"
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		one_run "$cfg" "$status" - >>"$work/base"
		rm -rf "$ledger_dir/ledger"
		one_run "$cfg" "$status" "$ledger_dir/ledger" >>"$work/shim"
		i=$((i + 1))
	done
	# The last shim run's ledger proves every exchange was recorded.
	recs=0
	if [ -d "$ledger_dir/ledger" ]; then
		recs=$("$REPORT" records --ledger "$ledger_dir/ledger" --format jsonl | grep -c . || true)
	fi
	b=$(median <"$work/base")
	s=$(median <"$work/shim")
	awk -v l="$label" -v b="$b" -v s="$s" -v n="$N" -v r="$recs" 'BEGIN {
		printf "%-40s %9.1f %9.1f %+10.1f %7.3fx %8d\n", l, b/1000, s/1000, (s-b)/n, s/b, r }'
}

printf "%-40s %9s %9s %10s %8s %8s\n" "case ($N exchanges, median of $ROUNDS)" \
	"base ms" "shim ms" "delta us/x" "ratio" "records"
chat=/v1/chat/completions
run_case "HTTP/2, 100 streams at once, JSON" openai-chat api.openai.com $chat 100 2 200
run_case "HTTP/1.1 keep-alive, JSON" openai-chat api.openai.com $chat 0 1.1 200
run_case "HTTP/2, 100 streams at once, SSE" openai-chat-stream api.openai.com $chat 100 2 200
run_case "HTTP/1.1 keep-alive, SSE" openai-chat-stream api.openai.com $chat 0 1.1 200
# Not a provider: the hooks pass every call through and nothing is recorded
# (the fake provider answers 404 for a host no case names).
run_case "HTTP/2, 100 streams, not a provider" openai-chat localhost $chat 100 2 404
run_case "HTTP/1.1 keep-alive, not a provider" openai-chat localhost $chat 0 1.1 404
conns=$("$TG_PY" -c '
import json, sys
seen = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    seen.setdefault(e["proto"], set()).add(e["conn"])
print(", ".join("%s %d" % (p, len(c)) for p, c in sorted(seen.items())))' "$work/provider.log")
echo "connections the fake provider saw, all runs: $conns ($((6 * 2 * ROUNDS)) curl runs)"
echo "base/shim ms: median wall time of one curl run without/with the shim;"
echo "delta us/x: (shim - base) / exchanges; records: what the last shim run recorded."
