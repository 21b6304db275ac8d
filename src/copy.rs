//! Copies of large payloads into owned buffers.
//!
//! glibc copies blocks above a threshold with `rep movsb` (2112 bytes on CPUs with "fast
//! short rep movsb", 4–8 KiB otherwise), which on the AMD EPYC machine we measure on runs
//! several times slower than a vector loop when the source has just been written by the
//! kernel (a socket read): the tokio echo server spent 17 µs of its 48 µs per 64 KiB
//! message in that one instruction (`benches/compare/echo.sh`; with the copies below,
//! 29 µs). Copying in pieces below every threshold keeps `memcpy` on its vector loop, at
//! the cost of one call per 2 KiB.

use alloc::string::String;
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

/// `src` as a new vector.
#[inline]
pub(crate) fn to_vec(src: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(src.len());
    extend(&mut v, src);
    v
}

/// `src` as a new string, copied in pieces that end on character boundaries.
#[inline]
pub(crate) fn to_string(src: &str) -> String {
    let mut s = String::new();
    if src.len() <= PIECE {
        s.push_str(src);
        return s;
    }
    s.reserve_exact(src.len());
    let mut rest = src;
    while !rest.is_empty() {
        let mut end = rest.len().min(PIECE);
        // A character is at most 4 bytes long: at most 3 steps back.
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        s.push_str(piece);
        rest = tail;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_byte_at_every_length_around_the_piece_size() {
        let src: Vec<u8> = (0..3 * PIECE + 7).map(|i| (i * 31 + 5) as u8).collect();
        for len in [0, 1, PIECE - 1, PIECE, PIECE + 1, 2 * PIECE, 3 * PIECE + 7] {
            assert_eq!(to_vec(&src[..len]), &src[..len]);
            let mut dst = b"head".to_vec();
            extend(&mut dst, &src[..len]);
            assert_eq!(&dst[..4], b"head");
            assert_eq!(&dst[4..], &src[..len]);
        }
    }

    #[test]
    fn strings_are_cut_on_character_boundaries_only() {
        // 'é' is 2 bytes and '€' 3: pieces of 2048 bytes would split some of them.
        for prefix in 0..4 {
            let text: String = "a".repeat(prefix) + &"é€x".repeat(1500);
            assert_eq!(to_string(&text), text);
            assert_eq!(to_string(&text[..prefix + 6]), &text[..prefix + 6]);
        }
    }
}
