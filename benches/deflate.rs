//! permessage-deflate: a compressed echo in memory. A client sends a JSON-like text message
//! (compress + mask), the server receives it (unmask + inflate + validate), echoes it
//! (compress), and the client receives the echo (inflate + validate); per iteration, one
//! round trip. Throughput is the message size, counted once per round trip.
//!
//! ```text
//! cargo bench --bench deflate
//! ```
//!
//! Two settings: context takeover (the default; the second message onwards compresses
//! against the first) and no context takeover (each message compressed alone, the zlib
//! state dropped after each message).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::{Config, Connection, Event, Role};

fn message(len: usize) -> String {
    let mut s = String::with_capacity(len + 64);
    let mut i = 0u32;
    while s.len() < len {
        s.push_str(&format!(
            "{{\"id\":{i},\"user\":\"user{}\",\"text\":\"hello world {}\",\"ok\":true}},",
            i % 97,
            i % 13
        ));
        i += 1;
    }
    s.truncate(len);
    s
}

fn pair(takeover: bool) -> (Connection, Connection) {
    let params = DeflateParams {
        server_no_context_takeover: !takeover,
        client_no_context_takeover: !takeover,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    let config = DeflateConfig::default();
    let limits = Config::default()
        .max_message_size(16 << 20)
        .max_frame_size(16 << 20);
    let mut client = Connection::new(Role::Client, limits.clone());
    let mut server = Connection::new(Role::Server, limits);
    client.enable_deflate(&params, &config);
    server.enable_deflate(&params, &config);
    (client, server)
}

/// Receives one whole text message from `wire`, returning its length.
fn receive(conn: &mut Connection, wire: &mut [u8], inflated: &mut Vec<u8>) -> usize {
    let mut pos = 0;
    let mut total = 0;
    while pos < wire.len() {
        let r = conn.receive_into(&mut wire[pos..], inflated).unwrap();
        pos += r.consumed;
        match r.event {
            Some(Event::Text(t)) => total += t.len(),
            Some(Event::TextChunk { payload, .. }) => total += payload.len(),
            Some(_) => {}
            None => break,
        }
    }
    inflated.clear();
    total
}

fn compressed_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate_echo");
    group.measurement_time(Duration::from_secs(3));
    for size in [256usize, 4 * 1024, 64 * 1024] {
        let text = message(size);
        group.throughput(Throughput::Bytes(size as u64));
        for takeover in [true, false] {
            let label = if takeover {
                "context_takeover"
            } else {
                "no_context_takeover"
            };
            let (mut client, mut server) = pair(takeover);
            let (mut up, mut down, mut inflated) = (Vec::new(), Vec::new(), Vec::new());
            group.bench_with_input(BenchmarkId::new(label, size), &text, |b, text| {
                b.iter(|| {
                    up.clear();
                    client.send_text(text, &mut up).unwrap();
                    let n = receive(&mut server, &mut up, &mut inflated);
                    down.clear();
                    server.send_text(&text[..n], &mut down).unwrap();
                    black_box(receive(&mut client, &mut down, &mut inflated));
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, compressed_echo);
criterion_main!(benches);
