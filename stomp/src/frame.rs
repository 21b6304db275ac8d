//! STOMP frames: the command, the headers (unescaped, in order) and the body.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

/// A STOMP command. "All commands and header names referenced in this document are case
/// sensitive." (STOMP 1.2, STOMP Frames)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Command {
    /// Client: open a session (the STOMP 1.0 spelling of [`Command::Stomp`]).
    Connect,
    /// Client: open a session; servers "MUST handle a `STOMP` frame in the same manner as
    /// a `CONNECT` frame".
    Stomp,
    /// Client: send a message to a destination.
    Send,
    /// Client: register to listen to a destination.
    Subscribe,
    /// Client: remove a subscription.
    Unsubscribe,
    /// Client: acknowledge consumption of a message.
    Ack,
    /// Client: tell the server a message was not consumed.
    Nack,
    /// Client: start a transaction.
    Begin,
    /// Client: commit a transaction.
    Commit,
    /// Client: roll back a transaction.
    Abort,
    /// Client: end the session.
    Disconnect,
    /// Server: the session is open.
    Connected,
    /// Server: a message from a subscription.
    Message,
    /// Server: a client frame that asked for a receipt was processed.
    Receipt,
    /// Server: something went wrong; the connection closes after it.
    Error,
}

impl Command {
    /// Every command, clients' first.
    pub const ALL: [Command; 15] = [
        Command::Connect,
        Command::Stomp,
        Command::Send,
        Command::Subscribe,
        Command::Unsubscribe,
        Command::Ack,
        Command::Nack,
        Command::Begin,
        Command::Commit,
        Command::Abort,
        Command::Disconnect,
        Command::Connected,
        Command::Message,
        Command::Receipt,
        Command::Error,
    ];

    /// The longest command name, in bytes (`UNSUBSCRIBE`).
    pub const MAX_LEN: usize = 11;

    /// The command's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Command::Connect => "CONNECT",
            Command::Stomp => "STOMP",
            Command::Send => "SEND",
            Command::Subscribe => "SUBSCRIBE",
            Command::Unsubscribe => "UNSUBSCRIBE",
            Command::Ack => "ACK",
            Command::Nack => "NACK",
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
            Command::Abort => "ABORT",
            Command::Disconnect => "DISCONNECT",
            Command::Connected => "CONNECTED",
            Command::Message => "MESSAGE",
            Command::Receipt => "RECEIPT",
            Command::Error => "ERROR",
        }
    }

    /// The command with this exact (case-sensitive) name.
    pub fn from_bytes(name: &[u8]) -> Option<Command> {
        Command::ALL
            .into_iter()
            .find(|c| c.as_str().as_bytes() == name)
    }

    /// Sent by clients (`true`) or by servers (`false`).
    pub const fn is_client(self) -> bool {
        !matches!(
            self,
            Command::Connected | Command::Message | Command::Receipt | Command::Error
        )
    }

    /// "Only the `SEND`, `MESSAGE`, and `ERROR` frames MAY have a body. All other frames
    /// MUST NOT have a body." (STOMP 1.2, Body)
    pub const fn may_have_body(self) -> bool {
        matches!(self, Command::Send | Command::Message | Command::Error)
    }

    /// Whether header names and values are escaped. "All frames except the `CONNECT` and
    /// `CONNECTED` frames will also escape any carriage return, line feed or colon found in
    /// the resulting UTF-8 encoded headers." (STOMP 1.2, Value Encoding). `STOMP` frames,
    /// new in 1.1, are escaped: the exception exists for STOMP 1.0 compatibility only.
    pub const fn escapes_headers(self) -> bool {
        !matches!(self, Command::Connect | Command::Connected)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A STOMP frame: a command, headers in the order they appeared (unescaped) and a body.
///
/// Headers may repeat; "only the first header entry SHOULD be used as the value of header
/// entry" (STOMP 1.2, Repeated Header Entries), so [`Frame::header`] returns the first and
/// [`Frame::headers`] yields them all. Names and values are stored back to back in one
/// string, so a frame costs two allocations however many headers it has, and the body is
/// a shared [`Bytes`].
///
/// Encoding writes the headers exactly as they are: a frame that was decoded encodes back
/// to a frame that decodes equal. [`Frame::with_body`] adds the `content-length` header for
/// you; frames built with it always carry one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    command: Command,
    /// Names and values, unescaped, back to back.
    text: String,
    /// For each header, the end of its name and the end of its value in `text`; its name
    /// starts where the previous value ended.
    ends: Vec<(usize, usize)>,
    body: Bytes,
}

impl Frame {
    /// A frame with no headers and no body.
    pub fn new(command: Command) -> Frame {
        Frame {
            command,
            text: String::new(),
            ends: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) fn from_parts(
        command: Command,
        text: String,
        ends: Vec<(usize, usize)>,
        body: Bytes,
    ) -> Frame {
        Frame {
            command,
            text,
            ends,
            body,
        }
    }

    /// Appends a header (builder style). Nothing is checked here; [`Frame::encode`]
    /// refuses what cannot be written.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Frame {
        self.push_header(name, value);
        self
    }

    /// Sets the body and appends a `content-length` header giving its length (builder
    /// style). "If the frame body contains NULL octets, the frame MUST include a
    /// `content-length` header." (STOMP 1.2, Header content-length)
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Frame {
        let body = body.into();
        self.push_header("content-length", itoa(body.len() as u64).as_str());
        self.body = body;
        self
    }

    /// Appends a header.
    pub fn push_header(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len()));
    }

    /// Replaces the body, leaving the headers as they are (a `content-length` header, if
    /// any, must then match: [`Frame::encode`] checks it).
    pub fn set_body(&mut self, body: Bytes) {
        self.body = body;
    }

    /// The command.
    pub fn command(&self) -> Command {
        self.command
    }

    /// The value of the first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// All headers, in order, repeated ones included.
    pub fn headers(&self) -> Headers<'_> {
        Headers {
            text: &self.text,
            ends: self.ends.iter(),
            start: 0,
        }
    }

    /// The number of headers, repeated ones included.
    pub fn header_count(&self) -> usize {
        self.ends.len()
    }

    /// The body (empty when there is none).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Takes the body out of the frame.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// The `content-length` header's value, if the frame has one and it is a number.
    pub fn content_length(&self) -> Option<u64> {
        parse_content_length(self.header("content-length")?.as_bytes())
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("command", &self.command)
            .field("headers", &HeadersDebug(self))
            .field("body", &self.body)
            .finish()
    }
}

struct HeadersDebug<'a>(&'a Frame);

impl fmt::Debug for HeadersDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.headers()).finish()
    }
}

/// The headers of a [`Frame`], in order: `(name, value)` pairs borrowed from the frame.
#[derive(Clone, Debug)]
pub struct Headers<'a> {
    text: &'a str,
    ends: core::slice::Iter<'a, (usize, usize)>,
    start: usize,
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let &(name_end, value_end) = self.ends.next()?;
        let name = self.text.get(self.start..name_end).unwrap_or("");
        let value = self.text.get(name_end..value_end).unwrap_or("");
        self.start = value_end;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ends.size_hint()
    }
}

impl ExactSizeIterator for Headers<'_> {}

/// A `content-length` value: decimal digits only (no sign, no spaces: "clients and servers
/// MUST never trim or pad headers with spaces"), at most `u64::MAX`.
pub(crate) fn parse_content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// A decimal number without allocating more than once.
pub(crate) fn itoa(mut n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[i..].iter().map(|&d| d as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_header_wins() {
        // STOMP 1.2, Repeated Header Entries: "The value of the `foo` header is just
        // `World`."
        let f = Frame::new(Command::Message)
            .with_header("foo", "World")
            .with_header("foo", "Hello");
        assert_eq!(f.header("foo"), Some("World"));
        assert_eq!(
            f.headers().collect::<Vec<_>>(),
            [("foo", "World"), ("foo", "Hello")]
        );
        assert_eq!(f.header("bar"), None);
    }

    #[test]
    fn empty_names_and_values() {
        let f = Frame::new(Command::Send)
            .with_header("a", "")
            .with_header("", "b");
        assert_eq!(f.headers().collect::<Vec<_>>(), [("a", ""), ("", "b")]);
    }

    #[test]
    fn commands_are_case_sensitive() {
        for c in Command::ALL {
            assert_eq!(Command::from_bytes(c.as_str().as_bytes()), Some(c));
            assert!(c.as_str().len() <= Command::MAX_LEN);
        }
        assert_eq!(Command::from_bytes(b"send"), None);
        assert_eq!(Command::from_bytes(b"SEND "), None);
    }

    #[test]
    fn content_length_values() {
        assert_eq!(parse_content_length(b"0"), Some(0));
        assert_eq!(parse_content_length(b"0012"), Some(12));
        assert_eq!(
            parse_content_length(b"18446744073709551615"),
            Some(u64::MAX)
        );
        assert_eq!(parse_content_length(b"18446744073709551616"), None);
        assert_eq!(parse_content_length(b" 1"), None);
        assert_eq!(parse_content_length(b"+1"), None);
        assert_eq!(parse_content_length(b""), None);
        assert_eq!(itoa(0), "0");
        assert_eq!(itoa(u64::MAX), "18446744073709551615");
    }
}
