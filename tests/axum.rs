//! The axum extractor (feature `axum`) in an axum app served by hyper (HTTP/1.1 and
//! HTTP/2 on one port, RFC 8441 enabled), over real loopback sockets.
#![cfg(feature = "axum")]

use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::any;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rfc6455::handshake::{AllowedOrigins, ClientRequest, HandshakeError};
use rfc6455::io::axum::{Message, WebSocket, WebSocketUpgrade};
use rfc6455::{CloseCode, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: Duration = Duration::from_secs(20);

async fn echo(ws: WebSocketUpgrade) -> Response {
    let selected = ws.protocols(["v12.stomp", "chat"]);
    // What on_upgrade will answer, known before: the server's first choice the client offered.
    let protocol = selected.selected_protocol();
    selected
        .max_message_size(100_000)
        .on_upgrade(move |mut socket: WebSocket| async move {
            assert_eq!(socket.protocol(), protocol.as_ref());
            while let Some(Ok(message)) = socket.recv().await {
                if matches!(message, Message::Text(_) | Message::Binary(_))
                    && socket.send(message).await.is_err()
                {
                    return;
                }
            }
        })
}

async fn strict(ws: WebSocketUpgrade) -> Response {
    ws.allowed_origins(AllowedOrigins::same_origin())
        .on_upgrade(|_socket| async {})
}

async fn serve() -> std::net::SocketAddr {
    let app = Router::new()
        .route("/echo", any(echo))
        .route("/strict", any(strict));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let mut builder = Builder::new(TokioExecutor::new());
                builder.http2().enable_connect_protocol();
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn http1_echo_with_protocol_deflate_and_limits() {
    tokio::time::timeout(LIMIT, async {
        let addr = serve().await;
        let request = ClientRequest::from_url(&format!("ws://{addr}/echo"))
            .unwrap()
            .protocols(["chat", "v12.stomp"])
            .deflate(Default::default());
        let (mut ws, response) = rfc6455::io::tokio::connect_with(&request, Config::default())
            .await
            .unwrap();
        // The server's preference wins among what the client offered.
        assert_eq!(response.protocol.as_deref(), Some("v12.stomp"));
        assert!(response.deflate.is_some(), "deflate on by default");
        ws.send(Message::text("über axum".repeat(30)))
            .await
            .unwrap();
        assert_eq!(
            ws.recv().await.unwrap(),
            Some(Message::text("über axum".repeat(30)))
        );
        // The extractor's max_message_size holds: 1009 for a larger message.
        ws.send(Message::binary(vec![1u8; 100_001])).await.unwrap();
        let close = match ws.recv().await {
            Ok(Some(close @ Message::Close(_))) => close,
            other => panic!("expected the server's Close, got {other:?}"),
        };
        assert_eq!(close.close_code().unwrap().0, CloseCode::MESSAGE_TOO_BIG);
    })
    .await
    .expect("within the time limit");
}

#[tokio::test]
async fn http2_echo_through_the_extractor() {
    tokio::time::timeout(LIMIT, async {
        let addr = serve().await;
        let tcp = TcpStream::connect(addr).await.unwrap();
        // All three echoes arrive before the first is read: the connection's receive
        // window (h2's default: 64 KiB for all streams together) must hold them.
        let (sender, connection) = h2::client::Builder::new()
            .initial_window_size(1 << 20)
            .initial_connection_window_size(4 << 20)
            .handshake(tcp)
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = ClientRequest::from_url(&format!("ws://{addr}/echo"))
            .unwrap()
            .protocols(["chat"]);
        let mut sockets = Vec::new();
        for _ in 0..3 {
            let (ws, response) = rfc6455::io::h2::connect(&sender, &request, Config::default())
                .await
                .unwrap();
            assert_eq!(response.protocol.as_deref(), Some("chat"));
            sockets.push(ws);
        }
        for (i, ws) in sockets.iter_mut().enumerate() {
            ws.send(Message::binary(vec![i as u8; 50_000]))
                .await
                .unwrap();
        }
        for (i, ws) in sockets.iter_mut().enumerate() {
            assert_eq!(
                ws.recv().await.unwrap(),
                Some(Message::binary(vec![i as u8; 50_000]))
            );
            ws.close(CloseCode::NORMAL, "").await.unwrap();
        }
    })
    .await
    .expect("within the time limit");
}

async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = vec![0; 2048];
    let n = tcp.read(&mut response).await.unwrap();
    String::from_utf8_lossy(&response[..n]).to_lowercase()
}

#[tokio::test]
async fn rejections_from_the_extractor_and_the_origin_policy() {
    tokio::time::timeout(LIMIT, async {
        let addr = serve().await;
        // Not a WebSocket handshake: the extractor refuses with 400 and the reason.
        let text = raw(addr, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert!(text.starts_with("http/1.1 400 "), "{text}");
        assert!(
            text.ends_with(&HandshakeError::NotWebSocketUpgrade.reason().to_lowercase()),
            "{text}"
        );
        // A foreign origin on /strict: 403 from on_upgrade.
        let handshake = "GET /strict HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n";
        let text = raw(addr, handshake).await;
        assert!(text.starts_with("http/1.1 403 "), "{text}");
        // The same request from its own origin is accepted.
        let own = handshake.replace("https://evil.example", "http://a.example");
        let text = raw(addr, &own).await;
        assert!(text.starts_with("http/1.1 101 "), "{text}");
        assert!(
            text.contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
            "{text}"
        );
    })
    .await
    .expect("within the time limit");
}

#[tokio::test]
async fn offers_split_over_several_field_lines_are_all_read() {
    tokio::time::timeout(LIMIT, async {
        let addr = serve().await;
        // RFC 6455 §11.3.4: "The |Sec-WebSocket-Protocol| header field MAY appear multiple
        // times in an HTTP request (which is logically the same as a single
        // |Sec-WebSocket-Protocol| header field that contains all values)." The server's
        // first choice the client offered is on the second line; the extensions are split
        // too.
        let handshake = "GET /echo HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\
             Sec-WebSocket-Protocol: chat, v12.stomp\r\n\
             Sec-WebSocket-Extensions: x-unknown\r\n\
             Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
        let text = raw(addr, handshake).await;
        assert!(text.starts_with("http/1.1 101 "), "{text}");
        assert!(
            text.contains("\r\nsec-websocket-protocol: v12.stomp\r\n"),
            "{text}"
        );
        assert!(
            text.contains("\r\nsec-websocket-extensions: permessage-deflate"),
            "{text}"
        );
        assert!(
            text.contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
            "{text}"
        );
    })
    .await
    .expect("within the time limit");
}

#[tokio::test]
async fn without_a_hyper_connection_the_request_is_not_upgradable() {
    use tower_service::Service;
    let mut app = Router::new().route("/echo", any(echo));
    let request = http::Request::get("/echo")
        .header("host", "a")
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.call(request).await.unwrap();
    assert_eq!(response.status(), 426);
}
