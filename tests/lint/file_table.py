#!/usr/bin/env python3
"""file_table.py - every product source file has its row in the README.

The README's design notes carry a table of the files of shim/, ledger/ and
tools/ and what each owns (a row `dir/name.c`, or `dir/name.{c,h}` for a
pair).  A file added, moved or removed without its row is a finding: the
table is where a new maintainer looks first.  Exit 1 with the rows missing
or stale, else 0."""
import glob
import os
import re
import sys

ROW = re.compile(r"^\| `((?:shim|ledger|tools)/[^`]+)` \|", re.M)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    os.chdir(root)
    with open("README.md", encoding="utf-8") as f:
        readme = f.read()
    listed = set()
    for name in ROW.findall(readme):
        pair = re.match(r"(.*)\.\{c,h\}$", name)
        listed |= {pair.group(1) + ".c", pair.group(1) + ".h"} if pair else {name}
    files = {f for d in ("shim", "ledger", "tools") for f in glob.glob(d + "/*.[ch]")}
    missing = sorted(files - listed)
    stale = sorted(f for f in listed - files if not os.path.exists(f))
    for f in missing:
        print("README.md: no row for %s in the table of files (Design notes)" % f)
    for f in stale:
        print("README.md: a row for %s, which does not exist" % f)
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
