"""charts.py - the chart-* integration tests: `--chart` and `watch` on a
ledger the shim wrote from curl's calls to the fake provider.

Owns: the bars of `summary --chart` and `daily --chart`, line for line,
against the numbers of `summary --format json` and the COST cells of the
table (the same amounts, marked the same way: "~" for an estimate, "?"
for an unknown cost, "$0.00" and an empty bar for blocked calls), in
UTF-8 (LC_ALL=C.UTF-8) and in ASCII (LC_ALL=C) at COLUMNS=60 and 120; and
`watch --chart` on a terminal (a pty): it starts before the ledger exists
and says so, shows the calls made while it runs in a later frame, and
ends with status 0 and the cursor shown again on SIGINT.
"""

import calendar
import fcntl
import json
import math
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time

import budgets
import itlib

OPENAI = "openai-chat"                       # gpt-4.1: blocked by the policy below
NO_USAGE = "openai-chat-stream-no-usage"     # gpt-4o-mini: cost unknown, estimated
ANTHROPIC = "anthropic-messages"             # claude-sonnet-4-5: priced
DEEPSEEK = "deepseek-chat"                   # priced
BLOCK_GPT41 = "model:gpt-4.1,day,usd=0,block"
FULL = "\u2588"
ESC = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class ChartTest(itlib.SuiteTest):
    def ex(self, name):
        return self.h.Exchange(self.cases[name], self.h.Mode("length", "identity"))


def make_calls(t, env, tdir, label, ledger, names):
    c = budgets.curl(t, env, tdir, label, [t.ex(n) for n in names], ledger)
    t.check(c.rc == 0, "%s: curl exit %d: %s" % (label, c.rc, budgets.tail(c.stderr)))


def report(t, env, args, locale="C.UTF-8", columns=None, rc=0):
    extra = {"LC_ALL": locale, "TZ": "UTC"}
    if columns:
        extra["COLUMNS"] = str(columns)
    return budgets.report(t, env, args, rc=rc, extra_env=extra)


def cost_cells(t, env, args):
    """The COST (USD) cell of each row of the summary table (piped: full
    width), by its first column; TOTAL's too."""
    lines = report(t, env, args).stdout.decode().splitlines()
    head = lines[0]
    start = head.index("  TOKENS") + len("  TOKENS") + 2
    end = head.index("COST (USD)") + len("COST (USD)")
    cells = {}
    for line in lines[1:]:
        if not line or line.startswith(("?:", "~:", "note:", "BLOCKED:", "MARKS:")):
            continue
        cells[line.split()[0]] = line[start:end].strip()
    return cells


def bar(value, largest, width, utf8):
    """The bar chart.h draws: eighths (UTF-8) or columns (ASCII) rounded
    half up, at least one for a spend above zero."""
    per = 8 if utf8 else 1
    units = 0
    if value > 0 and largest > 0:
        units = min(max(1, math.floor(value / largest * width * per + 0.5)), width * per)
    text = (FULL if utf8 else "#") * (units // per)
    if units % per:
        text += chr(0x2588 + 8 - units % per)
    return text + " " * (width - len(text))


def expected_chart(head, rows, total, width, utf8):
    """The lines of chart.h for rows [(label, amount, value)], a head and a
    total, when the width leaves room for a bar: the label column as wide
    as the widest label, else cut (down to 10) for a bar of 10, else the
    bar narrowed; a cut label ends in an ellipsis ("..." in ASCII)."""
    every = [head] + rows + [total]
    lw = max(len(r[0]) for r in every)
    aw = max(len(r[1]) for r in every)
    room, lmin = width - aw - 2, min(lw, 10)
    if room >= lw + 10:
        lw, bw = lw, room - lw
    elif room >= lmin + 10:
        lw, bw = room - 10, 10
    else:
        lw, bw = lmin, room - lmin
    mark = "\u2026" if utf8 else "..."
    largest = max(r[2] for r in rows)
    lines = []
    for i, (label, amount, value) in enumerate(every):
        if len(label) > lw:
            label = label[:lw - len(mark)] + mark
        drawn = bar(value, largest, bw, utf8) if 0 < i <= len(rows) else " " * bw
        lines.append("%s %s %s" % (label.ljust(lw), drawn, amount.rjust(aw)))
    return lines


def check_lines(t, text, width, what, ascii_only):
    for line in text.splitlines():
        t.check(len(line) <= width, "%s: a line of %d columns: %r" % (what, len(line), line))
        if ascii_only:
            t.check(all(ord(c) < 128 for c in line), "%s: not ASCII: %r" % (what, line))


def chart_summary(t, env, tdir):
    ledger = os.path.join(tdir, "ledger")
    budgets.budget_set(t, env, ledger, "no-gpt41", BLOCK_GPT41)
    make_calls(t, env, tdir, "calls", ledger,
               [OPENAI, OPENAI, ANTHROPIC, ANTHROPIC, DEEPSEEK, NO_USAGE])
    base = ["summary", "--by", "model", "--ledger", ledger, "--timezone", "UTC"]
    doc = json.loads(report(t, env, base + ["--format", "json"]).stdout)
    cells = cost_cells(t, env, base)
    rows = [(g["model"], cells[g["model"]], (g["cost_usd"] or 0) + g["estimated_cost_usd"])
            for g in doc["groups"]]
    total = ("TOTAL", cells["TOTAL"], 0)
    # The ledger holds what the chart must mark: a blocked model with no
    # spend, an estimate, a measured cost.
    t.check(("gpt-4.1", "$0.00") in [r[:2] for r in rows], "no blocked row: %r" % rows)
    t.check(any(r[1].startswith("? (1?) + ~$") for r in rows), "no estimated row: %r" % rows)
    t.check(len(rows) == 4, "rows: %r" % rows)
    for locale, utf8 in (("C.UTF-8", True), ("C", False)):
        for width in (60, 120):
            what = "--chart --by model LC_ALL=%s COLUMNS=%d" % (locale, width)
            out = report(t, env, base + ["--chart"], locale, width).stdout.decode()
            check_lines(t, out, width, what, not utf8)
            want = expected_chart(("MODEL", "COST (USD)", 0), rows, total, width, utf8)
            got = out.splitlines()
            t.check(got[:len(want)] == want, "%s:\n%s\nexpected:\n%s" % (
                what, "\n".join(got), "\n".join(want)))
            legends = "\n".join(got[len(want):])
            t.check(legends.startswith("?: not known;") and "\n~: includes estimates" in legends,
                    "%s: the legends: %r" % (what, legends))
    # A view: one day, today's, its bar the whole bar column.
    out = report(t, env, ["daily", "--chart", "--ledger", ledger, "--timezone", "UTC"],
                 "C", 60).stdout.decode().splitlines()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    spent = (doc["total"]["cost_usd"] or 0) + doc["total"]["estimated_cost_usd"]
    want = expected_chart(("DAY", "COST (USD)", 0), [(today, cells["TOTAL"], spent)], total, 60,
                          False)
    t.check(out[:3] == want, "daily --chart:\n%s\nexpected:\n%s" % ("\n".join(out),
                                                                     "\n".join(want)))
    # --sort, --limit: the largest first, TOTAL of them all, a note.
    out = report(t, env, base + ["--chart", "--sort", "cost", "--limit", "1"], "C",
                 80).stdout.decode().splitlines()
    t.check(out[1].startswith("claude-sonnet-4-5") and out[2].startswith("TOTAL")
            and out[2].endswith(cells["TOTAL"]) and any("--limit 1: 3 more rows" in l for l in out),
            "--chart --sort cost --limit 1: %r" % out)
    # Not for machines.
    for fmt in ("json", "csv"):
        p = report(t, env, base + ["--chart", "--format", fmt], rc=2)
        t.check(b"--chart" in p.stderr and p.stdout == b"",
                "--chart --format %s: %r" % (fmt, p.stderr))
    return "# 4 models charted at 60 and 120 columns, UTF-8 and ASCII"


class Pty:
    """A program on a pseudo-terminal of cols x rows, its output kept."""

    def __init__(self, argv, env, cols, rows):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.out = b""

    def read(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if select.select([self.fd], [], [], max(0, deadline - time.monotonic()))[0]:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:   # EIO: the program is gone
                    return
                if not data:
                    return
                self.out += data

    def frames(self):
        """The frames drawn so far, without their escapes."""
        text = self.out.decode(errors="replace")
        return [ESC.sub("", f).replace("\r\n", "\n") for f in text.split("\x1b[H")[1:]]

    def wait_for(self, t, pred, seconds, what):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.read(0.2)
            for i, f in enumerate(self.frames()):
                if pred(f):
                    return i
        raise t.h.Failure("%s: not in %ds; last frame: %r"
                          % (what, seconds, (self.frames() or [""])[-1]))

    def end(self, timeout=10):
        """The exit status, or None after killing a program that did not
        end within timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read(0.2)
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() >= deadline:
                break
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        return None


def total_line(frame):
    return [l for l in frame.splitlines() if l.startswith("TOTAL ")]


def chart_watch(t, env, tdir):
    ledger = os.path.join(tdir, "ledger")      # made by the first call, after watch starts
    cols = 100
    e = dict(os.environ, LC_ALL="C.UTF-8", TZ="UTC", TERM="xterm")
    e.pop("TOKENGUARD_BUDGETS", None)
    w = Pty([env.report, "watch", "--chart", "--interval", "0.3", "--ledger", ledger,
             "--timezone", "UTC"], e, cols, 30)
    try:
        t0 = time.monotonic()
        w.wait_for(t, lambda f: "no ledger yet" in f and f.startswith("watch summary: ")
                   and total_line(f) and total_line(f)[0].endswith(" $0.00"), 10,
                   "a frame saying there is no ledger yet, TOTAL $0.00")
        make_calls(t, env, tdir, "first", ledger, [ANTHROPIC, ANTHROPIC])
        first = cost_cells(t, env, ["summary", "--today", "--by", "day", "--ledger", ledger,
                                    "--timezone", "UTC"])["TOTAL"]
        n1 = w.wait_for(t, lambda f: total_line(f) == ["TOTAL" + " " * (cols - 5 - len(first))
                                                        + first], 10,
                        "the total of the first calls (%s)" % first)
        make_calls(t, env, tdir, "second", ledger, [DEEPSEEK, ANTHROPIC])
        second = cost_cells(t, env, ["summary", "--today", "--by", "day", "--ledger", ledger,
                                     "--timezone", "UTC"])["TOTAL"]
        t.check(second != first, "the second calls cost nothing: %s" % second)
        n2 = w.wait_for(t, lambda f: total_line(f) and total_line(f)[0].endswith(" " + second),
                        10, "the total after more calls (%s)" % second)
        t.check(n2 > n1, "the new total in frame %d, the first in %d" % (n2, n1))
        took = time.monotonic() - t0
        ended = time.time()
        os.kill(w.pid, signal.SIGINT)
        rc = w.end()
    except BaseException:
        w.end(0)
        raise
    t.check(rc == 0, "watch exited %r on SIGINT" % rc)
    t.check(w.out.startswith(b"\x1b[?25l\x1b[H\x1b[2J"),
            "no hidden cursor and clear: %r" % w.out[:40])
    t.check(w.out.endswith(b"\x1b[?25h"), "the cursor is not shown again: %r" % w.out[-40:])
    frames = w.frames()
    for f in frames:
        lines = f.rstrip("\n").split("\n")
        t.check(len(lines) <= 29, "a frame of %d lines on 30 rows" % len(lines))
        t.check(all(len(l) <= cols for l in lines), "a line wider than %d: %r" % (cols, lines))
    today = time.strftime("%Y-%m-%d", time.gmtime())
    last = frames[-1].splitlines()
    # The time of the frame, in the report's zone (UTC here).
    m = re.match(r"watch summary: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+00:00 UTC", last[0])
    shown = m and calendar.timegm(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
    t.check(m and abs(shown - ended) < 5, "the last frame's time %r, stopped at %s" % (
        last[0], time.strftime("%H:%M:%S", time.gmtime(ended))))
    t.check(last[0].startswith("watch summary: " + today + " ") and "UTC, every 0.3s" in last[0]
            and last[1].startswith("DAY ") and last[2].startswith(today + " " + FULL),
            "the last frame: %r" % last[:3])
    # Piped: frames as the view writes them, each followed by a blank line.
    p = subprocess.Popen([env.report, "watch", "--chart", "--interval", "0.2", "--ledger", ledger,
                          "--timezone", "UTC"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=dict(e, COLUMNS="70"))
    time.sleep(1.0)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(10)
    piped = out.decode().split("\n\n")
    t.check(p.returncode == 0 and err == b"", "piped watch: exit %r: %r" % (p.returncode, err))
    t.check(len(piped) >= 3 and piped[-1] == "", "piped watch: %r" % out[-300:])
    for f in piped[:-1]:
        lines = f.split("\n")
        t.check(lines[0].startswith("watch summary: ") and "TOTAL" + " " * (70 - 5 - len(second))
                + second in lines and all(len(l) <= 70 for l in lines), "a piped frame: %r" % f)
    return "# %d frames on a pty in %.1fs (totals %s then %s), %d piped" % (
        len(frames), took, first, second, len(piped) - 1)


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if not {OPENAI, NO_USAGE, ANTHROPIC, DEEPSEEK} <= set(by_name):
        return []
    spec = [
        ("curl", "curl", "chart-summary", chart_summary),
        ("curl", "curl", "chart-watch", chart_watch),
    ]
    return [ChartTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
