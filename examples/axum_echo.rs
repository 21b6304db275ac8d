//! A WebSocket echo inside an axum app: `/echo` over HTTP/1.1 Upgrade and over HTTP/2
//! extended CONNECT (RFC 8441), a small page at `/` for browsers.
//!
//! ```text
//! cargo run --release --example axum_echo --features axum,rustls -- 127.0.0.1:8443 --tls cert.pem key.pem
//! cargo run --release --example axum_echo --features axum,rustls -- 127.0.0.1:8080
//! ```
//!
//! Plain, one port serves HTTP/1.1 and HTTP/2 with prior knowledge (h2c); with `--tls`,
//! ALPN offers `h2` and `http/1.1`. Either way the HTTP/2 side enables the extended
//! CONNECT protocol, so a browser that loaded the page over HTTP/2 opens its WebSocket on
//! the same connection. permessage-deflate is on.

use std::sync::Arc;

use axum::Router;
use axum::response::{Html, Response};
use axum::routing::{any, get};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rfc6455::io::axum::{Message, WebSocket, WebSocketUpgrade};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>rfc6455 axum echo</title></head>
<body>
<p>WebSocket echo at <code>/echo</code>: <span id="state">connecting…</span></p>
<input id="text" value="hello" autofocus> <button id="send">send</button>
<pre id="log"></pre>
<script>
const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const ws = new WebSocket(`${scheme}//${location.host}/echo`);
const log = (line) => { document.getElementById("log").textContent += line + "\n"; };
ws.onopen = () => { document.getElementById("state").textContent = "open"; };
ws.onclose = (e) => { document.getElementById("state").textContent = `closed ${e.code}`; };
ws.onmessage = (e) => log(`echo: ${e.data}`);
document.getElementById("send").onclick = () => ws.send(document.getElementById("text").value);
</script>
</body></html>
"#;

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Text(_) | Message::Binary(_))
                && socket.send(message).await.is_err()
            {
                return;
            }
        }
    })
}

fn usage() -> ! {
    eprintln!("usage: axum_echo ADDR [--tls CERT.pem KEY.pem]");
    std::process::exit(2);
}

fn tls_acceptor(cert: &str, key: &str) -> Result<TlsAcceptor, Box<dyn std::error::Error>> {
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    // HTTP/2 first: browsers then open WebSockets with RFC 8441 on the same connection.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, tls) = match args.as_slice() {
        [addr] => (addr.clone(), None),
        [addr, flag, cert, key] if flag == "--tls" => match tls_acceptor(cert, key) {
            Ok(acceptor) => (addr.clone(), Some(acceptor)),
            Err(e) => {
                eprintln!("--tls {cert} {key}: {e}");
                std::process::exit(2);
            }
        },
        _ => usage(),
    };
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        // `any`: over HTTP/2 the WebSocket handshake is a CONNECT request.
        .route("/echo", any(echo));
    let listener = match TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!(
        "axum echo on {scheme}://{}/ (WebSocket at /echo)",
        listener.local_addr().expect("bound")
    );
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http2().enable_connect_protocol();
            let served = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => {
                        builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .await
                    }
                    Err(e) => {
                        eprintln!("TLS handshake: {e}");
                        return;
                    }
                },
                None => {
                    builder
                        .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                        .await
                }
            };
            if let Err(e) = served {
                eprintln!("connection: {e}");
            }
        });
    }
}
