//! The application's end of a SockJS connection, whatever carries it.

// The crate is `no_std`: std's prelude is imported by hand.
use std::boxed::Box;

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_sink::Sink;
use http::{HeaderMap, Uri};
use rfc6455::io::hyper::HyperWebSocket;
use rfc6455::io::tokio::WebSocket;
use rfc6455::{CloseCode, Message, Utf8Bytes};
use tokio::io::DuplexStream;

use super::cell::Cell;
use crate::session::{CloseCause, SendError};

/// A SockJS connection as the application sees it: messages in, messages out, close — the
/// shape of rfc6455's tokio `WebSocket`, whichever transport carries it (a WebSocket, XHR
/// streaming or polling, EventSource, htmlfile, JSONP, or a raw WebSocket at
/// `{base}/websocket`).
///
/// - [`recv`](Socket::recv) gives the client's messages as [`Message::Text`] (a raw
///   WebSocket may also give [`Message::Binary`]), then `Ok(None)` once the connection is
///   closed — by the client leaving (after the disconnect delay for HTTP transports), by
///   [`close`](Socket::close), or by a broken payload.
/// - [`send`](Socket::send) queues a text message; it waits while the session's outgoing
///   queue is full (a client that does not poll pushes back), and fails once the session is
///   closed.
/// - [`close`](Socket::close) sends `c[code,"reason"]` (or a Close frame on a raw
///   WebSocket).
///
/// It is also a [`Stream`] of `Result<Message, Error>` and a [`Sink`] of [`Message`], like
/// the WebSocket. Dropping it closes the session with `1000 "Normal closure"`.
pub struct Socket {
    inner: Inner,
    info: Arc<Info>,
}

enum Inner {
    Session {
        cell: Arc<Cell>,
        /// A message given to the `Sink` and not yet queued.
        pending: Option<Utf8Bytes>,
    },
    WebSocket(Box<HyperWebSocket>),
}

/// What the request that opened the connection said.
#[derive(Debug)]
pub(crate) struct Info {
    pub(crate) transport: &'static str,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
}

/// Why a [`Socket`] could not do what it was asked.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The connection is closed (or closing): nothing more can be sent.
    Closed,
    /// The message, escaped, is larger than the session's outgoing queue can ever hold
    /// ([`SessionConfig::max_queued_bytes`](crate::SessionConfig::max_queued_bytes)).
    TooLarge {
        /// Its escaped length, in bytes.
        len: usize,
        /// The bound.
        limit: usize,
    },
    /// A binary message: SockJS carries text only (a raw WebSocket carries both).
    Binary,
    /// The WebSocket under a `websocket` transport failed.
    WebSocket(rfc6455::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Closed => f.write_str("the SockJS connection is closed"),
            Error::TooLarge { len, limit } => write!(
                f,
                "message of {len} escaped bytes exceeds the session's queue of {limit} bytes"
            ),
            Error::Binary => f.write_str("SockJS carries text messages only"),
            Error::WebSocket(e) => write!(f, "WebSocket: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::WebSocket(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("transport", &self.info.transport)
            .field("uri", &self.info.uri)
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn session(cell: Arc<Cell>, info: Arc<Info>) -> Socket {
        Socket {
            inner: Inner::Session {
                cell,
                pending: None,
            },
            info,
        }
    }

    pub(crate) fn websocket(ws: HyperWebSocket, info: Arc<Info>) -> Socket {
        Socket {
            inner: Inner::WebSocket(Box::new(ws)),
            info,
        }
    }

    /// The transport of the request that opened the connection, with sockjs-node's names:
    /// `websocket`, `websocket-raw`, `xhr-streaming`, `xhr-polling`, `eventsource`,
    /// `htmlfile`, `jsonp-polling`. (A session's later requests may differ: a client that
    /// fell back keeps its session.)
    pub fn transport(&self) -> &'static str {
        self.info.transport
    }

    /// The URI of the request that opened the connection.
    pub fn uri(&self) -> &Uri {
        &self.info.uri
    }

    /// Headers of the request that opened the connection: sockjs-node's list (`host`,
    /// `user-agent`, `accept-language`, `referer`, `via`, `dnt`, `x-forwarded-for`,
    /// `x-forwarded-proto`, `x-real-ip`, `x-client-ip`, `x-cluster-client-ip`, `x-ssl`) and
    /// `origin`. Cookies are left out on purpose, as sockjs-node does: a session is not
    /// tied to the cookies of whichever request happens to carry it.
    pub fn headers(&self) -> &HeaderMap {
        &self.info.headers
    }

    /// Why the session stopped being open, once it has (`None` for a raw WebSocket).
    pub fn close_cause(&self) -> Option<CloseCause> {
        match &self.inner {
            Inner::Session { cell, .. } => cell.lock().closed,
            Inner::WebSocket(_) => None,
        }
    }

    /// The next message from the client; `Ok(None)` once the connection is closed and
    /// every message received before was given. Cancellation safe.
    pub async fn recv(&mut self) -> Result<Option<Message>, Error> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, Error>> {
        match &mut self.inner {
            Inner::Session { cell, .. } => {
                let mut state = cell.lock();
                if let Some(message) = cell.pop(&mut state) {
                    return Poll::Ready(Ok(Some(Message::Text(message))));
                }
                if state.is_closed() {
                    return Poll::Ready(Ok(None));
                }
                state.set_recv_waker(cx.waker());
                Poll::Pending
            }
            Inner::WebSocket(ws) => loop {
                match ready!(Pin::new(&mut **ws).poll_next(cx)) {
                    Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => {
                        return Poll::Ready(Ok(Some(m)));
                    }
                    // Pongs and the close handshake are the adapter's business.
                    Some(Ok(_)) => {}
                    None => return Poll::Ready(Ok(None)),
                    Some(Err(rfc6455::io::Error::Closed)) => return Poll::Ready(Ok(None)),
                    Some(Err(e)) => return Poll::Ready(Err(Error::WebSocket(e))),
                }
            },
        }
    }

    /// Sends a message to the client: a [`Message::Text`] (or, on a raw WebSocket, any
    /// data message). A [`Message::Close`] closes as [`close`](Socket::close) does; pings
    /// and pongs are ignored (SockJS has its own heart-beats).
    ///
    /// Waits while the session's outgoing queue is full. Not cancellation safe in one
    /// direction: a message queued before the future was dropped is still delivered.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        match &mut self.inner {
            Inner::Session { cell, .. } => {
                let text = match message {
                    Message::Text(text) => text,
                    Message::Binary(_) => return Err(Error::Binary),
                    Message::Close(frame) => {
                        let (code, reason) = frame
                            .map_or((1000, Utf8Bytes::from("")), |f| (f.code.as_u16(), f.reason));
                        close_session(cell, code, &reason);
                        return Ok(());
                    }
                    Message::Ping(_) | Message::Pong(_) => return Ok(()),
                };
                let cell = cell.clone();
                poll_fn(|cx| poll_queue(&cell, &text, cx)).await
            }
            Inner::WebSocket(ws) => ws.send(message).await.map_err(Error::WebSocket),
        }
    }

    /// Closes the connection: the client gets `c[code,"reason"]` after the messages already
    /// sent, and every request of the session gets it again until the session expires
    /// (sockjs-protocol: "Until the timeout occurs, the server must constantly serve the
    /// close message."). A second close changes nothing. On a raw WebSocket, the close
    /// handshake with `code` (1000 if `code` cannot go in a Close frame).
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        match &mut self.inner {
            Inner::Session { cell, .. } => {
                close_session(cell, code, reason);
                Ok(())
            }
            Inner::WebSocket(ws) => {
                let code = CloseCode::new(code);
                let code = if code.is_valid_on_wire() {
                    code
                } else {
                    CloseCode::NORMAL
                };
                match ws.close(code, reason).await {
                    Ok(()) | Err(rfc6455::io::Error::Closed) => Ok(()),
                    Err(e) => Err(Error::WebSocket(e)),
                }
            }
        }
    }
}

impl Socket {
    /// This connection as an rfc6455 [`WebSocket`] (server role) over an in-memory pipe,
    /// for code written against that type — a STOMP server, say — to serve SockJS clients
    /// unchanged. A task carries messages between the two: text both ways, and a close on
    /// either side closes the other (a Close frame from the server becomes
    /// `c[code,"reason"]`). Costs one WebSocket framing per message, in memory.
    ///
    /// [`WebSocket`]: rfc6455::io::tokio::WebSocket
    pub fn into_websocket(self, config: rfc6455::Config) -> WebSocket<DuplexStream> {
        let (server, bridge) = tokio::io::duplex(64 * 1024);
        let ws = WebSocket::from_upgraded(server, rfc6455::Role::Server, config.clone());
        let peer = WebSocket::from_upgraded(bridge, rfc6455::Role::Client, config);
        tokio::spawn(carry(self, peer));
        ws
    }
}

/// Carries messages between a socket and the client end of its in-memory WebSocket.
async fn carry(mut socket: Socket, mut peer: WebSocket<DuplexStream>) {
    loop {
        tokio::select! {
            from_client = socket.recv() => match from_client {
                Ok(Some(message)) => {
                    if peer.send(message).await.is_err() {
                        let _ = socket.close(1011, "Server error").await;
                        return;
                    }
                }
                // The client left: the server sees a Close (1001, as a browser leaving).
                Ok(None) | Err(_) => {
                    let _ = peer.close(CloseCode::GOING_AWAY, "").await;
                    return;
                }
            },
            from_server = peer.recv() => match from_server {
                Ok(Some(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    if socket.send(message).await.is_err() {
                        let _ = peer.close(CloseCode::GOING_AWAY, "").await;
                        return;
                    }
                }
                Ok(Some(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map_or((1000, Utf8Bytes::from("")), |f| (f.code.as_u16(), f.reason));
                    let _ = socket.close(code, &reason).await;
                    // Finish the close handshake with the server end.
                    while let Ok(Some(_)) = peer.recv().await {}
                    return;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    let _ = socket.close(1000, "Normal closure").await;
                    return;
                }
            },
        }
    }
}

/// Queues `text`, or registers to be woken when the queue has room.
fn poll_queue(cell: &Cell, text: &str, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
    let mut state = cell.lock();
    match state.session.send(text) {
        Ok(()) => {
            state.wake_receiver();
            Poll::Ready(Ok(()))
        }
        Err(SendError::QueueFull { .. }) => {
            state.set_send_waker(cx.waker());
            Poll::Pending
        }
        Err(SendError::TooLarge { len, limit }) => Poll::Ready(Err(Error::TooLarge { len, limit })),
        Err(_) => Poll::Ready(Err(Error::Closed)),
    }
}

fn close_session(cell: &Cell, code: u16, reason: &str) {
    let mut state = cell.lock();
    if state.session.close(code, reason).is_ok() {
        state.wake_receiver();
    }
    cell.pump(&mut state);
}

impl Drop for Socket {
    fn drop(&mut self) {
        if let Inner::Session { cell, .. } = &self.inner {
            // sockjs-node's default close status.
            close_session(cell, 1000, "Normal closure");
        }
    }
}

impl Stream for Socket {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx).map(Result::transpose)
    }
}

impl Sink<Message> for Socket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        match &mut this.inner {
            Inner::Session { .. } => this.poll_pending(cx),
            Inner::WebSocket(ws) => Pin::new(&mut **ws).poll_ready(cx).map_err(Error::WebSocket),
        }
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        match &mut self.get_mut().inner {
            Inner::Session { cell, pending } => match message {
                Message::Text(text) => {
                    *pending = Some(text);
                    Ok(())
                }
                Message::Binary(_) => Err(Error::Binary),
                Message::Close(frame) => {
                    let (code, reason) =
                        frame.map_or((1000, Utf8Bytes::from("")), |f| (f.code.as_u16(), f.reason));
                    close_session(cell, code, &reason);
                    Ok(())
                }
                Message::Ping(_) | Message::Pong(_) => Ok(()),
            },
            Inner::WebSocket(ws) => Pin::new(&mut **ws)
                .start_send(message)
                .map_err(Error::WebSocket),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        match &mut this.inner {
            Inner::Session { .. } => this.poll_pending(cx),
            Inner::WebSocket(ws) => Pin::new(&mut **ws).poll_flush(cx).map_err(Error::WebSocket),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        match &mut this.inner {
            Inner::Session { cell, .. } => {
                let cell = cell.clone();
                ready!(this.poll_pending(cx))?;
                close_session(&cell, 1000, "Normal closure");
                Poll::Ready(Ok(()))
            }
            Inner::WebSocket(ws) => Pin::new(&mut **ws).poll_close(cx).map_err(Error::WebSocket),
        }
    }
}

impl Socket {
    /// Queues the message the `Sink` holds, if any.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Inner::Session { cell, pending } = &mut self.inner else {
            return Poll::Ready(Ok(()));
        };
        if let Some(text) = pending {
            let result = ready!(poll_queue(cell, text, cx));
            *pending = None;
            result?;
        }
        Poll::Ready(Ok(()))
    }
}
