"""otlp_export.py - the export-otlp-* integration tests: `tokenguard-report
export --otlp URL --spans` against a receiver that decodes every body with
the official OTLP definitions (tests/integration/otlp/, compiled by protoc
at test time; json_format.Parse with unknown fields refused, so a wrong
field name fails).

Owns: each exchange's span arrives exactly once over two runs with new
calls in between, with the exact GenAI attributes of its record; the
cumulative sums equal `summary --format json`; a receiver answering 500
makes export exit 2, leaves the watermark, and the next run sends it all;
a record committed after a later one was sent arrives with the next run.
The records are made by curl under the shim against the fake provider
(export.py's calls: two providers, calls refused by a budget policy).
"""

import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import time

import budgets
import export


HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "otlp")
SLOW_MS = 4000   # a response this late: its record lands after a later call's

# gen_ai.provider.name by the ledger's provider names (the GenAI registry's
# well-known values).
PROVIDER = {"openai": "openai", "anthropic": "anthropic", "azure-openai": "azure.ai.openai",
            "gemini": "gcp.gemini", "bedrock": "aws.bedrock", "mistral": "mistral_ai",
            "xai": "x_ai"}


def compile_protos(t, tdir):
    out = os.path.join(tdir, "pb")
    os.makedirs(out, exist_ok=True)
    protos = [os.path.relpath(os.path.join(d, f), PROTO_DIR)
              for d, _, fs in os.walk(PROTO_DIR) for f in fs if f.endswith(".proto")]
    p = subprocess.run(["protoc", "-I", PROTO_DIR, "--python_out", out] + protos,
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        raise t.h.Failure("protoc: %s (tests/deps.sh installs protobuf-compiler)" % p.stderr[:300])
    if out not in sys.path:
        sys.path.insert(0, out)
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    return json_format, trace_service_pb2, metrics_service_pb2


def ids_to_base64(node, errors):
    """OTLP/JSON carries trace and span ids as hex (the OTLP exception to the
    protobuf JSON mapping): check their length and turn them into the
    base64 json_format expects for bytes."""
    if isinstance(node, list):
        for v in node:
            ids_to_base64(v, errors)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str):
                want = 32 if k == "traceId" else 16
                try:
                    raw = bytes.fromhex(v)
                except ValueError:
                    raw = b""
                if len(v) != want or len(raw) * 2 != want or raw == bytes(want // 2):
                    errors.append("%s %r is not %d hex digits, not all zero" % (k, v, want))
                node[k] = base64.b64encode(raw).decode()
            else:
                ids_to_base64(v, errors)


class Receiver:
    """An OTLP/HTTP receiver on loopback: parses each body with the
    official messages and keeps what it took."""

    def __init__(self, t, tdir):
        self.json_format, self.tpb, self.mpb = compile_protos(t, tdir)
        self.status = 200
        self.spans, self.metrics, self.errors, self.posts = [], [], [], []
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                rx.take(self.path, self.headers.get("Content-Type"), body)
                self.send_response(rx.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self, path, ctype, body):
        self.posts.append((path, self.status))
        if ctype != "application/json":
            self.errors.append("%s: Content-Type %r" % (path, ctype))
        try:
            doc = json.loads(body)
            ids_to_base64(doc, self.errors)
            if path == "/v1/traces":
                msg = self.json_format.Parse(json.dumps(doc), self.tpb.ExportTraceServiceRequest(),
                                             ignore_unknown_fields=False)
            elif path == "/v1/metrics":
                msg = self.json_format.Parse(json.dumps(doc),
                                             self.mpb.ExportMetricsServiceRequest(),
                                             ignore_unknown_fields=False)
            else:
                self.errors.append("POST to %s" % path)
                return
        except Exception as e:  # a body the definitions do not accept
            self.errors.append("%s: %s" % (path, e))
            return
        if self.status // 100 != 2:
            return
        if path == "/v1/traces":
            for rs in msg.resource_spans:
                for ss in rs.scope_spans:
                    self.spans.extend(ss.spans)
        else:
            self.metrics.append(msg)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def any_value(v):
    kind = v.WhichOneof("value")
    return {"string_value": v.string_value, "int_value": v.int_value,
            "bool_value": v.bool_value, "double_value": v.double_value}.get(kind, kind)


def span_attrs(span):
    return {kv.key: any_value(kv.value) for kv in span.attributes}


def expected_attrs(r):
    """The attributes the span of record r must carry, from `records` JSON."""
    a = {"gen_ai.provider.name": PROVIDER.get(r["provider"], r["provider"]),
         "tokenguard.cost_estimated": r["cost_estimated"], "tokenguard.blocked": r["blocked"],
         "tokenguard.process": r["process"]}
    req = r["requested_model"] or r["model"]
    if r["operation"]:
        a["gen_ai.operation.name"] = r["operation"]
    if req:
        a["gen_ai.request.model"] = req
    if not r["blocked"] and r["model"]:
        a["gen_ai.response.model"] = r["model"]
    if r["response_id"]:
        a["gen_ai.response.id"] = r["response_id"]
    for field, name in (("input_tokens", "gen_ai.usage.input_tokens"),
                        ("output_tokens", "gen_ai.usage.output_tokens"),
                        ("cached_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
                        ("cache_creation_input_tokens",
                         "gen_ai.usage.cache_write.input_tokens"),
                        ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens")):
        if r[field] is not None:
            a[name] = r[field]
    if r["status"]:
        a["http.response.status_code"] = r["status"]
    if r["error"]:
        a["error.type"] = r["error"]
    if r["cost_usd"] is not None and (not r["unpriced"] or r["cost_estimated"]):
        a["tokenguard.cost_usd"] = float(r["cost_usd"])
    if r["policy"]:
        a["tokenguard.policy"] = r["policy"]
    for k, v in (r["tags"] or {}).items():
        a["tokenguard.tag." + k] = v
    return a


def records(t, env, ledger):
    p = budgets.report(t, env, ["records", "--format", "jsonl", "--ledger", ledger])
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def run_export(t, env, rx, ledger, rc=0):
    return budgets.report(t, env, ["export", "--otlp", rx.url, "--spans", "--ledger", ledger],
                          rc=rc)


def check_spans(t, rx, recs):
    """Every record's span once, with exactly its attributes."""
    ids = [(s.trace_id, s.span_id) for s in rx.spans]
    t.check(len(set(ids)) == len(ids), "a span arrived twice: %d spans, %d distinct"
            % (len(ids), len(set(ids))))
    t.check(len(rx.spans) == len(recs), "%d spans for %d records" % (len(rx.spans), len(recs)))
    got = sorted(json.dumps(span_attrs(s), sort_keys=True) for s in rx.spans)
    want = sorted(json.dumps(expected_attrs(r), sort_keys=True) for r in recs)
    for g, w in zip(got, want):
        t.check(g == w, "span attributes\n  got  %s\n  want %s" % (g, w))
    for s in rx.spans:
        t.check(s.kind == 3 and s.end_time_unix_nano >= s.start_time_unix_nano > 0,
                "span kind %d, %d..%d" % (s.kind, s.start_time_unix_nano, s.end_time_unix_nano))
    starts = sorted(s.start_time_unix_nano // 1000000 for s in rx.spans)
    want_starts = sorted(record_ms(r["ts"]) for r in recs)
    t.check(starts == want_starts, "span starts %s, record times %s" % (starts[:4],
                                                                        want_starts[:4]))


def record_ms(iso):
    import datetime
    d = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return int(d.timestamp() * 1000 + 0.5)


def check_sums(t, rx, total):
    """The last metrics body's sums over every series equal the summary's."""
    t.check(rx.metrics, "no metrics body arrived")
    sums = {}
    for rm in rx.metrics[-1].resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                t.check(m.WhichOneof("data") == "sum" and m.sum.is_monotonic and
                        m.sum.aggregation_temporality == 2,
                        "%s is not a cumulative monotonic sum" % m.name)
                for p in m.sum.data_points:
                    attrs = {kv.key: kv.value.string_value for kv in p.attributes}
                    if m.name == "tokenguard.tokens" and \
                            attrs.get("gen_ai.token.type") not in ("input", "output"):
                        continue
                    v = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                    sums[m.name] = sums.get(m.name, 0) + v
    want = {"tokenguard.calls": total["calls"], "tokenguard.blocked_calls": total["blocked_calls"],
            "tokenguard.tokens": total["tokens"], "tokenguard.cost": total["cost_usd"]}
    for k, v in want.items():
        t.check(abs(sums.get(k, -1) - v) <= 1e-12, "%s: %r sent, %r in summary"
                % (k, sums.get(k), v))


def calls_then_export(t, env, tdir, rx, ledger, label, n_openai, n_anthropic, n_records):
    """New calls, an export; every record so far has arrived once, and the
    sums sent are the summary's."""
    export.make_calls(t, env, tdir, label, ledger, n_openai, n_anthropic)
    run_export(t, env, rx, ledger)
    recs = records(t, env, ledger)
    t.check(len(recs) == n_records, "after the %s run: %d records" % (label, len(recs)))
    check_spans(t, rx, recs)
    check_sums(t, rx, export.summary_total(t, env, ledger))
    return recs


def spans_once(t, env, tdir):
    ledger = os.path.join(tdir, "ledger")
    budgets.budget_set(t, env, ledger, "no-gpt41", "model:gpt-4.1,day,usd=0,block")
    rx = Receiver(t, tdir)
    try:
        first = calls_then_export(t, env, tdir, rx, ledger, "first", 2, 3, 5)
        run_export(t, env, rx, ledger)
        t.check(len(rx.spans) == len(first), "a run with no new record sent %d spans"
                % (len(rx.spans) - len(first)))
        calls_then_export(t, env, tdir, rx, ledger, "second", 1, 2, 8)
        t.check(not rx.errors, "receiver: %s" % "; ".join(rx.errors[:5]))
    finally:
        rx.close()
    return "# %d spans over 3 runs, each once" % len(rx.spans)


def receiver_500(t, env, tdir):
    ledger = os.path.join(tdir, "ledger")
    rx = Receiver(t, tdir)
    try:
        export.make_calls(t, env, tdir, "calls", ledger, 1, 2)
        rx.status = 500
        p = run_export(t, env, rx, ledger, rc=2)
        t.check(b"HTTP 500" in p.stderr and b"next run" in p.stderr, "stderr: %r" % p.stderr)
        rx.status = 200
        p = budgets.report(t, env, ["export", "--otlp", rx.url + "/", "--spans", "--ledger",
                                    ledger])
        recs = records(t, env, ledger)
        check_spans(t, rx, recs)
        t.check(not rx.errors, "receiver: %s" % "; ".join(rx.errors[:5]))
        bad = budgets.report(t, env, ["export", "--otlp", "http://127.0.0.1:1", "--spans",
                                      "--ledger", ledger], rc=2)
        t.check(b"collector is up" in bad.stderr, "unreachable: %r" % bad.stderr)
    finally:
        rx.close()
    return "# 500 then 200: %d spans, each once" % len(rx.spans)


def late_record(t, env, tdir):
    """A record committed after a later one was sent (a response that took
    seconds: the record's time is its request's start) is sent by the next
    run, once."""
    ledger = os.path.join(tdir, "ledger")
    rx = Receiver(t, tdir)
    try:
        slow_mode = t.h.Mode("length", "identity", delay_ms=SLOW_MS)
        slow = budgets.Curl(t, env, tdir, "slow", [t.h.Exchange(t.cases[export.OPENAI],
                                                                 slow_mode)], ledger)
        time.sleep(0.5)  # the slow request has started: its record's time is before the next
        export.make_calls(t, env, tdir, "fast", ledger, 0, 1)
        run_export(t, env, rx, ledger)
        if slow.proc.poll() is not None:
            raise t.h.Failure("the slow call ended before the first export (%d ms); "
                              "the machine is too loaded to order them" % SLOW_MS)
        t.check(len(rx.spans) == 1, "first run: %d spans" % len(rx.spans))
        slow.wait()
        run_export(t, env, rx, ledger)
        run_export(t, env, rx, ledger)
        recs = records(t, env, ledger)
        t.check(len(recs) == 2 and recs[0]["model"].startswith("gpt-4.1"),
                "records: %s" % [(r["ts"], r["model"]) for r in recs])
        check_spans(t, rx, recs)
        t.check(not rx.errors, "receiver: %s" % "; ".join(rx.errors[:5]))
    finally:
        rx.close()
    return "# the late record sent once by the next run"


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if not {export.OPENAI, export.ANTHROPIC} <= set(by_name):
        return []
    spec = [
        ("curl", "curl", "export-otlp-spans-once", spans_once),
        ("curl", "curl", "export-otlp-receiver-500", receiver_500),
        ("curl", "curl", "export-otlp-late-record", late_record),
    ]
    return [export.ExportTest(harness, by_name, name, process, label, body)
            for name, process, label, body in spec]
