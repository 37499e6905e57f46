#!/bin/sh
# stages.sh DIR "MAKE [ARGS]" TARGET... - the stages of `make test`: runs
# `MAKE TARGET` for each in turn, its output shown as it comes and kept in
# DIR/NAME.log (NAME: the target without "test-"), then prints one line per
# stage with the figures its own output gave (tests/stage_figures.sh).
# The first stage that fails ends the run; the lines printed then say which
# failed and which did not run, and the exit status is 1.
set -u
dir=$1 make=$2
shift 2
here=$(dirname "$0")
rm -rf "$dir" && mkdir -p "$dir"

status=0
for target in "$@"; do
	name=${target#test-}
	if [ "$status" -ne 0 ]; then
		echo "$name: not run (an earlier stage failed)" >"$dir/$name.result"
		continue
	fi
	printf '\n# stage %s: %s %s\n' "$name" "$make" "$target"
	rc_file=$dir/$name.rc
	# shellcheck disable=SC2086
	{ $make "$target" 2>&1; echo $? >"$rc_file"; } | tee "$dir/$name.log"
	rc=$(cat "$rc_file")
	if figures=$(sh "$here/stage_figures.sh" "$name" "$dir/$name.log"); then :; else
		# A stage that passes yet prints none of its figures is not believed.
		[ "$rc" -eq 0 ] && rc=1
	fi
	if [ "$rc" -eq 0 ]; then
		echo "$name: ok: $figures" >"$dir/$name.result"
	else
		echo "$name: FAILED (exit $rc): $figures; output: $dir/$name.log" >"$dir/$name.result"
		status=1
	fi
done

printf '\n# make test: one line per stage\n'
for target in "$@"; do
	cat "$dir/${target#test-}.result"
done
exit $status
