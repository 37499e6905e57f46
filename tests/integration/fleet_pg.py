"""fleet_pg.py - the fleet-pg-* integration tests: three machines' ledgers
pushed by their own sync agents into one real PostgreSQL (Debian's
postgresql 15, a throwaway cluster on loopback: pgserver.py), and the
fleet's reports read back from it.

Owns: what `tokenguard-report sync` and `--fleet` promise.  Each machine
is a ledger of its own (TOKENGUARD_LEDGER) with its own name
(TOKENGUARD_MACHINE), filled by curl under the shim against the fake
provider.  fleet-pg-three-machines: sync refuses a database without the
schema; --init creates it once; repeated and concurrent syncs of every
ledger land each record exactly once (the ids in PostgreSQL are the local
records' ids); `--fleet --by machine,model --format json` equals the sum
of the three local reports, and the other reports read the fleet too.
fleet-pg-server-down: a --follow agent keeps running while PostgreSQL is
killed, the instrumented programs are unharmed, a one-shot sync exits 2,
records (a late one committed behind the watermark included) wait in the
ledger and land once after the restart.
"""

import json
import os
import signal
import subprocess
import time

import budgets
import itlib
import pgserver

OPENAI = "openai-chat"            # gpt-4.1
ANTHROPIC = "anthropic-messages"  # claude-sonnet-4-5
WAIT = 30                         # seconds for an agent to land what it should


class FleetTest(itlib.SuiteTest):
    def ex(self, name):
        return self.h.Exchange(self.cases[name], self.h.Mode("length", "identity"))


def machine_env(name):
    return {"TOKENGUARD_MACHINE": name}


def calls(t, env, tdir, label, ledger, machine, n_openai, n_anthropic):
    start = time.monotonic()
    c = budgets.curl(t, env, tdir, label, [t.ex(OPENAI)] * n_openai +
                     [t.ex(ANTHROPIC)] * n_anthropic, ledger, extra_env=machine_env(machine))
    t.check(c.rc == 0, "%s: curl exit %d: %s" % (label, c.rc, budgets.tail(c.stderr)))
    for i, tr in enumerate(c.transfers):
        t.check(tr.code == "200", "%s: transfer %d got HTTP %s" % (label, i, tr.code))
    return time.monotonic() - start


def report(t, env, ledger, machine, args, rc=0):
    return budgets.report(t, env, args + ["--ledger", ledger], rc=rc,
                          extra_env=machine_env(machine))


def local_records(t, env, ledger, machine):
    p = report(t, env, ledger, machine, ["records", "--format", "jsonl"])
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]


def sync_argv(env, conninfo, ledger, *extra):
    return [env.report, "sync", "--postgres", conninfo, "--ledger", ledger] + list(extra)


def sync(t, env, conninfo, ledger, machine, rc=0):
    return report(t, env, ledger, machine, ["sync", "--postgres", conninfo], rc=rc)


def pg_ids(pg, machine=None):
    where = " WHERE machine = '%s'" % machine if machine else ""
    return [r[0] for r in pg.psql("SELECT id FROM tokenguard_records%s" % where)]


def check_once(t, pg, locals_by_machine, what):
    """Every local record exactly once in PostgreSQL, under its machine."""
    ids = pg_ids(pg)
    t.check(len(ids) == len(set(ids)), "%s: duplicate ids in PostgreSQL" % what)
    want = {r["id"] for recs in locals_by_machine.values() for r in recs}
    t.check(set(ids) == want, "%s: PostgreSQL holds %d ids, the ledgers %d (%d missing, %d extra)"
            % (what, len(ids), len(want), len(want - set(ids)), len(set(ids) - want)))
    for m, recs in locals_by_machine.items():
        t.check(set(pg_ids(pg, m)) == {r["id"] for r in recs},
                "%s: machine %s's rows are not its records" % (what, m))


def summed(groups_lists, totals):
    """The three local reports as one: their groups, and totals added."""
    groups = sorted((g for gl in groups_lists for g in gl),
                    key=lambda g: (g["machine"], g["model"]))
    total = {}
    for tot in totals:
        for k, v in tot.items():
            if isinstance(v, dict) or isinstance(v, str):
                continue
            if v is None:
                total.setdefault(k, None)
            else:
                total[k] = (total.get(k) or 0) + v
    return groups, total


def same_total(t, got, want, what):
    for k, v in want.items():
        g = got.get(k)
        if isinstance(v, float) or isinstance(g, float):
            ok = v is not None and g is not None and abs(g - v) <= 1e-12 * max(1.0, abs(v))
        else:
            ok = g == v
        t.check(ok, "%s: total %s is %r, the local reports sum to %r" % (what, k, g, v))


def three_machines(t, env, tdir):
    machines = ("a", "b", "c")
    ledgers = {m: os.path.join(tdir, "ledger-" + m) for m in machines}
    plan = {"a": (2, 1), "b": (1, 2), "c": (3, 0)}
    for m in machines:
        calls(t, env, tdir, "first-" + m, ledgers[m], m, *plan[m])
    with pgserver.PgServer(log_dir=tdir) as pg:
        db = pg.tcp_conninfo   # the agents over TCP on loopback
        p = sync(t, env, db, ledgers["a"], "a", rc=2)
        t.check(b"sync --init" in p.stderr, "sync without a schema: %s" % p.stderr[-300:])
        p = report(t, env, ledgers["a"], "a", ["sync", "--init", "--postgres", db])
        t.check(b"version 1 (was 0)" in p.stdout, "sync --init: %r" % p.stdout)
        p = report(t, env, ledgers["b"], "b", ["sync", "--init", "--postgres", db])
        t.check(b"already" in p.stdout, "sync --init again: %r" % p.stdout)

        # doctor: where the records go, the password never shown, what waits.
        secret = {"TOKENGUARD_FLEET_POSTGRES": db + " password=hunter2-" + str(os.getpid())}

        def doctor():
            p = budgets.report(t, env, ["doctor", "--ledger", ledgers["a"]], rc=None,
                               extra_env=dict(machine_env("a"), **secret))
            out = p.stdout.decode(errors="replace")
            t.check(secret["TOKENGUARD_FLEET_POSTGRES"].split("=")[-1] not in out,
                    "doctor shows the password: %s" % out[-800:])
            t.check("password=***" in out, "doctor: no masked password: %s" % out[-800:])
            return out
        out = doctor()
        t.check("never sent: 3 records wait" in out, "doctor before a sync: %s" % out[-600:])

        # Repeated: each ledger twice in a row.
        for m in machines:
            sync(t, env, db, ledgers[m], m)
            p = sync(t, env, db, ledgers[m], m)
            t.check(b" 0 records sent" in p.stderr, "a second sync sent again: %s" % p.stderr)
        out = doctor()
        t.check("; 0 committed records not sent yet" in out, "doctor after a sync: %s"
                % out[-600:])
        # More calls, then concurrent: three agents per ledger at once.
        for m in machines:
            calls(t, env, tdir, "second-" + m, ledgers[m], m, 1, 1)
        procs = []
        for _ in range(3):
            for m in machines:
                e = dict(os.environ, **machine_env(m))
                procs.append(subprocess.Popen(sync_argv(env, db, ledgers[m]), env=e,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for p in procs:
            out, err = p.communicate(timeout=60)
            t.check(p.returncode == 0, "a concurrent sync exited %d: %s" % (p.returncode, err))
        locals_by_machine = {m: local_records(t, env, ledgers[m], m) for m in machines}
        t.check([len(locals_by_machine[m]) for m in machines] == [5, 5, 5],
                "local records: %r" % {m: len(r) for m, r in locals_by_machine.items()})
        for m, recs in locals_by_machine.items():
            t.check(all(r["machine"] == m for r in recs), "ledger %s: machine %r" % (
                m, {r["machine"] for r in recs}))
        check_once(t, pg, locals_by_machine, "after repeated and concurrent syncs")

        # The fleet's report is the sum of the three local ones.
        by = ["--by", "machine,model", "--format", "json"]
        local = [json.loads(report(t, env, ledgers[m], m, by).stdout) for m in machines]
        fleet = json.loads(report(t, env, ledgers["a"], "a",
                                  by + ["--fleet", "--postgres", db]).stdout)
        groups, total = summed([d["groups"] for d in local], [d["total"] for d in local])
        got = sorted(fleet["groups"], key=lambda g: (g["machine"], g["model"]))
        t.check(got == groups, "--fleet groups differ from the local reports':\n%s\n%s"
                % (json.dumps(got)[:600], json.dumps(groups)[:600]))
        same_total(t, fleet["total"], total, "--fleet --by machine,model")

        # The other reports read the fleet too.
        recs = report(t, env, ledgers["a"], "a", ["records", "--fleet", "--postgres",
                                                  db, "--format", "jsonl"]).stdout
        fleet_recs = [json.loads(l) for l in recs.decode().splitlines() if l.strip()]
        t.check(len(fleet_recs) == 15 and {r["machine"] for r in fleet_recs} == set(machines),
                "records --fleet: %d records of %r" % (
                    len(fleet_recs), {r["machine"] for r in fleet_recs}))
        daily = json.loads(report(t, env, ledgers["a"], "a", [
            "daily", "--fleet", "--postgres", db, "--format", "json"]).stdout)
        t.check(daily["total"]["calls"] == total["calls"], "daily --fleet: %r calls, want %r"
                % (daily["total"]["calls"], total["calls"]))
        page = report(t, env, ledgers["a"], "a", ["monthly", "--fleet", "--postgres", db,
                                                  "--format", "html"]).stdout.decode()
        t.check("the fleet&#39;s PostgreSQL" in page or "the fleet's PostgreSQL" in page,
                "monthly --fleet --format html does not name the fleet")
        t.check('data-calls="%d"' % total["calls"] in page, "monthly --fleet --format html: "
                "no cell of %d calls" % total["calls"])
        report(t, env, ledgers["a"], "a", ["check", "--fleet", "--postgres", db,
                                           "--max-usd", "1000"])
        p = report(t, env, ledgers["a"], "a", ["check", "--fleet", "--postgres", db,
                                               "--max-usd", "0"], rc=1)
        p = report(t, env, ledgers["a"], "a", ["budget", "list", "--fleet"], rc=2)
        t.check(b"--fleet does not apply" in p.stderr, "budget --fleet: %s" % p.stderr)
        # Grafana's views agree with the fleet's total.
        calls_view = pg.psql("SELECT sum(calls) FROM tokenguard_daily")[0][0]
        t.check(int(calls_view) == total["calls"], "tokenguard_daily: %s calls, want %r"
                % (calls_view, total["calls"]))
    p = report(t, env, ledgers["a"], "a", ["--fleet", "--postgres", db], rc=2)
    t.check(b"--fleet: PostgreSQL" in p.stderr, "--fleet with the server gone: %s" % p.stderr)
    return "# 3 machines, 15 records, each once after 9 concurrent and 6 repeated syncs"


def wait_rows(t, pg, n, what):
    deadline = time.monotonic() + WAIT
    got, why = -1, ""
    while time.monotonic() < deadline:
        try:
            got = int(pg.psql("SELECT count(*) FROM tokenguard_records")[0][0])
        except pgserver.Failure as e:
            got, why = -1, " (%s)" % e
        if got == n:
            return
        time.sleep(0.2)
    raise t.h.Failure("%s: PostgreSQL holds %d rows, want %d%s" % (what, got, n, why))


def server_down(t, env, tdir):
    ledger = os.path.join(tdir, "ledger")
    with pgserver.PgServer(log_dir=tdir) as pg:
        report(t, env, ledger, "a", ["sync", "--init", "--postgres", pg.conninfo])
        calls(t, env, tdir, "before", ledger, "a", 1, 1)
        log = os.path.join(tdir, "follow.err")
        with open(log, "wb") as f:
            agent = subprocess.Popen(sync_argv(env, pg.conninfo, ledger, "--follow", "--interval",
                                               "0.3"),
                                     env=dict(os.environ, **machine_env("a")),
                                     stdout=subprocess.DEVNULL, stderr=f)
        try:
            wait_rows(t, pg, 2, "the agent's first push")
            # One connection for the agent's life, not one a round.
            agent_backend = ("SELECT pid, backend_start FROM pg_stat_activity WHERE "
                             "backend_type = 'client backend' AND pid <> pg_backend_pid()")
            first = pg.psql(agent_backend)
            time.sleep(1.0)   # three rounds or more
            again = pg.psql(agent_backend)
            t.check(len(first) == 1 and first == again,
                    "the agent's connections: %r, then %r" % (first, again))
            pg.stop(crash=True)
            # The programs do not wait on the database: they only write the ledger.
            took = calls(t, env, tdir, "down", ledger, "a", 2, 1)
            t.check(took < 10, "curl under the shim took %.1fs with PostgreSQL down" % took)
            p = sync(t, env, pg.conninfo, ledger, "a", rc=2)
            t.check(b"wait in the ledger" in p.stderr, "one-shot sync, server down: %s"
                    % p.stderr[-300:])
            # A record committed late, behind the watermark (a spool folded late).
            line = "%d\topenai\tgpt-4.1\tlate\t100\t10\t0.0003\t-\n" % (time.time() - 120)
            put = subprocess.run([budgets.LEDGER_PUT, ledger], input=line.encode(),
                                 capture_output=True, timeout=30)
            t.check(put.returncode == 0, "ledger-put: %s" % put.stderr[-200:])
            time.sleep(1.0)   # a few intervals against a dead server
            t.check(agent.poll() is None, "the --follow agent exited %r with the server down"
                    % agent.returncode)
            pg.start()
            wait_rows(t, pg, 6, "after the restart")
            time.sleep(0.7)   # and nothing more comes
            recs = local_records(t, env, ledger, "a")
            check_once(t, pg, {"a": recs}, "after the restart")
        finally:
            agent.send_signal(signal.SIGTERM)
            try:
                rc = agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()
                rc = agent.wait()
        t.check(rc == 0, "the --follow agent exited %r on SIGTERM" % rc)
        text = itlib.read_text(log)
        t.check(text.count("retrying every") == 1, "the failure was not said once:\n%s" % text)
        t.check("reached again" in text, "the recovery was not said:\n%s" % text)
    return "# 6 records, 4 of them made or committed while PostgreSQL was down, each once"


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if not {OPENAI, ANTHROPIC} <= set(by_name):
        return []
    spec = [
        ("curl", "curl", "fleet-pg-three-machines", three_machines),
        ("curl", "curl", "fleet-pg-server-down", server_down),
    ]
    return [FleetTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
