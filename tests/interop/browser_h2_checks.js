#!/usr/bin/env node
// Headless Chromium on axum_echo --tls: proves the page AND its WebSockets went over HTTP/2
// (RFC 8441), then echoes text and binary with permessage-deflate.
//
// Usage: node browser_h2_checks.js --url https://127.0.0.1:PORT/ [--label TEXT] [--screenshot FILE]
//
// Chromium opens a WebSocket with RFC 8441 only on an HTTP/2 connection it already has to
// that origin, and only when the server's SETTINGS enabled the extended CONNECT; otherwise
// it silently opens an HTTP/1.1 connection and upgrades with 101. So an echo proves
// nothing about HTTP/2 by itself. What does, from the DevTools protocol:
//   * Network.responseReceived for the page: response.protocol === "h2";
//   * Network.webSocketHandshakeResponseReceived for every wss://…/echo socket:
//     response.status === 200 (RFC 8441 §5), not 101 (RFC 6455 §4.2.2).
// The certificate is signed by a throwaway CA; Chromium runs with --ignore-certificate-errors.
'use strict';

const { launch, attachConsole } = require('./chromium');

function parseArgs(argv) {
  const a = { label: 'browser-h2' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--url') a.url = argv[++i];
    else if (k === '--label') a.label = argv[++i];
    else if (k === '--screenshot') a.screenshot = argv[++i];
    else throw new Error(`unexpected argument ${k}`);
  }
  if (!a.url) throw new Error('usage: browser_h2_checks.js --url https://127.0.0.1:PORT/ [--screenshot FILE]');
  return a;
}

// Runs inside the page: a second WebSocket of our own, exact echoes, clean close.
async function echoInPage(wsUrl) {
  const log = [];
  const fail = (m) => { throw new Error(m); };
  const ws = new WebSocket(wsUrl);
  ws.binaryType = 'arraybuffer';
  const queue = [];
  const waiters = [];
  ws.onmessage = (e) => { const w = waiters.shift(); if (w) w(e.data); else queue.push(e.data); };
  const closed = new Promise((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }); });
  await Promise.race([
    new Promise((resolve) => { ws.onopen = resolve; }),
    closed.then((c) => fail(`WebSocket closed before open (code ${c.code})`)),
    new Promise((_, reject) => setTimeout(() => reject(new Error('not open within 15s')), 15000)),
  ]);
  const next = (what) => (queue.length ? Promise.resolve(queue.shift()) : Promise.race([
    new Promise((resolve) => waiters.push(resolve)),
    closed.then((c) => fail(`closed (code ${c.code}) while waiting for the echo of ${what}`)),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`no echo of ${what} within 30s`)), 30000)),
  ]));
  const random = (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
    return b.buffer;
  };
  const pattern = (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 7) % 251; return b.buffer; };

  const texts = ['hello over RFC 8441', '', 'ünïcödé — 中文 — 🦀🚀', '€'.repeat(30000), 'compressible '.repeat(20000)];
  const binaries = [0, 1, 125, 126, 65535, 65536].map(random).concat([random(300000), pattern(1000000)]);
  for (const t of texts) ws.send(t); // pipelined, then read back in order
  for (const [i, t] of texts.entries()) {
    const got = await next(`text #${i}`);
    if (typeof got !== 'string') fail(`text #${i}: got a binary message back`);
    if (got !== t) fail(`text #${i}: sent ${t.length} chars, got ${got.length} chars back, different`);
  }
  log.push(`text: ${texts.map((t) => new TextEncoder().encode(t).length).join(',')} B echoed`);
  for (const b of binaries) ws.send(b);
  for (const [i, b] of binaries.entries()) {
    const got = await next(`binary #${i} (${b.byteLength} B)`);
    if (!(got instanceof ArrayBuffer)) fail(`binary #${i}: got ${typeof got} back`);
    const x = new Uint8Array(b), y = new Uint8Array(got);
    if (x.length !== y.length) fail(`binary #${i}: sent ${x.length} B, got ${y.length} B`);
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) fail(`binary #${i}: first difference at ${k}`);
  }
  log.push(`ArrayBuffer: ${binaries.map((b) => b.byteLength).join(',')} B echoed`);
  const extensions = ws.extensions;
  const protocol = ws.protocol;
  ws.close(1000, 'done');
  const close = await Promise.race([closed,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no close event within 10s')), 10000))]);
  return { log, extensions, protocol, close };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tag = `[${args.label}]`;
  const origin = new URL(args.url).origin;
  const wsUrl = origin.replace(/^https:/, 'wss:') + '/echo';
  const { browser, close, version } = await launch(['--ignore-certificate-errors']);
  const failures = [];
  const check = (cond, msg) => { if (!cond) { failures.push(msg); console.log(`${tag} FAIL ${msg}`); } };
  try {
    console.log(`${tag} ${version}`);
    const page = await browser.newPage();
    attachConsole(page, tag);
    const cdp = await page.createCDPSession();
    const documents = new Map(); // url -> protocol
    const sockets = new Map(); // requestId -> {url, request, response}
    cdp.on('Network.responseReceived', (e) => {
      if (e.type === 'Document') documents.set(e.response.url, e.response.protocol);
    });
    cdp.on('Network.webSocketCreated', (e) => sockets.set(e.requestId, { url: e.url }));
    cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
      const s = sockets.get(e.requestId) || {};
      s.request = e.request;
      sockets.set(e.requestId, s);
    });
    cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
      const s = sockets.get(e.requestId) || {};
      s.response = e.response;
      sockets.set(e.requestId, s);
    });
    await cdp.send('Network.enable');

    // 1. The page over HTTP/2 (ALPN h2): this opens the connection the WebSockets reuse.
    const resp = await page.goto(args.url, { waitUntil: 'load', timeout: 30000 });
    check(resp && resp.status() === 200, `GET ${args.url}: HTTP ${resp && resp.status()}, expected 200`);
    const docProtocol = documents.get(args.url);
    console.log(`${tag} page ${args.url}: status ${resp && resp.status()}, protocol ${docProtocol}`);
    check(docProtocol === 'h2', `page protocol ${docProtocol}, expected h2`);

    // 2. The page's own WebSocket: it reports "open"; typed text comes back in #log.
    try {
      await page.waitForFunction(() => document.getElementById('state').textContent === 'open', { timeout: 15000, polling: 100 });
      const typed = 'typed into the page over h2 ✓';
      await page.$eval('#text', (el, v) => { el.value = v; }, typed);
      await page.click('#send');
      await page.waitForFunction((t) => document.getElementById('log').textContent.includes(`echo: ${t}`),
        { timeout: 15000, polling: 100 }, typed);
      console.log(`${tag} page's own WebSocket: open, typed text echoed into #log`);
    } catch (e) {
      const state = await page.$eval('#state', (el) => el.textContent).catch(() => '?');
      check(false, `page's own WebSocket (state ${JSON.stringify(state)}): ${e.message}`);
    }

    // 3. A WebSocket of our own from the page: exact echoes, deflate negotiated, clean close.
    try {
      const r = await page.evaluate(echoInPage, wsUrl);
      for (const line of r.log) console.log(`${tag} ${line}`);
      console.log(`${tag} ws.extensions ${JSON.stringify(r.extensions)}, ws.protocol ${JSON.stringify(r.protocol)}, ` +
        `close ${r.close.code} wasClean ${r.close.wasClean}`);
      check(/(^|,\s*)permessage-deflate(;|,|$)/.test(r.extensions), `ws.extensions ${JSON.stringify(r.extensions)}, expected permessage-deflate`);
      check(r.close.code === 1000 && r.close.wasClean, `close: code ${r.close.code} wasClean ${r.close.wasClean}, expected 1000 clean`);
    } catch (e) {
      check(false, `echo from the page: ${e.message}`);
    }

    // 4. Every WebSocket to /echo was opened with RFC 8441: handshake status 200, not 101.
    const ours = [...sockets.values()].filter((s) => s.url === wsUrl);
    check(ours.length === 2, `DevTools saw ${ours.length} WebSockets to ${wsUrl}, expected 2 (the page's and ours)`);
    for (const [i, s] of ours.entries()) {
      const st = s.response && s.response.status;
      const ext = s.response && Object.entries(s.response.headers || {})
        .find(([k]) => k.toLowerCase() === 'sec-websocket-extensions');
      console.log(`${tag} DevTools socket #${i} ${s.url}: handshake status ${st} ${s.response && s.response.statusText || ''}, ` +
        `request headers ${JSON.stringify(s.request && s.request.headers)}, extensions ${ext && ext[1]}`);
      check(st === 200, `socket #${i}: handshake status ${st}, expected 200 (RFC 8441; 101 means Chromium fell back to HTTP/1.1)`);
    }
    if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
  } finally {
    await close();
  }
  if (failures.length) {
    console.log(`${tag} ${failures.length} failures`);
    process.exit(1);
  }
  console.log(`${tag} page over h2, WebSockets over RFC 8441 (status 200), echoes exact, permessage-deflate`);
  process.exit(0);
}

main().catch((e) => {
  console.log(`[browser-h2] FAIL: ${e && e.stack || e}`);
  process.exit(1);
});
