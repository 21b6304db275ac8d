//! Every protocol rule of RFC 6455 §5 and §7 that the receiver enforces, each with the
//! close code the connection fails with and the exact Close frame it queues.

mod common;

use rfc6455::mask::apply_mask;
use rfc6455::{CloseCode, Config, Connection, Event, ProtocolError, Role, State};

/// A masked client frame with an explicit first byte (FIN/RSV/opcode).
fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    common::masked_frame(b0, payload, [0xA1, 0xB2, 0xC3, 0xD4])
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    [&code.to_be_bytes()[..], reason].concat()
}

/// Feeds `wire` to a server with `config` and returns the error and the bytes the server
/// queued in response.
fn fail_with(config: Config, wire: &[u8]) -> (ProtocolError, Vec<u8>) {
    let mut conn = Connection::new(Role::Server, config);
    let mut buf = wire.to_vec();
    let mut pos = 0;
    let error = loop {
        match conn.receive(&mut buf[pos..]) {
            Ok(r) => {
                pos += r.consumed;
                assert!(r.event.is_some(), "input ended without a violation");
            }
            Err(e) => break common::peer_fault(e),
        }
    };
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.failure(), Some(&error));
    assert!(conn.poll_close_transport());
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    // After failing, input is discarded and nothing more is sent.
    let mut more = masked(0x81, b"after");
    let len = more.len();
    let r = conn.receive(&mut more).unwrap();
    assert_eq!((r.consumed, r.event), (len, None));
    assert_eq!(conn.poll_transmit(&mut Vec::new()), 0);
    (error, out)
}

/// The unmasked Close frame a server sends for `error`.
fn expected_close(error: &ProtocolError) -> Vec<u8> {
    let body = close_payload(error.close_code().as_u16(), error.reason().as_bytes());
    [&[0x88, body.len() as u8][..], &body].concat()
}

#[test]
fn each_rule_fails_with_its_close_code() {
    let d = Config::default;
    let cases: Vec<(&str, Config, Vec<u8>, ProtocolError, u16)> = vec![
        // §5.2 RSV bits without an extension.
        (
            "rsv1",
            d(),
            masked(0xC1, b"x"),
            ProtocolError::ReservedBits,
            1002,
        ),
        (
            "rsv2",
            d(),
            masked(0xA1, b"x"),
            ProtocolError::ReservedBits,
            1002,
        ),
        (
            "rsv3",
            d(),
            masked(0x91, b"x"),
            ProtocolError::ReservedBits,
            1002,
        ),
        (
            "rsv on ping",
            d(),
            masked(0xC9, b""),
            ProtocolError::ReservedBits,
            1002,
        ),
        // §5.2 reserved opcodes.
        (
            "opcode 3",
            d(),
            masked(0x83, b""),
            ProtocolError::UnknownOpCode(3),
            1002,
        ),
        (
            "opcode 7",
            d(),
            masked(0x87, b""),
            ProtocolError::UnknownOpCode(7),
            1002,
        ),
        (
            "opcode B",
            d(),
            masked(0x8B, b""),
            ProtocolError::UnknownOpCode(0xB),
            1002,
        ),
        (
            "opcode F",
            d(),
            masked(0x8F, b""),
            ProtocolError::UnknownOpCode(0xF),
            1002,
        ),
        // §5.5 control frames.
        (
            "ping 126 bytes",
            d(),
            masked(0x89, &[0; 126]),
            ProtocolError::ControlFrameTooLong,
            1002,
        ),
        (
            "fragmented ping",
            d(),
            masked(0x09, b""),
            ProtocolError::FragmentedControlFrame,
            1002,
        ),
        (
            "fragmented close",
            d(),
            masked(0x08, b""),
            ProtocolError::FragmentedControlFrame,
            1002,
        ),
        // §5.4 continuation rules.
        (
            "lone continuation",
            d(),
            masked(0x80, b"x"),
            ProtocolError::UnexpectedContinuation,
            1002,
        ),
        (
            "text inside a fragmented message",
            d(),
            [masked(0x01, b"a"), masked(0x81, b"b")].concat(),
            ProtocolError::ExpectedContinuation,
            1002,
        ),
        (
            "binary inside a fragmented message",
            d(),
            [masked(0x02, b"a"), masked(0x82, b"b")].concat(),
            ProtocolError::ExpectedContinuation,
            1002,
        ),
        // §5.1 masking: a server rejects unmasked frames.
        (
            "unmasked",
            d(),
            vec![0x81, 0x01, b'x'],
            ProtocolError::UnmaskedFrame,
            1002,
        ),
        // §5.2 lengths.
        (
            "64-bit length with MSB set",
            d(),
            vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0],
            ProtocolError::LengthOverflow,
            1002,
        ),
        (
            "non-minimal 16-bit length",
            d(),
            vec![0x82, 0xFE, 0x00, 0x05],
            ProtocolError::NonMinimalLength,
            1002,
        ),
        // §8.1 UTF-8.
        (
            "invalid text",
            d(),
            masked(0x81, b"\xff"),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (
            "truncated text",
            d(),
            masked(0x81, "€".as_bytes().split_at(2).0),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (
            "invalid text across fragments",
            d(),
            [masked(0x01, b"ok\xe2\x82"), masked(0x80, b"x")].concat(),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        // §5.5.1 / §7.4 close payloads.
        (
            "close length 1",
            d(),
            masked(0x88, &[0x03]),
            ProtocolError::InvalidClosePayload,
            1002,
        ),
        (
            "close code 0",
            d(),
            masked(0x88, &close_payload(0, b"")),
            ProtocolError::InvalidCloseCode(0),
            1002,
        ),
        (
            "close code 999",
            d(),
            masked(0x88, &close_payload(999, b"")),
            ProtocolError::InvalidCloseCode(999),
            1002,
        ),
        (
            "close code 1004",
            d(),
            masked(0x88, &close_payload(1004, b"")),
            ProtocolError::InvalidCloseCode(1004),
            1002,
        ),
        (
            "close code 1005",
            d(),
            masked(0x88, &close_payload(1005, b"")),
            ProtocolError::InvalidCloseCode(1005),
            1002,
        ),
        (
            "close code 1006",
            d(),
            masked(0x88, &close_payload(1006, b"")),
            ProtocolError::InvalidCloseCode(1006),
            1002,
        ),
        (
            "close code 1015",
            d(),
            masked(0x88, &close_payload(1015, b"")),
            ProtocolError::InvalidCloseCode(1015),
            1002,
        ),
        (
            "close code 1016",
            d(),
            masked(0x88, &close_payload(1016, b"")),
            ProtocolError::InvalidCloseCode(1016),
            1002,
        ),
        (
            "close code 2999",
            d(),
            masked(0x88, &close_payload(2999, b"")),
            ProtocolError::InvalidCloseCode(2999),
            1002,
        ),
        (
            "close code 5000",
            d(),
            masked(0x88, &close_payload(5000, b"")),
            ProtocolError::InvalidCloseCode(5000),
            1002,
        ),
        (
            "close reason not UTF-8",
            d(),
            masked(
                0x88,
                &close_payload(
                    1000,
                    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80",
                ),
            ),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        // Limits.
        (
            "frame over max_frame_size",
            d().max_frame_size(10),
            masked(0x82, &[0; 11]),
            ProtocolError::FrameTooLarge { limit: 10 },
            1009,
        ),
        (
            "message over max_message_size",
            d().max_message_size(10),
            [masked(0x02, &[0; 6]), masked(0x80, &[0; 5])].concat(),
            ProtocolError::MessageTooLarge { limit: 10 },
            1009,
        ),
        (
            "more fragments than max_fragments",
            d().max_fragments(3),
            [
                masked(0x02, b""),
                masked(0x00, b""),
                masked(0x00, b""),
                masked(0x80, b""),
            ]
            .concat(),
            ProtocolError::TooManyFragments { limit: 3 },
            1009,
        ),
    ];
    for (name, config, wire, expected, code) in cases {
        let (error, out) = fail_with(config, &wire);
        assert_eq!(error, expected, "{name}");
        assert_eq!(error.close_code(), CloseCode::new(code), "{name}");
        assert_eq!(out, expected_close(&error), "{name}: queued Close frame");
    }
}

#[test]
fn client_rejects_masked_frames() {
    let mut conn = Connection::new(Role::Client, Config::default());
    let mut wire = masked(0x81, b"hi");
    assert_eq!(
        conn.receive(&mut wire).map_err(common::peer_fault),
        Err(ProtocolError::MaskedFrame)
    );
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    // The client's Close is masked: 2 header bytes + 4 mask bytes + 2 code + reason.
    assert_eq!(out[0], 0x88);
    assert_eq!(out[1] & 0x80, 0x80);
    let mut body = out[6..].to_vec();
    let key = [out[2], out[3], out[4], out[5]];
    apply_mask(&mut body, key, 0);
    assert_eq!(body, close_payload(1002, b"masked server frame"));
}

#[test]
fn oversized_frame_fails_at_its_header_before_any_payload() {
    // A header announcing 2^63 - 1 bytes: rejected from the 10 header bytes + mask alone.
    let mut conn = Connection::new(Role::Server, Config::default());
    let mut wire = vec![
        0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
    ];
    assert_eq!(
        conn.receive(&mut wire).map_err(common::peer_fault),
        Err(ProtocolError::FrameTooLarge {
            limit: rfc6455::DEFAULT_MAX_MESSAGE_SIZE
        })
    );
}

#[test]
fn text_fails_at_the_first_invalid_byte_in_every_split() {
    // "κόσμε" then an invalid surrogate, then more valid text: sent as two fragments split
    // at every position. The failure must come no later than the chunk holding the first
    // invalid byte.
    let text: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
    let first_invalid = 12; // 0xED is a valid lead; 0xA0 after it is the first invalid byte
    for split in 0..=text.len() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let mut wire = [masked(0x01, &text[..split]), masked(0x80, &text[split..])].concat();
        let first_frame_len = wire.len() - (text.len() - split) - 6;
        let mut pos = 0;
        let mut failed_at = None;
        while pos < wire.len() {
            match conn.receive(&mut wire[pos..]) {
                Ok(r) => {
                    pos += r.consumed;
                    if let Some(Event::TextChunk { .. }) = r.event {
                        continue;
                    }
                    assert!(r.event.is_some(), "split {split}: stalled at {pos}");
                }
                Err(e) => {
                    assert_eq!(e, ProtocolError::InvalidUtf8);
                    failed_at = Some(pos);
                    break;
                }
            }
        }
        let failed_at = failed_at.expect("invalid text was accepted");
        if split > first_invalid {
            assert!(
                failed_at < first_frame_len,
                "split {split}: failed late, at {failed_at}"
            );
        }
    }
}

#[test]
fn data_after_close_is_discarded() {
    let mut conn = Connection::new(Role::Server, Config::default());
    let mut wire = [
        masked(0x88, &close_payload(1000, b"")),
        masked(0x81, b"late"),
    ]
    .concat();
    let r = conn.receive(&mut wire).unwrap();
    assert_eq!(
        r.event,
        Some(Event::Close {
            code: CloseCode::NORMAL,
            reason: ""
        })
    );
    let consumed = r.consumed;
    let r = conn.receive(&mut wire[consumed..]).unwrap();
    assert_eq!(r.event, None);
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    assert_eq!(out, [0x88, 0x02, 0x03, 0xE8]);
    assert_eq!(conn.state(), State::Closed);
}

#[test]
fn large_text_pieces_are_validated_block_by_block() {
    // A 100 kB text message arriving in 40 kB reads: each read's piece is unmasked and
    // validated in blocks; a valid message passes, an invalid byte fails on its read.
    let text: Vec<u8> = "κόσμε abc ".repeat(8000).into_bytes();
    for bad_at in [None, Some(70_001)] {
        let mut payload = text.clone();
        if let Some(i) = bad_at {
            payload[i] = 0xFF;
        }
        let mut conn = Connection::new(Role::Server, Config::default());
        let wire = masked(0x81, &payload);
        let mut buf = Vec::new();
        let mut delivered = Vec::new();
        let mut failed_at_read = None;
        for (read, piece) in wire.chunks(40_000).enumerate() {
            buf.extend_from_slice(piece);
            let mut pos = 0;
            loop {
                match conn.receive(&mut buf[pos..]) {
                    Ok(r) => {
                        pos += r.consumed;
                        match r.event {
                            Some(Event::TextChunk { payload, .. }) => {
                                delivered.extend_from_slice(payload)
                            }
                            Some(Event::Text(t)) => delivered.extend_from_slice(t.as_bytes()),
                            Some(other) => panic!("unexpected {other:?}"),
                            None => break,
                        }
                    }
                    Err(e) => {
                        assert_eq!(e, ProtocolError::InvalidUtf8);
                        failed_at_read = Some(read);
                        break;
                    }
                }
            }
            if failed_at_read.is_some() {
                break;
            }
            buf.drain(..pos);
        }
        match bad_at {
            None => {
                assert_eq!(failed_at_read, None);
                assert_eq!(delivered, text);
            }
            // Byte 70,001 of the payload (+ 8 header bytes) arrives in the second read.
            Some(_) => assert_eq!(failed_at_read, Some(1)),
        }
    }
}
