//! Incremental UTF-8 validation (RFC 6455 §8.1) that fails at the first invalid byte.
//!
//! "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream
//! is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_." A text message may be split anywhere — across frames and across reads —
//! so the validator carries up to three bytes of an unfinished code point between calls.
//!
//! Every function here is safe for any input: the only way to a `&str` is through the
//! validator (or a check this crate makes itself). In particular there is no public
//! "trust me, this block is ASCII" fast path, so this does not compile:
//!
//! ```compile_fail
//! // Once a public function that trusted its caller's closure (and returned Ok over
//! // invalid UTF-8). The fast path is crate-private now.
//! let text = rfc6455::utf8::transform_and_validate(&mut [b'a', 0xFF, 0xFE, b'z'], |_, _| true);
//! ```
//!
//! and invalid bytes are an error whatever path validates them:
//!
//! ```
//! assert!(rfc6455::utf8::validate(&[b'a', 0xFF, 0xFE, b'z']).is_err());
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use crate::mask::apply_mask_ascii;

/// Text was not valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl core::error::Error for Utf8Error {}

/// Validates UTF-8 fed in arbitrary pieces.
///
/// After each [`feed`](Utf8Validator::feed), everything fed so far is a valid UTF-8 prefix;
/// an error is reported as soon as the bytes seen cannot be the start of valid UTF-8 —
/// never later. [`finish`](Utf8Validator::finish) then checks that no code point was left
/// unfinished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    /// The unfinished code point's bytes seen so far.
    partial: [u8; 4],
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Utf8Validator {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Validates the next piece of the text.
    #[inline]
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Utf8Error> {
        if self.partial_len != 0 {
            let have = self.partial_len as usize;
            let need = sequence_len(self.partial[0]);
            let take = (need - have).min(bytes.len());
            self.partial[have..have + take].copy_from_slice(&bytes[..take]);
            let have = have + take;
            bytes = &bytes[take..];
            match core::str::from_utf8(&self.partial[..have]) {
                Ok(_) => self.partial_len = 0,
                // Still a valid prefix of a code point: wait for more.
                Err(e) if e.error_len().is_none() && have < need => {
                    self.partial_len = have as u8;
                    return Ok(());
                }
                Err(_) => return Err(Utf8Error),
            }
        }
        // A piece that ends inside a code point (common when text with non-ASCII is cut
        // into reads or blocks): the fast validator takes the piece up to that code point,
        // and the few bytes of its start wait for the next piece — if they can start one.
        let cut = incomplete_tail(bytes);
        if simdutf8::basic::from_utf8(&bytes[..cut]).is_ok() {
            let tail = &bytes[cut..];
            if tail.is_empty() {
                return Ok(());
            }
            return match core::str::from_utf8(tail) {
                Err(e) if e.valid_up_to() == 0 && e.error_len().is_none() => {
                    self.partial[..tail.len()].copy_from_slice(tail);
                    self.partial_len = tail.len() as u8;
                    Ok(())
                }
                _ => Err(Utf8Error),
            };
        }
        // Slow path, taken at most once per piece: is the error an incomplete code point at
        // the very end (fine, carried to the next piece) or an invalid byte (fail now)?
        match simdutf8::compat::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &bytes[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(Utf8Error),
        }
    }

    /// Checks that the text ended on a code point boundary, and resets for the next text.
    #[inline]
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let complete = self.partial_len == 0;
        *self = Utf8Validator::new();
        if complete { Ok(()) } else { Err(Utf8Error) }
    }

    /// Whether the text fed so far ends on a code point boundary.
    pub const fn is_complete(&self) -> bool {
        self.partial_len == 0
    }
}

/// Where the code point that `bytes` ends in the middle of starts: the lead byte within the
/// last three bytes whose sequence needs more bytes than follow it (`bytes.len()` when
/// there is none: the piece ends on a boundary, or is invalid, which validation reports).
#[inline]
fn incomplete_tail(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let b = bytes[len - back];
        if b & 0xC0 != 0x80 {
            // A lead byte (or ASCII): incomplete if its sequence runs past the end.
            return if sequence_len(b) > back {
                len - back
            } else {
                len
            };
        }
    }
    len
}

/// The length of the sequence a lead byte starts (1 for anything that cannot lead one, so
/// that validation reports it).
#[inline]
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// Validates a whole text at SIMD speed.
#[inline]
pub fn validate(bytes: &[u8]) -> Result<&str, Utf8Error> {
    // Short ASCII (chat lines, JSON keys, ids) is most text; a word-at-a-time check beats
    // the general validator's setup for it.
    if bytes.len() < 64 && bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8, and `is_ascii` just checked every byte.
        return Ok(unsafe { core::str::from_utf8_unchecked(bytes) });
    }
    simdutf8::basic::from_utf8(bytes).map_err(|_| Utf8Error)
}

/// The block size of [`unmask_and_validate`]: small enough to stay in the L1 cache
/// between unmasking and validation.
const BLOCK: usize = 16 * 1024;

/// Unmasks `bytes` (when `mask` is `Some((key, offset))`, as
/// [`apply_mask`](crate::mask::apply_mask) would) block by block, validating each block as
/// UTF-8 while it is still in cache, and returns the whole as a `&str`.
///
/// Crate-private on purpose: the fast path skips the validator for blocks that
/// [`apply_mask_ascii`] found to be all ASCII, and `from_utf8_unchecked` below relies on
/// that answer. Only this crate's own, tested masking code may give it; a caller-supplied
/// "this block is ASCII" would let safe code build a `&str` over invalid bytes.
pub(crate) fn unmask_and_validate(
    bytes: &mut [u8],
    mask: Option<([u8; 4], usize)>,
) -> Result<&str, Utf8Error> {
    let mut validator = Utf8Validator::new();
    unmask_and_feed(bytes, mask, &mut validator)?;
    validator.finish()?;
    // SAFETY: every block of `bytes` either went through the validator, in order, or was
    // found to be all ASCII by `apply_mask_ascii` (tested against `is_ascii` at every
    // position in mask.rs) while the validator stood on a code point boundary; `finish`
    // found no unfinished code point. So `bytes` is valid UTF-8 (as
    // `unmask_and_validate_agrees_with_std` checks against `core::str::from_utf8`), and
    // nothing changed it since.
    Ok(unsafe { core::str::from_utf8_unchecked(bytes) })
}

/// [`unmask_and_validate`] for a piece of a longer text: unmasks `bytes` block by block and
/// feeds each block to `validator` while it is still in cache.
pub(crate) fn unmask_and_feed(
    bytes: &mut [u8],
    mask: Option<([u8; 4], usize)>,
    validator: &mut Utf8Validator,
) -> Result<(), Utf8Error> {
    for (i, block) in bytes.chunks_mut(BLOCK).enumerate() {
        let ascii = match mask {
            Some((key, offset)) => apply_mask_ascii(block, key, offset + i * BLOCK),
            None => false,
        };
        // An all-ASCII block is valid UTF-8 on its own and ends on a code point boundary;
        // it only needs the validator when a code point from the block before is unfinished
        // (then it is invalid, and `feed` says so).
        if !(ascii && validator.is_complete()) {
            validator.feed(block)?;
        }
    }
    Ok(())
}

/// Turns bytes into a `String`, validating them at SIMD speed (std's `String::from_utf8`
/// validates again, several times slower).
pub fn into_string(bytes: Vec<u8>) -> Result<String, Vec<u8>> {
    if simdutf8::basic::from_utf8(&bytes).is_err() {
        return Err(bytes);
    }
    // SAFETY: `bytes` was validated as UTF-8 just above and has not been modified since.
    Ok(unsafe { String::from_utf8_unchecked(bytes) })
}

/// UTF-8 text in a [`Bytes`] buffer: what a text [`Message`](crate::Message) carries.
///
/// Like `Bytes`, it is cheap to clone and to slice, and a received text message is split
/// off the read buffer rather than copied. Every way to make one checks the bytes (or, for
/// received messages, relies on the connection having validated them), so it always holds
/// valid UTF-8 and derefs to `str`.
///
/// ```
/// use rfc6455::Utf8Bytes;
/// let text = Utf8Bytes::from_static("hello");
/// assert_eq!(text, "hello");
/// assert_eq!(text.len(), 5);
/// assert!(Utf8Bytes::try_from(bytes::Bytes::from_static(b"\xFF")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Text from a `'static` string, without copying.
    pub const fn from_static(text: &'static str) -> Utf8Bytes {
        Utf8Bytes(Bytes::from_static(text.as_bytes()))
    }

    /// Wraps bytes that are known to be valid UTF-8.
    ///
    /// # Safety
    ///
    /// `bytes` must be valid UTF-8. Within this crate: bytes that a
    /// [`Connection`](crate::Connection) delivered as (the chunks of) one text message,
    /// which it validated as they arrived.
    #[inline]
    pub(crate) unsafe fn from_bytes_unchecked(bytes: Bytes) -> Utf8Bytes {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor checks that the bytes are UTF-8 (`try_from`, `from` a
        // `str`/`String`) or requires it of its caller (`from_bytes_unchecked`), and `Bytes`
        // is immutable.
        unsafe { core::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying `Bytes`, without copying.
    #[inline]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl core::ops::Deref for Utf8Bytes {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl core::borrow::Borrow<str> for Utf8Bytes {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<String> for Utf8Bytes {
    /// Takes the string's buffer, without copying.
    fn from(text: String) -> Utf8Bytes {
        Utf8Bytes(Bytes::from(text.into_bytes()))
    }
}

impl From<&String> for Utf8Bytes {
    fn from(text: &String) -> Utf8Bytes {
        Utf8Bytes(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<&str> for Utf8Bytes {
    /// Copies the text (use [`Utf8Bytes::from_static`] for a `'static` one).
    fn from(text: &str) -> Utf8Bytes {
        Utf8Bytes(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<alloc::boxed::Box<str>> for Utf8Bytes {
    fn from(text: alloc::boxed::Box<str>) -> Utf8Bytes {
        Utf8Bytes::from(String::from(text))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = Utf8Error;

    /// Checks that the bytes are UTF-8 (at SIMD speed), without copying them.
    fn try_from(bytes: Bytes) -> Result<Utf8Bytes, Utf8Error> {
        validate(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }
}

impl TryFrom<Vec<u8>> for Utf8Bytes {
    type Error = Utf8Error;

    fn try_from(bytes: Vec<u8>) -> Result<Utf8Bytes, Utf8Error> {
        Utf8Bytes::try_from(Bytes::from(bytes))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Bytes {
        text.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Utf8Bytes> for str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Utf8Bytes> for &str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_split(bytes: &[u8], splits: &[usize]) -> Result<(), Utf8Error> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &s in splits {
            v.feed(&bytes[start..s])?;
            start = s;
        }
        v.feed(&bytes[start..])?;
        v.finish()
    }

    #[test]
    fn agrees_with_std_at_every_single_split() {
        let samples: &[&[u8]] = &[
            "κόσμε".as_bytes(),
            "a€b𝄞c".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
            b"\xf4\x90\x80\x80",
            b"\xf0\x9f\x98",
            b"\xc0\xaf",
            b"\xed\x9f\xbf\xee\x80\x80",
            b"\xef\xbf\xbf\xf4\x8f\xbf\xbf",
            b"ascii only",
            b"\xff",
            b"",
        ];
        for s in samples {
            let expected = core::str::from_utf8(s).is_ok();
            for a in 0..=s.len() {
                for b in a..=s.len() {
                    assert_eq!(
                        feed_split(s, &[a, b]).is_ok(),
                        expected,
                        "{s:02x?} at {a},{b}"
                    );
                }
            }
        }
    }

    #[test]
    fn fails_at_the_first_invalid_byte_not_at_the_end() {
        // U+10FFFF + 1 is invalid from its second byte on (RFC 3629): 0xF4 0x90.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"ok \xf4"), Ok(()));
        assert_eq!(v.feed(b"\x90"), Err(Utf8Error));
        // A surrogate half: 0xED 0xA0 is already invalid.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xed"), Ok(()));
        assert_eq!(v.feed(b"\xa0"), Err(Utf8Error));
    }

    #[test]
    fn unfinished_code_point_fails_only_at_finish() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xe2\x82"), Ok(()));
        assert!(!v.is_complete());
        assert_eq!(v.finish(), Err(Utf8Error));
        // finish resets the validator.
        assert!(v.is_complete());
        assert_eq!(v.feed(b"x"), Ok(()));
    }

    /// `text` masked with `key` from payload offset `offset`.
    fn masked(text: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
        let mut m = text.to_vec();
        crate::mask::apply_mask_reference(&mut m, key, offset);
        m
    }

    #[test]
    fn unmask_and_validate_agrees_with_std() {
        let key = [0x37, 0xFA, 0x21, 0x3D];
        let mut text = "κόσμε 𝄞 ".repeat(5000).into_bytes();
        text.extend_from_slice(b"\xf0\x9f");
        // Mostly ASCII with invalid bytes in the second block: the first block takes the
        // ASCII shortcut, the second must still fail.
        let mut ascii = alloc::vec![b'a'; 2 * BLOCK + 7];
        ascii[BLOCK + 3] = 0xFF;
        for sample in [&text[..], &ascii[..]] {
            for cut in [
                0,
                1,
                2,
                BLOCK - 1,
                BLOCK,
                BLOCK + 1,
                BLOCK + 4,
                sample.len() - 2,
                sample.len(),
            ] {
                let expected = core::str::from_utf8(&sample[..cut]).ok();
                for offset in 0..4 {
                    let mut piece = masked(&sample[..cut], key, offset);
                    let got = unmask_and_validate(&mut piece, Some((key, offset)));
                    assert_eq!(got.ok(), expected, "cut {cut} offset {offset}");
                }
                let mut plain = sample[..cut].to_vec();
                assert_eq!(
                    unmask_and_validate(&mut plain, None).ok(),
                    expected,
                    "cut {cut}"
                );
            }
        }
    }

    #[test]
    fn invalid_bytes_never_become_a_str() {
        // The case that once returned Ok through a public function: [a, FF, FE, z].
        let key = [1, 2, 3, 4];
        let mut bytes = masked(&[b'a', 0xFF, 0xFE, b'z'], key, 0);
        assert_eq!(
            unmask_and_validate(&mut bytes, Some((key, 0))),
            Err(Utf8Error)
        );
        // Long enough for the block-wise path, every byte invalid.
        let mut bytes = masked(&[0xFE; 3 * BLOCK], key, 2);
        assert_eq!(
            unmask_and_validate(&mut bytes, Some((key, 2))),
            Err(Utf8Error)
        );
    }

    #[test]
    fn an_ascii_block_after_an_unfinished_code_point_is_still_checked() {
        // Block 1 ends with the first byte of '€' (E2 82 AC); block 2 is all ASCII, so
        // the code point never finishes: invalid, even though block 2 alone is fine.
        let key = [9, 8, 7, 6];
        let mut text = alloc::vec![b'a'; BLOCK - 1];
        text.push(0xE2);
        text.extend(alloc::vec![b'b'; BLOCK]);
        let mut copy = masked(&text, key, 0);
        assert_eq!(
            unmask_and_validate(&mut copy, Some((key, 0))),
            Err(Utf8Error)
        );
        // With the code point finished at the start of block 2, it is valid.
        text[BLOCK] = 0x82;
        text[BLOCK + 1] = 0xAC;
        let mut copy = masked(&text, key, 0);
        assert!(unmask_and_validate(&mut copy, Some((key, 0))).is_ok());
        // And the piece-wise variant agrees, keeping the validator across calls.
        let mut v = Utf8Validator::new();
        let mut first = alloc::vec![b'a'; 10];
        first.push(0xF0);
        let mut first = masked(&first, key, 0);
        assert_eq!(unmask_and_feed(&mut first, Some((key, 0)), &mut v), Ok(()));
        let mut second = masked(b"plain ascii", key, 11);
        assert_eq!(
            unmask_and_feed(&mut second, Some((key, 11)), &mut v),
            Err(Utf8Error)
        );
    }

    #[test]
    fn short_ascii_fast_path() {
        assert_eq!(validate(b"hello"), Ok("hello"));
        assert_eq!(validate(b"h\xffllo"), Err(Utf8Error));
        assert_eq!(validate("héllo".as_bytes()), Ok("héllo"));
    }

    #[test]
    fn into_string_validates() {
        assert_eq!(into_string(b"abc".to_vec()).as_deref(), Ok("abc"));
        assert_eq!(into_string(b"a\xffc".to_vec()), Err(b"a\xffc".to_vec()));
    }

    #[test]
    fn utf8_bytes_checks_what_it_is_given() {
        assert_eq!(
            Utf8Bytes::try_from(Bytes::from_static("κόσμε".as_bytes())).unwrap(),
            "κόσμε"
        );
        assert_eq!(Utf8Bytes::try_from(alloc::vec![b'a', 0xFF]), Err(Utf8Error));
        assert_eq!(
            Utf8Bytes::try_from(Bytes::from_static(b"\xe2\x82")),
            Err(Utf8Error)
        );
        let owned = String::from("abc");
        let ptr = owned.as_ptr();
        let text = Utf8Bytes::from(owned);
        assert_eq!(text.as_ptr(), ptr, "a String's buffer is taken, not copied");
        assert_eq!(Bytes::from(text.clone()), Bytes::from_static(b"abc"));
        assert_eq!(alloc::format!("{text} {text:?}"), "abc \"abc\"");
    }
}
