"""fleet_redis.py - the fleet-redis-* integration tests: one budget for
several machines, exchanged through a real redis-server by
`tokenguard-report sync`, while the shim itself talks to nobody.

Owns: a redis-server started per test on a free loopback port (no
persistence, in the test's directory) and stopped by it; ledgers playing
machines a, b, c (TOKENGUARD_LEDGER + TOKENGUARD_MACHINE), each with its
own `sync --follow` agent; and the checks that

  - a fleet policy blocks on machine B once machine A spent the limit,
    within the staleness bound (two sync intervals: A's push, B's pull);
  - three machines racing against `usd=X,block,fleet` overshoot X only by
    calls started within that bound after the fleet crossed X (the
    acceptance figure: printed on the test's line);
  - Redis killed mid-run and restarted empty loses no record, leaves every
    program's calls succeeding at their usual latency, and the totals in
    Redis and in every overlay converge to the sum of the local spends;
  - with no Redis (no agent ever ran) the local part still enforces, fail
    open counts it alone with one warning per process, and
    TOKENGUARD_FAIL=closed refuses with a 429 saying why.

Curl makes the calls, paced with --rate, and writes each transfer's status
and time; the times of the calls come from the ledger's records.
"""

import datetime
import json
import os
import signal
import socket
import statistics
import subprocess
import time

import budgets
import itlib
from budgets import budget_set, records, report

OPENAI = budgets.OPENAI
POLICY = "fleet"
TIMEOUT = 60


# ---------------------------------------------------------------- redis-server

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def resp(sock_file):
    """One RESP reply read from a socket file."""
    line = sock_file.readline()
    if not line:
        raise OSError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b":"):
        return rest.decode()
    if kind == b"-":
        raise OSError(rest.decode())
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = sock_file.read(n + 2)
        return data[:-2].decode()
    if kind == b"*":
        return [resp(sock_file) for _ in range(int(rest))]
    raise OSError("bad reply %r" % line)


class Redis:
    """A redis-server on 127.0.0.1:port with nothing saved, run from tdir."""

    def __init__(self, t, tdir, port=None):
        self.t, self.dir = t, os.path.join(tdir, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.url = "redis://127.0.0.1:%d" % self.port
        self.proc = None
        self.start()

    def start(self):
        log = open(os.path.join(self.dir, "log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir], stdin=subprocess.DEVNULL, stdout=log,
            stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.cmd("PING") == "PONG":
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise self.t.h.Failure("redis-server on port %d did not start: %s"
                               % (self.port, itlib.read_text(os.path.join(self.dir, "log"))[-300:]))

    def cmd(self, *args):
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            with s.makefile("rb") as f:
                return resp(f)

    def kill(self):
        """SIGKILL: what a crash of the server is."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


# ---------------------------------------------------------------- machines

class Machine:
    """A ledger playing one machine, and its `sync --follow` agent."""

    def __init__(self, t, env, tdir, name):
        self.t, self.env, self.name = t, env, name
        self.ledger = os.path.join(tdir, "ledger-" + name)
        self.tdir = tdir
        self.agent = None

    def menv(self, extra=None):
        e = {"TOKENGUARD_MACHINE": self.name}
        e.update(extra or {})
        return e

    def start_agent(self, url, interval=None):
        e = dict(os.environ)
        e.pop("TOKENGUARD_BUDGETS", None)
        e["TOKENGUARD_MACHINE"] = self.name
        argv = [self.env.report, "sync", "--follow", "--redis", url, "--ledger", self.ledger]
        if interval is not None:
            argv += ["--interval", str(interval)]
        self.agent_err = os.path.join(self.tdir, "agent-%s.err" % self.name)
        with open(self.agent_err, "wb") as err:
            self.agent = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                          env=e)

    def stop_agent(self):
        if not self.agent:
            return
        if self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                self.agent.wait(10)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
                raise self.t.h.Failure("sync agent of %s did not end on SIGTERM" % self.name)
        rc, self.agent = self.agent.returncode, None
        self.t.check(rc == 0, "sync agent of %s: exit %d after SIGTERM, expected 0: %s"
                     % (self.name, rc, itlib.read_text(self.agent_err)[-300:]))

    def agent_log(self):
        return itlib.read_text(self.agent_err)

    def status(self):
        return budgets.budget_status(self.t, self.env, self.ledger)[POLICY]

    def records(self):
        return records(self.t, self.env, self.ledger)


def stop_all(machines, redis):
    try:
        for m in machines:
            m.stop_agent()
    finally:
        if redis:
            redis.stop()


def wait_for(t, what, cond, timeout=10, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise t.h.Failure("%s: not so after %ds" % (what, timeout))
        time.sleep(step)


def all_fresh(machines):
    return all(m.status()["fleet"]["state"] == "fresh" for m in machines)


class Calls:
    """One curl process making n calls of ex in a row, paced at rate per
    second (0: as fast as it can), for machine m; wait() reads each
    transfer's status and time."""

    def __init__(self, t, env, m, label, ex, n, rate=0, extra_env=None):
        self.t, self.label = t, label
        self.tag = "%s/%s" % (os.path.basename(m.tdir), label)
        self.dir = os.path.join(m.tdir, label)
        os.makedirs(self.dir)
        cfg = os.path.join(self.dir, "curlrc")
        itlib.write_curl_config(cfg, env, self.tag, [ex] * n, "1.1",
                                lambda i: ['output = "%s/%d.body"' % (self.dir, i)],
                                options=['rate = "%d/s"' % rate] if rate else [])
        # each transfer: "i CODE VERSION" (write_curl_config), then its time
        with open(cfg) as f:
            text = f.read().replace('%{http_version}\\n"', '%{http_version} %{time_total}\\n"')
        with open(cfg, "w") as f:
            f.write(text)
        cenv = env.child_env(m.ledger, True)
        cenv.update(m.menv(extra_env))
        self.out, self.err = os.path.join(self.dir, "out"), os.path.join(self.dir, "err")
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen(["curl", "-K", cfg], stdin=subprocess.DEVNULL,
                                         stdout=o, stderr=e, env=cenv)

    def wait(self, timeout=TIMEOUT):
        itlib.wait_or_kill(self.t, self.proc, timeout, "%s: curl did not finish" % self.label)
        self.rc = self.proc.returncode
        self.stderr = itlib.read_text(self.err)
        self.codes, self.times = [], []
        with open(self.out) as f:
            for line in f:
                _i, code, _ver, secs = line.split()
                self.codes.append(code)
                self.times.append(float(secs))
        return self

    def body(self, i):
        with open(os.path.join(self.dir, "%d.body" % i), "rb") as f:
            return f.read()


def ts_s(rec):
    """A record's time (its call's start) in seconds since the epoch."""
    return datetime.datetime.fromisoformat(rec["ts"].replace("Z", "+00:00")).timestamp()


def setup(t, env, tdir, names, limit_calls, spec_extra="", window="day", scope="global"):
    """The cost of one call, and machines names with the fleet policy of
    limit_calls calls each."""
    cost, _tokens = seed_cost(t, env, tdir)
    limit = round(cost * limit_calls, 9)
    machines = [Machine(t, env, tdir, n) for n in names]
    for m in machines:
        budget_set(t, env, m.ledger, POLICY, "%s,%s,usd=%r,block,fleet%s"
                   % (scope, window, limit, spec_extra))
    return cost, limit, machines


def seed_cost(t, env, tdir):
    ledger = os.path.join(tdir, "ledger-price")
    c = budgets.curl(t, env, tdir, "seed", [t.ex(OPENAI)], ledger)
    t.check(c.codes() == ["200"], "seed call: %s" % c.codes())
    r = records(t, env, ledger)[0]
    return r["cost_usd"], r["input_tokens"] + r["output_tokens"]


def start_calling(t, env, machines, redis, interval, n, rate):
    """Each machine's agent at interval, and once every overlay is fresh,
    n calls at rate per second on each machine."""
    for m in machines:
        m.start_agent(redis.url, interval)
    wait_for(t, "every overlay fresh", lambda: all_fresh(machines))
    return [Calls(t, env, m, "calls-" + m.name, t.ex(OPENAI), n, rate) for m in machines]


# ---------------------------------------------------------------- the tests

def block_after_other(t, env, tdir, window="day"):
    """A spends the fleet's limit; B is refused once its agent pulled it,
    within two intervals of the default 1 s."""
    cost, limit, (a, b) = setup(t, env, tdir, "ab", 2.5, window=window)
    redis = Redis(t, tdir)
    try:
        for m in (a, b):
            m.start_agent(redis.url)   # the default interval: 1 s
        wait_for(t, "both overlays fresh", lambda: all_fresh((a, b)))
        ca = Calls(t, env, a, "a-calls", t.ex(OPENAI), 3).wait()
        t.check(ca.rc == 0 and ca.codes == ["200"] * 3, "A: exit %d, statuses %s, expected 3 x 200"
                % (ca.rc, ca.codes))
        spent_at = time.time()
        st = wait_for(t, "B sees A's spend", lambda: (lambda s: s if s["state"] == "over" else None)(
            b.status()), timeout=10, step=0.02)
        # When B's agent pulled it (its overlay says), not when a poll saw it.
        seen = ts_s({"ts": st["fleet"]["pulled"]}) - spent_at
        t.check(seen <= 2 * 1.0 + 0.5, "B saw A's spend after %.2f s, over the bound of two "
                "intervals (2 s) and a round's slack" % seen)
        fl = st["fleet"]
        t.check(abs(fl["others_usd"] - 3 * cost) < 1e-9 and fl["local_usd"] == 0,
                "B's fleet parts %s, expected others $%.6f, local 0" % (fl, 3 * cost))
        cb = Calls(t, env, b, "b-calls", t.ex(OPENAI), 1).wait()
        t.check(cb.codes == ["429"], "B after A spent the limit: %s, expected 429" % cb.codes)
        msg = json.loads(cb.body(0))["error"]["message"]
        t.check("'%s'" % POLICY in msg, "B's refusal does not name the policy: %r" % msg)
        t.check(budgets.received(t, env, cb.tag) == [], "B's refused call reached the provider")
        _ok, blocked = budgets.allowed_and_blocked(b.records())
        t.check(len(blocked) == 1 and blocked[0]["policy"] == POLICY,
                "B's ledger: %d blocked records" % len(blocked))
    finally:
        stop_all((a, b), redis)
    return ("# %s: B pulled A's spend %.2f s after A spent the fleet's limit, then refused "
            "(bound 2 s: two 1 s intervals)" % (window, seen))


def block_after_other_24h(t, env, tdir):
    """The same with a rolling 24h window, exchanged per hour it starts."""
    return block_after_other(t, env, tdir, window="24h")


def per_user(t, env, tdir):
    """tag:user=*,fleet: each user's limit is the fleet's.  A spends
    alice's; B refuses alice once its agent pulled it, lets bob through,
    and with fail=closed still lets carol through: no machine spent on
    her, and the policy's values were pulled fresh."""
    cost, limit, (a, b) = setup(t, env, tdir, "ab", 2.5, scope="tag:user=*")
    redis = Redis(t, tdir)

    def user(name):
        return {"TOKENGUARD_TAGS": "user=" + name}
    try:
        for m in (a, b):
            m.start_agent(redis.url)   # the default interval: 1 s
        ca = Calls(t, env, a, "a-alice", t.ex(OPENAI), 3, extra_env=user("alice")).wait()
        t.check(ca.rc == 0 and ca.codes == ["200"] * 3, "A as alice: exit %d, statuses %s"
                % (ca.rc, ca.codes))
        spent_at = time.monotonic()
        # B's agent pulls alice's total within two intervals.
        refused = None
        while time.monotonic() - spent_at < 2 * 1.0 + 1.5:
            cb = Calls(t, env, b, "b-alice-%d" % int((time.monotonic() - spent_at) * 1000),
                       t.ex(OPENAI), 1, extra_env=dict(user("alice"),
                                                       TOKENGUARD_FAIL="closed")).wait()
            if cb.codes == ["429"]:
                refused = time.monotonic() - spent_at
                break
            time.sleep(0.25)
        t.check(refused is not None, "B never refused alice after A spent her fleet limit")
        for name in ("bob", "carol"):
            c = Calls(t, env, b, "b-" + name, t.ex(OPENAI), 1,
                      extra_env=dict(user(name), TOKENGUARD_FAIL="closed")).wait()
            t.check(c.codes == ["200"], "B as %s (no machine spent on them, fail=closed): %s"
                    % (name, c.codes))
        # B's spend on alice before the pull (at most two calls) is A's view too.
        recs = [r for r in b.records() if r["tags"].get("user") == "alice"]
        t.check(any(r["blocked"] for r in recs), "B's ledger has no blocked alice call")
    finally:
        stop_all((a, b), redis)
    return "# B refused alice %.2f s after A spent her limit; bob and carol allowed" % refused


def overshoot_three(t, env, tdir):
    """The acceptance test: three machines call at 10/s each against one
    fleet limit of 30.5 calls."""
    rate, n, interval = 10, 40, 1.0
    cost, limit, machines = setup(t, env, tdir, "abc", 30.5)
    redis = Redis(t, tdir)
    try:
        calls = start_calling(t, env, machines, redis, interval, n, rate)
        for c in calls:
            c.wait()
    finally:
        stop_all(machines, redis)
    sent = []
    for m, c in zip(machines, calls):
        t.check(c.rc == 0 and set(c.codes) <= {"200", "429"}, "%s: exit %d, statuses %s"
                % (m.name, c.rc, c.codes))
        t.check("429" not in c.codes or "200" not in c.codes[c.codes.index("429"):],
                "%s: a call went through after one was refused: %s" % (m.name, c.codes))
        recs = m.records()
        t.check({r.get("machine") for r in recs} == {m.name}, "%s: records name the machines %s"
                % (m.name, sorted({str(r.get("machine")) for r in recs})))
        ok, blocked = budgets.allowed_and_blocked(recs)
        t.check(len(ok) + len(blocked) == n, "%s: %d records of %d calls" % (m.name,
                len(ok) + len(blocked), n))
        t.check(len(ok) == c.codes.count("200"), "%s: %d records sent, curl read %d x 200"
                % (m.name, len(ok), c.codes.count("200")))
        sent += [(ts_s(r), r["cost_usd"], m.name) for r in ok]
    sent.sort()
    total = sum(s[1] for s in sent)
    # The call that took the fleet to the limit, and what started after it.
    spent, cross = 0.0, None
    for i, (ts, c, _m) in enumerate(sent):
        spent += c
        if spent >= limit - 1e-12:
            cross = i
            break
    t.check(cross is not None, "the fleet never reached its limit: $%.6f of $%.6f" % (total, limit))
    bound_s = 2 * interval + 0.3   # A's push, B's pull, a round's own time
    after = sent[cross + 1:]
    late = [s for s in after if s[0] - sent[cross][0] > bound_s]
    t.check(not late, "%d calls went through more than %.1f s after the fleet reached its limit "
            "(the first %.2f s after)" % (len(late), bound_s, late[0][0] - sent[cross][0]
                                          if late else 0))
    over_calls = len(after)
    per_interval = len(machines) * rate * interval   # the calls the fleet starts in one interval
    t.check(over_calls <= len(machines) * rate * bound_s, "%d calls over the limit, more than the "
            "%d the fleet starts in %.1f s" % (over_calls, len(machines) * rate * bound_s, bound_s))
    return ("# 3 machines x %d calls/s, %g s interval, limit %.1f calls: %d calls over "
            "($%.6f), the last started %.2f s after the crossing; calls in flight in one "
            "interval: %d, bound asserted: %.1f s (two intervals + a round)"
            % (rate, interval, 30.5, over_calls, total - limit,
               max([s[0] - sent[cross][0] for s in after] or [0]), per_interval, bound_s))


def redis_killed(t, env, tdir):
    """Redis dies (SIGKILL) while three machines call, and comes back empty
    on the same port: nothing is lost, no call slows, the totals converge."""
    rate, n, interval = 10, 30, 0.25
    cost, limit, machines = setup(t, env, tdir, "abc", 1000)
    redis = Redis(t, tdir)
    try:
        calls = start_calling(t, env, machines, redis, interval, n, rate)
        time.sleep(1.0)
        redis.kill()
        time.sleep(1.0)
        redis.start()   # the same port, empty: nothing was saved
        for c in calls:
            c.wait()
        local = {}
        for m, c in zip(machines, calls):
            t.check(c.rc == 0 and c.codes == ["200"] * n, "%s: exit %d, statuses %s"
                    % (m.name, c.rc, c.codes))
            recs = m.records()
            t.check(len(recs) == n and budgets.received(t, env, c.tag) and
                    len(budgets.received(t, env, c.tag)) == n,
                    "%s: %d records, %d received, of %d calls" % (m.name, len(recs),
                    len(budgets.received(t, env, c.tag)), n))
            local[m.name] = sum(r["cost_usd"] for r in recs)

        def converged():
            key = [k for k in redis.cmd("KEYS", "tokenguard:*")]
            if len(key) != 1:
                return None
            h = redis.cmd("HGETALL", key[0])
            h = dict(zip(h[::2], h[1::2]))
            for m in machines:
                if abs(int(h.get(m.name + ":usd_micro", -1)) - round(local[m.name] * 1e6)) > 1:
                    return None
                fl = m.status()["fleet"]
                others = sum(local[o.name] for o in machines if o is not m)
                if fl["state"] != "fresh" or abs(fl["others_usd"] - others) > 1e-5:
                    return None
            return key[0]

        key = wait_for(t, "Redis and every overlay hold the sum of the local spends", converged,
                       timeout=10, step=0.1)
        ttl = int(redis.cmd("TTL", key))
        t.check(0 < ttl <= 86400 + 3600, "%s: TTL %d, expected the window's end + 1 h" % (key, ttl))
        for m in machines:
            log = m.agent_log()
            t.check("Connection refused" in log or "Server closed" in log or "Connection reset" in log
                    or "connect" in log, "agent %s said nothing of the outage: %r" % (m.name, log[-300:]))
            t.check("reached again" in log, "agent %s did not say Redis was back: %r"
                    % (m.name, log[-300:]))
    finally:
        stop_all(machines, redis)
    # Latency under the shim: the calls while Redis was down against the
    # others (curl's own time_total; the shim never talks to Redis).
    before = [x for c in calls for x in c.times[:5]]
    during = [x for c in calls for x in c.times[10:20]]
    med_b, med_d = statistics.median(before), statistics.median(during)
    t.check(med_d <= 2 * med_b + 0.02, "calls while Redis was down took %.1f ms (median), "
            "%.1f ms before" % (med_d * 1e3, med_b * 1e3))
    return ("# Redis down 1 s: %d calls, all 200, none lost; median call %.1f ms before, "
            "%.1f ms during the outage; converged after restart" % (3 * n, med_b * 1e3, med_d * 1e3))


def no_redis(t, env, tdir):
    """No agent ever ran: the local part enforces; open warns once and
    counts the local spend; closed refuses."""
    cost, limit, (a,) = setup(t, env, tdir, "a", 1.5)
    c = Calls(t, env, a, "open", t.ex(OPENAI), 3).wait()
    t.check(c.rc == 0 and c.codes == ["200", "200", "429"], "fail open: %s, expected 200 200 429 "
            "(the local spend alone reaches the limit)" % c.codes)
    warn = [l for l in c.stderr.splitlines() if "fleet budget" in l]
    t.check(len(warn) == 1 and "TOKENGUARD_FAIL=open" in warn[0], "fail open: %d fleet warnings, "
            "expected one: %s" % (len(warn), warn))
    st = a.status()
    t.check(st["fleet"]["state"] == "missing" and st["fleet"]["pulled"] is None,
            "status of a fleet policy never synced: %s" % st["fleet"])
    closed_dir = os.path.join(tdir, "closed")
    os.makedirs(closed_dir)
    _cost, _limit, (b,) = setup(t, env, closed_dir, "b", 100)
    cl = Calls(t, env, b, "closed", t.ex(OPENAI), 1, extra_env={"TOKENGUARD_FAIL": "closed"}).wait()
    t.check(cl.codes == ["429"], "fail closed: %s, expected 429" % cl.codes)
    msg = json.loads(cl.body(0))["error"]["message"]
    t.check("fleet" in msg and "TOKENGUARD_FAIL=closed" in msg, "fail closed: message %r" % msg)
    t.check(budgets.received(t, env, cl.tag) == [], "fail closed: the call reached the provider")
    # An agent whose Redis is not there: one round, exit 2, said.
    p = report(t, env, ["sync", "--redis", "redis://127.0.0.1:%d" % free_port(), "--ledger",
                        b.ledger], rc=2, extra_env={"TOKENGUARD_MACHINE": "b"})
    t.check(b"cannot connect" in p.stderr, "sync without Redis: %r" % p.stderr[-200:])
    # A Redis that takes the connection and never answers (stopped): the
    # round gives up after its 500 ms timeout.
    stuck = Redis(t, tdir)
    try:
        stuck.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        p = report(t, env, ["sync", "--redis", stuck.url, "--ledger", b.ledger], rc=2,
                   extra_env={"TOKENGUARD_MACHINE": "b"})
        took = time.monotonic() - t0
    finally:
        stuck.proc.send_signal(signal.SIGCONT)
        stuck.stop()
    t.check(b"no answer within 500 ms" in p.stderr and took < 3, "sync against a stopped Redis: "
            "%.2f s, %r" % (took, p.stderr[-200:]))
    d = report(t, env, ["doctor", "--ledger", b.ledger], rc=None)
    out = d.stdout.decode(errors="replace")
    t.check("fleet sync" in out and "no answer within 500 ms" in out and "stale:" in out,
            "doctor does not show the sync state: %r" % out[-600:])
    return "# a stopped Redis: sync gave up after %.2f s" % took


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if OPENAI not in by_name:
        return []
    spec = [
        ("curl-h1", "curl", "fleet-redis-block-after-other", block_after_other),
        ("curl-h1", "curl", "fleet-redis-block-after-other-24h", block_after_other_24h),
        ("curl-h1", "curl", "fleet-redis-per-user", per_user),
        ("curl-h1", "curl", "fleet-redis-overshoot-3", overshoot_three),
        ("curl-h1", "curl", "fleet-redis-killed", redis_killed),
        ("curl-h1", "curl", "fleet-redis-none", no_redis),
    ]
    return [budgets.BudgetTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
