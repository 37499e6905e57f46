#!/usr/bin/python3
"""conc_client.py - a Python program that makes LLM calls the ways real
programs do at once: from many threads, from forked children, stopped
mid-stream, or giving up on an HTTP/2 stream.  tests/integration/
concurrency.py runs it under libtokenguard.so and checks the ledger.

Usage: conc_client.py MODE PLAN OUT
  PLAN  JSON file; an exchange is the harness's argv form
        [METHOD, URL, BODYFILE, "Name: value", ...] (BODYFILE "-": none)
  OUT   gets one JSON line per exchange: who made it (pid included), status,
        length and SHA-256 of the body as the program read it, error

Modes and their PLAN:
  threads  {"workers": [[ex, ...], ...]}: one thread per list, started
           together, each with its own keep-alive connections
  fork     {"parent": [ex, ex, ex...], "children": [[ex...], ...],
            "pool": N, "inheritor": [ex...]}: the parent makes parent[0]
           on a keep-alive connection, then forks a multiprocessing Pool of
           N workers for the children's lists and one Process that inherits
           the parent's open connection without touching it (it makes its
           own calls on a new one); meanwhile the parent makes parent[1] on
           its connection, and the rest after every child is gone
  hold     {"before": [ex...], "stream": ex}: makes the exchanges before,
           starts the stream, reads its first SSE event, prints "streaming"
           on stdout and waits on stdin for ever (the test kills it)
  h2reset  {"cut": ex, "after": ex}: one HTTP/2 connection (the h2
           package): reads cut's first SSE event, resets that stream
           (RST_STREAM CANCEL), then makes after on the same connection
  abandon  {"cut": ex, "after": ex}: httpx with http2=True: closes cut's
           streaming response after its first SSE event (httpx forgets the
           stream without resetting it), then makes after on the same client

Only the standard library, h2 and httpx (Debian's /usr/bin/python3).
"""

import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import urllib.parse

sys.dont_write_bytecode = True
import clientlib  # noqa: E402  (after the line above: no bytecode left in the tree)

TIMEOUT = 60


def parse(ex):
    method, url, body, headers = clientlib.read_exchange(ex)
    return method, urllib.parse.urlsplit(url), body, headers


def target(u):
    return u.path + ("?" + u.query if u.query else "")


def result(who, index, status, body, error=None):
    return {"who": who, "pid": os.getpid(), "index": index, "status": status,
            "len": len(body), "sha256": hashlib.sha256(body).hexdigest(),
            "error": None if error is None else "%s: %s" % (type(error).__name__, error)}


def exchange(conns, ctx, ex, who, index):
    """One exchange on the caller's keep-alive connection to the URL's host
    (opened on first use); the connection is dropped when it cannot carry
    another request."""
    method, u, body, headers = parse(ex)
    key = u.netloc
    conn = conns.get(key)
    if conn is None:
        conn = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx,
                                           timeout=TIMEOUT)
        conns[key] = conn
    status, data = None, b""
    try:
        conn.request(method, target(u), body=body, headers=dict(headers))
        r = conn.getresponse()
        status = r.status
        data = r.read()
        if r.will_close:
            conns.pop(key).close()
    except Exception as e:  # reported in OUT; the test decides
        conns.pop(key, None)
        conn.close()
        return result(who, index, status, data, e)
    return result(who, index, status, data)


def close_all(conns):
    for c in conns.values():
        c.close()
    conns.clear()


# ---------------------------------------------------------------- threads

def run_threads(plan, ctx):
    lists = plan["workers"]
    out = []
    lock = threading.Lock()
    # Every thread waits for the others so their calls really overlap.
    start = threading.Barrier(len(lists))

    def worker(w, exs):
        conns = {}
        mine = []
        start.wait()
        try:
            for i, ex in enumerate(exs):
                mine.append(exchange(conns, ctx, ex, "thread%d" % w, i))
        finally:
            close_all(conns)
            with lock:
                out.extend(mine)

    threads = [threading.Thread(target=worker, args=(w, exs)) for w, exs in enumerate(lists)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


# ---------------------------------------------------------------- fork

FORK = {}  # set by the parent before forking; children read their copy


def pool_task(job):
    k, exs = job
    conns = {}
    try:
        return [exchange(conns, FORK["ctx"], ex, "child%d" % k, i) for i, ex in enumerate(exs)]
    finally:
        close_all(conns)


def inheritor_task(queue, exs, inherited):
    # Holds the parent's open connection (inherited) and must not disturb
    # it: the parent's exchanges on it are the parent's to record.
    assert inherited
    conns = {}
    try:
        queue.put([exchange(conns, FORK["ctx"], ex, "inheritor", i) for i, ex in enumerate(exs)])
    finally:
        close_all(conns)


def run_fork(plan, ctx):
    import multiprocessing
    mp = multiprocessing.get_context("fork")
    FORK["ctx"] = ctx
    conns = {}
    parent = plan["parent"]
    out = [exchange(conns, ctx, parent[0], "parent", 0)]
    queue = mp.SimpleQueue()
    heir = mp.Process(target=inheritor_task, args=(queue, plan["inheritor"], conns))
    heir.start()
    pool = mp.Pool(plan["pool"])
    pending = pool.map_async(pool_task, list(enumerate(plan["children"])))
    out.append(exchange(conns, ctx, parent[1], "parent", 1))
    for got in pending.get(TIMEOUT):
        out.extend(got)
    pool.close()
    pool.join()
    out.extend(queue.get())
    heir.join(TIMEOUT)
    if heir.exitcode != 0:
        out.append(result("inheritor", -1, None, b"", RuntimeError("exit %s" % heir.exitcode)))
    for i, ex in enumerate(parent[2:], 2):
        out.append(exchange(conns, ctx, ex, "parent", i))
    close_all(conns)
    return out


# ---------------------------------------------------------------- hold

def first_event(read):
    """Reads until the first SSE event is complete; returns what was read."""
    buf = b""
    while b"\n\n" not in buf and b"\r\n\r\n" not in buf:
        piece = read()
        if not piece:
            raise EOFError("the stream ended before its first event")
        buf += piece
    return buf


def run_hold(plan, ctx, out_path):
    conns = {}
    out = [exchange(conns, ctx, ex, "main", i) for i, ex in enumerate(plan["before"])]
    write_out(out_path, out)
    method, u, body, headers = parse(plan["stream"])
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx, timeout=TIMEOUT)
    conn.request(method, target(u), body=body, headers=dict(headers))
    r = conn.getresponse()
    first_event(lambda: r.read1(65536))
    sys.stdout.write("streaming\n")
    sys.stdout.flush()
    sys.stdin.read()
    return None


# ---------------------------------------------------------------- HTTP/2

class H2Client:
    """The smallest HTTP/2 client that can reset a stream on purpose."""

    def __init__(self, ctx, u):
        import h2.config
        import h2.connection
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection((u.hostname, u.port or 443), timeout=TIMEOUT)
        self.sock = ctx.wrap_socket(raw, server_hostname=u.hostname)
        if self.sock.selected_alpn_protocol() != "h2":
            raise RuntimeError("the server did not agree to HTTP/2")
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.events = []

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, ex):
        method, u, body, headers = parse(ex)
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "https"), (":authority", u.netloc),
                (":path", target(u))] + [(k.lower(), v) for k, v in headers]
        if body:
            hdrs.append(("content-length", str(len(body))))
        self.conn.send_headers(sid, hdrs, end_stream=not body)
        if body:
            # Request bodies here are small: within the initial window.
            self.conn.send_data(sid, body, end_stream=True)
        self.flush()
        return sid

    def next_event(self, sid):
        import h2.events
        while True:
            for i, ev in enumerate(self.events):
                if getattr(ev, "stream_id", None) == sid:
                    return self.events.pop(i)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the server closed the connection")
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                self.events.append(ev)
            self.flush()

    def read(self, sid, until_first_event=False):
        """(status, body): the whole response, or up to its first SSE event."""
        import h2.events
        status, body = None, b""
        while True:
            ev = self.next_event(sid)
            if isinstance(ev, h2.events.ResponseReceived):
                status = int(dict(ev.headers)[":status"])
            elif isinstance(ev, h2.events.DataReceived):
                body += ev.data
                if until_first_event and (b"\n\n" in body or b"\r\n\r\n" in body):
                    return status, body
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                return status, body

    def reset(self, sid):
        import h2.errors
        self.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        self.flush()

    def close(self):
        self.conn.close_connection()
        self.flush()
        self.sock.close()


def run_h2reset(plan, ctx):
    _m, u, _b, _h = parse(plan["cut"])
    c = H2Client(ctx, u)
    sid = c.request(plan["cut"])
    status, body = c.read(sid, until_first_event=True)
    c.reset(sid)
    out = [result("cut", 0, status, body)]
    sid = c.request(plan["after"])
    status, body = c.read(sid)
    out.append(result("after", 1, status, body))
    c.close()
    return out


def run_abandon(plan, ctx):
    import httpx
    out = []
    with httpx.Client(http2=True, verify=ctx, timeout=TIMEOUT) as client:
        method, u, body, headers = parse(plan["cut"])
        with client.stream(method, u.geturl(), content=body, headers=headers) as r:
            it = r.iter_raw()
            got = first_event(lambda: next(it, b""))
            out.append(result("cut", 0, r.status_code, got))
        method, u, body, headers = parse(plan["after"])
        r = client.request(method, u.geturl(), content=body, headers=headers)
        out.append(result("after", 1, r.status_code, r.content))
        out.append({"who": "after", "http_version": r.http_version})
    return out


# ---------------------------------------------------------------- main

def write_out(path, results):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for r in results:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    os.rename(tmp, path)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    mode, plan_path, out_path = argv
    with open(plan_path) as f:
        plan = json.load(f)
    ctx = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))
    if mode == "threads":
        out = run_threads(plan, ctx)
    elif mode == "fork":
        out = run_fork(plan, ctx)
    elif mode == "hold":
        out = run_hold(plan, ctx, out_path)
    elif mode == "h2reset":
        out = run_h2reset(plan, ctx)
    elif mode == "abandon":
        out = run_abandon(plan, ctx)
    else:
        sys.exit("unknown mode " + mode)
    if out is not None:
        write_out(out_path, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
