//! Differential: `apply_mask` (word-wise / AVX2) vs `apply_mask_reference` at fuzzer-chosen
//! keys, payload offsets, buffer alignments and split points; `extend_masked` and
//! `apply_mask_ascii` (whose verdict must equal `is_ascii` of the unmasked bytes) too.
//! Input: `[key; 4] [offset] [align] [split] [data...]`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfc6455::mask::{apply_mask, apply_mask_ascii, apply_mask_reference, extend_masked};

fuzz_target!(|input: &[u8]| {
    let Some((&[k0, k1, k2, k3, offset, align, split], data)) = input.split_first_chunk::<7>()
    else {
        return;
    };
    let key = [k0, k1, k2, k3];
    let offset = usize::from(offset);
    let align = usize::from(align % 32);
    let mut backing = vec![0xEEu8; align + data.len() + 1];
    backing[align..align + data.len()].copy_from_slice(data);
    let mut reference = data.to_vec();
    apply_mask_reference(&mut reference, key, offset);

    apply_mask(&mut backing[align..align + data.len()], key, offset);
    assert_eq!(&backing[align..align + data.len()], &reference[..]);
    assert!(backing[..align].iter().all(|&b| b == 0xEE) && backing[align + data.len()] == 0xEE);

    // In two pieces, the second continuing at its payload offset.
    let split = usize::from(split).min(data.len());
    let mut pieces = data.to_vec();
    let (a, b) = pieces.split_at_mut(split);
    apply_mask(a, key, offset);
    apply_mask(b, key, offset + split);
    assert_eq!(pieces, reference);

    // Masking twice is the identity.
    apply_mask(&mut pieces, key, offset);
    assert_eq!(pieces, data);

    let mut out = vec![1, 2, 3];
    extend_masked(&mut out, data, key);
    let mut expected = data.to_vec();
    apply_mask_reference(&mut expected, key, 0);
    assert_eq!(&out[..3], &[1, 2, 3]);
    assert_eq!(&out[3..], &expected[..]);

    let mut masked = data.to_vec();
    let ascii = apply_mask_ascii(&mut masked, key, offset);
    assert_eq!(masked, reference);
    assert_eq!(ascii, reference.is_ascii());
});
