# san.sh - sourced by the contract and integration scripts: what
# `make test SAN=address,undefined` changes in how they run programs.
#
# Owns: where the artefacts under test are (TG_BUILD, default build/), the
# LD_PRELOAD value of a run with and without the shim (the sanitizer
# runtimes, libasan first, then the shim), the sanitizer options, and the
# check that no program wrote a sanitizer report.
#
# The Makefile exports TG_BUILD, TG_SAN (e.g. address,undefined) and
# TG_SAN_PRELOAD (the runtimes, colon-separated) when SAN is set; without
# them everything below is a no-op and the scripts run as they always did.
# ASan's reports go to files (log_path), not to the program's stderr, so
# that no report can go unnoticed: every file in the log directory fails the
# run.  gcc's UBSan runtime (libubsan, apart from libasan) ignores log_path
# when libasan is loaded too and writes to stderr: the programs' stderr is
# searched for reports as well.
#
# Callers set TG_TOP (the source tree) before sourcing.  Everything defined
# here starts with tg_ or TG_.

TG_BUILD=${TG_BUILD:-$TG_TOP/build}
TG_SAN=${TG_SAN:-}
TG_SAN_PRELOAD=${TG_SAN_PRELOAD:-}

# tg_preload [SHIM]: the LD_PRELOAD value of a run with SHIM, or of the run
# without the shim when SHIM is absent (the runtimes alone, so that the two
# runs differ by the shim only).
tg_preload() {
	if [ -n "$TG_SAN_PRELOAD" ] && [ -n "${1:-}" ]; then
		echo "$TG_SAN_PRELOAD:$1"
	else
		echo "$TG_SAN_PRELOAD${1:-}"
	fi
}

# tg_san_setup DIR LEAKS: exports the sanitizer options, reports to files
# in DIR; LEAKS is 1 to check leaks at exit.  Host programs (curl, Python,
# bash) leak at exit by design: leaks are worth checking only in programs
# that free what they allocate and in the instrumented CLI.
tg_san_setup() {
	[ -n "$TG_SAN" ] || return 0
	TG_SAN_LOGS=$1
	mkdir -p "$TG_SAN_LOGS"
	ASAN_OPTIONS="halt_on_error=1:detect_leaks=$2:log_path=$TG_SAN_LOGS/asan"
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$TG_SAN_LOGS/ubsan"
	export ASAN_OPTIONS UBSAN_OPTIONS TG_SAN_LOGS
}

# The lines that begin a sanitizer report, in a program's stderr.
TG_SAN_MARKS='runtime error: |ERROR: [A-Za-z]*Sanitizer|SUMMARY: [A-Za-z]*Sanitizer'

# tg_san_reports [FILE...]: prints every report in the log directory and
# every FILE (a program's stderr) holding one, each line as a "# " comment;
# returns 1 if there is one.
tg_san_reports() {
	[ -n "$TG_SAN" ] && [ -n "${TG_SAN_LOGS:-}" ] || return 0
	tg_n=0
	for tg_f in "$TG_SAN_LOGS"/* "$@"; do
		[ -f "$tg_f" ] || continue
		case $tg_f in
		"$TG_SAN_LOGS"/*) ;;
		*) grep -Eq "$TG_SAN_MARKS" "$tg_f" || continue ;;
		esac
		tg_n=$((tg_n + 1))
		echo "# sanitizer report $tg_f:"
		sed -n '1,80p' "$tg_f" | sed 's/^/# /'
	done
	[ "$tg_n" -eq 0 ]
}
