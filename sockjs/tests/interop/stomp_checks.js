// @stomp/stompjs over sockjs-client (Node) against stomp_server's /sockjs, as Spring users
// deploy it: SUBSCRIBE /topic/echo, SEND /app/echo, the MESSAGE comes back.
//   node stomp_checks.js http://127.0.0.1:PORT
'use strict';

const SockJS = require('sockjs-client');
const { Client } = require('@stomp/stompjs');

const base = process.argv[2];
let failed = 0;

function check(transport) {
  return new Promise((resolve) => {
    const bodies = ['hello', 'line\u2028two \ud83d\ude00', 'x'.repeat(5000)];
    const got = [];
    const client = new Client({
      webSocketFactory: () => new SockJS(`${base}/sockjs`, null, { transports: [transport] }),
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      debug: () => {},
    });
    const finish = (ok, detail) => {
      clearTimeout(timer);
      client.deactivate();
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => finish(false, `timeout, got ${got.length}`), 20000);
    client.onConnect = (frame) => {
      if (!frame.headers.version) return finish(false, 'CONNECTED without a version');
      client.subscribe('/topic/echo', (message) => {
        got.push(message.body);
        if (got.length === bodies.length) {
          const ok = got.every((b, i) => b === bodies[i]);
          finish(ok, ok ? `STOMP ${frame.headers.version}, ${got.length} messages` : `got ${JSON.stringify(got).slice(0, 200)}`);
        }
      }, { receipt: 'sub' });
      client.watchForReceipt('sub', () => {
        for (const body of bodies) client.publish({ destination: '/app/echo', body });
      });
    };
    client.onStompError = (frame) => finish(false, `ERROR ${frame.headers.message}`);
    client.activate();
  });
}

async function main() {
  for (const t of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
    const r = await check(t);
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} stompjs over sockjs-client ${t}: ${r.detail}`);
    if (!r.ok) failed += 1;
  }
  console.log(`${failed === 0 ? 'PASS' : 'FAIL'} stompjs over SockJS (${failed} failed)`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => { console.log(`FAIL ${e.stack}`); process.exit(1); });
