"""budgets_pervalue.py - the budget-per-value-* integration tests: a
tag:KEY=* policy gives every value of a tag its own limit.

Owns: alice's processes refused once her value of tag user has spent the
limit while bob's calls and calls without the tag go through; alerts said
once per policy, value and window; the rows `tokenguard-report budget
status` shows per value (--limit, --tag); and `summary --by tag:user
--top N`.

The values come from TOKENGUARD_TAGS of each process (real curl under the
shim against the fake provider): the gate reads a call's tags from
struct tg_call.tags only, so per-request tags take the same path.
Helpers (curl runs, report runs, refusal checks) are budgets.py's.
"""

import json
import os

import budgets
from budgets import (OPENAI, allowed_and_blocked, budget_set, check_blocked_records,
                     check_message, check_openai_refusal, curl, received, records, report)

POLICY = "per-user"


def user(name):
    return {"TOKENGUARD_TAGS": "user=%s" % name}


def status_rows(t, env, ledger, *args):
    p = report(t, env, ["budget", "status", "--format", "json", "--ledger", ledger] + list(args))
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise t.h.Failure("budget status printed no JSON: %r" % p.stdout[:200])


def alerts_of(t, env, ledger):
    p = report(t, env, ["budget", "alerts", "--format", "json", "--ledger", ledger])
    return [(a["level"], a.get("tag_value")) for a in json.loads(p.stdout) if a["policy"] == POLICY]


def block_alice_not_bob(t, env, tdir):
    ex = t.ex(OPENAI)
    ledger = os.path.join(tdir, "ledger")
    seed = curl(t, env, tdir, "seed", [ex], os.path.join(tdir, "ledger-price"))
    t.check(seed.codes() == ["200"], "seed call: %s" % seed.codes())
    cost = records(t, env, os.path.join(tdir, "ledger-price"))[0]["cost_usd"]
    limit = round(2.5 * cost, 9)
    budget_set(t, env, ledger, POLICY, "tag:user=*,day,usd=%r,block" % limit)

    # alice: one process per call; the 4th is checked at 3 calls' spend
    alice = [curl(t, env, tdir, "alice%d" % i, [ex], ledger, extra_env=user("alice"),
                  tag="%s/alice" % os.path.basename(tdir)) for i in range(5)]
    codes = [c.codes()[0] for c in alice]
    t.check(codes == ["200", "200", "200", "429", "429"],
            "alice: statuses %s, expected 200 200 200 429 429 (limit %.1f calls)"
            % (codes, limit / cost))
    tr = alice[3].transfers[0]
    msg = check_openai_refusal(t, tr.code, tr.headers, tr.json(), POLICY, "alice over")
    t.check("tag:user=alice" in msg, "the refusal %r does not name alice's scope" % msg)
    check_message(t, msg, POLICY, 3 * cost, limit, "alice over")
    said = [l for c in alice for l in c.tg_lines() if "limit reached" in l]
    t.check(len(said) == 1 and "tag:user=alice" in said[0],
            "alice's limit alert said %d times across her processes: %s" % (len(said), said))

    # bob, after alice is over: his calls go through until his own limit
    bob1 = curl(t, env, tdir, "bob1", [ex, ex], ledger, extra_env=user("bob"))
    t.check(bob1.codes() == ["200", "200"], "bob: statuses %s, expected 200 200 while alice is "
            "over" % bob1.codes())
    # calls without the tag are not governed
    anon = curl(t, env, tdir, "anon", [ex], ledger, extra_env={"TOKENGUARD_TAGS": "team=x"})
    t.check(anon.codes() == ["200"], "a call without tag user: %s" % anon.codes())
    carol = curl(t, env, tdir, "carol", [ex], ledger, extra_env=user("carol"))
    t.check(carol.codes() == ["200"], "carol: %s" % carol.codes())
    bob2 = curl(t, env, tdir, "bob2", [ex, ex, ex], ledger, extra_env=user("bob"))
    t.check(bob2.codes() == ["200", "429", "429"], "bob's second process: statuses %s, expected "
            "200 429 429" % bob2.codes())
    t.check(len(received(t, env, alice[0].tag)) == 3,
            "the fake provider received %d of alice's calls, expected 3"
            % len(received(t, env, alice[0].tag)))

    ok, blocked = allowed_and_blocked(records(t, env, ledger))
    check_blocked_records(t, blocked, POLICY, "gpt-4.1", 4, "per value")
    t.check(sorted(r["tags"]["user"] for r in blocked) == ["alice", "alice", "bob", "bob"],
            "blocked records' users: %s" % [r["tags"] for r in blocked])
    sent = {}
    for r in ok:
        k = r["tags"].get("user", "-")
        sent[k] = sent.get(k, 0) + 1
    t.check(sent == {"alice": 3, "bob": 3, "carol": 1, "-": 1}, "calls sent per user: %s" % sent)

    # once per policy, value and window
    got = sorted((lv, v) for lv, v in alerts_of(t, env, ledger) if lv != "blocked")
    want = [("limit", "alice"), ("limit", "bob"), ("threshold", "alice"), ("threshold", "bob")]
    t.check(got == want, "alerts of %s: %s, expected %s" % (POLICY, got, want))
    blocked_alerts = sorted(v for lv, v in alerts_of(t, env, ledger) if lv == "blocked")
    t.check(blocked_alerts == ["alice", "alice", "bob", "bob"],
            "blocked alerts' values: %s" % blocked_alerts)
    return "# limit $%r = 2.5 calls per user; alice and bob refused at their 4th" % limit


def status_per_value(t, env, tdir):
    ex = t.ex(OPENAI)
    ledger = os.path.join(tdir, "ledger")
    budget_set(t, env, ledger, POLICY, "tag:user=*,day,usd=100,block")
    budget_set(t, env, ledger, "all", "global,day,usd=100,warn")
    for name, n in (("alice", 3), ("bob", 2), ("carol", 1)):
        c = curl(t, env, tdir, name, [ex] * n, ledger, extra_env=user(name))
        t.check(c.codes() == ["200"] * n, "%s: %s" % (name, c.codes()))
    cost = records(t, env, ledger)[0]["cost_usd"]

    rows = status_rows(t, env, ledger)
    mine = [r for r in rows if r["name"] == POLICY]
    t.check([(r["tag_value"], r["calls"], r["scope"]) for r in mine] ==
            [("alice", 3, "tag:user=alice"), ("bob", 2, "tag:user=bob"),
             ("carol", 1, "tag:user=carol")],
            "status rows of %s: %s" % (POLICY, [(r.get("tag_value"), r["calls"]) for r in mine]))
    t.check(all(r["policy"] == "tag:user=*,day,usd=100,block" and r["values_not_shown"] == 0 and
                abs(r["spend_usd"] - r["calls"] * cost) < 1e-9 for r in mine),
            "status rows: %s" % json.dumps(mine))
    other = [r for r in rows if r["name"] == "all"]
    t.check(len(other) == 1 and other[0]["calls"] == 6 and "tag_value" not in other[0],
            "a fixed policy keeps its one row: %s" % json.dumps(other))

    top = [r for r in status_rows(t, env, ledger, "--limit", "2") if r["name"] == POLICY]
    t.check([(r["tag_value"], r["values_not_shown"]) for r in top] == [("alice", 1), ("bob", 1)],
            "--limit 2: %s" % [(r["tag_value"], r["values_not_shown"]) for r in top])
    one = [r for r in status_rows(t, env, ledger, "--tag", "user=bob") if r["name"] == POLICY]
    t.check([(r["tag_value"], r["calls"]) for r in one] == [("bob", 2)], "--tag user=bob: %s"
            % json.dumps(one))
    nobody = [r for r in status_rows(t, env, ledger, "--tag", "user=dave") if r["name"] == POLICY]
    t.check([(r["tag_value"], r["calls"], r["state"]) for r in nobody] == [("dave", 0, "ok")],
            "--tag user=dave (no spend): %s" % json.dumps(nobody))
    text = report(t, env, ["budget", "status", "--limit", "1", "--ledger", ledger]).stdout.decode()
    t.check("note: %s: 2 more values of tag user spent in this window" % POLICY in text and
            "tag:user=alice" in text and "tag:user=bob" not in text,
            "status --limit 1 table: %r" % text[-400:])
    bad = report(t, env, ["budget", "status", "--tag", "team=x", "--ledger", ledger], rc=2)
    t.check(b"no tag:KEY=* policy counts that key" in bad.stderr, "--tag team=x: %r" % bad.stderr)
    bad = report(t, env, ["budget", "list", "--limit", "3", "--ledger", ledger], rc=2)
    t.check(b"apply to budget status only" in bad.stderr, "list --limit: %r" % bad.stderr)
    bad = report(t, env, ["budget", "reset", POLICY, "--ledger", ledger], rc=2)
    t.check(b"counts each value of its tag apart" in bad.stderr, "reset: %r" % bad.stderr)

    # summary --top N is --sort cost --limit N
    top2 = report(t, env, ["summary", "--by", "tag:user", "--top", "2", "--format", "json",
                           "--ledger", ledger]).stdout
    same = report(t, env, ["summary", "--by", "tag:user", "--sort", "cost", "--limit", "2",
                           "--format", "json", "--ledger", ledger]).stdout
    doc, ref = json.loads(top2), json.loads(same)
    t.check(doc["groups"] == ref["groups"] and doc["total"] == ref["total"],
            "--top 2 and --sort cost --limit 2 differ:\n%s\n%s" % (top2, same))
    t.check([g["tag:user"] for g in doc["groups"]] == ["alice", "bob"] and doc["total"]["calls"] == 6,
            "summary --by tag:user --top 2: %s" % top2[:400])
    t.check(doc["notes"] == ["--top 2: 1 more row not shown; TOTAL is of them all"] and
            ref["notes"] == ["--limit 2: 1 more row not shown; TOTAL is of them all"],
            "notes: %s, %s" % (doc["notes"], ref["notes"]))
    bad = report(t, env, ["summary", "--top", "2", "--limit", "3", "--ledger", ledger], rc=2)
    t.check(b"--top N is --sort cost --limit N" in bad.stderr, "--top with --limit: %r" % bad.stderr)
    bad = report(t, env, ["summary", "--top", "0", "--ledger", ledger], rc=2)
    t.check(b"--top \"0\"" in bad.stderr, "--top 0: %r" % bad.stderr)
    return "# alice 3, bob 2, carol 1 calls"


def tests(harness, cases):
    """The budget-per-value-* tests over the loaded cases."""
    by_name = {c["name"]: c for c in cases}
    if OPENAI not in by_name:
        return []
    spec = [
        ("curl-h1", "curl", "budget-per-value-block", block_alice_not_bob),
        ("curl-h1", "curl", "budget-per-value-status", status_per_value),
    ]
    return [budgets.BudgetTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
