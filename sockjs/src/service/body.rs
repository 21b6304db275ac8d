//! The service's response body: a whole body, or a receiving request's frames as the
//! session produces them.

// The crate is `no_std`: std's prelude is imported by hand.
use std::boxed::Box;
use std::vec::Vec;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

use super::Shared;
use super::cell::Cell;
use crate::session::{ReceiverId, Transmit};

/// The body of every response the [`SockJs`](super::SockJs) service gives: complete, or
/// streamed frame by frame for a receiving request (`xhr`, `xhr_streaming`, `eventsource`,
/// `htmlfile`, `jsonp`). A streamed body that is dropped before it ended — the client went
/// away — tells the session, which then closes (sockjs-node's `abort`).
#[derive(Debug)]
pub struct Body {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    Receiver(Box<Receiver>),
}

/// A receiving request attached to a session.
#[derive(Debug)]
pub(crate) struct Receiver {
    pub(crate) cell: Arc<Cell>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: ReceiverId,
    /// Written first: the transport's prelude.
    pub(crate) prelude: Option<Bytes>,
    /// The session ended this response (or it was told the client left).
    pub(crate) done: bool,
    /// The next heartbeat.
    pub(crate) sleep: Option<Pin<Box<Sleep>>>,
}

impl Body {
    /// A complete body.
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        Body {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// An empty body.
    pub fn empty() -> Body {
        Body {
            kind: Kind::Full(None),
        }
    }

    pub(crate) fn receiver(receiver: Receiver) -> Body {
        Body {
            kind: Kind::Receiver(Box::new(receiver)),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::full(Bytes::from_static(s.as_bytes()))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Receiver(receiver) => receiver
                .poll_frame(cx)
                .map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Receiver(receiver) => receiver.done && receiver.prelude.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Receiver(_) => SizeHint::default(),
        }
    }
}

impl Receiver {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(prelude) = self.prelude.take() {
            return Poll::Ready(Some(prelude));
        }
        if self.done {
            return Poll::Ready(None);
        }
        loop {
            let now = self.shared.now();
            let mut out = Vec::new();
            let deadline = {
                let mut state = self.cell.lock();
                let state = &mut *state;
                if state.session.poll_timeout().is_some_and(|at| at <= now) {
                    state.session.handle_timeout(now);
                }
                let transmit = state.session.poll_transmit(self.id, now, &mut out);
                let deadline = match transmit {
                    Transmit::Frame => None,
                    Transmit::LastFrame | Transmit::End => {
                        self.done = true;
                        self.shared.expiry_hint(state.session.expires_at());
                        None
                    }
                    Transmit::Idle => {
                        state.set_receiver_waker(cx.waker());
                        Some(state.session.poll_timeout())
                    }
                };
                if matches!(transmit, Transmit::Frame | Transmit::LastFrame) {
                    state.wake_sender();
                }
                self.cell.pump(state);
                deadline
            };
            match deadline {
                None if out.is_empty() => return Poll::Ready(None),
                None => return Poll::Ready(Some(Bytes::from(out))),
                Some(None) => {
                    self.sleep = None;
                    return Poll::Pending;
                }
                Some(Some(at)) => {
                    let at = self.shared.instant(at);
                    match &mut self.sleep {
                        Some(sleep) if sleep.deadline() == at => {}
                        Some(sleep) => sleep.as_mut().reset(at),
                        None => self.sleep = Some(Box::pin(tokio::time::sleep_until(at))),
                    }
                    let Some(sleep) = &mut self.sleep else {
                        return Poll::Pending;
                    };
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    // The heartbeat is due: go round again to write it.
                }
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // The response was dropped before the session ended it: the client went away
        // (sockjs-protocol `test_abort_xhr_streaming`: "When a polling request is closed by
        // a network error - not by server, the session should be automatically closed.").
        let now = self.shared.now();
        let mut state = self.cell.lock();
        state.session.abort_receiver(self.id, now);
        self.shared.expiry_hint(state.session.expires_at());
        self.cell.pump(&mut state);
    }
}
