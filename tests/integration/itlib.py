"""itlib.py - what the suites of special integration tests (budgets.py,
concurrency.py) share.

Owns: the test object run_tests.py runs (client column, label, body), the
records read back from a test's ledger, curl config files with one option
group per transfer, waiting on a program with a time limit, and reading what
a program left in its output files.  Every function takes the test (t) whose
harness (t.h: run_tests itself) it checks with, so that all of them raise
the harness's one Failure class.
"""

import json
import subprocess


class Named:
    """The client column of a test line, and the program the ledger names."""

    def __init__(self, name, process):
        self.name, self.process = name, process


class SuiteTest:
    """One test: body(t, env, tdir) run in a directory of its own.  A suite
    subclasses it to add how it builds its exchanges (ex)."""

    def __init__(self, h, cases, name, process, label, body):
        self.h, self.cases = h, cases
        self.client = Named(name, process)
        self.label, self.body = label, body

    def run(self, env):
        tdir = env.new_dir(self.client.name + "-" + self.label)
        return self.body(self, env, tdir) or ""

    def check(self, cond, msg):
        self.h.check(cond, msg)


def client(t, name):
    """The client called name, for a test that runs it by hand."""
    for c in t.h.all_clients():
        if c.name == name:
            return c
    raise t.h.Failure("no client %s" % name)


def tg_lines(stderr):
    """The lines the shim wrote to a program's stderr (bytes)."""
    return [l.decode(errors="replace") for l in stderr.splitlines() if l.startswith(b"tokenguard: ")]


def records(t, env, ledger):
    """The ledger's records, after checking it holds no secret."""
    recs = t.h.read_records(env, ledger)
    t.h.check_no_secrets(ledger)
    return recs


def write_curl_config(path, env, tag, exchanges, http, outputs, options=(), extra=()):
    """Writes the curl config (curl -K path) of exchanges under run tag, one
    option group per transfer (--next): outputs(i) are the option lines
    saying where transfer i's output goes; each transfer writes "i CODE
    VERSION" on stdout.  HTTP/1.1 when http is "1.1", else curl's choice.
    options apply to the whole run, extra to every transfer."""
    lines = ["silent", "show-error", "no-progress-meter"] + list(options)
    for i, ex in enumerate(exchanges):
        argv = ex.argv(tag)
        if i:
            lines.append("next")
        lines += ['cacert = "%s"' % env.ca, 'request = "%s"' % argv[0], 'url = "%s"' % argv[1]]
        lines += outputs(i)
        lines.append('write-out = "%d %%{http_code} %%{http_version}\\n"' % i)
        if http == "1.1":
            lines.append("http1.1")
        lines += list(extra)
        if argv[2] != "-":
            lines.append('data-binary = "@%s"' % argv[2])
        lines += ['header = "%s"' % hd for hd in argv[3:]]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def wait_or_kill(t, proc, timeout, failure):
    """Waits for proc; one still running after timeout seconds is killed
    and fails the test with the message failure."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise t.h.Failure(failure)


def read_text(path):
    """A program's output file as text, whatever bytes it wrote."""
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def read_json_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
