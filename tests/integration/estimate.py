"""estimate.py - the estimate-* integration tests: what `tokenguard-report
estimate` says of a call before it is made is what the shim then does
with it.

Owns the agreement of the estimate with the shim on:
  - a call's cost: the estimate's total for the counts the shim recorded
    is the cost_usd it recorded, for a priced model and for one without a
    price (the shim's estimate);
  - unpriced=block: block (exit 1), and the call gets a 429;
  - a block policy: allow while under the limit and the call passes, then
    block (exit 1) once spent and the call gets a 429; the estimate's
    spend is the records' sum;
  - a downgrade: the model the fake provider received is the one named;
  - a clamp of TOKENGUARD_BUDGETS: the max_tokens it received is the
    estimate's.

Every expected value comes from outside the estimate: the cost_usd the
ledger recorded, what curl read, what the fake provider logged as
received, and ledger/prices.tsv.  The curl runs and the helpers are
budgets.py's.
"""

import json
import math
import os

import budgets
from budgets import OPENAI, DOWNGRADE_TO, curl, received, records, report, budget_set


def estimate(t, env, ledger, model, args, rc, extra_env=None):
    """estimate --budget --json of a call to model; its exit status must
    be rc.  Returns the parsed document."""
    p = report(t, env, ["estimate", "--budget", "--json", "--ledger", ledger, "--model", model]
               + args, rc=rc, extra_env=extra_env)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise t.h.Failure("estimate printed no JSON: %r %r" % (p.stdout[:200], p.stderr[:200]))


def body_of(t, name):
    return budgets.load_json(t.cases[name]["request_path"])


def one_policy(t, doc, name, what):
    rows = [r for r in doc["budget"]["policies"] if r["name"] == name]
    t.check(len(rows) == 1 and len(doc["budget"]["policies"]) == 1,
            "%s: the policies estimated are %s, expected %s alone"
            % (what, [r["name"] for r in doc["budget"]["policies"]], name))
    return rows[0]


def block_then_refused(t, env, tdir):
    """global,day,usd=X,block: allow while the spend is under X, and curl's
    call passes; block (exit 1) once it is over, and curl's call gets 429."""
    ex = t.ex(OPENAI)
    body = body_of(t, OPENAI)
    model, max_tokens = body["model"], body["max_tokens"]
    ledger = os.path.join(tdir, "ledger")
    seed = curl(t, env, tdir, "seed", [ex], ledger)
    t.check(seed.codes() == ["200"], "seed call: %s" % seed.codes())
    cost = records(t, env, ledger)[0]["cost_usd"]
    limit = round(cost * 1.5, 12)
    budget_set(t, env, ledger, "daily", "global,day,usd=%r,block" % limit)

    args = ["--input-tokens", "27", "--output-tokens", str(max_tokens)]
    doc = estimate(t, env, ledger, model, args, 0)
    row = one_policy(t, doc, "daily", "under the limit")
    t.check(doc["provider"] == "openai" and doc["budget"]["verdict"] == "allow"
            and row["verdict"] == "allow" and abs(row["spend_usd"] - cost) < 1e-12
            and row["limit_usd"] == limit and row["window"] == "day",
            "under the limit: estimate said %s" % json.dumps(doc["budget"]))
    t.check(abs(row["percent_used"] - 100 * cost / limit) < 1e-3,
            "under the limit: %s%% used, expected %.4f" % (row["percent_used"], 100 * cost / limit))
    c = curl(t, env, tdir, "allowed", [ex], ledger)
    t.check(c.codes() == ["200"] and len(received(t, env, c.tag)) == 1,
            "the estimate said allow, the shim answered %s" % c.codes())

    spent = sum(r["cost_usd"] for r in records(t, env, ledger) if not r.get("blocked"))
    doc = estimate(t, env, ledger, model, args, 1)
    row = one_policy(t, doc, "daily", "over the limit")
    t.check(doc["budget"]["verdict"] == "block" and doc["budget"]["policy"] == "daily"
            and row["verdict"] == "block" and abs(row["spend_usd"] - spent) < 1e-12,
            "over the limit (spent $%r of $%r): estimate said %s"
            % (spent, limit, json.dumps(doc["budget"])))
    c = curl(t, env, tdir, "refused", [ex], ledger)
    tr = c.transfers[0]
    budgets.check_openai_refusal(t, tr.code, tr.headers, tr.json(), "daily", "after the estimate")
    t.check(received(t, env, c.tag) == [], "the estimate said block, the server received the call")

    # The table says the same in words, and exits the same way.
    p = report(t, env, ["estimate", "--budget", "--ledger", ledger, "--model", model] + args, rc=1)
    out = p.stdout.decode()
    t.check("verdict: block (policy daily)" in out, "table: %r" % out[-300:])
    return "# allowed at $%.6f of $%.6f, blocked at $%.6f" % (cost, limit, spent)


def downgrade_received(t, env, tdir):
    """model:M,day,usd=0,downgrade:M2: the estimate says downgrade to M2,
    and M2 is the model the fake provider received."""
    ex = t.ex(OPENAI)
    model = body_of(t, OPENAI)["model"]
    ledger = os.path.join(tdir, "ledger")
    budget_set(t, env, ledger, "cheaper", "model:%s,day,usd=0,downgrade:%s" % (model, DOWNGRADE_TO))
    doc = estimate(t, env, ledger, model, ["--provider", "openai", "--input-tokens", "27"], 0)
    row = one_policy(t, doc, "cheaper", "downgrade")
    t.check(row["verdict"] == "downgrade" and doc["budget"]["verdict"] == "rewrite",
            "downgrade: estimate said %s" % json.dumps(doc["budget"]))
    c = curl(t, env, tdir, "h1", [ex], ledger)
    got = received(t, env, c.tag)
    t.check(c.codes() == ["200"] and len(got) == 1, "downgrade: statuses %s, received %d"
            % (c.codes(), len(got)))
    t.check(got[0]["model"] == doc["budget"]["downgrade_to"] == row["downgrade_to"] == DOWNGRADE_TO,
            "the estimate said downgrade to %r, the server received model %r"
            % (doc["budget"]["downgrade_to"], got[0]["model"]))
    # A model the policy does not govern: no policy, allow.
    doc = estimate(t, env, ledger, "gpt-4o", ["--input-tokens", "27"], 0)
    t.check(doc["budget"]["policies"] == [] and doc["budget"]["verdict"] == "allow",
            "gpt-4o under model:%s: %s" % (model, json.dumps(doc["budget"])))
    return "# downgraded to %s" % got[0]["model"]


def clamp_received(t, env, tdir):
    """A clamp of TOKENGUARD_BUDGETS with a little money left: the
    estimate's max tokens is what the fake provider received, and the rest
    of the budget at the model's output price (ledger/prices.tsv)."""
    ex = t.ex(OPENAI)
    body = body_of(t, OPENAI)
    model, asked = body["model"], body["max_tokens"]
    per_token = budgets.output_price("openai", model)
    ledger = os.path.join(tdir, "ledger")
    seed = curl(t, env, tdir, "seed", [ex], ledger)
    t.check(seed.codes() == ["200"], "seed call: %s" % seed.codes())
    spent = records(t, env, ledger)[0]["cost_usd"]
    limit = round(spent + 7.75 * per_token, 9)
    policies = {"TOKENGUARD_BUDGETS": "global,day,usd=%r,clamp,name=tight" % limit}
    want = math.floor((limit - spent) / per_token)
    doc = estimate(t, env, ledger, model, ["--input-tokens", "27", "--output-tokens", str(asked)], 0,
                   extra_env=policies)
    row = one_policy(t, doc, "tight", "clamp")
    t.check(row["source"] == "env" and row["verdict"] == "clamp"
            and row["clamp_max_tokens"] == doc["budget"]["clamp_max_tokens"] == want,
            "clamp: estimate said %s, expected %d ((%r - %r) / %g)"
            % (json.dumps(doc["budget"]), want, limit, spent, per_token))
    c = curl(t, env, tdir, "clamped", [ex], ledger, extra_env=policies)
    got = received(t, env, c.tag)
    t.check(c.codes() == ["200"] and len(got) == 1, "clamp: statuses %s, received %d"
            % (c.codes(), len(got)))
    t.check(got[0]["max_tokens"] == doc["budget"]["clamp_max_tokens"],
            "the estimate said clamp to %r, the server received max_tokens=%r"
            % (doc["budget"]["clamp_max_tokens"], got[0]["max_tokens"]))
    # Asking for fewer than the rest pays for: the shim leaves the call be.
    doc = estimate(t, env, os.path.join(tdir, "ledger-none"), model,
                   ["--input-tokens", "27", "--output-tokens", "1"], 0, extra_env=policies)
    t.check(doc["budget"]["verdict"] == "allow" and doc["budget"]["ledger"] is False,
            "1 output token on no ledger: %s" % json.dumps(doc["budget"]))
    return "# clamped to %d tokens" % got[0]["max_tokens"]


def price_is_the_shims(t, env, tdir):
    """The estimate's total for a call's counts is the cost_usd the shim
    recorded for them: a priced model, and a model without a price (the
    shim's estimate at its provider's highest rates); then unpriced=block:
    the estimate says block (exit 1) and curl's call to that model gets 429."""
    ledger = os.path.join(tdir, "ledger")
    unpriced = budgets.unpriced_exchange(t, tdir)
    c = curl(t, env, tdir, "seed", [t.ex(OPENAI), unpriced], ledger)
    t.check(c.codes() == ["200", "200"], "seed calls: %s" % c.codes())
    recs = records(t, env, ledger)
    t.check(len(recs) == 2 and not recs[0]["unpriced"] and recs[1]["unpriced"]
            and recs[1]["cost_estimated"], "seed records: %s" % json.dumps(recs)[:400])
    notes = []
    for r, provider in zip(recs, ("openai", "cohere")):
        model = r.get("requested_model") or r["model"]
        p = report(t, env, ["estimate", "--json", "--model", model, "--provider", provider,
                            "--input-tokens", str(r["input_tokens"]),
                            "--output-tokens", str(r["output_tokens"])])
        doc = json.loads(p.stdout)
        t.check(doc["priced"] == (not r["unpriced"]) and doc["cost_estimated"] == r["unpriced"]
                and abs(doc["total_usd"] - r["cost_usd"]) <= 1e-15,
                "%s, %d in, %d out: the estimate says $%r (priced %s), the shim recorded $%r"
                % (model, r["input_tokens"], r["output_tokens"], doc["total_usd"], doc["priced"],
                   r["cost_usd"]))
        notes.append("%s $%.6f%s" % (model, r["cost_usd"], " (estimated)" if r["unpriced"] else ""))

    budget_set(t, env, ledger, "strict", "global,day,usd=5,block,unpriced=block")
    doc = estimate(t, env, ledger, budgets.UNPRICED_MODEL, ["--provider", "cohere",
                                                             "--input-tokens", "10"], 1)
    row = one_policy(t, doc, "strict", "unpriced=block")
    t.check(row["verdict"] == "block" and row["blocked_unpriced"] is True
            and doc["budget"]["verdict"] == "block", "unpriced=block: %s" % json.dumps(doc["budget"]))
    c = curl(t, env, tdir, "refused", [unpriced], ledger)
    t.check(c.codes() == ["429"] and received(t, env, c.tag) == [],
            "the estimate said block, the shim answered %s" % c.codes())
    return "# " + ", ".join(notes)


def agrees(t, env, tdir):
    notes = []
    for name, part in (("price", price_is_the_shims), ("block", block_then_refused),
                       ("downgrade", downgrade_received), ("clamp", clamp_received)):
        sub = os.path.join(tdir, "estimate-" + name)
        os.makedirs(sub)
        notes.append(part(t, env, sub))
    return "; ".join(n.lstrip("# ") for n in notes).join(("# ", ""))


def tests(harness, cases):
    """The estimate-* tests over the loaded cases (run_tests.load_cases)."""
    by_name = {c["name"]: c for c in cases}
    if not {OPENAI, "cohere-chat"} <= set(by_name):
        return []
    spec = [("curl-h1", "curl", "estimate-agrees-with-the-shim", agrees)]
    return [budgets.BudgetTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
