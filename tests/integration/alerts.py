"""alerts.py - the alerts-* integration tests: `tokenguard-report alerts`
bringing the alerts real calls under the shim raise to a person.

Owns: a loop of curl calls against a policy with alert=50 gives exactly one
threshold, one limit and one blocked alert to `alerts --follow --exec`
(the command's environment checked field by field, an inherited
TOKENGUARD_ALERT_* unset), the blocked calls after the first not again,
nothing again after a restart; `--webhook` posting the same to a receiver
on loopback in Slack and JSON form, each once per target, and once after a
retry when the receiver first answers 500, given up after six failures
(said, exit 1) and not tried again; printed as they come by `--follow`; a
model without a price is one `unpriced` alert however many calls name it.
"""

import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time

import budgets
import export
from budgets import budget_set, curl, records, report

OPENAI = budgets.OPENAI
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def seed_cost(t, env, tdir):
    """What one openai-chat call costs and counts, from a ledger of its own."""
    ledger = os.path.join(tdir, "ledger-price")
    c = curl(t, env, tdir, "seed", [t.ex(OPENAI)], ledger)
    t.check(c.codes() == ["200"], "seed call: %s" % c.codes())
    r = records(t, env, ledger)[0]
    return r["cost_usd"], r["input_tokens"] + r["output_tokens"]


def call_loop(t, env, tdir, ledger, n, label):
    """n curl processes one after the other; their pids and statuses."""
    out = []
    for i in range(n):
        c = curl(t, env, tdir, "%s%d" % (label, i), [t.ex(OPENAI)], ledger)
        out.append((c.pid, c.codes()[0]))
    return out


def alerts_json(t, env, ledger, args=()):
    p = report(t, env, ["alerts", "--format", "jsonl", "--ledger", ledger] + list(args))
    return [json.loads(l) for l in p.stdout.decode().splitlines()]


def read_env_blocks(path):
    """The environments the --exec command appended, one dict per alert."""
    if not os.path.exists(path):
        return []
    blocks, cur = [], {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line == "--":
                blocks.append(cur)
                cur = {}
            elif "=" in line:
                k, v = line.split("=", 1)
                cur[k] = v
    return blocks


def wait_blocks(t, path, n, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = read_env_blocks(path)
        if len(got) >= n:
            return got
        time.sleep(0.2)
    raise t.h.Failure("%s: %d alerts delivered in %ds, expected %d: %r"
                      % (what, len(read_env_blocks(path)), timeout, n, read_env_blocks(path)))


def start_alerts(env, ledger, args, log):
    e = dict(os.environ)
    e.pop("TOKENGUARD_BUDGETS", None)
    e["TOKENGUARD_ALERT_LIMIT_TOKENS"] = "999"   # inherited: must not reach the command
    with open(log, "ab") as err:
        return subprocess.Popen([env.report, "alerts", "--follow", "--ledger", ledger] + args,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                env=e)


def expected_env(kind, policy, limit, spend, tokens, pid, model, detail):
    return {
        "TOKENGUARD_ALERT_KIND": kind, "TOKENGUARD_ALERT_POLICY": policy,
        "TOKENGUARD_ALERT_SCOPE": "global", "TOKENGUARD_ALERT_WINDOW": "day",
        "TOKENGUARD_ALERT_THRESHOLD": "50", "TOKENGUARD_ALERT_PROVIDER": "openai",
        "TOKENGUARD_ALERT_MODEL": model, "TOKENGUARD_ALERT_PROCESS": "curl",
        "TOKENGUARD_ALERT_PID": str(pid), "TOKENGUARD_ALERT_DETAIL": detail,
        "TOKENGUARD_ALERT_PCT": str(int(100 * spend / limit + 1e-9)),
        "TOKENGUARD_ALERT_SPEND_TOKENS": str(tokens),
    }


def check_env(t, got, want, limit, spend, what):
    """got is the command's environment for one alert; want its exact
    fields but the ones computed here (amounts, times, id, message)."""
    keys = set(want) | {"TOKENGUARD_ALERT_LIMIT_USD", "TOKENGUARD_ALERT_SPEND_USD",
                        "TOKENGUARD_ALERT_TIME", "TOKENGUARD_ALERT_WINDOW_START",
                        "TOKENGUARD_ALERT_MESSAGE", "TOKENGUARD_ALERT_ID"}
    t.check(set(got) == keys, "%s: variables %s, expected %s" % (what, sorted(got), sorted(keys)))
    for k, v in want.items():
        t.check(got.get(k) == v, "%s: %s=%r, expected %r" % (what, k, got.get(k), v))
    t.check(float(got["TOKENGUARD_ALERT_LIMIT_USD"]) == limit,
            "%s: LIMIT_USD %s, expected %r" % (what, got["TOKENGUARD_ALERT_LIMIT_USD"], limit))
    t.check(abs(float(got["TOKENGUARD_ALERT_SPEND_USD"]) - spend) < 1e-12,
            "%s: SPEND_USD %s, expected %r" % (what, got["TOKENGUARD_ALERT_SPEND_USD"], spend))
    today = time.strftime("%Y-%m-%dT00:00:00.000Z", time.gmtime())
    t.check(got["TOKENGUARD_ALERT_WINDOW_START"] == today and
            ISO.match(got["TOKENGUARD_ALERT_TIME"]) and
            got["TOKENGUARD_ALERT_TIME"].startswith(today[:10]) and
            re.match(r"^[0-9a-f]{32}$", got["TOKENGUARD_ALERT_ID"]),
            "%s: times or id: %r" % (what, got))
    msg = got["TOKENGUARD_ALERT_MESSAGE"]
    t.check(msg.startswith("tokenguard: budget '%s' (global, day) " % want["TOKENGUARD_ALERT_POLICY"])
            and msg.endswith("(%s%%); process curl (pid %s), model openai/%s"
                             % (want["TOKENGUARD_ALERT_PCT"], want["TOKENGUARD_ALERT_PID"],
                                want["TOKENGUARD_ALERT_MODEL"])),
            "%s: message %r" % (what, msg))


def exec_follow(t, env, tdir):
    policy = "daily"
    cost, tokens = seed_cost(t, env, tdir)
    limit = float(repr(round(3.5 * cost, 12)))
    ledger = os.path.join(tdir, "ledger")
    out = os.path.join(tdir, "delivered.env")
    log = os.path.join(tdir, "alerts.err")
    cmd = "{ env | grep '^TOKENGUARD_ALERT_' | sort; echo --; } >> '%s'" % out
    # The follow starts before the ledger exists: it waits for it.
    a = start_alerts(env, ledger, ["--exec", cmd], log)
    try:
        budget_set(t, env, ledger, policy, "global,day,usd=%r,block,alert=50" % limit)
        calls = call_loop(t, env, tdir, ledger, 6, "call")
        # Before call i the day's spend is i calls: the threshold (50%) is
        # reached before call 2 (2 of 3.5), the limit before call 4, which
        # is refused, and so is call 5.
        t.check([s for _, s in calls] == ["200"] * 4 + ["429"] * 2, "statuses %s" % calls)
        got = wait_blocks(t, out, 3, "the loop")
        time.sleep(2)
        got = read_env_blocks(out)
        t.check(len(got) == 3, "%d alerts delivered, expected 3 (threshold, limit, blocked "
                "once): %r" % (len(got), [g.get("TOKENGUARD_ALERT_KIND") for g in got]))
        recs = records(t, env, ledger)
        model = [r for r in recs if r["blocked"]][0]["model"]   # the model asked for
        want = [("threshold", 2, calls[2][0], "alert threshold reached"),
                ("limit", 4, calls[4][0], "limit reached"),
                ("blocked", 4, calls[4][0], "call blocked")]
        for g, (kind, before, pid, detail) in zip(got, want):
            check_env(t, g, expected_env(kind, policy, limit, before * cost, before * tokens, pid,
                                         model, detail), limit, before * cost, kind)
        ids = [g["TOKENGUARD_ALERT_ID"] for g in got]
        listed = alerts_json(t, env, ledger)
        t.check([x["id"] for x in listed] == ids and
                [x["message"] for x in listed] == [g["TOKENGUARD_ALERT_MESSAGE"] for g in got],
                "alerts --format jsonl %r, delivered %r" % (listed, got))
        t.check(export.stop(a) == 0, "alerts --follow exited %s on SIGTERM" % a.returncode)
    finally:
        export.stop(a)
    # Every blocked call is kept for `budget status`; the second a repeat.
    every = json.loads(report(t, env, ["budget", "alerts", "--format", "json", "--ledger",
                                       ledger]).stdout)
    t.check([(x["level"], x["repeat"]) for x in every] ==
            [("threshold", False), ("limit", False), ("blocked", False), ("blocked", True)],
            "budget alerts: %r" % [(x["level"], x["repeat"]) for x in every])
    # A restart delivers nothing again, and a further blocked call is a repeat.
    a = start_alerts(env, ledger, ["--exec", cmd], log)
    try:
        more = call_loop(t, env, tdir, ledger, 1, "again")
        t.check(more[0][1] == "429", "the call after the restart: %s" % more)
        time.sleep(3)
        got = read_env_blocks(out)
        t.check(len(got) == 3, "after the restart %d alerts delivered, expected still 3" % len(got))
        a.send_signal(signal.SIGINT)
        t.check(a.wait(10) == 0, "alerts --follow exited %s on SIGINT" % a.returncode)
    finally:
        export.stop(a)
    with open(log, "rb") as f:
        err = f.read()
    t.check(not err, "alerts wrote on stderr: %r" % err[:300])
    return "# threshold before call 3, limit and blocked at call 5 of 6, each once"


class Receiver:
    """A webhook on loopback: answers each POST with the next status of its
    path's list (200 when none is left) and keeps what it was sent."""

    def __init__(self):
        self.statuses, self.posts = {}, []
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                left = rx.statuses.get(self.path, [])
                status = left.pop(0) if left else 200
                rx.posts.append((self.path, self.headers.get("Content-Type"), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def taken(self, path):
        return [p for p in self.posts if p[0] == path and p[3] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def webhook(t, env, tdir):
    cost, _ = seed_cost(t, env, tdir)
    limit = float(repr(round(3.5 * cost, 12)))
    ledger = os.path.join(tdir, "ledger")
    budget_set(t, env, ledger, "openai-day", "provider:openai,day,usd=%r,block,alert=50" % limit)
    statuses = [s for _, s in call_loop(t, env, tdir, ledger, 6, "call")]
    t.check(statuses == ["200"] * 4 + ["429"] * 2, "statuses %s" % statuses)
    # A model without a price, named by two calls of two processes: one alert.
    for i in range(2):
        c = curl(t, env, tdir, "unpriced%d" % i, [budgets.unpriced_exchange(t, tdir)], ledger)
        t.check(c.codes() == ["200"], "unpriced call: %s" % c.codes())
    want = alerts_json(t, env, ledger)
    t.check([x["level"] for x in want] == ["threshold", "limit", "blocked", "unpriced"],
            "alerts: %r" % [x["level"] for x in want])
    u = want[3]
    t.check(u["policy"] is None and u["provider"] == "cohere" and
            u["model"] == budgets.UNPRICED_MODEL and u["process"] == "curl" and
            u["spend_usd"] is None and u["limit_usd"] is None and u["pct"] is None and
            u["message"].startswith('tokenguard: cohere model "%s" has no price'
                                    % budgets.UNPRICED_MODEL),
            "the unpriced alert: %r" % u)
    rx = Receiver()
    try:
        # Slack's form, then nothing more for the same URL.
        for run in range(2):
            p = report(t, env, ["alerts", "--webhook", rx.url + "/slack", "--ledger", ledger])
            t.check(b"%d delivered, 0 given up" % (4 if run == 0 else 0) in p.stderr,
                    "run %d: %r" % (run, p.stderr))
        got = rx.taken("/slack")
        t.check([json.loads(b) for _, _, b, _ in got] == [{"text": x["message"]} for x in want] and
                all(ct == "application/json" for _, ct, _, _ in got),
                "slack bodies %r, expected the messages of %r" % (got, want))
        # JSON, every field: another target, so every alert once more.
        report(t, env, ["alerts", "--webhook", rx.url + "/json", "--webhook-format", "json",
                        "--ledger", ledger])
        got = [json.loads(b) for _, _, b, _ in rx.taken("/json")]
        t.check(got == want, "json bodies %r, expected %r" % (got, want))
        # 500 then 200: the first alert is taken once, after one retry.
        rx.statuses["/flaky"] = [500]
        p = report(t, env, ["alerts", "--webhook", rx.url + "/flaky", "--ledger", ledger])
        posts = [(json.loads(b)["text"], s) for path, _, b, s in rx.posts if path == "/flaky"]
        t.check(posts == [(want[0]["message"], 500)] + [(x["message"], 200) for x in want],
                "flaky receiver got %r" % posts)
        t.check(b"answered HTTP 500 (attempt 1 of 6)" in p.stderr and b"retried in 1 s" in p.stderr,
                "stderr %r" % p.stderr)
        report(t, env, ["alerts", "--webhook", rx.url + "/flaky", "--ledger", ledger])
        t.check(len(rx.taken("/flaky")) == 4, "flaky: %d taken after a second run, expected 4"
                % len(rx.taken("/flaky")))
    finally:
        rx.close()
    # Printed as they come: what the ledger holds, one JSON line each.
    f = subprocess.Popen([env.report, "alerts", "--follow", "--ledger", ledger],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        lines = export.LineReader(f).lines(t, 4, "alerts --follow")
        t.check([json.loads(l) for l in lines] == want, "alerts --follow printed %r" % lines)
        f.send_signal(signal.SIGINT)
        t.check(f.wait(10) == 0, "alerts --follow exited %s on SIGINT" % f.returncode)
    finally:
        export.stop(f)
    bad = report(t, env, ["alerts", "--webhook", "ftp://x", "--ledger", ledger], rc=2)
    t.check(b"http://" in bad.stderr, "--webhook ftp://x: %r" % bad.stderr)
    return "# 4 alerts, each once per target; once after a 500"


def give_up(t, env, tdir):
    """A receiver that always fails: six attempts over 31 s, then the alert
    is given up, said with its text, exit 1; the next run does not try it
    again (handled), and the alerts after it were not held up."""
    ledger = os.path.join(tdir, "ledger")
    for i in range(2):
        c = curl(t, env, tdir, "unpriced%d" % i, [budgets.unpriced_exchange(t, tdir)], ledger)
        t.check(c.codes() == ["200"], "unpriced call: %s" % c.codes())
    want = alerts_json(t, env, ledger)
    t.check([x["level"] for x in want] == ["unpriced"], "alerts: %r" % want)
    rx = Receiver()
    rx.statuses["/down"] = [503] * 6
    try:
        start = time.monotonic()
        p = report(t, env, ["alerts", "--webhook", rx.url + "/down", "--ledger", ledger], rc=1)
        took = time.monotonic() - start
        posts = [s for path, _, _, s in rx.posts if path == "/down"]
        t.check(posts == [503] * 6, "the receiver was asked %r" % posts)
        t.check(30 <= took < 45, "six attempts took %.1fs, expected 31s of backoff" % took)
        err = p.stderr.decode()
        t.check(("giving up on alert %s" % want[0]["id"]) in err and want[0]["message"] in err and
                "answered HTTP 503 (attempt 6 of 6)" in err and "0 delivered, 1 given up" in err,
                "stderr %r" % err[-600:])
        p = report(t, env, ["alerts", "--webhook", rx.url + "/down", "--ledger", ledger])
        t.check(b"0 delivered, 0 given up" in p.stderr and len(rx.posts) == 6,
                "the next run: %r, %d posts" % (p.stderr, len(rx.posts)))
    finally:
        rx.close()
    return "# given up after 6 attempts in %.0fs, not tried again" % took


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if not {OPENAI, "cohere-chat"} <= set(by_name):
        return []
    spec = [
        ("curl-h1", "curl", "alerts-exec-follow", exec_follow),
        ("curl-h1", "curl", "alerts-webhook", webhook),
        ("curl-h1", "curl", "alerts-webhook-give-up", give_up),
    ]
    return [budgets.BudgetTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
