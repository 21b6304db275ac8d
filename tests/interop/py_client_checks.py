#!/usr/bin/env python3
"""Python `websockets` client checks against a WebSocket echo server.

Usage:
    py_client_checks.py URL [--accepted-origin ORIGIN] [--rejected-origin ORIGIN]
                            [--label TEXT] [--only NAME[,NAME...]]
                            [--ca CA.pem] [--max-message-size BYTES]

A wss:// URL is verified against the CA certificates in --ca (instead of the
system's). --max-message-size leaves the binary sizes above BYTES out of
binary_sizes, for servers with a smaller limit than 16 MiB.

The server at URL must follow the contract of our `echo_server` example:
echo every text/binary message unchanged (messages up to 16 MiB), answer
pings, echo the client's close code, choose subprotocols by ITS preference
`v12.stomp` > `v11.stomp` > `v10.stomp`, and (when started with
--allowed-origin) answer HTTP 403 to a disallowed Origin.

Prints one `ok`/`FAIL` line per check and exits 1 if any check failed.
"""

import argparse
import asyncio
import random
import ssl
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

MiB = 1 << 20
CHECK_TIMEOUT = 90.0
# proxy=None: never pick up *_PROXY variables for loopback tests.
# ping_interval=None: no keepalive pings of our own interfering with checks.
CONNECT_OPTS = dict(
    max_size=64 * MiB,
    proxy=None,
    ping_interval=None,
    open_timeout=10,
    close_timeout=10,
)


class CheckFailed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def payload(n, seed=0):
    return random.Random(seed * 1_000_003 + n).randbytes(n)


def describe(m):
    if isinstance(m, str):
        return f"text({len(m.encode())} B)"
    return f"binary({len(m)} B)"


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def compare(sent, got, label):
    if type(sent) is not type(got):
        raise CheckFailed(f"{label}: sent {describe(sent)}, got {describe(got)} back (opcode changed)")
    if sent != got:
        raise CheckFailed(
            f"{label}: echo differs: sent {describe(sent)}, got {describe(got)}, "
            f"first difference at index {first_diff(sent, got)}"
        )


async def roundtrip(ws, msg, label, timeout=30):
    await ws.send(msg)
    try:
        got = await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        raise CheckFailed(f"{label}: no echo within {timeout}s for {describe(msg)}")
    compare(msg, got, label)


def close_info(ws):
    rcvd = ws.protocol.close_rcvd
    return "no close frame received" if rcvd is None else f"close frame code={rcvd.code} reason={rcvd.reason!r}"


async def clean_close(ws, code=1000, reason="", label="close"):
    t0 = time.monotonic()
    await ws.close(code, reason)
    dt = time.monotonic() - t0
    expect(ws.protocol.close_rcvd is not None, f"{label}: server did not answer our close frame ({close_info(ws)})")
    expect(
        ws.protocol.close_rcvd.code == code,
        f"{label}: sent close code {code}, server answered {ws.protocol.close_rcvd.code} (expected it echoed)",
    )
    # websockets' client waits for the server to close the TCP connection after
    # the close handshake (RFC 6455 §7.1.1: the server closes TCP first) and
    # gives up after close_timeout. A slow close means the server kept the
    # socket open.
    expect(
        dt < 5.0,
        f"{label}: close handshake took {dt:.1f}s - the server should close the TCP "
        "connection right after replying to the close frame (RFC 6455 §7.1.1)",
    )
    return ws.protocol.close_rcvd


class Checks:
    def __init__(self, url, accepted_origin=None, rejected_origin=None, max_message_size=None):
        self.url = url
        self.max_message_size = max_message_size
        self.accepted_origin = accepted_origin
        self.rejected_origin = rejected_origin

    def connect(self, **kw):
        opts = dict(CONNECT_OPTS)
        opts.update(kw)
        return connect(self.url, **opts)

    # -- individual checks ---------------------------------------------------

    async def check_handshake(self):
        async with self.connect() as ws:
            resp = ws.response
            expect(resp.status_code == 101, f"status {resp.status_code}, expected 101")
            ext = resp.headers.get("Sec-WebSocket-Extensions")
            await roundtrip(ws, "hello", "first message")
            await clean_close(ws)
        return f"101 Switching Protocols, extensions={ext!r}"

    async def check_text_ascii(self):
        async with self.connect() as ws:
            for m in ["Hello, WebSocket!", "", "a" * 125, "b" * 126, "c" * 65535, "d" * 65536]:
                await roundtrip(ws, m, f"ascii text len {len(m)}")
            await clean_close(ws)

    async def check_text_utf8(self):
        msgs = [
            "héllo wörld — 日本語 — 한국어 — Ελληνικά — 🚀🎉",
            "\u0080\u07ff\u0800\uffff\U00010000\U0010ffff",
            "€" * 30000,  # 90000 bytes of 3-byte sequences
            "🎉" * 20000,  # 80000 bytes of 4-byte sequences
        ]
        async with self.connect() as ws:
            for i, m in enumerate(msgs):
                await roundtrip(ws, m, f"utf-8 text #{i}")
            await clean_close(ws)

    async def check_binary_sizes(self):
        sizes = [0, 1, 125, 126, 127, 65535, 65536, 65537, MiB, 16 * MiB]
        if self.max_message_size is not None:
            sizes = [n for n in sizes if n <= self.max_message_size]
        async with self.connect() as ws:
            for n in sizes:
                await roundtrip(ws, payload(n), f"binary {n} B", timeout=60)
            await clean_close(ws)
        return "sizes " + ",".join(str(n) for n in sizes)

    async def check_fragmented(self):
        async with self.connect() as ws:
            # Text in 3 fragments (each fragment valid UTF-8 on its own).
            frags = ["frag", "mented ", "téxt ✓"]
            await ws.send(frags)
            got = await asyncio.wait_for(ws.recv(), 30)
            compare("".join(frags), got, "text in 3 fragments")

            # Text whose multi-byte characters are split across fragments:
            # the UTF-8 check must apply to the whole message, not per frame.
            raw = "split € and 🎉 across fragments".encode()
            cut1 = raw.index("€".encode()) + 1
            cut2 = raw.index("🎉".encode()) + 2
            await ws.send([raw[:cut1], raw[cut1:cut2], raw[cut2:]], text=True)
            got = await asyncio.wait_for(ws.recv(), 30)
            compare(raw.decode(), got, "text with UTF-8 sequences split across fragments")

            # Binary in 4 fragments, including an empty one and a 64-bit length one.
            parts = [payload(1000, 1), b"", payload(70000, 2), payload(5, 3)]
            await ws.send(parts)
            got = await asyncio.wait_for(ws.recv(), 30)
            compare(b"".join(parts), got, "binary in 4 fragments")

            # A ping interleaved between fragments of one message (RFC 6455 §5.4).
            pong = None

            async def with_ping():
                nonlocal pong
                yield b"before-ping|"
                pong = await ws.ping(b"mid-fragment")
                yield b"after-ping"

            await ws.send(with_ping())
            got = await asyncio.wait_for(ws.recv(), 30)
            compare(b"before-ping|after-ping", got, "binary with ping between fragments")
            try:
                await asyncio.wait_for(pong, 10)
            except asyncio.TimeoutError:
                raise CheckFailed("no pong for a ping sent between two fragments")
            await clean_close(ws)

    async def check_ping_pong(self):
        async with self.connect() as ws:
            for data in [b"interop-ping", b"", payload(125, 7)]:
                waiter = await ws.ping(data)
                try:
                    latency = await asyncio.wait_for(waiter, 10)
                except asyncio.TimeoutError:
                    raise CheckFailed(f"no pong (with the same payload) for ping of {len(data)} B within 10s")
            await roundtrip(ws, "after pings", "echo after pings")
            await clean_close(ws)
        return f"3 pings answered, last latency {latency * 1000:.1f} ms"

    async def check_close_code_reason(self):
        async with self.connect() as ws:
            await roundtrip(ws, "about to close", "echo before close")
            rcvd = await clean_close(ws, 4001, "bye ✓", "close 4001")
        detail = f"4001 echoed, reason {rcvd.reason!r}"
        async with self.connect() as ws:
            await clean_close(ws, 1000, "normal", "close 1000")
        async with self.connect() as ws:
            await clean_close(ws, 1001, "", "close 1001")
        return detail + "; 1000 and 1001 echoed"

    async def check_pipelined(self):
        n = 100
        msgs = [f"pipelined #{i} ✓" if i % 2 == 0 else payload(i * 97, i) for i in range(n)]
        async with self.connect() as ws:
            for m in msgs:  # no waiting for echoes in between
                await ws.send(m)
            for i, m in enumerate(msgs):
                try:
                    got = await asyncio.wait_for(ws.recv(), 30)
                except asyncio.TimeoutError:
                    raise CheckFailed(f"only {i} of {n} pipelined echoes arrived")
                compare(m, got, f"pipelined message #{i} (order)")
            await clean_close(ws)
        return f"{n} messages"

    async def check_subprotocols(self):
        cases = [
            (["v10.stomp", "v11.stomp"], "v11.stomp"),
            (["v10.stomp", "v12.stomp", "v11.stomp"], "v12.stomp"),
            (["v10.stomp"], "v10.stomp"),
            (["foo"], None),
            (None, None),
        ]
        for offered, want in cases:
            try:
                async with self.connect(subprotocols=offered) as ws:
                    header = ws.response.headers.get_all("Sec-WebSocket-Protocol")
                    expect(
                        ws.subprotocol == want,
                        f"offered {offered}: server selected {ws.subprotocol!r}, expected {want!r} "
                        "(server preference v12.stomp > v11.stomp > v10.stomp)",
                    )
                    if want is None:
                        expect(header == [], f"offered {offered}: expected no Sec-WebSocket-Protocol header, got {header}")
                    else:
                        expect(header == [want], f"offered {offered}: Sec-WebSocket-Protocol header {header}")
                    await roundtrip(ws, "stomp?", f"echo with subprotocol {want}")
                    await clean_close(ws)
            except CheckFailed:
                raise
            except Exception as e:  # e.g. websockets rejects an unoffered subprotocol
                raise CheckFailed(f"offered {offered}: handshake failed: {type(e).__name__}: {e}")
        return "v10+v11->v11, v10+v12+v11->v12, v10->v10, foo->none, none->none"

    async def check_origin(self):
        notes = []
        if self.accepted_origin:
            async with self.connect(origin=self.accepted_origin) as ws:
                await roundtrip(ws, "from an allowed origin", "echo with allowed Origin")
                await clean_close(ws)
            notes.append(f"Origin {self.accepted_origin} accepted")
        if self.rejected_origin:
            try:
                async with self.connect(origin=self.rejected_origin) as ws:
                    raise CheckFailed(f"connection with Origin {self.rejected_origin} was accepted, expected HTTP 403")
            except InvalidStatus as e:
                status = e.response.status_code
                expect(status == 403, f"Origin {self.rejected_origin}: got HTTP {status}, expected 403")
            notes.append(f"Origin {self.rejected_origin} -> 403")
        # Requests without an Origin header are always allowed.
        async with self.connect() as ws:
            await roundtrip(ws, "no origin", "echo without Origin")
            await clean_close(ws)
        notes.append("no Origin accepted")
        return ", ".join(notes)

    async def check_concurrent(self):
        conns, per_conn = 50, 8

        async def one(cid):
            async with self.connect() as ws:
                for j in range(per_conn):
                    m = f"conn {cid} msg {j} ✓" if j % 2 == 0 else payload(cid * 131 + j * 1009, cid)
                    await roundtrip(ws, m, f"connection {cid} message {j}")
                await clean_close(ws, 1000, "", f"connection {cid} close")

        results = await asyncio.gather(*(one(i) for i in range(conns)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise CheckFailed(f"{len(errors)}/{conns} connections failed; first: {type(errors[0]).__name__}: {errors[0]}")
        return f"{conns} connections x {per_conn} messages"

    async def check_still_alive(self):
        async with self.connect() as ws:
            await roundtrip(ws, "still there?", "final echo")
            await clean_close(ws)

    ORDER = [
        "handshake",
        "text_ascii",
        "text_utf8",
        "binary_sizes",
        "fragmented",
        "ping_pong",
        "close_code_reason",
        "pipelined",
        "subprotocols",
        "origin",
        "concurrent",
        "still_alive",
    ]


async def server_reachable(url):
    """Can we still open a WebSocket at all? (Detects a crashed server, also behind nginx: 502.)"""
    try:
        async with connect(url, **dict(CONNECT_OPTS, open_timeout=5)):
            return True
    except Exception:
        return False


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--accepted-origin", help="an Origin the server must accept")
    ap.add_argument("--rejected-origin", help="an Origin the server must reject with HTTP 403")
    ap.add_argument("--label", default="py-client", help="prefix for output lines")
    ap.add_argument("--only", help="comma-separated subset of: " + ",".join(Checks.ORDER))
    ap.add_argument("--ca", help="PEM file of the CA certificates to trust for a wss:// URL")
    ap.add_argument("--max-message-size", type=int, help="leave larger sizes out of binary_sizes")
    args = ap.parse_args()

    if args.ca:
        CONNECT_OPTS["ssl"] = ssl.create_default_context(cafile=args.ca)
    checks = Checks(args.url, args.accepted_origin, args.rejected_origin, args.max_message_size)
    names = args.only.split(",") if args.only else Checks.ORDER
    failed = []
    for name in names:
        fn = getattr(checks, "check_" + name, None)
        if fn is None:
            print(f"unknown check {name!r}", file=sys.stderr)
            return 2
        t0 = time.monotonic()
        try:
            detail = await asyncio.wait_for(fn(), CHECK_TIMEOUT)
            dt = time.monotonic() - t0
            print(f"[{args.label}] ok   {name} ({dt:.2f}s){' - ' + detail if detail else ''}", flush=True)
        except asyncio.TimeoutError:
            failed.append(name)
            print(f"[{args.label}] FAIL {name}: timed out after {CHECK_TIMEOUT:.0f}s", flush=True)
        except CheckFailed as e:
            failed.append(name)
            print(f"[{args.label}] FAIL {name}: {e}", flush=True)
        except (ConnectionClosed, InvalidStatus, OSError) as e:
            failed.append(name)
            print(f"[{args.label}] FAIL {name}: {type(e).__name__}: {e}", flush=True)
        except Exception as e:
            failed.append(name)
            print(f"[{args.label}] FAIL {name}: unexpected {type(e).__name__}: {e!r}", flush=True)
        if failed and failed[-1] == name and not await server_reachable(args.url):
            print(f"[{args.label}] FAIL server no longer accepts WebSocket connections (crashed?); skipping remaining checks", flush=True)
            break
    if failed:
        print(f"[{args.label}] {len(failed)} of {len(names)} checks FAILED: {', '.join(failed)}", flush=True)
        return 1
    print(f"[{args.label}] all {len(names)} checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
