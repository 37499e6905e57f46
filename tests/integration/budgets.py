"""budgets.py - the budget-* integration tests: policies enforced by the
shim before a call leaves the machine.

Owns: blocking at a limit (HTTP/1.1 and HTTP/2, one process per call and
many calls per connection), tag scope, downgrade and clamp rewrites, warn
alerts, spend shared between processes, the fail mode, what requests and
httpx make of a refusal, TOKENGUARD_BUDGETS, `tokenguard-report check`, and
the overshoot of processes racing against one limit.

Every assertion is about something outside the shim: what the program
read (status, headers, body), what the fake provider logged as received,
the records of `tokenguard-report records --format jsonl` and the policies'
state in `tokenguard-report budget status --format json`.  Expected stop
points and clamps are computed from the cost_usd the ledger recorded and
from ledger/prices.tsv, not from constants.

run_tests.py collects the tests with tests(harness, cases), harness being
the run_tests module itself (its Env, Exchange, Mode, Failure and record
readers).  Python programs are helpers/budget_client.py; curl is driven by
a config file, one option group per transfer, each with its own body and
header dump.
"""

import json
import math
import os
import datetime
import re
import subprocess
import time
import zoneinfo

import itlib
from itlib import Named, records

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUDGET_CLIENT = os.path.join(HERE, "helpers", "budget_client.py")
PRICES = os.path.join(TOP, "ledger", "prices.tsv")
SYS_PY = "/usr/bin/python3"
TIMEOUT = 60
OPENAI = "openai-chat"            # gpt-4.1, non-streaming, max_tokens in its body
ANTHROPIC = "anthropic-messages"  # claude-sonnet-4-5
DOWNGRADE_TO = "gpt-4o-mini"
RACERS = 8


class BudgetTest(itlib.SuiteTest):
    def ex(self, name, request=None):
        """An exchange of case name, with another request body if given."""
        case = self.cases[name]
        if request is not None:
            case = dict(case, request_path=request)
        return self.h.Exchange(case, self.h.Mode("length", "identity"))


# ---------------------------------------------------------------- tokenguard-report

def report(t, env, args, rc=0, extra_env=None):
    e = dict(os.environ)
    e.pop("TOKENGUARD_BUDGETS", None)
    e.update(extra_env or {})
    p = subprocess.run([env.report] + args, capture_output=True, timeout=TIMEOUT, env=e)
    if rc is not None:
        t.check(p.returncode == rc, "tokenguard-report %s: exit %d, expected %d: %s%s"
                % (" ".join(args), p.returncode, rc, p.stdout.decode(errors="replace")[:200],
                   p.stderr.decode(errors="replace")[:200]))
    return p


def budget_set(t, env, ledger, name, spec):
    report(t, env, ["budget", "set", name, spec, "--ledger", ledger])


def budget_status(t, env, ledger):
    p = report(t, env, ["budget", "status", "--format", "json", "--ledger", ledger])
    try:
        rows = json.loads(p.stdout)
    except ValueError:
        raise t.h.Failure("budget status printed no JSON: %r" % p.stdout[:200])
    return {r["name"]: r for r in rows}


def allowed_and_blocked(recs):
    return [r for r in recs if not r.get("blocked")], [r for r in recs if r.get("blocked")]


def load_json(path):
    with open(path) as f:
        return json.load(f)


def output_price(provider, model):
    """USD per output token of a model family, from the bundled price table."""
    with open(PRICES) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if not line.startswith("#") and len(cols) > 3 and cols[0] == provider \
                    and cols[1] == model:
                return float(cols[3]) / 1e6
    raise KeyError("%s/%s is not in %s" % (provider, model, PRICES))


# ---------------------------------------------------------------- curl

class Transfer:
    def __init__(self, code, version, headers, body):
        self.code, self.version = code, version
        self.headers, self.body = headers, body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def parse_header_dump(data):
    """The last header block of a dump (after any 100 Continue)."""
    blocks = [b for b in data.decode("latin-1").replace("\r\n", "\n").split("\n\n") if b.strip()]
    if not blocks:
        return {}
    out = {}
    for line in blocks[-1].split("\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


class Curl:
    """One curl process making exchanges in order from a config file, one
    option group per transfer (--next): HTTP/1.1 keeps the connection alive
    between them, HTTP/2 multiplexes them on one connection.  Started by the
    constructor, so several can run at once; wait() collects what each
    transfer read."""

    def __init__(self, t, env, tdir, label, exchanges, ledger, http="1.1", extra_env=None,
                 tag=None):
        self.t, self.label, self.exchanges = t, label, exchanges
        self.tag = tag or "%s/%s" % (os.path.basename(tdir), label)
        self.dir = os.path.join(tdir, label)
        os.makedirs(self.dir)
        cfg = os.path.join(self.dir, "curlrc")
        itlib.write_curl_config(cfg, env, self.tag, exchanges, http,
                                lambda i: ['output = "%s/%d.body"' % (self.dir, i),
                                           'dump-header = "%s/%d.head"' % (self.dir, i)])
        cenv = env.child_env(ledger, True)
        for k, v in (extra_env or {}).items():
            if v is None:
                cenv.pop(k, None)
            else:
                cenv[k] = v
        self.out, self.err = os.path.join(self.dir, "out"), os.path.join(self.dir, "err")
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen(["curl", "-K", cfg], stdin=subprocess.DEVNULL,
                                         stdout=o, stderr=e, env=cenv)
        self.pid = self.proc.pid

    def wait(self, timeout=TIMEOUT):
        itlib.wait_or_kill(self.t, self.proc, timeout,
                           "%s: curl did not finish in %ds (a refusal it cannot read?)"
                           % (self.label, timeout))
        self.rc = self.proc.returncode
        self.stderr = itlib.read_text(self.err)
        seen = {}
        with open(self.out) as f:
            for line in f:
                i, code, ver = line.split()
                seen[int(i)] = (code, ver)
        self.transfers = []
        for i in range(len(self.exchanges)):
            code, ver = seen.get(i, ("none", "none"))
            body = head = b""
            if os.path.exists("%s/%d.body" % (self.dir, i)):
                with open("%s/%d.body" % (self.dir, i), "rb") as f:
                    body = f.read()
            if os.path.exists("%s/%d.head" % (self.dir, i)):
                with open("%s/%d.head" % (self.dir, i), "rb") as f:
                    head = f.read()
            self.transfers.append(Transfer(code, ver, parse_header_dump(head), body))
        return self

    def codes(self):
        return [tr.code for tr in self.transfers]

    def tg_lines(self):
        return [l for l in self.stderr.splitlines() if l.startswith("tokenguard: ")]


def tail(text, n=160):
    """The end of a program's stderr, on one line for a test line."""
    return " | ".join(l for l in text.strip().splitlines() if l)[-n:]


def curl(t, env, tdir, label, exchanges, ledger, **kw):
    return Curl(t, env, tdir, label, exchanges, ledger, **kw).wait()


def received(t, env, tag):
    """What the fake provider received (complete requests) under a run tag."""
    return t.h.provider_requests(env, tag)


# ---------------------------------------------------------------- Python programs

class PyClient:
    """helpers/budget_client.py LIB with a plan; with step=True it makes
    one exchange per step() and the test acts in between."""

    def __init__(self, t, env, tdir, label, lib, exchanges, ledger, step=False, extra_env=None):
        self.t, self.label = t, label
        self.tag = "%s/%s" % (os.path.basename(tdir), label)
        plan = os.path.join(tdir, label + ".plan.json")
        with open(plan, "w") as f:
            json.dump([ex.argv(self.tag) for ex in exchanges], f)
        self.out = os.path.join(tdir, label + ".out")
        self.err = os.path.join(tdir, label + ".err")
        cenv = env.child_env(ledger, True)
        cenv.update(extra_env or {})
        argv = [SYS_PY, BUDGET_CLIENT, lib, plan, self.out] + (["--step"] if step else [])
        with open(self.err, "wb") as e:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE if step else subprocess.DEVNULL,
                                         stdout=subprocess.PIPE if step else e, stderr=e, env=cenv)
        self.pid = self.proc.pid

    def step(self):
        """Makes the next exchange and returns its result."""
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        self.t.check(line.startswith(b"done "), "%s: the client said %r: %s"
                     % (self.label, line, self.stderr()[-300:]))
        return self.results()[-1]

    def finish(self, timeout=TIMEOUT):
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            itlib.wait_or_kill(self.t, self.proc, timeout, "%s: budget_client.py did not finish "
                               "in %ds" % (self.label, timeout))
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()
        return self.results()

    def stderr(self):
        return itlib.read_text(self.err)

    def results(self):
        if not os.path.exists(self.out):
            return []
        return itlib.read_json_lines(self.out)


# ---------------------------------------------------------------- shared checks

def check_openai_refusal(t, status, headers, doc, policy, what):
    t.check(status in ("429", 429), "%s: status %s, expected 429" % (what, status))
    t.check(headers.get("x-should-retry") == "false", "%s: x-should-retry %r, expected false"
            % (what, headers.get("x-should-retry")))
    t.check(headers.get("x-tokenguard-policy") == policy, "%s: x-tokenguard-policy %r, expected %r"
            % (what, headers.get("x-tokenguard-policy"), policy))
    err = (doc or {}).get("error")
    t.check(isinstance(err, dict) and isinstance(err.get("message"), str)
            and isinstance(err.get("type"), str),
            "%s: not an OpenAI error body: %r" % (what, doc))
    return err["message"]


def check_anthropic_refusal(t, status, headers, doc, policy, what):
    t.check(status in ("429", 429), "%s: status %s, expected 429" % (what, status))
    t.check(headers.get("x-should-retry") == "false", "%s: x-should-retry %r, expected false"
            % (what, headers.get("x-should-retry")))
    t.check(headers.get("x-tokenguard-policy") == policy, "%s: x-tokenguard-policy %r, expected %r"
            % (what, headers.get("x-tokenguard-policy"), policy))
    err = (doc or {}).get("error")
    t.check(isinstance(doc, dict) and doc.get("type") == "error" and isinstance(err, dict)
            and err.get("type") == "rate_limit_error" and isinstance(err.get("message"), str),
            "%s: not an Anthropic error body: %r" % (what, doc))
    return err["message"]


def check_message(t, message, policy, spend, limit, what):
    """The refusal names the policy, the spend and the limit (as dollar
    amounts, to the precision the message chose)."""
    t.check("'%s'" % policy in message, "%s: message %r does not name the policy" % (what, message))
    amounts = [float(m.group(1)) for m in re.finditer(r"\$([0-9]+(?:\.[0-9]+)?)", message)]

    def named(v):
        # Four decimals is the coarsest rounding taken as naming the amount.
        return any(abs(a - v) <= 0.00005 + 1e-12 for a in amounts)

    t.check(named(spend) and named(limit), "%s: message %r does not name the spend $%.6f and the "
            "limit $%.6f" % (what, message, spend, limit))


def check_blocked_records(t, recs, policy, model, n, what):
    t.check(len(recs) == n, "%s: %d blocked records, expected %d" % (what, len(recs), n))
    for r in recs:
        want = {"status": 429, "blocked": True, "policy": policy, "model": model,
                "input_tokens": 0, "output_tokens": 0, "cost_usd": 0, "downgraded": False}
        bad = ["%s=%s" % (k, json.dumps(r.get(k))) for k, v in want.items() if r.get(k) != v]
        t.check(not bad, "%s: blocked record: %s (expected %s)" % (what, ", ".join(bad), want))


def check_allowed_records(t, recs, exchanges, what):
    """Records of calls that went through are the normal records of their case."""
    client = Named("curl", "curl")
    t.check(len(recs) == len(exchanges), "%s: %d records of calls sent, expected %d"
            % (what, len(recs), len(exchanges)))
    for r, ex in zip(recs, exchanges):
        probs = [p for p in t.h.record_problems(r, ex, client)
                 if not p.startswith(("process=", "tags="))]
        t.check(not probs, "%s: record: %s" % (what, "; ".join(probs)))


def stop_index(costs, limit):
    """How many calls one process at a time gets: each is checked against
    the spend committed before it, so the one that crosses the limit is
    still sent."""
    spent = 0.0
    for i, c in enumerate(costs):
        if spent >= limit:
            return i
        spent += c
    return len(costs)


def sent_until_refused(t, env, tdir, prefix, ex, ledger, http, most):
    """One curl process per call until one is refused, then three more."""
    runs, refused = [], 0
    while refused < 4:
        t.check(len(runs) < most, "%s: no refusal after %d calls" % (prefix, most))
        c = curl(t, env, tdir, "%s%02d" % (prefix, len(runs)), [ex], ledger, http=http,
                 tag="%s/%s" % (os.path.basename(tdir), prefix))
        runs.append(c)
        refused += c.transfers[0].code != "200"
    return runs


# ---------------------------------------------------------------- the tests

def global_daily_block_openai_h1(t, env, tdir):
    limit, policy = 0.01, "daily"
    ex = t.ex(OPENAI)
    ledger = os.path.join(tdir, "ledger")
    budget_set(t, env, ledger, policy, "global,day,usd=%g,block" % limit)
    runs = sent_until_refused(t, env, tdir, "proc", ex, ledger, "1.1", 80)
    recs = records(t, env, ledger)
    ok, blocked = allowed_and_blocked(recs)
    k = stop_index([r["cost_usd"] for r in ok], limit)
    codes = [c.transfers[0].code for c in runs]
    t.check(codes == ["200"] * k + ["429"] * 4, "one process per call: statuses %s, expected %d x "
            "200 then 4 x 429 (from recorded costs)" % (" ".join(codes), k))
    t.check(k == len(ok), "%d calls went through, the recorded costs stop at %d" % (len(ok), k))
    spend = sum(r["cost_usd"] for r in ok)
    for c in runs[k:]:
        tr = c.transfers[0]
        t.check(c.rc == 0, "%s: curl exit %d: %s" % (c.label, c.rc, tail(c.stderr)))
        t.check(tr.version == "1.1" and tr.headers.get("connection", "").lower() == "close",
                "%s: HTTP/%s, Connection %r; expected HTTP/1.1 and close"
                % (c.label, tr.version, tr.headers.get("connection")))
        msg = check_openai_refusal(t, tr.code, tr.headers, tr.json(), policy, c.label)
        check_message(t, msg, policy, spend, limit, c.label)
    got = received(t, env, runs[0].tag)
    t.check(len(got) == k, "the fake provider received %d requests, expected %d (none after the "
            "limit)" % (len(got), k))
    check_allowed_records(t, ok, [ex] * k, "one process per call")
    check_blocked_records(t, blocked, policy, "gpt-4.1", 4, "one process per call")

    # The same in one curl: after each refusal (Connection: close) curl
    # opens a new connection for the next URL, which is refused again.
    ledger2 = os.path.join(tdir, "ledger-one-curl")
    budget_set(t, env, ledger2, policy, "global,day,usd=%g,block" % limit)
    c = curl(t, env, tdir, "one-curl", [ex] * (k + 5), ledger2)
    t.check(c.rc == 0, "one curl: exit %d: %s" % (c.rc, tail(c.stderr)))
    t.check(c.codes() == ["200"] * k + ["429"] * 5, "one curl, %d URLs: statuses %s, expected "
            "%d x 200 then 5 x 429" % (k + 5, " ".join(c.codes()), k))
    for i, tr in enumerate(c.transfers[k:]):
        check_openai_refusal(t, tr.code, tr.headers, tr.json(), policy, "one curl, URL %d" % (k + i))
    t.check(len(received(t, env, c.tag)) == k, "one curl: the fake provider received %d requests, "
            "expected %d" % (len(received(t, env, c.tag)), k))
    ok2, blocked2 = allowed_and_blocked(records(t, env, ledger2))
    check_allowed_records(t, ok2, [ex] * k, "one curl")
    check_blocked_records(t, blocked2, policy, "gpt-4.1", 5, "one curl")
    st = budget_status(t, env, ledger2)[policy]
    t.check(st["state"] == "over" and st["calls"] == k and st["last_blocked"] is not None,
            "budget status: %s" % json.dumps(st))
    return "# %d calls of $%.6f, then refused" % (k, ok[0]["cost_usd"])


def global_daily_block_anthropic_h2(t, env, tdir):
    limit, policy = 0.01, "daily"
    ex = t.ex(ANTHROPIC)
    ledger = os.path.join(tdir, "ledger")
    budget_set(t, env, ledger, policy, "global,day,usd=%g,block" % limit)
    runs = sent_until_refused(t, env, tdir, "proc", ex, ledger, "2", 60)
    ok, blocked = allowed_and_blocked(records(t, env, ledger))
    k = stop_index([r["cost_usd"] for r in ok], limit)
    spend = sum(r["cost_usd"] for r in ok)
    t.check(len(ok) == k and [c.transfers[0].code for c in runs[:k]] == ["200"] * k,
            "%d calls went through (statuses %s), the recorded costs stop at %d"
            % (len(ok), [c.transfers[0].code for c in runs], k))
    t.check(len(received(t, env, runs[0].tag)) == k, "the fake provider logged %d completed "
            "requests, expected %d" % (len(received(t, env, runs[0].tag)), k))
    check_blocked_records(t, blocked, policy, "claude-sonnet-4-5", 4, "one process per call")
    # Several refused streams on one new connection: curl must read each 429.
    many = curl(t, env, tdir, "one-curl", [ex] * 3, ledger, http="2")
    t.check(received(t, env, many.tag) == [], "one curl: the fake provider logged a refused stream")
    # What each program read; every problem is reported, not just the first.
    bad = []
    for c, what in [(c, "%s (own process)" % c.label) for c in runs[k:]] + \
            [(many, "one curl, 3 URLs")]:
        if c.rc != 0 or c.codes() != ["429"] * len(c.transfers):
            bad.append("%s: curl exit %d, statuses %s, expected exit 0 and 429s: %s"
                       % (what, c.rc, " ".join(c.codes()), tail(c.stderr, 80)))
            continue
        for i, tr in enumerate(c.transfers):
            msg = check_anthropic_refusal(t, tr.code, tr.headers, tr.json(), policy,
                                          "%s stream %d" % (what, i))
            check_message(t, msg, policy, spend, limit, what)
            t.check(tr.version == "2", "%s: HTTP/%s" % (what, tr.version))
    t.check(not bad, "refused streams opening a connection: " + "; ".join(bad))
    return "# %d calls of $%.6f, then refused" % (k, ok[0]["cost_usd"])


def h2_refusals_one_connection(t, env, tdir):
    """Several refused streams on one HTTP/2 connection: curl reads each 429
    and the connection stays usable after a reset."""
    policy = "daily"
    ex = t.ex(ANTHROPIC)
    ledger = os.path.join(tdir, "ledger")
    budget_set(t, env, ledger, policy, "global,day,usd=0.0001,block")
    c = curl(t, env, tdir, "curl", [ex] * 4, ledger, http="2")
    t.check(c.rc == 0 and c.codes() == ["200", "429", "429", "429"],
            "one curl, 4 streams: exit %d, statuses %s, expected 0 and 200 429 429 429: %s"
            % (c.rc, " ".join(c.codes()), tail(c.stderr)))
    for i, tr in enumerate(c.transfers[1:], 1):
        check_anthropic_refusal(t, tr.code, tr.headers, tr.json(), policy, "stream %d" % i)
    got = received(t, env, c.tag)
    t.check(len(got) == 1 and got[0]["proto"] == "h2", "the fake provider logged %d completed "
            "requests, expected the first stream's only" % len(got))
    ok, blocked = allowed_and_blocked(records(t, env, ledger))
    cost = ok[0]["cost_usd"]
    check_blocked_records(t, blocked, policy, "claude-sonnet-4-5", 3, "one curl")

    # httpx: allowed, refused, refused, then a reset and one more, all on
    # one connection.
    p = PyClient(t, env, tdir, "httpx", "httpx-h2", [ex] * 4, ledger, step=True)
    try:
        res = [p.step() for _ in range(3)]
        report(t, env, ["budget", "reset", policy, "--ledger", ledger])
        res.append(p.step())
    finally:
        p.finish()
    statuses = [r["status"] for r in res]
    errors = [r["error"] for r in res if r["error"]]
    t.check(statuses == [429, 429, 429, 200] and not errors,
            "httpx: statuses %s, expected 429 429 429 (over from the start) then 200 after the "
            "reset; errors %s" % (statuses, errors))
    got = received(t, env, p.tag)
    # Stream 7 of a connection: the three refused streams (1, 3, 5) were on it.
    t.check(len(got) == 1 and got[0]["proto"] == "h2" and got[0]["h2_stream"] == 7,
            "httpx: the fake provider logged %s, expected one request on stream 7"
            % [(e["conn"], e.get("h2_stream")) for e in got])
    return "# 3 refused streams then 1 sent; one call costs $%.6f" % cost


def tag_scope(t, env, tdir):
    policy = "search"
    ex = t.ex(OPENAI)
    ledger = os.path.join(tdir, "ledger")
    search = {"TOKENGUARD_TAGS": "team=search"}
    ads = {"TOKENGUARD_TAGS": "team=ads"}
    first = curl(t, env, tdir, "search-0", [ex], ledger, extra_env=search)
    t.check(first.codes() == ["200"], "first search call: %s" % first.codes())
    cost = records(t, env, ledger)[0]["cost_usd"]
    budget_set(t, env, ledger, policy, "tag:team=search,day,usd=%g,block" % (cost / 2))
    s = curl(t, env, tdir, "search-1", [ex], ledger, extra_env=search)
    a = curl(t, env, tdir, "ads", [ex, ex], ledger, extra_env=ads)
    tr = s.transfers[0]
    check_openai_refusal(t, tr.code, tr.headers, tr.json(), policy, "team=search")
    t.check(a.codes() == ["200", "200"], "team=ads: statuses %s, expected 200 200" % a.codes())
    t.check(len(received(t, env, s.tag)) == 0, "the fake provider received the refused call")
    t.check(len(received(t, env, a.tag)) == 2, "the fake provider did not receive both ads calls")
    ok, blocked = allowed_and_blocked(records(t, env, ledger))
    check_blocked_records(t, blocked, policy, "gpt-4.1", 1, "team=search")
    t.check(blocked[0]["tags"] == {"team": "search"}, "blocked record tags %s" % blocked[0]["tags"])
    t.check(sorted(r["tags"]["team"] for r in ok) == ["ads", "ads", "search"],
            "records of calls sent: tags %s" % [r["tags"] for r in ok])
    st = budget_status(t, env, ledger)[policy]
    t.check(st["state"] == "over" and st["calls"] == 1 and abs(st["spend_usd"] - cost) < 1e-9,
            "budget status counts the ads calls into team=search: %s" % json.dumps(st))
    return ""


def downgrade(t, env, tdir):
    policy = "cheaper"
    ex = t.ex(OPENAI)
    asked = load_json(ex.case["request_path"])["model"]
    ledger = os.path.join(tdir, "ledger")
    budget_set(t, env, ledger, policy, "global,day,usd=0,downgrade:%s" % DOWNGRADE_TO)
    c = curl(t, env, tdir, "h1", [ex, ex], ledger)
    t.check(c.rc == 0 and c.codes() == ["200", "200"], "HTTP/1.1: exit %d, statuses %s"
            % (c.rc, c.codes()))
    for tr in c.transfers:
        t.check(tr.body == ex.case["response_bytes"], "the program did not read the server's "
                "answer unchanged (%d bytes)" % len(tr.body))
    got = received(t, env, c.tag)
    orig = os.path.getsize(ex.case["request_path"])
    want_len = orig - len(asked) + len(DOWNGRADE_TO)
    t.check([e["model"] for e in got] == [DOWNGRADE_TO] * 2, "the server received models %s, "
            "expected %s" % ([e["model"] for e in got], DOWNGRADE_TO))
    t.check([e["body_len"] for e in got] == [want_len] * 2 and
            all(e["max_tokens"] == 200 for e in got),
            "the server received bodies of %s bytes (max_tokens %s), expected %d (Content-Length "
            "fixed, the rest unchanged)" % ([e["body_len"] for e in got],
                                            [e["max_tokens"] for e in got], want_len))
    recs = records(t, env, ledger)
    want = {"downgraded": True, "requested_model": asked, "policy": policy,
            "model": ex.case["expect"]["model"], "blocked": False, "status": 200}
    for r in recs:
        bad = ["%s=%s" % (k, json.dumps(r.get(k))) for k, v in want.items() if r.get(k) != v]
        t.check(not bad, "downgraded record: %s (expected %s)" % (", ".join(bad), want))
    t.check(len(recs) == 2, "%d records, expected 2" % len(recs))

    # httpx (the official Python SDKs' transport) writes headers and body
    # apart: a model-scoped policy needs the body, which the shim waits for
    # before anything of the request leaves.
    ledger_hx = os.path.join(tdir, "ledger-httpx")
    budget_set(t, env, ledger_hx, policy, "model:%s,day,usd=0,downgrade:%s" % (asked, DOWNGRADE_TO))
    hx = PyClient(t, env, tdir, "httpx-h1", "httpx-h1", [ex], ledger_hx)
    res = hx.finish()
    t.check(len(res) == 1 and res[0].get("status") == 200, "httpx: %s %s"
            % (res, hx.stderr()[-300:]))
    got = received(t, env, hx.tag)
    t.check([e["model"] for e in got] == [DOWNGRADE_TO], "httpx: the server received models %s, "
            "expected %s" % ([e["model"] for e in got], DOWNGRADE_TO))
    recs = records(t, env, ledger_hx)
    t.check(len(recs) == 1 and recs[0].get("downgraded") is True and
            recs[0].get("requested_model") == asked,
            "httpx: downgraded record expected, got %s" % recs)

    # HTTP/2 (curl's default, httpx http2=True): the request is held until
    # its body is whole and rewritten at the length the program announced
    # (content-length, flow-control windows): the longer name takes
    # whitespace the body has between its tokens.  The policy of the
    # issue: model:gpt-4o, downgrade:gpt-4o-mini.  A call the policy does
    # not govern opens the connection first.
    gpt4o = dict(load_json(ex.case["request_path"]), model="gpt-4o")
    path4o = os.path.join(tdir, "req-gpt-4o.json")
    with open(path4o, "w") as f:
        json.dump(gpt4o, f, indent=2)
    ex4o = t.ex(OPENAI, path4o)
    size4o = os.path.getsize(path4o)
    ledger2 = os.path.join(tdir, "ledger-h2")
    budget_set(t, env, ledger2, policy, "model:gpt-4o,day,usd=0,downgrade:%s" % DOWNGRADE_TO)
    other = t.ex("openai-chat-stream")
    c2 = curl(t, env, tdir, "h2", [other, ex4o, ex4o], ledger2, http="2")
    t.check(c2.rc == 0 and c2.codes() == ["200", "200", "200"] and
            all(tr.version == "2" for tr in c2.transfers),
            "curl HTTP/2: exit %d, statuses %s, versions %s: %s"
            % (c2.rc, c2.codes(), [tr.version for tr in c2.transfers], tail(c2.stderr)))
    got = received(t, env, c2.tag)
    t.check([(e["model"], e["body_len"], e["proto"]) for e in got[1:]] == [(DOWNGRADE_TO, size4o, "h2")] * 2
            and all(e["max_tokens"] == 200 for e in got[1:]) and len(got) == 3,
            "curl HTTP/2: the server received %s, expected %s twice (the body at its length, "
            "max_tokens 200)" % ([(e["model"], e["body_len"], e["proto"], e["max_tokens"]) for e in got],
                                 (DOWNGRADE_TO, size4o, "h2")))
    recs = [r for r in records(t, env, ledger2) if r.get("downgraded")]
    t.check(len(recs) == 2 and all(r["requested_model"] == "gpt-4o" and r["policy"] == policy
                                   and r["status"] == 200 for r in recs),
            "curl HTTP/2: downgraded records %s" % json.dumps(recs)[:300])

    ledger_hx2 = os.path.join(tdir, "ledger-httpx-h2")
    budget_set(t, env, ledger_hx2, policy, "model:gpt-4o,day,usd=0,downgrade:%s" % DOWNGRADE_TO)
    hx2 = PyClient(t, env, tdir, "httpx-h2", "httpx-h2", [ex4o, ex4o], ledger_hx2)
    res = hx2.finish()
    t.check([r.get("status") for r in res] == [200, 200] and
            all(r.get("http_version") == "HTTP/2" for r in res),
            "httpx http2=True: %s %s" % ([(r.get("status"), r.get("http_version"), r.get("error"))
                                          for r in res], hx2.stderr()[-300:]))
    got = received(t, env, hx2.tag)
    t.check([(e["model"], e["body_len"], e["proto"]) for e in got] == [(DOWNGRADE_TO, size4o, "h2")] * 2,
            "httpx http2=True: the server received %s" % [(e["model"], e["body_len"], e["proto"])
                                                          for e in got])
    recs = records(t, env, ledger_hx2)
    t.check(len(recs) == 2 and all(r.get("downgraded") and r.get("requested_model") == "gpt-4o"
                                   for r in recs),
            "httpx http2=True: records %s" % json.dumps(recs)[:300])

    # A body with no whitespace to give cannot take the longer name at its
    # announced length: the fallback (block) applies, said once.
    compact = os.path.join(tdir, "req-gpt-4o-compact.json")
    with open(compact, "w") as f:
        json.dump(gpt4o, f, separators=(",", ":"))
    exc = t.ex(OPENAI, compact)
    ledger3 = os.path.join(tdir, "ledger-h2-compact")
    budget_set(t, env, ledger3, policy, "model:gpt-4o,day,usd=0,downgrade:%s" % DOWNGRADE_TO)
    c3 = curl(t, env, tdir, "h2-compact", [other, exc, exc], ledger3, http="2")
    t.check(c3.codes() == ["200", "429", "429"], "HTTP/2, no room: statuses %s, expected 200 then "
            "the fallback's 429 twice: %s" % (c3.codes(), tail(c3.stderr)))
    said = [l for l in c3.tg_lines() if "cannot rewrite" in l]
    t.check(len(said) == 1 and policy in said[0], "HTTP/2 fallback said %d times: %s"
            % (len(said), c3.tg_lines()))
    t.check(len(received(t, env, c3.tag)) == 1, "HTTP/2: the server received a refused stream")
    _ok, blocked = allowed_and_blocked(records(t, env, ledger3))
    check_blocked_records(t, blocked, policy, "gpt-4o", 2, "HTTP/2 fallback")
    return "# curl h1, httpx h1, curl h2, httpx h2: downgraded; h2 compact body: fallback"


def h2_big_body(t, env, tdir):
    """A body larger than the program's HTTP/2 send window cannot be held
    whole: the program would wait for credit that only the held bytes
    reaching the server could bring.  The hold ends when the window runs
    out; a call the policy governs gets the fallback (said once), one it
    does not govern reaches the server intact; nothing waits."""
    policy = "cheaper"
    base = load_json(t.cases[OPENAI]["request_path"])
    big = dict(base, model="gpt-4o")
    big["messages"] = [dict(base["messages"][0], content="PROMPT-SECRET-big " + "x" * 300000)]
    path = os.path.join(tdir, "big.req.json")
    with open(path, "w") as f:
        json.dump(big, f, indent=2)
    other_path = os.path.join(tdir, "big-other.req.json")
    with open(other_path, "w") as f:
        json.dump(dict(big, model="gpt-4.1"), f, indent=2)
    size = os.path.getsize(other_path)
    notes = []
    for client in ("curl-h2", "httpx-h2"):
        ledger = os.path.join(tdir, "ledger-" + client)
        budget_set(t, env, ledger, policy, "model:gpt-4o,day,usd=0,downgrade:%s" % DOWNGRADE_TO)
        exs = [t.ex(OPENAI, other_path), t.ex(OPENAI, path)]
        if client == "curl-h2":
            c = curl(t, env, tdir, client, exs, ledger, http="2", extra_env=None)
            codes, tag, lines = c.codes(), c.tag, c.tg_lines()
        else:
            p = PyClient(t, env, tdir, client, client, exs, ledger)
            res = p.finish()
            codes = [str(r.get("status")) for r in res]
            tag, lines = p.tag, [l for l in p.stderr().splitlines() if l.startswith("tokenguard: ")]
        got = received(t, env, tag)
        t.check(codes == ["200", "429"], "%s: statuses %s, expected 200 (not governed) then the "
                "fallback's 429" % (client, codes))
        t.check([(e["model"], e["body_len"]) for e in got] == [("gpt-4.1", size)],
                "%s: the server received %s, expected the ungoverned call whole (%d bytes)"
                % (client, [(e["model"], e["body_len"]) for e in got], size))
        said = [l for l in lines if "cannot rewrite" in l]
        t.check(len(said) == 1, "%s: the fallback said %d times: %s" % (client, len(said), lines))
        notes.append("%s %d-byte bodies" % (client, size))
    return "# " + ", ".join(notes)


# ---------------------------------------------------------------- model: in the URL

SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0"   # as the SDKs escape Bedrock ids
GEMINI_PRO = "/v1beta/models/gemini-2.5-pro:generateContent"
AZURE_DEPLOYMENT = "gpt-4o-prod"                              # the azure-chat-stream case's


def url_ex(t, case, path=None, request=None):
    """An exchange of case sent to another path (the model in its URL)."""
    ex = t.ex(case, request)
    if path is not None:
        ex.case = dict(ex.case, path=path)
    return ex


def check_refused(t, tr, policy, what):
    """A refusal in any provider's shape: 429, not to be retried, naming
    the policy, a JSON document that says so."""
    t.check(tr.code == "429", "%s: status %s, expected 429" % (what, tr.code))
    t.check(tr.headers.get("x-should-retry") == "false" and
            tr.headers.get("x-tokenguard-policy") == policy,
            "%s: headers %s" % (what, tr.headers))
    t.check("'%s'" % policy in tr.body.decode(errors="replace") and tr.json() is not None,
            "%s: body %r" % (what, tr.body[:200]))


def blocks(t, env, tdir, label, ex, spec, model, http):
    """One call under spec (policy "url"): refused, nothing received, one
    blocked record naming model."""
    ledger = os.path.join(tdir, "ledger-" + label)
    budget_set(t, env, ledger, "url", spec)
    c = curl(t, env, tdir, label, [ex], ledger, http=http)
    check_refused(t, c.transfers[0], "url", label)
    t.check(received(t, env, c.tag) == [], "%s: the server received the refused call" % label)
    _ok, blocked = allowed_and_blocked(records(t, env, ledger))
    check_blocked_records(t, blocked, "url", model, 1, label)


def model_in_url(t, env, tdir):
    """model: scopes govern the APIs that name the model in the URL
    (Gemini, Bedrock Converse and InvokeModel) and Azure deployments,
    whose URL names the user's own deployment: they match the name the
    URL gives (URL-decoded) or its price family, and for Azure the model
    the body names too.  block over HTTP/1.1 and HTTP/2; downgrade
    rewrites the request line over HTTP/1.1, and on HTTP/2 (HPACK-encoded
    :path, never re-encoded) and for Azure deployments (no deployment to
    map to) applies the fallback, said once."""
    sonnet_id = SONNET45.replace("%3A", ":")
    azure_body = os.path.join(tdir, "azure-with-model.req.json")
    with open(azure_body, "w") as f:
        json.dump(dict(load_json(t.cases["azure-chat-stream"]["request_path"]), model="gpt-4o"),
                  f, indent=2)
    blocked = [
        ("gemini", url_ex(t, "gemini-generate"), "model:gemini-2.5-flash", "gemini-2.5-flash"),
        ("converse-id", url_ex(t, "bedrock-converse", "/model/%s/converse" % SONNET45),
         "model:" + sonnet_id, sonnet_id),
        ("converse-family", url_ex(t, "bedrock-converse", "/model/%s/converse" % SONNET45),
         "model:claude-sonnet-4-5", sonnet_id),
        ("invoke-family", url_ex(t, "bedrock-invoke-claude", "/model/%s/invoke" % SONNET45),
         "model:claude-sonnet-4-5", sonnet_id),
        ("azure-deployment", url_ex(t, "azure-chat-stream"), "model:" + AZURE_DEPLOYMENT,
         AZURE_DEPLOYMENT),
        ("azure-body-deployment", url_ex(t, "azure-chat-stream", request=azure_body),
         "model:" + AZURE_DEPLOYMENT, "gpt-4o"),
        ("azure-body-model", url_ex(t, "azure-chat-stream", request=azure_body), "model:gpt-4o",
         "gpt-4o"),
    ]
    for name, ex, scope, model in blocked:
        for http in ("1.1", "2"):
            blocks(t, env, tdir, "%s-h%s" % (name, http[0]), ex, "%s,day,usd=0,block" % scope,
                   model, http)

    # Spend counts under the deployment's name too (the record keeps it as
    # requested_model): a positive limit stops the calls after the first,
    # in the day's totals and in a session window alike.
    for window in ("day", "session"):
        label = "azure-spend-" + window
        ledger = os.path.join(tdir, "ledger-" + label)
        budget_set(t, env, ledger, "url", "model:%s,%s,usd=0.00000001,block" % (AZURE_DEPLOYMENT, window))
        ex = url_ex(t, "azure-chat-stream")
        c = curl(t, env, tdir, label, [ex, ex, ex], ledger)
        t.check(c.codes() == ["200", "429", "429"] and len(received(t, env, c.tag)) == 1,
                "%s: statuses %s, server received %d; expected the deployment's spend to stop "
                "the calls after the first" % (label, c.codes(), len(received(t, env, c.tag))))

    # A scope that names another model leaves the call alone.
    ledger = os.path.join(tdir, "ledger-other")
    budget_set(t, env, ledger, "url", "model:gemini-2.5-pro,day,usd=0,block")
    c = curl(t, env, tdir, "other", [url_ex(t, "gemini-generate")], ledger)
    t.check(c.codes() == ["200"] and len(received(t, env, c.tag)) == 1,
            "model:gemini-2.5-pro blocked a gemini-2.5-flash call: %s" % c.codes())

    # Downgrade over HTTP/1.1: the server gets the cheaper model's path.
    downgrades = [
        ("gemini", url_ex(t, "gemini-generate", GEMINI_PRO), "gemini-2.5-pro", "gemini-2.5-flash",
         "gemini-2.5-pro", t.cases["gemini-generate"]["path"]),
        ("converse", url_ex(t, "bedrock-converse", "/model/%s/converse" % SONNET45),
         "claude-sonnet-4-5", "anthropic.claude-3-5-sonnet-20240620-v1:0", sonnet_id,
         t.cases["bedrock-converse"]["path"]),
    ]
    for name, ex, scope, target, asked, want_path in downgrades:
        spec = "model:%s,day,usd=0,downgrade:%s" % (scope, target)
        for client in ("curl-h1", "httpx-h1", "curl-h2"):
            if client == "httpx-h1" and name != "gemini":
                continue
            label = "down-%s-%s" % (name, client)
            ledger = os.path.join(tdir, "ledger-" + label)
            budget_set(t, env, ledger, "url", spec)
            if client.startswith("curl"):
                c = curl(t, env, tdir, label, [ex], ledger, http="1.1" if client == "curl-h1" else "2")
                status, tag, lines = c.codes()[0], c.tag, c.tg_lines()
            else:
                p = PyClient(t, env, tdir, label, client, [ex], ledger)
                res = p.finish()
                status, tag = str(res[0].get("status") if res else None), p.tag
                lines = [l for l in p.stderr().splitlines() if l.startswith("tokenguard: ")]
            got = received(t, env, tag)
            recs = records(t, env, ledger)
            if client == "curl-h2":
                said = [l for l in lines if "cannot rewrite" in l]
                t.check(status == "429" and got == [] and len(said) == 1,
                        "%s: status %s, server received %d, fallback said %d times: %s"
                        % (label, status, len(got), len(said), lines))
                _ok, bl = allowed_and_blocked(recs)
                check_blocked_records(t, bl, "url", asked, 1, label)
                continue
            t.check(status == "200" and [e["path"].split("?")[0] for e in got] == [want_path],
                    "%s: status %s, the server received %s, expected %s"
                    % (label, status, [e["path"] for e in got], want_path))
            want = {"downgraded": True, "requested_model": asked, "policy": "url",
                    "model": target, "status": 200, "blocked": False}
            bad = [] if len(recs) == 1 else ["%d records" % len(recs)]
            bad += ["%s=%s" % (k, json.dumps(recs[0].get(k))) for k, v in want.items()
                    if recs and recs[0].get(k) != v]
            t.check(not bad, "%s: record: %s (expected %s)" % (label, ", ".join(bad), want))

    # Azure: the deployment is the user's own name; no other is known to
    # downgrade to: the fallback (block), said once, on both transports.
    for http in ("1.1", "2"):
        label = "down-azure-h" + http[0]
        ledger = os.path.join(tdir, "ledger-" + label)
        budget_set(t, env, ledger, "url", "model:%s,day,usd=0,downgrade:gpt-4o-mini" % AZURE_DEPLOYMENT)
        ex = url_ex(t, "azure-chat-stream", request=azure_body)
        c = curl(t, env, tdir, label, [ex, ex], ledger, http=http)
        said = [l for l in c.tg_lines() if "cannot rewrite" in l]
        t.check(c.codes() == ["429", "429"] and received(t, env, c.tag) == [] and len(said) == 1,
                "%s: statuses %s, server received %d, fallback said %d times: %s"
                % (label, c.codes(), len(received(t, env, c.tag)), len(said), c.tg_lines()))
    return ("# block h1+h2: gemini, bedrock converse (id, family), invoke (family), azure "
            "(deployment, body model); downgrade h1: gemini (curl, httpx), bedrock converse; "
            "fallback: h2, azure")


# What each API's clamp must write, and where the fake provider reports it:
# (case, cap keys removed from the body, the key the server must get, the
# log field it shows up in).
CAP_APIS = [
    ("openai-chat", ["max_tokens"], "max_completion_tokens", "max_completion_tokens"),
    ("openai-responses", ["max_output_tokens"], "max_output_tokens", "max_output_tokens"),
    ("anthropic-messages", ["max_tokens"], "max_tokens", "max_tokens"),
    ("gemini-generate", ["generationConfig"], "generationConfig.maxOutputTokens",
     "gemini_max_output_tokens"),
    ("bedrock-converse", ["inferenceConfig"], "inferenceConfig.maxTokens", "bedrock_max_tokens"),
]
CAP = 7


def clamp_cap_keys(t, env, tdir):
    """A clamp writes the cap each API reads: inserted when the body has
    none (over HTTP/1.1 and HTTP/2, curl and httpx), replaced in place when
    it has one (HTTP/2, where the smaller number is padded to the body's
    announced length); the fake provider reports the key and value it
    received.  The limit is CAP tokens on a fresh ledger, so CAP output
    tokens are affordable whatever the price.  Over HTTP/2 an insertion
    needs as much whitespace between the body's tokens as it adds: a body
    without it gets the fallback."""
    covered = []

    def run(label, client, ex, ledger):
        if client.startswith("curl"):
            c = curl(t, env, tdir, label, [ex], ledger, http="1.1" if client == "curl-h1" else "2")
            return c.codes()[0], c.tag, c.tg_lines(), tail(c.stderr)
        p = PyClient(t, env, tdir, label, client, [ex], ledger)
        res = p.finish()
        err = p.stderr()
        return (str(res[0].get("status") if res else None), p.tag,
                [l for l in err.splitlines() if l.startswith("tokenguard: ")], err[-300:])

    for case, drop, key, field in CAP_APIS:
        fixture = load_json(t.cases[case]["request_path"])
        absent = {k: v for k, v in fixture.items() if k not in drop}
        if case == "openai-responses":
            # Its input as a list of messages, as the SDKs send a
            # conversation: a body with room for the insertion.
            absent["input"] = [{"role": "user", "content": absent["input"]}]
        # A body that has a cap keeps its key: the openai-chat fixture
        # asks with max_tokens, which the request then gets.
        variants = [("absent", absent, ("curl-h1", "curl-h2", "httpx-h2"), key, field),
                    ("present", fixture, ("curl-h2",), drop[0] if case == OPENAI else key,
                     drop[0] if case == OPENAI else field)]
        for variant, body, clients, key, field in variants:
            path = os.path.join(tdir, "%s-%s.req.json" % (case, variant))
            with open(path, "w") as f:
                json.dump(body, f, indent=2)
            ex = t.ex(case, path)
            size = os.path.getsize(path)
            for client in clients:
                label = "%s-%s-%s" % (case, variant, client)
                ledger = os.path.join(tdir, "ledger-" + label)
                # Gemini and Bedrock name their model in the URL only: a
                # model: scope (Bedrock's by its price family) must still
                # match it.
                scope = {"gemini-generate": "model:gemini-2.5-flash",
                         "bedrock-converse": "model:claude-3-5-sonnet"}.get(case, "global")
                budget_set(t, env, ledger, "cap", "%s,day,tokens=%d,clamp" % (scope, CAP))
                status, tag, _lines, err = run(label, client, ex, ledger)
                got = received(t, env, tag)
                t.check(status == "200" and len(got) == 1, "%s: status %s, the server received %d: %s"
                        % (label, status, len(got), err))
                e = got[0]
                t.check(e.get(field) == CAP, "%s: the server received %s=%r, expected %s=%d"
                        % (label, field, e.get(field), key, CAP))
                others = [k for k in ("max_tokens", "max_completion_tokens", "max_output_tokens",
                                      "gemini_max_output_tokens", "bedrock_max_tokens")
                          if k != field and e.get(k) is not None]
                t.check(not others, "%s: the server also received %s" % (label, others))
                if client != "curl-h1":
                    t.check(e["proto"] == "h2" and e["body_len"] == size,
                            "%s: %s body of %d bytes, expected h2 and %d (its announced length)"
                            % (label, e["proto"], e["body_len"], size))
                recs = records(t, env, ledger)
                t.check(len(recs) == 1 and recs[0].get("clamped") is True and recs[0]["policy"] == "cap",
                        "%s: records %s" % (label, json.dumps(recs)[:300]))
            covered.append("%s %s" % (variant, key))

    # No room: a compact body over HTTP/2 cannot take the insertion at its
    # length; the fallback (block) applies and is said once.
    path = os.path.join(tdir, "compact.req.json")
    with open(path, "w") as f:
        json.dump({k: v for k, v in load_json(t.cases[OPENAI]["request_path"]).items()
                   if k != "max_tokens"}, f, separators=(",", ":"))
    ledger = os.path.join(tdir, "ledger-compact")
    budget_set(t, env, ledger, "cap", "global,day,tokens=%d,clamp" % CAP)
    for client in ("curl-h2", "httpx-h2"):
        status, tag, lines, err = run("compact-" + client, client, t.ex(OPENAI, path), ledger)
        t.check(status == "429" and received(t, env, tag) == [],
                "%s, compact body: status %s, the server received %d: %s"
                % (client, status, len(received(t, env, tag)), err))
        said = [l for l in lines if "cannot rewrite" in l]
        t.check(len(said) == (1 if client == "curl-h2" else 0),
                "%s, compact body: the fallback said %d times: %s" % (client, len(said), lines))
    return "# inserted (curl h1, curl h2, httpx h2) and replaced (curl h2): " + ", ".join(covered)


def clamp(t, env, tdir):
    """The server receives the max output tokens the rest of the budget
    pays for at the model's output price, under the key the request used."""
    policy = "tight"
    base = load_json(t.cases[OPENAI]["request_path"])
    per_token = output_price("openai", base["model"])
    completion = {k: v for k, v in base.items() if k != "max_tokens"}
    completion["max_completion_tokens"] = base["max_tokens"]
    variants = [("max_tokens", base), ("max_completion_tokens", completion),
                ("absent", {k: v for k, v in base.items() if k != "max_tokens"})]
    notes = []
    for name, body in variants:
        path = os.path.join(tdir, "req-%s.json" % name)
        with open(path, "w") as f:
            json.dump(body, f)
        ex = t.ex(OPENAI, path)
        ledger = os.path.join(tdir, "ledger-" + name)
        seed = curl(t, env, tdir, "seed-" + name, [t.ex(OPENAI)], ledger)
        t.check(seed.codes() == ["200"], "seed call: %s" % seed.codes())
        spent = records(t, env, ledger)[0]["cost_usd"]
        # A little left: what pays for 7.75 output tokens.
        limit = round(spent + 7.75 * per_token, 9)
        budget_set(t, env, ledger, policy, "global,day,usd=%r,clamp" % limit)
        st = budget_status(t, env, ledger)[policy]
        want = math.floor((limit - st["spend_usd"]) / per_token)
        c = curl(t, env, tdir, "clamp-" + name, [ex, ex], ledger)
        got = received(t, env, c.tag)
        t.check(c.codes()[0] == "200" and len(got) >= 1, "%s: statuses %s" % (name, c.codes()))
        key = "max_completion_tokens" if name == "absent" else name
        other = "max_completion_tokens" if key == "max_tokens" else "max_tokens"
        t.check(got[0][key] == want and got[0][other] is None,
                "%s: the server received %s=%s, %s=%s; expected %s=%d (($%r - $%r) / $%g per "
                "token)" % (name, key, got[0][key], other, got[0][other], key, want, limit,
                            st["spend_usd"], per_token))
        t.check(got[0]["model"] == base["model"], "%s: model changed to %s" % (name, got[0]["model"]))
        recs = records(t, env, ledger)
        clamped = [r for r in recs if r.get("clamped")]
        t.check(len(clamped) == 1 and clamped[0]["policy"] == policy and
                clamped[0]["downgraded"] is False and clamped[0]["status"] == 200,
                "%s: clamped records %s" % (name, json.dumps(clamped)[:300]))
        # Now over the limit: nothing is affordable, so the fallback blocks.
        t.check(c.codes()[1] == "429" and len(got) == 1, "%s: the call after the clamped one: %s, "
                "server received %d; expected 429 and 1" % (name, c.codes()[1], len(got)))
        notes.append("%s=%d" % (key, want))

    # A request already asking for fewer tokens than affordable is left alone.
    few = dict(base, max_tokens=3)
    path = os.path.join(tdir, "req-few.json")
    with open(path, "w") as f:
        json.dump(few, f)
    ledger = os.path.join(tdir, "ledger-few")
    budget_set(t, env, ledger, policy, "global,day,usd=%r,clamp" % (7.75 * per_token))
    c = curl(t, env, tdir, "few", [t.ex(OPENAI, path)], ledger)
    got = received(t, env, c.tag)
    t.check(c.codes() == ["200"] and got[0]["max_tokens"] == 3 and
            got[0]["body_len"] == os.path.getsize(path),
            "max_tokens=3 under a clamp of 7: the server received %s" % got)
    t.check(not any(r.get("clamped") for r in records(t, env, ledger)), "a record says clamped")
    return "# " + ", ".join(notes)


def warn(t, env, tdir):
    policy = "heads-up"
    ex = t.ex(OPENAI)
    ledger = os.path.join(tdir, "ledger")
    limit, alert = 0.001, 50
    budget_set(t, env, ledger, policy, "global,day,usd=%g,warn,alert=%d" % (limit, alert))
    lines, states, before = [], [], []
    for i in range(8):
        ok = [r for r in records(t, env, ledger) if not r["blocked"]]
        before.append(sum(r["cost_usd"] for r in ok))
        c = curl(t, env, tdir, "call%d" % i, [ex], ledger)
        t.check(c.codes() == ["200"], "call %d: status %s: a warn policy refused" % (i, c.codes()))
        lines.append([l for l in c.tg_lines() if l.startswith("tokenguard: budget '%s'" % policy)])
        states.append(budget_status(t, env, ledger)[policy])
    # Expected: the threshold line on the first call whose committed spend
    # reached 50%, the limit line on the first at 100%; nothing else.
    thr = next(i for i, s in enumerate(before) if s >= limit * alert / 100 and s < limit)
    lim = next(i for i, s in enumerate(before) if s >= limit)
    for i, got in enumerate(lines):
        want = (["alert threshold reached"] if i == thr else []) + \
               (["limit reached"] if i == lim else [])
        t.check(len(got) == len(want) and all(w in g for w, g in zip(want, got)),
                "call %d (spend $%.6f before it): stderr budget lines %s, expected %s"
                % (i, before[i], got, want))
    for i, st in enumerate(states[:-1]):
        spend = before[i + 1]
        want = "over" if spend >= limit else "alert" if spend >= limit * alert / 100 else "ok"
        t.check(st["state"] == want and st["action"] == "warn",
                "status after call %d: state %s, expected %s: %s" % (i, st["state"], want,
                                                                     json.dumps(st)))
    final = states[-1]
    t.check(final["state"] == "over" and final["percent_used"] >= 100 and
            final["last_blocked"] is None and final["calls"] == 8,
            "final status: %s" % json.dumps(final))
    sent = sum(len(received(t, env, "%s/call%d" % (os.path.basename(tdir), i))) for i in range(8))
    t.check(sent == 8, "the fake provider received %d of the 8 calls" % sent)
    return "# threshold said on call %d, limit on call %d, of 8" % (thr + 1, lim + 1)


def two_processes_share(t, env, tdir):
    """A and B stay alive on their own connections; neither alone spends the
    limit, together they do, and B's next call is refused."""
    policy = "shared"
    ex = t.ex(OPENAI)
    ledger = os.path.join(tdir, "ledger")
    seed = curl(t, env, tdir, "seed", [ex], os.path.join(tdir, "ledger-price"))
    cost = records(t, env, os.path.join(tdir, "ledger-price"))[0]["cost_usd"]
    limit = round(2.5 * cost, 9)
    t.check(seed.codes() == ["200"], "seed call: %s" % seed.codes())
    budget_set(t, env, ledger, policy, "global,day,usd=%r,block" % limit)
    a = PyClient(t, env, tdir, "A", "requests", [ex] * 3, ledger, step=True)
    b = PyClient(t, env, tdir, "B", "requests", [ex] * 3, ledger, step=True)
    try:
        seq = [("A", a.step()), ("B", b.step()), ("A", a.step()), ("B", b.step()),
               ("A", a.step())]
    finally:
        a.finish()
        b.finish()
    got = [(who, r["status"]) for who, r in seq]
    want = [("A", 200), ("B", 200), ("A", 200), ("B", 429), ("A", 429)]
    t.check(got == want, "calls %s, expected %s (limit %.1f calls)" % (got, want, limit / cost))
    t.check(all(r["error"] is None for _w, r in seq), "errors: %s" % [r["error"] for _w, r in seq])
    recs = records(t, env, ledger)
    ok, blocked = allowed_and_blocked(recs)
    per_pid = {}
    for r in ok:
        per_pid[r["pid"]] = per_pid.get(r["pid"], 0) + 1
    t.check(per_pid == {a.pid: 2, b.pid: 1}, "calls sent per pid %s, expected A (%d) 2, B (%d) 1"
            % (per_pid, a.pid, b.pid))
    t.check(sorted(r["pid"] for r in blocked) == sorted([a.pid, b.pid]),
            "blocked records name pids %s" % [r["pid"] for r in blocked])
    t.check(len(received(t, env, a.tag)) == 2 and len(received(t, env, b.tag)) == 1,
            "the fake provider received %d from A and %d from B, expected 2 and 1"
            % (len(received(t, env, a.tag)), len(received(t, env, b.tag))))
    return "# limit $%r = 2.5 calls; B refused at a combined $%.6f" % (limit, 3 * cost)


def fail_closed(t, env, tdir):
    ex = t.ex(OPENAI)
    blocker = os.path.join(tdir, "not-a-directory")
    open(blocker, "w").close()
    ledger = os.path.join(blocker, "ledger")
    closed = curl(t, env, tdir, "closed", [ex, ex], ledger, extra_env={"TOKENGUARD_FAIL": "closed"})
    t.check(closed.rc == 0 and closed.codes() == ["429", "429"], "TOKENGUARD_FAIL=closed: exit %d, "
            "statuses %s, expected 429 429" % (closed.rc, closed.codes()))
    for tr in closed.transfers:
        msg = check_openai_refusal(t, tr.code, tr.headers, tr.json(), "fail-closed", "closed")
        t.check("TOKENGUARD_FAIL=closed" in msg, "closed: message %r" % msg)
    t.check(received(t, env, closed.tag) == [], "TOKENGUARD_FAIL=closed: the server received %d "
            "requests" % len(received(t, env, closed.tag)))
    h2 = curl(t, env, tdir, "closed-h2", [ex], ledger, http="2",
              extra_env={"TOKENGUARD_FAIL": "closed"})
    t.check(received(t, env, h2.tag) == [], "TOKENGUARD_FAIL=closed over HTTP/2: the server "
            "received the request")
    for mode, extra in (("open", {"TOKENGUARD_FAIL": "open"}), ("default", {})):
        c = curl(t, env, tdir, mode, [ex, ex], ledger, extra_env=extra)
        t.check(c.rc == 0 and c.codes() == ["200", "200"], "TOKENGUARD_FAIL %s: statuses %s"
                % (mode, c.codes()))
        t.check(len(received(t, env, c.tag)) == 2, "TOKENGUARD_FAIL %s: the server received %d"
                % (mode, len(received(t, env, c.tag))))
    t.check(h2.codes() == ["429"] and h2.rc == 0, "TOKENGUARD_FAIL=closed over HTTP/2 (first stream "
            "of the connection): curl exit %d, status %s, expected 429: %s"
            % (h2.rc, h2.codes(), tail(h2.stderr)))
    return ""


def requests_httpx(t, env, tdir):
    policy = "zero"
    ex = t.ex(OPENAI)
    ledger = os.path.join(tdir, "ledger")
    budget_set(t, env, ledger, policy, "global,day,usd=0,block")
    bad = []
    for lib in ("requests", "httpx-h1", "httpx-h2"):
        p = PyClient(t, env, tdir, lib, lib, [ex, ex], ledger)
        res = p.finish()
        t.check(len(res) == 2, "%s: %d results: %s" % (lib, len(res), p.stderr()[-300:]))
        for r in res:
            what = "%s call %d" % (lib, r["index"])
            try:
                t.check(r["error"] is None, "%s raised %s" % (what, r["error"]))
                t.check(r["seconds"] < 10, "%s took %.1f s" % (what, r["seconds"]))
                try:
                    doc = json.loads(r["body"])
                except ValueError:
                    doc = None
                check_openai_refusal(t, r["status"], r["headers"], doc, policy, what)
            except t.h.Failure as e:
                bad.append(str(e))
        t.check(received(t, env, p.tag) == [], "%s: the server received a refused call" % lib)
    t.check(not bad, "; ".join(bad))
    return ""


def env_policy(t, env, tdir):
    ex = t.ex(OPENAI)
    ledger = os.path.join(tdir, "ledger")
    session = {"TOKENGUARD_BUDGETS": "global,session,usd=0.0001,block"}
    first = curl(t, env, tdir, "first", [ex, ex, ex], ledger, extra_env=session)
    t.check(first.codes() == ["200", "429", "429"], "first process: statuses %s, expected 200 429 429"
            % first.codes())
    for tr in first.transfers[1:]:
        check_openai_refusal(t, tr.code, tr.headers, tr.json(), "env1", "session policy")
    second = curl(t, env, tdir, "second", [ex, ex], ledger, extra_env=session)
    t.check(second.codes() == ["200", "429"], "second process: statuses %s, expected 200 429 (its "
            "own session)" % second.codes())
    plain = curl(t, env, tdir, "plain", [ex], ledger)
    t.check(plain.codes() == ["200"], "a process without TOKENGUARD_BUDGETS: %s" % plain.codes())
    ok, blocked = allowed_and_blocked(records(t, env, ledger))
    t.check(len(ok) == 3, "%d records of calls sent, expected 3" % len(ok))
    check_blocked_records(t, blocked, "env1", "gpt-4.1", 3, "session policy")
    t.check(len(received(t, env, first.tag)) == 1,
            "first process: the server received %d" % len(received(t, env, first.tag)))

    invalid = [("global,fortnight,usd=1,block", "fortnight"),
               ("global,day,usd=abc,block", "usd"),
               ("global,day,usd=1,block;tag:team,day,usd=1,block", "policy 2")]
    for i, (spec, named) in enumerate(invalid):
        c = curl(t, env, tdir, "invalid%d" % i, [ex], ledger, extra_env={"TOKENGUARD_BUDGETS": spec})
        said = [l for l in c.tg_lines() if "TOKENGUARD_BUDGETS" in l]
        t.check(c.codes() == ["200"], "invalid TOKENGUARD_BUDGETS %r: status %s" % (spec, c.codes()))
        t.check(len(said) == 1 and named in said[0], "invalid TOKENGUARD_BUDGETS %r: expected one "
                "warning naming %r, got %s" % (spec, named, c.tg_lines()))
    return "# e.g. " + said[0][:110]


def check_cli(t, env, tdir):
    ex = t.ex(OPENAI)
    ledger = os.path.join(tdir, "ledger")
    for i, team in enumerate(("search", "search", "ads")):
        c = curl(t, env, tdir, "call%d" % i, [ex], ledger, extra_env={"TOKENGUARD_TAGS": "team=" + team})
        t.check(c.codes() == ["200"], "call %d: %s" % (i, c.codes()))
    # A refused call costs nothing and must not count.
    budget_set(t, env, ledger, "no-ads", "tag:team=ads,day,usd=0,block")
    c = curl(t, env, tdir, "refused", [ex], ledger, extra_env={"TOKENGUARD_TAGS": "team=ads"})
    t.check(c.codes() == ["429"], "refused ads call: %s" % c.codes())
    ok, _blocked = allowed_and_blocked(records(t, env, ledger))
    cost = {team: sum(r["cost_usd"] for r in ok if r["tags"].get("team") == team)
            for team in ("search", "ads")}
    total = cost["search"] + cost["ads"]
    tokens = sum(r["input_tokens"] + r["output_tokens"] for r in ok)
    cases = [
        ([], total * 0.9, 1), ([], total * 1.1, 0),
        (["--tag", "team=search"], cost["search"] * 0.9, 1),
        (["--tag", "team=search"], cost["search"] * 1.1, 0),
        (["--tag", "team=ads"], cost["ads"] * 1.1, 0),
        (["--tag", "team=ads"], cost["ads"] * 0.9, 1),
    ]
    for flt, limit, rc in cases:
        args = ["check", "--ledger", ledger, "--max-usd", "%.7f" % limit] + flt
        p = report(t, env, args, rc=rc)
        line = p.stdout.decode().splitlines()[0] if p.stdout else ""
        want = "tokenguard: over budget" if rc else "tokenguard: ok"
        t.check(line.startswith(want), "%s: printed %r" % (" ".join(args), line))
    report(t, env, ["check", "--ledger", ledger, "--max-tokens", str(tokens)], rc=0)
    report(t, env, ["check", "--ledger", ledger, "--max-tokens", str(tokens - 1)], rc=1)
    return "# 3 calls ($%.6f), 1 refused; 8 limits checked" % total


LEDGER_PUT = os.environ.get("TG_IT_LEDGER_PUT", os.path.join(os.environ.get("TG_BUILD") or
                                                             os.path.join(TOP, "build"),
                                                             "ledger-put"))


def backdate(t, ledger, ts_us, usd):
    """A past OpenAI gpt-4.1 call of usd dollars at ts_us (whole seconds)
    put into ledger with helpers/ledger_put.c: a real call is always now."""
    line = "%d\topenai\tgpt-4.1\tbackdated\t100\t10\t%r\t-\n" % (ts_us // 1000000, usd)
    p = subprocess.run([LEDGER_PUT, ledger], input=line.encode(), capture_output=True,
                       timeout=TIMEOUT)
    t.check(p.returncode == 0, "ledger-put: exit %d: %s" % (p.returncode, p.stderr[:200]))


def iso_us(us):
    """As tg_when_iso writes it: 2026-11-22T08:33:11.123Z."""
    d = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (us % 1000000 // 1000)


def local_day(zone, now_us):
    """[start, end) in us of the local day of zone at now_us, by Python's
    own reading of the tz database: the oracle of the test below."""
    z = zoneinfo.ZoneInfo(zone)
    d = datetime.datetime.fromtimestamp(now_us / 1e6, z).date()
    midnight = lambda day: int(datetime.datetime(day.year, day.month, day.day, tzinfo=z)
                               .timestamp()) * 1000000
    return midnight(d), midnight(d + datetime.timedelta(days=1))


def zoned_day(t, env, tdir):
    ex = t.ex(OPENAI)
    now = int(time.time() * 1e6)
    # A zone whose local midnight is not within 5 minutes, so that the
    # day cannot turn while the test runs: India and Nepal are 15 minutes
    # apart and neither has DST.
    for zone in ("Asia/Kolkata", "Asia/Kathmandu"):
        start, end = local_day(zone, now)
        if end - now > 300 * 1000000:
            break
    utc_start = now - now % (86400 * 1000000)
    ledger = os.path.join(tdir, "ledger")
    backdate(t, ledger, start - 60 * 1000000, 5.0)   # the local day before: not counted
    budget_set(t, env, ledger, "local", "global,day@%s,usd=1,block" % zone)
    st = budget_status(t, env, ledger)["local"]
    t.check(st["window"] == "day@" + zone and st["window_start"] == iso_us(start)
            and st["resets"] == iso_us(end) and st["spend_usd"] == 0,
            "budget status of day@%s: window %r from %r to %r, spend %r; expected %s to %s, 0"
            % (zone, st["window"], st["window_start"], st["resets"], st["spend_usd"],
               iso_us(start), iso_us(end)))
    listed = report(t, env, ["budget", "list", "--ledger", ledger]).stdout.decode()
    t.check("global,day@%s,usd=1,block" % zone in listed, "budget list: %r" % listed[:300])
    # The host's TZ plays no part.
    first = curl(t, env, tdir, "first", [ex], ledger, extra_env={"TZ": "Pacific/Honolulu"})
    t.check(first.codes() == ["200"], "$5 spent the local day before: status %s, expected 200"
            % first.codes())
    backdate(t, ledger, start + (now - start) // 2 // 1000000 * 1000000, 5.0)   # this day: counted
    second = curl(t, env, tdir, "second", [ex], ledger, extra_env={"TZ": "Pacific/Honolulu"})
    t.check(second.codes() == ["429"], "$5 spent this local day: status %s, expected 429"
            % second.codes())
    tr = second.transfers[0]
    check_openai_refusal(t, tr.code, tr.headers, tr.json(), "local", "day@" + zone)
    t.check(len(received(t, env, second.tag)) == 0, "the refused call reached the provider")
    st = budget_status(t, env, ledger)["local"]
    t.check(st["state"] == "over" and st["window_start"] == iso_us(start)
            and st["last_blocked"] is not None and st["calls"] == 2,
            "budget status after the refusal: %s" % json.dumps(st)[:400])
    # calls: the two counted (the refused one cost nothing).
    # Alerts said once per window are keyed by the zoned window's start.
    p = report(t, env, ["budget", "alerts", "--format", "json", "--ledger", ledger])
    alerts = [a for a in json.loads(p.stdout) if a["policy"] == "local"]
    t.check(alerts and all(a["window_start"] == iso_us(start) for a in alerts),
            "alerts of day@%s: %s; expected each with window_start %s"
            % (zone, json.dumps(alerts)[:300], iso_us(start)))

    # The same zoned window from TOKENGUARD_BUDGETS against a UTC day:
    # a call $5 between the two days' starts is in one of them only, so
    # exactly one of the two refuses, whatever the hour the test runs.
    ledger2 = os.path.join(tdir, "ledger-env")
    lo, hi = min(start, utc_start), max(start, utc_start)
    mid = (lo + (hi - lo) // 2) // 1000000 * 1000000
    backdate(t, ledger2, mid, 5.0)
    in_local = start < utc_start
    for label, spec, counted in (("env-zoned", "global,day@%s,usd=1,block" % zone, in_local),
                                 ("env-utc", "global,day,usd=1,block", not in_local)):
        c = curl(t, env, tdir, label, [ex], ledger2, extra_env={"TOKENGUARD_BUDGETS": spec})
        want = ["429"] if counted else ["200"]
        t.check(c.codes() == want, "TOKENGUARD_BUDGETS %s with $5 spent at %s: %s, expected %s"
                % (spec, iso_us(mid), c.codes(), want))
    # A zone that cannot be read: that policy is refused with one line,
    # the call goes through.
    c = curl(t, env, tdir, "env-bad", [ex], ledger2,
             extra_env={"TOKENGUARD_BUDGETS": "global,day@No/Such_Zone,usd=0,block"})
    said = [l for l in c.tg_lines() if "No/Such_Zone" in l]
    t.check(c.codes() == ["200"] and len(said) == 1, "unknown zone: status %s, lines %s"
            % (c.codes(), c.tg_lines()))
    report(t, env, ["budget", "set", "bad", "global,day@No/Such_Zone,usd=1,block",
                    "--ledger", ledger2], rc=2)
    report(t, env, ["budget", "set", "bad", "global,24h@UTC,usd=1,block",
                    "--ledger", ledger2], rc=2)
    return "# day@%s from %s; a call between it and the UTC day's start counted by %s only" % (
        zone, iso_us(start), "it" if in_local else "the UTC day")


def overshoot_racing(t, env, tdir):
    ex = t.ex(OPENAI)
    runs, notes, worst = 3, [], None
    per_proc = 25
    for run in range(runs):
        ledger = os.path.join(tdir, "ledger%d" % run)
        # The price of one call, from a call recorded in this very ledger.
        seed = curl(t, env, tdir, "seed%d" % run, [ex], ledger)
        t.check(seed.codes() == ["200"], "seed call: %s" % seed.codes())
        cost = records(t, env, ledger)[0]["cost_usd"]
        limit = round(cost * 20.5, 9)
        budget_set(t, env, ledger, "race", "global,day,usd=%r,block" % limit)
        tag = "%s/race%d" % (os.path.basename(tdir), run)
        racers = [Curl(t, env, tdir, "r%d-p%d" % (run, k), [ex] * per_proc, ledger, tag=tag)
                  for k in range(RACERS)]
        for c in racers:
            c.wait(90)
        for c in racers:
            t.check(c.rc == 0 and set(c.codes()) <= {"200", "429"}, "%s: exit %d, statuses %s"
                    % (c.label, c.rc, c.codes()))
            codes = c.codes()
            # A refusal never lets a later call of the same process through.
            t.check("429" not in codes or "200" not in codes[codes.index("429"):],
                    "%s: a call went through after one was refused: %s" % (c.label, codes))
        ok, blocked = allowed_and_blocked(records(t, env, ledger))
        spend = sum(r["cost_usd"] for r in ok)
        sent = len(received(t, env, tag))
        t.check(sent == len(ok) - 1, "race %d: the server received %d, the ledger holds %d calls "
                "sent" % (run, sent, len(ok) - 1))
        t.check(len(ok) - 1 + len(blocked) == RACERS * per_proc, "race %d: %d + %d records for %d "
                "calls" % (run, len(ok) - 1, len(blocked), RACERS * per_proc))
        # One process alone stops at the first call made at or over the limit.
        alone = stop_index([cost] * (RACERS * per_proc + 1), limit)
        over_calls = len(ok) - alone
        over_usd = spend - limit
        bound = RACERS * cost
        t.check(over_usd <= bound + 1e-12, "race %d: spend $%.6f is $%.6f over the limit $%.6f, "
                "more than %d calls in flight can explain ($%.6f)"
                % (run, spend, over_usd, limit, RACERS, bound))
        notes.append("+%d calls/$%.6f" % (over_calls, over_usd))
        if worst is None or over_usd > worst[1]:
            worst = (over_calls, over_usd)
    return ("# overshoot past one-process stop, %d racers x %d calls, limit %.1f calls: %s; "
            "max +%d calls ($%.6f over the limit; bound %d calls = $%.6f)"
            % (RACERS, per_proc, 20.5, ", ".join(notes), worst[0], worst[1], RACERS,
               RACERS * cost))


# ---------------------------------------------------------------- no way around a USD limit

UNPRICED_MODEL = "command-zz-unlisted"   # a Cohere model the price table does not have
NO_USAGE = "openai-chat-stream-no-usage"  # an OpenAI stream without stream_options.include_usage


def unpriced_exchange(t, tdir):
    """cohere-chat asking for a model without a price line: Cohere's body
    names no model, so the record's model is the request's."""
    with open(t.cases["cohere-chat"]["request_path"]) as f:
        body = json.load(f)
    body["model"] = UNPRICED_MODEL
    path = os.path.join(tdir, "unpriced.req.json")
    with open(path, "w") as f:
        json.dump(body, f)
    return t.ex("cohere-chat", request=path)


def check_estimated(t, recs, what, model=None, usage_unknown=False):
    """Calls sent are charged an estimate, flagged, their counts as the wire
    gave them (null without usage)."""
    for r in recs:
        bad = []
        if not (r.get("cost_estimated") is True and isinstance(r.get("cost_usd"), (int, float))
                and r["cost_usd"] > 0):
            bad.append("cost_usd=%s cost_estimated=%s" % (r.get("cost_usd"), r.get("cost_estimated")))
        if model and (r.get("model") != model or r.get("unpriced") is not True):
            bad.append("model=%s unpriced=%s" % (r.get("model"), r.get("unpriced")))
        if usage_unknown and not (r.get("usage_unknown") is True and r.get("input_tokens") is None
                                  and r.get("output_tokens") is None):
            bad.append("usage_unknown=%s input=%s output=%s" % (r.get("usage_unknown"),
                       r.get("input_tokens"), r.get("output_tokens")))
        t.check(not bad, "%s: record %s" % (what, "; ".join(bad)))


def py_loop(t, env, tdir, label, ex, ledger, n):
    """One Python (requests) process making n calls on one connection;
    returns the statuses it read."""
    p = PyClient(t, env, tdir, label, "requests", [ex] * n, ledger)
    res = p.finish()
    t.check(len(res) == n and all(r["error"] is None for r in res),
            "%s: %d results, errors %s: %s" % (label, len(res), [r["error"] for r in res if r["error"]],
                                               p.stderr()[-300:]))
    return [r["status"] for r in res], p


def loop_stops_at_limit(t, env, tdir, ex, spec, limit, model, usage_unknown, unpriced_model=None):
    """curl (one process per call) and requests (one process, one
    connection) loop on ex under a usd= block limit: both stop where the
    recorded estimates reach it, and reports agree on the estimate."""
    policy = "cap"
    ledger = os.path.join(tdir, "ledger-curl")
    budget_set(t, env, ledger, policy, spec)
    runs = sent_until_refused(t, env, tdir, "curl", ex, ledger, "1.1", 60)
    ok, blocked = allowed_and_blocked(records(t, env, ledger))
    check_estimated(t, ok, "curl", unpriced_model, usage_unknown)
    k = stop_index([r["cost_usd"] for r in ok], limit)
    codes = [c.transfers[0].code for c in runs]
    t.check(k >= 2 and codes == ["200"] * k + ["429"] * 4, "curl: statuses %s, expected %d x 200 "
            "then 4 x 429 (from the recorded estimates)" % (" ".join(codes), k))
    t.check(len(received(t, env, runs[0].tag)) == k, "curl: the provider received %d calls, "
            "expected %d" % (len(received(t, env, runs[0].tag)), k))
    check_blocked_records(t, blocked, policy, model, 4, "curl")
    spend = sum(r["cost_usd"] for r in ok)
    for c in runs[k:]:
        tr = c.transfers[0]
        doc = tr.json() or {}
        msg = (doc.get("error") or {}).get("message") if ex.case["provider"] == "openai" else \
            doc.get("message")
        t.check(tr.headers.get("x-tokenguard-policy") == policy and isinstance(msg, str)
                and "estimated" in msg, "%s: refusal %r, headers %s" % (c.label, tr.body[:300],
                                                                    tr.headers))
    st = budget_status(t, env, ledger)[policy]
    t.check(st["state"] == "over" and st["calls"] == k and
            abs(st["spend_usd"] - spend) <= 1e-9 and abs(st["spend_usd_estimated"] - spend) <= 1e-9,
            "budget status: %s, the records say $%.9f" % (json.dumps(st), spend))
    p = report(t, env, ["summary", "--format", "json", "--ledger", ledger])
    doc = json.loads(p.stdout)
    total = doc.get("total", doc) if isinstance(doc, dict) else {}
    t.check(abs(total.get("estimated_cost_usd", -1) - spend) <= 1e-9,
            "summary: estimated_cost_usd %s, the records say $%.9f: %s"
            % (total.get("estimated_cost_usd"), spend, p.stdout[:300]))
    p = report(t, env, ["check", "--max-usd", "%g" % limit, "--ledger", ledger], rc=1)
    t.check(b"over budget: ~$" in p.stdout, "check: %r" % p.stdout[:300])

    ledger2 = os.path.join(tdir, "ledger-requests")
    budget_set(t, env, ledger2, policy, spec)
    statuses, pc = py_loop(t, env, tdir, "requests", ex, ledger2, k + 3)
    t.check(statuses == [200] * k + [429] * 3, "requests, one connection: statuses %s, expected "
            "%d x 200 then 3 x 429" % (statuses, k))
    t.check(len(received(t, env, pc.tag)) == k, "requests: the provider received %d calls"
            % len(received(t, env, pc.tag)))
    return k, spend


def unpriced_estimate(t, env, tdir):
    ex = unpriced_exchange(t, tdir)
    limit = 0.001
    k, spend = loop_stops_at_limit(t, env, tdir, ex, "global,day,usd=%g,block" % limit, limit,
                                   UNPRICED_MODEL, False, unpriced_model=UNPRICED_MODEL)
    # The estimate is the provider's highest rates: Cohere's in the table.
    rates = [tuple(float(x) for x in l.split("\t")[2:4]) for l in open(PRICES)
             if l.startswith("cohere\t")]
    want = (13 * max(r[0] for r in rates) + 18 * max(r[1] for r in rates)) / 1e6
    t.check(abs(spend / k - want) <= 1e-12, "each call estimated at $%.9f, expected $%.9f (13 in, "
            "18 out at Cohere's highest rates)" % (spend / k, want))

    # unpriced=allow: today's behaviour, the limit never reached.
    ledger = os.path.join(tdir, "ledger-allow")
    budget_set(t, env, ledger, "cap", "global,day,usd=%g,block,unpriced=allow" % limit)
    statuses, _ = py_loop(t, env, tdir, "allow", ex, ledger, k + 3)
    t.check(statuses == [200] * (k + 3), "unpriced=allow: statuses %s" % statuses)
    return "# %d calls estimated at $%.6f each, then refused" % (k, spend / k)


def unpriced_block(t, env, tdir):
    ex, priced = unpriced_exchange(t, tdir), t.ex("cohere-chat")
    ledger = os.path.join(tdir, "ledger")
    budget_set(t, env, ledger, "strict", "global,day,usd=5,block,unpriced=block")
    c = curl(t, env, tdir, "mixed", [ex, priced, ex], ledger)
    t.check(c.codes() == ["429", "200", "429"], "statuses %s, expected 429 200 429 (the unpriced "
            "model refused, the priced one sent)" % c.codes())
    doc = c.transfers[0].json() or {}
    t.check("no price" in str(doc.get("message")) and "unpriced=block" in str(doc.get("message")),
            "refusal: %r" % c.transfers[0].body[:300])
    t.check(len(received(t, env, c.tag)) == 1, "the provider received %d calls, expected 1"
            % len(received(t, env, c.tag)))
    ok, blocked = allowed_and_blocked(records(t, env, ledger))
    t.check(len(ok) == 1 and ok[0]["model"] == "command-a-03-2025" and not ok[0]["cost_estimated"],
            "records of calls sent: %s" % ok)
    check_blocked_records(t, blocked, "strict", UNPRICED_MODEL, 2, "unpriced=block")
    # The same over HTTP/2: the refused streams, the others carry on.
    h2 = curl(t, env, tdir, "mixed-h2", [ex, priced, ex], ledger, http="2")
    t.check(h2.codes() == ["429", "200", "429"] and
            all(tr.version == "2" for tr in h2.transfers),
            "HTTP/2: statuses %s, versions %s" % (h2.codes(), [tr.version for tr in h2.transfers]))
    t.check(len(received(t, env, h2.tag)) == 1, "HTTP/2: the provider received %d calls, expected 1"
            % len(received(t, env, h2.tag)))
    # A token-only policy has no USD limit to protect: unpriced=block is refused.
    p = report(t, env, ["budget", "set", "x", "global,day,tokens=5,block,unpriced=block",
                        "--ledger", ledger], rc=2)
    t.check(b"unpriced= applies to a usd= limit only" in p.stderr, "%r" % p.stderr[:200])
    return ""


def stream_no_usage(t, env, tdir):
    ex = t.ex(NO_USAGE)
    limit = 0.0001
    k, spend = loop_stops_at_limit(t, env, tdir, ex, "global,day,usd=%g,block" % limit, limit,
                                   "gpt-4o-mini", True)
    # A session window counts the estimates of its own process alike.
    ledger = os.path.join(tdir, "ledger-session")
    c = curl(t, env, tdir, "session", [ex] * (k + 2), ledger,
             extra_env={"TOKENGUARD_BUDGETS": "global,session,usd=%g,block" % limit})
    t.check(c.codes() == ["200"] * k + ["429"] * 2, "session window, one curl: statuses %s, "
            "expected %d x 200 then 2 x 429" % (" ".join(c.codes()), k))
    return "# %d streams estimated at $%.8f each, then refused" % (k, spend / k)


def tests(harness, cases):
    """The budget-* tests over the loaded cases (run_tests.load_cases)."""
    by_name = {c["name"]: c for c in cases}
    if not {OPENAI, ANTHROPIC, "openai-chat-stream", "cohere-chat", NO_USAGE, "azure-chat-stream",
            "bedrock-invoke-claude"} | \
            {a[0] for a in CAP_APIS} <= set(by_name):
        return []
    spec = [
        ("curl-h1", "curl", "budget-global-daily-block-openai-h1", global_daily_block_openai_h1),
        ("curl-h2", "curl", "budget-global-daily-block-anthropic-h2",
         global_daily_block_anthropic_h2),
        ("curl-h2+httpx", "curl", "budget-h2-refusals-one-connection", h2_refusals_one_connection),
        ("curl-h1", "curl", "budget-tag-scope", tag_scope),
        ("curl", "curl", "budget-downgrade", downgrade),
        ("curl-h1", "curl", "budget-clamp", clamp),
        ("curl+httpx", "curl", "budget-clamp-cap-keys", clamp_cap_keys),
        ("curl+httpx", "curl", "budget-model-in-url", model_in_url),
        ("curl-h2+httpx", "curl", "budget-h2-big-body", h2_big_body),
        ("curl-h1", "curl", "budget-warn", warn),
        ("requests", "budget_client.py", "budget-two-processes-share", two_processes_share),
        ("curl", "curl", "budget-fail-closed", fail_closed),
        ("requests+httpx", "budget_client.py", "budget-requests-httpx", requests_httpx),
        ("curl-h1", "curl", "budget-env-policy", env_policy),
        ("curl-h1", "curl", "budget-check-cli", check_cli),
        ("curl-h1", "curl", "budget-overshoot-8-racing", overshoot_racing),
        ("curl-h1+requests", "curl", "budget-unpriced-estimate", unpriced_estimate),
        ("curl", "curl", "budget-unpriced-block", unpriced_block),
        ("curl-h1+requests", "curl", "budget-stream-no-usage", stream_no_usage),
        ("curl-h1", "curl", "budget-zoned-day", zoned_day),
    ]
    return [BudgetTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
