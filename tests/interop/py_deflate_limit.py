#!/usr/bin/env python3
"""permessage-deflate at the message limit, against our echo_server started with
`--max-message-size 1048576` (the library's default limits).

Usage: py_deflate_limit.py URL [--limit BYTES]

Python `websockets` negotiates permessage-deflate and sends incompressible binary
messages: one of exactly --limit bytes (its compressed frame is a little larger) must be
echoed unchanged; one of --limit + 1 bytes must make the server close with 1009.
Prints one ok/FAIL line per check and exits 1 if any failed.
"""

import argparse
import asyncio
import random
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

TIMEOUT = 30


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--limit", type=int, default=1 << 20)
    args = ap.parse_args()
    failed = 0

    def report(ok, what):
        nonlocal failed
        print(f"[py-deflate-limit] {'ok  ' if ok else 'FAIL'} {what}", flush=True)
        failed += 0 if ok else 1

    opts = dict(max_size=4 * args.limit, proxy=None, ping_interval=None, open_timeout=10)
    async with connect(args.url, **opts) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        report("permessage-deflate" in extensions, f"deflate negotiated ({extensions!r})")
        data = random.Random(7).randbytes(args.limit)
        await ws.send(data)
        got = await asyncio.wait_for(ws.recv(), TIMEOUT)
        report(got == data, f"{args.limit} incompressible bytes echoed ({len(got)} back)")

    async with connect(args.url, **opts) as ws:
        await ws.send(random.Random(8).randbytes(args.limit + 1))
        try:
            got = await asyncio.wait_for(ws.recv(), TIMEOUT)
            report(False, f"{args.limit + 1} bytes: expected close 1009, got a message of {len(got)}")
        except ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else None
            report(code == 1009, f"{args.limit + 1} bytes: server closed with {code} (want 1009)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
