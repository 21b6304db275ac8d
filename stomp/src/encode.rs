//! Writing frames: the inverse of the [`Decoder`](crate::Decoder).

use bytes::BufMut;

use crate::error::EncodeError;
use crate::frame::{Frame, parse_content_length};

impl Frame {
    /// Appends the frame to `out` (a `Vec<u8>`, a `BytesMut`, ...): the command, the
    /// headers in order (escaped unless the frame is CONNECT or CONNECTED), a blank line,
    /// the body and the NULL octet. No EOL follows the NULL.
    ///
    /// ```
    /// use rfc6455_stomp::{Command, Frame};
    ///
    /// let frame = Frame::new(Command::Send)
    ///     .with_header("destination", "/queue/a")
    ///     .with_header("note", "a:b")
    ///     .with_body("hi");
    /// let mut out = Vec::new();
    /// frame.encode(&mut out)?;
    /// assert_eq!(out, b"SEND\ndestination:/queue/a\nnote:a\\cb\ncontent-length:2\n\nhi\0");
    /// # Ok::<(), rfc6455_stomp::EncodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// An [`EncodeError`] if the frame cannot be written as STOMP 1.2; nothing is written
    /// then.
    pub fn encode<B: BufMut>(&self, out: &mut B) -> Result<(), EncodeError> {
        self.check()?;
        let escaped = self.command().escapes_headers();
        out.put_slice(self.command().as_str().as_bytes());
        out.put_u8(b'\n');
        for (name, value) in self.headers() {
            put_text(out, name, escaped);
            out.put_u8(b':');
            put_text(out, value, escaped);
            out.put_u8(b'\n');
        }
        out.put_u8(b'\n');
        out.put_slice(self.body());
        out.put_u8(0);
        Ok(())
    }

    /// The number of bytes [`Frame::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let escaped = self.command().escapes_headers();
        let head: usize = self
            .headers()
            .map(|(n, v)| text_len(n, escaped) + text_len(v, escaped) + 2)
            .sum();
        self.command().as_str().len() + 1 + head + 1 + self.body().len() + 1
    }

    fn check(&self) -> Result<(), EncodeError> {
        let command = self.command();
        for (name, value) in self.headers() {
            if name.is_empty() {
                return Err(EncodeError::EmptyHeaderName);
            }
            // "The CONNECT and CONNECTED frames do not escape the carriage return, line
            // feed or colon octets in order to remain backward compatible with STOMP 1.0."
            // What needs escaping cannot be written in them. (A colon in a value is read
            // back as part of the value: the name ends at the first colon.)
            if !command.escapes_headers()
                && (name.contains([':', '\r', '\n']) || value.contains(['\r', '\n']))
            {
                return Err(EncodeError::Unescapable);
            }
        }
        let body = self.body();
        if !body.is_empty() && !command.may_have_body() {
            return Err(EncodeError::UnexpectedBody(command));
        }
        match self.header("content-length") {
            Some(v) if parse_content_length(v.as_bytes()) != Some(body.len() as u64) => {
                Err(EncodeError::ContentLengthMismatch)
            }
            // "If the frame body contains NULL octets, the frame MUST include a
            // content-length header."
            None if body.contains(&0) => Err(EncodeError::MissingContentLength),
            _ => Ok(()),
        }
    }
}

/// Appends a header name or value, escaped when `escaped`: "when encoding frame headers,
/// the reverse transformation MUST be applied" (STOMP 1.2, Value Encoding).
fn put_text<B: BufMut>(out: &mut B, s: &str, escaped: bool) {
    if !escaped {
        out.put_slice(s.as_bytes());
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &[u8] = match b {
            b'\r' => b"\\r",
            b'\n' => b"\\n",
            b':' => b"\\c",
            b'\\' => b"\\\\",
            _ => continue,
        };
        out.put_slice(&s.as_bytes()[start..i]);
        out.put_slice(escape);
        start = i + 1;
    }
    out.put_slice(&s.as_bytes()[start..]);
}

fn text_len(s: &str, escaped: bool) -> usize {
    if escaped {
        s.len()
            + s.bytes()
                .filter(|b| matches!(b, b'\r' | b'\n' | b':' | b'\\'))
                .count()
    } else {
        s.len()
    }
}

/// Encodes a frame built by a session, which only builds encodable frames.
pub(crate) fn encode_into(frame: &Frame, out: &mut bytes::BytesMut) -> Result<(), EncodeError> {
    out.reserve(frame.encoded_len());
    frame.encode(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Command;
    use alloc::vec::Vec;

    fn encode(f: &Frame) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        f.encode(&mut out)?;
        assert_eq!(out.len(), f.encoded_len());
        Ok(out)
    }

    #[test]
    fn escapes_except_connect() {
        let f = Frame::new(Command::Message).with_header("a:b\\", "\r\n:");
        assert_eq!(encode(&f).unwrap(), b"MESSAGE\na\\cb\\\\:\\r\\n\\c\n\n\0");
        let f = Frame::new(Command::Connect).with_header("login", "a\\b:c");
        assert_eq!(encode(&f).unwrap(), b"CONNECT\nlogin:a\\b:c\n\n\0");
        for (n, v) in [("a:b", "v"), ("a", "\n"), ("a\r", "v"), ("a", "x\r")] {
            let f = Frame::new(Command::Connected).with_header(n, v);
            assert_eq!(encode(&f), Err(EncodeError::Unescapable));
        }
    }

    #[test]
    fn refuses_what_cannot_be_read_back() {
        let f = Frame::new(Command::Send).with_header("", "x");
        assert_eq!(encode(&f), Err(EncodeError::EmptyHeaderName));
        let f = Frame::new(Command::Receipt).with_body("x");
        assert_eq!(
            encode(&f),
            Err(EncodeError::UnexpectedBody(Command::Receipt))
        );
        let mut f = Frame::new(Command::Send).with_body("abc");
        f.set_body(bytes::Bytes::from_static(b"ab"));
        assert_eq!(encode(&f), Err(EncodeError::ContentLengthMismatch));
        let mut f = Frame::new(Command::Send);
        f.set_body(bytes::Bytes::from_static(b"a\0b"));
        assert_eq!(encode(&f), Err(EncodeError::MissingContentLength));
        f.set_body(bytes::Bytes::from_static(b"ab"));
        assert_eq!(encode(&f).unwrap(), b"SEND\n\nab\0");
    }
}
