#!/bin/sh
# run.sh - the integration tests: real clients (curl, Python urllib,
# requests, aiohttp, httpx, the Node SDKs) under libtokenguard.so against a
# local fake provider that answers for every provider hostname.
#
# Owns: the run's life: a private network+mount namespace (netns.sh) so no
# request can leave the machine, a throwaway CA, the fake provider on :443,
# Debian's nodejs made runnable in it (netns.sh, tg_node_mount), the test
# driver (run_tests.py), and the teardown.  Needs root, or
# unprivileged user namespaces.  `make integration` runs it after `make`.
#
# Environment: see run_tests.py (TG_IT_CLIENTS, TG_IT_CASES, TG_IT_MODES,
# TG_IT_TESTS, TG_IT_FULL, TG_IT_JOBS, TG_IT_H2, TG_IT_NO_SHIM);
# TG_IT_KEEP=1 keeps the work directory for inspection; under
# `make test SAN=...` the variables of tests/san.sh.
set -eu

TG_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TG_TOP/tests/integration/netns.sh"
. "$TG_TOP/tests/san.sh"
tg_netns_enter "$0" "$@"

work=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-it.XXXXXX")
cleanup() {
	tg_fake_stop
	if [ "${TG_IT_KEEP:-0}" = 1 ]; then
		echo "# work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cases=$TG_TOP/tests/fixtures/cases.json
recorded=$TG_TOP/tests/fixtures/recorded/cases.json
for f in "$cases" "$recorded"; do
	[ -f "$f" ] || { echo "run.sh: $f is missing" >&2; exit 2; }
done
"$TG_PY" "$TG_IT/run_tests.py" --write-extra-cases "$work/extra"
set -- "$cases" "$recorded" "$work/extra/extra_cases.json"

tg_netns_setup "$work" "$@"
export TG_IT_NODE_DIR="${TG_IT_NODE_DIR:-$TG_TOP/build/node}"
tg_node_mount "$TG_IT_NODE_DIR"
# Leaks are checked in the instrumented CLI; run_tests.py turns them off
# for the host programs it preloads the shim into.
tg_san_setup "$work/sanitizer" 1
export TG_IT_SHIM="${TG_IT_SHIM:-$TG_BUILD/libtokenguard.so}"
export TG_IT_REPORT="${TG_IT_REPORT:-$TG_BUILD/tokenguard-report}"
tg_fake_start "$work" "$@"
status=0
"$TG_PY" "$TG_IT/run_tests.py" --work "$work" --cases "$1" --cases "$2" --cases "$3" || status=$?
exit $status
