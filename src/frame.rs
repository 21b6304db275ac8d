//! Frame headers (RFC 6455 §5.2): a decoder over `&[u8]` and an encoder into a caller's
//! buffer.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! [`FrameHeader::decode`] checks everything that can be checked from the header alone;
//! rules that depend on the connection (role, negotiated extensions, fragmentation state)
//! are enforced by [`Connection`](crate::Connection).

use crate::error::ProtocolError;

/// The longest possible frame header: 2 + 8 (64-bit length) + 4 (masking key).
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The result of decoding from a buffer that may not hold enough bytes yet.
///
/// Running out of input is a status, not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Status<T> {
    /// More bytes are needed before anything can be decided.
    Partial,
    /// Decoding finished.
    Complete(T),
}

/// A frame opcode (RFC 6455 §5.2). Reserved opcodes are rejected while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// %x0: a continuation frame.
    Continuation = 0x0,
    /// %x1: the first frame of a text message.
    Text = 0x1,
    /// %x2: the first frame of a binary message.
    Binary = 0x2,
    /// %x8: a connection close.
    Close = 0x8,
    /// %x9: a ping.
    Ping = 0x9,
    /// %xA: a pong.
    Pong = 0xA,
}

impl OpCode {
    /// The opcode for a 4-bit value, or `None` for the reserved values %x3–7 and %xB–F.
    #[inline]
    pub const fn from_u8(value: u8) -> Option<OpCode> {
        Some(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// Control frames have opcodes with the most significant bit set (§5.5).
    #[inline]
    pub const fn is_control(self) -> bool {
        self as u8 & 0x8 != 0
    }
}

/// A decoded frame header: a plain value, independent of the bytes it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// RSV1 (used by permessage-deflate, RFC 7692).
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on every client-to-server frame.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// A header with FIN set, no RSV bits and no mask.
    pub const fn new(opcode: OpCode, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Decodes a header from the start of `buf`.
    ///
    /// Returns the header and its length in bytes, [`Status::Partial`] when `buf` ends
    /// inside the header, or an error for a header no endpoint may send: a reserved opcode,
    /// an oversized or fragmented control frame, a 64-bit length with its most significant
    /// bit set, or a length not in its minimal encoding.
    #[inline]
    pub fn decode(buf: &[u8]) -> Result<Status<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, ..] = *buf else {
            return Ok(Status::Partial);
        };
        // §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
        // WebSocket Connection_."
        let Some(opcode) = OpCode::from_u8(b0 & 0x0F) else {
            return Err(ProtocolError::UnknownOpCode(b0 & 0x0F));
        };
        let fin = b0 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            // §5.5: "All control frames MUST have a payload length of 125 bytes or less and
            // MUST NOT be fragmented."
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if len7 > 125 {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        let (payload_len, mut pos) = match len7 {
            126 => {
                let Some(b) = buf.get(2..4) else {
                    return Ok(Status::Partial);
                };
                let len = u16::from_be_bytes([b[0], b[1]]);
                // §5.2: "the minimal number of bytes MUST be used to encode the length".
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (u64::from(len), 4)
            }
            127 => {
                let Some(b) = buf.get(2..10) else {
                    return Ok(Status::Partial);
                };
                let len = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                // §5.2: "the most significant bit MUST be 0".
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthOverflow);
                }
                if len <= 0xFFFF {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        let mask = if b1 & 0x80 != 0 {
            let Some(k) = buf.get(pos..pos + 4) else {
                return Ok(Status::Partial);
            };
            pos += 4;
            Some([k[0], k[1], k[2], k[3]])
        } else {
            None
        };
        Ok(Status::Complete((
            FrameHeader {
                fin,
                rsv1: b0 & 0x40 != 0,
                rsv2: b0 & 0x20 != 0,
                rsv3: b0 & 0x10 != 0,
                opcode,
                mask,
                payload_len,
            },
            pos,
        )))
    }

    /// The number of bytes [`FrameHeader::encode`] writes.
    #[inline]
    pub const fn encoded_len(&self) -> usize {
        header_len(self.payload_len, self.mask.is_some())
    }

    /// Encodes the header into `out`, returning the number of bytes written (2 to 14).
    ///
    /// The payload length always uses its minimal encoding. The caller must keep
    /// `payload_len` below 2^63.
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        debug_assert!(self.payload_len >> 63 == 0, "payload length overflow");
        out[0] = (self.fin as u8) << 7
            | (self.rsv1 as u8) << 6
            | (self.rsv2 as u8) << 5
            | (self.rsv3 as u8) << 4
            | self.opcode as u8;
        let mask_bit = (self.mask.is_some() as u8) << 7;
        let mut pos = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[pos..pos + 4].copy_from_slice(&key);
            pos += 4;
        }
        pos
    }

    /// Appends the encoded header to `out`.
    #[inline]
    pub fn encode_to_vec(&self, out: &mut alloc::vec::Vec<u8>) {
        let mut buf = [0; MAX_HEADER_LEN];
        let n = self.encode(&mut buf);
        out.extend_from_slice(&buf[..n]);
    }
}

/// The length of a header announcing `payload_len` bytes, with or without a masking key.
#[inline]
pub const fn header_len(payload_len: u64, masked: bool) -> usize {
    let base = match payload_len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    };
    if masked { base + 4 } else { base }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_ok(bytes: &[u8]) -> (FrameHeader, usize) {
        match FrameHeader::decode(bytes) {
            Ok(Status::Complete(h)) => h,
            other => panic!("expected a complete header, got {other:?}"),
        }
    }

    #[test]
    fn every_prefix_of_a_header_is_partial() {
        let mut h = FrameHeader::new(OpCode::Binary, 70_000);
        h.mask = Some([1, 2, 3, 4]);
        let mut buf = [0; MAX_HEADER_LEN];
        let n = h.encode(&mut buf);
        assert_eq!(n, 14);
        for end in 0..n {
            assert_eq!(
                FrameHeader::decode(&buf[..end]),
                Ok(Status::Partial),
                "prefix {end}"
            );
        }
        assert_eq!(decode_ok(&buf[..n]), (h, 14));
    }

    #[test]
    fn length_encodings_at_their_boundaries() {
        for (len, hlen) in [
            (0u64, 2usize),
            (125, 2),
            (126, 4),
            (0xFFFF, 4),
            (0x1_0000, 10),
            (u64::MAX >> 1, 10),
        ] {
            let h = FrameHeader::new(OpCode::Binary, len);
            let mut buf = [0; MAX_HEADER_LEN];
            assert_eq!(h.encode(&mut buf), hlen);
            assert_eq!(h.encoded_len(), hlen);
            assert_eq!(decode_ok(&buf[..hlen]), (h, hlen));
        }
    }

    #[test]
    fn header_level_violations() {
        let cases: &[(&[u8], ProtocolError)] = &[
            (&[0x83, 0x00], ProtocolError::UnknownOpCode(3)),
            (&[0x8F, 0x00], ProtocolError::UnknownOpCode(0xF)),
            (&[0x09, 0x00], ProtocolError::FragmentedControlFrame),
            (
                &[0x89, 0x7E, 0x00, 0x7E],
                ProtocolError::ControlFrameTooLong,
            ),
            (&[0x82, 0x7E, 0x00, 0x7D], ProtocolError::NonMinimalLength),
            (
                &[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
                ProtocolError::NonMinimalLength,
            ),
            (
                &[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0],
                ProtocolError::LengthOverflow,
            ),
        ];
        for (bytes, err) in cases {
            assert_eq!(
                FrameHeader::decode(bytes).as_ref(),
                Err(err),
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn rsv_bits_are_reported_not_judged() {
        let (h, _) = decode_ok(&[0xF1, 0x00]);
        assert!(h.rsv1 && h.rsv2 && h.rsv3 && h.fin);
        assert_eq!(h.opcode, OpCode::Text);
    }
}
