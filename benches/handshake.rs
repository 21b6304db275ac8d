//! The server's opening handshake in memory: parse a realistic Chromium request and write
//! the `101 Switching Protocols` answer into a reused `Vec`, per iteration.
//!
//! ```text
//! cargo bench --bench handshake
//! ```
//!
//! Timed: `ServerHandshake::new`, `receive` (httparse + header spans), `request`,
//! `ServerConfig::accept` (RFC 6455 §4.2.1 checks, origin policy, SHA-1 + base64 of the
//! key, the response). Not timed: nothing else; the request bytes are a constant.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::Status;
use rfc6455::handshake::{ServerConfig, ServerHandshake};

/// What Chromium 124 sends (headers in its order, with cookies and an extension offer).
pub const CHROMIUM_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://localhost:8080\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=4f2a9c; theme=dark\r\n\
Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Elements(1));
    let config = ServerConfig::default();
    let mut out = Vec::with_capacity(256);
    group.bench_function("server_parse_and_accept", |b| {
        b.iter(|| {
            out.clear();
            let mut hs = ServerHandshake::new(&config);
            let status = hs.receive(black_box(CHROMIUM_REQUEST)).unwrap();
            assert_eq!(status, Status::Complete(()));
            let request = hs.request().unwrap();
            config.accept(&request, &mut out).unwrap();
            black_box(&out);
        })
    });
    // The policy with subprotocols, as examples/echo_server.rs configures it (the request
    // offers none, so only the lookup is added).
    let config = ServerConfig::default().subprotocols(["v12.stomp", "v11.stomp", "v10.stomp"]);
    group.bench_function("server_parse_and_accept_subprotocols", |b| {
        b.iter(|| {
            out.clear();
            let mut hs = ServerHandshake::new(&config);
            let _ = hs.receive(black_box(CHROMIUM_REQUEST)).unwrap();
            let request = hs.request().unwrap();
            config.accept(&request, &mut out).unwrap();
            black_box(&out);
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! { name = benches; config = config(); targets = handshake }
criterion_main!(benches);
