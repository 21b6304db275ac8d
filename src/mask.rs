//! Payload masking (RFC 6455 §5.3): the only module with `unsafe`, beside a byte-wise
//! reference that the tests compare it against at every length, alignment and offset.
//!
//! "Octet i of the transformed data ("transformed-octet-i") is the XOR of octet i of the
//! original data ("original-octet-i") with octet at index i modulo 4 of the masking key
//! ("masking-key-octet-j")." Masking and unmasking are the same operation.
//!
//! A payload may arrive in pieces, so every function takes `offset`: the index, within the
//! frame's payload, of the first byte of `buf`. Only `offset % 4` matters.

use core::mem::MaybeUninit;

/// Calls the AVX-512F or the AVX2 build of a portable loop when the CPU has that unit
/// (detected at run time with the `std` feature), otherwise the portable loop itself:
/// `widest!(portable, avx2, avx512; args)` evaluates to the call's result.
macro_rules! widest {
    ($portable:ident, $avx2:ident, $avx512:ident; $($arg:expr),*) => {{
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above), the only
                // requirement of a `#[target_feature(enable = "avx512f")]` function.
                unsafe { $avx512($($arg),*) }
            } else if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above), the only requirement
                // of a `#[target_feature(enable = "avx2")]` function.
                unsafe { $avx2($($arg),*) }
            } else {
                $portable($($arg),*)
            }
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        {
            $portable($($arg),*)
        }
    }};
}

/// XORs `buf` with `key`, as if `buf` started at byte `offset` of the payload.
///
/// Uses the widest vector unit available: AVX2 when the CPU has it (detected at run time
/// with the `std` feature), otherwise a portable word-at-a-time loop that the compiler
/// vectorizes for the target's baseline (SSE2 on x86-64, NEON on aarch64).
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    if buf.len() < 64 {
        apply_mask_short(buf, key);
        return;
    }
    let (head, rest) = align_head(buf);
    apply_mask_short(head, key);
    let key = rotate(key, head.len());
    widest!(apply_mask_words, apply_mask_avx2, apply_mask_avx512; rest, key)
}

/// Splits off the bytes before the first 64-byte boundary (a payload starts after a frame
/// header, so rarely on one): the wide loops then store whole cache lines, where a
/// misaligned 64-byte store writes two. The rest starts `head.len()` bytes further into
/// the payload: its key is rotated by that much.
#[inline]
fn align_head(buf: &mut [u8]) -> (&mut [u8], &mut [u8]) {
    let head = buf.as_ptr().align_offset(64).min(buf.len());
    buf.split_at_mut(head)
}

/// [`apply_mask`], also reporting whether every unmasked byte is ASCII (below 0x80): text
/// that is all ASCII is valid UTF-8, so a text frame's payload can be unmasked and
/// validated in one pass.
#[inline]
pub fn apply_mask_ascii(buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    let key = rotate(key, offset);
    if buf.len() < 64 {
        apply_mask_short(buf, key);
        return buf.is_ascii();
    }
    let (head, rest) = align_head(buf);
    apply_mask_short(head, key);
    let head_ascii = head.is_ascii();
    let key = rotate(key, head.len());
    let rest_ascii =
        widest!(apply_mask_ascii_words, apply_mask_ascii_avx2, apply_mask_ascii_avx512; rest, key);
    head_ascii & rest_ascii
}

/// The byte-wise reference: the definition from §5.3, one byte at a time.
pub fn apply_mask_reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) % 4];
    }
}

/// Appends `src` masked with `key` (starting at payload offset 0) to `dst`.
///
/// This is the client's send path: one pass that reads `src` and writes masked bytes into
/// `dst`'s spare capacity (no copy followed by a second pass to mask).
#[inline]
pub fn extend_masked(dst: &mut alloc::vec::Vec<u8>, src: &[u8], key: [u8; 4]) {
    dst.reserve(src.len());
    let start = dst.len();
    let spare = &mut dst.spare_capacity_mut()[..src.len()];
    mask_into(spare, src, key);
    // SAFETY: `mask_into` wrote every one of the `src.len()` elements of `spare`, which
    // `reserve` made available: the first `start + src.len()` elements are initialized.
    unsafe { dst.set_len(start + src.len()) };
}

/// Writes `src[i] ^ key[i % 4]` into `dst[i]` for every `i` (the lengths are equal).
#[inline]
fn mask_into(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    debug_assert_eq!(dst.len(), src.len());
    if src.len() < 64 {
        return mask_into_words(dst, src, key);
    }
    // Whole cache lines stored by the wide loop, as in `apply_mask`.
    let head = dst.as_ptr().align_offset(64).min(dst.len());
    let (dst_head, dst_rest) = dst.split_at_mut(head);
    let (src_head, src_rest) = src.split_at(head);
    mask_into_words(dst_head, src_head, key);
    let key = rotate(key, head);
    widest!(mask_into_words, mask_into_avx2, mask_into_avx512; dst_rest, src_rest, key)
}

/// 64 bytes per iteration, like [`apply_mask_words`], then byte by byte.
#[inline(always)]
fn mask_into_words(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    let wide: [u8; 64] = broadcast(u32::from_ne_bytes(key));
    let mut d = dst.chunks_exact_mut(64);
    let mut s = src.chunks_exact(64);
    for (d, s) in (&mut d).zip(&mut s) {
        for ((d, s), k) in d.iter_mut().zip(s).zip(wide.iter()) {
            *d = MaybeUninit::new(*s ^ *k);
        }
    }
    // Every block above is a multiple of 4 bytes long, so the key is still in phase: 8
    // bytes per step, then the last 0–7 one at a time.
    let [a, b, c, e] = key;
    let k = u64::from_ne_bytes([a, b, c, e, a, b, c, e]);
    let mut d = d.into_remainder().chunks_exact_mut(8);
    let mut s = s.remainder().chunks_exact(8);
    for (d, s) in (&mut d).zip(&mut s) {
        let mut word = [0; 8];
        word.copy_from_slice(s);
        let masked = (u64::from_ne_bytes(word) ^ k).to_ne_bytes();
        for (d, m) in d.iter_mut().zip(masked) {
            *d = MaybeUninit::new(m);
        }
    }
    for ((d, s), k) in d
        .into_remainder()
        .iter_mut()
        .zip(s.remainder())
        .zip(key.iter().cycle())
    {
        *d = MaybeUninit::new(*s ^ *k);
    }
}

/// [`mask_into_words`] with 256-bit vectors.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
fn mask_into_avx2(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    mask_into_words(dst, src, key);
}

/// [`mask_into_words`] with 512-bit vectors.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
fn mask_into_avx512(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    mask_into_words(dst, src, key);
}

/// The key rotated so that its first byte applies to payload byte `offset`.
#[inline]
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    u32::from_le_bytes(key)
        .rotate_right(8 * (offset % 4) as u32)
        .to_le_bytes()
}

/// 8 bytes per step, then the last 0–7 one at a time.
#[inline]
fn apply_mask_short(buf: &mut [u8], key: [u8; 4]) {
    let [a, b, c, d] = key;
    let k = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ k).to_ne_bytes());
    }
    // Every chunk above is 8 bytes long, so the key is still in phase.
    for (b, k) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

/// 64 bytes per iteration: an element-wise XOR of two 64-byte arrays, which LLVM's
/// vectorizer turns into the widest vector unit enabled (4 × SSE2, 2 × AVX2 or
/// 1 × AVX-512 operations per iteration).
#[inline(always)]
fn apply_mask_words(buf: &mut [u8], key: [u8; 4]) {
    // The key repeated 16 times: a 32-bit broadcast once compiled.
    let k = u32::from_ne_bytes(key);
    let wide: [u8; 64] = broadcast(k);
    let mut chunks = buf.chunks_exact_mut(64);
    for chunk in &mut chunks {
        for (b, k) in chunk.iter_mut().zip(wide.iter()) {
            *b ^= *k;
        }
    }
    // Every chunk above is a multiple of 4 bytes long, so the key is still in phase.
    apply_mask_short(chunks.into_remainder(), key);
}

/// [`apply_mask_words`] that also ORs every unmasked byte into a 64-byte accumulator, whose
/// high bits say at the end whether any byte was not ASCII.
#[inline(always)]
fn apply_mask_ascii_words(buf: &mut [u8], key: [u8; 4]) -> bool {
    let wide: [u8; 64] = broadcast(u32::from_ne_bytes(key));
    let mut seen = [0u8; 64];
    let mut chunks = buf.chunks_exact_mut(64);
    for chunk in &mut chunks {
        for ((b, k), s) in chunk.iter_mut().zip(wide.iter()).zip(seen.iter_mut()) {
            *b ^= *k;
            *s |= *b;
        }
    }
    let rest = chunks.into_remainder();
    apply_mask_short(rest, key);
    seen.iter().fold(0, |a, b| a | b) < 0x80 && rest.is_ascii()
}

/// [`apply_mask_ascii_words`] with 256-bit vectors.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
fn apply_mask_ascii_avx2(buf: &mut [u8], key: [u8; 4]) -> bool {
    apply_mask_ascii_words(buf, key)
}

/// [`apply_mask_ascii_words`] with 512-bit vectors.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
fn apply_mask_ascii_avx512(buf: &mut [u8], key: [u8; 4]) -> bool {
    apply_mask_ascii_words(buf, key)
}

/// `[k, k, ..., k]` (16 times) as bytes, in native order like `key`.
#[inline(always)]
fn broadcast(k: u32) -> [u8; 64] {
    let words = [k; 16];
    let mut bytes = [0u8; 64];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    bytes
}

/// The portable loop compiled with AVX2 enabled, so that its vectors are 256 bits wide.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
fn apply_mask_avx2(buf: &mut [u8], key: [u8; 4]) {
    apply_mask_words(buf, key);
}

/// The portable loop compiled with AVX-512F enabled: 512-bit vectors.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
fn apply_mask_avx512(buf: &mut [u8], key: [u8; 4]) {
    apply_mask_words(buf, key);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn fast_path_matches_reference_at_every_length_alignment_and_offset() {
        let key = [0x37, 0xFA, 0x21, 0x3D];
        let backing = pattern(9100);
        for len in (0..=300).chain([511, 512, 513, 577, 4095, 4096, 4097, 9000]) {
            for align in 0..8 {
                for offset in 0..4 {
                    let mut fast = backing[align..align + len].to_vec();
                    let mut reference = fast.clone();
                    apply_mask(&mut fast, key, offset);
                    apply_mask_reference(&mut reference, key, offset);
                    assert_eq!(fast, reference, "len {len} align {align} offset {offset}");
                }
            }
        }
    }

    /// Each vector path on its own (the dispatcher only exercises the widest one).
    #[test]
    fn every_available_path_matches_reference() {
        let key = [0xA5, 0x5A, 0x0F, 0xF0];
        let data = pattern(5010);
        type Path = fn(&mut [u8], [u8; 4]);
        let mut paths: alloc::vec::Vec<(&str, Path)> =
            alloc::vec![("words", apply_mask_words), ("short", apply_mask_short)];
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present (checked just above), all the call requires.
                paths.push(("avx2", |b, k| unsafe { apply_mask_avx2(b, k) }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F is present (checked just above), all the call requires.
                paths.push(("avx512", |b, k| unsafe { apply_mask_avx512(b, k) }));
            }
        }
        for (name, path) in paths {
            for len in (0..=200).chain([1000, 4999]) {
                for align in 0..4 {
                    let mut fast = data[align..align + len].to_vec();
                    let mut reference = fast.clone();
                    path(&mut fast, key);
                    apply_mask_reference(&mut reference, key, 0);
                    assert_eq!(fast, reference, "{name} len {len} align {align}");
                }
            }
        }
    }

    #[test]
    fn ascii_variant_masks_like_reference_and_finds_every_non_ascii_byte() {
        let key = [0x37, 0xFA, 0x21, 0x3D];
        type Path = fn(&mut [u8], [u8; 4]) -> bool;
        let mut paths: alloc::vec::Vec<(&str, Path)> = alloc::vec![
            ("words", apply_mask_ascii_words),
            ("dispatch", |b, k| { apply_mask_ascii(b, k, 0) })
        ];
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present (checked just above), all the call requires.
                paths.push(("avx2", |b, k| unsafe { apply_mask_ascii_avx2(b, k) }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F is present (checked just above), all the call requires.
                paths.push(("avx512", |b, k| unsafe { apply_mask_ascii_avx512(b, k) }));
            }
        }
        let ascii: Vec<u8> = (0..700).map(|i| (i % 128) as u8).collect();
        for (name, path) in paths {
            for len in [0, 1, 3, 63, 64, 65, 127, 128, 129, 700] {
                // All ASCII, then one byte >= 0x80 at every position (first, last, middle,
                // in the vector part and in the tail).
                for bad in core::iter::once(None).chain((0..len).map(Some)) {
                    let mut plain = ascii[..len].to_vec();
                    if let Some(i) = bad {
                        plain[i] = 0x80 | (i as u8);
                    }
                    let mut masked = plain.clone();
                    apply_mask_reference(&mut masked, key, 0);
                    let is_ascii = path(&mut masked, key);
                    assert_eq!(masked, plain, "{name} len {len} bad {bad:?}");
                    assert_eq!(is_ascii, bad.is_none(), "{name} len {len} bad {bad:?}");
                }
            }
        }
        // The offset is honoured like apply_mask's.
        let mut masked = ascii[..100].to_vec();
        apply_mask_reference(&mut masked, key, 3);
        assert!(apply_mask_ascii(&mut masked, key, 3));
        assert_eq!(masked, &ascii[..100]);
    }

    #[test]
    fn masking_in_pieces_equals_masking_at_once() {
        let key = [1, 2, 3, 4];
        let data = pattern(1000);
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        for split in [1, 3, 4, 5, 31, 32, 33, 500, 999] {
            let mut parts = data.clone();
            let (a, b) = parts.split_at_mut(split);
            apply_mask(a, key, 0);
            apply_mask(b, key, split);
            assert_eq!(parts, whole, "split at {split}");
        }
    }

    #[test]
    fn every_mask_into_path_matches_reference() {
        let key = [0xA5, 0x5A, 0x0F, 0xF0];
        let data = pattern(5010);
        type Path = fn(&mut [MaybeUninit<u8>], &[u8], [u8; 4]);
        let mut paths: alloc::vec::Vec<(&str, Path)> =
            alloc::vec![("words", mask_into_words), ("dispatch", mask_into)];
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present (checked just above), all the call requires.
                paths.push(("avx2", |d, s, k| unsafe { mask_into_avx2(d, s, k) }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F is present (checked just above), all the call requires.
                paths.push(("avx512", |d, s, k| unsafe { mask_into_avx512(d, s, k) }));
            }
        }
        for (name, path) in paths {
            for len in (0..=200).chain([1000, 4999]) {
                for align in 0..4 {
                    let src = &data[align..align + len];
                    let mut out = alloc::vec![MaybeUninit::new(0xEEu8); len];
                    path(&mut out, src, key);
                    let fast: alloc::vec::Vec<u8> = out.iter().map(|b| init_byte(*b)).collect();
                    let mut reference = src.to_vec();
                    apply_mask_reference(&mut reference, key, 0);
                    assert_eq!(fast, reference, "{name} len {len} align {align}");
                }
            }
        }
    }

    /// Reads a byte the test initialized with 0xEE before the path overwrote it.
    fn init_byte(b: MaybeUninit<u8>) -> u8 {
        // SAFETY: every element was created with `MaybeUninit::new`.
        unsafe { b.assume_init() }
    }

    #[test]
    fn extend_masked_matches_reference() {
        let key = [9, 8, 7, 6];
        for len in (0..=200).chain([1000, 4096, 4097, 10_001]) {
            let data = pattern(len);
            let mut out = alloc::vec![0xAA];
            extend_masked(&mut out, &data, key);
            let mut expected = data.clone();
            apply_mask_reference(&mut expected, key, 0);
            assert_eq!(out[0], 0xAA);
            assert_eq!(&out[1..], &expected[..]);
        }
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut payload = *b"Hello";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }
}
