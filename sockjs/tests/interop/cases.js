// The messages every transport must carry unchanged, shared by the Node and browser checks.
'use strict';

const AWKWARD = [
  'plain',
  '',
  'line\u2028separator\u2029paragraph',
  'controls \u0000\u0001\u0008\t\n\u000b\f\r\u001b\u001f\u007f',
  'surrogate pairs \ud83d\ude00 \ud834\udd1e',
  'quotes " \\ / and </script><!--',
  'sockjs escapes \u200c\u200f\u202a\u2060\u206f\ufeff\ufff0\uffff',
  'é ü ß 日本語',
  'percent %25 %0A %00 and +plus',
];

// Resolves with { ok, detail }: echoes of AWKWARD, then `count` numbered messages in order.
function echoCheck(SockJS, url, transport, count, timeoutMs) {
  return new Promise((resolve) => {
    const expected = AWKWARD.concat(Array.from({ length: count }, (_, i) => 'm' + i));
    const got = [];
    let settled = false;
    const done = (ok, detail) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try { sock.close(); } catch (_) { /* closed */ }
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => done(false, `timeout after ${got.length}/${expected.length} echoes`), timeoutMs);
    const sock = new SockJS(url, null, { transports: [transport] });
    sock.onopen = () => {
      if (sock.transport !== transport) return done(false, `opened with ${sock.transport}`);
      for (const m of expected) sock.send(m);
    };
    sock.onmessage = (e) => {
      const i = got.length;
      got.push(e.data);
      if (e.data !== expected[i]) {
        return done(false, `echo ${i}: ${JSON.stringify(e.data)} != ${JSON.stringify(expected[i])}`);
      }
      if (got.length === expected.length) done(true, `${got.length} echoes in order`);
    };
    sock.onclose = (e) => done(false, `closed early: ${e.code} ${e.reason}`);
  });
}

// Resolves with { ok, detail }: the server closes at once with `code` and `reason`.
function closeCheck(SockJS, url, transport, code, reason, timeoutMs) {
  return new Promise((resolve) => {
    let opened = false;
    const timer = setTimeout(() => resolve({ ok: false, detail: 'timeout' }), timeoutMs);
    const sock = new SockJS(url, null, { transports: [transport] });
    sock.onopen = () => { opened = true; };
    sock.onclose = (e) => {
      clearTimeout(timer);
      const ok = opened && e.code === code && e.reason === reason;
      resolve({ ok, detail: `opened=${opened} close ${e.code} ${JSON.stringify(e.reason)}` });
    };
  });
}

if (typeof module !== 'undefined') module.exports = { AWKWARD, echoCheck, closeCheck };
