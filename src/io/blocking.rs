//! The blocking adapter: a WebSocket over any `Read + Write` stream — a `TcpStream`, a TLS
//! stream, a Unix socket — in blocking or non-blocking mode.
//!
//! ```no_run
//! use rfc6455::io::blocking;
//! use rfc6455::Message;
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
//! for stream in listener.incoming() {
//!     std::thread::spawn(move || -> Result<(), rfc6455::io::Error> {
//!         let mut ws = blocking::accept(stream?)?;
//!         while let Some(message) = ws.read()? {
//!             if message.is_data() {
//!                 ws.send(message)?;
//!             }
//!         }
//!         Ok(())
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Non-blocking streams
//!
//! Every method that returns [`Error::Io`] with `WouldBlock` leaves the WebSocket intact
//! and resumable: no received byte is lost and no queued byte is written twice. Call the
//! same method again when the stream is ready — [`read`](WebSocket::read) on readability,
//! [`flush`](WebSocket::flush) on writability while [`wants_write`](WebSocket::wants_write)
//! is true. A [`send`](WebSocket::send) that reports `WouldBlock` has queued its message:
//! do not send it again, just flush later. The handshake functions need the stream in
//! blocking mode; switch to non-blocking afterwards (or run the sans-IO
//! [`handshake`](crate::handshake) yourself and use [`WebSocket::from_parts`]).

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::buffer::MAX_SLICES;
use super::driver::Driver;
use super::{DEFAULT_HANDSHAKE_TIMEOUT, Decision, Error, accept_all, handshake};
use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::Connection;
use crate::handshake::{
    ClientHandshake, ClientRequest, HandshakeResponse, Request, ServerConfig, ServerHandshake,
};
use crate::message::Message;

mod stream;

pub use stream::MaybeTlsStream;

/// Accepts a WebSocket on `stream` with the default policies and limits.
pub fn accept<S: Read + Write>(stream: S) -> Result<WebSocket<S>, Error> {
    Acceptor::default().accept(stream)
}

/// Connects to a `ws://` or `wss://` URL with the default limits, through the
/// environment's proxy if it names one (see [`Connector`](crate::io::Connector)). Returns
/// the WebSocket and what the server agreed to (subprotocol, extensions, headers).
/// `wss://` needs the feature `rustls`.
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, HandshakeResponse), Error> {
    connect_with(&ClientRequest::from_url(url)?, Config::default())
}

/// Connects for `request` (which carries origin, subprotocols, headers) with the default
/// [`Connector`](crate::io::Connector): the environment's proxy, the default TLS roots.
/// The connection, the proxy's tunnel, the TLS handshake and the WebSocket handshake
/// take at most the request's [`handshake_timeout`](ClientRequest::handshake_timeout)
/// (default 10 s) together: each read is bounded by a socket timeout of what is left.
pub fn connect_with(
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<MaybeTlsStream>, HandshakeResponse), Error> {
    connect_with_connector(request, config, &crate::io::Connector::default())
}

/// [`connect_with`] with the proxy and the TLS configuration of `connector`.
pub fn connect_with_connector(
    request: &ClientRequest,
    config: Config,
    connector: &crate::io::Connector,
) -> Result<(WebSocket<MaybeTlsStream>, HandshakeResponse), Error> {
    let deadline = request.handshake_timeout.map(|t| Instant::now() + t);
    let stream = stream::open(connector, request, deadline)?;
    let (ws, response) = client_until(stream, request, config, deadline)?;
    ws.get_ref().get_ref().set_read_timeout(None)?;
    ws.get_ref().get_ref().set_write_timeout(None)?;
    Ok((ws, response))
}

/// `TcpStream::connect_timeout` over every address `host` resolves to.
fn connect_timeout(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(ErrorKind::NotFound, "no address for host");
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Runs the client handshake over a stream the caller already has (e.g. a TLS stream).
///
/// The request's [`handshake_timeout`](ClientRequest::handshake_timeout) is checked
/// after every read; give the stream a read timeout too, so that a server that sends
/// nothing at all cannot block a read forever.
pub fn client<S: Read + Write>(
    stream: S,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, HandshakeResponse), Error> {
    let deadline = request.handshake_timeout.map(|t| Instant::now() + t);
    client_until(stream, request, config, deadline)
}

fn client_until<S: Read + Write>(
    mut stream: S,
    request: &ClientRequest,
    config: Config,
    deadline: Option<Instant>,
) -> Result<(WebSocket<S>, HandshakeResponse), Error> {
    let mut out = Vec::new();
    let mut handshake = ClientHandshake::with_random_nonce(request, &mut out)?;
    stream.write_all(&out)?;
    stream.flush()?;
    let response = handshake::read_blocking(&mut stream, &mut handshake, deadline)??;
    let (conn, leftover) = response.clone().into_connection(config);
    Ok((WebSocket::from_parts(stream, conn, &leftover), response))
}

/// Accepts WebSockets with a handshake policy, connection limits and a handshake
/// deadline, shareable across threads.
#[derive(Clone, Debug)]
pub struct Acceptor {
    handshake: ServerConfig,
    config: Config,
    handshake_timeout: Option<Duration>,
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
            handshake,
            config,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
        }
    }

    /// Limits how long the client may take to send its request (default 10 s), against
    /// slow-loris clients: checked after every read, so a client trickling bytes is
    /// dropped at the deadline. A client that sends nothing blocks a read until the
    /// stream's own read timeout: set one (`TcpStream::set_read_timeout`) before accepting.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Acceptor {
        self.handshake_timeout = timeout;
        self
    }

    /// Accepts with the configured policies.
    pub fn accept<S: Read + Write>(&self, stream: S) -> Result<WebSocket<S>, Error> {
        self.accept_with(stream, accept_all).map(|(ws, ())| ws)
    }

    /// Accepts after asking `decide`, which sees the parsed request (path, query, headers,
    /// origin, offered subprotocols) and either accepts — possibly choosing a subprotocol
    /// and extra response headers — returning whatever it extracted from the request (a
    /// user id, a room name), or rejects with an HTTP status.
    ///
    /// Requests that break RFC 6455 §4.2.1 or the origin policy are answered with 400, 403
    /// or 426 before `decide` is asked.
    pub fn accept_with<S, T, F>(&self, mut stream: S, decide: F) -> Result<(WebSocket<S>, T), Error>
    where
        S: Read + Write,
        F: FnOnce(&Request<'_>) -> Decision<T>,
    {
        let deadline = self.handshake_timeout.map(|t| Instant::now() + t);
        let mut handshake = ServerHandshake::new(&self.handshake);
        let mut out = Vec::new();
        let answered = match handshake::read_blocking(&mut stream, &mut handshake, deadline)? {
            Err(e) => {
                e.write_response(&mut out);
                Err(e.into())
            }
            Ok(()) => match handshake.request() {
                Some(request) => super::answer(&self.handshake, &request, decide, &mut out),
                None => unreachable!("a complete handshake has a request"),
            },
        };
        let (accepted, value) = match answered {
            Ok(answered) => {
                stream.write_all(&out)?;
                stream.flush()?;
                answered
            }
            Err(e) => {
                // The refusal is sent best effort: the reason to report is the refusal.
                let _ = stream.write_all(&out).and_then(|()| stream.flush());
                return Err(e);
            }
        };
        let (conn, leftover) = accepted.into_connection(self.config.clone());
        let ws = WebSocket::from_parts(stream, conn, &leftover);
        Ok((ws, value))
    }
}

pub use crate::reader::Chunk;

/// A WebSocket over a blocking or non-blocking `Read + Write` stream.
///
/// Pings are answered, and the close handshake is completed, while reading: keep calling
/// [`read`](WebSocket::read) until it returns `Ok(None)`.
///
/// # Memory
///
/// Received messages are split off the read buffer without copying. Whenever the read
/// buffer is empty, it is released before the next read, which goes into a small stack
/// buffer: an idle connection, blocked in `read`, holds no buffer memory. Bytes queued for
/// writing are bounded by the high-water mark
/// ([`DEFAULT_HIGH_WATER`](crate::io::DEFAULT_HIGH_WATER)): past it, reading stops until
/// the queue is written (a blocking stream simply blocks), automatic pongs wait in the
/// connection (the latest 16 are kept), and [`write`](WebSocket::write) refuses more
/// ([`Error::BufferFull`]).
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    driver: Driver,
}

/// The size of the stack buffer that reads go into while the read buffer is released.
const STACK_READ: usize = 4096;

impl<S: Read + Write> WebSocket<S> {
    /// Wraps a stream whose handshake is done: `conn` is the connection and `leftover` the
    /// bytes that arrived after the HTTP head.
    pub fn from_parts(stream: S, conn: Connection, leftover: &[u8]) -> WebSocket<S> {
        WebSocket {
            stream,
            driver: Driver::new(conn, leftover),
        }
    }

    /// Wraps a stream whose opening handshake happened elsewhere (another HTTP server, a
    /// proxy), as `role`, with no extension and nothing buffered. With a negotiated
    /// extension or bytes read past the handshake, build the connection with
    /// [`Accepted::into_connection`](crate::handshake::Accepted::into_connection) and use
    /// [`from_parts`](WebSocket::from_parts).
    #[cfg(feature = "std")]
    pub fn from_upgraded(stream: S, role: crate::Role, config: Config) -> WebSocket<S> {
        WebSocket::from_parts(stream, Connection::new(role, config), &[])
    }

    /// Reads the next whole message: text, binary, a ping, a pong, or the peer's Close.
    ///
    /// Returns `Ok(None)` once the connection is closed — after a clean close handshake
    /// (the transport may then be dropped). Until then it answers pings and the peer's
    /// Close on its own.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] when the peer broke the protocol (our Close was sent),
    /// [`Error::AbnormalClosure`] when the transport ended without a close handshake, and
    /// [`Error::Io`] — `WouldBlock`/`TimedOut` from a non-blocking stream or one with a read
    /// timeout leave the WebSocket resumable. A write that fails while answering (a pong)
    /// is reported once every message already received has been delivered: nothing
    /// accepted from the peer is lost.
    pub fn read(&mut self) -> Result<Option<Message>, Error> {
        loop {
            if self.driver.finished {
                return Ok(None);
            }
            match self.driver.decode() {
                Ok(Some(message)) => {
                    self.answer_after_read();
                    return Ok(Some(message));
                }
                Err(e) => return Err(self.fail(e)),
                Ok(None) => {}
            }
            // Everything received is delivered: now a failed write may be reported.
            if let Some(e) = self.driver.deferred.take() {
                return Err(e);
            }
            if !self.read_input()? {
                return self.driver.outcome().map(|()| None);
            }
        }
    }

    /// Reads the next piece of a message as it arrives, without assembling the message:
    /// a streaming read for messages too large to hold. Data is borrowed from the read
    /// buffer (no copy); control frames come whole. A message's pieces end with one whose
    /// `fin` is set; text pieces may split UTF-8 sequences but were validated.
    ///
    /// Finish a message with `read_chunk` before going back to [`read`](WebSocket::read).
    /// Returns `Ok(None)` at the end of the stream, like `read`.
    pub fn read_chunk(&mut self) -> Result<Option<Chunk<'_>>, Error> {
        loop {
            if self.driver.finished {
                return Ok(None);
            }
            // Whether a piece is ready, without keeping the borrow (the answer to a ping
            // is written before the piece is handed out).
            match self.driver.reader.next_chunk(&mut self.driver.conn) {
                Ok(true) => {
                    self.answer_after_read();
                    return Ok(self.driver.reader.lent_chunk());
                }
                Ok(false) => {}
                Err(e) => return Err(self.fail(e)),
            }
            if let Some(e) = self.driver.deferred.take() {
                return Err(e);
            }
            if !self.read_input()? {
                return self.driver.outcome().map(|()| None);
            }
        }
    }

    /// After input produced something for the application: send what the connection
    /// queued (a pong), best effort. A write error is kept for the next call, so the
    /// message that was read is not lost.
    fn answer_after_read(&mut self) {
        self.driver.queue_control();
        if let Err(e) = self.try_flush() {
            self.driver.deferred.get_or_insert(e);
        }
    }

    /// The peer broke the protocol: send our Close and end the stream.
    fn fail(&mut self, error: crate::ProtocolError) -> Error {
        self.driver.queue_control();
        let _ = self.try_flush();
        self.driver.finished = true;
        error.into()
    }

    /// Flushes what the connection queued and reads more input. Returns `false` at the
    /// end of the stream (the transport ended, or should now be closed).
    fn read_input(&mut self) -> Result<bool, Error> {
        self.driver.queue_control();
        self.try_flush()?;
        if self.driver.write_blocked() {
            // The peer does not read what we send: stop reading it (TCP pushes back)
            // until the queue drains. Blocks, or `WouldBlock` for a non-blocking stream.
            self.flush()?;
        }
        if self.driver.conn.poll_close_transport() && self.driver.writer.is_empty() {
            self.driver.finished = true;
            return Ok(false);
        }
        loop {
            let result =
                if self.driver.reader.buffered() == 0 || self.driver.reader.prefers_small_read() {
                    // Little or nothing buffered: release what is empty and read into the
                    // stack, so that a connection blocked here (idle, or stalled after a frame
                    // header) holds no more than the bytes it received.
                    self.driver.release_idle();
                    let mut chunk = [0u8; STACK_READ];
                    self.stream.read(&mut chunk).inspect(|&n| {
                        self.driver
                            .reader
                            .extend_from_read(&chunk[..n], n == STACK_READ)
                    })
                } else {
                    let stream = &mut self.stream;
                    self.driver.reader.read_with(|buf| stream.read(buf))
                };
            match result {
                Ok(0) => {
                    self.driver.conn.receive_eof();
                    self.driver.finished = true;
                    return Ok(false);
                }
                Ok(_) => {
                    self.driver.tick();
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if self.driver.tick() == Some(crate::Timeout::Close) {
                        self.driver.finished = true;
                        return Err(Error::AbnormalClosure);
                    }
                    self.try_flush()?;
                    self.driver.release_idle();
                    return Err(Error::Io(e));
                }
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }

    /// Queues `message` and writes everything queued.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] if the message cannot be sent now (e.g. after our Close; nothing
    /// was queued), [`Error::BufferFull`] (see [`write`](WebSocket::write)), or an I/O
    /// error from writing. A `WouldBlock` means the message is queued:
    /// [`flush`](WebSocket::flush) when the stream is writable.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.write(message)?;
        self.flush()
    }

    /// Queues `message` without writing it.
    ///
    /// # Errors
    ///
    /// [`Error::BufferFull`], carrying the message back, when more than the high-water
    /// mark is queued and could not be written (a non-blocking stream that is not
    /// writable): flush when the stream is writable, then try again.
    pub fn write(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        if self.driver.write_blocked() {
            match self.flush() {
                Err(e) if e.is_would_block() => {
                    return Err(Error::BufferFull(Some(std::boxed::Box::new(message))));
                }
                other => other?,
            }
        }
        self.driver.encode(message)
    }

    /// Queues a message prepared once for many connections (see
    /// [`PreparedMessage`](crate::PreparedMessage)) and writes everything queued. A server
    /// sends the shared frame: no encoding and, for large messages, no copy.
    ///
    /// # Errors
    ///
    /// As [`send`](WebSocket::send); [`Error::BufferFull`] carries nothing back (the
    /// prepared message is still yours).
    pub fn send_prepared(&mut self, message: &crate::PreparedMessage) -> Result<(), Error> {
        if self.driver.write_blocked() {
            match self.flush() {
                Err(e) if e.is_would_block() => return Err(Error::BufferFull(None)),
                other => other?,
            }
        }
        self.driver.encode_prepared(message)?;
        self.flush()
    }

    /// Writes everything queued and flushes the stream.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.driver.queue_control();
        while !self.driver.writer.is_empty() {
            let written = if self.driver.writer.is_contiguous() {
                self.stream.write(self.driver.writer.front())
            } else if let Some(pair) = self.driver.writer.pair() {
                self.stream.write_vectored(&pair)
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let n = self.driver.writer.slices(&mut slices);
                self.stream.write_vectored(&slices[..n])
            };
            match written {
                Ok(0) => return Err(io::Error::from(ErrorKind::WriteZero).into()),
                Ok(n) => self.driver.writer.advance(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.stream.flush()?;
        Ok(())
    }

    /// Writes what is queued, treating `WouldBlock` as "later" rather than as an error.
    fn try_flush(&mut self) -> Result<(), Error> {
        match self.flush() {
            Err(e) if e.is_would_block() => Ok(()),
            other => other,
        }
    }

    /// Sends a Close frame with `code` and `reason`. Keep calling
    /// [`read`](WebSocket::read) until it returns `Ok(None)` to complete the handshake.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(Message::close(code, reason))
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.driver.conn.protocol()
    }

    /// Records the subprotocol agreed in a handshake run outside this adapter.
    pub fn set_protocol(&mut self, protocol: Option<&str>) {
        self.driver.conn.set_protocol(protocol);
    }

    /// Sets the high-water mark (default
    /// [`DEFAULT_HIGH_WATER`](crate::io::DEFAULT_HIGH_WATER)).
    pub fn set_high_water(&mut self, bytes: usize) {
        self.driver.high_water = bytes.max(1);
    }

    /// Whether queued bytes wait for the stream to become writable.
    pub fn wants_write(&self) -> bool {
        !self.driver.writer.is_empty()
    }

    /// Bytes queued and not yet written to the stream.
    pub fn buffered_amount(&self) -> usize {
        self.driver.writer.len()
    }

    /// The memory held in buffers (read buffer, message being assembled, write queue), in
    /// bytes of capacity: what the adapter costs this connection beyond its fixed size.
    pub fn buffer_capacity(&self) -> usize {
        self.driver.buffer_capacity()
    }

    /// The connection state machine, e.g. to read its state or close code.
    pub fn connection(&self) -> &Connection {
        &self.driver.conn
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream, mutably (reading or writing it directly corrupts the
    /// WebSocket).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The underlying stream. Bytes received but not processed, and bytes queued but not
    /// written, are dropped: use [`into_parts`](WebSocket::into_parts) to keep them.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// The stream and everything buffered: bytes received and not processed, bytes queued
    /// and not written, and the connection.
    pub fn into_parts(mut self) -> super::Parts<S> {
        let write_buf = self.driver.writer.take_all();
        super::Parts {
            stream: self.stream,
            read_buf: self.driver.reader.into_unread(),
            write_buf,
            connection: self.driver.conn,
        }
    }
}

impl WebSocket<TcpStream> {
    /// Closes the TCP connection gracefully after the WebSocket ended: half-closes the
    /// write side so the peer sees end of input, then discards anything still arriving
    /// until the peer closes too (at most `linger`), so that unread input cannot make the
    /// kernel reset the connection before our last frames are delivered.
    pub fn shutdown(self, linger: std::time::Duration) -> io::Result<()> {
        shutdown_tcp(self.stream, linger)
    }
}

impl WebSocket<MaybeTlsStream> {
    /// Closes the TCP connection gracefully after the WebSocket ended, like the
    /// `shutdown` of a `WebSocket<TcpStream>`, after TLS's close_notify for `wss://`.
    pub fn shutdown(self, linger: std::time::Duration) -> io::Result<()> {
        shutdown_tcp(self.stream.into_tcp(), linger)
    }
}

/// Half-closes, then drains until the peer closes too (at most `linger`).
fn shutdown_tcp(mut stream: TcpStream, linger: std::time::Duration) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.shutdown(std::net::Shutdown::Write)?;
    stream.set_read_timeout(Some(linger))?;
    let mut sink = [0u8; 1024];
    let deadline = std::time::Instant::now() + linger;
    while std::time::Instant::now() < deadline {
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Ok(())
}

impl<S: Read + Write> WebSocket<S> {
    /// Sends a binary message from a shared buffer. A server writes a large payload
    /// straight from it after its header (a vectored write, no copy); this is what
    /// [`send`](WebSocket::send) does with any `Bytes` payload.
    pub fn send_binary_vectored(&mut self, payload: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.send(Message::Binary(payload.into()))
    }
}
