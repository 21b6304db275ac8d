// sockjs-client in headless Chromium against our sockjs_server: the iframe-based, htmlfile
// and JSONP transports (and the others), same-origin and cross-origin.
//   node browser_checks.js http://127.0.0.1:PORT http://localhost:PORT
'use strict';

const fs = require('fs');
const path = require('path');
const { launch, attachConsole } = require(process.env.CHROMIUM_JS);

const [sameOrigin, otherOrigin] = process.argv.slice(2);
const cases = fs.readFileSync(path.join(__dirname, 'cases.js'), 'utf8');
let failed = 0;

async function run(page, label, fn, ...args) {
  const result = await page.evaluate(fn, ...args);
  console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${label}: ${result.detail}`);
  if (!result.ok) failed += 1;
}

async function main() {
  const { browser, close, version } = await launch();
  console.log(`chromium ${version}`);
  try {
    for (const [pageOrigin, label] of [[sameOrigin, 'same-origin'], [otherOrigin, 'cross-origin']]) {
      const page = await browser.newPage();
      attachConsole(page, label);
      await page.goto(`${pageOrigin}/`, { waitUntil: 'load', timeout: 30000 });
      await page.addScriptTag({ content: cases });
      const transports = ['iframe-eventsource', 'iframe-htmlfile', 'iframe-xhr-polling', 'jsonp-polling', 'xhr-streaming', 'xhr-polling', 'eventsource', 'websocket'];
      // htmlfile itself needs the page on the server's origin.
      if (label === 'same-origin') transports.push('htmlfile');
      for (const t of transports) {
        await run(page, `${label} ${t} echo`, (url, t) => echoCheck(SockJS, url, t, 100, 30000), `${sameOrigin}/echo`, t);
        await run(page, `${label} ${t} close 3000`, (url, t) => closeCheck(SockJS, url, t, 3000, 'Go away!', 30000), `${sameOrigin}/close`, t);
      }
      await page.close();
    }
  } finally {
    await close();
  }
  console.log(`${failed === 0 ? 'PASS' : 'FAIL'} browser sockjs-client checks (${failed} failed)`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => { console.log(`FAIL ${e.stack}`); process.exit(1); });
