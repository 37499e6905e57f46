// common.js - what the Node SDK clients share: the command line of every
// test client (clients/common.py) and the shape of their output file.
//
// Command line: CLIENT OUT HTTPVER EXCHANGE [--next EXCHANGE]...
//   EXCHANGE = METHOD URL BODYFILE ["Name: value"]...
// The SDK makes the request itself from the parsed BODYFILE: the URL only
// chooses the SDK call, the API key comes from the auth header, and the
// x-fake-* headers go along as extra request headers.  HTTPVER is ignored
// (the SDKs speak HTTP/1.1).  The CA to trust is $NODE_EXTRA_CA_CERTS.
//
// OUT gets one JSON line per exchange: {"result": ...} with what the SDK
// returned (the list of events of a stream), or {"error": ...} with the
// class, status and headers of what it threw; written once at the end so a
// crash leaves no half file.
'use strict';

const fs = require('fs');

// Headers the SDKs set themselves from their own options.
const OWN_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key', 'anthropic-version',
  'content-type'];

function parseArgs(argv) {
  if (argv.length < 5) {
    process.stderr.write('usage: CLIENT OUT HTTPVER METHOD URL BODYFILE [HEADER]... [--next ...]\n');
    process.exit(2);
  }
  const exchanges = [];
  let group = [];
  for (const a of argv.slice(2).concat(['--next'])) {
    if (a !== '--next') {
      group.push(a);
      continue;
    }
    const [method, url, bodyFile, ...hdrs] = group;
    const headers = {};
    let apiKey = null;
    for (const h of hdrs) {
      const i = h.indexOf(':');
      const name = h.slice(0, i).trim();
      const value = h.slice(i + 1).trim();
      const lower = name.toLowerCase();
      if (lower === 'authorization' && value.startsWith('Bearer ')) apiKey = value.slice(7);
      if (OWN_HEADERS.includes(lower)) continue;
      headers[name] = value;
    }
    const body = bodyFile === '-' ? null : JSON.parse(fs.readFileSync(bodyFile, 'utf8'));
    exchanges.push({ method, url: new URL(url), body, headers, apiKey });
    group = [];
  }
  return { out: argv[0], http: argv[1], exchanges };
}

function errorRecord(err) {
  const headers = {};
  const h = err && err.headers;
  if (h && typeof h === 'object') {
    for (const k of Object.keys(h).sort()) headers[k.toLowerCase()] = String(h[k]);
  }
  return { class: err && err.constructor ? err.constructor.name : typeof err,
    status: err && err.status !== undefined ? err.status : null,
    headers, body: err && err.error !== undefined ? err.error : null,
    message: String(err && err.message) };
}

// Runs call(exchange) for each exchange in order, then writes OUT.  A stream
// (an async iterable) is read to its end.
async function run(call) {
  const args = parseArgs(process.argv.slice(2));
  const lines = [];
  for (const ex of args.exchanges) {
    try {
      const res = await call(ex);
      if (res && typeof res[Symbol.asyncIterator] === 'function') {
        const events = [];
        for await (const ev of res) events.push(ev);
        lines.push({ result: events });
      } else {
        lines.push({ result: res });
      }
    } catch (err) {
      lines.push({ error: errorRecord(err) });
    }
  }
  fs.writeFileSync(args.out, lines.map((l) => JSON.stringify(l) + '\n').join(''));
}

module.exports = { run };
