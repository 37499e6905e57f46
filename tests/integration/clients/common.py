"""common.py - what every Python test client shares: its command line and
the shape of its output file.

Command line (all clients, curl.sh included):
  CLIENT [--compressed] [--parallel] OUT HTTPVER EXCHANGE [--next EXCHANGE]...
  EXCHANGE = METHOD URL BODYFILE ["Name: value"]...
HTTPVER is 1.1 or 2; BODYFILE is "-" for no body.  The CA to trust is
$SSL_CERT_FILE.

OUT gets, per exchange, the status and the body exactly as the client's
library handed it over (decoded where the library decodes), so comparing two
runs byte for byte shows whether anything between the library and the
network changed what the program saw.
"""

import os
import sys


class Exchange:
    def __init__(self, method, url, body_file, headers):
        self.method = method
        self.url = url
        self.body = None
        if body_file != "-":
            with open(body_file, "rb") as f:
                self.body = f.read()
        self.headers = {}
        for h in headers:
            name, value = h.split(":", 1)
            self.headers[name.strip()] = value.strip()


class Args:
    def __init__(self, argv):
        self.compressed = self.parallel = False
        while argv and argv[0].startswith("--"):
            flag = argv.pop(0)
            if flag == "--compressed":
                self.compressed = True
            elif flag == "--parallel":
                self.parallel = True
            else:
                sys.exit("unknown option " + flag)
        if len(argv) < 5:
            sys.exit(__doc__)
        self.out, self.http = argv[0], argv[1]
        self.cafile = os.environ.get("SSL_CERT_FILE")
        self.exchanges = []
        group = []
        for a in argv[2:] + ["--next"]:
            if a == "--next":
                self.exchanges.append(Exchange(group[0], group[1], group[2], group[3:]))
                group = []
            else:
                group.append(a)


class Output:
    """Collects what the program saw; written once at the end so a crash
    leaves no half file that could compare equal by accident."""

    def __init__(self, path):
        self.path = path
        self.parts = []
        self.failed = False

    def add(self, status, body, error=None):
        head = "== status %s, %d bytes\n" % (status, len(body))
        self.parts.append(head.encode() + bytes(body) + b"\n")
        if error is not None:
            self.parts.append(b"== error " + type(error).__name__.encode() + b"\n")
            self.failed = True

    def close(self):
        with open(self.path, "wb") as f:
            f.write(b"".join(self.parts))
        return 1 if self.failed else 0
