//! A decode loop to profile (perf record -e cpu-clock): `profile_decode LINE SIZE SECONDS`,
//! LINE one of tokio, tokio-websockets, blocking, reader; `KIND=mixed` for text frames of
//! mixed UTF-8 instead of binary ones.
use std::hint::black_box;
use std::time::{Duration, Instant};

use rfc6455::{Config, Connection, MessageReader, Role};
use rfc6455_compare::{MemStream, binary_payload, client_stream, mixed_payload};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("tokio");
    let size: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);
    let secs: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    // KIND=mixed: text frames, 60% ASCII and the rest 2-4-byte UTF-8.
    let (pristine, frames) = match std::env::var("KIND").as_deref() {
        Ok("mixed") => client_stream(0x1, &mixed_payload(size)),
        _ => client_stream(0x2, &binary_payload(size)),
    };
    let limits = Config::default().max_message_size(64 << 20).max_frame_size(64 << 20);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut iters = 0u64;
    match which {
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (stream, handle) = MemStream::new(pristine);
            let mut ws = rfc6455::io::tokio::WebSocket::from_parts(stream, Connection::new(Role::Server, limits), &[]);
            while Instant::now() < deadline {
                handle.rewind();
                rt.block_on(async {
                    for _ in 0..frames {
                        black_box(ws.recv().await.unwrap().unwrap());
                    }
                });
                iters += 1;
            }
        }
        "tokio-websockets" => {
            use futures_util::StreamExt;
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (stream, handle) = MemStream::new(pristine);
            let mut ws = tokio_websockets::ServerBuilder::new()
                .limits(tokio_websockets::Limits::default().max_payload_len(Some(64 << 20)))
                .serve(stream);
            while Instant::now() < deadline {
                handle.rewind();
                rt.block_on(async {
                    for _ in 0..frames {
                        black_box(ws.next().await.unwrap().unwrap());
                    }
                });
                iters += 1;
            }
        }
        "blocking" => {
            let (stream, handle) = MemStream::new(pristine);
            let mut ws = rfc6455::io::blocking::WebSocket::from_parts(stream, Connection::new(Role::Server, limits), &[]);
            while Instant::now() < deadline {
                handle.rewind();
                for _ in 0..frames {
                    black_box(ws.read().unwrap().unwrap());
                }
                iters += 1;
            }
        }
        "reader" => {
            let mut conn = Connection::new(Role::Server, limits);
            let mut reader = MessageReader::new();
            while Instant::now() < deadline {
                let mut taken = 0;
                let mut n = 0;
                loop {
                    while let Some(m) = reader.poll_message(&mut conn).unwrap() {
                        black_box(m);
                        n += 1;
                    }
                    if taken == pristine.len() {
                        break;
                    }
                    let mut buf = reader.read_buf();
                    let room = rfc6455_compare::room(&buf);
                    let k = room.min(65536).min(pristine.len() - taken);
                    bytes::BufMut::put_slice(&mut buf, &pristine[taken..taken + k]);
                    taken += k;
                }
                assert_eq!(n, frames);
                iters += 1;
            }
        }
        other => panic!("{other}"),
    }
    eprintln!("{which} {size}: {:.2} M msgs/s {:.2} GiB/s", (iters * frames) as f64 / secs as f64 / 1e6, (iters * frames) as f64 * (size as f64) / secs as f64 / (1u64 << 30) as f64);
}
