//! Whole messages out of the bytes read from a transport, without copying them.
//!
//! [`Connection::receive`](crate::Connection::receive) lends payloads out of the caller's
//! buffer; a [`MessageReader`] owns that buffer as a [`BytesMut`] and turns a frame that is
//! whole in it into a message by splitting it off (`split_to` + `freeze`): unmasked and
//! validated in place, handed out as [`Bytes`], never copied. Only messages that arrive in
//! several frames are copied, once, into one buffer.
//!
//! It is sans-IO like the connection: you read into [`MessageReader::read_buf`], it decides
//! how much room to offer. That room follows what the peer has actually sent — a frame
//! header announcing a megabyte gets room for about as many bytes as have arrived, doubling
//! as they keep arriving — so memory stays within a small factor of what was received.

use alloc::vec::Vec;

use bytes::{Buf, Bytes, BytesMut};

use crate::connection::{Connection, Event, MessageKind};
use crate::error::ProtocolError;
use crate::message::Message;
use crate::utf8::Utf8Bytes;

/// The smallest read offered, and the first allocation of an empty buffer.
pub const MIN_READ: usize = 4 * 1024;
/// The largest read offered beyond the rest of an incomplete frame: reads that keep
/// filling the room offered double it up to this, to amortise system calls.
pub const MAX_READ: usize = 64 * 1024;

/// A piece of a message, as delivered by [`MessageReader::poll_chunk`].
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Chunk<'a> {
    /// Part of a text message; the last part has `fin` set.
    Text {
        /// The bytes (the whole message is UTF-8; a part may split a sequence).
        data: &'a [u8],
        /// This is the message's last part.
        fin: bool,
    },
    /// Part of a binary message; the last part has `fin` set.
    Binary {
        /// The bytes.
        data: &'a [u8],
        /// This is the message's last part.
        fin: bool,
    },
    /// A ping, pong, or the peer's Close.
    Control(Message),
}

/// The read side of a WebSocket connection over a buffer it owns: bytes in (read into
/// [`read_buf`](MessageReader::read_buf)), whole [`Message`]s out
/// ([`poll_message`](MessageReader::poll_message)), with no copy for a message that
/// arrived as one frame.
///
/// ```
/// use rfc6455::{Config, Connection, Message, MessageReader, Role};
///
/// let mut conn = Connection::new(Role::Server, Config::default());
/// let mut reader = MessageReader::new();
/// // What a read from the socket would append: RFC 6455 §5.7's masked "Hello".
/// reader.read_buf().extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// assert_eq!(reader.poll_message(&mut conn)?, Some(Message::text("Hello")));
/// assert_eq!(reader.poll_message(&mut conn)?, None); // read more
/// # Ok::<(), rfc6455::ProtocolError>(())
/// ```
///
/// With permessage-deflate enabled on the connection, compressed messages are inflated
/// into a buffer that becomes the message (again no copy).
#[derive(Debug, Default)]
pub struct MessageReader {
    /// Bytes read and not consumed yet.
    buf: BytesMut,
    /// The frames so far of a message that arrived in several (uncompressed).
    parts: BytesMut,
    /// The inflated data so far of a compressed message.
    inflated: Vec<u8>,
    /// The length of the incomplete data frame at the start of `buf`, if known.
    need: u64,
    /// Room offered for the next read beyond an incomplete frame's.
    read_size: usize,
    /// `buf`'s length and capacity when room was last offered: a read that filled it
    /// doubles `read_size`.
    offered: Option<(usize, usize)>,
    /// What `poll_chunk` lent out; consumed on the next call.
    lent: Lent,
    /// Part of the current message went out through `poll_chunk`: what `poll_message`
    /// collects of it is not the whole message.
    streamed: bool,
}

/// A chunk lent out by `poll_chunk`, by position.
#[derive(Debug, Default)]
enum Lent {
    #[default]
    None,
    /// `buf[start..consumed]`; the frame (or piece) ends at `consumed`.
    Buf {
        kind: MessageKind,
        start: usize,
        consumed: usize,
        fin: bool,
    },
    /// All of `inflated`.
    Inflated {
        kind: MessageKind,
        fin: bool,
    },
    /// All of `parts`.
    Parts {
        kind: MessageKind,
    },
    Control(Message),
}

/// What one `receive` meant, with positions instead of borrows.
enum Found {
    Nothing,
    /// A message that was one frame, entirely in `buf`.
    Whole {
        kind: MessageKind,
        start: usize,
    },
    /// A frame of a message in several, in `buf`.
    Part {
        kind: MessageKind,
        start: usize,
        len: usize,
        fin: bool,
    },
    /// Data of a compressed message, appended to `inflated`.
    Inflated {
        kind: MessageKind,
        fin: bool,
    },
    Control(Message),
}

impl MessageReader {
    /// An empty reader; it allocates when bytes arrive.
    pub fn new() -> MessageReader {
        MessageReader {
            read_size: MIN_READ,
            ..MessageReader::default()
        }
    }

    /// A reader that starts with `bytes`, e.g. the handshake's leftover.
    pub fn with_leftover(bytes: &[u8]) -> MessageReader {
        let mut reader = MessageReader::new();
        reader.buf.extend_from_slice(bytes);
        reader
    }

    /// The buffer to append the next read to, with room reserved when little is left: the
    /// rest of an incomplete frame (but no more than what has arrived so far, at least
    /// [`MIN_READ`]), or the read size, which doubles up to [`MAX_READ`] while reads keep
    /// filling the room offered. Append at most its spare capacity to keep to that: the
    /// buffer then stays within about twice the bytes received (plus `MIN_READ`).
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.consume_lent();
        let len = self.buf.len();
        let frame = if self.need > len as u64 {
            let rest = usize::try_from(self.need - len as u64).unwrap_or(usize::MAX);
            rest.min(len.max(MIN_READ))
        } else {
            0
        };
        let want = frame.max(self.read_size);
        // Grow only when what is left would make a short read: asked again with no new
        // bytes, the room must not grow again.
        if self.buf.capacity() - len < want.min(MIN_READ) {
            self.buf.reserve(want);
        }
        self.offered = Some((len, self.buf.capacity()));
        &mut self.buf
    }

    /// Appends bytes read elsewhere (say into a small stack buffer while this reader held
    /// no memory). `more` says the read filled that buffer, so more bytes probably wait:
    /// room for a full read is reserved at once.
    pub fn extend_from_read(&mut self, bytes: &[u8], more: bool) {
        self.consume_lent();
        if more {
            self.buf.reserve(bytes.len() + self.read_size);
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Whether the next read should go into a small buffer of the caller's (say 4 KiB on
    /// the stack) and then [`extend_from_read`](MessageReader::extend_from_read), rather
    /// than into [`read_buf`](MessageReader::read_buf): while this reader holds no memory,
    /// or holds a few bytes (a frame header announcing a megabyte, say) of a connection
    /// whose reads have been small. Memory is then allocated for the bytes that arrive,
    /// not for room they may never fill; a connection whose reads fill the room offered
    /// gets it directly, without the copy.
    pub fn prefers_small_read(&self) -> bool {
        let buffered = self.buffered();
        let room = self.buf.capacity() - self.buf.len();
        (self.buf.capacity() == 0 && buffered == 0)
            || (buffered < MIN_READ && room < MIN_READ && self.read_size <= MIN_READ)
    }

    /// Bytes read and not consumed yet.
    pub fn buffered(&self) -> usize {
        match self.lent {
            Lent::Buf { consumed, .. } => self.buf.len() - consumed,
            _ => self.buf.len(),
        }
    }

    /// Bytes of the message in progress collected so far (its earlier frames, or its
    /// inflated data).
    pub fn message_buffered(&self) -> usize {
        self.parts.len() + self.inflated.len()
    }

    /// The memory this reader holds, in bytes of buffer capacity.
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.parts.capacity() + self.inflated.capacity()
    }

    /// Frees the buffers that hold nothing: call it when the transport has nothing to
    /// read, so that an idle connection costs no buffer memory.
    pub fn release_idle(&mut self) {
        self.consume_lent();
        if self.buf.is_empty() && self.buf.capacity() != 0 {
            self.buf = BytesMut::new();
        }
        if self.parts.is_empty() && self.parts.capacity() != 0 {
            self.parts = BytesMut::new();
        }
        if self.inflated.is_empty() && self.inflated.capacity() != 0 {
            self.inflated = Vec::new();
        }
    }

    /// The bytes read and not consumed (for a hand-over to another reader or protocol).
    pub fn into_unread(mut self) -> BytesMut {
        self.consume_lent();
        self.buf
    }

    /// Decodes buffered bytes until a message is complete: `Ok(None)` means read more.
    /// Pings, pongs and the peer's Close come out as messages too (the connection has
    /// queued the pong or Close reply: call its `poll_transmit`).
    ///
    /// # Errors
    ///
    /// The peer broke the protocol or a limit; the connection queued the Close frame.
    /// Buffered input is dropped.
    pub fn poll_message(
        &mut self,
        conn: &mut Connection,
    ) -> Result<Option<Message>, ProtocolError> {
        self.observe_read();
        self.consume_lent();
        loop {
            let (consumed, found) = self.receive(conn, true)?;
            match found {
                Found::Nothing => {
                    self.buf.advance(consumed);
                    self.need = conn.frame_need();
                    return Ok(None);
                }
                Found::Whole { kind, start } => {
                    let mut frame = self.buf.split_to(consumed);
                    frame.advance(start);
                    // SAFETY: for a text message, these are exactly the bytes the
                    // connection returned as `Event::Text`, validated as UTF-8 in place;
                    // nothing wrote to `buf` since.
                    return Ok(Some(unsafe { message(kind, frame.freeze()) }));
                }
                // The last piece of a message with nothing before it (a text frame validated
                // in pieces while it arrived, or after empty fragments): all of it is here.
                Found::Part {
                    kind, start, fin, ..
                } if fin && self.parts.is_empty() && !self.streamed => {
                    let mut frame = self.buf.split_to(consumed);
                    frame.advance(start);
                    // SAFETY: for text, these bytes are the whole message: the connection
                    // fed every chunk of it to its validator in order (the earlier ones
                    // were empty) and checked it ended on a code point boundary.
                    return Ok(Some(unsafe { message(kind, frame.freeze()) }));
                }
                Found::Part {
                    kind,
                    start,
                    len,
                    fin,
                } => {
                    crate::copy::extend_bytes(&mut self.parts, &self.buf[start..start + len]);
                    self.buf.advance(consumed);
                    if fin {
                        let data = core::mem::take(&mut self.parts).freeze();
                        return Ok(Some(self.finish(kind, data)));
                    }
                }
                Found::Inflated { kind, fin } => {
                    self.buf.advance(consumed);
                    if fin {
                        let data = Bytes::from(core::mem::take(&mut self.inflated));
                        return Ok(Some(self.finish(kind, data)));
                    }
                }
                Found::Control(message) => {
                    self.buf.advance(consumed);
                    return Ok(Some(message));
                }
            }
        }
    }

    /// The next piece of input without assembling messages, for messages too large to
    /// hold: data is lent out of the buffer (consumed on the next call), control frames
    /// come whole. A message's pieces end with one whose `fin` is set; text pieces may
    /// split UTF-8 sequences but were validated. `Ok(None)` means read more.
    ///
    /// Finish a message with `poll_chunk` before going back to
    /// [`poll_message`](MessageReader::poll_message) (which otherwise delivers only the
    /// rest of it, checked again as text).
    pub fn poll_chunk(
        &mut self,
        conn: &mut Connection,
    ) -> Result<Option<Chunk<'_>>, ProtocolError> {
        if self.next_chunk(conn)? {
            Ok(self.lent_chunk())
        } else {
            Ok(None)
        }
    }

    /// [`poll_chunk`](MessageReader::poll_chunk) without the borrow: whether a chunk is
    /// ready, to be taken with [`lent_chunk`](MessageReader::lent_chunk).
    pub(crate) fn next_chunk(&mut self, conn: &mut Connection) -> Result<bool, ProtocolError> {
        self.observe_read();
        self.consume_lent();
        // A message `poll_message` was collecting: hand over what it has first.
        if !self.parts.is_empty() {
            self.streamed = true;
            let kind = conn.receiving().unwrap_or(MessageKind::Binary);
            self.lent = Lent::Parts { kind };
            return Ok(true);
        }
        let (consumed, found) = self.receive(conn, false)?;
        self.lent = match found {
            Found::Nothing => {
                self.buf.advance(consumed);
                return Ok(false);
            }
            Found::Control(message) => {
                self.buf.advance(consumed);
                Lent::Control(message)
            }
            Found::Whole { kind, start } => Lent::Buf {
                kind,
                start,
                consumed,
                fin: true,
            },
            Found::Part {
                kind, start, fin, ..
            } => {
                self.streamed = !fin;
                Lent::Buf {
                    kind,
                    start,
                    consumed,
                    fin,
                }
            }
            Found::Inflated { kind, fin } => {
                self.buf.advance(consumed);
                self.streamed = !fin;
                Lent::Inflated { kind, fin }
            }
        };
        Ok(true)
    }

    /// The chunk [`next_chunk`](MessageReader::next_chunk) found (a control frame only
    /// once).
    pub(crate) fn lent_chunk(&mut self) -> Option<Chunk<'_>> {
        match &mut self.lent {
            Lent::None => None,
            Lent::Control(message) => {
                let message = core::mem::replace(message, Message::Binary(Bytes::new()));
                self.lent = Lent::None;
                Some(Chunk::Control(message))
            }
            Lent::Buf {
                kind,
                start,
                consumed,
                fin,
            } => Some(chunk(*kind, &self.buf[*start..*consumed], *fin)),
            Lent::Inflated { kind, fin } => Some(chunk(*kind, &self.inflated, *fin)),
            Lent::Parts { kind } => Some(chunk(*kind, &self.parts, false)),
        }
    }

    /// One `receive` on the buffer, turned into positions.
    fn receive(
        &mut self,
        conn: &mut Connection,
        whole: bool,
    ) -> Result<(usize, Found), ProtocolError> {
        let start_of_buf = self.buf.as_ptr() as usize;
        // An empty piece appends nothing: whether inflated data was there before decides.
        let inflating = !self.inflated.is_empty();
        let received = match conn.receive_inner(&mut self.buf, Some(&mut self.inflated), whole) {
            Ok(received) => received,
            Err(e) => {
                // The connection discards all later input: so do we.
                self.buf = BytesMut::new();
                self.parts = BytesMut::new();
                self.inflated = Vec::new();
                self.streamed = false;
                return Err(e);
            }
        };
        let consumed = received.consumed;
        // Where a payload is: in `buf` (by offset), or else in `inflated` (the connection
        // appended it there). An empty piece of a compressed message (one with inflated
        // data so far) goes with that data; any other empty payload is "in `buf`", at the
        // end of its frame.
        let in_buf = |data: &[u8]| -> Option<usize> {
            let offset = (data.as_ptr() as usize).wrapping_sub(start_of_buf);
            if data.is_empty() {
                (!inflating).then_some(consumed)
            } else if offset < consumed && offset + data.len() <= consumed {
                Some(offset)
            } else {
                None
            }
        };
        let data = |kind: MessageKind, data: &[u8], fin: bool, whole: bool| match in_buf(data) {
            Some(start) if whole => Found::Whole { kind, start },
            Some(start) => Found::Part {
                kind,
                start,
                len: data.len(),
                fin,
            },
            None => Found::Inflated { kind, fin },
        };
        let found = match received.event {
            None => Found::Nothing,
            Some(Event::Text(text)) => data(MessageKind::Text, text.as_bytes(), true, true),
            Some(Event::Binary(bytes)) => data(MessageKind::Binary, bytes, true, true),
            Some(Event::TextChunk { payload, fin }) => data(MessageKind::Text, payload, fin, false),
            Some(Event::BinaryChunk { payload, fin }) => {
                data(MessageKind::Binary, payload, fin, false)
            }
            Some(other) => match Message::from_event(&other) {
                Some(message) => Found::Control(message),
                None => Found::Nothing,
            },
        };
        Ok((consumed, found))
    }

    /// The message made of `data`, the whole of a message collected in `parts` or
    /// `inflated` — or, after `poll_chunk` lent out its start, only its rest.
    fn finish(&mut self, kind: MessageKind, data: Bytes) -> Message {
        if core::mem::take(&mut self.streamed) && kind == MessageKind::Text {
            // Not the whole text: its first bytes may be the end of a code point.
            return Message::Text(match Utf8Bytes::try_from(data.clone()) {
                Ok(text) => text,
                Err(_) => alloc::string::String::from_utf8_lossy(&data)
                    .into_owned()
                    .into(),
            });
        }
        // SAFETY: `data` holds every chunk of one text message in order — the connection
        // validated each as it went and checked at the last that the text ended on a code
        // point boundary — and nothing else.
        unsafe { message(kind, data) }
    }

    fn observe_read(&mut self) {
        if let Some((len, capacity)) = self.offered.take() {
            if capacity > len && self.buf.len() >= capacity {
                self.read_size = (self.read_size * 2).min(MAX_READ);
            }
        }
    }

    fn consume_lent(&mut self) {
        match core::mem::take(&mut self.lent) {
            Lent::Buf { consumed, .. } => self.buf.advance(consumed),
            Lent::Inflated { .. } => self.inflated.clear(),
            Lent::Parts { .. } => self.parts.clear(),
            Lent::None | Lent::Control(_) => {}
        }
    }
}

/// A message of `kind` with payload `data`.
///
/// # Safety
///
/// For [`MessageKind::Text`], `data` must be valid UTF-8.
unsafe fn message(kind: MessageKind, data: Bytes) -> Message {
    match kind {
        // SAFETY: required of the caller.
        MessageKind::Text => Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(data) }),
        MessageKind::Binary => Message::Binary(data),
    }
}

fn chunk(kind: MessageKind, data: &[u8], fin: bool) -> Chunk<'_> {
    match kind {
        MessageKind::Text => Chunk::Text { data, fin },
        MessageKind::Binary => Chunk::Binary { data, fin },
    }
}
