//! permessage-deflate (RFC 7692) through the connection: the RFC's frame examples,
//! negotiation in a handshake, context takeover, limits and rule violations.

use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::handshake::{ClientRequest, ServerConfig};
use rfc6455::testing::Pair;
use rfc6455::{CloseCode, Config, Connection, Event, Message, ProtocolError, Role};

const DEFAULT: DeflateParams = DeflateParams {
    server_no_context_takeover: false,
    client_no_context_takeover: false,
    server_max_window_bits: 15,
    client_max_window_bits: 15,
};

fn client_with(params: DeflateParams, config: DeflateConfig) -> Connection {
    let mut conn = Connection::with_mask_source(Role::Client, Config::default(), || [0; 4]);
    conn.enable_deflate(&params, &config);
    conn
}

fn server_with(params: DeflateParams, config: DeflateConfig) -> Connection {
    let mut conn = Connection::new(Role::Server, Config::default());
    conn.enable_deflate(&params, &config);
    conn
}

/// Decodes all of `wire` with `receive_into`, returning each event's data and fin.
fn decode_all(conn: &mut Connection, wire: &[u8]) -> Vec<(String, Vec<u8>, bool)> {
    let mut buf = wire.to_vec();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        let mut inflated = Vec::new();
        let r = conn.receive_into(&mut buf[pos..], &mut inflated).unwrap();
        pos += r.consumed;
        let Some(event) = r.event else { break };
        out.push(match event {
            Event::Text(t) => ("Text".into(), t.as_bytes().to_vec(), true),
            Event::Binary(b) => ("Binary".into(), b.to_vec(), true),
            Event::TextChunk { payload, fin } => ("TextChunk".into(), payload.to_vec(), fin),
            Event::BinaryChunk { payload, fin } => ("BinaryChunk".into(), payload.to_vec(), fin),
            other => (format!("{other:?}"), vec![], true),
        });
    }
    assert_eq!(pos, wire.len());
    out
}

#[test]
fn rfc_7692_section_7_2_3_1_single_frame_hello() {
    // "A message compressed [...] the payload of a single unfragmented frame":
    // 0xc1 0x07 0xf2 0x48 0xcd 0xc9 0xc9 0x07 0x00
    let wire = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut client = client_with(DEFAULT, DeflateConfig::default().threshold(0).level(6));
    assert_eq!(
        decode_all(&mut client, &wire),
        [("Text".to_string(), b"Hello".to_vec(), true)]
    );
    // A server sends exactly these bytes.
    let mut server = server_with(DEFAULT, DeflateConfig::default().threshold(0).level(6));
    let mut out = Vec::new();
    server.send_text("Hello", &mut out).unwrap();
    assert_eq!(out, wire);
}

#[test]
fn rfc_7692_section_7_2_3_1_fragmented_hello() {
    // "The same message [...] fragmented": 0x41 0x03 0xf2 0x48 0xcd / 0x80 0x04 0xc9 0xc9 0x07 0x00
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let mut client = client_with(DEFAULT, DeflateConfig::default());
    let events = decode_all(&mut client, &wire);
    let text: Vec<u8> = events.iter().flat_map(|(_, d, _)| d.clone()).collect();
    assert_eq!(text, b"Hello");
    assert!(events.last().unwrap().2, "last piece has fin");
    assert!(events.iter().all(|(k, _, _)| k == "TextChunk"));
}

#[test]
fn rfc_7692_section_7_2_3_2_shared_window_on_the_wire() {
    // The second "Hello" with context takeover: 0xc1 0x05 0xf2 0x00 0x11 0x00 0x00.
    let mut server = server_with(DEFAULT, DeflateConfig::default().threshold(0).level(6));
    let mut out = Vec::new();
    server.send_text("Hello", &mut out).unwrap();
    out.clear();
    server.send_text("Hello", &mut out).unwrap();
    assert_eq!(out, [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    // Without context takeover every message is compressed alone.
    let params = DeflateParams {
        server_no_context_takeover: true,
        ..DEFAULT
    };
    let mut server = server_with(params, DeflateConfig::default().threshold(0).level(6));
    for _ in 0..2 {
        let mut out = Vec::new();
        server.send_text("Hello", &mut out).unwrap();
        assert_eq!(out, [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    }
}

fn deflate_pair(client: DeflateConfig, server: DeflateConfig) -> (Pair, String) {
    let request = ClientRequest::new("localhost", "/").deflate(client);
    let policy = ServerConfig::default().deflate(Some(server));
    let limits = Config::default()
        .max_message_size(4 << 20)
        .max_frame_size(4 << 20);
    let (pair, response) = Pair::connect(&request, limits.clone(), &policy, limits).unwrap();
    let header = response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
        .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        .unwrap_or_default();
    assert!(pair.client.conn.is_deflate_enabled() && pair.server.conn.is_deflate_enabled());
    (pair, header)
}

#[test]
fn negotiated_in_the_handshake_and_messages_round_trip() {
    let (mut pair, header) = deflate_pair(DeflateConfig::default(), DeflateConfig::default());
    assert_eq!(header, "permessage-deflate");
    let text = "compressible ".repeat(10_000);
    let binary: Vec<u8> = (0..300_000u32).map(|i| (i % 7) as u8).collect();
    let messages = [
        Message::text(text.clone()),
        Message::binary(binary.clone()),
        Message::text("short"), // below the threshold: sent uncompressed
        Message::text(""),
        Message::ping(b"p".to_vec()),
        Message::text(text.clone()),
    ];
    for m in &messages {
        pair.client.send(m).unwrap();
        pair.server.send(m).unwrap();
    }
    let moved = pair.drive();
    for side in [&mut pair.client, &mut pair.server] {
        let got = side.drain();
        let data: Vec<&Message> = got
            .iter()
            .filter(|m| m.is_data() || matches!(m, Message::Ping(_)))
            .collect();
        assert_eq!(data.len(), 6);
        for (a, b) in data.iter().zip(&messages) {
            assert!(*a == b, "message differs");
        }
    }
    // 2 × (130 kB text twice + 300 kB binary) went over the wire in far fewer bytes.
    assert!(moved < 20_000, "{moved} bytes on the wire");
}

#[test]
fn no_context_takeover_both_ways_and_small_windows() {
    let client = DeflateConfig::default()
        .client_no_context_takeover(true)
        .server_no_context_takeover(true)
        .server_max_window_bits(9)
        .client_max_window_bits(10);
    let (mut pair, header) = deflate_pair(client, DeflateConfig::default());
    assert_eq!(
        header,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=9; client_max_window_bits=10"
    );
    let text = "window ".repeat(5000);
    for _ in 0..3 {
        pair.client.send(&Message::text(text.clone())).unwrap();
        pair.server.send(&Message::text(text.clone())).unwrap();
    }
    pair.drive();
    assert_eq!(pair.server.drain(), vec![Message::text(text.clone()); 3]);
    assert_eq!(pair.client.drain(), vec![Message::text(text); 3]);
}

#[test]
fn window_of_8_bits_is_honoured_by_sending_uncompressed() {
    // A client that asks the server for an 8-bit window: accepted, and the server (whose
    // zlib cannot compress with 256 bytes) sends plain frames, RSV1 clear.
    let server_policy = ServerConfig::default().deflate(Some(DeflateConfig::default()));
    let request = ClientRequest::new("localhost", "/").extension(rfc6455::handshake::Extension {
        name: "permessage-deflate".into(),
        params: vec![rfc6455::handshake::ExtensionParam {
            name: "server_max_window_bits".into(),
            value: Some("8".into()),
        }],
    });
    let (mut pair, response) = Pair::connect(
        &request,
        Config::default(),
        &server_policy,
        Config::default(),
    )
    .unwrap();
    assert_eq!(
        response.extensions[0].to_string(),
        "permessage-deflate; server_max_window_bits=8"
    );
    let mut out = Vec::new();
    pair.server
        .conn
        .send_text(&"x".repeat(1000), &mut out)
        .unwrap();
    assert_eq!(out[0], 0x81, "RSV1 clear: not compressed");
}

#[test]
fn decompression_bomb_fails_with_1009_within_the_limit() {
    // 16 MiB of zeros compresses to ~16 KiB at level 9; the receiver allows 1 MiB.
    let mut sender = client_with(DEFAULT, DeflateConfig::default().level(9));
    let mut wire = Vec::new();
    sender.send_binary(&vec![0u8; 16 << 20], &mut wire).unwrap();
    assert!(wire.len() < 40_000, "{} bytes", wire.len());
    let mut receiver = server_with(DEFAULT, DeflateConfig::default());
    let mut inflated = Vec::new();
    let err = receiver.receive_into(&mut wire, &mut inflated).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::MessageTooLarge {
            limit: rfc6455::DEFAULT_MAX_MESSAGE_SIZE
        }
    );
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
    assert!(
        inflated.capacity() <= (1 << 20) + 1,
        "grew to {}",
        inflated.capacity()
    );
}

#[test]
fn rsv1_rules() {
    let masked = |b0: u8, payload: &[u8]| {
        let mut v = vec![b0, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        v.extend_from_slice(payload);
        v
    };
    // RSV1 on a continuation frame, and on a control frame: 1002.
    for wire in [
        [masked(0x41, &[0xf2, 0x48]), masked(0xc0, &[0xcd])].concat(),
        masked(0xc9, b""),
    ] {
        let mut server = server_with(DEFAULT, DeflateConfig::default());
        let mut buf = wire.clone();
        let mut inflated = Vec::new();
        let mut pos = 0;
        let err = loop {
            match server.receive_into(&mut buf[pos..], &mut inflated) {
                Ok(r) => pos += r.consumed,
                Err(e) => break e,
            }
        };
        assert_eq!(err, ProtocolError::ReservedBits);
    }
    // Without permessage-deflate, RSV1 is a protocol error too.
    let mut plain = Connection::new(Role::Server, Config::default());
    assert_eq!(
        plain
            .receive(&mut masked(
                0xc1,
                &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
            ))
            .unwrap_err(),
        ProtocolError::ReservedBits
    );
    // Garbage that is not DEFLATE: 1007.
    let mut server = server_with(DEFAULT, DeflateConfig::default());
    let mut inflated = Vec::new();
    let err = server
        .receive_into(&mut masked(0xc1, &[0xff, 0xff, 0xff]), &mut inflated)
        .unwrap_err();
    assert_eq!(err, ProtocolError::InvalidCompressedData);
    assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD);
    // A compressed message given to plain `receive`: the caller's mistake. Nothing is
    // consumed, nothing is sent, and the connection goes on with `receive_into`.
    let mut server = server_with(DEFAULT, DeflateConfig::default());
    let mut wire = masked(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(
        server.receive(&mut wire).unwrap_err(),
        rfc6455::ReceiveError::Usage(rfc6455::UsageError::InflateBufferMissing)
    );
    assert_eq!(server.state(), rfc6455::State::Open);
    assert_eq!(server.poll_transmit(&mut Vec::new()), 0);
    let mut inflated = Vec::new();
    let r = server.receive_into(&mut wire, &mut inflated).unwrap();
    assert_eq!(r.event, Some(Event::Text("Hello")));
}

#[test]
fn invalid_utf8_inside_compressed_text_fails_with_1007() {
    let mut sender = client_with(DEFAULT, DeflateConfig::default().threshold(0).level(6));
    let mut wire = Vec::new();
    // Compress invalid UTF-8 as if it were text, by sending it as binary and flipping the
    // opcode to text (the compressed bytes are the same).
    sender
        .send_binary(b"valid then \xff invalid", &mut wire)
        .unwrap();
    wire[0] = 0xc1;
    let mut receiver = server_with(DEFAULT, DeflateConfig::default());
    let mut inflated = Vec::new();
    assert_eq!(
        receiver.receive_into(&mut wire, &mut inflated),
        Err(ProtocolError::InvalidUtf8)
    );
}

#[test]
fn compression_can_be_disabled_for_sending_only() {
    let server = DeflateConfig::default().compress_outgoing(false);
    let (mut pair, _) = deflate_pair(DeflateConfig::default(), server);
    let text = "z".repeat(10_000);
    let mut out = Vec::new();
    pair.server.conn.send_text(&text, &mut out).unwrap();
    assert_eq!(out[0], 0x81, "server sends uncompressed");
    pair.client.send(&Message::text(text.clone())).unwrap();
    assert!(pair.client_to_server() < 200, "client still compresses");
    assert_eq!(pair.server.drain(), [Message::text(text)]);
}

/// Regression (Autobahn 12.2.15): the tokio adapter frees idle state whenever a read would
/// block, which can fall between two frames of one compressed message; without context
/// takeover that freed the inflate stream and the rest of the message failed with 1007.
#[tokio::test]
async fn tokio_server_keeps_inflating_a_message_across_idle_reads() {
    use tokio::io::AsyncWriteExt;

    let params = DeflateParams {
        client_no_context_takeover: true,
        server_no_context_takeover: true,
        ..DEFAULT
    };
    let config = DeflateConfig::default();
    let mut client = Connection::with_mask_source(
        Role::Client,
        Config::default().fragment_size(Some(256)),
        || [1, 2, 3, 4],
    );
    client.enable_deflate(&params, &config);
    let (server_io, mut client_io) = tokio::io::duplex(1 << 16);
    let mut server =
        rfc6455::io::tokio::WebSocket::from_parts(server_io, server_with(params, config), &[]);
    // Pseudo-random letters compress to many 256-byte frames.
    let mut x = 7u32;
    let text: String = (0..40_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            char::from(b'a' + (x >> 16) as u8 % 26)
        })
        .collect();
    let mut wire = Vec::new();
    for _ in 0..2 {
        client.send_text(&text, &mut wire).unwrap();
    }
    assert!(
        wire.len() > 20 * 256,
        "expected many frames, got {} bytes",
        wire.len()
    );
    let writer = tokio::spawn(async move {
        for slice in wire.chunks(300) {
            client_io.write_all(slice).await.unwrap();
            // Let the server run dry between slices, so that its reads return Pending.
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        client_io
    });
    for i in 0..2 {
        let message = server.recv().await.unwrap().unwrap();
        assert!(
            message == Message::text(text.clone()),
            "message {i} differs"
        );
    }
    drop(writer.await.unwrap());
}

/// Incompressible bytes (xorshift64*).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

#[test]
fn an_incompressible_message_of_exactly_the_limit_is_accepted_whatever_its_compressed_size() {
    let limit = rfc6455::DEFAULT_MAX_MESSAGE_SIZE as usize;
    // The sender compresses with no limits of its own; the receiver has the defaults.
    let mut sender = client_with(DEFAULT, DeflateConfig::default().level(6));
    let mut receiver = server_with(DEFAULT, DeflateConfig::default());
    for (len, accepted) in [(limit, true), (limit + 1, false)] {
        let data = noise(len, len as u64);
        let mut wire = Vec::new();
        sender.send_binary(&data, &mut wire).unwrap();
        assert_eq!(wire[0], 0xC2, "one compressed frame");
        // DEFLATE made it larger than max_frame_size (stored blocks): once a 1009 here.
        assert!(wire.len() > limit + 14, "{} bytes on the wire", wire.len());
        let wire_len = wire.len();
        let mut inflated = Vec::new();
        let result = receiver.receive_into(&mut wire, &mut inflated);
        if accepted {
            let received = result.unwrap();
            assert_eq!(received.consumed, wire_len);
            assert_eq!(received.event, Some(Event::Binary(&data[..])));
        } else {
            assert_eq!(
                result.unwrap_err(),
                ProtocolError::MessageTooLarge {
                    limit: limit as u64
                }
            );
            assert!(inflated.capacity() <= limit + 1, "{}", inflated.capacity());
        }
    }
}

#[test]
fn a_compressed_frame_beyond_deflates_worst_case_expansion_fails_at_its_header() {
    // max_frame_size 1000: a compressed frame may carry up to 1000 + 125 + 16 + 5 = 1146
    // bytes (zlib's deflateBound); 1147 is refused from the header alone.
    let config = Config::default().max_frame_size(1000);
    for (len, ok) in [(1146u16, true), (1147, false)] {
        let mut conn = Connection::new(Role::Server, config.clone());
        conn.enable_deflate(&DEFAULT, &DeflateConfig::default());
        let mut header = vec![0xC2, 0x80 | 126];
        header.extend_from_slice(&len.to_be_bytes());
        header.extend_from_slice(&[0; 4]);
        let mut inflated = Vec::new();
        let result = conn.receive_into(&mut header, &mut inflated);
        if ok {
            assert_eq!(result.map(|r| r.event), Ok(None), "len {len}");
        } else {
            assert_eq!(
                result.unwrap_err(),
                ProtocolError::FrameTooLarge { limit: 1000 }
            );
        }
    }
    // Uncompressed frames keep the plain limit.
    let mut conn = Connection::new(Role::Server, config);
    conn.enable_deflate(&DEFAULT, &DeflateConfig::default());
    let mut header = vec![0x82, 0x80 | 126, 0x03, 0xE9, 0, 0, 0, 0];
    assert_eq!(
        conn.receive(&mut header).unwrap_err(),
        ProtocolError::FrameTooLarge { limit: 1000 }
    );
}
