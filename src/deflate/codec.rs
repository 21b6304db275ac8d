//! The compressor and decompressor of one connection (RFC 7692 §7.2).

use alloc::boxed::Box;
use alloc::vec::Vec;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{DeflateConfig, DeflateParams};

/// The tail every compressed message ends with, stripped by the sender (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

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
    /// A compressed message is being inflated: its state must survive idle periods.
    inflating: bool,
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
            inflating: false,
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

    /// The window bits and level of a compressor that starts afresh with every message
    /// (no context takeover), which decide its output completely; `None` when it keeps
    /// its context (or does not compress).
    pub(crate) fn fresh_compression(&self) -> Option<(u8, u32)> {
        if !self.send_no_context_takeover {
            return None;
        }
        Some((self.send_bits?, self.level))
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
        compress_into(compressor, payload, out);
        // RFC 7692 §7.1.1: without context takeover, every message starts from an empty
        // window. Resetting keeps the allocation for the next message; `release_idle`
        // frees it when the connection goes quiet.
        if self.send_no_context_takeover {
            if let Some(c) = &mut self.compressor {
                c.reset();
            }
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
        self.inflating = true;
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
        self.inflating = false;
        if self.recv_no_context_takeover || self.stream_ended {
            if let Some(d) = &mut self.decompressor {
                d.reset(false);
            }
        }
        self.stream_ended = false;
    }

    /// Frees the state that no later message depends on — the zlib streams of a direction
    /// without context takeover — while the connection waits for input. A message half
    /// inflated keeps its stream: the rest of it (the next frames) depends on it.
    pub(crate) fn release_idle(&mut self) {
        if self.send_no_context_takeover {
            self.compressor = None;
        }
        if self.recv_no_context_takeover && !self.inflating {
            self.decompressor = None;
        }
        self.scratch = Vec::new();
    }
}

/// Compresses a whole message into `out` (replacing its contents) with a sync flush, and
/// strips the tail (RFC 7692 §7.2.1).
fn compress_into(compressor: &mut Compress, payload: &[u8], out: &mut Vec<u8>) {
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
}

/// A whole message compressed by a fresh compressor with `bits` window bits at `level`:
/// what any connection whose compressor starts afresh with each message (no context
/// takeover) with those settings sends, byte for byte.
pub(crate) fn compress_fresh(payload: &[u8], bits: u8, level: u32) -> Vec<u8> {
    let mut compressor = Compress::new_with_window_bits(Compression::new(level), false, bits);
    let mut out = Vec::new();
    compress_into(&mut compressor, payload, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Level 6, zlib's default, which produced the RFC's example bytes.
    fn codec_pair(params: DeflateParams) -> (Codec, Codec) {
        let config = DeflateConfig::default().threshold(0).level(6);
        (
            Codec::new(&params, &config, false),
            Codec::new(&params, &config, true),
        )
    }

    use super::super::DEFAULT;

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
            let mut out = Vec::new();
            assert!(server.decompress(&c, true, &mut out, 100).is_ok());
            assert_eq!(out, b"Hello");
        }
        // Idle: the state no later message depends on is freed.
        client.release_idle();
        server.release_idle();
        assert!(client.compressor.is_none() && server.decompressor.is_none());
    }

    #[test]
    fn going_idle_in_the_middle_of_a_message_keeps_its_inflate_state() {
        // Regression: the tokio adapter releases idle state whenever a read would block,
        // which can fall between two frames of one compressed message. Autobahn 12.2.15
        // (128 KiB messages in 256-byte frames) failed with 1007 when this freed the stream.
        let params = DeflateParams {
            client_no_context_takeover: true,
            ..DEFAULT
        };
        let (mut client, mut server) = codec_pair(params);
        // Pseudo-random letters: compressible, but not to nothing.
        let mut x = 12345u32;
        let text: Vec<u8> = (0..20_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                b'a' + (x >> 16) as u8 % 26
            })
            .collect();
        let mut compressed = Vec::new();
        client.compress_message(&text, &mut compressed);
        assert!(
            compressed.len() > 512,
            "too short to split: {}",
            compressed.len()
        );
        let mut out = Vec::new();
        let frames: Vec<&[u8]> = compressed.chunks(256).collect();
        for (i, frame) in frames.iter().enumerate() {
            let last = i + 1 == frames.len();
            assert!(
                server.decompress(frame, last, &mut out, 1 << 20).is_ok(),
                "frame {i}"
            );
            server.release_idle();
            assert_eq!(server.decompressor.is_some(), !last, "after frame {i}");
        }
        assert_eq!(out, text);
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
}
