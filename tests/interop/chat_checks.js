#!/usr/bin/env node
// Two Chromium pages on the chat example: A sends, B (and A) must see it.
//
// Usage: node chat_checks.js --url http://127.0.0.1:CHATPORT/ [--screenshot FILE]
//
// Relies only on the chat page contract: <input id="msg">, <button id="send">,
// <ul id="log"> gets one <li> per received message, and
// document.body.dataset.state === "open" once the page's WebSocket is open.
'use strict';

const path = require('path');
const fs = require('fs');
const { launch, attachConsole } = require('./chromium');

function parseArgs(argv) {
  const a = { label: 'chat' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--url') a.url = argv[++i];
    else if (k === '--screenshot') a.screenshot = argv[++i];
    else if (k === '--label') a.label = argv[++i];
    else throw new Error(`unexpected argument ${k}`);
  }
  if (!a.url) throw new Error('usage: chat_checks.js --url http://127.0.0.1:PORT/ [--screenshot FILE]');
  return a;
}

async function logItems(page) {
  return page.$$eval('#log li', (lis) => lis.map((li) => li.textContent));
}

async function waitForItem(page, text, who, timeout = 15000) {
  try {
    await page.waitForFunction(
      (t) => Array.from(document.querySelectorAll('#log li')).some((li) => li.textContent.includes(t)),
      { timeout, polling: 100 }, text);
  } catch (e) {
    throw new Error(`${who} never showed ${JSON.stringify(text)} in #log within ${timeout / 1000}s; ` +
      `#log has ${JSON.stringify(await logItems(page))}`);
  }
}

async function send(page, text) {
  await page.click('#msg', { count: 3 });
  await page.type('#msg', text);
  await page.click('#send');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tag = `[${args.label}]`;
  const { browser, close, version } = await launch();
  let ok = false;
  const pages = [];
  try {
    console.log(`${tag} ${version}`);
    // Two separate browser contexts = two independent visitors.
    for (const name of ['alice', 'bob']) {
      const ctx = await browser.createBrowserContext();
      const page = await ctx.newPage();
      await page.setViewport({ width: 800, height: 600 });
      attachConsole(page, `${tag} ${name}`);
      const resp = await page.goto(args.url, { waitUntil: 'load', timeout: 30000 });
      if (!resp || !resp.ok()) throw new Error(`${name}: GET ${args.url} -> HTTP ${resp && resp.status()}`);
      for (const sel of ['#msg', '#send', '#log']) {
        if (!(await page.$(sel))) throw new Error(`${name}: chat page has no ${sel} element`);
      }
      try {
        await page.waitForFunction(() => document.body.dataset.state === 'open', { timeout: 15000, polling: 100 });
      } catch (e) {
        const state = await page.evaluate(() => document.body.dataset.state);
        throw new Error(`${name}: document.body.dataset.state never became "open" (is ${JSON.stringify(state)})`);
      }
      console.log(`${tag} ok   ${name} loaded ${args.url}, WebSocket open`);
      pages.push(page);
    }
    const [alice, bob] = pages;

    const m1 = `hello from alice ✓ ${Date.now()}`;
    await send(alice, m1);
    await waitForItem(bob, m1, 'bob');
    console.log(`${tag} ok   bob received alice's message`);
    await waitForItem(alice, m1, 'alice (sender, broadcast includes sender)');
    console.log(`${tag} ok   alice received her own message back (broadcast includes sender)`);

    const m2 = `hi alice, bob here — ünïcödé ✓`;
    await send(bob, m2);
    await waitForItem(alice, m2, 'alice');
    await waitForItem(bob, m2, 'bob (sender)');
    console.log(`${tag} ok   alice received bob's reply`);

    const order = (await logItems(bob)).filter((t) => t.includes(m1) || t.includes(m2));
    if (!(order.length === 2 && order[0].includes(m1) && order[1].includes(m2))) {
      throw new Error(`bob's #log has unexpected order/duplicates: ${JSON.stringify(order)}`);
    }
    console.log(`${tag} ok   each message shown exactly once, in order`);

    if (args.screenshot) {
      fs.mkdirSync(path.dirname(args.screenshot), { recursive: true });
      await bob.screenshot({ path: args.screenshot, fullPage: true });
      console.log(`${tag} screenshot: ${args.screenshot}`);
    }
    ok = true;
  } catch (e) {
    // Keep what the pages looked like for debugging, then report.
    if (args.screenshot) {
      for (const [i, page] of pages.entries()) {
        const file = args.screenshot.replace(/\.png$/, '') + `-failure-${i ? 'bob' : 'alice'}.png`;
        try { await page.screenshot({ path: file, fullPage: true }); console.log(`${tag} failure screenshot: ${file}`); } catch (_) {}
      }
    }
    throw e;
  } finally {
    await close();
  }
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.log(`[chat] FAIL ${e && e.message || e}`);
  process.exit(1);
});
