#!/usr/bin/env node
// Drives browser/echo.html in headless Chromium against an echo server.
//
// Usage: node browser_checks.js --page http://127.0.0.1:PAGEPORT/echo.html
//                               --ws ws://127.0.0.1:PORT/ [--expect ok|rejected]
//                               [--label TEXT] [--screenshot FILE]
// The page must be served over http from loopback (its Origin is what the
// echo server's --allowed-origin policy sees). Exits 1 on failure.
'use strict';

const { launch, attachConsole } = require('./chromium');

function parseArgs(argv) {
  const a = { expect: 'ok', label: 'browser' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--page') a.page = v();
    else if (k === '--ws') a.ws = v();
    else if (k === '--expect') a.expect = v();
    else if (k === '--label') a.label = v();
    else if (k === '--screenshot') a.screenshot = v();
    else throw new Error(`unexpected argument ${k}`);
  }
  if (!a.page || !a.ws) throw new Error('usage: browser_checks.js --page URL --ws URL [--expect ok|rejected]');
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tag = `[${args.label}]`;
  const { browser, close, version } = await launch();
  let pass = false;
  try {
    console.log(`${tag} ${version}`);
    const page = await browser.newPage();
    attachConsole(page, tag);
    const target = `${args.page}?url=${encodeURIComponent(args.ws)}&expect=${encodeURIComponent(args.expect)}`;
    const resp = await page.goto(target, { waitUntil: 'load', timeout: 30000 });
    if (!resp || !resp.ok()) throw new Error(`loading ${target}: HTTP ${resp && resp.status()}`);
    await page.waitForFunction('window.__interop && window.__interop.done', { timeout: 90000, polling: 100 });
    const result = await page.evaluate(() => window.__interop);
    for (const line of result.log) console.log(`${tag} ${line}`);
    pass = result.pass === true;
    console.log(`${tag} page origin ${result.origin}, ws ${result.url}, expect ${result.mode}: ${pass ? 'pass' : 'FAIL'}`);
    if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
  } finally {
    await close();
  }
  process.exit(pass ? 0 : 1);
}

main().catch((e) => {
  console.log(`[browser] FAIL: ${e && e.stack || e}`);
  process.exit(1);
});
