#!/bin/sh
# stage_figures.sh NAME LOG - the figures of one stage of `make test`, read
# from the lines its own runner prints (one definition per stage, here):
#   unit         criterion's "Synthesis: Tested: N | Passing: N | ..."
#   contract     "contract: N passed, M failed", "contract-two-libssl: ..."
#   integration  "integration: N passed, M failed"
#   fuzz         one "fuzz: TARGET: N executions in S s, no finding" per target
#   install      "install: N checks passed, M failed"
# Prints them on one line; exits 1 when the log holds none of them.
set -u
name=$1 log=$2
# Criterion colours its output on a terminal; the log may hold the codes.
clean() { sed 's/\x1b\[[0-9;]*m//g' "$log"; }

case $name in
unit)
	line=$(clean | sed -n 's/.*Synthesis: Tested: \([0-9]*\) | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 tests, \2 passing, \3 failing, \4 crashing/p' | tail -n 1)
	[ -n "$line" ] && extra=$(clean | grep -c '^unit: sanitizer reports above') && [ "$extra" -gt 0 ] &&
		line="$line, sanitizer reports"
	;;
fuzz)
	clean=$(clean | grep -c '^fuzz: [^ ]*: .*, no finding$')
	found=$(clean | grep -c '^fuzz: [^ ]*: FINDING')
	line=""
	[ $((clean + found)) -gt 0 ] && line="$((clean + found)) targets, $clean without finding, $found with one"
	;;
*)
	line=$(clean | grep -E "^$name(-[a-z0-9-]+)?: [0-9]+ (checks )?passed, [0-9]+ failed" | sed "s/^$name: //" | paste -sd ';' - | sed 's/;/; /g')
	;;
esac
if [ -z "$line" ]; then
	echo "no figures found in its output"
	exit 1
fi
echo "$line"
