//! permessage-deflate (RFC 7692): negotiation, and the compressor and decompressor a
//! [`Connection`](crate::Connection) uses once it is enabled.
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

use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec::Vec;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::handshake::{Extension, ExtensionParam, HandshakeError};

/// The extension token.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The tail every compressed message ends with, stripped by the sender (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// What this endpoint wants from permessage-deflate.
///
/// The defaults keep context takeover (best compression) with 15-bit windows, compress
/// every outgoing message of at least 32 bytes at level 6, and accept compressed messages.
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
    level: u32,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    threshold: usize,
    compress: bool,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            level: 6,
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
    /// The compression level, 0 (store) to 9 (best); default 6.
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

    /// The client's offer (RFC 7692 §7.1).
    pub fn offer(&self) -> Extension {
        let mut params = Vec::new();
        let mut flag = |name: &str| {
            params.push(ExtensionParam {
                name: name.into(),
                value: None,
            })
        };
        if self.server_no_context_takeover {
            flag("server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            flag("client_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            params.push(ExtensionParam {
                name: "server_max_window_bits".into(),
                value: Some(self.server_max_window_bits.to_string()),
            });
        }
        // §7.1.2.2: "the client supports the client_max_window_bits extension parameter in
        // an extension negotiation response", with our own limit as a hint.
        params.push(ExtensionParam {
            name: "client_max_window_bits".into(),
            value: (self.client_max_window_bits < 15)
                .then(|| self.client_max_window_bits.to_string()),
        });
        Extension {
            name: PERMESSAGE_DEFLATE.into(),
            params,
        }
    }

    /// Picks the first acceptable `permessage-deflate` offer (a server's job), returning
    /// the agreed parameters and the extension to put in the response; `None` declines
    /// them all.
    ///
    /// RFC 7692 §7.1: "A server MUST decline an extension negotiation offer for this
    /// extension if [...] The negotiation offer contains an extension parameter not defined
    /// for use in an offer. [...] an extension parameter with an invalid value. [...]
    /// multiple extension parameters with the same name."
    pub fn accept_offers(&self, offers: &[Extension]) -> Option<(DeflateParams, Extension)> {
        offers
            .iter()
            .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
            .find_map(|offer| self.accept_offer(offer))
    }

    fn accept_offer(&self, offer: &Extension) -> Option<(DeflateParams, Extension)> {
        let p = Params::parse(offer, Side::Offer)?;
        // §7.1.1.1: accepting an offer with server_no_context_takeover means including it.
        let server_no_context_takeover =
            p.server_no_context_takeover || self.server_no_context_takeover;
        // §7.1.1.2: a server MAY include client_no_context_takeover even if not offered.
        let client_no_context_takeover =
            p.client_no_context_takeover || self.client_no_context_takeover;
        // §7.1.2.1: "the same or smaller value as the offer"; we may also announce our own.
        let server_bits = match p.server_max_window_bits {
            Some(bits) => bits.min(self.server_max_window_bits),
            None => self.server_max_window_bits,
        };
        // §7.1.2.2: only if offered; "equal to or smaller than the received value".
        let client_bits = match p.client_max_window_bits {
            Offered::No => None,
            Offered::Bare => Some(self.client_max_window_bits),
            Offered::Value(bits) => Some(bits.min(self.client_max_window_bits)),
        };
        let mut params = Vec::new();
        let flag = |params: &mut Vec<ExtensionParam>, name: &str| {
            params.push(ExtensionParam {
                name: name.into(),
                value: None,
            })
        };
        if server_no_context_takeover {
            flag(&mut params, "server_no_context_takeover");
        }
        if client_no_context_takeover {
            flag(&mut params, "client_no_context_takeover");
        }
        if p.server_max_window_bits.is_some() || server_bits < 15 {
            params.push(ExtensionParam {
                name: "server_max_window_bits".into(),
                value: Some(server_bits.to_string()),
            });
        }
        if let Some(bits) =
            client_bits.filter(|&b| b < 15 || p.client_max_window_bits != Offered::Bare)
        {
            params.push(ExtensionParam {
                name: "client_max_window_bits".into(),
                value: Some(bits.to_string()),
            });
        }
        Some((
            DeflateParams {
                server_no_context_takeover,
                client_no_context_takeover,
                server_max_window_bits: server_bits,
                client_max_window_bits: client_bits.unwrap_or(15),
            },
            Extension {
                name: PERMESSAGE_DEFLATE.into(),
                params,
            },
        ))
    }

    /// Checks the server's answer to [`offer`](DeflateConfig::offer) (a client's job).
    ///
    /// # Errors
    ///
    /// RFC 7692 §7.1: "A client MUST _Fail the WebSocket Connection_ if the peer server
    /// accepted an extension negotiation offer for this extension with an extension
    /// negotiation response meeting any of the following conditions": an undefined, invalid
    /// or repeated parameter, or a configuration the client does not support — here a
    /// `client_max_window_bits` we did not offer, a `server_max_window_bits` larger than we
    /// asked for or missing when we asked, or a missing `server_no_context_takeover` that we
    /// requested.
    pub fn accept_response(&self, response: &Extension) -> Result<DeflateParams, HandshakeError> {
        let invalid = HandshakeError::InvalidExtensionResponse;
        let p = Params::parse(response, Side::Response).ok_or(invalid.clone())?;
        if self.server_no_context_takeover && !p.server_no_context_takeover {
            return Err(invalid);
        }
        let server_bits = match p.server_max_window_bits {
            Some(bits) if bits <= self.server_max_window_bits => bits,
            Some(_) => return Err(invalid),
            None if self.server_max_window_bits < 15 => return Err(invalid),
            None => 15,
        };
        let client_bits = match p.client_max_window_bits {
            Offered::No => 15,
            Offered::Value(bits) => bits,
            // A response must give a value.
            Offered::Bare => return Err(invalid),
        };
        Ok(DeflateParams {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover
                || self.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        })
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Offer,
    Response,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Offered {
    No,
    Bare,
    Value(u8),
}

struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Offered,
}

impl Params {
    /// The parameters of one offer or response, or `None` if any is undefined, repeated
    /// or invalid.
    fn parse(ext: &Extension, side: Side) -> Option<Params> {
        let mut p = Params {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: Offered::No,
        };
        let mut seen = [false; 4];
        for param in &ext.params {
            let (index, value) = (
                match param.name.to_ascii_lowercase().as_str() {
                    "server_no_context_takeover" => 0,
                    "client_no_context_takeover" => 1,
                    "server_max_window_bits" => 2,
                    "client_max_window_bits" => 3,
                    _ => return None,
                },
                param.value.as_deref(),
            );
            if core::mem::replace(&mut seen[index], true) {
                return None;
            }
            match (index, value) {
                (0, None) => p.server_no_context_takeover = true,
                (1, None) => p.client_no_context_takeover = true,
                (2, Some(v)) => p.server_max_window_bits = Some(window_bits(v)?),
                (3, None) if side == Side::Offer => p.client_max_window_bits = Offered::Bare,
                (3, Some(v)) => p.client_max_window_bits = Offered::Value(window_bits(v)?),
                _ => return None,
            }
        }
        Some(p)
    }
}

/// §7.1.2: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
fn window_bits(value: &str) -> Option<u8> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

/// The compression state of one direction of one connection.
pub(crate) struct Codec {
    level: u32,
    /// Our compressor's window; `None` when the peer allowed only 8 bits.
    send_bits: Option<u8>,
    send_no_context_takeover: bool,
    recv_bits: u8,
    recv_no_context_takeover: bool,
    threshold: usize,
    compress: bool,
    /// Created on first use; dropped after each message without context takeover.
    compressor: Option<Box<Compress>>,
    decompressor: Option<Box<Decompress>>,
    /// The decompressor saw the end of a final block: reset it before the next message.
    stream_ended: bool,
    /// Reused output buffer for compressed messages.
    pub(crate) scratch: Vec<u8>,
}

impl core::fmt::Debug for Codec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Codec")
            .field("send_bits", &self.send_bits)
            .field("recv_bits", &self.recv_bits)
            .finish_non_exhaustive()
    }
}

/// Inflating failed: the data was not DEFLATE, or grew past the limit.
pub(crate) enum InflateError {
    Corrupt,
    TooLarge,
}

impl Codec {
    pub(crate) fn new(params: &DeflateParams, config: &DeflateConfig, is_server: bool) -> Codec {
        let (send_bits, send_nct, recv_bits, recv_nct) = if is_server {
            (
                params.server_max_window_bits,
                params.server_no_context_takeover,
                params.client_max_window_bits,
                params.client_no_context_takeover,
            )
        } else {
            (
                params.client_max_window_bits,
                params.client_no_context_takeover,
                params.server_max_window_bits,
                params.server_no_context_takeover,
            )
        };
        Codec {
            level: config.compression_level(),
            send_bits: (send_bits >= 9).then_some(send_bits.min(15)),
            send_no_context_takeover: send_nct,
            // zlib inflates with at least 9 bits; a larger window decodes smaller ones.
            recv_bits: recv_bits.clamp(9, 15),
            recv_no_context_takeover: recv_nct,
            threshold: config.threshold,
            compress: config.compress,
            compressor: None,
            decompressor: None,
            stream_ended: false,
            scratch: Vec::new(),
        }
    }

    /// Takes back the scratch buffer, unless it grew large.
    pub(crate) fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() <= 64 * 1024 {
            buf.clear();
            self.scratch = buf;
        }
    }

    /// Whether a message of `len` bytes should go out compressed.
    pub(crate) fn should_compress(&self, len: usize) -> bool {
        self.compress && self.send_bits.is_some() && len >= self.threshold
    }

    /// Compresses a whole message into `out` (replacing its contents), without the tail.
    pub(crate) fn compress_message(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        let bits = self.send_bits.unwrap_or(15);
        let level = self.level;
        let compressor = self.compressor.get_or_insert_with(|| {
            Box::new(Compress::new_with_window_bits(
                Compression::new(level),
                false,
                bits,
            ))
        });
        out.clear();
        out.reserve(payload.len() / 2 + 64);
        let start_in = compressor.total_in();
        loop {
            let consumed = (compressor.total_in() - start_in) as usize;
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            }
            // Sync flush: everything so far, ending with an empty stored block (§7.2.1).
            let status = compressor.compress_vec(&payload[consumed..], out, FlushCompress::Sync);
            let done = (compressor.total_in() - start_in) as usize == payload.len();
            match status {
                Ok(_) if done && out.len() < out.capacity() => break,
                Ok(_) => {}
                // Only possible for an invalid configuration, which `new` rules out.
                Err(_) => break,
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.send_no_context_takeover {
            self.compressor = None;
        }
    }

    /// Inflates `input` (part of a compressed message; `last` marks its end), appending to
    /// `out`, which may grow to at most `limit` bytes in total.
    pub(crate) fn decompress(
        &mut self,
        input: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        if self.stream_ended && self.decompressor.is_some() {
            // Trailing bytes after a final block carry nothing (at most the stripped tail).
            if last {
                self.end_message();
            }
            return Ok(());
        }
        self.feed(input, out, limit)?;
        if last {
            // §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the
            // payload of the message. Decompress the resulting data using DEFLATE."
            if !self.stream_ended {
                self.feed(&TAIL, out, limit)?;
            }
            self.end_message();
        }
        Ok(())
    }

    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        let bits = self.recv_bits;
        let d = self
            .decompressor
            .get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, bits)));
        let start_in = d.total_in();
        loop {
            let consumed = (d.total_in() - start_in) as usize;
            if out.len() == out.capacity() {
                if out.len() > limit {
                    return Err(InflateError::TooLarge);
                }
                // Grow geometrically, but never past the limit (+1 to detect overflow).
                let want = out
                    .capacity()
                    .max(1024)
                    .min(limit.saturating_add(1) - out.len());
                out.reserve_exact(want);
            }
            let before = out.len();
            let status = d
                .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt)?;
            if out.len() > limit {
                return Err(InflateError::TooLarge);
            }
            let all_in = (d.total_in() - start_in) as usize == input.len();
            match status {
                Status::StreamEnd => {
                    self.stream_ended = true;
                    return Ok(());
                }
                // Output room left and all input used: done for now.
                _ if all_in && out.len() < out.capacity() => return Ok(()),
                // No progress with room and input left would loop forever.
                Status::BufError if out.len() == before && out.len() < out.capacity() => {
                    return if all_in {
                        Ok(())
                    } else {
                        Err(InflateError::Corrupt)
                    };
                }
                _ => {}
            }
        }
    }

    fn end_message(&mut self) {
        if self.recv_no_context_takeover || self.stream_ended {
            self.decompressor = None;
        }
        self.stream_ended = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn ext(params: &[(&str, Option<&str>)]) -> Extension {
        Extension {
            name: PERMESSAGE_DEFLATE.into(),
            params: params
                .iter()
                .map(|(n, v)| ExtensionParam {
                    name: (*n).into(),
                    value: v.map(Into::into),
                })
                .collect(),
        }
    }

    fn codec_pair(params: DeflateParams) -> (Codec, Codec) {
        let config = DeflateConfig::default().threshold(0);
        (
            Codec::new(&params, &config, false),
            Codec::new(&params, &config, true),
        )
    }

    const DEFAULT: DeflateParams = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };

    #[test]
    fn rfc_7692_section_7_2_3_1_hello() {
        // "Hello" compressed: 0xf2 0x48 0xcd 0xc9 0xc9 0x07 0x00.
        let (mut client, _) = codec_pair(DEFAULT);
        let mut out = Vec::new();
        client
            .decompress(
                &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
                true,
                &mut out,
                100,
            )
            .ok()
            .unwrap();
        assert_eq!(out, b"Hello");
        // And our compressor produces exactly those bytes.
        let mut compressed = Vec::new();
        client.compress_message(b"Hello", &mut compressed);
        assert_eq!(compressed, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    }

    #[test]
    fn rfc_7692_section_7_2_3_2_shared_window() {
        // The second "Hello" with context takeover: 0xf2 0x00 0x11 0x00 0x00.
        let (mut sender, mut receiver) = codec_pair(DEFAULT);
        let mut first = Vec::new();
        sender.compress_message(b"Hello", &mut first);
        let mut second = Vec::new();
        sender.compress_message(b"Hello", &mut second);
        assert_eq!(second, [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut out = Vec::new();
        assert!(receiver.decompress(&first, true, &mut out, 100).is_ok());
        out.clear();
        assert!(receiver.decompress(&second, true, &mut out, 100).is_ok());
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn no_context_takeover_compresses_each_message_alone() {
        let params = DeflateParams {
            client_no_context_takeover: true,
            ..DEFAULT
        };
        let (mut client, mut server) = codec_pair(params);
        for _ in 0..3 {
            let mut c = Vec::new();
            client.compress_message(b"Hello", &mut c);
            assert_eq!(c, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
            assert!(
                client.compressor.is_none(),
                "state dropped after the message"
            );
            let mut out = Vec::new();
            assert!(server.decompress(&c, true, &mut out, 100).is_ok());
            assert_eq!(out, b"Hello");
            assert!(server.decompressor.is_none());
        }
    }

    #[test]
    fn bfinal_block_and_stored_block_inputs() {
        // "Hello" in a final fixed-Huffman block (BFINAL=1): 0xf3 0x48 0xcd 0xc9 0xc9 0x07 0x00.
        let (_, mut server) = codec_pair(DEFAULT);
        let mut out = Vec::new();
        assert!(
            server
                .decompress(
                    &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
                    true,
                    &mut out,
                    100
                )
                .is_ok()
        );
        assert_eq!(out, b"Hello");
        // §7.2.3.3 "Hello" in a stored block: 0x00 0x05 0x00 0xfa 0xff 0x48 0x65 0x6c 0x6c 0x6f 0x00.
        out.clear();
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, b'H', b'e', b'l', b'l', b'o', 0x00,
        ];
        assert!(server.decompress(&stored, true, &mut out, 100).is_ok());
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn inflating_stops_at_the_limit() {
        let (mut client, mut server) = codec_pair(DEFAULT);
        let mut bomb = Vec::new();
        client.compress_message(&vec![0u8; 1 << 20], &mut bomb);
        assert!(
            bomb.len() < 2048,
            "1 MiB of zeros compresses to {} bytes",
            bomb.len()
        );
        let mut out = Vec::new();
        assert!(matches!(
            server.decompress(&bomb, true, &mut out, 64 * 1024),
            Err(InflateError::TooLarge)
        ));
        assert!(
            out.capacity() <= 64 * 1024 + 1,
            "grew to {}",
            out.capacity()
        );
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let (_, mut server) = codec_pair(DEFAULT);
        let mut out = Vec::new();
        assert!(matches!(
            server.decompress(&[0xff, 0xff, 0xff], true, &mut out, 100),
            Err(InflateError::Corrupt)
        ));
    }

    #[test]
    fn server_negotiation() {
        let config = DeflateConfig::default();
        let accept = |offers: &[Extension]| {
            config
                .accept_offers(offers)
                .map(|(p, e)| (p, e.to_string()))
        };
        assert_eq!(
            accept(&[ext(&[])]),
            Some((DEFAULT, "permessage-deflate".into()))
        );
        // Bare client_max_window_bits: we may set a value; with 15 we leave it out.
        assert_eq!(
            accept(&[ext(&[("client_max_window_bits", None)])])
                .unwrap()
                .1,
            "permessage-deflate"
        );
        let (p, e) = accept(&[ext(&[
            ("server_no_context_takeover", None),
            ("server_max_window_bits", Some("10")),
            ("client_max_window_bits", Some("12")),
        ])])
        .unwrap();
        assert_eq!(
            e,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
        );
        assert_eq!(p.server_max_window_bits, 10);
        assert_eq!(p.client_max_window_bits, 12);
        // Invalid offers are declined; the next acceptable one is taken.
        let bad = [
            ext(&[("server_max_window_bits", Some("7"))]),
            ext(&[("server_max_window_bits", Some("16"))]),
            ext(&[("server_max_window_bits", Some("010"))]),
            ext(&[("server_max_window_bits", None)]),
            ext(&[("server_no_context_takeover", Some("1"))]),
            ext(&[("unknown", None)]),
            ext(&[
                ("client_no_context_takeover", None),
                ("client_no_context_takeover", None),
            ]),
        ];
        for offer in &bad {
            assert_eq!(
                config.accept_offers(core::slice::from_ref(offer)),
                None,
                "{offer}"
            );
        }
        let mut offers = bad.to_vec();
        offers.push(ext(&[("client_no_context_takeover", None)]));
        assert_eq!(
            accept(&offers).unwrap().1,
            "permessage-deflate; client_no_context_takeover"
        );
        // Window 8 for our compressor is accepted (and then not used for sending).
        let (p, e) = accept(&[ext(&[("server_max_window_bits", Some("8"))])]).unwrap();
        assert_eq!(e, "permessage-deflate; server_max_window_bits=8");
        let codec = Codec::new(&p, &config, true);
        assert!(!codec.should_compress(1000));
    }

    #[test]
    fn client_negotiation() {
        let config = DeflateConfig::default().server_max_window_bits(10);
        assert_eq!(
            config.offer().to_string(),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits"
        );
        let ok = config
            .accept_response(&ext(&[
                ("server_max_window_bits", Some("9")),
                ("client_max_window_bits", Some("11")),
            ]))
            .unwrap();
        assert_eq!(
            (ok.server_max_window_bits, ok.client_max_window_bits),
            (9, 11)
        );
        for bad in [
            ext(&[]),                                       // we asked for 10
            ext(&[("server_max_window_bits", Some("12"))]), // larger than asked
            ext(&[
                ("server_max_window_bits", Some("10")),
                ("client_max_window_bits", None),
            ]),
            ext(&[("server_max_window_bits", Some("10")), ("x", None)]),
        ] {
            assert_eq!(
                config.accept_response(&bad),
                Err(HandshakeError::InvalidExtensionResponse),
                "{bad}"
            );
        }
    }
}
