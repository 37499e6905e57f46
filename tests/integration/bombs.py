"""bombs.py - the bomb-* integration tests: a decompression bomb costs a
program under the shim a bounded amount of time, and changes nothing it
reads.

Owns: the 1 GiB gzip bomb case (made at test time, streamed, never held
decoded) and the tests that send it to real clients that decode it
themselves: curl --compressed over HTTP/1.1, and a Python
urllib program inflating as it reads (helpers/gunzip_client.py).  Each
client runs without and with the shim, alternately, RUNS times; the test
asserts identical output and exit status, a best CPU time with the shim
within added_bound() of the best without, and one record flagged too_large with its
usage unknown.  The time bound follows from the decoders' limit (decode.h):
with the shim the bomb costs at most 64 MiB of extra decoding, about 0.2 s
here; without the limit it cost the whole gigabyte again (+3 s and more).
"""

import hashlib
import os
import struct
import subprocess
import time
import zlib

import itlib
from itlib import records

HERE = os.path.dirname(os.path.abspath(__file__))
GUNZIP_CLIENT = os.path.join(HERE, "helpers", "gunzip_client.py")
SYS_PY = "/usr/bin/python3"
CASE = "big-bomb-gzip-1g"
BOMB_MIB = 1024
RUNS = 2


def added_bound(base_s):
    """The CPU time the bomb may add to a program that takes base_s
    without the shim: the limit's 64 MiB of decoding and scanning (about
    0.3 s here) with room for a busy machine; reading the whole gigabyte
    again (the cost before the limit) adds 3 s and more."""
    return 0.5 + 0.15 * base_s


TIMEOUT = 120


def write_gzip_bomb(path, head, tail, mib):
    """gzip of head + mib MiB of spaces + tail, about 1000:1, made in a
    fraction of a second: after a full flush deflate forgets its window, so
    every 1 MiB block of spaces compresses to the same bytes and is written
    once per block; the CRC is computed over what the body decodes to.
    Returns the decoded size."""
    blk = b" " * (1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(blk) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(tail) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(mib):
        crc = zlib.crc32(blk, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + mib * len(blk) + len(tail)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first)
        for _ in range(mib):
            f.write(block)
        f.write(last + struct.pack("<II", crc, size & 0xFFFFFFFF))
    return size


def extra_cases(outdir):
    """The bomb case, its files written to outdir."""
    # Usage comes first, so a shim that read on would count it.
    head = (b'{"id":"chatcmpl-bomb","object":"chat.completion","model":"gpt-4o",'
            b'"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18},"pad":"')
    size = write_gzip_bomb(os.path.join(outdir, CASE + ".resp.gz"), head, b'"}\n', BOMB_MIB)
    with open(os.path.join(outdir, CASE + ".req.json"), "w") as f:
        f.write('{"model":"gpt-4o","messages":[{"role":"user","content":"PROMPT-SECRET-bomb"}]}')
    return [{"name": CASE, "provider": "openai", "host": "api.openai.com", "method": "POST",
             "path": "/v1/chat/completions", "request": CASE + ".req.json", "status": 200,
             "content_type": "application/json", "response": CASE + ".resp.gz",
             "encoded": "gzip", "decoded_len": size, "headers": {"x-request-id": "req_bomb_1"}}]


def curl_argv(env, ex, tag, http):
    """curl decoding the bomb to its standard output."""
    method, url, body = ex.argv(tag)[:3]
    args = ["-sS", "--cacert", env.ca, "--compressed", "-X", method, "--data-binary", "@" + body]
    if http == "1.1":
        args.append("--http1.1")
    for h in ex.argv(tag)[3:]:
        args += ["-H", h]
    return ["curl"] + args + [url]


def python_argv(env, ex, tag, http):
    return [SYS_PY, GUNZIP_CLIENT] + ex.argv(tag)


def timed(t, env, argv, ledger, preload):
    """(CPU seconds, exit status, stdout's length, SHA-256 and first bytes,
    wall seconds) of one run.  The program's own CPU time (user + system) is what
    the shim adds to, and what other work on the machine disturbs least;
    its output is hashed here, outside it."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env.child_env(ledger, preload))
    digest, size, head = hashlib.sha256(), 0, b""
    deadline = t0 + TIMEOUT
    while True:
        piece = p.stdout.read(1 << 20)
        if not piece:
            break
        digest.update(piece)
        head += piece[:200 - len(head)]
        size += len(piece)
    out = b"%d bytes, sha256 %s: %s" % (size, digest.hexdigest().encode(), head)
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            os.wait4(p.pid, 0)
            raise t.h.Failure("%s did not finish in %d s" % (argv[0], TIMEOUT))
        time.sleep(0.01)
    p.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, p.returncode, out, time.monotonic() - t0


def bomb_test(make_argv, http, expect_decoded):
    def body(t, env, tdir):
        ex = t.h.Exchange(t.cases[CASE], t.h.Mode("length", "identity"))
        ledger = os.path.join(tdir, "ledger")
        base_ledger = os.path.join(tdir, "ledger-base")
        base, shim = [], []
        for i in range(RUNS):
            for preload, runs, led in ((False, base, base_ledger), (True, shim, ledger)):
                argv = make_argv(env, ex, "%s/%s%d" % (os.path.basename(tdir), "shim" if preload else "base", i), http)
                runs.append(timed(t, env, argv, led, preload))
        b_out, s_out = {r[2] for r in base}, {r[2] for r in shim}
        t.check(len(b_out) == 1 and b_out == s_out, "output differs with the shim: %r / %r" % (b_out, s_out))
        t.check({r[1] for r in base} == {r[1] for r in shim} == {0},
                "exit status %s without the shim, %s with" % ([r[1] for r in base], [r[1] for r in shim]))
        if expect_decoded:
            t.check(expect_decoded in base[0][2], "the client did not decode the whole bomb: %r" % base[0][2])
        tb, ts = min(r[0] for r in base), min(r[0] for r in shim)
        wb, ws = min(r[3] for r in base), min(r[3] for r in shim)
        t.check(ts <= tb + added_bound(tb), "best CPU time %.2f s with the shim, %.2f s without: "
                "more than the %.2f s allowed added" % (ts, tb, added_bound(tb)))
        t.check(not os.path.exists(base_ledger), "the run without the shim created a ledger")
        recs = records(t, env, ledger)
        t.check(len(recs) == RUNS, "%d records, expected %d" % (len(recs), RUNS))
        for r in recs:
            t.check(r.get("too_large") is True and r.get("usage_unknown") is True and
                    r.get("input_tokens") is None and r.get("output_tokens") is None and
                    r.get("status") == 200 and r.get("incomplete") is False and
                    r.get("request_id") == "req_bomb_1",
                    "record is not a flagged, uncounted bomb: %s" % r)
        return ("# 1 GiB gzip bomb, best of %d: CPU %.2f s without the shim, %.2f s with (%+.2f s); "
                "wall %.2f s / %.2f s" % (RUNS, tb, ts, ts - tb, wb, ws))
    return body


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if CASE not in by_name:
        return []
    decoded = b"decoded %d " % by_name[CASE]["decoded_len"]
    spec = [
        ("curl-h1-compressed", "curl", "bomb-gzip-1g", bomb_test(curl_argv, "1.1", None)),
        ("urllib-gunzip", "gunzip_client.py", "bomb-gzip-1g", bomb_test(python_argv, "1.1", decoded)),
    ]
    return [itlib.SuiteTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
