//! A session's states and every transition between them.
//!
//! Everything that moves a session from one [`State`] to another lives in this file, with
//! the events the application is told about; the rest of the session asks it questions and
//! reports what happened.

use crate::frame::Close;

/// Where a session is in its life (sockjs-node's `Transport.CONNECTING`, `OPEN`, `CLOSING`,
/// `CLOSED`).
///
/// ```text
///              first receiver             close() / receiver interrupted
///  Connecting ───────────────▶ Open ─────────────────────────────────▶ Closing
///      │      (sends `o`)        │                                        │
///      │                         │ no receiver for the disconnect delay   │ no receiver for
///      │                         │ WebSocket ended or sent broken JSON    │ the disconnect
///      ▼                         ▼                                        ▼ delay
///   Closed ◀──────────────────────────────────────────────────────────────┘
/// ```
///
/// A session that never got a receiver expires like the others, `disconnect_delay` after it
/// was created (sockjs-node starts that timer in the constructor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Created; no receiving request has attached yet, so `o` has not been sent.
    Connecting,
    /// `o` is sent (or queued for the first receiver): messages flow both ways.
    Open,
    /// Closed with a status: every receiving request gets the close frame until the session
    /// expires (sockjs-protocol: "Until the timeout occurs, the server must constantly serve
    /// the close message."). Messages from the client are dropped.
    Closing,
    /// Expired: terminal. Remove the session; its id may be used again for a new one.
    Closed,
}

/// Why a session stopped being open, as [`Event::Closed`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCause {
    /// [`Session::close`](crate::Session::close) was called.
    Application,
    /// A receiving request's connection went away before the session ended its response
    /// (see [`Session::abort_receiver`](crate::Session::abort_receiver)). Later receiving
    /// requests get `c[1002,"Connection interrupted"]` until the session expires.
    Interrupted,
    /// The session's WebSocket ended: nothing can attach to the session again.
    Disconnected,
    /// The client sent a WebSocket message that is not SockJS framing.
    BrokenFraming,
    /// No receiving request for the disconnect delay: the client is gone.
    TimedOut,
}

/// What the application is told, from [`Session::poll_event`](crate::Session::poll_event).
///
/// Each comes at most once, in this order: `Opened` (when the first receiver attaches),
/// `Closed` (only after `Opened`), `Expired` (always, last).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// The first receiving request attached and `o` is on its way: the session is open
    /// (sockjs-node emits `connection` here).
    Opened,
    /// The session stopped being open: nothing more is sent to or received from the client.
    Closed(CloseCause),
    /// The session expired and is [`State::Closed`]: drop it (a
    /// [`Registry`](crate::Registry) does).
    Expired,
}

/// The state with the events not yet polled and the close status.
#[derive(Debug)]
pub(super) struct Lifecycle {
    pub(super) state: State,
    /// The status later receivers get, once closing.
    pub(super) close: Option<Close<'static>>,
    /// `Opened` was reported (or queued): `Closed` follows it.
    opened: bool,
    pending_opened: bool,
    pending_closed: Option<CloseCause>,
    pending_expired: bool,
}

impl Lifecycle {
    pub(super) fn new() -> Lifecycle {
        Lifecycle {
            state: State::Connecting,
            close: None,
            opened: false,
            pending_opened: false,
            pending_closed: None,
            pending_expired: false,
        }
    }

    /// A receiving request attached. Returns whether this opened the session (send `o`).
    ///
    /// sockjs-protocol: "When server opens a new session it must immediately send an frame
    /// containing a letter `o`."
    pub(super) fn on_attach(&mut self) -> bool {
        if self.state != State::Connecting {
            return false;
        }
        self.state = State::Open;
        self.opened = true;
        self.pending_opened = true;
        true
    }

    /// Whether the session is still open for messages (both ways).
    pub(super) fn is_open(&self) -> bool {
        matches!(self.state, State::Connecting | State::Open)
    }

    /// The session closes with `status`. Returns false (and changes nothing) when it was
    /// already closing or closed: the first status wins.
    pub(super) fn on_close(&mut self, status: Close<'static>, cause: CloseCause) -> bool {
        if !self.is_open() {
            return false;
        }
        self.state = State::Closing;
        self.close = Some(status);
        if self.opened {
            self.pending_closed = Some(cause);
        }
        true
    }

    /// The session expires. Returns false when it already had.
    pub(super) fn on_expire(&mut self, cause: CloseCause) -> bool {
        if self.state == State::Closed {
            return false;
        }
        if self.is_open() && self.opened {
            self.pending_closed = Some(cause);
        }
        self.state = State::Closed;
        self.pending_expired = true;
        true
    }

    pub(super) fn poll_event(&mut self) -> Option<Event> {
        if core::mem::take(&mut self.pending_opened) {
            return Some(Event::Opened);
        }
        if let Some(cause) = self.pending_closed.take() {
            return Some(Event::Closed(cause));
        }
        if core::mem::take(&mut self.pending_expired) {
            return Some(Event::Expired);
        }
        None
    }
}
