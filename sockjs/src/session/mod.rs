//! One SockJS session, from the first receiving request to expiry: a pure state machine.

mod config;
mod queue;
mod state;

pub use config::{
    DEFAULT_DISCONNECT_DELAY, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_MAX_QUEUED_BYTES,
    DEFAULT_MAX_QUEUED_MESSAGES, DEFAULT_STREAMING_BUDGET, SessionConfig,
};
pub use queue::SendError;
pub use state::{CloseCause, Event, State};

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::frame::Close;
use crate::framing::{Delivery, Framing};
use crate::json;
use crate::payload::{Messages, Payload, PayloadError};
use queue::Queue;
use state::Lifecycle;

/// Names one receiving request attached to a session. Ids are never reused within a session,
/// so a request that ended cannot take output meant for the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiverId(u64);

/// The outcome of [`Session::attach`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Attach {
    /// The request is now the session's receiver: write the transport's prelude, then what
    /// [`Session::poll_transmit`] gives for this id.
    Attached(ReceiverId),
    /// Another receiver is attached. Answer this request with its prelude and
    /// [`Close::ANOTHER_CONNECTION_STILL_OPEN`] (`c[2010,"Another connection still open"]`)
    /// through its [`Framing`], then end it. The session is unchanged.
    ///
    /// sockjs-protocol: "The server must not allow two receiving connections to wait on a
    /// single session. In such case the server must send a close frame to the new
    /// connection."
    AnotherConnectionOpen,
    /// The session has expired ([`State::Closed`]): treat the request as one for an unknown
    /// session.
    Expired,
}

/// The outcome of one [`Session::poll_transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Transmit {
    /// One wrapped frame was appended to `out`. Call again: there may be more.
    Frame,
    /// One wrapped frame was appended to `out`, and it is this receiver's last: write it and
    /// end the response (close the WebSocket). The receiver is already detached.
    LastFrame,
    /// Nothing to send now. Wait for the application (a send or a close), or for
    /// [`Session::poll_timeout`], then call again.
    Idle,
    /// This receiver is not attached (any more): end the response; nothing was written.
    End,
}

/// A message escaped once, to be queued on many sessions (a broadcast) without escaping it
/// again for each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedMessage {
    encoded: Box<[u8]>,
}

impl PreparedMessage {
    /// Escapes `message` (see [`quote`](crate::json::quote)).
    pub fn new(message: &str) -> PreparedMessage {
        let mut encoded = Vec::with_capacity(json::quoted_len(message));
        json::quote(message, &mut encoded);
        PreparedMessage {
            encoded: encoded.into_boxed_slice(),
        }
    }

    /// The escaped message, quotes included: what it adds to an `a[...]` frame.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }
}

/// [`Session::close`] on a session that is already closing or closed. Nothing changed: the
/// first close status stays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyClosed;

impl fmt::Display for AlreadyClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the SockJS session is already closing or closed")
    }
}

impl core::error::Error for AlreadyClosed {}

/// The receiving request attached to a session.
#[derive(Debug)]
struct Receiver {
    id: ReceiverId,
    framing: Framing,
    /// Bytes of wrapped frames written to it (the streaming budget counts these).
    written: usize,
    /// When a frame was last written to it (or it attached): heart-beats count from here.
    last_write: Duration,
    /// The heartbeat deadline passed: `h` is owed.
    heartbeat_due: bool,
}

/// One SockJS session: the application's end of a client connection that may be carried by
/// a succession of HTTP requests (or one WebSocket).
///
/// It performs no I/O and reads no clock: time is a `Duration` since any origin you choose,
/// passed to the methods that need it. Its methods come in four groups.
///
/// **Input** — what happened:
/// - [`attach`](Session::attach): a receiving request arrived (`xhr`, `xhr_streaming`,
///   `eventsource`, `htmlfile`, `jsonp`, `websocket`).
/// - [`abort_receiver`](Session::abort_receiver): that request's connection went away
///   before [`poll_transmit`](Session::poll_transmit) ended it.
/// - [`receive`](Session::receive): a sending request arrived (`xhr_send`, `jsonp_send`) or
///   a WebSocket message; returns the client's messages for the application.
/// - [`handle_timeout`](Session::handle_timeout): the current time, whenever
///   [`poll_timeout`](Session::poll_timeout) passes.
///
/// **Output** — polled after every input:
/// - [`poll_transmit`](Session::poll_transmit): the next wrapped frame for the attached
///   receiver (`o`, `a[...]`, `h`, `c[...]`), and whether its response ends.
/// - [`poll_timeout`](Session::poll_timeout): when to call `handle_timeout` next.
/// - [`poll_event`](Session::poll_event): [`Event`]s for the application (opened, closed,
///   expired).
///
/// **Application**: [`send`](Session::send), [`send_prepared`](Session::send_prepared),
/// [`close`](Session::close).
///
/// **State**: [`state`](Session::state), [`close_status`](Session::close_status),
/// [`receiver`](Session::receiver), [`wants_transmit`](Session::wants_transmit),
/// [`queued_messages`](Session::queued_messages), [`queued_bytes`](Session::queued_bytes),
/// [`config`](Session::config), [`is_expired`](Session::is_expired).
///
/// A receiving request, in order:
///
/// ```text
/// attach(framing, now) ─ Attached(id) ─▶ write framing.encode_prelude()
///     loop: poll_transmit(id, now, out) ─ Frame ─▶ write out, again
///                                       ─ LastFrame / End ─▶ write out, end the response
///                                       ─ Idle ─▶ wait for send/close or poll_timeout()
///     the client went away first ─▶ abort_receiver(id, now)
///                      ─ AnotherConnectionOpen ─▶ prelude + c[2010,...], end the response
/// ```
///
/// After any input, [`poll_event`](Session::poll_event) until `None`.
pub struct Session {
    config: SessionConfig,
    life: Lifecycle,
    queue: Queue,
    receiver: Option<Receiver>,
    next_receiver: u64,
    /// `o` is owed to the first receiver.
    open_pending: bool,
    /// Since when no receiver has been attached (the disconnect delay counts from here).
    unattached_since: Duration,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.life.state)
            .field("receiver", &self.receiver.as_ref().map(|r| r.id))
            .field("queued_messages", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session created at `now`, waiting for its first receiver. It expires at
    /// `now + disconnect_delay` unless one attaches.
    pub fn new(config: SessionConfig, now: Duration) -> Session {
        Session {
            config,
            life: Lifecycle::new(),
            queue: Queue::default(),
            receiver: None,
            next_receiver: 0,
            open_pending: false,
            unattached_since: now,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Where the session is in its life.
    pub fn state(&self) -> State {
        self.life.state
    }

    /// Whether the session has expired ([`State::Closed`]).
    pub fn is_expired(&self) -> bool {
        self.life.state == State::Closed
    }

    /// The status receivers are answered with, once the session is closing.
    pub fn close_status(&self) -> Option<&Close<'static>> {
        self.life.close.as_ref()
    }

    /// The attached receiver, if any.
    pub fn receiver(&self) -> Option<ReceiverId> {
        self.receiver.as_ref().map(|r| r.id)
    }

    /// Messages waiting for a receiver.
    pub fn queued_messages(&self) -> usize {
        self.queue.len()
    }

    /// Bytes of escaped messages waiting for a receiver.
    pub fn queued_bytes(&self) -> usize {
        self.queue.bytes()
    }

    /// Whether [`poll_transmit`](Session::poll_transmit) has a frame for the attached
    /// receiver: wake the task that writes its response.
    pub fn wants_transmit(&self) -> bool {
        match &self.receiver {
            None => false,
            Some(rx) => {
                self.open_pending
                    || !self.queue.is_empty()
                    || self.life.state == State::Closing
                    || rx.heartbeat_due
            }
        }
    }

    /// The next [`Event`] for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.life.poll_event()
    }

    // ----- Input -----------------------------------------------------------------------

    /// A receiving request arrived at `now`, to be answered with `framing`.
    ///
    /// The first receiver opens the session: its first frame is `o`. While one receiver is
    /// attached, others get [`Attach::AnotherConnectionOpen`]. A closing session accepts
    /// receivers only to answer them its queued messages (if any) and its close frame.
    pub fn attach(&mut self, framing: Framing, now: Duration) -> Attach {
        if self.life.state == State::Closed {
            return Attach::Expired;
        }
        // sockjs-node `register`: `if (this.recv) { recv.sendFrame(closeFrame(2010, ...))`
        // — checked before the closing state, so a second request gets 2010 even then.
        if self.receiver.is_some() {
            return Attach::AnotherConnectionOpen;
        }
        if self.life.on_attach() {
            self.open_pending = true;
        }
        let id = ReceiverId(self.next_receiver);
        self.next_receiver += 1;
        self.receiver = Some(Receiver {
            id,
            framing,
            written: 0,
            last_write: now,
            heartbeat_due: false,
        });
        Attach::Attached(id)
    }

    /// The connection of receiving request `id` went away at `now` before
    /// [`poll_transmit`](Session::poll_transmit) ended it (the client aborted the request,
    /// or the network failed). For a request that had already ended, or was never attached,
    /// this does nothing, so a transport may call it whenever a response ends.
    ///
    /// sockjs-protocol `HandlingClose.test_abort_xhr_streaming`: "When a polling request is
    /// closed by a network error - not by server, the session should be automatically
    /// closed. [...] Implementations may close the session and forget the state related.
    /// Alternatively they may return a 1002 close message." sockjs-node does the first: the
    /// session ends at once (`abort` → `delay_disconnect = false` → `didTimeout`). Here the
    /// session also ends at once for the application ([`Event::Closed`] with
    /// [`CloseCause::Interrupted`]; queued messages are dropped), and then answers
    /// `c[1002,"Connection interrupted"]` to receiving requests until the disconnect delay
    /// passes, so that a client polling again learns that its session was lost rather than
    /// being handed a new one under the same id. A session already closing keeps its close
    /// status. A WebSocket session expires at once: nothing can attach to it again.
    pub fn abort_receiver(&mut self, id: ReceiverId, now: Duration) {
        let Some(rx) = self.detach(id, now) else {
            return;
        };
        if rx.framing == Framing::WebSocket {
            self.life.on_expire(CloseCause::Disconnected);
            return;
        }
        if self
            .life
            .on_close(Close::INTERRUPTED, CloseCause::Interrupted)
        {
            self.queue.clear();
        }
    }

    /// A payload from the client: a sending request's body (`xhr_send`, `jsonp_send`) or one
    /// WebSocket message, decoded as `payload` says. Returns the client's messages for the
    /// application, borrowed from `body` where no escape had to be undone.
    ///
    /// Messages for a session that is not open are dropped (sockjs-node: `didMessage`
    /// delivers only `if (this.readyState === Transport.OPEN)`): the result is empty. The
    /// request is still answered as a success (204 for `xhr_send`, `ok` for `jsonp_send`).
    ///
    /// A [`PayloadError`] is the client's: answer an HTTP request with its status and body.
    /// Over the WebSocket transport it also ends the session ([`CloseCause::BrokenFraming`]:
    /// sockjs-node closes the WebSocket with `3000 "Broken framing."`, which ends the
    /// session at once); [`poll_transmit`](Session::poll_transmit) then says
    /// [`Transmit::End`]: close the WebSocket with
    /// [`websocket_close`](PayloadError::websocket_close).
    pub fn receive<'a>(
        &mut self,
        payload: Payload,
        body: &'a [u8],
    ) -> Result<Messages<'a>, PayloadError> {
        match payload.decode(body) {
            Ok(messages) if self.life.state == State::Open => Ok(messages),
            Ok(_) => Ok(Vec::new()),
            Err(error) => {
                if payload == Payload::WebSocket {
                    self.receiver = None;
                    self.life.on_close(
                        Close::new_static(3000, "Broken framing."),
                        CloseCause::BrokenFraming,
                    );
                    self.life.on_expire(CloseCause::BrokenFraming);
                }
                Err(error)
            }
        }
    }

    /// Tells the session the time, firing what is due: a heartbeat owed to the attached
    /// receiver (then [`wants_transmit`](Session::wants_transmit) is true), or expiry when
    /// no receiver has been attached for the disconnect delay ([`Event::Expired`]).
    pub fn handle_timeout(&mut self, now: Duration) {
        match &mut self.receiver {
            Some(rx) => {
                let due = self
                    .config
                    .heartbeat_interval
                    .is_some_and(|interval| now >= rx.last_write.saturating_add(interval));
                if due && self.life.state == State::Open {
                    rx.heartbeat_due = true;
                }
            }
            None => {
                // sockjs-protocol: "The session must time out after 5 seconds of not
                // having a receiving connection."
                if now
                    >= self
                        .unattached_since
                        .saturating_add(self.config.disconnect_delay)
                {
                    self.life.on_expire(CloseCause::TimedOut);
                }
            }
        }
    }

    /// The earliest time at which [`handle_timeout`](Session::handle_timeout) has work to
    /// do, on the clock of the `now`s given; `None` when nothing is scheduled (expired, or a
    /// receiver is attached and heart-beats are off or already due).
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.life.state == State::Closed {
            return None;
        }
        match &self.receiver {
            Some(rx) if self.life.state == State::Open && !rx.heartbeat_due => self
                .config
                .heartbeat_interval
                .map(|interval| rx.last_write.saturating_add(interval)),
            Some(_) => None,
            None => self.expires_at(),
        }
    }

    /// When the session expires if no receiver attaches before: `None` while one is
    /// attached or once expired.
    pub fn expires_at(&self) -> Option<Duration> {
        if self.life.state == State::Closed || self.receiver.is_some() {
            return None;
        }
        Some(
            self.unattached_since
                .saturating_add(self.config.disconnect_delay),
        )
    }

    // ----- Output ----------------------------------------------------------------------

    /// Appends the next frame for receiver `id`, wrapped for its transport, to `out`.
    ///
    /// Frames come in this order: `o` (first receiver only), `a[...]` with every queued
    /// message, then — closing — the close frame (the receiver's last), else `h` if a
    /// heartbeat is due. A polling receiver's first frame is its last; a streaming one's last
    /// is the frame that brings its response to the streaming budget. Writing a frame at
    /// `now` restarts the heartbeat interval; detaching starts the disconnect delay.
    pub fn poll_transmit(&mut self, id: ReceiverId, now: Duration, out: &mut Vec<u8>) -> Transmit {
        let Some(rx) = self.receiver.as_mut().filter(|rx| rx.id == id) else {
            return Transmit::End;
        };
        let start = out.len();
        let last = if core::mem::take(&mut self.open_pending) {
            rx.framing.encode_with(out, |out| out.push(b'o'));
            false
        } else if !self.queue.is_empty() {
            let queue = &mut self.queue;
            rx.framing.encode_with(out, |out| queue.take_frame(out));
            false
        } else if let (State::Closing, Some(close)) = (self.life.state, &self.life.close) {
            // sockjs-protocol: "This frame is sent to the browser every time the client asks
            // for data on closed connection. This may happen multiple times."
            rx.framing.encode_with(out, |out| close.encode(out));
            true
        } else if rx.heartbeat_due && self.life.state == State::Open {
            rx.framing.encode_with(out, |out| out.push(b'h'));
            false
        } else {
            return Transmit::Idle;
        };
        rx.written = rx.written.saturating_add(out.len() - start);
        rx.last_write = now;
        rx.heartbeat_due = false;
        let last = last
            || match rx.framing.delivery() {
                // sockjs-node XhrPollingReceiver / JsonpReceiver: `max_response_size = 1`.
                Delivery::Polling => true,
                // sockjs-node ResponseReceiver: `if (this.curr_response_size >=
                // this.max_response_size) { this.close() }`, after writing the frame.
                Delivery::Streaming => rx.written >= self.config.streaming_budget,
                Delivery::WebSocket => false,
            };
        if !last {
            return Transmit::Frame;
        }
        let detached = self.detach(id, now);
        if detached.is_some_and(|rx| rx.framing == Framing::WebSocket) {
            // The WebSocket carried the close frame; it is closed now and nothing can
            // attach to this session again (sockjs-node: no disconnect delay for it).
            self.life.on_expire(CloseCause::Disconnected);
        }
        Transmit::LastFrame
    }

    // ----- Application -----------------------------------------------------------------

    /// Queues `message` for the client. It goes out in the next `a[...]` frame, when a
    /// receiver is attached.
    pub fn send(&mut self, message: &str) -> Result<(), SendError> {
        if !self.life.is_open() {
            return Err(SendError::Closed);
        }
        let config = &self.config;
        self.queue
            .push(message, config.max_queued_messages, config.max_queued_bytes)
    }

    /// Queues a message escaped beforehand, as [`send`](Session::send) does.
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        if !self.life.is_open() {
            return Err(SendError::Closed);
        }
        let config = &self.config;
        self.queue.push_encoded(
            message.encoded(),
            config.max_queued_messages,
            config.max_queued_bytes,
        )
    }

    /// Closes the session with `code` and `reason`: the attached receiver (after any queued
    /// messages) and every later receiving request get `c[code,"reason"]` until the session
    /// expires, the disconnect delay after the last receiver detached.
    ///
    /// sockjs-protocol `test_closeSession`: "The server may terminate the connection,
    /// passing error code and message." A session closed before its first receiver drops its
    /// queue: the client is answered with the close frame alone.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<(), AlreadyClosed> {
        let was_connecting = self.life.state == State::Connecting;
        let status = Close::new(code, Cow::Owned(reason.into()));
        if !self.life.on_close(status, CloseCause::Application) {
            return Err(AlreadyClosed);
        }
        if was_connecting {
            self.queue.clear();
        }
        Ok(())
    }

    /// Detaches receiver `id` at `now`, if it is the attached one.
    fn detach(&mut self, id: ReceiverId, now: Duration) -> Option<Receiver> {
        if self.receiver.as_ref()?.id != id {
            return None;
        }
        self.unattached_since = now;
        self.receiver.take()
    }
}
