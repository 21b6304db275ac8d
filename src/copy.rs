//! Copies of large payloads into owned buffers.
//!
//! glibc copies blocks above a threshold with `rep movsb` (2112 bytes on CPUs with "fast
//! short rep movsb", 4–8 KiB otherwise), which on the AMD EPYC machine we measure on runs
//! several times slower than a vector loop when the source has just been written by the
//! kernel (a socket read): the tokio echo server spent 17 µs of its 48 µs per 64 KiB
//! message in that one instruction (`benches/compare/echo.sh`; with the copies below,
//! 29 µs). Copying in pieces below every threshold keeps `memcpy` on its vector loop, at
//! the cost of one call per 2 KiB.

use alloc::vec::Vec;

/// The largest piece handed to `memcpy` at once: below glibc's `rep movsb` thresholds.
pub(crate) const PIECE: usize = 2048;

/// Appends `src` to `dst`.
#[inline]
pub(crate) fn extend(dst: &mut Vec<u8>, src: &[u8]) {
    if src.len() <= PIECE {
        dst.extend_from_slice(src);
        return;
    }
    dst.reserve(src.len());
    for piece in src.chunks(PIECE) {
        dst.extend_from_slice(piece);
    }
}

/// Appends `src` to `dst`.
#[inline]
pub(crate) fn extend_bytes(dst: &mut bytes::BytesMut, src: &[u8]) {
    if src.len() <= PIECE {
        dst.extend_from_slice(src);
        return;
    }
    dst.reserve(src.len());
    for piece in src.chunks(PIECE) {
        dst.extend_from_slice(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_byte_at_every_length_around_the_piece_size() {
        let src: Vec<u8> = (0..3 * PIECE + 7).map(|i| (i * 31 + 5) as u8).collect();
        for len in [0, 1, PIECE - 1, PIECE, PIECE + 1, 2 * PIECE, 3 * PIECE + 7] {
            let mut dst = b"head".to_vec();
            extend(&mut dst, &src[..len]);
            assert_eq!(&dst[..4], b"head");
            assert_eq!(&dst[4..], &src[..len]);
            let mut dst = bytes::BytesMut::from(&b"head"[..]);
            extend_bytes(&mut dst, &src[..len]);
            assert_eq!(&dst[..4], b"head");
            assert_eq!(&dst[4..], &src[..len]);
        }
    }
}
