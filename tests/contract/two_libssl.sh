#!/bin/sh
# two_libssl.sh - a process holding two copies of libssl (CPython's system
# libssl next to a wheel's bundled one, e.g. psycopg2-binary): every SSL
# object must reach the copy that made it.  Builds a renamed copy of the
# system libssl/libcrypto with patchelf, one plugin linked to each, and a
# program that dlopens both RTLD_LOCAL; runs it without and with the shim
# and expects the same output and one record per plugin.
set -u
TG_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TG_TOP/tests/san.sh"
shim=$TG_BUILD/libtokenguard.so
report=$TG_BUILD/tokenguard-report
src=$TG_TOP/tests/contract/two_libssl
work=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-two-libssl.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
unset LD_PRELOAD TOKENGUARD_LEDGER TOKENGUARD_BUDGETS TOKENGUARD_HOSTS TOKENGUARD_DISABLE
# The program frees what it allocates: a leak under the shim is the shim's.
tg_san_setup "$work/sanitizer" 1

fail() {
	echo "not ok - contract two-libssl: $*"
	tg_san_reports "$work/base.out" "$work/shim.err"
	echo "contract-two-libssl: 0 passed, 1 failed"
	exit 1
}

libdir=$(dirname "$(readlink -f "$(ldconfig -p | awk '/libssl.so.3 .*x86-64|libssl.so.3 /{print $NF; exit}')")")
[ -f "$libdir/libssl.so.3" ] || fail "no system libssl.so.3 found"
cp "$libdir/libssl.so.3" "$work/libssl-copy.so.3" && cp "$libdir/libcrypto.so.3" "$work/libcrypto-copy.so.3" || fail "copy"
# One operation per call: patchelf 0.14 mixes up several on one command line.
patchelf --set-soname libcrypto-copy.so.3 "$work/libcrypto-copy.so.3" &&
patchelf --set-soname libssl-copy.so.3 "$work/libssl-copy.so.3" &&
patchelf --replace-needed libcrypto.so.3 libcrypto-copy.so.3 "$work/libssl-copy.so.3" ||
	fail "patchelf"
ln -s libssl-copy.so.3 "$work/libssl-copy.so" && ln -s libcrypto-copy.so.3 "$work/libcrypto-copy.so"

cc="${CC:-cc} -O1 -Wall -Wextra -Werror -fPIC"
$cc -shared -fvisibility=hidden -DENTRY=plugin_exchange -o "$work/plugin-system.so" "$src/exchange.c" -lssl -lcrypto || fail "build plugin-system"
$cc -shared -fvisibility=hidden -DENTRY=plugin_exchange -o "$work/plugin-copy.so" "$src/exchange.c" \
	-L"$work" -lssl-copy -lcrypto-copy -Wl,-rpath,"$work" || fail "build plugin-copy"
$cc -o "$work/two-libssl" "$src/main.c" -ldl || fail "build main"
ldd "$work/plugin-copy.so" | grep -q "libssl-copy.so.3 => $work" || fail "plugin-copy does not use the copy"

LD_PRELOAD=$(tg_preload) "$work/two-libssl" "$work/plugin-system.so" "$work/plugin-copy.so" >"$work/base.out" 2>&1 || fail "fails without the shim: $(cat "$work/base.out")"
TOKENGUARD_DEBUG=1 TOKENGUARD_LEDGER=$work/ledger LD_PRELOAD=$(tg_preload "$shim") timeout 20 \
	"$work/two-libssl" "$work/plugin-system.so" "$work/plugin-copy.so" >"$work/shim.out" 2>"$work/shim.err"
rc=$?
[ $rc -eq 0 ] || fail "exit status $rc with the shim: $(cat "$work/shim.out" "$work/shim.err")"
# Identical copies would also work if misrouted: the shim's own account of
# which library serves which caller is what shows the routing.
grep -q "calls from $work/plugin-copy.so go to $work/libssl-copy.so.3" "$work/shim.err" ||
	fail "calls from the copy's plugin did not go to the copy: $(grep 'calls from' "$work/shim.err")"
grep -q "calls from $work/plugin-system.so go to .*/libssl.so.3" "$work/shim.err" ||
	fail "calls from the system plugin did not go to the system libssl: $(grep 'calls from' "$work/shim.err")"
cmp -s "$work/base.out" "$work/shim.out" || fail "output differs with the shim"
inputs=$("$report" records --ledger "$work/ledger" --format jsonl | python3 -c '
import json, sys
print(" ".join(str(json.loads(l)["input_tokens"]) for l in sys.stdin))')
[ "$inputs" = "100 200" ] || fail "records' input tokens: '$inputs', expected '100 200'"
tg_san_reports "$work/shim.err" >/dev/null || fail "a sanitizer report"
echo "ok - contract two-libssl"
echo "contract-two-libssl: 1 passed, 0 failed"
