//! Whole messages, and the assembler that builds them from a connection's events.

use bytes::{Bytes, BytesMut};

use crate::close::CloseCode;
use crate::connection::{Event, MessageKind};
use crate::utf8::Utf8Bytes;

/// A whole message. Payloads are [`Bytes`]: received ones are split off the read buffer
/// without copying (see [`MessageReader`](crate::MessageReader)), and one payload can be
/// sent on many connections without copying.
///
/// ```
/// use rfc6455::Message;
/// let text = Message::text("héllo");
/// assert_eq!(text.as_text(), Some("héllo"));
/// let binary = Message::from(vec![1, 2, 3]);
/// assert_eq!(binary.into_data(), &[1, 2, 3][..]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
// The tag is a whole word, so that moving a message (into `send`'s future, out of `recv`)
// copies aligned words. With a one-byte tag the compiler copied bytes 1..40 around it with
// unaligned 16-byte moves that the next aligned loads could not be forwarded from: the
// tokio server's send of a 16-byte message went from 33 to 48 M/s with this alone.
#[repr(C, u64)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping (at most 125 bytes).
    Ping(Bytes),
    /// A pong (at most 125 bytes).
    Pong(Bytes),
    /// A Close frame: its code and reason, or `None` for a Close frame without a body
    /// (reported to the application as 1005, [`CloseCode::NO_STATUS_RECEIVED`]).
    Close(Option<CloseFrame>),
}

/// The body of a Close frame (RFC 6455 §5.5.1): a status code and a UTF-8 reason.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, possibly empty.
    pub reason: Utf8Bytes,
}

impl CloseFrame {
    /// A Close frame body with `code` and `reason`.
    pub fn new(code: CloseCode, reason: impl Into<Utf8Bytes>) -> CloseFrame {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }
}

impl Message {
    /// A text message (from a `String` without copying, from a `&str` by copying).
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message (from a `Vec<u8>` or `Bytes` without copying).
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }

    /// A ping carrying `data` (at most 125 bytes, checked when sent).
    pub fn ping(data: impl Into<Bytes>) -> Message {
        Message::Ping(data.into())
    }

    /// A pong carrying `data` (at most 125 bytes, checked when sent).
    pub fn pong(data: impl Into<Bytes>) -> Message {
        Message::Pong(data.into())
    }

    /// A Close frame with `code` and `reason` (code 1005, [`CloseCode::NO_STATUS_RECEIVED`],
    /// makes a Close frame without a body).
    pub fn close(code: CloseCode, reason: impl Into<Utf8Bytes>) -> Message {
        let reason = reason.into();
        if code == CloseCode::NO_STATUS_RECEIVED && reason.is_empty() {
            return Message::Close(None);
        }
        Message::Close(Some(CloseFrame { code, reason }))
    }

    /// The code and reason of a Close frame: 1005 ([`CloseCode::NO_STATUS_RECEIVED`]) and
    /// no reason for one without a body.
    pub fn close_code(&self) -> Option<(CloseCode, &str)> {
        match self {
            Message::Close(Some(frame)) => Some((frame.code, frame.reason.as_str())),
            Message::Close(None) => Some((CloseCode::NO_STATUS_RECEIVED, "")),
            _ => None,
        }
    }

    /// Whether this is a text or binary message.
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// Whether this is a Close frame.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// The text of a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text.as_str()),
            _ => None,
        }
    }

    /// The payload: the text's bytes, the binary data, the ping/pong data, or the reason.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(Some(frame)) => frame.reason.as_bytes(),
            Message::Close(None) => &[],
        }
    }

    /// The payload as `Bytes`, without copying (for a Close frame, the reason).
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(Some(frame)) => frame.reason.into_bytes(),
            Message::Close(None) => Bytes::new(),
        }
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// The message as an owned copy of an event that carries a whole message, or `None` for
    /// a chunk.
    pub fn from_event(event: &Event<'_>) -> Option<Message> {
        Some(match *event {
            Event::Text(text) => Message::Text(Utf8Bytes::from(text)),
            Event::Binary(data) => Message::Binary(copy_bytes(data)),
            Event::Ping(data) => Message::Ping(Bytes::copy_from_slice(data)),
            Event::Pong(data) => Message::Pong(Bytes::copy_from_slice(data)),
            Event::Close { code, reason } => Message::close(code, Utf8Bytes::from(reason)),
            Event::TextChunk { .. } | Event::BinaryChunk { .. } => return None,
        })
    }
}

/// A copy of `data` (in pieces, see [`copy`](crate::copy)).
fn copy_bytes(data: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(data.len());
    crate::copy::extend_bytes(&mut buf, data);
    buf.freeze()
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Message {
        Message::Text(text)
    }
}

impl From<alloc::string::String> for Message {
    fn from(text: alloc::string::String) -> Message {
        Message::Text(text.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::Text(text.into())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Message {
        Message::Binary(data)
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    fn from(data: alloc::vec::Vec<u8>) -> Message {
        Message::Binary(data.into())
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Message {
        Message::Binary(Bytes::copy_from_slice(data))
    }
}

/// Builds whole [`Message`]s from the events of one connection, copying their payloads
/// (events borrow from your buffer). A message that arrived in chunks is collected into
/// one buffer; the connection's limits bound it: a chunk never brings it past
/// `max_message_size`.
///
/// When you own your read buffer as a `BytesMut`, [`MessageReader`](crate::MessageReader)
/// does the same without copying.
#[derive(Debug, Default)]
pub struct MessageAssembler {
    buf: BytesMut,
    kind: Option<MessageKind>,
}

impl MessageAssembler {
    /// An empty assembler.
    pub fn new() -> MessageAssembler {
        MessageAssembler {
            buf: BytesMut::new(),
            kind: None,
        }
    }

    /// Takes the next event, returning a message when one is complete. Control frames
    /// (ping, pong, close) pass straight through, even in the middle of a message.
    pub fn push(&mut self, event: Event<'_>) -> Option<Message> {
        let (kind, payload, fin) = match event {
            Event::TextChunk { payload, fin } => (MessageKind::Text, payload, fin),
            Event::BinaryChunk { payload, fin } => (MessageKind::Binary, payload, fin),
            whole => return Message::from_event(&whole),
        };
        self.kind = Some(kind);
        crate::copy::extend_bytes(&mut self.buf, payload);
        if !fin {
            return None;
        }
        self.kind = None;
        let bytes = core::mem::take(&mut self.buf).freeze();
        Some(match kind {
            // Text from a `Connection` is already validated; events made up by hand that are
            // not UTF-8 get replacement characters rather than invalid text.
            MessageKind::Text => Message::Text(match Utf8Bytes::try_from(bytes.clone()) {
                Ok(text) => text,
                Err(_) => alloc::string::String::from_utf8_lossy(&bytes)
                    .into_owned()
                    .into(),
            }),
            MessageKind::Binary => Message::Binary(bytes),
        })
    }

    /// Reserves room for `additional` more bytes of the message in progress, or of the next
    /// one, so that the buffer is not grown — and copied — step by step.
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    /// The kind of the message being assembled, if one is in progress.
    pub fn in_progress(&self) -> Option<MessageKind> {
        self.kind
    }

    /// Bytes of the unfinished message collected so far.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}
