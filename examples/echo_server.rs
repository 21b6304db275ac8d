//! Tokio echo server: echoes every text and binary message, answers pings, completes the
//! close handshake. It is also the Autobahn|Testsuite testee, so its limits admit the
//! suite's largest messages (16 MiB, and 4 MiB in 64-byte fragments).
//!
//! ```text
//! cargo run --release --example echo_server [ADDR] [--allowed-origin ORIGIN]... [--max-message-size BYTES]
//! ```
//!
//! ADDR defaults to 127.0.0.1:9001. Subprotocols, in the server's preference order:
//! v12.stomp, v11.stomp, v10.stomp. With `--allowed-origin`, browsers from other origins
//! get 403 (requests without an Origin header, from non-browser clients, are allowed).
//! `--max-message-size` sets the frame and message limits (default 64 MiB, for Autobahn).

#[path = "shared/echo_args.rs"]
mod echo_args;

use std::time::Instant;

use rfc6455::Message;
use rfc6455::io::tokio::Acceptor;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (addr, handshake, limits) = echo_args::from_args("echo_server");
    let acceptor = Acceptor::new(handshake, limits);

    let listener = TcpListener::bind(&addr).await?;
    eprintln!("echo_server listening on ws://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let (mut ws, path) = match acceptor
                .accept_with(stream, |req| {
                    Ok((Default::default(), req.target().to_string()))
                })
                .await
            {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("{peer} handshake failed: {e}");
                    return;
                }
            };
            let mut messages = 0u64;
            let result = loop {
                match ws.recv().await {
                    Ok(Some(message @ (Message::Text(_) | Message::Binary(_)))) => {
                        messages += 1;
                        if let Err(e) = ws.send(message).await {
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
        });
    }
}
