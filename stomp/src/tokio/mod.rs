//! A STOMP server on rfc6455's tokio adapter (feature `tokio`): Spring's "WebSocket message
//! broker" in Rust.
//!
//! ```text
//!     StompServer     handlers (/app), authentication, interceptors, events, counters
//!     ─────────────────────────────────────────────────────────────────────────────
//!     per session     one task: WebSocket ⇄ ServerSession (sans-IO) ⇄ broker
//!     ─────────────────────────────────────────────────────────────────────────────
//!     broker          simple: SimpleBroker (sans-IO) under a lock, MESSAGEs encoded once
//!                     and shared by every subscriber (PreparedMessage), bounded mailboxes
//!                     relay:  RelaySession per client session + one SystemConnection
//!                     (sans-IO) over TCP to RabbitMQ or another STOMP broker
//! ```
//!
//! ```no_run
//! use rfc6455_stomp::app::{Actions, Inbound};
//! use rfc6455_stomp::tokio::StompServer;
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = StompServer::builder()
//!     // @MessageMapping("/echo") with @SendTo("/topic/echo")
//!     .route("/echo", |m: &Inbound<'_>, out: &mut Actions| {
//!         out.publish("/topic/echo", &[], m.body().clone());
//!         Ok(())
//!     })
//!     .simple_broker(Default::default()) // /topic and /queue in memory
//!     .build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! server.listen(listener).await
//! # }
//! ```
//!
//! Clients connect with any WebSocket STOMP client (`@stomp/stompjs`, `stomp.py`'s
//! `WSConnection`, [`Client`]) offering `v12.stomp`, `v11.stomp` or `v10.stomp` (or no
//! subprotocol). Inside axum, mount it with [`StompServer::upgrade`] (feature `axum`).
//!
//! # What the server does with each frame
//!
//! * CONNECT: the handshake's [`Handshake`] and the frame go to the [`Authenticator`]
//!   (the `login`/`passcode` check); refused → ERROR and close. With a relay, the
//!   session's broker connection is opened first; an unavailable broker → ERROR.
//! * SEND: to an application destination (`/app/...`) → its [`Handler`], whose
//!   [`Actions`] publish, reply to the sender, or send to a user; to `/user/{name}/...` →
//!   that user; to a broker destination → the broker. Anything else → ERROR.
//! * SUBSCRIBE: `/user/...` is translated to the user's own topic
//!   ([`UserDestinations`]); broker destinations go to the broker; anything else → ERROR.
//! * ACK, NACK, UNSUBSCRIBE, DISCONNECT: to the broker (queue messages not acknowledged
//!   are redelivered).
//!
//! [`Handshake`]: crate::app::Handshake
//! [`Authenticator`]: crate::app::Authenticator
//! [`Handler`]: crate::app::Handler
//! [`Actions`]: crate::app::Actions
//! [`UserDestinations`]: crate::app::UserDestinations

#[allow(unused_imports)]
use std::{borrow::ToOwned, boxed::Box, format, string::String, string::ToString, vec, vec::Vec};

mod client;
mod hub;
mod relay;
mod session;
mod stats;

#[cfg(feature = "axum")]
mod axum;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rfc6455::handshake::{Request, ServerConfig as HandshakeConfig};
use rfc6455::io::Rejection;
use rfc6455::io::tokio::{Acceptor, WebSocket};
use rfc6455::{Config, handshake::AcceptOptions};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

pub use client::{Client, ClientError};
pub use hub::MailboxLimits;
pub use stats::StatsSnapshot;

use crate::app::{
    Authenticator, Handler, Handshake, HandshakeUser, Interceptor, Router, StompEvent,
    UserDestinations,
};
use crate::broker::{BrokerConfig, BrokerError, SimpleBroker};
use crate::frame::Frame;
use crate::relay::RelayConfig;
use crate::server::ServerConfig;
use hub::Hub;
use stats::Stats;

/// The WebSocket subprotocols of STOMP, best first.
pub const SUBPROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];

/// Why a [`Publisher`] message was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The destination is not a broker destination.
    NotBrokerDestination,
    /// The queue is full (simple broker).
    QueueFull,
    /// The external broker is unavailable, or the connection was lost before it
    /// confirmed the message (it may or may not have arrived).
    Unavailable,
    /// Too many messages wait for the external broker's confirmation.
    TooManyPending,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PublishError::NotBrokerDestination => "not a broker destination",
            PublishError::QueueFull => "queue full",
            PublishError::Unavailable => "broker unavailable",
            PublishError::TooManyPending => "too many messages waiting for the broker",
        })
    }
}

impl std::error::Error for PublishError {}

impl From<BrokerError> for PublishError {
    fn from(e: BrokerError) -> PublishError {
        match e {
            BrokerError::QueueFull => PublishError::QueueFull,
            _ => PublishError::NotBrokerDestination,
        }
    }
}

impl From<crate::relay::PublishError> for PublishError {
    fn from(e: crate::relay::PublishError) -> PublishError {
        match e {
            crate::relay::PublishError::TooManyPending => PublishError::TooManyPending,
            _ => PublishError::Unavailable,
        }
    }
}

type HandshakeAuth = dyn Fn(&Request<'_>) -> Result<Handshake, Rejection> + Send + Sync;
type Listener = dyn Fn(&StompEvent) + Send + Sync;

/// Where broker destinations go.
pub(crate) enum Backend {
    Simple(Mutex<Hub>),
    Relay {
        address: String,
        config: RelayConfig,
        system: mpsc::Sender<relay::Publish>,
        available: Arc<AtomicBool>,
    },
}

/// Everything the sessions share.
pub(crate) struct Shared {
    pub(crate) session: ServerConfig,
    pub(crate) websocket: Config,
    pub(crate) router: Router,
    pub(crate) authenticator: Box<dyn Authenticator>,
    pub(crate) interceptors: Vec<Box<dyn Interceptor>>,
    pub(crate) events: Arc<Events>,
    pub(crate) users: UserDestinations,
    pub(crate) broker_config: BrokerConfig,
    pub(crate) backend: Backend,
    pub(crate) stats: Stats,
    pub(crate) mailbox: MailboxLimits,
    pub(crate) write_timeout: Duration,
    pub(crate) next_session: AtomicU64,
    pub(crate) epoch: Instant,
    pub(crate) connected_users: Mutex<BTreeMap<String, usize>>,
    handshake_auth: Option<Box<HandshakeAuth>>,
    path: Option<String>,
}

/// The event listeners.
#[derive(Default)]
pub(crate) struct Events {
    listeners: Vec<Box<Listener>>,
}

impl Events {
    pub(crate) fn emit(&self, event: &StompEvent) {
        for l in &self.listeners {
            l(event);
        }
    }
}

impl Shared {
    pub(crate) fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    pub(crate) fn hub(&self) -> Option<std::sync::MutexGuard<'_, Hub>> {
        match &self.backend {
            Backend::Simple(hub) => Some(hub.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Relay { .. } => None,
        }
    }

    /// Publishes through the simple broker, or the relay's system connection.
    pub(crate) async fn publish(&self, message: Frame) -> Result<(), PublishError> {
        let destination = message.header("destination").unwrap_or_default();
        if self.broker_config.kind(destination).is_none() {
            return Err(PublishError::NotBrokerDestination);
        }
        match &self.backend {
            Backend::Simple(_) => {
                let mut hub = self.hub().expect("simple backend");
                hub.broker.publish(message)?;
                hub.drain(&self.interceptors, &self.stats);
                self.stats.published.fetch_add(1, Relaxed);
                Ok(())
            }
            Backend::Relay { system, .. } => {
                let (tx, rx) = oneshot::channel();
                system
                    .send(relay::Publish { message, done: tx })
                    .await
                    .map_err(|_| PublishError::Unavailable)?;
                let result = rx.await.unwrap_or(Err(PublishError::Unavailable));
                if result.is_ok() {
                    self.stats.published.fetch_add(1, Relaxed);
                }
                result
            }
        }
    }
}

/// Builds a [`StompServer`]. Defaults: application prefix `/app`, a simple broker for
/// `/topic/` and `/queue/`, user destinations under `/user/`, the handshake's user kept
/// ([`HandshakeUser`]), no interceptors, any WebSocket path.
pub struct Builder {
    session: ServerConfig,
    websocket: Option<Config>,
    router: Router,
    authenticator: Box<dyn Authenticator>,
    interceptors: Vec<Box<dyn Interceptor>>,
    listeners: Vec<Box<Listener>>,
    users: UserDestinations,
    broker: BrokerConfig,
    relay: Option<(String, RelayConfig)>,
    mailbox: MailboxLimits,
    write_timeout: Duration,
    handshake_auth: Option<Box<HandshakeAuth>>,
    path: Option<String>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("session", &self.session)
            .field("router", &self.router)
            .field("broker", &self.broker)
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// The STOMP session settings (limits, heart-beats, connect timeout). The default
    /// accepts a CONNECT without `host` ([`ServerConfig::host_when_missing`]), as browsers'
    /// clients send none.
    #[must_use]
    pub fn session_config(mut self, config: ServerConfig) -> Builder {
        self.session = config;
        self
    }

    /// The WebSocket settings (default: messages as large as the session's frame limits
    /// allow).
    #[must_use]
    pub fn websocket_config(mut self, config: Config) -> Builder {
        self.websocket = Some(config);
        self
    }

    /// Replaces the application prefix (default `/app`).
    #[must_use]
    pub fn application_prefix(mut self, prefix: &str) -> Builder {
        self.router = std::mem::take(&mut self.router).with_prefix(prefix);
        self
    }

    /// Registers `handler` for SENDs to the application destination prefix + `path`.
    #[must_use]
    pub fn route(mut self, path: &str, handler: impl Handler + 'static) -> Builder {
        self.router = self.router.route(path, handler);
        self
    }

    /// The CONNECT hook (login/passcode, headers, the handshake's user).
    #[must_use]
    pub fn authenticator(mut self, authenticator: impl Authenticator + 'static) -> Builder {
        self.authenticator = Box::new(authenticator);
        self
    }

    /// Decides on the WebSocket handshake (path, query, headers: a token) for
    /// [`StompServer::accept`] and [`StompServer::listen`]: the session's [`Handshake`]
    /// or an HTTP rejection. (With axum, extract what you need in the handler and pass it
    /// to [`StompServer::upgrade`].)
    #[must_use]
    pub fn handshake(
        mut self,
        decide: impl Fn(&Request<'_>) -> Result<Handshake, Rejection> + Send + Sync + 'static,
    ) -> Builder {
        self.handshake_auth = Some(Box::new(decide));
        self
    }

    /// Accepts WebSockets only at this path (others get 404).
    #[must_use]
    pub fn path(mut self, path: &str) -> Builder {
        self.path = Some(path.into());
        self
    }

    /// Adds an interceptor (run in the order added).
    #[must_use]
    pub fn interceptor(mut self, interceptor: impl Interceptor + 'static) -> Builder {
        self.interceptors.push(Box::new(interceptor));
        self
    }

    /// Adds a listener for session and broker events. It runs on the session's task:
    /// keep it short (send to a channel for real work).
    #[must_use]
    pub fn on_event(mut self, listener: impl Fn(&StompEvent) + Send + Sync + 'static) -> Builder {
        self.listeners.push(Box::new(listener));
        self
    }

    /// The user destination prefixes.
    #[must_use]
    pub fn user_destinations(mut self, users: UserDestinations) -> Builder {
        self.users = users;
        self
    }

    /// Uses the simple in-memory broker with these prefixes and limits.
    #[must_use]
    pub fn simple_broker(mut self, config: BrokerConfig) -> Builder {
        self.broker = config;
        self.relay = None;
        self
    }

    /// Relays broker destinations (the prefixes of `destinations`, e.g. `/topic/` and
    /// `/queue/`) to the STOMP broker at `address` (`host:port`, RabbitMQ's 61613).
    #[must_use]
    pub fn relay(
        mut self,
        address: &str,
        config: RelayConfig,
        destinations: BrokerConfig,
    ) -> Builder {
        self.broker = destinations;
        self.relay = Some((address.into(), config));
        self
    }

    /// The per-session mailbox limits (the slow consumer policy).
    #[must_use]
    pub fn mailbox_limits(mut self, limits: MailboxLimits) -> Builder {
        self.mailbox = limits;
        self
    }

    /// How long one write to a client may wait for it to read (default 30 s); past it the
    /// connection is dropped.
    #[must_use]
    pub fn write_timeout(mut self, timeout: Duration) -> Builder {
        self.write_timeout = timeout;
        self
    }

    /// The server. With a relay, its system connection starts now: call this inside a
    /// tokio runtime.
    pub fn build(self) -> StompServer {
        let limits = self.session.limits;
        let websocket = self.websocket.unwrap_or_else(|| {
            let max =
                (limits.max_body_size + limits.max_head_size + limits.max_header_line_size + 64)
                    as u64;
            Config::default().max_message_size(max).max_frame_size(max)
        });
        let events = Arc::new(Events {
            listeners: self.listeners,
        });
        let backend = match self.relay {
            None => Backend::Simple(Mutex::new(Hub::new(SimpleBroker::new(self.broker.clone())))),
            Some((address, config)) => {
                let available = Arc::new(AtomicBool::new(false));
                let system = relay::spawn_system(
                    address.clone(),
                    config.clone(),
                    available.clone(),
                    events.clone(),
                );
                Backend::Relay {
                    address,
                    config,
                    system,
                    available,
                }
            }
        };
        StompServer {
            shared: Arc::new(Shared {
                session: self.session,
                websocket,
                router: self.router,
                authenticator: self.authenticator,
                interceptors: self.interceptors,
                events,
                users: self.users,
                broker_config: self.broker,
                backend,
                stats: Stats::default(),
                mailbox: self.mailbox,
                write_timeout: self.write_timeout,
                next_session: AtomicU64::new(1),
                epoch: Instant::now(),
                connected_users: Mutex::new(BTreeMap::new()),
                handshake_auth: self.handshake_auth,
                path: self.path,
            }),
        }
    }
}

/// A STOMP server: serves WebSockets, routes frames, runs the broker. Cheap to clone.
/// See the [module docs](self).
#[derive(Clone)]
pub struct StompServer {
    shared: Arc<Shared>,
}

impl fmt::Debug for StompServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StompServer")
            .field("router", &self.shared.router)
            .field("broker", &self.shared.broker_config)
            .finish_non_exhaustive()
    }
}

impl StompServer {
    /// A builder with the defaults.
    pub fn builder() -> Builder {
        Builder {
            session: ServerConfig::default().host_when_missing(Some("/")),
            websocket: None,
            router: Router::default(),
            authenticator: Box::new(HandshakeUser),
            interceptors: Vec::new(),
            listeners: Vec::new(),
            users: UserDestinations::default(),
            broker: BrokerConfig::default(),
            relay: None,
            mailbox: MailboxLimits::default(),
            write_timeout: Duration::from_secs(30),
            handshake_auth: None,
            path: None,
        }
    }

    /// The WebSocket acceptor the server uses: STOMP's subprotocols, the WebSocket limits.
    pub fn acceptor(&self) -> Acceptor {
        Acceptor::new(
            HandshakeConfig::default().subprotocols(SUBPROTOCOLS),
            self.shared.websocket.clone(),
        )
    }

    /// The WebSocket settings sessions are served with (for a WebSocket made elsewhere,
    /// e.g. `rfc6455_sockjs`'s `Socket::into_websocket`).
    pub fn websocket_config(&self) -> &Config {
        &self.shared.websocket
    }

    /// Runs the WebSocket handshake on `stream` (with the [`Builder::handshake`] decision
    /// and [`Builder::path`]), then serves the STOMP session until it ends.
    ///
    /// # Errors
    ///
    /// The handshake failed (the HTTP rejection was sent).
    pub async fn accept<S>(&self, stream: S) -> Result<(), rfc6455::io::Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let shared = self.shared.clone();
        let (ws, handshake) = self
            .acceptor()
            .accept_with_async(stream, async move |request: &Request<'_>| {
                if let Some(path) = &shared.path {
                    if request.path() != path {
                        return Err(Rejection::new(404, "not found"));
                    }
                }
                let handshake = match &shared.handshake_auth {
                    Some(decide) => decide(request)?,
                    None => Handshake::anonymous(),
                };
                Ok((AcceptOptions::default(), handshake))
            })
            .await?;
        self.serve(ws, handshake).await;
        Ok(())
    }

    /// Serves a STOMP session on a WebSocket whose handshake is done, until it ends.
    pub fn serve<S>(
        &self,
        ws: WebSocket<S>,
        handshake: Handshake,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        session::run(self.shared.clone(), ws, handshake)
    }

    /// Accepts connections forever, one task each.
    ///
    /// # Errors
    ///
    /// Accepting from the listener failed.
    pub async fn listen(&self, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let server = self.clone();
            tokio::spawn(async move {
                let _ = server.accept(stream).await;
            });
        }
    }

    /// A handle for publishing from application code (Spring's `SimpMessagingTemplate`).
    pub fn publisher(&self) -> Publisher {
        Publisher {
            shared: self.shared.clone(),
        }
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The users with open sessions, and how many each.
    pub fn users(&self) -> Vec<(String, usize)> {
        self.shared
            .connected_users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(u, n)| (u.clone(), *n))
            .collect()
    }

    /// Whether broker destinations can be served now (always for the simple broker; with
    /// a relay, whether its system connection is up).
    pub fn broker_available(&self) -> bool {
        match &self.shared.backend {
            Backend::Simple(_) => true,
            Backend::Relay { available, .. } => available.load(Relaxed),
        }
    }
}

/// Publishes messages from anywhere in the application (Spring's
/// `SimpMessagingTemplate`). Cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    shared: Arc<Shared>,
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// Publishes `body` to the broker destination `destination`. With a relay, returns once
    /// the external broker confirmed it.
    ///
    /// # Errors
    ///
    /// See [`PublishError`].
    pub async fn publish(
        &self,
        destination: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<(), PublishError> {
        let message = crate::app::message(destination, headers, body.into());
        self.shared.publish(message).await
    }

    /// Sends `body` to `user`'s subscriptions of `/user{destination}` (`destination` such
    /// as `/queue/news`), on every server sharing the broker.
    ///
    /// # Errors
    ///
    /// See [`PublishError`].
    pub async fn send_to_user(
        &self,
        user: &str,
        destination: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<(), PublishError> {
        let target = self.shared.users.target(user, destination);
        self.publish(&target, headers, body).await
    }
}
