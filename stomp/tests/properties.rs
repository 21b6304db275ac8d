//! Properties: every encodable frame decodes to itself, and the decoder finds the same
//! frames and heart-beats however the stream is cut.

use bytes::Bytes;
use proptest::prelude::*;
use rfc6455_stomp::{Command, Decoder, Frame, Item, Limits, Status};

fn command() -> impl Strategy<Value = Command> {
    proptest::sample::select(Command::ALL.to_vec())
}

/// Text with the characters escaping is about, often.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just(':'),
            Just('\\'),
            Just('\r'),
            Just('\n'),
            Just(' '),
            any::<char>(),
            proptest::char::range('a', 'e'),
        ],
        0..12,
    )
    .prop_map(|c| c.into_iter().collect())
}

fn frame() -> impl Strategy<Value = Frame> {
    (
        command(),
        proptest::collection::vec((text(), text()), 0..6),
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(command, headers, body, counted)| {
            let mut frame = Frame::new(command);
            for (mut name, mut value) in headers {
                if name.is_empty() {
                    name.push('n');
                }
                if !command.escapes_headers() {
                    // CONNECT and CONNECTED cannot carry what would need escaping.
                    name.retain(|c| !matches!(c, ':' | '\r' | '\n'));
                    value.retain(|c| !matches!(c, '\r' | '\n'));
                    if name.is_empty() || name == "content-length" {
                        name = "n".into();
                    }
                }
                if name == "content-length" {
                    name.push('x');
                }
                frame.push_header(&name, &value);
            }
            if !command.may_have_body() {
                frame
            } else if counted || body.contains(&0) {
                frame.with_body(body)
            } else {
                frame.set_body(Bytes::from(body));
                frame
            }
        })
}

fn decode_all(decoder: &mut Decoder, input: &[u8], items: &mut Vec<Item>) {
    let mut pos = 0;
    loop {
        let d = decoder.decode(&input[pos..]).expect("valid stream");
        pos += d.consumed;
        match d.status {
            Status::Partial => {
                assert_eq!(pos, input.len());
                return;
            }
            Status::Complete(item) => items.push(item),
        }
    }
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(frame in frame()) {
        let mut wire = Vec::new();
        frame.encode(&mut wire).unwrap();
        prop_assert_eq!(wire.len(), frame.encoded_len());
        let mut decoder = Decoder::new(Limits::default());
        let mut items = Vec::new();
        decode_all(&mut decoder, &wire, &mut items);
        prop_assert_eq!(items, vec![Item::Frame(frame)]);
        prop_assert!(decoder.is_idle());
    }

    #[test]
    fn decoding_is_split_invariant(
        stream in proptest::collection::vec((frame(), 0..3usize, any::<bool>()), 1..6),
        cuts in proptest::collection::vec(0..400usize, 0..12),
    ) {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (frame, beats, crlf) in stream {
            frame.encode(&mut wire).unwrap();
            expected.push(Item::Frame(frame));
            for _ in 0..beats {
                wire.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                expected.push(Item::HeartBeat);
            }
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (wire.len() + 1)).collect();
        cuts.sort_unstable();
        let mut decoder = Decoder::new(Limits::default());
        let mut items = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([wire.len()]) {
            decode_all(&mut decoder, &wire[start..cut], &mut items);
            start = cut;
        }
        prop_assert_eq!(items, expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        input in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b':'), Just(0u8), Just(b'\\'), any::<u8>()], 0..300),
        prefix in proptest::sample::select(vec![&b""[..], b"SEND\n", b"CONNECT\n", b"MESSAGE\na:b\n\n"]),
    ) {
        let limits = Limits::default().max_header_line_size(32).max_head_size(64).max_body_size(64);
        let mut decoder = Decoder::new(limits);
        let mut data = prefix.to_vec();
        data.extend_from_slice(&input);
        for piece in data.chunks(7) {
            let mut pos = 0;
            loop {
                let Ok(d) = decoder.decode(&piece[pos..]) else { break };
                prop_assert!(decoder.buffered() <= 33 + 64 + 64);
                pos += d.consumed;
                match d.status {
                    Status::Partial => break,
                    Status::Complete(Item::Frame(f)) => {
                        // Whatever decodes re-encodes to something that decodes the same.
                        let mut wire = Vec::new();
                        f.encode(&mut wire).unwrap();
                        let mut again = Decoder::new(Limits::default());
                        let mut items = Vec::new();
                        decode_all(&mut again, &wire, &mut items);
                        prop_assert_eq!(items, vec![Item::Frame(f)]);
                    }
                    Status::Complete(Item::HeartBeat) => {}
                }
            }
        }
    }
}
