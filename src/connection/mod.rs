//! The connection state machine: bytes in, events out; messages in, bytes out.

mod recv;
mod send;
mod state;
mod timer;

pub use send::EncodedHeader;
pub use state::State;
pub use timer::Timeout;

use alloc::boxed::Box;
use core::fmt;

use crate::close::CloseCode;
use crate::config::Config;
use crate::error::ProtocolError;
use crate::frame::{MAX_CONTROL_PAYLOAD, OpCode};
use crate::utf8::Utf8Validator;
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
    pub(crate) fn opcode(self) -> OpCode {
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

/// Mask keys from the thread-local CSPRNG seeded by the operating system (`rand`'s
/// `ThreadRng`, ChaCha12), drawn 32 at a time into a per-thread batch: one call into the
/// generator per 32 frames instead of per frame (a third of the cost of sending a small
/// client frame otherwise), and nothing stored per connection.
#[cfg(feature = "std")]
struct OsMasks;

#[cfg(feature = "std")]
std::thread_local! {
    static MASK_KEYS: core::cell::RefCell<([[u8; 4]; 32], usize)> =
        const { core::cell::RefCell::new(([[0; 4]; 32], 32)) };
}

#[cfg(feature = "std")]
impl MaskSource for OsMasks {
    #[inline]
    fn next_key(&mut self) -> [u8; 4] {
        MASK_KEYS.with_borrow_mut(|(keys, next)| {
            if *next == keys.len() {
                rand::fill(keys.as_flattened_mut());
                *next = 0;
            }
            let key = keys[*next];
            *next += 1;
            key
        })
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
    /// After a receive that waited for a whole data frame: that frame's length.
    need: u64,
    /// Payload bytes of the incomplete frame at the start of the buffer already unmasked
    /// (and, for text, validated) in place while waiting for the rest.
    peeked: u64,
}

/// The state of a fragmented message being sent.
#[derive(Default)]
struct Sender {
    message: Option<MessageKind>,
}

/// One WebSocket connection, after the opening handshake: a pure state machine.
///
/// It performs no I/O, reads no clock and owns no buffers: you pass in bytes, the time
/// and (for clients) mask keys, and get back events and bytes to write. Its methods come
/// in four groups.
///
/// **Input** — what happened:
/// - [`receive`](Connection::receive) (or [`receive_into`](Connection::receive_into) with
///   permessage-deflate): bytes read from the transport; unmasks and validates in place
///   and returns how many bytes it used and at most one [`Event`] borrowed from them. Call
///   it on the unread rest until it returns no event. [`MessageReader`](crate::MessageReader)
///   does this for whole messages, on a buffer it owns, without copying.
/// - [`receive_eof`](Connection::receive_eof): the transport has no more input.
/// - [`handle_timeout`](Connection::handle_timeout): the current time (after each batch
///   of input, and when [`poll_timeout`](Connection::poll_timeout) passes).
///
/// **Output** — what to do, polled after every input:
/// - [`poll_transmit`](Connection::poll_transmit): the frames the connection wants sent
///   on its own (pongs, keepalive pings, Close replies and failures), appended to your
///   buffer.
/// - [`poll_timeout`](Connection::poll_timeout): when to call `handle_timeout` next.
/// - [`poll_close_transport`](Connection::poll_close_transport): whether to close the
///   transport now (after writing what `poll_transmit` gave).
///
/// **Sending** — your messages, appended as whole frames to a `Vec<u8>` you own:
/// [`send_text`](Connection::send_text), [`send_binary`](Connection::send_binary),
/// [`send_message`](Connection::send_message), [`send_fragment`](Connection::send_fragment),
/// [`send_ping`](Connection::send_ping), [`send_pong`](Connection::send_pong),
/// [`close`](Connection::close); without a copy of the payload:
/// [`encode_message_header`](Connection::encode_message_header) /
/// [`encode_header`](Connection::encode_header) (for a vectored write) and
/// [`send_prepared`](Connection::send_prepared) (a frame shared by many connections).
///
/// **State**: [`state`](Connection::state), [`failure`](Connection::failure),
/// [`peer_close_code`](Connection::peer_close_code),
/// [`is_closed_cleanly`](Connection::is_closed_cleanly), [`protocol`](Connection::protocol),
/// [`role`](Connection::role), [`config`](Connection::config).
///
/// The order, each time the transport is readable (or a deadline passes):
///
/// ```text
/// receive… (until no event) → handle_timeout(now) → poll_transmit(out) → write out
///   → poll_close_transport()? close : wait for input or poll_timeout()
/// ```
///
/// Errors say whose fault they are: a [`ProtocolError`] from `receive` is the peer's (the
/// matching Close frame is already queued for `poll_transmit`); a
/// [`UsageError`](crate::UsageError) from a send is yours (nothing was written, nothing is
/// sent to the peer).
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
    /// The subprotocol agreed in the handshake.
    protocol: Option<Box<str>>,
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
            protocol: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The subprotocol agreed in the opening handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Records the subprotocol agreed in the opening handshake
    /// ([`Accepted::into_connection`](crate::handshake::Accepted::into_connection) does).
    pub fn set_protocol(&mut self, protocol: Option<&str>) {
        self.protocol = protocol.map(Box::from);
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
    pub fn poll_close_transport(&self) -> bool {
        self.life.transport_done(self.role == Role::Client)
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

    /// Frees memory that only matters while messages flow — today the zlib state of a
    /// permessage-deflate direction without context takeover, recreated on the next
    /// message. Adapters call it when the transport has nothing to read.
    pub fn release_idle(&mut self) {
        #[cfg(feature = "deflate")]
        if let Some(codec) = &mut self.deflate {
            codec.release_idle();
        }
    }

    /// Whether permessage-deflate is enabled.
    pub fn is_deflate_enabled(&self) -> bool {
        self.allowed_rsv & 0x40 != 0
    }
}
