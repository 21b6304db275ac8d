#!/usr/bin/env node
// RFC 8441 (WebSockets over HTTP/2) against axum_echo, with Node's own `http2` module and
// RFC 6455 framing written out below: no WebSocket library is involved, so nothing hides
// what goes over the wire.
//
// Usage: node node_h2_checks.js URL [--ca CA.pem] [--label TEXT]
//   URL  http://127.0.0.1:PORT (h2c with prior knowledge) or https://127.0.0.1:PORT (ALPN h2)
//
// Checks, all on ONE HTTP/2 connection:
//   * the server's SETTINGS carry SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3);
//   * GET / answers 200 with the HTML page;
//   * 10 extended CONNECTs (:protocol websocket, :path /echo) answered :status 200, without
//     Sec-WebSocket-Accept and without an extension we did not offer; on all 10 streams at
//     once: distinct text and binary messages echoed exactly, then a Close 1000 answered with
//     1000 and the stream ended by the server. Each stream carries a 200,000-byte message
//     (more than Node's 65,535-byte stream window, so the server's echo waits for
//     WINDOW_UPDATEs) and about 290 kB in all (2.9 MB on the connection, more than the
//     server's 1 MiB connection window);
//   * an extended CONNECT with :protocol webtransport is refused with 400, one with
//     Sec-WebSocket-Version 8 with 426 and Sec-WebSocket-Version: 13.
// Prints one ok/FAIL line per check; exits 1 if any failed.
'use strict';

const http2 = require('http2');
const crypto = require('crypto');
const fs = require('fs');

const STEP_TIMEOUT_MS = 20000;
const STREAMS = 10;
const BIG = 200000;

class CheckFailed extends Error {}
function expect(cond, msg) {
  if (!cond) throw new CheckFailed(msg);
}
function within(promise, ms, what) {
  let t;
  const timer = new Promise((_, reject) => {
    t = setTimeout(() => reject(new CheckFailed(`${what}: nothing within ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timer]).finally(() => clearTimeout(t));
}

// ---------------------------------------------------------------- RFC 6455 framing ----
const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

// RFC 6455 §5.3: "The masking key is a 32-bit value chosen at random by the client."
function encodeFrame(opcode, payload, fin = true) {
  const len = payload.length;
  const head = [(fin ? 0x80 : 0) | opcode];
  if (len < 126) head.push(0x80 | len);
  else if (len < 65536) head.push(0x80 | 126, len >> 8, len & 0xff);
  else {
    head.push(0x80 | 127);
    const l = Buffer.alloc(8);
    l.writeBigUInt64BE(BigInt(len));
    head.push(...l);
  }
  const key = crypto.randomBytes(4);
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

function closePayload(code, reason) {
  const r = Buffer.from(reason);
  const p = Buffer.alloc(2 + r.length);
  p.writeUInt16BE(code);
  r.copy(p, 2);
  return p;
}

// Parses the server's frames; calls onMessage({opcode, data}) for whole data messages and
// onControl({opcode, data}) for control frames. Throws CheckFailed on a protocol violation.
class FrameDecoder {
  constructor(onMessage, onControl) {
    this.buf = Buffer.alloc(0);
    this.parts = null; // fragments of the message being reassembled
    this.msgOpcode = 0;
    this.onMessage = onMessage;
    this.onControl = onControl;
  }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0], b1 = this.buf[1];
      let len = b1 & 0x7f, off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const fin = (b0 & 0x80) !== 0, opcode = b0 & 0x0f;
      // RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends to the client."
      expect((b1 & 0x80) === 0, 'server sent a masked frame');
      // §5.2: RSV bits MUST be 0 unless an extension was negotiated (we offered none).
      expect((b0 & 0x70) === 0, `server frame with RSV bits 0x${(b0 & 0x70).toString(16)}`);
      const data = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (opcode >= 0x8) {
        // §5.5: "All control frames MUST have a payload length of 125 bytes or less and
        // MUST NOT be fragmented."
        expect(fin && len <= 125, `bad control frame (opcode ${opcode}, fin ${fin}, ${len} B)`);
        this.onControl({ opcode, data: Buffer.from(data) });
      } else if (opcode === OP.CONT) {
        expect(this.parts !== null, 'continuation frame without a message to continue');
        this.parts.push(data);
        if (fin) this.finish();
      } else {
        expect(opcode === OP.TEXT || opcode === OP.BINARY, `unknown opcode ${opcode}`);
        expect(this.parts === null, 'new data frame inside a fragmented message');
        this.msgOpcode = opcode;
        this.parts = [data];
        if (fin) this.finish();
      }
    }
  }

  finish() {
    const data = Buffer.concat(this.parts);
    this.parts = null;
    this.onMessage({ opcode: this.msgOpcode, data });
  }
}

// One WebSocket on one HTTP/2 stream: messages and the Close frame as awaitable queues.
class StreamSocket {
  constructor(stream, label) {
    this.stream = stream;
    this.label = label;
    this.queue = [];
    this.waiters = [];
    this.error = null;
    this.closeFrame = null;
    this.ended = new Promise((resolve) => stream.once('end', resolve));
    this.closeReceived = new Promise((resolve) => { this.gotClose = resolve; });
    const decoder = new FrameDecoder(
      (m) => this.deliver(m),
      (c) => {
        if (c.opcode === OP.PING) stream.write(encodeFrame(OP.PONG, c.data));
        else if (c.opcode === OP.CLOSE) {
          this.closeFrame = c.data;
          this.gotClose(c.data);
        }
      });
    stream.on('data', (chunk) => {
      try { decoder.push(chunk); } catch (e) { this.fail(e); }
    });
    stream.on('error', (e) => this.fail(e));
    stream.on('close', () => this.fail(new CheckFailed(`${label}: stream closed (RST_STREAM code ${stream.rstCode})`)));
  }

  fail(e) {
    if (!this.error) this.error = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  deliver(m) {
    const w = this.waiters.shift();
    if (w) w.resolve(m); else this.queue.push(m);
  }

  next(what) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.error) return Promise.reject(this.error);
    return within(new Promise((resolve, reject) => this.waiters.push({ resolve, reject })),
      STEP_TIMEOUT_MS, `${this.label}: echo of ${what}`);
  }

  send(opcode, payload) {
    this.stream.write(encodeFrame(opcode, payload));
  }
}

function sameMessage(sent, got, label) {
  expect(got.opcode === sent.opcode,
    `${label}: sent opcode ${sent.opcode}, got ${got.opcode} back (opcode changed)`);
  if (!got.data.equals(sent.data)) {
    let i = 0;
    while (i < sent.data.length && i < got.data.length && sent.data[i] === got.data[i]) i++;
    throw new CheckFailed(`${label}: echo differs: sent ${sent.data.length} B, got ${got.data.length} B, first difference at ${i}`);
  }
}

// ---------------------------------------------------------------- HTTP/2 helpers ------
function response(req, label) {
  return within(new Promise((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  }), STEP_TIMEOUT_MS, `${label}: response headers`);
}

function readBody(req, label) {
  return within(new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  }), STEP_TIMEOUT_MS, `${label}: body`);
}

// RFC 8441 §4: ":method CONNECT", ":protocol" the upgrade token, ":scheme" and ":path" as
// for the target URI; §5: Sec-WebSocket-Version (and no Sec-WebSocket-Key).
function extendedConnect(session, url, protocol, version = '13') {
  return session.request({
    ':method': 'CONNECT',
    ':protocol': protocol,
    ':scheme': url.protocol.slice(0, -1),
    ':path': '/echo',
    ':authority': url.host,
    'sec-websocket-version': version,
  }, { endStream: false });
}

// ---------------------------------------------------------------- the checks ----------
class Checks {
  constructor(session, url) {
    this.session = session;
    this.url = url;
  }

  async settings() {
    // RFC 8441 §3: "SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8): Upon receipt of
    // SETTINGS_ENABLE_CONNECT_PROTOCOL with a value of 1, a client MAY use the Extended
    // CONNECT as defined in this document when creating new streams."
    const s = this.session.remoteSettings;
    expect(s.enableConnectProtocol === true,
      `server SETTINGS: enableConnectProtocol=${s.enableConnectProtocol}, expected true (ENABLE_CONNECT_PROTOCOL=1)`);
    return `ALPN ${this.session.alpnProtocol}, remote SETTINGS ${JSON.stringify(s)}`;
  }

  async page() {
    const req = this.session.request({ ':method': 'GET', ':path': '/' });
    const headers = await response(req, 'GET /');
    const body = (await readBody(req, 'GET /')).toString();
    expect(headers[':status'] === 200, `GET /: :status ${headers[':status']}, expected 200`);
    expect(/^text\/html/.test(headers['content-type'] || ''), `GET /: content-type ${headers['content-type']}`);
    expect(body.includes('/echo'), 'GET /: the page does not mention /echo');
    return `200 ${headers['content-type']}, ${body.length} B`;
  }

  async multiplexed() {
    const sockets = [];
    const streamIds = new Set();
    for (let i = 0; i < STREAMS; i++) {
      const req = extendedConnect(this.session, this.url, 'websocket');
      const headers = await response(req, `websocket #${i}`);
      expect(headers[':status'] === 200,
        `websocket #${i}: :status ${headers[':status']}, expected 200 (RFC 8441 §5: a 2xx opens the tunnel)`);
      // RFC 8441 §5: "The Sec-WebSocket-Key and Sec-WebSocket-Accept header fields are not used".
      expect(headers['sec-websocket-accept'] === undefined,
        `websocket #${i}: response carries Sec-WebSocket-Accept ${headers['sec-websocket-accept']}`);
      // RFC 6455 §9.1: the server may only accept extensions the client offered (none).
      expect(headers['sec-websocket-extensions'] === undefined,
        `websocket #${i}: extension ${headers['sec-websocket-extensions']} negotiated but none offered`);
      streamIds.add(req.id);
      sockets.push(new StreamSocket(req, `websocket #${i} (stream ${req.id})`));
    }
    expect(streamIds.size === STREAMS, `expected ${STREAMS} distinct streams, got ids ${[...streamIds]}`);

    // All 10 at once: every socket sends its messages before any echo is read, so the
    // large ones overlap and exhaust the connection's and the streams' windows.
    const run = async (ws, i) => {
      const msgs = [
        { opcode: OP.TEXT, data: Buffer.from(`stream ${i}: héllo over HTTP/2 ✓ ${'·'.repeat(i)}`) },
        { opcode: OP.BINARY, data: crypto.randomBytes(1000 + i) },
        { opcode: OP.BINARY, data: crypto.randomBytes(BIG + i) },
        { opcode: OP.TEXT, data: Buffer.from('€'.repeat(30000 + i)) },
        { opcode: OP.BINARY, data: Buffer.alloc(0) },
      ];
      for (const m of msgs) ws.send(m.opcode, m.data);
      for (const [k, m] of msgs.entries()) {
        sameMessage(m, await ws.next(`message ${k} (${m.data.length} B)`), `${ws.label} message ${k}`);
      }
      // RFC 6455 §5.5.1: "the endpoint MUST send a Close frame in response" — with the code
      // (§7.4.1: 1000, normal closure).
      ws.send(OP.CLOSE, closePayload(1000, `bye ${i}`));
      const close = await within(ws.closeReceived, STEP_TIMEOUT_MS, `${ws.label}: Close reply`);
      expect(close.length >= 2, `${ws.label}: Close reply without a status code`);
      expect(close.readUInt16BE(0) === 1000, `${ws.label}: Close reply code ${close.readUInt16BE(0)}, expected 1000`);
      // RFC 8441 §5: the WebSocket's TCP close is the stream's END_STREAM; the server ends
      // its side once the close handshake is done (§7.1.1: the server closes first).
      await within(ws.ended, 5000, `${ws.label}: END_STREAM from the server after the Close reply`);
      ws.stream.end();
      if (ws.error) throw ws.error;
      return msgs.reduce((n, m) => n + m.data.length, 0);
    };
    const results = await Promise.allSettled(sockets.map(run));
    const errors = results.filter((r) => r.status === 'rejected');
    expect(errors.length === 0,
      `${errors.length}/${STREAMS} WebSockets failed; first: ${errors[0] && errors[0].reason && errors[0].reason.message}`);
    const bytes = results.reduce((n, r) => n + r.value, 0);
    return `${STREAMS} WebSockets on streams ${[...streamIds].join(',')}, ${bytes} B echoed, all closed 1000`;
  }

  async wrong_protocol() {
    const req = extendedConnect(this.session, this.url, 'webtransport');
    const headers = await response(req, ':protocol webtransport');
    req.close();
    expect(headers[':status'] === 400,
      `:protocol webtransport: :status ${headers[':status']}, expected 400 (not a WebSocket request)`);
    return ':protocol webtransport -> 400';
  }

  async wrong_version() {
    // RFC 6455 §4.4: "the server MUST ... send an appropriate HTTP error code (such as 426
    // Upgrade Required) and a |Sec-WebSocket-Version| header field indicating the
    // version(s) the server is capable of understanding."
    const req = extendedConnect(this.session, this.url, 'websocket', '8');
    const headers = await response(req, 'Sec-WebSocket-Version 8');
    req.close();
    expect(headers[':status'] === 426, `Sec-WebSocket-Version 8: :status ${headers[':status']}, expected 426`);
    expect(headers['sec-websocket-version'] === '13',
      `Sec-WebSocket-Version 8: answered Sec-WebSocket-Version ${headers['sec-websocket-version']}, expected 13`);
    return 'Sec-WebSocket-Version 8 -> 426, Sec-WebSocket-Version: 13';
  }
}
Checks.ORDER = ['settings', 'page', 'multiplexed', 'wrong_protocol', 'wrong_version'];

function parseArgs(argv) {
  const a = { label: 'node-h2' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--ca') a.ca = argv[++i];
    else if (k === '--label') a.label = argv[++i];
    else if (!a.url) a.url = k;
    else throw new Error(`unexpected argument ${k}`);
  }
  if (!a.url) throw new Error('usage: node_h2_checks.js http[s]://HOST:PORT [--ca CA.pem] [--label TEXT]');
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tag = `[${args.label}]`;
  const url = new URL(args.url);
  const options = args.ca ? { ca: fs.readFileSync(args.ca) } : {};
  const session = http2.connect(url.origin, options);
  session.on('error', (e) => console.log(`${tag} session error: ${e.message}`));
  let failed = [];
  try {
    // The SETTINGS frame is the server's first frame (RFC 9113 §3.4).
    await within(new Promise((resolve, reject) => {
      session.once('remoteSettings', resolve);
      session.once('error', reject);
    }), STEP_TIMEOUT_MS, `${url.origin}: server SETTINGS`);
    console.log(`${tag} node ${process.version}, connected to ${url.origin}`);
    const checks = new Checks(session, url);
    for (const name of Checks.ORDER) {
      const t0 = Date.now();
      try {
        const detail = await checks[name]();
        console.log(`${tag} ok   ${name} (${((Date.now() - t0) / 1000).toFixed(2)}s)${detail ? ' - ' + detail : ''}`);
      } catch (e) {
        failed.push(name);
        console.log(`${tag} FAIL ${name}: ${e instanceof CheckFailed ? '' : e.constructor.name + ': '}${e.message}`);
      }
    }
  } catch (e) {
    failed = ['connect'];
    console.log(`${tag} FAIL connect: ${e.message}`);
  } finally {
    session.destroy();
  }
  if (failed.length) {
    console.log(`${tag} ${failed.length} checks FAILED: ${failed.join(', ')}`);
    process.exit(1);
  }
  console.log(`${tag} all ${Checks.ORDER.length} checks passed on one HTTP/2 connection`);
  process.exit(0);
}

main().catch((e) => {
  console.log(`[node-h2] FAIL: ${e && e.stack || e}`);
  process.exit(2);
});
