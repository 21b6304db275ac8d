//! Arbitrary bytes as the payloads of compressed messages (RSV1 set), into a server
//! connection with permessage-deflate: inflating never panics, never grows a message past
//! the limit, and fails only with the close codes RFC 7692 and 6455 allow.
//!
//! Input: a flags byte (context takeover, window bits), a frame-size byte, a split
//! pattern for feeding the wire (see `rfc6455_fuzz::split_pattern`), then the payload
//! bytes, cut into frames of the frame size, four frames per message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::{CloseCode, Config, Connection, Event, Role};

const LIMIT: u64 = 64 * 1024;

fuzz_target!(|input: &[u8]| {
    let [flags, frame, rest @ ..] = input else {
        return;
    };
    let params = DeflateParams {
        server_no_context_takeover: flags & 1 != 0,
        client_no_context_takeover: flags & 2 != 0,
        server_max_window_bits: 8 + (flags >> 2 & 7),
        client_max_window_bits: (8 + (flags >> 5 & 7)).min(15),
    };
    let (pattern, payload) = rfc6455_fuzz::split_pattern(rest);
    let frame = *frame as usize + 1;
    // Masked client frames (zero key): the first of each message Text/Binary with RSV1.
    let mut wire = Vec::new();
    for (i, piece) in payload.chunks(frame).enumerate() {
        let first = i % 4 == 0;
        let fin = i % 4 == 3 || (i + 1) * frame >= payload.len();
        let opcode = match (first, i % 8 < 4) {
            (true, true) => 0x1,
            (true, false) => 0x2,
            _ => 0x0,
        };
        wire.push((fin as u8) << 7 | (first as u8) << 6 | opcode);
        wire.push(0x80 | piece.len() as u8);
        wire.extend_from_slice(&[0; 4]);
        wire.extend_from_slice(piece);
    }
    let config = Config::default()
        .max_message_size(LIMIT)
        .max_frame_size(LIMIT);
    let mut conn = Connection::new(Role::Server, config);
    conn.enable_deflate(&params, &DeflateConfig::default());
    let mut buf = Vec::new();
    let mut message_len = 0u64;
    for chunk in rfc6455_fuzz::Chunks::new(pattern, &wire) {
        buf.extend_from_slice(chunk);
        let mut pos = 0;
        loop {
            let mut inflated = Vec::new();
            match conn.receive_into(&mut buf[pos..], &mut inflated) {
                Ok(r) => {
                    pos += r.consumed;
                    let (len, fin) = match r.event {
                        None => break,
                        Some(Event::Text(t)) => (t.len(), true),
                        Some(Event::Binary(b)) => (b.len(), true),
                        Some(Event::TextChunk { payload, fin })
                        | Some(Event::BinaryChunk { payload, fin }) => (payload.len(), fin),
                        Some(_) => (0, false),
                    };
                    assert!(inflated.capacity() as u64 <= LIMIT + 1 + 1024);
                    message_len += len as u64;
                    assert!(message_len <= LIMIT, "a message grew to {message_len}");
                    if fin {
                        message_len = 0;
                    }
                }
                Err(e) => {
                    let code = e.close_code();
                    assert!(
                        [
                            CloseCode::PROTOCOL_ERROR,
                            CloseCode::INVALID_PAYLOAD,
                            CloseCode::MESSAGE_TOO_BIG
                        ]
                        .contains(&code),
                        "{e:?}"
                    );
                    return;
                }
            }
        }
        buf.drain(..pos);
    }
});
