//! Messages encoded once and sent on many connections: broadcast without re-encoding.
//!
//! A chat room, a pub/sub fan-out or a STOMP broker sends one message to many server
//! connections. Server frames are not masked, so the frame is the same for every one of
//! them: a [`PreparedMessage`] encodes it once (header and payload in one buffer) and each
//! connection queues a reference to it — no copy, no encoding, per connection.
//!
//! With permessage-deflate, a compressed frame can be shared only between connections
//! whose compressor starts afresh with each message (`server_no_context_takeover`) and
//! uses the same window and level: it is compressed once per such parameter set, on first
//! use. A connection that keeps its compression context gets the uncompressed frame, which
//! RFC 7692 always allows.

use alloc::sync::Arc;
#[cfg(feature = "deflate")]
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use crate::connection::MessageKind;
use crate::frame::FrameHeader;
use crate::message::Message;
use crate::utf8::Utf8Bytes;

/// A text or binary message encoded once as a server frame, to be sent on any number of
/// server connections ([`Connection::send_prepared`](crate::Connection::send_prepared),
/// `send_prepared` on the adapters). Cheap to clone.
///
/// ```
/// use rfc6455::{Config, Connection, PreparedMessage, Role};
///
/// let news = PreparedMessage::text("the same words for everyone");
/// let mut out = Vec::new();
/// for _ in 0..3 {
///     let mut conn = Connection::new(Role::Server, Config::default());
///     // The shared frame: header and payload, encoded once.
///     let frame = conn.send_prepared(&news, &mut out)?.expect("a server shares the frame");
///     assert_eq!(&frame[..2], [0x81, 27]);
/// }
/// assert!(out.is_empty()); // nothing was encoded per connection
/// # Ok::<(), rfc6455::UsageError>(())
/// ```
#[derive(Clone)]
pub struct PreparedMessage {
    inner: Arc<Inner>,
}

struct Inner {
    kind: MessageKind,
    /// The payload alone, for connections that must encode it themselves (clients).
    payload: Bytes,
    /// Header and payload, one unmasked frame with FIN set.
    frame: Bytes,
    /// Compressed frames, by (window bits, level), made on first use.
    #[cfg(feature = "deflate")]
    compressed: std::sync::Mutex<Vec<((u8, u32), Bytes)>>,
}

impl core::fmt::Debug for PreparedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedMessage")
            .field("kind", &self.inner.kind)
            .field("len", &self.inner.payload.len())
            .finish_non_exhaustive()
    }
}

impl PreparedMessage {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> PreparedMessage {
        PreparedMessage::new(MessageKind::Text, text.into().into_bytes())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> PreparedMessage {
        PreparedMessage::new(MessageKind::Binary, data.into())
    }

    fn new(kind: MessageKind, payload: Bytes) -> PreparedMessage {
        let header = FrameHeader::new(kind.opcode(), payload.len() as u64);
        let mut frame = BytesMut::with_capacity(header.encoded_len() + payload.len());
        let mut head = [0; crate::frame::MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        frame.extend_from_slice(&head[..n]);
        crate::copy::extend_bytes(&mut frame, &payload);
        PreparedMessage {
            inner: Arc::new(Inner {
                kind,
                payload,
                frame: frame.freeze(),
                #[cfg(feature = "deflate")]
                compressed: std::sync::Mutex::new(Vec::new()),
            }),
        }
    }

    /// Whether this is a text or a binary message.
    pub fn kind(&self) -> MessageKind {
        self.inner.kind
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.inner.payload
    }

    /// The uncompressed server frame.
    pub fn frame(&self) -> &Bytes {
        &self.inner.frame
    }

    /// The server frame compressed by a fresh compressor with `bits` window bits at
    /// `level`, made on the first call for that pair.
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed_frame(&self, bits: u8, level: u32) -> Bytes {
        let mut cache = self
            .inner
            .compressed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, frame)) = cache.iter().find(|(key, _)| *key == (bits, level)) {
            return frame.clone();
        }
        let compressed = crate::deflate::compress_fresh(&self.inner.payload, bits, level);
        let mut header = FrameHeader::new(self.inner.kind.opcode(), compressed.len() as u64);
        // RFC 7692 §6: "set the RSV1 bit of the first frame" of a compressed message.
        header.rsv1 = true;
        let mut head = [0; crate::frame::MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        let mut frame = BytesMut::with_capacity(n + compressed.len());
        frame.extend_from_slice(&head[..n]);
        frame.extend_from_slice(&compressed);
        let frame = frame.freeze();
        cache.push(((bits, level), frame.clone()));
        frame
    }
}

impl TryFrom<Message> for PreparedMessage {
    type Error = Message;

    /// A text or binary message; any other comes back.
    fn try_from(message: Message) -> Result<PreparedMessage, Message> {
        match message {
            Message::Text(text) => Ok(PreparedMessage::text(text)),
            Message::Binary(data) => Ok(PreparedMessage::binary(data)),
            other => Err(other),
        }
    }
}
