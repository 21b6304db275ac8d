//! The part of every adapter that does no I/O: the read side (a
//! [`MessageReader`](crate::MessageReader)), the write queue and the clock, around one
//! [`Connection`].

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Error;
use super::buffer::WriteQueue;
use crate::close::CloseCode;
use crate::connection::{Connection, MessageKind, Role, Timeout};
use crate::error::{ProtocolError, UsageError};
use crate::message::Message;
use crate::reader::MessageReader;

/// The default high-water mark of the adapters: sending waits (tokio) or is refused
/// (a non-blocking stream) while more than this many bytes are queued, and the automatic
/// frames (pongs) stay in the connection, and reading stops, until the queue drains.
pub const DEFAULT_HIGH_WATER: usize = 128 * 1024;

/// Server payloads at least this large are queued as the application's `Bytes` after their
/// header and written with a vectored write, instead of being copied behind it. Below it,
/// the copy costs less than the kernel's second iovec: measured on loopback echo (one
/// worker, 16 connections), copying was 5% less CPU per message at 1 KiB, 3–7% at 4 KiB, 2%
/// at 8 KiB and even at 16 KiB.
const SHARED_MIN: usize = 8 * 1024;

#[derive(Debug)]
pub(crate) struct Driver {
    pub(crate) conn: Connection,
    pub(crate) reader: MessageReader,
    pub(crate) writer: WriteQueue,
    /// The instant of the connection's clock zero: the first time the clock is read (a
    /// WebSocket that is made and dropped, or whose handshake ran, reads no clock).
    epoch: Option<Instant>,
    /// The end of the stream was reported to the application.
    pub(crate) finished: bool,
    /// See [`DEFAULT_HIGH_WATER`].
    pub(crate) high_water: usize,
    /// A write failed after a message was already taken from the input: the message was
    /// delivered, and this is reported by the next call.
    pub(crate) deferred: Option<Error>,
}

impl Driver {
    pub(crate) fn new(conn: Connection, leftover: &[u8]) -> Driver {
        let mut driver = Driver {
            conn,
            reader: MessageReader::with_leftover(leftover),
            writer: WriteQueue::default(),
            epoch: None,
            finished: false,
            high_water: DEFAULT_HIGH_WATER,
            deferred: None,
        };
        driver.conn.handle_timeout(Duration::ZERO);
        driver
    }

    /// Decodes buffered input until a message is complete (`Some`) or the input runs
    /// out (`None`: read more); an error means the peer broke the protocol and the Close
    /// frame is queued.
    #[inline]
    pub(crate) fn decode(&mut self) -> Result<Option<Message>, ProtocolError> {
        self.reader.poll_message(&mut self.conn)
    }

    /// Queues the frames the connection wants to send on its own (pongs, Close replies,
    /// keepalive pings) — unless more than the high-water mark is already queued: then
    /// the connection keeps them (at most [`MAX_QUEUED_PONGS`](crate::MAX_QUEUED_PONGS)
    /// pongs, the latest) until the peer reads, so a peer that floods pings and never
    /// reads cannot grow the queue. A Close frame always goes.
    #[inline]
    pub(crate) fn queue_control(&mut self) {
        if self.conn.wants_transmit() {
            self.queue_control_now();
        }
    }

    #[cold]
    fn queue_control_now(&mut self) {
        if self.writer.len() < self.high_water || self.conn.close_pending() {
            let conn = &mut self.conn;
            self.writer.encode(|out| conn.poll_transmit(out));
        }
    }

    /// Whether the queue is past the high-water mark: stop reading until it drains.
    #[inline]
    pub(crate) fn write_blocked(&self) -> bool {
        self.writer.len() >= self.high_water
    }

    /// The time on the connection's clock.
    pub(crate) fn now(&mut self) -> Duration {
        self.epoch().elapsed()
    }

    fn epoch(&mut self) -> Instant {
        *self.epoch.get_or_insert_with(Instant::now)
    }

    /// Advances the connection's clock, queueing whatever a deadline produced.
    pub(crate) fn tick(&mut self) -> Option<Timeout> {
        let now = self.now();
        let fired = self.conn.handle_timeout(now);
        self.queue_control();
        fired
    }

    /// When the next deadline falls, as an `Instant`.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn deadline(&mut self) -> Option<Instant> {
        let after = self.conn.poll_timeout()?;
        Some(self.epoch() + after)
    }

    /// Queues a message.
    #[inline]
    pub(crate) fn encode(&mut self, message: Message) -> Result<(), Error> {
        let conn = &mut self.conn;
        match message {
            Message::Text(text) => self.send_data(MessageKind::Text, text.into_bytes())?,
            Message::Binary(data) => self.send_data(MessageKind::Binary, data)?,
            Message::Ping(p) => self.writer.encode(|out| conn.send_ping(&p, out))?,
            Message::Pong(p) => self.writer.encode(|out| conn.send_pong(&p, out))?,
            Message::Close(Some(frame)) => self
                .writer
                .encode(|out| conn.close(frame.code, &frame.reason, out))?,
            Message::Close(None) => self
                .writer
                .encode(|out| conn.close(CloseCode::NO_STATUS_RECEIVED, "", out))?,
        }
        Ok(())
    }

    /// Queues a prepared message: a server's shared frame as it is (copied behind the
    /// frames before it when small, which a vectored write would not save).
    pub(crate) fn encode_prepared(
        &mut self,
        message: &crate::PreparedMessage,
    ) -> Result<(), Error> {
        let conn = &mut self.conn;
        if let Some(frame) = self.writer.encode(|out| conn.send_prepared(message, out))? {
            if frame.len() < SHARED_MIN {
                self.writer.encode(|out| out.extend_from_slice(&frame));
            } else {
                self.writer.push_shared(frame);
            }
        }
        Ok(())
    }

    /// Queues a data message: a large server payload after its header, without a copy;
    /// a whole uncompressed message as one frame appended to the queue (header, then the
    /// payload, masked in the same pass for a client); anything else (compressed,
    /// fragmented) through [`Connection::send_message`].
    #[inline(always)]
    fn send_data(&mut self, kind: MessageKind, payload: Bytes) -> Result<(), UsageError> {
        let len = payload.len();
        if !self.one_plain_frame(len) {
            return self.send_framed(kind, &payload);
        }
        let conn = &mut self.conn;
        if len >= SHARED_MIN && conn.role() == Role::Server {
            self.writer
                .encode(|out| conn.append_message_header(kind, len, out))?;
            self.writer.push_shared(payload);
            return Ok(());
        }
        // The hot path of `send`: no closure, no call the compiler might keep out of line.
        let out = self.writer.tail();
        let before = out.len();
        out.reserve(crate::frame::MAX_HEADER_LEN + len);
        match conn.append_message_header(kind, len, out)? {
            // A server payload here is below `SHARED_MIN`.
            None => out.extend_from_slice(&payload),
            Some(key) => crate::mask::extend_masked(out, &payload, key),
        }
        let appended = out.len() - before;
        self.writer.appended(appended);
        Ok(())
    }

    /// For a large server data message, when nothing is queued: its header, checked and
    /// encoded as [`send_data`](Driver::send_data) would, so that the caller can write
    /// header and payload in one vectored write with no trip through the queue (then
    /// [`queue_unwritten`](Driver::queue_unwritten) what the write left). `None`: encode
    /// the message as usual.
    #[inline]
    pub(crate) fn direct_header(
        &mut self,
        message: &Message,
    ) -> Result<Option<crate::connection::EncodedHeader>, UsageError> {
        let (kind, len) = match message {
            Message::Binary(data) => (MessageKind::Binary, data.len()),
            Message::Text(text) => (MessageKind::Text, text.len()),
            _ => return Ok(None),
        };
        if len < SHARED_MIN
            || self.conn.role() != Role::Server
            || !self.writer.is_empty()
            || !self.one_plain_frame(len)
        {
            return Ok(None);
        }
        self.conn.encode_message_header(kind, len as u64).map(Some)
    }

    /// Whether a data message of `len` bytes goes out as one uncompressed frame (not
    /// fragmented by `fragment_size`, not compressed by permessage-deflate).
    #[inline(always)]
    fn one_plain_frame(&self, len: usize) -> bool {
        self.conn.config().fragment_size.is_none() && !self.conn.would_compress(len)
    }

    /// Queues what a direct write of `header` + `payload` left unwritten (`written` bytes
    /// went out).
    pub(crate) fn queue_unwritten(&mut self, header: &[u8], payload: Bytes, written: usize) {
        if written < header.len() {
            self.writer
                .encode(|out| out.extend_from_slice(&header[written..]));
            self.writer.push_shared(payload);
        } else {
            let from = (written - header.len()).min(payload.len());
            self.writer.push_shared(payload.slice(from..));
        }
    }

    /// A message compressed or fragmented by the connection.
    #[inline(never)]
    fn send_framed(&mut self, kind: MessageKind, payload: &[u8]) -> Result<(), UsageError> {
        let conn = &mut self.conn;
        self.writer
            .encode(|out| conn.send_message(kind, payload, out))
    }

    /// What the end of the stream means for the application: `Ok` after a clean close.
    pub(crate) fn outcome(&self) -> Result<(), Error> {
        if self.conn.is_closed_cleanly() {
            Ok(())
        } else {
            Err(Error::AbnormalClosure)
        }
    }

    /// Releases buffers while the connection waits for input.
    pub(crate) fn release_idle(&mut self) {
        self.conn.release_idle();
        self.reader.release_idle();
        self.writer.release_if_empty();
    }

    /// The memory the adapter holds in buffers, in bytes of capacity.
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.reader.capacity() + self.writer.capacity()
    }
}
