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
use std::net::TcpStream;
use std::string::{String, ToString};
use std::vec::Vec;

use super::driver::{Driver, Piece, Step};
use super::{Decision, Error, accept_all};
use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::Connection;
use crate::frame::Status;
use crate::handshake::{
    ClientHandshake, ClientRequest, HandshakeResponse, Request, ServerConfig, ServerHandshake,
};
use crate::message::Message;

/// Accepts a WebSocket on `stream` with the default policies and limits.
pub fn accept<S: Read + Write>(stream: S) -> Result<WebSocket<S>, Error> {
    Acceptor::default().accept(stream)
}

/// Connects to a `ws://` URL over TCP with the default limits. Returns the WebSocket and
/// what the server agreed to (subprotocol, extensions, headers).
pub fn connect(url: &str) -> Result<(WebSocket<TcpStream>, HandshakeResponse), Error> {
    connect_with(&ClientRequest::from_url(url)?, Config::default())
}

/// Connects over TCP for `request` (which carries origin, subprotocols, headers).
pub fn connect_with(
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<TcpStream>, HandshakeResponse), Error> {
    let stream = TcpStream::connect(super::tcp_target(request)?)?;
    stream.set_nodelay(true)?;
    client(stream, request, config)
}

/// Runs the client handshake over a stream the caller already has (e.g. a TLS stream).
pub fn client<S: Read + Write>(
    mut stream: S,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, HandshakeResponse), Error> {
    let mut out = Vec::new();
    let mut handshake = ClientHandshake::with_random_nonce(request, &mut out)?;
    stream.write_all(&out)?;
    stream.flush()?;
    let mut chunk = [0u8; 4096];
    let response = loop {
        let n = read_some(&mut stream, &mut chunk)?;
        if n == 0 {
            return Err(io::Error::from(ErrorKind::UnexpectedEof).into());
        }
        if let Status::Complete(response) = handshake.receive(&chunk[..n])? {
            break response;
        }
    };
    let conn = super::client_connection(config, request, &response);
    let mut ws = WebSocket::from_parts(stream, conn, handshake.leftover());
    ws.set_protocol(response.protocol.clone());
    Ok((ws, response))
}

/// Accepts WebSockets with a handshake policy and connection limits, shareable across
/// threads.
#[derive(Clone, Debug, Default)]
pub struct Acceptor {
    handshake: ServerConfig,
    config: Config,
}

impl Acceptor {
    /// An acceptor with these policies and limits.
    pub fn new(handshake: ServerConfig, config: Config) -> Acceptor {
        Acceptor { handshake, config }
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
        let mut handshake = ServerHandshake::new(&self.handshake);
        let mut chunk = [0u8; 4096];
        loop {
            let n = read_some(&mut stream, &mut chunk)?;
            if n == 0 {
                return Err(io::Error::from(ErrorKind::UnexpectedEof).into());
            }
            match handshake.receive(&chunk[..n]) {
                Ok(Status::Partial) => {}
                Ok(Status::Complete(())) => break,
                Err(e) => {
                    let mut out = Vec::new();
                    e.write_response(&mut out);
                    let _ = stream.write_all(&out).and_then(|()| stream.flush());
                    return Err(e.into());
                }
            }
        }
        let request = handshake.request().expect("complete");
        let mut out = Vec::new();
        let (accepted, value) = match super::answer(&self.handshake, &request, decide, &mut out) {
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
        let conn = super::server_connection(&self.config, &self.handshake, &accepted);
        let protocol = accepted.protocol;
        let mut ws = WebSocket::from_parts(stream, conn, handshake.leftover());
        ws.set_protocol(protocol);
        Ok((ws, value))
    }
}

fn read_some<S: Read>(stream: &mut S, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// A piece of a message from [`WebSocket::read_chunk`].
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Part of a text message; the last part has `fin` set.
    Text {
        /// The bytes (the whole message is UTF-8; a part may split a sequence).
        data: &'a [u8],
        /// This is the message's last part.
        fin: bool,
    },
    /// Part of a binary message; the last part has `fin` set.
    Binary {
        /// The bytes.
        data: &'a [u8],
        /// This is the message's last part.
        fin: bool,
    },
    /// A ping, pong, or the peer's Close.
    Control(Message),
}

/// A WebSocket over a blocking or non-blocking `Read + Write` stream.
///
/// Pings are answered, and the close handshake is completed, while reading: keep calling
/// [`read`](WebSocket::read) until it returns `Ok(None)`.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    driver: Driver,
}

impl<S: Read + Write> WebSocket<S> {
    /// Wraps a stream whose handshake is done: `conn` is the connection and `leftover` the
    /// bytes that arrived after the HTTP head.
    pub fn from_parts(stream: S, conn: Connection, leftover: &[u8]) -> WebSocket<S> {
        WebSocket {
            stream,
            driver: Driver::new(conn, leftover),
        }
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
    /// timeout leave the WebSocket resumable.
    pub fn read(&mut self) -> Result<Option<Message>, Error> {
        loop {
            if self.driver.finished {
                return Ok(None);
            }
            match self.driver.decode() {
                Step::Message(message) => {
                    self.driver.queue_control();
                    self.try_flush()?;
                    return Ok(Some(message));
                }
                Step::Failed(e) => return Err(self.fail(e)),
                Step::NeedInput => {}
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
            match self.driver.decode_piece() {
                Piece::Data {
                    kind,
                    start,
                    len,
                    fin,
                    inflated,
                } => {
                    self.driver.queue_control();
                    self.try_flush()?;
                    let data = self.driver.piece_data(start, len, inflated);
                    return Ok(Some(match kind {
                        crate::MessageKind::Text => Chunk::Text { data, fin },
                        crate::MessageKind::Binary => Chunk::Binary { data, fin },
                    }));
                }
                Piece::Control(message) => {
                    self.driver.queue_control();
                    self.try_flush()?;
                    return Ok(Some(Chunk::Control(message)));
                }
                Piece::Failed(e) => return Err(self.fail(e)),
                Piece::NeedInput => {}
            }
            if !self.read_input()? {
                return self.driver.outcome().map(|()| None);
            }
        }
    }

    /// The peer broke the protocol: send our Close and end the stream.
    fn fail(&mut self, error: crate::ProtocolError) -> Error {
        self.driver.queue_control();
        let _ = self.try_flush();
        self.driver.finished = true;
        Error::Protocol(error)
    }

    /// Flushes what the connection queued and reads more input. Returns `false` at the
    /// end of the stream (the transport ended, or should now be closed).
    fn read_input(&mut self) -> Result<bool, Error> {
        self.driver.queue_control();
        self.try_flush()?;
        if self.driver.conn.should_close_transport() && self.driver.wbuf.is_empty() {
            self.driver.finished = true;
            return Ok(false);
        }
        loop {
            let spare = self.driver.rbuf.spare();
            match self.stream.read(spare) {
                Ok(0) => {
                    self.driver.conn.receive_eof();
                    self.driver.finished = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.driver.rbuf.filled(n);
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
    /// was queued), or an I/O error from writing. A `WouldBlock` means the message is
    /// queued: [`flush`](WebSocket::flush) when the stream is writable.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.write(message)?;
        self.flush()
    }

    /// Queues `message` without writing it.
    pub fn write(&mut self, message: Message) -> Result<(), Error> {
        self.driver.encode(&message)
    }

    /// Writes everything queued and flushes the stream.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.driver.queue_control();
        while !self.driver.wbuf.is_empty() {
            match self.stream.write(self.driver.wbuf.pending()) {
                Ok(0) => return Err(io::Error::from(ErrorKind::WriteZero).into()),
                Ok(n) => self.driver.wbuf.advance(n),
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
        self.send(Message::Close {
            code,
            reason: reason.to_string(),
        })
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.driver.protocol.as_deref()
    }

    /// Records the subprotocol agreed in a handshake run outside this adapter.
    pub fn set_protocol(&mut self, protocol: Option<String>) {
        self.driver.protocol = protocol;
    }

    /// Whether queued bytes wait for the stream to become writable.
    pub fn wants_write(&self) -> bool {
        !self.driver.wbuf.is_empty()
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

    /// The underlying stream.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl WebSocket<TcpStream> {
    /// Closes the TCP connection gracefully after the WebSocket ended: half-closes the
    /// write side so the peer sees end of input, then discards anything still arriving
    /// until the peer closes too (at most `linger`), so that unread input cannot make the
    /// kernel reset the connection before our last frames are delivered.
    pub fn shutdown(self, linger: std::time::Duration) -> io::Result<()> {
        let mut stream = self.stream;
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
}

impl<S: Read + Write> WebSocket<S> {
    /// Writes a large binary or text payload from the caller's buffer without copying it
    /// (a vectored write of header and payload). Servers only: a client must mask, which
    /// means copying. Falls back to [`send`](WebSocket::send) semantics otherwise.
    pub fn send_binary_vectored(&mut self, payload: &[u8]) -> Result<(), Error> {
        if !self.driver.is_server() {
            return self.send(Message::Binary(payload.to_vec()));
        }
        self.flush()?;
        let header = self.driver.conn.encode_header(
            crate::MessageKind::Binary,
            payload.len() as u64,
            true,
        )?;
        let head = header.as_bytes();
        let total = head.len() + payload.len();
        let mut written = 0;
        while written < total {
            let result = if written < head.len() {
                self.stream
                    .write_vectored(&[IoSlice::new(&head[written..]), IoSlice::new(payload)])
            } else {
                self.stream.write(&payload[written - head.len()..])
            };
            match result {
                Ok(0) => return Err(io::Error::from(ErrorKind::WriteZero).into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    // Keep the rest so that nothing is lost: queue it for flush().
                    if written < head.len() {
                        self.driver.wbuf.buf.extend_from_slice(&head[written..]);
                        self.driver.wbuf.buf.extend_from_slice(payload);
                    } else {
                        self.driver
                            .wbuf
                            .buf
                            .extend_from_slice(&payload[written - head.len()..]);
                    }
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.stream.flush()?;
        Ok(())
    }
}
