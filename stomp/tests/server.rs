//! The server session driven with exact client bytes; every answer checked byte for byte.

use std::time::Duration;

use rfc6455_stomp::server::{CloseReason, ConnectRequest, Timeout};
use rfc6455_stomp::{
    AckMode, Command, Frame, FrameError, HeartBeat, MessageId, ProtocolError, ServerConfig,
    ServerEvent, ServerSession, UsageError, Version,
};

fn config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.heart_beat = HeartBeat::NONE;
    c
}

/// Every message waiting in `poll_transmit`, as text (`\0` shown as `^@`).
fn sent(s: &mut ServerSession) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let mut m = Vec::new();
        if s.poll_transmit(&mut m) == 0 {
            return out;
        }
        out.push(String::from_utf8(m).unwrap().replace('\0', "^@"));
    }
}

fn events(s: &mut ServerSession) -> Vec<ServerEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn error_frame(headers: &str, body: &str) -> String {
    format!(
        "ERROR\n{headers}content-type:text/plain\ncontent-length:{}\n\n{body}^@",
        body.len()
    )
}

/// A session that accepted a 1.2 CONNECT, with its CONNECTED already taken.
fn connected() -> ServerSession {
    let mut s = ServerSession::new(config());
    s.receive(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
        .unwrap();
    assert!(matches!(events(&mut s)[..], [ServerEvent::Connect(_)]));
    s.accept(&[]).unwrap();
    assert_eq!(
        sent(&mut s),
        ["CONNECTED\nversion:1.2\nheart-beat:0,0\n\n^@"]
    );
    s
}

fn closed_reason(e: &ServerEvent) -> &CloseReason {
    match e {
        ServerEvent::Closed { reason, .. } => reason,
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[test]
fn connect_is_handed_to_the_application_then_accepted() {
    let mut s = ServerSession::new(config());
    s.receive(b"CONNECT\naccept-version:1.1,1.2\nhost:vhost\nlogin:guest\npasscode:p\\c:w\nheart-beat:100,200\n\n\0")
        .unwrap();
    let [ServerEvent::Connect(request)] = &events(&mut s)[..] else {
        panic!()
    };
    let ConnectRequest {
        version,
        host,
        login,
        passcode,
        heart_beat,
        ..
    } = request;
    assert_eq!(*version, Version::V1_2);
    assert_eq!(host, "vhost");
    assert_eq!(login.as_deref(), Some("guest"));
    // CONNECT is not escaped: the passcode is exactly what was sent.
    assert_eq!(passcode.as_deref(), Some("p\\c:w"));
    assert_eq!(
        *heart_beat,
        HeartBeat {
            send_ms: 100,
            receive_ms: 200
        }
    );
    assert!(
        sent(&mut s).is_empty(),
        "nothing before the application answers"
    );
    s.accept(&[("session", "s-1"), ("server", "rfc6455-stomp/0.1")])
        .unwrap();
    assert_eq!(
        sent(&mut s),
        ["CONNECTED\nversion:1.2\nheart-beat:0,0\nsession:s-1\nserver:rfc6455-stomp/0.1\n\n^@"]
    );
    assert!(s.is_connected());
    assert_eq!(s.accept(&[]), Err(UsageError::NoConnectPending));
    assert_eq!(s.reject("no"), Err(UsageError::NoConnectPending));
}

#[test]
fn stomp_frame_is_handled_like_connect() {
    let mut s = ServerSession::new(config());
    s.receive(b"STOMP\naccept-version:1.2\nhost:h\n\n\0")
        .unwrap();
    assert!(matches!(events(&mut s)[..], [ServerEvent::Connect(_)]));
}

#[test]
fn version_negotiation_picks_the_highest_common_version() {
    // The spec's example: accept-version:1.0,1.1,2.0 → version:1.1.
    let mut s = ServerSession::new(config());
    s.receive(b"CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n\0")
        .unwrap();
    events(&mut s);
    s.accept(&[]).unwrap();
    assert_eq!(
        sent(&mut s),
        ["CONNECTED\nversion:1.1\nheart-beat:0,0\n\n^@"]
    );
    assert_eq!(s.version(), Some(Version::V1_1));
}

#[test]
fn no_common_version_is_an_error_listing_ours_then_close() {
    for connect in [
        &b"CONNECT\nhost:h\n\n\0"[..], // no accept-version: STOMP 1.0 only
        b"CONNECT\naccept-version:1.0,2.0\nhost:h\n\n\0",
    ] {
        let mut s = ServerSession::new(config());
        assert_eq!(s.receive(connect), Err(ProtocolError::UnsupportedVersion));
        assert_eq!(
            sent(&mut s),
            [error_frame(
                "version:1.1,1.2\nmessage:unsupported protocol version\n",
                "unsupported protocol version"
            )]
        );
        assert!(s.poll_close_transport());
        let ev = events(&mut s);
        assert_eq!(
            closed_reason(&ev[0]),
            &CloseReason::Error(ProtocolError::UnsupportedVersion)
        );
    }
}

#[test]
fn host_is_required_and_heart_beat_must_be_two_numbers() {
    let mut s = ServerSession::new(config());
    let e = s.receive(b"CONNECT\naccept-version:1.2\n\n\0").unwrap_err();
    assert_eq!(
        e,
        ProtocolError::MissingHeader {
            command: Command::Connect,
            header: "host"
        }
    );
    assert_eq!(
        sent(&mut s),
        [error_frame(
            "message:missing required header\n",
            "CONNECT frame without the required `host` header"
        )]
    );
    let mut s = ServerSession::new(config());
    let e = s
        .receive(b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:1\n\n\0")
        .unwrap_err();
    assert_eq!(
        e,
        ProtocolError::InvalidHeader {
            header: "heart-beat"
        }
    );
}

#[test]
fn rejected_authentication_sends_error_and_closes() {
    let mut s = ServerSession::new(config());
    s.receive(b"CONNECT\naccept-version:1.2\nhost:h\nlogin:mallory\npasscode:x\n\n\0")
        .unwrap();
    events(&mut s);
    s.reject("bad credentials").unwrap();
    assert_eq!(
        sent(&mut s),
        [error_frame("message:bad credentials\n", "bad credentials")]
    );
    assert!(s.poll_close_transport());
    assert_eq!(
        closed_reason(&events(&mut s)[0]),
        &CloseReason::Error(ProtocolError::Rejected("bad credentials".into()))
    );
    assert_eq!(s.accept(&[]), Err(UsageError::NoConnectPending));
}

#[test]
fn frames_before_connect_are_refused() {
    let mut s = ServerSession::new(config());
    let e = s.receive(b"SEND\ndestination:/q\n\nx\0").unwrap_err();
    assert_eq!(e, ProtocolError::UnexpectedCommand(Command::Send));
    assert_eq!(
        sent(&mut s),
        [error_frame(
            "message:unexpected command\n",
            "unexpected SEND frame"
        )]
    );
}

#[test]
fn frames_pipelined_behind_connect_wait_for_the_answer() {
    let mut s = ServerSession::new(config());
    s.receive(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SUBSCRIBE\nid:0\ndestination:/q\nreceipt:r1\n\n\0")
        .unwrap();
    assert!(matches!(events(&mut s)[..], [ServerEvent::Connect(_)]));
    assert!(sent(&mut s).is_empty());
    s.accept(&[]).unwrap();
    assert!(matches!(
        events(&mut s)[..],
        [ServerEvent::Subscribe { .. }]
    ));
    assert_eq!(
        sent(&mut s),
        [
            "CONNECTED\nversion:1.2\nheart-beat:0,0\n\n^@",
            "RECEIPT\nreceipt-id:r1\n\n^@"
        ]
    );
}

#[test]
fn too_many_pipelined_frames() {
    let mut c = config();
    c.max_pipelined_frames = 1;
    let mut s = ServerSession::new(c);
    let e = s
        .receive(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0BEGIN\ntransaction:a\n\n\0BEGIN\ntransaction:b\n\n\0")
        .unwrap_err();
    assert_eq!(e, ProtocolError::TooManyPipelinedFrames);
}

#[test]
fn receipt_goes_once_the_application_moved_on() {
    let mut s = connected();
    s.receive(b"SEND\ndestination:/q\nreceipt:77\n\nhi\0")
        .unwrap();
    assert!(
        sent(&mut s).is_empty(),
        "not before the application took the SEND"
    );
    let Some(ServerEvent::Send(frame)) = s.poll_event() else {
        panic!()
    };
    assert_eq!(frame.header("destination"), Some("/q"));
    assert_eq!(&frame.body()[..], b"hi");
    assert_eq!(s.poll_event(), None);
    assert_eq!(sent(&mut s), ["RECEIPT\nreceipt-id:77\n\n^@"]);
}

#[test]
fn error_after_taking_an_event_carries_its_receipt_instead() {
    let mut s = connected();
    s.receive(b"SEND\ndestination:/forbidden\nreceipt:77\n\nhi\0")
        .unwrap();
    assert!(matches!(s.poll_event(), Some(ServerEvent::Send(_))));
    s.error("access denied").unwrap();
    assert_eq!(
        sent(&mut s),
        [error_frame(
            "receipt-id:77\nmessage:access denied\n",
            "access denied"
        )]
    );
    assert!(s.poll_close_transport());
    assert_eq!(s.error("again"), Err(UsageError::Closed));
}

#[test]
fn malformed_frame_gets_error_and_close_and_later_input_is_ignored() {
    let mut s = connected();
    s.receive(b"SEND\ndestination:/q\n\nfine\0").unwrap();
    let e = s.receive(b"SEND\nbad\\t:x\n\n\0SEND\ndestination:/q\n\n\0");
    assert_eq!(
        e,
        Err(ProtocolError::Frame(FrameError::InvalidEscape(Some(b't'))))
    );
    let ev = events(&mut s);
    assert!(
        matches!(ev[0], ServerEvent::Send(_)),
        "frames before the bad one"
    );
    assert!(matches!(closed_reason(&ev[1]), CloseReason::Error(_)));
    assert_eq!(ev.len(), 2);
    assert_eq!(
        sent(&mut s),
        [error_frame(
            "message:undefined escape sequence in header\n",
            "undefined escape sequence in header"
        )]
    );
    assert!(s.poll_close_transport());
    assert_eq!(s.receive(b"SEND\ndestination:/q\n\n\0"), Ok(()));
    assert!(events(&mut s).is_empty() && sent(&mut s).is_empty());
}

#[test]
fn send_requires_destination() {
    let mut s = connected();
    let e = s.receive(b"SEND\nreceipt:9\n\nx\0").unwrap_err();
    assert_eq!(
        e,
        ProtocolError::MissingHeader {
            command: Command::Send,
            header: "destination"
        }
    );
    // "if the frame included a receipt header, the ERROR frame SHOULD set the receipt-id
    // header to match"
    assert!(sent(&mut s)[0].starts_with("ERROR\nreceipt-id:9\nmessage:missing required header\n"));
}

#[test]
fn subscriptions_ids_and_modes() {
    let mut s = connected();
    s.receive(b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0SUBSCRIBE\nid:1\ndestination:/t\n\n\0")
        .unwrap();
    let ev = events(&mut s);
    let ServerEvent::Subscribe {
        id,
        destination,
        ack,
        frame,
    } = &ev[0]
    else {
        panic!()
    };
    assert_eq!(
        (id.as_str(), destination.as_str(), *ack),
        ("0", "/queue/foo", AckMode::Client)
    );
    assert_eq!(frame.header("ack"), Some("client"));
    assert!(matches!(
        &ev[1],
        ServerEvent::Subscribe {
            ack: AckMode::Auto,
            ..
        }
    ));
    assert_eq!(
        s.subscriptions().collect::<Vec<_>>(),
        [("0", AckMode::Client), ("1", AckMode::Auto)]
    );
    // "Within the same connection, different subscriptions MUST use different subscription
    // identifiers."
    let e = s
        .receive(b"SUBSCRIBE\nid:0\ndestination:/x\n\n\0")
        .unwrap_err();
    assert_eq!(e, ProtocolError::DuplicateSubscription("0".into()));
}

#[test]
fn subscribe_and_unsubscribe_errors() {
    let cases: [(&[u8], ProtocolError); 4] = [
        (
            b"SUBSCRIBE\nid:0\ndestination:/q\nack:sometimes\n\n\0",
            ProtocolError::InvalidHeader { header: "ack" },
        ),
        (
            b"SUBSCRIBE\ndestination:/q\n\n\0",
            ProtocolError::MissingHeader {
                command: Command::Subscribe,
                header: "id",
            },
        ),
        (
            b"UNSUBSCRIBE\nid:7\n\n\0",
            ProtocolError::UnknownSubscription("7".into()),
        ),
        (
            b"MESSAGE\ndestination:/q\n\n\0",
            ProtocolError::UnexpectedCommand(Command::Message),
        ),
    ];
    for (wire, error) in cases {
        let mut s = connected();
        assert_eq!(s.receive(wire), Err(error));
        assert!(sent(&mut s)[0].starts_with("ERROR\n"));
        assert!(s.poll_close_transport());
    }
    let mut c = config();
    c.max_subscriptions = 1;
    let mut s = ServerSession::new(c);
    s.receive(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
        .unwrap();
    s.accept(&[]).unwrap();
    let e = s
        .receive(b"SUBSCRIBE\nid:0\ndestination:/q\n\n\0SUBSCRIBE\nid:1\ndestination:/q\n\n\0")
        .unwrap_err();
    assert_eq!(e, ProtocolError::TooManySubscriptions);
}

#[test]
fn messages_get_ids_subscription_and_ack_header() {
    let mut s = connected();
    s.receive(b"SUBSCRIBE\nid:auto\ndestination:/t\n\n\0SUBSCRIBE\nid:c\ndestination:/q\nack:client\n\n\0")
        .unwrap();
    events(&mut s);
    // The client's SEND passed as is: receipt, transaction and content-length not copied.
    let send = Frame::new(Command::Send)
        .with_header("destination", "/q")
        .with_header("receipt", "r")
        .with_header("transaction", "t")
        .with_header("x-user", "a:b")
        .with_body("hello");
    assert_eq!(s.send_message("auto", &send), Ok(MessageId(0)));
    assert_eq!(s.send_message("c", &send), Ok(MessageId(1)));
    assert_eq!(
        sent(&mut s),
        [
            "MESSAGE\ndestination:/q\nmessage-id:0\nsubscription:auto\nx-user:a\\cb\ncontent-length:5\n\nhello^@",
            "MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:c\nack:1\nx-user:a\\cb\ncontent-length:5\n\nhello^@",
        ]
    );
    assert_eq!(s.unacked("c").collect::<Vec<_>>(), [MessageId(1)]);
    assert_eq!(s.unacked("auto").count(), 0);
    assert_eq!(
        s.send_message("nope", &send),
        Err(UsageError::UnknownSubscription("nope".into()))
    );
    assert_eq!(
        s.send_message("c", &Frame::new(Command::Send)),
        Err(UsageError::MissingHeader("destination"))
    );
    assert!(sent(&mut s).is_empty());
}

/// A connected session with subscription "s" in `mode` and messages 0, 1, 2 sent on it.
fn three_messages(mode: &str) -> ServerSession {
    let mut s = connected();
    s.receive(format!("SUBSCRIBE\nid:s\ndestination:/q\nack:{mode}\n\n\0").as_bytes())
        .unwrap();
    events(&mut s);
    let m = Frame::new(Command::Message).with_header("destination", "/q");
    for i in 0..3 {
        assert_eq!(s.send_message("s", &m), Ok(MessageId(i)));
    }
    sent(&mut s);
    s
}

fn ack(subscription: &str, ids: &[u64]) -> ServerEvent {
    ServerEvent::Ack {
        subscription: subscription.into(),
        messages: ids.iter().map(|&i| MessageId(i)).collect(),
    }
}

fn nack(subscription: &str, ids: &[u64]) -> ServerEvent {
    ServerEvent::Nack {
        subscription: subscription.into(),
        messages: ids.iter().map(|&i| MessageId(i)).collect(),
    }
}

#[test]
fn client_mode_ack_is_cumulative() {
    let mut s = three_messages("client");
    s.receive(b"ACK\nid:1\n\n\0").unwrap();
    assert_eq!(events(&mut s), [ack("s", &[0, 1])]);
    // Already acknowledged: nothing more to report, no error.
    s.receive(b"ACK\nid:0\nreceipt:r\n\n\0").unwrap();
    assert!(events(&mut s).is_empty());
    assert_eq!(sent(&mut s), ["RECEIPT\nreceipt-id:r\n\n^@"]);
    // NACK in client mode covers "all messages sent before and not yet ACK'ed or NACK'ed".
    s.receive(b"NACK\nid:2\n\n\0").unwrap();
    assert_eq!(events(&mut s), [nack("s", &[2])]);
    assert_eq!(s.unacked("s").count(), 0);
}

#[test]
fn client_mode_nack_is_cumulative_too() {
    let mut s = three_messages("client");
    s.receive(b"NACK\nid:1\n\n\0").unwrap();
    assert_eq!(events(&mut s), [nack("s", &[0, 1])]);
    assert_eq!(s.unacked("s").collect::<Vec<_>>(), [MessageId(2)]);
}

#[test]
fn client_individual_ack_covers_one_message() {
    let mut s = three_messages("client-individual");
    s.receive(b"ACK\nid:1\n\n\0NACK\nid:2\n\n\0").unwrap();
    assert_eq!(events(&mut s), [ack("s", &[1]), nack("s", &[2])]);
    assert_eq!(s.unacked("s").collect::<Vec<_>>(), [MessageId(0)]);
}

#[test]
fn unknown_ack_ids_are_errors() {
    for wire in [
        &b"ACK\nid:3\n\n\0"[..],
        b"ACK\nid:x\n\n\0",
        b"NACK\nid:01x\n\n\0",
    ] {
        let mut s = three_messages("client");
        let e = s.receive(wire).unwrap_err();
        assert!(matches!(e, ProtocolError::UnknownAckId(_)), "{e:?}");
    }
    let mut s = three_messages("client");
    let e = s.receive(b"ACK\nmessage-id:1\n\n\0").unwrap_err();
    assert_eq!(
        e,
        ProtocolError::MissingHeader {
            command: Command::Ack,
            header: "id"
        }
    );
}

#[test]
fn stomp_1_1_acks_by_message_id_and_has_no_ack_header() {
    let mut s = ServerSession::new(config());
    s.receive(b"CONNECT\naccept-version:1.1\nhost:h\n\n\0SUBSCRIBE\nid:s\ndestination:/q\nack:client-individual\n\n\0")
        .unwrap();
    s.accept(&[]).unwrap();
    events(&mut s);
    let m = Frame::new(Command::Message).with_header("destination", "/q");
    s.send_message("s", &m).unwrap();
    assert_eq!(
        &sent(&mut s)[1..],
        ["MESSAGE\ndestination:/q\nmessage-id:0\nsubscription:s\n\n^@"]
    );
    s.receive(b"ACK\nsubscription:s\nmessage-id:0\n\n\0")
        .unwrap();
    assert_eq!(events(&mut s), [ack("s", &[0])]);
}

#[test]
fn unsubscribe_reports_unacked_messages() {
    let mut s = three_messages("client-individual");
    s.receive(b"ACK\nid:1\n\n\0UNSUBSCRIBE\nid:s\n\n\0")
        .unwrap();
    assert_eq!(
        events(&mut s),
        [
            ack("s", &[1]),
            ServerEvent::Unsubscribe {
                id: "s".into(),
                unacked: vec![MessageId(0), MessageId(2)]
            }
        ]
    );
    // Their ids are settled now: a late ACK is not an error.
    s.receive(b"ACK\nid:0\n\n\0").unwrap();
    assert!(events(&mut s).is_empty());
}

#[test]
fn transactions_hold_sends_and_acks_until_commit() {
    let mut s = three_messages("client");
    s.receive(
        b"BEGIN\ntransaction:tx1\nreceipt:b\n\n\0\
          SEND\ndestination:/a\ntransaction:tx1\n\none\0\
          ACK\nid:1\ntransaction:tx1\n\n\0\
          SEND\ndestination:/b\n\noutside\0",
    )
    .unwrap();
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1, "only the SEND outside the transaction: {ev:?}");
    assert!(matches!(&ev[0], ServerEvent::Send(f) if f.header("destination") == Some("/b")));
    assert_eq!(s.unacked("s").count(), 3, "the ACK is held too");
    assert_eq!(sent(&mut s), ["RECEIPT\nreceipt-id:b\n\n^@"]);
    s.receive(b"COMMIT\ntransaction:tx1\nreceipt:c\n\n\0")
        .unwrap();
    let ev = events(&mut s);
    assert!(matches!(&ev[0], ServerEvent::Send(f) if f.header("destination") == Some("/a")));
    assert_eq!(ev[1], ack("s", &[0, 1]));
    assert_eq!(ev.len(), 2);
    assert_eq!(sent(&mut s), ["RECEIPT\nreceipt-id:c\n\n^@"]);
    assert_eq!(s.unacked("s").collect::<Vec<_>>(), [MessageId(2)]);
}

#[test]
fn abort_drops_what_the_transaction_held() {
    let mut s = three_messages("client-individual");
    s.receive(
        b"BEGIN\ntransaction:t\n\n\0SEND\ndestination:/a\ntransaction:t\n\nx\0\
          ACK\nid:0\ntransaction:t\n\n\0ABORT\ntransaction:t\nreceipt:a\n\n\0",
    )
    .unwrap();
    assert!(events(&mut s).is_empty());
    assert_eq!(sent(&mut s), ["RECEIPT\nreceipt-id:a\n\n^@"]);
    assert_eq!(s.unacked("s").count(), 3);
    // The id can be used again once the transaction ended.
    s.receive(b"BEGIN\ntransaction:t\n\n\0").unwrap();
}

#[test]
fn transaction_errors() {
    let cases: [(&[u8], ProtocolError); 5] = [
        (
            b"BEGIN\ntransaction:t\n\n\0BEGIN\ntransaction:t\n\n\0",
            ProtocolError::DuplicateTransaction("t".into()),
        ),
        (
            b"COMMIT\ntransaction:t\n\n\0",
            ProtocolError::UnknownTransaction("t".into()),
        ),
        (
            b"ABORT\ntransaction:t\n\n\0",
            ProtocolError::UnknownTransaction("t".into()),
        ),
        (
            b"SEND\ndestination:/q\ntransaction:t\n\n\0",
            ProtocolError::UnknownTransaction("t".into()),
        ),
        (
            b"BEGIN\n\n\0",
            ProtocolError::MissingHeader {
                command: Command::Begin,
                header: "transaction",
            },
        ),
    ];
    for (wire, error) in cases {
        let mut s = connected();
        assert_eq!(s.receive(wire), Err(error));
    }
    let mut c = config();
    c.max_transactions = 1;
    c.max_transaction_size = 100;
    let mut s = ServerSession::new(c.clone());
    s.receive(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
        .unwrap();
    s.accept(&[]).unwrap();
    let e = s.receive(b"BEGIN\ntransaction:a\n\n\0BEGIN\ntransaction:b\n\n\0");
    assert_eq!(e, Err(ProtocolError::TooManyTransactions));
    let mut s = ServerSession::new(c);
    s.receive(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
        .unwrap();
    s.accept(&[]).unwrap();
    let big = format!(
        "BEGIN\ntransaction:a\n\n\0SEND\ndestination:/q\ntransaction:a\n\n{}\0",
        "x".repeat(100)
    );
    assert_eq!(
        s.receive(big.as_bytes()),
        Err(ProtocolError::TransactionTooLarge)
    );
}

#[test]
fn disconnect_with_receipt_aborts_transactions_then_receipt_then_close() {
    let mut s = three_messages("client");
    s.receive(
        b"BEGIN\ntransaction:t\n\n\0SEND\ndestination:/a\ntransaction:t\n\nlost\0\
          DISCONNECT\nreceipt:77\n\n\0SEND\ndestination:/after\n\n\0",
    )
    .unwrap();
    assert!(s.is_closed());
    assert!(!s.poll_close_transport(), "the RECEIPT is still to go");
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed {
            reason: CloseReason::Disconnect,
            unacked: vec![
                ("s".into(), MessageId(0)),
                ("s".into(), MessageId(1)),
                ("s".into(), MessageId(2))
            ],
        }]
    );
    assert_eq!(sent(&mut s), ["RECEIPT\nreceipt-id:77\n\n^@"]);
    assert!(s.poll_close_transport());
    assert_eq!(
        s.send_message(
            "s",
            &Frame::new(Command::Message).with_header("destination", "/q")
        ),
        Err(UsageError::Closed)
    );
}

#[test]
fn transport_closed_aborts_and_reports_unacked() {
    let mut s = three_messages("client-individual");
    s.receive(b"BEGIN\ntransaction:t\n\n\0ACK\nid:0\ntransaction:t\n\n\0")
        .unwrap();
    s.handle_transport_closed();
    assert_eq!(
        events(&mut s),
        [ServerEvent::Closed {
            reason: CloseReason::TransportClosed,
            unacked: vec![
                ("s".into(), MessageId(0)),
                ("s".into(), MessageId(1)),
                ("s".into(), MessageId(2))
            ],
        }]
    );
    assert!(s.poll_close_transport());
}

#[test]
fn heart_beats_with_exact_deadlines() {
    // Client offers cx,cy = 1000,2000; server sx,sy = 3000,500. The server sends every
    // MAX(sx,cy) = 3000 ms and hears every MAX(cx,sy) = 1000 ms; with the 50 % margin the
    // client is dead after 1500 ms of silence.
    let mut c = config();
    c.heart_beat = HeartBeat {
        send_ms: 3000,
        receive_ms: 500,
    };
    let ms = Duration::from_millis;
    let mut s = ServerSession::new(c);
    // The connect timeout needs the clock: poll_timeout asks for a handle_timeout call.
    assert_eq!(s.poll_timeout(), Some(ms(0)));
    s.receive(b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:1000,2000\n\n\0")
        .unwrap();
    assert_eq!(s.handle_timeout(ms(0)), None);
    events(&mut s);
    assert_eq!(s.poll_timeout(), None, "no deadline before the answer");
    s.accept(&[]).unwrap();
    assert_eq!(
        sent(&mut s),
        ["CONNECTED\nversion:1.2\nheart-beat:3000,500\n\n^@"]
    );
    assert_eq!(s.poll_timeout(), Some(ms(1500)));
    assert_eq!(s.handle_timeout(ms(1000)), None);
    s.receive(b"\n").unwrap(); // a heart-beat at 1200
    assert_eq!(s.handle_timeout(ms(1200)), None);
    assert_eq!(s.poll_timeout(), Some(ms(2700)));
    s.receive(b"SEND\ndestination:/q\n\n\0").unwrap(); // any data counts
    assert_eq!(s.handle_timeout(ms(2600)), None);
    assert_eq!(s.poll_timeout(), Some(ms(3000)));
    // The server's own beat is due at 3000 (nothing else was sent since CONNECTED).
    assert_eq!(s.handle_timeout(ms(3000)), None);
    assert_eq!(sent(&mut s), ["\n"]);
    assert_eq!(s.poll_timeout(), Some(ms(4100)));
    assert_eq!(s.handle_timeout(ms(4099)), None);
    assert_eq!(s.handle_timeout(ms(4100)), Some(Timeout::PeerSilent));
    assert_eq!(
        sent(&mut s),
        [error_frame(
            "message:heart-beat timeout\n",
            "heart-beat timeout"
        )]
    );
    assert!(s.poll_close_transport());
    assert_eq!(s.poll_timeout(), None);
    let ev = events(&mut s);
    assert_eq!(
        closed_reason(ev.last().unwrap()),
        &CloseReason::Error(ProtocolError::HeartBeatTimeout)
    );
}

#[test]
fn heart_beats_off_when_either_side_says_zero() {
    let mut c = config();
    c.heart_beat = HeartBeat {
        send_ms: 0,
        receive_ms: 500,
    };
    let mut s = ServerSession::new(c);
    s.receive(b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:0,2000\n\n\0")
        .unwrap();
    s.accept(&[]).unwrap();
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn connect_answered_after_the_session_failed() {
    // Found by fuzzing (stomp_session): frames pipelined behind CONNECT went over the
    // limit before the application answered; its answer is then a usage error.
    let mut c = config();
    c.max_pipelined_frames = 1;
    let mut s = ServerSession::new(c);
    let e = s.receive(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0BEGIN\ntransaction:a\n\n\0ABORT\ntransaction:a\n\n\0");
    assert_eq!(e, Err(ProtocolError::TooManyPipelinedFrames));
    let ev = events(&mut s);
    assert!(matches!(ev[0], ServerEvent::Connect(_)));
    assert!(matches!(closed_reason(&ev[1]), CloseReason::Error(_)));
    assert_eq!(s.accept(&[]), Err(UsageError::NoConnectPending));
    assert_eq!(s.reject("x"), Err(UsageError::NoConnectPending));
    assert_eq!(
        sent(&mut s),
        [error_frame(
            "message:too many frames before CONNECTED\n",
            "too many frames before CONNECTED"
        )]
    );
}

#[test]
fn a_conversation_split_anywhere_gives_the_same_events_and_answers() {
    let conversation: &[u8] = b"SUBSCRIBE\r\nid:s\r\ndestination:/q\r\nack:client\r\n\r\n\0\r\n\
        BEGIN\ntransaction:t\n\n\0SEND\ndestination:/q\ntransaction:t\ncontent-length:3\n\na\0b\0\n\
        COMMIT\ntransaction:t\nreceipt:c\n\n\0\n\nUNSUBSCRIBE\nid:s\nreceipt:u\n\n\0\
        DISCONNECT\nreceipt:d\n\n\0";
    let run = |pieces: &[&[u8]]| {
        let mut s = connected();
        for piece in pieces {
            s.receive(piece).unwrap();
        }
        (events(&mut s), sent(&mut s), s.poll_close_transport())
    };
    let whole = run(&[conversation]);
    assert_eq!(whole.0.len(), 4, "{:?}", whole.0);
    assert_eq!(
        whole.1,
        [
            "RECEIPT\nreceipt-id:c\n\n^@",
            "RECEIPT\nreceipt-id:u\n\n^@",
            "RECEIPT\nreceipt-id:d\n\n^@"
        ]
    );
    assert!(whole.2);
    for cut in 0..=conversation.len() {
        let (a, b) = conversation.split_at(cut);
        assert_eq!(run(&[a, b]), whole, "cut at {cut}");
    }
}

#[test]
fn a_client_that_never_connects_is_closed() {
    let ms = Duration::from_millis;
    let mut s = ServerSession::new(config().connect_timeout(Some(ms(500))));
    assert_eq!(
        s.handle_timeout(ms(1000)),
        None,
        "the timeout runs from the first call"
    );
    assert_eq!(s.poll_timeout(), Some(ms(1500)));
    s.receive(b"\n\n").unwrap(); // heart-beats are not a CONNECT
    assert_eq!(s.handle_timeout(ms(1499)), None);
    assert_eq!(s.handle_timeout(ms(1500)), Some(Timeout::Connect));
    assert_eq!(
        sent(&mut s),
        [error_frame(
            "message:no CONNECT in time\n",
            "no CONNECT in time"
        )]
    );
    assert!(s.poll_close_transport());
    assert_eq!(s.poll_timeout(), None);
    // A CONNECT in time stops the clock.
    let mut s = ServerSession::new(config().connect_timeout(Some(ms(500))));
    assert_eq!(s.handle_timeout(ms(0)), None);
    s.receive(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
        .unwrap();
    assert_eq!(s.handle_timeout(ms(400)), None);
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.handle_timeout(ms(10_000)), None);
    assert!(!s.is_closed());
}

#[test]
fn frames_encoded_once_elsewhere_are_recorded_for_acks() {
    let mut s = connected();
    s.receive(b"SUBSCRIBE\nid:c\ndestination:/q\nack:client\nreceipt:r1\n\n\0SUBSCRIBE\nid:a\ndestination:/t\n\n\0")
        .unwrap();
    events(&mut s);
    assert_eq!(s.needs_ack_header("c"), Some(true));
    assert_eq!(s.needs_ack_header("a"), Some(false));
    assert_eq!(s.needs_ack_header("x"), None);
    // The frame a broker encodes once for every session whose subscription is "c".
    let send = Frame::new(Command::Send)
        .with_header("destination", "/q")
        .with_body("x");
    let shared = rfc6455_stomp::message_frame(&send, "c", MessageId(40), true).unwrap();
    let mut bytes = Vec::new();
    shared.encode(&mut bytes).unwrap();
    assert_eq!(
        bytes,
        b"MESSAGE\ndestination:/q\nmessage-id:40\nsubscription:c\nack:40\ncontent-length:1\n\nx\0"
    );
    s.record_message("c", MessageId(40)).unwrap();
    s.record_message("a", MessageId(41)).unwrap();
    // The receipt of the last SUBSCRIBE goes before the frame recorded after it.
    assert_eq!(sent(&mut s), ["RECEIPT\nreceipt-id:r1\n\n^@"]);
    assert_eq!(s.unacked("c").collect::<Vec<_>>(), [MessageId(40)]);
    assert_eq!(
        s.record_message("c", MessageId(41)),
        Err(UsageError::StaleMessageId)
    );
    assert_eq!(
        s.record_message("x", MessageId(50)),
        Err(UsageError::UnknownSubscription("x".into()))
    );
    // An ACK of the recorded id is resolved like one of send_message's.
    s.receive(b"ACK\nid:40\n\n\0").unwrap();
    assert_eq!(
        events(&mut s),
        [ServerEvent::Ack {
            subscription: "c".into(),
            messages: vec![MessageId(40)]
        }]
    );
    // send_message continues after the recorded ids.
    assert_eq!(s.send_message("a", &send), Ok(MessageId(42)));
}

#[test]
fn a_taken_receipt_is_sent_when_the_application_says() {
    let mut s = connected();
    s.receive(
        b"SEND\ndestination:/q\nreceipt:later\n\nx\0SEND\ndestination:/q\nreceipt:now\n\ny\0",
    )
    .unwrap();
    assert!(matches!(s.poll_event(), Some(ServerEvent::Send(_))));
    assert_eq!(s.take_receipt().as_deref(), Some("later"));
    assert!(matches!(s.poll_event(), Some(ServerEvent::Send(_))));
    assert_eq!(sent(&mut s), ["RECEIPT\nreceipt-id:now\n\n^@"]);
    s.send_receipt("later").unwrap();
    assert_eq!(sent(&mut s), ["RECEIPT\nreceipt-id:later\n\n^@"]);
    assert_eq!(s.frames_received(Command::Send), 2);
    assert_eq!(s.frames_received(Command::Connect), 1);
    assert_eq!(s.frames_received(Command::Ack), 0);
}

#[test]
fn a_lenient_server_assumes_a_host() {
    let mut s = ServerSession::new(config().host_when_missing(Some("/")));
    s.receive(b"CONNECT\naccept-version:1.2\n\n\0").unwrap();
    let Some(ServerEvent::Connect(request)) = s.poll_event() else {
        panic!()
    };
    assert_eq!(request.host, "/");
    let mut strict = ServerSession::new(config());
    assert_eq!(
        strict.receive(b"CONNECT\naccept-version:1.2\n\n\0"),
        Err(ProtocolError::MissingHeader {
            command: Command::Connect,
            header: "host"
        })
    );
}
