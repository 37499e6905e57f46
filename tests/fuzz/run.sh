#!/bin/sh
# run.sh SECONDS - build every tests/fuzz/fuzz_*.c as a libFuzzer binary in
# build/fuzz/ and run each for SECONDS (default 20); exits non-zero if a
# build fails or a target crashes, leaks, hangs or trips a sanitizer.
#
# A target lists what it links in a first-line comment
#   /* sources: shim/h1.c shim/decode.c */
# and without one gets shim/*.c minus the hooks, plus ledger/.
# Inputs found are kept in build/fuzz/corpus/NAME.  It is seeded from the
# target's comment lines " * seed: BYTES" (BYTES in printf %b notation) and
# from tests/fuzz/corpus/NAME if present.  Crashing inputs land in
# build/fuzz/NAME-crash-*.
set -eu

secs=${1:-20}
cd "$(dirname "$0")/../.."

CC=${FUZZ_CC:-clang}
OUT=build/fuzz
FLAGS="-std=c11 -D_GNU_SOURCE -Ishim -Iledger -g -O1 -DTG_TESTING
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
LIBS="-llmdb -lz -lbrotlidec -lzstd -lnghttp2 -ldl -lm -pthread"

mkdir -p "$OUT"
failed=""
for src in tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	srcs=$(sed -n '1s|^/\* sources: \(.*\) \*/$|\1|p' "$src")
	extra=""
	if [ -z "$srcs" ]; then
		srcs=$(ls shim/*.c ledger/*.c | grep -v -e '^shim/hooks\.c$' -e '^shim/resolve\.c$')
		if [ -e ledger/prices_blob.S ]; then
			$CC -c -o "$OUT/prices_blob.o" -DPRICES_FILE='"ledger/prices.tsv"' ledger/prices_blob.S
			extra="$OUT/prices_blob.o"
		fi
	fi
	echo "fuzz: building $name from $srcs"
	# shellcheck disable=SC2086
	if ! $CC $FLAGS -o "$OUT/$name" "$src" $srcs $extra $LIBS; then
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
	echo "fuzz: running $name for ${secs}s (log: $OUT/$name.log)"
	# shellcheck disable=SC2086
	if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$OUT/$name" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$OUT/$name-" "$corpus" $seeds >"$OUT/$name.log" 2>&1; then
		tail -n 40 "$OUT/$name.log" >&2
		failed="$failed $name"
	fi
done

if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed" >&2
	exit 1
fi
echo "fuzz: all targets ran clean"
