//! The async adapter: a WebSocket over any tokio `AsyncRead + AsyncWrite` stream.
//!
//! ```no_run
//! use rfc6455::io::tokio as ws;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut socket = ws::accept(stream).await?;
//!         while let Some(message) = socket.recv().await? {
//!             if message.is_data() {
//!                 socket.send(message).await?;
//!             }
//!         }
//!         Ok::<_, rfc6455::io::Error>(())
//!     });
//! }
//! # }
//! ```
//!
//! * [`WebSocket`] is a `futures` [`Stream`] of messages and a [`Sink`] of messages, with
//!   plain [`recv`](WebSocket::recv) and [`send`](WebSocket::send) besides.
//! * [`WebSocket::split`] gives a [`ReadHalf`] and a [`WriteHalf`] for two tasks; pongs and
//!   the close handshake keep working (the read half writes them itself).
//! * Reading is demand-driven: nothing is read from the socket unless the application is
//!   receiving, so TCP flow control pushes back on a fast sender. Sending waits while more
//!   than the high-water mark of bytes is queued.
//! * Keepalive pings, the idle timeout and the close timeout of the [`Config`] run on
//!   tokio's timer while the application is receiving.
//! * An idle connection holds no buffers: they are allocated when bytes arrive and
//!   released when the socket has nothing more to read.

use std::boxed::Box;
use std::future::{Future, poll_fn};

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use std::vec::Vec;

use ::tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use futures_core::Stream;
use futures_sink::Sink;

mod inner;
mod split;
mod stream;

pub use split::{ReadHalf, ReuniteError, WriteHalf};
pub use stream::MaybeTlsStream;

use super::driver::Driver;
use super::{Decision, Error, accept_all, handshake};
use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::Connection;
use crate::handshake::{
    ClientHandshake, ClientRequest, HandshakeResponse, Request, ServerConfig, ServerHandshake,
};
use crate::message::Message;
use inner::{Closing, Half, Inner};

pub use crate::io::DEFAULT_HIGH_WATER;

pub use crate::io::DEFAULT_HANDSHAKE_TIMEOUT;

/// Accepts a WebSocket on `stream` with the default policies and limits.
pub async fn accept<S>(stream: S) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Acceptor::default().accept(stream).await
}

/// Connects to a `ws://` or `wss://` URL with the default limits, through the
/// environment's proxy if it names one (see [`Connector`](crate::io::Connector)).
/// `wss://` needs the feature `rustls`.
pub async fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, HandshakeResponse), Error> {
    connect_with(&ClientRequest::from_url(url)?, Config::default()).await
}

/// Connects for `request` (which carries origin, subprotocols, headers) with the default
/// [`Connector`](crate::io::Connector): the environment's proxy, the default TLS roots.
/// The connection, the proxy's tunnel, the TLS handshake and the WebSocket handshake
/// take at most the request's [`handshake_timeout`](ClientRequest::handshake_timeout)
/// (default 10 s) together.
pub async fn connect_with(
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<MaybeTlsStream>, HandshakeResponse), Error> {
    connect_with_connector(request, config, &crate::io::Connector::default()).await
}

/// [`connect_with`] with the proxy and the TLS configuration of `connector`.
pub async fn connect_with_connector(
    request: &ClientRequest,
    config: Config,
    connector: &crate::io::Connector,
) -> Result<(WebSocket<MaybeTlsStream>, HandshakeResponse), Error> {
    within(request.handshake_timeout, async {
        let stream = stream::open(connector, request).await?;
        client_handshake(stream, request, config).await
    })
    .await
}

/// Runs the client handshake over a stream the caller already has (e.g. a TLS stream),
/// within the request's [`handshake_timeout`](ClientRequest::handshake_timeout).
pub async fn client<S>(
    stream: S,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, HandshakeResponse), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    within(
        request.handshake_timeout,
        client_handshake(stream, request, config),
    )
    .await
}

async fn client_handshake<S>(
    mut stream: S,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, HandshakeResponse), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = Vec::new();
    let mut handshake = ClientHandshake::with_random_nonce(request, &mut out)?;
    stream.write_all(&out).await?;
    stream.flush().await?;
    let response = handshake::read_async(&mut stream, &mut handshake).await??;
    let (conn, leftover) = response.clone().into_connection(config);
    Ok((WebSocket::from_parts(stream, conn, &leftover), response))
}

/// Runs `future` for at most `limit`: past it, an `Io` error of kind `TimedOut`. The timer
/// is armed only if the first poll does not finish the work (a handshake whose bytes are
/// all there already costs no clock read and no timer registration).
pub(crate) async fn within<T>(
    limit: Option<Duration>,
    future: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let mut future = std::pin::pin!(future);
    if let Poll::Ready(done) = poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
        return done;
    }
    match limit {
        Some(limit) => match ::tokio::time::timeout(limit, future).await {
            Ok(result) => result,
            Err(_) => Err(handshake::timed_out().into()),
        },
        None => future.await,
    }
}

/// Accepts WebSockets with a handshake policy, connection limits, a handshake timeout and
/// a high-water mark. Cheap to clone into each connection's task.
#[derive(Clone, Debug)]
pub struct Acceptor {
    handshake: Arc<ServerConfig>,
    config: Config,
    handshake_timeout: Option<Duration>,
    high_water: usize,
}

impl Default for Acceptor {
    fn default() -> Acceptor {
        Acceptor::new(ServerConfig::default(), Config::default())
    }
}

impl Acceptor {
    /// An acceptor with these policies and limits.
    pub fn new(handshake: ServerConfig, config: Config) -> Acceptor {
        Acceptor {
            handshake: Arc::new(handshake),
            config,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            high_water: DEFAULT_HIGH_WATER,
        }
    }

    /// Limits how long the client may take to send its request (default 10 s).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Acceptor {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets the high-water mark of accepted WebSockets (see [`WebSocket::set_high_water`]).
    pub fn high_water(mut self, bytes: usize) -> Acceptor {
        self.high_water = bytes;
        self
    }

    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    pub(crate) fn server_config(&self) -> &ServerConfig {
        &self.handshake
    }

    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    pub(crate) fn connection_config(&self) -> &Config {
        &self.config
    }

    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    pub(crate) fn high_water_mark(&self) -> usize {
        self.high_water
    }

    /// Accepts with the configured policies.
    pub async fn accept<S>(&self, stream: S) -> Result<WebSocket<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.accept_with(stream, accept_all)
            .await
            .map(|(ws, ())| ws)
    }

    /// Accepts after asking `decide`, which sees the parsed request (path, query, headers,
    /// origin, offered subprotocols) and either accepts — possibly choosing a subprotocol
    /// and extra response headers — returning whatever it extracted from the request (a
    /// user id, a room name), or rejects with an HTTP status.
    ///
    /// Requests that break RFC 6455 §4.2.1 or the origin policy are answered with 400, 403
    /// or 426 before `decide` is asked.
    pub async fn accept_with<S, T, F>(
        &self,
        stream: S,
        decide: F,
    ) -> Result<(WebSocket<S>, T), Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: FnOnce(&Request<'_>) -> Decision<T>,
    {
        self.accept_with_async(stream, async move |request: &Request<'_>| decide(request))
            .await
    }

    /// [`accept_with`](Acceptor::accept_with) with an async decision: `decide` may look up
    /// a session or a token before accepting (it runs within the handshake timeout).
    ///
    /// ```no_run
    /// # use rfc6455::io::{Rejection, tokio::Acceptor};
    /// # async fn lookup(token: &str) -> Option<String> { None }
    /// # async fn serve(acceptor: Acceptor, stream: tokio::net::TcpStream) {
    /// let accepted = acceptor
    ///     .accept_with_async(stream, async |req| {
    ///         let token = req.query().unwrap_or_default();
    ///         match lookup(token).await {
    ///             Some(user) => Ok((Default::default(), user)),
    ///             None => Err(Rejection::new(401, "unknown token")),
    ///         }
    ///     })
    ///     .await;
    /// # }
    /// ```
    pub async fn accept_with_async<S, T, F>(
        &self,
        stream: S,
        decide: F,
    ) -> Result<(WebSocket<S>, T), Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: AsyncFnOnce(&Request<'_>) -> Decision<T>,
    {
        // Boxed: the handshake's state (request buffer, header index, the timer) lives
        // only while it runs; inline, it would size every connection's task for its whole
        // life (1,792 bytes per idle echo-server task instead of 640).
        within(
            self.handshake_timeout,
            Box::pin(self.handshake_with(stream, decide)),
        )
        .await
    }

    async fn handshake_with<S, T, F>(
        &self,
        mut stream: S,
        decide: F,
    ) -> Result<(WebSocket<S>, T), Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: AsyncFnOnce(&Request<'_>) -> Decision<T>,
    {
        let mut handshake = ServerHandshake::new(&self.handshake);
        let mut out = Vec::new();
        let result = match handshake::read_async(&mut stream, &mut handshake).await? {
            Err(e) => {
                e.write_response(&mut out);
                Err(e.into())
            }
            Ok(()) => match handshake.request() {
                Some(request) => match super::check(&self.handshake, &request, &mut out) {
                    Ok(()) => {
                        let decision = decide(&request).await;
                        super::conclude(&self.handshake, &request, decision, &mut out)
                    }
                    Err(e) => Err(e),
                },
                None => unreachable!("a complete handshake has a request"),
            },
        };
        stream.write_all(&out).await?;
        stream.flush().await?;
        let (accepted, value) = result?;
        let (conn, leftover) = accepted.into_connection(self.config.clone());
        let mut ws = WebSocket::from_parts(stream, conn, &leftover);
        ws.set_high_water(self.high_water);
        Ok((ws, value))
    }
}

/// A WebSocket over a tokio stream.
///
/// Receive with [`recv`](WebSocket::recv) (or as a [`Stream`]); send with
/// [`send`](WebSocket::send) (or as a [`Sink`]); close with [`close`](WebSocket::close).
#[derive(Debug)]
pub struct WebSocket<S> {
    /// Boxed: a WebSocket is moved by value through the handshake's futures and into
    /// tasks, and one pointer moves faster than the whole state (800 bytes).
    inner: Box<Inner<S>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wraps a stream whose handshake is done: `conn` is the connection and `leftover` the
    /// bytes that arrived after the HTTP head.
    pub fn from_parts(stream: S, conn: Connection, leftover: &[u8]) -> WebSocket<S> {
        WebSocket {
            inner: Box::new(Inner {
                stream,
                driver: Driver::new(conn, leftover),
                sleep: None,
                closing: Closing::No,
                error: None,
                write_wakers: [None, None],
            }),
        }
    }

    /// Wraps a stream whose opening handshake happened elsewhere (hyper, another HTTP
    /// server, a proxy), as `role`, with no extension and nothing buffered. With a
    /// negotiated extension or bytes read past the handshake, build the connection with
    /// [`Accepted::into_connection`](crate::handshake::Accepted::into_connection) and use
    /// [`from_parts`](WebSocket::from_parts).
    pub fn from_upgraded(stream: S, role: crate::Role, config: Config) -> WebSocket<S> {
        WebSocket::from_parts(stream, Connection::new(role, config), &[])
    }

    /// Receives the next message: text, binary, a ping, a pong, or the peer's Close.
    /// Returns `Ok(None)` once the connection has closed cleanly. Pings are answered and
    /// the close handshake is completed while receiving.
    ///
    /// **Cancellation safe**: if the future is dropped before it completes (e.g. it lost a
    /// `tokio::select!` against a timeout), no data is lost — partial messages stay
    /// buffered and the next `recv` continues where this one stopped.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] after the peer broke the protocol (our Close was sent and the
    /// transport closed), [`Error::AbnormalClosure`] when the transport ended or the close
    /// timeout passed without a clean close, [`Error::Io`] from the stream.
    pub async fn recv(&mut self) -> Result<Option<Message>, Error> {
        poll_fn(|cx| self.inner.poll_recv(cx)).await
    }

    /// Sends a message, waiting while the high-water mark is exceeded and until it is
    /// written to the stream.
    ///
    /// Not cancellation safe in one direction: a `send` dropped after the message was
    /// queued still delivers it on the next send, flush or receive.
    pub fn send(&mut self, message: impl Into<Message>) -> Send<'_, S> {
        Send {
            inner: &mut self.inner,
            message: Some(message.into()),
        }
    }

    /// Sends a message prepared once for many connections (see
    /// [`PreparedMessage`](crate::PreparedMessage)): a server queues the shared frame — no
    /// encoding and, for large messages, no copy — then writes it like
    /// [`send`](WebSocket::send).
    pub async fn send_prepared(&mut self, message: &crate::PreparedMessage) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_ready(cx, Half::Write)).await?;
        self.inner.driver.encode_prepared(message)?;
        poll_fn(|cx| self.inner.poll_flush(cx, Half::Write)).await
    }

    /// Queues a message without writing it, if the high-water mark allows (else waits).
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_ready(cx, Half::Write)).await?;
        self.inner.encode(message.into())
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_flush(cx, Half::Write)).await
    }

    /// Closes the WebSocket: sends a Close frame with `code` and `reason`, then receives
    /// (discarding data messages) until the peer's Close arrives and the transport is
    /// closed, or the close timeout passes.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        match self.inner.encode(Message::close(code, reason)) {
            Ok(()) => {}
            Err(Error::Usage(e)) if *e == crate::UsageError::Closed => {}
            Err(e) => return Err(e),
        }
        self.flush().await?;
        while self.recv().await?.is_some() {}
        Ok(())
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.inner.driver.conn.protocol()
    }

    /// Records the subprotocol agreed in a handshake run outside this adapter.
    pub fn set_protocol(&mut self, protocol: Option<&str>) {
        self.inner.driver.conn.set_protocol(protocol);
    }

    /// Sets the high-water mark: sending waits while more bytes than this are queued.
    pub fn set_high_water(&mut self, bytes: usize) {
        self.inner.driver.high_water = bytes.max(1);
    }

    /// The connection state machine, e.g. to read its state or close code.
    pub fn connection(&self) -> &Connection {
        &self.inner.driver.conn
    }

    /// Bytes queued and not yet written to the stream.
    pub fn buffered_amount(&self) -> usize {
        self.inner.buffered()
    }

    /// The memory held in buffers (read buffer, message being assembled, write queue), in
    /// bytes of capacity: what the adapter costs this connection beyond its fixed size.
    pub fn buffer_capacity(&self) -> usize {
        self.inner.driver.buffer_capacity()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.inner.stream
    }

    /// The underlying stream, mutably (reading or writing it directly corrupts the
    /// WebSocket).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner.stream
    }

    /// The underlying stream. Bytes received but not processed, and bytes queued but not
    /// written, are dropped: use [`into_parts`](WebSocket::into_parts) to keep them.
    pub fn into_inner(self) -> S {
        self.inner.stream
    }

    /// The stream and everything buffered: bytes received and not processed, bytes queued
    /// and not written, and the connection.
    pub fn into_parts(self) -> super::Parts<S> {
        let mut inner = *self.inner;
        let write_buf = inner.driver.writer.take_all();
        super::Parts {
            stream: inner.stream,
            read_buf: inner.driver.reader.into_unread(),
            write_buf,
            connection: inner.driver.conn,
        }
    }

    /// Splits into a receiving and a sending half, usable from two tasks.
    pub fn split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        let shared = Arc::new(Mutex::new(*self.inner));
        (
            ReadHalf {
                shared: shared.clone(),
            },
            WriteHalf { shared },
        )
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocket<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.poll_recv(cx).map(Result::transpose)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().inner.poll_ready(cx, Half::Write)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.get_mut().inner.encode(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().inner.poll_flush(cx, Half::Write)
    }

    /// Sends a Close frame (1000) unless one was sent, and flushes. Keep receiving to
    /// complete the close handshake.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let inner = &mut self.get_mut().inner;
        let _ = inner.encode(Message::close(CloseCode::NORMAL, ""));
        inner.poll_flush(cx, Half::Write)
    }
}

/// The future [`WebSocket::send`] returns: the message is queued on the first poll the
/// high-water mark allows, and the future completes once everything queued is written.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Send<'a, S> {
    inner: &'a mut Inner<S>,
    message: Option<Message>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Future for Send<'_, S> {
    type Output = Result<(), Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.inner.poll_send(cx, &mut this.message, Half::Write)
    }
}
