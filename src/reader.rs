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

use bytes::buf::Limit;
use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::close::CloseCode;
use crate::connection::{Connection, Event, MessageKind};
use crate::error::ProtocolError;
use crate::message::Message;
use crate::utf8::Utf8Bytes;

/// The smallest read offered, and the first allocation of an empty buffer.
pub const MIN_READ: usize = 4 * 1024;
/// The largest read offered beyond the rest of an incomplete frame: reads that keep
/// filling the room offered double it up to this, to amortise system calls.
pub const MAX_READ: usize = 64 * 1024;

/// The largest read into one frame: it is unmasked right after, while in cache.
const BIG_READ: usize = 256 * 1024;

/// The most bytes read at once between large frames: the frames read together are
/// unmasked one by one as they are handed out, faster while they still sit in the
/// first-level cache (in-memory decode of 16 KiB frames: 22 -> 26 GiB/s with 32 KiB reads
/// rather than 64 KiB ones; 16 KiB reads were no faster).
const CACHE_READ: usize = 32 * 1024;

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
/// // What a read from the socket brings: RFC 6455 §5.7's masked "Hello".
/// let mut socket: &[u8] = &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// reader.read_with(|buf| std::io::Read::read(&mut socket, buf)).unwrap();
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
    /// `buf`'s length and the room offered, when room was last offered: a read that
    /// filled it doubles `read_size`.
    offered: Option<(usize, usize)>,
    /// Bytes received over the connection's life: what it has earned in buffer room.
    received: u64,
    /// The length (header and payload) of the last data frame taken whole.
    frame_size: usize,
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
    /// A control frame whose payload (a Close frame's reason) is `buf[start..start + len]`.
    Control {
        kind: ControlKind,
        start: usize,
        len: usize,
    },
}

#[derive(Clone, Copy)]
enum ControlKind {
    Ping,
    Pong,
    Close(CloseCode),
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
        reader.received = bytes.len() as u64;
        reader
    }

    /// The buffer to append the next read to, with room reserved — and the most to read
    /// into it ([`Limit::limit`]): append at most that.
    ///
    /// While a frame is incomplete, the room is its rest, but never more than the bytes
    /// this connection has received so far (at least [`MIN_READ`]): a header announcing
    /// a megabyte on a fresh connection gets room for what has arrived, doubling as more
    /// arrives, while a connection that has carried megabytes gets its frame's whole room
    /// at once (no copy as it grows). A large frame's read stops at its end, so the next
    /// frame starts a fresh buffer with nothing to move. Otherwise the room is the read
    /// size, which doubles up to [`MAX_READ`] while reads keep filling it.
    pub fn read_buf(&mut self) -> Limit<&mut BytesMut> {
        self.consume_lent();
        let len = self.buf.len();
        let room = self.buf.capacity() - len;
        let rest = usize::try_from(self.need.saturating_sub(len as u64)).unwrap_or(usize::MAX);
        let (want, limit) = if rest > 0 {
            let earned = usize::try_from(self.received).unwrap_or(usize::MAX);
            let allowed = len.max(MIN_READ).max(earned);
            if self.need < MIN_READ as u64 {
                // A small frame: read it and the ones after it together.
                (rest.max(self.read_size), usize::MAX)
            } else if rest <= allowed {
                // A large frame, whole at once (no copy as it grows), and the read stops
                // at its end: the next frame then starts a buffer of its own, with nothing
                // to move. Reads of a very large frame come in pieces that each get
                // unmasked while they are in cache.
                (rest, rest.min(BIG_READ))
            } else if room < MIN_READ {
                // More than has arrived so far: room that follows what arrives.
                (allowed, usize::MAX)
            } else {
                (0, usize::MAX)
            }
        } else if self.frame_size >= MIN_READ {
            // Between large frames: a read of as many frames the size of the last one as
            // the read size holds (at least one), so that reads and frames stay aligned.
            let n = (self.read_size.min(CACHE_READ) / self.frame_size).max(1);
            (n * self.frame_size, n * self.frame_size)
        } else {
            (self.read_size, usize::MAX)
        };
        if room < want {
            self.make_room(want);
        }
        let offer = (self.buf.capacity() - len).min(limit);
        self.offered = Some((len, offer));
        (&mut self.buf).limit(offer)
    }

    /// Makes room for `want` more bytes: the buffer's own space when nothing else holds
    /// it (handed-out messages release it), else a new buffer of exactly that much, into
    /// which only the unconsumed bytes are copied.
    fn make_room(&mut self, want: usize) {
        if self.buf.try_reclaim(want) {
            return;
        }
        let mut fresh = BytesMut::with_capacity(self.buf.len().saturating_add(want));
        crate::copy::extend_bytes(&mut fresh, &self.buf);
        self.buf = fresh;
    }

    /// Reads with `read`, a `Read::read`-like function given the room
    /// [`read_buf`](MessageReader::read_buf) offers (zero-filled first: `Read` wants
    /// initialised memory) that returns how many bytes it wrote; returns that count.
    ///
    /// ```
    /// # use rfc6455::MessageReader;
    /// # let mut socket: &[u8] = b"\x81\x80\0\0\0\0";
    /// use std::io::Read;
    /// let mut reader = MessageReader::new();
    /// let n = reader.read_with(|buf| socket.read(buf))?;
    /// assert_eq!((n, reader.buffered()), (6, 6));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_with<E>(
        &mut self,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let mut room = self.read_buf();
        let limit = Limit::limit(&room);
        let buf = room.get_mut();
        let len = buf.len();
        let room = (buf.capacity() - len).min(limit).max(1);
        buf.resize(len + room, 0);
        let result = read(&mut buf[len..]);
        let n = *result.as_ref().unwrap_or(&0);
        buf.truncate(len + n.min(room));
        result
    }

    /// Appends bytes read elsewhere (say into a small stack buffer while this reader held
    /// no memory). `more` says the read filled that buffer, so more bytes probably wait:
    /// room for a full read is reserved at once.
    pub fn extend_from_read(&mut self, bytes: &[u8], more: bool) {
        self.consume_lent();
        self.received = self.received.saturating_add(bytes.len() as u64);
        if more {
            self.make_room(bytes.len() + self.read_size);
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
        // An empty `BytesMut` may still hold its allocation (what was split off it, and
        // its own capacity, even when that is zero): always let go of it.
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
        if self.parts.is_empty() {
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
    #[inline]
    pub fn poll_message(
        &mut self,
        conn: &mut Connection,
    ) -> Result<Option<Message>, ProtocolError> {
        if self.offered.is_some() {
            self.observe_read();
        }
        if !matches!(self.lent, Lent::None) {
            self.consume_lent();
        }
        loop {
            let (consumed, found) = self.receive(conn, true)?;
            match found {
                Found::Nothing => {
                    self.buf.advance(consumed);
                    self.need = conn.frame_need();
                    return Ok(None);
                }
                Found::Whole { kind, start } => {
                    self.frame_size = consumed;
                    self.buf.advance(start);
                    let payload = self.buf.split_to(consumed - start).freeze();
                    // SAFETY: for a text message, these are exactly the bytes the
                    // connection returned as `Event::Text`, validated as UTF-8 in place;
                    // nothing wrote to `buf` since.
                    return Ok(Some(unsafe { message(kind, payload) }));
                }
                // The last piece of a message with nothing before it (a text frame validated
                // in pieces while it arrived, or after empty fragments): all of it is here.
                Found::Part {
                    kind, start, fin, ..
                } if fin && self.parts.is_empty() && !self.streamed => {
                    self.frame_size = consumed;
                    self.buf.advance(start);
                    let frame = self.buf.split_to(consumed - start);
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
                Found::Control { kind, start, len } => {
                    let message = self.control(kind, start, len);
                    self.buf.advance(consumed);
                    return Ok(Some(message));
                }
            }
        }
    }

    /// The control frame payload at `buf[start..start + len]` (a Close frame's reason) as
    /// a message: a copy of at most 125 bytes.
    #[cold]
    fn control(&self, kind: ControlKind, start: usize, len: usize) -> Message {
        let payload = Bytes::copy_from_slice(&self.buf[start..start + len]);
        match kind {
            ControlKind::Ping => Message::Ping(payload),
            ControlKind::Pong => Message::Pong(payload),
            // Validated by the connection; checked again, as it is short.
            ControlKind::Close(code) => {
                Message::close(code, Utf8Bytes::try_from(payload).unwrap_or_default())
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
            Found::Control { kind, start, len } => {
                let message = self.control(kind, start, len);
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
    #[inline(always)]
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
            Err(e) => return Err(self.failed(e)),
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
        // Control payloads (unmasked in place) are always in `buf`.
        let control = |kind: ControlKind, data: &[u8]| Found::Control {
            kind,
            start: (data.as_ptr() as usize)
                .wrapping_sub(start_of_buf)
                .min(consumed),
            len: data.len(),
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
            Some(Event::Ping(p)) => control(ControlKind::Ping, p),
            Some(Event::Pong(p)) => control(ControlKind::Pong, p),
            Some(Event::Close { code, reason }) => {
                control(ControlKind::Close(code), reason.as_bytes())
            }
        };
        Ok((consumed, found))
    }

    /// The peer broke the protocol: the connection discards all later input, and so do
    /// we.
    #[cold]
    fn failed(&mut self, e: ProtocolError) -> ProtocolError {
        self.buf = BytesMut::new();
        self.parts = BytesMut::new();
        self.inflated = Vec::new();
        self.streamed = false;
        e
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

    /// Counts what the last read brought, and doubles the read size when it filled the
    /// room offered.
    fn observe_read(&mut self) {
        if let Some((len, offer)) = self.offered.take() {
            let read = self.buf.len().saturating_sub(len);
            self.received = self.received.saturating_add(read as u64);
            if offer > 0 && read >= offer {
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
