//! Blocking echo server, a thread per connection: the same behaviour and arguments as
//! `echo_server` (it is the Autobahn testee for the blocking adapter).
//!
//! ```text
//! cargo run --release --example echo_server_blocking [ADDR] [--allowed-origin ORIGIN]... [--max-message-size BYTES]
//! ```

#[path = "shared/echo_args.rs"]
mod echo_args;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use rfc6455::Message;
use rfc6455::io::blocking::Acceptor;

fn main() -> std::io::Result<()> {
    let (addr, handshake, limits) = echo_args::from_args("echo_server_blocking");
    let acceptor = Acceptor::new(handshake, limits);

    let listener = TcpListener::bind(&addr)?;
    eprintln!(
        "echo_server_blocking listening on ws://{}",
        listener.local_addr()?
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let acceptor = acceptor.clone();
        std::thread::spawn(move || {
            let peer = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let _ = stream.set_nodelay(true);
            // Bound the handshake against slow clients; no timeout once it is done.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let started = Instant::now();
            let (mut ws, path) = match acceptor.accept_with(stream, |req| {
                Ok((Default::default(), req.target().to_string()))
            }) {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("{peer} handshake failed: {e}");
                    return;
                }
            };
            let _ = ws.get_mut().set_read_timeout(None);
            let mut messages = 0u64;
            let result = loop {
                match ws.read() {
                    Ok(Some(message @ (Message::Text(_) | Message::Binary(_)))) => {
                        messages += 1;
                        if let Err(e) = ws.send(message) {
                            break Err(e);
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            let code = ws.connection().peer_close_code();
            let outcome = match result {
                Ok(()) => format!("closed {}", code.map_or(1006, |c| c.as_u16())),
                Err(e) => format!("ended: {e}"),
            };
            eprintln!(
                "{peer} {path} protocol={} messages={messages} {outcome} after {:.1?}",
                ws.protocol().unwrap_or("-"),
                started.elapsed()
            );
            // The server closes TCP first (RFC 6455 §7.1.1), gracefully.
            let _ = ws.shutdown(Duration::from_secs(2));
        });
    }
    Ok(())
}
