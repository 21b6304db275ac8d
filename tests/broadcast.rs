//! `PreparedMessage`: one message encoded once, sent on many connections — the same bytes
//! each connection would have encoded itself, shared instead of copied.

use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::handshake::{ClientRequest, ServerConfig};
use rfc6455::io::tokio as ws;
use rfc6455::testing::SeededMasks;
use rfc6455::{Config, Connection, Message, MessageKind, PreparedMessage, Role, UsageError};

fn params(no_context_takeover: bool, bits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: no_context_takeover,
        client_no_context_takeover: false,
        server_max_window_bits: bits,
        client_max_window_bits: 15,
    }
}

fn payloads() -> Vec<(MessageKind, Vec<u8>)> {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    vec![
        (MessageKind::Text, b"".to_vec()),
        (MessageKind::Text, "héllo €".as_bytes().to_vec()),
        (MessageKind::Binary, vec![7; 125]),
        (MessageKind::Binary, vec![8; 126]),
        (MessageKind::Text, "chat line ".repeat(1000).into_bytes()),
        (MessageKind::Binary, big),
    ]
}

fn prepared(kind: MessageKind, payload: &[u8]) -> PreparedMessage {
    match kind {
        MessageKind::Text => PreparedMessage::text(String::from_utf8(payload.to_vec()).unwrap()),
        MessageKind::Binary => PreparedMessage::binary(payload.to_vec()),
    }
}

#[test]
fn a_server_shares_exactly_the_frame_it_would_have_encoded() {
    for (kind, payload) in payloads() {
        let message = prepared(kind, &payload);
        for _ in 0..3 {
            let mut conn = Connection::new(Role::Server, Config::default());
            let mut out = Vec::new();
            let frame = conn.send_prepared(&message, &mut out).unwrap().unwrap();
            assert!(out.is_empty());
            let mut own = Connection::new(Role::Server, Config::default());
            let mut expected = Vec::new();
            own.send_message(kind, &payload, &mut expected).unwrap();
            assert_eq!(frame, expected);
            // The same allocation for every connection.
            assert_eq!(frame.as_ptr(), message.frame().as_ptr());
        }
    }
}

#[test]
fn compressed_once_per_parameter_set_and_identical_to_the_connections_own() {
    for (kind, payload) in payloads() {
        let message = prepared(kind, &payload);
        for bits in [9, 12, 15] {
            let mut first = None;
            for _ in 0..3 {
                let mut conn = Connection::new(Role::Server, Config::default());
                conn.enable_deflate(&params(true, bits), &DeflateConfig::default());
                let frame = conn
                    .send_prepared(&message, &mut Vec::new())
                    .unwrap()
                    .unwrap();
                let mut own = Connection::new(Role::Server, Config::default());
                own.enable_deflate(&params(true, bits), &DeflateConfig::default());
                let mut expected = Vec::new();
                own.send_message(kind, &payload, &mut expected).unwrap();
                assert_eq!(frame, expected, "{} bytes, {bits} bits", payload.len());
                // Compressed once: later connections get the same bytes.
                let ptr = frame.as_ptr();
                assert_eq!(*first.get_or_insert(ptr), ptr);
                // And a client decodes it.
                let mut client =
                    Connection::with_mask_source(Role::Client, Config::default(), || [0; 4]);
                client.enable_deflate(&params(true, bits), &DeflateConfig::default());
                let mut wire = frame.to_vec();
                let mut inflated = Vec::new();
                let got = client.receive_into(&mut wire, &mut inflated).unwrap();
                let data = match got.event {
                    Some(rfc6455::Event::Text(t)) => t.as_bytes().to_vec(),
                    Some(rfc6455::Event::Binary(b)) => b.to_vec(),
                    other => panic!("{other:?}"),
                };
                assert_eq!(data, payload);
            }
        }
    }
}

#[test]
fn context_takeover_gets_the_uncompressed_frame_and_clients_encode_their_own() {
    let message = PreparedMessage::text("x".repeat(500));
    let mut server = Connection::new(Role::Server, Config::default());
    server.enable_deflate(&params(false, 15), &DeflateConfig::default());
    let frame = server
        .send_prepared(&message, &mut Vec::new())
        .unwrap()
        .unwrap();
    assert_eq!(&frame, message.frame(), "RSV1 clear: sent uncompressed");
    // A client masks with its own key: encoded into `out`, nothing shared.
    let mut client =
        Connection::with_mask_source(Role::Client, Config::default(), SeededMasks::new(3));
    let mut out = Vec::new();
    assert_eq!(client.send_prepared(&message, &mut out).unwrap(), None);
    let mut own =
        Connection::with_mask_source(Role::Client, Config::default(), SeededMasks::new(3));
    let mut expected = Vec::new();
    own.send_text(&"x".repeat(500), &mut expected).unwrap();
    assert_eq!(out, expected);
    // A server that fragments messages encodes too.
    let mut fragmenting = Connection::new(Role::Server, Config::default().fragment_size(Some(100)));
    let mut out = Vec::new();
    assert_eq!(fragmenting.send_prepared(&message, &mut out).unwrap(), None);
    assert_eq!(out.len(), 500 + 5 * 2);
    // After our Close: refused like any message.
    let mut closed = Connection::new(Role::Server, Config::default());
    closed
        .close(rfc6455::CloseCode::NORMAL, "", &mut Vec::new())
        .unwrap();
    assert_eq!(
        closed.send_prepared(&message, &mut Vec::new()),
        Err(UsageError::Closed)
    );
}

#[tokio::test]
async fn one_prepared_message_reaches_clients_with_and_without_compression() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let news = PreparedMessage::text("breaking: ".repeat(2000));
    let big = PreparedMessage::binary(vec![3u8; 200_000]);
    let (n1, b1) = (news.clone(), big.clone());
    let server = tokio::spawn(async move {
        let acceptor = ws::Acceptor::new(
            ServerConfig::default().deflate(Some(
                DeflateConfig::default().server_no_context_takeover(true),
            )),
            Config::default(),
        );
        let mut sockets = Vec::new();
        for _ in 0..3 {
            let (stream, _) = listener.accept().await.unwrap();
            sockets.push(acceptor.accept(stream).await.unwrap());
        }
        for socket in &mut sockets {
            socket.send_prepared(&n1).await.unwrap();
            socket.send_prepared(&b1).await.unwrap();
        }
        for mut socket in sockets {
            socket.close(rfc6455::CloseCode::NORMAL, "").await.unwrap();
        }
    });
    let url = format!("ws://{addr}/");
    let mut clients = Vec::new();
    for deflate in [
        Some(DeflateConfig::default()),
        Some(DeflateConfig::default().server_no_context_takeover(true)),
        None,
    ] {
        let mut request = ClientRequest::from_url(&url).unwrap();
        if let Some(d) = deflate {
            request = request.deflate(d);
        }
        let (client, _) = ws::connect_with(&request, Config::default()).await.unwrap();
        clients.push(client);
    }
    for mut client in clients {
        assert_eq!(
            client.recv().await.unwrap(),
            Some(Message::text("breaking: ".repeat(2000)))
        );
        assert_eq!(
            client.recv().await.unwrap(),
            Some(Message::binary(vec![3u8; 200_000]))
        );
        assert_eq!(
            client.recv().await.unwrap().map(|m| m.is_close()),
            Some(true)
        );
        assert_eq!(client.recv().await.unwrap(), None);
    }
    server.await.unwrap();
}
