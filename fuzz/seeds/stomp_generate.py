#!/usr/bin/env python3
"""Writes the seeds of the STOMP fuzz targets under fuzz/seeds/stomp_codec/ and
fuzz/seeds/stomp_session/ (run from anywhere: python3 fuzz/seeds/stomp_generate.py).

  stomp_codec    [limits] [n] [pattern; n] [stream...]   limits: 0 small, 1 default
  stomp_session  [flags]  [n] [pattern; n] [client stream...]
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(command, headers=(), body=b"", eol=b"\n"):
    out = command.encode() + eol
    for name, value in headers:
        out += name.encode() + b":" + value.encode() + eol
    return out + eol + body + b"\0"


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pattern(*cuts):
    return bytes([len(cuts)]) + bytes(cuts)


CONNECT = frame("CONNECT", [("accept-version", "1.2"), ("host", "h"), ("heart-beat", "100,100")])
codec = {
    "connect": CONNECT,
    "connected": frame("CONNECTED", [("version", "1.2"), ("heart-beat", "0,0")]),
    "send_crlf": frame("SEND", [("destination", "/queue/a"), ("content-type", "text/plain")],
                       b"hello queue a\n", b"\r\n"),
    "content_length_nuls": frame("SEND", [("destination", "/q"), ("content-length", "5")],
                                 b"a\0b\0c") + b"\n\n",
    "escapes": frame("MESSAGE", [("a\\cb", "x\\r\\n\\c\\\\"), ("foo", "World"), ("foo", "Hello")]),
    "connect_backslash": frame("CONNECT", [("login", "a\\tb"), ("passcode", "p:w")]),
    "bad_escape": frame("SEND", [("x", "\\t")]),
    "heart_beats": b"\n\r\n\n" + frame("RECEIPT", [("receipt-id", "77")]) + b"\r\n",
    "error_spec": frame("ERROR", [("version", "1.2,2.1"), ("content-type", "text/plain")],
                        b"Supported protocol versions are 1.2 2.1"),
    "body_on_subscribe": frame("SUBSCRIBE", [("id", "0"), ("destination", "/q")], b"x"),
    "many_headers": frame("SEND", [("h%d" % i, "v") for i in range(10)]),
    "long_line": frame("SEND", [("x", "y" * 100)]),
}
for name, data in codec.items():
    write("stomp_codec", name + "_whole", b"\x00" + pattern() + data)
    write("stomp_codec", name + "_bytes", b"\x01" + pattern(1) + data)
    write("stomp_codec", name + "_cuts", b"\x00" + pattern(3, 0, 7) + data)

session = [
    ("connect_subscribe_ack", 0, CONNECT
     + frame("SUBSCRIBE", [("id", "0"), ("destination", "/q"), ("ack", "client")])
     + frame("SEND", [("destination", "/q"), ("receipt", "r1")], b"hi")
     + frame("ACK", [("id", "1")]) + frame("NACK", [("id", "2")])
     + frame("DISCONNECT", [("receipt", "77")])),
    ("transactions", 0, CONNECT
     + frame("SUBSCRIBE", [("id", "s"), ("destination", "/q"), ("ack", "client-individual")])
     + frame("BEGIN", [("transaction", "t")])
     + frame("SEND", [("destination", "/q"), ("transaction", "t")], b"x")
     + frame("ACK", [("id", "0"), ("transaction", "t")])
     + frame("COMMIT", [("transaction", "t"), ("receipt", "c")])
     + frame("BEGIN", [("transaction", "u")]) + frame("ABORT", [("transaction", "u")])),
    ("heart_beats", 4, CONNECT + b"\n" * 8
     + frame("SEND", [("destination", "/q")], b"late")),
    ("reject", 1, CONNECT + frame("SEND", [("destination", "/q")])),
    ("app_error", 2, CONNECT + frame("SUBSCRIBE", [("id", "0"), ("destination", "/q")])
     + frame("SEND", [("destination", "/q"), ("receipt", "9")], b"x")),
    ("stomp_1_1", 8, frame("STOMP", [("accept-version", "1.0,1.1"), ("host", "h")])
     + frame("SUBSCRIBE", [("id", "0"), ("destination", "/q"), ("ack", "client")])
     + frame("ACK", [("message-id", "0"), ("subscription", "0")])),
    ("no_version", 0, frame("CONNECT", [("host", "h")])),
    ("before_connect", 0, frame("SEND", [("destination", "/q")])),
    ("duplicate_subscription", 0, CONNECT
     + frame("SUBSCRIBE", [("id", "0"), ("destination", "/q")]) * 2),
]
for name, flags, data in session:
    write("stomp_session", name, bytes([flags]) + pattern() + data)
    write("stomp_session", name + "_split", bytes([flags | 4]) + pattern(5, 1, 40) + data)
