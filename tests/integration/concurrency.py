"""concurrency.py - the conc-* integration tests: many exchanges at once.

Owns: HTTP/2 multiplexing (20 and 100 streams on one connection, several
providers' formats interleaved), threads, processes, fork, a program killed
mid-stream or mid-burst, streams given up by the client, and HTTP/2 against
HTTP/1.1 record for record.  Each test asserts the exact records read back
with `tokenguard-report records --format jsonl` and what the program read.

run_tests.py collects the tests with tests(harness, cases); harness is the
run_tests module itself (its Env, Exchange, Mode and record checks), passed
in rather than imported so that both share one Failure class.  The Python
programs run are helpers/conc_client.py; curl is driven by a config file so
that every transfer keeps its own method, body and headers even when all of
them run in parallel.
"""

import collections
import copy
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

import itlib
from itlib import records

HERE = os.path.dirname(os.path.abspath(__file__))
CONC_CLIENT = os.path.join(HERE, "helpers", "conc_client.py")
SYS_PY = "/usr/bin/python3"
TIMEOUT = 90

OPENAI = ["openai-chat", "openai-chat-stream", "openai-chat-stream-reasoning",
          "openai-chat-stream-no-usage", "openai-responses", "openai-responses-stream",
          "openai-completions", "openai-embeddings", "openai-error-429"]
ANTHROPIC = ["anthropic-messages", "anthropic-messages-stream"]
GEMINI = ["gemini-generate", "gemini-stream-sse", "gemini-stream-json"]
COHERE = ["cohere-chat", "cohere-chat-stream", "cohere-embed"]
# One of every wire format, on as many hosts as there are.
EVERY_FORMAT = ["openai-chat", "anthropic-messages", "gemini-generate", "cohere-chat",
                "bedrock-converse", "groq-chat-stream", "mistral-chat-stream", "xai-chat",
                "deepseek-chat", "openai-chat-stream", "anthropic-messages-stream",
                "gemini-stream-sse", "openai-responses-stream", "cohere-chat-stream",
                "azure-chat-stream", "bedrock-converse-stream"]
# The fields two runs of the same exchanges legitimately differ in.
# The id holds the ledger's id, and the machine its keyed hash: another
# ledger, another value.
RUN_SPECIFIC = ("ts", "latency_ms", "ttft_ms", "pid", "id", "machine")
# A process's spool is due a fold at this many records (ledger.h).
FOLD_RECORDS = 256


class ConcTest(itlib.SuiteTest):
    def ex(self, name, mode=None, cut=None):
        return self.h.Exchange(self.cases[name], mode or self.h.Mode("length", "identity"), cut)


def stalled(mode, ms):
    """mode, with the fake provider pausing ms after the first body piece."""
    m = copy.copy(mode)
    m.headers = lambda: mode.headers() + ["x-fake-stall-ms: %d" % ms]
    m.name = mode.name + "+stall%d" % ms
    return m


def h2_modes(h):
    """Deliveries that make HTTP/2 frames of different streams interleave."""
    M = h.Mode
    return [M("length", "identity"), M("chunked", "identity", split=64), M("length", "gzip"),
            M("chunked", "identity", split=7, coalesce=True), M("length", "br", split=100),
            M("length", "zstd"), M("chunked", "deflate", split=13)]


def wire_body(h, ex):
    """What a client that does not decode reads: the encoded body."""
    return h.fake_provider.encode(ex.case["response_bytes"], ex.mode.encoding)


def check_body(t, body, ex, what):
    c = ex.case
    full = wire_body(t.h, ex)
    if ex.incomplete:
        t.check(full.startswith(body), "%s: %s body is not a prefix of the case's" % (what, c["name"]))
    else:
        t.check(body == full, "%s: %s body differs (%d bytes, expected %d)"
                % (what, c["name"], len(body), len(full)))


# ---------------------------------------------------------------- records

def match_records(t, recs, exchanges, what=""):
    """Asserts recs are exactly the records of exchanges, one each.  Linear in
    the usual case (records bucketed by host, endpoint and model); the
    harness's exhaustive matcher explains whatever is left over."""
    h = t.h
    t.check(len(recs) == len(exchanges), "%s%d records, expected %d" % (what, len(recs), len(exchanges)))
    pool = collections.defaultdict(list)
    for r in recs:
        pool[(r.get("host"), r.get("endpoint"), r.get("model"))].append(r)
    unmatched = []
    for ex in exchanges:
        c = ex.case
        bucket = pool.get((c["host"], c["path"].split("?", 1)[0], c["expect"].get("model")), [])
        for i, r in enumerate(bucket):
            if not h.record_problems(r, ex, t.client):
                del bucket[i]
                break
        else:
            unmatched.append(ex)
    if unmatched:
        left = [r for b in pool.values() for r in b]
        try:
            h.check_records(left, unmatched, t.client)
        except h.Failure as e:
            raise h.Failure(what + str(e))


def by_pid(recs):
    out = collections.defaultdict(list)
    for r in recs:
        out[r.get("pid")].append(r)
    return out


def check_fields(t, rec, want, what):
    bad = ["%s=%s, expected %s" % (k, json.dumps(rec.get(k)), json.dumps(v))
           for k, v in want.items() if rec.get(k) != v]
    t.check(not bad, "%s: %s" % (what, "; ".join(bad)))


def comparable(rec):
    return json.dumps({k: v for k, v in rec.items() if k not in RUN_SPECIFIC}, sort_keys=True)


# ---------------------------------------------------------------- provider log

def one_connection(t, env, tag, n, proto):
    reqs = t.h.provider_requests(env, tag)
    conns = {e["conn"] for e in reqs}
    t.check(len(reqs) == n and len(conns) == 1,
            "fake provider saw %d requests on %d connections, expected %d on one"
            % (len(reqs), len(conns), n))
    t.check({e["proto"] for e in reqs} == {proto}, "protocols %s, expected %s"
            % (sorted({e["proto"] for e in reqs}), proto))
    if proto == "h2":
        streams = {e["h2_stream"] for e in reqs}
        t.check(len(streams) == n, "%d HTTP/2 streams for %d requests" % (len(streams), n))
    return reqs


# ---------------------------------------------------------------- curl

class Curl:
    """One curl process running exchanges from a config file: one option
    group per transfer (--next), HTTP/2 unless http is "1.1"."""

    def __init__(self, t, env, tdir, label, exchanges, ledger, http="2", parallel=0,
                 extra=(), preload=True, env_extra=None):
        self.t, self.env, self.label = t, env, label
        self.exchanges, self.http = exchanges, http
        self.tag = "%s/%s" % (os.path.basename(tdir), label)
        self.bodies = os.path.join(tdir, label + ".bodies")
        os.makedirs(self.bodies)
        cfg = os.path.join(tdir, label + ".curlrc")
        run_options = ["parallel", "parallel-max = %d" % parallel] if parallel else []
        itlib.write_curl_config(cfg, env, self.tag, exchanges, http,
                                lambda i: ['output = "%s/%d"' % (self.bodies, i)],
                                options=run_options, extra=extra)
        self.out = os.path.join(tdir, label + ".out")
        self.err = os.path.join(tdir, label + ".err")
        child_env = env.child_env(ledger, preload)
        child_env.update(env_extra or {})
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen(["curl", "-K", cfg], stdin=subprocess.DEVNULL,
                                         stdout=o, stderr=e, env=child_env)
        self.pid = self.proc.pid

    def wait(self, deadline):
        itlib.wait_or_kill(self.t, self.proc, max(0.1, deadline - time.monotonic()),
                           "%s: curl did not finish in time" % self.label)
        return self

    def check_output(self, rc=0):
        """Every transfer answered with the case's status and bytes."""
        t = self.t
        err = itlib.read_text(self.err).strip()
        if rc is not None:
            t.check(self.proc.returncode == rc, "%s: curl exit %d, expected %d: %s"
                    % (self.label, self.proc.returncode, rc, err[:200]))
        seen = {}
        with open(self.out) as f:
            for line in f:
                i, code, ver = line.split()
                t.check(int(i) not in seen, "%s: transfer %s reported twice" % (self.label, i))
                seen[int(i)] = (code, ver)
        for i, ex in enumerate(self.exchanges):
            c = ex.case
            t.check(i in seen, "%s: transfer %d (%s) reported nothing" % (self.label, i, c["name"]))
            code, ver = seen[i]
            # A stream the server resets may end before curl took in its head.
            t.check(code == str(c["status"]) or (ex.incomplete and code == "000"), "%s: transfer %d (%s): status %s, expected %s"
                    % (self.label, i, c["name"], code, c["status"]))
            t.check(ver == self.http or code == "000", "%s: transfer %d used HTTP/%s, expected HTTP/%s"
                    % (self.label, i, ver, self.http))
            path = os.path.join(self.bodies, str(i))
            body = b""
            if os.path.exists(path):
                with open(path, "rb") as f:
                    body = f.read()
            check_body(t, body, ex, "%s transfer %d" % (self.label, i))
        return self


def run_curls(curls, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    for c in curls:
        c.wait(deadline)
    return curls


# ---------------------------------------------------------------- Python helper

class Helper:
    """helpers/conc_client.py MODE with a plan; its results by (who, index)."""

    def __init__(self, t, env, tdir, mode, plan, ledger, stdin=subprocess.DEVNULL,
                 stdout=None):
        self.t, self.mode = t, mode
        self.plan_path = os.path.join(tdir, mode + ".plan.json")
        with open(self.plan_path, "w") as f:
            json.dump(plan, f)
        self.out = os.path.join(tdir, mode + ".out")
        self.err = os.path.join(tdir, mode + ".err")
        with open(self.err, "wb") as e:
            self.proc = subprocess.Popen([SYS_PY, CONC_CLIENT, mode, self.plan_path, self.out],
                                         stdin=stdin, stdout=stdout or e, stderr=e,
                                         env=env.child_env(ledger, True))
        self.pid = self.proc.pid

    def wait(self, timeout=TIMEOUT):
        itlib.wait_or_kill(self.t, self.proc, timeout, "conc_client.py %s did not finish in %ds "
                           "(deadlock?)" % (self.mode, timeout))
        return self

    def stderr(self):
        return itlib.read_text(self.err).strip()

    def results(self, rc=0):
        t = self.t
        if rc is not None:
            t.check(self.proc.returncode == rc, "conc_client.py %s exit %d: %s"
                    % (self.mode, self.proc.returncode, self.stderr()[-300:]))
        t.check(os.path.exists(self.out), "conc_client.py %s wrote no results" % self.mode)
        return itlib.read_json_lines(self.out)


def check_results(t, results, planned):
    """planned: {(who, index): Exchange}; every one answered with the
    case's status and bytes, exactly once."""
    got = {}
    for r in results:
        key = (r["who"], r["index"])
        t.check(key not in got, "exchange %s reported twice" % (key,))
        got[key] = r
    t.check(set(got) == set(planned), "exchanges reported %d, planned %d; missing %s"
            % (len(got), len(planned), sorted(set(planned) - set(got))[:5]))
    for key, ex in planned.items():
        r, c = got[key], ex.case
        t.check(r["error"] is None, "%s %s: %s" % (key, c["name"], r["error"]))
        t.check(r["status"] == c["status"], "%s %s: status %s, expected %s"
                % (key, c["name"], r["status"], c["status"]))
        body = wire_body(t.h, ex)
        t.check(r["sha256"] == hashlib.sha256(body).hexdigest(),
                "%s %s: body differs (%d bytes, expected %d)" % (key, c["name"], r["len"], len(body)))
    return got


# ---------------------------------------------------------------- the tests

def curl_parallel(n):
    def body(t, env, tdir):
        modes = h2_modes(t.h)
        exs = [t.ex(OPENAI[i % len(OPENAI)], modes[i % len(modes)]) for i in range(n)]
        ledger = os.path.join(tdir, "ledger")
        c = run_curls([Curl(t, env, tdir, "curl", exs, ledger, parallel=n)])[0]
        c.check_output()
        one_connection(t, env, c.tag, n, "h2")
        recs = records(t, env, ledger)
        match_records(t, recs, exs)
        t.check({r["pid"] for r in recs} == {c.pid}, "records name pids %s, curl was %d"
                % (sorted({r["pid"] for r in recs}), c.pid))
        return "# %d streams on one connection" % n
    return body


def h2_mixed_formats(t, env, tdir):
    h, modes = t.h, h2_modes(t.h)
    ledger = os.path.join(tdir, "ledger")
    groups = {"openai": OPENAI, "anthropic": ANTHROPIC + ["anthropic-messages-stream-cut"],
              "gemini": GEMINI}
    curls = []
    for k, (name, cases) in enumerate(sorted(groups.items())):
        exs = [t.ex(cases[i % len(cases)], h.mode_for(t.cases[cases[i % len(cases)]],
                                                      modes[(i + k) % len(modes)]))
               for i in range(12)]
        curls.append(Curl(t, env, tdir, name, exs, ledger, parallel=12))
    run_curls(curls)
    recs = by_pid(records(t, env, ledger))
    t.check(set(recs) == {c.pid for c in curls}, "records name pids %s, curls were %s"
            % (sorted(recs), sorted(c.pid for c in curls)))
    for c in curls:
        cut = any(ex.incomplete for ex in c.exchanges)
        # curl reports the stream the server reset (the cut case) in its status.
        c.check_output(rc=None if cut else 0)
        one_connection(t, env, c.tag, len(c.exchanges), "h2")
        match_records(t, recs[c.pid], c.exchanges, "%s: " % c.label)
    return "# 3 curls x 12 streams, one connection each"


def threads_16(t, env, tdir):
    h = t.h
    M = h.Mode
    modes = [M("length", "identity"), M("chunked", "identity"), M("chunked", "gzip")]
    ledger = os.path.join(tdir, "ledger")
    planned, workers, hosts = {}, [], {}
    for w in range(16):
        lst = []
        # A run tag per thread: the provider log then tells its connections.
        tag = "%s/thread%d" % (os.path.basename(tdir), w)
        for j in range(10):
            ex = t.ex(EVERY_FORMAT[(w + j) % len(EVERY_FORMAT)], modes[(w + j) % len(modes)])
            planned[("thread%d" % w, j)] = ex
            lst.append(ex.argv(tag))
            hosts.setdefault(tag, set()).add(ex.case["host"])
        workers.append(lst)
    p = Helper(t, env, tdir, "threads", {"workers": workers}, ledger).wait()
    check_results(t, p.results(), planned)
    owner = {}
    for tag, names in hosts.items():
        reqs = h.provider_requests(env, tag)
        conns = {e["conn"] for e in reqs}
        t.check(len(reqs) == 10 and len(conns) == len(names),
                "%s: %d requests on %d connections, expected 10 on %d (one per host)"
                % (tag, len(reqs), len(conns), len(names)))
        for conn in conns:
            t.check(owner.setdefault(conn, tag) == tag, "two threads shared a connection")
    recs = records(t, env, ledger)
    match_records(t, recs, list(planned.values()))
    t.check({r["pid"] for r in recs} == {p.pid}, "records name pids %s, the process was %d"
            % (sorted({r["pid"] for r in recs}), p.pid))
    return "# 16 threads x 10 exchanges"


def processes_8x200(t, env, tdir):
    h = t.h
    M = h.Mode
    modes = [M("length", "identity"), M("chunked", "identity"), M("length", "gzip")]
    ledger = os.path.join(tdir, "ledger")
    groups = [OPENAI, ANTHROPIC, GEMINI, COHERE]
    curls = []
    for k in range(8):
        cases = groups[k % 4]
        http = "1.1" if k < 4 else "2"
        exs = [t.ex(cases[j % len(cases)], modes[j % len(modes)]) for j in range(200)]
        curls.append(Curl(t, env, tdir, "p%d-h%s" % (k, http), exs, ledger, http=http))
    start = time.monotonic()
    run_curls(curls, 120)
    took = time.monotonic() - start
    for c in curls:
        c.check_output()
        one_connection(t, env, c.tag, 200, "h2" if c.http == "2" else "http/1.1")
    recs = by_pid(records(t, env, ledger))
    counts = {pid: len(v) for pid, v in recs.items()}
    t.check(counts == {c.pid: 200 for c in curls}, "records per pid %s, expected 200 for each of %s"
            % (counts, sorted(c.pid for c in curls)))
    for c in curls:
        match_records(t, recs[c.pid], c.exchanges, "%s: " % c.label)
    return "# 1600 exchanges in %.1f s" % took


def multiprocessing_fork(t, env, tdir):
    ledger = os.path.join(tdir, "ledger")
    tag = "%s/fork" % os.path.basename(tdir)
    parent = [t.ex(n) for n in ("openai-chat", "openai-chat-stream", "openai-responses",
                                "openai-embeddings")]
    children = [[t.ex(EVERY_FORMAT[(2 * k + j) % len(EVERY_FORMAT)]) for j in range(2)]
                for k in range(4)]
    heir = [t.ex("anthropic-messages")]
    planned = {("parent", i): ex for i, ex in enumerate(parent)}
    planned.update({("child%d" % k, j): ex for k, lst in enumerate(children)
                    for j, ex in enumerate(lst)})
    planned[("inheritor", 0)] = heir[0]
    # The parent's requests carry their own run tag, to find its connection.
    plan = {"parent": [e.argv(tag + "/parent") for e in parent], "pool": 2,
            "children": [[e.argv(tag) for e in lst] for lst in children],
            "inheritor": [e.argv(tag) for e in heir]}
    p = Helper(t, env, tdir, "fork", plan, ledger).wait(60)
    got = check_results(t, p.results(), planned)
    # The parent kept using its connection across the forks.
    one_connection(t, env, tag + "/parent", len(parent), "http/1.1")
    recs = by_pid(records(t, env, ledger))
    pids = collections.defaultdict(list)
    for key, ex in planned.items():
        pids[got[key]["pid"]].append(ex)
    t.check(p.pid in pids and len(pids) >= 3, "exchanges ran in pids %s (parent %d)"
            % (sorted(pids), p.pid))
    t.check(sorted(recs) == sorted(pids), "records name pids %s, the exchanges ran in %s"
            % ({k: len(v) for k, v in recs.items()}, {k: len(v) for k, v in pids.items()}))
    for pid, exs in pids.items():
        match_records(t, recs[pid], exs, "pid %d%s: " % (pid, " (parent)" if pid == p.pid else ""))
    return "# %d records from %d processes" % (len(planned), len(pids))


def read_line(t, proc, timeout):
    """The next stdout line of proc, waiting at most timeout seconds."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        t.check(left > 0, "no line from the client in %ds" % timeout)
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            piece = os.read(fd, 1)
            t.check(piece != b"", "the client exited before it said anything")
            buf += piece
    return buf


def verify(t, env, ledger):
    """tokenguard-report verify --format json: a clean ledger, and what its
    spools still hold."""
    p = subprocess.run([env.report, "verify", "--format", "json", "--ledger", ledger],
                       capture_output=True, timeout=TIMEOUT)
    t.check(p.returncode == 0, "verify: exit %d: %s%s" % (p.returncode, p.stdout[-300:],
                                                          p.stderr[-300:]))
    return json.loads(p.stdout)


def append_after(t, env, tdir, ledger, before):
    """A new process records into the ledger a killed one left, and its
    exit folds the dead one's spool with its own."""
    ex = t.ex("openai-chat")
    c = run_curls([Curl(t, env, tdir, "after", [ex], ledger)])[0].check_output()
    recs = records(t, env, ledger)
    t.check(len(recs) == before + 1, "%d records after one more exchange, expected %d"
            % (len(recs), before + 1))
    v = verify(t, env, ledger)
    t.check(v["spool_files"] == 0 and v["spool_pending"] == 0,
            "after the next process: %d spool file(s) with %d record(s) left"
            % (v["spool_files"], v["spool_pending"]))
    curl = ConcTest(t.h, t.cases, "curl", "curl", "", None)
    match_records(curl, [r for r in recs if r["pid"] == c.pid], [ex], "after the kill: ")
    return recs


def sigkill_midstream(t, env, tdir):
    h = t.h
    ledger = os.path.join(tdir, "ledger")
    tag = "%s/hold" % os.path.basename(tdir)
    before = [t.ex(n, h.Mode("chunked", "identity")) for n in
              ("openai-chat", "anthropic-messages", "gemini-generate", "openai-chat-stream",
               "cohere-chat")]
    stream = t.ex("anthropic-messages-stream",
                  stalled(h.Mode("chunked", "identity", coalesce=True), 30000))
    plan = {"before": [e.argv(tag) for e in before], "stream": stream.argv(tag)}
    p = Helper(t, env, tdir, "hold", plan, ledger, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        said = read_line(t, p.proc, TIMEOUT)
        t.check(said == b"streaming\n", "the client said %r: %s" % (said, p.stderr()[-300:]))
        os.kill(p.pid, signal.SIGKILL)
        p.proc.wait(TIMEOUT)
    finally:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()
        p.proc.stdin.close()
        p.proc.stdout.close()
    t.check(p.proc.returncode == -signal.SIGKILL, "client exit %s, expected SIGKILL"
            % p.proc.returncode)
    check_results(t, p.results(rc=None), {("main", i): ex for i, ex in enumerate(before)})
    recs = records(t, env, ledger)
    match_records(t, recs, before, "after SIGKILL mid-stream: ")
    append_after(t, env, tdir, ledger, len(before))
    return "# %d records kept, one appended afterwards" % len(before)


def sigkill_burst(t, env, tdir):
    """A kill that lands wherever the program is, a ledger commit included:
    whatever was committed stays readable and correct."""
    base = fast_ledger(tdir)
    try:
        return sigkill_burst_in(t, env, tdir, os.path.join(base, "ledger"))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def sigkill_burst_in(t, env, tdir, ledger):
    cases = ["openai-chat", "openai-chat-stream"]
    exs = [t.ex(cases[i % 2]) for i in range(1000)]
    c = Curl(t, env, tdir, "burst", exs, ledger, http="1.1")
    deadline = time.monotonic() + TIMEOUT
    # The provider logs each request as it arrives; poll its log for the
    # 600th so the kill lands mid-burst however fast the machine is.
    while len(t.h.provider_requests(env, c.tag)) < FOLD_RECORDS * 2 + 88:
        t.check(c.proc.poll() is None, "curl ended before the kill (exit %s)" % c.proc.returncode)
        t.check(time.monotonic() < deadline, "curl made fewer than 600 requests in %ds" % TIMEOUT)
        time.sleep(0.005)
    os.kill(c.pid, signal.SIGKILL)
    c.proc.wait()
    sent = len(t.h.provider_requests(env, c.tag))
    # Handed-off records were folded while the program ran (a spool never
    # holds more than a fold's worth), and the rest wait in its spool.
    v = verify(t, env, ledger)
    t.check(v["spool_pending"] <= FOLD_RECORDS, "%d records still in spools after %d requests: "
            "no fold while curl ran" % (v["spool_pending"], sent))
    recs = records(t, env, ledger)
    # Each exchange is recorded once its response ends, before the next
    # request leaves: at most one exchange (the one in flight) is missing.
    t.check(sent - 1 <= len(recs) <= sent, "%d records for %d requests" % (len(recs), sent))
    match_records(t, recs, exs[:len(recs)], "after SIGKILL mid-burst: ")
    append_after(t, env, tdir, ledger, len(recs))
    return "# killed after %d requests, %d records kept" % (sent, len(recs))


def fast_ledger(tdir):
    """A ledger directory on tmpfs when there is one.  For the tests of
    when folds happen: a commit slower than 50 ms (a loaded CI disk, the
    sanitizers) rightly puts a process into its stalled-disk mode, where
    it folds nothing for 30 s (README, "A stalled disk delays records"),
    which is not what these tests are about."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return tempfile.mkdtemp(prefix="tg-it-", dir="/dev/shm")
    return tempfile.mkdtemp(prefix="ledger-", dir=tdir)


def sync_modes(t, env, tdir):
    """TOKENGUARD_SYNC=batch (the default) and commit: the same records,
    and nothing left in a spool once the program has exited."""
    base = fast_ledger(tdir)
    try:
        return sync_modes_in(t, env, tdir, os.path.join(base, "ledger"))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def sync_modes_in(t, env, tdir, ledger):
    exs = [t.ex("openai-chat") for _ in range(30)]
    for mode in ("batch", "commit"):
        c = run_curls([Curl(t, env, tdir, mode, exs, ledger, http="1.1",
                            env_extra={"TOKENGUARD_SYNC": mode})])[0].check_output()
        recs = [r for r in records(t, env, ledger) if r["pid"] == c.pid]
        match_records(t, recs, exs, "TOKENGUARD_SYNC=%s: " % mode)
        v = verify(t, env, ledger)
        t.check(v["spool_files"] == 0 and v["spool_pending"] == 0,
                "TOKENGUARD_SYNC=%s: %d spool file(s) with %d record(s) left after exit"
                % (mode, v["spool_files"], v["spool_pending"]))
    return "# 30 exchanges in each mode, committed by exit"


def cut_expectation(t):
    """The record of anthropic-messages-stream cut after message_start: the
    counts that event carries (input with its cache parts, output so far)."""
    c = t.cases["anthropic-messages-stream"]
    body = c["response_bytes"]
    first = body[:body.index(b"\n\n")]
    data = json.loads(first.split(b"data: ", 1)[1])
    msg = data["message"]
    u = msg["usage"]
    cached, created = u.get("cache_read_input_tokens", 0), u.get("cache_creation_input_tokens", 0)
    return {"provider": "anthropic", "host": c["host"], "endpoint": c["path"],
            "model": msg["model"], "status": 200, "stream": True, "incomplete": True,
            "usage_unknown": False, "input_tokens": u["input_tokens"] + cached + created,
            "cached_input_tokens": cached, "cache_creation_input_tokens": created,
            "output_tokens": u["output_tokens"], "response_id": msg["id"],
            "request_id": c["expect"]["request_id"], "process": t.client.process,
            "tags": t.h.TAGS}


def h2_reset_pair(t, env, tdir, mode):
    """Python: a stream cut after its first event, then a whole exchange on
    the same HTTP/2 connection."""
    h = t.h
    ledger = os.path.join(tdir, "ledger")
    tag = "%s/%s" % (os.path.basename(tdir), mode)
    cut = t.ex("anthropic-messages-stream", stalled(h.Mode("length", "identity", coalesce=True), 20000))
    after = t.ex("anthropic-messages")
    p = Helper(t, env, tdir, mode, {"cut": cut.argv(tag), "after": after.argv(tag)}, ledger).wait()
    res = p.results()
    check_results(t, [r for r in res if "index" in r and r["who"] == "after"],
                        {("after", 1): after})
    first = [r for r in res if r.get("who") == "cut"]
    t.check(len(first) == 1 and first[0]["status"] == 200 and first[0]["error"] is None,
            "the cut stream: %s" % first)
    full = cut.case["response_bytes"]
    n = first[0]["len"]
    t.check(0 < n < len(full) and first[0]["sha256"] == hashlib.sha256(full[:n]).hexdigest(),
            "the cut stream did not deliver a prefix of the body (%d bytes)" % n)
    for r in res:
        if "http_version" in r:
            t.check(r["http_version"] == "HTTP/2", "httpx used %s" % r["http_version"])
    one_connection(t, env, tag, 2, "h2")
    recs = records(t, env, ledger)
    t.check(len(recs) == 2, "%d records, expected 2: %s" % (len(recs), json.dumps(recs)[:400]))
    cut_recs = [r for r in recs if r.get("endpoint") == "/v1/messages" and r.get("stream")]
    t.check(len(cut_recs) == 1, "no single record of the cut stream: %s" % json.dumps(recs)[:400])
    check_fields(t, cut_recs[0], cut_expectation(t), "record of the cut stream")
    match_records(t, [r for r in recs if r is not cut_recs[0]], [after], "after the cut: ")
    t.check({r["pid"] for r in recs} == {p.pid}, "records name pids %s, the process was %d"
            % (sorted({r["pid"] for r in recs}), p.pid))
    return ""


def h2_reset_client(t, env, tdir):
    h2_reset_pair(t, env, tdir, "h2reset")
    return "# RST_STREAM(CANCEL) after message_start, then one more stream"


def h2_reset_abandon(t, env, tdir):
    h2_reset_pair(t, env, tdir, "abandon")
    return "# response closed after message_start, then one more stream"


def h2_reset_curl(t, env, tdir):
    h = t.h
    ledger = os.path.join(tdir, "ledger")
    cut = t.ex("anthropic-messages-stream", stalled(h.Mode("length", "identity", coalesce=True), 20000))
    c = run_curls([Curl(t, env, tdir, "maxtime", [cut], ledger, extra=["max-time = 3"])])[0]
    t.check(c.proc.returncode == 28, "curl exit %d, expected 28 (timed out)" % c.proc.returncode)
    one_connection(t, env, c.tag, 1, "h2")
    with open(os.path.join(c.bodies, "0"), "rb") as f:
        body = f.read()
    full = cut.case["response_bytes"]
    t.check(0 < len(body) < len(full) and full.startswith(body),
            "curl did not get a prefix of the body (%d bytes)" % len(body))
    recs = records(t, env, ledger)
    t.check(len(recs) == 1, "%d records, expected 1: %s" % (len(recs), json.dumps(recs)[:400]))
    check_fields(t, recs[0], cut_expectation(t), "record of the stream curl gave up on")
    return "# curl --max-time 3 after message_start"


def default_equals_h1(t, env, tdir):
    h = t.h
    exs = [t.ex(name, h.mode_for(c, h.Mode("chunked", "identity")))
           for name, c in sorted(t.cases.items()) if not name.startswith("big-")]
    runs = {}
    for http in ("2", "1.1"):
        ledger = os.path.join(tdir, "ledger-h" + http)
        c = run_curls([Curl(t, env, tdir, "h" + http, exs, ledger, http=http)])[0]
        c.check_output(rc=None)
        runs[http] = records(t, env, ledger)
    h2 = collections.Counter(comparable(r) for r in runs["2"])
    h1 = collections.Counter(comparable(r) for r in runs["1.1"])
    only2, only1 = list((h2 - h1).elements()), list((h1 - h2).elements())
    t.check(not only2 and not only1,
            "HTTP/2 and HTTP/1.1 records differ: HTTP/2 only %s; HTTP/1.1 only %s"
            % (" | ".join(only2[:3]), " | ".join(only1[:3])))
    for http, recs in runs.items():
        match_records(t, recs, exs, "HTTP/%s: " % http)
    return "# %d cases, same records both ways" % len(exs)


def tests(harness, cases):
    """The conc-* tests over the loaded cases (run_tests.load_cases)."""
    by_name = {c["name"]: c for c in cases}
    needed = set(OPENAI + ANTHROPIC + GEMINI + COHERE + EVERY_FORMAT +
                 ["anthropic-messages-stream-cut"])
    if not needed <= set(by_name):
        return []
    spec = [
        ("curl-h2", "curl", "conc-curl-parallel-20", curl_parallel(20)),
        ("curl-h2", "curl", "conc-curl-parallel-100", curl_parallel(100)),
        ("curl-h2", "curl", "conc-h2-mixed-formats", h2_mixed_formats),
        ("python3", "conc_client.py", "conc-threads-16", threads_16),
        ("curl", "curl", "conc-processes-8x200", processes_8x200),
        ("python3", "conc_client.py", "conc-multiprocessing-fork", multiprocessing_fork),
        ("python3", "conc_client.py", "conc-sigkill-midstream", sigkill_midstream),
        ("curl-h1", "curl", "conc-sigkill-burst", sigkill_burst),
        ("h2", "conc_client.py", "conc-h2-reset", h2_reset_client),
        ("httpx-h2", "conc_client.py", "conc-h2-reset", h2_reset_abandon),
        ("curl-h2", "curl", "conc-h2-reset", h2_reset_curl),
        ("curl", "curl", "conc-curl-default-equals-h1", default_equals_h1),
        ("curl-h1", "curl", "conc-sync-modes", sync_modes),
    ]
    return [ConcTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
