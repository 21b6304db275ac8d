//! fastwebsockets echo server: hyper's HTTP/1 connection with fastwebsockets' upgrade, and a
//! `FragmentCollector` echoing text and binary messages — as in fastwebsockets' own
//! examples/echo_server.rs.
//!
//! ```text
//! TOKIO_WORKER_THREADS=1 echo_fastwebsockets [ADDR]     # default 127.0.0.1:9103
//! ```
//!
//! Built like examples/echo_server.rs of rfc6455 — `#[tokio::main]` (one worker with
//! TOKIO_WORKER_THREADS=1), a task per connection, TCP_NODELAY, default limits — so that
//! only the WebSocket implementation differs. (fastwebsockets' example also wraps the
//! connection task in `tokio::task::unconstrained`; no server here does.)

use fastwebsockets::{FragmentCollector, OpCode, WebSocketError, upgrade};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::net::TcpListener;

async fn handle_client(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(fut.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => break,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
    Ok(())
}

async fn server_upgrade(
    mut req: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, fut) = upgrade::upgrade(&mut req)?;
    tokio::spawn(async move {
        let _ = handle_client(fut).await;
    });
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9103".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "echo_fastwebsockets listening on ws://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = http1::Builder::new()
                .serve_connection(io, service_fn(server_upgrade))
                .with_upgrades()
                .await;
        });
    }
}
