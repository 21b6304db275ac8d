#!/usr/bin/env python3
"""What hostile peers cost a running echo server, in resident memory (RSS).

Starts an echo server example (tokio or blocking), attacks it over loopback, and reports
the growth of the server process's RSS (from /proc) — the figures quoted in README
"Security" and in the hardening issue, measured the way a user would see them.

    cargo build --release --examples
    python3 benches/hostile.py                      # every attack, both servers
    python3 benches/hostile.py --bin DIR --only ping-flood,header-stall

Attacks:
  ping-flood     one peer floods 125-byte pings and never reads (until writes stall 1 s)
  echo-flood     one peer sends 16 KiB messages and never reads the echoes
  header-stall   N peers send a header announcing 1 MiB plus 8 KiB of it, then stall
  header-only    N peers send only that 14-byte header, then stall
  idle-after     N peers echo messages of 16 B .. 64 KiB, then stay connected and idle
"""

import argparse
import os
import socket
import subprocess
import sys
import time

KEY = bytes([1, 2, 3, 4])


def masked(b0, payload, key=KEY):
    n = len(payload)
    if n < 126:
        head = bytes([b0, 0x80 | n])
    elif n <= 0xFFFF:
        head = bytes([b0, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, 0x80 | 127]) + n.to_bytes(8, "big")
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 4096 else mask_fast(payload, key)
    return head + key + body


def mask_fast(payload, key):
    k = int.from_bytes(key * (len(payload) // 4 + 1), "little")
    p = int.from_bytes(payload, "little")
    return (p ^ (k & ((1 << (8 * len(payload))) - 1))).to_bytes(len(payload), "little")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def handshake(addr):
    s = socket.create_connection(addr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise RuntimeError("server closed during the handshake")
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


class Server:
    def __init__(self, exe):
        self.proc = subprocess.Popen([exe, "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        self.addr = ("127.0.0.1", int(line.rsplit(":", 1)[1]))
        # Keep draining its log.
        import threading

        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        time.sleep(0.2)

    def rss(self):
        return rss_kib(self.proc.pid)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def flood(server, frame, seconds_stalled=1.0, limit=1 << 30):
    s = handshake(server.addr)
    s.settimeout(seconds_stalled)
    chunk = frame * max(1, (1 << 20) // len(frame))
    base = server.rss()
    peak = base
    sent = 0
    start = time.time()
    try:
        while sent < limit:
            sent += s.send(chunk)
            peak = max(peak, server.rss())
    except (socket.timeout, BlockingIOError):
        pass
    except OSError as e:
        print(f"    (send failed: {e})")
    elapsed = time.time() - start
    peak = max(peak, server.rss())
    s.close()
    return f"{sent / 2**20:.1f} MiB sent in {elapsed:.1f} s, RSS +{(peak - base) / 1024:.1f} MiB"


def stall(server, peers, data):
    socks = [handshake(server.addr) for _ in range(peers)]
    time.sleep(0.5)
    base = server.rss()
    for s in socks:
        s.sendall(data)
    time.sleep(1.0)
    grown = server.rss() - base
    for s in socks:
        s.close()
    return f"{peers} peers, {len(data)} bytes each: RSS +{grown / 1024:.1f} MiB, {grown / peers:.1f} KiB per peer"


def idle_after(server, peers):
    socks = [handshake(server.addr) for _ in range(peers)]
    time.sleep(0.5)
    base = server.rss()
    for size in (16, 1000, 20_000, 65_536):
        frame = masked(0x82, b"x" * size)
        for s in socks:
            s.sendall(frame)
        want = size + (2 if size < 126 else 4 if size <= 0xFFFF else 10)
        for s in socks:
            got = 0
            while got < want:
                got += len(s.recv(want - got))
    busy = server.rss() - base
    time.sleep(1.0)
    idle = server.rss() - base
    for s in socks:
        s.close()
    return (f"{peers} peers echoed 16 B..64 KiB: RSS +{busy / 1024:.1f} MiB busy, "
            f"+{idle / 1024:.1f} MiB idle ({idle / peers:.1f} KiB per idle peer)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "examples"))
    ap.add_argument("--only", default="")
    ap.add_argument("--peers", type=int, default=500)
    ap.add_argument("--servers", default="echo_server,echo_server_blocking")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    header = bytes([0x82, 0x80 | 127]) + (1 << 20).to_bytes(8, "big") + KEY
    attacks = {
        "ping-flood": lambda s: flood(s, masked(0x89, b"p" * 125)),
        "echo-flood": lambda s: flood(s, masked(0x82, b"e" * 16384)),
        "header-stall": lambda s: stall(s, args.peers, header + bytes(8192)),
        "header-only": lambda s: stall(s, args.peers, header),
        "idle-after": lambda s: idle_after(s, args.peers * 2),
    }
    for name in args.servers.split(","):
        exe = os.path.join(args.bin, name)
        for attack, run in attacks.items():
            if only and attack not in only:
                continue
            server = Server(exe)
            try:
                print(f"{name:22} {attack:13} {run(server)}", flush=True)
            finally:
                server.stop()


if __name__ == "__main__":
    sys.exit(main())
