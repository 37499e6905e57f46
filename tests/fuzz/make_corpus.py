#!/usr/bin/python3
"""make_corpus.py - writes the seed corpora of the fuzz targets into
tests/fuzz/corpus/<target>/ from the test fixtures (tests/fixtures: the
provider bodies and requests, hand-written and recorded, the captured
HTTP/2 conversation), the
built-in price table, the README's policy examples and a small ledger
written by the ledger code (seed_ledger.c).  Every seed starts with the
control bytes its target's comment describes.  Files named regress-* are
inputs that once found a bug; they are kept, never rewritten.

Run from anywhere with Debian's /usr/bin/python3 (brotli, zstandard).
"""

import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import zlib

import brotli
import zstandard

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(TOP, "tests", "fixtures")
OUT = os.path.join(HERE, "corpus")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def reset(target):
    d = os.path.join(OUT, target)
    for p in glob.glob(os.path.join(d, "*")):
        if not os.path.basename(p).startswith("regress-"):
            os.remove(p)


def cases():
    """The hand-written cases and the recorded ones (tests/fixtures/recorded),
    their body files as absolute paths."""
    out = []
    for base in (FIX, os.path.join(FIX, "recorded")):
        with open(os.path.join(base, "cases.json")) as f:
            for c in json.load(f):
                c["response"] = os.path.join(base, c["response"])
                c["request"] = os.path.join(base, c["request"])
                out.append(c)
    return out


def be16(n):
    return bytes([(n >> 8) & 0xFF, n & 0xFF])


def http_response(case, body, encoding=None, chunked=False):
    head = "HTTP/1.1 %d OK\r\nContent-Type: %s\r\n" % (case["status"], case["content_type"])
    if encoding:
        head += "Content-Encoding: %s\r\n" % encoding
    if chunked:
        framed = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 700]), body[i:i + 700])
                          for i in range(0, len(body), 700)) + b"0\r\n\r\n"
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + framed
    return (head + "Content-Length: %d\r\n\r\n" % len(body)).encode() + body


def http_request(case, body):
    return ("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (case["method"], case["path"], case["host"], len(body))
            ).encode() + body


WIRES = {"openai": 0, "azure-openai": 0, "groq": 0, "mistral": 0, "xai": 0, "deepseek": 0, "openrouter": 0,
         "anthropic": 1, "gemini": 2, "cohere": 3, "bedrock": 4}


def usage_selector(case):
    """fuzz_usage's first byte for this case: its wire format and body kind."""
    ct = case["content_type"]
    kind = 1 if ct.startswith("text/event-stream") else 2 if "eventstream" in ct else 0
    wire = WIRES[case["provider"]]
    return next(s for s in range(256) if s % 5 == wire and (s // 5) % 3 == kind)


def encodings(body):
    return {"gzip": gzip.compress(body, 6, mtime=0), "deflate": zlib.compress(body, 6),
            "br": brotli.compress(body, quality=5), "zstd": zstandard.ZstdCompressor(level=3).compress(body)}


def main():
    for t in ("fuzz_h1", "fuzz_h2", "fuzz_sse", "fuzz_json", "fuzz_eventstream", "fuzz_decode",
              "fuzz_usage", "fuzz_rewrite", "fuzz_price", "fuzz_policy", "fuzz_record", "fuzz_ledger",
              "fuzz_b64json"):
        reset(t)
    for c in cases():
        name = c["name"]
        body = read(os.path.join(FIX, c["response"]))
        req = read(os.path.join(FIX, c["request"]))
        cut = len(body) // 2
        write("fuzz_usage", name, bytes([usage_selector(c), cut & 0xFF]) + body)
        write("fuzz_json", name + ".req", be16(len(req) // 2) + req)
        write("fuzz_rewrite", name, bytes([0x23 + (len(name) % 4) * 4]) + http_request(c, req))
        if name == "openai-chat":
            # the per-call tags header the shim takes out (and a look-alike it keeps)
            tagged = http_request(c, req).replace(
                b"\r\nContent-Type:", b"\r\nX-TokenGuard-Tags: feature=search\r\n"
                b"x-tokenguard-tagsx: keep\r\nContent-Type:", 1)
            write("fuzz_rewrite", name + ".tags", bytes([0x23]) + tagged)
        if c["content_type"].startswith("application/json"):
            write("fuzz_json", name, be16(cut) + body)
        elif c["content_type"].startswith("text/event-stream"):
            write("fuzz_sse", name, bytes([cut & 0xFF]) + body)
        else:
            write("fuzz_eventstream", name, be16(cut)[:1] + be16(cut)[1:] + body)
            write("fuzz_eventstream", name + ".fixcrc", bytes([1, 7]) + body)
            # Bedrock InvokeModelWithResponseStream: each chunk's base64 text
            for i, b64 in enumerate(re.findall(rb'"bytes":"([^"]*)"', body)):
                write("fuzz_b64json", "%s.%d" % (name, i), bytes([len(b64) // 3 & 0x7F]) + b64)
        if name in ("openai-chat", "anthropic-messages-stream", "gemini-generate"):
            for enc, data in encodings(body).items():
                write("fuzz_h1", "%s.%s" % (name, enc), be16(len(data) // 3) + http_response(c, data, enc))
                sel = ["identity", "gzip", "deflate", "br", "zstd"].index(enc)
                write("fuzz_decode", "%s.%s" % (name, enc), bytes([sel, 40]) + data)
            write("fuzz_h1", name + ".chunked", be16(cut) + http_response(c, body, chunked=True))
            write("fuzz_h1", name + ".req", be16(len(req) // 2) + http_request(c, req))
    # Bombs, each far past the decoders' output limit (4 x 64 MiB).
    zeros = zstandard.ZstdCompressor(level=19).compressobj()
    zb = b"".join(zeros.compress(b"\0" * (1 << 20)) for _ in range(256)) + zeros.flush()
    write("fuzz_decode", "bomb-zstd-256m", bytes([4, 0]) + zb)
    bro = brotli.Compressor(quality=5)
    bb = b"".join(bro.process(b" " * (1 << 20)) for _ in range(256)) + bro.finish()
    write("fuzz_decode", "bomb-br-256m", bytes([3, 0]) + bb)
    # (A deflate bomb past the limit needs more than the 64 KiB inputs
    # run.sh allows: deflate stops near 1000:1.  The unit tests have them.)
    # HTTP/2: the captured conversation as records of 100 bytes, the two
    # directions alternating (bit 7 of the first control byte: the capture
    # carries its own preface).
    h2req, h2resp = read(os.path.join(FIX, "h2", "request.bin")), read(os.path.join(FIX, "h2", "response.bin"))
    recs, i, j = [], 0, 0
    while i < len(h2req) or j < len(h2resp):
        for d, data, at in ((0, h2req, i), (1, h2resp, j)):
            piece = data[at:at + 100]
            if piece:
                recs.append(bytes([(len(piece) << 1 | d) & 0xFF]) + piece)
        i, j = i + 100, j + 100
    write("fuzz_h2", "capture", b"".join(recs))
    prices = read(os.path.join(TOP, "ledger", "prices.tsv"))
    write("fuzz_price", "builtin", prices)
    write("fuzz_price", "small", b"".join(l + b"\n" for l in prices.splitlines()
                                          if l.startswith(b"#") or b"gpt-4o\t" in l or b"claude-sonnet-4-5\t" in l))
    policies = ["global,day,usd=20,block", "tag:team=search,month,usd=300,tokens=50M,warn,alert=50",
                "model:gpt-4o,24h,usd=10,downgrade:gpt-4o-mini,fallback=warn",
                "process:run-evals.py,session,usd=2,clamp,name=evals",
                "provider:anthropic,day,tokens=1.5k,block,alert=80%;global,session,usd=1e-3,warn",
                "global,day,usd=5,block,unpriced=block;provider:groq,month,usd=1,warn,unpriced=allow",
                "tag:user=*,day,usd=5,block;tag:user=*,session,tokens=2M,clamp,name=s"]
    for k, p in enumerate(policies):
        write("fuzz_policy", "readme-%d" % k, p.encode())
    tmp = tempfile.mkdtemp(prefix="tg-seeds.")
    try:
        exe = os.path.join(tmp, "seed_ledger")
        srcs = [os.path.join(HERE, "seed_ledger.c")] + sorted(
            glob.glob(os.path.join(TOP, "ledger", "*.c")))
        subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-I" + os.path.join(TOP, "shim"),
                        "-I" + os.path.join(TOP, "ledger"), "-o", exe] + srcs +
                       [os.path.join(TOP, "ledger", "prices_blob.S"),
                        '-DPRICES_FILE="%s"' % os.path.join(TOP, "ledger", "prices.tsv"),
                        "-llmdb", "-lz", "-lm", "-pthread"], check=True)
        led = os.path.join(tmp, "ledger")
        subprocess.run([exe, led], check=True)
        for p in sorted(glob.glob(os.path.join(led, "record-*"))):
            write("fuzz_record", os.path.basename(p), read(p))
        data, lock = read(os.path.join(led, "data.mdb")), read(os.path.join(led, "lock.mdb"))
        write("fuzz_ledger", "ledger", bytes([0, 0]) + data)
        lock = lock[:64 * 60]  # with data.mdb, within the 64 KiB inputs run.sh allows
        write("fuzz_ledger", "ledger-with-lock", bytes([1, len(lock) // 64]) + lock[:len(lock) // 64 * 64] + data)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
