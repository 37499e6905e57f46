"""config.py - the config-* integration tests: the configuration files
(ledger/settings.h) in real runs, with no TOKENGUARD_* variable set.

Owns: a user file's tags, ledger and budgets taking effect in curl under
the shim (the record carries the tag, the second call is refused with a
429); the environment winning over the file, an empty variable included;
a file group can write or another user owns ignored whole with one
warning; a file's unknown key skipped with one warning naming file:line;
the launcher adding --tag to the file's tags; `tokenguard-report doctor`
naming where each setting comes from and flagging an unsafe file;
`tokenguard-report init` writing a file the reader takes (every line
uncommented too) and refusing to overwrite it; the system file under the
user's file, and a setuid curl that records with the system file's
settings only when it says setuid_programs = yes (an overlay on /etc in a
mount namespace of the test's own: nothing on the disk changes).

Each program runs with HOME at a fresh directory of the test and without
XDG_CONFIG_HOME, so the user file is $HOME/.config/tokenguard/config.
"""

import os
import re
import shutil
import subprocess
import tempfile

import budgets
import itlib
import trust

OPENAI = "openai-chat"
NOBODY = 65534
# No variable of the harness's: what is set comes from the files.
NO_VARS = {"TOKENGUARD_LEDGER": None, "TOKENGUARD_TAGS": None, "XDG_CONFIG_HOME": None,
           "XDG_DATA_HOME": None}
SESSION_BLOCK = "global,session,usd=0.0001,block"   # the first call passes, the next is refused


class ConfigTest(itlib.SuiteTest):
    def ex(self, name=OPENAI):
        return self.h.Exchange(self.cases[name], self.h.Mode("length", "identity"))


def user_file(tdir, text, mode=0o600):
    """Writes HOME/.config/tokenguard/config under a fresh HOME in tdir;
    returns (home, path)."""
    home = os.path.join(tdir, "home")
    conf = os.path.join(home, ".config", "tokenguard")
    os.makedirs(conf, exist_ok=True)
    path = os.path.join(conf, "config")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return home, path


def run_curl(t, env, tdir, label, home, n=2, extra=None):
    """curl making n OpenAI calls on one connection under the shim, with
    HOME at home and no TOKENGUARD_* variable but those of extra."""
    e = dict(NO_VARS, HOME=home)
    e.update(extra or {})
    return budgets.curl(t, env, tdir, label, [t.ex()] * n, os.path.join(tdir, "unused"),
                        extra_env=e)


def report(env, args, home, extra=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("TOKENGUARD_")
         and k not in ("XDG_CONFIG_HOME", "XDG_DATA_HOME")}
    e["HOME"] = home
    e.update(extra or {})
    return subprocess.run([env.report] + args, capture_output=True, timeout=60, env=e)


def user_file_applies(t, env, tdir):
    ledger = os.path.join(tdir, "cfg-ledger")
    home, path = user_file(tdir, "# set by the file\nledger = %s\ntags = team=cfg\n"
                           "budgets = \"%s\"\n" % (ledger, SESSION_BLOCK))
    c = run_curl(t, env, tdir, "file", home)
    t.check(c.codes() == ["200", "429"], "statuses %s, expected 200 429: %s"
            % (c.codes(), budgets.tail(c.stderr)))
    budgets.check_openai_refusal(t, c.transfers[1].code, c.transfers[1].headers,
                                 c.transfers[1].json(), "env1", "the file's budget")
    said = [l for l in c.tg_lines() if not l.startswith("tokenguard: budget 'env1' ")]
    t.check(said == [], "the shim said more than the refusal: %r" % said)
    recs = itlib.records(t, env, ledger)
    ok, blocked = budgets.allowed_and_blocked(recs)
    t.check(len(ok) == 1 and len(blocked) == 1, "%d allowed and %d blocked records in the file's "
            "ledger, expected 1 and 1" % (len(ok), len(blocked)))
    for r in recs:
        t.check(r["tags"] == {"team": "cfg"}, "record tags %r, expected the file's" % r["tags"])
    return "# 200 then 429 by %s's budgets; tags team=cfg" % path


def environment_wins(t, env, tdir):
    file_ledger, env_ledger = os.path.join(tdir, "cfg-ledger"), os.path.join(tdir, "env-ledger")
    home, _path = user_file(tdir, "ledger = %s\ntags = team=cfg\nbudgets = %s\n"
                            % (file_ledger, SESSION_BLOCK))
    c = run_curl(t, env, tdir, "env", home,
                 extra={"TOKENGUARD_LEDGER": env_ledger, "TOKENGUARD_TAGS": "team=env",
                        "TOKENGUARD_BUDGETS": ""})
    t.check(c.codes() == ["200", "200"], "statuses %s, expected 200 200: an empty "
            "TOKENGUARD_BUDGETS wins over the file's policy" % c.codes())
    t.check(not os.path.exists(file_ledger), "the file's ledger was used despite TOKENGUARD_LEDGER")
    recs = itlib.records(t, env, env_ledger)
    t.check(len(recs) == 2 and all(r["tags"] == {"team": "env"} for r in recs),
            "records %r, expected 2 tagged team=env" % [r["tags"] for r in recs])
    return "# TOKENGUARD_LEDGER, _TAGS and an empty _BUDGETS over the file"


def unsafe_file_ignored(t, env, tdir):
    """A file group can write, then one of another user: ignored whole, one
    warning each time, the calls recorded as if there were no file."""
    ledger = os.path.join(tdir, "cfg-ledger")
    home, path = user_file(tdir, "ledger = %s\ntags = team=cfg\nbudgets = %s\n"
                           % (ledger, SESSION_BLOCK), 0o620)
    default_ledger = os.path.join(home, ".local", "share", "tokenguard")
    said = []
    for label, want in (("group-writable", "can be written by group or others (mode 0620)"),
                        ("foreign", "belongs to uid %d, not uid %d" % (NOBODY, os.getuid()))):
        if label == "foreign":
            os.chmod(path, 0o600)
            os.chown(path, NOBODY, NOBODY)
        c = run_curl(t, env, tdir, label, home)
        t.check(c.codes() == ["200", "200"], "%s: statuses %s: the file's budget applied"
                % (label, c.codes()))
        lines = c.tg_lines()
        t.check(len(lines) == 1 and path in lines[0] and want in lines[0] and "ignored" in lines[0],
                "%s: expected one warning naming %s and %r, got %r" % (label, path, want, lines))
        said.append(lines[0] if lines else "")
    t.check(not os.path.exists(ledger), "the ignored file's ledger was used")
    recs = itlib.records(t, env, default_ledger)
    t.check(len(recs) == 4 and all(r["tags"] == {} for r in recs),
            "expected 4 untagged records in the default ledger, got %r" % [r["tags"] for r in recs])
    return "# " + said[0][:110]


def bad_line_skipped(t, env, tdir):
    ledger = os.path.join(tdir, "cfg-ledger")
    home, path = user_file(tdir, "ledger = %s\nledgr = /typo\ntags = team=cfg\nno equals sign\n"
                           % ledger)
    c = run_curl(t, env, tdir, "bad-line", home, n=1)
    t.check(c.codes() == ["200"], "statuses %s" % c.codes())
    lines = c.tg_lines()
    t.check(len(lines) == 1 and '%s:2: unknown key "ledgr"; line skipped' % path in lines[0]
            and "doctor" in lines[0], "expected one warning naming line 2, got %r" % lines)
    recs = itlib.records(t, env, ledger)
    t.check(len(recs) == 1 and recs[0]["tags"] == {"team": "cfg"}, "the good lines did not apply")
    return "# " + lines[0][:110] if lines else ""


def launcher_adds_tags(t, env, tdir):
    import launcher
    if not os.path.exists(launcher.LAUNCHER):
        return "# skipped: no launcher built"
    ledger = os.path.join(tdir, "cfg-ledger")
    home, _path = user_file(tdir, "ledger = %s\ntags = team=cfg\n" % ledger)
    argv = [launcher.LAUNCHER, "--tag", "feature=it", "--"] + trust.curl_argv(
        shutil.which("curl"), env.ca, t.ex(), os.path.basename(tdir) + "/launched",
        os.path.join(tdir, "launched.body"))
    cenv = env.child_env(os.path.join(tdir, "unused"), False)
    for k in NO_VARS:
        cenv.pop(k, None)
    cenv["HOME"] = home
    p = subprocess.run(argv, capture_output=True, env=cenv, timeout=60)
    t.check(p.returncode == 0 and p.stdout == b"200", "the launched curl: exit %d, %r %r"
            % (p.returncode, p.stdout, p.stderr[-300:]))
    recs = itlib.records(t, env, ledger)
    t.check(len(recs) == 1 and recs[0]["tags"] == {"team": "cfg", "feature": "it"},
            "records %r, expected one tagged team=cfg and feature=it" % [x["tags"] for x in recs])
    return "# tokenguard --tag feature=it over the file's team=cfg"


def doctor_sources(t, env, tdir):
    ledger = os.path.join(tdir, "cfg-ledger")
    home, path = user_file(tdir, "ledger = %s\ntags = team=cfg\nsync = sometimes\n" % ledger)
    p = report(env, ["doctor"], home, {"TOKENGUARD_FAIL": "closed"})
    out = p.stdout.decode()
    for want in ("user file: %s (read)" % path,
                 "ledger: %s" % ledger,
                 "ledger = %s (user file %s:1)" % (ledger, path),
                 "tags = team=cfg (user file %s:2)" % path,
                 "sync = sometimes (user file %s:3)" % path,
                 "invalid: expected batch|commit",
                 "fail = closed (environment TOKENGUARD_FAIL)",
                 "quiet: 0 (default)",
                 "system file: /etc/tokenguard/config"):
        t.check(want in out, "doctor does not say %r:\n%s" % (want, out))
    t.check(p.returncode == 1, "doctor exited %d with an invalid setting" % p.returncode)
    os.chmod(path, 0o660)
    p = report(env, ["doctor"], home)
    out = p.stdout.decode()
    t.check(p.returncode == 1 and "unsafe: %s: can be written by group or others" % path in out
            and "chmod go-w" in out and "tags: no tags (default)" in out,
            "doctor on a group-writable file:\n%s" % out)
    return "# each setting with its source; the unsafe file flagged"


def init_writes(t, env, tdir):
    home = os.path.join(tdir, "home")
    os.makedirs(home)
    path = os.path.join(home, ".config", "tokenguard", "config")
    p = report(env, ["init"], home)
    t.check(p.returncode == 0 and p.stdout.decode() == "wrote %s\n" % path,
            "init: exit %d, %r %r" % (p.returncode, p.stdout, p.stderr))
    st = os.stat(path)
    t.check(st.st_mode & 0o777 == 0o600, "mode %o, expected 600" % (st.st_mode & 0o777))
    with open(path) as f:
        text = f.read()
    keys = re.findall(r"^#([a-z_]+) =", text, re.M)
    want = ["ledger", "sync", "tags", "hosts", "prices", "disable", "debug", "quiet", "budgets",
            "fail", "lib", "attribution", "machine", "fleet_redis", "fleet_stale", "fleet_postgres"]
    t.check(keys == want, "init wrote the keys %r, expected %r" % (keys, want))
    for var in ("TOKENGUARD_" + k.upper() for k in want):
        t.check(("Variable: %s." % var) in text, "init does not name %s" % var)

    p = report(env, ["init"], home)
    t.check(p.returncode == 2 and b"already exists; pass --force" in p.stderr,
            "a second init: exit %d, %r" % (p.returncode, p.stderr))
    with open(path) as f:
        t.check(f.read() == text, "the refused init changed the file")

    def doctor_clean(what):
        p = report(env, ["doctor"], home)
        out = p.stdout.decode()
        t.check("user file: %s (read)\n" % path in out, "%s: not read:\n%s" % (what, out))
        for bad in ("line skipped", "invalid", "unsafe"):
            t.check(bad not in out, "%s: doctor says %r:\n%s" % (what, bad, out))
        return out

    doctor_clean("as written")
    # Every setting uncommented: each is its default, from the file.
    with open(path, "w") as f:
        f.write(re.sub(r"^#([a-z_]+ =)", r"\1", text, flags=re.M))
    out = doctor_clean("every line uncommented")
    for k in want:
        t.check(re.search(r"^  %s(: .* \(the default: empty in user file|"
                          r" = \S+ \(user file) %s:\d+\)$" % (k, re.escape(path)), out, re.M),
                "%s is not the file's default:\n%s" % (k, out))
    p = report(env, ["init", "--force"], home)
    t.check(p.returncode == 0, "init --force: exit %d %r" % (p.returncode, p.stderr))
    with open(path) as f:
        t.check(f.read() == text, "init --force did not write the template again")
    return "# %d keys; refused then forced" % len(keys)


# ---------------------------------------------------------------- the system file

def in_etc_overlay(scratch, system_text, argv, env, lib=None):
    """argv in a mount namespace of its own where /etc is an overlay
    holding tokenguard/config (root's, 0644) with system_text, and this
    namespace's hosts file (run.sh's bind mount would be hidden).  With
    lib, the system library directory is an overlay too, holding lib as
    trust.SECURE_LIB, setuid (how glibc preloads into a setuid program)."""
    upper, work = os.path.join(scratch, "upper"), os.path.join(scratch, "work")
    lupper, lwork = os.path.join(scratch, "lib-upper"), os.path.join(scratch, "lib-work")
    for d in (os.path.join(upper, "tokenguard"), work, lupper, lwork):
        os.makedirs(d)
    shutil.copyfile("/etc/hosts", os.path.join(upper, "hosts"))
    conf = os.path.join(upper, "tokenguard", "config")
    with open(conf, "w") as f:
        f.write(system_text)
    os.chmod(conf, 0o644)
    script = 'mount -t overlay overlay -o lowerdir=/etc,upperdir="$1",workdir="$2" /etc || exit 97; '
    if lib:
        shutil.copyfile(lib, os.path.join(lupper, trust.SECURE_LIB))
        os.chmod(os.path.join(lupper, trust.SECURE_LIB), 0o4755)
        script += ('mount -t overlay overlay -o lowerdir=%s,upperdir="$3",workdir="$4" %s '
                   '|| exit 97; export LD_PRELOAD=%s; ' % (trust.LIBDIR, trust.LIBDIR,
                                                           trust.SECURE_LIB))
    script += 'shift 4; exec "$@"'
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                           upper, work, lupper, lwork] + argv, capture_output=True, env=env,
                          timeout=60)


def overlay_scratch():
    """A tmpfs for the overlay's upper and work directories (they may not
    sit on an overlay themselves, as /tmp can in a container)."""
    scratch = tempfile.mkdtemp(prefix="tg-etc-")
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", scratch], capture_output=True).returncode:
        return scratch, False
    return scratch, True


def system_file(t, env, tdir):
    if os.getuid() != 0:
        return "# skipped: the system file must be root's: needs root"
    ledger = os.path.join(tdir, "sys-ledger")
    home, upath = user_file(tdir, "tags = team=user\n")
    argv = trust.curl_argv(shutil.which("curl"), env.ca, t.ex(), os.path.basename(tdir) + "/sys",
                           os.path.join(tdir, "sys.body"))
    cenv = env.child_env(ledger, True)
    for k in ("TOKENGUARD_LEDGER", "TOKENGUARD_TAGS", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        cenv.pop(k, None)
    cenv["HOME"] = home
    scratch, ok = overlay_scratch()
    try:
        if not ok:
            raise t.h.Failure("cannot mount a tmpfs for the overlay on /etc")
        sys_text = "ledger = %s\ntags = team=sys\n" % ledger
        p = in_etc_overlay(os.path.join(scratch, "a"), sys_text, argv, cenv)
        t.check(p.returncode != 97, "cannot mount an overlay on /etc: %r" % p.stderr[-200:])
        t.check(p.returncode == 0 and p.stdout == b"200", "curl: exit %d, %r %r"
                % (p.returncode, p.stdout, p.stderr[-300:]))
        recs = itlib.records(t, env, ledger)
        t.check(len(recs) == 1 and recs[0]["tags"] == {"team": "user"},
                "the user's tags must win over the system's, the system's ledger apply: %r"
                % [r["tags"] for r in recs])
        os.unlink(upath)
        p = in_etc_overlay(os.path.join(scratch, "b"), sys_text, argv, cenv)
        t.check(p.returncode == 0 and p.stdout == b"200", "curl: exit %d" % p.returncode)
        recs = itlib.records(t, env, ledger)
        t.check(len(recs) == 2 and recs[1]["tags"] == {"team": "sys"},
                "without a user file the system's tags apply: %r" % [r["tags"] for r in recs])
        # doctor inside the same view names the system file's line.
        p = in_etc_overlay(os.path.join(scratch, "c"), sys_text, [env.report, "doctor"], cenv)
        out = p.stdout.decode()
        t.check("tags = team=sys (system file /etc/tokenguard/config:2)" in out,
                "doctor does not name the system file's line:\n%s" % out)
    finally:
        subprocess.run(["umount", "-l", scratch], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return "# user file over /etc/tokenguard/config, which applies alone without it"


def setuid_programs(t, env, tdir):
    """A setuid-root curl run by nobody (trust.py's set-up): the shim stays
    silent and records nothing unless the system file says setuid_programs
    = yes; then it records into the system file's ledger with the system
    file's tags, and the caller's variables and user file do nothing."""
    if os.getuid() != 0 or not shutil.which("setpriv"):
        return "# skipped: needs root and setpriv"
    if os.environ.get("TG_SAN"):
        return "# skipped under SAN: a setuid program cannot preload the sanitizer runtime"
    scratch, ok = overlay_scratch()
    os.chmod(scratch, 0o755)
    try:
        if not ok:
            raise t.h.Failure("cannot mount a tmpfs for the overlays")
        io, case = trust.nobody_io(t, env, scratch)
        ex = t.h.Exchange(case, t.h.Mode("length", "identity"))
        suid = os.path.join(scratch, "curl-suid")
        shutil.copyfile("/usr/bin/curl", suid)
        os.chmod(suid, 0o4755)
        ledger = os.path.join(scratch, "root-ledger")   # made by the setuid curl (euid root)
        caller_home = os.path.join(scratch, "caller")
        os.makedirs(os.path.join(caller_home, ".config", "tokenguard"))
        with open(os.path.join(caller_home, ".config", "tokenguard", "config"), "w") as f:
            f.write("tags = team=caller\n")
        caller = {"HOME": caller_home, "TOKENGUARD_TAGS": "team=callerenv",
                  "TOKENGUARD_LEDGER": os.path.join(scratch, "planted")}
        results = []
        for label, text in (("no", "ledger = %s\ntags = team=sys\n" % ledger),
                            ("yes", "setuid_programs = yes\nledger = %s\ntags = team=sys\n"
                             % ledger)):
            argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] + \
                trust.curl_argv(suid, os.path.join(io, "ca.pem"), ex, "suid/" + label,
                                os.path.join(io, label + ".body"))
            e = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}   # LD_PRELOAD: in_etc_overlay
            e.update(caller)
            p = in_etc_overlay(os.path.join(scratch, "etc-" + label), text, argv, e, lib=env.shim)
            t.check(p.returncode != 97, "cannot mount the overlays: %r" % p.stderr[-200:])
            t.check(p.returncode == 0 and p.stdout == b"200", "%s: curl exit %d, %r %r"
                    % (label, p.returncode, p.stdout, p.stderr[-300:]))
            t.check(p.stderr == b"", "%s: the setuid curl printed %r" % (label, p.stderr[:300]))
            results.append(len(itlib.records(t, env, ledger)))
        t.check(results[0] == 0, "setuid_programs unset: %d records" % results[0])
        recs = itlib.records(t, env, ledger)
        t.check(len(recs) == 1 and recs[0]["tags"] == {"team": "sys"},
                "setuid_programs = yes: records %r, expected one tagged team=sys"
                % [r["tags"] for r in recs])
        t.check(not os.path.exists(caller["TOKENGUARD_LEDGER"]), "the caller's ledger was made")
        return "# setuid curl: silent and unrecorded, then recorded with the system file only"
    finally:
        subprocess.run(["umount", "-l", scratch], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if OPENAI not in by_name:
        return []
    spec = [
        ("curl", "curl", "config-user-file", user_file_applies),
        ("curl", "curl", "config-env-wins", environment_wins),
        ("curl", "curl", "config-unsafe-file", unsafe_file_ignored),
        ("curl", "curl", "config-bad-line", bad_line_skipped),
        ("curl-h1", "curl", "config-launcher-tags", launcher_adds_tags),
        ("report", "tokenguard-report", "config-doctor", doctor_sources),
        ("report", "tokenguard-report", "config-init", init_writes),
        ("curl", "curl", "config-system-file", system_file),
        ("curl-suid", "curl", "config-setuid-programs", setuid_programs),
    ]
    return [ConfigTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
