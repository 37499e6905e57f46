"""launcher.py - the launcher-* and doctor-* integration tests: the
`tokenguard` launcher runs real clients under the shim with no LD_PRELOAD
set by hand (and with one set: it must keep working), passes the command's
exit status through, prints a run's spend with --summary and refuses a
program the shim cannot see; `tokenguard-report doctor` tells a
dynamically linked curl and python from a program with OpenSSL linked in
statically (built here from Debian's libssl.a, so no outside binary is
needed).

Owns: those tests.  The records are checked exactly by the harness's
check_records (run_tests.py), tags included.
"""

import glob
import os
import re
import subprocess
import time

import itlib

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TG_BUILD") or os.path.join(TOP, "build")
LAUNCHER = os.path.join(BUILD, "tokenguard")
STATIC_SRC = r"""
#include <openssl/crypto.h>
#include <stdio.h>
int main(void) { puts(OpenSSL_version(OPENSSL_VERSION)); return 0; }
"""
# A library any program can preload without effect.
HARMLESS = sorted(glob.glob("/lib/x86_64-linux-gnu/libz.so.1") + glob.glob("/usr/lib/*/libz.so.1")
                  + glob.glob("/lib/*/libz.so.1"))


class LaunchTest(itlib.SuiteTest):
    def ex(self, name):
        return self.h.Exchange(self.cases[name], self.h.Mode("length", "identity"))


def launched(t, name, args):
    """The harness client called name, run through the launcher with args."""
    c = itlib.client(t, name)
    return t.h.Client(c.name, [LAUNCHER] + list(args) + ["--"] + list(c.argv), c.http, c.process)


def records_ok(name, args, extra_env=None, exchanges=("openai-chat", "anthropic-messages-stream")):
    def body(t, env, tdir):
        client = launched(t, name, args)
        exs = [t.ex(n) for n in exchanges]
        ledger = os.path.join(tdir, "ledger")
        run = t.h.run_client(env, client, exs, tdir, "launched", ledger, False,
                             extra_env=extra_env)
        t.check(run.rc == 0, "%s under the launcher exited %d: %s"
                % (name, run.rc, run.stderr.decode(errors="replace")[-400:]))
        t.h.check_bodies(run.out, exs, client)
        t.h.check_records(itlib.records(t, env, ledger), exs, client)
    return body


def harmless_preload(t, env, tdir):
    """An LD_PRELOAD the user set stays, before the shim; the calls are
    still recorded."""
    t.check(HARMLESS, "no libz.so.1 to preload")
    lib = HARMLESS[0]
    e = env.child_env(os.path.join(tdir, "ledger-maps"), False)
    e["LD_PRELOAD"] = ":".join(p for p in (e.get("LD_PRELOAD", ""), lib) if p)
    p = subprocess.run([LAUNCHER, "--", t.h.SYS_PY, "-c",
                        "import os; print(os.environ['LD_PRELOAD']); print(open('/proc/self/maps').read())"],
                       capture_output=True, env=e, timeout=60)
    out = p.stdout.decode()
    first = out.splitlines()[0] if out else ""
    t.check(p.returncode == 0, "exited %d: %s" % (p.returncode, p.stderr.decode(errors="replace")))
    t.check(first.split(":")[-2:] == [lib, os.path.realpath(os.path.join(BUILD, "libtokenguard.so"))],
            "LD_PRELOAD is %r" % first)
    t.check("libtokenguard.so" in out and os.path.basename(lib) in out,
            "not both mapped: %r" % first)
    # Launched twice (a launcher run from a launched shell): not added again.
    p = subprocess.run([LAUNCHER, "--", LAUNCHER, "--", "sh", "-c", "echo $LD_PRELOAD"],
                       capture_output=True, env=e, timeout=60)
    t.check(p.stdout.decode().count("libtokenguard.so") == 1, "doubled: %r" % p.stdout)
    records_ok("curl-h1", ["--tag", "team=search"],
               extra_env={"LD_PRELOAD": e["LD_PRELOAD"]})(t, env, tdir)


def run(argv, env=None, timeout=60):
    return subprocess.run(argv, capture_output=True, env=env, timeout=timeout)


def exit_status(t, env, tdir):
    e = env.child_env(os.path.join(tdir, "ledger"), False)
    noexec = os.path.join(tdir, "noexec")
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(noexec, 0o644)
    for summary in ([], ["--summary"]):
        for argv, want in ((["sh", "-c", "exit 7"], 7), (["sh", "-c", "exit 0"], 0),
                           # exec-like: the launcher's own death by the signal;
                           # --summary waits and exits 128+N
                           (["sh", "-c", "kill -TERM $$"], 128 + 15 if summary else -15),
                           (["no-such-program-xyz"], 127), ([noexec], 126)):
            p = run([LAUNCHER] + summary + ["--"] + argv, e)
            t.check(p.returncode == want, "%s %s exited %d, expected %d: %s"
                    % (summary, argv, p.returncode, want, p.stderr.decode(errors="replace")))
    for argv, what in (([], "no command given"), (["--tag", "nokey", "true"], "not KEY=VALUE"),
                       (["--budget", "global,day,usd=x,block", "true"], "--budget"),
                       (["--budget", "global,day@No/Such_Zone,usd=1,block", "true"],
                        "unknown zone No/Such_Zone"),
                       (["--bogus", "true"], "unknown option")):
        p = run([LAUNCHER] + argv, e)
        t.check(p.returncode == 2 and what in p.stderr.decode(), "%s: %d %r"
                % (argv, p.returncode, p.stderr))
    e2 = dict(e, TOKENGUARD_LIB=os.path.join(tdir, "missing", "libtokenguard.so"))
    p = run([LAUNCHER, "--", "true"], e2)
    t.check(p.returncode == 2 and e2["TOKENGUARD_LIB"] in p.stderr.decode(),
            "a missing library: %d %r" % (p.returncode, p.stderr))
    # --budget and --ledger reach the command's environment.
    p = run([LAUNCHER, "--ledger", "/tmp/x", "--budget", "global,day,usd=2,block",
             "--budget", "model:gpt-4o,day,usd=1,warn", "--", "sh", "-c",
             'echo "$TOKENGUARD_LEDGER|$TOKENGUARD_BUDGETS"'], dict(e, TOKENGUARD_BUDGETS="global,session,usd=5,block"))
    t.check(p.stdout.decode().strip() == "/tmp/x|global,session,usd=5,block;global,day,usd=2,block;"
            "model:gpt-4o,day,usd=1,warn", "environment: %r" % p.stdout)


def summary(t, env, tdir):
    client = launched(t, "curl-h1", ["--summary", "--tag", "team=search"])
    exs = [t.ex("openai-chat"), t.ex("openai-chat")]
    ledger = os.path.join(tdir, "ledger")
    r = t.h.run_client(env, client, exs, tdir, "summary", ledger, False)
    t.check(r.rc == 0, "exited %d: %s" % (r.rc, r.stderr.decode(errors="replace")[-400:]))
    recs = itlib.records(t, env, ledger)
    t.check(len(recs) == 2, "%d records" % len(recs))
    runs = {rec["tags"].get("tokenguard_run") for rec in recs}
    t.check(len(runs) == 1 and None not in runs, "run tags %r" % runs)
    tokens = sum(rec["input_tokens"] + rec["output_tokens"] for rec in recs)
    lines = [l for l in itlib.tg_lines(r.stderr) if "summary:" in l]
    t.check(len(lines) == 1, "summary lines %r" % lines)
    m = re.match(r"tokenguard: summary: 2 LLM calls, (\d+) tokens, \$([0-9.,]+) \(tokenguard_run=(\S+)\)$",
                 lines[0])
    t.check(m and int(m.group(1)) == tokens and m.group(3) == runs.pop(),
            "summary %r, expected %d tokens" % (lines[0], tokens))
    cost = sum(rec["cost_usd"] for rec in recs)
    t.check(abs(float(m.group(2).replace(",", "")) - cost) <= max(cost * 1e-3, 1e-9),
            "summary cost %s, records %r" % (m.group(2), cost))
    # An earlier run's records in the same ledger are not this run's.
    r = t.h.run_client(env, client, exs[:1], tdir, "summary2", ledger, False)
    lines = [l for l in itlib.tg_lines(r.stderr) if "summary:" in l]
    t.check(len(lines) == 1 and "summary: 1 LLM call," in lines[0], "second run %r" % lines)


def static_program(t, tdir, static):
    """A program with OpenSSL linked in from libssl.a: fully static, or
    dynamic with static OpenSSL."""
    src = os.path.join(tdir, "prog.c")
    out = os.path.join(tdir, "static-openssl" if static else "linked-openssl")
    with open(src, "w") as f:
        f.write(STATIC_SRC)
    link = (["-static", "-lssl", "-lcrypto", "-pthread"] if static else
            ["-Wl,-Bstatic", "-lssl", "-lcrypto", "-Wl,-Bdynamic", "-ldl", "-pthread"])
    p = run([os.environ.get("CC", "cc"), "-o", out, src] + link, timeout=120)
    t.check(p.returncode == 0, "cannot build a static OpenSSL program (libssl-dev's libssl.a): %s"
            % p.stderr.decode(errors="replace")[-400:])
    return out


def doctor(t, env, argv, tdir_env=None):
    return run([env.report, "doctor"] + argv, tdir_env)


def doctor_sees(prog, marks):
    def body(t, env, tdir):
        p = doctor(t, env, ["--", prog])
        out = p.stdout.decode()
        t.check(p.returncode == 0, "doctor -- %s exited %d: %s" % (prog, p.returncode, out))
        for m in marks:
            t.check(m in out, "doctor -- %s does not say %r: %s" % (prog, m, out))
    return body


def doctor_static(t, env, tdir):
    for static, say in ((True, "static TLS: OpenSSL is linked in statically"),
                        (False, "static TLS: OpenSSL is linked in statically")):
        prog = static_program(t, tdir, static)
        p = doctor(t, env, ["--", prog])
        out = p.stdout.decode()
        t.check(p.returncode == 1 and say in out, "doctor -- %s: %d %s" % (prog, p.returncode, out))
        # The launcher refuses it with the same words, unless --force.
        e = env.child_env(os.path.join(tdir, "ledger"), False)
        p = run([LAUNCHER, "--", prog], e)
        t.check(p.returncode == 2 and say in p.stderr.decode() and "--force" in p.stderr.decode(),
                "launcher ran %s: %d %r" % (prog, p.returncode, p.stderr))
        p = run([LAUNCHER, "--force", "--", prog], e)
        t.check(p.returncode == 0 and p.stdout.startswith(b"OpenSSL 3."),
                "--force: %d %r" % (p.returncode, p.stdout))
    if os.path.exists("/usr/bin/node"):
        p = doctor(t, env, ["--", "/usr/bin/node"])
        out = p.stdout.decode()
        if b"libssl" not in run(["ldd", "/usr/bin/node"]).stdout:
            t.check(p.returncode == 1 and "Node.js with its own OpenSSL" in out, out)
        else:
            t.check(p.returncode == 0, out)


def doctor_setuid(t, env, tdir):
    prog = os.path.join(tdir, "su-copy")
    with open("/bin/true", "rb") as src, open(prog, "wb") as dst:
        dst.write(src.read())
    os.chmod(prog, 0o4755)
    p = doctor(t, env, ["--", prog])
    t.check(p.returncode == 1 and "setuid" in p.stdout.decode(), p.stdout.decode())


def doctor_pid(t, env, tdir):
    ledger = os.path.join(tdir, "ledger")
    e = env.child_env(ledger, False)
    proc = subprocess.Popen([LAUNCHER, "--", t.h.SYS_PY, "-c",
                             "import ssl, sys, time; print('up', flush=True); time.sleep(30)"],
                            stdout=subprocess.PIPE, env=e)
    try:
        proc.stdout.readline()
        p = doctor(t, env, ["--pid", str(proc.pid)])
        out = p.stdout.decode()
        t.check("libtokenguard.so is loaded" in out and "libssl: /" in out, out)
        t.check("ledger: %s (its TOKENGUARD_LEDGER)" % ledger in out, out)
        t.check("records in the last hour: 0" in out, out)
    finally:
        proc.kill()
        proc.wait()
    p = doctor(t, env, ["--pid", str(os.getpid())])
    t.check(p.returncode == 1 and "shim: not loaded" in p.stdout.decode(), p.stdout.decode())
    p = doctor(t, env, ["--pid", "x1"])
    t.check(p.returncode == 2, "--pid x1 exited %d" % p.returncode)


def doctor_install(t, env, tdir):
    """The installation report of a ledger with records, then with a bad
    TOKENGUARD_BUDGETS and an unsafe mode."""
    client = launched(t, "curl-h1", [])
    ledger = os.path.join(tdir, "ledger")
    t.h.run_client(env, client, [t.ex("openai-chat")], tdir, "fill", ledger, False)
    e = env.child_env(ledger, False)
    e["TOKENGUARD_BUDGETS"] = "global,day,usd=5,block"
    p = doctor(t, env, [], e)
    out = p.stdout.decode()
    for want in ("library: ", "ledger: " + ledger, "records: 1", "last record: ", "schema: 2",
                 "price table: ", "environment policies: 1", "global,day,usd=5,block",
                 "doctor: all is well"):
        t.check(want in out, "doctor does not say %r: %s" % (want, out))
    t.check(p.returncode == 0, "doctor exited %d: %s" % (p.returncode, out))
    e["TOKENGUARD_BUDGETS"] = "global,day,usd=x,block"
    os.chmod(ledger, 0o777)
    try:
        p = doctor(t, env, [], e)
    finally:
        os.chmod(ledger, 0o700)
    out = p.stdout.decode()
    t.check(p.returncode == 1 and "TOKENGUARD_BUDGETS: " in out and "unsafe" in out, out)


def tests(harness, cases):
    if not os.path.exists(LAUNCHER):
        return []
    spec = [
        ("launcher-curl", "curl-h1", records_ok("curl-h1", ["--tag", "team=search"])),
        ("launcher-curl-h2", "curl-h2", records_ok("curl-h2", ["--tag", "feature=it"])),
        ("launcher-python-tags", "urllib",
         records_ok("urllib", ["--tag", "team=search", "--tag", "feature=it"],
                    extra_env={"TOKENGUARD_TAGS": ""})),
        ("launcher-existing-preload", "curl-h1", harmless_preload),
        ("launcher-exit-status", "sh", exit_status),
        ("launcher-summary", "curl-h1", summary),
        ("doctor-curl", "curl", doctor_sees("curl", ["seen: ", "links libssl through libcurl"])),
        ("doctor-python", "python3", doctor_sees("/usr/bin/python3", ["seen: Python interpreter",
                                                                    "_ssl", "links libssl"])),
        ("doctor-static", "openssl", doctor_static),
        ("doctor-setuid", "true", doctor_setuid),
        ("doctor-pid", "python3", doctor_pid),
        ("doctor-install", "curl-h1", doctor_install),
    ]
    by_name = {c["name"]: c for c in cases}
    return [LaunchTest(harness, by_name, name, name, label, body) for label, name, body in spec]
