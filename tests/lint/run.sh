#!/bin/sh
# run.sh - make lint: the house style (checksrc.py, its own test first),
# cppcheck and clang-tidy (.clang-tidy) over the C sources.
#
# The Makefile passes the build's flags in LINT_FLAGS (without -Werror:
# clang's warnings that gcc does not give are not the build's) and a
# directory of its own in LINT_BUILD, where cppcheck keeps what it learned
# between runs.  The style covers every C file; cppcheck and clang-tidy the
# product (shim/, ledger/, tools/), whose flags they are.  Every tool runs,
# whatever the one before found; any finding fails the run.
set -u
cd "$(dirname "$0")/../.."
build=${LINT_BUILD:-build/lint}
flags=${LINT_FLAGS:--D_GNU_SOURCE -Ishim -Iledger -std=c11 -pthread}

tidy=$(command -v clang-tidy-14 || command -v clang-tidy)
missing=""
command -v python3 >/dev/null || missing="$missing python3"
command -v cppcheck >/dev/null || missing="$missing cppcheck"
[ -n "$tidy" ] || missing="$missing clang-tidy"
if [ -n "$missing" ]; then
	echo "lint: missing:$missing; run make deps (tests/deps.sh)" >&2
	exit 2
fi

status=0
fail() {
	echo "lint: $1"
	status=1
}

sources=$(find shim ledger tools tests bench -name '*.[ch]' | LC_ALL=C sort)
product=$(find shim ledger tools -name '*.c' | LC_ALL=C sort)
nsrc=$(echo "$sources" | wc -l)
nprod=$(echo "$product" | wc -l)

echo "lint: checksrc's own test"
sh tests/lint/test_checksrc.sh || fail "checksrc.py misses what it should find"

echo "lint: checksrc.py, $nsrc files"
# shellcheck disable=SC2086
python3 tests/lint/checksrc.py $sources || fail "style: see above (README, Code style)"

echo "lint: the README's table of files"
python3 tests/lint/file_table.py || fail "README: a file without its row, or a row without its file"

# cppcheck takes the defines and include paths alone.
cpp=""
for f in $flags; do
	case $f in -D*|-U*|-I*) cpp="$cpp $f" ;; esac
done
echo "lint: cppcheck, $nprod files"
mkdir -p "$build/cppcheck"
# shellcheck disable=SC2086
cppcheck -q -j2 --std=c11 --language=c --enable=warning,portability,performance \
	--inline-suppr --suppressions-list=tests/lint/cppcheck.supp --error-exitcode=1 \
	--cppcheck-build-dir="$build/cppcheck" $cpp \
	--template='{file}:{line}:{column}: {severity}: {message} [{id}]' $product \
	>"$build/cppcheck.log" 2>&1
rc=$?
cat "$build/cppcheck.log"
# Its whole-program (ctu) findings print without setting the exit code:
# any line it writes is a finding.
[ "$rc" -eq 0 ] && [ ! -s "$build/cppcheck.log" ] || fail "cppcheck: see above"

echo "lint: $(basename "$tidy"), $nprod files"
out=$build/clang-tidy.log
# Eight files a run, two runs at a time: the machine's two cores.
# shellcheck disable=SC2086
echo "$product" | xargs -P2 -n8 sh -c '"$0" --quiet "$@" -- '"$flags" "$tidy" >"$out" 2>&1
rc=$?
# "N warnings generated." counts what the checks left out: not a finding.
grep -v -e ' warnings\? generated\.$' -e '^Suppressed [0-9]' -e '^Use -header-filter' \
	-e '^Error while processing' -e '^[0-9]\+ warnings\? and [0-9]\+ errors\? generated' "$out"
[ "$rc" -eq 0 ] || fail "clang-tidy: see above"

[ "$status" -eq 0 ] && echo "lint: passed: style of $nsrc files, cppcheck and clang-tidy of $nprod"
exit "$status"
