#!/bin/sh
# fleet_redis.sh - the load a fleet of machines puts on Redis, and what
# the sync agent costs a machine.  A simulated fleet on this machine:
# FLEET_LEDGERS ledgers (default 50), each a machine (TOKENGUARD_MACHINE)
# with two fleet policies (global by day, tag:team=search by month) and a
# record of spend, each with its own `tokenguard-report sync --follow
# --interval 1` agent, against one redis-server on loopback.  After a
# warm-up it measures for FLEET_SECONDS (default 20): the commands Redis
# processed (INFO total_commands_processed) per second, in all and per
# machine; Redis's CPU (used_cpu_user + used_cpu_sys) and network bytes;
# the agents' CPU (utime + stime of /proc/PID/stat), per agent; then that
# every overlay holds the other machines' spend.  `make bench` runs it
# (bench/bench.sh); with --lines it prints those figures as lines (the
# convention of bench/README.md), else a table.
set -eu
lines=0
[ "${1:-}" = --lines ] && lines=1
cd "$(dirname "$0")/.."

N=${FLEET_LEDGERS:-50}
D=${FLEET_SECONDS:-20}
B=build
R=$B/tokenguard-report
command -v redis-server >/dev/null || { echo "fleet_redis.sh: no redis-server (tests/deps.sh)" >&2; exit 1; }
[ -x $R ] && [ -x $B/ledger-put ] || make -s all $B/ledger-put

tmp=$(mktemp -d)
pids=
redis=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	for p in $pids; do wait "$p" 2>/dev/null || :; done
	[ -n "$redis" ] && kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
	>"$tmp/redis.log" 2>&1 &
redis=$!
i=0
until redis-cli -p "$port" ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "fleet_redis.sh: redis-server did not start" >&2; cat "$tmp/redis.log" >&2; exit 1; }
	sleep 0.05
done

now=$(date +%s)
for i in $(seq 1 "$N"); do
	l=$tmp/m$i
	$R budget set day 'global,day,usd=1000,block,fleet' --ledger "$l" >/dev/null
	$R budget set search 'tag:team=search,month,usd=5000,warn,fleet' --ledger "$l" >/dev/null
	printf '%s\topenai\tgpt-4.1\tbench\t1000\t100\t0.25\t-\n' "$now" | $B/ledger-put "$l" >/dev/null
	TOKENGUARD_MACHINE=m$i $R sync --follow --interval 1 --redis "redis://127.0.0.1:$port" \
		--ledger "$l" 2>>"$tmp/agents.err" &
	pids="$pids $!"
done

info() { redis-cli -p "$port" info "$1" | tr -d '\r' | sed -n "s/^$2:\(.*\)/\1/p"; }
agents_ticks() {
	t=0
	for p in $pids; do
		set -- $(sed 's/^.*) //' "/proc/$p/stat")
		t=$((t + ${12} + ${13}))   # utime, stime (fields 14, 15 of stat)
	done
	echo $t
}
snapshot() {
	echo "$(info stats total_commands_processed) $(info cpu used_cpu_user) $(info cpu used_cpu_sys)" \
		"$(info stats total_net_input_bytes) $(info stats total_net_output_bytes) $(agents_ticks)"
}

sleep 3   # every agent started and connected
a=$(snapshot)
t0=$(date +%s.%N)
sleep "$D"
b=$(snapshot)
t1=$(date +%s.%N)

# Every machine sees the 49 others' $0.25 (one fresh overlay checked).
others=$($R budget status --json --ledger "$tmp/m1" |
	python3 -c 'import json,sys; d={r["name"]: r for r in json.load(sys.stdin)}; f=d["day"]["fleet"]; print("%s %.2f %.3f" % (f["state"], f["others_usd"], f["age_s"]))')
keys=$(redis-cli -p "$port" dbsize | tr -d '\r')
[ -s "$tmp/agents.err" ] && { echo "fleet_redis.sh: an agent said:" >&2; head -5 "$tmp/agents.err" >&2; }

python3 - "$N" "$a" "$b" "$t0" "$t1" "$(getconf CLK_TCK)" "$others" "$keys" "$lines" <<'EOF'
import sys
n, a, b = int(sys.argv[1]), [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
secs, tck = float(sys.argv[5]) - float(sys.argv[4]), float(sys.argv[6])
state, others_usd, age = sys.argv[7].split()
keys, lines = int(sys.argv[8]), sys.argv[9] == "1"
d = [y - x for x, y in zip(a, b)]
ops = d[0] / secs
figures = [
    ("fleet_redis_cmds_per_s", ops, "cmd/s", ""),
    ("fleet_redis_cmds_per_s_per_machine", ops / n, "cmd/s", " <= 10"),
    ("fleet_redis_cpu", 100 * (d[1] + d[2]) / secs, "%", ""),
    ("fleet_redis_net_in_per_machine", d[3] / secs / n, "B/s", ""),
    ("fleet_redis_net_out_per_machine", d[4] / secs / n, "B/s", ""),
    ("fleet_agent_cpu_per_machine", 100 * d[5] / tck / secs / n, "%", " <= 2"),
]
want_others = 0.25 * (n - 1)
ok = state == "fresh" and abs(float(others_usd) - want_others) < 1e-6
if lines:
    for name, v, unit, target in figures:
        print("%s %.2f %s%s" % (name, v, unit, target))
    print("fleet_overlay_complete %d bool == 1" % ok)
else:
    print("simulated fleet: %d machines, 2 fleet policies each, sync every 1 s, %.0f s measured"
          % (n, secs))
    for name, v, unit, _t in figures:
        print("  %-36s %10.2f %s" % (name, v, unit))
    print("  redis keys: %d; machine 1's overlay: %s, others $%s (want $%.2f), %s s old"
          % (keys, state, others_usd, want_others, age))
if not ok:
    sys.exit("fleet_redis.sh: machine 1's overlay is %s with $%s of others, expected fresh $%.2f"
             % (state, others_usd, want_others))
EOF
