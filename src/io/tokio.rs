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
use std::future::poll_fn;
use std::io::{self, ErrorKind, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::string::{String, ToString};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;
use std::vec::Vec;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use ::tokio::net::TcpStream;
use ::tokio::time::{Instant as TokioInstant, Sleep, sleep_until};
use futures_core::Stream;
use futures_sink::Sink;

use super::driver::{Driver, Step};
use super::{Decision, Error, accept_all};
use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::{Connection, MessageKind, Role, Timeout};
use crate::frame::Status;
use crate::handshake::{
    ClientHandshake, ClientRequest, HandshakeResponse, Request, ServerConfig, ServerHandshake,
};
use crate::message::Message;

/// The default high-water mark: [`send`](WebSocket::send) waits while more than this many
/// bytes are queued for the socket.
pub const DEFAULT_HIGH_WATER: usize = 128 * 1024;

/// Payloads at least this large are written by a server straight from the message's
/// buffer (vectored write) instead of being copied behind their header.
const VECTORED_MIN: usize = 16 * 1024;

/// The default limit on the opening handshake's duration (against slow-loris clients).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts a WebSocket on `stream` with the default policies and limits.
pub async fn accept<S>(stream: S) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Acceptor::default().accept(stream).await
}

/// Connects to a `ws://` URL over TCP with the default limits.
pub async fn connect(url: &str) -> Result<(WebSocket<TcpStream>, HandshakeResponse), Error> {
    connect_with(&ClientRequest::from_url(url)?, Config::default()).await
}

/// Connects over TCP for `request` (which carries origin, subprotocols, headers).
pub async fn connect_with(
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<TcpStream>, HandshakeResponse), Error> {
    if request.is_secure() {
        return Err(Error::Usage(crate::UsageError::InvalidHandshakeInput(
            "wss needs a TLS stream: connect it yourself and use client()",
        )));
    }
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((host, request.effective_port())).await?;
    stream.set_nodelay(true)?;
    client(stream, request, config).await
}

/// Runs the client handshake over a stream the caller already has (e.g. a TLS stream).
pub async fn client<S>(
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
    // A heap buffer, not a stack array: anything held across an await lives in the task
    // for the connection's whole life.
    let mut chunk = Vec::with_capacity(4096);
    let response = loop {
        chunk.clear();
        if stream.read_buf(&mut chunk).await? == 0 {
            return Err(io::Error::from(ErrorKind::UnexpectedEof).into());
        }
        if let Status::Complete(response) = handshake.receive(&chunk)? {
            break response;
        }
    };
    let conn = super::client_connection(config, request, &response);
    let mut ws = WebSocket::from_parts(stream, conn, handshake.leftover());
    ws.set_protocol(response.protocol.clone());
    Ok((ws, response))
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
        let handshake = self.handshake_with(stream, decide);
        match self.handshake_timeout {
            Some(limit) => match ::tokio::time::timeout(limit, handshake).await {
                Ok(result) => result,
                Err(_) => Err(io::Error::new(ErrorKind::TimedOut, "handshake timed out").into()),
            },
            None => handshake.await,
        }
    }

    async fn handshake_with<S, T, F>(
        &self,
        mut stream: S,
        decide: F,
    ) -> Result<(WebSocket<S>, T), Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: FnOnce(&Request<'_>) -> Decision<T>,
    {
        let mut handshake = ServerHandshake::new(&self.handshake);
        let mut chunk = Vec::with_capacity(4096);
        let mut out = Vec::new();
        let failure = loop {
            chunk.clear();
            if stream.read_buf(&mut chunk).await? == 0 {
                return Err(io::Error::from(ErrorKind::UnexpectedEof).into());
            }
            match handshake.receive(&chunk) {
                Ok(Status::Partial) => {}
                Ok(Status::Complete(())) => break None,
                Err(e) => break Some(e),
            }
        };
        drop(chunk);
        let result = match (failure, handshake.request()) {
            (Some(e), _) => {
                e.write_response(&mut out);
                Err(e.into())
            }
            (None, None) => unreachable!("a complete handshake has a request"),
            (None, Some(request)) => match self.handshake.check(&request) {
                Err(e) => {
                    e.write_response(&mut out);
                    Err(e.into())
                }
                Ok(()) => match decide(&request) {
                    Ok((options, value)) => self
                        .handshake
                        .accept_with(&request, &options, &mut out)
                        .map(|accepted| (accepted, value))
                        .map_err(Error::from),
                    Err(rejection) => {
                        rejection.write(&mut out);
                        Err(super::rejected(rejection.status, &rejection.reason))
                    }
                },
            },
        };
        stream.write_all(&out).await?;
        stream.flush().await?;
        let (accepted, value) = result?;
        let conn = super::server_connection(&self.config, &self.handshake, &accepted);
        let protocol = accepted.protocol;
        let mut ws = WebSocket::from_parts(stream, conn, handshake.leftover());
        ws.set_high_water(self.high_water);
        ws.set_protocol(protocol);
        Ok((ws, value))
    }
}

/// Which half is waiting to write, for waking the other one.
#[derive(Clone, Copy)]
enum Half {
    Read = 0,
    Write = 1,
}

/// How far the transport's closing has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closing {
    /// Not closing.
    No,
    /// Writing out what is queued (our Close frame last).
    Flush,
    /// Half-closing the write side.
    Shutdown,
    /// Discarding input until the peer closes too (so unread input cannot make the kernel
    /// reset the connection before our frames arrive), bounded by the close timeout.
    Drain,
    /// Done: report the end.
    Done,
}

/// Everything about one WebSocket, shared by the halves after a split.
#[derive(Debug)]
struct Inner<S> {
    stream: S,
    driver: Driver,
    sleep: Option<Pin<Box<Sleep>>>,
    high_water: usize,
    closing: Closing,
    /// The protocol error to report once the transport is closed.
    error: Option<Error>,
    /// Wakers of halves whose write returned `Pending`: whoever makes progress wakes them.
    write_wakers: [Option<Waker>; 2],
    /// A large payload written from the application's buffer after its header, and how
    /// much of it is written.
    payload: Option<(Vec<u8>, usize)>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    /// The next message, or the end of the stream. All state lives in `self`, so dropping
    /// the future that polls this loses nothing (cancellation safety).
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            if self.closing != Closing::No {
                return self.poll_close_transport(cx);
            }
            match self.driver.decode() {
                Step::Message(message) => {
                    self.driver.queue_control();
                    if !self.driver.wbuf.is_empty() {
                        // Best effort: a pong must not wait for the application to send.
                        if let Poll::Ready(Err(e)) = self.poll_write_out(cx, Half::Read) {
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                    return Poll::Ready(Some(Ok(message)));
                }
                Step::Failed(e) => {
                    self.error = Some(Error::Protocol(e));
                    self.begin_close();
                    continue;
                }
                Step::NeedInput => {}
            }
            self.driver.queue_control();
            if !self.driver.wbuf.is_empty() {
                if let Poll::Ready(Err(e)) = self.poll_write_out(cx, Half::Read) {
                    return Poll::Ready(Some(Err(e)));
                }
            }
            if self.driver.conn.should_close_transport() {
                self.begin_close();
                continue;
            }
            if self.poll_timer(cx) {
                continue;
            }
            match ready!(self.poll_fill(cx)) {
                Ok(0) => {
                    self.driver.conn.receive_eof();
                    self.begin_close();
                }
                Ok(_) => {
                    if self.sleep.is_some() {
                        self.driver.tick();
                    }
                }
                Err(e) => return Poll::Ready(Some(Err(e.into()))),
            }
        }
    }

    /// Reads into the buffer. While the buffer is unallocated (an idle connection), reads
    /// into a stack array first, so that waiting costs no heap memory; once bytes flow,
    /// reads go straight into the (growing) buffer.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let stream = Pin::new(&mut self.stream);
        if !self.driver.rbuf.is_allocated() {
            let mut tmp = [MaybeUninit::<u8>::uninit(); 4096];
            let mut buf = ReadBuf::uninit(&mut tmp);
            match stream.poll_read(cx, &mut buf) {
                Poll::Pending => {
                    self.driver.release_idle();
                    Poll::Pending
                }
                Poll::Ready(Ok(())) => {
                    let filled = buf.filled();
                    let full = buf.remaining() == 0;
                    self.driver.rbuf.extend_after_read(filled, full);
                    Poll::Ready(Ok(filled.len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            }
        } else {
            let spare = self.driver.rbuf.spare();
            let mut buf = ReadBuf::new(spare);
            match stream.poll_read(cx, &mut buf) {
                Poll::Pending => {
                    // Nothing buffered and nothing to read: give the memory back.
                    if self.driver.rbuf.is_empty() {
                        self.driver.release_idle();
                    }
                    Poll::Pending
                }
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    self.driver.rbuf.filled(n);
                    Poll::Ready(Ok(n))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            }
        }
    }

    /// Runs the connection's deadlines on tokio's timer. Returns whether one fired.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.driver.deadline() else {
            self.sleep = None;
            return false;
        };
        let deadline = TokioInstant::from_std(deadline);
        let sleep = match &mut self.sleep {
            Some(sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            None => self.sleep.insert(Box::pin(sleep_until(deadline))),
        };
        if sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        if self.driver.tick() == Some(Timeout::Close) {
            self.error.get_or_insert(Error::AbnormalClosure);
        }
        true
    }

    fn begin_close(&mut self) {
        if self.closing == Closing::No {
            self.driver.queue_control();
            self.closing = Closing::Flush;
        }
    }

    /// Flushes, half-closes, drains, then reports the end (or the error that caused it).
    fn poll_close_transport(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        loop {
            match self.closing {
                Closing::No | Closing::Flush => {
                    if ready!(self.poll_write_out(cx, Half::Read)).is_err() {
                        self.closing = Closing::Done;
                        continue;
                    }
                    self.closing = Closing::Shutdown;
                }
                Closing::Shutdown => {
                    // An error here means the peer is gone already: nothing left to do.
                    let _ = ready!(Pin::new(&mut self.stream).poll_shutdown(cx));
                    self.closing = if self.driver.conn.role() == Role::Server
                        || !self.driver.conn.is_closed_cleanly()
                    {
                        Closing::Drain
                    } else {
                        Closing::Done
                    };
                    let linger = self
                        .driver
                        .conn
                        .config()
                        .close_timeout
                        .unwrap_or(Duration::from_secs(1));
                    self.sleep = Some(Box::pin(sleep_until(TokioInstant::now() + linger)));
                }
                Closing::Drain => {
                    if let Some(sleep) = &mut self.sleep {
                        if sleep.as_mut().poll(cx).is_ready() {
                            self.closing = Closing::Done;
                            continue;
                        }
                    }
                    let mut tmp = [MaybeUninit::<u8>::uninit(); 1024];
                    let mut buf = ReadBuf::uninit(&mut tmp);
                    match ready!(Pin::new(&mut self.stream).poll_read(cx, &mut buf)) {
                        Ok(()) if !buf.filled().is_empty() => {}
                        _ => self.closing = Closing::Done,
                    }
                }
                Closing::Done => {
                    self.sleep = None;
                    self.driver.release_idle();
                    if self.driver.finished {
                        return Poll::Ready(None);
                    }
                    self.driver.finished = true;
                    if let Some(e) = self.error.take() {
                        return Poll::Ready(Some(Err(e)));
                    }
                    return match self.driver.outcome() {
                        Ok(()) => Poll::Ready(None),
                        Err(e) => Poll::Ready(Some(Err(e))),
                    };
                }
            }
        }
    }

    /// Writes everything queued. `Ready(Ok)` once the buffer is empty.
    fn poll_write_out(&mut self, cx: &mut Context<'_>, half: Half) -> Poll<Result<(), Error>> {
        loop {
            let head = self.driver.wbuf.pending();
            let tail = self.payload.as_ref().map_or(&[][..], |(p, pos)| &p[*pos..]);
            if head.is_empty() && tail.is_empty() {
                if self.payload.take().is_some() {
                    // Frames held back behind the payload (pongs, a Close) may go now.
                    self.driver.payload_pending = false;
                    self.driver.queue_control();
                    continue;
                }
                return Poll::Ready(Ok(()));
            }
            let stream = Pin::new(&mut self.stream);
            let result = if head.is_empty() {
                stream.poll_write(cx, tail)
            } else if tail.is_empty() || !stream.is_write_vectored() {
                stream.poll_write(cx, head)
            } else {
                stream.poll_write_vectored(cx, &[IoSlice::new(head), IoSlice::new(tail)])
            };
            match result {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::from(ErrorKind::WriteZero).into()));
                }
                Poll::Ready(Ok(n)) => {
                    let from_head = n.min(head.len());
                    self.driver.wbuf.advance(from_head);
                    if let Some((_, pos)) = &mut self.payload {
                        *pos += n - from_head;
                    }
                    self.wake_writers();
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => {
                    self.write_wakers[half as usize] = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
    }

    /// Bytes queued and not yet written.
    fn buffered(&self) -> usize {
        self.driver.wbuf.len() + self.payload.as_ref().map_or(0, |(p, pos)| p.len() - pos)
    }

    /// Queues a message. A server sends a large payload straight from the message's own
    /// buffer after its header (a vectored write, no copy); everything else is encoded
    /// into the write buffer.
    fn encode(&mut self, message: Message) -> Result<(), Error> {
        if self.payload.is_some() {
            // Only after poll_ready, which waits for the previous payload to be written.
            return Err(Error::Usage(crate::UsageError::MessageInProgress));
        }
        let (kind, data) = match message {
            Message::Binary(data) => (MessageKind::Binary, data),
            Message::Text(text) => (MessageKind::Text, text.into_bytes()),
            other => return self.driver.encode(&other),
        };
        let conn = &mut self.driver.conn;
        if conn.role() == Role::Server
            && data.len() >= VECTORED_MIN
            && !conn.would_compress(data.len())
            && conn.config().fragment_size.is_none()
        {
            let header = conn.encode_header(kind, data.len() as u64, true)?;
            self.driver.wbuf.buf.extend_from_slice(header.as_bytes());
            self.payload = Some((data, 0));
            self.driver.payload_pending = true;
            return Ok(());
        }
        let out = &mut self.driver.wbuf.buf;
        conn.send_message(kind, &data, out)?;
        Ok(())
    }

    fn wake_writers(&mut self) {
        for waker in &mut self.write_wakers {
            if let Some(w) = waker.take() {
                w.wake();
            }
        }
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>, half: Half) -> Poll<Result<(), Error>> {
        if self.driver.finished || self.driver.conn.state() == crate::State::Closed {
            return Poll::Ready(Err(Error::Closed));
        }
        self.driver.queue_control();
        while self.driver.wbuf.len() >= self.high_water || self.payload.is_some() {
            ready!(self.poll_write_out(cx, half))?;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>, half: Half) -> Poll<Result<(), Error>> {
        self.driver.queue_control();
        ready!(self.poll_write_out(cx, half))?;
        Pin::new(&mut self.stream)
            .poll_flush(cx)
            .map_err(Error::from)
    }
}

/// A WebSocket over a tokio stream.
///
/// Receive with [`recv`](WebSocket::recv) (or as a [`Stream`]); send with
/// [`send`](WebSocket::send) (or as a [`Sink`]); close with [`close`](WebSocket::close).
#[derive(Debug)]
pub struct WebSocket<S> {
    inner: Inner<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wraps a stream whose handshake is done: `conn` is the connection and `leftover` the
    /// bytes that arrived after the HTTP head.
    pub fn from_parts(stream: S, conn: Connection, leftover: &[u8]) -> WebSocket<S> {
        WebSocket {
            inner: Inner {
                stream,
                driver: Driver::new(conn, leftover),
                sleep: None,
                high_water: DEFAULT_HIGH_WATER,
                closing: Closing::No,
                error: None,
                write_wakers: [None, None],
                payload: None,
            },
        }
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
        poll_fn(|cx| self.inner.poll_recv(cx)).await.transpose()
    }

    /// Sends a message, waiting while the high-water mark is exceeded and until it is
    /// written to the stream.
    ///
    /// Not cancellation safe in one direction: a `send` dropped after the message was
    /// queued still delivers it on the next send, flush or receive.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_ready(cx, Half::Write)).await?;
        self.inner.encode(message)?;
        poll_fn(|cx| self.inner.poll_flush(cx, Half::Write)).await
    }

    /// Queues a message without writing it, if the high-water mark allows (else waits).
    pub async fn feed(&mut self, message: Message) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_ready(cx, Half::Write)).await?;
        self.inner.encode(message)
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_flush(cx, Half::Write)).await
    }

    /// Closes the WebSocket: sends a Close frame with `code` and `reason`, then receives
    /// (discarding data messages) until the peer's Close arrives and the transport is
    /// closed, or the close timeout passes.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let close = Message::Close {
            code,
            reason: reason.to_string(),
        };
        match self.inner.encode(close) {
            Ok(()) | Err(Error::Usage(crate::UsageError::Closed)) => {}
            Err(e) => return Err(e),
        }
        self.flush().await?;
        while self.recv().await?.is_some() {}
        Ok(())
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.inner.driver.protocol.as_deref()
    }

    /// Records the subprotocol agreed in a handshake run outside this adapter.
    pub fn set_protocol(&mut self, protocol: Option<String>) {
        self.inner.driver.protocol = protocol;
    }

    /// Sets the high-water mark: sending waits while more bytes than this are queued.
    pub fn set_high_water(&mut self, bytes: usize) {
        self.inner.high_water = bytes.max(1);
    }

    /// The connection state machine, e.g. to read its state or close code.
    pub fn connection(&self) -> &Connection {
        &self.inner.driver.conn
    }

    /// Bytes queued and not yet written to the stream.
    pub fn buffered_amount(&self) -> usize {
        self.inner.buffered()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.inner.stream
    }

    /// Splits into a receiving and a sending half, usable from two tasks.
    pub fn split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        let shared = Arc::new(Mutex::new(self.inner));
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
        self.get_mut().inner.poll_recv(cx)
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
        let _ = inner
            .driver
            .conn
            .close(CloseCode::NORMAL, "", &mut inner.driver.wbuf.buf);
        inner.poll_flush(cx, Half::Write)
    }
}

fn lock<S>(shared: &Mutex<Inner<S>>) -> MutexGuard<'_, Inner<S>> {
    // The lock is only held inside synchronous poll functions; a panic there leaves the
    // state as consistent as any other return point, so poisoning is ignored.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The receiving half of a split [`WebSocket`]. It also writes pongs, Close replies and
/// keepalive pings, so they go out even when the write half is idle.
#[derive(Debug)]
pub struct ReadHalf<S> {
    shared: Arc<Mutex<Inner<S>>>,
}

/// The sending half of a split [`WebSocket`].
#[derive(Debug)]
pub struct WriteHalf<S> {
    shared: Arc<Mutex<Inner<S>>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ReadHalf<S> {
    /// Receives the next message; see [`WebSocket::recv`]. Cancellation safe.
    pub async fn recv(&mut self) -> Result<Option<Message>, Error> {
        poll_fn(|cx| lock(&self.shared).poll_recv(cx))
            .await
            .transpose()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for ReadHalf<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        lock(&self.shared).poll_recv(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteHalf<S> {
    /// Sends a message; see [`WebSocket::send`].
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_ready(cx, Half::Write)).await?;
        lock(&self.shared).encode(message)?;
        poll_fn(|cx| lock(&self.shared).poll_flush(cx, Half::Write)).await
    }

    /// Sends a Close frame and flushes; the read half completes the close handshake and
    /// then ends.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(Message::Close {
            code,
            reason: reason.to_string(),
        })
        .await
    }

    /// Bytes queued and not yet written to the stream.
    pub fn buffered_amount(&self) -> usize {
        lock(&self.shared).buffered()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WriteHalf<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_ready(cx, Half::Write)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        lock(&self.shared).encode(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_flush(cx, Half::Write)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut inner = lock(&self.shared);
        let inner = &mut *inner;
        let _ = inner
            .driver
            .conn
            .close(CloseCode::NORMAL, "", &mut inner.driver.wbuf.buf);
        inner.poll_flush(cx, Half::Write)
    }
}
