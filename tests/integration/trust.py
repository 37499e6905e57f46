"""trust.py - the trust-* integration tests: configuration a program's
environment hands the shim can neither hang the program nor make it talk
without end, and a setuid program trusts none of it.

Owns: TOKENGUARD_PRICES naming /dev/zero, a FIFO or a directory, or a file
of 200 bad lines around one good one; the price file of the config
directory, and its refusal when others can write it; 10,000
bad TOKENGUARD_HOSTS entries; a too-long TOKENGUARD_LEDGER; the bound on
stderr (also into a 4 KiB pipe nobody reads until the program ends); and a
setuid-root curl run by nobody with the shim preloaded the only way glibc
allows in secure execution.

Every run is compared with the same run without the shim: same output
bytes, same exit status, and a time bound far above the run's ~50 ms
(TIME_BOUND) that the old hangs and spins could not meet.
"""

import fcntl
import os
import shutil
import subprocess
import tempfile
import time

import itlib

TIME_BOUND = 2.0         # seconds a run under the shim may take
STDERR_BOUND = 4096      # bytes the shim may write to a program's stderr
OPENAI = "openai-chat"   # gpt-4.1, priced by the built-in table
NOBODY = 65534
LIBDIR = "/usr/lib/x86_64-linux-gnu"
SECURE_LIB = "libtokenguard-it.so"


class TrustTest(itlib.SuiteTest):
    def ex(self, name=OPENAI, mode=None):
        return self.h.Exchange(self.cases[name], mode or self.h.Mode("length", "identity"))


def compare(t, env, tdir, cl, extra_env, exchanges=None):
    """Runs cl without and with the shim under extra_env; checks what the
    program did is the same and bounded.  Returns (base, shim, ledger)."""
    exchanges = exchanges or [t.ex()]
    ledger = os.path.join(tdir, "ledger")
    base = t.h.run_client(env, cl, exchanges, tdir, "base", os.path.join(tdir, "ledger-base"),
                          False, extra_env=extra_env)
    t.h.check_bodies(base.out, exchanges, cl)
    shim = t.h.run_client(env, cl, exchanges, tdir, "shim", ledger, True, extra_env=extra_env)
    t.check(shim.out == base.out, "output differs with the shim (see %s)" % tdir)
    t.check(shim.rc == base.rc, "exit status %d with the shim, %d without" % (shim.rc, base.rc))
    t.check(shim.seconds < TIME_BOUND, "the run took %.2f s with the shim (%.2f s without), "
            "bound %.1f s" % (shim.seconds, base.seconds, TIME_BOUND))
    added = len(shim.stderr) - len(base.stderr)
    t.check(added < STDERR_BOUND, "the shim wrote %d bytes to stderr" % added)
    return base, shim, ledger


def timing(base, shim):
    return "%.0f ms without the shim, %.0f ms with" % (base.seconds * 1000, shim.seconds * 1000)


# ---------------------------------------------------------------- prices

def prices_fifo(tdir):
    path = os.path.join(tdir, "prices.fifo")
    os.mkfifo(path)
    return path


def prices_directory(tdir):
    path = os.path.join(tdir, "prices.d")
    os.mkdir(path)
    return path


PRICE_FILES = (("dev-zero", lambda tdir: "/dev/zero", "is a device"),
               ("fifo", prices_fifo, "is a FIFO"),
               ("directory", prices_directory, "is a directory"))


def bad_prices(kind):
    def body(t, env, tdir):
        _label, make, said = [p for p in PRICE_FILES if p[0] == kind][0]
        path = make(tdir)
        cl = itlib.client(t, t.client.name)
        base, shim, ledger = compare(t, env, tdir, cl, {"TOKENGUARD_PRICES": path})
        lines = itlib.tg_lines(shim.stderr)
        t.check(len(lines) == 1 and said in lines[0] and "built-in table" in lines[0],
                "expected one warning saying %r and that the built-in table is used, got %r"
                % (said, lines))
        # The built-in table priced the call.
        t.h.check_records(itlib.records(t, env, ledger), [t.ex()], cl)
        return "# " + timing(base, shim)
    return body


BAD_PRICE_LINES = 200


def prices_bad_lines(t, env, tdir):
    """A file of bad lines and one good one: the good line prices the call,
    and the bad ones cost two lines of the shim's bounded stderr."""
    path = os.path.join(tdir, "prices.tsv")
    good = "openai\tgpt-4.1\t1000\t1000" + "\t-" * 10 + "\t2026-01-01\thttps://example.com/x\n"
    with open(path, "w") as f:
        f.write("# one good line among bad ones\n")
        for i in range(BAD_PRICE_LINES // 2):
            f.write("openai\tbad-%d\tcheap\n" % i)
        f.write(good)
        for i in range(BAD_PRICE_LINES // 2):
            f.write("not a price line %d\n" % i)
    cl = itlib.client(t, t.client.name)
    base, shim, ledger = compare(t, env, tdir, cl, {"TOKENGUARD_PRICES": path})
    lines = itlib.tg_lines(shim.stderr)
    t.check(len(lines) == 2 and ("%s:2: 3 columns" % path) in lines[0] and "skipped" in lines[0]
            and ("%d more bad lines" % (BAD_PRICE_LINES - 1)) in lines[1],
            "expected one warning naming line 2 and one counting the other %d, got %r"
            % (BAD_PRICE_LINES - 1, lines))
    recs = itlib.records(t, env, ledger)
    t.check(len(recs) == 1, "expected one record, got %d" % len(recs))
    r = recs[0]
    want = (r["input_tokens"] + r["output_tokens"]) * 1000 / 1e6
    t.check(not r.get("unpriced") and abs(r["cost_usd"] - want) < 1e-9,
            "the good line did not price the call: cost %r, expected %r" % (r["cost_usd"], want))
    return "# " + timing(base, shim)


def prices_config_dir(t, env, tdir):
    """$XDG_CONFIG_HOME/tokenguard/prices.tsv prices every process without a
    variable, but only while it is the user's own and closed to writes."""
    conf = os.path.join(tdir, "conf")
    os.makedirs(os.path.join(conf, "tokenguard"))
    path = os.path.join(conf, "tokenguard", "prices.tsv")
    with open(path, "w") as f:
        f.write("openai\tgpt-4.1\t1000\t1000" + "\t-" * 10 + "\t2026-01-01\thttps://example.com/x\n")
    os.chmod(path, 0o644)
    cl = itlib.client(t, t.client.name)
    base, shim, ledger = compare(t, env, tdir, cl, {"XDG_CONFIG_HOME": conf})
    t.check(itlib.tg_lines(shim.stderr) == [], "the shim said %r" % itlib.tg_lines(shim.stderr))
    recs = itlib.records(t, env, ledger)
    t.check(len(recs) == 1, "expected one record, got %d" % len(recs))
    r = recs[0]
    want = (r["input_tokens"] + r["output_tokens"]) * 1000 / 1e6
    t.check(abs(r["cost_usd"] - want) < 1e-9,
            "the config directory's file did not price the call: cost %r, expected %r"
            % (r["cost_usd"], want))

    os.chmod(path, 0o666)
    shutil.rmtree(ledger)
    base, shim, ledger = compare(t, env, tdir, cl, {"XDG_CONFIG_HOME": conf})
    lines = itlib.tg_lines(shim.stderr)
    t.check(len(lines) == 1 and "written by group or others" in lines[0]
            and "built-in table" in lines[0], "expected one refusal, got %r" % lines)
    t.h.check_records(itlib.records(t, env, ledger), [t.ex()], cl)
    return "# " + timing(base, shim)


# ---------------------------------------------------------------- hosts, ledger path

def hosts_10000_bad(t, env, tdir):
    bad = ",".join("bad%d" % i for i in range(10000))
    cl = itlib.client(t, t.client.name)
    base, shim, ledger = compare(t, env, tdir, cl, {"TOKENGUARD_HOSTS": bad})
    lines = itlib.tg_lines(shim.stderr)
    t.check(len(lines) == 1 and "10000 entries ignored" in lines[0] and '"bad0"' in lines[0],
            "expected one summary warning, got %d lines: %r" % (len(lines), lines[:3]))
    t.h.check_records(itlib.records(t, env, ledger), [t.ex()], cl)
    return "# %s (%d bytes of TOKENGUARD_HOSTS)" % (timing(base, shim), len(bad))


def ledger_path_too_long(t, env, tdir):
    long_path = os.path.join(tdir, "l" * 5005)
    cl = itlib.client(t, "curl-h1")
    base = t.h.run_client(env, cl, [t.ex()], tdir, "base", long_path, False)
    shim = t.h.run_client(env, cl, [t.ex()], tdir, "shim", long_path, True)
    t.check(shim.out == base.out and shim.rc == base.rc, "the program's output or exit status changed")
    lines = itlib.tg_lines(shim.stderr)
    t.check(len(lines) == 1 and "too long" in lines[0] and "--ledger" not in lines[0],
            "expected one warning naming the path as too long, without CLI flags: %r" % lines)
    return "# " + lines[0][:100]


def curl_argv(program, ca, ex, tag, out):
    """curl itself (no wrapper script between it and its stderr) making
    exchange ex over HTTP/1.1; prints the status on stdout."""
    argv = ex.argv(tag)
    cmd = [program, "-sS", "--http1.1", "--cacert", ca, "-o", out, "-w", "%{http_code}",
           "-X", argv[0], argv[1], "--data-binary", "@" + argv[2]]
    for h in argv[3:]:
        cmd += ["-H", h]
    return cmd


# ---------------------------------------------------------------- the bound on stderr

# Nine causes for a warning at once: more than the shim may say.
NOISY = {
    "TOKENGUARD_DISABLE": "maybe", "TOKENGUARD_DEBUG": "loud", "TOKENGUARD_QUIET": "hush",
    "TOKENGUARD_TAGS": "bad tag", "TOKENGUARD_HOSTS": "bad host",
    "TOKENGUARD_BUDGETS": "global,fortnight,usd=1,block", "TOKENGUARD_FAIL": "sideways",
    "TOKENGUARD_PRICES": "/dev/zero",
}


def stderr_bound(t, env, tdir):
    """The program's stderr is a 4 KiB pipe nobody reads until it ends: the
    shim's warnings (more causes than lines it may write) must fit, or the
    program would block."""
    extra = dict(NOISY, TOKENGUARD_LEDGER=os.path.join(tdir, "x" * 5005))
    argv = curl_argv(shutil.which("curl"), env.ca, t.ex(), os.path.basename(tdir) + "/shim",
                     os.path.join(tdir, "shim.body"))
    child_env = env.child_env(extra["TOKENGUARD_LEDGER"], True)
    child_env.update(extra)
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=w,
                            env=child_env)
    os.close(w)
    try:
        proc.wait(TIME_BOUND * 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        os.close(r)
        raise t.h.Failure("the program blocked on its stderr pipe")
    seconds = time.monotonic() - started
    with os.fdopen(r, "rb") as f:
        err = f.read()
    status = proc.stdout.read()
    proc.stdout.close()
    t.check(proc.returncode == 0 and status == b"200", "curl exited %d, status %r: %r"
            % (proc.returncode, status, err[-300:]))
    t.check(seconds < TIME_BOUND, "took %.2f s" % seconds)
    lines = itlib.tg_lines(err)
    t.check(len(err) < STDERR_BOUND, "%d bytes on stderr" % len(err))
    t.check(len(lines) == 8, "expected 7 warnings and the closing line, got %d: %r" % (len(lines), lines))
    t.check("further warning" in lines[-1] and "suppressed" in lines[-1]
            and "TOKENGUARD_DEBUG=1" in lines[-1], "closing line: %r" % lines[-1])
    return "# %d bytes, closing line: %s" % (len(err), lines[-1][:90])


# ---------------------------------------------------------------- secure execution

SECRET = "SECRET-%d-ROOT-ONLY" % os.getpid()


def overlay_libdir(scratch):
    """The system library directory with one more file, for this mount
    namespace only (run.sh's private one): nothing on the disk changes.
    Returns the directory to copy into, or None when overlayfs is missing."""
    upper, work = os.path.join(scratch, "upper"), os.path.join(scratch, "work")
    os.makedirs(upper)
    os.makedirs(work)
    ok = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                         "lowerdir=%s,upperdir=%s,workdir=%s" % (LIBDIR, upper, work), LIBDIR],
                        capture_output=True).returncode == 0
    return LIBDIR if ok else None


def nobody_io(t, env, scratch):
    """A directory of nobody's in scratch with what nobody's curl reads
    (the CA, the request body of the OpenAI case) and writes; returns it
    and the case reading its body from there."""
    io = os.path.join(scratch, "io")
    os.mkdir(io, 0o755)
    os.chown(io, NOBODY, NOBODY)
    shutil.copyfile(env.ca, os.path.join(io, "ca.pem"))
    case = dict(t.cases[OPENAI], request_path=os.path.join(io, "request.json"))
    shutil.copyfile(t.cases[OPENAI]["request_path"], case["request_path"])
    for f in ("ca.pem", "request.json"):
        os.chmod(os.path.join(io, f), 0o644)
    return io, case


def run_as_nobody(t, io, program, ex, label, extra_env):
    """program (a curl) as uid/gid nobody with the shim preloaded by bare
    name, reading and writing in io (nobody's); returns (rc, stdout,
    stderr, maps of the running process)."""
    e = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LD_PRELOAD": SECURE_LIB}
    e.update(extra_env)
    cmd = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] + \
        curl_argv(program, os.path.join(io, "ca.pem"), ex, "secure/" + label,
                  os.path.join(io, label + ".body"))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
    # The response waits (x-fake-delay-ms): meanwhile the process shows
    # what the loader mapped into it.  /proc/PID/exe names the program as
    # soon as it is exec'ed, before the loader has mapped anything: the
    # maps are read once they hold libcurl, which the loader maps after
    # every preloaded object.
    maps = ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if os.readlink("/proc/%d/exe" % proc.pid) == program:
                with open("/proc/%d/maps" % proc.pid) as f:
                    maps = f.read()
                if "/libcurl.so" in maps:
                    break
        except OSError:
            pass
        time.sleep(0.005)
    stdout, stderr = proc.communicate(timeout=30)
    return proc.returncode, stdout, stderr, maps


def secure_execution(t, env, tdir):
    """A setuid-root curl run by nobody, the shim preloaded through the
    system directory the way glibc allows it for such a program: nothing
    of the caller's TOKENGUARD_* is used, the root-only price file's
    contents never reach the caller's stderr, no planted ledger appears."""
    if os.getuid() != 0 or not shutil.which("setpriv"):
        return "# skipped: needs root and setpriv"
    if os.environ.get("TG_SAN"):
        # glibc preloads nothing but the bare name from the system directory
        # in a setuid program, so a sanitizer runtime cannot come first.
        return "# skipped under SAN: a setuid program cannot preload the sanitizer runtime"
    scratch = tempfile.mkdtemp(prefix="tg-secure-")
    os.chmod(scratch, 0o755)
    mounted = False
    try:
        if not overlay_libdir(os.path.join(scratch, "overlay")):
            raise t.h.Failure("cannot mount an overlay on %s in the test namespace" % LIBDIR)
        mounted = True
        lib = os.path.join(LIBDIR, SECURE_LIB)
        shutil.copyfile(env.shim, lib)
        os.chmod(lib, 0o4755)   # glibc preloads a bare name in secure mode only if setuid

        secret = os.path.join(scratch, "prices.tsv")
        with open(secret, "w") as f:
            # Parsed, this line fails on its third column, which a warning
            # would quote: the secret.
            f.write("openai\tgpt-x\t%s\t1\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t2025-01-01\thttps://x\n"
                    % SECRET)
        os.chmod(secret, 0o600)
        planted = os.path.join(scratch, "planted-ledger")
        home = os.path.join(scratch, "home")
        caller_env = {"TOKENGUARD_PRICES": secret, "TOKENGUARD_LEDGER": planted, "HOME": home,
                      "XDG_DATA_HOME": os.path.join(scratch, "xdg"), "TOKENGUARD_DEBUG": "1",
                      "TOKENGUARD_HOSTS": "bad entry", "TOKENGUARD_TAGS": "team=x"}
        io, case = nobody_io(t, env, scratch)
        ex = t.h.Exchange(case, t.h.Mode("length", "identity", delay_ms=300))

        # Control: the same curl without the setuid bit, as nobody, with a
        # ledger nobody may write.  The shim is loaded, reads the
        # environment and records: what the secure run must not do.
        plain = os.path.join(scratch, "curl-plain")
        shutil.copyfile("/usr/bin/curl", plain)
        os.chmod(plain, 0o755)
        ctl_ledger = os.path.join(scratch, "control-ledger")
        os.mkdir(ctl_ledger, 0o700)
        os.chown(ctl_ledger, NOBODY, NOBODY)
        ctl_env = dict(caller_env, TOKENGUARD_LEDGER=ctl_ledger)
        rc, out, err, maps = run_as_nobody(t, io, plain, ex, "control", ctl_env)
        t.check(rc == 0 and out == b"200", "control run: exit %d, %r %r" % (rc, out, err[-300:]))
        t.check(SECURE_LIB in maps, "control run: the shim was not loaded")
        t.check(b"tokenguard: " in err, "control run: the shim said nothing: %r" % err)
        # The report reads a ledger only as its owner: hand nobody's to us.
        for root, dirs, files in os.walk(ctl_ledger):
            for name in [root] + [os.path.join(root, f) for f in dirs + files]:
                os.chown(name, os.geteuid(), os.getegid())
        t.check(len(itlib.records(t, env, ctl_ledger)) == 1, "control run: no record")

        suid = os.path.join(scratch, "curl-suid")
        shutil.copyfile("/usr/bin/curl", suid)
        os.chmod(suid, 0o4755)
        rc, out, err, maps = run_as_nobody(t, io, suid, ex, "secure", caller_env)
        t.check(rc == 0 and out == b"200", "setuid run: exit %d, %r %r" % (rc, out, err[-300:]))
        t.check(SECURE_LIB in maps, "setuid run: the shim was not loaded, so nothing was tested")
        t.check(SECRET.encode() not in err, "the root-only file's contents reached the caller: %r" % err)
        t.check(err == b"", "a secure-execution process printed: %r" % err[:300])
        for d in (planted, home, os.path.join(scratch, "xdg")):
            t.check(not os.path.exists(d), "%s was created by a setuid process" % d)
        return "# setuid curl as nobody: shim loaded, silent, nothing written"
    finally:
        if mounted:
            try:
                os.unlink(os.path.join(LIBDIR, SECURE_LIB))
            except OSError:
                pass
            subprocess.run(["umount", "-l", LIBDIR], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


def tests(harness, cases):
    """The trust-* tests over the loaded cases (run_tests.load_cases)."""
    by_name = {c["name"]: c for c in cases}
    if OPENAI not in by_name:
        return []
    spec = []
    for kind, _make, _said in PRICE_FILES:
        for cl, process in (("curl-h1", "curl"), ("urllib", "urllib_client.py")):
            spec.append((cl, process, "trust-prices-" + kind, bad_prices(kind)))
    spec += [
        ("curl-h1", "curl", "trust-prices-bad-lines", prices_bad_lines),
        ("curl-h1", "curl", "trust-prices-config-dir", prices_config_dir),
        ("curl-h1", "curl", "trust-hosts-10000-bad", hosts_10000_bad),
        ("urllib", "urllib_client.py", "trust-hosts-10000-bad", hosts_10000_bad),
        ("curl-h1", "curl", "trust-ledger-path-too-long", ledger_path_too_long),
        ("curl-h1", "curl", "trust-stderr-bound-unread-pipe", stderr_bound),
        ("curl-suid", "curl", "trust-secure-execution", secure_execution),
    ]
    return [TrustTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
