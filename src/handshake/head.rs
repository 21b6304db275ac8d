//! Collecting an HTTP/1.x head from pieces, within limits, and remembering where its parts
//! are so that borrowed views can be handed out later.

use alloc::vec::Vec;
use core::mem::MaybeUninit;
use core::ops::Range;

use super::HandshakeError;
use crate::error::UsageError;
use crate::frame::Status;

/// The most header fields any configuration may allow: the parser's header array lives on
/// the stack (uninitialised, so its size costs nothing until used).
pub(crate) const MAX_HEADERS_CAP: usize = 256;

/// Byte ranges of one header field inside the head buffer.
#[derive(Clone, Debug)]
pub(crate) struct HeaderSpan {
    pub(crate) name: Range<u32>,
    pub(crate) value: Range<u32>,
}

/// Accumulates bytes until the blank line that ends an HTTP head.
#[derive(Debug)]
pub(crate) struct HeadBuffer {
    pub(crate) buf: Vec<u8>,
    /// Length of the head (through the blank line) once it is complete.
    pub(crate) head_len: Option<usize>,
    /// Bytes already searched for the end of the head.
    scanned: usize,
    max_head_size: usize,
    /// The head was rejected; every later push fails the same way, buffering nothing.
    failed: Option<HandshakeError>,
}

impl HeadBuffer {
    pub(crate) fn new(max_head_size: usize) -> HeadBuffer {
        HeadBuffer {
            buf: Vec::new(),
            head_len: None,
            scanned: 0,
            max_head_size,
            failed: None,
        }
    }

    /// Appends `bytes`; `Complete` once the head has ended. Each byte is searched once, so
    /// feeding a head one byte at a time costs linear time.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Status<()>, HandshakeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.head_len.is_some() {
            // The head is complete: bytes after it belong to the WebSocket connection and
            // are the caller's to keep. Buffering them here would grow without bound.
            return Err(HandshakeError::Usage(UsageError::HandshakeComplete));
        }
        let window_start = self.scanned.saturating_sub(2);
        // Search at most max_head_size bytes (plus the terminator) before copying anything,
        // so that a huge piece without a blank line never grows the buffer past the limit.
        let total = self.buf.len() + bytes.len();
        let end = find_head_end(&self.buf, bytes, window_start);
        match end {
            Some(head_len) if head_len <= self.max_head_size => {
                self.buf.extend_from_slice(bytes);
                self.head_len = Some(head_len);
                Ok(Status::Complete(()))
            }
            Some(_) => Err(self.too_large()),
            None if total > self.max_head_size => Err(self.too_large()),
            None => {
                self.buf.extend_from_slice(bytes);
                self.scanned = self.buf.len();
                Ok(Status::Partial)
            }
        }
    }

    fn too_large(&mut self) -> HandshakeError {
        self.fail(HandshakeError::HeadTooLarge {
            limit: self.max_head_size,
        })
    }

    /// Gives up on the head: frees the buffer, and any later push fails with `error`.
    pub(crate) fn fail(&mut self, error: HandshakeError) -> HandshakeError {
        self.buf = Vec::new();
        self.scanned = 0;
        self.head_len = None;
        self.failed = Some(error.clone());
        error
    }

    /// The bytes after the head.
    pub(crate) fn leftover(&self) -> &[u8] {
        match self.head_len {
            Some(n) => &self.buf[n..],
            None => &[],
        }
    }

    pub(crate) fn into_leftover(mut self) -> Vec<u8> {
        match self.head_len {
            Some(n) => {
                self.buf.drain(..n);
                self.buf
            }
            None => Vec::new(),
        }
    }
}

/// The length of the head ending in `old ++ new`, searching from `from`: the position after
/// the first empty line (`\n\n` or `\n\r\n`; httparse accepts bare LF line endings too).
fn find_head_end(old: &[u8], new: &[u8], from: usize) -> Option<usize> {
    // The few bytes that straddle `old` and `new`, one at a time.
    let at = |i: usize| -> Option<u8> {
        match i.checked_sub(old.len()) {
            None => Some(old[i]),
            Some(j) => new.get(j).copied(),
        }
    };
    let blank_after = |i: usize| match at(i + 1) {
        Some(b'\n') => Some(i + 2),
        Some(b'\r') if at(i + 2) == Some(b'\n') => Some(i + 3),
        _ => None,
    };
    for (i, &b) in old.iter().enumerate().skip(from) {
        if b == b'\n' {
            if let Some(end) = blank_after(i) {
                return Some(end);
            }
        }
    }
    // Then `new`, jumping from line feed to line feed.
    let mut j = from.saturating_sub(old.len()).min(new.len());
    while let Some(k) = find_lf(&new[j..]) {
        let i = old.len() + j + k;
        if let Some(end) = blank_after(i) {
            return Some(end);
        }
        j += k + 1;
    }
    None
}

/// The position of the first `\n`, eight bytes at a time (a request head has one every 30
/// bytes or so; a byte loop would spend most of the handshake here).
fn find_lf(haystack: &[u8]) -> Option<usize> {
    const LF: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut chunks = haystack.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]) ^ LF;
        // Some byte of `word` is zero (was a line feed): the classic SWAR test, exact for
        // "is there any", so the byte loop below only runs on a hit.
        if word.wrapping_sub(ONES) & !word & HIGHS != 0 {
            return chunk.iter().position(|&b| b == b'\n').map(|k| base + k);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|k| base + k)
}

/// Maps an httparse error to ours.
pub(crate) fn parse_error(e: httparse::Error, max_headers: usize) -> HandshakeError {
    match e {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders { limit: max_headers },
        httparse::Error::Version => HandshakeError::Malformed("invalid HTTP version"),
        httparse::Error::Status => HandshakeError::Malformed("invalid response status"),
        httparse::Error::Token => HandshakeError::Malformed("invalid token in request line"),
        httparse::Error::HeaderName => HandshakeError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => HandshakeError::Malformed("invalid header value"),
        httparse::Error::NewLine => HandshakeError::Malformed("invalid line ending"),
    }
}

/// An uninitialised header array for httparse.
pub(crate) fn header_storage<'b>() -> [MaybeUninit<httparse::Header<'b>>; MAX_HEADERS_CAP] {
    [const { MaybeUninit::uninit() }; MAX_HEADERS_CAP]
}

/// The range of `part` (a sub-slice of `buf`) within `buf`. `buf` is a head of at most
/// [`MAX_HEAD_SIZE_CAP`](super::MAX_HEAD_SIZE_CAP) bytes, so the offsets fit in 32 bits.
pub(crate) fn span_of(buf: &[u8], part: &[u8]) -> Range<u32> {
    const _: () = assert!(super::MAX_HEAD_SIZE_CAP < u32::MAX as usize);
    let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    debug_assert!(start + part.len() <= buf.len() && buf.len() <= super::MAX_HEAD_SIZE_CAP);
    start as u32..(start + part.len()) as u32
}

/// The header fields the handshakes look up, by slot: found in one pass at parse time so
/// that each lookup reads one field rather than comparing every name.
const KNOWN: [&str; 9] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "origin",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "sec-websocket-accept",
];

/// The slot in [`KNOWN`] of a name of `len` bytes: the known names all differ in length,
/// so one comparison then tells whether a name is the known one.
#[inline]
fn slot_of_len(len: usize) -> Option<usize> {
    Some(match len {
        4 => 0,
        7 => 1,
        10 => 2,
        17 => 3,
        21 => 4,
        6 => 5,
        22 => 6,
        24 => 7,
        20 => 8,
        _ => return None,
    })
}

/// The slot of a lower-case header name in [`KNOWN`].
#[inline]
fn known_slot(name: &str) -> Option<usize> {
    slot_of_len(name.len()).filter(|&k| KNOWN[k] == name)
}

/// Where the known header fields are: the index of the first occurrence of each (or
/// `u8::MAX`), and which occur more than once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Known {
    first: [u8; KNOWN.len()],
    repeated: u16,
    /// A known field sits past index 254: every lookup scans.
    scan: bool,
}

impl Known {
    /// The indexes of the spans to look at for `name`: one, none, or (for a repeated
    /// field, or a name not indexed) every span from the first.
    #[inline]
    fn range(&self, name: &str, len: usize) -> core::ops::Range<usize> {
        if self.scan {
            return 0..len;
        }
        match known_slot(name) {
            Some(k) => match self.first[k] {
                u8::MAX => 0..0,
                i if self.repeated & (1 << k) == 0 => usize::from(i)..usize::from(i) + 1,
                i => usize::from(i)..len,
            },
            None => 0..len,
        }
    }
}

/// The spans of parsed headers, and where the known ones are.
pub(crate) fn header_spans(
    buf: &[u8],
    headers: &[httparse::Header<'_>],
) -> (Vec<HeaderSpan>, Known) {
    let mut known = Known {
        first: [u8::MAX; KNOWN.len()],
        repeated: 0,
        scan: false,
    };
    let spans = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let slot = slot_of_len(h.name.len()).filter(|&k| KNOWN[k].eq_ignore_ascii_case(h.name));
            if let Some(k) = slot {
                match u8::try_from(i) {
                    // At most MAX_HEADERS_CAP (256) fields; an index that does not fit
                    // below the "absent" marker turns the index off.
                    Ok(i) if i != u8::MAX => {
                        if known.first[k] == u8::MAX {
                            known.first[k] = i;
                        } else {
                            known.repeated |= 1 << k;
                        }
                    }
                    _ => known.scan = true,
                }
            }
            HeaderSpan {
                name: span_of(buf, h.name.as_bytes()),
                value: span_of(buf, h.value),
            }
        })
        .collect();
    (spans, known)
}

/// Header fields from any source — a parsed HTTP/1 head ([`Fields`]) or an
/// `http::HeaderMap` — as the handshake checks read them.
pub(crate) trait HeaderFields<'a>: Copy {
    /// Every value of header `name` (lowercase), in order.
    fn all(self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a;

    /// The first value of header `name`.
    fn get(self, name: &'a str) -> Option<&'a [u8]> {
        self.all(name).next()
    }

    /// Whether any value of header `name` contains `token` in its comma-separated list.
    fn has_token(self, name: &'a str, token: &str) -> bool {
        self.all(name).any(|v| super::has_token(v, token))
    }

    /// The comma-separated elements of every value of `name`, trimmed, empty ones skipped.
    fn list(self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.all(name).flat_map(|v| {
            v.split(|&b| b == b',')
                .map(super::trim)
                .filter(|t| !t.is_empty())
                .filter_map(|t| core::str::from_utf8(t).ok())
        })
    }
}

impl<'a> HeaderFields<'a> for Fields<'a> {
    fn all(self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        Fields::all(self, name)
    }

    fn get(self, name: &'a str) -> Option<&'a [u8]> {
        Fields::get(self, name)
    }
}

/// A borrowed view of header fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) spans: &'a [HeaderSpan],
    pub(crate) known: Known,
}

impl<'a> Fields<'a> {
    pub(crate) fn iter(self) -> impl Iterator<Item = (&'a str, &'a [u8])> {
        self.spans.iter().map(move |s| {
            let name = &self.buf[s.name.start as usize..s.name.end as usize];
            // httparse only accepts token characters (ASCII) in names.
            let name = core::str::from_utf8(name).unwrap_or("");
            (
                name,
                &self.buf[s.value.start as usize..s.value.end as usize],
            )
        })
    }

    /// Every value of header `name`, in order. Names are compared as bytes (they are
    /// ASCII tokens), without building `&str`s.
    pub(crate) fn all(self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        let buf = self.buf;
        self.spans[self.known.range(name, self.spans.len())]
            .iter()
            .filter(move |s| {
                s.name.len() == name.len()
                    && buf[s.name.start as usize..s.name.end as usize]
                        .eq_ignore_ascii_case(name.as_bytes())
            })
            .map(move |s| &buf[s.value.start as usize..s.value.end as usize])
    }

    pub(crate) fn get(self, name: &str) -> Option<&'a [u8]> {
        let buf = self.buf;
        self.spans[self.known.range(name, self.spans.len())]
            .iter()
            .find(|s| {
                s.name.len() == name.len()
                    && buf[s.name.start as usize..s.name.end as usize]
                        .eq_ignore_ascii_case(name.as_bytes())
            })
            .map(|s| &buf[s.value.start as usize..s.value.end as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_found_by_their_length() {
        for (k, name) in KNOWN.iter().enumerate() {
            assert_eq!(slot_of_len(name.len()), Some(k), "{name}");
            assert_eq!(known_slot(name), Some(k));
        }
        assert_eq!(known_slot("x-foo"), None);
        assert_eq!(known_slot("Host"), None, "lookups are by lower-case name");
    }

    /// The index of known fields finds what a scan finds: first, repeated, absent, past
    /// index 254, and names of other case.
    #[test]
    fn known_field_index_agrees_with_a_scan() {
        for count in [5, 8, 10, 255, 256, 261, 300] {
            let mut text = alloc::string::String::new();
            for i in 0..count {
                let name = match i {
                    3 => "Sec-WebSocket-Key",
                    7 | 9 => "connection",
                    254 | 255 => "upgrade",
                    260 => "ORIGIN",
                    _ => "x-filler",
                };
                text.push_str(&alloc::format!("{name}: v{i}\r\n"));
            }
            text.push_str("\r\n");
            let head = text.into_bytes();
            let mut headers = alloc::vec![httparse::EMPTY_HEADER; count];
            let Ok(httparse::Status::Complete((_, parsed))) =
                httparse::parse_headers(&head, &mut headers)
            else {
                panic!("{count} fields parse");
            };
            let (spans, known) = header_spans(&head, parsed);
            let indexed = Fields {
                buf: &head,
                spans: &spans,
                known,
            };
            let scanned = Fields {
                known: Known {
                    scan: true,
                    ..known
                },
                ..indexed
            };
            for name in KNOWN {
                let a: Vec<&[u8]> = indexed.all(name).collect();
                let b: Vec<&[u8]> = scanned.all(name).collect();
                assert_eq!(a, b, "{name} with {count} fields");
                assert_eq!(indexed.get(name), scanned.get(name));
            }
        }
    }

    #[test]
    fn end_found_across_pieces() {
        let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nXYZ";
        let head_len = request.len() - 3;
        for split in 0..request.len() {
            let mut h = HeadBuffer::new(1024);
            let first = h.push(&request[..split]).unwrap();
            let second = h.push(&request[split..]);
            if split < head_len {
                assert_eq!(first, Status::Partial, "split {split}");
                assert_eq!(second, Ok(Status::Complete(())), "split {split}");
                assert_eq!(h.leftover(), b"XYZ");
            } else {
                // Complete with the first piece; the rest is refused, not buffered.
                assert_eq!(first, Status::Complete(()), "split {split}");
                assert_eq!(
                    second,
                    Err(HandshakeError::Usage(UsageError::HandshakeComplete))
                );
                assert_eq!(h.leftover(), &request[head_len..split]);
            }
            assert_eq!(h.head_len, Some(head_len), "split {split}");
        }
    }

    #[test]
    fn bytes_after_a_complete_head_are_refused_and_never_buffered() {
        let mut h = HeadBuffer::new(1024);
        assert_eq!(
            h.push(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nAB"),
            Ok(Status::Complete(()))
        );
        let capacity = h.buf.capacity();
        for _ in 0..1000 {
            assert_eq!(
                h.push(&[0u8; 4096]),
                Err(HandshakeError::Usage(UsageError::HandshakeComplete))
            );
        }
        assert_eq!(h.buf.capacity(), capacity);
        assert_eq!(h.leftover(), b"AB");
    }

    #[test]
    fn byte_by_byte_forever_stops_at_the_limit() {
        let mut h = HeadBuffer::new(100);
        let mut fed = 0;
        let err = loop {
            match h.push(b"a") {
                Ok(Status::Partial) => fed += 1,
                Ok(Status::Complete(())) => panic!("no blank line was sent"),
                Err(e) => break e,
            }
        };
        assert_eq!(fed, 100);
        assert_eq!(err, HandshakeError::HeadTooLarge { limit: 100 });
        assert!(h.buf.capacity() == 0);
        // Feeding more after the failure keeps failing, without buffering.
        assert_eq!(h.push(b"\r\n\r\n"), Err(err));
        assert!(h.buf.capacity() == 0);
    }

    #[test]
    fn find_lf_matches_a_byte_loop() {
        let text: alloc::vec::Vec<u8> = (0..200u8)
            .map(|i| if i % 37 == 5 { b'\n' } else { i })
            .collect();
        for start in 0..text.len() {
            for end in start..text.len().min(start + 40) {
                let hay = &text[start..end];
                assert_eq!(
                    find_lf(hay),
                    hay.iter().position(|&b| b == b'\n'),
                    "{start}..{end}"
                );
            }
        }
    }

    #[test]
    fn bare_lf_heads_end_too() {
        let mut h = HeadBuffer::new(100);
        assert_eq!(
            h.push(b"GET / HTTP/1.1\nHost: a\n\nrest"),
            Ok(Status::Complete(()))
        );
        assert_eq!(h.leftover(), b"rest");
    }
}
