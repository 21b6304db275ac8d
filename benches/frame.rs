//! Frame decode and encode through `rfc6455::Connection`, the sans-IO core.
//!
//! ```text
//! cargo bench --bench frame                       # everything (a few minutes)
//! cargo bench --bench frame -- decode_binary/     # one group
//! ```
//!
//! Every decode iteration consumes about 1 MiB of wire bytes (at least two frames): a
//! buffer of identical masked client frames, i.e. what a server receives. Throughput is
//! reported both as frames/s and as wire bytes/s (headers included).
//!
//! `receive` unmasks in place, so the input must be restored before each iteration. Two
//! ways, reported separately so that nothing is hidden:
//!
//! * `decode_*` (in place): criterion's `iter_batched_ref` copies the pristine buffer in
//!   its untimed setup; the figure is the core alone on bytes already in memory. What that
//!   excluded copy costs is `input_copy` (one `copy_from_slice` of the whole buffer).
//! * `decode_*_streamed`: the realistic reader. The pristine bytes are streamed through a
//!   64 KiB buffer (`copy_from_slice`, as a socket read would, then `receive` until it
//!   asks for more, then the unconsumed tail moves to the front), all timed. Large frames
//!   arrive as chunk events, as they would from a socket. `copy_unmask_floor` is the same
//!   loop with `receive` replaced by one `apply_mask` over each chunk: the floor any
//!   reader pays, and the yardstick for "≥ 0.9 of the floor".
//!
//! Encode appends one frame to a reused `Vec` (cleared before each frame): client frames
//! are masked with keys from the default OS-seeded generator, as `Connection::new` does.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::mask::apply_mask;
use rfc6455::{Config, Connection, Event, MessageKind, Role};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const SIZES: [usize; 6] = [16, 125, 1 << 10, 16 << 10, 64 << 10, 1 << 20];
/// About this many wire bytes per decode iteration.
const TARGET_BYTES: usize = 1 << 20;
/// The streamed reader's buffer.
const READ_BUF: usize = 64 << 10;

/// One masked client frame (FIN set) with `payload`, built by hand (not by the crate under
/// test).
fn masked_frame(opcode: u8, payload: &[u8], key: [u8; 4], out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
}

/// Identical frames filling about `TARGET_BYTES`; returns the bytes and the frame count.
fn client_stream(opcode: u8, payload: &[u8]) -> (Vec<u8>, u64) {
    let mut one = Vec::new();
    masked_frame(opcode, payload, KEY, &mut one);
    let count = (TARGET_BYTES / one.len()).max(2);
    (one.repeat(count), count as u64)
}

fn binary_payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

fn ascii_payload(len: usize) -> Vec<u8> {
    let text = b"The quick brown fox jumps over the lazy dog. 0123456789 ";
    text.iter().copied().cycle().take(len).collect()
}

/// Valid UTF-8 of exactly `len` bytes, mostly 2-, 3- and 4-byte sequences.
fn multibyte_payload(len: usize) -> Vec<u8> {
    let text = "κόσμε – ŝpruĉ € 𝄞 日本語のテキスト Привет мир ";
    let mut out = Vec::with_capacity(len);
    for c in text.chars().cycle() {
        if out.len() + c.len_utf8() > len {
            break;
        }
        let mut b = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }
    out.resize(len, b'.');
    assert!(std::str::from_utf8(&out).is_ok());
    out
}

fn server() -> Connection {
    let limits = Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20);
    Connection::new(Role::Server, limits)
}

/// Decodes every frame in `buf` (whole frames only); returns the number of messages.
#[inline]
fn decode_all(conn: &mut Connection, buf: &mut [u8]) -> u64 {
    let mut pos = 0;
    let mut messages = 0;
    while pos < buf.len() {
        let received = conn.receive(&mut buf[pos..]).expect("valid input");
        pos += received.consumed;
        match received.event {
            Some(Event::Binary(p)) => {
                black_box(p);
            }
            Some(Event::Text(t)) => {
                black_box(t);
            }
            other => panic!("unexpected {other:?}"),
        }
        messages += 1;
    }
    messages
}

/// Streams `src` through a `READ_BUF` buffer, decoding as it goes; returns the number of
/// complete messages.
#[inline]
fn decode_streamed(conn: &mut Connection, src: &[u8], buf: &mut [u8]) -> u64 {
    let mut taken = 0;
    let mut filled = 0;
    let mut messages = 0;
    loop {
        let n = (buf.len() - filled).min(src.len() - taken);
        buf[filled..filled + n].copy_from_slice(&src[taken..taken + n]);
        taken += n;
        filled += n;
        let mut pos = 0;
        loop {
            let received = conn.receive(&mut buf[pos..filled]).expect("valid input");
            pos += received.consumed;
            match received.event {
                None => break,
                Some(Event::Binary(p)) => {
                    black_box(p);
                    messages += 1;
                }
                Some(Event::Text(t)) => {
                    black_box(t);
                    messages += 1;
                }
                Some(Event::BinaryChunk { payload, fin } | Event::TextChunk { payload, fin }) => {
                    black_box(payload);
                    messages += fin as u64;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        buf.copy_within(pos..filled, 0);
        filled -= pos;
        if taken == src.len() && filled == 0 {
            return messages;
        }
    }
}

/// The floor: the same streaming copy, with one `apply_mask` over each chunk instead of
/// decoding.
#[inline]
fn copy_unmask(src: &[u8], buf: &mut [u8]) {
    let mut taken = 0;
    while taken < src.len() {
        let n = buf.len().min(src.len() - taken);
        buf[..n].copy_from_slice(&src[taken..taken + n]);
        apply_mask(&mut buf[..n], KEY, taken);
        black_box(&buf[..n]);
        taken += n;
    }
}

fn decode_group(c: &mut Criterion, name: &str, opcode: u8, payload: fn(usize) -> Vec<u8>) {
    let mut group = c.benchmark_group(name);
    for size in SIZES {
        let (pristine, frames) = client_stream(opcode, &payload(size));
        group.throughput(Throughput::ElementsAndBytes {
            elements: frames,
            bytes: pristine.len() as u64,
        });
        let mut conn = server();
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter_batched_ref(
                || pristine.clone(),
                |buf| assert_eq!(decode_all(&mut conn, buf), frames),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn decode_streamed_group(c: &mut Criterion, name: &str, opcode: u8, payload: fn(usize) -> Vec<u8>) {
    let mut group = c.benchmark_group(name);
    for size in SIZES {
        let (pristine, frames) = client_stream(opcode, &payload(size));
        group.throughput(Throughput::ElementsAndBytes {
            elements: frames,
            bytes: pristine.len() as u64,
        });
        let mut conn = server();
        let mut buf = vec![0u8; READ_BUF];
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| assert_eq!(decode_streamed(&mut conn, &pristine, &mut buf), frames))
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    decode_group(c, "decode_binary", 0x2, binary_payload);
    decode_group(c, "decode_text_ascii", 0x1, ascii_payload);
    decode_group(c, "decode_text_multibyte", 0x1, multibyte_payload);
    decode_streamed_group(c, "decode_binary_streamed", 0x2, binary_payload);
    decode_streamed_group(c, "decode_text_ascii_streamed", 0x1, ascii_payload);

    let mut group = c.benchmark_group("copy_unmask_floor");
    for size in SIZES {
        let (pristine, _) = client_stream(0x2, &binary_payload(size));
        group.throughput(Throughput::Bytes(pristine.len() as u64));
        let mut buf = vec![0u8; READ_BUF];
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| copy_unmask(black_box(&pristine), &mut buf))
        });
    }
    group.finish();

    // What `iter_batched_ref` leaves out of the in-place decode figures.
    let mut group = c.benchmark_group("input_copy");
    for size in [16, 1 << 20] {
        let (pristine, _) = client_stream(0x2, &binary_payload(size));
        group.throughput(Throughput::Bytes(pristine.len() as u64));
        let mut buf = vec![0u8; pristine.len()];
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| buf.copy_from_slice(black_box(&pristine)))
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    for (name, role) in [
        ("encode_client", Role::Client),
        ("encode_server", Role::Server),
    ] {
        let mut group = c.benchmark_group(name);
        for size in SIZES {
            let payload = binary_payload(size);
            let count = (TARGET_BYTES / (size + 14)).clamp(1, 1024) as u64;
            let mut conn = Connection::new(role, Config::default());
            let mut out = Vec::with_capacity(size + 14);
            group.throughput(Throughput::ElementsAndBytes {
                elements: count,
                bytes: count
                    * (size as u64
                        + rfc6455::frame::header_len(size as u64, role == Role::Client) as u64),
            });
            group.bench_function(BenchmarkId::from_parameter(size), |b| {
                b.iter(|| {
                    for _ in 0..count {
                        out.clear();
                        conn.send_binary(black_box(&payload), &mut out).unwrap();
                        black_box(&out);
                    }
                })
            });
        }
        group.finish();
    }

    // The zero-copy server path: only the header is produced; the payload would go out in
    // the same vectored write straight from the application's buffer.
    let mut group = c.benchmark_group("encode_header_server");
    group.throughput(Throughput::Elements(1024));
    let mut conn = Connection::new(Role::Server, Config::default());
    group.bench_function("any_size", |b| {
        b.iter(|| {
            for _ in 0..1024 {
                let h = conn
                    .encode_header(MessageKind::Binary, black_box(1 << 10), true)
                    .unwrap();
                black_box(h.as_bytes());
            }
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // Short runs by default (the machine is shared); override with --measurement-time.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = decode, encode }
criterion_main!(benches);
