#!/usr/bin/env node
// Node `ws` client checks against a WebSocket echo server.
//
// Usage: node node_client_checks.js URL [--accepted-origin O] [--rejected-origin O]
//                                       [--label TEXT] [--only a,b,c]
//                                       [--ca CA.pem] [--max-message-size BYTES]
// --ca: trust these CA certificates (instead of the system's) for a wss:// URL.
// --max-message-size: leave binary sizes above BYTES out of binary_sizes.
//
// Needs NODE_PATH pointing at the node_modules installed by install.sh.
// Prints one ok/FAIL line per check; exits 1 if any check failed.
'use strict';

const WebSocket = require('ws');
const crypto = require('crypto');
const fs = require('fs');

const MiB = 1 << 20;
const CHECK_TIMEOUT_MS = 90000;
// Options for every connection (e.g. `ca` for wss://), set from the command line.
const CONNECT_OPTIONS = {};

class CheckFailed extends Error {}
function expect(cond, msg) {
  if (!cond) throw new CheckFailed(msg);
}

function payload(n, seed = 0) {
  // Deterministic pseudo-random bytes (fast enough for 16 MiB).
  const out = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761 + n + 1) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function describe(data, isBinary) {
  const len = Buffer.isBuffer(data) ? data.length : Buffer.byteLength(data);
  return `${isBinary ? 'binary' : 'text'}(${len} B)`;
}

// Wraps a ws client into an awaitable message queue.
class Peer {
  constructor(url, protocols, options) {
    this.ws = new WebSocket(url, protocols, {
      maxPayload: 64 * MiB,
      handshakeTimeout: 10000,
      ...CONNECT_OPTIONS,
      ...options,
    });
    this.queue = [];
    this.waiters = [];
    this.pongs = [];
    this.pongWaiters = [];
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const w of this.waiters.splice(0)) w.reject(new CheckFailed(`connection closed (code ${code}) while waiting for a message`));
      });
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('unexpected-response', (req, res) => {
        reject(Object.assign(new Error(`unexpected HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
        req.destroy();
      });
      this.ws.on('error', (e) => reject(e));
    });
    this.ws.on('message', (data, isBinary) => {
      const m = { data, isBinary };
      const w = this.waiters.shift();
      if (w) w.resolve(m); else this.queue.push(m);
    });
    this.ws.on('pong', (data) => {
      const w = this.pongWaiters.shift();
      if (w) w(data); else this.pongs.push(data);
    });
  }

  static async open(url, protocols, options) {
    const p = new Peer(url, protocols, options);
    await p.opened;
    return p;
  }

  next(timeoutMs = 30000, label = 'message') {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new CheckFailed(`${label}: no echo within ${timeoutMs / 1000}s`)), timeoutMs);
      this.waiters.push({
        resolve: (m) => { clearTimeout(t); resolve(m); },
        reject: (e) => { clearTimeout(t); reject(e); },
      });
    });
  }

  nextPong(timeoutMs = 10000) {
    if (this.pongs.length) return Promise.resolve(this.pongs.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new CheckFailed(`no pong within ${timeoutMs / 1000}s`)), timeoutMs);
      this.pongWaiters.push((d) => { clearTimeout(t); resolve(d); });
    });
  }

  send(data, opts = {}) {
    return new Promise((resolve, reject) => this.ws.send(data, opts, (e) => (e ? reject(e) : resolve())));
  }

  async roundtrip(data, label, timeoutMs = 30000) {
    const isBinary = typeof data !== 'string';
    await this.send(data, { binary: isBinary });
    const m = await this.next(timeoutMs, label);
    compare(data, isBinary, m, label);
  }

  // Close with code/reason, expect the code echoed and the TCP connection closed promptly.
  async close(code = 1000, reason = '', label = 'close') {
    const t0 = Date.now();
    this.ws.close(code, reason);
    const timer = new Promise((_, reject) =>
      setTimeout(() => reject(new CheckFailed(`${label}: no close frame / TCP close from server within 10s`)), 10000));
    const res = await Promise.race([this.closed, timer]);
    const dt = (Date.now() - t0) / 1000;
    expect(res.code === code, `${label}: sent close code ${code}, server answered ${res.code} (expected it echoed; 1005 = no code, 1006 = no close frame)`);
    expect(dt < 5, `${label}: close handshake took ${dt.toFixed(1)}s; the server should close TCP right after its close frame`);
    return res;
  }
}

function compare(sent, sentBinary, m, label) {
  expect(m.isBinary === sentBinary,
    `${label}: sent ${describe(sent, sentBinary)}, got ${describe(m.data, m.isBinary)} back (opcode changed)`);
  const a = Buffer.isBuffer(sent) ? sent : Buffer.from(sent);
  const b = Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data);
  if (!a.equals(b)) {
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    throw new CheckFailed(`${label}: echo differs: sent ${a.length} B, got ${b.length} B, first difference at ${i}`);
  }
}

class Checks {
  constructor(url, acceptedOrigin, rejectedOrigin, maxMessageSize) {
    this.url = url;
    this.maxMessageSize = maxMessageSize;
    this.acceptedOrigin = acceptedOrigin;
    this.rejectedOrigin = rejectedOrigin;
  }

  open(protocols, options) {
    return Peer.open(this.url, protocols, options);
  }

  async text() {
    const p = await this.open();
    for (const m of ['Hello from ws!', '', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65536),
      'ünïcödé — 中文 — 🦀🚀', '€'.repeat(30000)]) {
      await p.roundtrip(m, `text ${Buffer.byteLength(m)} B`);
    }
    await p.close();
  }

  async binary_sizes() {
    const sizes = [0, 125, 126, 65535, 65536, MiB, 16 * MiB]
      .filter((n) => this.maxMessageSize === undefined || n <= this.maxMessageSize);
    const p = await this.open();
    for (const n of sizes) await p.roundtrip(payload(n, 1), `binary ${n} B`, 60000);
    await p.close();
    return 'sizes ' + sizes.join(',');
  }

  async fragmented() {
    const p = await this.open();
    // Text in 3 fragments: first frame opcode text, then continuation frames.
    await p.send('frag-1 ', { fin: false });
    await p.send('frag-2 ', { fin: false });
    await p.send('frag-3 ✓', { fin: true });
    compare('frag-1 frag-2 frag-3 ✓', false, await p.next(30000, 'text in 3 fragments'), 'text in 3 fragments');
    // Binary in 3 fragments (first 70000 B uses a 64-bit length).
    const parts = [payload(70000, 2), payload(1, 3), payload(300, 4)];
    await p.send(parts[0], { binary: true, fin: false });
    // A ping between fragments (control frames may be interleaved, RFC 6455 §5.4).
    p.ws.ping(Buffer.from('between-fragments'));
    await p.send(parts[1], { binary: true, fin: false });
    await p.send(parts[2], { binary: true, fin: true });
    compare(Buffer.concat(parts), true, await p.next(30000, 'binary in 3 fragments'), 'binary in 3 fragments');
    const pong = await p.nextPong();
    expect(pong.toString() === 'between-fragments', `pong payload ${JSON.stringify(pong.toString())}, expected the ping's`);
    await p.close();
  }

  async ping_pong() {
    const p = await this.open();
    for (const data of [Buffer.from('node-ping'), Buffer.alloc(0), payload(125, 9)]) {
      p.ws.ping(data);
      const pong = await p.nextPong();
      expect(pong.equals(data), `pong payload (${pong.length} B) differs from ping payload (${data.length} B)`);
    }
    await p.roundtrip('after pings', 'echo after pings');
    await p.close();
    return '3 pings answered with identical payloads';
  }

  async close_code_reason() {
    const p = await this.open();
    await p.roundtrip('closing soon', 'echo before close');
    const res = await p.close(4002, 'node says bye ✓', 'close 4002');
    const q = await this.open();
    await q.close(1000, '', 'close 1000');
    return `4002 echoed (reason ${JSON.stringify(res.reason)}), 1000 echoed`;
  }

  async pipelined() {
    const p = await this.open();
    const n = 100;
    const msgs = [];
    for (let i = 0; i < n; i++) msgs.push(i % 2 ? payload(i * 101, i) : `node pipelined #${i} ✓`);
    for (const m of msgs) p.ws.send(m, { binary: typeof m !== 'string' });
    for (let i = 0; i < n; i++) {
      const m = msgs[i];
      compare(m, typeof m !== 'string', await p.next(30000, `pipelined #${i}`), `pipelined message #${i} (order)`);
    }
    await p.close();
    return `${n} messages`;
  }

  async subprotocols() {
    const cases = [
      [['v10.stomp', 'v11.stomp'], 'v11.stomp'],
      [['v11.stomp', 'v12.stomp'], 'v12.stomp'],
      [['foo'], ''],
    ];
    for (const [offered, want] of cases) {
      let p;
      try {
        p = await this.open(offered);
      } catch (e) {
        // ws (unlike browsers) fails the handshake when it offered protocols
        // and the server selected none: that is the expected outcome here.
        if (want === '' && /no subprotocol/i.test(e.message)) continue;
        throw new CheckFailed(`offered ${offered}: handshake failed: ${e.message}`);
      }
      expect(p.ws.protocol === want, `offered ${offered}: selected ${JSON.stringify(p.ws.protocol)}, expected ${JSON.stringify(want)}`);
      await p.roundtrip('stomp', 'echo');
      await p.close();
    }
    return 'v10+v11->v11, v11+v12->v12, foo->none (ws aborts: "Server sent no subprotocol")';
  }

  async origin() {
    const notes = [];
    if (this.acceptedOrigin) {
      const p = await this.open(undefined, { origin: this.acceptedOrigin });
      await p.roundtrip('allowed origin', 'echo with allowed Origin');
      await p.close();
      notes.push(`Origin ${this.acceptedOrigin} accepted`);
    }
    if (this.rejectedOrigin) {
      let status;
      try {
        const p = await this.open(undefined, { origin: this.rejectedOrigin });
        p.ws.terminate();
      } catch (e) {
        status = e.statusCode;
        if (status === undefined) throw new CheckFailed(`Origin ${this.rejectedOrigin}: expected HTTP 403, got error ${e.message}`);
      }
      expect(status !== undefined, `Origin ${this.rejectedOrigin} was accepted, expected HTTP 403`);
      expect(status === 403, `Origin ${this.rejectedOrigin}: got HTTP ${status}, expected 403`);
      notes.push(`Origin ${this.rejectedOrigin} -> 403`);
    }
    const q = await this.open();
    await q.roundtrip('no origin', 'echo without Origin');
    await q.close();
    notes.push('no Origin accepted');
    return notes.join(', ');
  }

  async concurrent() {
    const conns = 50, perConn = 8;
    const one = async (cid) => {
      const p = await this.open();
      for (let j = 0; j < perConn; j++) {
        const m = j % 2 ? payload(cid * 257 + j * 997, cid) : `node conn ${cid} msg ${j}`;
        await p.roundtrip(m, `connection ${cid} message ${j}`);
      }
      await p.close(1000, '', `connection ${cid} close`);
    };
    const results = await Promise.allSettled(Array.from({ length: conns }, (_, i) => one(i)));
    const errors = results.filter((r) => r.status === 'rejected');
    expect(errors.length === 0, `${errors.length}/${conns} connections failed; first: ${errors[0] && errors[0].reason && errors[0].reason.message}`);
    return `${conns} connections x ${perConn} messages`;
  }

  async still_alive() {
    const p = await this.open();
    await p.roundtrip('still there?', 'final echo');
    await p.close();
  }
}
Checks.ORDER = ['text', 'binary_sizes', 'fragmented', 'ping_pong', 'close_code_reason', 'pipelined',
  'subprotocols', 'origin', 'concurrent', 'still_alive'];

function parseArgs(argv) {
  const a = { label: 'node-client' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--accepted-origin') a.acceptedOrigin = argv[++i];
    else if (k === '--rejected-origin') a.rejectedOrigin = argv[++i];
    else if (k === '--label') a.label = argv[++i];
    else if (k === '--only') a.only = argv[++i].split(',');
    else if (k === '--ca') a.ca = argv[++i];
    else if (k === '--max-message-size') a.maxMessageSize = Number(argv[++i]);
    else if (!a.url) a.url = k;
    else throw new Error(`unexpected argument ${k}`);
  }
  if (!a.url) throw new Error('usage: node_client_checks.js URL [--accepted-origin O] [--rejected-origin O]');
  return a;
}

function reachable(url) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const sock = require('net').connect({ host: u.hostname, port: Number(u.port) || 80 });
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(5000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.ca) CONNECT_OPTIONS.ca = fs.readFileSync(args.ca);
  const checks = new Checks(args.url, args.acceptedOrigin, args.rejectedOrigin, args.maxMessageSize);
  const names = args.only || Checks.ORDER;
  const failed = [];
  for (const name of names) {
    if (typeof checks[name] !== 'function') {
      console.error(`unknown check ${name}`);
      process.exit(2);
    }
    const t0 = Date.now();
    let timer;
    try {
      const detail = await Promise.race([
        checks[name](),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new CheckFailed(`timed out after ${CHECK_TIMEOUT_MS / 1000}s`)), CHECK_TIMEOUT_MS); }),
      ]);
      console.log(`[${args.label}] ok   ${name} (${((Date.now() - t0) / 1000).toFixed(2)}s)${detail ? ' - ' + detail : ''}`);
    } catch (e) {
      failed.push(name);
      console.log(`[${args.label}] FAIL ${name}: ${e instanceof CheckFailed ? '' : (e.constructor.name + ': ')}${e.message}`);
    } finally {
      clearTimeout(timer);
    }
    if (failed[failed.length - 1] === name && !(await reachable(args.url))) {
      console.log(`[${args.label}] FAIL server no longer accepts TCP connections (crashed?); skipping remaining checks`);
      break;
    }
  }
  if (failed.length) {
    console.log(`[${args.label}] ${failed.length} of ${names.length} checks FAILED: ${failed.join(', ')}`);
    process.exit(1);
  }
  console.log(`[${args.label}] all ${names.length} checks passed`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
