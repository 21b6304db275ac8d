#!/usr/bin/env python3
"""Writes the seed corpus under fuzz/seeds/<target>/ (committed; ci.sh copies it into
fuzz/corpus/<target>/, which is ignored). Run from anywhere: python3 fuzz/seeds/generate.py

Input layouts (see fuzz/src/lib.rs and each target's doc comment):
  handshake_*        [flags] [n] [n split-pattern bytes] [bytes...]
  connection_*       [flags, msg_hi, msg_lo, frame_hi, frame_lo, fragments] [n] [pattern] [frames...]
  utf8               [n] [pattern] [text...]
  mask               [key; 4] [offset] [align] [split] [data...]
  frame_header       raw header bytes
  roundtrip          bytes interpreted by `arbitrary`
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # the RFC 6455 §5.7 masking key


def crlf(*lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def mask(data, key=KEY):
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def frame(b0, payload, key=None):
    n = len(payload)
    mbit = 0x80 if key else 0
    if n <= 125:
        head = bytes([b0, mbit | n])
    elif n <= 0xFFFF:
        head = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if key:
        return head + key + mask(payload, key)
    return head + payload


# RFC 6455 §1.2 / §4.1 sample handshake.
RFC_REQUEST = crlf(
    "GET /chat HTTP/1.1",
    "Host: server.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Origin: http://example.com",
    "Sec-WebSocket-Protocol: chat, superchat",
    "Sec-WebSocket-Version: 13",
)
# Chromium 124 opening ws://localhost:8080/chat from http://localhost:8080.
CHROMIUM_REQUEST = crlf(
    "GET /chat HTTP/1.1",
    "Host: localhost:8080",
    "Connection: Upgrade",
    "Pragma: no-cache",
    "Cache-Control: no-cache",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Upgrade: websocket",
    "Origin: http://localhost:8080",
    "Sec-WebSocket-Version: 13",
    "Accept-Encoding: gzip, deflate, br, zstd",
    "Accept-Language: en-US,en;q=0.9",
    "Cookie: session=4f2a9c; theme=dark",
    "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==",
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
)
# Firefox 125: "Connection: keep-alive, Upgrade", Sec-Fetch-* headers.
FIREFOX_REQUEST = crlf(
    "GET /socket?room=1 HTTP/1.1",
    "Host: chat.example.com",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Accept: */*",
    "Accept-Language: en-US,en;q=0.5",
    "Accept-Encoding: gzip, deflate, br",
    "Sec-WebSocket-Version: 13",
    "Origin: https://app.example.com",
    "Sec-WebSocket-Extensions: permessage-deflate",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Connection: keep-alive, Upgrade",
    "Sec-Fetch-Dest: websocket",
    "Sec-Fetch-Mode: websocket",
    "Sec-Fetch-Site: same-site",
    "Pragma: no-cache",
    "Cache-Control: no-cache",
    "Upgrade: websocket",
)
CROSS_SITE_REQUEST = crlf(
    "GET /chat HTTP/1.1",
    "Host: chat.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Origin: https://evil.example",
    "Sec-WebSocket-Version: 13",
)
OLD_VERSION_REQUEST = RFC_REQUEST.replace(b"Version: 13", b"Version: 8")
HELLO_MASKED = bytes([0x81, 0x85]) + KEY + bytes([0x7F, 0x9F, 0x4D, 0x51, 0x58])

# flags: 0x00 defaults, 0x04 same-origin, 0x08 allow-list, 0x40 subprotocols, 0x01 small head.
write("handshake_request", "rfc_request", b"\x40\x00" + RFC_REQUEST)
write("handshake_request", "chromium_request", b"\x00\x00" + CHROMIUM_REQUEST)
write("handshake_request", "chromium_same_origin", b"\x04\x00" + CHROMIUM_REQUEST)
write("handshake_request", "firefox_allow_list", b"\x08\x00" + FIREFOX_REQUEST)
write("handshake_request", "cross_site", b"\x04\x00" + CROSS_SITE_REQUEST)
write("handshake_request", "old_version", b"\x00\x00" + OLD_VERSION_REQUEST)
write("handshake_request", "pipelined_frame", b"\x40\x00" + RFC_REQUEST + HELLO_MASKED)
write("handshake_request", "byte_by_byte", b"\x40\x01\x01" + RFC_REQUEST + HELLO_MASKED)
write("handshake_request", "split_7_1_30", b"\x00\x03\x07\x01\x1e" + CHROMIUM_REQUEST)
write("handshake_request", "bare_lf", b"\x40\x00" + RFC_REQUEST.replace(b"\r\n", b"\n"))
write("handshake_request", "small_limit", b"\x71\x00" + CHROMIUM_REQUEST)

RFC_RESPONSE = crlf(
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    "Sec-WebSocket-Protocol: chat",
)
DEFLATE_RESPONSE = crlf(
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15",
)
write("handshake_response", "rfc_response", b"\x01\x00" + RFC_RESPONSE)
write("handshake_response", "rfc_response_bytewise", b"\x01\x01\x01" + RFC_RESPONSE)
write("handshake_response", "deflate", b"\x03\x00" + DEFLATE_RESPONSE)
write("handshake_response", "with_frame", b"\x01\x00" + RFC_RESPONSE + bytes([0x81, 0x05]) + b"Hello")
write("handshake_response", "forbidden", b"\x00\x00" + b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\n"
      b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 18\r\n\r\norigin not allowed")
write("handshake_response", "redirect", b"\x00\x00" + crlf("HTTP/1.1 302 Found", "Location: wss://example.com/chat", "Content-Length: 0"))
write("handshake_response", "unauthorized", b"\x00\x00" + crlf("HTTP/1.1 401 Unauthorized", 'WWW-Authenticate: Bearer realm="chat"'))

# RFC 6455 §5.7 examples.
RFC_FRAMES = {
    "text_unmasked": bytes([0x81, 0x05]) + b"Hello",
    "text_masked": HELLO_MASKED,
    "fragment_1": bytes([0x01, 0x03]) + b"Hel",
    "fragment_2": bytes([0x80, 0x02]) + b"lo",
    "ping_unmasked": bytes([0x89, 0x05]) + b"Hello",
    "pong_masked": bytes([0x8A, 0x85]) + KEY + mask(b"Hello"),
    "binary_256": bytes([0x82, 0x7E, 0x01, 0x00]),
    "binary_64k": bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
    "binary_64k_masked": bytes([0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0]) + KEY,
    "close_1000": bytes([0x88, 0x02, 0x03, 0xE8]),
}
for name, data in RFC_FRAMES.items():
    write("frame_header", name, data)

PARAMS = bytes([0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])  # auto_pong + echo, 64 KiB limits
BIN256 = bytes(range(256))


def conn_stream(key):
    return {
        "hello": frame(0x81, b"Hello", key),
        "fragmented": frame(0x01, b"Hel", key) + frame(0x80, b"lo", key),
        "ping_in_fragments": frame(0x01, b"Hel", key) + frame(0x89, b"Hello", key) + frame(0x80, b"lo", key),
        "binary_256": frame(0x82, BIN256, key),
        "utf8_split": frame(0x01, "κό".encode()[:3], key) + frame(0x80, "κόσμε".encode()[3:], key),
        "close": frame(0x81, b"Hello", key) + frame(0x88, b"\x03\xe8bye", key),
        "pings": b"".join(frame(0x89, bytes([i]), key) for i in range(8)),
        "everything": frame(0x81, b"Hello", key) + frame(0x89, b"Hello", key)
        + frame(0x8A, b"Hello", key) + frame(0x01, b"Hel", key) + frame(0x80, b"lo", key)
        + frame(0x82, BIN256, key) + frame(0x88, b"\x03\xe8", key),
    }


for target, key in [("connection_server", KEY), ("connection_client", None)]:
    for name, stream in conn_stream(key).items():
        write(target, name, PARAMS + b"\x00" + stream)
    write(target, "everything_bytewise", PARAMS + b"\x01\x01" + conn_stream(key)["everything"])
    write(target, "everything_split_3_7", PARAMS + b"\x02\x03\x07" + conn_stream(key)["everything"])
    write(target, "timers_eof", bytes([0x0F, 0x01, 0x00, 0x00, 0x80, 0x04]) + b"\x01\x05" + conn_stream(key)["everything"])
    write(target, "small_limits", bytes([0x13, 0x00, 0x10, 0x00, 0x08, 0x02]) + b"\x00" + conn_stream(key)["fragmented"])
    write(target, "we_close_first", bytes([0x23, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) + b"\x00" + conn_stream(key)["close"])
    write(target, "never_read", bytes([0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) + b"\x01\x02" + conn_stream(key)["pings"])
    write(target, "bad_utf8", PARAMS + b"\x00" + frame(0x01, b"ok \xf4", key) + frame(0x80, b"\x90 no", key))

# reader: [flags (bit 0 deflate)] [limit byte] [n] [pattern] [frames]; the server's streams.
for name, stream in conn_stream(KEY).items():
    write("reader", name, b"\x00\xff\x00" + stream)
write("reader", "everything_bytewise", b"\x00\xff\x01\x01" + conn_stream(KEY)["everything"])
write("reader", "everything_split_3_7", b"\x00\x03\x02\x03\x07" + conn_stream(KEY)["everything"])
write("reader", "bad_utf8_in_pieces", b"\x00\xff\x01\x03" + frame(0x81, b"ok ok ok \xf4\x90 no", KEY))
write("reader", "long_text_in_pieces", b"\x00\xff\x01\xc1" + frame(0x81, "Ünïcödé 𝄞 ".encode() * 100, KEY))
# RFC 7692 §7.2.3.1: "Hello" compressed, whole and in two frames.
write("reader", "deflate_hello", b"\x01\xff\x00" + frame(0xC1, bytes.fromhex("f248cdc9c90700"), KEY))
write("reader", "deflate_fragmented", b"\x01\xff\x01\x02" + frame(0x41, bytes.fromhex("f248cd"), KEY) + frame(0x80, bytes.fromhex("c9c90700"), KEY))

for name, text in {
    "ascii": b"Hello",
    "greek": "κόσμε".encode(),
    "astral": "a€b𝄞c".encode(),
    "surrogate": b"\xed\xa0\x80",
    "too_big": b"\xf4\x90\x80\x80",
    "overlong": b"\xc0\xaf",
    "truncated": b"\xe2\x82",
    "boundaries": b"\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf",
}.items():
    write("utf8", name, b"\x00" + text)
    write("utf8", name + "_bytewise", b"\x01\x01" + text)
write("utf8", "long_split", b"\x03\x05\x21\x02" + "Ünïcödé text, long enough for the SIMD path: 𝄞𝄞𝄞 €€€ ok".encode() * 3)

for name, (offset, align, split, data) in {
    "hello": (0, 0, 0, b"Hello"),
    "offset_3_align_1": (3, 1, 17, BIN256),
    "avx_lengths": (1, 5, 64, bytes(range(200))),
}.items():
    write("mask", name, KEY + bytes([offset, align, split]) + data)

rng = random.Random(6455)
for i in range(8):
    write("roundtrip", f"random_{i}", bytes(rng.randrange(256) for _ in range(64 * (i + 1))))
write("roundtrip", "rfc_frames", b"".join(RFC_FRAMES.values()) * 4)
