#!/usr/bin/python3
"""table.py - turns the benchmark's lines into its one table and
bench/results.json, and results.json into Markdown.

Owns: the line convention every bench/ script follows with `--lines`, and
whether a figure met its target.  One figure per line:

    name value unit [op target]

name has no spaces; value is a number, or `-` when the figure was not
measured (its `met` is then null); op is one of <= < >= > == and target a
number.  A line starting with `!` is a note standing for a figure that could
not be produced at all (a script not there yet, or one that failed): it
becomes an entry whose name is the note and whose other fields are null.

  table.py [--json FILE] [LINES_FILE...]   table on stdout (stdin if no file)
  table.py --markdown FILE                 results.json as a Markdown table
"""
import json
import math
import operator
import sys

OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}


def number(text, where):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        x = float("nan")
    if not math.isfinite(x):
        sys.exit("table.py: %s: %r is not a number" % (where, text))
    return x


def parse(line, where):
    """One line -> {"name", "value", "unit", "target", "met"}."""
    if line.startswith("!"):
        return {"name": line[1:].strip(), "value": None, "unit": None, "target": None, "met": None}
    f = line.split()
    if len(f) not in (3, 5) or (len(f) == 5 and f[3] not in OPS):
        sys.exit("table.py: %s: not `name value unit [op target]`: %r" % (where, line))
    value = None if f[1] == "-" else number(f[1], where)
    target = "%s %s" % (f[3], f[4]) if len(f) == 5 else None
    met = None
    if target is not None and value is not None:
        met = OPS[f[3]](value, number(f[4], where))
    return {"name": f[0], "value": value, "unit": f[2], "target": target, "met": met}


def show(entry):
    """The value, target and met columns as the table prints them."""
    if entry["unit"] is None:
        return "", "", ""
    value = "not measured" if entry["value"] is None else str(entry["value"])
    met = {True: "yes", False: "NO", None: ""}[entry["met"]]
    return value, entry["target"] or "", met


def text_table(entries):
    head = ("name", "value", "unit", "target", "met")
    rows = [(e["name"], show(e)[0], e["unit"] or "") + show(e)[1:] for e in entries if e["unit"] is not None]
    w = [max(len(r[i]) for r in [head] + rows) for i in range(5)]
    out = []
    for e in [None] + entries:
        if e is not None and e["unit"] is None:
            out.append("# " + e["name"])  # a note: its text is the row
            continue
        r = head if e is None else (e["name"], show(e)[0], e["unit"]) + show(e)[1:]
        out.append("%-*s  %*s  %-*s  %-*s  %s" % (w[0], r[0], w[1], r[1], w[2], r[2], w[3], r[3], r[4]))
    return "\n".join(out)


def markdown(entries):
    out = ["| name | value | unit | target | met |", "|---|---:|---|---|---|"]
    for e in entries:
        value, target, met = show(e)
        out.append("| %s | %s | %s | %s | %s |" % (e["name"], value, e["unit"] or "", target, met))
    return "\n".join(out)


def main(argv):
    if len(argv) == 3 and argv[1] == "--markdown":
        with open(argv[2]) as f:
            print(markdown(json.load(f)))
        return
    json_path = None
    files = argv[1:]
    if files[:1] == ["--json"]:
        if len(files) < 2:
            sys.exit(__doc__)
        json_path, files = files[1], files[2:]
    entries = []
    for path in files or ["-"]:
        f = sys.stdin if path == "-" else open(path)
        for n, line in enumerate(f, 1):
            if line.strip():
                entries.append(parse(line.strip(), "%s:%d" % (path, n)))
    print(text_table(entries))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(entries, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
