// Two stomp_server nodes relaying to one RabbitMQ, driven by @stomp/stompjs.
//
//   node relay_checks.js --a ws://A/ws --b ws://B/ws --phase two-node
//     what is sent on node B reaches subscribers on node A: topics, queues (each message
//     once across both nodes), /app/echo, whispers to a user connected to both nodes.
//   node relay_checks.js --a ws://A/ws --b ws://B/ws --phase restart
//     a subscriber on A and a publisher on B (reconnecting, resubscribing); prints READY
//     once messages flow, then the caller restarts RabbitMQ: both must get an ERROR,
//     reconnect, and messages must flow again (RESUMED). Exits 0 on success.
'use strict';
const { Client } = require('@stomp/stompjs');
const WebSocket = require('ws');

const args = require('./args.js')(process.argv.slice(2), { a: null, b: null, phase: null });
const PROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];
const rand = () => Math.random().toString(36).slice(2, 8);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1);

function eq(a, b, what) {
  const sa = JSON.stringify(a), sb = JSON.stringify(b);
  if (sa !== sb) throw new Error(`${what}: got ${sa}, expected ${sb}`);
}

const clients = [];
function connect(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const c = new Client({
      webSocketFactory: () => new WebSocket(url, PROTOCOLS),
      connectHeaders: headers, reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0, debug: () => {},
    });
    const timer = setTimeout(() => reject(new Error('CONNECT timed out')), 15000);
    c.onConnect = () => { clearTimeout(timer); resolve(c); };
    c.onStompError = (f) => { clearTimeout(timer); reject(new Error(f.headers.message)); };
    clients.push(c);
    c.activate();
  });
}
function subscribe(c, destination, got) {
  const receipt = 'r-' + rand();
  return new Promise((resolve, reject) => {
    c.watchForReceipt(receipt, resolve);
    setTimeout(() => reject(new Error(`no receipt for ${destination}`)), 10000);
    c.subscribe(destination, (m) => got.push(m), { receipt });
  });
}
function publish(c, destination, body, headers = {}) {
  const receipt = 'p-' + rand();
  return new Promise((resolve, reject) => {
    c.watchForReceipt(receipt, resolve);
    setTimeout(() => reject(new Error(`no receipt for SEND ${destination}`)), 10000);
    c.publish({ destination, body, headers: { ...headers, receipt } });
  });
}
async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const TWO_NODE = {
  async 'topic-across-nodes'() {
    const dest = '/topic/nodes-' + rand();
    const onA = await connect(args.a), onB = await connect(args.b);
    const got = [];
    await subscribe(onA, dest, got);
    for (const n of [1, 2, 3]) await publish(onB, dest, 'from B ' + n);
    await until(() => got.length === 3, 10000, 'three messages on A');
    eq(got.map((m) => m.body), ['from B 1', 'from B 2', 'from B 3'], 'order');
  },
  async 'queue-across-nodes'() {
    const dest = '/queue/nodes-' + rand();
    const onA = await connect(args.a), onB = await connect(args.b), producer = await connect(args.b);
    const gotA = [], gotB = [];
    await subscribe(onA, dest, gotA);
    await subscribe(onB, dest, gotB);
    for (let n = 0; n < 6; n++) await publish(producer, dest, 'job' + n);
    await until(() => gotA.length + gotB.length === 6, 10000, 'six jobs');
    await sleep(300);
    eq([...gotA, ...gotB].map((m) => m.body).sort(), ['job0', 'job1', 'job2', 'job3', 'job4', 'job5'], 'each job once');
    if (!gotA.length || !gotB.length) throw new Error(`both nodes consume: A ${gotA.length}, B ${gotB.length}`);
  },
  async 'app-echo-across-nodes'() {
    const onA = await connect(args.a), onB = await connect(args.b);
    const got = [];
    await subscribe(onA, '/topic/echo', got);
    const body = 'echo ' + rand();
    await publish(onB, '/app/echo', body);
    await until(() => got.some((m) => m.body === body), 10000, 'the echo on A');
  },
  async 'whisper-across-nodes'() {
    const bobA = await connect(args.a, { login: 'bob', passcode: 'bob-pw' });
    const bobB = await connect(args.b, { login: 'bob', passcode: 'bob-pw' });
    const aliceA = await connect(args.a, { login: 'alice', passcode: 'alice-pw' });
    const aliceB = await connect(args.b, { login: 'alice', passcode: 'alice-pw' });
    const wa = [], wb = [], walice = [];
    await subscribe(bobA, '/user/queue/whisper', wa);
    await subscribe(bobB, '/user/queue/whisper', wb);
    await subscribe(aliceA, '/user/queue/whisper', walice);
    const body = 'psst ' + rand();
    await publish(aliceB, '/app/whisper', body, { to: 'bob' });
    await until(() => wa.length && wb.length, 10000, "bob's whisper on both nodes");
    eq([wa[0].body, wa[0].headers.from, wb[0].body], [body, 'alice', body], 'whisper');
    await sleep(300);
    eq(walice.length, 0, 'whispers at alice');
  },
};

async function twoNode() {
  let failed = 0;
  for (const [name, check] of Object.entries(TWO_NODE)) {
    const start = Date.now();
    try {
      await check();
      console.log(`  ok ${name} (${Date.now() - start} ms)`);
    } catch (e) {
      failed++;
      console.log(`  FAIL ${name}: ${e.message}`);
    }
    await Promise.all(clients.splice(0).map((c) => c.deactivate().catch(() => {})));
  }
  return failed;
}

async function restart() {
  const dest = '/topic/restart-' + rand();
  const state = { a: { errors: [], connects: 0 }, b: { errors: [], connects: 0 } };
  const received = [];
  let restartedAt = 0;
  const make = (url, side, onConnect) => {
    const c = new Client({
      webSocketFactory: () => new WebSocket(url, PROTOCOLS),
      reconnectDelay: 300, heartbeatIncoming: 0, heartbeatOutgoing: 0, debug: () => {},
    });
    c.onConnect = () => { state[side].connects++; console.log(`${secs()} ${side} connected (#${state[side].connects})`); onConnect(c); };
    c.onStompError = (f) => {
      const m = f.headers.message;
      if (state[side].errors[state[side].errors.length - 1] !== m) console.log(`${secs()} ${side} ERROR: ${m}`);
      state[side].errors.push(m);
    };
    c.activate();
    return c;
  };
  const a = make(args.a, 'a', (c) => c.subscribe(dest, (m) => received.push({ n: Number(m.body), at: Date.now(), connect: state.a.connects })));
  const b = make(args.b, 'b', () => {});
  let seq = 0;
  const ticker = setInterval(() => { if (b.connected) b.publish({ destination: dest, body: String(seq++) }); }, 100);
  try {
    await until(() => received.length >= 5, 30000, 'messages before the restart');
    console.log(`READY ${secs()} received ${received.length}`);
    restartedAt = Date.now();
    await until(() => state.a.errors.length && state.b.errors.length, 60000, 'an ERROR on both nodes');
    const before = received.length;
    await until(() => state.a.connects >= 2 && received.filter((r) => r.connect >= 2).length >= 5, 90000,
      'reconnection and five new messages');
    const after = received.filter((r) => r.connect >= 2).map((r) => r.n);
    for (let i = 1; i < after.length; i++) {
      if (after[i] <= after[i - 1]) throw new Error(`out of order after the restart: ${after}`);
    }
    console.log(`RESUMED ${((Date.now() - restartedAt) / 1000).toFixed(1)}s after the restart began: ` +
      `A got ERROR "${state.a.errors[0]}" and ${state.a.errors.length - 1} more while the broker was away, ` +
      `B "${state.b.errors[0]}"; A reconnected ${state.a.connects - 1}x, ${before} messages before, ` +
      `${after.length} after (${after[0]}..${after[after.length - 1]}, in order)`);
    return 0;
  } catch (e) {
    console.log(`FAIL restart: ${e.message}`);
    return 1;
  } finally {
    clearInterval(ticker);
    await Promise.all([a.deactivate(), b.deactivate()].map((p) => p.catch(() => {})));
  }
}

(async () => {
  const failed = args.phase === 'two-node' ? await twoNode() : await restart();
  process.exit(failed ? 1 : 0);
})();
