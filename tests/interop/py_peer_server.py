#!/usr/bin/env python3
"""Python `websockets` server used to test OUR echo_client.

Usage: py_peer_server.py HOST:PORT [--result FILE] [--timeout SECONDS]
                         [--tls CERT.pem KEY.pem [--expect-sni NAME]]

With --tls it serves wss:// (ALPN http/1.1) and checks the client's TLS handshake: ALPN
http/1.1 selected and, with --expect-sni, that Server Name Indication carried NAME (RFC
6455 §4.1: "the client MUST use the Server Name Indication extension").

Accepts ONE connection, then: sends a text message, a binary message, a
large (64-bit length) binary message, an incompressible binary message of
exactly 1 MiB with permessage-deflate (the client's default limit), a text
message in 3 fragments and a
ping; checks that every message comes back echoed unchanged (and the pong);
closes with 1000 and checks the client echoed the close code. Writes a JSON
result to --result and exits 0 on success, 1 on failure (2 if no client came).
"""

import argparse
import asyncio
import json
import random
import ssl
import sys

from websockets.asyncio.server import serve

TIMEOUT = 10


class Failed(Exception):
    pass


async def exercise(ws, steps, tls=None):
    def step(msg):
        steps.append(msg)
        print(f"[py-peer] ok   {msg}", flush=True)

    if tls is not None:
        ssl_object = ws.transport.get_extra_info("ssl_object")
        if ssl_object is None:
            raise Failed("the connection is not TLS")
        alpn, sni = ssl_object.selected_alpn_protocol(), tls["sni"]
        if alpn != "http/1.1":
            raise Failed(f"ALPN {alpn!r}, expected 'http/1.1'")
        if tls["expect_sni"] is not None and sni != tls["expect_sni"]:
            raise Failed(f"SNI {sni!r}, expected {tls['expect_sni']!r}")
        step(f"TLS: {ssl_object.version()} {ssl_object.cipher()[0]}, ALPN {alpn}, SNI {sni!r}")

    async def echo(sent, label, fragments=None):
        await ws.send(fragments if fragments is not None else sent)
        try:
            got = await asyncio.wait_for(ws.recv(), TIMEOUT)
        except asyncio.TimeoutError:
            raise Failed(f"{label}: no echo within {TIMEOUT}s")
        if type(got) is not type(sent):
            raise Failed(f"{label}: sent {type(sent).__name__}, got {type(got).__name__} back (opcode changed)")
        if got != sent:
            raise Failed(f"{label}: echo differs ({len(sent)} vs {len(got)} units)")
        step(f"{label} echoed")

    step(f"client connected: GET {ws.request.path}, User-Agent {ws.request.headers.get('User-Agent', '?')!r}, "
         f"extensions offered {ws.request.headers.get('Sec-WebSocket-Extensions')!r}")
    await echo("Hello from the Python peer — ünïcödé ✓ 🎉", "text")
    await echo(random.Random(1).randbytes(300), "binary 300 B")
    await echo(random.Random(2).randbytes(70000), "binary 70000 B")
    # permessage-deflate at the limit: an incompressible message of exactly the client's
    # default max_message_size (1 MiB) compresses to a frame a little over 1 MiB; the
    # client must take it (the inflated size is what its limit protects) and echo it.
    extensions = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
    if "permessage-deflate" not in extensions:
        raise Failed(f"permessage-deflate not negotiated (response: {extensions!r})")
    await echo(random.Random(3).randbytes(1 << 20), "incompressible 1 MiB, compressed (deflate)")
    frags = ["frag-1 ", "frag-2 ", "frag-3 ✓"]
    await echo("".join(frags), "text in 3 fragments", fragments=frags)
    waiter = await ws.ping(b"peer-ping")
    try:
        await asyncio.wait_for(waiter, TIMEOUT)
    except asyncio.TimeoutError:
        raise Failed(f"no pong for our ping within {TIMEOUT}s")
    step("pong received")
    await ws.close(1000, "done")
    rcvd = ws.protocol.close_rcvd
    if rcvd is None:
        raise Failed("client did not answer our close frame")
    if rcvd.code != 1000:
        raise Failed(f"client answered close 1000 with code {rcvd.code}")
    step(f"close handshake complete (client replied {rcvd.code})")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--result")
    ap.add_argument("--timeout", type=float, default=60, help="max seconds to wait for the client")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve wss:// with this certificate")
    ap.add_argument("--expect-sni", help="with --tls: the server name the client must send")
    args = ap.parse_args()
    host, port = args.addr.rsplit(":", 1)

    ssl_context, tls = None, None
    if args.tls:
        tls = {"sni": None, "expect_sni": args.expect_sni}
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(*args.tls)
        ssl_context.set_alpn_protocols(["http/1.1"])

        def remember_sni(_ssl_object, server_name, _context):
            tls["sni"] = server_name

        ssl_context.sni_callback = remember_sni

    done = asyncio.get_running_loop().create_future()
    steps = []

    async def handler(ws):
        if done.done():
            await ws.close(1013, "only one client")
            return
        try:
            await exercise(ws, steps, tls)
            result = {"pass": True, "steps": steps}
        except Exception as e:
            result = {"pass": False, "steps": steps, "error": f"{type(e).__name__}: {e}"}
        if not done.done():
            done.set_result(result)

    async with serve(handler, host, int(port), ping_interval=None, max_size=64 << 20, ssl=ssl_context):
        print(f"[py-peer] listening on {args.addr}", flush=True)
        try:
            result = await asyncio.wait_for(done, args.timeout)
        except asyncio.TimeoutError:
            result = {"pass": False, "steps": [], "error": f"no client connected within {args.timeout}s"}

    if args.result:
        with open(args.result, "w") as f:
            json.dump(result, f, indent=2)
    if result["pass"]:
        print("[py-peer] PASS", flush=True)
        return 0
    print(f"[py-peer] FAIL: {result['error']}", flush=True)
    return 1 if result["steps"] else 2


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
