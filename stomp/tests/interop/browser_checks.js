// Headless Chromium on stomp_server's chat page: the page's own STOMP client (alice, bob
// and an anonymous visitor chat and whisper; a wrong passcode is refused), then
// @stomp/stompjs loaded into the page and run by the browser's own WebSocket.
//
//   node browser_checks.js --url http://127.0.0.1:PORT/ --stompjs PATH/stomp.umd.js
//                          [--screenshot FILE] [--chromium PATH]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

const args = require('./args.js')(process.argv.slice(2), {
  url: null, stompjs: null, screenshot: '', chromium: process.env.CHROMIUM || '/usr/bin/chromium',
});

let failed = 0;
async function check(name, f) {
  const t0 = Date.now();
  try {
    await f();
    console.log(`  ok ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`  FAIL ${name}: ${e.message}`);
  }
}
function eq(a, b, what) {
  const sa = JSON.stringify(a), sb = JSON.stringify(b);
  if (sa !== sb) throw new Error(`${what}: got ${sa}, expected ${sb}`);
}

async function join(page, user, pass, state = 'open') {
  await page.bringToFront();
  await page.type('#user', user);
  await page.type('#pass', pass);
  await page.click('#join');
  await page.waitForFunction((s) => document.body.dataset.state === s, { timeout: 10000, polling: 50 }, state);
}
const lines = (page) => page.$$eval('#log li', (lis) => lis.map((li) => [li.className, li.textContent]));
async function waitLines(page, n) {
  await page.waitForFunction((k) => document.querySelectorAll('#log li').length >= k, { timeout: 10000, polling: 50 }, n);
}
async function say(page, text) {
  await page.bringToFront();
  await page.type('#msg', text);
  await page.click('#send');
}

(async () => {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rfc6455-stomp-chromium-'));
  // Without the background-networking flags Chromium tries to reach Google services.
  const browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', '--no-proxy-server', '--disable-renderer-backgrounding',
      '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows'],
    userDataDir,
    timeout: 30000,
    protocolTimeout: 60000,
    pipe: true,
  });
  try {
    console.log(`  chromium ${await browser.version()}`);
    const pages = [];
    for (let i = 0; i < 5; i++) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.log(`  page ${i} error: ${e.message}`));
      await page.goto(args.url);
      pages.push(page);
    }
    const [alice, bob, visitor, mallory, stompjs] = pages;

    await check('page-login', async () => {
      await join(alice, 'alice', 'alice-pw');
      await join(bob, 'bob', 'bob-pw');
      await join(visitor, '', '');
      eq(await alice.$eval('#status', (e) => e.textContent), 'connected as alice', 'alice status');
      eq(await visitor.$eval('#status', (e) => e.textContent), 'connected as anonymous', 'visitor status');
    });

    await check('page-wrong-passcode', async () => {
      // ERROR, then the server closes the connection ("state" ends as "closed").
      await join(mallory, 'alice', 'guess', 'closed');
      eq(await mallory.$eval('#status', (e) => e.textContent), 'ERROR: bad credentials (closed)', 'status');
    });

    await check('page-chat', async () => {
      await say(alice, 'hello room');
      for (const p of [alice, bob, visitor]) await waitLines(p, 1);
      await say(visitor, 'hi alice');
      for (const p of [alice, bob, visitor]) await waitLines(p, 2);
      for (const p of [alice, bob, visitor]) {
        eq(await lines(p), [['', 'alice: hello room'], ['', 'anonymous: hi alice']], 'room, in order, once');
      }
    });

    await check('page-whisper', async () => {
      await say(alice, '/w bob only for you');
      await say(alice, 'after the whisper');
      for (const p of [alice, bob, visitor]) await waitLines(p, p === bob ? 4 : 3);
      eq((await lines(bob)).slice(2), [['whisper', 'alice whispers: only for you'], ['', 'alice: after the whisper']], 'bob');
      eq((await lines(alice)).slice(2), [['', 'alice: after the whisper']], 'alice sees no whisper');
      eq((await lines(visitor)).slice(2), [['', 'alice: after the whisper']], 'visitor sees no whisper');
    });

    await check('stompjs-in-page', async () => {
      await stompjs.addScriptTag({ path: args.stompjs });
      const result = await stompjs.evaluate(async () => {
        const url = 'ws://' + location.host + '/ws';
        const connect = (headers) => new Promise((resolve, reject) => {
          const c = new StompJs.Client({ brokerURL: url, connectHeaders: headers, reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0 });
          c.onConnect = (f) => resolve([c, f]);
          c.onStompError = (f) => reject(new Error(f.headers.message));
          c.activate();
        });
        const next = (inbox) => new Promise((resolve, reject) => {
          if (inbox.length) return resolve(inbox.shift());
          inbox.wait = resolve;
          setTimeout(() => reject(new Error('timed out')), 10000);
        });
        const sub = (c, dest) => new Promise((resolve) => {
          const inbox = [];
          const r = 'r' + Math.random();
          c.watchForReceipt(r, () => resolve(inbox));
          c.subscribe(dest, (m) => { if (inbox.wait) { const w = inbox.wait; inbox.wait = null; w(m); } else inbox.push(m); }, { receipt: r });
        });
        const out = {};
        const [bob, connected] = await connect({ login: 'bob', passcode: 'bob-pw' });
        out.protocol = bob.webSocket.protocol;
        out.user = connected.headers['user-name'];
        const [alice] = await connect({ login: 'alice', passcode: 'alice-pw' });
        const room = await sub(bob, '/topic/echo');
        const whispers = await sub(bob, '/user/queue/whisper');
        const bin = await sub(bob, '/topic/browser-bin');
        alice.publish({ destination: '/app/echo', body: 'from stompjs in Chromium' });
        out.echo = (await next(room)).body;
        alice.publish({ destination: '/app/whisper', headers: { to: 'bob' }, body: 'psst' });
        const w = await next(whispers);
        out.whisper = [w.body, w.headers.from];
        const nuls = new Uint8Array([0, 1, 0, 255, 0]);
        alice.publish({ destination: '/topic/browser-bin', binaryBody: nuls });
        out.nuls = Array.from((await next(bin)).binaryBody);
        const big = 'y'.repeat(256 * 1024);
        alice.publish({ destination: '/topic/browser-bin', body: big });
        out.big = (await next(bin)).body === big;
        const r = 'receipt-' + Math.random();
        out.receipt = await new Promise((resolve) => { alice.watchForReceipt(r, () => resolve(true)); alice.publish({ destination: '/topic/x', body: '', headers: { receipt: r } }); });
        await bob.deactivate();
        await alice.deactivate();
        return out;
      });
      eq(result, {
        protocol: 'v12.stomp', user: 'bob', echo: 'from stompjs in Chromium', whisper: ['psst', 'alice'],
        nuls: [0, 1, 0, 255, 0], big: true, receipt: true,
      }, 'stompjs in the page');
    });

    if (args.screenshot) {
      await bob.bringToFront();
      await bob.screenshot({ path: args.screenshot, fullPage: true });
    }
  } finally {
    await browser.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  console.log(`browser: ${failed ? 'some' : 'all'} checks done, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`  FAIL browser: ${e.stack || e}`);
  process.exit(1);
});
