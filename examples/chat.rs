//! A small broadcast chat: one HTML page over plain HTTP at `/` and WebSockets at `/ws`,
//! on the same port. Every text message is sent to every connected browser.
//!
//! ```text
//! cargo run --release --example chat [ADDR]        # then open http://127.0.0.1:8080/
//! ```
//!
//! The upgrade decision is made from the parsed request with the sans-IO handshake: the
//! same connection is either answered as HTTP or turned into a WebSocket. Only pages from
//! this server may connect (same-origin policy against cross-site WebSocket hijacking).

use std::sync::Arc;

use rfc6455::handshake::{AllowedOrigins, ServerConfig, ServerHandshake, write_rejection};
use rfc6455::io::tokio::WebSocket;
use rfc6455::{Config, Message, PreparedMessage, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>rfc6455 chat</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}#log{list-style:none;padding:0}
#log li{padding:.2em 0;border-bottom:1px solid #eee}</style></head>
<body data-state="connecting"><h1>rfc6455 chat</h1>
<ul id="log"></ul>
<form id="form"><input id="msg" autocomplete="off" autofocus size="40">
<button id="send" type="submit">Send</button> <span id="status">connecting…</span></form>
<script>
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
const log = document.getElementById("log"), msg = document.getElementById("msg");
const status = document.getElementById("status");
ws.onopen = () => { document.body.dataset.state = "open"; status.textContent = "connected"; };
ws.onclose = e => { document.body.dataset.state = "closed"; status.textContent = "closed (" + e.code + ")"; };
ws.onmessage = e => { const li = document.createElement("li"); li.textContent = e.data; log.appendChild(li); };
document.getElementById("form").onsubmit = e => {
  e.preventDefault();
  if (msg.value && ws.readyState === WebSocket.OPEN) { ws.send(msg.value); msg.value = ""; }
};
</script></body></html>
"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("chat on http://{}/", listener.local_addr()?);
    let policy = Arc::new(ServerConfig::default().allowed_origins(AllowedOrigins::same_origin()));
    let (room, _) = broadcast::channel::<PreparedMessage>(1024);
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (policy, room) = (policy.clone(), room.clone());
        tokio::spawn(async move {
            if let Err(e) = serve(stream, &policy, room).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// Answers one HTTP request: the page, the WebSocket upgrade, or 404.
async fn serve(
    mut stream: TcpStream,
    policy: &ServerConfig,
    room: broadcast::Sender<PreparedMessage>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut handshake = ServerHandshake::new(policy);
    let mut chunk = Vec::with_capacity(4096);
    loop {
        chunk.clear();
        if stream.read_buf(&mut chunk).await? == 0 {
            return Ok(());
        }
        match handshake.receive(&chunk) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete(())) => break,
            Err(e) => {
                let mut out = Vec::new();
                e.write_response(&mut out);
                stream.write_all(&out).await?;
                return Ok(());
            }
        }
    }
    let request = handshake.request().expect("complete");
    let mut out = Vec::new();
    match request.path() {
        "/ws" => {
            let Ok(accepted) = policy.accept(&request, &mut out) else {
                // `out` holds the 400/403/426 response.
                stream.write_all(&out).await?;
                return Ok(());
            };
            stream.write_all(&out).await?;
            let (conn, leftover) =
                accepted.into_connection(Config::default().max_message_size(64 << 10));
            let ws = WebSocket::from_parts(stream, conn, &leftover);
            chat(ws, room).await;
        }
        "/" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                PAGE.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(PAGE.as_bytes()).await?;
        }
        _ => {
            write_rejection(404, "not found", &[], &mut out);
            stream.write_all(&out).await?;
        }
    }
    Ok(())
}

/// Relays this browser's messages to the room and the room's messages to this browser,
/// from two tasks sharing one connection.
async fn chat(ws: WebSocket<TcpStream>, room: broadcast::Sender<PreparedMessage>) {
    let (mut incoming, mut outgoing) = ws.split();
    let mut inbox = room.subscribe();
    let writer = tokio::spawn(async move {
        loop {
            let message = match inbox.recv().await {
                Ok(message) => message,
                // A browser too slow to keep up misses messages rather than stalling the room.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            };
            // The frame was encoded once for the whole room.
            if outgoing.send_prepared(&message).await.is_err() {
                break;
            }
        }
    });
    while let Ok(Some(message)) = incoming.recv().await {
        if let Message::Text(text) = message {
            let _ = room.send(PreparedMessage::text(text));
        }
    }
    writer.abort();
}
