//! The connection state machine: bytes in, events out; messages in, bytes out.

mod send;
mod state;
mod timer;

pub use send::EncodedHeader;
pub use state::State;
pub use timer::Timeout;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::close::CloseCode;
use crate::config::Config;
use crate::error::ProtocolError;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, OpCode, Status};
use crate::mask::apply_mask;
use crate::utf8::{self, Utf8Validator};
use state::{Ending, Lifecycle};
use timer::Timers;

/// Which end of the connection this is. It decides masking (RFC 6455 §5.1) and who closes
/// the transport first (§7.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Accepted the connection; receives masked frames, sends unmasked ones.
    Server,
    /// Opened the connection; sends masked frames, receives unmasked ones.
    Client,
}

/// The two kinds of data message (RFC 6455 §5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode %x1).
    Text,
    /// Arbitrary bytes (opcode %x2).
    Binary,
}

impl MessageKind {
    fn opcode(self) -> OpCode {
        match self {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}

/// Supplies the masking keys a client puts on every frame.
///
/// RFC 6455 §5.3: "The masking key needs to be unpredictable; thus, the masking key MUST be
/// derived from a strong source of entropy". With the `std` feature,
/// [`Connection::new`] uses the operating system's generator; without it, pass one to
/// [`Connection::with_mask_source`]. Any `FnMut() -> [u8; 4]` is a `MaskSource`.
pub trait MaskSource {
    /// The next 32-bit masking key.
    fn next_key(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4]> MaskSource for F {
    fn next_key(&mut self) -> [u8; 4] {
        self()
    }
}

/// The mask source of servers, which never mask.
struct NoMasks;

impl MaskSource for NoMasks {
    fn next_key(&mut self) -> [u8; 4] {
        [0; 4]
    }
}

/// Mask keys from the thread-local CSPRNG seeded by the operating system.
#[cfg(feature = "std")]
struct OsMasks;

#[cfg(feature = "std")]
impl MaskSource for OsMasks {
    fn next_key(&mut self) -> [u8; 4] {
        rand::random()
    }
}

/// Something the peer sent, borrowed from the buffer given to [`Connection::receive`].
///
/// A data message arrives either whole ([`Event::Text`], [`Event::Binary`]: the message
/// was one frame and that frame was entirely in the buffer) or in chunks
/// ([`Event::TextChunk`], [`Event::BinaryChunk`]: one per frame or per piece of a frame
/// that arrived in pieces, the last with `fin` set). Concatenating a message's chunks gives
/// the message; [`MessageAssembler`](crate::MessageAssembler) does that for you.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A whole text message, validated as UTF-8.
    Text(&'a str),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// A piece of a text message. Chunks may split a UTF-8 sequence, but everything
    /// delivered so far is a valid UTF-8 prefix and the complete message is valid UTF-8.
    TextChunk {
        /// The piece's bytes.
        payload: &'a [u8],
        /// This is the message's last piece.
        fin: bool,
    },
    /// A piece of a binary message.
    BinaryChunk {
        /// The piece's bytes.
        payload: &'a [u8],
        /// This is the message's last piece.
        fin: bool,
    },
    /// A ping. Unless `auto_pong` is off, the pong is already queued: call
    /// [`poll_transmit`](Connection::poll_transmit) before sending anything else in
    /// response, so that the pong goes out in order.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's Close frame. `code` is 1005 ([`CloseCode::NO_STATUS_RECEIVED`]) when the
    /// frame carried none (§7.1.5). The reply is queued for
    /// [`poll_transmit`](Connection::poll_transmit).
    Close {
        /// The status code.
        code: CloseCode,
        /// The reason, possibly empty.
        reason: &'a str,
    },
}

/// The result of one [`Connection::receive`] call.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub struct Received<'a> {
    /// How many bytes at the start of the buffer were used. Discard them; pass the rest
    /// again (with more bytes appended) on the next call.
    pub consumed: usize,
    /// What those bytes meant, or `None` when the buffer holds no further complete unit:
    /// read more input before calling again.
    pub event: Option<Event<'a>>,
}

/// A control frame payload kept until it can be sent (at most 125 bytes, §5.5).
#[derive(Clone, Copy)]
struct ControlPayload {
    len: u8,
    bytes: [u8; MAX_CONTROL_PAYLOAD],
}

impl ControlPayload {
    fn new(parts: &[&[u8]]) -> ControlPayload {
        let mut p = ControlPayload {
            len: 0,
            bytes: [0; MAX_CONTROL_PAYLOAD],
        };
        for part in parts {
            let start = p.len as usize;
            let end = (start + part.len()).min(MAX_CONTROL_PAYLOAD);
            p.bytes[start..end].copy_from_slice(&part[..end - start]);
            p.len = end as u8;
        }
        p
    }

    fn close(code: CloseCode, reason: &str) -> ControlPayload {
        if code == CloseCode::NO_STATUS_RECEIVED {
            return ControlPayload::new(&[]);
        }
        ControlPayload::new(&[&code.as_u16().to_be_bytes(), reason.as_bytes()])
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// Pongs kept while waiting for [`Connection::poll_transmit`]; beyond this, the oldest are
/// dropped (RFC 6455 §5.5.3 allows answering only the most recent ping), so a ping flood
/// from a peer that does not read costs at most about 2 KiB.
pub const MAX_QUEUED_PONGS: usize = 16;

/// Control frames the connection wants to send on its own.
#[derive(Default)]
struct Pending {
    /// Allocated only while pongs wait, and freed when they are sent.
    pongs: alloc::vec::Vec<ControlPayload>,
    ping: bool,
    /// Boxed: needed once per connection, at its end.
    close: Option<Box<ControlPayload>>,
}

/// Decoding state between frames and across partial frames.
#[derive(Default)]
struct Receiver {
    /// Payload bytes of the current data frame not yet delivered; `in_frame` tells whether
    /// there is a current data frame at all.
    remaining: u64,
    in_frame: bool,
    frame_fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes of the current frame delivered so far, modulo 4.
    mask_offset: u8,
    /// The kind of the message being received, if one is in progress.
    message: Option<MessageKind>,
    message_len: u64,
    fragments: u32,
    /// Some chunk of the current message was already delivered.
    delivered: bool,
    utf8: Utf8Validator,
    /// The current message is compressed (RSV1 on its first frame, RFC 7692 §6).
    compressed: bool,
    /// Bytes inflated so far for the current compressed message.
    inflated: u64,
}

/// The state of a fragmented message being sent.
#[derive(Default)]
struct Sender {
    message: Option<MessageKind>,
}

/// One WebSocket connection, after the opening handshake: a pure state machine.
///
/// It owns no buffers and performs no I/O. Drive it like this:
///
/// 1. **Input.** Append bytes read from the transport to a buffer and call
///    [`receive`](Connection::receive) on the unread part, repeatedly, until it returns no
///    event. Each call unmasks in place, validates, and returns how many bytes it used plus
///    at most one [`Event`] borrowed from the buffer. On end of input, call
///    [`receive_eof`](Connection::receive_eof).
/// 2. **Output.** Messages go out with [`send_text`](Connection::send_text),
///    [`send_binary`](Connection::send_binary), [`send_fragment`](Connection::send_fragment),
///    [`send_ping`](Connection::send_ping) and [`close`](Connection::close), which append
///    whole frames to a `Vec<u8>` you own. After input (and after timeouts), call
///    [`poll_transmit`](Connection::poll_transmit) for the frames the connection wants to
///    send itself: pongs, keepalive pings, Close replies. Write the bytes to the transport.
/// 3. **Time.** If deadlines are configured, call
///    [`handle_timeout`](Connection::handle_timeout) with the current time after each
///    batch of input and whenever [`poll_timeout`](Connection::poll_timeout) passes.
/// 4. **End.** When [`should_close_transport`](Connection::should_close_transport) turns
///    true, close the transport.
///
/// Protocol violations come back from `receive` as [`ProtocolError`]s, after the connection
/// queued the matching Close frame (send it with `poll_transmit`).
pub struct Connection {
    role: Role,
    config: Config,
    life: Lifecycle,
    rx: Receiver,
    tx: Sender,
    pending: Pending,
    timers: Timers,
    masks: Box<dyn MaskSource + Send>,
    /// RSV bits (in their header positions, 0x70) a negotiated extension defines.
    allowed_rsv: u8,
    failure: Option<ProtocolError>,
    /// permessage-deflate, once negotiated.
    #[cfg(feature = "deflate")]
    deflate: Option<Box<crate::deflate::Codec>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.life.state)
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection in the given role. A client draws its mask keys from the operating
    /// system's random generator.
    #[cfg(feature = "std")]
    pub fn new(role: Role, config: Config) -> Connection {
        match role {
            Role::Server => Connection::with_mask_source(role, config, NoMasks),
            Role::Client => Connection::with_mask_source(role, config, OsMasks),
        }
    }

    /// A connection that draws its mask keys (used only by clients) from `masks`.
    pub fn with_mask_source(
        role: Role,
        config: Config,
        masks: impl MaskSource + Send + 'static,
    ) -> Connection {
        let masks: Box<dyn MaskSource + Send> = match role {
            Role::Server => Box::new(NoMasks),
            Role::Client => Box::new(masks),
        };
        Connection {
            role,
            config,
            life: Lifecycle::new(),
            rx: Receiver::default(),
            tx: Sender::default(),
            pending: Pending::default(),
            timers: Timers::default(),
            masks,
            allowed_rsv: 0,
            failure: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.life.state
    }

    /// The protocol error that failed the connection, if one did.
    pub fn failure(&self) -> Option<&ProtocolError> {
        self.failure.as_ref()
    }

    /// The code of the peer's Close frame, once one arrived.
    pub fn peer_close_code(&self) -> Option<CloseCode> {
        self.life.peer_code
    }

    /// Whether both Close frames were exchanged (RFC 6455 §7.1.4 "closed cleanly").
    pub fn is_closed_cleanly(&self) -> bool {
        self.life.ending == Ending::Clean
    }

    /// Whether the transport should be closed now: the close handshake is over (a server
    /// closes first, a client waits for the server or the close timeout), the connection
    /// failed, or the transport already ended. Write out
    /// [`poll_transmit`](Connection::poll_transmit)'s bytes before closing.
    pub fn should_close_transport(&self) -> bool {
        self.life.transport_done(self.role == Role::Client)
    }

    /// Processes bytes from the peer, unmasking them in place.
    ///
    /// Returns how many bytes were used and at most one event. Call again with the unused
    /// rest (plus any newly read bytes) until `event` is `None`, which means more input is
    /// needed. A partial frame header or control frame is never consumed; the payload of a
    /// data frame is delivered as soon as it arrives.
    ///
    /// Once the peer's Close frame arrived, or the connection failed, input is discarded.
    ///
    /// # Errors
    ///
    /// A [`ProtocolError`] when the peer broke RFC 6455 or a configured limit. The
    /// connection is then [`State::Closed`] with a Close frame carrying
    /// [`ProtocolError::close_code`] queued for [`poll_transmit`](Connection::poll_transmit).
    #[inline]
    pub fn receive<'a>(&mut self, buf: &'a mut [u8]) -> Result<Received<'a>, ProtocolError> {
        self.receive_inner(buf, None)
    }

    /// [`receive`](Connection::receive) for a connection with permessage-deflate enabled:
    /// the data of compressed messages is inflated and appended to `inflated` (a buffer
    /// the caller owns, and may clear between calls or keep to collect a whole message),
    /// and their events borrow from it. Data of uncompressed messages is borrowed from
    /// `buf` as usual, so without permessage-deflate this is exactly `receive`.
    ///
    /// The inflated size counts against `max_message_size` while inflating, so a small
    /// compressed frame cannot allocate more (RFC 7692 §8.2 "decompression bombs").
    #[inline]
    pub fn receive_into<'a>(
        &mut self,
        buf: &'a mut [u8],
        inflated: &'a mut Vec<u8>,
    ) -> Result<Received<'a>, ProtocolError> {
        self.receive_inner(buf, Some(inflated))
    }

    #[inline]
    fn receive_inner<'a>(
        &mut self,
        buf: &'a mut [u8],
        inflated: Option<&'a mut Vec<u8>>,
    ) -> Result<Received<'a>, ProtocolError> {
        if !self.life.may_receive() {
            return Ok(Received {
                consumed: buf.len(),
                event: None,
            });
        }
        if self.rx.in_frame {
            return self.receive_payload(buf, 0, inflated);
        }
        self.receive_frame(buf, inflated)
    }

    /// Payload bytes of the data frame being received that have not arrived yet (0 between
    /// frames, and for compressed messages, whose inflated size is unknown): a hint for
    /// reserving memory before the rest of a large message arrives.
    pub fn pending_payload(&self) -> u64 {
        if self.rx.in_frame && !self.rx.compressed {
            self.rx.remaining
        } else {
            0
        }
    }

    /// Reports that the transport has no more input. Before a clean close this is an
    /// abnormal closure (1006).
    pub fn receive_eof(&mut self) {
        self.life.on_eof();
    }

    #[inline]
    fn receive_frame<'a>(
        &mut self,
        buf: &'a mut [u8],
        inflated: Option<&'a mut Vec<u8>>,
    ) -> Result<Received<'a>, ProtocolError> {
        let (header, header_len) = match FrameHeader::decode(buf) {
            Ok(Status::Complete(h)) => h,
            Ok(Status::Partial) => return Ok(need_more(0)),
            Err(e) => return Err(self.fail(e)),
        };
        // §5.1: "The server MUST close the connection upon receiving a frame that is not
        // masked. [...] A client MUST close a connection if it detects a masked frame."
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(self.fail(ProtocolError::UnmaskedFrame)),
            (Role::Client, true) => return Err(self.fail(ProtocolError::MaskedFrame)),
            _ => {}
        }
        // §5.2: "RSV1, RSV2, RSV3: 1 bit each. MUST be 0 unless an extension is negotiated
        // that defines meanings for non-zero values. If a nonzero value is received and none
        // of the negotiated extensions defines the meaning of such a nonzero value, the
        // receiving endpoint MUST _Fail the WebSocket Connection_."
        if buf[0] & 0x70 & !self.allowed_rsv != 0 {
            return Err(self.fail(ProtocolError::ReservedBits));
        }
        // RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control
        // frames and non-first fragments of a data message. An endpoint receiving such a
        // frame MUST _Fail the WebSocket Connection_."
        if header.rsv1 && (header.opcode == OpCode::Continuation || header.opcode.is_control()) {
            return Err(self.fail(ProtocolError::ReservedBits));
        }
        self.timers.on_activity();
        if header.opcode.is_control() {
            // Decoding guaranteed payload_len <= 125.
            let end = header_len + header.payload_len as usize;
            let Some(payload) = buf.get_mut(header_len..end) else {
                return Ok(need_more(0));
            };
            if let Some(key) = header.mask {
                apply_mask(payload, key, 0);
            }
            let event = self.receive_control(header.opcode, payload)?;
            return Ok(Received {
                consumed: end,
                event: Some(event),
            });
        }
        self.start_data_frame(&header)?;
        self.receive_payload(buf, header_len, inflated)
    }

    /// Checks a data frame's header against the message in progress and the limits.
    #[inline]
    fn start_data_frame(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        let kind = match (header.opcode, self.rx.message) {
            // §5.4: "a message [...] consists of a single frame with the FIN bit clear and an
            // opcode other than 0, followed by zero or more frames with the FIN bit clear and
            // the opcode set to 0, and terminated by a single frame with the FIN bit set and
            // an opcode of 0."
            (OpCode::Continuation, None) => {
                return Err(self.fail(ProtocolError::UnexpectedContinuation));
            }
            (OpCode::Continuation, Some(kind)) => kind,
            (_, Some(_)) => return Err(self.fail(ProtocolError::ExpectedContinuation)),
            (OpCode::Text, None) => MessageKind::Text,
            (_, None) => MessageKind::Binary,
        };
        let len = header.payload_len;
        if len > self.config.max_frame_size {
            let limit = self.config.max_frame_size;
            return Err(self.fail(ProtocolError::FrameTooLarge { limit }));
        }
        let message_len = self.rx.message_len.saturating_add(len);
        if message_len > self.config.max_message_size {
            let limit = self.config.max_message_size;
            return Err(self.fail(ProtocolError::MessageTooLarge { limit }));
        }
        if self.rx.fragments >= self.config.max_fragments {
            let limit = self.config.max_fragments;
            return Err(self.fail(ProtocolError::TooManyFragments { limit }));
        }
        if header.opcode != OpCode::Continuation {
            self.rx.compressed = header.rsv1;
        }
        self.rx.message = Some(kind);
        self.rx.message_len = message_len;
        self.rx.fragments += 1;
        self.rx.in_frame = true;
        self.rx.remaining = len;
        self.rx.frame_fin = header.fin;
        self.rx.mask = header.mask;
        self.rx.mask_offset = 0;
        Ok(())
    }

    /// Delivers the current data frame's payload from `buf[start..]`.
    #[inline]
    fn receive_payload<'a>(
        &mut self,
        buf: &'a mut [u8],
        start: usize,
        inflated: Option<&'a mut Vec<u8>>,
    ) -> Result<Received<'a>, ProtocolError> {
        let available = buf.len() - start;
        let n = if self.rx.remaining < available as u64 {
            self.rx.remaining as usize
        } else {
            available
        };
        if n == 0 && self.rx.remaining != 0 {
            return Ok(need_more(start));
        }
        let end = start + n;
        let payload = &mut buf[start..end];
        self.rx.remaining -= n as u64;
        let frame_done = self.rx.remaining == 0;
        if frame_done {
            self.rx.in_frame = false;
        }
        let fin = frame_done && self.rx.frame_fin;
        let whole = fin && !self.rx.delivered;
        let mask = self.rx.mask;
        let offset = self.rx.mask_offset as usize;
        self.rx.mask_offset = ((offset + n) % 4) as u8;
        // A large whole text message: unmask and validate block by block, in cache.
        if whole
            && !self.rx.compressed
            && self.rx.message == Some(MessageKind::Text)
            && n > 16 * 1024
        {
            let unmasked = utf8::transform_and_validate(payload, |block, at| {
                if let Some(key) = mask {
                    apply_mask(block, key, offset + at);
                }
            });
            return match unmasked {
                Ok(text) => {
                    self.end_message();
                    Ok(Received {
                        consumed: end,
                        event: Some(Event::Text(text)),
                    })
                }
                Err(_) => Err(self.fail(ProtocolError::InvalidUtf8)),
            };
        }
        if let Some(key) = mask {
            apply_mask(payload, key, offset);
        }
        let payload: &'a [u8] = if self.rx.compressed {
            self.inflate(payload, fin, inflated)?
        } else {
            payload
        };
        let event = match self.rx.message {
            Some(MessageKind::Text) if whole => match utf8::validate(payload) {
                Ok(text) => Event::Text(text),
                Err(_) => return Err(self.fail(ProtocolError::InvalidUtf8)),
            },
            Some(MessageKind::Text) => {
                // §8.1: fail as soon as the bytes seen cannot be valid UTF-8, not at the end.
                let valid =
                    self.rx.utf8.feed(payload).is_ok() && (!fin || self.rx.utf8.finish().is_ok());
                if !valid {
                    return Err(self.fail(ProtocolError::InvalidUtf8));
                }
                Event::TextChunk { payload, fin }
            }
            _ if whole => Event::Binary(payload),
            _ => Event::BinaryChunk { payload, fin },
        };
        if fin {
            self.end_message();
        } else {
            self.rx.delivered = true;
        }
        Ok(Received {
            consumed: end,
            event: Some(event),
        })
    }

    /// The current message is complete: reset the per-message state.
    #[inline]
    fn end_message(&mut self) {
        self.rx.message = None;
        self.rx.message_len = 0;
        self.rx.fragments = 0;
        self.rx.delivered = false;
        self.rx.compressed = false;
        self.rx.inflated = 0;
    }

    /// Inflates a piece of a compressed message into the caller's buffer.
    #[cfg(feature = "deflate")]
    fn inflate<'a>(
        &mut self,
        input: &[u8],
        last: bool,
        out: Option<&'a mut Vec<u8>>,
    ) -> Result<&'a [u8], ProtocolError> {
        let Some(out) = out else {
            return Err(self.fail(ProtocolError::InflateBufferMissing));
        };
        let Some(codec) = self.deflate.as_mut() else {
            return Err(self.fail(ProtocolError::ReservedBits));
        };
        let before = out.len();
        let room = self
            .config
            .max_message_size
            .saturating_sub(self.rx.inflated);
        let limit = before.saturating_add(usize::try_from(room).unwrap_or(usize::MAX));
        match codec.decompress(input, last, out, limit) {
            Ok(()) => {}
            Err(crate::deflate::InflateError::TooLarge) => {
                let limit = self.config.max_message_size;
                return Err(self.fail(ProtocolError::MessageTooLarge { limit }));
            }
            Err(crate::deflate::InflateError::Corrupt) => {
                return Err(self.fail(ProtocolError::InvalidCompressedData));
            }
        }
        self.rx.inflated += (out.len() - before) as u64;
        let out: &'a Vec<u8> = out;
        Ok(&out[before..])
    }

    /// Without the `deflate` feature no message is ever compressed (RSV1 is rejected).
    #[cfg(not(feature = "deflate"))]
    fn inflate<'a>(
        &mut self,
        _input: &[u8],
        _last: bool,
        _out: Option<&'a mut Vec<u8>>,
    ) -> Result<&'a [u8], ProtocolError> {
        Err(self.fail(ProtocolError::ReservedBits))
    }

    /// Handles a complete, unmasked control frame.
    fn receive_control<'a>(
        &mut self,
        opcode: OpCode,
        payload: &'a [u8],
    ) -> Result<Event<'a>, ProtocolError> {
        match opcode {
            OpCode::Ping => {
                // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
                // response, unless it already received a Close frame." §5.5.3: "A Pong frame
                // sent in response to a Ping frame must have identical "Application data"".
                if self.config.auto_pong && self.life.may_send_data() {
                    if self.pending.pongs.len() == MAX_QUEUED_PONGS {
                        self.pending.pongs.remove(0);
                    }
                    self.pending.pongs.push(ControlPayload::new(&[payload]));
                }
                Ok(Event::Ping(payload))
            }
            OpCode::Pong => Ok(Event::Pong(payload)),
            _ => {
                let (code, reason) = match self.parse_close(payload) {
                    Ok(parsed) => parsed,
                    Err(e) => return Err(self.fail(e)),
                };
                if self.life.on_close_received(code) {
                    // §5.5.1: "When sending a Close frame in response, the endpoint
                    // typically echos the status code it received."
                    self.pending.close = Some(Box::new(ControlPayload::close(code, "")));
                }
                Ok(Event::Close { code, reason })
            }
        }
    }

    /// §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
    /// unsigned integer [...] representing a status code [...] Following the 2-byte integer,
    /// the body MAY contain UTF-8-encoded data".
    fn parse_close<'a>(&self, payload: &'a [u8]) -> Result<(CloseCode, &'a str), ProtocolError> {
        match payload {
            [] => Ok((CloseCode::NO_STATUS_RECEIVED, "")),
            [_] => Err(ProtocolError::InvalidClosePayload),
            [hi, lo, reason @ ..] => {
                let code = CloseCode::new(u16::from_be_bytes([*hi, *lo]));
                // §7.4: codes outside the defined ranges, and the reserved 1005, 1006 and
                // 1015, are not valid in a Close frame.
                if !code.is_valid_on_wire() {
                    return Err(ProtocolError::InvalidCloseCode(code.as_u16()));
                }
                let reason = utf8::validate(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok((code, reason))
            }
        }
    }

    /// Fails the connection (§7.1.7): queue a Close with the error's code, stop receiving.
    #[cold]
    fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        if self.life.on_failure() {
            self.pending.close = Some(Box::new(ControlPayload::close(
                error.close_code(),
                error.reason(),
            )));
        }
        self.pending.pongs = alloc::vec::Vec::new();
        self.pending.ping = false;
        self.rx = Receiver::default();
        self.failure = Some(error.clone());
        error
    }

    /// Enables permessage-deflate with the parameters agreed in the handshake (see
    /// [`deflate`](crate::deflate)). From now on RSV1 marks compressed messages; use
    /// [`receive_into`](Connection::receive_into) to receive them.
    #[cfg(feature = "deflate")]
    pub fn enable_deflate(
        &mut self,
        params: &crate::deflate::DeflateParams,
        config: &crate::deflate::DeflateConfig,
    ) {
        let is_server = self.role == Role::Server;
        self.deflate = Some(Box::new(crate::deflate::Codec::new(
            params, config, is_server,
        )));
        self.allowed_rsv = 0x40;
    }

    /// Whether permessage-deflate is enabled.
    pub fn is_deflate_enabled(&self) -> bool {
        self.allowed_rsv & 0x40 != 0
    }
}

#[inline]
fn need_more<'a>(consumed: usize) -> Received<'a> {
    Received {
        consumed,
        event: None,
    }
}
