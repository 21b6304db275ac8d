// Shared Chromium launcher for the browser checks (puppeteer-core + Debian chromium).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Without the background-networking flags Chromium tries to reach Google
// services and, on a closed network, its connections get refused / stall.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--no-proxy-server',
];

// extraArgs: more flags for one check only (e.g. --ignore-certificate-errors).
async function launch(extraArgs = []) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rfc6455-interop-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS.concat(extraArgs),
    userDataDir,
    timeout: 30000,
    protocolTimeout: 60000,
    pipe: true,
  });
  const close = async () => {
    try { await browser.close(); } catch (_) { /* already gone */ }
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return { browser, close, version: await browser.version() };
}

function attachConsole(page, prefix) {
  page.on('console', (m) => console.log(`${prefix} console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.log(`${prefix} pageerror: ${e.message}`));
}

module.exports = { launch, attachConsole, CHROMIUM, ARGS };
