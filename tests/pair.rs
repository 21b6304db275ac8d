//! A client and a server driven in memory (`rfc6455::testing::Pair`): messages both ways,
//! closing from either side and from both at once, deadlines, and failures.

use std::time::Duration;

use rfc6455::testing::Pair;
use rfc6455::{CloseCode, Config, Message, MessageKind, ProtocolError, State, Timeout, UsageError};

fn close(code: CloseCode, reason: &str) -> Message {
    Message::close(code, reason)
}

#[test]
fn messages_flow_both_ways() {
    let mut pair = Pair::connect_default().unwrap();
    let big: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
    for m in [
        Message::text(""),
        Message::text("héllo wörld €𝄞"),
        Message::binary(vec![]),
        Message::binary(big.clone()),
        Message::ping(b"are you there".to_vec()),
    ] {
        pair.client.send(&m).unwrap();
        pair.server.send(&m).unwrap();
    }
    pair.drive();
    for side in [&mut pair.client, &mut pair.server] {
        assert_eq!(
            side.drain(),
            [
                Message::text(""),
                Message::text("héllo wörld €𝄞"),
                Message::binary(vec![]),
                Message::binary(big.clone()),
                Message::ping(b"are you there".to_vec()),
                // The automatic answer to our own ping.
                Message::pong(b"are you there".to_vec()),
            ]
        );
    }
}

#[test]
fn client_initiated_close() {
    let mut pair = Pair::connect_default().unwrap();
    pair.client.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(pair.client.conn.state(), State::CloseSent);
    assert_eq!(
        pair.client.send(&Message::text("late")),
        Err(UsageError::Closed)
    );
    pair.drive();
    assert_eq!(pair.server.drain(), [close(CloseCode::NORMAL, "done")]);
    // The server echoes the code (RFC 6455 §5.5.1) and closes the transport first (§7.1.1).
    assert_eq!(pair.client.drain(), [close(CloseCode::NORMAL, "")]);
    for side in [&pair.client, &pair.server] {
        assert_eq!(side.conn.state(), State::Closed);
        assert!(side.conn.is_closed_cleanly());
        assert!(side.transport_closed());
    }
}

#[test]
fn server_initiated_close() {
    let mut pair = Pair::connect_default().unwrap();
    pair.server.close(CloseCode::GOING_AWAY, "restart").unwrap();
    pair.drive();
    assert_eq!(
        pair.client.drain(),
        [close(CloseCode::GOING_AWAY, "restart")]
    );
    assert_eq!(pair.server.drain(), [close(CloseCode::GOING_AWAY, "")]);
    assert!(pair.client.conn.is_closed_cleanly() && pair.server.conn.is_closed_cleanly());
    assert!(pair.server.transport_closed() && pair.client.transport_closed());
}

#[test]
fn simultaneous_close() {
    let mut pair = Pair::connect_default().unwrap();
    pair.client.close(CloseCode::NORMAL, "client").unwrap();
    pair.server.close(CloseCode::GOING_AWAY, "server").unwrap();
    pair.drive();
    // Each side gets the other's Close; neither sends a second one.
    assert_eq!(pair.server.drain(), [close(CloseCode::NORMAL, "client")]);
    assert_eq!(
        pair.client.drain(),
        [close(CloseCode::GOING_AWAY, "server")]
    );
    assert!(pair.client.conn.is_closed_cleanly() && pair.server.conn.is_closed_cleanly());
    assert!(pair.server.transport_closed() && pair.client.transport_closed());
}

#[test]
fn close_without_status_code() {
    let mut pair = Pair::connect_default().unwrap();
    pair.client
        .send(&close(CloseCode::NO_STATUS_RECEIVED, ""))
        .unwrap();
    pair.drive();
    assert_eq!(
        pair.server.drain(),
        [close(CloseCode::NO_STATUS_RECEIVED, "")]
    );
    assert_eq!(
        pair.client.drain(),
        [close(CloseCode::NO_STATUS_RECEIVED, "")]
    );
    assert!(pair.client.conn.is_closed_cleanly());
}

#[test]
fn reply_to_close_may_carry_its_own_code() {
    let mut pair = Pair::connect_default().unwrap();
    pair.client.close(CloseCode::NORMAL, "").unwrap();
    // Deliver the client's Close without letting the server answer yet.
    pair.client_to_server();
    assert_eq!(pair.server.conn.state(), State::CloseReceived);
    // Until the reply goes out, the server may finish sending (RFC 6455 §5.5.1), and may
    // answer with its own code instead of the automatic echo.
    pair.server.send(&Message::text("last words")).unwrap();
    pair.server.close(CloseCode::new(4000), "custom").unwrap();
    pair.drive();
    assert_eq!(
        pair.client.drain(),
        [
            Message::text("last words"),
            close(CloseCode::new(4000), "custom")
        ]
    );
    assert!(pair.client.conn.is_closed_cleanly() && pair.server.conn.is_closed_cleanly());
}

#[test]
fn streaming_a_message_with_control_frames_in_between() {
    let mut pair = Pair::connect_default().unwrap();
    let mut out = Vec::new();
    let conn = &mut pair.client.conn;
    conn.send_fragment(MessageKind::Text, "part one, ".as_bytes(), false, &mut out)
        .unwrap();
    conn.send_ping(b"mid", &mut out).unwrap();
    assert_eq!(
        conn.send_fragment(MessageKind::Binary, b"x", false, &mut out),
        Err(UsageError::FragmentKindMismatch)
    );
    assert_eq!(
        conn.send_text("other", &mut out),
        Err(UsageError::MessageInProgress)
    );
    conn.send_fragment(
        MessageKind::Text,
        "€ split: \u{20ac}".as_bytes()[..3].as_ref(),
        false,
        &mut out,
    )
    .unwrap();
    conn.send_fragment(
        MessageKind::Text,
        "€ split: \u{20ac}".as_bytes()[3..].as_ref(),
        true,
        &mut out,
    )
    .unwrap();
    pair.client.send_raw(&out);
    pair.drive();
    assert_eq!(
        pair.server.drain(),
        [
            Message::ping(b"mid".to_vec()),
            Message::text("part one, € split: €"),
        ]
    );
    assert_eq!(pair.client.drain(), [Message::pong(b"mid".to_vec())]);
}

#[test]
fn automatic_fragmentation() {
    let mut pair = Pair::new(
        Config::default().fragment_size(Some(7)),
        Config::default().max_fragments(1000),
    );
    let text = "a".repeat(1000) + "é";
    pair.client.send(&Message::text(text.clone())).unwrap();
    pair.drive();
    assert_eq!(pair.server.drain(), [Message::text(text)]);
}

#[test]
fn protocol_violation_fails_both_sides() {
    let mut pair = Pair::connect_default().unwrap();
    // An unmasked frame from the client.
    pair.client.send_raw(&[0x81, 0x02, b'h', b'i']);
    pair.drive();
    assert_eq!(pair.server.error(), Some(&ProtocolError::UnmaskedFrame));
    assert_eq!(
        pair.client.drain(),
        [close(CloseCode::PROTOCOL_ERROR, "unmasked client frame")]
    );
    assert!(!pair.server.conn.is_closed_cleanly());
    assert!(pair.server.transport_closed());
}

#[test]
fn keepalive_ping_and_idle_timeout() {
    let secs = Duration::from_secs;
    let mut pair = Pair::new(
        Config::default(),
        Config::default()
            .ping_interval(Some(secs(10)))
            .idle_timeout(Some(secs(25))),
    );
    let server = &mut pair.server.conn;
    assert_eq!(server.handle_timeout(secs(0)), None);
    assert_eq!(server.poll_timeout(), Some(secs(10)));
    assert_eq!(server.handle_timeout(secs(10)), None);
    pair.drive();
    // The server pinged; the client answered; the pong is activity.
    assert_eq!(pair.client.drain(), [Message::ping(vec![])]);
    assert_eq!(pair.server.drain(), [Message::pong(vec![])]);
    let server = &mut pair.server.conn;
    assert_eq!(server.handle_timeout(secs(11)), None);
    assert_eq!(server.poll_timeout(), Some(secs(21)));
    // Nothing more arrives: pings at 21, then the idle timeout at 11 + 25.
    assert_eq!(server.handle_timeout(secs(21)), None);
    assert!(server.wants_transmit());
    assert_eq!(server.poll_timeout(), Some(secs(31)));
    let mut sink = Vec::new();
    server.poll_transmit(&mut sink);
    assert_eq!(server.handle_timeout(secs(31)), None);
    server.poll_transmit(&mut sink);
    assert_eq!(server.poll_timeout(), Some(secs(36)));
    assert_eq!(server.handle_timeout(secs(36)), Some(Timeout::Idle));
    assert_eq!(server.state(), State::CloseSent);
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    assert_eq!(&out[..4], [0x88, 14, 0x03, 0xE9]);
    assert_eq!(&out[4..], b"idle timeout");
    // The peer never answers: the close timeout (default 5 s) ends it.
    assert_eq!(server.poll_timeout(), Some(secs(41)));
    assert_eq!(server.handle_timeout(secs(41)), Some(Timeout::Close));
    assert_eq!(server.state(), State::Closed);
    assert!(server.poll_close_transport());
    assert!(!server.is_closed_cleanly());
}

#[test]
fn client_waits_for_the_server_to_close_the_transport() {
    let mut pair = Pair::connect_default().unwrap();
    let client = &mut pair.client.conn;
    client.handle_timeout(Duration::ZERO);
    // Receive the server's close directly: the client answers and then waits.
    let mut frame = vec![0x88, 0x02, 0x03, 0xE8];
    let _ = client.receive(&mut frame).unwrap();
    let mut out = Vec::new();
    client.poll_transmit(&mut out);
    assert_eq!(client.state(), State::Closed);
    assert!(client.is_closed_cleanly());
    assert!(!client.poll_close_transport());
    client.handle_timeout(Duration::from_secs(1));
    assert_eq!(client.poll_timeout(), Some(Duration::from_secs(6)));
    assert_eq!(
        client.handle_timeout(Duration::from_secs(6)),
        Some(Timeout::Close)
    );
    assert!(client.poll_close_transport());
}

#[test]
fn queued_pongs_are_bounded_and_keep_the_latest() {
    let mut pair = Pair::connect_default().unwrap();
    // 40 pings delivered before the server transmits anything.
    for i in 0..40u8 {
        pair.client.send(&Message::ping(vec![i])).unwrap();
    }
    pair.client_to_server();
    assert_eq!(pair.server.drain().len(), 40);
    let mut out = Vec::new();
    pair.server.conn.poll_transmit(&mut out);
    // Exactly the last MAX_QUEUED_PONGS pongs, in order: 0x8A, length 1, payload.
    let expected: Vec<u8> = (40 - rfc6455::MAX_QUEUED_PONGS as u8..40)
        .flat_map(|i| [0x8A, 0x01, i])
        .collect();
    assert_eq!(out, expected);
    assert!(!pair.server.conn.wants_transmit());
}

/// A masked client frame (key 0, so the payload is as written).
fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![b0, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

#[test]
fn pings_are_answered_until_the_peers_close_arrives_even_after_ours() {
    use rfc6455::{Connection, Event, Role};
    // RFC 6455 §5.5.2: "an endpoint MUST send a Pong frame in response, unless it already
    // received a Close frame". Our own Close does not stop pongs (§5.5.1 forbids only data).
    let mut server = Connection::new(Role::Server, Config::default());
    let mut out = Vec::new();
    server.close(CloseCode::NORMAL, "", &mut out).unwrap();
    assert_eq!(out, [0x88, 0x02, 0x03, 0xE8]);
    out.clear();
    let mut ping = client_frame(0x89, b"hi");
    let received = server.receive(&mut ping).unwrap();
    assert_eq!(received.event, Some(Event::Ping(b"hi")));
    assert!(server.wants_transmit());
    server.poll_transmit(&mut out);
    assert_eq!(out, [0x8A, 0x02, b'h', b'i']);
    // The peer's Close completes the handshake; a ping behind it gets no pong.
    let mut wire = client_frame(0x88, &[0x03, 0xE8]);
    wire.extend(client_frame(0x89, b"late"));
    let received = server.receive(&mut wire).unwrap();
    assert!(matches!(received.event, Some(Event::Close { .. })));
    assert_eq!(server.state(), State::Closed);
    let rest = received.consumed;
    let received = server.receive(&mut wire[rest..]).unwrap();
    assert_eq!(received.event, None);
    out.clear();
    assert_eq!(server.poll_transmit(&mut out), 0);
    assert!(!server.wants_transmit());

    // A ping before the peer's Close is answered before our Close reply, in order.
    let mut server = Connection::new(Role::Server, Config::default());
    let mut wire = client_frame(0x89, b"p");
    wire.extend(client_frame(0x88, &[0x03, 0xE9]));
    let mut pos = 0;
    while pos < wire.len() {
        pos += server.receive(&mut wire[pos..]).unwrap().consumed;
    }
    out.clear();
    server.poll_transmit(&mut out);
    assert_eq!(out, [0x8A, 0x01, b'p', 0x88, 0x02, 0x03, 0xE9]);
}

#[test]
fn a_payload_length_no_header_can_carry_is_a_usage_error() {
    use rfc6455::{Connection, Role};
    let mut server = Connection::new(Role::Server, Config::default());
    // §5.2: a 64-bit length's most significant bit must be 0.
    assert_eq!(
        server.encode_header(MessageKind::Binary, 1 << 63, true),
        Err(UsageError::PayloadTooLong)
    );
    assert_eq!(
        server.encode_header(MessageKind::Binary, u64::MAX, true),
        Err(UsageError::PayloadTooLong)
    );
    // Nothing changed: a valid header still starts a new message.
    let header = server
        .encode_header(MessageKind::Binary, (1 << 63) - 1, true)
        .unwrap();
    assert_eq!(
        header.as_bytes(),
        [0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
}
