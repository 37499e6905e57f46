"""ledger_faults.py - the ledger-* integration tests: whatever happens to
the ledger, the program under the shim runs as it would without it.

Owns: a writer stuck with the lock (a tokenguard process stopped inside its
commit, and a foreign LMDB writer holding LMDB's own mutex) while curl
(HTTP/1.1 and HTTP/2) and Python make calls, and the CLI's writes then; a
full file system at first use; data.mdb truncated or overwritten with
random bytes, before a run and under one; lock.mdb deleted or replaced
under two running writers; planted symlinks; a foreign and a
world-writable ledger directory.

Every run is compared with the same run without the shim: same output
bytes, same exit status, at most one warning line, and a time bound.  What
was committed before survives, what the runs did is in the ledger exactly
once with totals equal to the sum of the records, and the CLI says what is
wrong and what to run (exit 2), never dying of a signal.
"""

import json
import os
import random
import signal
import subprocess
import threading
import time

import itlib

OPENAI = "openai-chat"       # gpt-4.1, priced by the built-in table
CALLS = 5                    # calls per run while the lock is held
# Seconds a call, and a run as a whole (start-up, first open), may take
# longer with the shim; a shim built with sanitizers (make test SAN=...) is
# checked for what it does, not for its speed.
SLOWDOWN = 4 if os.environ.get("TG_SAN") else 1
ADDED_PER_CALL = 0.015 * SLOWDOWN
ADDED_PER_RUN = 0.25 * SLOWDOWN
CLI_LOCK_BOUND = 5.0         # seconds a CLI write may take on a held lock
NOBODY = 65534
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOLDER = os.environ.get("TG_IT_HOLDER", os.path.join(os.environ.get("TG_BUILD") or
                                                    os.path.join(TOP, "build"), "ledger-holder"))


class FaultTest(itlib.SuiteTest):
    def ex(self, delay_ms=0):
        return self.h.Exchange(self.cases[OPENAI], self.h.Mode("length", "identity",
                                                                delay_ms=delay_ms))


def report(env, args):
    e = {k: v for k, v in os.environ.items() if not k.startswith("TOKENGUARD_")}
    return subprocess.run([env.report] + args, capture_output=True, timeout=60, env=e)


def check_cli_fails_cleanly(t, env, ledger, needle):
    """tokenguard-report on a broken ledger: exit 2 (not a signal), one
    message that names the problem (needle) and a command to run."""
    p = report(env, ["records", "--ledger", ledger])
    msg = p.stderr.decode(errors="replace")
    t.check(p.returncode == 2, "tokenguard-report records: exit %d (a signal is negative): %r"
            % (p.returncode, msg[:300]))
    t.check(needle in msg, "tokenguard-report records said %r, expected %r" % (msg[:300], needle))
    return msg.strip()


def run_pair(t, env, tdir, cl, exchanges, ledger, label="shim"):
    """The run without the shim, then with it: the same output and status,
    at most one warning, within the time bound.  Returns (base, shim)."""
    base = t.h.run_client(env, cl, exchanges, tdir, label + "-base",
                          os.path.join(tdir, label + "-ledger-base"), False)
    t.h.check_bodies(base.out, exchanges, cl)
    shim = t.h.run_client(env, cl, exchanges, tdir, label, ledger, True)
    t.check(shim.out == base.out, "%s: output differs with the shim" % label)
    t.check(shim.rc == base.rc, "%s: exit %d with the shim, %d without" % (label, shim.rc, base.rc))
    lines = itlib.tg_lines(shim.stderr)
    t.check(len(lines) <= 1, "%s: %d warning lines: %r" % (label, len(lines), lines[:4]))
    bound = base.seconds + ADDED_PER_RUN + ADDED_PER_CALL * len(exchanges)
    t.check(shim.seconds <= bound, "%s: %.3f s with the shim, %.3f s without (bound %.3f s)"
            % (label, shim.seconds, base.seconds, bound))
    return base, shim


def records(t, env, ledger):
    return itlib.records(t, env, ledger)


def check_totals(t, env, ledger, recs):
    """The global day total the budgets read equals the sum of the records."""
    p = report(env, ["budget", "status", "--format", "json", "--ledger", ledger])
    t.check(p.returncode == 0, "budget status: exit %d: %r" % (p.returncode, p.stderr[:200]))
    rows = {r["name"]: r for r in json.loads(p.stdout)}
    want = sum(r["cost_usd"] or 0 for r in recs)
    got = rows["all"]["spend_usd"]
    t.check(abs(got - want) < 1e-9, "global total $%.9f, the records sum to $%.9f" % (got, want))
    t.check(rows["all"]["calls"] == len(recs), "global total counts %d calls for %d records"
            % (rows["all"]["calls"], len(recs)))


def check_verify(t, env, ledger):
    """tokenguard-report verify: every record decodes, every total is the
    sum of its records, the spools are well-formed."""
    p = report(env, ["verify", "--ledger", ledger])
    t.check(p.returncode == 0, "verify: exit %d: %s%s" % (p.returncode, p.stdout.decode()[-300:],
                                                          p.stderr.decode()[-300:]))


def seed(t, env, tdir, cl, ledger, n=2):
    """A ledger with n records and a policy whose status reads the totals."""
    run = t.h.run_client(env, cl, [t.ex()] * n, tdir, "seed", ledger, True)
    t.check(run.rc == 0, "seed run: exit %d" % run.rc)
    p = report(env, ["budget", "set", "all", "global,day,usd=1000,warn", "--ledger", ledger])
    t.check(p.returncode == 0, "budget set: %r" % p.stderr[:200])
    recs = records(t, env, ledger)
    t.check(len(recs) == n, "seed: %d records for %d calls" % (len(recs), n))
    return recs


# ---------------------------------------------------------------- a stuck writer

class Holder:
    """ledger-holder MODE LEDGER: holds the writer lock until released."""

    def __init__(self, t, mode, ledger, kill=False):
        self.mode, self.kill = mode, kill
        self.proc = subprocess.Popen([HOLDER, mode, ledger], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        t.check(line.strip() == b"held", "ledger-holder %s: %r %r"
                % (mode, line, self.proc.stderr.read(300) if not line else b""))
        if mode == "stop":
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and state(self.proc.pid) != "T":
                time.sleep(0.01)
            t.check(state(self.proc.pid) == "T", "ledger-holder did not stop in its commit")

    def release(self):
        """Lets the holder finish, or kills it (it dies holding the lock):
        0 when it ended as asked."""
        if self.kill:
            os.kill(self.proc.pid, signal.SIGKILL)
        elif self.mode == "stop":
            os.kill(self.proc.pid, signal.SIGCONT)
        self.proc.stdin.close()
        self.proc.wait(30)
        return 0 if self.kill and self.proc.returncode == -signal.SIGKILL else self.proc.returncode


def state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def stuck_writer(mode, kill=False):
    def body(t, env, tdir):
        cl = itlib.client(t, t.client.name)
        ledger = os.path.join(tdir, "ledger")
        seeded = seed(t, env, tdir, cl, ledger)
        exchanges = [t.ex() for _ in range(CALLS)]
        holder = Holder(t, mode, ledger, kill)
        try:
            base, shim = run_pair(t, env, tdir, cl, exchanges, ledger)
            # A second program while the first is still spooled: it must
            # not wait either, and must see the first one's spend.
            base2, shim2 = run_pair(t, env, tdir, cl, exchanges, ledger, "shim2")
            started = time.monotonic()
            p = report(env, ["budget", "set", "more", "global,month,usd=1000,warn",
                             "--ledger", ledger])
            cli_s = time.monotonic() - started
            msg = p.stderr.decode(errors="replace")
            t.check(p.returncode == 2 and cli_s < CLI_LOCK_BOUND,
                    "budget set on a held lock: exit %d after %.1f s: %r" % (p.returncode, cli_s, msg))
            t.check(("process %d" % holder.proc.pid) in msg,
                    "budget set did not name the holder (pid %d): %r" % (holder.proc.pid, msg))
            # Reports count what is spooled.
            check_totals(t, env, ledger, records(t, env, ledger))
        finally:
            rc = holder.release()
        t.check(rc == 0, "ledger-holder exited %d" % rc)
        # The next writer folds the spools: every exchange exactly once.
        after = t.h.run_client(env, cl, [t.ex()], tdir, "after", ledger, True)
        t.check(after.rc == 0, "run after the release: exit %d" % after.rc)
        recs = records(t, env, ledger)
        t.check(len(recs) == len(seeded) + 2 * CALLS + 1, "%d records for %d calls"
                % (len(recs), len(seeded) + 2 * CALLS + 1))
        check_totals(t, env, ledger, recs)
        check_verify(t, env, ledger)
        spool = os.path.join(ledger, "spool")
        left = [f for f in os.listdir(spool) if os.path.getsize(os.path.join(spool, f))] \
            if os.path.isdir(spool) else []
        t.check(not left, "spool files left with entries after the fold: %r" % left)
        return "# %d+%d calls with the lock held: %.0f/%.0f ms without the shim, %.0f/%.0f ms with; " \
               "CLI write gave up in %.1f s naming the holder" % (
                   CALLS, CALLS, base.seconds * 1000, base2.seconds * 1000, shim.seconds * 1000,
                   shim2.seconds * 1000, cli_s)
    return body


# ---------------------------------------------------------------- full file system

def full_filesystem(t, env, tdir):
    cl = itlib.client(t, t.client.name)
    mnt = os.path.join(tdir, "small")
    os.mkdir(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mnt],
                       capture_output=True)
    t.check(p.returncode == 0, "mount tmpfs: %r" % p.stderr)
    try:
        os.mkdir(os.path.join(mnt, "ledger"), 0o700)
        fd = os.open(os.path.join(mnt, "fill"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        ledger = os.path.join(mnt, "ledger")
        run_pair(t, env, tdir, cl, [t.ex(), t.ex()], ledger)
        msg = check_cli_fails_cleanly(t, env, ledger, "tokenguard-report")
        return "# report: %s" % msg[:120]
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


# ---------------------------------------------------------------- damaged data.mdb

def truncate_data(ledger):
    path = os.path.join(ledger, "data.mdb")
    size = os.path.getsize(path)
    os.truncate(path, 3 * 4096 if size > 3 * 4096 else size // 2)


def randomize_data(ledger):
    path = os.path.join(ledger, "data.mdb")
    size = os.path.getsize(path)
    rnd = random.Random(7)
    with open(path, "r+b") as f:
        f.write(bytes(rnd.getrandbits(8) for _ in range(size)))


def damaged_data(kind, damage):
    def body(t, env, tdir):
        cl = itlib.client(t, t.client.name)
        ledger = os.path.join(tdir, "ledger")
        seed(t, env, tdir, cl, ledger)
        damage(ledger)
        run_pair(t, env, tdir, cl, [t.ex(), t.ex()], ledger)
        msg = check_cli_fails_cleanly(t, env, ledger, "tokenguard-report repair")
        return "# %s: %s" % (kind, msg[:120])
    return body


def damaged_under_run(kind, damage):
    """The damage lands while the program is between two calls."""
    def body(t, env, tdir):
        cl = itlib.client(t, t.client.name)
        ledger = os.path.join(tdir, "ledger")
        seed(t, env, tdir, cl, ledger)
        exchanges = [t.ex(), t.ex(delay_ms=600), t.ex()]
        timer = threading.Timer(0.3, damage, [ledger])
        timer.start()
        try:
            run_pair(t, env, tdir, cl, exchanges, ledger)
        finally:
            timer.cancel()
            timer.join()
        msg = check_cli_fails_cleanly(t, env, ledger, "tokenguard-report repair")
        return "# %s during the run: %s" % (kind, msg[:100])
    return body


# ---------------------------------------------------------------- lock.mdb under writers

def replace_lock(ledger):
    path = os.path.join(ledger, "lock.mdb")
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(b"\0" * 8192)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


def delete_lock(ledger):
    os.unlink(os.path.join(ledger, "lock.mdb"))


def lock_under_writers(kind, change):
    def body(t, env, tdir):
        cl = itlib.client(t, t.client.name)
        ledger = os.path.join(tdir, "ledger")
        seeded = seed(t, env, tdir, cl, ledger)
        exchanges = [t.ex(delay_ms=150) for _ in range(6)]
        results = {}

        def run(label):
            results[label] = t.h.run_client(env, cl, exchanges, tdir, label, ledger, True)

        # w0 runs on the old lock file; w1 starts after the change and
        # finds another, or none: they must still not write at once.
        writers = [threading.Thread(target=run, args=("w%d" % i,)) for i in range(2)]
        writers[0].start()
        time.sleep(0.4)
        change(ledger)
        writers[1].start()
        for w in writers:
            w.join()
        for label, r in sorted(results.items()):
            t.h.check_bodies(r.out, exchanges, cl)
            t.check(r.rc == 0, "%s: exit %d" % (label, r.rc))
            t.check(len(itlib.tg_lines(r.stderr)) <= 1, "%s: %r" % (label, itlib.tg_lines(r.stderr)))
        recs = records(t, env, ledger)
        t.check(len(recs) == len(seeded) + 2 * len(exchanges),
                "%d records for %d calls" % (len(recs), len(seeded) + 2 * len(exchanges)))
        for r in seeded:
            t.check(r in recs, "a record committed before the %s is gone" % kind)
        check_totals(t, env, ledger, recs)
        check_verify(t, env, ledger)
        return "# lock.mdb %s under 2 writers: all %d records kept" % (kind, len(recs))
    return body


# ---------------------------------------------------------------- what the user does not own

def planted_symlinks(t, env, tdir):
    cl = itlib.client(t, t.client.name)
    ledger = os.path.join(tdir, "ledger")
    os.mkdir(ledger, 0o700)
    targets = {}
    for name in ("data.mdb", "lock.mdb"):
        target = os.path.join(tdir, "target-" + name)
        with open(target, "wb") as f:
            f.write(b"precious " + name.encode())
        targets[target] = b"precious " + name.encode()
        os.symlink(target, os.path.join(ledger, name))
    run_pair(t, env, tdir, cl, [t.ex()], ledger)
    for target, content in targets.items():
        with open(target, "rb") as f:
            t.check(f.read() == content, "%s was written through a planted symlink" % target)
    msg = check_cli_fails_cleanly(t, env, ledger, "symlink")
    return "# targets untouched; report: %s" % msg[:100]


def foreign_directory(mode, owner):
    def body(t, env, tdir):
        cl = itlib.client(t, t.client.name)
        ledger = os.path.join(tdir, "ledger")
        os.mkdir(ledger)
        os.chmod(ledger, mode)
        os.chown(ledger, owner, owner)
        base, shim = run_pair(t, env, tdir, cl, [t.ex()], ledger)
        t.check(os.listdir(ledger) == [], "the shim wrote into the directory: %r" % os.listdir(ledger))
        lines = itlib.tg_lines(shim.stderr)
        t.check(len(lines) == 1 and "chmod 700" in lines[0],
                "expected one warning naming the fix, got %r" % lines)
        return "# %s" % lines[0][:140] if lines else ""
    return body


def tests(harness, cases):
    """The ledger-* tests over the loaded cases (run_tests.load_cases)."""
    by_name = {c["name"]: c for c in cases}
    if OPENAI not in by_name:
        return []
    spec = []
    for cl, process in (("curl-h1", "curl"), ("curl-h2", "curl"), ("urllib", "urllib_client.py")):
        spec.append((cl, process, "ledger-stuck-writer-stopped", stuck_writer("stop")))
        spec.append((cl, process, "ledger-stuck-writer-lmdb", stuck_writer("lmdb")))
        spec.append((cl, process, "ledger-stuck-writer-killed", stuck_writer("stop", kill=True)))
    for cl, process in (("curl-h1", "curl"), ("urllib", "urllib_client.py")):
        spec += [
            (cl, process, "ledger-full-filesystem", full_filesystem),
            (cl, process, "ledger-data-truncated", damaged_data("truncated", truncate_data)),
            (cl, process, "ledger-data-random", damaged_data("random bytes", randomize_data)),
            (cl, process, "ledger-data-truncated-under-run",
             damaged_under_run("truncated", truncate_data)),
            (cl, process, "ledger-lock-deleted", lock_under_writers("deleted", delete_lock)),
            (cl, process, "ledger-lock-replaced", lock_under_writers("replaced", replace_lock)),
            (cl, process, "ledger-planted-symlinks", planted_symlinks),
            (cl, process, "ledger-foreign-directory", foreign_directory(0o700, NOBODY)),
            (cl, process, "ledger-world-writable-directory", foreign_directory(0o777, 0)),
        ]
    return [FaultTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
