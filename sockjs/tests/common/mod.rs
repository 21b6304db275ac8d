//! A SockJS server on a loopback port and a small HTTP/1.1 client for the tests.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rfc6455_sockjs::service::SockJs;

/// Serves `services` (prefix, service) on a loopback port.
pub async fn serve(services: Vec<(&'static str, SockJs)>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let services = services.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let services = services.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let sockjs = services
                            .iter()
                            .find(|(p, _)| path.starts_with(p))
                            .map(|(_, s)| s.clone())
                            .expect("a service for the path");
                        Ok::<_, Infallible>(sockjs.handle(req).await)
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A response whose body is read as it comes.
pub struct Streaming {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Incoming,
}

impl Streaming {
    /// The next chunk, within 5 s; `None` at the end.
    pub async fn chunk(&mut self) -> Option<String> {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), self.body.frame())
                .await
                .expect("a chunk within 5 s")?
                .expect("a readable body");
            if let Ok(data) = frame.into_data() {
                return Some(String::from_utf8(data.to_vec()).unwrap());
            }
        }
    }

    /// The rest of the body.
    pub async fn rest(self) -> String {
        let body = tokio::time::timeout(Duration::from_secs(5), self.body.collect())
            .await
            .expect("the end within 5 s")
            .unwrap()
            .to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }
}

/// Sends one request on a new connection.
pub async fn start(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Streaming {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let response = sender.send_request(req).await.unwrap();
    let (parts, body) = response.into_parts();
    Streaming {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// A whole response: status, headers, body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, HeaderMap, String) {
    let response = start(addr, method, path, headers, body).await;
    let (status, headers) = (response.status.as_u16(), response.headers.clone());
    (status, headers, response.rest().await)
}

/// A header's value as a string ("" when absent).
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

/// The echo handler.
pub async fn echo(mut socket: rfc6455_sockjs::service::Socket) {
    while let Ok(Some(message)) = socket.recv().await {
        if socket.send(message).await.is_err() {
            break;
        }
    }
}
