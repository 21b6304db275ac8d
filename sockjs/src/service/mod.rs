//! SockJS over hyper 1 (feature `hyper`; mountable in axum 0.8 with the feature `axum`):
//! every URL of a SockJS endpoint in one service, and one [`Socket`] per connection for the
//! application, whatever the transport.
//!
//! ```text
//!     your handler     async fn(Socket): recv / send / close
//!     ─────────────────────────────────────────────────────────────────────────────
//!     SockJs           routes and answers (Endpoint), sessions shared between
//!                      requests (Registry of Session), expiry, streaming bodies
//!     ─────────────────────────────────────────────────────────────────────────────
//!     hyper / axum     HTTP/1.1 and HTTP/2; WebSockets on rfc6455's adapter
//! ```
//!
//! ```no_run
//! use std::convert::Infallible;
//! use hyper::server::conn::http1;
//! use hyper_util::rt::TokioIo;
//! use rfc6455_sockjs::service::{SockJs, Socket};
//!
//! async fn echo(mut socket: Socket) {
//!     while let Ok(Some(message)) = socket.recv().await {
//!         if socket.send(message).await.is_err() {
//!             break;
//!         }
//!     }
//! }
//!
//! # async fn serve() -> std::io::Result<()> {
//! let sockjs = SockJs::builder().prefix("/echo").build(echo);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     let sockjs = sockjs.clone();
//!     tokio::spawn(async move {
//!         let service = hyper::service::service_fn(move |req| {
//!             let sockjs = sockjs.clone();
//!             async move { Ok::<_, Infallible>(sockjs.handle(req).await) }
//!         });
//!         // Upgrades: the WebSocket transports.
//!         let _ = http1::Builder::new()
//!             .serve_connection(TokioIo::new(stream), service)
//!             .with_upgrades()
//!             .await;
//!     });
//! }
//! # }
//! ```
//!
//! In axum: `Router::new().nest_service("/echo", SockJs::builder().build(echo))` (axum
//! strips the prefix; leave the builder's empty).
//!
//! What it bounds: sessions ([`Builder::max_sessions`], 503 beyond), a sending request's
//! body ([`Builder::max_request_body`], 413 beyond), messages waiting for the application
//! ([`Builder::max_inbox_bytes`]: a sending request then waits, and a WebSocket stops
//! being read), messages waiting for the client (the session's queue: `send` waits).

// The crate is `no_std`: std's prelude is imported by hand.
use std::borrow::ToOwned;
use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

mod body;
mod cell;
mod socket;
mod websocket;

pub use body::Body;
pub use socket::{Error, Socket};

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use rfc6455::io::tokio::Acceptor;
use rfc6455::{Config, Utf8Bytes};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::endpoint::{
    self, Action, Answer, Endpoint, Method, SERVICE_UNAVAILABLE, SendReply, TEXT_PLAIN,
};
use crate::frame::{Close, Frame};
use crate::framing::Framing;
use crate::payload::Payload;
use crate::registry::{DEFAULT_MAX_SESSIONS, Registry, RegistryError};
use crate::session::{Attach, Session, SessionConfig};
use cell::Cell;
use socket::Info;

/// The default bound on a sending request's body: 1 MiB, the WebSocket core's default
/// message size.
pub const DEFAULT_MAX_REQUEST_BODY: usize = 1 << 20;
/// The default bound on messages received and not yet taken by the application: 1 MiB
/// (each message counted with 64 bytes of overhead).
pub const DEFAULT_MAX_INBOX_BYTES: usize = 1 << 20;

type Handler = dyn Fn(Socket) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// A SockJS endpoint as a hyper (and, with `axum`, tower) service. Cheap to clone: clones
/// share the sessions.
#[derive(Clone)]
pub struct SockJs {
    shared: Arc<Shared>,
}

/// What the clones of a [`SockJs`] share.
pub(crate) struct Shared {
    endpoint: Endpoint,
    prefix: String,
    session_config: SessionConfig,
    acceptor: Acceptor,
    max_request_body: usize,
    max_inbox_bytes: usize,
    handler: Box<Handler>,
    registry: Mutex<Registry<Arc<Cell>>>,
    /// The clock's zero.
    epoch: Instant,
    /// Wakes the sweeper when a session's expiry may precede the one it sleeps until.
    sweep: Arc<Notify>,
    /// When the sweeper wakes next, in ms on the clock (`u64::MAX`: not scheduled).
    sweep_at: AtomicU64,
    sweeper_started: AtomicBool,
}

impl fmt::Debug for SockJs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SockJs")
            .field("prefix", &self.shared.prefix)
            .field("endpoint", &self.shared.endpoint)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Builds a [`SockJs`] service.
#[derive(Debug)]
#[must_use]
pub struct Builder {
    endpoint: Endpoint,
    prefix: String,
    session_config: SessionConfig,
    websocket_config: Config,
    max_sessions: usize,
    max_request_body: usize,
    max_inbox_bytes: usize,
}

impl SockJs {
    /// A builder with sockjs-node's defaults.
    pub fn builder() -> Builder {
        Builder {
            endpoint: Endpoint::new(),
            prefix: String::new(),
            session_config: SessionConfig::default(),
            websocket_config: Config::default(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_request_body: DEFAULT_MAX_REQUEST_BODY,
            max_inbox_bytes: DEFAULT_MAX_INBOX_BYTES,
        }
    }

    /// Sessions held now (those expired and not yet swept included).
    pub fn sessions(&self) -> usize {
        self.shared.registry().len()
    }
}

impl Builder {
    /// The endpoint's HTTP policy: WebSocket on or off, `cookie_needed`, the sockjs-client
    /// URL for `iframe.html`, the origin policy.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Builder {
        self.endpoint = endpoint;
        self
    }

    /// The base URL's path, stripped from requests (`"/echo"`); requests outside it are
    /// 404. Empty by default: the service sees paths relative to the base (as axum's
    /// `nest_service` gives them).
    pub fn prefix(mut self, prefix: &str) -> Builder {
        self.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    /// Heart-beats, the disconnect delay, the streaming budget and the outgoing queue's
    /// bounds of every session.
    pub fn session_config(mut self, config: SessionConfig) -> Builder {
        self.session_config = config;
        self
    }

    /// The WebSocket transports' limits (message and frame sizes, deflate, timeouts).
    pub fn websocket_config(mut self, config: Config) -> Builder {
        self.websocket_config = config;
        self
    }

    /// The most sessions at once (default 10000); a receiving request for a new session
    /// beyond is answered 503.
    pub fn max_sessions(mut self, sessions: usize) -> Builder {
        self.max_sessions = sessions;
        self
    }

    /// The largest `xhr_send` / `jsonp_send` body, in bytes (default 1 MiB); beyond, 413.
    pub fn max_request_body(mut self, bytes: usize) -> Builder {
        self.max_request_body = bytes;
        self
    }

    /// How many bytes of received messages may wait for the application (default 1 MiB);
    /// beyond, sending requests wait and WebSockets are not read.
    pub fn max_inbox_bytes(mut self, bytes: usize) -> Builder {
        self.max_inbox_bytes = bytes;
        self
    }

    /// The service, running `handler` once for every connection, in a task of its own.
    pub fn build<H, F>(self, handler: H) -> SockJs
    where
        H: Fn(Socket) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let handshake = rfc6455::handshake::ServerConfig::default()
            .allowed_origins(self.endpoint.origins().clone());
        SockJs {
            shared: Arc::new(Shared {
                endpoint: self.endpoint,
                prefix: self.prefix,
                session_config: self.session_config,
                acceptor: Acceptor::new(handshake, self.websocket_config),
                max_request_body: self.max_request_body,
                max_inbox_bytes: self.max_inbox_bytes,
                handler: Box::new(move |socket| Box::pin(handler(socket))),
                registry: Mutex::new(Registry::new(self.max_sessions)),
                epoch: Instant::now(),
                sweep: Arc::new(Notify::new()),
                sweep_at: AtomicU64::new(u64::MAX),
                sweeper_started: AtomicBool::new(false),
            }),
        }
    }
}

impl Shared {
    /// The time on the sessions' clock.
    pub(crate) fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// The instant of a time on the sessions' clock.
    pub(crate) fn instant(&self, at: Duration) -> Instant {
        self.epoch + at
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry<Arc<Cell>>> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A session may now expire at `at`: wake the sweeper if it sleeps past that.
    pub(crate) fn expiry_hint(&self, at: Option<Duration>) {
        let Some(at) = at else { return };
        let ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
        if ms < self.sweep_at.load(Ordering::Acquire) {
            self.sweep_at.store(ms, Ordering::Release);
            self.sweep.notify_one();
        }
    }

    fn spawn_handler(&self, socket: Socket) {
        tokio::spawn((self.handler)(socket));
    }
}

/// Expires sessions whose clients went away, until the service is dropped.
async fn sweep(shared: Weak<Shared>, notify: Arc<Notify>) {
    loop {
        let deadline = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let deadline = shared.registry().poll_timeout();
            let ms = deadline.map_or(u64::MAX, |d| {
                u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
            });
            shared.sweep_at.store(ms, Ordering::Release);
            deadline.map(|d| shared.instant(d))
        };
        match deadline {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = notify.notified() => {}
                }
            }
            None => notify.notified().await,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let now = shared.now();
        let mut expired = Vec::new();
        {
            let mut registry = shared.registry();
            registry.handle_timeout(now);
            while let Some((_, cell)) = registry.poll_expired() {
                expired.push(cell);
            }
        }
        // Their applications learn it from the cells (handle_timeout pumped them); the
        // registry's references go here.
        drop(expired);
    }
}

/// A message from `body` as `Utf8Bytes`: a slice of the body when it was not unescaped
/// (no copy), else its own bytes.
pub(crate) fn message_bytes(body: &Bytes, message: Cow<'_, str>) -> Option<Utf8Bytes> {
    match message {
        Cow::Borrowed(s) if body.as_ptr_range().contains(&s.as_ptr()) || s.is_empty() => {
            Utf8Bytes::try_from(body.slice_ref(s.as_bytes())).ok()
        }
        Cow::Borrowed(s) => Some(Utf8Bytes::from(s)),
        Cow::Owned(s) => Some(Utf8Bytes::from(s)),
    }
}

/// sockjs-node's `decorateConnection` keeps these request headers for the application.
const KEPT_HEADERS: [&str; 13] = [
    "referer",
    "x-client-ip",
    "x-forwarded-for",
    "x-cluster-client-ip",
    "via",
    "x-real-ip",
    "x-forwarded-proto",
    "x-ssl",
    "dnt",
    "host",
    "user-agent",
    "accept-language",
    "origin",
];

fn info<B>(req: &Request<B>, transport: &'static str) -> Arc<Info> {
    let mut headers = HeaderMap::new();
    for name in KEPT_HEADERS {
        if let Some(value) = req.headers().get(name) {
            headers.insert(HeaderName::from_static(name), value.clone());
        }
    }
    Arc::new(Info {
        transport,
        uri: req.uri().clone(),
        headers,
    })
}

/// sockjs-node's names for the transports.
fn transport_name(framing: Framing) -> &'static str {
    match framing {
        Framing::Xhr => "xhr-polling",
        Framing::XhrStreaming => "xhr-streaming",
        Framing::EventSource => "eventsource",
        Framing::HtmlFile(_) => "htmlfile",
        Framing::Jsonp(_) => "jsonp-polling",
        _ => "websocket",
    }
}

fn response(status: u16, headers: HeaderMap, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = headers;
    response
}

fn header_map(answer: &Answer<'_>) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(answer.headers.len());
    for (name, value) in &answer.headers {
        // Values echoed from the request were header values there; anything else is ours.
        if let Ok(value) = HeaderValue::from_bytes(value) {
            map.append(HeaderName::from_static(name), value);
        }
    }
    map
}

fn text_response(status: u16, mut headers: HeaderMap, body: &'static str) -> Response<Body> {
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(TEXT_PLAIN),
    );
    response(status, headers, Body::from(body))
}

/// What `handle` does after the answer (which borrows the request) is dropped.
enum Next {
    Done(Response<Body>),
    Receive(String, Framing, HeaderMap),
    Send(String, Payload, HeaderMap),
    WebSocket(bool),
}

impl SockJs {
    /// Answers one request: any SockJS URL under the prefix (404 for others).
    pub async fn handle<B>(&self, mut req: Request<B>) -> Response<Body>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
    {
        let shared = &self.shared;
        if !shared.sweeper_started.swap(true, Ordering::AcqRel) {
            tokio::spawn(sweep(Arc::downgrade(shared), shared.sweep.clone()));
        }
        let next = {
            let path = req.uri().path();
            let Some(path) = path
                .strip_prefix(shared.prefix.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            else {
                return text_response(404, HeaderMap::new(), endpoint::NOT_FOUND);
            };
            let headers = req.headers();
            let get = |name: http::header::HeaderName| headers.get(name).map(HeaderValue::as_bytes);
            let mut request =
                endpoint::Request::new(Method::from_name(req.method().as_str()), path)
                    .upgrade(rfc6455::io::hyper::is_upgrade_request(&req))
                    .now_unix_secs(
                        SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs()),
                    )
                    .entropy(getrandom::u32().unwrap_or_else(|_| {
                        // No OS randomness: the clock's nanoseconds beat a constant.
                        SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| d.subsec_nanos())
                    }));
            if let Some(query) = req.uri().query() {
                request = request.query(query);
            }
            if let Some(origin) = get(http::header::ORIGIN) {
                request = request.origin(origin);
            }
            let host = get(http::header::HOST)
                .or_else(|| req.uri().authority().map(|a| a.as_str().as_bytes()));
            if let Some(host) = host {
                request = request.host(host);
            }
            if let Some(jsessionid) = headers
                .get_all(http::header::COOKIE)
                .iter()
                .find_map(|v| endpoint::find_jsessionid(v.as_bytes()))
            {
                request = request.jsessionid(jsessionid);
            }
            if let Some(v) = get(http::header::ACCESS_CONTROL_REQUEST_HEADERS) {
                request = request.cors_request_headers(v);
            }
            if let Some(v) = get(http::header::CONTENT_TYPE) {
                request = request.content_type(v);
            }
            if let Some(v) = get(http::header::IF_NONE_MATCH) {
                request = request.if_none_match(v);
            }
            let answer = shared.endpoint.answer(&request);
            let headers = header_map(&answer);
            match answer.action {
                Action::Respond(body) => Next::Done(response(
                    answer.status,
                    headers,
                    match body {
                        Cow::Borrowed(b) => Body::full(Bytes::from_static(b)),
                        Cow::Owned(b) => Body::full(b),
                    },
                )),
                Action::Receive { session, framing } => {
                    Next::Receive(session.to_owned(), framing, headers)
                }
                Action::Send { session, payload } => {
                    Next::Send(session.to_owned(), payload, headers)
                }
                Action::WebSocket { framed } => Next::WebSocket(framed),
            }
        };
        match next {
            Next::Done(response) => response,
            Next::Receive(id, framing, headers) => self.receive(&req, &id, framing, headers),
            Next::Send(id, payload, headers) => self.send(req, &id, payload, headers).await,
            Next::WebSocket(framed) => self.websocket(&mut req, framed),
        }
    }

    /// A receiving request: attach it to its session (made if new) and stream its frames.
    fn receive<B>(
        &self,
        req: &Request<B>,
        id: &str,
        framing: Framing,
        headers: HeaderMap,
    ) -> Response<Body> {
        let shared = &self.shared;
        let now = shared.now();
        let cell = {
            let mut registry = shared.registry();
            match registry.get(id) {
                Some(cell) => cell.clone(),
                None => {
                    let cell = Cell::new(
                        Session::new(shared.session_config.clone(), now),
                        shared.max_inbox_bytes,
                    );
                    match registry.insert(id, cell, now) {
                        Ok(cell) => cell.clone(),
                        // sockjs-protocol asks nothing here; a flood of new session ids
                        // stops at the bound.
                        Err(
                            RegistryError::Full { .. }
                            | RegistryError::Exists
                            | RegistryError::InvalidId,
                        ) => {
                            let (status, body) = SERVICE_UNAVAILABLE;
                            return text_response(status, headers, body);
                        }
                    }
                }
            }
        };
        let mut prelude = Vec::new();
        framing.encode_prelude(&mut prelude);
        let mut state = cell.lock();
        match state.session.attach(framing, now) {
            Attach::Attached(rx) => {
                cell.pump(&mut state);
                let opened = std::mem::take(&mut state.opened);
                drop(state);
                if opened {
                    shared.spawn_handler(Socket::session(
                        cell.clone(),
                        info(req, transport_name(framing)),
                    ));
                }
                response(
                    200,
                    headers,
                    Body::receiver(body::Receiver {
                        cell,
                        shared: shared.clone(),
                        id: rx,
                        prelude: (!prelude.is_empty()).then(|| Bytes::from(prelude)),
                        done: false,
                        sleep: None,
                    }),
                )
            }
            // sockjs-protocol: "The server must not allow two receiving connections to wait
            // on a single session. In such case the server must send a close frame to the
            // new connection."
            Attach::AnotherConnectionOpen | Attach::Expired => {
                drop(state);
                framing.encode_frame(
                    &Frame::Close(Close::ANOTHER_CONNECTION_STILL_OPEN),
                    &mut prelude,
                );
                response(200, headers, Body::full(prelude))
            }
        }
    }

    /// A sending request: its body, decoded, into the session's inbox.
    async fn send<B>(
        &self,
        req: Request<B>,
        id: &str,
        payload: Payload,
        headers: HeaderMap,
    ) -> Response<Body>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
    {
        let reply = |reply: SendReply, headers: HeaderMap| {
            let (status, body) = reply.response(payload);
            text_response(status, headers, body)
        };
        let Some(cell) = self.shared.registry().get(id).cloned() else {
            return reply(SendReply::UnknownSession, headers);
        };
        // One body per session at a time, in the order they came.
        let _slot = cell.send_slot.lock().await;
        let body = match read_body(req.into_body(), self.shared.max_request_body).await {
            Ok(body) => body,
            Err(ReadError::TooLarge) => return reply(SendReply::TooLarge, headers),
            Err(ReadError::Failed) => return text_response(400, headers, "Bad request body.\n"),
        };
        let messages = {
            let mut state = cell.lock();
            match state.session.receive(payload, &body) {
                Ok(messages) => messages
                    .into_iter()
                    .filter_map(|m| message_bytes(&body, m))
                    .collect::<Vec<_>>(),
                Err(e) => return reply(SendReply::Invalid(e), headers),
            }
        };
        if !messages.is_empty() {
            // Wait for room: a slow application holds the client's next send back.
            loop {
                let notified = {
                    let mut state = cell.lock();
                    if state.is_closed() {
                        // sockjs-node delivers nothing to a session that is not open, and
                        // still answers the request as a success.
                        break;
                    }
                    if state.has_room() {
                        state.push(messages);
                        break;
                    }
                    cell.inbox_room.notified()
                };
                notified.await;
            }
        }
        reply(SendReply::Accepted, headers)
    }

    /// `{base}/websocket` (raw) or `{session}/websocket` (framed).
    fn websocket<B>(&self, req: &mut Request<B>, framed: bool) -> Response<Body> {
        let shared = self.shared.clone();
        let info = info(req, if framed { "websocket" } else { "websocket-raw" });
        let (response, upgrading) = match shared.acceptor.upgrade::<B, Body>(req) {
            Ok(accepted) => accepted,
            Err(e) => return e.http_response(),
        };
        tokio::spawn(async move {
            let Ok(ws) = upgrading.await else { return };
            if !framed {
                shared.spawn_handler(Socket::websocket(ws, info));
                return;
            }
            // "websockets possess no session_id" (sockjs-node): a session of its own, not in
            // the registry, that ends with the WebSocket.
            let now = shared.now();
            let cell = Cell::new(
                Session::new(shared.session_config.clone(), now),
                shared.max_inbox_bytes,
            );
            let rx = {
                let mut state = cell.lock();
                let Attach::Attached(rx) = state.session.attach(Framing::WebSocket, now) else {
                    return;
                };
                cell.pump(&mut state);
                state.opened = false;
                rx
            };
            shared.spawn_handler(Socket::session(cell.clone(), info));
            websocket::drive(ws, cell, rx, shared).await;
        });
        response
    }
}

enum ReadError {
    TooLarge,
    Failed,
}

/// The whole body, if it is at most `limit` bytes.
async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, ReadError>
where
    B: http_body::Body,
{
    let mut body = pin!(body);
    if body.size_hint().lower() > limit as u64 {
        return Err(ReadError::TooLarge);
    }
    let mut out = Vec::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let Ok(frame) = frame else {
            return Err(ReadError::Failed);
        };
        if let Ok(mut data) = frame.into_data() {
            if out.len().saturating_add(data.remaining()) > limit {
                return Err(ReadError::TooLarge);
            }
            while data.has_remaining() {
                let chunk = data.chunk();
                out.extend_from_slice(chunk);
                let n = chunk.len();
                data.advance(n);
            }
        }
    }
    Ok(Bytes::from(out))
}

impl<B> hyper::service::Service<Request<B>> for SockJs
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}

#[cfg(feature = "axum")]
impl<B> tower_service::Service<Request<B>> for SockJs
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}
