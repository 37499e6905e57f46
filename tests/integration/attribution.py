"""attribution.py - the attrib-* integration tests: one process serving
several end users gets each call's record tagged with whose it was, from
the request body (OpenAI "user", Anthropic "metadata.user_id"), hashed
with the ledger's key by default, plain or not at all as
TOKENGUARD_ATTRIBUTION says; and tagged by the program itself through the
x-tokenguard-tags request header, over HTTP/1.1 and HTTP/2.

Owns: the request bodies that name a user, one Python process (requests
for HTTP/1.1, httpx with http2=True for HTTP/2: helpers/budget_client.py)
making every call of a test, and the checks of the records, of
`tokenguard-report --by tag:user` and `--tag user=ID`, of a budget policy
scoped to one user, and of what the fake provider received.
"""

import json
import os
import re
import subprocess

import itlib

HERE = os.path.dirname(os.path.abspath(__file__))
SYS_PY = "/usr/bin/python3"
CLIENT = os.path.join(HERE, "helpers", "budget_client.py")
TIMEOUT = 60
OPENAI = "openai-chat"
ANTHROPIC = "anthropic-messages"
HASHED = re.compile(r"^h:[0-9a-f]{16}$")


def body_file(tdir, name, doc):
    path = os.path.join(tdir, name + ".json")
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def openai_body(tdir, user):
    return body_file(tdir, "openai-" + user, {
        "model": "gpt-4o-mini", "user": user,
        "messages": [{"role": "user", "content": "PROMPT-SECRET-attribution"}]})


def anthropic_body(tdir, user):
    return body_file(tdir, "anthropic-" + user, {
        "model": "claude-sonnet-4-5", "max_tokens": 256, "metadata": {"user_id": user},
        "messages": [{"role": "user", "content": "PROMPT-SECRET-attribution"}]})


def exchange(t, case_name, body, run_tag, headers=()):
    """The client's argv form of one call of case case_name with body."""
    c = t.cases[case_name]
    hdrs = ["Content-Type: application/json", "x-fake-case: " + c["name"],
            "x-fake-run: " + run_tag] + t.h.auth_headers(c) + list(headers)
    return [c["method"], "https://%s%s" % (c["host"], c["path"]), body] + hdrs


def run(t, env, tdir, label, lib, plan, ledger, extra_env=None):
    """Runs the exchanges of plan in one process of lib; returns its
    results (one dict per exchange) and what the provider received."""
    path = os.path.join(tdir, label + ".plan")
    with open(path, "w") as f:
        json.dump(plan, f)
    out = os.path.join(tdir, label + ".out")
    cenv = env.child_env(ledger, True)
    cenv.update(extra_env or {})
    with open(os.path.join(tdir, label + ".err"), "wb") as err:
        p = subprocess.run([SYS_PY, CLIENT, lib, path, out], stdin=subprocess.DEVNULL,
                           stdout=err, stderr=err, env=cenv, timeout=TIMEOUT)
    results = itlib.read_json_lines(out) if os.path.exists(out) else []
    t.check(len(results) == len(plan), "%s: %d results for %d calls: %s" % (
        label, len(results), len(plan), itlib.read_text(os.path.join(tdir, label + ".err"))[-300:]))
    bad = [r for r in results if r["error"]]
    t.check(not bad, "%s: %s" % (label, bad[:1]))
    received = t.h.provider_requests(env, "%s/%s" % (os.path.basename(tdir), label))
    return results, received, p.returncode


def tags_of(rec):
    """The record's tags as a dict (the report's JSON gives them so)."""
    return dict(rec["tags"] or {})


def report(t, env, ledger, *args):
    p = subprocess.run([env.report] + list(args) + ["--ledger", ledger], capture_output=True,
                       timeout=TIMEOUT)
    t.check(p.returncode == 0, "tokenguard-report %s: exit %d: %s" % (
        " ".join(args), p.returncode, p.stderr.decode(errors="replace")[:300]))
    return p.stdout.decode()


def users_plan(t, tdir, tag):
    """alice, bob, alice on OpenAI ("user"), then alice on Anthropic
    (metadata.user_id): four calls of one process."""
    return [exchange(t, OPENAI, openai_body(tdir, "alice"), tag),
            exchange(t, OPENAI, openai_body(tdir, "bob"), tag),
            exchange(t, OPENAI, openai_body(tdir, "alice"), tag),
            exchange(t, ANTHROPIC, anthropic_body(tdir, "alice"), tag)]


def users(mode):
    """The users test under TOKENGUARD_ATTRIBUTION=mode (None: unset)."""
    def body(t, env, tdir):
        ledger = os.path.join(tdir, "ledger")
        label = "users"
        extra = {"TOKENGUARD_ATTRIBUTION": mode} if mode else {}
        results, received, rc = run(t, env, tdir, label, "requests",
                                    users_plan(t, tdir, "%s/%s" % (os.path.basename(tdir), label)),
                                    ledger, extra)
        t.check(rc == 0 and [r["status"] for r in results] == [200] * 4,
                "statuses %s" % [r["status"] for r in results])
        # the bodies reach the provider as the program wrote them
        t.check(len(received) == 4 and all(e["body_len"] > 0 for e in received),
                "the provider received %d requests" % len(received))
        recs = itlib.records(t, env, ledger)
        t.check(len(recs) == 4, "%d records, expected 4" % len(recs))
        recs.sort(key=lambda r: r["ts"])
        user = [tags_of(r).get("user") for r in recs]
        for r in recs:
            t.check(tags_of(r).get("team") == "search", "the process's tags are lost: %r" % r["tags"])
        key = os.path.join(ledger, "attribution-key")
        if mode == "off":
            t.check(user == [None] * 4, "off: user tags %r" % user)
            t.check(not os.path.exists(key), "off: a key was made")
            return
        if mode == "plain":
            t.check(user == ["alice", "bob", "alice", "alice"], "plain: user tags %r" % user)
            t.check(not os.path.exists(key), "plain: a key was made")
        else:
            t.check(all(u and HASHED.match(u) for u in user), "hash: user tags %r" % user)
            t.check(user[0] == user[2] == user[3] != user[1],
                    "hash: alice's calls differ or match bob's: %r" % user)
            st = os.stat(key)
            t.check(st.st_size == 16 and st.st_mode & 0o777 == 0o600,
                    "the key is %d bytes, mode %o" % (st.st_size, st.st_mode & 0o777))
            for r in recs:
                t.check("alice" not in json.dumps(r) and "bob" not in json.dumps(r),
                        "a plain id in %r" % r)
        # the report splits by user, and finds alice by her id in both modes
        by = json.loads(report(t, env, ledger, "summary", "--by", "tag:user", "--format", "json"))
        groups = {g["tag:user"]: g["calls"] for g in by["groups"]}
        want = {user[0]: 3, user[1]: 1}
        t.check(groups == want, "--by tag:user: %r, expected %r" % (groups, want))
        found = [json.loads(l) for l in report(t, env, ledger, "records", "--tag", "user=alice",
                                                "--format", "jsonl").splitlines() if l.strip()]
        t.check(len(found) == 3 and all(tags_of(r)["user"] == user[0] for r in found),
                "--tag user=alice: %r" % [r["tags"] for r in found])
        found = [l for l in report(t, env, ledger, "records", "--tag", "user=carol",
                                   "--format", "jsonl").splitlines() if l.strip()]
        t.check(found == [], "--tag user=carol found %d" % len(found))
        p = subprocess.run([env.report, "check", "--tag", "user=alice", "--max-usd", "1",
                            "--format", "json", "--ledger", ledger], capture_output=True,
                           timeout=TIMEOUT)
        t.check(p.returncode == 0 and json.loads(p.stdout)["calls"] == 3,
                "check --tag user=alice: exit %d: %s" % (p.returncode, p.stdout[:300]))
        if mode is None:
            # a key others may read is refused, never used
            os.chmod(key, 0o644)
            p = subprocess.run([env.report, "records", "--tag", "user=alice", "--ledger", ledger],
                               capture_output=True, timeout=TIMEOUT)
            t.check(p.returncode == 2 and b"attribution-key" in p.stderr,
                    "a key others may read: exit %d: %s" % (p.returncode, p.stderr[:300]))
    return body


def header(lib):
    """x-tokenguard-tags on one call and not the next, in one process."""
    def body(t, env, tdir):
        ledger = os.path.join(tdir, "ledger")
        label = "header"
        tag = "%s/%s" % (os.path.basename(tdir), label)
        plan = [exchange(t, OPENAI, openai_body(tdir, "alice"), tag,
                         ["x-tokenguard-tags: feature=search,user=from-header,bad key=x"]),
                exchange(t, OPENAI, openai_body(tdir, "alice"), tag)]
        results, received, rc = run(t, env, tdir, label, lib, plan, ledger,
                                    {"TOKENGUARD_ATTRIBUTION": "plain"})
        want_version = "HTTP/2" if lib == "httpx-h2" else "HTTP/1.1"
        t.check([r["http_version"] for r in results] == [want_version] * 2,
                "versions %s" % [r["http_version"] for r in results])
        recs = sorted(itlib.records(t, env, ledger), key=lambda r: r["ts"])
        t.check(len(recs) == 2, "%d records, expected 2" % len(recs))
        first, second = tags_of(recs[0]), tags_of(recs[1])
        # process tags team=search,feature=it; body user=alice; the header
        # overrides both for its one call, and its bad entry is dropped
        t.check(first == {"team": "search", "feature": "search", "user": "from-header"},
                "tags of the call with the header: %r" % recs[0]["tags"])
        t.check(second == {"team": "search", "feature": "it", "user": "alice"},
                "tags of the call without: %r" % recs[1]["tags"])
        # HTTP/1.1: taken out before it leaves; HTTP/2: sent as it is
        # (removing it would put the two ends' HPACK tables out of step)
        sent = [received_header(e) for e in received]
        want = [None, None] if lib != "httpx-h2" else \
            ["feature=search,user=from-header,bad key=x", None]
        t.check(sent == want, "the provider received x-tokenguard-tags %r, expected %r"
                % (sent, want))
        t.check([e["body_len"] for e in received] == [os.path.getsize(plan[0][2])] * 2,
                "the bodies changed: %r" % [e["body_len"] for e in received])
    return body


def received_header(e):
    return dict((k.lower(), v) for k, v in e["headers"]).get("x-tokenguard-tags")


def header_curl(t, env, tdir):
    """curl writes a request's headers and body at once: the header is
    taken out of that one write, and counts for that call only."""
    ledger = os.path.join(tdir, "ledger")
    label = "curl"
    tag = "%s/%s" % (os.path.basename(tdir), label)
    ex = exchange(t, OPENAI, openai_body(tdir, "alice"), tag)
    argv = ["curl", "-sS", "--http1.1", "--cacert", env.ca, "-o", "/dev/null",
            "-w", "%{http_code}\n", "-X", ex[0], ex[1], "--data-binary", "@" + ex[2]]
    for h in ex[3:] + ["x-tokenguard-tags: feature=curl"]:
        argv += ["-H", h]
    argv += ["--next", "--http1.1", "--cacert", env.ca, "-o", "/dev/null",
             "-w", "%{http_code}\n", "-X", ex[0], ex[1], "--data-binary", "@" + ex[2]]
    for h in ex[3:]:
        argv += ["-H", h]
    p = subprocess.run(argv, capture_output=True, env=env.child_env(ledger, True), timeout=TIMEOUT)
    t.check(p.stdout == b"200\n200\n", "curl: %r %r" % (p.stdout, p.stderr[-300:]))
    received = t.h.provider_requests(env, tag)
    t.check([received_header(e) for e in received] == [None, None],
            "the provider received x-tokenguard-tags %r" % [received_header(e) for e in received])
    recs = sorted(itlib.records(t, env, ledger), key=lambda r: r["ts"])
    t.check([tags_of(r).get("feature") for r in recs] == ["curl", "it"],
            "feature tags %r" % [r["tags"] for r in recs])


def budget_per_user(lib):
    """A policy scoped to one user refuses that user's calls only: the
    gate sees the tags of each call, not of the process."""
    return lambda t, env, tdir: budget_per_user_on(t, env, tdir, lib)


def budget_per_user_on(t, env, tdir, lib):
    ledger = os.path.join(tdir, "ledger")
    label = "budget"
    tag = "%s/%s" % (os.path.basename(tdir), label)
    plan = [exchange(t, OPENAI, openai_body(tdir, "alice"), tag),
            exchange(t, OPENAI, openai_body(tdir, "bob"), tag),
            exchange(t, OPENAI, openai_body(tdir, "bob"), tag,
                     ["x-tokenguard-tags: user=alice"])]
    results, received, rc = run(t, env, tdir, label, lib, plan, ledger,
                                {"TOKENGUARD_ATTRIBUTION": "plain",
                                 "TOKENGUARD_BUDGETS": "tag:user=alice,day,usd=0,block"})
    t.check([r["status"] for r in results] == [429, 200, 429],
            "statuses %s, expected alice refused, bob served, bob-as-alice refused"
            % [r["status"] for r in results])
    t.check(len(received) == 1, "the provider received %d requests, expected bob's only"
            % len(received))


def budget_per_value(lib):
    """tag:user=* gives every user of one process a limit of their own:
    alice is refused once she has spent hers while bob's calls go on, the
    users hashed as by default."""
    return lambda t, env, tdir: budget_per_value_on(t, env, tdir, lib)


def budget_per_value_on(t, env, tdir, lib):
    ledger = os.path.join(tdir, "ledger")
    label = "pervalue"
    tag = "%s/%s" % (os.path.basename(tdir), label)
    who = ["alice", "alice", "bob", "alice", "bob"]
    plan = [exchange(t, OPENAI, openai_body(tdir, u), tag) for u in who]
    # Any spend passes the limit: each user's first call goes, the next is refused.
    policy = "tag:user=*,day,usd=0.0000001,block,name=per-user"
    results, received, rc = run(t, env, tdir, label, lib, plan, ledger,
                                {"TOKENGUARD_BUDGETS": policy})
    t.check([r["status"] for r in results] == [200, 429, 200, 429, 429],
            "statuses %s, expected alice's first call and bob's first call served only"
            % [r["status"] for r in results])
    t.check(len(received) == 2, "the provider received %d requests, expected 2" % len(received))
    recs = sorted(itlib.records(t, env, ledger), key=lambda r: r["ts"])
    users = [tags_of(r).get("user") for r in recs]
    t.check(len(recs) == 5 and all(u and HASHED.match(u) for u in users),
            "user tags %r" % users)
    t.check(users[0] == users[1] == users[3] and users[2] == users[4] and users[0] != users[2],
            "alice's and bob's calls carry one hash each: %r" % users)
    t.check([r["blocked"] for r in recs] == [False, True, False, True, True],
            "blocked %r" % [r["blocked"] for r in recs])
    t.check(all(r["policy"] == "per-user" for r in recs if r["blocked"]),
            "the blocked records name the policy: %r" % [r["policy"] for r in recs])
    # budget status shows one line per user, each at its own spend
    p = subprocess.run([env.report, "budget", "status", "--format", "json", "--ledger", ledger],
                       capture_output=True, timeout=TIMEOUT,
                       env=dict(os.environ, TOKENGUARD_BUDGETS=policy))
    st = json.loads(p.stdout.decode() or "null")
    rows = [r for r in (st if isinstance(st, list) else []) if r.get("name") == "per-user"]
    t.check(p.returncode == 0 and len(rows) == 2,
            "budget status: exit %d, %d rows of per-user, expected one per user: %r %s"
            % (p.returncode, len(rows), st, p.stderr.decode(errors="replace")[:200]))
    t.check(sorted(r.get("tag_value") for r in rows) == sorted({users[0], users[2]}),
            "budget status rows are alice's and bob's hashes: %r" % rows)
    # --tag user=alice names alice's row by her id, hashed with the ledger's key
    p = subprocess.run([env.report, "budget", "status", "--format", "json", "--tag", "user=alice",
                        "--ledger", ledger], capture_output=True, timeout=TIMEOUT,
                       env=dict(os.environ, TOKENGUARD_BUDGETS=policy))
    st = json.loads(p.stdout.decode() or "null")
    rows = [r for r in (st if isinstance(st, list) else []) if r.get("name") == "per-user"]
    t.check(p.returncode == 0 and [r.get("tag_value") for r in rows] == [users[0]],
            "budget status --tag user=alice: exit %d, rows %r %s"
            % (p.returncode, rows, p.stderr.decode(errors="replace")[:200]))


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if not {OPENAI, ANTHROPIC} <= set(by_name):
        return []
    spec = [
        ("requests", "attrib-users-hashed", users(None)),
        ("requests", "attrib-users-plain", users("plain")),
        ("requests", "attrib-users-off", users("off")),
        ("requests", "attrib-header-h1", header("requests")),
        ("httpx-h2", "attrib-header-h2", header("httpx-h2")),
        ("curl-h1", "attrib-header-curl-h1", header_curl),
        ("requests", "attrib-budget-per-user-h1", budget_per_user("requests")),
        ("httpx-h2", "attrib-budget-per-user-h2", budget_per_user("httpx-h2")),
        ("requests", "attrib-budget-per-value-h1", budget_per_value("requests")),
        ("httpx-h2", "attrib-budget-per-value-h2", budget_per_value("httpx-h2")),
    ]
    return [AttribTest(harness, by_name, name, "budget_client.py", label, body)
            for name, label, body in spec]


class AttribTest(itlib.SuiteTest):
    pass
