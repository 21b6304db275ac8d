//! The part of every adapter that does no I/O: buffers, message assembly and the clock,
//! around one [`Connection`].

use std::time::{Duration, Instant};
use std::vec::Vec;

use super::Error;
use super::buffer::{ReadBuffer, WriteBuffer};
use crate::connection::{Connection, Event, MessageKind, Role, Timeout};
use crate::error::ProtocolError;
use crate::message::{Message, MessageAssembler};

/// The most reserved ahead for a frame's announced payload: a peer that announces a huge
/// frame and then sends slowly does not get memory it has not sent.
const RESERVE_MAX: u64 = 1 << 20;

/// The least payload still to come of a frame for which a read goes straight into the
/// message being assembled instead of the read buffer (saving a copy).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
const DIRECT_MIN: u64 = 4 * 1024;

/// What buffered input amounted to.
pub(crate) enum Step {
    /// A whole message (data, ping, pong or the peer's Close).
    Message(Message),
    /// Everything buffered was consumed; read more.
    NeedInput,
    /// The peer broke the protocol; the Close frame is queued.
    Failed(ProtocolError),
}

/// A piece of input for streaming reads: data stays in the read buffer (by position).
pub(crate) enum Piece {
    /// Message data at `start..start + len` of the read buffer, or of the inflate buffer
    /// when `inflated`.
    Data {
        kind: MessageKind,
        start: usize,
        len: usize,
        fin: bool,
        inflated: bool,
    },
    /// A ping, pong or Close.
    Control(Message),
    NeedInput,
    Failed(ProtocolError),
}

#[derive(Debug)]
pub(crate) struct Driver {
    pub(crate) conn: Connection,
    pub(crate) rbuf: ReadBuffer,
    pub(crate) wbuf: WriteBuffer,
    assembler: MessageAssembler,
    epoch: Instant,
    /// The end of the stream was reported to the application.
    pub(crate) finished: bool,
    /// The subprotocol agreed in the handshake.
    pub(crate) protocol: Option<std::string::String>,
    /// Bytes of the last streamed piece, consumed once the caller is done with it.
    deferred: usize,
    /// Inflated data of compressed messages (permessage-deflate), one event at a time.
    inflated: Vec<u8>,
    /// The write buffer ends with a frame header whose payload is written separately:
    /// nothing may be queued behind it until that payload is out.
    pub(crate) payload_pending: bool,
    /// Bytes read straight into the message being assembled ([`Driver::direct_spare`]),
    /// not yet passed through the connection.
    direct: usize,
}

impl Driver {
    pub(crate) fn new(conn: Connection, leftover: &[u8]) -> Driver {
        let mut driver = Driver {
            conn,
            rbuf: ReadBuffer::default(),
            wbuf: WriteBuffer::default(),
            assembler: MessageAssembler::new(),
            epoch: Instant::now(),
            finished: false,
            protocol: None,
            deferred: 0,
            inflated: Vec::new(),
            payload_pending: false,
            direct: 0,
        };
        if !leftover.is_empty() {
            driver.rbuf.extend(leftover);
        }
        driver.conn.handle_timeout(Duration::ZERO);
        driver
    }

    /// Decodes buffered input until a message is complete or the input runs out.
    #[inline]
    pub(crate) fn decode(&mut self) -> Step {
        self.release_piece();
        if self.direct != 0 {
            match self.decode_direct() {
                Step::NeedInput => {}
                step => return step,
            }
        }
        while !self.rbuf.is_empty() {
            match self
                .conn
                .receive_into(self.rbuf.unread(), &mut self.inflated)
            {
                Ok(r) => {
                    let consumed = r.consumed;
                    let Some(event) = r.event else {
                        self.rbuf.consume(consumed);
                        return Step::NeedInput;
                    };
                    // The rest of a large frame is on its way: make room for all of it
                    // before the first piece is copied, so the buffer never grows (and
                    // copies) on the way. Bounded by the frame limit, which the connection
                    // enforced at the header.
                    let pending = self.conn.pending_payload();
                    if pending > 0 {
                        let piece = match &event {
                            Event::TextChunk { payload, .. }
                            | Event::BinaryChunk { payload, .. } => payload.len(),
                            _ => 0,
                        };
                        self.assembler
                            .reserve(piece + pending.min(RESERVE_MAX) as usize);
                    }
                    let message = self.assembler.push(event);
                    self.rbuf.consume(consumed);
                    self.inflated.clear();
                    if let Some(message) = message {
                        return Step::Message(message);
                    }
                }
                Err(e) => {
                    let all = self.rbuf.unread().len();
                    self.rbuf.consume(all);
                    return Step::Failed(e);
                }
            }
        }
        Step::NeedInput
    }

    /// Where the next read should go when it can skip the read buffer: the rest of a large
    /// frame of the message being assembled, with nothing else buffered, is read straight
    /// into that message. `None` means "read into the read buffer".
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn direct_spare(&mut self) -> Option<&mut [u8]> {
        if !self.rbuf.is_empty() || self.deferred != 0 || self.direct != 0 {
            return None;
        }
        self.assembler.in_progress()?;
        // Zero for a compressed message, whose bytes must be inflated elsewhere.
        let pending = self.conn.pending_payload();
        if pending < DIRECT_MIN {
            return None;
        }
        Some(self.assembler.spare(pending.min(RESERVE_MAX) as usize))
    }

    /// Records `n` bytes read into [`direct_spare`](Driver::direct_spare); the next
    /// [`decode`](Driver::decode) passes them through the connection.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn filled_direct(&mut self, n: usize) {
        self.direct = n;
    }

    /// Passes bytes read straight into the message through the connection, which unmasks
    /// (and for text validates) them in place: they are all payload of the current frame,
    /// so they come back as one chunk, at the same place.
    fn decode_direct(&mut self) -> Step {
        let n = std::mem::take(&mut self.direct);
        let input = self.assembler.spare(n);
        let (len, fin) = match self.conn.receive_into(input, &mut self.inflated) {
            Ok(r) => match r.event {
                Some(Event::TextChunk { payload, fin } | Event::BinaryChunk { payload, fin }) => {
                    debug_assert_eq!((payload.len(), r.consumed), (n, n));
                    (payload.len(), fin)
                }
                _ => {
                    debug_assert!(false, "payload bytes of a frame gave another event");
                    (0, false)
                }
            },
            Err(e) => return Step::Failed(e),
        };
        match self.assembler.commit(len, fin) {
            Some(message) => Step::Message(message),
            None => Step::NeedInput,
        }
    }

    /// Decodes the next piece of input without assembling messages: data is left in the
    /// read buffer (consumed on the next call), so a large message streams through.
    pub(crate) fn decode_piece(&mut self) -> Piece {
        self.release_piece();
        if self.rbuf.is_empty() {
            return Piece::NeedInput;
        }
        let base = self.rbuf.start();
        let unread = self.rbuf.unread();
        let (origin, end) = (
            unread.as_ptr() as usize,
            unread.as_ptr() as usize + unread.len(),
        );
        match self.conn.receive_into(unread, &mut self.inflated) {
            Ok(r) => {
                // Where a data slice lives: in the read buffer, or else in the inflate buffer,
                // which `release_piece` emptied, so inflated data starts at its index 0.
                let locate = |data: &[u8], kind, fin| {
                    let p = data.as_ptr() as usize;
                    let in_rbuf = (origin..end).contains(&p) || (p == end && data.is_empty());
                    Piece::Data {
                        kind,
                        start: if in_rbuf { base + (p - origin) } else { 0 },
                        len: data.len(),
                        fin,
                        inflated: !in_rbuf,
                    }
                };
                let piece = match r.event {
                    None => Piece::NeedInput,
                    Some(Event::Text(text)) => locate(text.as_bytes(), MessageKind::Text, true),
                    Some(Event::Binary(data)) => locate(data, MessageKind::Binary, true),
                    Some(Event::TextChunk { payload, fin }) => {
                        locate(payload, MessageKind::Text, fin)
                    }
                    Some(Event::BinaryChunk { payload, fin }) => {
                        locate(payload, MessageKind::Binary, fin)
                    }
                    Some(other) => match Message::from_event(&other) {
                        Some(message) => Piece::Control(message),
                        None => Piece::NeedInput,
                    },
                };
                self.deferred = r.consumed;
                if !matches!(piece, Piece::Data { .. }) {
                    self.release_piece();
                }
                piece
            }
            Err(e) => {
                let all = self.rbuf.unread().len();
                self.rbuf.consume(all);
                Piece::Failed(e)
            }
        }
    }

    /// The bytes of a [`Piece::Data`].
    pub(crate) fn piece_data(&self, start: usize, len: usize, inflated: bool) -> &[u8] {
        if inflated {
            &self.inflated[start..start + len]
        } else {
            self.rbuf.slice(start, len)
        }
    }

    /// Consumes the bytes of the last streamed piece.
    pub(crate) fn release_piece(&mut self) {
        let n = std::mem::take(&mut self.deferred);
        self.rbuf.consume(n);
        self.inflated.clear();
    }

    /// Queues the frames the connection wants to send (pongs, Close replies, pings).
    #[inline]
    pub(crate) fn queue_control(&mut self) {
        if self.conn.wants_transmit() && !self.payload_pending {
            self.conn.poll_transmit(&mut self.wbuf.buf);
        }
    }

    /// The time on the connection's clock.
    pub(crate) fn now(&self) -> Duration {
        self.epoch.elapsed()
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
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.conn.poll_timeout().map(|d| self.epoch + d)
    }

    /// Appends a message to the write buffer.
    pub(crate) fn encode(&mut self, message: &Message) -> Result<(), Error> {
        let out = &mut self.wbuf.buf;
        match message {
            Message::Text(t) => self.conn.send_text(t, out)?,
            Message::Binary(b) => self.conn.send_binary(b, out)?,
            Message::Ping(p) => self.conn.send_ping(p, out)?,
            Message::Pong(p) => self.conn.send_pong(p, out)?,
            Message::Close { code, reason } => self.conn.close(*code, reason, out)?,
        }
        Ok(())
    }

    /// What the end of the stream means for the application: `Ok` after a clean close.
    pub(crate) fn outcome(&self) -> Result<(), Error> {
        if self.conn.is_closed_cleanly() {
            Ok(())
        } else {
            Err(Error::AbnormalClosure)
        }
    }

    pub(crate) fn is_server(&self) -> bool {
        self.conn.role() == Role::Server
    }

    /// Releases buffers while the connection waits for input.
    pub(crate) fn release_idle(&mut self) {
        self.conn.release_idle();
        self.rbuf.release_if_empty();
        self.wbuf.release_if_empty();
        if self.inflated.is_empty() && self.inflated.capacity() != 0 {
            self.inflated = Vec::new();
        }
    }
}
