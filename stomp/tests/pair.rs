//! A client session and a server session talking in memory (`testing::Pair`): every flow
//! from both ends, with the exact frames on the wire.

use std::time::Duration;

use bytes::Bytes;
use rfc6455_stomp::client::Timeout as ClientTimeout;
use rfc6455_stomp::server::CloseReason;
use rfc6455_stomp::testing::Pair;
use rfc6455_stomp::{
    AckMode, ClientConfig, ClientEvent, ClientSession, Command, Frame, HeartBeat, MessageId,
    ProtocolError, ServerConfig, ServerEvent, UsageError, Version,
};

fn text(messages: &[Vec<u8>]) -> Vec<String> {
    messages
        .iter()
        .map(|m| String::from_utf8_lossy(m).replace('\0', "^@"))
        .collect()
}

#[test]
fn connect_with_credentials_and_heart_beats() {
    let mut server = ServerConfig::default();
    server.heart_beat = HeartBeat {
        send_ms: 5000,
        receive_ms: 4000,
    };
    let client = ClientConfig::new("/")
        .credentials("guest", "guest")
        .connect_header("client-id", "c:1")
        .heart_beat(HeartBeat {
            send_ms: 1000,
            receive_ms: 2000,
        });
    let mut pair = Pair::new(server, client);
    assert_eq!(
        pair.client.subscribe("/q", AckMode::Auto, &[]),
        Err(UsageError::NotConnected)
    );
    pair.drive();
    assert_eq!(
        text(&pair.to_server),
        [
            "CONNECT\naccept-version:1.1,1.2\nhost:/\nheart-beat:1000,2000\nlogin:guest\npasscode:guest\nclient-id:c:1\n\n^@"
        ]
    );
    let Some(ServerEvent::Connect(request)) = pair.server_events.pop_front() else {
        panic!()
    };
    assert_eq!(request.login.as_deref(), Some("guest"));
    assert_eq!(request.passcode.as_deref(), Some("guest"));
    pair.server.accept(&[("session", "42")]).unwrap();
    pair.drive();
    assert_eq!(
        text(&pair.to_client),
        ["CONNECTED\nversion:1.2\nheart-beat:5000,4000\nsession:42\n\n^@"]
    );
    let Some(ClientEvent::Connected {
        version,
        heart_beat,
        frame,
    }) = pair.client_events.pop_front()
    else {
        panic!()
    };
    assert_eq!(version, Version::V1_2);
    assert_eq!(
        heart_beat,
        HeartBeat {
            send_ms: 5000,
            receive_ms: 4000
        }
    );
    assert_eq!(frame.header("session"), Some("42"));
    // Client sends every MAX(cx=1000, sy=4000) = 4000; hears every MAX(sx=5000, cy=2000)
    // = 5000, dead after 7500. The server mirrors it.
    let ms = Duration::from_millis;
    assert_eq!(pair.client.poll_timeout(), Some(ms(4000)));
    assert_eq!(pair.server.poll_timeout(), Some(ms(5000)));
    pair.advance_to(ms(4000));
    assert_eq!(text(&pair.to_server)[1..], ["\n"]);
    pair.advance_to(ms(5000));
    assert_eq!(text(&pair.to_client)[1..], ["\n"]);
    pair.advance_to(ms(8000));
    pair.advance_to(ms(10000));
    assert_eq!(text(&pair.to_server)[1..], ["\n", "\n"]);
    assert_eq!(text(&pair.to_client)[1..], ["\n", "\n"]);
    assert!(pair.client.is_connected() && pair.server.is_connected());
    assert!(pair.errors.is_empty());
}

#[test]
fn rejected_client_sees_the_error() {
    let mut pair = Pair::new(ServerConfig::default(), ClientConfig::new("h"));
    pair.drive();
    pair.server_events.clear();
    pair.server.reject("who are you?").unwrap();
    pair.drive();
    let Some(ClientEvent::Error(frame)) = pair.client_events.pop_front() else {
        panic!()
    };
    assert_eq!(frame.header("message"), Some("who are you?"));
    assert!(pair.client.poll_close_transport() && pair.server.poll_close_transport());
}

#[test]
fn subscribe_receive_and_ack_cumulatively() {
    let mut pair = Pair::connected();
    let sub = pair
        .client
        .subscribe("/queue/a", AckMode::Client, &[("receipt", "s")])
        .unwrap();
    pair.drive();
    assert_eq!(
        text(&pair.to_server),
        ["SUBSCRIBE\nid:0\ndestination:/queue/a\nack:client\nreceipt:s\n\n^@"]
    );
    assert!(matches!(
        pair.server_events.pop_front(),
        Some(ServerEvent::Subscribe {
            ack: AckMode::Client,
            ..
        })
    ));
    assert_eq!(
        pair.client_events.pop_front(),
        Some(ClientEvent::Receipt {
            receipt_id: "s".into()
        })
    );
    let m = Frame::new(Command::Send)
        .with_header("destination", "/queue/a")
        .with_header("content-type", "text/plain");
    for body in ["one", "two", "three"] {
        let mut m = m.clone().with_body(body);
        m.push_header("x", body);
        pair.server.send_message(&sub, &m).unwrap();
    }
    pair.drive();
    let messages: Vec<Frame> = pair
        .client_events
        .drain(..)
        .map(|e| match e {
            ClientEvent::Message(f) => f,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[2].header("ack"), Some("2"));
    assert_eq!(&messages[2].body()[..], b"three");
    pair.client.ack(&messages[1], None).unwrap();
    pair.drive();
    assert_eq!(text(&pair.to_server)[1..], ["ACK\nid:1\n\n^@"]);
    assert_eq!(
        pair.server_events.pop_front(),
        Some(ServerEvent::Ack {
            subscription: sub.clone(),
            messages: vec![MessageId(0), MessageId(1)]
        })
    );
    pair.client.nack(&messages[2], None).unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events.pop_front(),
        Some(ServerEvent::Nack {
            subscription: sub.clone(),
            messages: vec![MessageId(2)]
        })
    );
    pair.client.unsubscribe(&sub, &[]).unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events.pop_front(),
        Some(ServerEvent::Unsubscribe {
            id: sub.clone(),
            unacked: vec![]
        })
    );
    assert_eq!(
        pair.client.unsubscribe(&sub, &[]),
        Err(UsageError::UnknownSubscription(sub))
    );
    assert!(pair.errors.is_empty());
}

#[test]
fn auto_messages_cannot_be_acked() {
    let mut pair = Pair::connected();
    let sub = pair.client.subscribe("/t", AckMode::Auto, &[]).unwrap();
    pair.drive();
    let m = Frame::new(Command::Send).with_header("destination", "/t");
    pair.server.send_message(&sub, &m).unwrap();
    pair.drive();
    let Some(ClientEvent::Message(m)) = pair.client_events.pop_front() else {
        panic!()
    };
    assert_eq!(pair.client.ack(&m, None), Err(UsageError::NotAckable));
}

#[test]
fn send_with_receipt_and_binary_body() {
    let mut pair = Pair::connected();
    let body = Bytes::from_static(b"\0bin\0");
    pair.client
        .send("/queue/b", &[("receipt", "m-1")], body.clone())
        .unwrap();
    pair.drive();
    assert_eq!(
        text(&pair.to_server),
        ["SEND\ndestination:/queue/b\nreceipt:m-1\ncontent-length:5\n\n^@bin^@^@"]
    );
    let Some(ServerEvent::Send(frame)) = pair.server_events.pop_front() else {
        panic!()
    };
    assert_eq!(frame.body(), &body);
    assert_eq!(
        pair.client_events.pop_front(),
        Some(ClientEvent::Receipt {
            receipt_id: "m-1".into()
        })
    );
}

#[test]
fn client_transactions_commit_and_abort() {
    let mut pair = Pair::connected();
    let sub = pair
        .client
        .subscribe("/q", AckMode::ClientIndividual, &[])
        .unwrap();
    pair.drive();
    pair.server_events.clear();
    let m = Frame::new(Command::Send).with_header("destination", "/q");
    pair.server.send_message(&sub, &m).unwrap();
    pair.drive();
    let Some(ClientEvent::Message(message)) = pair.client_events.pop_front() else {
        panic!()
    };
    let tx = pair.client.begin().unwrap();
    pair.client
        .send("/out", &[("transaction", &tx)], Bytes::from_static(b"a"))
        .unwrap();
    pair.client.ack(&message, Some(&tx)).unwrap();
    pair.drive();
    assert!(pair.server_events.is_empty(), "held until COMMIT");
    pair.client.commit(&tx).unwrap();
    pair.drive();
    assert!(matches!(
        pair.server_events.pop_front(),
        Some(ServerEvent::Send(_))
    ));
    assert_eq!(
        pair.server_events.pop_front(),
        Some(ServerEvent::Ack {
            subscription: sub,
            messages: vec![MessageId(0)]
        })
    );
    assert_eq!(
        pair.client.commit(&tx),
        Err(UsageError::UnknownTransaction(tx.clone()))
    );
    assert_eq!(
        pair.client
            .send("/x", &[("transaction", &tx)], Bytes::new()),
        Err(UsageError::UnknownTransaction(tx))
    );
    let tx = pair.client.begin().unwrap();
    pair.client
        .send("/out", &[("transaction", &tx)], Bytes::from_static(b"b"))
        .unwrap();
    pair.client.abort(&tx).unwrap();
    pair.drive();
    assert!(pair.server_events.is_empty());
    assert!(pair.errors.is_empty());
}

#[test]
fn graceful_disconnect() {
    let mut pair = Pair::connected();
    let tx = pair.client.begin().unwrap();
    pair.client
        .send("/q", &[("transaction", &tx)], Bytes::from_static(b"never"))
        .unwrap();
    pair.client.disconnect().unwrap();
    assert_eq!(
        pair.client.send("/q", &[], Bytes::new()),
        Err(UsageError::Closed)
    );
    pair.drive();
    assert_eq!(
        text(&pair.to_server)[2..],
        ["DISCONNECT\nreceipt:disconnect-1\n\n^@"]
    );
    assert_eq!(
        text(&pair.to_client),
        ["RECEIPT\nreceipt-id:disconnect-1\n\n^@"]
    );
    assert_eq!(
        pair.client_events.pop_front(),
        Some(ClientEvent::Disconnected)
    );
    assert_eq!(
        pair.server_events.pop_front(),
        Some(ServerEvent::Closed {
            reason: CloseReason::Disconnect,
            unacked: vec![]
        })
    );
    assert!(pair.server_events.is_empty(), "the transaction was aborted");
    assert!(pair.client.poll_close_transport() && pair.server.poll_close_transport());
}

#[test]
fn client_declares_a_silent_server_dead() {
    let mut server = ServerConfig::default();
    server.heart_beat = HeartBeat {
        send_ms: 1000,
        receive_ms: 0,
    };
    let client = ClientConfig::new("h").heart_beat(HeartBeat {
        send_ms: 0,
        receive_ms: 1000,
    });
    let mut pair = Pair::new(server, client);
    pair.drive();
    pair.server.accept(&[]).unwrap();
    pair.drive();
    let ms = Duration::from_millis;
    // The client hears every MAX(sx, cy) = 1000 ms, dead after 1500 without data.
    assert_eq!(pair.client.poll_timeout(), Some(ms(1500)));
    assert_eq!(pair.client.handle_timeout(ms(1499)), None);
    assert_eq!(
        pair.client.handle_timeout(ms(1500)),
        Some(ClientTimeout::PeerSilent)
    );
    assert!(pair.client.poll_close_transport());
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn client_refuses_a_broken_server() {
    let mut client = ClientSession::new(ClientConfig::new("h")).unwrap();
    let mut out = Vec::new();
    assert!(client.poll_transmit(&mut out) > 0);
    assert_eq!(
        client.receive(b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\n\n\0"),
        Err(ProtocolError::UnexpectedCommand(Command::Message))
    );
    assert!(client.poll_close_transport());
    let mut client = ClientSession::new(ClientConfig::new("h")).unwrap();
    assert_eq!(
        client.receive(b"CONNECTED\nversion:1.0\n\n\0"),
        Err(ProtocolError::UnsupportedVersion)
    );
    let mut client = ClientSession::new(ClientConfig::new("h")).unwrap();
    client.receive(b"CONNECTED\nversion:1.2\n\n\0").unwrap();
    assert_eq!(
        client.receive(b"MESSAGE\ndestination:/q\n\n\0"),
        Err(ProtocolError::MissingHeader {
            command: Command::Message,
            header: "message-id"
        })
    );
}

#[test]
fn server_error_mid_session_reaches_the_client() {
    let mut pair = Pair::connected();
    // A frame the server refuses: SUBSCRIBE with an invalid ack mode, sent raw.
    pair.server
        .receive(b"SUBSCRIBE\nid:0\ndestination:/q\nack:never\nreceipt:r\n\n\0")
        .unwrap_err();
    pair.drive();
    let Some(ClientEvent::Error(frame)) = pair.client_events.pop_front() else {
        panic!()
    };
    assert_eq!(frame.header("message"), Some("invalid header value"));
    assert_eq!(frame.header("receipt-id"), Some("r"));
    assert!(pair.client.poll_close_transport() && pair.server.poll_close_transport());
    assert!(matches!(
        pair.server_events.pop_back(),
        Some(ServerEvent::Closed {
            reason: CloseReason::Error(ProtocolError::InvalidHeader { header: "ack" }),
            ..
        })
    ));
}

#[test]
fn frames_split_across_messages_and_several_in_one() {
    let mut pair = Pair::connected();
    // Three SENDs in one WebSocket message, then one SEND cut in three.
    let many =
        b"SEND\ndestination:/a\n\n1\0\nSEND\ndestination:/b\n\n2\0SEND\ndestination:/c\n\n3\0";
    pair.server.receive(many).unwrap();
    for part in [&b"SEND\ndesti"[..], b"nation:/d\n\n", b"4\0"] {
        pair.server.receive(part).unwrap();
    }
    let bodies: Vec<Bytes> = std::iter::from_fn(|| pair.server.poll_event())
        .map(|e| match e {
            ServerEvent::Send(f) => f.into_body(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(bodies, ["1", "2", "3", "4"].map(Bytes::from));
}

#[test]
fn connect_headers_that_cannot_be_written_unescaped_are_refused() {
    use rfc6455_stomp::EncodeError;
    let config = ClientConfig::new("h").connect_header("a:b", "v");
    assert_eq!(
        ClientSession::new(config).err(),
        Some(UsageError::Encode(EncodeError::Unescapable))
    );
    let config = ClientConfig::new("h\n");
    assert_eq!(
        ClientSession::new(config).err(),
        Some(UsageError::Encode(EncodeError::Unescapable))
    );
}
