#!/usr/bin/python3
"""fake_provider.py - a local TLS server that answers like the LLM providers.

Owns: serving the recorded exchanges of a cases file over HTTP/1.1 and
HTTP/2 (ALPN), in every delivery shape the shim has to survive, and a log of
what each request looked like when it arrived.

Routing: host (Host or :authority, port dropped) + path without query, and
the x-fake-case header when several cases share that pair; without it, the
first successful uncut case whose stream flag matches the request's.

Delivery is chosen by the request, so one server serves a whole test matrix:
  x-fake-transfer: length | chunked | close   (HTTP/1.1 framing; on HTTP/2
                   length sends content-length, the others leave it out)
  x-fake-encoding: identity | gzip | deflate | br | zstd  (obeyed unless the
                   case's file is already encoded: "encoded": "gzip")
  x-fake-split: N       body leaves in N-byte writes, each its own TLS record
  x-fake-coalesce: 1    headers and the first body piece (the first SSE event
                        when the body is an identity event stream) in ONE write
  x-fake-cut: N         only the first N body bytes, then the connection is
                        dropped without close_notify (HTTP/1.1) or the stream
                        is reset (HTTP/2).  A case with "cut": true is cut
                        after its whole body, which then never ends (no last
                        chunk; a content-length twice the body).
  x-fake-delay-ms: N    wait before the response head
  x-fake-stall-ms: N    wait after the first body piece (the coalesced one, or
                        the first split piece): a stream that stops mid-way,
                        long enough for a client to give up or be killed

Encodings are deterministic (gzip mtime 0, fixed levels) so a client that
does not decode still prints the same bytes on every run; the test driver
imports encode() and frame_chunked() to know what those bytes are.

Run with Debian's /usr/bin/python3, which has h2, brotli and zstandard.
"""

import argparse
import asyncio
import gzip
import http
import json
import os
import signal
import socket
import ssl
import sys
import zlib

HOSTS = (
    "api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com",
    "myres.openai.azure.com", "bedrock-runtime.us-east-1.amazonaws.com",
    "api.cohere.com", "api.mistral.ai", "api.groq.com", "api.x.ai",
    "api.together.xyz", "api.fireworks.ai", "api.perplexity.ai",
    "api.deepseek.com", "openrouter.ai", "localhost", "127.0.0.1",
)

ENCODINGS = ("identity", "gzip", "deflate", "br", "zstd")
TRANSFERS = ("length", "chunked", "close")
CHUNK = 8192
SLEEP_S = 0.002
# Sleeping after every piece of a 1-byte split of a large body would take
# minutes; past this many pieces they still leave as separate records.
MAX_SLEEPS = 200


def encode(body, encoding):
    if encoding == "identity":
        return body
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=6, mtime=0)
    if encoding == "deflate":
        # HTTP "deflate" is the zlib format (RFC 9110 8.4.1.2), not raw deflate.
        return zlib.compress(body, 6)
    if encoding == "br":
        import brotli
        return brotli.compress(body, quality=5)
    if encoding == "zstd":
        import zstandard
        return zstandard.ZstdCompressor(level=3).compress(body)
    raise ValueError("unknown encoding " + encoding)


def event_end(body, start=0):
    """End of the SSE event starting at start (LF or CRLF framing), or -1."""
    ends = [i + len(sep) for sep in (b"\n\n", b"\r\n\r\n")
            for i in (body.find(sep, start),) if i >= 0]
    return min(ends) if ends else -1


def chunk_bounds(body, is_sse):
    """Chunks as a server would flush them: one per event for an
    uncompressed event stream, fixed blocks otherwise."""
    if is_sse:
        out, start = [], 0
        while start < len(body):
            end = event_end(body, start)
            end = len(body) if end < 0 else end
            out.append(body[start:end])
            start = end
        return out
    return [body[i:i + CHUNK] for i in range(0, len(body), CHUNK)]


def frame_chunked(body, is_sse, last=True):
    out = bytearray()
    for piece in chunk_bounds(body, is_sse):
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    if last:
        out += b"0\r\n\r\n"
    return bytes(out)


def load_cases(paths):
    cases = []
    for path in paths:
        base = os.path.dirname(os.path.abspath(path))
        with open(path, "rb") as f:
            for c in json.load(f):
                c = dict(c)
                with open(os.path.join(base, c["response"]), "rb") as b:
                    c["response_bytes"] = b.read()
                cases.append(c)
    return cases


def request_json(body):
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    return doc if isinstance(doc, dict) else {}


class Options:
    """Delivery options of one request, from its x-fake-* headers."""

    def __init__(self, headers):
        get = headers.get
        self.transfer = get("x-fake-transfer", "length")
        self.encoding = get("x-fake-encoding", "identity")
        self.split = int(get("x-fake-split", "0"))
        self.cut = int(get("x-fake-cut", "-1"))
        self.delay_ms = int(get("x-fake-delay-ms", "0"))
        self.stall_ms = int(get("x-fake-stall-ms", "0"))
        self.coalesce = get("x-fake-coalesce", "0") not in ("", "0")
        if self.transfer not in TRANSFERS or self.encoding not in ENCODINGS:
            raise ValueError("bad x-fake-transfer or x-fake-encoding")


class Server:
    def __init__(self, cases, log):
        self.cases = cases
        self.log = log
        self.conn_seq = 0
        self.conns = set()

    def route(self, host, path, headers, body):
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        bare = path.split("?", 1)[0]
        found = [c for c in self.cases
                 if c["host"] == host and c["path"].split("?", 1)[0] == bare]
        want = headers.get("x-fake-case")
        if want is not None:
            found = [c for c in found if c["name"] == want]
            return found[0] if found else None
        if len(found) > 1:
            # A program that knows nothing of this server (the demo) gets
            # the plain successful case answering its request's stream flag.
            stream = bool(request_json(body).get("stream"))
            plain = [c for c in found if not c.get("cut") and int(c["status"]) < 400
                     and bool(c.get("expect", {}).get("stream")) == stream]
            found = plain or found
        return found[0] if found else None

    def record(self, entry, body):
        doc = request_json(body)
        for k in ("model", "max_tokens", "max_completion_tokens",
                  "max_output_tokens", "stream"):
            entry[k] = doc.get(k)
        gen = doc.get("generationConfig")
        if isinstance(gen, dict):
            entry["gemini_max_output_tokens"] = gen.get("maxOutputTokens")
        inf = doc.get("inferenceConfig")
        if isinstance(inf, dict):
            entry["bedrock_max_tokens"] = inf.get("maxTokens")
        entry["body_len"] = len(body)
        self.log.write(json.dumps(entry, sort_keys=True) + "\n")
        self.log.flush()

    @staticmethod
    def cut_plan(case, opts, body):
        """(bytes to send, declared length, whether the body is cut)."""
        if 0 <= opts.cut < len(body):
            return body[:opts.cut], len(body), True
        if case is not None and case.get("cut"):
            return body, 2 * len(body), True
        return body, len(body), False

    def respond_plan(self, case, opts):
        """Status, header list and encoded body of one answer."""
        if case is None:
            body = b'{"error":{"message":"fake provider: no case for this request"}}'
            return 404, [("content-type", "application/json")], body, False
        # A case whose file is already encoded (a decompression bomb, too
        # big to hold decoded) is sent as it is, under its own coding.
        encoding = case.get("encoded") or opts.encoding
        body = case["response_bytes"] if case.get("encoded") else encode(case["response_bytes"], encoding)
        hdrs = [("content-type", case["content_type"])]
        for k, v in case.get("headers", {}).items():
            hdrs.append((k.lower(), str(v)))
        if encoding != "identity":
            hdrs.append(("content-encoding", encoding))
        is_sse = (case["content_type"].startswith("text/event-stream")
                  and encoding == "identity")
        return int(case["status"]), hdrs, body, is_sse

    async def handle(self, reader, writer):
        self.conn_seq += 1
        conn_id = self.conn_seq
        task = asyncio.current_task()
        self.conns.add(task)
        try:
            sslobj = writer.get_extra_info("ssl_object")
            alpn = sslobj.selected_alpn_protocol() if sslobj else None
            if alpn == "h2":
                await H2Conn(self, conn_id, reader, writer).run()
            else:
                await self.serve_h1(conn_id, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.conns.discard(task)
            if not writer.is_closing():
                writer.transport.abort()

    async def serve_h1(self, conn_id, reader, writer):
        seq = 0
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            hlist = []
            for line in lines[1:]:
                if line:
                    k, v = line.split(":", 1)
                    hlist.append((k.strip().lower(), v.strip()))
            headers = dict(hlist)
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = bytearray()
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    if size == 0:
                        while (await reader.readuntil(b"\r\n")) != b"\r\n":
                            pass
                        break
                    body += await reader.readexactly(size)
                    await reader.readexactly(2)
                body = bytes(body)
            else:
                body = await reader.readexactly(int(headers.get("content-length", "0")))
            seq += 1
            host = headers.get("host", "")
            case = self.route(host, target, headers, body)
            entry = {"conn": conn_id, "seq": seq, "proto": "http/1.1",
                     "method": method, "host": host, "path": target,
                     "headers": hlist, "case": case and case["name"]}
            self.record(entry, body)
            try:
                opts = Options(headers)
            except ValueError:
                opts, case = Options({}), None
            keep = await self.answer_h1(writer, case, opts, method,
                                        headers.get("connection", "").lower() != "close")
            if not keep:
                return

    async def answer_h1(self, writer, case, opts, method, client_keep):
        status, hdrs, body, is_sse = self.respond_plan(case, opts)
        if opts.delay_ms:
            await asyncio.sleep(opts.delay_ms / 1000)
        sent, declared, cut = self.cut_plan(case, opts, body)
        if opts.transfer == "chunked":
            hdrs.append(("transfer-encoding", "chunked"))
            wire = frame_chunked(sent, is_sse, last=not cut)
        else:
            if opts.transfer == "length":
                hdrs.append(("content-length", str(declared)))
            wire = sent
        keep = client_keep and opts.transfer != "close" and not cut
        hdrs.append(("connection", "keep-alive" if keep else "close"))
        head = "HTTP/1.1 %d %s\r\n" % (status, http.HTTPStatus(status).phrase)
        head += "".join("%s: %s\r\n" % kv for kv in hdrs) + "\r\n"
        head = head.encode("latin-1")
        if method == "HEAD":
            wire = b""
        await self.write_pieces(writer, head, wire, opts, is_sse)
        if cut:
            await drop(writer)
        elif not keep:
            writer.close()
            await writer.wait_closed()
        return keep

    async def write_pieces(self, writer, head, wire, opts, is_sse):
        if not opts.split and not opts.coalesce and not opts.stall_ms:
            writer.write(head + wire)
            await writer.drain()
            return
        step = opts.split or CHUNK
        first = 0
        if opts.coalesce:
            first = event_end(wire) if is_sse else -1
            first = first if first > 0 else min(step, len(wire))
            writer.write(head + wire[:first])
        else:
            writer.write(head)
        await writer.drain()
        stall = opts.stall_ms
        if first and stall:
            await asyncio.sleep(stall / 1000)
            stall = 0
        sleeps = 0
        for i in range(first, len(wire), step):
            if sleeps < MAX_SLEEPS:
                await asyncio.sleep(SLEEP_S)
                sleeps += 1
            writer.write(wire[i:i + step])
            await writer.drain()
            if stall:
                await asyncio.sleep(stall / 1000)
                stall = 0


async def drop(writer):
    """Ends the TCP connection after what was written, with no TLS
    close_notify: what a client sees when a server or proxy dies mid-body."""
    await writer.drain()
    # drain() only waits for the high-water mark; the cut must come after
    # the last byte, so wait for the TLS layer to hand everything down.
    for _ in range(1000):
        if writer.transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.002)
    sock = writer.get_extra_info("socket")
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    writer.transport.abort()


class H2Conn:
    """One HTTP/2 connection: a reader task driving the h2 state machine and
    one task per stream answering it, so streams really interleave."""

    def __init__(self, server, conn_id, reader, writer):
        import h2.config
        import h2.connection
        self.server = server
        self.conn_id = conn_id
        self.reader = reader
        self.writer = writer
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.window = asyncio.Condition()
        self.requests = {}
        self.tasks = set()
        self.seq = 0

    async def flush(self, extra=b""):
        data = self.conn.data_to_send()
        if data or extra:
            self.writer.write(extra + data)
            await self.writer.drain()

    async def run(self):
        import h2.events
        self.conn.initiate_connection()
        await self.flush()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                events = self.conn.receive_data(data)
                for ev in events:
                    if isinstance(ev, h2.events.RequestReceived):
                        self.requests[ev.stream_id] = (ev.headers, bytearray())
                    elif isinstance(ev, h2.events.DataReceived):
                        self.requests[ev.stream_id][1].extend(ev.data)
                        self.conn.acknowledge_received_data(
                            ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        t = asyncio.ensure_future(self.answer(ev.stream_id))
                        self.tasks.add(t)
                        t.add_done_callback(self.tasks.discard)
                    elif isinstance(ev, (h2.events.WindowUpdated,
                                         h2.events.RemoteSettingsChanged,
                                         h2.events.StreamReset)):
                        async with self.window:
                            self.window.notify_all()
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        await self.flush()
                        return
                await self.flush()
        finally:
            for t in list(self.tasks):
                t.cancel()

    async def answer(self, sid):
        import h2.errors
        import h2.exceptions
        hlist, body = self.requests.pop(sid)
        headers = {}
        for k, v in hlist:
            headers.setdefault(k, v)
        self.seq += 1
        host = headers.get(":authority", headers.get("host", ""))
        path = headers.get(":path", "")
        method = headers.get(":method", "")
        case = self.server.route(host, path, headers, bytes(body))
        entry = {"conn": self.conn_id, "seq": self.seq, "proto": "h2",
                 "h2_stream": sid, "method": method, "host": host, "path": path,
                 "headers": [list(kv) for kv in hlist],
                 "case": case and case["name"]}
        self.server.record(entry, bytes(body))
        try:
            opts = Options(headers)
        except ValueError:
            opts, case = Options({}), None
        status, hdrs, data, is_sse = self.server.respond_plan(case, opts)
        if opts.delay_ms:
            await asyncio.sleep(opts.delay_ms / 1000)
        sent, declared, cut = self.server.cut_plan(case, opts, data)
        if opts.transfer == "length":
            hdrs.append(("content-length", str(declared)))
        if method == "HEAD":
            sent = b""
        try:
            self.conn.send_headers(sid, [(":status", str(status))] + hdrs,
                                   end_stream=not sent and not cut)
            step = opts.split or 16384
            # Without a split, END_STREAM rides on the last DATA frame; a
            # split body ends with a separate empty frame, as a server whose
            # handler returns after its last flush sends it.
            whole = not opts.split and not cut
            pos = 0
            if (opts.coalesce or opts.stall_ms) and sent:
                first = event_end(sent) if is_sse and opts.coalesce else -1
                first = first if first > 0 else min(step, len(sent))
                pos = await self.send_data(sid, sent, 0, first, whole)
                if opts.stall_ms:
                    await asyncio.sleep(opts.stall_ms / 1000)
            if not opts.split and not opts.coalesce:
                await self.flush()
            sleeps = 0
            while pos < len(sent):
                if opts.split:
                    await self.flush()
                    if sleeps < MAX_SLEEPS:
                        await asyncio.sleep(SLEEP_S)
                        sleeps += 1
                pos = await self.send_data(sid, sent, pos, pos + step, whole)
            if cut:
                self.conn.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
            elif sent and not whole:
                self.conn.end_stream(sid)
            await self.flush()
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            await self.flush()

    async def send_data(self, sid, data, pos, end, end_stream=False):
        """Sends data[pos:end] as DATA frames within flow control; returns
        the new position.  Everything is flushed together, so a split piece
        or the coalesced first piece leaves in one write.  end_stream: the
        frame carrying the body's last byte also ends the stream."""
        end = min(end, len(data))
        while pos < end:
            async with self.window:
                while True:
                    room = min(self.conn.local_flow_control_window(sid),
                               self.conn.max_outbound_frame_size, end - pos)
                    if room > 0:
                        break
                    await self.flush()
                    await self.window.wait()
            pos += room
            self.conn.send_data(sid, data[pos - room:pos],
                                end_stream=end_stream and pos == len(data))
        await self.flush()
        return pos


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="+",
                    help="cases JSON files; body files are relative to each")
    ap.add_argument("--print-hosts", action="store_true",
                    help="print every hostname served (built-in and cases), then exit")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--log")
    ap.add_argument("--ready-file")
    args = ap.parse_args()

    cases = load_cases(args.cases)
    if args.print_hosts:
        hosts = list(HOSTS)
        hosts += sorted({c["host"] for c in cases} - set(HOSTS))
        print("\n".join(hosts))
        return 0
    if not (args.cert and args.key and args.log):
        ap.error("--cert, --key and --log are needed to serve")

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["h2", "http/1.1"])

    log = open(args.log, "a", encoding="utf-8")
    server = Server(cases, log)

    async def serve():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        srv = await asyncio.start_server(server.handle, args.bind, args.port,
                                         ssl=ctx, limit=1 << 20,
                                         ssl_handshake_timeout=10)
        if args.ready_file:
            tmp = args.ready_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % os.getpid())
            os.rename(tmp, args.ready_file)
        await stop.wait()
        srv.close()
        for t in list(server.conns):
            t.cancel()
        await asyncio.gather(*server.conns, return_exceptions=True)

    asyncio.run(serve())
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
