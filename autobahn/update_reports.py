#!/usr/bin/env python3
"""Ask a running `wstest -m fuzzingserver` to (re)write its reports.

Usage: update_reports.py ws://127.0.0.1:9001 AGENT

Opens ws://HOST:PORT/updateReports?agent=AGENT, waits for the server's close
frame (sent once index.json and the per-case files are written) and answers
it. Standard library only; every step is bounded by a socket timeout.
"""
import base64
import os
import socket
import struct
import sys
import urllib.parse


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by server")
        buf += chunk
    return buf


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    url = urllib.parse.urlsplit(sys.argv[1])
    agent = sys.argv[2]
    host, port = url.hostname or "127.0.0.1", url.port or 80
    path = "/updateReports?" + urllib.parse.urlencode({"agent": agent})
    key = base64.b64encode(os.urandom(16)).decode()
    request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key))
    with socket.create_connection((host, port), timeout=120) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += read_exact(sock, 1)
            if len(head) > 65536:
                raise ValueError("oversized handshake response")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            print("update_reports.py: handshake failed: %r" % status, file=sys.stderr)
            return 1
        while True:  # skip data frames until the server's close frame
            b0, b1 = read_exact(sock, 2)
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack("!H", read_exact(sock, 2))[0]
            elif length == 127:
                length = struct.unpack("!Q", read_exact(sock, 8))[0]
            if b1 & 0x80:
                read_exact(sock, 4)
            read_exact(sock, length)
            if b0 & 0x0F == 0x8:
                break
        mask = os.urandom(4)
        sock.sendall(bytes([0x88, 0x80]) + mask)  # masked, empty close frame
        try:
            sock.recv(1)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
