"""export.py - the export-* integration tests: the ledger's sums read by
the engines teams already run.

Owns: `tokenguard-report serve` scraped by the real Prometheus server
(Debian's prometheus package) on loopback, whose query API must give the
totals `tokenguard-report summary --format json` gives (calls, blocked
calls, tokens, cost), before and after more records are added, with no
counter reset between scrapes; and `metrics` against the same ledger.
The records are made by curl under the shim against the fake provider:
calls sent to two providers and calls refused by a budget policy.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import budgets
import itlib

OPENAI = "openai-chat"            # gpt-4.1
ANTHROPIC = "anthropic-messages"  # claude-sonnet-4-5
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
SCRAPE_WAIT = 60                  # seconds for Prometheus to show a total


class ExportTest(itlib.SuiteTest):
    def ex(self, name):
        return self.h.Exchange(self.cases[name], self.h.Mode("length", "identity"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary_total(t, env, ledger):
    p = budgets.report(t, env, ["summary", "--format", "json", "--ledger", ledger])
    return json.loads(p.stdout)["total"]


def make_calls(t, env, tdir, label, ledger, n_openai, n_anthropic):
    c = budgets.curl(t, env, tdir, label, [t.ex(OPENAI)] * n_openai +
                     [t.ex(ANTHROPIC)] * n_anthropic, ledger)
    t.check(c.rc == 0, "%s: curl exit %d: %s" % (label, c.rc, budgets.tail(c.stderr)))


def prom_query(url, expr):
    """The value of a query whose result is one sample, or None."""
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen("%s/api/v1/query?%s" % (url, q), timeout=5) as r:
        doc = json.load(r)
    res = doc.get("data", {}).get("result", [])
    return float(res[0]["value"][1]) if len(res) == 1 else None


# What Prometheus must answer for each total of `summary --format json`.
QUERIES = (
    ("calls", "sum(tokenguard_calls_total)"),
    ("blocked_calls", "sum(tokenguard_blocked_calls_total)"),
    ("tokens", 'sum(tokenguard_tokens_total{gen_ai_token_type=~"input|output"})'),
    ("input_tokens", 'sum(tokenguard_tokens_total{gen_ai_token_type="input"})'),
    ("output_tokens", 'sum(tokenguard_tokens_total{gen_ai_token_type="output"})'),
    ("cached_input_tokens", 'sum(tokenguard_tokens_total{gen_ai_token_type="cache_read"})'),
    ("cost_usd", "sum(tokenguard_cost_usd_total)"),
)


def wait_for_totals(t, url, total, what):
    """Polls Prometheus until every query gives the summary's total."""
    want = {k: float(total[k] or 0) for k, _ in QUERIES}
    got = {}
    deadline = time.monotonic() + SCRAPE_WAIT
    while time.monotonic() < deadline:
        try:
            got = {k: prom_query(url, q) for k, q in QUERIES}
        except OSError:
            got = {}
        if got and all(got[k] is not None and abs(got[k] - want[k]) <= 1e-9 * max(1, want[k])
                       for k in want):
            return got
        time.sleep(0.5)
    raise t.h.Failure("%s: Prometheus gives %r, summary --format json %r" % (what, got, want))


def start(argv, log):
    with open(log, "wb") as f:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def prometheus_scrape(t, env, tdir):
    if not os.path.exists(PROMETHEUS):
        raise t.h.Failure("no %s: install Debian's prometheus (tests/deps.sh)" % PROMETHEUS)
    ledger = os.path.join(tdir, "ledger")
    # gpt-4.1 is refused from the start: blocked calls beside sent ones.
    budgets.budget_set(t, env, ledger, "no-gpt41", "model:gpt-4.1,day,usd=0,block")
    make_calls(t, env, tdir, "first", ledger, 2, 3)
    first = summary_total(t, env, ledger)
    t.check(first["calls"] == 3 and first["blocked_calls"] == 2,
            "the first run: %s" % json.dumps(first))

    tg_port, prom_port = free_port(), free_port()
    serve = start([env.report, "serve", "--listen", "127.0.0.1:%d" % tg_port, "--tag-label",
                   "team", "--ledger", ledger], os.path.join(tdir, "serve.log"))
    cfg = os.path.join(tdir, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: tokenguard\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % tg_port)
    prom = start([PROMETHEUS, "--config.file=" + cfg, "--storage.tsdb.path=" +
                  os.path.join(tdir, "tsdb"), "--web.listen-address=127.0.0.1:%d" % prom_port],
                 os.path.join(tdir, "prometheus.log"))
    url = "http://127.0.0.1:%d" % prom_port
    try:
        got1 = wait_for_totals(t, url, first, "after the first run")
        t.check(prom_query(url, 'count(tokenguard_calls_total{tag_team="search"})') is not None,
                "no series with tag_team=\"search\" (--tag-label team)")
        make_calls(t, env, tdir, "second", ledger, 1, 2)
        second = summary_total(t, env, ledger)
        t.check(second["calls"] == 5 and second["blocked_calls"] == 3,
                "after the second run: %s" % json.dumps(second))
        got2 = wait_for_totals(t, url, second, "after the second run")
        for name in ("tokenguard_calls_total", "tokenguard_tokens_total",
                     "tokenguard_cost_usd_total", "tokenguard_blocked_calls_total"):
            resets = prom_query(url, "sum(resets(%s[10m]))" % name)
            t.check(resets == 0, "%s was reset between scrapes (%r)" % (name, resets))
        up = prom_query(url, 'up{job="tokenguard"}')
        t.check(up == 1, "the target is not up: %r" % up)
    finally:
        prom_rc, serve_rc = stop(prom), stop(serve)
    t.check(serve_rc == 0, "serve exited %r on SIGTERM: %s" % (
        serve_rc, itlib.read_text(os.path.join(tdir, "serve.log"))[-300:]))
    return "# Prometheus: %d then %d calls, $%g then $%g" % (
        got1["calls"], got2["calls"], got1["cost_usd"], got2["cost_usd"])


def metrics_text(t, env, tdir):
    """`metrics` prints the exposition format; the sums per series add up
    to the summary's totals, and no label carries a pid or request id."""
    ledger = os.path.join(tdir, "ledger")
    budgets.budget_set(t, env, ledger, "no-gpt41", "model:gpt-4.1,day,usd=0,block")
    make_calls(t, env, tdir, "calls", ledger, 1, 2)
    total = summary_total(t, env, ledger)
    p = budgets.report(t, env, ["metrics", "--ledger", ledger])
    text = p.stdout.decode()
    sums = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        series, value = line.rsplit(" ", 1)
        name = series.split("{", 1)[0]
        if name == "tokenguard_tokens_total" and 'gen_ai_token_type="input"' not in series \
                and 'gen_ai_token_type="output"' not in series:
            continue
        sums[name] = sums.get(name, 0) + float(value)
        t.check("pid" not in series and "request_id" not in series, "label: %s" % series)
    want = {"tokenguard_calls_total": total["calls"],
            "tokenguard_blocked_calls_total": total["blocked_calls"],
            "tokenguard_tokens_total": total["tokens"],
            "tokenguard_cost_usd_total": total["cost_usd"]}
    for k, v in want.items():
        t.check(abs(sums.get(k, -1) - v) <= 1e-12, "%s: %r in metrics, %r in summary"
                % (k, sums.get(k), v))
    # Prometheus's own linter: the syntax, and its naming rules (counters
    # end in _total, units in the name, HELP for each family).
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    lint = subprocess.run([promtool, "check", "metrics"], input=p.stdout, capture_output=True,
                          timeout=60)
    t.check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
            "promtool check metrics: exit %d: %r %r" % (lint.returncode, lint.stdout[:300],
                                                         lint.stderr[:300]))
    bad = budgets.report(t, env, ["metrics", "--since", "1d", "--ledger", ledger], rc=2)
    t.check(b"counters" in bad.stderr, "metrics --since: %r" % bad.stderr)


class LineReader:
    """Lines from a program's stdout pipe, read with select and os.read
    (a buffered readline would hide lines select cannot see)."""

    def __init__(self, proc):
        self.fd, self.buf = proc.stdout.fileno(), b""

    def pending(self, timeout):
        import select
        return bool(select.select([self.fd], [], [], timeout)[0])

    def lines(self, t, n, what, timeout=30):
        deadline = time.monotonic() + timeout
        while self.buf.count(b"\n") < n:
            left = deadline - time.monotonic()
            if left <= 0 or not self.pending(left):
                raise t.h.Failure("%s: %d of %d lines in %ds: %r" % (
                    what, self.buf.count(b"\n"), n, timeout, self.buf[-300:]))
            data = os.read(self.fd, 65536)
            if not data:
                raise t.h.Failure("%s: records --follow ended: %r" % (what, self.buf[-300:]))
            self.buf += data
        out = self.buf.split(b"\n")
        self.buf = b"\n".join(out[n:])
        return [l.decode() + "\n" for l in out[:n]]


def records_follow(t, env, tdir):
    """records --follow prints what the ledger held, then each record the
    shim adds (handed off through its spool, then folded) once, a line at a
    time; it ends with status 0 when its reader goes away and on SIGINT."""
    ledger = os.path.join(tdir, "ledger")
    make_calls(t, env, tdir, "before", ledger, 1, 1)
    argv = [env.report, "records", "--follow", "--ledger", ledger]
    f = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    try:
        rd = LineReader(f)
        lines = rd.lines(t, 2, "the records before")
        make_calls(t, env, tdir, "during", ledger, 2, 1)
        lines += rd.lines(t, 3, "the records added")
        # Polls go on: nothing more may come (each record once, the
        # spooled ones after their fold too).
        time.sleep(2.5)
        extra = rd.buf or (os.read(rd.fd, 4096) if rd.pending(0) else b"")
        t.check(not extra, "more lines than records: %r" % extra)
        want = budgets.report(t, env, ["records", "--ledger", ledger]).stdout.decode()
        t.check(sorted(lines) == sorted(want.splitlines(True)),
                "--follow printed %r, records %r" % (lines, want))
        # The reader goes away: the next record's write ends it, status 0.
        f.stdout.close()
        make_calls(t, env, tdir, "after", ledger, 0, 1)
        rc = f.wait(15)
        t.check(rc == 0, "records --follow exited %d when its reader went away: %r"
                % (rc, f.stderr.read()))
    finally:
        stop(f)
    g = subprocess.Popen(argv + ["--format", "csv"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        head = LineReader(g).lines(t, 1 + 6, "csv")
        t.check(head[0].startswith("ts,provider,"), "csv header: %r" % head[0])
        g.send_signal(2)
        rc = g.wait(10)
        t.check(rc == 0, "records --follow exited %d on SIGINT" % rc)
    finally:
        stop(g)
    bad = budgets.report(t, env, ["records", "--follow", "--format", "table", "--ledger",
                                  ledger], rc=2)
    t.check(b"--follow" in bad.stderr, "--follow --format table: %r" % bad.stderr)
    return "# 6 records followed, each once"


def http(port, request, timeout=10):
    """The raw answer to request bytes (the server closes after each)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        data = b""
        try:
            c.sendall(request)
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    return data
                data += chunk
        except (ConnectionResetError, BrokenPipeError):
            return data     # closed with the request unread: dropped


def serve_http(t, env, tdir):
    """serve answers /metrics only, GET and HEAD only, and a client that
    sends nothing or too much holds it up for a bounded time, never more."""
    ledger = os.path.join(tdir, "ledger")
    budgets.budget_set(t, env, ledger, "p", "global,day,usd=1,block")   # creates the ledger
    port = free_port()
    serve = start([env.report, "serve", "--listen", "127.0.0.1:%d" % port, "--ledger", ledger],
                  os.path.join(tdir, "serve.log"))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                t.check(time.monotonic() < deadline, "serve does not listen")
                time.sleep(0.1)
        ok = http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        t.check(ok.startswith(b"HTTP/1.1 200 ") and b"text/plain; version=0.0.4" in ok
                and b"# TYPE tokenguard_calls_total counter" in ok, "GET /metrics: %r" % ok[:300])
        head, body = ok.split(b"\r\n\r\n", 1)
        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")]
        t.check(length == [len(body)], "Content-Length %r for %d bytes" % (length, len(body)))
        h = http(port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
        t.check(h.startswith(b"HTTP/1.1 200 ") and h.endswith(b"\r\n\r\n"), "HEAD: %r" % h)
        t.check(http(port, b"GET /other HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404 "), "404")
        t.check(http(port, b"POST /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 "), "405")
        # A head past 8 KiB is dropped without an answer.
        t.check(http(port, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n") == b"",
                "a request head of 20 KB was answered")
        # A client that says nothing holds the server up to its 5 s bound.
        idle = socket.create_connection(("127.0.0.1", port))
        t0 = time.monotonic()
        late = http(port, b"GET /metrics HTTP/1.1\r\n\r\n", timeout=20)
        waited = time.monotonic() - t0
        idle.close()
        t.check(late.startswith(b"HTTP/1.1 200 ") and waited < 8,
                "after an idle client: %.1fs, %r" % (waited, late[:40]))
    finally:
        rc = stop(serve)
    t.check(rc == 0, "serve exited %r on SIGTERM" % rc)
    return "# an idle client held a scrape %.1fs" % waited


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if not {OPENAI, ANTHROPIC} <= set(by_name):
        return []
    spec = [
        ("curl", "curl", "export-prometheus-scrape", prometheus_scrape),
        ("curl", "curl", "export-metrics-text", metrics_text),
        ("curl", "curl", "export-records-follow", records_follow),
        ("http", "tokenguard-report", "export-serve-http", serve_http),
    ]
    return [ExportTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
