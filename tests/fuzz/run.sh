#!/bin/sh
# run.sh SECONDS - build every tests/fuzz/fuzz_*.c as a libFuzzer binary in
# build/fuzz/ and run each for SECONDS (default 20); prints, per target, the
# executions it ran; exits non-zero if a build fails or a target crashes,
# leaks, hangs or trips a sanitizer.  FUZZ_TARGETS (space-separated names,
# e.g. "fuzz_json fuzz_sse") runs only those.
#
# A target lists what it links in a first-line comment
#   /* sources: shim/h1.c shim/decode.c */
# and without one gets what the unit binary links (the Makefile passes the
# list: the shim without its hooks and lazy loader, ledger/ and the
# built-in price table).  Each source is compiled once per run (in
# build/fuzz/obj/) and shared by the targets that list it.
# Inputs found are kept in build/fuzz/corpus/NAME.  It is seeded from the
# target's comment lines " * seed: BYTES" (BYTES in printf %b notation) and
# from tests/fuzz/corpus/NAME if present.  Crashing inputs land in
# build/fuzz/NAME-crash-* (and leak-*, timeout-*, oom-*).
set -eu

secs=${1:-20}
cd "$(dirname "$0")/../.."

CC=${FUZZ_CC:-clang}
OUT=build/fuzz
SANS="address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=c11 ${FUZZ_CPPFLAGS:?run through make fuzz, which passes FUZZ_CPPFLAGS} -g -O1"
# The Makefile's lists (make fuzz): the libraries, and the sources of a
# target that names none.
LIBS=${FUZZ_LIBS:?run through make fuzz, which passes FUZZ_LIBS}
DEFAULT_SRCS=${FUZZ_DEFAULT_SRCS:?run through make fuzz, which passes FUZZ_DEFAULT_SRCS}

rm -rf "$OUT/obj"
mkdir -p "$OUT/obj"

# objects SOURCES... - the objects of SOURCES, compiling those not built yet
# in this run.
objects() {
	for f in "$@"; do
		o="$OUT/obj/$(printf '%s' "$f" | tr '/.' '__').o"
		if [ ! -e "$o" ]; then
			case $f in
			*.S) $CC -c -o "$o" -DPRICES_FILE='"ledger/prices.tsv"' "$f" >&2 ;;
			# shellcheck disable=SC2086
			*) $CC $CFLAGS -fsanitize=fuzzer-no-link,$SANS -c -o "$o" "$f" >&2 ;;
			esac || return 1
		fi
		printf '%s ' "$o"
	done
}

failed=""
for src in tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	if [ -n "${FUZZ_TARGETS:-}" ]; then
		case " $FUZZ_TARGETS " in *" $name "*) ;; *) continue ;; esac
	fi
	srcs=$(sed -n '1s|^/\* sources: \(.*\) \*/$|\1|p' "$src")
	if [ -z "$srcs" ]; then
		srcs=$DEFAULT_SRCS
	fi
	echo "fuzz: building $name"
	# shellcheck disable=SC2086
	if ! objs=$(objects $srcs) ||
	   ! $CC $CFLAGS -fsanitize=fuzzer,$SANS -o "$OUT/$name" "$src" $objs $LIBS; then
		failed="$failed $name(build)"
		continue
	fi
	corpus="$OUT/corpus/$name"
	mkdir -p "$corpus"
	i=0
	sed -n 's|^ \* seed: ||p' "$src" | while IFS= read -r seed; do
		i=$((i + 1))
		printf '%b' "$seed" >"$corpus/seed-$i"
	done
	seeds=""
	[ -d "tests/fuzz/corpus/$name" ] && seeds="tests/fuzz/corpus/$name"
	log="$OUT/$name.log"
	# shellcheck disable=SC2086
	if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$OUT/$name" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$OUT/$name-" "$corpus" $seeds >"$log" 2>&1; then
		runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 executions in \2 s/p' "$log" | tail -n 1)
		echo "fuzz: $name: ${runs:-? executions}, no finding"
	else
		runs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
		tail -n 40 "$log" >&2
		echo "fuzz: $name: FINDING after about ${runs:-?} executions (log: $log)" >&2
		failed="$failed $name"
	fi
done

if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed" >&2
	exit 1
fi
echo "fuzz: all targets ran clean"
