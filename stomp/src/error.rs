//! Errors, split by who is at fault.
//!
//! * [`FrameError`]: bytes that are not a STOMP 1.2 frame, or a frame over a configured
//!   limit (the decoder's verdict on the peer's bytes).
//! * [`EncodeError`]: a [`Frame`](crate::Frame) that cannot be written as STOMP (the
//!   caller's frame).
//! * [`ProtocolError`]: the peer broke STOMP, in framing or in the session's rules. A server
//!   session has already queued the `ERROR` frame that answers it.
//! * [`UsageError`]: the application asked a session for something its state does not
//!   allow. Nothing was sent.
//!
//! There is no I/O variant: nothing here performs I/O.

use alloc::string::String;
use core::fmt;

use crate::frame::Command;

/// The peer's bytes are not a STOMP frame, or exceed a limit. Decoding cannot continue.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The command line is not one of the 15 commands (case-sensitive).
    UnknownCommand,
    /// A carriage return not followed by a line feed (`EOL = [CR] LF`).
    InvalidEol,
    /// A header line without a colon.
    MissingColon,
    /// A header with an empty name ("header-name = 1*<any OCTET except CR or LF or ':'>").
    EmptyHeaderName,
    /// A backslash followed by something other than `r`, `n`, `c` or `\` (the byte, or
    /// `None` when the line ended after the backslash).
    InvalidEscape(Option<u8>),
    /// The command or a header is not UTF-8.
    InvalidUtf8,
    /// A `content-length` header that is not a decimal number.
    InvalidContentLength,
    /// The octet after a `content-length` body is not the NULL octet.
    MissingNul,
    /// A body on a frame other than SEND, MESSAGE or ERROR.
    UnexpectedBody(Command),
    /// More headers than the configured `max_header_count`.
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// A command or header line longer than the configured `max_header_line_size`.
    HeaderLineTooLong {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// A command line and headers longer in total than the configured `max_head_size`.
    HeadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// A body (announced by `content-length` or read so far) longer than the configured
    /// `max_body_size`.
    BodyTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
}

impl FrameError {
    /// A short description, used as the `message` header of the `ERROR` frame.
    pub fn message(&self) -> &'static str {
        match self {
            FrameError::UnknownCommand => "unknown command",
            FrameError::InvalidEol => "carriage return without line feed",
            FrameError::MissingColon => "header line without a colon",
            FrameError::EmptyHeaderName => "empty header name",
            FrameError::InvalidEscape(_) => "undefined escape sequence in header",
            FrameError::InvalidUtf8 => "command or header not UTF-8",
            FrameError::InvalidContentLength => "invalid content-length",
            FrameError::MissingNul => "frame not terminated by NULL after content-length octets",
            FrameError::UnexpectedBody(_) => "body on a frame that must not have one",
            FrameError::TooManyHeaders { .. } => "too many headers",
            FrameError::HeaderLineTooLong { .. } => "header line too long",
            FrameError::HeadTooLarge { .. } => "frame headers too large",
            FrameError::BodyTooLarge { .. } => "frame body too large",
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::UnexpectedBody(c) => write!(f, "body on a {c} frame"),
            FrameError::TooManyHeaders { limit } => write!(f, "more than {limit} headers"),
            FrameError::HeaderLineTooLong { limit } => {
                write!(f, "header line longer than {limit} bytes")
            }
            FrameError::HeadTooLarge { limit } => {
                write!(f, "frame headers larger than {limit} bytes")
            }
            FrameError::BodyTooLarge { limit } => {
                write!(f, "frame body larger than {limit} bytes")
            }
            other => f.write_str(other.message()),
        }
    }
}

/// A frame that cannot be written as STOMP 1.2. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A header with an empty name.
    EmptyHeaderName,
    /// A CONNECT or CONNECTED header that cannot be written without escaping (these frames
    /// are not escaped): a carriage return or line feed anywhere, or a colon in a name.
    Unescapable,
    /// A body on a frame other than SEND, MESSAGE or ERROR.
    UnexpectedBody(Command),
    /// The first `content-length` header is not the body's length.
    ContentLengthMismatch,
    /// The body contains a NULL octet but the frame has no `content-length` header.
    MissingContentLength,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::EmptyHeaderName => f.write_str("empty header name"),
            EncodeError::Unescapable => {
                f.write_str("CR, LF or ':' in a header of an unescaped (CONNECT/CONNECTED) frame")
            }
            EncodeError::UnexpectedBody(c) => write!(f, "body on a {c} frame"),
            EncodeError::ContentLengthMismatch => {
                f.write_str("content-length differs from the body length")
            }
            EncodeError::MissingContentLength => {
                f.write_str("body with a NULL octet and no content-length")
            }
        }
    }
}

/// The peer broke STOMP: bad framing, or a frame its session state does not allow.
///
/// A server session has already queued an `ERROR` frame whose `message` header is
/// [`ProtocolError::message`]; send it with `poll_transmit`, then close the transport once
/// `poll_close_transport` says so. A client session closes without sending anything
/// (clients have no `ERROR` frame).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The bytes were not a frame, or exceeded a limit.
    Frame(FrameError),
    /// A frame this side never accepts (a server frame sent to a server), or not in the
    /// current state (anything but CONNECT before CONNECTED, CONNECT twice, ...).
    UnexpectedCommand(Command),
    /// A required header is missing.
    MissingHeader {
        /// The frame's command.
        command: Command,
        /// The missing header.
        header: &'static str,
    },
    /// A header value is not one the specification allows (`ack` mode, `heart-beat`,
    /// `version`).
    InvalidHeader {
        /// The header.
        header: &'static str,
    },
    /// No protocol version in common.
    UnsupportedVersion,
    /// "Within the same connection, different subscriptions MUST use different
    /// subscription identifiers."
    DuplicateSubscription(String),
    /// An UNSUBSCRIBE (or a MESSAGE, to a client) for a subscription that does not exist.
    UnknownSubscription(String),
    /// An ACK or NACK whose `id` was never sent in an `ack` header.
    UnknownAckId(String),
    /// "Within the same connection, different transactions MUST use different transaction
    /// identifiers."
    DuplicateTransaction(String),
    /// A frame naming a transaction that is not open.
    UnknownTransaction(String),
    /// More open subscriptions than the configured `max_subscriptions`.
    TooManySubscriptions,
    /// More open transactions than the configured `max_transactions`.
    TooManyTransactions,
    /// A transaction holding more than the configured `max_transaction_size` bytes.
    TransactionTooLarge,
    /// More frames than the session holds while the application decides on CONNECT.
    TooManyPipelinedFrames,
    /// The peer went silent for longer than the negotiated heart-beat allows.
    HeartBeatTimeout,
    /// The client sent no CONNECT within the server's `connect_timeout`.
    ConnectTimeout,
    /// The application rejected the peer (authentication, authorization, a SEND it could
    /// not process): the message it gave.
    Rejected(String),
}

impl ProtocolError {
    /// A short description for the `message` header of the `ERROR` frame.
    pub fn message(&self) -> &str {
        match self {
            ProtocolError::Frame(e) => e.message(),
            ProtocolError::UnexpectedCommand(_) => "unexpected command",
            ProtocolError::MissingHeader { .. } => "missing required header",
            ProtocolError::InvalidHeader { .. } => "invalid header value",
            ProtocolError::UnsupportedVersion => "unsupported protocol version",
            ProtocolError::DuplicateSubscription(_) => "subscription id already in use",
            ProtocolError::UnknownSubscription(_) => "unknown subscription",
            ProtocolError::UnknownAckId(_) => "unknown ack id",
            ProtocolError::DuplicateTransaction(_) => "transaction id already in use",
            ProtocolError::UnknownTransaction(_) => "unknown transaction",
            ProtocolError::TooManySubscriptions => "too many subscriptions",
            ProtocolError::TooManyTransactions => "too many transactions",
            ProtocolError::TransactionTooLarge => "transaction too large",
            ProtocolError::TooManyPipelinedFrames => "too many frames before CONNECTED",
            ProtocolError::HeartBeatTimeout => "heart-beat timeout",
            ProtocolError::ConnectTimeout => "no CONNECT in time",
            ProtocolError::Rejected(m) => m,
        }
    }
}

impl From<FrameError> for ProtocolError {
    fn from(e: FrameError) -> ProtocolError {
        ProtocolError::Frame(e)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Frame(e) => fmt::Display::fmt(e, f),
            ProtocolError::UnexpectedCommand(c) => write!(f, "unexpected {c} frame"),
            ProtocolError::MissingHeader { command, header } => {
                write!(f, "{command} frame without the required `{header}` header")
            }
            ProtocolError::InvalidHeader { header } => write!(f, "invalid `{header}` header"),
            ProtocolError::DuplicateSubscription(id) => {
                write!(f, "subscription id {id:?} already in use")
            }
            ProtocolError::UnknownSubscription(id) => write!(f, "unknown subscription {id:?}"),
            ProtocolError::UnknownAckId(id) => write!(f, "unknown ack id {id:?}"),
            ProtocolError::DuplicateTransaction(id) => {
                write!(f, "transaction id {id:?} already in use")
            }
            ProtocolError::UnknownTransaction(id) => write!(f, "unknown transaction {id:?}"),
            other => f.write_str(other.message()),
        }
    }
}

/// The application asked a session for something the protocol or the session's state does
/// not allow. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// The session is not connected yet (or, for a server, the CONNECT is not answered).
    NotConnected,
    /// There is no CONNECT waiting for an answer.
    NoConnectPending,
    /// The session is closing or closed.
    Closed,
    /// No open subscription has this id.
    UnknownSubscription(String),
    /// A subscription with this id is already open.
    DuplicateSubscription(String),
    /// No open transaction has this id.
    UnknownTransaction(String),
    /// A transaction with this id is already open.
    DuplicateTransaction(String),
    /// A required header is missing (e.g. `destination` on a message).
    MissingHeader(&'static str),
    /// The message has no `ack` header (its subscription's mode is `auto`).
    NotAckable,
    /// The frame cannot be encoded.
    Encode(EncodeError),
    /// A message id not greater than one the session already sent
    /// ([`ServerSession::record_message`](crate::ServerSession::record_message)).
    StaleMessageId,
}

impl From<EncodeError> for UsageError {
    fn from(e: EncodeError) -> UsageError {
        UsageError::Encode(e)
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NotConnected => f.write_str("session not connected"),
            UsageError::NoConnectPending => f.write_str("no CONNECT waiting for an answer"),
            UsageError::Closed => f.write_str("session closed"),
            UsageError::UnknownSubscription(id) => write!(f, "unknown subscription {id:?}"),
            UsageError::DuplicateSubscription(id) => {
                write!(f, "subscription {id:?} already open")
            }
            UsageError::UnknownTransaction(id) => write!(f, "unknown transaction {id:?}"),
            UsageError::DuplicateTransaction(id) => write!(f, "transaction {id:?} already open"),
            UsageError::MissingHeader(h) => write!(f, "missing `{h}` header"),
            UsageError::NotAckable => f.write_str("message has no `ack` header"),
            UsageError::Encode(e) => fmt::Display::fmt(e, f),
            UsageError::StaleMessageId => {
                f.write_str("message id not greater than the last one sent")
            }
        }
    }
}

#[cfg(feature = "std")]
mod std_impls {
    extern crate std;
    impl std::error::Error for super::FrameError {}
    impl std::error::Error for super::EncodeError {}
    impl std::error::Error for super::ProtocolError {}
    impl std::error::Error for super::UsageError {}
}
