#!/bin/sh
# install.sh - `make install` and `make uninstall` as a packager runs them:
# into a scratch DESTDIR with PREFIX=/usr and a multiarch LIBDIR, the layout
# checked file by file (binaries and library stripped, man pages rendered by
# man and groff without a warning, bash completions that complete from the
# CLI's real command and option tables), then uninstall leaves no file.
# Run by `make test-install` (a stage of `make test`).
set -eu

TG_TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TG_TOP"
. "$TG_TOP/tests/san.sh"
make=${MAKE:-make}
report=${TG_REPORT_BIN:-$TG_BUILD/tokenguard-report}
launcher=$(dirname "$report")/tokenguard
work=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/dest
passed=0 failed=0
ok() { echo "ok - install $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - install $1"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...: ok when COMMAND succeeds
	name=$1; shift
	if "$@" >"$work/out" 2>&1; then ok "$name"; else not_ok "$name"; sed 's/^/# /' "$work/out"; fi
}

vars="DESTDIR=$dest PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu"
# shellcheck disable=SC2086
$make -s install $vars >"$work/install.log" 2>&1 || { cat "$work/install.log"; not_ok "make install failed"; }

expected="usr/bin/tokenguard-report
usr/lib/x86_64-linux-gnu/libtokenguard.so
usr/share/bash-completion/completions/tokenguard-report
usr/share/doc/tokenguard/README.md
usr/share/doc/tokenguard/examples/tokenguard-alerts.service
usr/share/doc/tokenguard/examples/tokenguard-export.service
usr/share/doc/tokenguard/examples/tokenguard-export.timer
usr/share/doc/tokenguard/examples/tokenguard-sync-oneshot.service
usr/share/doc/tokenguard/examples/tokenguard-sync.service
usr/share/doc/tokenguard/examples/tokenguard-sync.timer
usr/share/doc/tokenguard/tokenguard.env.example
usr/share/man/man1/tokenguard-report.1
usr/share/man/man7/tokenguard.7"
if [ -f "$launcher" ]; then
	expected="$expected
usr/bin/tokenguard
usr/share/bash-completion/completions/tokenguard
usr/share/man/man1/tokenguard.1"
fi
printf '%s\n' "$expected" | sort >"$work/expected"
(cd "$dest" && find . -type f -o -type l | sed 's|^\./||' | sort) >"$work/found"
check "lays out exactly the expected files" diff "$work/expected" "$work/found"

for f in usr/bin/tokenguard-report usr/lib/x86_64-linux-gnu/libtokenguard.so; do
	check "$f is stripped" sh -c "! readelf -S '$dest/$f' | grep -q '\.symtab\|\.debug_'"
done
check "binaries 0755, data 0644" sh -c "
	[ \"\$(stat -c %a '$dest/usr/bin/tokenguard-report')\" = 755 ] &&
	[ -z \"\$(find '$dest/usr/share' -type f ! -perm 0644)\" ]"
check "the installed tokenguard-report runs" "$dest/usr/bin/tokenguard-report" --version
# The loader only warns about a preload it cannot load: grep looks for the
# library in its own mappings.
check "the installed library loads into a program" \
	env LD_PRELOAD="$(tg_preload "$dest/usr/lib/x86_64-linux-gnu/libtokenguard.so")" \
	grep -q "$dest/usr/lib/x86_64-linux-gnu/libtokenguard.so" /proc/self/maps

# Every man page renders, through man and through groff, without a warning:
# those installed and those of the source tree (tokenguard.1 is installed
# only with the launcher).
for page in "$dest"/usr/share/man/man*/* share/man/man*/*; do
	name=${page#"$dest"/usr/share/man/}
	check "man renders $name without a warning" sh -c "
		man --warnings -l '$page' 2>&1 >/dev/null | tee /dev/stderr | grep -q . && exit 1
		out=\$(groff -ww -z -man '$page' 2>&1); [ -z \"\$out\" ] || { echo \"\$out\"; exit 1; }"
done
# Each option of --help is in the man page.
"$report" --help | grep -o -- '--[a-z][a-z-]*' | sort -u >"$work/help-options"
sed 's/\\-/-/g' tools/tokenguard-report.1 | grep -o -- '--[a-z][a-z-]*' | sort -u >"$work/man-options"
check "tokenguard-report.1 names every option of --help" \
	sh -c "comm -23 '$work/help-options' '$work/man-options' | tee /dev/stderr | grep -q . && exit 1 || exit 0"

# Bash completion: the words it offers are the CLI's tables.
comp=$dest/usr/share/bash-completion/completions
"$report" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' | sort >"$work/commands"
sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", \(required\|no\)_argument.*/--\1/p' tools/main.c | sort >"$work/options"
complete_words() { # complete_words FILE WORD... : what completing the last WORD offers, sorted
	f=$1; shift
	bash --norc --noprofile -c '
		. "$1"; shift
		spec=$(complete -p "$1") || exit 1
		fn=$(printf "%s\n" "$spec" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort -u' complete "$f" "$@"
}
check "completion registered for tokenguard-report" \
	bash --norc --noprofile -c ". '$comp/tokenguard-report'; complete -p tokenguard-report"
complete_words "$comp/tokenguard-report" tokenguard-report "" >"$work/got-commands"
check "completion offers exactly the command table" diff "$work/commands" "$work/got-commands"
complete_words "$comp/tokenguard-report" tokenguard-report summary -- >"$work/got-options"
check "completion offers exactly the option table" diff "$work/options" "$work/got-options"
check_words() { # check_words NAME EXPECTED FILE WORD...: completing offers EXPECTED
	name=$1 want=$2; shift 2
	got=$(complete_words "$@" | tr '\n' ' ')
	if [ "$got" = "$want" ]; then ok "$name"; else not_ok "$name: offered '$got', expected '$want'"; fi
}
check_words "completion of budget's subcommands" "reset rm " \
	"$comp/tokenguard-report" tokenguard-report --ledger /tmp budget r
check_words "completion of records --format" "json jsonl " \
	"$comp/tokenguard-report" tokenguard-report records --format j
check_words "completion of watch's views" "session summary " \
	"$comp/tokenguard-report" tokenguard-report watch s
check_words "completion of daily --format" "html " \
	"$comp/tokenguard-report" tokenguard-report daily --format h
check_words "completion of --by's last key" "model,process model,provider " \
	"$comp/tokenguard-report" tokenguard-report --by model,pro
# The launcher's completion is checked from the source tree too, so that it
# is tested before the launcher is built.
launcher_comp=share/bash-completion/completions/tokenguard
check_words "launcher completion: its options" "--summary " "$launcher_comp" tokenguard --su
check_words "launcher completion: the command after its options" "truncate " \
	"$launcher_comp" tokenguard --tag a=b --ledger /tmp -- truncat

# shellcheck disable=SC2086
$make -s uninstall $vars >"$work/uninstall.log" 2>&1 || { cat "$work/uninstall.log"; not_ok "make uninstall failed"; }
(cd "$dest" && find . -type f -o -type l) >"$work/left"
check "uninstall removes every file install laid down" sh -c "! grep . '$work/left'"
check "uninstall removes the doc directory" test ! -e "$dest/usr/share/doc/tokenguard"

echo "install: $passed checks passed, $failed failed"
[ "$failed" -eq 0 ]
