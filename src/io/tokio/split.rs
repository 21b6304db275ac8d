//! The two halves of a split WebSocket, sharing one [`Inner`] behind a mutex.

use std::boxed::Box;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};
use futures_core::Stream;
use futures_sink::Sink;

use super::inner::{Half, Inner};
use crate::close::CloseCode;
use crate::io::Error;
use crate::message::Message;

fn lock<S>(shared: &Mutex<Inner<S>>) -> MutexGuard<'_, Inner<S>> {
    // The lock is only held inside synchronous poll functions; a panic there leaves the
    // state as consistent as any other return point, so poisoning is ignored.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The receiving half of a split [`WebSocket`](super::WebSocket). It also writes pongs, Close replies and
/// keepalive pings, so they go out even when the write half is idle.
#[derive(Debug)]
pub struct ReadHalf<S> {
    pub(super) shared: Arc<Mutex<Inner<S>>>,
}

/// The sending half of a split [`WebSocket`](super::WebSocket).
#[derive(Debug)]
pub struct WriteHalf<S> {
    pub(super) shared: Arc<Mutex<Inner<S>>>,
}

/// The halves given to [`ReadHalf::reunite`] came from different WebSockets; here they
/// are back.
#[derive(Debug)]
pub struct ReuniteError<S>(pub ReadHalf<S>, pub WriteHalf<S>);

impl<S> std::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the halves come from different WebSockets")
    }
}

impl<S: std::fmt::Debug> std::error::Error for ReuniteError<S> {}

impl<S> ReadHalf<S> {
    /// Whether `write` is the other half of the same WebSocket.
    pub fn is_pair_of(&self, write: &WriteHalf<S>) -> bool {
        Arc::ptr_eq(&self.shared, &write.shared)
    }

    /// Puts the halves back together, getting the WebSocket back (nothing is lost:
    /// buffered bytes and the connection's state stay as they are).
    ///
    /// # Errors
    ///
    /// The halves, unchanged, if they do not belong together.
    pub fn reunite(self, write: WriteHalf<S>) -> Result<super::WebSocket<S>, ReuniteError<S>> {
        if !self.is_pair_of(&write) {
            return Err(ReuniteError(self, write));
        }
        drop(write);
        let inner = match Arc::try_unwrap(self.shared) {
            Ok(mutex) => mutex.into_inner().unwrap_or_else(|p| p.into_inner()),
            // Only the two halves hold the Arc, and one was just dropped.
            Err(_) => unreachable!("a third owner of a WebSocket's halves"),
        };
        Ok(super::WebSocket {
            inner: Box::new(inner),
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ReadHalf<S> {
    /// Receives the next message; see [`WebSocket::recv`](super::WebSocket::recv). Cancellation safe.
    pub async fn recv(&mut self) -> Result<Option<Message>, Error> {
        poll_fn(|cx| lock(&self.shared).poll_recv(cx)).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for ReadHalf<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        lock(&self.shared).poll_recv(cx).map(Result::transpose)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteHalf<S> {
    /// Sends a message; see [`WebSocket::send`](super::WebSocket::send).
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        poll_fn(|cx| lock(&self.shared).poll_ready(cx, Half::Write)).await?;
        lock(&self.shared).encode(message)?;
        poll_fn(|cx| lock(&self.shared).poll_flush(cx, Half::Write)).await
    }

    /// Sends a prepared message; see [`WebSocket::send_prepared`](super::WebSocket::send_prepared).
    pub async fn send_prepared(&mut self, message: &crate::PreparedMessage) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_ready(cx, Half::Write)).await?;
        lock(&self.shared).driver.encode_prepared(message)?;
        poll_fn(|cx| lock(&self.shared).poll_flush(cx, Half::Write)).await
    }

    /// Sends a Close frame and flushes; the read half completes the close handshake and
    /// then ends.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(Message::close(code, reason)).await
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
        let _ = inner.encode(Message::close(CloseCode::NORMAL, ""));
        inner.poll_flush(cx, Half::Write)
    }
}
