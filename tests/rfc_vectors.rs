//! The RFC's own examples as test vectors: §1.3 (accept key) and every frame of §5.7,
//! decoded and encoded byte for byte.

use rfc6455::{Config, Connection, Event, MessageKind, Role};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

/// A client whose every mask key is the RFC's example key.
fn client() -> Connection {
    Connection::with_mask_source(Role::Client, Config::default(), || MASK)
}

/// Feeds `bytes` and returns every event, asserting that all bytes are consumed.
fn decode(conn: &mut Connection, bytes: &[u8]) -> Vec<String> {
    let mut buf = bytes.to_vec();
    let mut pos = 0;
    let mut events = Vec::new();
    loop {
        let r = conn.receive(&mut buf[pos..]).expect("valid input");
        pos += r.consumed;
        match r.event {
            Some(e) => events.push(format!("{e:?}")),
            None => break,
        }
    }
    assert_eq!(pos, bytes.len(), "all input consumed");
    events
}

#[test]
fn accept_key_section_1_3() {
    assert_eq!(
        &rfc6455::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn single_frame_unmasked_text() {
    let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    assert_eq!(decode(&mut client(), &wire), [r#"Text("Hello")"#]);
    let mut out = Vec::new();
    server().send_text("Hello", &mut out).unwrap();
    assert_eq!(out, wire);
}

#[test]
fn single_frame_masked_text() {
    let wire = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(decode(&mut server(), &wire), [r#"Text("Hello")"#]);
    let mut out = Vec::new();
    client().send_text("Hello", &mut out).unwrap();
    assert_eq!(out, wire);
}

#[test]
fn fragmented_unmasked_text() {
    let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
    let second = [0x80, 0x02, 0x6c, 0x6f];
    let wire = [&first[..], &second[..]].concat();
    assert_eq!(
        decode(&mut client(), &wire),
        [
            "TextChunk { payload: [72, 101, 108], fin: false }",
            "TextChunk { payload: [108, 111], fin: true }",
        ]
    );
    let mut server = server();
    let mut out = Vec::new();
    server
        .send_fragment(MessageKind::Text, b"Hel", false, &mut out)
        .unwrap();
    assert_eq!(out, first);
    out.clear();
    server
        .send_fragment(MessageKind::Text, b"lo", true, &mut out)
        .unwrap();
    assert_eq!(out, second);
    // The same frames from automatic fragmentation at 3 bytes per frame.
    let mut server = Connection::new(Role::Server, Config::default().fragment_size(Some(3)));
    let mut out = Vec::new();
    server.send_text("Hello", &mut out).unwrap();
    assert_eq!(out, wire);
}

#[test]
fn unmasked_ping_and_masked_pong() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    // The client receives the ping and answers with exactly the RFC's masked pong.
    let mut client = client();
    assert_eq!(
        decode(&mut client, &ping),
        ["Ping([72, 101, 108, 108, 111])"]
    );
    let mut out = Vec::new();
    assert_eq!(client.poll_transmit(&mut out), pong.len());
    assert_eq!(out, pong);
    // And the server decodes that pong; encoding the ping is symmetric.
    assert_eq!(
        decode(&mut server(), &pong),
        ["Pong([72, 101, 108, 108, 111])"]
    );
    let mut out = Vec::new();
    server().send_ping(b"Hello", &mut out).unwrap();
    assert_eq!(out, ping);
}

#[test]
fn binary_256_bytes_uses_16_bit_length() {
    let payload: Vec<u8> = (0..=255).collect();
    let mut out = Vec::new();
    server().send_binary(&payload, &mut out).unwrap();
    assert_eq!(&out[..4], [0x82, 0x7E, 0x01, 0x00]);
    assert_eq!(&out[4..], &payload[..]);
    let mut client = client();
    let mut buf = out.clone();
    let r = client.receive(&mut buf).unwrap();
    assert_eq!(r.consumed, 4 + 256);
    assert_eq!(r.event, Some(Event::Binary(&payload)));
}

#[test]
fn binary_64_kib_uses_64_bit_length() {
    let payload: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
    let mut out = Vec::new();
    server().send_binary(&payload, &mut out).unwrap();
    assert_eq!(
        &out[..10],
        [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]
    );
    assert_eq!(&out[10..], &payload[..]);
    let mut client = client();
    let mut buf = out.clone();
    let r = client.receive(&mut buf).unwrap();
    assert_eq!(r.consumed, 10 + 65536);
    assert_eq!(r.event, Some(Event::Binary(&payload)));
}
