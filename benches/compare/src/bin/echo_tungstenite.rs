//! tungstenite echo server (through tokio-tungstenite, the usual way to run tungstenite on
//! tokio): echoes text and binary messages.
//!
//! ```text
//! TOKIO_WORKER_THREADS=1 echo_tungstenite [ADDR]     # default 127.0.0.1:9102
//! ```
//!
//! Built like examples/echo_server.rs of rfc6455 — `#[tokio::main]` (one worker with
//! TOKIO_WORKER_THREADS=1), a task per connection, TCP_NODELAY, default limits — so that
//! only the WebSocket implementation differs.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9102".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "echo_tungstenite listening on ws://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    break;
                }
            }
        });
    }
}
