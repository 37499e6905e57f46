#!/bin/sh
# table_md.sh [RESULTS_JSON] - the committed bench/results.json as a
# Markdown table, for the README's figures (bench/table.py renders it).
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/table.py --markdown "${1:-bench/results.json}"
