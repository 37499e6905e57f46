"""html_report.py - the html-* integration tests: the page of
`tokenguard-report daily --format html` as a real browser shows it.

Owns: a ledger of several models over several days, today's calls made
by curl under the shim against the fake provider (OpenAI, Anthropic, and
a Cohere model without a price, whose cost is an estimate) and the days
before appended with ledger-put (a real call is always made now), one of
them under a model name full of markup; the page rendered by headless
Chromium (Debian's chromium) with a fresh profile and no way out:
  - its screenshot is not blank: in the plot (between its top grid line
    and its axis), each model's colour covers an area proportional to its
    known cost, and the estimates' grey is there too;
  - the DOM Chromium parsed: no script element, the hostile name as text,
    and the TOTAL cells' data-* exactly the totals of `--format json`
    with the same options;
  - the page names no URL but the SVG namespace, has no element that
    loads or runs, and asks for nothing: Chromium's NetLog lists no request
    made by the page (those of the browser itself, its updater and clock,
    are not the page's), where it does list that of a page asking for an
    image (so the check can fail).  The browser's only proxy is a listener
    of this test, so no request leaves even outside run.sh's namespace.
"""

import html.parser
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
import zlib

import budgets
import export

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEDGER_PUT = os.environ.get("TG_IT_LEDGER_PUT", os.path.join(os.environ.get("TG_BUILD") or
                                                             os.path.join(TOP, "build"),
                                                             "ledger-put"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_TIMEOUT = 60
OPENAI_MODEL = "gpt-4.1-2025-04-14"              # what openai-chat's response names
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"   # anthropic-messages's
HOSTILE = "<script>alert(\"x&y'\")</script><img src=x onerror=alert(1)>"
DAY = 86400
SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'
OPTIONS = ["--since", "5d", "--timezone", "UTC"]
ESTIMATE_GREY = (0xe2, 0xe2, 0xe2)               # svg_chart.h TG_CHART_ESTIMATE_COLOUR
AXIS_GREY = (0x66, 0x66, 0x66)                   # html.c: svg .axis, no other line's
GRID_GREY = (0xe4, 0xe4, 0xe4)                   # html.c: svg .grid


# ---------------------------------------------------------------- the ledger

def put_records(t, ledger, rows):
    """Appends rows (ts, provider, model, input, output, cost, flags)."""
    text = "".join("%d\t%s\t%s\tagent\t%d\t%d\t%r\t%s\n" % r for r in rows)
    p = subprocess.run([LEDGER_PUT, ledger], input=text.encode(), capture_output=True, timeout=30)
    t.check(p.returncode == 0 and p.stdout == b"put %d\n" % len(rows),
            "ledger-put: exit %d: %r %r" % (p.returncode, p.stdout, p.stderr[-300:]))


def build_ledger(t, env, tdir, ledger):
    """Three days of earlier records, then today's real calls."""
    now = int(time.time())
    # Known costs per model over the days, big enough for bars of many
    # pixels: the screenshot's areas are compared with them.
    put_records(t, ledger, [
        (now - 3 * DAY, "openai", OPENAI_MODEL, 1200, 300, 0.25, "-"),
        (now - 3 * DAY, "anthropic", ANTHROPIC_MODEL, 900, 200, 0.125, "-"),
        (now - 2 * DAY, "openai", OPENAI_MODEL, 1000, 100, 0.125, "-"),
        (now - 2 * DAY, "cohere", HOSTILE, 100, 10, 0.25, "-"),
        (now - 1 * DAY, "anthropic", ANTHROPIC_MODEL, 3000, 500, 0.375, "-"),
        (now - 1 * DAY, "cohere", budgets.UNPRICED_MODEL, 800, 100, 0.0625, "unpriced,estimate"),
    ])
    unpriced = budgets.unpriced_exchange(t, tdir)
    c = budgets.curl(t, env, tdir, "today", [t.ex(export.OPENAI), t.ex(export.ANTHROPIC),
                                              unpriced], ledger)
    t.check(c.rc == 0, "curl exit %d: %s" % (c.rc, budgets.tail(c.stderr)))


# ---------------------------------------------------------------- the browser

class Proxy:
    """A listener on loopback given to Chromium as its proxy: every request
    the browser makes over the network comes here.  Each connection's first
    bytes are kept, then it is closed unanswered."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen, self.done = [], False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with c:
                c.settimeout(2)
                try:
                    self.seen.append(c.recv(4096))
                except OSError:
                    self.seen.append(b"")

    def close(self):
        self.done = True
        self.thread.join(5)
        self.sock.close()


def page_requests(netlog):
    """The URLs of the requests a document made, from Chromium's NetLog:
    those with an initiator (the page's origin; "null" for a file:// page)
    or keyed to a file:// page.  The browser's own (its updater, its
    clock) have "not an origin" and are not the page's doing."""
    with open(netlog) as f:
        log = json.load(f)
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for e in log["events"]:
        p = e.get("params") or {}
        if e["type"] == start and "url" in p and (
                p.get("initiator", "not an origin") != "not an origin"
                or "file://" in p.get("network_isolation_key", "")):
            urls.append(p["url"])
    return urls


def chromium(t, tdir, proxy, page, what):
    """Runs Chromium headless on file page with a throwaway profile, what
    being its output options (--screenshot=FILE, --dump-dom).  Returns its
    stdout and the URLs the page asked for (page_requests)."""
    if not os.path.exists(CHROMIUM):
        raise t.h.Failure("no %s: install Debian's chromium (tests/deps.sh)" % CHROMIUM)
    run = os.path.join(tdir, "chromium-%s" % os.path.basename(page))
    netlog = run + ".netlog.json"
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--user-data-dir=" + run, "--window-size=1200,900", "--hide-scrollbars",
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps",
            "--disable-extensions", "--force-color-profile=srgb",
            "--proxy-server=http://127.0.0.1:%d" % proxy.port, "--proxy-bypass-list=<-loopback>",
            "--log-net-log=" + netlog] + what + ["file://" + page]
    env = dict(os.environ, HOME=tdir)
    try:
        p = subprocess.run(argv, capture_output=True, timeout=BROWSER_TIMEOUT, env=env,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise t.h.Failure("chromium on %s: no answer in %ds" % (page, BROWSER_TIMEOUT))
    t.check(p.returncode == 0, "chromium on %s: exit %d: %s" % (
        page, p.returncode, budgets.tail(p.stderr.decode(errors="replace"), 300)))
    t.check(os.path.exists(netlog), "chromium wrote no NetLog")
    return p.stdout, page_requests(netlog)


# ---------------------------------------------------------------- PNG

def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png_rows(path):
    """The size of an 8-bit RGB or RGBA, non-interlaced PNG (the kinds
    Chromium writes) and an iterator over its rows, each a list of
    (r, g, b), decoded as they are read: the rows below the chart are
    never decoded."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, head = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = head
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("PNG depth %d colour type %d interlace %d" % (depth, ctype, interlace))
    return w, h, unfilter(zlib.decompress(idat), w, h, 3 if ctype == 2 else 4)


def unfilter(raw, w, h, bpp):
    """The rows of raw, each line's PNG filter undone."""
    stride = w * bpp
    prev = bytearray(stride)
    for y in range(h):
        start = y * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ftype == 2:
            line = bytearray((x + p) & 255 for x, p in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                c = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(a, prev[i], c)) & 255
        yield [tuple(line[i:i + 3]) for i in range(0, stride, bpp)]
        prev = line


def near(row, colour, tolerance=8):
    """How many of every 10th pixel of row are colour, give or take
    tolerance a channel (a 1-unit line scaled to the window is blended a
    little)."""
    return sum(1 for px in row[::10] if all(abs(a - b) <= tolerance for a, b in zip(px, colour)))


def hex_rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


# ---------------------------------------------------------------- the page

class Page(html.parser.HTMLParser):
    """What the tests read of a page: its elements and attributes, the
    TOTAL row's cells, the legend's colours and names, the text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.total, self.legend, self.text = [], [], [], []
        self.in_total, self.in_legend = False, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr":
            self.in_total = a.get("id") == "total"
        elif tag == "td" and self.in_total:
            self.total.append(a)
        elif tag == "span" and a.get("class") == "sw":
            self.in_legend = [re.search(r"background:(#[0-9a-f]{6})", a["style"]).group(1), ""]
            self.legend.append(self.in_legend)

    def handle_endtag(self, tag):
        if tag == "li":
            self.in_legend = None

    def handle_data(self, data):
        self.text.append(data)
        if self.in_legend is not None:
            self.in_legend[1] += data


def check_self_contained(t, text):
    """No URL but the SVG namespace, no element or attribute that loads."""
    t.check(text.count(SVG_NS) == 1, "the SVG namespace: %d times" % text.count(SVG_NS))
    rest = text.replace(SVG_NS, "")
    urls = re.findall(r"(?i)(?:https?|ftp|wss?)://|//[a-z0-9.-]+\.[a-z]{2,}/", rest)
    t.check(not urls, "URLs in the page: %r" % urls[:5])
    t.check("Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\"" in text, "no CSP meta")
    page = Page(text)
    loading = [(tag, attrs) for tag, attrs in page.tags
               if tag in ("script", "link", "img", "iframe", "object", "embed", "image", "use",
                          "audio", "video", "source", "base", "form")
               or any(k in ("src", "href", "xlink:href", "srcset", "action", "poster")
                      or k.startswith("on") for k, _ in attrs)]
    t.check(not loading, "elements that load or run: %r" % loading[:3])
    t.check("url(" not in text and "@import" not in text, "a CSS url() or @import")


def check_dom(t, dom, want):
    """The DOM Chromium built: no script, the hostile name as text, and
    the TOTAL cells' data-* the JSON totals as written."""
    page = Page(dom)
    t.check(not [tag for tag, _ in page.tags if tag in ("script", "img")],
            "the DOM has a script or img element: the hostile name became markup")
    t.check(HOSTILE in "".join(page.text), "the hostile model name is not in the DOM's text")
    got = {}
    for cell in page.total:
        got.update({k[5:]: v for k, v in cell.items() if k.startswith("data-")})
    pairs = {"calls": "calls", "blocked-calls": "blocked_calls", "tokens": "tokens",
             "usd": "cost_usd", "estimated-usd": "estimated_cost_usd",
             "input-tokens": "input_tokens", "output-tokens": "output_tokens",
             "cached-input-tokens": "cached_input_tokens"}
    for attr, key in pairs.items():
        t.check(got.get(attr) == want[key], "TOTAL data-%s is %r, --format json's %s %r"
                % (attr, got.get(attr), key, want[key]))
    return page


def json_total_text(t, env, ledger):
    """The total of `daily --format json`, each value as its JSON text."""
    p = budgets.report(t, env, ["daily", "--format", "json", "--ledger", ledger] + OPTIONS)
    as_text = lambda s: s
    doc = json.loads(p.stdout, parse_float=as_text, parse_int=as_text,
                     parse_constant=as_text)
    return {k: ("null" if v is None else v) for k, v in doc["total"].items()}, doc


def check_screenshot(t, png, legend, usd):
    """Above the axis, each model's colour covers an area proportional to
    its known cost; the estimates' grey is there; the rest is not blank."""
    w, h, rows = png_rows(png)
    t.check((w, h) == (1200, 900), "screenshot %dx%d" % (w, h))
    # The plot: from its top grid line down to its axis, the first rows
    # with a long run of their grey.  Bars have crisp edges: their colours
    # are exact.
    seen, top, axis = [], None, None
    for y, row in enumerate(rows):
        seen.append(row)
        if top is None and near(row, GRID_GREY) > 60:
            top = y
        elif top is not None and near(row, AXIS_GREY) > 60:
            axis = y
            break
    t.check(top is not None and axis is not None and 200 < axis - top < 400,
            "no plot found in the screenshot: grid from y=%r, axis at y=%r" % (top, axis))
    counts, colours = {}, set()
    for row in seen[top:axis]:
        colours.update(row)
        for px in row:
            counts[px] = counts.get(px, 0) + 1
    t.check(len(colours) >= 6, "the plot has %d colours" % len(colours))
    area = {}
    for colour, name in legend:
        area[name] = counts.get(hex_rgb(colour), 0)
        t.check(area[name] > 1500, "%s (%s): %d pixels in the plot" % (name, colour, area[name]))
    t.check(counts.get(ESTIMATE_GREY, 0) > 500, "the estimates' grey: %d pixels in the plot"
            % counts.get(ESTIMATE_GREY, 0))
    # Area per dollar is the same for every model (same bar width, height
    # proportional): within the antialiased edges.
    models = [n for n in usd if n in area]
    per = [area[n] / usd[n] for n in models]
    t.check(max(per) / min(per) < 1.03, "pixels per dollar by model: %r"
            % {n: round(p) for n, p in zip(models, per)})
    return axis - top, len(colours), per


def html_chromium(t, env, tdir):
    ledger = os.path.join(tdir, "ledger")
    build_ledger(t, env, tdir, ledger)
    p = budgets.report(t, env, ["daily", "--format", "html", "--ledger", ledger] + OPTIONS)
    text = p.stdout.decode()
    page = os.path.join(tdir, "spend.html")
    with open(page, "w") as f:
        f.write(text)
    check_self_contained(t, text)
    want, doc = json_total_text(t, env, ledger)
    t.check(len(doc["groups"]) == 4, "%d days in the JSON" % len(doc["groups"]))

    # The proxy is the browser's only way out (the network namespace of
    # run.sh has none either); the NetLog says which requests were the
    # page's.
    proxy = Proxy()
    try:
        t0 = time.monotonic()
        png = os.path.join(tdir, "spend.png")
        out, asked = chromium(t, tdir, proxy, page, ["--screenshot=" + png, "--dump-dom"])
        shown = time.monotonic() - t0
        dom = out.decode()
        t.check(not asked, "the page made requests: %r" % asked[:3])
        # A page that asks for an image: the check sees its request, and
        # the request reaches the proxy, not the network.
        probe = os.path.join(tdir, "probe.html")
        with open(probe, "w") as f:
            f.write('<!DOCTYPE html><img src="http://tokenguard-probe.invalid/x.png">')
        _, probed = chromium(t, tdir, proxy, probe, ["--dump-dom"])
        t.check(probed == ["http://tokenguard-probe.invalid/x.png"],
                "the probe page's requests: %r" % probed)
        t.check(any(b"tokenguard-probe.invalid" in s for s in proxy.seen),
                "the probe's request did not reach the proxy: %r" % proxy.seen[:3])
    finally:
        proxy.close()

    parsed = check_dom(t, dom, want)
    legend = [(c, n.rsplit(" ", 1)[0]) for c, n in parsed.legend]
    names = [n for _, n in legend]
    for model in (OPENAI_MODEL, ANTHROPIC_MODEL, HOSTILE):
        t.check(model in names, "%s not in the legend %r" % (model, names))
    # The known cost of each model, from the JSON of the summary by model.
    by_model = json.loads(budgets.report(t, env, ["summary", "--by", "model", "--format",
                                                  "json", "--ledger", ledger] + OPTIONS).stdout)
    usd = {g["model"]: g["cost_usd"] for g in by_model["groups"] if g["cost_usd"]}
    height, ncolours, per = check_screenshot(t, png, [(c, n) for c, n in legend
                                                    if not n.startswith("estimates")], usd)
    return "# %d models, %d days; plot %d px high, %d colours in it; %.0f-%.0f px per $; " \
           "Chromium %.1fs to show the page" % (len(usd), len(doc["groups"]), height, ncolours,
                                              min(per), max(per), shown)


def tests(harness, cases):
    by_name = {c["name"]: c for c in cases}
    if not {export.OPENAI, export.ANTHROPIC, "cohere-chat"} <= set(by_name):
        return []
    return [budgets.BudgetTest(harness, by_name, "curl", "curl", "html-chromium", html_chromium)]
