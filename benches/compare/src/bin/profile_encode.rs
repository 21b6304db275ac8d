//! An encode loop to profile: `profile_encode LINE SIZE SECONDS`, LINE tokio-server,
//! tokio-client, fastwebsockets-server, fastwebsockets-client, blocking-server, blocking-client, core-server, core-client.
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rfc6455::{Config, Connection, Message, Role};
use rfc6455_compare::{MemStream, binary_payload};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("tokio-server");
    let size: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);
    let secs: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let role = if which.ends_with("client") { Role::Client } else { Role::Server };
    // Static, as in `benches/compare.rs`: cloning it for each send costs no atomic.
    let payload = Bytes::from_static(binary_payload(size).leak());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    if which.starts_with("tokio") {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (stream, _h) = MemStream::new(Vec::new());
        let mut ws = rfc6455::io::tokio::WebSocket::from_parts(stream, Connection::new(role, Config::default()), &[]);
        while Instant::now() < deadline {
            rt.block_on(async {
                for _ in 0..1000 {
                    ws.send(Message::Binary(black_box(payload.clone()))).await.unwrap();
                }
            });
            n += 1000;
        }
    } else if which.starts_with("fastwebsockets") {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (stream, _h) = MemStream::new(Vec::new());
        let f_role = match role {
            Role::Client => fastwebsockets::Role::Client,
            Role::Server => fastwebsockets::Role::Server,
        };
        let mut ws = fastwebsockets::WebSocket::after_handshake(stream, f_role);
        while Instant::now() < deadline {
            rt.block_on(async {
                for _ in 0..1000 {
                    let frame = fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(black_box(&payload)));
                    ws.write_frame(frame).await.unwrap();
                }
            });
            n += 1000;
        }
    } else if which.starts_with("blocking") {
        let (stream, _h) = MemStream::new(Vec::new());
        let mut ws = rfc6455::io::blocking::WebSocket::from_parts(stream, Connection::new(role, Config::default()), &[]);
        while Instant::now() < deadline {
            for _ in 0..1000 {
                ws.send(Message::Binary(black_box(payload.clone()))).unwrap();
            }
            n += 1000;
        }
    } else {
        let mut conn = Connection::new(role, Config::default());
        let mut out = Vec::new();
        let (mut sink, _h) = MemStream::new(Vec::new());
        while Instant::now() < deadline {
            for _ in 0..1000 {
                out.clear();
                conn.send_binary(black_box(&payload), &mut out).unwrap();
                std::io::Write::write_all(&mut sink, &out).unwrap();
            }
            n += 1000;
        }
    }
    eprintln!("{which} {size}: {:.2} M msgs/s", n as f64 / secs as f64 / 1e6);
}
