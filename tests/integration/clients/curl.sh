#!/bin/bash
# curl.sh - curl(1) as a test client, all exchanges in ONE curl invocation so
# they share a kept-alive connection (HTTP/1.1) or, with --parallel, are
# multiplexed on one (HTTP/2; every exchange then sends the first one's
# request).  HTTPVER 1.1 forces --http1.1; 2 leaves curl's default, which
# negotiates h2 by ALPN.  --compressed asks curl to decode.
# Usage and output format: see common.py; the last line adds curl's exit code.
set -u

opts=()
parallel=0
while [ $# -gt 0 ]; do
	case $1 in
	--compressed) opts+=(--compressed) ;;
	--parallel) parallel=1 ;;
	--*) echo "unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
out=$1
http=$2
shift 2
[ "$http" = 1.1 ] && opts+=(--http1.1)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

common=(-sS --cacert "$SSL_CERT_FILE" "${opts[@]}")
args=("${common[@]}")
[ $parallel = 1 ] && args+=(--parallel)
n=0
while [ $# -gt 0 ]; do
	method=$1 url=$2 body=$3
	shift 3
	# In parallel mode all URLs live in one option group, where options are
	# shared: the first exchange's method, body and headers serve them all.
	if [ $parallel = 0 ] || [ $n = 0 ]; then
		args+=(-X "$method" -w "%{http_code}\n")
		[ "$body" != - ] && args+=(--data-binary "@$body")
	fi
	while [ $# -gt 0 ] && [ "$1" != --next ]; do
		[ $parallel = 0 ] || [ $n = 0 ] && args+=(-H "$1")
		shift
	done
	args+=(-o "$tmp/body.$n" "$url")
	n=$((n + 1))
	if [ $# -gt 0 ]; then
		shift
		# --next keeps each exchange's method, body and headers apart (and
		# resets every option) while curl still reuses the connection.
		[ $parallel = 0 ] && args+=(--next "${common[@]}")
	fi
done

curl "${args[@]}" >"$tmp/status" 2>"$tmp/stderr"
rc=$?
# curl's messages name byte counts and timings; only the exit code is stable.
{
	i=0
	while [ $i -lt $n ]; do
		status=$(sed -n "$((i + 1))p" "$tmp/status")
		[ -f "$tmp/body.$i" ] || : >"$tmp/body.$i"
		printf '== status %s, %d bytes\n' "${status:-None}" "$(wc -c <"$tmp/body.$i")"
		cat "$tmp/body.$i"
		printf '\n'
		i=$((i + 1))
	done
	printf '== curl exit %d\n' "$rc"
} >"$out"
cat "$tmp/stderr" >&2
exit $rc
