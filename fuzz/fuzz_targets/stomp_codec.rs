//! The STOMP decoder on arbitrary bytes in arbitrary pieces.
//!
//! Layout: `[limits] [n] [pattern; n % 16] [data...]` — `limits` picks small or default
//! limits, the pattern cuts `data` into pieces (see `rfc6455_fuzz::Chunks`).
//!
//! Checks: never panics; memory held stays within the limits; the pieces give the same
//! frames and heart-beats as the whole input, and fail (or not) alike; every decoded frame
//! encodes to bytes that decode to the same frame.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfc6455_fuzz::{Chunks, split_pattern};
use rfc6455_stomp::{Decoder, FrameError, Item, Limits, Status};

/// Decodes `pieces` in order; the items, and the error that stopped decoding if any.
fn decode<'a>(
    limits: Limits,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> (Vec<Item>, Option<FrameError>) {
    let bound = limits.max_header_line_size + 1 + limits.max_head_size + limits.max_body_size;
    let mut decoder = Decoder::new(limits);
    let mut items = Vec::new();
    for piece in pieces {
        let mut pos = 0;
        loop {
            let d = match decoder.decode(&piece[pos..]) {
                Ok(d) => d,
                Err(e) => {
                    assert_eq!(decoder.buffered(), 0, "a failed decoder lets go");
                    assert_eq!(decoder.decode(b"\n"), Err(e.clone()), "and stays failed");
                    return (items, Some(e));
                }
            };
            assert!(
                decoder.buffered() <= bound,
                "{} > {bound}",
                decoder.buffered()
            );
            assert!(d.consumed <= piece.len() - pos);
            pos += d.consumed;
            match d.status {
                Status::Partial => {
                    assert_eq!(pos, piece.len(), "Partial consumes everything");
                    break;
                }
                Status::Complete(item) => items.push(item),
            }
        }
    }
    (items, None)
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let limits = if selector & 1 == 0 {
        Limits::default()
            .max_header_count(4)
            .max_header_line_size(24)
            .max_head_size(64)
            .max_body_size(32)
    } else {
        Limits::default()
    };
    let (pattern, data) = split_pattern(rest);
    let (items, error) = decode(limits, Chunks::new(pattern, data));
    let (whole, whole_error) = decode(limits, std::iter::once(data));
    assert_eq!(items, whole, "split invariance");
    assert_eq!(
        error.is_some(),
        whole_error.is_some(),
        "{error:?} vs {whole_error:?}"
    );

    for item in items {
        let Item::Frame(frame) = item else { continue };
        let mut wire = Vec::new();
        frame.encode(&mut wire).expect("a decoded frame encodes");
        assert_eq!(wire.len(), frame.encoded_len());
        let (again, e) = decode(Limits::default(), std::iter::once(&wire[..]));
        assert_eq!(e, None);
        assert_eq!(again, vec![Item::Frame(frame)]);
    }
});
