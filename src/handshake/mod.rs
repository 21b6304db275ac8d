//! The opening handshake (RFC 6455 §4): an HTTP/1.1 Upgrade exchange.
//!
//! * Server: feed request bytes to a [`ServerHandshake`] until it is complete, look at the
//!   [`Request`] (path, query, headers) to route or authenticate, then let a
//!   [`ServerConfig`] check it and write the `101 Switching Protocols` response (or a
//!   `400`/`403`/`426` rejection) into your buffer.
//! * Client: [`ClientHandshake::new`] writes the request for a [`ClientRequest`]; feed the
//!   response bytes to it until it returns the negotiated [`HandshakeResponse`].
//!
//! Either way, bytes that arrived after the HTTP head belong to the WebSocket connection:
//! take them with `leftover()` and pass them to [`Connection::receive`](crate::Connection::receive)
//! first.

pub(crate) mod client;
#[cfg(feature = "deflate")]
mod deflate;
mod error;
mod extension;
pub(crate) mod head;
mod origin;
pub(crate) mod server;

pub use client::{
    ClientHandshake, ClientRequest, DEFAULT_CLIENT_HANDSHAKE_TIMEOUT, HandshakeResponse,
};
pub use error::{HandshakeError, RejectedResponse};
pub use extension::{Extension, ExtensionParam, parse_extensions};
pub use origin::AllowedOrigins;
pub use server::{
    AcceptOptions, Accepted, Request, ServerConfig, ServerHandshake, write_rejection,
};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID appended to the key before hashing (RFC 6455 §1.3).
pub const GUID: &[u8; 36] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The longest request or response head accepted by default: 16 KiB, twice nginx's default
/// header buffer, room for large cookies.
pub const DEFAULT_MAX_HEAD_SIZE: usize = 16 * 1024;
/// The largest `max_head_size` either side accepts (1 MiB, 64 times the default): an HTTP
/// head is never legitimately larger, and positions within it are kept as 32-bit offsets.
pub const MAX_HEAD_SIZE_CAP: usize = 1 << 20;
/// The most header fields accepted by default. Browsers send about 15.
pub const DEFAULT_MAX_HEADERS: usize = 64;

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455 §1.3, §4.2.2):
/// base64 of the SHA-1 of the key (as sent, base64 text) followed by the [`GUID`].
///
/// ```
/// let accept = rfc6455::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(&accept, b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> [u8; 28] {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    let digest = sha.finalize();
    let mut out = [0; 28];
    // 20 bytes always encode to exactly 28 base64 characters.
    let written = STANDARD.encode_slice(digest, &mut out).unwrap_or(0);
    debug_assert_eq!(written, 28);
    out
}

/// Whether a comma-separated header value contains `token`, ASCII case-insensitively
/// (e.g. `Connection: keep-alive, Upgrade`).
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
}

/// Strips optional whitespace (SP / HTAB, RFC 7230 §3.2.3).
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// RFC 7230 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `s` is a non-empty RFC 7230 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Whether `s` can be a header value without breaking the message (no CR, LF or NUL).
pub(crate) fn is_safe_value(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_section_1_3() {
        assert_eq!(
            &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn token_lists() {
        assert!(has_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(has_token(b"UPGRADE", "upgrade"));
        assert!(has_token(b" upgrade ,close", "upgrade"));
        assert!(!has_token(b"keep-alive", "upgrade"));
        assert!(!has_token(b"upgrade-insecure", "upgrade"));
        assert!(!has_token(b"", "upgrade"));
    }
}
