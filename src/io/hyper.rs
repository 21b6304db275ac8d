//! WebSockets inside a hyper 1 server (feature `hyper`): HTTP/1.1 Upgrade and, on an
//! HTTP/2 connection whose server enabled the extended CONNECT protocol
//! (`hyper::server::conn::http2::Builder::enable_connect_protocol`), RFC 8441.
//!
//! In a service, check the request and answer it: [`upgrade`] (or
//! [`Acceptor::upgrade`](super::tokio::Acceptor::upgrade) for your policies and limits)
//! returns the response to send and a future that resolves to the [`WebSocket`] once
//! hyper has handed the connection (or HTTP/2 stream) over.
//!
//! ```no_run
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use rfc6455::Message;
//!
//! async fn service(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
//!     if !rfc6455::io::hyper::is_upgrade_request(&req) {
//!         return Ok(Response::new(Full::from("a WebSocket lives here")));
//!     }
//!     let (response, upgrading) = match rfc6455::io::hyper::upgrade(&mut req) {
//!         Ok(accepted) => accepted,
//!         Err(e) => return Ok(e.http_response()), // 400, 403 or 426, with the reason
//!     };
//!     tokio::spawn(async move {
//!         let Ok(mut ws) = upgrading.await else { return };
//!         while let Ok(Some(message)) = ws.recv().await {
//!             if message.is_data() && ws.send(message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     });
//!     Ok(response)
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;

use super::Error;
use super::tokio::{Acceptor, WebSocket};
use crate::connection::Connection;
use crate::handshake::{AcceptOptions, HandshakeError};
use crate::http::WebSocketRequest;

/// The WebSocket a hyper upgrade produces: over hyper's upgraded connection (HTTP/1.1) or
/// stream (HTTP/2).
pub type HyperWebSocket = WebSocket<TokioIo<Upgraded>>;

/// Whether `request` asks for a WebSocket (HTTP/1.1 `Upgrade: websocket`, or an HTTP/2
/// CONNECT with `:protocol` `websocket`): for routing plain HTTP and WebSockets on one path.
pub fn is_upgrade_request<B>(request: &http::Request<B>) -> bool {
    WebSocketRequest::new(request, protocol_of(request)).is_websocket()
}

/// Upgrades with the default policies and limits (see [`Acceptor::upgrade`]).
///
/// # Errors
///
/// As [`Acceptor::upgrade`].
pub fn upgrade<B, R: Default>(
    request: &mut http::Request<B>,
) -> Result<(http::Response<R>, Upgrading), HandshakeError> {
    Acceptor::default().upgrade(request)
}

impl Acceptor {
    /// Checks `request` as a WebSocket handshake (RFC 6455 §4.2.1 over HTTP/1.1, RFC 8441
    /// over HTTP/2) with this acceptor's policies, and returns the response for the
    /// service to send — `101` or `200`, any body type with a `Default` (empty) value —
    /// and the future of the WebSocket, which resolves once hyper hands the connection
    /// over (after the response went out). Limits and the high-water mark apply as with
    /// [`accept`](Acceptor::accept); the handshake timeout is hyper's business here.
    ///
    /// # Errors
    ///
    /// The request is not an acceptable handshake: answer with
    /// [`HandshakeError::http_response`] (400, 403 or 426).
    pub fn upgrade<B, R: Default>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<(http::Response<R>, Upgrading), HandshakeError> {
        self.upgrade_with(request, &AcceptOptions::default())
    }

    /// [`upgrade`](Acceptor::upgrade) with a subprotocol choice and extra response headers
    /// from the application (e.g. after looking at the path or a cookie).
    ///
    /// # Errors
    ///
    /// As [`upgrade`](Acceptor::upgrade).
    pub fn upgrade_with<B, R: Default>(
        &self,
        request: &mut http::Request<B>,
        options: &AcceptOptions,
    ) -> Result<(http::Response<R>, Upgrading), HandshakeError> {
        let incoming = WebSocketRequest::new(request, protocol_of(request));
        let (response, accepted) = self.server_config().accept_http_with(&incoming, options)?;
        let (conn, _) = accepted.into_connection(self.connection_config().clone());
        let upgrading = Upgrading {
            on_upgrade: hyper::upgrade::on(request),
            conn: Some(conn),
            high_water: self.high_water_mark(),
        };
        Ok((response.map(|()| R::default()), upgrading))
    }
}

/// The `:protocol` pseudo-header hyper puts in the extensions of an HTTP/2 request.
fn protocol_of<B>(request: &http::Request<B>) -> Option<&str> {
    request
        .extensions()
        .get::<hyper::ext::Protocol>()
        .map(hyper::ext::Protocol::as_str)
}

/// The future of an upgraded WebSocket (see [`Acceptor::upgrade`]).
#[must_use = "the WebSocket exists only once this future completes"]
#[derive(Debug)]
pub struct Upgrading {
    on_upgrade: OnUpgrade,
    conn: Option<Connection>,
    high_water: usize,
}

impl Future for Upgrading {
    type Output = Result<HyperWebSocket, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let upgraded = ready!(Pin::new(&mut this.on_upgrade).poll(cx)).map_err(hyper_error)?;
        let Some(conn) = this.conn.take() else {
            return Poll::Ready(Err(Error::Closed));
        };
        // hyper keeps bytes it read past the request head inside `Upgraded` and returns
        // them first: nothing is left over here.
        let mut ws = WebSocket::from_parts(TokioIo::new(upgraded), conn, &[]);
        ws.set_high_water(this.high_water);
        Poll::Ready(Ok(ws))
    }
}

fn hyper_error(e: hyper::Error) -> Error {
    Error::Io(std::io::Error::other(e))
}
