#!/bin/sh
# exchanges.sh [--lines] - what libtokenguard.so adds to real exchanges with
# a provider, next to what a local nginx TLS reverse-proxy hop adds, all
# measured in the same run.  bench/bench.sh runs it with --lines.
#
# Owns: the benchmark's network figures: per-exchange added latency (JSON
# and SSE, HTTP/1.1 and HTTP/2, ledger on disk and on tmpfs, the nginx hop),
# memory per open provider connection, and a 50 MB SSE stream's added time
# and memory.
#
# Runs inside the integration tests' private network namespace
# (tests/integration/netns.sh: only lo, every provider hostname is
# 127.0.0.1, a throwaway CA), with nginx (bench/nginx.conf.sh) as both the
# provider (:443) and the gateway hop (:8443).  Cases are interleaved: each
# round runs baseline, shim with the ledger on disk, shim with the ledger on
# /dev/shm and the hop back to back, in an order that rotates every round,
# so a machine busy with something else slows all of them alike.
#
# Output: without --lines, a table of its own figures (bench/table.py);
# with --lines, `name value unit [op target]` lines, value `-` where the
# figure could not be measured (no nginx).
#
# Environment (defaults in brackets): ROUNDS [11] rounds of the latency
# cases, EXCHANGES [1000] exchanges per HTTP/1.1 run, H2_EXCHANGES [1000] per
# HTTP/2 (curl) run, MEM_CONNS [100], MEM_ROUNDS [3], BIG_ROUNDS [5], BIG_MB [50];
# TG_BENCH_SHIM, TG_BENCH_REPORT; TG_BENCH_DISK (where on-disk ledgers go;
# default build/bench-ledgers, which must not be tmpfs).
set -eu

TG_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TG_TOP/tests/integration/netns.sh"

# Every line this script prints, so that a run without nginx can say which
# figures it did not measure.  One definition of each target: here.
CASES="h1_json h1_sse h2_json h2_sse"
emit_names() { # prints "name unit target" for every line
	for c in $CASES; do
		echo "${c}_base_median us -"
		echo "${c}_disk_added_median us <=30"
		echo "${c}_disk_added_p99 us <=150"
		echo "${c}_shm_added_median us -"
		echo "${c}_shm_added_p99 us -"
		echo "${c}_hop_added_median us -"
		echo "${c}_hop_added_p99 us -"
		echo "${c}_disk_vs_hop x <=0.5"
		echo "${c}_records_per_exchange x ==1"
	done
	echo "mem_per_conn_added KiB -"
	echo "sse_50mb_added_ms ms <=60"
	echo "sse_50mb_peak_rss_added KiB <=1024"
}

# One line of output; the target is looked up in emit_names.
line() { # name value
	t=$(emit_names | awk -v n="$1" '$1 == n { print $2, $3 }')
	[ -n "$t" ] || { echo "exchanges.sh: no line named $1" >&2; exit 2; }
	# shellcheck disable=SC2086 # "unit target": two words
	set -- "$1" "$2" $t
	if [ "$4" = - ]; then
		echo "$1 $2 $3"
	else
		echo "$1 $2 $3 $(echo "$4" | sed 's/^\([<>=]*\)/\1 /')"
	fi
}

not_measured() {
	emit_names | while read -r n _; do line "$n" -; done
	exit 0
}

if [ "${1:-}" != --lines ]; then
	sh "$0" --lines | /usr/bin/python3 "$TG_TOP/bench/table.py"
	exit
fi

command -v nginx >/dev/null || { echo "exchanges.sh: nginx is not installed: not measured" >&2; not_measured; }
tg_netns_enter "$0" "$@"

ROUNDS=${ROUNDS:-11}
N=${EXCHANGES:-1000}
N2=${H2_EXCHANGES:-1000}
MEM_CONNS=${MEM_CONNS:-100}
MEM_ROUNDS=${MEM_ROUNDS:-3}
BIG_ROUNDS=${BIG_ROUNDS:-5}
BIG_MB=${BIG_MB:-50}
SHIM=${TG_BENCH_SHIM:-$TG_TOP/build/libtokenguard.so}
REPORT=${TG_BENCH_REPORT:-$TG_TOP/build/tokenguard-report}
CLIENT=$TG_TOP/build/tlsclient
for f in "$SHIM" "$REPORT" "$CLIENT"; do
	[ -f "$f" ] || { echo "exchanges.sh: $f is missing: run make bench" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-bench.XXXXXX")
mkdir -p "${TG_BENCH_DISK:-$TG_TOP/build/bench-ledgers}"
disk=$(mktemp -d "${TG_BENCH_DISK:-$TG_TOP/build/bench-ledgers}/run.XXXXXX")
shm=$(mktemp -d /dev/shm/tokenguard-bench.XXXXXX)
cleanup() {
	[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
	rm -rf "$work" "$disk" "$shm"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ "$(stat -f -c %T "$disk")" = tmpfs ]; then
	echo "exchanges.sh: $disk is on tmpfs: set TG_BENCH_DISK to a directory on disk" >&2
	exit 2
fi

fixtures=$TG_TOP/tests/fixtures
tg_netns_setup "$work" "$fixtures/cases.json" >/dev/null
mkdir -p "$work/www/resp"
cp "$fixtures/openai-chat.resp" "$work/www/resp/chat.json"
cp "$fixtures/openai-chat-stream.resp" "$work/www/resp/chat.sse"
# BIG_MB of content events, then the fixture's closing events (usage, DONE).
/usr/bin/python3 - "$fixtures/openai-chat-stream.resp" "$work/www/resp/big.sse" "$BIG_MB" <<'EOF'
import sys
events = open(sys.argv[1]).read().split("\n\n")
content = [e for e in events if '"content":"' in e and '"content":""' not in e]
closing = "\n\n".join(e for e in events[-4:] if e.strip()) + "\n\n"
with open(sys.argv[2], "w") as out:
    size, want, i = 0, int(sys.argv[3]) << 20, 0
    while size < want:
        chunk = content[i % len(content)] + "\n\n"
        out.write(chunk)
        size += len(chunk)
        i += 1
    out.write(closing)
EOF
sh "$TG_TOP/bench/nginx.conf.sh" "$work"
nginx -c "$work/nginx.conf" -e "$work/nginx.err"
i=0
until [ -s "$work/nginx.pid" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "exchanges.sh: nginx did not start" >&2; cat "$work/nginx.err" >&2; exit 2; }
	sleep 0.05
done

json_req=$fixtures/openai-chat.req.json
sse_req=$fixtures/openai-chat-stream.req.json
path=/v1/chat/completions
host=api.openai.com

# h2_config FILE PORT R BODY: N2 sequential HTTP/2 transfers on one
# connection, curl printing each transfer's time.
h2_config() {
	{
		echo "silent"
		echo "show-error"
		echo "http2"
		k=0
		while [ $k -lt "$N2" ]; do
			[ $k -gt 0 ] && echo "next"
			printf 'cacert = "%s"\n' "$work/ca/ca.pem"
			printf 'url = "https://%s:%s%s?r=%s"\n' "$host" "$2" "$path" "$3"
			printf 'data-binary = "@%s"\n' "$4"
			echo 'header = "Content-Type: application/json"'
			echo 'header = "Authorization: Bearer sk-bench"'
			echo 'output = "/dev/null"'
			printf '%s\n' 'write-out = "%{http_code} %{http_version} %{time_total}\n"'
			k=$((k + 1))
		done
	} >"$1"
}
request_of() { # json|sse: the request body file
	case $1 in
	json) echo "$json_req" ;;
	sse) echo "$sse_req" ;;
	esac
}
for r in json sse; do
	for port in 443 8443; do
		h2_config "$work/h2_${r}_$port.curlrc" $port $r "$(request_of $r)"
	done
done

# under VARIANT CMD...: runs CMD as the variant: base and hop without the
# shim, disk and shm with it, a fresh ledger each time ($ledger).
under() {
	v=$1
	shift
	case $v in
	base | hop) env -u LD_PRELOAD "$@" ;;
	disk | shm)
		ledger=$disk/ledger
		[ "$v" = shm ] && ledger=$shm/ledger
		rm -rf "$ledger"
		env TOKENGUARD_LEDGER="$ledger" TOKENGUARD_QUIET=1 LD_PRELOAD="$SHIM" "$@"
		;;
	esac
}

records() { # ledger dir: how many records it holds (0 if none)
	if [ -d "$1" ]; then
		"$REPORT" records --ledger "$1" --format jsonl | grep -c . || true
	else
		echo 0
	fi
}

# latency_run CASE VARIANT ROUND: one run's per-exchange times, in ns, to
# raw/CASE/VARIANT.ROUND.
latency_run() {
	c=$1 v=$2
	out=$work/raw/$c/$v.$3
	mkdir -p "$work/raw/$c"
	port=443
	[ "$v" = hop ] && port=8443
	r=${c#*_}
	req=$(request_of "$r")
	case $c in
	h1_*) under "$v" "$CLIENT" seq $port $host "$path?r=$r" "$req" "$N" >"$out" ;;
	h2_*)
		under "$v" curl -K "$work/h2_${r}_$port.curlrc" >"$out.curl"
		ok=$(grep -c '^200 2 ' "$out.curl" || true)
		[ "$ok" -eq "$N2" ] || { echo "exchanges.sh: only $ok of $N2 HTTP/2 transfers answered 200" >&2; exit 1; }
		awk '{ printf "%.0f\n", $3 * 1e9 }' "$out.curl" >"$out"
		;;
	esac
	if [ "$v" = disk ]; then
		n=$N
		case $c in h2_*) n=$N2 ;; esac
		echo "$(records "$disk/ledger") $n" >"$work/raw/$c/records"
	fi
}

VARIANTS="base disk shm hop"
round=0
while [ $round -lt "$ROUNDS" ]; do
	for c in $CASES; do
		# Rotate the order of the variants every round.
		# shellcheck disable=SC2086 # a list of words
		set -- $VARIANTS
		k=0
		while [ $k -lt $((round % 4)) ]; do
			first=$1
			shift
			set -- "$@" "$first"
			k=$((k + 1))
		done
		for v in "$@"; do latency_run "$c" "$v" $round; done
	done
	round=$((round + 1))
done
# shellcheck disable=SC2086 # a list of words
/usr/bin/python3 "$TG_TOP/bench/stats.py" latency "$work/raw" $CASES | while read -r n val; do line "$n" "$val"; done

# Memory per open provider connection: MEM_CONNS connections kept open,
# one exchange on each; the resident set's growth per connection with the
# shim, less the same without it.
: >"$work/mem"
k=0
while [ $k -lt "$MEM_ROUNDS" ]; do
	for v in base disk; do
		echo "$v $(under $v "$CLIENT" conns 443 $host "$path?r=json" "$json_req" "$MEM_CONNS")" >>"$work/mem"
	done
	k=$((k + 1))
done
line mem_per_conn_added "$(/usr/bin/python3 "$TG_TOP/bench/stats.py" memconn "$work/mem" "$MEM_CONNS")"

# A BIG_MB SSE stream: added time, and the peak resident set beyond what
# the same process peaks at on one small exchange.
: >"$work/big"
k=0
while [ $k -lt "$BIG_ROUNDS" ]; do
	for v in base disk; do
		echo "$v big $(under $v "$CLIENT" one 443 $host "$path?r=big" "$sse_req" 1)" >>"$work/big"
		echo "$v small $(under $v "$CLIENT" one 443 $host "$path?r=sse" "$sse_req" 1)" >>"$work/big"
	done
	k=$((k + 1))
done
/usr/bin/python3 "$TG_TOP/bench/stats.py" big "$work/big" | while read -r n val; do line "$n" "$val"; done
