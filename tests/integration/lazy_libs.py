"""lazy_libs.py - the lazy-* integration tests: libtokenguard.so loads LMDB,
zlib, libbrotlidec, libzstd and libnghttp2 only when a provider needs them
(shim/lazylib.h), and a library it cannot load costs what needs it, never
the program's call.

Owns: running build/lazy-probe (helpers/lazy_probe.c: one in-memory TLS
exchange, then the list of those libraries the process holds) without and
with the shim: to a host that is not a provider (nothing loaded), to a
provider with a JSON, br or zstd body (the ledger's two libraries, plus
the body's decoder and nothing else), and with a stand-in for libbrotlidec
or liblmdb that cannot be loaded (same output and exit, one warning, the
call recorded without usage or not recorded).
"""

import os
import subprocess

import fake_provider
import itlib

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBE = os.path.join(os.environ.get("TG_BUILD") or os.path.join(TOP, "build"), "lazy-probe")
LEDGER_LIBS = {"liblmdb.so.0", "libz.so.1"}
BODY = (b'{"id":"chatcmpl-probe","object":"chat.completion","model":"gpt-4o-mini-2024-07-18",'
        b'"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},'
        b'"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":12,'
        b'"total_tokens":21}}')


class Probe:
    def __init__(self, p):
        lines = p.stdout.decode().splitlines()
        self.rc, self.stderr = p.returncode, p.stderr
        self.first = lines[0] if lines else ""
        self.loaded = {l.split(" ", 1)[1] for l in lines[1:] if l.startswith("loaded ")}


def probe(t, env, tdir, label, preload, sni, encoding=None, libdir=None, ledger=None):
    """Runs the probe (with the shim when preload); returns (Probe, ledger)."""
    ledger = ledger or os.path.join(tdir, "ledger-" + label)
    argv = [PROBE, sni]
    if encoding:
        body = os.path.join(tdir, "body." + encoding)
        with open(body, "wb") as f:
            f.write(fake_provider.encode(BODY, encoding))
        argv += [encoding, body]
    e = env.child_env(ledger, preload)
    if libdir:
        e["LD_LIBRARY_PATH"] = libdir
    p = subprocess.run(argv, capture_output=True, env=e, timeout=60)
    with open(os.path.join(tdir, label + ".err"), "wb") as f:
        f.write(p.stderr)
    r = Probe(p)
    t.check(r.rc == 0, "lazy-probe %s exited %d: %s" % (label, r.rc, p.stderr.decode(errors="replace")[:300]))
    return r, ledger


def compared(t, env, tdir, sni, encoding=None, libdir=None):
    """The probe without and with the shim; checks the program saw the same
    and that without the shim it holds none of the libraries."""
    base, _ = probe(t, env, tdir, "base", False, sni, encoding, libdir)
    shim, ledger = probe(t, env, tdir, "shim", True, sni, encoding, libdir)
    t.check(base.loaded == set(), "the probe alone holds %s" % sorted(base.loaded))
    t.check(shim.first == base.first, "the body read differs: %r with the shim, %r without"
            % (shim.first, base.first))
    return shim, ledger


def not_a_provider(t, env, tdir):
    shim, ledger = compared(t, env, tdir, "example.com")
    t.check(shim.loaded == set(), "a connection to example.com loaded %s" % sorted(shim.loaded))
    t.check(itlib.tg_lines(shim.stderr) == [], "the shim said %r" % itlib.tg_lines(shim.stderr))
    t.check(itlib.records(t, env, ledger) == [], "a record for a host that is not a provider")


def provider(encoding):
    def body(t, env, tdir):
        shim, ledger = compared(t, env, tdir, "api.openai.com", encoding)
        decoder = {None: set(), "br": {"libbrotlidec.so.1"}, "zstd": {"libzstd.so.1"}}[encoding]
        t.check(shim.loaded == LEDGER_LIBS | decoder, "loaded %s, expected %s"
                % (sorted(shim.loaded), sorted(LEDGER_LIBS | decoder)))
        recs = itlib.records(t, env, ledger)
        t.check(len(recs) == 1, "%d records, expected 1" % len(recs))
        t.check(recs[0]["input_tokens"] == 9 and recs[0]["output_tokens"] == 12,
                "usage not read: %r" % recs[0])
    return body


def stand_in(tdir, soname):
    """A directory where soname is a file no loader accepts."""
    libdir = os.path.join(tdir, "libs")
    os.makedirs(libdir, exist_ok=True)
    with open(os.path.join(libdir, soname), "w") as f:
        f.write("not a shared library\n")
    return libdir


def missing_decoder(t, env, tdir):
    libdir = stand_in(tdir, "libbrotlidec.so.1")
    shim, ledger = compared(t, env, tdir, "api.openai.com", "br", libdir)
    said = itlib.tg_lines(shim.stderr)
    t.check(len(said) == 1 and "libbrotlidec.so.1" in said[0], "the shim said %r" % said)
    recs = itlib.records(t, env, ledger)
    t.check(len(recs) == 1 and recs[0]["usage_unknown"] and recs[0]["input_tokens"] is None,
            "expected one record with usage unknown: %r" % recs)


def missing_ledger_library(t, env, tdir):
    libdir = stand_in(tdir, "liblmdb.so.0")
    shim, ledger = compared(t, env, tdir, "api.openai.com", None, libdir)
    said = itlib.tg_lines(shim.stderr)
    t.check(len(said) == 1 and "liblmdb.so.0" in said[0], "the shim said %r" % said)
    t.check("liblmdb.so.0" not in shim.loaded, "liblmdb is loaded")
    # The ledger's files are made before LMDB is called (ledger/files.c);
    # nothing can be in them.
    data = os.path.join(ledger, "data.mdb")
    t.check(not os.path.exists(data) or os.path.getsize(data) == 0, "data.mdb written without LMDB")
    # Once LMDB loads, the next program records into the same ledger.
    again, _ = probe(t, env, tdir, "shim-again", True, "api.openai.com", ledger=ledger)
    t.check(LEDGER_LIBS <= again.loaded, "loaded %s" % sorted(again.loaded))
    t.check(len(itlib.records(t, env, ledger)) == 1, "the ledger left without LMDB does not take records")


def tests(harness, cases):
    spec = [
        ("lazy-not-a-provider", not_a_provider),
        ("lazy-provider-json", provider(None)),
        ("lazy-provider-br", provider("br")),
        ("lazy-provider-zstd", provider("zstd")),
        ("lazy-missing-libbrotlidec", missing_decoder),
        ("lazy-missing-liblmdb", missing_ledger_library),
    ]
    return [itlib.SuiteTest(harness, {}, "lazy-probe", "lazy-probe", label, body)
            for label, body in spec]
