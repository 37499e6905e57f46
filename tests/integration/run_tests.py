#!/usr/bin/python3
"""run_tests.py - the integration test driver, run by run.sh inside its
private network namespace with the fake provider listening on :443.

Owns: the test matrix (client x case x delivery mode), running each client
without and with libtokenguard.so, and every assertion about what the two
runs saw and what the ledger holds afterwards.

Each test:
  1. runs the client without the shim and with LD_PRELOAD=libtokenguard.so,
     each with a fresh TOKENGUARD_LEDGER;
  2. asserts both runs printed the same bytes and exited the same way, that
     the bodies are the case's bytes (decoded or still encoded, as the client
     library leaves them), and that the fake provider received the same
     requests both times (the shim must not alter what a program sends);
  3. reads the ledger back with `tokenguard-report records --format jsonl`
     and asserts one record per exchange with the case's expected fields;
  4. asserts no ledger file contains the API key or the prompt marker.

Selection (comma-separated fnmatch patterns): TG_IT_CLIENTS, TG_IT_CASES,
TG_IT_MODES select the matrix (the special tests then run only if neither
TG_IT_CASES nor TG_IT_MODES is set); TG_IT_TESTS runs only the special tests
it names (keepalive-*, h2-multiplex-*, expect-100-continue, big-response*,
cut-stream-at-half, ledger-not-writable, and the SUITES' tests: conc-*,
budget-*, trust-*, ledger-*, bomb-*, lazy-*, sdk-node-*, launcher-*, doctor-*,
export-*, estimate-*, alerts-*, html-*, config-*, chart-*, attrib-*,
fleet-redis-*, fleet-pg-*).
The cases are the hand-written ones (tests/fixtures/cases.json), each with
every client, and the recorded ones (tests/fixtures/recorded), each with
three clients (recorded_matrix).
TG_IT_FULL=1 runs the full cross product instead of the covering matrix.
TG_IT_JOBS (default 2) tests run at once.  TG_IT_H2=0 skips the record
checks of HTTP/2 exchanges (only the programs' outputs are then compared).
TG_IT_NO_SHIM=1 checks only the fake provider and the
clients, for when the shim is not built.
Under `make test SAN=...` (tests/san.sh): TG_SAN names the sanitizers the
shim and the CLI are built with, TG_SAN_PRELOAD the runtimes every client
loads first (in the runs without the shim too, so that the two runs differ
by the shim only), and TG_SAN_LOGS the directory their reports go to: a
test whose programs wrote one fails with it, and so does the run if any
report is there at the end.

Prints one line per test, `ok - CLIENT CASE MODE` or `not ok - ... reason`,
then `integration: N passed, N failed`; exits 1 on any failure.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep the source tree clean
import fake_provider  # noqa: E402  (encode, for what undecoded bodies look like)
import bombs  # noqa: E402
import budgets  # noqa: E402
import budgets_pervalue  # noqa: E402
import concurrency  # noqa: E402
import trust  # noqa: E402
import ledger_faults  # noqa: E402
import lazy_libs  # noqa: E402
import sdk_node  # noqa: E402
import launcher  # noqa: E402
import export  # noqa: E402
import otlp_export  # noqa: E402
import estimate  # noqa: E402
import alerts  # noqa: E402
import html_report  # noqa: E402
import config  # noqa: E402
import charts  # noqa: E402
import attribution  # noqa: E402
import fleet_redis  # noqa: E402
import fleet_pg  # noqa: E402

# Modules of further special tests: each has tests(harness, cases), harness
# being this module, returning objects with client.name, label and run(env).
SUITES = (concurrency, budgets, budgets_pervalue, trust, ledger_faults, bombs, lazy_libs, sdk_node,
          launcher, export, otlp_export, estimate, alerts, html_report, config, charts, attribution,
          fleet_redis, fleet_pg)

SYS_PY = "/usr/bin/python3"
CLIENTS_DIR = os.path.join(HERE, "clients")
TAGS_ENV = "team=search,feature=it"
TAGS = {"team": "search", "feature": "it"}
API_KEY = "sk-test-SECRET-KEY-" + secrets.token_hex(8)
PROMPT_MARKER = b"PROMPT-SECRET-"
RECORD_FIELDS = (
    "ts", "provider", "host", "endpoint", "model", "status", "stream",
    "input_tokens", "output_tokens", "cached_input_tokens",
    "cache_creation_input_tokens", "reasoning_tokens", "cost_usd", "unpriced",
    "latency_ms", "ttft_ms", "pid", "process", "tags", "request_id",
    "response_id", "incomplete", "usage_unknown", "operation", "error",
    "cost_estimated", "machine", "id",
)
# Expected counts `tokenguard-report records` does not print: the unit
# tests (tests/unit/test_usage.c) assert them on the same bodies.  Any
# other expected field must be in the record, so a misspelt one fails.
NOT_IN_REPORT = ("cache_creation_5m_input_tokens", "cache_creation_1h_input_tokens")
# The OpenTelemetry gen_ai.operation.name each path of the cases is.
OPERATIONS = (
    ("/messages/count_tokens", "count_tokens"), ("/responses/input_tokens", "count_tokens"),
    (":countTokens", "count_tokens"),
    ("/chat/completions", "chat"), ("/completions", "text_completion"),
    ("/embeddings", "embeddings"), ("/responses", "chat"), ("/v1/messages", "chat"),
    (":generateContent", "generate_content"), (":streamGenerateContent", "generate_content"),
    ("/converse", "chat"), ("/converse-stream", "chat"), ("/v2/chat", "chat"),
    ("/v2/embed", "embeddings"),
)


def expected_operation(path):
    if path.startswith("/model/") and path.endswith(("/invoke", "/invoke-with-response-stream")):
        return "chat"   # the cases invoke chat models (Anthropic, Llama)
    for suffix, operation in OPERATIONS:
        if path.endswith(suffix):
            return operation
    return None
CLIENT_TIMEOUT = 90


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


# ---------------------------------------------------------------- clients

class Client:
    def __init__(self, name, argv, http, process, h2=False):
        self.name, self.argv, self.http = name, argv, http
        self.process = process  # what the ledger must name the program
        self.h2 = h2


def pyenv_python():
    """The python3 first on PATH when it is not Debian's: it dlopens the
    system libssl through its own _ssl module, a different load order."""
    found = shutil.which("python3")
    if not found:
        return None
    try:
        real = subprocess.run([found, "-c", "import os,sys;print(os.path.realpath(sys.executable))"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not real or os.path.realpath(SYS_PY) == real:
        return None
    return real


def all_clients():
    curl = ["bash", os.path.join(CLIENTS_DIR, "curl.sh")]

    def py(script, exe=SYS_PY):
        return [exe, os.path.join(CLIENTS_DIR, script)]

    out = [
        Client("curl-h1", curl, "1.1", "curl"),
        Client("curl-h1-compressed", curl + ["--compressed"], "1.1", "curl"),
        Client("curl-h2", curl, "2", "curl", h2=True),
        Client("urllib", py("urllib_client.py"), "1.1", "urllib_client.py"),
        Client("requests", py("requests_client.py"), "1.1", "requests_client.py"),
        Client("aiohttp", py("aiohttp_client.py"), "1.1", "aiohttp_client.py"),
        Client("httpx-h1", py("httpx_client.py"), "1.1", "httpx_client.py"),
        Client("httpx-h2", py("httpx_client.py"), "2", "httpx_client.py", h2=True),
    ]
    other = pyenv_python()
    if other:
        out.insert(4, Client("urllib-pyenv", py("urllib_client.py", other), "1.1",
                             "urllib_client.py"))
    return out


# ---------------------------------------------------------------- delivery modes

class Mode:
    def __init__(self, transfer, encoding, split=0, coalesce=False, delay_ms=0):
        self.transfer, self.encoding = transfer, encoding
        self.split, self.coalesce, self.delay_ms = split, coalesce, delay_ms
        name = transfer + "+" + encoding
        if split:
            name += "+split%d" % split
        if coalesce:
            name += "+coalesce"
        if delay_ms:
            name += "+delay%d" % delay_ms
        self.name = name

    def headers(self):
        h = ["x-fake-transfer: " + self.transfer, "x-fake-encoding: " + self.encoding]
        if self.split:
            h.append("x-fake-split: %d" % self.split)
        if self.coalesce:
            h.append("x-fake-coalesce: 1")
        if self.delay_ms:
            h.append("x-fake-delay-ms: %d" % self.delay_ms)
        return h


MODES = [
    Mode("length", "identity"),
    Mode("chunked", "identity"),
    Mode("close", "identity"),
    Mode("length", "gzip"),
    Mode("chunked", "deflate"),
    Mode("chunked", "br"),
    Mode("length", "zstd"),
    Mode("chunked", "identity", split=1),
    # Head and first SSE event in one write: the shim must not assume the
    # body starts in a later read than the head.
    Mode("length", "identity", split=7, coalesce=True),
    Mode("chunked", "identity", split=3, coalesce=True, delay_ms=30),
    Mode("chunked", "gzip", split=13),
    Mode("close", "br", split=64),
    Mode("length", "zstd", split=5),
]


# ---------------------------------------------------------------- cases

def request_model(case):
    """The "model" of the case's JSON request body, or None when it names
    none (Gemini and Bedrock name it in the path)."""
    if "_asked" not in case:
        try:
            with open(case["request_path"], "rb") as f:
                body = json.load(f)
            case["_asked"] = body.get("model") if isinstance(body, dict) else None
        except (OSError, ValueError):
            case["_asked"] = None
    return case["_asked"]


def load_cases(paths):
    cases = []
    for path in paths:
        base = os.path.dirname(os.path.abspath(path))
        with open(path, "rb") as f:
            for c in json.load(f):
                c = dict(c)
                c["request_path"] = os.path.join(base, c["request"])
                with open(os.path.join(base, c["response"]), "rb") as b:
                    c["response_bytes"] = b.read()
                c.setdefault("headers", {})
                c.setdefault("expect", {})
                cases.append(c)
    return cases


def write_extra_cases(outdir, fixtures_dir):
    """Cases made at test time because their bodies are big: a multi-MB
    embeddings response (the shim must stay bounded in memory) and a 2 MiB
    request (curl sends Expect: 100-continue for it)."""
    os.makedirs(outdir, exist_ok=True)
    n, dims, tokens = 640, 1536, 5120
    seed = 12345
    parts = [b'{"object":"list","data":[']
    for i in range(n):
        vals = []
        for _ in range(dims):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            vals.append("%.9f" % ((seed / 0x7FFFFFFF) * 2 - 1))
        parts.append(b'%s{"object":"embedding","index":%d,"embedding":[%s]}'
                     % (b"," if i else b"", i, ",".join(vals).encode()))
    parts.append(b'],"model":"text-embedding-3-small","usage":{"prompt_tokens":%d,"total_tokens":%d}}\n'
                 % (tokens, tokens))
    with open(os.path.join(outdir, "big-embeddings.resp"), "wb") as f:
        f.write(b"".join(parts))
    with open(os.path.join(outdir, "big-embeddings.req.json"), "w") as f:
        json.dump({"model": "text-embedding-3-small",
                   "input": ["PROMPT-SECRET-big-%d" % i for i in range(n)]}, f)
    with open(os.path.join(outdir, "big-request.req.json"), "w") as f:
        json.dump({"model": "gpt-4.1", "max_tokens": 200, "messages": [
            {"role": "user", "content": "PROMPT-SECRET-upload " + "lorem ipsum " * 180000}]}, f)
    cases = [
        {"name": "big-embeddings", "provider": "openai", "host": "api.openai.com",
         "method": "POST", "path": "/v1/embeddings", "request": "big-embeddings.req.json",
         "status": 200, "content_type": "application/json", "response": "big-embeddings.resp",
         "headers": {"x-request-id": "req_big_embeddings_1"},
         "expect": {"provider": "openai", "model": "text-embedding-3-small", "status": 200,
                    "stream": False, "input_tokens": tokens, "output_tokens": 0,
                    "request_id": "req_big_embeddings_1", "response_id": None,
                    "incomplete": False, "usage_unknown": False}},
    ]
    chat = os.path.join(fixtures_dir, "cases.json")
    with open(chat) as f:
        base = [c for c in json.load(f) if c["name"] == "openai-chat"]
    cases += bombs.extra_cases(outdir)
    if base:
        big = dict(base[0])
        big.update(name="big-request", request="big-request.req.json",
                   response=os.path.join(fixtures_dir, base[0]["response"]))
        cases.append(big)
    with open(os.path.join(outdir, "extra_cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


def auth_headers(case):
    h = ["Authorization: Bearer " + API_KEY]
    p = case["provider"]
    if p == "anthropic":
        h += ["x-api-key: " + API_KEY, "anthropic-version: 2023-06-01"]
    elif p == "gemini":
        h.append("x-goog-api-key: " + API_KEY)
    elif p.startswith("azure"):
        h.append("api-key: " + API_KEY)
    return h


def expected_stream(case):
    if "stream" in case["expect"]:
        return case["expect"]["stream"]
    ct = case["content_type"]
    return ct.startswith("text/event-stream") or ct.startswith("application/vnd.amazon.eventstream")


# ---------------------------------------------------------------- one exchange spec

class Exchange:
    """One request a client makes: the case it asks for and how it wants it
    delivered.  cut: the x-fake-cut byte count, or None."""

    def __init__(self, case, mode, cut=None):
        self.case, self.mode, self.cut = case, mode, cut

    def argv(self, run_tag):
        c = self.case
        hdrs = ["Content-Type: application/json", "x-fake-case: " + c["name"],
                "x-fake-run: " + run_tag] + self.mode.headers() + auth_headers(c)
        if self.cut is not None:
            hdrs.append("x-fake-cut: %d" % self.cut)
        url = "https://%s%s" % (c["host"], c["path"])
        return [c["method"], url, c["request_path"]] + hdrs

    @property
    def incomplete(self):
        return self.cut is not None or bool(self.case.get("cut"))


# ---------------------------------------------------------------- running

class Env:
    def __init__(self, args):
        self.work = args.work
        self.ca = os.path.join(args.work, "ca", "ca.pem")
        self.log = os.path.join(args.work, "provider.log")
        self.shim = os.environ.get("TG_IT_SHIM", os.path.join(TOP, "build", "libtokenguard.so"))
        self.report = os.environ.get("TG_IT_REPORT", os.path.join(TOP, "build", "tokenguard-report"))
        self.no_shim = os.environ.get("TG_IT_NO_SHIM") == "1"
        self.check_h2 = os.environ.get("TG_IT_H2", "1") == "1"
        self.san = os.environ.get("TG_SAN", "")
        self.san_preload = os.environ.get("TG_SAN_PRELOAD", "") if self.san else ""
        self.san_logs = os.environ.get("TG_SAN_LOGS", "") if self.san else ""
        self.seq = 0
        self.lock = threading.Lock()
        self.local = threading.local()  # dirs: the directories of the test this thread runs

    def new_dir(self, label):
        with self.lock:
            self.seq += 1
            n = self.seq
        d = os.path.join(self.work, "t%04d-%s" % (n, label.replace(" ", "_").replace("/", "_")))
        os.makedirs(d)
        self.local.dirs = getattr(self.local, "dirs", []) + [os.path.basename(d)]
        return d

    def san_reports(self, dirs=None):
        """The sanitizer reports of the tests whose directories are dirs, or
        of all: ASan's report files, and the programs' stderr files (names
        ending in "err") holding a report, since gcc's UBSan runtime writes
        to stderr when libasan is loaded too."""
        if not self.san:
            return []
        found = []
        if os.path.isdir(self.san_logs):
            found += [os.path.join(self.san_logs, f) for f in os.listdir(self.san_logs)
                      if dirs is None or f.rsplit(".", 2)[0] in dirs]
        for d in (dirs if dirs is not None else os.listdir(self.work)):
            for root, _dirs, files in os.walk(os.path.join(self.work, d)):
                for name in files:
                    if name.endswith("err") and san_report_line(os.path.join(root, name)):
                        found.append(os.path.join(root, name))
        return sorted(found)

    def child_env(self, ledger, preload):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TOKENGUARD_") and k != "LD_PRELOAD"
               and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        env.update(TOKENGUARD_LEDGER=ledger, TOKENGUARD_TAGS=TAGS_ENV,
                   SSL_CERT_FILE=self.ca, REQUESTS_CA_BUNDLE=self.ca,
                   PYTHONDONTWRITEBYTECODE="1", LC_ALL="C")
        preloads = [p for p in (self.san_preload, self.shim if preload else "") if p]
        if preloads:
            env["LD_PRELOAD"] = ":".join(preloads)
        if self.san:
            # Host programs leak at exit by design; each test's reports go
            # to files named after its directory.
            rel = os.path.relpath(ledger, self.work).split(os.sep)[0]
            name = rel if not rel.startswith("..") else "other"
            for var, what in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan")):
                env[var] = "%s:detect_leaks=0:log_path=%s" % (
                    env.get(var, ""), os.path.join(self.san_logs, "%s.%s" % (name, what)))
        return env


class Run:
    def __init__(self, out, rc, stderr, rss_kb, requests, seconds):
        self.out, self.rc, self.stderr = out, rc, stderr
        self.rss_kb, self.requests, self.seconds = rss_kb, requests, seconds


# Linux carries a process's peak RSS across exec, so a child forked from this
# (large, growing) driver would report the driver's size.  A small wrapper of
# constant size forks the client instead and reports what the client used.
RSS_WRAPPER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_client(env, client, exchanges, tdir, label, ledger, preload, flags=(), measure=False,
               extra_env=None):
    """Runs client over exchanges; extra_env adds variables (TOKENGUARD_*)
    to the ones every run gets.  Run.seconds is its wall time."""
    tag = "%s/%s" % (os.path.basename(tdir), label)
    outfile = os.path.join(tdir, label + ".out")
    rssfile = os.path.join(tdir, label + ".rss")
    argv = [SYS_PY, "-c", RSS_WRAPPER, rssfile] if measure else []
    argv += list(client.argv) + list(flags) + [outfile, client.http]
    for i, ex in enumerate(exchanges):
        if i:
            argv.append("--next")
        argv += ex.argv(tag)
    child_env = env.child_env(ledger, preload)
    child_env.update(extra_env or {})
    started = time.monotonic()
    with open(os.path.join(tdir, label + ".err"), "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                env=child_env)
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while True:
            pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise Failure("%s run timed out after %ds" % (label, CLIENT_TIMEOUT))
            time.sleep(0.01)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    with open(os.path.join(tdir, label + ".err"), "rb") as f:
        stderr = f.read()
    out = b""
    if os.path.exists(outfile):
        with open(outfile, "rb") as f:
            out = f.read()
    rss = None
    if measure:
        with open(rssfile) as f:
            rss = int(f.read())
    return Run(out, proc.returncode, stderr, rss, provider_requests(env, tag), seconds)


def provider_requests(env, tag):
    """What the fake provider received from one run, in arrival order."""
    got = []
    with open(env.log, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break   # another test's request, still being written
            e = json.loads(line)
            if any(k.lower() == "x-fake-run" and v == tag for k, v in e["headers"]):
                got.append(e)
    return got


def request_fingerprint(e):
    skip = ("x-fake-run",)
    hdrs = sorted((k.lower(), v) for k, v in e["headers"] if k.lower() not in skip)
    return (e["method"], e["host"], e["path"], e["body_len"], e["case"], hdrs)


def parse_output(out):
    """[(status, body, error)] from a client's output file."""
    res, pos = [], 0
    while pos < len(out):
        nl = out.index(b"\n", pos)
        head = out[pos:nl].decode()
        pos = nl + 1
        if head.startswith("== status "):
            status, n = head[len("== status "):].split(", ")
            n = int(n.split()[0])
            res.append([status, out[pos:pos + n], None])
            pos += n + 1
        elif head.startswith("== error ") and res:
            res[-1][2] = head[len("== error "):]
        elif head.startswith("== curl exit "):
            pass
        else:
            raise Failure("unreadable client output near byte %d" % pos)
    return res


def check_bodies(out, exchanges, client):
    parsed = parse_output(out)
    check(len(parsed) == len(exchanges),
          "client printed %d exchanges, expected %d" % (len(parsed), len(exchanges)))
    for (status, body, error), ex in zip(parsed, exchanges):
        c = ex.case
        check(status == str(c["status"]), "%s: status %s, expected %s" % (c["name"], status, c["status"]))
        full = c["response_bytes"]
        raw = fake_provider.encode(full, ex.mode.encoding)
        if ex.cut is not None:
            check(ex.mode.encoding == "identity", "cut tests use identity encoding")
            # Some libraries drop the last partial read when the error
            # comes; both runs still have to agree byte for byte.
            check(full[:ex.cut].startswith(body),
                  "%s: body is not a prefix of the first %d bytes" % (c["name"], ex.cut))
        elif ex.incomplete:
            check(full.startswith(body) or raw.startswith(body),
                  "%s: body is not a prefix of the case's body" % c["name"])
        else:
            check(body in (full, raw),
                  "%s: body differs from the case's (%d bytes, expected %d decoded or %d raw)%s"
                  % (c["name"], len(body), len(full), len(raw),
                     " error " + error if error else ""))
            check(error is None, "%s: client error %s" % (c["name"], error))


def read_records(env, ledger):
    if not os.path.exists(ledger):
        return []
    p = subprocess.run([env.report, "records", "--ledger", ledger, "--format", "jsonl"],
                       capture_output=True, timeout=60)
    check(p.returncode == 0, "tokenguard-report failed (%d): %s"
          % (p.returncode, p.stderr.decode(errors="replace").strip()[:300]))
    recs = []
    for line in p.stdout.decode().splitlines():
        if line.strip():
            try:
                recs.append(json.loads(line))
            except ValueError:
                raise Failure("tokenguard-report printed a line that is not JSON: %r" % line[:200])
    return recs


# The price line a model matches, as `tokenguard-report prices MODEL`
# prints it: {"base": {kind: USD per million}, "above": {...}, "threshold": N}.
# The report's matching picks the line; the cost is worked out here, from
# the record's counts, by the README's rule, independently of the shim.
_price_lines = {}
_price_lock = threading.Lock()


def price_line(provider, model):
    key = (provider, model)
    with _price_lock:
        if key in _price_lines:
            return _price_lines[key]
    report = os.environ.get("TG_IT_REPORT", os.path.join(TOP, "build", "tokenguard-report"))
    p = subprocess.run([report, "prices", model, "--provider", provider],
                       capture_output=True, timeout=60)
    line = None
    if p.returncode == 0:
        line = {"base": {}, "above": {}, "threshold": None}
        cur = None
        for text in p.stdout.decode().splitlines():
            m = re.match(r"\s+above (\d+) input tokens:$", text)
            if "): family " in text:
                cur = line["base"]
            elif m:
                line["threshold"], cur = int(m.group(1)), line["above"]
            elif cur is not None and re.match(r"\s+\w+\s+[0-9.eE+-]+$", text):
                kind, value = text.split()
                cur[kind] = float(value)
    with _price_lock:
        _price_lines[key] = line
    return line


def expected_cost(rec, expect):
    """The cost of rec's counts at its model's price line, or None when no
    line prices it (then the record must be an estimate)."""
    line = price_line(rec["provider"], rec["model"])
    if line is None:
        return None
    n = lambda f: rec.get(f) or 0  # noqa: E731
    rates = line["base"]
    if line["threshold"] is not None and n("input_tokens") > line["threshold"]:
        rates = line["above"]
    cached, writes = n("cached_input_tokens"), n("cache_creation_input_tokens")
    plain = max(n("input_tokens") - cached - writes, 0)
    w1 = expect.get("cache_creation_1h_input_tokens") or 0
    w5 = max(writes - w1, 0)
    reasoning = n("reasoning_tokens") if rates["reasoning"] != rates["output"] else 0
    out = max(n("output_tokens") - reasoning, 0)
    return (plain * rates["input"] + cached * rates["cached_input"] +
            w5 * rates["cache_write_5m"] + w1 * rates["cache_write_1h"] +
            out * rates["output"] + reasoning * rates["reasoning"]) / 1e6


def record_problems(rec, ex, client):
    """Everything wrong with rec as the record of exchange ex."""
    c = ex.case
    bad = []

    def want(field, ok, what):
        if field not in rec:
            bad.append("%s missing" % field)
        elif not ok(rec[field]):
            bad.append("%s=%s, expected %s" % (field, json.dumps(rec[field]), what))

    def eq(field, value):
        want(field, lambda v: v == value, json.dumps(value))

    for f in RECORD_FIELDS:
        if f not in rec:
            bad.append("%s missing" % f)
    expect = dict(c["expect"])
    if ex.cut is not None:
        # A stream cut by the test at an arbitrary byte: counts depend on
        # where the cut fell, so only the exchange's identity is asserted.
        expect = {k: v for k, v in expect.items()
                  if k in ("provider", "status", "stream", "request_id", "endpoint")}
        expect["incomplete"] = True
    for k, v in expect.items():
        if k not in rec:
            if k not in NOT_IN_REPORT:
                bad.append("%s missing" % k)
            continue
        if isinstance(v, float) and isinstance(rec[k], (int, float)):
            if abs(rec[k] - v) > 1e-9 + 1e-6 * abs(v):
                bad.append("%s=%s, expected %s" % (k, rec[k], v))
        elif rec[k] != v:
            bad.append("%s=%s, expected %s" % (k, json.dumps(rec[k]), json.dumps(v)))
    eq("provider", c["provider"])
    eq("host", c["host"])
    eq("endpoint", c["path"].split("?", 1)[0])
    eq("operation", expected_operation(c["path"].split("?", 1)[0]))
    # The model asked for is kept whenever the one served differs.
    asked = request_model(c)
    if asked is not None and rec.get("model"):
        served_differs = rec["model"] != asked
        eq("requested_model", asked if served_differs else None)
    eq("status", c["status"])
    eq("stream", expected_stream(c))
    eq("tags", TAGS)
    eq("process", client.process)
    # cut by the test, or ended by the provider (an error event midway)
    eq("incomplete", ex.incomplete or bool(c["expect"].get("incomplete")))
    if ex.cut is None:
        # the provider's error name when its stream ended in an error event
        eq("error", c["expect"].get("error"))
    want("ts", lambda v: v not in (None, "", 0), "a timestamp")
    want("pid", lambda v: isinstance(v, int) and v > 0, "> 0")
    # No TOKENGUARD_MACHINE here: the ledger's own machine, a keyed hash
    # of the machine id; the id is the ledger's and the record key's.
    want("machine", lambda v: isinstance(v, str) and re.fullmatch(r"m-[0-9a-f]{12}", v),
         "m- and 12 hex digits")
    want("id", lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]{32}", v),
         "16 hex digits, '-', 32 hex digits")
    want("latency_ms", lambda v: isinstance(v, (int, float)) and v >= 0, ">= 0")
    if expected_stream(c):
        want("ttft_ms", lambda v: isinstance(v, (int, float)) and v >= 0, ">= 0 for a stream")
    else:
        eq("ttft_ms", None)
    if "request_id" not in c["expect"]:
        ids = [v for k, v in c["headers"].items() if "request-id" in k.lower()
               or "requestid" in k.lower()]
        want("request_id", lambda v: v in ids if ids else v is None,
             " or ".join(ids) if ids else "null")
    # A cost the wire does not give is an estimate (shim/estimate.h),
    # flagged: a model without a price, a sent call without usage.
    billed = (rec.get("input_tokens") or 0) + (rec.get("output_tokens") or 0) > 0
    if rec.get("operation") == "count_tokens":
        # counting tokens is free: known cost 0, never unpriced
        eq("cost_usd", 0)
        eq("unpriced", False)
        eq("cost_estimated", False)
    elif rec.get("usage_unknown") is True or (rec.get("unpriced") is True and billed):
        eq("cost_estimated", True)
        want("cost_usd", lambda v: isinstance(v, (int, float)) and v > 0, "> 0: an estimate")
    else:
        eq("cost_estimated", False)
        if rec.get("unpriced") is False and billed and rec.get("model"):
            cost = expected_cost(rec, c["expect"])
            want("cost_usd", lambda v: cost is not None and isinstance(v, (int, float)) and
                 abs(v - cost) <= 1e-9 * max(cost, 1e-6),
                 "%r: its counts at the price line of %s" % (cost, rec["model"]))
    return list(dict.fromkeys(bad))


def check_records(recs, exchanges, client):
    check(len(recs) == len(exchanges), "%d records, expected %d%s"
          % (len(recs), len(exchanges),
             "" if not recs else ": " + json.dumps(recs)[:400]))
    left = list(recs)
    for ex in exchanges:
        best = None
        for r in left:
            probs = record_problems(r, ex, client)
            if best is None or len(probs) < len(best[1]):
                best = (r, probs)
        check(not best[1], "record of %s: %s" % (ex.case["name"], "; ".join(best[1])))
        left.remove(best[0])


def check_no_secrets(ledger):
    for root, _dirs, files in os.walk(ledger):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            check(API_KEY.encode() not in data, "ledger file %s contains the API key" % name)
            check(PROMPT_MARKER not in data, "ledger file %s contains prompt text" % name)


class Test:
    def __init__(self, client, exchanges, label, flags=(), extra=None):
        self.client, self.exchanges, self.flags = client, exchanges, flags
        self.label = label
        self.extra = extra  # callable(test, env, base, shim, tdir) for special checks
        self.measure = extra is memory_check

    def run(self, env):
        tdir = env.new_dir(self.client.name + "-" + self.label.split()[0])
        base_ledger = os.path.join(tdir, "ledger-base")
        base = run_client(env, self.client, self.exchanges, tdir, "base", base_ledger, False,
                          self.flags, self.measure)
        check_bodies(base.out, self.exchanges, self.client)
        check(len(base.requests) == len(self.exchanges),
              "fake provider saw %d requests, expected %d" % (len(base.requests), len(self.exchanges)))
        if env.no_shim:
            again = run_client(env, self.client, self.exchanges, tdir, "again", base_ledger, False, self.flags)
            check(again.out == base.out, "two runs without the shim printed different bytes")
            if self.extra:
                self.extra(self, env, base, None, tdir)
            return ""
        check(not os.path.exists(base_ledger), "the run without the shim created a ledger")
        ledger = os.path.join(tdir, "ledger")
        shim = run_client(env, self.client, self.exchanges, tdir, "shim", ledger, True,
                          self.flags, self.measure)
        check(shim.out == base.out, "output differs with the shim (see %s)" % tdir)
        check(shim.rc == base.rc, "exit status %d with the shim, %d without" % (shim.rc, base.rc))
        check([request_fingerprint(e) for e in shim.requests] ==
              [request_fingerprint(e) for e in base.requests],
              "the provider received different requests with the shim")
        note = ""
        if self.extra:
            note = self.extra(self, env, base, shim, tdir) or ""
        elif self.client.h2 and not env.check_h2:
            note = "# HTTP/2 records not checked (TG_IT_H2=0)"
        else:
            check_records(read_records(env, ledger), self.exchanges, self.client)
        check_no_secrets(ledger)
        return note


# ---------------------------------------------------------------- special tests

def same_connection(run, n):
    conns = {e["conn"] for e in run.requests}
    check(len(run.requests) == n and len(conns) == 1,
          "expected %d requests on one connection, saw %d on %d" % (n, len(run.requests), len(conns)))


def keepalive_check(test, env, base, shim, tdir):
    for r in (base, shim):
        if r is not None:
            same_connection(r, len(test.exchanges))
    if test.client.h2:
        check(len({e.get("h2_stream") for e in base.requests}) == len(test.exchanges),
              "HTTP/2 exchanges did not use separate streams")
    if shim is None:
        return ""
    if test.client.h2 and not env.check_h2:
        return "# HTTP/2 records not checked (TG_IT_H2=0)"
    check_records(read_records(env, os.path.join(tdir, "ledger")), test.exchanges, test.client)
    return ""


def expect100_check(test, env, base, shim, tdir):
    sent = [k.lower() == "expect" and v.lower() == "100-continue"
            for e in base.requests for k, v in e["headers"]]
    check(any(sent), "curl did not send Expect: 100-continue")
    if shim is not None:
        check_records(read_records(env, os.path.join(tdir, "ledger")), test.exchanges, test.client)
    return ""


def memory_check(test, env, base, shim, tdir):
    if shim is None:
        return ""
    check_records(read_records(env, os.path.join(tdir, "ledger")), test.exchanges, test.client)
    size_kb = len(test.exchanges[0].case["response_bytes"]) // 1024
    grew = shim.rss_kb - base.rss_kb
    # Holding the body, even once, would add its whole size.
    check(grew < size_kb // 2, "max RSS grew by %d KiB with the shim (%d KiB to %d KiB) for a %d KiB body"
          % (grew, base.rss_kb, shim.rss_kb, size_kb))
    return "# max RSS %d KiB without the shim, %d KiB with, body %d KiB" % (base.rss_kb, shim.rss_kb, size_kb)


def unwritable_ledger(tdir):
    """A ledger path the process cannot create: a read-only bind mount
    (root ignores mode bits), else a path under a regular file."""
    ro = os.path.join(tdir, "readonly")
    os.makedirs(ro)
    ok = subprocess.run(["mount", "--bind", ro, ro], capture_output=True).returncode == 0 and \
        subprocess.run(["mount", "-o", "remount,bind,ro", ro], capture_output=True).returncode == 0
    if ok:
        return os.path.join(ro, "ledger"), ro
    blocker = os.path.join(tdir, "not-a-directory")
    open(blocker, "w").close()
    return os.path.join(blocker, "ledger"), None


class UnwritableTest(Test):
    """The program must not notice a broken ledger beyond one warning."""

    def run(self, env):
        if env.no_shim:
            return "# skipped without the shim"
        tdir = env.new_dir(self.client.name + "-unwritable")
        ledger, mnt = unwritable_ledger(tdir)
        try:
            base = run_client(env, self.client, self.exchanges, tdir, "base", ledger, False)
            shim = run_client(env, self.client, self.exchanges, tdir, "shim", ledger, True)
        finally:
            if mnt:
                subprocess.run(["umount", mnt], capture_output=True)
        check_bodies(base.out, self.exchanges, self.client)
        check(shim.out == base.out, "output differs with the shim (see %s)" % tdir)
        check(shim.rc == base.rc, "exit status %d with the shim, %d without" % (shim.rc, base.rc))
        added = [l for l in shim.stderr.splitlines() if l not in base.stderr.splitlines()]
        check(len(added) == 1 and added[0].startswith(b"tokenguard: "),
              "expected one 'tokenguard: ' warning on stderr, got %r" % added[:5])
        return "# " + added[0].decode(errors="replace")[:100]


# ---------------------------------------------------------------- matrix

def patterns(var):
    v = os.environ.get(var, "")
    return [p for p in v.split(",") if p] or ["*"]


def selected(name, pats):
    return any(fnmatch.fnmatchcase(name, p) for p in pats)


def mode_for(case, mode):
    # A case cut by design with a close-delimited body would end the way a
    # complete one does; keep its framing explicit.
    if case.get("cut") and mode.transfer == "close":
        return Mode("chunked", mode.encoding, mode.split, mode.coalesce, mode.delay_ms)
    return mode


def build_matrix(cases, clients, modes):
    tests = []
    if os.environ.get("TG_IT_FULL") == "1":
        for cl in clients:
            for c in cases:
                for m in modes:
                    m = mode_for(c, m)
                    tests.append(Test(cl, [Exchange(c, m)], "%s %s" % (c["name"], m.name)))
        return tests
    written = [c for c in cases if not is_recorded(c)]
    # Every hand-written case with every client; modes rotate with an offset
    # per client so each client also meets every mode (there are more cases
    # than modes).
    for j, cl in enumerate(clients):
        seen = set()
        for i, c in enumerate(written):
            m = mode_for(c, modes[(i + 3 * j) % len(modes)])
            seen.add(m.name)
            tests.append(Test(cl, [Exchange(c, m)], "%s %s" % (c["name"], m.name)))
        for m in modes:
            if m.name not in seen and written:
                c = written[len(tests) % len(written)]
                m = mode_for(c, m)
                tests.append(Test(cl, [Exchange(c, m)], "%s %s" % (c["name"], m.name)))
    return tests + recorded_matrix([c for c in cases if is_recorded(c)], clients, modes)


def is_recorded(case):
    """A case taken from real provider traffic (tests/fixtures/recorded)."""
    return "source" in case


RECORDED_CLIENTS = 3


def recorded_matrix(cases, clients, modes):
    """Each recorded case with RECORDED_CLIENTS clients, one of them speaking
    HTTP/2 where one is selected, clients and modes rotating so that every
    client and every mode meets recorded bodies: what these cases add is
    the bodies, which the hand-written matrix already crossed with every
    client and mode."""
    h2 = [cl for cl in clients if cl.h2]
    h1 = [cl for cl in clients if not cl.h2]
    tests = []
    for i, c in enumerate(cases):
        chosen = [h2[i % len(h2)]] if h2 else []
        chosen += [h1[(i * 2 + k) % len(h1)] for k in range(len(h1))][:RECORDED_CLIENTS - len(chosen)]
        if len(chosen) < RECORDED_CLIENTS:
            chosen += [cl for cl in h2 if cl not in chosen][:RECORDED_CLIENTS - len(chosen)]
        for k, cl in enumerate(chosen):
            m = mode_for(c, modes[(i * RECORDED_CLIENTS + k) % len(modes)])
            tests.append(Test(cl, [Exchange(c, m)], "%s %s" % (c["name"], m.name)))
    return tests


def special_tests(cases, clients):
    by_case = {c["name"]: c for c in cases}
    by_client = {c.name: c for c in clients}
    plain = Mode("length", "identity")
    chunked = Mode("chunked", "identity")
    tests = []

    def add(name, client, exchanges, flags=(), extra=None, cls=Test):
        if client in by_client and all(e is not None for e in exchanges):
            tests.append(cls(by_client[client], exchanges, name, flags, extra))

    def ex(case, mode=plain, cut=None):
        c = by_case.get(case)
        return Exchange(c, mode, cut) if c else None

    trio = ["openai-chat", "openai-chat-stream", "openai-responses-stream"]
    add("keepalive-3-exchanges", "curl-h1", [ex(n, chunked) for n in trio], extra=keepalive_check)
    add("keepalive-3-exchanges", "requests", [ex(n) for n in trio], extra=keepalive_check)
    add("keepalive-3-exchanges", "aiohttp", [ex(n, chunked) for n in trio], extra=keepalive_check)
    add("keepalive-3-exchanges", "httpx-h2", [ex(n) for n in trio], extra=keepalive_check)
    add("h2-multiplex-3-streams", "curl-h2", [ex("openai-chat-stream", Mode("length", "identity", split=11))] * 3,
        flags=("--parallel",), extra=keepalive_check)
    add("expect-100-continue", "curl-h1", [ex("big-request")], extra=expect100_check)
    add("big-response-bounded-memory", "curl-h1", [ex("big-embeddings")], extra=memory_check)
    add("big-response-bounded-memory", "curl-h1-compressed",
        [ex("big-embeddings", Mode("chunked", "gzip"))], extra=memory_check)
    add("big-response", "requests", [ex("big-embeddings", Mode("chunked", "br"))])
    add("big-response", "curl-h2", [ex("big-embeddings", Mode("length", "zstd"))])
    add("big-response-gzip", "requests", [ex("big-embeddings", Mode("length", "gzip"))])
    stream = by_case.get("openai-chat-stream")
    if stream:
        half = len(stream["response_bytes"]) // 2
        add("cut-stream-at-half", "curl-h1", [ex("openai-chat-stream", chunked, half)])
        add("cut-stream-at-half", "requests", [ex("openai-chat-stream", plain, half)])
        add("cut-stream-at-half", "aiohttp", [ex("openai-chat-stream", Mode("chunked", "identity", split=9), half)])
        add("cut-stream-at-half", "curl-h2", [ex("openai-chat-stream", plain, half)])
    add("ledger-not-writable", "curl-h1", [ex("openai-chat")], cls=UnwritableTest)
    add("ledger-not-writable", "urllib", [ex("openai-chat-stream", chunked)], cls=UnwritableTest)
    return tests


# ---------------------------------------------------------------- main

SAN_MARKS = ("runtime error: ", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
             "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def san_report_line(path):
    """The first line of a sanitizer report in the file at path, or None."""
    with open(path, "rb") as f:
        for line in f:
            text = line.decode(errors="replace")
            if any(m in text for m in SAN_MARKS):
                return text.strip()[:200]
    return None


def san_summary(paths):
    """What went wrong, from the first report among paths."""
    for path in paths:
        line = san_report_line(path)
        if line:
            return "%s (%s)" % (line, path)
    return ", ".join(paths)


def in_private_netns():
    import socket
    return [name for _i, name in socket.if_nameindex()] == ["lo"]


def main():
    ap = argparse.ArgumentParser(description="tokenguard integration tests")
    ap.add_argument("--work", help="directory with ca/ and provider.log (made by run.sh)")
    ap.add_argument("--cases", action="append", default=[])
    ap.add_argument("--write-extra-cases", metavar="DIR",
                    help="write the generated cases to DIR/extra_cases.json and exit")
    args = ap.parse_args()
    fixtures = os.path.join(TOP, "tests", "fixtures")
    if args.write_extra_cases:
        write_extra_cases(args.write_extra_cases, fixtures)
        return 0
    if not in_private_netns():
        print("run_tests.py: not inside a private network namespace; run tests/integration/run.sh",
              file=sys.stderr)
        return 2
    env = Env(args)
    # The runner's own configuration file must not steer the tests (its
    # budgets would block them): every program gets an empty config
    # directory unless a test names another.
    os.environ["XDG_CONFIG_HOME"] = os.path.join(args.work, "no-config")
    os.makedirs(os.environ["XDG_CONFIG_HOME"], exist_ok=True)
    if not env.no_shim:
        for f in (env.shim, env.report):
            if not os.path.exists(f):
                print("run_tests.py: %s is missing: run make (or TG_IT_NO_SHIM=1 to check "
                      "only the fake provider and the clients)" % f, file=sys.stderr)
                return 2

    cases = load_cases(args.cases)
    fixture_cases = [c for c in cases if not c["name"].startswith("big-")]
    clients = [c for c in all_clients() if selected(c.name, patterns("TG_IT_CLIENTS"))]
    modes = [m for m in MODES if selected(m.name, patterns("TG_IT_MODES"))]
    chosen = [c for c in fixture_cases if selected(c["name"], patterns("TG_IT_CASES"))]
    only_special = bool(os.environ.get("TG_IT_TESTS"))
    narrowed = any(os.environ.get(v) for v in ("TG_IT_CASES", "TG_IT_MODES"))
    tests = []
    if chosen and modes and not only_special:
        tests = build_matrix(chosen, clients, modes)
    if only_special or not narrowed:
        extra = [t for suite in SUITES for t in suite.tests(sys.modules[__name__], cases)]
        tests += [t for t in special_tests(cases, clients) + extra
                  if selected(t.label, patterns("TG_IT_TESTS"))]

    print("# %d tests: %d clients, %d cases, %d delivery modes%s" % (
        len(tests), len(clients), len(chosen), len(modes),
        " (no shim: fake provider and clients only)" if env.no_shim else ""))
    sys.stdout.flush()
    passed = failed = 0
    lock = threading.Lock()

    def one(t):
        nonlocal passed, failed
        name = "%s %s" % (t.client.name, t.label)
        env.local.dirs = []
        note = why = None
        try:
            note = t.run(env)
        except Failure as e:
            why = str(e)
        except Exception as e:  # a driver bug must still count as a failure
            why = "%s: %s" % (type(e).__name__, e)
        reports = env.san_reports(env.local.dirs)
        if reports:
            why = "sanitizer report: %s%s" % (san_summary(reports), "; " + why if why else "")
        ok = why is None
        line = "ok - " + name + (" " + note if note else "") if ok else "not ok - %s: %s" % (name, why)
        with lock:
            passed += ok
            failed += not ok
            print(line)
            sys.stdout.flush()

    jobs = max(1, int(os.environ.get("TG_IT_JOBS", "2")))
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, tests))
    reports = env.san_reports()
    if reports:
        for path in reports:
            print("# sanitizer report %s:" % path)
            with open(path, errors="replace") as f:
                lines = f.readlines()
            start = next((i for i, l in enumerate(lines) if any(m in l for m in SAN_MARKS)), 0)
            print("".join("# " + l for l in lines[start:start + 80]), end="")
        print("not ok - sanitizers: %d report(s) above" % len(reports))
        failed += 1
    elif env.san:
        print("ok - sanitizers (%s): no report from any program" % env.san)
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
