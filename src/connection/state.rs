//! The closing handshake's states (RFC 6455 §7), and every transition between them.
//!
//! Everything that moves the connection from one [`State`] to another lives in this file;
//! the rest of the connection asks it questions (`may_send_data`, ...) and reports what
//! happened (`on_close_sent`, ...).

use crate::close::CloseCode;

/// Where a connection is in its life (RFC 6455 §7).
///
/// ```text
///              close() / idle timeout               peer's Close
///   Open ─────────────────────────────▶ CloseSent ─────────────────▶ Closed
///     │                                                                 ▲
///     │ peer's Close                      reply written (poll_transmit) │
///     └─────────────────────────────▶ CloseReceived ────────────────────┘
///
///   any state ── protocol error, transport EOF, close timeout ──▶ Closed
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Data flows both ways.
    Open,
    /// Our Close frame is sent (or queued); we wait for the peer's. Data from the peer is
    /// still delivered, as it may have been sent before the peer saw our Close.
    CloseSent,
    /// The peer's Close frame arrived; our reply is queued for
    /// [`poll_transmit`](crate::Connection::poll_transmit). Until it is written we may still
    /// finish sending a message (RFC 6455 §5.5.1); nothing more is received.
    CloseReceived,
    /// Both Close frames were exchanged, or the connection failed: the WebSocket is closed
    /// and only the transport remains to be closed (see
    /// [`poll_close_transport`](crate::Connection::poll_close_transport)).
    Closed,
}

/// How the connection ended, once it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Not closed yet.
    None,
    /// Both Close frames were exchanged (RFC 6455 §7.1.4: "closed cleanly").
    Clean,
    /// We failed the connection because of a protocol error (§7.1.7).
    Failed,
    /// The transport ended, or the peer's Close never came, without a clean close (1006).
    Abnormal,
}

#[derive(Clone, Debug)]
pub(crate) struct Lifecycle {
    pub(crate) state: State,
    pub(crate) ending: Ending,
    /// The code the peer's Close frame carried.
    pub(crate) peer_code: Option<CloseCode>,
    /// The transport reported end of input.
    pub(crate) eof: bool,
    /// The close timeout expired.
    pub(crate) timed_out: bool,
}

impl Lifecycle {
    pub(crate) const fn new() -> Lifecycle {
        Lifecycle {
            state: State::Open,
            ending: Ending::None,
            peer_code: None,
            eof: false,
            timed_out: false,
        }
    }

    /// Frames from the peer are processed (rather than discarded).
    ///
    /// RFC 6455 §1.4: after receiving a Close, "the endpoint [...] MAY discard any further
    /// data received".
    #[inline]
    pub(crate) fn may_receive(&self) -> bool {
        matches!(self.state, State::Open | State::CloseSent)
    }

    /// Data frames may be sent. §5.5.1: "After sending a Close frame, the endpoint MUST NOT
    /// send any more data frames." Before our reply to the peer's Close goes out, we may
    /// still finish a message.
    #[inline]
    pub(crate) fn may_send_data(&self) -> bool {
        matches!(self.state, State::Open | State::CloseReceived)
    }

    /// Pongs owed for pings received before the peer's Close may still be sent: §5.5.1
    /// forbids only data frames after our Close, and §5.5.2 requires the Pong. Not once the
    /// connection failed, the transport ended, or the close timeout passed (the transport
    /// is to be closed: nothing more is written).
    #[inline]
    pub(crate) fn may_send_pongs(&self) -> bool {
        matches!(self.ending, Ending::None | Ending::Clean) && !self.timed_out
    }

    /// Our Close frame is on its way (or already sent).
    pub(crate) fn close_sent(&self) -> bool {
        matches!(self.state, State::CloseSent | State::Closed)
    }

    /// We sent, or committed to send, our Close frame.
    pub(crate) fn on_close_sent(&mut self) {
        self.state = match self.state {
            State::Open => State::CloseSent,
            State::CloseReceived => {
                self.ending = Ending::Clean;
                State::Closed
            }
            other => other,
        };
    }

    /// A valid Close frame arrived. Returns whether a reply must be sent.
    pub(crate) fn on_close_received(&mut self, code: CloseCode) -> bool {
        self.peer_code = Some(code);
        match self.state {
            State::Open => {
                self.state = State::CloseReceived;
                true
            }
            State::CloseSent => {
                self.state = State::Closed;
                self.ending = Ending::Clean;
                false
            }
            State::CloseReceived | State::Closed => false,
        }
    }

    /// The peer violated the protocol. Returns whether a Close frame may still be sent.
    pub(crate) fn on_failure(&mut self) -> bool {
        let may_send_close = matches!(self.state, State::Open | State::CloseReceived);
        if self.state != State::Closed {
            self.state = State::Closed;
            self.ending = Ending::Failed;
        }
        may_send_close
    }

    /// The transport reported end of input.
    pub(crate) fn on_eof(&mut self) {
        self.eof = true;
        if self.state != State::Closed {
            self.state = State::Closed;
            self.ending = Ending::Abnormal;
        }
    }

    /// The close timeout expired while waiting for the peer.
    pub(crate) fn on_close_timeout(&mut self) {
        self.timed_out = true;
        if self.state != State::Closed {
            self.state = State::Closed;
            self.ending = Ending::Abnormal;
        }
    }

    /// We are waiting for the peer: for its Close frame, or (as a client, after a clean
    /// close) for the server to close the transport. §7.1.1: "the server SHOULD close the
    /// underlying TCP connection first [...] a client SHOULD wait for the server to close".
    pub(crate) fn awaiting_peer(&self, is_client: bool) -> bool {
        match self.state {
            State::CloseSent => true,
            State::Closed => is_client && self.ending == Ending::Clean && !self.eof,
            _ => false,
        }
    }

    /// The transport should be closed now.
    pub(crate) fn transport_done(&self, is_client: bool) -> bool {
        self.state == State::Closed
            && (self.eof || self.timed_out || self.ending != Ending::Clean || !is_client)
    }
}
