#!/usr/bin/env node
// Node `ws` server used to test OUR echo_client.
//
// Usage: node node_peer_server.js HOST:PORT [--result FILE] [--timeout SECONDS]
//
// Accepts ONE connection, then sends a text message, a binary message, a
// large binary message, a text message in 3 fragments (send(..., {fin:false}))
// and a ping; checks every echo (and the pong), closes with 1000 and checks
// the client's close reply. Writes JSON to --result; exit 0 pass, 1 fail,
// 2 no client.
'use strict';

const fs = require('fs');
const { WebSocketServer } = require('ws');

const TIMEOUT_MS = 10000;

function parseArgs(argv) {
  const a = { timeout: 60 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--result') a.result = argv[++i];
    else if (argv[i] === '--timeout') a.timeout = Number(argv[++i]);
    else if (!a.addr) a.addr = argv[i];
    else throw new Error(`unexpected argument ${argv[i]}`);
  }
  if (!a.addr) throw new Error('usage: node_peer_server.js HOST:PORT [--result FILE]');
  return a;
}

function bytes(n, seed) {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24; }
  return b;
}

function exercise(ws, req) {
  const steps = [];
  const step = (m) => { steps.push(m); console.log(`[node-peer] ok   ${m}`); };
  const inbox = [];
  const waiters = [];
  let closeInfo = null;
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => {
    closeInfo = { code, reason: reason.toString() };
    for (const w of waiters.splice(0)) w.reject(new Error(`connection closed (code ${code}) while waiting for an echo`));
    resolve(closeInfo);
  }));
  ws.on('message', (data, isBinary) => {
    const w = waiters.shift();
    if (w) w.resolve({ data, isBinary }); else inbox.push({ data, isBinary });
  });
  const next = (label) => inbox.length ? Promise.resolve(inbox.shift()) : new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${label}: no echo within ${TIMEOUT_MS / 1000}s`)), TIMEOUT_MS);
    waiters.push({ resolve: (m) => { clearTimeout(t); resolve(m); }, reject: (e) => { clearTimeout(t); reject(e); } });
  });
  const check = (sent, isBinary, m, label) => {
    if (m.isBinary !== isBinary) throw new Error(`${label}: opcode changed (sent ${isBinary ? 'binary' : 'text'})`);
    if (!Buffer.from(sent).equals(Buffer.from(m.data))) throw new Error(`${label}: echo differs`);
    step(`${label} echoed`);
  };

  const run = async () => {
    step(`client connected: GET ${req.url}, User-Agent ${JSON.stringify(req.headers['user-agent'] || '?')}, extensions offered ${JSON.stringify(req.headers['sec-websocket-extensions'] || null)}`);
    const text = 'Hello from the Node peer — ünïcödé ✓ 🦀';
    ws.send(text);
    check(text, false, await next('text'), 'text');
    const bin = bytes(300, 1);
    ws.send(bin);
    check(bin, true, await next('binary 300 B'), 'binary 300 B');
    const big = bytes(70000, 2);
    ws.send(big);
    check(big, true, await next('binary 70000 B'), 'binary 70000 B');
    ws.send('frag-1 ', { fin: false });
    ws.send('frag-2 ', { fin: false });
    ws.send('frag-3 ✓', { fin: true });
    check('frag-1 frag-2 frag-3 ✓', false, await next('text in 3 fragments'), 'text in 3 fragments');
    const pong = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no pong within ${TIMEOUT_MS / 1000}s`)), TIMEOUT_MS);
      ws.once('pong', (d) => { clearTimeout(t); resolve(d); });
    });
    ws.ping(Buffer.from('peer-ping'));
    const pd = await pong;
    if (pd.toString() !== 'peer-ping') throw new Error(`pong payload ${JSON.stringify(pd.toString())}, expected "peer-ping"`);
    step('pong received');
    ws.close(1000, 'done');
    const info = await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('no close reply within 10s')), TIMEOUT_MS))]);
    if (info.code !== 1000) throw new Error(`client answered close 1000 with code ${info.code} (1005 = empty, 1006 = no close frame)`);
    step(`close handshake complete (client replied ${info.code})`);
    return steps;
  };
  return run().then(
    () => ({ pass: true, steps }),
    (e) => { ws.terminate(); return { pass: false, steps, error: e.message }; });
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const i = args.addr.lastIndexOf(':');
  const host = args.addr.slice(0, i);
  const port = Number(args.addr.slice(i + 1));
  const wss = new WebSocketServer({ host, port, maxPayload: 64 << 20 });
  let taken = false;
  const finish = (result) => {
    if (args.result) fs.writeFileSync(args.result, JSON.stringify(result, null, 2));
    console.log(result.pass ? '[node-peer] PASS' : `[node-peer] FAIL: ${result.error}`);
    wss.close();
    // Give the socket a moment to flush/close, then exit.
    setTimeout(() => process.exit(result.pass ? 0 : (result.steps.length ? 1 : 2)), 200);
  };
  const timer = setTimeout(() => finish({ pass: false, steps: [], error: `no client connected within ${args.timeout}s` }), args.timeout * 1000);
  wss.on('listening', () => console.log(`[node-peer] listening on ${args.addr}`));
  wss.on('connection', (ws, req) => {
    if (taken) { ws.close(1013, 'only one client'); return; }
    taken = true;
    clearTimeout(timer);
    exercise(ws, req).then(finish);
  });
}

main();
