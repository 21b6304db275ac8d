//! The state shared by a WebSocket and its halves, and the poll functions that drive it.

use std::boxed::Box;
use std::io::{self, ErrorKind, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::{Instant as TokioInstant, Sleep, sleep_until};

use tokio_util::io::poll_read_buf;

use crate::connection::{Role, Timeout};
use crate::io::Error;
use crate::io::buffer::MAX_SLICES;
use crate::io::driver::Driver;
use crate::message::Message;

/// The size of the stack buffer that reads go into while the read buffer is released.
const STACK_READ: usize = 4096;

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
    pub(super) closing: Closing,
    /// The protocol error to report once the transport is closed.
    pub(super) error: Option<Error>,
    /// Wakers of halves whose write returned `Pending`: whoever makes progress wakes them.
    pub(super) write_wakers: [Option<Waker>; 2],
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    /// The next message, or the end of the stream. All state lives in `self`, so dropping
    /// the future that polls this loses nothing (cancellation safety).
    pub(super) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Message>, Error>> {
        loop {
            if self.closing != Closing::No {
                return self.poll_close_transport(cx);
            }
            match self.driver.decode() {
                Ok(Some(message)) => {
                    self.driver.queue_control();
                    if !self.driver.writer.is_empty() {
                        // Best effort: a pong must not wait for the application to send.
                        // A write error is reported once everything received has been
                        // delivered: the message was taken from the input, it goes first.
                        if let Poll::Ready(Err(e)) = self.poll_write_out(cx, Half::Read) {
                            self.driver.deferred.get_or_insert(e);
                        }
                    }
                    return Poll::Ready(Ok(Some(message)));
                }
                Err(e) => {
                    self.error = Some(e.into());
                    self.begin_close();
                    continue;
                }
                Ok(None) => {}
            }
            if let Some(e) = self.driver.deferred.take() {
                return Poll::Ready(Err(e));
            }
            self.driver.queue_control();
            if !self.driver.writer.is_empty() {
                match self.poll_write_out(cx, Half::Read) {
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending if self.driver.write_blocked() => {
                        // The peer does not read what we send: stop reading it (TCP pushes
                        // back) until the queue drains; deadlines still run.
                        if self.poll_timer(cx) {
                            continue;
                        }
                        return Poll::Pending;
                    }
                    _ => {}
                }
            }
            if self.driver.conn.poll_close_transport() {
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
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    /// Reads into the buffer. While little is buffered (an idle connection, a peer that
    /// sent a frame header and stalls), reads into a stack array first, so that waiting
    /// costs no heap memory; once bytes flow, reads go straight into the buffer's spare
    /// capacity, which is not zero-filled: memory is touched only by bytes that arrive.
    /// Nothing is recorded before a read completes (cancellation safety).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let stream = Pin::new(&mut self.stream);
        let reader = &mut self.driver.reader;
        if reader.prefers_small_read() {
            let mut tmp = [MaybeUninit::<u8>::uninit(); STACK_READ];
            let mut buf = ReadBuf::uninit(&mut tmp);
            return match stream.poll_read(cx, &mut buf) {
                Poll::Pending => {
                    if self.driver.reader.buffered() == 0 {
                        self.driver.release_idle();
                    }
                    Poll::Pending
                }
                Poll::Ready(Ok(())) => {
                    let filled = buf.filled();
                    let full = buf.remaining() == 0;
                    reader.extend_from_read(filled, full);
                    Poll::Ready(Ok(filled.len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            };
        }
        match poll_read_buf(stream, cx, &mut reader.read_buf()) {
            Poll::Pending => {
                // Nothing buffered and nothing to read: give the memory back.
                if self.driver.reader.buffered() == 0 {
                    self.driver.release_idle();
                }
                Poll::Pending
            }
            ready => ready,
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
            // Closing the transport takes at most the close timeout, whatever the peer
            // does: one that never reads cannot keep it open by stalling our last writes.
            let linger = self
                .driver
                .conn
                .config()
                .close_timeout
                .unwrap_or(Duration::from_secs(1));
            self.sleep = Some(Box::pin(sleep_until(TokioInstant::now() + linger)));
        }
    }

    /// Whether the closing deadline set by `begin_close` has passed.
    fn closing_expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.sleep
            .as_mut()
            .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready())
    }

    /// Flushes, half-closes, drains, then reports the end (or the error that caused it).
    fn poll_close_transport(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Message>, Error>> {
        loop {
            match self.closing {
                Closing::No | Closing::Flush => {
                    if self.closing_expired(cx) {
                        self.closing = Closing::Done;
                        continue;
                    }
                    if ready!(self.poll_write_out(cx, Half::Read)).is_err() {
                        self.closing = Closing::Done;
                        continue;
                    }
                    self.closing = Closing::Shutdown;
                }
                Closing::Shutdown => {
                    if self.closing_expired(cx) {
                        self.closing = Closing::Done;
                        continue;
                    }
                    // An error here means the peer is gone already: nothing left to do.
                    let _ = ready!(Pin::new(&mut self.stream).poll_shutdown(cx));
                    self.closing = if self.driver.conn.role() == Role::Server
                        || !self.driver.conn.is_closed_cleanly()
                    {
                        Closing::Drain
                    } else {
                        Closing::Done
                    };
                }
                Closing::Drain => {
                    if self.closing_expired(cx) {
                        self.closing = Closing::Done;
                        continue;
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
                        return Poll::Ready(Ok(None));
                    }
                    self.driver.finished = true;
                    if let Some(e) = self.error.take() {
                        return Poll::Ready(Err(e));
                    }
                    return match self.driver.outcome() {
                        Ok(()) => Poll::Ready(Ok(None)),
                        Err(e) => Poll::Ready(Err(e)),
                    };
                }
            }
        }
    }

    /// Writes everything queued. `Ready(Ok)` once the queue is empty.
    #[inline]
    pub(super) fn poll_write_out(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        while !self.driver.writer.is_empty() {
            let stream = Pin::new(&mut self.stream);
            let writer = &self.driver.writer;
            let result = if writer.is_contiguous() || !stream.is_write_vectored() {
                stream.poll_write(cx, writer.front())
            } else if let Some(pair) = writer.pair() {
                stream.poll_write_vectored(cx, &pair)
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let n = writer.slices(&mut slices);
                stream.poll_write_vectored(cx, &slices[..n])
            };
            match result {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::from(ErrorKind::WriteZero).into()));
                }
                Poll::Ready(Ok(n)) => {
                    self.driver.writer.advance(n);
                    self.wake_writers();
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => {
                    self.write_wakers[half as usize] = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Bytes queued and not yet written.
    pub(super) fn buffered(&self) -> usize {
        self.driver.writer.len()
    }

    /// Queues a message.
    pub(super) fn encode(&mut self, message: Message) -> Result<(), Error> {
        self.driver.encode(message)
    }

    fn wake_writers(&mut self) {
        for waker in &mut self.write_wakers {
            if let Some(w) = waker.take() {
                w.wake();
            }
        }
    }

    #[inline]
    pub(super) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        if self.driver.finished || self.driver.conn.state() == crate::State::Closed {
            return Poll::Ready(Err(Error::Closed));
        }
        self.driver.queue_control();
        if self.driver.write_blocked() {
            return self.poll_below_high_water(cx, half);
        }
        Poll::Ready(Ok(()))
    }

    /// Writes until the queue is below the high-water mark.
    #[inline(never)]
    fn poll_below_high_water(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        while self.driver.write_blocked() {
            ready!(self.poll_write_out(cx, half))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Queues `message` (taken once the high-water mark allows) and writes everything:
    /// `send` in one poll when the stream takes it.
    #[inline]
    pub(super) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        message: &mut Option<Message>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        if message.is_some() {
            // `poll_ready` queued any control frames; encoding queues none.
            ready!(self.poll_ready(cx, half))?;
            if let Some(message) = message.take() {
                if self.stream.is_write_vectored() {
                    if let Some(header) = self.driver.direct_header(&message)? {
                        return self.poll_send_direct(cx, header, message, half);
                    }
                }
                self.encode(message)?;
            }
        } else {
            self.driver.queue_control();
        }
        ready!(self.poll_write_out(cx, half))?;
        Pin::new(&mut self.stream)
            .poll_flush(cx)
            .map_err(Error::from)
    }

    /// Sends a large server message with nothing queued before it: header and payload in
    /// one vectored write straight from the application's `Bytes`; only what the stream
    /// did not take is queued (then written like any queued bytes).
    #[inline(never)]
    fn poll_send_direct(
        &mut self,
        cx: &mut Context<'_>,
        header: crate::connection::EncodedHeader,
        message: Message,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        let payload = match message {
            Message::Binary(data) => data,
            Message::Text(text) => text.into_bytes(),
            _ => unreachable!("direct_header accepts data messages only"),
        };
        let head = header.as_bytes();
        let slices = [IoSlice::new(head), IoSlice::new(&payload)];
        let written = match Pin::new(&mut self.stream).poll_write_vectored(cx, &slices) {
            Poll::Ready(Ok(0)) => {
                return Poll::Ready(Err(io::Error::from(ErrorKind::WriteZero).into()));
            }
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            // Queued below; `poll_write_out` registers the waker.
            Poll::Pending => 0,
        };
        if written < head.len() + payload.len() {
            self.driver.queue_unwritten(head, payload, written);
            ready!(self.poll_write_out(cx, half))?;
        }
        Pin::new(&mut self.stream)
            .poll_flush(cx)
            .map_err(Error::from)
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
