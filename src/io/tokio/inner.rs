//! The state shared by a WebSocket and its halves, and the poll functions that drive it.

use std::boxed::Box;
use std::io::{self, ErrorKind, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;
use std::vec::Vec;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::{Instant as TokioInstant, Sleep, sleep_until};

use super::VECTORED_MIN;
use crate::connection::{MessageKind, Role, Timeout};
use crate::io::Error;
use crate::io::driver::{Driver, Step};
use crate::message::Message;

/// Which half is waiting to write, for waking the other one.
#[derive(Clone, Copy)]
pub(super) enum Half {
    Read = 0,
    Write = 1,
}

/// How far the transport's closing has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Closing {
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
pub(super) struct Inner<S> {
    pub(super) stream: S,
    pub(super) driver: Driver,
    pub(super) sleep: Option<Pin<Box<Sleep>>>,
    pub(super) high_water: usize,
    pub(super) closing: Closing,
    /// The protocol error to report once the transport is closed.
    pub(super) error: Option<Error>,
    /// Wakers of halves whose write returned `Pending`: whoever makes progress wakes them.
    pub(super) write_wakers: [Option<Waker>; 2],
    /// A large payload written from the application's buffer after its header, and how
    /// much of it is written.
    pub(super) payload: Option<(Vec<u8>, usize)>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    /// The next message, or the end of the stream. All state lives in `self`, so dropping
    /// the future that polls this loses nothing (cancellation safety).
    pub(super) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
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
        // The rest of a large frame goes straight into its message: no copy out of the
        // read buffer. Nothing is recorded before the read completes (cancellation safety).
        if let Some(spare) = self.driver.direct_spare() {
            let mut buf = ReadBuf::new(spare);
            return match stream.poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    self.driver.filled_direct(n);
                    Poll::Ready(Ok(n))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => {
                    // The read buffer is empty: give it back while the frame trickles in.
                    self.driver.release_idle();
                    Poll::Pending
                }
            };
        }
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

    pub(super) fn begin_close(&mut self) {
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
    pub(super) fn poll_write_out(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
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
    pub(super) fn buffered(&self) -> usize {
        self.driver.wbuf.len() + self.payload.as_ref().map_or(0, |(p, pos)| p.len() - pos)
    }

    /// Queues a message. A server sends a large payload straight from the message's own
    /// buffer after its header (a vectored write, no copy); everything else is encoded
    /// into the write buffer.
    pub(super) fn encode(&mut self, message: Message) -> Result<(), Error> {
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

    pub(super) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        if self.driver.finished || self.driver.conn.state() == crate::State::Closed {
            return Poll::Ready(Err(Error::Closed));
        }
        self.driver.queue_control();
        while self.driver.wbuf.len() >= self.high_water || self.payload.is_some() {
            ready!(self.poll_write_out(cx, half))?;
        }
        Poll::Ready(Ok(()))
    }

    pub(super) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        self.driver.queue_control();
        ready!(self.poll_write_out(cx, half))?;
        Pin::new(&mut self.stream)
            .poll_flush(cx)
            .map_err(Error::from)
    }
}
