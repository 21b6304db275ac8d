// @stomp/stompjs (with `ws`) in Node against stomp_server: every behaviour of the example,
// receipts, ack modes with redelivery, transactions, escaping, NUL and 256 KiB bodies,
// malformed frames, heart-beats both ways, and 200 subscribers x 50 messages.
//
//   node node_checks.js --url ws://127.0.0.1:PORT/ws [--label L] [--mode simple|relay]
//                       [--only check,check] [--heartbeat-ms N]
//
// Prints "ok <check>" or "FAIL <check>: why" per check; exits 1 if any failed.
'use strict';
const { Client } = require('@stomp/stompjs');
const WebSocket = require('ws');

const args = require('./args.js')(process.argv.slice(2), {
  url: null, label: 'node', mode: 'simple', only: '', 'heartbeat-ms': '500',
});
const URL = args.url;
const RELAY = args.mode === 'relay';
const HB = Number(args['heartbeat-ms']);
const PROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];
const rand = () => Math.random().toString(36).slice(2, 8);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function check(cond, what) {
  if (!cond) throw new Error(what);
}
function eq(a, b, what) {
  const sa = JSON.stringify(a), sb = JSON.stringify(b);
  if (sa !== sb) throw new Error(`${what}: got ${sa}, expected ${sb}`);
}

/** Messages of a subscription, taken in order with a deadline. */
class Inbox {
  constructor() { this.items = []; this.waiters = []; }
  push(m) {
    const w = this.waiters.shift();
    if (w) w(m); else this.items.push(m);
  }
  next(ms = 10000, what = 'a message') {
    if (this.items.length) return Promise.resolve(this.items.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(done), 1);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      const done = (m) => { clearTimeout(t); resolve(m); };
      this.waiters.push(done);
    });
  }
  async none(ms, what) {
    await sleep(ms);
    if (this.items.length) throw new Error(`unexpected ${what}: ${this.items[0].body}`);
  }
}

const clients = [];
/** A connected stompjs client (rejects with the ERROR's message). */
function connect(headers = {}, options = {}) {
  return new Promise((resolve, reject) => {
    const c = new Client({
      webSocketFactory: () => new WebSocket(URL, PROTOCOLS),
      connectHeaders: headers,
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      debug: () => {},
      ...options,
    });
    const timer = setTimeout(() => reject(new Error('CONNECT timed out')), 15000);
    c.onConnect = (frame) => { clearTimeout(timer); c.connectedFrame = frame; resolve(c); };
    c.onStompError = (frame) => {
      clearTimeout(timer);
      c.lastError = frame;
      reject(Object.assign(new Error(frame.headers.message), { frame, client: c }));
    };
    clients.push(c);
    c.activate();
  });
}
/** Subscribes and waits for the server's receipt (the subscription is in place). */
async function subscribe(c, destination, headers = {}) {
  const inbox = new Inbox();
  const receipt = 'sub-' + rand();
  const confirmed = new Promise((resolve, reject) => {
    c.watchForReceipt(receipt, resolve);
    setTimeout(() => reject(new Error(`no receipt for SUBSCRIBE ${destination}`)), 10000);
  });
  const sub = c.subscribe(destination, (m) => inbox.push(m), { ...headers, receipt });
  await confirmed;
  inbox.sub = sub;
  return inbox;
}
/** Publishes and waits for the receipt. */
function publish(c, params) {
  const receipt = 'pub-' + rand();
  return new Promise((resolve, reject) => {
    c.watchForReceipt(receipt, resolve);
    setTimeout(() => reject(new Error(`no receipt for SEND ${params.destination}`)), 10000);
    c.publish({ ...params, headers: { ...(params.headers || {}), receipt } });
  });
}
/** A plain `ws` socket for frames stompjs would not send. */
function rawSocket() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(URL, ['v12.stomp']);
    const inbox = new Inbox();
    ws.on('message', (data) => inbox.push(data.toString()));
    ws.closed = new Promise((r) => ws.on('close', (code) => r(code)));
    ws.on('open', () => resolve({ ws, inbox }));
    ws.on('error', reject);
  });
}

const CHECKS = {
  async echo() {
    const alice = await connect({ login: 'alice', passcode: 'alice-pw' });
    const room = await subscribe(alice, '/topic/echo');
    alice.publish({ destination: '/app/echo', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    const m = await room.next();
    eq(m.body, 'hello', 'body');
    eq(m.headers.destination, '/topic/echo', 'destination');
    eq(m.headers['content-type'], 'text/plain', 'content-type');
    eq(m.headers.subscription, room.sub.id, 'subscription');
    check(m.headers['message-id'], 'message-id present');
  },

  async logins() {
    const alice = await connect({ login: 'alice', passcode: 'alice-pw' });
    eq(alice.connectedFrame.headers['user-name'], 'alice', 'alice');
    eq(alice.connectedFrame.headers.version, '1.2', 'version');
    const bob = await connect({ login: 'bob', passcode: 'bob-pw' });
    eq(bob.connectedFrame.headers['user-name'], 'bob', 'bob');
    const anonymous = await connect();
    eq(anonymous.connectedFrame.headers['user-name'], undefined, 'anonymous has no user');
    let refused;
    try {
      await connect({ login: 'alice', passcode: 'wrong' });
    } catch (e) {
      refused = e;
    }
    check(refused, 'a wrong passcode is refused');
    eq(refused.message, 'bad credentials', 'ERROR message');
    // "the server MUST then close the connection" after ERROR.
    const closed = await Promise.race([
      new Promise((r) => { refused.client.onWebSocketClose = () => r(true); if (!refused.client.webSocket || refused.client.webSocket.readyState === 3) r(true); }),
      sleep(5000).then(() => false),
    ]);
    check(closed, 'connection closed after the ERROR');
  },

  async whisper() {
    const alice = await connect({ login: 'alice', passcode: 'alice-pw' });
    const bob1 = await connect({ login: 'bob', passcode: 'bob-pw' });
    const bob2 = await connect({ login: 'bob', passcode: 'bob-pw' });
    const ab = await subscribe(alice, '/user/queue/whisper');
    const room = await subscribe(alice, '/topic/echo');
    const b1 = await subscribe(bob1, '/user/queue/whisper');
    const b2 = await subscribe(bob2, '/user/queue/whisper');
    alice.publish({ destination: '/app/whisper', headers: { to: 'bob' }, body: 'psst' });
    alice.publish({ destination: '/app/echo', body: 'sentinel' });
    for (const [inbox, who] of [[b1, 'bob 1'], [b2, 'bob 2']]) {
      const m = await inbox.next(10000, `the whisper at ${who}`);
      eq(m.body, 'psst', `${who} body`);
      eq(m.headers.from, 'alice', `${who} from`);
    }
    // Alice's room message arrives after her whisper was routed: she got no whisper.
    eq((await room.next()).body, 'sentinel', 'sentinel');
    await ab.none(200, 'whisper at alice');
    await b1.none(0, 'second whisper at bob');
  },

  async 'broker-destinations'() {
    const a = await connect(), b = await connect(), p = await connect();
    const topic = '/topic/news-' + rand(), queue = '/queue/work-' + rand();
    const ta = await subscribe(a, topic), tb = await subscribe(b, topic);
    const qa = await subscribe(a, queue), qb = await subscribe(b, queue);
    await publish(p, { destination: topic, body: 'to all' });
    eq((await ta.next()).body, 'to all', 'topic at a');
    eq((await tb.next()).body, 'to all', 'topic at b');
    for (const n of [1, 2, 3, 4]) await publish(p, { destination: queue, body: 'job' + n });
    await sleep(300);
    const got = [...qa.items, ...qb.items].map((m) => m.body).sort();
    eq(got, ['job1', 'job2', 'job3', 'job4'], 'each queue message exactly once');
    eq([qa.items.length, qb.items.length], [2, 2], 'round robin');
  },

  async receipts() {
    const c = await connect();
    await subscribe(c, '/topic/r-' + rand()); // waits for the SUBSCRIBE's receipt
    await publish(c, { destination: '/topic/r-' + rand(), body: 'x' });
    const inbox = await subscribe(c, '/topic/r-' + rand());
    const r = 'unsub-' + rand();
    const done = new Promise((resolve) => c.watchForReceipt(r, resolve));
    inbox.sub.unsubscribe({ receipt: r });
    await Promise.race([done, sleep(10000).then(() => { throw new Error('no UNSUBSCRIBE receipt'); })]);
  },

  async 'ack-modes'() {
    const queue = '/queue/acks-' + rand();
    const p = await connect();
    const c1 = await connect();
    const q1 = await subscribe(c1, queue, { ack: 'client-individual' });
    for (const n of [1, 2, 3]) await publish(p, { destination: queue, body: 'm' + n });
    const m1 = await q1.next(), m2 = await q1.next(), m3 = await q1.next();
    eq([m1.body, m2.body, m3.body], ['m1', 'm2', 'm3'], 'delivery order');
    check(m1.headers.ack, 'MESSAGE has an ack header in client-individual mode');
    m1.ack();
    m2.nack();
    const again = await q1.next(10000, 'the NACKed message again');
    eq(again.body, 'm2', 'NACK redelivers');
    eq(again.headers.redelivered, 'true', 'marked redelivered');
    await c1.deactivate(); // m2 and m3 unacknowledged
    const c2 = await connect();
    const q2 = await subscribe(c2, queue);
    const r1 = await q2.next(10000, 'a redelivery'), r2 = await q2.next(10000, 'a redelivery');
    eq([r1.body, r2.body].sort(), ['m2', 'm3'], 'unacknowledged messages redelivered');
    eq([r1.headers.redelivered, r2.headers.redelivered], ['true', 'true'], 'redelivered headers');
    await q2.none(300, 'the acknowledged m1 again');
    // client mode: ACK is cumulative.
    const queue2 = '/queue/cumulative-' + rand();
    const c3 = await connect();
    const q3 = await subscribe(c3, queue2, { ack: 'client' });
    for (const n of [1, 2, 3]) await publish(p, { destination: queue2, body: 'n' + n });
    const n1 = await q3.next(), n2 = await q3.next(), n3 = await q3.next();
    eq([n1.body, n2.body, n3.body], ['n1', 'n2', 'n3'], 'client mode order');
    n2.ack(); // covers n1 and n2
    await sleep(200);
    await c3.deactivate();
    const c4 = await connect();
    const q4 = await subscribe(c4, queue2);
    eq((await q4.next()).body, 'n3', 'only n3 is redelivered');
    await q4.none(300, 'a cumulatively acknowledged message');
  },

  async transactions() {
    const dest = '/topic/tx-' + rand();
    const s = await connect(), p = await connect();
    const inbox = await subscribe(s, dest);
    const t1 = p.begin(), t2 = p.begin();
    p.publish({ destination: dest, headers: { transaction: t1.id }, body: 'a' });
    p.publish({ destination: dest, headers: { transaction: t2.id }, body: 'never' });
    p.publish({ destination: dest, headers: { transaction: t1.id }, body: 'b' });
    await inbox.none(200, 'a message before COMMIT');
    t2.abort();
    t1.commit();
    eq((await inbox.next()).body, 'a', 'first');
    eq((await inbox.next()).body, 'b', 'second');
    await inbox.none(300, 'the aborted message');
  },

  async escaping() {
    const dest = '/topic/esc-' + rand();
    const c = await connect();
    const inbox = await subscribe(c, dest);
    const weird = 'colon:newline\nbackslash\\end';
    // (stompjs escapes header values, not names.)
    c.publish({ destination: dest, headers: { weird }, body: 'e' });
    const m = await inbox.next();
    eq(m.headers.weird, weird, 'escaped value round trip');
  },

  async bodies() {
    const dest = '/topic/bin-' + rand();
    const c = await connect(), p = await connect();
    const inbox = await subscribe(c, dest);
    const nuls = new Uint8Array([0, 1, 0, 0, 255, 0, 10, 0]);
    p.publish({ destination: dest, binaryBody: nuls, headers: { 'content-type': 'application/octet-stream' } });
    const big = new Uint8Array(256 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256;
    p.publish({ destination: dest, binaryBody: big });
    const text = 'x'.repeat(256 * 1024 - 3) + 'end';
    p.publish({ destination: dest, body: text });
    const m1 = await inbox.next(), m2 = await inbox.next(), m3 = await inbox.next();
    eq(Array.from(m1.binaryBody), Array.from(nuls), 'NUL body');
    check(Buffer.compare(Buffer.from(m2.binaryBody), Buffer.from(big)) === 0, '256 KiB binary body');
    eq(m3.body.length, text.length, '256 KiB text length');
    check(m3.body === text, '256 KiB text body');
  },

  async malformed() {
    const good = await connect();
    const room = await subscribe(good, '/topic/echo');
    for (const [frame, message] of [
      ['SEND\ndestination:/topic/a\nbad:\\t\n\nx\0', 'undefined escape sequence in header'],
      ['FROB\n\n\0', 'unknown command'],
      ['SEND\ndestination:/app/nothing\n\nx\0', 'no handler for /app/nothing'],
    ]) {
      const { ws, inbox } = await rawSocket();
      ws.send('CONNECT\naccept-version:1.2\nhost:h\n\n\0');
      check((await inbox.next()).startsWith('CONNECTED\n'), 'CONNECTED');
      ws.send(frame);
      const error = await inbox.next();
      check(error.startsWith(`ERROR\nmessage:${message}\n`), `ERROR for ${JSON.stringify(frame)}: ${JSON.stringify(error)}`);
      const code = await Promise.race([ws.closed, sleep(5000).then(() => 'open')]);
      check(code !== 'open', 'closed after ERROR');
    }
    good.publish({ destination: '/app/echo', body: 'still served' });
    eq((await room.next()).body, 'still served', 'others are served');
  },

  async heartbeats() {
    // The server offers HB ms both ways (STOMP_HEARTBEAT_MS); stompjs beats at HB too.
    let pongs = 0;
    const c = await connect({}, {
      heartbeatIncoming: HB, heartbeatOutgoing: HB,
      debug: (line) => { if (line === '<<< PONG') pongs++; },
    });
    await sleep(HB * 5);
    check(c.connected, 'a beating client stays connected');
    check(pongs >= 3, `server heart-beats received: ${pongs}`);
    const room = await subscribe(c, '/topic/echo');
    c.publish({ destination: '/app/echo', body: 'alive' });
    eq((await room.next()).body, 'alive', 'still working');
    // A silent client: beats from the server, then ERROR and close past HB * 1.5.
    const { ws, inbox } = await rawSocket();
    ws.send(`CONNECT\naccept-version:1.2\nhost:h\nheart-beat:${HB},${HB}\n\n\0`);
    check((await inbox.next()).startsWith('CONNECTED\n'), 'CONNECTED');
    const started = Date.now();
    let beats = 0, frame;
    while ((frame = await inbox.next(HB * 10)) === '\n') beats++;
    const elapsed = Date.now() - started;
    check(frame.startsWith('ERROR\nmessage:heart-beat timeout\n'), `ERROR: ${JSON.stringify(frame)}`);
    check(elapsed >= HB * 1.4 && elapsed < HB * 6, `dropped after ${elapsed} ms`);
    check(beats >= 1, 'heart-beats before the ERROR');
    const code = await Promise.race([ws.closed, sleep(5000).then(() => 'open')]);
    check(code !== 'open', 'closed');
  },

  async 'fanout-200x50'() {
    const dest = '/topic/fan-' + rand();
    const subs = await Promise.all(Array.from({ length: 200 }, async () => {
      const c = await connect();
      return subscribe(c, dest);
    }));
    const p = await connect();
    for (let n = 0; n < 50; n++) p.publish({ destination: dest, body: String(n) });
    const expected = Array.from({ length: 50 }, (_, n) => String(n));
    await Promise.all(subs.map(async (inbox, i) => {
      const got = [];
      for (let n = 0; n < 50; n++) got.push((await inbox.next(30000, `message ${n} at subscriber ${i}`)).body);
      eq(got, expected, `subscriber ${i} order`);
    }));
    await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  },
};

(async () => {
  const only = args.only ? args.only.split(',') : Object.keys(CHECKS);
  let failed = 0;
  for (const name of only) {
    const t0 = Date.now();
    try {
      await CHECKS[name]();
      console.log(`  ok ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`  FAIL ${name}: ${e.message}`);
    }
    await Promise.all(clients.splice(0).map((c) => c.deactivate().catch(() => {})));
  }
  console.log(`${args.label}: ${only.length - failed} ok, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
