//! WebSocket clients over HTTP/2 (RFC 8441; feature `h2`): any number of WebSockets, each
//! on its own stream of one `h2` connection, next to ordinary requests.
//!
//! Open the HTTP/2 connection with `h2` (over TCP with prior knowledge, or over TLS with
//! ALPN `h2`), drive it in a task, and call [`connect`] with its `SendRequest` for each
//! WebSocket.
//!
//! Flow control is HTTP/2's: a WebSocket's received bytes are released as it reads them,
//! and the connection's receive window is shared by all its streams. With `h2`'s default
//! windows (64 KiB, for the stream and for the whole connection) one WebSocket that is not
//! read can stall the others: give the connection windows as large as the traffic you
//! expect to sit unread, as browsers do (several MiB), with
//! `h2::client::Builder::initial_window_size` and `initial_connection_window_size`.
//!
//! ```no_run
//! use rfc6455::handshake::ClientRequest;
//! use rfc6455::{Config, Message};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let tcp = tokio::net::TcpStream::connect("127.0.0.1:8080").await?;
//! let (sender, connection) = h2::client::Builder::new()
//!     .initial_window_size(1 << 20)
//!     .initial_connection_window_size(8 << 20)
//!     .handshake(tcp)
//!     .await?;
//! tokio::spawn(connection); // the connection runs on its own
//! let request = ClientRequest::from_url("ws://127.0.0.1:8080/echo")?;
//! let mut sockets = Vec::new();
//! for _ in 0..10 {
//!     let (ws, _response) = rfc6455::io::h2::connect(&sender, &request, Config::default()).await?;
//!     sockets.push(ws);
//! }
//! sockets[0].send(Message::text("over HTTP/2")).await?;
//! # Ok(())
//! # }
//! ```

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes};
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::Error;
use super::tokio::{WebSocket, within};
use crate::config::Config;
use crate::handshake::{ClientRequest, HandshakeError, HandshakeResponse};

/// Opens a WebSocket on a new stream of the HTTP/2 connection behind `sender`: an extended
/// CONNECT with `:protocol` `websocket` (RFC 8441 §4–5), answered `200`.
///
/// RFC 8441 §3: a client "MUST NOT send a CONNECT request with the :protocol pseudo-header
/// field" unless the server sent `SETTINGS_ENABLE_CONNECT_PROTOCOL` = 1. The server's
/// SETTINGS arrive just after the connection opens, so this waits for them (within the
/// request's handshake timeout, like the rest of the handshake).
///
/// # Errors
///
/// [`HandshakeError::ExtendedConnectDisabled`] when the server's SETTINGS do not enable the
/// extended CONNECT protocol; [`HandshakeError::Rejected`] for a status other than `200`;
/// the other handshake errors when the answer breaks the RFC; `Io` (kind `TimedOut`) past
/// the handshake timeout.
pub async fn connect(
    sender: &SendRequest<Bytes>,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<H2Stream>, HandshakeResponse), Error> {
    within(request.handshake_timeout, async {
        let mut sender = sender.clone().ready().await.map_err(h2_error)?;
        wait_for_settings(&sender).await?;
        let (mut http_request, handshake) = request.to_extended_connect(http::Version::HTTP_2)?;
        http_request
            .extensions_mut()
            .insert(h2::ext::Protocol::from_static("websocket"));
        let (response, mut send) = sender.send_request(http_request, false).map_err(h2_error)?;
        let response = response.await.map_err(h2_error)?;
        let (parts, recv) = response.into_parts();
        let agreed = match handshake.check_response(&parts) {
            Ok(agreed) => agreed,
            Err(e) => {
                send.send_reset(h2::Reason::CANCEL);
                return Err(e.into());
            }
        };
        let (conn, _) = agreed.clone().into_connection(config);
        let stream = H2Stream {
            send,
            recv,
            pending: Bytes::new(),
            shut: false,
        };
        Ok((WebSocket::from_parts(stream, conn, &[]), agreed))
    })
    .await
}

/// Waits until the server's SETTINGS enabled the extended CONNECT protocol: `h2` has no
/// event for it, so the flag is checked with a growing pause (1 ms to 100 ms), and the
/// absence of the setting is final once a second has passed.
async fn wait_for_settings(sender: &SendRequest<Bytes>) -> Result<(), Error> {
    let mut pause = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    while !sender.is_extended_connect_protocol_enabled() {
        if waited >= Duration::from_secs(1) {
            return Err(HandshakeError::ExtendedConnectDisabled.into());
        }
        tokio::time::sleep(pause).await;
        waited += pause;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
    Ok(())
}

fn h2_error(e: h2::Error) -> Error {
    Error::Io(io_error(e))
}

fn io_error(e: h2::Error) -> io::Error {
    if e.is_io() {
        return e
            .into_io()
            .unwrap_or_else(|| io::Error::other("h2 I/O error"));
    }
    let kind = match e.reason() {
        Some(h2::Reason::NO_ERROR | h2::Reason::CANCEL) => io::ErrorKind::ConnectionReset,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

/// One HTTP/2 stream as a byte stream: DATA frames in, DATA frames out, with the stream's
/// flow control (received bytes are released as the WebSocket consumes them; writes
/// wait for the peer's window).
#[derive(Debug)]
pub struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// The rest of the latest DATA frame.
    pending: Bytes,
    shut: bool,
}

impl AsyncRead for H2Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.pending.is_empty() {
            match ready!(this.recv.poll_data(cx)) {
                Some(Ok(data)) => this.pending = data,
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
                // END_STREAM: the end of the WebSocket's transport.
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = this.pending.len().min(buf.remaining());
        buf.put_slice(&this.pending[..n]);
        this.pending.advance(n);
        // The bytes are consumed: the peer may send as many more.
        let _ = this.recv.flow_control().release_capacity(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        this.send.reserve_capacity(buf.len());
        while this.send.capacity() == 0 {
            match ready!(this.send.poll_capacity(cx)) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
                None => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            }
        }
        let n = this.send.capacity().min(buf.len());
        this.send
            .send_data(Bytes::copy_from_slice(&buf[..n]), false)
            .map_err(io_error)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The connection's task writes frames as they are queued.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.shut {
            this.shut = true;
            // An empty DATA frame with END_STREAM: the TCP FIN of RFC 6455 §7.1.1.
            this.send.send_data(Bytes::new(), true).map_err(io_error)?;
        }
        Poll::Ready(Ok(()))
    }
}
