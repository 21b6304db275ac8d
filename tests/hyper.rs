//! WebSockets inside a hyper server (feature `hyper`) over real loopback sockets: HTTP/1.1
//! Upgrade from our tokio client, RFC 8441 over HTTP/2 from our `h2` client (ten
//! WebSockets multiplexed on one connection), permessage-deflate on both, and the
//! rejections a client sees.
#![cfg(all(feature = "hyper", feature = "h2"))]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{ClientRequest, HandshakeError, ServerConfig};
use rfc6455::io::tokio::Acceptor;
use rfc6455::{CloseCode, Config, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: Duration = Duration::from_secs(20);

struct Server {
    addr: std::net::SocketAddr,
    /// TCP connections accepted so far.
    connections: Arc<AtomicUsize>,
}

/// A hyper server (HTTP/1.1 and HTTP/2 on one port, RFC 8441 enabled unless told
/// otherwise) whose `/echo` echoes data messages and answers everything else "plain".
async fn server(connect_protocol: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    let acceptor = Acceptor::new(
        ServerConfig::default().deflate(Some(DeflateConfig::default())),
        Config::default(),
    );
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut builder =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if connect_protocol {
                    builder.http2().enable_connect_protocol();
                }
                let service = service_fn(move |req| handle(req, acceptor.clone()));
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    Server { addr, connections }
}

async fn handle(
    mut req: Request<Incoming>,
    acceptor: Acceptor,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != "/echo" {
        return Ok(Response::new(Full::from("plain")));
    }
    match acceptor.upgrade::<_, Full<Bytes>>(&mut req) {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                let mut ws = upgrading.await.expect("upgraded");
                while let Ok(Some(message)) = ws.recv().await {
                    if message.is_data() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
            Ok(response)
        }
        Err(e) => Ok(e.http_response()),
    }
}

#[tokio::test]
async fn http1_upgrade_echoes_with_deflate() {
    tokio::time::timeout(LIMIT, async {
        let server = server(true).await;
        let request = ClientRequest::from_url(&format!("ws://{}/echo", server.addr))
            .unwrap()
            .deflate(DeflateConfig::default());
        let (mut ws, response) = rfc6455::io::tokio::connect_with(&request, Config::default())
            .await
            .unwrap();
        assert!(response.deflate.is_some(), "permessage-deflate under hyper");
        let text = "ünïcödé over hyper ".repeat(100);
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Some(Message::text(text)));
        ws.send(Message::binary(vec![7u8; 70_000])).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap(),
            Some(Message::binary(vec![7u8; 70_000]))
        );
        ws.close(CloseCode::NORMAL, "done").await.unwrap();
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    })
    .await
    .expect("within the time limit");
}

async fn h2_connection(addr: std::net::SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    sender
}

#[tokio::test]
async fn ten_websockets_share_one_http2_connection() {
    tokio::time::timeout(LIMIT, async {
        let server = server(true).await;
        let sender = h2_connection(server.addr).await;
        let request = ClientRequest::from_url(&format!("ws://{}/echo", server.addr))
            .unwrap()
            .deflate(DeflateConfig::default());
        let mut sockets = Vec::new();
        for _ in 0..10 {
            let (ws, response) = rfc6455::io::h2::connect(&sender, &request, Config::default())
                .await
                .unwrap();
            assert!(response.deflate.is_some(), "permessage-deflate over HTTP/2");
            sockets.push(ws);
        }
        // All ten talk at once, each with its own messages; each gets only its own back.
        let tasks: Vec<_> = sockets
            .into_iter()
            .enumerate()
            .map(|(i, mut ws)| {
                tokio::spawn(async move {
                    for round in 0..20 {
                        let text = format!("socket {i} round {round} ").repeat(40);
                        ws.send(Message::text(text.clone())).await.unwrap();
                        let big = vec![i as u8; 100_000 + round];
                        ws.send(Message::binary(big.clone())).await.unwrap();
                        assert_eq!(ws.recv().await.unwrap(), Some(Message::text(text)));
                        assert_eq!(ws.recv().await.unwrap(), Some(Message::binary(big)));
                    }
                    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            1,
            "ten WebSockets, one TCP connection"
        );
    })
    .await
    .expect("within the time limit");
}

#[tokio::test]
async fn wrong_protocol_over_http2_is_refused_with_400() {
    tokio::time::timeout(LIMIT, async {
        let server = server(true).await;
        let mut sender = h2_connection(server.addr).await.ready().await.unwrap();
        for _ in 0..1000 {
            if sender.is_extended_connect_protocol_enabled() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut request = http::Request::connect(format!("http://{}/echo", server.addr))
            .version(http::Version::HTTP_2)
            .header("sec-websocket-version", "13")
            .body(())
            .unwrap();
        request
            .extensions_mut()
            .insert(h2::ext::Protocol::from_static("webtransport"));
        let (response, _send) = sender.send_request(request, false).unwrap();
        let response = response.await.unwrap();
        assert_eq!(response.status(), 400);
        let mut body = response.into_body();
        let mut text = Vec::new();
        while let Some(chunk) = body.data().await {
            text.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(
            String::from_utf8(text).unwrap(),
            HandshakeError::NotExtendedConnect.reason()
        );
    })
    .await
    .expect("within the time limit");
}

#[tokio::test]
async fn http2_server_without_extended_connect_is_reported() {
    tokio::time::timeout(LIMIT, async {
        let server = server(false).await;
        let sender = h2_connection(server.addr).await;
        let request = ClientRequest::from_url(&format!("ws://{}/echo", server.addr)).unwrap();
        let e = rfc6455::io::h2::connect(&sender, &request, Config::default())
            .await
            .unwrap_err();
        assert_eq!(
            e.handshake(),
            Some(&HandshakeError::ExtendedConnectDisabled)
        );
    })
    .await
    .expect("within the time limit");
}

#[tokio::test]
async fn http1_wrong_version_gets_426_and_plain_requests_pass() {
    tokio::time::timeout(LIMIT, async {
        let server = server(true).await;
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(
            b"GET /echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        )
        .await
        .unwrap();
        let mut response = vec![0; 1024];
        let n = tcp.read(&mut response).await.unwrap();
        let text = String::from_utf8_lossy(&response[..n]).to_lowercase();
        assert!(text.starts_with("http/1.1 426 "), "{text}");
        assert!(text.contains("\r\nsec-websocket-version: 13\r\n"), "{text}");
        assert!(
            text.ends_with("unsupported sec-websocket-version"),
            "{text}"
        );

        // A plain request on another path is the service's own business.
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        tcp.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(text.ends_with("plain"), "{text}");
    })
    .await
    .expect("within the time limit");
}
