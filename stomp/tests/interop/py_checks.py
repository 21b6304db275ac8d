"""stomp.py's WSConnection (no subprotocol offered) against stomp_server.

    python py_checks.py --port PORT [--label L] [--mode simple|relay] [--heartbeat-ms N]

Prints "ok <check>" or "FAIL <check>: why" per check; exits 1 if any failed.
"""

import argparse
import queue
import secrets
import sys
import time
import traceback

import stomp
import websocket

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--label", default="py")
parser.add_argument("--mode", default="simple", choices=["simple", "relay"])
parser.add_argument("--heartbeat-ms", type=int, default=500)
args = parser.parse_args()
HB = args.heartbeat_ms
WAIT = 10.0


def rand():
    return secrets.token_hex(3)


class Listener(stomp.ConnectionListener):
    """Frames by kind, in order."""

    def __init__(self):
        self.messages = queue.Queue()
        self.receipts = queue.Queue()
        self.errors = queue.Queue()
        self.connected_frame = None
        self.disconnected = False
        self.heartbeats = 0

    def on_connected(self, frame):
        self.connected_frame = frame

    def on_message(self, frame):
        self.messages.put(frame)

    def on_receipt(self, frame):
        self.receipts.put(frame.headers["receipt-id"])

    def on_error(self, frame):
        self.errors.put(frame)

    def on_disconnected(self):
        self.disconnected = True

    def on_heartbeat(self):
        self.heartbeats += 1

    def next(self, what="a message"):
        try:
            return self.messages.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"timed out waiting for {what}") from None

    def none(self, seconds, what):
        time.sleep(seconds)
        if not self.messages.empty():
            raise AssertionError(f"unexpected {what}: {self.messages.get().body!r}")

    def receipt(self, rid):
        deadline = time.time() + WAIT
        while time.time() < deadline:
            try:
                if self.receipts.get(timeout=0.1) == rid:
                    return
            except queue.Empty:
                pass
        raise AssertionError(f"no receipt {rid}")


connections = []


def connect(login=None, passcode=None, heartbeats=(0, 0), decode=True):
    conn = stomp.WSConnection(
        [("127.0.0.1", args.port)],
        ws_path="/ws",
        heartbeats=heartbeats,
        auto_decode=decode,
        reconnect_attempts_max=1,
        # Bodies that are not UTF-8 must travel in binary WebSocket messages (a text
        # message must be UTF-8, RFC 6455 §5.6): stomp.py sends text unless told so.
        binary_mode=not decode,
    )
    listener = Listener()
    conn.set_listener("", listener)
    connections.append(conn)
    conn.connect(login, passcode, wait=True)
    return conn, listener


def subscribe(conn, listener, destination, sid, ack="auto"):
    rid = "sub-" + rand()
    conn.subscribe(destination, id=sid, ack=ack, headers={"receipt": rid})
    listener.receipt(rid)


def send(conn, listener, destination, body, **headers):
    rid = "send-" + rand()
    conn.send(destination, body, headers={**headers, "receipt": rid})
    listener.receipt(rid)


def eq(got, expected, what):
    if got != expected:
        raise AssertionError(f"{what}: got {got!r}, expected {expected!r}")


def check_echo():
    conn, l = connect("alice", "alice-pw")
    eq(l.connected_frame.headers.get("user-name"), "alice", "user-name")
    subscribe(conn, l, "/topic/echo", "room")
    conn.send("/app/echo", "hello from python", content_type="text/plain")
    m = l.next()
    eq(m.body, "hello from python", "body")
    eq(m.headers["destination"], "/topic/echo", "destination")
    eq(m.headers["subscription"], "room", "subscription")
    eq(m.headers["content-type"], "text/plain", "content-type")


def check_logins():
    try:
        connect("bob", "not-bobs")
    except stomp.exception.ConnectFailedException:
        pass
    else:
        raise AssertionError("a wrong passcode was accepted")
    conn, l = connect()
    eq(l.connected_frame.headers.get("user-name"), None, "anonymous")
    conn, l = connect("bob", "bob-pw")
    eq(l.connected_frame.headers.get("user-name"), "bob", "bob")


def check_whisper():
    alice, la = connect("alice", "alice-pw")
    bob, lb = connect("bob", "bob-pw")
    subscribe(alice, la, "/user/queue/whisper", "w")
    subscribe(bob, lb, "/user/queue/whisper", "w")
    subscribe(alice, la, "/topic/echo", "room")
    alice.send("/app/whisper", "for bob only", headers={"to": "bob"})
    alice.send("/app/echo", "sentinel")
    m = lb.next("the whisper")
    eq((m.body, m.headers["from"]), ("for bob only", "alice"), "whisper")
    m = la.next("the sentinel")
    eq((m.body, m.headers["subscription"]), ("sentinel", "room"), "alice got no whisper")


def check_queues_and_acks():
    dest = "/queue/py-" + rand()
    producer, lp = connect()
    c1, l1 = connect()
    subscribe(c1, l1, dest, "q", ack="client-individual")
    for n in (1, 2, 3):
        send(producer, lp, dest, f"m{n}")
    m1, m2, m3 = l1.next(), l1.next(), l1.next()
    eq([m1.body, m2.body, m3.body], ["m1", "m2", "m3"], "order")
    c1.ack(m1.headers["ack"])
    c1.nack(m2.headers["ack"])
    again = l1.next("the NACKed message")
    eq((again.body, again.headers.get("redelivered")), ("m2", "true"), "NACK redelivers")
    c1.disconnect()
    c2, l2 = connect()
    subscribe(c2, l2, dest, "q2")
    got = sorted([l2.next("redelivery").body, l2.next("redelivery").body])
    eq(got, ["m2", "m3"], "unacknowledged messages redelivered")
    l2.none(0.3, "the acknowledged m1")


def check_transactions():
    dest = "/topic/pytx-" + rand()
    sub, ls = connect()
    subscribe(sub, ls, dest, "t")
    pub, lp = connect()
    tx = pub.begin()
    pub.send(dest, "a", transaction=tx)
    pub.send(dest, "b", transaction=tx)
    aborted = pub.begin()
    pub.send(dest, "never", transaction=aborted)
    ls.none(0.2, "a message before COMMIT")
    pub.abort(aborted)
    pub.commit(tx)
    eq([ls.next().body, ls.next().body], ["a", "b"], "committed")
    ls.none(0.3, "the aborted message")


def check_escaping():
    dest = "/topic/pyesc-" + rand()
    conn, l = connect()
    subscribe(conn, l, dest, "e")
    weird = "a:b\\c\nd"
    conn.send(dest, "e", headers={"weird": weird})
    eq(l.next().headers["weird"], weird, "escaped header round trip")


def check_bodies():
    dest = "/topic/pybin-" + rand()
    conn, l = connect(decode=False)
    subscribe(conn, l, dest, "b")
    nuls = b"\x00a\x00\x00\xff\x00"
    big = bytes((i * 13) % 256 for i in range(256 * 1024))
    conn.send(dest, nuls)
    conn.send(dest, big)
    eq(l.next().body, nuls, "NUL body")
    got = l.next().body
    eq(len(got), len(big), "256 KiB length")
    if got != big:
        raise AssertionError("256 KiB body differs")


def check_malformed():
    good, lg = connect()
    subscribe(good, lg, "/topic/echo", "room")
    ws = websocket.create_connection(f"ws://127.0.0.1:{args.port}/ws", subprotocols=["v12.stomp"], timeout=WAIT)
    ws.send("CONNECT\naccept-version:1.2\nhost:h\n\n\0")
    assert ws.recv().startswith("CONNECTED\n")
    ws.send("SUBSCRIBE\ndestination:/topic/a\n\n\0")  # no id
    error = ws.recv()
    assert error.startswith("ERROR\nmessage:missing required header\n"), repr(error)
    try:
        rest = ws.recv()
    except websocket.WebSocketConnectionClosedException:
        rest = ""
    eq(rest, "", "closed after ERROR")
    good.send("/app/echo", "still served")
    eq(lg.next().body, "still served", "others are served")


def check_heartbeats():
    conn, l = connect(heartbeats=(HB, HB))
    time.sleep(HB * 6 / 1000)
    if not conn.is_connected():
        raise AssertionError("a beating client was dropped")
    if l.heartbeats < 3:
        raise AssertionError(f"only {l.heartbeats} heart-beats from the server")
    subscribe(conn, l, "/topic/echo", "room")
    conn.send("/app/echo", "alive")
    eq(l.next().body, "alive", "still working")


CHECKS = [
    check_echo,
    check_logins,
    check_whisper,
    check_queues_and_acks,
    check_transactions,
    check_escaping,
    check_bodies,
    check_malformed,
    check_heartbeats,
]

failed = 0
for check in CHECKS:
    name = check.__name__.removeprefix("check_")
    started = time.time()
    try:
        check()
        print(f"  ok {name} ({(time.time() - started) * 1000:.0f} ms)", flush=True)
    except Exception as e:  # noqa: BLE001 - report any failure of the check
        failed += 1
        print(f"  FAIL {name}: {e}", flush=True)
        traceback.print_exc(file=sys.stdout)
    for c in connections:
        try:
            c.disconnect()
        except Exception:  # noqa: BLE001 - already closed
            pass
    connections.clear()
print(f"{args.label}: {len(CHECKS) - failed} ok, {failed} failed")
sys.exit(1 if failed else 0)
