//! SockJS frames: what a server sends inside every transport.
//!
//! sockjs-protocol, "Framing accepted by the client":
//!
//! > * `o` - Open frame. Every time a new session is established, the server must
//! >   immediately send the open frame.
//! > * `h` - Heartbeat frame. [...] the server must send a heartbeat frame every now and then.
//! > * `a` - Array of json-encoded messages. For example: `a["message"]`.
//! > * `c` - Close frame. [...] Close frame contains a code and a string explaining a reason
//! >   of closure, like: `c[3000,"Go away!"]`.
//!
//! [`Frame::encode`] writes these bytes (strings escaped by [`quote`](crate::json::quote));
//! [`Frame::decode`] reads them back, borrowing message text from the input where no escape
//! had to be undone. The transports wrap frames further: see [`Framing`](crate::Framing).

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;

use crate::json::{self, Value};

/// A close frame's status: a code and a reason, as in `c[3000,"Go away!"]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Close<'a> {
    /// The code. sockjs-client hands it to the application's `onclose` as `event.code`.
    pub code: u16,
    /// The reason, `event.reason` on the client.
    pub reason: Cow<'a, str>,
}

impl Close<'static> {
    /// `c[3000,"Go away!"]`, the protocol's example of a server closing a session.
    pub const GO_AWAY: Close<'static> = Close::new_static(3000, "Go away!");

    /// `c[2010,"Another connection still open"]`: the answer to a receiving request while
    /// another one is attached to the session.
    ///
    /// sockjs-protocol: "The server must not allow two receiving connections to wait on a
    /// single session. In such case the server must send a close frame to the new
    /// connection."
    pub const ANOTHER_CONNECTION_STILL_OPEN: Close<'static> =
        Close::new_static(2010, "Another connection still open");

    /// `c[1002,"Connection interrupted"]`: what a session whose receiving connection went
    /// away answers until it expires (sockjs-protocol, `test_abort_xhr_streaming`).
    pub const INTERRUPTED: Close<'static> = Close::new_static(1002, "Connection interrupted");

    /// `c[1000,"Normal closure"]`, sockjs-node's default for `close()` without arguments.
    pub const NORMAL: Close<'static> = Close::new_static(1000, "Normal closure");

    /// A close status with a `'static` reason, usable in constants.
    pub const fn new_static(code: u16, reason: &'static str) -> Close<'static> {
        Close {
            code,
            reason: Cow::Borrowed(reason),
        }
    }
}

impl<'a> Close<'a> {
    /// A close status.
    pub fn new(code: u16, reason: impl Into<Cow<'a, str>>) -> Close<'a> {
        Close {
            code,
            reason: reason.into(),
        }
    }

    /// The same status, owning its reason.
    pub fn into_owned(self) -> Close<'static> {
        Close {
            code: self.code,
            reason: Cow::Owned(self.reason.into_owned()),
        }
    }

    /// Appends the close frame, `c[code,"reason"]`.
    ///
    /// sockjs-node writes `'c' + JSON.stringify([status, reason])`; the reason is escaped
    /// here like every other string (with sockjs-node's extra escapes, which `JSON.parse`
    /// undoes the same way), so that no transport ever carries a raw U+2028 or surrogate.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"c[");
        push_u16(self.code, out);
        out.push(b',');
        json::quote(&self.reason, out);
        out.push(b']');
    }
}

fn push_u16(n: u16, out: &mut Vec<u8>) {
    let mut digits = [0u8; 5];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// One SockJS frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `o`: the session is open.
    Open,
    /// `h`: nothing to say, the session is alive.
    Heartbeat,
    /// `a[...]`: messages, in order.
    Messages(Vec<Cow<'a, str>>),
    /// `c[code,"reason"]`: the session is closed.
    Close(Close<'a>),
}

impl<'a> Frame<'a> {
    /// Appends the frame's bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Open => out.push(b'o'),
            Frame::Heartbeat => out.push(b'h'),
            Frame::Messages(messages) => encode_messages(messages, out),
            Frame::Close(close) => close.encode(out),
        }
    }

    /// Reads one frame: the whole of `text` (as one WebSocket message carries it, or a line
    /// of an xhr response without its `\n`).
    pub fn decode(text: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        let (&kind, rest) = text.split_first().ok_or(FrameError::Empty)?;
        match kind {
            b'o' | b'h' if !rest.is_empty() => Err(FrameError::TrailingData),
            b'o' => Ok(Frame::Open),
            b'h' => Ok(Frame::Heartbeat),
            b'a' => match json::parse(rest).map_err(|_| FrameError::BrokenJson)? {
                Value::Array {
                    strings,
                    all_strings: true,
                } => Ok(Frame::Messages(strings)),
                _ => Err(FrameError::NotMessages),
            },
            b'c' => decode_close(rest).map(Frame::Close),
            other => Err(FrameError::UnknownType(other)),
        }
    }

    /// The same frame, owning its text.
    pub fn into_owned(self) -> Frame<'static> {
        match self {
            Frame::Open => Frame::Open,
            Frame::Heartbeat => Frame::Heartbeat,
            Frame::Messages(messages) => Frame::Messages(
                messages
                    .into_iter()
                    .map(|m| Cow::Owned(m.into_owned()))
                    .collect(),
            ),
            Frame::Close(close) => Frame::Close(close.into_owned()),
        }
    }
}

/// Appends `a[...]` with the given messages, each escaped by [`quote`](crate::json::quote).
pub fn encode_messages<I>(messages: I, out: &mut Vec<u8>)
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    out.extend_from_slice(b"a[");
    for (i, message) in messages.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::quote(message.as_ref(), out);
    }
    out.push(b']');
}

/// `[code,"reason"]` after the `c`: exactly a JSON array of an integer code that fits in
/// 16 bits and a string.
fn decode_close(rest: &[u8]) -> Result<Close<'_>, FrameError> {
    let inner = trim_json_ws(rest)
        .strip_prefix(b"[")
        .and_then(|s| s.strip_suffix(b"]"))
        .ok_or(FrameError::NotClose)?;
    let comma = inner
        .iter()
        .position(|&b| b == b',')
        .ok_or(FrameError::NotClose)?;
    let code = trim_json_ws(&inner[..comma]);
    // A JSON integer in 0..=65535 without sign, fraction, exponent or leading zeros.
    if code.is_empty()
        || code.len() > 5
        || !code.iter().all(u8::is_ascii_digit)
        || (code.len() > 1 && code[0] == b'0')
    {
        return Err(FrameError::NotClose);
    }
    let code = code.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let code = u16::try_from(code).map_err(|_| FrameError::NotClose)?;
    let reason = json::parse_string(&inner[comma + 1..]).map_err(|_| FrameError::NotClose)?;
    Ok(Close { code, reason })
}

/// JSON's insignificant whitespace (RFC 8259 §2: space, tab, LF, CR) trimmed off both ends.
fn trim_json_ws(s: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = s.iter().position(|b| !is_ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ws(b)).map_or(start, |e| e + 1);
    &s[start..end]
}

/// A frame that could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// No bytes at all.
    Empty,
    /// The first byte is not `o`, `h`, `a` or `c`.
    UnknownType(u8),
    /// Bytes after `o` or `h`.
    TrailingData,
    /// `a` followed by something that is not JSON.
    BrokenJson,
    /// `a` followed by JSON that is not an array of strings.
    NotMessages,
    /// `c` not followed by `[code,"reason"]` with a code in 0..=65535.
    NotClose,
    /// A transport's wrapping around the frame was not as [`Framing`](crate::Framing)
    /// writes it.
    BadWrapping,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Empty => f.write_str("empty SockJS frame"),
            FrameError::UnknownType(b) => write!(f, "unknown SockJS frame type {b:#04x}"),
            FrameError::TrailingData => f.write_str("bytes after an `o` or `h` frame"),
            FrameError::BrokenJson => f.write_str("broken JSON in an `a` frame"),
            FrameError::NotMessages => f.write_str("an `a` frame that is not an array of strings"),
            FrameError::NotClose => f.write_str("a `c` frame that is not [code,\"reason\"]"),
            FrameError::BadWrapping => f.write_str("a frame's transport wrapping is malformed"),
        }
    }
}

impl core::error::Error for FrameError {}

/// A message list borrowing `list` (for tests).
#[cfg(test)]
pub(crate) fn messages<'a>(list: &[&'a str]) -> Vec<Cow<'a, str>> {
    list.iter().map(|&m| Cow::Borrowed(m)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn bytes(frame: &Frame<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        frame.encode(&mut out);
        out
    }

    #[test]
    fn exact_bytes_of_every_kind() {
        assert_eq!(bytes(&Frame::Open), b"o");
        assert_eq!(bytes(&Frame::Heartbeat), b"h");
        assert_eq!(bytes(&Frame::Messages(Vec::new())), b"a[]");
        assert_eq!(
            bytes(&Frame::Messages(messages(&["a", "b\"c"]))),
            br#"a["a","b\"c"]"#
        );
        assert_eq!(
            bytes(&Frame::Close(Close::GO_AWAY)),
            br#"c[3000,"Go away!"]"#
        );
        assert_eq!(
            bytes(&Frame::Close(Close::ANOTHER_CONNECTION_STILL_OPEN)),
            br#"c[2010,"Another connection still open"]"#
        );
        assert_eq!(
            bytes(&Frame::Close(Close::INTERRUPTED)),
            br#"c[1002,"Connection interrupted"]"#
        );
        assert_eq!(bytes(&Frame::Close(Close::new(0, ""))), br#"c[0,""]"#);
        assert_eq!(
            bytes(&Frame::Close(Close::new(65535, "\u{2028}"))),
            br#"c[65535,"\u2028"]"#
        );
    }

    #[test]
    fn decode_reads_what_encode_writes() {
        for frame in [
            Frame::Open,
            Frame::Heartbeat,
            Frame::Messages(Vec::new()),
            Frame::Messages(messages(&["", "x", "\u{2028}😀\0\"\\"])),
            Frame::Close(Close::GO_AWAY),
            Frame::Close(Close::new(4999, String::from("é\n"))),
        ] {
            let encoded = bytes(&frame);
            assert_eq!(Frame::decode(&encoded), Ok(frame.clone()));
        }
    }

    #[test]
    fn decode_errors() {
        assert_eq!(Frame::decode(b""), Err(FrameError::Empty));
        assert_eq!(Frame::decode(b"x"), Err(FrameError::UnknownType(b'x')));
        assert_eq!(Frame::decode(b"oo"), Err(FrameError::TrailingData));
        assert_eq!(Frame::decode(b"h\n"), Err(FrameError::TrailingData));
        assert_eq!(Frame::decode(b"a"), Err(FrameError::BrokenJson));
        assert_eq!(Frame::decode(br#"a["x"#), Err(FrameError::BrokenJson));
        assert_eq!(Frame::decode(br#"a"x""#), Err(FrameError::NotMessages));
        assert_eq!(Frame::decode(b"a[1]"), Err(FrameError::NotMessages));
        assert_eq!(Frame::decode(b"c"), Err(FrameError::NotClose));
        assert_eq!(Frame::decode(br#"c[65536,"x"]"#), Err(FrameError::NotClose));
        assert_eq!(Frame::decode(br#"c[-1,"x"]"#), Err(FrameError::NotClose));
        assert_eq!(Frame::decode(br#"c[01,"x"]"#), Err(FrameError::NotClose));
        assert_eq!(Frame::decode(br#"c[1,2]"#), Err(FrameError::NotClose));
        assert_eq!(Frame::decode(br#"c[1,"x",3]"#), Err(FrameError::NotClose));
        assert_eq!(
            Frame::decode(br#"c[ 3000 , "a,b" ]"#),
            Ok(Frame::Close(Close::new(3000, "a,b")))
        );
    }

    #[test]
    fn decoded_messages_borrow_when_unescaped() {
        let Ok(Frame::Messages(m)) = Frame::decode(br#"a["plain","esc\u2028"]"#) else {
            panic!()
        };
        assert!(matches!(m[0], Cow::Borrowed("plain")));
        assert!(matches!(&m[1], Cow::Owned(s) if s == "esc\u{2028}"));
    }
}
