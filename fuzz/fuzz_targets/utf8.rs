//! Differential: the incremental `Utf8Validator` vs `core::str::from_utf8`, fed in
//! fuzzer-chosen pieces. Input: `[n] [pattern] [text...]`.
//!
//! The validator must fail exactly at the piece holding the first invalid byte (never
//! earlier, never later), report an unfinished code point only at `finish`, and agree
//! with std on the whole.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfc6455::utf8::{self, Utf8Validator};
use rfc6455_fuzz::{Chunks, first_invalid_utf8_byte, is_utf8_prefix, split_pattern};

fuzz_target!(|input: &[u8]| {
    let (pattern, data) = split_pattern(input);
    let std_ok = core::str::from_utf8(data).is_ok();
    let first_invalid = first_invalid_utf8_byte(data);
    assert_eq!(utf8::validate(data).is_ok(), std_ok);
    assert_eq!(utf8::into_string(data.to_vec()).is_ok(), std_ok);

    let mut v = Utf8Validator::new();
    let mut fed = 0;
    for piece in Chunks::new(pattern, data) {
        let start = fed;
        fed += piece.len();
        match v.feed(piece) {
            Ok(()) => {
                // Everything so far is a valid prefix.
                assert!(
                    first_invalid.is_none_or(|i| i >= fed),
                    "missed invalid byte"
                );
                assert_eq!(v.is_complete(), core::str::from_utf8(&data[..fed]).is_ok());
            }
            Err(_) => {
                let i = first_invalid.expect("failed on valid UTF-8");
                assert!(
                    (start..fed).contains(&i),
                    "failed at piece {start}..{fed}, byte {i}"
                );
                assert!(!is_utf8_prefix(&data[..fed]));
                return;
            }
        }
    }
    assert!(first_invalid.is_none());
    assert_eq!(v.finish().is_ok(), std_ok);
    // finish resets.
    assert!(v.is_complete());
});
