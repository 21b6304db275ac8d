// sockjs-client (npm) in Node against our sockjs_server, forcing each transport Node has.
//   node node_checks.js http://127.0.0.1:PORT
'use strict';

const SockJS = require('sockjs-client');
const { echoCheck, closeCheck } = require('./cases.js');

const base = process.argv[2];
const TIMEOUT = 20000;
let failed = 0;

function report(name, result) {
  console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${name}: ${result.detail}`);
  if (!result.ok) failed += 1;
}

async function main() {
  for (const t of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
    report(`${t} echo`, await echoCheck(SockJS, `${base}/echo`, t, 300, TIMEOUT));
    report(`${t} close 3000`, await closeCheck(SockJS, `${base}/close`, t, 3000, 'Go away!', TIMEOUT));
  }
  report('xhr-polling with cookie_needed', await echoCheck(SockJS, `${base}/cookie_needed_echo`, 'xhr-polling', 20, TIMEOUT));
  report('xhr-streaming with websocket off', await echoCheck(SockJS, `${base}/disabled_websocket_echo`, 'xhr-streaming', 20, TIMEOUT));
  // The WebSocket transport switched off: sockjs-client learns it from /info and gives up.
  report('websocket refused when off', await new Promise((resolve) => {
    const sock = new SockJS(`${base}/disabled_websocket_echo`, null, { transports: ['websocket'] });
    const timer = setTimeout(() => resolve({ ok: false, detail: 'timeout' }), TIMEOUT);
    sock.onopen = () => { clearTimeout(timer); resolve({ ok: false, detail: 'opened' }); };
    sock.onclose = (e) => { clearTimeout(timer); resolve({ ok: e.code === 2000, detail: `close ${e.code} ${e.reason}` }); };
  }));
  // A client closing: the server's session ends; the client sees its own close.
  report('client close', await new Promise((resolve) => {
    const sock = new SockJS(`${base}/echo`, null, { transports: ['xhr-streaming'] });
    const timer = setTimeout(() => resolve({ ok: false, detail: 'timeout' }), TIMEOUT);
    sock.onopen = () => sock.close(4000, 'bye');
    sock.onclose = (e) => { clearTimeout(timer); resolve({ ok: e.code === 4000 && e.reason === 'bye', detail: `close ${e.code} ${e.reason}` }); };
  }));
  console.log(`${failed === 0 ? 'PASS' : 'FAIL'} node sockjs-client checks (${failed} failed)`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => { console.log(`FAIL ${e.stack}`); process.exit(1); });
