//! `MessageReader`: whole messages split off the read buffer without a copy, in any read
//! pattern, with memory that follows what the peer actually sent.

use bytes::BufMut;
use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::reader::{Chunk, MIN_READ};
use rfc6455::testing::SeededMasks;
use rfc6455::{
    CloseCode, Config, Connection, Message, MessageKind, MessageReader, ProtocolError, Role,
};

fn client() -> Connection {
    Connection::with_mask_source(Role::Client, big(), SeededMasks::new(7))
}

fn server() -> Connection {
    Connection::new(Role::Server, big())
}

fn big() -> Config {
    Config::default()
        .max_message_size(8 << 20)
        .max_frame_size(8 << 20)
}

/// What a client sends for `messages` (fragmented ones in 3 pieces, pings in between).
fn wire(messages: &[Message], deflate: bool) -> Vec<u8> {
    let mut c = client();
    if deflate {
        c.enable_deflate(&params(), &DeflateConfig::default());
    }
    let mut out = Vec::new();
    for m in messages {
        match m {
            Message::Text(t) if t.len() > 6 && t.is_char_boundary(3) && !deflate => {
                c.send_fragment(MessageKind::Text, t[..3].as_bytes(), false, &mut out)
                    .unwrap();
                c.send_ping(b"between", &mut out).unwrap();
                c.send_fragment(MessageKind::Text, t[3..].as_bytes(), true, &mut out)
                    .unwrap();
            }
            Message::Text(t) => c.send_text(t, &mut out).unwrap(),
            Message::Binary(b) => c.send_binary(b, &mut out).unwrap(),
            Message::Ping(p) => c.send_ping(p, &mut out).unwrap(),
            Message::Close(Some(f)) => c.close(f.code, &f.reason, &mut out).unwrap(),
            Message::Close(None) => c
                .close(CloseCode::NO_STATUS_RECEIVED, "", &mut out)
                .unwrap(),
            Message::Pong(p) => c.send_pong(p, &mut out).unwrap(),
        }
    }
    out
}

fn params() -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    }
}

fn sample() -> Vec<Message> {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    vec![
        Message::text("hello"),
        Message::binary(vec![]),
        Message::text("κόσμε — fragmented €𝄞 text"),
        Message::binary(big),
        Message::ping(&b"p"[..]),
        Message::text("é".repeat(40_000)),
        Message::close(CloseCode::NORMAL, "bye"),
    ]
}

/// The messages `reader` gets when `wire` arrives in reads of `step` bytes (at most what
/// `read_buf` offers).
fn read_all(conn: &mut Connection, wire: &[u8], step: usize) -> Vec<Message> {
    let mut reader = MessageReader::new();
    let mut got = Vec::new();
    let mut pos = 0;
    loop {
        while let Some(m) = reader.poll_message(conn).unwrap() {
            got.push(m);
        }
        if pos == wire.len() {
            return got;
        }
        let mut buf = reader.read_buf();
        let room = room(&buf);
        assert!(room > 0, "no room offered");
        let n = step.min(room).min(wire.len() - pos);
        buf.put_slice(&wire[pos..pos + n]);
        pos += n;
    }
}

/// The room `read_buf` offers: its spare capacity, within its limit.
fn room(buf: &bytes::buf::Limit<&mut bytes::BytesMut>) -> usize {
    let inner = buf.get_ref();
    (inner.capacity() - inner.len()).min(bytes::buf::Limit::limit(buf))
}

/// `sample()` as the server sees it: pings between fragments come first.
fn expected(messages: &[Message], deflate: bool) -> Vec<Message> {
    let mut out = Vec::new();
    for m in messages {
        if let Message::Text(t) = m {
            if t.len() > 6 && t.is_char_boundary(3) && !deflate {
                out.push(Message::ping(&b"between"[..]));
            }
        }
        out.push(m.clone());
    }
    out
}

#[test]
fn every_read_pattern_gives_the_same_messages() {
    for deflate in [false, true] {
        let messages = sample();
        let wire = wire(&messages, deflate);
        for step in [1, 2, 3, 13, 125, 4096, 65_536, usize::MAX] {
            let mut conn = server();
            if deflate {
                conn.enable_deflate(&params(), &DeflateConfig::default());
            }
            assert_eq!(
                read_all(&mut conn, &wire, step),
                expected(&messages, deflate),
                "deflate {deflate} step {step}"
            );
        }
    }
}

#[test]
fn a_message_that_was_one_frame_is_split_off_the_read_buffer_not_copied() {
    let wire = wire(
        &[Message::binary(vec![5; 3000]), Message::text("hi")],
        false,
    );
    let mut conn = server();
    let mut reader = MessageReader::new();
    let mut buf = reader.read_buf();
    buf.put_slice(&wire);
    let inner = buf.get_ref();
    let (start, end) = (
        inner.as_ptr() as usize,
        inner.as_ptr() as usize + inner.capacity(),
    );
    let within = |m: &Message| (start..end).contains(&(m.as_bytes().as_ptr() as usize));
    let first = reader.poll_message(&mut conn).unwrap().unwrap();
    let second = reader.poll_message(&mut conn).unwrap().unwrap();
    assert_eq!(first, Message::binary(vec![5; 3000]));
    assert_eq!(second, Message::text("hi"));
    assert!(
        within(&first) && within(&second),
        "payloads point into the read buffer"
    );
    assert_eq!(reader.poll_message(&mut conn).unwrap(), None);
}

#[test]
fn memory_follows_the_bytes_that_arrived_not_the_length_announced() {
    // A header announcing 1 MiB, then the payload in 1,000-byte reads: the room the
    // reader offers stays within a small factor of what has arrived.
    let payload = vec![9u8; 1 << 20];
    let wire = wire(&[Message::binary(payload.clone())], false);
    let mut conn = server();
    let mut reader = MessageReader::new();
    let mut pos = 0;
    let mut worst = 0.0f64;
    while pos < wire.len() {
        assert_eq!(reader.poll_message(&mut conn).unwrap(), None);
        let mut buf = reader.read_buf();
        let n = 1000.min(room(&buf)).min(wire.len() - pos);
        buf.put_slice(&wire[pos..pos + n]);
        pos += n;
        let allowed = (4 * pos).max(4 * MIN_READ);
        assert!(
            reader.capacity() <= allowed,
            "{} bytes of buffer after {pos} bytes arrived",
            reader.capacity()
        );
        worst = worst.max(reader.capacity() as f64 / pos.max(MIN_READ) as f64);
    }
    assert_eq!(
        reader.poll_message(&mut conn).unwrap(),
        Some(Message::binary(payload))
    );
    assert!(worst <= 4.0, "worst ratio {worst}");
    // Nothing more buffered: the reader can let go of everything.
    reader.release_idle();
    assert_eq!(reader.capacity(), 0);
}

#[test]
fn a_header_alone_costs_a_small_read_buffer() {
    // 2^62 bytes announced: the connection's limits are off, the reader still offers
    // only room for what arrives.
    let mut conn = Connection::new(
        Role::Server,
        Config::default()
            .max_frame_size(u64::MAX)
            .max_message_size(u64::MAX),
    );
    let mut reader = MessageReader::new();
    reader
        .read_buf()
        .put_slice(&[0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    assert_eq!(reader.poll_message(&mut conn).unwrap(), None);
    let buf = reader.read_buf();
    assert!(
        buf.get_ref().capacity() <= 2 * MIN_READ,
        "{}",
        buf.get_ref().capacity()
    );
}

#[test]
fn a_protocol_error_drops_what_is_buffered() {
    let mut conn = server();
    let mut reader = MessageReader::new();
    // Unmasked frame at a server: 1002, and the rest of the input is discarded.
    reader
        .read_buf()
        .put_slice(&[0x82, 0x03, 1, 2, 3, 0x81, 0x80, 0, 0, 0, 0]);
    assert_eq!(
        reader.poll_message(&mut conn),
        Err(ProtocolError::UnmaskedFrame)
    );
    assert_eq!(reader.buffered(), 0);
    assert_eq!(reader.capacity(), 0);
}

#[test]
fn chunks_stream_a_message_and_switching_back_never_yields_invalid_text() {
    // "€" is E2 82 AC: the first fragment ends inside it.
    let text = "ab€cd";
    let mut c = client();
    let mut wire = Vec::new();
    c.send_fragment(MessageKind::Text, &text.as_bytes()[..3], false, &mut wire)
        .unwrap();
    c.send_fragment(MessageKind::Text, &text.as_bytes()[3..], true, &mut wire)
        .unwrap();
    c.send_text("next", &mut wire).unwrap();

    let mut conn = server();
    let mut reader = MessageReader::new();
    reader.read_buf().put_slice(&wire);
    assert_eq!(
        reader.poll_chunk(&mut conn).unwrap(),
        Some(Chunk::Text {
            data: &text.as_bytes()[..3],
            fin: false
        })
    );
    // Going back to whole messages mid-message: the rest ("\x82\xACcd") is not UTF-8 on
    // its own and comes out with replacement characters, never as invalid text.
    let rest = reader.poll_message(&mut conn).unwrap().unwrap();
    assert_eq!(rest, Message::text("\u{FFFD}\u{FFFD}cd"));
    assert_eq!(
        reader.poll_message(&mut conn).unwrap(),
        Some(Message::text("next"))
    );
}

#[test]
fn chunks_of_a_large_frame_are_lent_as_they_arrive() {
    let payload: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let wire = wire(&[Message::binary(payload.clone())], false);
    let mut conn = server();
    let mut reader = MessageReader::new();
    let mut got = Vec::new();
    let mut pos = 0;
    let mut pieces = 0;
    loop {
        match reader.poll_chunk(&mut conn).unwrap() {
            Some(Chunk::Binary { data, fin }) => {
                got.extend_from_slice(data);
                pieces += 1;
                if fin {
                    break;
                }
            }
            Some(other) => panic!("{other:?}"),
            None => {
                let mut buf = reader.read_buf();
                let n = 10_000.min(room(&buf)).min(wire.len() - pos);
                buf.put_slice(&wire[pos..pos + n]);
                pos += n;
            }
        }
    }
    assert_eq!(got, payload);
    assert!(pieces >= 10, "{pieces} pieces");
    // Streaming holds no more than a read's worth.
    assert!(reader.capacity() < 64 * 1024, "{}", reader.capacity());
}

#[test]
fn invalid_text_fails_when_the_invalid_byte_arrives_not_when_the_frame_completes() {
    // RFC 6455 §8.1, Autobahn 6.4.x: a frame's text is checked as it arrives, although
    // the reader only hands out whole frames.
    let mut text = "κόσμε ".repeat(200).into_bytes();
    let bad_at = text.len() / 2;
    text[bad_at] = 0xFF;
    let mut c = client();
    let mut wire = Vec::new();
    c.send_message(MessageKind::Text, &text, &mut wire).unwrap();
    let header = wire.len() - text.len();
    for step in [1, 7, 100, 333] {
        let mut conn = server();
        let mut reader = MessageReader::new();
        let mut pos = 0;
        let failed_at = loop {
            let n = step.min(wire.len() - pos);
            reader.read_buf().put_slice(&wire[pos..pos + n]);
            pos += n;
            match reader.poll_message(&mut conn) {
                Ok(None) => assert!(pos < wire.len()),
                Ok(Some(m)) => panic!("step {step}: delivered {m:?}"),
                Err(e) => break (pos, e),
            }
        };
        assert_eq!(failed_at.1, ProtocolError::InvalidUtf8);
        // Within the read that brought the invalid byte, long before the frame's end.
        assert!(
            failed_at.0 > header + bad_at && failed_at.0 <= header + bad_at + step,
            "step {step}: failed after {} bytes, invalid byte at {}",
            failed_at.0,
            header + bad_at
        );
    }
}

#[test]
fn a_text_frame_that_arrived_in_pieces_is_still_split_off_not_copied() {
    let text = "€uro ".repeat(5000);
    let mut c = client();
    let mut wire = Vec::new();
    c.send_text(&text, &mut wire).unwrap();
    let mut conn = server();
    let mut reader = MessageReader::new();
    let mut pos = 0;
    let mut range = 0..0;
    let message = loop {
        if let Some(m) = reader.poll_message(&mut conn).unwrap() {
            break m;
        }
        let mut buf = reader.read_buf();
        let n = 3000.min(room(&buf)).min(wire.len() - pos);
        buf.put_slice(&wire[pos..pos + n]);
        let inner = buf.get_ref();
        range = inner.as_ptr() as usize..inner.as_ptr() as usize + inner.capacity();
        pos += n;
    };
    assert_eq!(message, Message::text(text));
    assert!(range.contains(&(message.as_bytes().as_ptr() as usize)));
}
