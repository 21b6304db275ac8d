//! `MessageReader` (whole frames split off the read buffer, text checked in place while a
//! frame is incomplete) against the streaming `Connection::receive_into` +
//! `MessageAssembler`, on the same arbitrary stream: the same messages, text always valid
//! UTF-8, the same error, and buffers bounded by the limits.
//!
//! Input: a flags byte (bit 0: permessage-deflate), a limit byte (messages and frames of
//! at most 256 × (b + 1) bytes), then `[n] [pattern] [frames...]` (see `Chunks`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::reader::{MAX_READ, MIN_READ};
use rfc6455::{Config, Connection, Message, MessageAssembler, MessageReader, ProtocolError, Role};

fn connection(config: &Config, deflate: bool) -> Connection {
    let mut conn = Connection::new(Role::Server, config.clone());
    if deflate {
        let params = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        conn.enable_deflate(&params, &DeflateConfig::default());
    }
    conn
}

/// The streaming path, all input at once.
fn reference(mut conn: Connection, wire: &[u8]) -> (Vec<Message>, Option<ProtocolError>) {
    let mut buf = wire.to_vec();
    let mut assembler = MessageAssembler::new();
    let mut messages = Vec::new();
    let mut pos = 0;
    loop {
        let mut inflated = Vec::new();
        match conn.receive_into(&mut buf[pos..], &mut inflated) {
            Ok(r) => {
                pos += r.consumed;
                let Some(event) = r.event else {
                    return (messages, None);
                };
                if let Some(m) = assembler.push(event) {
                    messages.push(m);
                }
            }
            Err(e) => return (messages, Some(e)),
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let [flags, limit, rest @ ..] = input else {
        return;
    };
    let deflate = flags & 1 != 0;
    let limit = (u64::from(*limit) + 1) * 256;
    let config = Config::default()
        .max_message_size(limit)
        .max_frame_size(limit)
        .max_fragments(64);
    let (pattern, wire) = rfc6455_fuzz::split_pattern(rest);
    let (expected, expected_err) = reference(connection(&config, deflate), wire);

    let mut conn = connection(&config, deflate);
    let mut reader = MessageReader::new();
    let mut got = Vec::new();
    let mut error = None;
    'input: for piece in rfc6455_fuzz::Chunks::new(pattern, wire) {
        let mut rest = piece;
        while !rest.is_empty() {
            // Like a read: at most the room the reader offers.
            let mut buf = reader.read_buf();
            let room = buf.get_ref().capacity() - buf.get_ref().len();
            let n = room.min(bytes::buf::Limit::limit(&buf)).min(rest.len());
            assert!(n > 0, "no room offered");
            bytes::BufMut::put_slice(&mut buf, &rest[..n]);
            rest = &rest[n..];
            loop {
                match reader.poll_message(&mut conn) {
                    Ok(Some(m)) => got.push(m),
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(e);
                        break 'input;
                    }
                }
            }
            // A frame waits in the buffer (within the limit), a message in `parts` or
            // `inflated` (within the limit, plus DEFLATE's expansion): all bounded.
            let bound = 4 * limit as usize + 4 * MAX_READ + 4 * MIN_READ;
            assert!(
                reader.capacity() <= bound,
                "{} > {bound}",
                reader.capacity()
            );
        }
    }
    for m in &got {
        if let Message::Text(t) = m {
            assert!(core::str::from_utf8(t.as_bytes()).is_ok(), "invalid text");
        }
    }
    assert!(
        got.len() <= expected.len(),
        "more messages than the reference"
    );
    assert_eq!(got[..], expected[..got.len()]);
    match (&error, &expected_err) {
        (Some(e), Some(x)) => assert_eq!(e, x),
        (None, None) => assert_eq!(got.len(), expected.len()),
        // The reader inflates a frame only once it is whole: what is wrong with the
        // inflated data of a frame the input never finished (not DEFLATE, too large, not
        // UTF-8) is seen by the streaming path alone.
        (None, Some(x)) => assert!(
            deflate
                && matches!(
                    x,
                    ProtocolError::InvalidCompressedData
                        | ProtocolError::MessageTooLarge { .. }
                        | ProtocolError::InvalidUtf8
                ),
            "only the reference failed: {x:?}"
        ),
        (Some(e), None) => panic!("only the reader failed: {e:?}"),
    }
});
