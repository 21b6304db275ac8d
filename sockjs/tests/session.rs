//! The session state machine, driven by hand: exact bytes, events and deadlines.

use core::time::Duration;

use rfc6455_sockjs::{
    AlreadyClosed, Attach, Callback, Close, CloseCause, Event, Frame, Framing, Payload,
    PayloadError, ReceiverId, SendError, Session, SessionConfig, State, Transmit,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn new_session(t: Duration) -> Session {
    Session::new(SessionConfig::default(), t)
}

fn attach(s: &mut Session, framing: Framing, t: Duration) -> ReceiverId {
    match s.attach(framing, t) {
        Attach::Attached(id) => id,
        other => panic!("expected to attach, got {other:?}"),
    }
}

/// One poll_transmit: what it said and the bytes it appended.
fn poll(s: &mut Session, rx: ReceiverId, t: Duration) -> (Transmit, String) {
    let mut out = Vec::new();
    let transmit = s.poll_transmit(rx, t, &mut out);
    (transmit, String::from_utf8(out).unwrap())
}

fn events(s: &mut Session) -> Vec<Event> {
    core::iter::from_fn(|| s.poll_event()).collect()
}

#[test]
fn xhr_polling_session() {
    // sockjs-protocol Protocol.test_simpleSession.
    let mut s = new_session(secs(0));
    assert_eq!(s.state(), State::Connecting);
    let rx = attach(&mut s, Framing::Xhr, secs(0));
    assert_eq!(s.state(), State::Open);
    assert_eq!(
        poll(&mut s, rx, secs(0)),
        (Transmit::LastFrame, "o\n".into())
    );
    assert_eq!(events(&mut s), [Event::Opened]);
    assert_eq!(s.receiver(), None);
    assert_eq!(poll(&mut s, rx, secs(0)), (Transmit::End, String::new()));

    let messages = s.receive(Payload::XhrSend, br#"["a"]"#).unwrap();
    assert_eq!(messages, ["a"]);
    s.send("a").unwrap();
    s.send("b").unwrap();
    let rx = attach(&mut s, Framing::Xhr, secs(1));
    assert_eq!(
        poll(&mut s, rx, secs(1)),
        (Transmit::LastFrame, "a[\"a\",\"b\"]\n".into())
    );
    assert_eq!(s.queued_messages(), 0);
    assert_eq!(events(&mut s), []);
}

#[test]
fn jsonp_polling_session() {
    let mut s = new_session(secs(0));
    let x = Framing::Jsonp(Callback::new("x").unwrap());
    let rx = attach(&mut s, x, secs(0));
    assert_eq!(
        poll(&mut s, rx, secs(0)),
        (Transmit::LastFrame, "/**/x(\"o\");\r\n".into())
    );
    let m = s
        .receive(Payload::JsonpSendForm, b"d=%5B%22b%22%5D")
        .unwrap();
    s.send(&m[0]).unwrap();
    let rx = attach(&mut s, x, secs(0));
    assert_eq!(
        poll(&mut s, rx, secs(0)),
        (Transmit::LastFrame, "/**/x(\"a[\\\"b\\\"]\");\r\n".into())
    );
}

#[test]
fn second_receiver_gets_2010_and_the_first_keeps_working() {
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::XhrStreaming, secs(0));
    assert_eq!(poll(&mut s, rx, secs(0)), (Transmit::Frame, "o\n".into()));
    assert_eq!(
        s.attach(Framing::XhrStreaming, secs(1)),
        Attach::AnotherConnectionOpen
    );
    assert_eq!(
        s.attach(Framing::Xhr, secs(1)),
        Attach::AnotherConnectionOpen
    );

    // What the transport writes for the refused request (sockjs-protocol test_close_request).
    let mut refused = Vec::new();
    Framing::XhrStreaming.encode_prelude(&mut refused);
    Framing::XhrStreaming.encode_frame(
        &Frame::Close(Close::ANOTHER_CONNECTION_STILL_OPEN),
        &mut refused,
    );
    let mut expected = "h".repeat(2048);
    expected.push_str("\nc[2010,\"Another connection still open\"]\n");
    assert_eq!(String::from_utf8(refused).unwrap(), expected);

    // The first receiver is untouched.
    assert_eq!(s.receiver(), Some(rx));
    assert_eq!(s.state(), State::Open);
    s.send("x").unwrap();
    assert_eq!(
        poll(&mut s, rx, secs(2)),
        (Transmit::Frame, "a[\"x\"]\n".into())
    );
}

#[test]
fn heartbeat_deadlines() {
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::EventSource, secs(10));
    assert_eq!(
        poll(&mut s, rx, secs(10)),
        (Transmit::Frame, "data: o\r\n\r\n".into())
    );
    assert_eq!(s.poll_timeout(), Some(secs(35)));
    s.handle_timeout(ms(34_999));
    assert!(!s.wants_transmit());
    assert_eq!(
        poll(&mut s, rx, ms(34_999)),
        (Transmit::Idle, String::new())
    );
    s.handle_timeout(secs(35));
    assert!(s.wants_transmit());
    assert_eq!(s.poll_timeout(), None); // due: poll_transmit is what is needed
    assert_eq!(
        poll(&mut s, rx, secs(36)),
        (Transmit::Frame, "data: h\r\n\r\n".into())
    );
    assert_eq!(s.poll_timeout(), Some(secs(61)));
    // Any frame restarts the interval.
    s.send("m").unwrap();
    assert!(s.wants_transmit());
    assert_eq!(
        poll(&mut s, rx, secs(50)),
        (Transmit::Frame, "data: a[\"m\"]\r\n\r\n".into())
    );
    assert_eq!(s.poll_timeout(), Some(secs(75)));
    s.handle_timeout(secs(75));
    assert_eq!(
        poll(&mut s, rx, secs(75)),
        (Transmit::Frame, "data: h\r\n\r\n".into())
    );
    assert_eq!(poll(&mut s, rx, secs(75)), (Transmit::Idle, String::new()));
}

#[test]
fn heartbeat_ends_a_poll() {
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::Xhr, secs(0));
    let _ = poll(&mut s, rx, secs(0));
    let rx = attach(&mut s, Framing::Xhr, secs(1));
    assert_eq!(s.poll_timeout(), Some(secs(26)));
    s.handle_timeout(secs(26));
    assert_eq!(
        poll(&mut s, rx, secs(26)),
        (Transmit::LastFrame, "h\n".into())
    );
    assert_eq!(s.expires_at(), Some(secs(31)));
}

#[test]
fn heartbeats_off() {
    let config = SessionConfig::default().heartbeat_interval(None);
    let mut s = Session::new(config, secs(0));
    let rx = attach(&mut s, Framing::WebSocket, secs(0));
    assert_eq!(poll(&mut s, rx, secs(0)), (Transmit::Frame, "o".into()));
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(secs(1000));
    assert_eq!(
        poll(&mut s, rx, secs(1000)),
        (Transmit::Idle, String::new())
    );
}

#[test]
fn disconnect_delay_expires_an_unattached_session() {
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::Xhr, secs(0));
    assert_eq!(s.expires_at(), None);
    let _ = poll(&mut s, rx, ms(1_500)); // detached at 1.5 s
    assert_eq!(s.expires_at(), Some(ms(6_500)));
    assert_eq!(s.poll_timeout(), Some(ms(6_500)));
    s.handle_timeout(ms(6_499));
    assert_eq!(s.state(), State::Open);
    assert_eq!(events(&mut s), [Event::Opened]);
    s.handle_timeout(ms(6_500));
    assert_eq!(s.state(), State::Closed);
    assert!(s.is_expired());
    assert_eq!(
        events(&mut s),
        [Event::Closed(CloseCause::TimedOut), Event::Expired]
    );
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.attach(Framing::Xhr, secs(7)), Attach::Expired);
    assert_eq!(s.send("x"), Err(SendError::Closed));
    assert_eq!(s.receive(Payload::XhrSend, br#"["x"]"#).unwrap(), [""; 0]);
}

#[test]
fn a_session_nobody_attaches_to_expires_quietly() {
    let mut s = new_session(secs(3));
    assert_eq!(s.poll_timeout(), Some(secs(8)));
    s.handle_timeout(secs(8));
    // It never opened, so the application only hears that it is gone.
    assert_eq!(events(&mut s), [Event::Expired]);
}

#[test]
fn closed_session_answers_its_close_frame_until_it_expires() {
    // sockjs-protocol Protocol.test_closeSession.
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::Xhr, secs(0));
    assert_eq!(
        poll(&mut s, rx, secs(0)),
        (Transmit::LastFrame, "o\n".into())
    );
    s.close(3000, "Go away!").unwrap();
    assert_eq!(s.state(), State::Closing);
    assert_eq!(s.close_status(), Some(&Close::GO_AWAY));
    assert_eq!(s.close(1000, "again"), Err(AlreadyClosed));
    assert_eq!(s.send("late"), Err(SendError::Closed));
    assert_eq!(
        events(&mut s),
        [Event::Opened, Event::Closed(CloseCause::Application)]
    );
    for t in [1, 5, 9] {
        let rx = attach(&mut s, Framing::Xhr, secs(t));
        assert_eq!(
            poll(&mut s, rx, secs(t)),
            (Transmit::LastFrame, "c[3000,\"Go away!\"]\n".into())
        );
        // sockjs-node restarts the disconnect timer at each such answer.
        assert_eq!(s.expires_at(), Some(secs(t + 5)));
    }
    // Messages from the client are dropped now, and still answered as a success.
    assert_eq!(s.receive(Payload::XhrSend, br#"["x"]"#).unwrap(), [""; 0]);
    s.handle_timeout(secs(13));
    assert_eq!(s.state(), State::Closing);
    s.handle_timeout(secs(14));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(events(&mut s), [Event::Expired]);
}

#[test]
fn close_while_streaming_flushes_then_closes() {
    // sockjs-protocol HandlingClose.test_close_frame, with a message queued first.
    let mut s = new_session(secs(0));
    let r1 = attach(&mut s, Framing::XhrStreaming, secs(0));
    assert_eq!(poll(&mut s, r1, secs(0)), (Transmit::Frame, "o\n".into()));
    s.send("last words").unwrap();
    s.close(3000, "Go away!").unwrap();
    assert!(s.wants_transmit());
    assert_eq!(
        poll(&mut s, r1, secs(1)),
        (Transmit::Frame, "a[\"last words\"]\n".into())
    );
    assert_eq!(
        poll(&mut s, r1, secs(1)),
        (Transmit::LastFrame, "c[3000,\"Go away!\"]\n".into())
    );
    assert_eq!(poll(&mut s, r1, secs(1)), (Transmit::End, String::new()));
    let r2 = attach(&mut s, Framing::XhrStreaming, secs(2));
    assert_eq!(
        poll(&mut s, r2, secs(2)),
        (Transmit::LastFrame, "c[3000,\"Go away!\"]\n".into())
    );
}

#[test]
fn streaming_budget_ends_the_response() {
    // sockjs-protocol XhrStreaming.test_response_limit, with the test server's 4096 bytes:
    // 'o\n' and then 31 frames of 134 bytes; the 31st brings it to 4156 >= 4096.
    let config = SessionConfig::default().streaming_budget(4096);
    let mut s = Session::new(config, secs(0));
    let rx = attach(&mut s, Framing::XhrStreaming, secs(0));
    assert_eq!(poll(&mut s, rx, secs(0)), (Transmit::Frame, "o\n".into()));
    let msg = "x".repeat(128);
    for i in 1..=31 {
        s.send(&msg).unwrap();
        let (transmit, bytes) = poll(&mut s, rx, secs(1));
        assert_eq!(bytes, format!("a[\"{msg}\"]\n"));
        assert_eq!(bytes.len(), 134);
        let expected = if i < 31 {
            Transmit::Frame
        } else {
            Transmit::LastFrame
        };
        assert_eq!(transmit, expected, "frame {i}");
    }
    assert_eq!(s.receiver(), None);
    assert_eq!(s.state(), State::Open);
    // The client reconnects and the session goes on.
    let rx = attach(&mut s, Framing::XhrStreaming, secs(2));
    s.send("more").unwrap();
    assert_eq!(
        poll(&mut s, rx, secs(2)),
        (Transmit::Frame, "a[\"more\"]\n".into())
    );
}

#[test]
fn streaming_budget_counts_wrapped_bytes_for_every_streaming_transport() {
    // EventSource.test_response_limit / HtmlFile.test_response_limit: one 4096-character
    // message goes through whole, then the response ends.
    let cb = Callback::new("callback").unwrap();
    for framing in [
        Framing::EventSource,
        Framing::HtmlFile(cb),
        Framing::XhrStreaming,
    ] {
        let config = SessionConfig::default().streaming_budget(4096);
        let mut s = Session::new(config, secs(0));
        let rx = attach(&mut s, framing, secs(0));
        assert_eq!(poll(&mut s, rx, secs(0)).0, Transmit::Frame);
        s.send(&"x".repeat(4096)).unwrap();
        let (transmit, bytes) = poll(&mut s, rx, secs(0));
        assert_eq!(transmit, Transmit::LastFrame, "{framing:?}");
        assert_eq!(
            framing.decode_frame(bytes.as_bytes()).unwrap(),
            Frame::Messages(vec!["x".repeat(4096).into()])
        );
    }
    // The default budget is 128 KiB.
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::XhrStreaming, secs(0));
    let _ = poll(&mut s, rx, secs(0)); // 2 bytes
    s.send(&"y".repeat(128 * 1024 - 2 - 7)).unwrap(); // a["…"]\n: 131070 bytes
    assert_eq!(poll(&mut s, rx, secs(0)).0, Transmit::Frame);
    s.send("").unwrap(); // a[""]\n: 6 more, 131078 >= 131072
    assert_eq!(
        poll(&mut s, rx, secs(0)),
        (Transmit::LastFrame, "a[\"\"]\n".into())
    );
}

#[test]
fn queue_bounds_are_typed() {
    let config = SessionConfig::default()
        .max_queued_messages(3)
        .max_queued_bytes(20);
    let mut s = Session::new(config, secs(0));
    s.send("abc").unwrap(); // "abc": 5
    s.send("def").unwrap(); // ,"def": 11
    assert_eq!(s.queued_bytes(), 11);
    assert_eq!(
        s.send("ghijklm"), // ,"ghijklm": 21 > 20
        Err(SendError::QueueFull {
            messages: 2,
            bytes: 11
        })
    );
    s.send("ghi").unwrap(); // 17
    assert_eq!(
        s.send(""),
        Err(SendError::QueueFull {
            messages: 3,
            bytes: 17
        })
    );
    assert_eq!(
        s.send(&"z".repeat(19)),
        Err(SendError::TooLarge { len: 21, limit: 20 })
    );
    assert_eq!(s.queued_messages(), 3);
    let rx = attach(&mut s, Framing::WebSocket, secs(0));
    assert_eq!(poll(&mut s, rx, secs(0)), (Transmit::Frame, "o".into()));
    assert_eq!(
        poll(&mut s, rx, secs(0)),
        (Transmit::Frame, "a[\"abc\",\"def\",\"ghi\"]".into())
    );
    assert_eq!(s.queued_bytes(), 0);
    s.send(&"z".repeat(18)).unwrap(); // exactly 20
}

#[test]
fn an_interrupted_receiver_closes_the_session_with_1002() {
    // sockjs-protocol HandlingClose.test_abort_xhr_streaming.
    let mut s = new_session(secs(0));
    let r1 = attach(&mut s, Framing::XhrStreaming, secs(0));
    assert_eq!(poll(&mut s, r1, secs(0)), (Transmit::Frame, "o\n".into()));
    assert_eq!(
        s.attach(Framing::XhrStreaming, secs(1)),
        Attach::AnotherConnectionOpen
    );
    s.send("lost").unwrap();
    s.abort_receiver(r1, secs(2));
    assert_eq!(s.state(), State::Closing);
    assert_eq!(s.close_status(), Some(&Close::INTERRUPTED));
    assert_eq!(s.queued_messages(), 0);
    assert_eq!(
        events(&mut s),
        [Event::Opened, Event::Closed(CloseCause::Interrupted)]
    );
    assert_eq!(poll(&mut s, r1, secs(2)), (Transmit::End, String::new()));
    let r3 = attach(&mut s, Framing::XhrStreaming, secs(3));
    assert_eq!(
        poll(&mut s, r3, secs(3)),
        (
            Transmit::LastFrame,
            "c[1002,\"Connection interrupted\"]\n".into()
        )
    );
    s.handle_timeout(secs(8));
    assert_eq!(events(&mut s), [Event::Expired]);
}

#[test]
fn aborting_an_ended_or_unknown_receiver_does_nothing() {
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::Xhr, secs(0));
    let _ = poll(&mut s, rx, secs(0));
    s.abort_receiver(rx, secs(1)); // the poll had ended normally
    assert_eq!(s.state(), State::Open);
    assert_eq!(s.expires_at(), Some(secs(5)));
    let r2 = attach(&mut s, Framing::Xhr, secs(2));
    s.abort_receiver(rx, secs(2)); // a stale id
    assert_eq!(s.receiver(), Some(r2));
    assert_eq!(events(&mut s), [Event::Opened]);
}

#[test]
fn aborting_while_closing_keeps_the_applications_status() {
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::XhrStreaming, secs(0));
    let _ = poll(&mut s, rx, secs(0));
    s.close(4000, "bye").unwrap();
    s.abort_receiver(rx, secs(1)); // went away before reading the close frame
    let rx = attach(&mut s, Framing::Xhr, secs(2));
    assert_eq!(
        poll(&mut s, rx, secs(2)),
        (Transmit::LastFrame, "c[4000,\"bye\"]\n".into())
    );
    assert_eq!(
        events(&mut s),
        [Event::Opened, Event::Closed(CloseCause::Application)]
    );
}

#[test]
fn websocket_session() {
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::WebSocket, secs(0));
    assert_eq!(poll(&mut s, rx, secs(0)), (Transmit::Frame, "o".into()));
    // sockjs-protocol Websocket.test_empty_frame.
    assert_eq!(s.receive(Payload::WebSocket, b"").unwrap(), [""; 0]);
    assert_eq!(s.receive(Payload::WebSocket, b"[]").unwrap(), [""; 0]);
    assert_eq!(s.receive(Payload::WebSocket, br#"["a"]"#).unwrap(), ["a"]);
    assert_eq!(s.receive(Payload::WebSocket, br#""b""#).unwrap(), ["b"]);
    s.send("a").unwrap();
    assert_eq!(
        poll(&mut s, rx, secs(1)),
        (Transmit::Frame, "a[\"a\"]".into())
    );
    // sockjs-protocol Websocket.test_close: the close frame, then the WebSocket closes.
    s.close(3000, "Go away!").unwrap();
    assert_eq!(
        poll(&mut s, rx, secs(2)),
        (Transmit::LastFrame, "c[3000,\"Go away!\"]".into())
    );
    // Nothing can attach to a WebSocket session again: it expires at once.
    assert_eq!(s.state(), State::Closed);
    assert_eq!(
        events(&mut s),
        [
            Event::Opened,
            Event::Closed(CloseCause::Application),
            Event::Expired
        ]
    );
}

#[test]
fn websocket_broken_json_ends_the_session() {
    // sockjs-protocol Websocket.test_broken_json.
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::WebSocket, secs(0));
    let _ = poll(&mut s, rx, secs(0));
    let error = s.receive(Payload::WebSocket, br#"["a"#).unwrap_err();
    assert_eq!(error, PayloadError::BrokenJson);
    assert_eq!(error.websocket_close(), (3000, "Broken framing."));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(poll(&mut s, rx, secs(0)), (Transmit::End, String::new()));
    assert_eq!(
        events(&mut s),
        [
            Event::Opened,
            Event::Closed(CloseCause::BrokenFraming),
            Event::Expired
        ]
    );
}

#[test]
fn websocket_going_away_ends_the_session_at_once() {
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::WebSocket, secs(0));
    let _ = poll(&mut s, rx, secs(0));
    s.abort_receiver(rx, secs(9));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(
        events(&mut s),
        [
            Event::Opened,
            Event::Closed(CloseCause::Disconnected),
            Event::Expired
        ]
    );
}

#[test]
fn http_payload_errors_leave_the_session_alone() {
    let mut s = new_session(secs(0));
    let rx = attach(&mut s, Framing::Xhr, secs(0));
    let _ = poll(&mut s, rx, secs(0));
    // sockjs-protocol XhrPolling.test_invalid_json.
    let e = s.receive(Payload::XhrSend, br#"["x"#).unwrap_err();
    assert_eq!(
        (e.http_status(), e.http_body()),
        (500, "Broken JSON encoding.")
    );
    let e = s.receive(Payload::XhrSend, b"").unwrap_err();
    assert_eq!((e.http_status(), e.http_body()), (500, "Payload expected."));
    assert_eq!(s.state(), State::Open);
    assert_eq!(s.receive(Payload::XhrSend, br#"["a"]"#).unwrap(), ["a"]);
}

#[test]
fn closing_before_the_first_receiver() {
    let mut s = new_session(secs(0));
    s.send("never seen").unwrap();
    s.close(3000, "Go away!").unwrap();
    let rx = attach(&mut s, Framing::Xhr, secs(1));
    assert_eq!(
        poll(&mut s, rx, secs(1)),
        (Transmit::LastFrame, "c[3000,\"Go away!\"]\n".into())
    );
    s.handle_timeout(secs(6));
    assert_eq!(events(&mut s), [Event::Expired]);
}

#[test]
fn times_going_backwards_do_not_panic_or_fire() {
    let mut s = new_session(secs(100));
    s.handle_timeout(secs(1));
    assert_eq!(s.state(), State::Connecting);
    let rx = attach(&mut s, Framing::XhrStreaming, Duration::MAX);
    assert_eq!(s.poll_timeout(), Some(Duration::MAX));
    let _ = poll(&mut s, rx, Duration::MAX);
    s.handle_timeout(Duration::MAX);
    assert_eq!(
        poll(&mut s, rx, Duration::MAX),
        (Transmit::Frame, "h\n".into())
    );
}

#[test]
fn prepared_messages_share_one_escaping() {
    let broadcast = rfc6455_sockjs::PreparedMessage::new("to all \u{2028}");
    let mut a = new_session(secs(0));
    let mut b = new_session(secs(0));
    let ra = attach(&mut a, Framing::WebSocket, secs(0));
    let rb = attach(&mut b, Framing::Xhr, secs(0));
    let _ = (poll(&mut a, ra, secs(0)), poll(&mut b, rb, secs(0)));
    a.send_prepared(&broadcast).unwrap();
    b.send_prepared(&broadcast).unwrap();
    assert!(a.wants_transmit());
    assert!(!b.wants_transmit()); // no receiver attached: the queue waits
    assert_eq!(
        poll(&mut a, ra, secs(0)),
        (Transmit::Frame, "a[\"to all \\u2028\"]".into())
    );
    let rb = attach(&mut b, Framing::Xhr, secs(1));
    assert!(b.wants_transmit());
    assert_eq!(
        poll(&mut b, rb, secs(1)),
        (Transmit::LastFrame, "a[\"to all \\u2028\"]\n".into())
    );
    b.close(1000, "Normal closure").unwrap();
    assert_eq!(b.send_prepared(&broadcast), Err(SendError::Closed));
}
