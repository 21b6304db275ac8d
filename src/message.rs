//! Owned messages, and the assembler that builds them from a connection's events.

use alloc::string::String;
use alloc::vec::Vec;

use crate::close::CloseCode;
use crate::connection::{Event, MessageKind};
use crate::copy;
use crate::utf8;

/// A whole message, owned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping (at most 125 bytes).
    Ping(Vec<u8>),
    /// A pong (at most 125 bytes).
    Pong(Vec<u8>),
    /// A Close frame. A `code` of 1005 ([`CloseCode::NO_STATUS_RECEIVED`]) stands for a
    /// Close frame without a body.
    Close {
        /// The status code.
        code: CloseCode,
        /// The reason, possibly empty.
        reason: String,
    },
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Vec<u8>>) -> Message {
        Message::Binary(data.into())
    }

    /// Whether this is a text or binary message.
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// The payload: the text's bytes, the binary data, the ping/pong data, or the reason.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close { reason, .. } => reason.as_bytes(),
        }
    }

    /// The message as an owned copy of an event that carries a whole message, or `None` for
    /// a chunk.
    pub fn from_event(event: &Event<'_>) -> Option<Message> {
        Some(match *event {
            Event::Text(text) => Message::Text(copy::to_string(text)),
            Event::Binary(data) => Message::Binary(copy::to_vec(data)),
            Event::Ping(data) => Message::Ping(data.into()),
            Event::Pong(data) => Message::Pong(data.into()),
            Event::Close { code, reason } => Message::Close {
                code,
                reason: reason.into(),
            },
            Event::TextChunk { .. } | Event::BinaryChunk { .. } => return None,
        })
    }
}

/// Builds whole [`Message`]s from the events of one connection.
///
/// A message that arrived whole is copied once, straight from the event; one that arrived
/// in chunks is collected into a buffer that becomes the message (no second copy). The
/// connection's limits bound the buffer: a chunk never brings it past `max_message_size`.
#[derive(Debug, Default)]
pub struct MessageAssembler {
    /// The message so far (`..used`), then zeroes that direct reads may fill.
    buf: Vec<u8>,
    used: usize,
    kind: Option<MessageKind>,
}

impl MessageAssembler {
    /// An empty assembler.
    pub const fn new() -> MessageAssembler {
        MessageAssembler {
            buf: Vec::new(),
            used: 0,
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
        self.buf.truncate(self.used);
        copy::extend(&mut self.buf, payload);
        self.used = self.buf.len();
        self.finish(kind, fin)
    }

    /// Room for `want` more bytes of the message in progress, for a transport to read
    /// into directly ([`commit`](MessageAssembler::commit) then takes them). The room is
    /// zero-filled once and kept across calls.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn spare(&mut self, want: usize) -> &mut [u8] {
        let end = self.used + want;
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        &mut self.buf[self.used..end]
    }

    /// Takes the first `n` bytes of [`spare`](MessageAssembler::spare) into the message in
    /// progress, which they end if `fin`. The caller has passed them through the connection
    /// (unmasked and, for text, validated in place).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn commit(&mut self, n: usize, fin: bool) -> Option<Message> {
        let kind = self.kind?;
        debug_assert!(self.used + n <= self.buf.len());
        self.used += n;
        self.finish(kind, fin)
    }

    fn finish(&mut self, kind: MessageKind, fin: bool) -> Option<Message> {
        if !fin {
            return None;
        }
        self.kind = None;
        self.buf.truncate(self.used);
        self.used = 0;
        let bytes = core::mem::take(&mut self.buf);
        Some(match kind {
            // Text from a `Connection` is already validated; events made up by hand that are
            // not UTF-8 get replacement characters rather than an invalid `String`.
            MessageKind::Text => match utf8::into_string(bytes) {
                Ok(text) => Message::Text(text),
                Err(bytes) => Message::Text(String::from_utf8_lossy(&bytes).into_owned()),
            },
            MessageKind::Binary => Message::Binary(bytes),
        })
    }

    /// Reserves room for `additional` more bytes of the message in progress, or of the next
    /// one (e.g. a chunk and the rest of its large frame, from
    /// [`Connection::pending_payload`](crate::Connection::pending_payload)), so that the
    /// buffer is not grown — and copied — step by step.
    pub fn reserve(&mut self, additional: usize) {
        let want = (self.used + additional).saturating_sub(self.buf.len());
        self.buf.reserve(want);
    }

    /// The kind of the message being assembled, if one is in progress.
    pub fn in_progress(&self) -> Option<MessageKind> {
        self.kind
    }

    /// Bytes of the unfinished message collected so far.
    pub fn buffered(&self) -> usize {
        self.used
    }
}
