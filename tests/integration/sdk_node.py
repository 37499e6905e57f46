"""sdk_node.py - the sdk-node-* integration tests: the official Node SDKs
(openai, @anthropic-ai/sdk, @google/genai) under the shim.

Owns: running the Node clients (clients/node/*.js) on Debian's nodejs,
which links the system libssl (tests/deps_node.sh installs it and the SDKs
under build/node; run.sh makes it runnable in the test namespace), and
every assertion about what they saw and what the ledger holds.

Each exchange test runs one SDK call without and with the shim, like the
matrix of run_tests.py: both runs print the same bytes and exit the same
way, the fake provider receives the same requests, what the SDK returned
is the case's response (every field the SDK kept equals the case's), and
the ledger holds the case's record.  Each budget test runs one call of an
SDK under a `block` policy at usd=0: the SDK raises its own rate-limit
error carrying the shim's 429 (x-should-retry: false), does not retry (one
blocked record, nothing reaches the fake provider) and the program goes on.
Each user test has an SDK send the end user the program names (openai
`user`, @anthropic-ai/sdk `metadata.user_id`): the record's user tag holds
it, plain or hashed as TOKENGUARD_ATTRIBUTION says.

run_tests.py collects the tests with tests(harness, cases), harness being
the run_tests module itself.
"""

import glob
import json
import os

import budgets
import itlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
NODE_DIR = os.environ.get("TG_IT_NODE_DIR", os.path.join(TOP, "build", "node"))
NODE = os.path.join(NODE_DIR, "root", "usr", "bin", "node")
CLIENTS = os.path.join(HERE, "clients", "node")
# What each SDK adds to the provider's JSON when it hands it over: openai's
# Responses result gets the concatenated output_text.
ADDED = {"openai-responses": ("output_text",)}
# The events an SDK does not hand over: @anthropic-ai/sdk skips pings.
SKIPPED = {"anthropic-messages-stream": lambda ev: ev.get("type") == "ping"}


def node_env(env):
    """The variables a Node client needs: Debian's libnode and the SDKs."""
    libnode = glob.glob(os.path.join(NODE_DIR, "root", "usr", "lib", "*", "libnode.so.*"))
    return {"LD_LIBRARY_PATH": os.path.dirname(libnode[0]) if libnode else "",
            "NODE_PATH": os.path.join(NODE_DIR, "sdk", "node_modules"),
            "NODE_EXTRA_CA_CERTS": env.ca}


class NodeTest(itlib.SuiteTest):
    def __init__(self, h, cases, sdk, label, body, case, mode):
        script = os.path.join(CLIENTS, sdk + "_client.js")
        super().__init__(h, cases, "node-" + sdk, sdk + "_client.js", label, body)
        self.client.argv, self.client.http = [NODE, script], "1.1"
        self.case, self.mode = case, mode

    def run(self, env):
        self.check(os.path.exists(NODE) and os.path.isdir(node_env(env)["NODE_PATH"]),
                   "no Debian nodejs and SDKs under %s: run tests/deps_node.sh" % NODE_DIR)
        return super().run(env)

    def ex(self):
        return self.h.Exchange(self.cases[self.case], self.h.Mode(*self.mode))

    def node(self, env, tdir, label, exchanges, ledger, preload):
        return self.h.run_client(env, self.client, exchanges, tdir, label, ledger, preload,
                                 extra_env=node_env(env))


def output_lines(t, run, label):
    t.check(run.rc == 0, "%s: node exited %d: %s" % (label, run.rc, budgets.tail(
        run.stderr.decode(errors="replace"), 400)))
    try:
        return [json.loads(l) for l in run.out.decode().splitlines()]
    except ValueError:
        raise t.h.Failure("%s: output is not JSON lines: %r" % (label, run.out[:200]))


def case_events(case):
    """The JSON data of the case's response: one document, or the events of
    an event stream that the SDK hands over."""
    body = case["response_bytes"].decode()
    if not case["content_type"].startswith("text/event-stream"):
        return json.loads(body)
    skipped = SKIPPED.get(case["name"], lambda ev: False)
    events = [json.loads(l[len("data:"):]) for l in body.splitlines()
              if l.startswith("data:") and l[len("data:"):].strip() != "[DONE]"]
    return [ev for ev in events if not skipped(ev)]


def differences(got, want, added, where="result"):
    """Where what the SDK handed over departs from the provider's JSON: a
    field it kept with another value, or one the provider never sent."""
    if isinstance(got, dict) and isinstance(want, dict):
        out = []
        for k, v in got.items():
            if k in want:
                out += differences(v, want[k], (), "%s.%s" % (where, k))
            elif k not in added:
                out.append("%s.%s not in the response" % (where, k))
        return out
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want))
                for d in differences(g, w, added, "%s[%d]" % (where, i))]
    return [] if got == want else ["%s=%s, expected %s" % (where, json.dumps(got)[:80],
                                                          json.dumps(want)[:80])]


def exchange(t, env, tdir):
    ex = t.ex()
    case = ex.case
    base = t.node(env, tdir, "base", [ex], os.path.join(tdir, "ledger-base"), False)
    lines = output_lines(t, base, "without the shim")
    t.check(len(lines) == 1 and "result" in lines[0], "without the shim: %s" % lines)
    want = case_events(case)
    got = lines[0]["result"]
    if isinstance(want, list):
        t.check(isinstance(got, list) and len(got) == len(want),
                "the SDK yielded %s events, the case has %d" % (
                    len(got) if isinstance(got, list) else "no", len(want)))
    diff = differences(got, want, ADDED.get(case["name"], ()))
    t.check(not diff, "the SDK handed over other data than the response: %s" % "; ".join(diff[:4]))
    t.check(len(base.requests) == 1, "the fake provider saw %d requests, expected 1"
            % len(base.requests))
    ledger = os.path.join(tdir, "ledger")
    shim = t.node(env, tdir, "shim", [ex], ledger, True)
    t.check(shim.out == base.out, "output differs with the shim (see %s)" % tdir)
    t.check(shim.rc == base.rc, "exit status %d with the shim, %d without" % (shim.rc, base.rc))
    fp = t.h.request_fingerprint
    t.check([fp(e) for e in shim.requests] == [fp(e) for e in base.requests],
            "the provider received different requests with the shim")
    t.h.check_records(itlib.records(t, env, ledger), [ex], t.client)
    return ""


# The error each SDK raises for a 429, and where it keeps the body.
REFUSALS = {
    "openai": ("RateLimitError", budgets.check_openai_refusal, lambda b: {"error": b}),
    "anthropic": ("RateLimitError", budgets.check_anthropic_refusal, lambda b: b),
}


def budget_block(t, env, tdir):
    policy = "zero"
    sdk = t.client.name[len("node-"):]
    ex = t.ex()
    ledger = os.path.join(tdir, "ledger")
    budgets.budget_set(t, env, ledger, policy, "global,day,usd=0,block")
    run = t.node(env, tdir, "shim", [ex], ledger, True)
    lines = output_lines(t, run, "refused call")
    t.check(len(lines) == 1 and "error" in lines[0], "the SDK raised nothing: %s"
            % json.dumps(lines)[:300])
    err = lines[0]["error"]
    if sdk in REFUSALS:
        cls, check_refusal, doc = REFUSALS[sdk]
        t.check(err["class"] == cls and err["status"] == 429,
                "the SDK raised %s (status %s), expected %s 429: %s"
                % (err["class"], err["status"], cls, err["message"][:200]))
        check_refusal(t, err["status"], err["headers"], doc(err["body"]), policy, sdk)
    else:
        # @google/genai 1.0.0 throws ClientError, its message carrying the
        # status and the body; no headers.
        t.check(err["class"] == "ClientError" and err["message"].startswith("got status: 429 ")
                and "RESOURCE_EXHAUSTED" in err["message"] and "'%s'" % policy in err["message"],
                "the SDK raised %s: %s, expected ClientError 429 RESOURCE_EXHAUSTED"
                % (err["class"], err["message"][:200]))
    tag = "%s/shim" % os.path.basename(tdir)
    t.check(budgets.received(t, env, tag) == [], "the fake provider received %d requests"
            % len(budgets.received(t, env, tag)))
    ok, blocked = budgets.allowed_and_blocked(itlib.records(t, env, ledger))
    t.check(not ok, "records of calls sent: %s" % json.dumps(ok)[:200])
    model = json.load(open(ex.case["request_path"])).get("model") or \
        ex.case["path"].split("/models/")[1].split(":")[0]
    # One blocked record: the SDK did not retry the refusal.
    budgets.check_blocked_records(t, blocked, policy, model, 1, "%s (a retry adds one)" % sdk)
    return "# %s raised in %.2f s, not retried" % (err["class"], run.seconds)


def user_tag(t, env, tdir):
    """The SDK sends the end user the program names (openai `user`,
    @anthropic-ai/sdk `metadata.user_id`): the record carries it as the
    tag user, hashed with the ledger's key by default, plain when asked."""
    case = t.cases[t.case]
    with open(case["request_path"]) as f:
        body = json.load(f)
    if case["name"].startswith("anthropic"):
        body["metadata"] = {"user_id": "alice@example.com"}
    else:
        body["user"] = "alice@example.com"
    path = os.path.join(tdir, "user.req.json")
    with open(path, "w") as f:
        json.dump(body, f)
    ex = t.h.Exchange(dict(case, request_path=path), t.h.Mode(*t.mode))
    users = {}
    for mode in ("plain", "hash"):
        ledger = os.path.join(tdir, "ledger-" + mode)
        run = t.h.run_client(env, t.client, [ex], tdir, mode, ledger, True,
                             extra_env=dict(node_env(env), TOKENGUARD_ATTRIBUTION=mode))
        lines = output_lines(t, run, mode)
        t.check(len(lines) == 1 and "result" in lines[0], "%s: %s" % (mode, json.dumps(lines)[:300]))
        recs = itlib.records(t, env, ledger)
        t.check(len(recs) == 1, "%s: %d records" % (mode, len(recs)))
        tags = dict(recs[0]["tags"] or {})
        t.check(tags.get("team") == "search", "%s: the process's tags lost: %r" % (mode, tags))
        users[mode] = tags.get("user")
        sent = [e for e in t.h.provider_requests(env, "%s/%s" % (os.path.basename(tdir), mode))]
        t.check(len(sent) == 1, "%s: the provider received %d requests" % (mode, len(sent)))
    t.check(users["plain"] == "alice@example.com", "plain: user tag %r" % users["plain"])
    t.check(users["hash"] is not None and users["hash"].startswith("h:") and
            len(users["hash"]) == 18, "hash: user tag %r" % users["hash"])
    return "# user %s" % users["hash"]


def tests(harness, cases):
    """The sdk-node-* tests over the loaded cases (run_tests.load_cases)."""
    by_name = {c["name"]: c for c in cases}
    plain, gzip = ("length", "identity"), ("length", "gzip")
    # node-fetch 2.7 (under openai 4 and @anthropic-ai/sdk 0.41) fails a
    # chunked event stream of the fake provider with "Premature close", with
    # or without the shim (node-fetch issues 1767, 1576): their streams end
    # at the close of the connection.  @google/genai reads through fetch.
    stream, chunked = ("close", "identity", 64), ("chunked", "identity", 7)
    spec = [
        ("openai", "sdk-node-openai-chat", exchange, "openai-chat", gzip),
        ("openai", "sdk-node-openai-chat-stream", exchange, "openai-chat-stream", stream),
        ("openai", "sdk-node-openai-responses", exchange, "openai-responses", plain),
        ("anthropic", "sdk-node-anthropic-messages", exchange, "anthropic-messages", gzip),
        ("anthropic", "sdk-node-anthropic-messages-stream", exchange,
         "anthropic-messages-stream", stream),
        ("genai", "sdk-node-genai-generate", exchange, "gemini-generate", gzip),
        ("genai", "sdk-node-genai-stream", exchange, "gemini-stream-sse", chunked),
        ("openai", "sdk-node-openai-budget-block", budget_block, "openai-chat", plain),
        ("anthropic", "sdk-node-anthropic-budget-block", budget_block, "anthropic-messages", plain),
        ("genai", "sdk-node-genai-budget-block", budget_block, "gemini-generate", plain),
        ("openai", "sdk-node-openai-user", user_tag, "openai-chat", plain),
        ("anthropic", "sdk-node-anthropic-user", user_tag, "anthropic-messages", plain),
    ]
    return [NodeTest(harness, by_name, sdk, label, body, case, mode)
            for sdk, label, body, case, mode in spec if case in by_name]
