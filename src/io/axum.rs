//! An axum extractor (feature `axum`) with the API of axum 0.8's `WebSocketUpgrade`:
//! moving a handler over is mostly an import change, and it gains permessage-deflate (on
//! by default), an origin policy, RFC 8441 (WebSockets over HTTP/2, when the server
//! enables the extended CONNECT protocol) and this crate's limits.
//!
//! ```no_run
//! use axum::Router;
//! use axum::response::Response;
//! use axum::routing::any;
//! use rfc6455::io::axum::{Message, WebSocket, WebSocketUpgrade};
//!
//! async fn echo(ws: WebSocketUpgrade) -> Response {
//!     ws.protocols(["chat"]).on_upgrade(handle)
//! }
//!
//! async fn handle(mut socket: WebSocket) {
//!     while let Some(Ok(message)) = socket.recv().await {
//!         if matches!(message, Message::Text(_) | Message::Binary(_))
//!             && socket.send(message).await.is_err()
//!         {
//!             return;
//!         }
//!     }
//! }
//!
//! // `any`, not `get`: over HTTP/2 the handshake is a CONNECT request.
//! let app: Router = Router::new().route("/echo", any(echo));
//! ```
//!
//! Differences from axum's: [`Message`] is this crate's (the same variants; a
//! [`CloseFrame`]'s code is a [`CloseCode`] rather than a `u16`), and the socket's
//! [`into_inner`](WebSocket::into_inner) gives the full [`tokio` WebSocket](super::tokio::WebSocket)
//! (split halves, prepared broadcast messages, the high-water mark).

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::string::String;
use std::task::{Context, Poll};
use std::vec::Vec;

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use futures_core::Stream;
use futures_sink::Sink;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

pub use crate::{CloseCode, CloseFrame, Message, Utf8Bytes};

use super::Error;
use super::hyper::HyperWebSocket;
use crate::config::Config;
use crate::handshake::{AcceptOptions, AllowedOrigins, HandshakeError, ServerConfig};
use crate::http::WebSocketRequest;

/// The extractor's default message limit: axum 0.8's (64 MiB).
pub const AXUM_MAX_MESSAGE_SIZE: u64 = 64 << 20;
/// The extractor's default frame limit: axum 0.8's (16 MiB).
pub const AXUM_MAX_FRAME_SIZE: u64 = 16 << 20;

/// Extractor of a WebSocket handshake: the request was checked (RFC 6455 §4.2.1 over
/// HTTP/1.1, RFC 8441 over HTTP/2); [`on_upgrade`](WebSocketUpgrade::on_upgrade) applies
/// the origin policy and answers `101` (or `200`), then runs the callback with the
/// socket.
pub struct WebSocketUpgrade<F = DefaultOnFailedUpgrade> {
    method: Method,
    version: Version,
    uri: Uri,
    headers: HeaderMap,
    protocol: Option<hyper::ext::Protocol>,
    on_upgrade: OnUpgrade,
    server: ServerConfig,
    config: Config,
    on_failed_upgrade: F,
}

impl<F> fmt::Debug for WebSocketUpgrade<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("version", &self.version)
            .field("uri", &self.uri)
            .field("server", &self.server)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<F> WebSocketUpgrade<F> {
    fn request(&self) -> WebSocketRequest<'_> {
        WebSocketRequest::from_fields(
            &self.method,
            self.version,
            &self.uri,
            &self.headers,
            self.protocol.as_ref().map(hyper::ext::Protocol::as_str),
        )
    }

    /// The subprotocols this server speaks, in decreasing order of preference: the first
    /// of them that the client offered is selected.
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        let list: Vec<String> = protocols
            .into_iter()
            .map(|p| p.into().into_owned())
            .collect();
        self.server = self.server.subprotocols(list);
        self
    }

    /// The subprotocol that [`on_upgrade`](WebSocketUpgrade::on_upgrade) will select.
    pub fn selected_protocol(&self) -> Option<HeaderValue> {
        self.server
            .answer_http(&self.request(), &AcceptOptions::default())
            .ok()
            .and_then(|(_, accepted)| accepted.protocol)
            .and_then(|p| HeaderValue::from_str(&p).ok())
    }

    /// The largest message accepted (default 64 MiB, as axum's): more is refused with close
    /// code 1009. Memory grows with what the peer actually sends, not with this limit.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config = self.config.max_message_size(bytes as u64);
        self
    }

    /// The largest frame accepted (default 16 MiB, as axum's).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config = self.config.max_frame_size(bytes as u64);
        self
    }

    /// The whole connection configuration (limits, timeouts, keepalive pings).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The origin policy (default: any origin). Browsers send `Origin`: a server for its
    /// own pages should allow only those (RFC 6455 §10.2); a refused origin is answered 403.
    pub fn allowed_origins(mut self, origins: AllowedOrigins) -> Self {
        self.server = self.server.allowed_origins(origins);
        self
    }

    /// permessage-deflate (RFC 7692): on with the default parameters; `None` turns it off.
    pub fn deflate(mut self, deflate: Option<crate::deflate::DeflateConfig>) -> Self {
        self.server = self.server.deflate(deflate);
        self
    }

    /// What to do with the error when the connection could not be handed over after the
    /// response (the client went away): by default, nothing.
    pub fn on_failed_upgrade<C: OnFailedUpgrade>(self, callback: C) -> WebSocketUpgrade<C> {
        WebSocketUpgrade {
            method: self.method,
            version: self.version,
            uri: self.uri,
            headers: self.headers,
            protocol: self.protocol,
            on_upgrade: self.on_upgrade,
            server: self.server,
            config: self.config,
            on_failed_upgrade: callback,
        }
    }

    /// Answers the handshake and, once the connection is handed over, runs `callback` with
    /// the socket in a new task. A request the origin policy refuses is answered `403`
    /// and `callback` never runs.
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        F: OnFailedUpgrade,
    {
        // The request was validated (RFC 6455 §4.2.1 or RFC 8441) when it was extracted;
        // the origin policy and the negotiation use what was set since.
        let request = self.request();
        let answer = self
            .server
            .check_http_origin(&request)
            .and_then(|()| self.server.answer_http(&request, &AcceptOptions::default()));
        let (response, accepted) = match answer {
            Ok(done) => done,
            Err(e) => return e.http_response::<Body>(),
        };
        let protocol = accepted
            .protocol
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok());
        let (conn, _) = accepted.into_connection(self.config);
        let on_upgrade = self.on_upgrade;
        let on_failed_upgrade = self.on_failed_upgrade;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => {
                    on_failed_upgrade.call(Error::Io(std::io::Error::other(e)));
                    return;
                }
            };
            let inner = super::tokio::WebSocket::from_parts(TokioIo::new(upgraded), conn, &[]);
            callback(WebSocket { inner, protocol }).await;
        });
        response.map(|()| Body::empty())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade<DefaultOnFailedUpgrade> {
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let protocol = parts.extensions.get::<hyper::ext::Protocol>().cloned();
        WebSocketRequest::from_parts(parts, protocol.as_ref().map(hyper::ext::Protocol::as_str))
            .validate()
            .map_err(WebSocketUpgradeRejection::Handshake)?;
        // hyper puts the means to take the connection over in the request's extensions
        // (axum::serve, or a hyper server with upgrades enabled).
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(WebSocketUpgradeRejection::ConnectionNotUpgradable)?;
        Ok(WebSocketUpgrade {
            method: parts.method.clone(),
            version: parts.version,
            uri: parts.uri.clone(),
            headers: answer_fields(&parts.headers),
            protocol,
            on_upgrade,
            server: ServerConfig::default().deflate(Some(Default::default())),
            // axum's defaults, so that moving a handler over changes no limit.
            config: Config::default()
                .max_message_size(AXUM_MAX_MESSAGE_SIZE)
                .max_frame_size(AXUM_MAX_FRAME_SIZE),
            on_failed_upgrade: DefaultOnFailedUpgrade,
        })
    }
}

/// The header fields that the origin policy, the negotiation and the response read: the
/// extractor keeps these (their values are shared, not copied) rather than every field of
/// the request.
fn answer_fields(headers: &HeaderMap) -> HeaderMap {
    const ANSWER_FIELDS: [HeaderName; 5] = [
        ::http::header::HOST,
        ::http::header::ORIGIN,
        ::http::header::SEC_WEBSOCKET_KEY,
        ::http::header::SEC_WEBSOCKET_PROTOCOL,
        ::http::header::SEC_WEBSOCKET_EXTENSIONS,
    ];
    let mut kept = HeaderMap::with_capacity(ANSWER_FIELDS.len());
    for name in ANSWER_FIELDS {
        for value in headers.get_all(&name) {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

/// Why the extractor refused a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebSocketUpgradeRejection {
    /// Not a valid WebSocket handshake (400, or 426 for a wrong version).
    Handshake(HandshakeError),
    /// The request did not come through a hyper connection that can be taken over (426).
    ConnectionNotUpgradable,
}

impl fmt::Display for WebSocketUpgradeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebSocketUpgradeRejection::Handshake(e) => fmt::Display::fmt(e, f),
            WebSocketUpgradeRejection::ConnectionNotUpgradable => {
                f.write_str("connection is not upgradable")
            }
        }
    }
}

impl std::error::Error for WebSocketUpgradeRejection {}

impl IntoResponse for WebSocketUpgradeRejection {
    fn into_response(self) -> Response {
        match self {
            WebSocketUpgradeRejection::Handshake(e) => e.http_response::<Body>(),
            WebSocketUpgradeRejection::ConnectionNotUpgradable => {
                let mut response = Response::new(Body::from("connection is not upgradable"));
                *response.status_mut() = http::StatusCode::UPGRADE_REQUIRED;
                response
            }
        }
    }
}

/// What runs when the connection could not be handed over (see
/// [`WebSocketUpgrade::on_failed_upgrade`]).
pub trait OnFailedUpgrade: Send + 'static {
    /// Called with the error.
    fn call(self, error: Error);
}

impl<F: FnOnce(Error) + Send + 'static> OnFailedUpgrade for F {
    fn call(self, error: Error) {
        self(error)
    }
}

/// Ignores a failed upgrade.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct DefaultOnFailedUpgrade;

impl OnFailedUpgrade for DefaultOnFailedUpgrade {
    fn call(self, _error: Error) {}
}

/// The socket [`WebSocketUpgrade::on_upgrade`] hands to its callback, with axum's method
/// signatures; [`into_inner`](WebSocket::into_inner) gives this crate's full tokio
/// WebSocket.
#[derive(Debug)]
pub struct WebSocket {
    inner: HyperWebSocket,
    protocol: Option<HeaderValue>,
}

impl WebSocket {
    /// The next message; `None` once the connection is closed (after a clean close
    /// handshake), `Some(Err)` if it failed.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        self.inner.recv().await.transpose()
    }

    /// Sends a message (a Close frame starts the closing handshake; keep receiving until
    /// `None` to finish it).
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.inner.send(message).await
    }

    /// The subprotocol selected in the handshake.
    pub fn protocol(&self) -> Option<&HeaderValue> {
        self.protocol.as_ref()
    }

    /// This crate's tokio WebSocket: split halves, prepared messages, the high-water mark,
    /// `close`.
    pub fn into_inner(self) -> HyperWebSocket {
        self.inner
    }

    /// The tokio WebSocket, borrowed.
    pub fn get_mut(&mut self) -> &mut HyperWebSocket {
        &mut self.inner
    }
}

impl Stream for WebSocket {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().inner).poll_next(cx)
    }
}

impl Sink<Message> for WebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().inner).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        Pin::new(&mut self.get_mut().inner).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
