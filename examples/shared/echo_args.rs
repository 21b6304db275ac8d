//! What `echo_server` and `echo_server_blocking` share: the command line, and the
//! handshake policy and limits built from it.

use rfc6455::Config;
use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{AllowedOrigins, ServerConfig};

/// `[ADDR] [--allowed-origin ORIGIN]... [--max-message-size BYTES]` → (address, handshake
/// policy, limits). Exits with a usage message on bad arguments.
pub fn from_args(name: &str) -> (String, ServerConfig, Config) {
    let usage = || -> ! {
        eprintln!("usage: {name} [ADDR] [--allowed-origin ORIGIN]... [--max-message-size BYTES]");
        std::process::exit(2)
    };
    let mut addr = "127.0.0.1:9001".to_string();
    let mut origins = Vec::new();
    // The Autobahn testsuite sends messages of 16 MiB, and 4 MiB in 64-byte fragments.
    let mut max_message_size: u64 = 64 << 20;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--allowed-origin" => origins.push(args.next().unwrap_or_else(|| usage())),
            // Frame and message limits (e.g. 1048576, the library's defaults).
            "--max-message-size" => {
                max_message_size = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            a if a.starts_with('-') => usage(),
            a => addr = a.to_string(),
        }
    }
    // With --allowed-origin, browsers from other origins get 403; requests without an
    // Origin header (non-browser clients) are allowed either way.
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
        .max_message_size(max_message_size)
        .max_frame_size(max_message_size)
        .max_fragments(1 << 20);
    (addr, handshake, limits)
}
