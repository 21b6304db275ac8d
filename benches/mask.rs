//! Masking throughput (RFC 6455 §5.3): `rfc6455::mask::apply_mask` at 8 B – 1 MiB and at
//! every payload offset (0–3: only `offset % 4` matters), plus the byte-wise reference for
//! contrast.
//!
//! ```text
//! cargo bench --bench mask
//! cargo bench --bench mask -- 'apply_mask/4096'      # one size
//! ```
//!
//! Masking is in place and is its own inverse, so one buffer is masked over and over: every
//! iteration does the same work on bytes already in cache (sizes up to 1 MiB fit in this
//! machine's L2), which is what a reader unmasking freshly received bytes sees.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::mask::{apply_mask, apply_mask_reference};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const SIZES: [usize; 6] = [8, 64, 512, 4 << 10, 64 << 10, 1 << 20];

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply_mask");
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        for offset in 0..4 {
            let mut buf = pattern(size);
            group.bench_with_input(
                BenchmarkId::new(size.to_string(), format!("offset{offset}")),
                &offset,
                |b, &offset| {
                    b.iter(|| apply_mask(black_box(&mut buf), black_box(KEY), black_box(offset)))
                },
            );
        }
    }
    group.finish();

    let mut group = c.benchmark_group("apply_mask_reference");
    for size in [64, 4 << 10, 64 << 10] {
        group.throughput(Throughput::Bytes(size as u64));
        let mut buf = pattern(size);
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| apply_mask_reference(black_box(&mut buf), black_box(KEY), black_box(1)))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // Short runs by default (the machine is shared); override with --measurement-time.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = mask }
criterion_main!(benches);
