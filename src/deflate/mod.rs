//! permessage-deflate (RFC 7692): what this endpoint wants ([`DeflateConfig`]), what was
//! agreed ([`DeflateParams`]), and the compressor and decompressor a
//! [`Connection`](crate::Connection) uses once it is enabled. The negotiation itself —
//! [`DeflateConfig::offer`], [`accept_offers`](DeflateConfig::accept_offers),
//! [`accept_response`](DeflateConfig::accept_response) — lives with the
//! [`handshake`](crate::handshake), which depends on this module, not the other way.
//!
//! Compression is pure computation, so it lives in the sans-IO core: the connection
//! compresses in `send_*` and decompresses in
//! [`receive_into`](crate::Connection::receive_into), which appends inflated bytes to a
//! buffer the caller owns.
//!
//! # Window bits
//!
//! zlib (and so the `zlib-rs` backend) cannot compress with an 8-bit (256-byte) window. We
//! never ask for one: where the RFC lets us choose a value, we choose at least 9. When the
//! peer limits *our* compressor to 8 bits (a client offering `server_max_window_bits=8`, or
//! a server answering `client_max_window_bits=8`), we accept and send our messages
//! uncompressed, which RFC 7692 always allows. Decompression honours every value from 8 to
//! 15: inflating with a larger window than the compressor used is always correct.

mod codec;

pub(crate) use codec::{Codec, InflateError, compress_fresh};

/// The extension token.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// What this endpoint wants from permessage-deflate.
///
/// The defaults keep context takeover (best compression) with 15-bit windows, compress
/// every outgoing message of at least 32 bytes at level 1 (zlib-rs' fast strategy: about
/// 5x the speed of level 6 on chat-like JSON, for a somewhat lower ratio), and accept
/// compressed messages.
///
/// ```
/// use rfc6455::deflate::DeflateConfig;
/// // A server that keeps no compression state between messages (about 300 KB less per
/// // connection with traffic) and asks clients to do the same.
/// let config = DeflateConfig::default()
///     .server_no_context_takeover(true)
///     .client_no_context_takeover(true);
/// # let _ = config;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    pub(crate) level: u32,
    pub(crate) server_no_context_takeover: bool,
    pub(crate) client_no_context_takeover: bool,
    pub(crate) server_max_window_bits: u8,
    pub(crate) client_max_window_bits: u8,
    pub(crate) threshold: usize,
    pub(crate) compress: bool,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            level: 1,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            threshold: 32,
            compress: true,
        }
    }
}

impl DeflateConfig {
    /// The compression level, 0 (store) to 9 (best); default 1.
    pub fn level(mut self, level: u32) -> DeflateConfig {
        self.level = level.min(9);
        self
    }

    /// The server resets its compressor after every message (a client requests it, a
    /// server announces it).
    pub fn server_no_context_takeover(mut self, enabled: bool) -> DeflateConfig {
        self.server_no_context_takeover = enabled;
        self
    }

    /// The client resets its compressor after every message (a client announces it, a
    /// server requests it).
    pub fn client_no_context_takeover(mut self, enabled: bool) -> DeflateConfig {
        self.client_no_context_takeover = enabled;
        self
    }

    /// The server's compression window, 2^bits bytes (9–15; 8 is taken as 9).
    pub fn server_max_window_bits(mut self, bits: u8) -> DeflateConfig {
        self.server_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// The client's compression window, 2^bits bytes (9–15; 8 is taken as 9).
    pub fn client_max_window_bits(mut self, bits: u8) -> DeflateConfig {
        self.client_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// Outgoing messages shorter than this are sent uncompressed (default 32 bytes).
    pub fn threshold(mut self, bytes: usize) -> DeflateConfig {
        self.threshold = bytes;
        self
    }

    /// Whether to compress outgoing messages at all (default `true`). With `false`, the
    /// extension is still negotiated and compressed messages are still accepted.
    pub fn compress_outgoing(mut self, enabled: bool) -> DeflateConfig {
        self.compress = enabled;
        self
    }

    pub(crate) fn compression_level(&self) -> u32 {
        self.level
    }
}

/// The negotiated parameters, as both sides see them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server compresses with a window of at most 2^bits bytes.
    pub server_max_window_bits: u8,
    /// The client compresses with a window of at most 2^bits bytes.
    pub client_max_window_bits: u8,
}

/// The parameters of a bare `permessage-deflate` (the tests' common case).
#[cfg(test)]
pub(crate) const DEFAULT: DeflateParams = DeflateParams {
    server_no_context_takeover: false,
    client_no_context_takeover: false,
    server_max_window_bits: 15,
    client_max_window_bits: 15,
};
