//! Property tests: encode→decode round trips, split invariance of the decoder, and the
//! incremental UTF-8 validator against `core::str::from_utf8`.

use proptest::prelude::*;
use rfc6455::testing::SeededMasks;
use rfc6455::utf8::Utf8Validator;
use rfc6455::{
    Config, Connection, FrameHeader, Message, MessageAssembler, OpCode, ProtocolError, Role, Status,
};

/// A message and how to send it: whole, or in fragments of the given size.
#[derive(Clone, Debug)]
struct Outgoing {
    message: Message,
    fragment: Option<usize>,
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        4 => ".{0,300}".prop_map(Message::text),
        4 => prop::collection::vec(any::<u8>(), 0..2000).prop_map(Message::binary),
        1 => prop::collection::vec(any::<u8>(), 0..=125).prop_map(Message::ping),
        1 => prop::collection::vec(any::<u8>(), 0..=125).prop_map(Message::pong),
    ]
}

fn outgoing() -> impl Strategy<Value = Outgoing> {
    (message(), prop::option::of(1usize..400))
        .prop_map(|(message, fragment)| Outgoing { message, fragment })
}

/// Encodes messages as `role` would send them.
fn encode(role: Role, seed: u32, messages: &[Outgoing]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let mut conn = Connection::with_mask_source(
            role,
            Config::default().fragment_size(m.fragment),
            SeededMasks::new(seed),
        );
        match &m.message {
            Message::Text(t) => conn.send_text(t, &mut out).unwrap(),
            Message::Binary(b) => conn.send_binary(b, &mut out).unwrap(),
            Message::Ping(p) => conn.send_ping(p, &mut out).unwrap(),
            Message::Pong(p) => conn.send_pong(p, &mut out).unwrap(),
            Message::Close(_) => unreachable!("not generated"),
        }
    }
    out
}

/// Feeds `wire` to a fresh connection in the given chunk sizes (cycled), returning the
/// assembled messages and the error, if any.
fn decode(role: Role, wire: &[u8], chunks: &[usize]) -> (Vec<Message>, Option<ProtocolError>) {
    let mut conn = Connection::new(role, Config::default().max_fragments(100_000));
    let mut assembler = MessageAssembler::new();
    let mut messages = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut sizes = chunks.iter().copied().cycle();
    while fed < wire.len() {
        let n = sizes
            .next()
            .unwrap_or(wire.len())
            .clamp(1, wire.len() - fed);
        buf.extend_from_slice(&wire[fed..fed + n]);
        fed += n;
        let mut pos = 0;
        loop {
            match conn.receive(&mut buf[pos..]) {
                Ok(r) => {
                    pos += r.consumed;
                    match r.event {
                        Some(e) => messages.extend(assembler.push(e)),
                        None => break,
                    }
                }
                Err(e) => return (messages, e.protocol().cloned()),
            }
        }
        buf.drain(..pos);
    }
    assert!(
        buf.len() < 14 + 125,
        "only a partial header or control frame may remain"
    );
    (messages, None)
}

fn sent(messages: &[Outgoing]) -> Vec<Message> {
    messages.iter().map(|m| m.message.clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn client_to_server_round_trip(
        messages in prop::collection::vec(outgoing(), 0..12),
        seed in any::<u32>(),
    ) {
        let wire = encode(Role::Client, seed, &messages);
        let (received, error) = decode(Role::Server, &wire, &[wire.len().max(1)]);
        prop_assert_eq!(error, None);
        prop_assert_eq!(received, sent(&messages));
    }

    #[test]
    fn server_to_client_round_trip(messages in prop::collection::vec(outgoing(), 0..12)) {
        let wire = encode(Role::Server, 0, &messages);
        let (received, error) = decode(Role::Client, &wire, &[wire.len().max(1)]);
        prop_assert_eq!(error, None);
        prop_assert_eq!(received, sent(&messages));
    }

    /// The same bytes in any chunking give the same messages (chunks of a message may be
    /// cut differently; the assembled messages and control frames are identical).
    #[test]
    fn split_invariance(
        messages in prop::collection::vec(outgoing(), 1..8),
        seed in any::<u32>(),
        chunks in prop::collection::vec(1usize..300, 1..20),
    ) {
        let wire = encode(Role::Client, seed, &messages);
        let whole = decode(Role::Server, &wire, &[wire.len()]);
        let split = decode(Role::Server, &wire, &chunks);
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(whole.0, sent(&messages));
    }

    /// Corrupted streams fail the same way whatever the chunking: same error, same control
    /// frames and messages before it.
    #[test]
    fn split_invariance_of_failures(
        messages in prop::collection::vec(outgoing(), 1..6),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        chunks in prop::collection::vec(1usize..64, 1..10),
    ) {
        let mut wire = encode(Role::Client, 7, &messages);
        for (at, x) in flips {
            let i = at.index(wire.len());
            wire[i] ^= x;
        }
        let whole = decode(Role::Server, &wire, &[wire.len()]);
        let split = decode(Role::Server, &wire, &chunks);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn utf8_validator_agrees_with_std(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            ".{0,40}".prop_map(String::into_bytes),
            (".{0,40}", any::<prop::sample::Index>(), any::<u8>()).prop_map(|(s, i, b)| {
                let mut v = s.into_bytes();
                if !v.is_empty() { let i = i.index(v.len()); v[i] = b; }
                v
            }),
        ],
        splits in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut points: Vec<usize> = splits.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut v = Utf8Validator::new();
        let mut start = 0;
        let mut ok = true;
        for p in points.into_iter().chain([bytes.len()]) {
            if v.feed(&bytes[start..p]).is_err() {
                ok = false;
                // Fail fast: the prefix up to here cannot be the start of valid UTF-8.
                let prefix_could_be_valid = match core::str::from_utf8(&bytes[..p]) {
                    Ok(_) => true,
                    Err(e) => e.error_len().is_none(),
                };
                prop_assert!(!prefix_could_be_valid);
                break;
            }
            start = p;
        }
        if ok {
            ok = v.finish().is_ok();
        }
        prop_assert_eq!(ok, core::str::from_utf8(&bytes).is_ok());
    }

    #[test]
    fn frame_header_round_trip(
        fin in any::<bool>(),
        rsv in 0u8..8,
        opcode in prop::sample::select(vec![OpCode::Continuation, OpCode::Text, OpCode::Binary]),
        mask in prop::option::of(any::<[u8; 4]>()),
        len in prop_oneof![0u64..=125, 126u64..=0xFFFF, 0x1_0000u64..(1 << 63)],
    ) {
        let header = FrameHeader {
            fin, rsv1: rsv & 4 != 0, rsv2: rsv & 2 != 0, rsv3: rsv & 1 != 0,
            opcode, mask, payload_len: len,
        };
        let mut buf = [0u8; 14];
        let n = header.encode(&mut buf);
        prop_assert_eq!(n, header.encoded_len());
        prop_assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Status::Complete((header, n))));
        for end in 0..n {
            prop_assert_eq!(FrameHeader::decode(&buf[..end]), Ok(Status::Partial));
        }
    }
}
