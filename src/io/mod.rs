//! Adapters: the only code in this crate that performs I/O.
//!
//! Each adapter is a thin loop around the core — read bytes, hand them to the
//! [`Connection`](crate::Connection), write what it queued — over a particular kind of
//! stream:
//!
//! * [`blocking`] (feature `std`): any `Read + Write` stream, blocking or non-blocking.
//! * [`tokio`] (feature `tokio`): any `AsyncRead + AsyncWrite` stream, with `Stream`/`Sink`,
//!   split halves, keepalive timers and backpressure.
//!
//! Their `connect` functions open the TCP connection themselves, through an HTTP proxy
//! when one is configured ([`Connector`], [`Proxy`]), and run TLS for `wss://` with the
//! feature `rustls` ([`tls`]).

#[cfg(feature = "axum")]
pub mod axum;
pub mod blocking;
mod buffer;
mod connector;
mod driver;
#[cfg(feature = "h2")]
pub mod h2;
mod handshake;
#[cfg(feature = "hyper")]
pub mod hyper;
mod proxy;
#[cfg(feature = "rustls")]
pub mod tls;

pub use connector::Connector;
pub use proxy::{NoProxy, Proxy, ProxyError};

pub use driver::DEFAULT_HIGH_WATER;

/// The default limit on a server's opening handshake (against slow-loris clients): the
/// client's whole request must arrive within it.
pub const DEFAULT_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
#[cfg(feature = "tokio")]
pub mod tokio;

use std::boxed::Box;
use std::fmt;
use std::string::String;
use std::vec::Vec;

use crate::error::{ProtocolError, UsageError};
use crate::handshake::{AcceptOptions, HandshakeError};

/// What can go wrong in an adapter: the core's errors plus I/O.
///
/// The core errors are boxed: an `Error` is one pointer and a tag, so that the
/// `Result<Option<Message>, Error>` every receive returns stays small (receiving small
/// messages was measurably slower with the errors inline). Match through the box, or use
/// [`handshake`](Error::handshake), [`protocol`](Error::protocol),
/// [`rejection`](Error::rejection):
///
/// ```
/// # use rfc6455::io::Error;
/// # fn show(e: Error) {
/// match e {
///     Error::Protocol(p) => eprintln!("the peer broke the protocol: close code {}", p.close_code()),
///     e if e.rejection().is_some_and(|r| r.status == 401) => eprintln!("log in first"),
///     other => eprintln!("{other}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed. `WouldBlock` from a non-blocking stream is reported here and
    /// leaves the WebSocket resumable: call the same method again when the stream is ready.
    Io(std::io::Error),
    /// The opening handshake failed (the rejection response was sent, for a server).
    Handshake(Box<HandshakeError>),
    /// The peer broke the protocol; the matching Close frame was sent.
    Protocol(Box<ProtocolError>),
    /// The caller asked for something the connection's state does not allow.
    Usage(Box<UsageError>),
    /// The HTTP proxy did not open the tunnel (see [`Connector`]).
    Proxy(Box<ProxyError>),
    /// The TLS handshake of a `wss://` connection failed: an untrusted certificate, a
    /// name mismatch, an alert from the server.
    #[cfg(feature = "rustls")]
    Tls(Box<rustls::Error>),
    /// The transport ended (or a deadline passed) without a clean close handshake.
    AbnormalClosure,
    /// The connection is closed; nothing more can be sent or received.
    Closed,
    /// More than the high-water mark is queued for a peer that is not reading, and a
    /// non-blocking stream could not take more: the message was not queued (it is carried
    /// back when it was given by value). Flush when the stream is writable, then send it
    /// again.
    BufferFull(Option<Box<crate::Message>>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::Proxy(e) => write!(f, "{e}"),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            Error::AbnormalClosure => f.write_str("connection closed without a close handshake"),
            Error::Closed => f.write_str("connection closed"),
            Error::BufferFull(_) => f.write_str("write buffer full: the peer is not reading"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Usage(e) => Some(e),
            Error::Proxy(e) => Some(e),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Error {
        Error::Handshake(Box::new(e))
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        Error::Protocol(Box::new(e))
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Error {
        Error::Usage(Box::new(e))
    }
}

impl From<ProxyError> for Error {
    fn from(e: ProxyError) -> Error {
        Error::Proxy(Box::new(e))
    }
}

impl Error {
    /// The handshake error, if the opening handshake failed.
    pub fn handshake(&self) -> Option<&HandshakeError> {
        match self {
            Error::Handshake(e) => Some(e),
            _ => None,
        }
    }

    /// The server's non-101 answer (status, headers), if it refused the handshake.
    pub fn rejection(&self) -> Option<&crate::handshake::RejectedResponse> {
        match self.handshake()? {
            HandshakeError::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// The protocol error, if the peer broke the protocol.
    pub fn protocol(&self) -> Option<&ProtocolError> {
        match self {
            Error::Protocol(e) => Some(e),
            _ => None,
        }
    }

    /// The usage error, if the caller asked for something not allowed now.
    pub fn usage(&self) -> Option<&UsageError> {
        match self {
            Error::Usage(e) => Some(e),
            _ => None,
        }
    }

    /// The proxy's error, if the tunnel through it could not be opened.
    pub fn proxy(&self) -> Option<&ProxyError> {
        match self {
            Error::Proxy(e) => Some(e),
            _ => None,
        }
    }

    /// The TLS error, if the TLS handshake failed.
    #[cfg(feature = "rustls")]
    pub fn tls(&self) -> Option<&rustls::Error> {
        match self {
            Error::Tls(e) => Some(e),
            _ => None,
        }
    }

    /// Whether this is a `WouldBlock` from a non-blocking stream (retry when ready).
    pub fn is_would_block(&self) -> bool {
        matches!(self, Error::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

/// What `into_parts` hands back: the stream and everything buffered, so that nothing
/// received or queued is lost when the stream is taken back.
#[derive(Debug)]
#[non_exhaustive]
pub struct Parts<S> {
    /// The stream.
    pub stream: S,
    /// Bytes received and not yet processed.
    pub read_buf: bytes::BytesMut,
    /// Bytes queued and not yet written.
    pub write_buf: Vec<u8>,
    /// The connection state machine.
    pub connection: crate::Connection,
}

/// A server's refusal of a handshake request, decided by the application (e.g. 401 when
/// unauthenticated, 404 for an unknown path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The HTTP status.
    pub status: u16,
    /// A plain-text body.
    pub reason: String,
    /// Extra header fields, e.g. `WWW-Authenticate`.
    pub headers: Vec<(String, String)>,
}

impl Rejection {
    /// A rejection with `status` and a plain-text `reason`.
    pub fn new(status: u16, reason: impl Into<String>) -> Rejection {
        Rejection {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header field to the response.
    pub fn header(mut self, name: &str, value: &str) -> Rejection {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn write(&self, out: &mut Vec<u8>) {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        crate::handshake::write_rejection(self.status, &self.reason, &headers, out);
    }
}

/// The application's decision about a handshake request.
pub type Decision<T> = Result<(AcceptOptions, T), Rejection>;

/// The decision of [`blocking::accept`] and [`tokio::accept`](crate::io::tokio): accept with
/// the configured policy, nothing extracted.
pub(crate) fn accept_all(_: &crate::handshake::Request<'_>) -> Decision<()> {
    Ok((AcceptOptions::default(), ()))
}

/// A server's answer to a complete request, written into `out`: the configuration's
/// checks (origin policy, ...), then the application's decision, then the 101 response
/// — or the rejection that stopped it.
pub(crate) fn answer<T>(
    handshake: &crate::handshake::ServerConfig,
    request: &crate::handshake::Request<'_>,
    decide: impl FnOnce(&crate::handshake::Request<'_>) -> Decision<T>,
    out: &mut Vec<u8>,
) -> Result<(crate::handshake::Accepted, T), Error> {
    check(handshake, request, out)?;
    conclude(handshake, request, decide(request), out)
}

/// The configuration's checks of a complete request (RFC 6455 §4.2.1, origin policy); a
/// failure's response is written into `out`.
pub(crate) fn check(
    handshake: &crate::handshake::ServerConfig,
    request: &crate::handshake::Request<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    handshake.check(request).map_err(|e| {
        e.write_response(out);
        e.into()
    })
}

/// The application's decision on a checked request, answered into `out`: the 101
/// response, or the rejection.
pub(crate) fn conclude<T>(
    handshake: &crate::handshake::ServerConfig,
    request: &crate::handshake::Request<'_>,
    decision: Decision<T>,
    out: &mut Vec<u8>,
) -> Result<(crate::handshake::Accepted, T), Error> {
    match decision {
        Ok((options, value)) => handshake
            .accept_checked(request, &options, out)
            .map(|accepted| (accepted, value))
            .map_err(Error::from),
        Err(rejection) => {
            rejection.write(out);
            Err(rejected(rejection.status, &rejection.reason))
        }
    }
}

/// Why a server-side handshake did not produce a WebSocket.
fn rejected(status: u16, reason: &str) -> Error {
    HandshakeError::Rejected(Box::new(crate::handshake::RejectedResponse {
        status,
        reason: reason.into(),
        headers: Vec::new(),
    }))
    .into()
}
