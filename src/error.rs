//! Errors, split by who is at fault.
//!
//! * [`ProtocolError`]: the peer violated RFC 6455 (or a configured limit). It carries the
//!   close code the connection sends while failing.
//! * [`UsageError`]: the caller asked for something the protocol does not allow in the
//!   current state (sending after a close, an oversized ping, ...). Nothing was sent.
//! * [`HandshakeError`](crate::handshake::HandshakeError) lives with the handshake.
//!
//! There is no `Io` variant: the core performs no I/O. Adapters wrap these in their own
//! error type.

use core::fmt;

use crate::close::CloseCode;

/// The peer broke the protocol, or exceeded a configured limit.
///
/// The connection has already queued a Close frame carrying [`ProtocolError::close_code`]
/// (RFC 6455 §7.1.7 "Fail the WebSocket Connection"); send it with
/// [`Connection::poll_transmit`](crate::Connection::poll_transmit), then close the transport.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame had an RSV bit set that no negotiated extension defines (§5.2).
    ReservedBits,
    /// A frame used a reserved opcode (§5.2).
    UnknownOpCode(u8),
    /// A control frame's payload was longer than 125 bytes (§5.5).
    ControlFrameTooLong,
    /// A control frame had FIN clear (§5.5).
    FragmentedControlFrame,
    /// A 64-bit payload length had its most significant bit set (§5.2).
    LengthOverflow,
    /// A payload length was not encoded in the minimal number of bytes (§5.2).
    NonMinimalLength,
    /// A server received an unmasked frame (§5.1).
    UnmaskedFrame,
    /// A client received a masked frame (§5.1).
    MaskedFrame,
    /// A continuation frame arrived with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame arrived while a fragmented message was in progress (§5.4).
    ExpectedContinuation,
    /// A text message, or a Close frame's reason, was not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A Close frame's payload was 1 byte long (§5.5.1).
    InvalidClosePayload,
    /// A Close frame carried a code that may not be sent (§7.4).
    InvalidCloseCode(u16),
    /// A frame's payload exceeded the configured `max_frame_size`.
    FrameTooLarge {
        /// The configured limit, in bytes.
        limit: u64,
    },
    /// A message exceeded the configured `max_message_size`.
    MessageTooLarge {
        /// The configured limit, in bytes.
        limit: u64,
    },
    /// A message arrived in more frames than the configured `max_fragments`.
    TooManyFragments {
        /// The configured limit, in frames.
        limit: u32,
    },
    /// A compressed message was not valid DEFLATE data (RFC 7692 §7.2.2).
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close code to send while failing the connection (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooLarge { .. }
            | ProtocolError::MessageTooLarge { .. }
            | ProtocolError::TooManyFragments { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short reason phrase, also used as the Close frame's reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ProtocolError::ReservedBits => "reserved bits set",
            ProtocolError::UnknownOpCode(_) => "unknown opcode",
            ProtocolError::ControlFrameTooLong => "control frame too long",
            ProtocolError::FragmentedControlFrame => "fragmented control frame",
            ProtocolError::LengthOverflow => "payload length overflow",
            ProtocolError::NonMinimalLength => "non-minimal payload length",
            ProtocolError::UnmaskedFrame => "unmasked client frame",
            ProtocolError::MaskedFrame => "masked server frame",
            ProtocolError::UnexpectedContinuation => "unexpected continuation frame",
            ProtocolError::ExpectedContinuation => "expected continuation frame",
            ProtocolError::InvalidUtf8 => "invalid UTF-8",
            ProtocolError::InvalidClosePayload => "invalid close payload",
            ProtocolError::InvalidCloseCode(_) => "invalid close code",
            ProtocolError::FrameTooLarge { .. } => "frame too large",
            ProtocolError::MessageTooLarge { .. } => "message too large",
            ProtocolError::TooManyFragments { .. } => "too many fragments",
            ProtocolError::InvalidCompressedData => "invalid compressed data",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::UnknownOpCode(op) => write!(f, "unknown opcode {op:#x}"),
            ProtocolError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            ProtocolError::FrameTooLarge { limit } => {
                write!(f, "frame larger than the limit of {limit} bytes")
            }
            ProtocolError::MessageTooLarge { limit } => {
                write!(f, "message larger than the limit of {limit} bytes")
            }
            ProtocolError::TooManyFragments { limit } => {
                write!(f, "message in more than {limit} fragments")
            }
            other => f.write_str(other.reason()),
        }?;
        write!(f, " (close code {})", self.close_code())
    }
}

impl core::error::Error for ProtocolError {}

/// The caller asked for something the protocol or the connection's state does not allow.
///
/// Nothing was written and the connection's state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// A Close frame was already sent, or the connection failed; no more data may be sent
    /// (RFC 6455 §5.5.1).
    Closed,
    /// A control frame payload (ping, pong, close code + reason) longer than 125 bytes (§5.5).
    ControlPayloadTooLong,
    /// A close code that may not be sent, such as 1005 or 1006 (§7.4.1).
    InvalidCloseCode(u16),
    /// A new message was started while a fragmented one was still being sent (§5.4).
    MessageInProgress,
    /// A fragment continued a different kind of message than the one in progress.
    FragmentKindMismatch,
    /// A client connection has no source of mask keys (no `std` feature and none given).
    NoMaskSource,
    /// Bytes were passed to a handshake that was already complete: bytes after the head
    /// belong to the WebSocket connection (take the handshake's `leftover()` once).
    HandshakeComplete,
    /// A frame payload of 2^63 bytes or more, which no frame header can announce (§5.2).
    PayloadTooLong,
    /// A compressed message arrived on a connection with permessage-deflate, and
    /// [`Connection::receive`](crate::Connection::receive) has nowhere to put its inflated
    /// data: use [`receive_into`](crate::Connection::receive_into). Nothing was consumed.
    InflateBufferMissing,
    /// A handshake argument that cannot be written as HTTP (e.g. CR/LF in a header value,
    /// a subprotocol the client did not offer, an invalid URL).
    InvalidHandshakeInput(&'static str),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::Closed => f.write_str("the connection is closing or closed"),
            UsageError::ControlPayloadTooLong => {
                f.write_str("control frame payload longer than 125 bytes")
            }
            UsageError::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            UsageError::MessageInProgress => {
                f.write_str("a fragmented message is still being sent")
            }
            UsageError::FragmentKindMismatch => {
                f.write_str("fragment does not match the message in progress")
            }
            UsageError::NoMaskSource => f.write_str("client connection has no mask key source"),
            UsageError::HandshakeComplete => {
                f.write_str("the handshake is complete; later bytes belong to the connection")
            }
            UsageError::PayloadTooLong => f.write_str("payload of 2^63 bytes or more"),
            UsageError::InflateBufferMissing => {
                f.write_str("a compressed message needs receive_into, not receive")
            }
            UsageError::InvalidHandshakeInput(what) => write!(f, "invalid handshake input: {what}"),
        }
    }
}

impl core::error::Error for UsageError {}

/// What [`Connection::receive`](crate::Connection::receive) reports: the peer's fault, or
/// the caller's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The peer broke the protocol or a limit: the connection failed and queued the Close
    /// frame carrying [`ProtocolError::close_code`].
    Protocol(ProtocolError),
    /// The caller's mistake (a compressed message passed to `receive` rather than
    /// `receive_into`): nothing was consumed, nothing is sent, the connection is unchanged.
    Usage(UsageError),
}

impl ReceiveError {
    /// The protocol error, if it was the peer's fault.
    pub fn protocol(&self) -> Option<&ProtocolError> {
        match self {
            ReceiveError::Protocol(e) => Some(e),
            ReceiveError::Usage(_) => None,
        }
    }
}

impl From<ProtocolError> for ReceiveError {
    fn from(e: ProtocolError) -> ReceiveError {
        ReceiveError::Protocol(e)
    }
}

impl PartialEq<ProtocolError> for ReceiveError {
    fn eq(&self, other: &ProtocolError) -> bool {
        self.protocol() == Some(other)
    }
}

impl fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceiveError::Protocol(e) => fmt::Display::fmt(e, f),
            ReceiveError::Usage(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for ReceiveError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ReceiveError::Protocol(e) => Some(e),
            ReceiveError::Usage(e) => Some(e),
        }
    }
}
