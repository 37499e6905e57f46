#!/usr/bin/python3
"""budget_client.py - a Python program that makes LLM calls the way an
application using requests or httpx does, reporting everything its library
handed back: status, headers, body, and any exception.  tests/integration/
budgets.py runs it under libtokenguard.so to see what a refused call looks
like to a program, and to keep one process (one connection) alive while
other processes spend against the same budget.

Usage: budget_client.py LIB PLAN OUT [--step]
  LIB   requests (HTTP/1.1), httpx-h1, or httpx-h2 (http2=True)
  PLAN  JSON list of exchanges in the harness's argv form
        [METHOD, URL, BODYFILE, "Name: value", ...] (BODYFILE "-": none)
  OUT   gets one JSON line per exchange: index, pid, status, http_version,
        headers (names lowercased), body (text), error (exception type and
        message, or null), seconds
  --step  waits for a line on stdin before each exchange and prints
        "done N" on stdout once exchange N is in OUT, so the test can act
        (spend from another process, reset a budget) between exchanges

One Session or Client serves every exchange, so they share a connection
where the library keeps one.  Every request has a timeout: a refusal the
library cannot read must show up as an error, never as a hang.
"""

import json
import os
import ssl
import sys
import time

sys.dont_write_bytecode = True
import clientlib  # noqa: E402  (after the line above: no bytecode left in the tree)

TIMEOUT = 20


def parse(ex):
    method, url, body, headers = clientlib.read_exchange(ex)
    return method, url, body, dict(headers)


class RequestsLib:
    def __init__(self, cafile):
        import requests
        self.session = requests.Session()
        self.cafile = cafile

    def call(self, method, url, body, headers):
        r = self.session.request(method, url, data=body, headers=headers,
                                 verify=self.cafile, timeout=TIMEOUT)
        version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(r.raw.version, str(r.raw.version))
        return r.status_code, version, r.headers, r.content

    def close(self):
        self.session.close()


class HttpxLib:
    def __init__(self, cafile, http2):
        import httpx
        ctx = ssl.create_default_context(cafile=cafile)
        self.client = httpx.Client(http2=http2, verify=ctx, timeout=TIMEOUT)

    def call(self, method, url, body, headers):
        r = self.client.request(method, url, content=body, headers=headers)
        return r.status_code, r.http_version, r.headers, r.content

    def close(self):
        self.client.close()


def make_lib(name, cafile):
    if name == "requests":
        return RequestsLib(cafile)
    if name in ("httpx-h1", "httpx-h2"):
        return HttpxLib(cafile, name == "httpx-h2")
    sys.exit("budget_client.py: unknown LIB " + name)


def main(argv):
    step = "--step" in argv
    argv = [a for a in argv if a != "--step"]
    if len(argv) != 3:
        sys.exit(__doc__)
    lib_name, plan_path, out_path = argv
    with open(plan_path) as f:
        plan = json.load(f)
    lib = make_lib(lib_name, os.environ.get("SSL_CERT_FILE"))
    failed = False
    with open(out_path, "w") as out:
        for i, ex in enumerate(plan):
            if step and not sys.stdin.readline():
                break
            res = {"index": i, "pid": os.getpid(), "status": None, "http_version": None,
                   "headers": {}, "body": None, "error": None}
            start = time.monotonic()
            try:
                status, version, headers, body = lib.call(*parse(ex))
                res.update(status=status, http_version=version,
                           headers={k.lower(): v for k, v in headers.items()},
                           body=body.decode("utf-8", errors="replace"))
            except Exception as e:  # the test reports whatever the library raised
                res["error"] = "%s: %s" % (type(e).__name__, e)
                failed = True
            res["seconds"] = round(time.monotonic() - start, 3)
            out.write(json.dumps(res) + "\n")
            out.flush()
            if step:
                print("done %d" % i, flush=True)
    lib.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
