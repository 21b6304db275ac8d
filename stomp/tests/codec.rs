//! The codec against the specification's examples, byte for byte, and against its rules:
//! escaping, content-length, EOLs, heart-beats, split invariance and limits.

use bytes::{Bytes, BytesMut};
use rfc6455_stomp::{Command, Decoder, EncodeError, Frame, FrameError, Item, Limits, Status};

/// Decodes `input` fed in pieces of `piece` bytes (0: all at once) until the input ends.
fn decode_pieces(input: &[u8], piece: usize, limits: Limits) -> Result<Vec<Item>, FrameError> {
    let mut decoder = Decoder::new(limits);
    let mut items = Vec::new();
    let chunks: Vec<&[u8]> = if piece == 0 {
        vec![input]
    } else {
        input.chunks(piece).collect()
    };
    for chunk in chunks {
        let mut pos = 0;
        loop {
            let d = decoder.decode(&chunk[pos..])?;
            pos += d.consumed;
            match d.status {
                Status::Partial => {
                    assert_eq!(pos, chunk.len(), "Partial consumes everything");
                    break;
                }
                Status::Complete(item) => items.push(item),
            }
        }
    }
    Ok(items)
}

fn decode(input: &[u8]) -> Result<Vec<Item>, FrameError> {
    decode_pieces(input, 0, Limits::default())
}

fn frames(input: &[u8]) -> Vec<Frame> {
    decode(input)
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::Frame(f) => Some(f),
            Item::HeartBeat => None,
        })
        .collect()
}

fn one(input: &[u8]) -> Frame {
    let mut f = frames(input);
    assert_eq!(f.len(), 1, "{input:?}");
    f.remove(0)
}

fn encode(frame: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    frame.encode(&mut out).unwrap();
    out
}

fn headers(f: &Frame) -> Vec<(&str, &str)> {
    f.headers().collect()
}

/// The frames of the STOMP 1.2 specification, exactly as printed (`^@` is the NULL).
const SPEC_EXAMPLES: &[&[u8]] = &[
    b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0",
    b"CONNECTED\nversion:1.2\n\n\0",
    b"CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n\0",
    b"CONNECTED\nversion:1.1\n\n\0",
    b"ERROR\nversion:1.2,2.1\ncontent-type:text/plain\n\nSupported protocol versions are 1.2 2.1\0",
    b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\0",
    b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
    b"UNSUBSCRIBE\nid:0\n\n\0",
    b"ACK\nid:12345\ntransaction:tx1\n\n\0",
    b"BEGIN\ntransaction:tx1\n\n\0",
    b"COMMIT\ntransaction:tx1\n\n\0",
    b"ABORT\ntransaction:tx1\n\n\0",
    b"RECEIPT\nreceipt-id:77\n\n\0",
    b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0",
    b"RECEIPT\nreceipt-id:message-12345\n\n\0",
    b"SEND\ndestination:/queue/a\nreceipt:message-12345\n\nhello queue a\0",
    b"MESSAGE\nfoo:World\nfoo:Hello\n\n\0",
];

#[test]
fn spec_examples_decode_and_encode_back_exactly() {
    for &example in SPEC_EXAMPLES {
        let frame = one(example);
        assert_eq!(
            encode(&frame),
            example,
            "{}",
            String::from_utf8_lossy(example)
        );
    }
    let send = one(SPEC_EXAMPLES[5]);
    assert_eq!(send.command(), Command::Send);
    assert_eq!(
        headers(&send),
        [("destination", "/queue/a"), ("content-type", "text/plain")]
    );
    assert_eq!(&send.body()[..], b"hello queue a\n");
    // "The value of the foo header is just World."
    assert_eq!(one(SPEC_EXAMPLES[16]).header("foo"), Some("World"));
}

#[test]
fn spec_disconnect_example_without_blank_line_is_refused() {
    // The spec prints "DISCONNECT\nreceipt:77\n^@": without the blank line the NULL is
    // read as the start of a header line, which has no colon.
    assert_eq!(
        decode(b"DISCONNECT\nreceipt:77\n\0\n"),
        Err(FrameError::MissingColon)
    );
    assert_eq!(
        headers(&one(b"DISCONNECT\nreceipt:77\n\n\0")),
        [("receipt", "77")]
    );
}

#[test]
fn spec_error_example_with_content_length() {
    let body = "The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\n\
                Hello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\n\
                for message propagation.\n";
    let wire = format!(
        "ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:{}\n\
         message: malformed frame received\n\n{body}\0",
        body.len()
    );
    let frame = one(wire.as_bytes());
    // "clients and servers MUST never trim or pad headers with spaces"
    assert_eq!(frame.header("message"), Some(" malformed frame received"));
    assert_eq!(frame.body(), body.as_bytes());
    assert_eq!(encode(&frame), wire.as_bytes());
}

#[test]
fn escaping_round_trips() {
    let value = "a:b\\c\r\nd";
    let frame = Frame::new(Command::Send)
        .with_header("destination", "/q")
        .with_header("we:ird\\", value);
    let wire = encode(&frame);
    assert_eq!(
        wire,
        b"SEND\ndestination:/q\nwe\\cird\\\\:a\\cb\\\\c\\r\\nd\n\n\0"
    );
    let back = one(&wire);
    assert_eq!(back, frame);
    assert_eq!(back.header("we:ird\\"), Some(value));
}

#[test]
fn connect_and_connected_are_not_escaped() {
    let wire = b"CONNECT\naccept-version:1.2\nhost:h\nlogin:a\\cb\npasscode:p:w\n\n\0";
    let frame = one(wire);
    // In CONNECT a backslash is just a backslash, and the name ends at the first colon.
    assert_eq!(frame.header("login"), Some("a\\cb"));
    assert_eq!(frame.header("passcode"), Some("p:w"));
    assert_eq!(encode(&frame), wire);
    // An undefined escape is no error there...
    let connected = one(b"CONNECTED\nversion:1.2\nserver:x\\t\n\n\0");
    assert_eq!(connected.header("server"), Some("x\\t"));
    // ...but is fatal elsewhere, STOMP included.
    for wire in [
        &b"STOMP\nhost:x\\t\n\n\0"[..],
        b"SEND\ndestination:\\t\n\n\0",
    ] {
        assert_eq!(decode(wire), Err(FrameError::InvalidEscape(Some(b't'))));
    }
    assert_eq!(
        decode(b"MESSAGE\na:b\\\n\n\0"),
        Err(FrameError::InvalidEscape(None))
    );
    // What would need escaping cannot be written in CONNECT.
    let mut out = Vec::new();
    let bad = Frame::new(Command::Connect).with_header("login", "a\nb");
    assert_eq!(bad.encode(&mut out), Err(EncodeError::Unescapable));
    assert!(out.is_empty());
}

#[test]
fn content_length_bodies_may_contain_nul() {
    let wire = b"SEND\ndestination:/q\ncontent-length:5\n\na\0b\0c\0\n";
    let items = decode(wire).unwrap();
    let Item::Frame(frame) = &items[0] else {
        panic!()
    };
    assert_eq!(&frame.body()[..], b"a\0b\0c");
    assert_eq!(items[1], Item::HeartBeat);
    assert_eq!(items.len(), 2);
    assert_eq!(&encode(frame)[..], &wire[..wire.len() - 1]);
    // The NULL must still follow the counted octets.
    assert_eq!(
        decode(b"SEND\ncontent-length:2\n\nabc\0"),
        Err(FrameError::MissingNul)
    );
    // Without content-length the body ends at the first NULL.
    let f = frames(b"SEND\n\nab\0cd\0");
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0].body()[..], b"ab");
    // Built frames get a content-length; one with NULs and none cannot be encoded.
    let built = Frame::new(Command::Message).with_body(Bytes::from_static(b"\0\0"));
    assert_eq!(encode(&built), b"MESSAGE\ncontent-length:2\n\n\0\0\0");
    let mut raw = Frame::new(Command::Message);
    raw.set_body(Bytes::from_static(b"\0"));
    assert_eq!(
        raw.encode(&mut Vec::new()),
        Err(EncodeError::MissingContentLength)
    );
}

#[test]
fn content_length_values_are_checked() {
    for bad in [
        "",
        " 1",
        "1 ",
        "-1",
        "0x1",
        "1e3",
        "99999999999999999999999",
    ] {
        let wire = format!("SEND\ncontent-length:{bad}\n\n\0");
        assert_eq!(
            decode(wire.as_bytes()),
            Err(FrameError::InvalidContentLength),
            "{bad:?}"
        );
    }
    // The first content-length wins; the others are history.
    let f = one(b"SEND\ncontent-length:1\ncontent-length:x\n\na\0");
    assert_eq!(&f.body()[..], b"a");
    assert_eq!(f.content_length(), Some(1));
}

#[test]
fn crlf_and_lf_give_the_same_frames() {
    let lf = b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\n\nbody\0\n\n";
    let crlf = b"MESSAGE\r\ndestination:/q\r\nmessage-id:1\r\nsubscription:0\r\n\r\nbody\0\r\n\r\n";
    assert_eq!(decode(lf).unwrap(), decode(crlf).unwrap());
    assert_eq!(decode(crlf).unwrap().len(), 3);
    // "EOL = [CR] LF": a lone CR is not an EOL, and CR is not allowed in a header.
    assert_eq!(decode(b"\r\r\n"), Err(FrameError::InvalidEol));
    assert_eq!(decode(b"SEND\na:b\rc\n\n\0"), Err(FrameError::InvalidEol));
    assert_eq!(decode(b"SEND\r\r\n\n\0"), Err(FrameError::InvalidEol));
}

#[test]
fn heart_beats_between_frames_are_reported() {
    let wire = b"\n\nRECEIPT\nreceipt-id:1\n\n\0\r\n\nRECEIPT\nreceipt-id:2\n\n\0\n";
    let items = decode(wire).unwrap();
    let kinds: Vec<&str> = items
        .iter()
        .map(|i| match i {
            Item::HeartBeat => "beat",
            Item::Frame(f) => f.header("receipt-id").unwrap(),
        })
        .collect();
    assert_eq!(kinds, ["beat", "beat", "1", "beat", "beat", "2", "beat"]);
}

#[test]
fn malformed_frames() {
    let cases: &[(&[u8], FrameError)] = &[
        (b"send\n\n\0", FrameError::UnknownCommand),
        (b"SEND \n\n\0", FrameError::UnknownCommand),
        (b"HELLO_THERE_WORLD", FrameError::UnknownCommand),
        (b"SEND\nnocolon\n\n\0", FrameError::MissingColon),
        (b"SEND\n:value\n\n\0", FrameError::EmptyHeaderName),
        (b"SEND\na:\xff\n\n\0", FrameError::InvalidUtf8),
        (
            b"SUBSCRIBE\nid:0\n\nbody\0",
            FrameError::UnexpectedBody(Command::Subscribe),
        ),
        (
            b"RECEIPT\ncontent-length:1\n\nx\0",
            FrameError::UnexpectedBody(Command::Receipt),
        ),
    ];
    for (wire, error) in cases {
        assert_eq!(
            decode(wire).as_ref(),
            Err(error),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
    // The name ends at the first colon; later (unescaped) colons belong to the value.
    assert_eq!(headers(&one(b"SEND\na:b:c\n\n\0")), [("a", "b:c")]);
    // A body-less frame with content-length 0 is fine, and values may be empty.
    assert_eq!(
        headers(&one(b"BEGIN\ncontent-length:0\ntransaction:\n\n\0")).len(),
        2
    );
}

#[test]
fn limits_each_give_their_error() {
    let limits = Limits::default()
        .max_header_count(2)
        .max_header_line_size(16)
        .max_head_size(36)
        .max_body_size(8);
    let cases: &[(&[u8], FrameError)] = &[
        (
            b"SEND\na:1\nb:2\nc:3\n\n\0",
            FrameError::TooManyHeaders { limit: 2 },
        ),
        (
            b"SEND\nname:0123456789abc\n\n\0",
            FrameError::HeaderLineTooLong { limit: 16 },
        ),
        (
            b"SEND\nname:0123456789a\nname:0123456789a\n\n\0",
            FrameError::HeadTooLarge { limit: 36 },
        ),
        (
            b"SEND\n\n123456789\0",
            FrameError::BodyTooLarge { limit: 8 },
        ),
        (
            b"SEND\ncontent-length:9\n\n",
            FrameError::BodyTooLarge { limit: 8 },
        ),
    ];
    for (wire, error) in cases {
        for piece in [0, 1, 3] {
            assert_eq!(
                decode_pieces(wire, piece, limits).as_ref(),
                Err(error),
                "{:?} in pieces of {piece}",
                String::from_utf8_lossy(wire)
            );
        }
    }
    // At the limits exactly, all is well (a CR does not count against the line).
    let ok = b"SEND\r\nname:0123456789a\r\na:b\r\n\r\n12345678\0";
    assert_eq!(decode_pieces(ok, 1, limits).unwrap().len(), 1);
}

#[test]
fn memory_stays_bounded_against_endless_input() {
    let limits = Limits::default()
        .max_header_line_size(64)
        .max_head_size(256)
        .max_body_size(1024);
    let bound = 64 + 1 + 256 + 1024;
    // An endless header line, an endless head, an endless body, an endless command.
    let attacks: [(&[u8], &[u8]); 4] = [
        (b"SEND\nx:", b"a"),
        (b"SEND\n", b"a:b\n"),
        (b"SEND\n\n", b"a"),
        (b"", b"A"),
    ];
    for (prefix, repeat) in attacks {
        let mut decoder = Decoder::new(limits);
        let mut result = decoder.decode(prefix).map(|_| ());
        let mut fed = 0;
        while result.is_ok() && fed < 100_000 {
            result = decoder.decode(&repeat.repeat(100)).map(|d| {
                assert_eq!(d.status, Status::Partial);
            });
            fed += 100 * repeat.len();
            assert!(decoder.buffered() <= bound, "{}", decoder.buffered());
        }
        assert!(result.is_err(), "{prefix:?} must hit a limit");
        assert_eq!(decoder.buffered(), 0);
    }
}

#[test]
fn split_at_every_position_gives_the_same_frames() {
    let mut stream = Vec::new();
    for example in SPEC_EXAMPLES {
        stream.extend_from_slice(example);
        stream.extend_from_slice(b"\r\n");
    }
    stream.extend_from_slice(b"SEND\r\ndestination:/a\\cb\r\ncontent-length:3\r\n\r\n\0\0\0\0\n");
    let whole = decode(&stream).unwrap();
    assert_eq!(whole.len(), SPEC_EXAMPLES.len() * 2 + 2);
    for cut in 0..=stream.len() {
        let mut decoder = Decoder::new(Limits::default());
        let mut items = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            let mut pos = 0;
            loop {
                let d = decoder.decode(&part[pos..]).unwrap();
                pos += d.consumed;
                match d.status {
                    Status::Partial => break,
                    Status::Complete(i) => items.push(i),
                }
            }
        }
        assert_eq!(items, whole, "cut at {cut}");
    }
    for piece in 1..8 {
        assert_eq!(
            decode_pieces(&stream, piece, Limits::default()).unwrap(),
            whole
        );
    }
}

#[test]
fn encodes_into_bytes_mut() {
    let frame = Frame::new(Command::Receipt).with_header("receipt-id", "1");
    let mut out = BytesMut::new();
    frame.encode(&mut out).unwrap();
    assert_eq!(&out[..], b"RECEIPT\nreceipt-id:1\n\n\0");
    assert_eq!(frame.encoded_len(), out.len());
}
