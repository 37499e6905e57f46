#!/bin/sh
# demo.sh - tokenguard end to end in a few seconds: curl and a Python program
# call LLM providers under LD_PRELOAD=libtokenguard.so, then
# tokenguard-report shows what was recorded.  `make demo` runs it after
# building.
#
# The providers are played by tests/integration/fake_provider.py inside a
# private network namespace (see tests/integration/netns.sh), so the demo
# needs no key and no network, and nothing it does can reach a real provider.
set -eu

TG_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TG_TOP/tests/integration/netns.sh"
tg_netns_enter "$0" "$@"

shim=$TG_TOP/build/libtokenguard.so
report=$TG_TOP/build/tokenguard-report
for f in "$shim" "$report"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "demo: $f is missing: run make first" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-demo.XXXXXX")
ledger=$TG_TOP/build/demo-ledger
rm -rf "$ledger"
trap 'tg_fake_stop; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
step() { printf '\n==> %s\n' "$*"; }

cases=$TG_TOP/tests/fixtures/cases.json
step "Private network namespace: api.openai.com, api.anthropic.com, ... all point at this machine"
tg_netns_setup "$work" "$cases"
step "Starting a fake provider on 127.0.0.1:443 that answers with recorded provider responses"
tg_fake_start "$work" "$cases"

export TOKENGUARD_LEDGER="$ledger" TOKENGUARD_TAGS=team=demo SSL_CERT_FILE="$work/ca/ca.pem"
echo "    ledger: $TOKENGUARD_LEDGER   tags: $TOKENGUARD_TAGS"

step "curl asks OpenAI for a chat completion, with LD_PRELOAD=build/libtokenguard.so"
echo '    $ curl https://api.openai.com/v1/chat/completions -d '\''{"model":"gpt-4.1",...}'\'
LD_PRELOAD=$shim curl -sS --cacert "$SSL_CERT_FILE" https://api.openai.com/v1/chat/completions \
	-H "Authorization: Bearer sk-demo-placeholder" -H "Content-Type: application/json" \
	-d '{"model":"gpt-4.1","messages":[{"role":"user","content":"Why is the sky blue? One sentence."}]}' \
	>"$work/curl.out"
"$TG_PY" -c 'import json,sys; print("    openai: " + json.load(sys.stdin)["choices"][0]["message"]["content"][:100])' \
	<"$work/curl.out"

step "A Python program (tests/demo/app.py, urllib) streams from Anthropic and calls Gemini, same preload"
echo '    $ python3 tests/demo/app.py'
LD_PRELOAD=$shim "$TG_PY" "$TG_TOP/tests/demo/app.py"

step "Spend by provider and model: tokenguard-report --by provider,model"
"$report" --by provider,model

step "Every recorded exchange: tokenguard-report records --format table"
"$report" records --format table
echo
echo "Done: 3 calls by 2 programs were recorded without changing either program."
echo
echo "The ledger stays in $ledger (make demo starts it afresh). Explore it:"
r=build/tokenguard-report
echo "  $r --by process,tag:team --ledger $ledger   # spend by program and tag"
echo "  $r records --format json --ledger $ledger   # every field of every record"
echo "  $r check --max-usd 0.001 --ledger $ledger   # exit 1 over a limit, as in CI"
echo "  $r verify --ledger $ledger                  # the totals agree with the records"
