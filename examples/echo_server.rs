//! Tokio echo server: echoes every text and binary message, answers pings, completes the
//! close handshake. It is also the Autobahn|Testsuite testee, so its limits admit the
//! suite's largest messages (16 MiB, and 4 MiB in 64-byte fragments).
//!
//! ```text
//! cargo run --release --example echo_server [ADDR] [--allowed-origin ORIGIN]...
//! ```
//!
//! ADDR defaults to 127.0.0.1:9001. Subprotocols, in the server's preference order:
//! v12.stomp, v11.stomp, v10.stomp. With `--allowed-origin`, browsers from other origins
//! get 403 (requests without an Origin header, from non-browser clients, are allowed).

use std::time::Instant;

use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{AllowedOrigins, ServerConfig};
use rfc6455::io::tokio::Acceptor;
use rfc6455::{Config, Message};
use tokio::net::TcpListener;

fn usage() -> ! {
    eprintln!("usage: echo_server [ADDR] [--allowed-origin ORIGIN]...");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:9001".to_string();
    let mut origins = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--allowed-origin" => origins.push(args.next().unwrap_or_else(|| usage())),
            "-h" | "--help" => usage(),
            a if a.starts_with('-') => usage(),
            a => addr = a.to_string(),
        }
    }
    let mut policy = if origins.is_empty() {
        AllowedOrigins::any()
    } else {
        AllowedOrigins::none()
    };
    for origin in &origins {
        policy = policy.allow(origin).unwrap_or_else(|e| {
            eprintln!("invalid origin {origin}: {e}");
            std::process::exit(2)
        });
    }
    let handshake = ServerConfig::default()
        .allowed_origins(policy)
        .subprotocols(["v12.stomp", "v11.stomp", "v10.stomp"])
        // permessage-deflate (RFC 7692), which every browser offers.
        .deflate(Some(DeflateConfig::default()));
    let limits = Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .max_fragments(1 << 20);
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
