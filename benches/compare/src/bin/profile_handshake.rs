//! A handshake loop to profile: `profile_handshake LINE SECONDS`, LINE tokio, blocking,
//! core, hyper.
use std::hint::black_box;
use std::time::{Duration, Instant};

use rfc6455_compare::{CHROMIUM_REQUEST, MemStream};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("tokio");
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let acceptor = rfc6455::io::tokio::Acceptor::default();
    while Instant::now() < deadline {
        for _ in 0..1000 {
            match which {
                "tokio" => {
                    black_box(rt.block_on(acceptor.accept(MemStream::from_static(CHROMIUM_REQUEST))).unwrap());
                }
                "blocking" => {
                    black_box(rfc6455::io::blocking::accept(MemStream::from_static(CHROMIUM_REQUEST)).unwrap());
                }
                _ => {
                    let config = rfc6455::handshake::ServerConfig::default();
                    let mut out = Vec::with_capacity(256);
                    let mut hs = rfc6455::handshake::ServerHandshake::new(&config);
                    let _ = hs.receive(black_box(CHROMIUM_REQUEST)).unwrap();
                    let request = hs.request().unwrap();
                    black_box(config.accept(&request, &mut out).unwrap());
                }
            }
        }
        n += 1000;
    }
    eprintln!("{which}: {:.2} µs/handshake", secs as f64 * 1e6 / n as f64);
}
