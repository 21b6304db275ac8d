//! Why a handshake failed, and the HTTP answer a server gives for it.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::UsageError;

/// The opening handshake failed.
///
/// Variants about the request (server side) map to the HTTP status a server answers with
/// ([`HandshakeError::status`]); variants about the response (client side) fail the
/// connection (RFC 6455 §4.1: "the client MUST _Fail the WebSocket Connection_").
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The HTTP head grew past the configured maximum without ending (431).
    HeadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The HTTP head had more header fields than the configured maximum (431).
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The bytes were not an HTTP/1.x head (400). The text says what was wrong.
    Malformed(&'static str),
    /// The request method was not `GET` (§4.2.1 item 1; 400).
    MethodNotGet,
    /// The request was older than HTTP/1.1 (§4.2.1 item 1; 400).
    HttpVersion,
    /// No `Host` header field (§4.2.1 item 2; 400).
    MissingHost,
    /// No `Upgrade` header containing `websocket` (§4.2.1 item 3; 400).
    NotWebSocketUpgrade,
    /// No `Connection` header containing the token `Upgrade` (§4.2.1 item 4; 400).
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Key` missing, repeated, or not 16 bytes of base64 (§4.2.1 item 5; 400).
    InvalidKey,
    /// An HTTP/2 or HTTP/3 request that is not an extended CONNECT with `:protocol`
    /// `websocket` and `:scheme` `http` or `https` (RFC 8441 §4, RFC 9220; 400).
    NotExtendedConnect,
    /// `Sec-WebSocket-Version` missing (400).
    MissingVersion,
    /// `Sec-WebSocket-Version` was not 13 (§4.2.2; 426 with `Sec-WebSocket-Version: 13`).
    UnsupportedVersion,
    /// The `Origin` is not allowed by the server's policy (§10.2; 403).
    OriginRejected,
    /// A `Sec-WebSocket-Extensions` value did not follow RFC 6455 §9.1 (400 / fail).
    MalformedExtensions,
    /// The server answered with something other than `101` (client side). Carries the
    /// status and headers, e.g. to follow a redirect's `Location` or read a 401.
    Rejected(Box<RejectedResponse>),
    /// The response's `Upgrade` was not `websocket` (§4.1; client side).
    ResponseNotUpgrade,
    /// The response's `Connection` lacked the token `Upgrade` (§4.1; client side).
    ResponseMissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` missing or not the expected value (§4.1; client side).
    InvalidAccept,
    /// The server selected a subprotocol the client did not offer (§4.1; client side).
    UnexpectedProtocol,
    /// The server accepted an extension the client did not offer (§4.1; client side).
    UnexpectedExtension,
    /// The server's parameters for an offered extension are invalid or unsupported
    /// (RFC 7692 §7.1; client side).
    InvalidExtensionResponse,
    /// The HTTP/2 server did not send `SETTINGS_ENABLE_CONNECT_PROTOCOL` = 1: it does not
    /// take WebSockets over HTTP/2 (RFC 8441 §3; client side).
    ExtendedConnectDisabled,
    /// The application's own choices could not be used (e.g. a subprotocol the client did
    /// not offer, a header value with CR/LF); a server answers 500.
    Usage(UsageError),
}

/// A non-101 answer to the client's handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedResponse {
    /// The status code, e.g. 302, 401, 403, 404.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The header fields, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl RejectedResponse {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The `Location` of a redirect, if it is text.
    pub fn location(&self) -> Option<&str> {
        core::str::from_utf8(self.header("location")?).ok()
    }
}

impl HandshakeError {
    /// The HTTP status a server answers with.
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders { .. } => 431,
            HandshakeError::UnsupportedVersion => 426,
            HandshakeError::OriginRejected => 403,
            HandshakeError::Rejected(r) => r.status,
            HandshakeError::Usage(_) => 500,
            _ => 400,
        }
    }

    /// A short description, used as the body of the rejection response.
    pub fn reason(&self) -> &'static str {
        match self {
            HandshakeError::HeadTooLarge { .. } => "request head too large",
            HandshakeError::TooManyHeaders { .. } => "too many header fields",
            HandshakeError::Malformed(what) => what,
            HandshakeError::MethodNotGet => "WebSocket handshake must be a GET request",
            HandshakeError::HttpVersion => "WebSocket handshake requires HTTP/1.1 or later",
            HandshakeError::MissingHost => "missing Host header",
            HandshakeError::NotWebSocketUpgrade => "missing or invalid Upgrade: websocket header",
            HandshakeError::MissingConnectionUpgrade => "missing Connection: Upgrade header",
            HandshakeError::InvalidKey => "missing or invalid Sec-WebSocket-Key",
            HandshakeError::NotExtendedConnect => {
                "HTTP/2 and HTTP/3 WebSocket handshakes must be a CONNECT with :protocol websocket"
            }
            HandshakeError::MissingVersion => "missing Sec-WebSocket-Version",
            HandshakeError::UnsupportedVersion => "unsupported Sec-WebSocket-Version",
            HandshakeError::OriginRejected => "origin not allowed",
            HandshakeError::MalformedExtensions => "malformed Sec-WebSocket-Extensions",
            HandshakeError::Rejected(_) => "server rejected the WebSocket handshake",
            HandshakeError::ResponseNotUpgrade => "response lacks Upgrade: websocket",
            HandshakeError::ResponseMissingConnectionUpgrade => {
                "response lacks Connection: Upgrade"
            }
            HandshakeError::InvalidAccept => "missing or wrong Sec-WebSocket-Accept",
            HandshakeError::UnexpectedProtocol => "server selected a subprotocol not offered",
            HandshakeError::UnexpectedExtension => "server accepted an extension not offered",
            HandshakeError::InvalidExtensionResponse => "invalid extension parameters in response",
            HandshakeError::ExtendedConnectDisabled => {
                "the HTTP/2 server does not enable the extended CONNECT protocol"
            }
            HandshakeError::Usage(_) => "internal error",
        }
    }

    /// Appends the HTTP response a server sends for this error: the status, a plain-text
    /// body with the reason, `Connection: close`, and for a wrong version
    /// `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.2).
    pub fn write_response(&self, out: &mut Vec<u8>) {
        let extra: &[(&str, &str)] = match self {
            HandshakeError::UnsupportedVersion => &[("Sec-WebSocket-Version", "13")],
            _ => &[],
        };
        super::server::write_rejection(self.status(), self.reason(), extra, out);
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::HeadTooLarge { limit } => {
                write!(f, "HTTP head larger than {limit} bytes")
            }
            HandshakeError::TooManyHeaders { limit } => {
                write!(f, "more than {limit} header fields")
            }
            HandshakeError::Rejected(r) => {
                write!(
                    f,
                    "server answered {} {} instead of 101",
                    r.status, r.reason
                )
            }
            HandshakeError::Usage(e) => fmt::Display::fmt(e, f),
            other => f.write_str(other.reason()),
        }
    }
}

impl core::error::Error for HandshakeError {}
