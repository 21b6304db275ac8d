//! The server side of a STOMP session: from the client's CONNECT to the closed transport.

mod handle;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use bytes::{BufMut, Bytes};

use crate::decode::{Decoder, Item, Limits, Status};
use crate::error::{ProtocolError, UsageError};
use crate::frame::{Command, Frame, itoa};
use crate::session::{HeartBeat, Outbox, Timers, Version};

/// How a server session behaves. Every limit protects the server from one client.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Limits on each frame received.
    pub limits: Limits,
    /// The server's side of the heart-beat negotiation, sent in CONNECTED (default
    /// 10 000 ms both ways).
    pub heart_beat: HeartBeat,
    /// How much longer than the negotiated interval a client may stay silent before it is
    /// declared dead, in percent of the interval (default 50).
    pub heart_beat_margin_percent: u32,
    /// The most subscriptions open at once (default 1024).
    pub max_subscriptions: usize,
    /// The most transactions open at once (default 16).
    pub max_transactions: usize,
    /// The most bytes (heads and bodies of SEND frames) all open transactions hold until
    /// COMMIT (default 1 MiB).
    pub max_transaction_size: usize,
    /// The most frames held while the application decides on CONNECT (default 16).
    pub max_pipelined_frames: usize,
    /// How long a client may take to send its CONNECT, from the first
    /// [`handle_timeout`](ServerSession::handle_timeout) call (default 10 s; `None`: no
    /// limit). A transport that never speaks STOMP is not held open forever.
    pub connect_timeout: Option<Duration>,
    /// The virtual host assumed for a CONNECT without a `host` header (default `None`: such
    /// a CONNECT is refused, as STOMP 1.2 requires the header). `@stomp/stompjs` sends no
    /// `host` unless told to; Spring and RabbitMQ accept that, and the tokio server does
    /// too (`Some("/")`).
    pub host_when_missing: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            limits: Limits::default(),
            heart_beat: HeartBeat {
                send_ms: 10_000,
                receive_ms: 10_000,
            },
            heart_beat_margin_percent: 50,
            max_subscriptions: 1024,
            max_transactions: 16,
            max_transaction_size: 1024 * 1024,
            max_pipelined_frames: 16,
            connect_timeout: Some(Duration::from_secs(10)),
            host_when_missing: None,
        }
    }
}

impl ServerConfig {
    /// Sets the frame limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> ServerConfig {
        self.limits = limits;
        self
    }

    /// Sets the time a client has to send its CONNECT (`None`: no limit).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> ServerConfig {
        self.connect_timeout = timeout;
        self
    }

    /// Accepts a CONNECT without `host` as if it named `host` (`None`: refuse it).
    #[must_use]
    pub fn host_when_missing(mut self, host: Option<&str>) -> ServerConfig {
        self.host_when_missing = host.map(String::from);
        self
    }

    /// Sets the server's heart-beat offer.
    #[must_use]
    pub fn heart_beat(mut self, heart_beat: HeartBeat) -> ServerConfig {
        self.heart_beat = heart_beat;
        self
    }
}

/// The identifier the server gave a MESSAGE: its `message-id` header and, when the
/// subscription needs acknowledgments, its `ack` header. Unique and increasing within a
/// session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A subscription's acknowledgment mode (the SUBSCRIBE `ack` header).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AckMode {
    /// "the client does not need to send the server ACK frames for the messages it
    /// receives" (the default).
    #[default]
    Auto,
    /// ACK and NACK are cumulative: they cover the message named and every message sent
    /// to the subscription before it.
    Client,
    /// ACK and NACK cover the message named only.
    ClientIndividual,
}

impl AckMode {
    /// The header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::ClientIndividual => "client-individual",
        }
    }

    /// "The valid values for the ack header are auto, client, or client-individual."
    pub fn parse(value: &str) -> Option<AckMode> {
        [AckMode::Auto, AckMode::Client, AckMode::ClientIndividual]
            .into_iter()
            .find(|m| m.as_str() == value)
    }
}

/// A client's CONNECT (or STOMP) frame, for the application to accept or reject.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectRequest {
    /// The version the session will use if accepted.
    pub version: Version,
    /// The virtual host the client asks for.
    pub host: String,
    /// The `login` header, if any.
    pub login: Option<String>,
    /// The `passcode` header, if any.
    pub passcode: Option<String>,
    /// The client's heart-beat offer.
    pub heart_beat: HeartBeat,
    /// The whole frame, for other headers.
    pub frame: Frame,
}

/// Why a session closed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent DISCONNECT.
    Disconnect,
    /// An ERROR frame was sent: the client broke the protocol, went silent, or the
    /// application rejected it.
    Error(ProtocolError),
    /// The transport closed first ([`ServerSession::handle_transport_closed`]).
    TransportClosed,
}

/// Something the client did, for the application (or broker) to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The client wants a session: answer with [`ServerSession::accept`] or
    /// [`ServerSession::reject`] (the authentication hook).
    Connect(ConnectRequest),
    /// A message to deliver to `destination` (already checked present). SENDs inside a
    /// transaction arrive at its COMMIT, in order, and never if it is aborted.
    Send(Frame),
    /// A new subscription (its id is not in use).
    Subscribe {
        /// The subscription id, for [`ServerSession::send_message`].
        id: String,
        /// The destination.
        destination: String,
        /// The acknowledgment mode.
        ack: AckMode,
        /// The whole frame, for server specific headers (selectors, ...).
        frame: Frame,
    },
    /// A subscription ended.
    Unsubscribe {
        /// The subscription id.
        id: String,
        /// Its messages never acknowledged: the broker may redeliver them.
        unacked: Vec<MessageId>,
    },
    /// The client consumed these messages (all of one subscription, in order).
    Ack {
        /// The subscription id.
        subscription: String,
        /// The messages covered (several for a cumulative ACK in `client` mode).
        messages: Vec<MessageId>,
    },
    /// The client did not consume these messages: the broker may redeliver them.
    Nack {
        /// The subscription id.
        subscription: String,
        /// The messages covered.
        messages: Vec<MessageId>,
    },
    /// The session ended; the last event. Open transactions were aborted.
    Closed {
        /// Why.
        reason: CloseReason,
        /// Every message never acknowledged, with its subscription id: the broker may
        /// redeliver them.
        unacked: Vec<(String, MessageId)>,
    },
}

/// A deadline that expired in [`ServerSession::handle_timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// The client sent nothing for longer than the negotiated heart-beat plus the margin:
    /// an ERROR frame is queued and the session is closed.
    PeerSilent,
    /// No CONNECT arrived within the configured `connect_timeout`: an ERROR frame is queued
    /// and the session is closed.
    Connect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    AwaitingConnect,
    /// A CONNECT was reported; the application has not answered yet.
    AwaitingAccept {
        version: Version,
        heart_beat: HeartBeat,
    },
    Connected(Version),
    Closed,
}

#[derive(Debug)]
struct Subscription {
    ack: AckMode,
    /// Messages sent and not yet acknowledged, oldest first.
    unacked: VecDeque<u64>,
}

/// Frames held in a transaction until COMMIT.
#[derive(Debug, Default)]
struct Transaction {
    held: Vec<ServerEvent>,
    /// What `held` counts against `max_transaction_size`.
    bytes: usize,
}

/// An event waiting for `poll_event`, with the receipt to send once the application has
/// taken it (`event: None`: a receipt alone).
#[derive(Debug)]
struct Pending {
    event: Option<ServerEvent>,
    receipt: Option<String>,
}

/// The server side of one STOMP session, sans I/O.
///
/// Feed it what the client sent and the time; take events, bytes and deadlines out.
///
/// * Input: [`receive`](Self::receive) (bytes of one or more WebSocket messages, frames
///   split anywhere), [`handle_timeout`](Self::handle_timeout) (the current time: call it
///   after each `receive` and when [`poll_timeout`](Self::poll_timeout) passes),
///   [`handle_transport_closed`](Self::handle_transport_closed).
/// * Output: [`poll_event`](Self::poll_event) until `None`, then
///   [`poll_transmit`](Self::poll_transmit) until 0 (each call is one WebSocket message:
///   a frame or a heart-beat), then [`poll_close_transport`](Self::poll_close_transport)
///   and [`poll_timeout`](Self::poll_timeout).
/// * Answers and sending: [`accept`](Self::accept), [`reject`](Self::reject),
///   [`send_message`](Self::send_message), [`error`](Self::error). Their frames join the
///   same output queue.
///
/// A frame's `receipt` is answered when the application has taken the frame's event and
/// moved on (the next `poll_event` or `poll_transmit`), so an application that refuses a
/// frame with [`error`](Self::error) right after taking its event never confirms it: the
/// ERROR carries the frame's `receipt-id` instead.
#[derive(Debug)]
pub struct ServerSession {
    config: ServerConfig,
    decoder: Decoder,
    phase: Phase,
    /// Frames that arrived after CONNECT, before the application answered it.
    pipelined: VecDeque<Frame>,
    events: VecDeque<Pending>,
    /// The receipt of the event the application took last.
    receipt_due: Option<String>,
    outbox: Outbox,
    timers: Timers,
    subscriptions: BTreeMap<String, Subscription>,
    /// Which subscription each unacknowledged message belongs to.
    unacked: BTreeMap<u64, String>,
    transactions: BTreeMap<String, Transaction>,
    transaction_bytes: usize,
    next_message_id: u64,
    /// The time of the first `handle_timeout` call: the connect timeout runs from there.
    started: Option<Duration>,
    /// Frames received, by command (indexes of [`Command::ALL`]).
    received: [u64; Command::ALL.len()],
}

impl ServerSession {
    /// A session waiting for the client's CONNECT.
    pub fn new(config: ServerConfig) -> ServerSession {
        ServerSession {
            decoder: Decoder::new(config.limits),
            config,
            phase: Phase::AwaitingConnect,
            pipelined: VecDeque::new(),
            events: VecDeque::new(),
            receipt_due: None,
            outbox: Outbox::default(),
            timers: Timers::default(),
            subscriptions: BTreeMap::new(),
            unacked: BTreeMap::new(),
            transactions: BTreeMap::new(),
            transaction_bytes: 0,
            next_message_id: 0,
            started: None,
            received: [0; Command::ALL.len()],
        }
    }

    /// The negotiated version, once the CONNECT is known.
    pub fn version(&self) -> Option<Version> {
        match self.phase {
            Phase::AwaitingAccept { version, .. } | Phase::Connected(version) => Some(version),
            _ => None,
        }
    }

    /// Whether the session is open (CONNECTED sent, not closed).
    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected(_))
    }

    /// Whether the session has ended (ERROR or RECEIPT may still be waiting to be sent).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// How many `command` frames the client sent so far (heart-beats are not frames), for
    /// monitoring.
    pub fn frames_received(&self, command: Command) -> u64 {
        Command::ALL
            .iter()
            .position(|&c| c == command)
            .map_or(0, |i| self.received[i])
    }

    /// The open subscriptions' ids and modes.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&str, AckMode)> {
        self.subscriptions
            .iter()
            .map(|(id, s)| (id.as_str(), s.ack))
    }

    /// The messages of `subscription` not yet acknowledged, oldest first.
    pub fn unacked(&self, subscription: &str) -> impl Iterator<Item = MessageId> + '_ {
        self.subscriptions
            .get(subscription)
            .into_iter()
            .flat_map(|s| s.unacked.iter().map(|&id| MessageId(id)))
    }

    /// Takes bytes the client sent: one or more WebSocket messages' payloads, in order.
    /// Frames may be split anywhere. Then call [`handle_timeout`](Self::handle_timeout)
    /// and drain [`poll_event`](Self::poll_event) and [`poll_transmit`](Self::poll_transmit).
    /// Bytes after the session closed are ignored.
    ///
    /// # Errors
    ///
    /// The client broke the protocol: the ERROR frame is queued, the session is closed (a
    /// [`ServerEvent::Closed`] follows the events of the frames before the bad one).
    pub fn receive(&mut self, mut input: &[u8]) -> Result<(), ProtocolError> {
        while !input.is_empty() && self.phase != Phase::Closed {
            self.timers.on_receive();
            let decoded = match self.decoder.decode(input) {
                Ok(d) => d,
                Err(e) => return Err(self.fail(ProtocolError::Frame(e), None)),
            };
            input = &input[decoded.consumed..];
            match decoded.status {
                Status::Partial => break,
                Status::Complete(Item::HeartBeat) => {}
                Status::Complete(Item::Frame(frame)) => {
                    if let Some(i) = Command::ALL.iter().position(|&c| c == frame.command()) {
                        self.received[i] += 1;
                    }
                    self.on_frame(frame)?;
                }
            }
        }
        Ok(())
    }

    /// Tells the session the current time (a `Duration` since any fixed origin), firing
    /// the heart-beat deadlines: a heart-beat may be queued for
    /// [`poll_transmit`](Self::poll_transmit), or the client declared dead.
    pub fn handle_timeout(&mut self, now: Duration) -> Option<Timeout> {
        let started = *self.started.get_or_insert(now);
        if let (Phase::AwaitingConnect, Some(limit)) = (self.phase, self.config.connect_timeout) {
            if now >= started.saturating_add(limit) {
                self.fail(ProtocolError::ConnectTimeout, None);
                return Some(Timeout::Connect);
            }
        }
        let due = self.timers.fire(now);
        if due.peer_dead {
            // "if, inside a time window of at least <n> milliseconds, the receiver did not
            // receive any new data, it MAY consider the connection as dead"
            self.fail(ProtocolError::HeartBeatTimeout, None);
            return Some(Timeout::PeerSilent);
        }
        if due.beat {
            if self.outbox.is_empty() {
                self.outbox.push_heart_beat();
            }
            self.timers.on_transmit();
        }
        None
    }

    /// The next heart-beat deadline, on the clock of
    /// [`handle_timeout`](Self::handle_timeout); `None` when there is none.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match (self.phase, self.config.connect_timeout) {
            // Before the first `handle_timeout` the clock is unknown: ask for it now.
            (Phase::AwaitingConnect, Some(limit)) => Some(
                self.started
                    .map_or(self.timers.now, |s| s.saturating_add(limit)),
            ),
            _ => self.timers.poll_timeout(),
        }
    }

    /// The next thing the client did. Taking it also lets the previous event's receipt go.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.flush_receipt();
        loop {
            let pending = self.events.pop_front()?;
            match pending.event {
                Some(event) => {
                    self.receipt_due = pending.receipt;
                    return Some(event);
                }
                None => self.write_receipt(pending.receipt),
            }
        }
    }

    /// Appends the next WebSocket message's worth of bytes to `out` — one frame, or a
    /// heart-beat (`"\n"`) — and returns how many; 0 when nothing waits.
    pub fn poll_transmit<B: BufMut>(&mut self, out: &mut B) -> usize {
        self.flush_receipt();
        while self.events.front().is_some_and(|p| p.event.is_none()) {
            let receipt = self.events.pop_front().and_then(|p| p.receipt);
            self.write_receipt(receipt);
        }
        let n = self.outbox.pop(out);
        if n > 0 {
            self.timers.on_transmit();
        }
        n
    }

    /// Whether to close the transport now: the session has ended and its last frame (an
    /// ERROR, or the RECEIPT of a DISCONNECT) has been taken by
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn poll_close_transport(&self) -> bool {
        self.phase == Phase::Closed
            && self.outbox.is_empty()
            && self.receipt_due.is_none()
            && self.events.iter().all(|p| p.receipt.is_none())
    }

    /// The transport closed (or failed). "Any started transactions which have not been
    /// committed will be implicitly aborted if the client sends a DISCONNECT frame or if
    /// the TCP connection fails for any reason." A [`ServerEvent::Closed`] follows.
    pub fn handle_transport_closed(&mut self) {
        if self.phase != Phase::Closed {
            self.close(CloseReason::TransportClosed, None);
        }
        self.outbox.clear();
        self.receipt_due = None;
        for p in &mut self.events {
            p.receipt = None;
        }
    }

    /// Accepts the pending CONNECT: sends CONNECTED with the negotiated `version`, the
    /// server's `heart-beat` and `headers` (e.g. `session`, `server`), and starts the
    /// heart-beats. Frames the client sent meanwhile are processed now.
    ///
    /// # Errors
    ///
    /// [`UsageError::NoConnectPending`] if no CONNECT waits for an answer;
    /// [`UsageError::Encode`] if a header cannot be written in CONNECTED (CR, LF, or a
    /// colon in a name).
    pub fn accept(&mut self, headers: &[(&str, &str)]) -> Result<(), UsageError> {
        let Phase::AwaitingAccept {
            version,
            heart_beat,
        } = self.phase
        else {
            return Err(UsageError::NoConnectPending);
        };
        let mut connected = Frame::new(Command::Connected)
            .with_header("version", version.as_str())
            .with_header("heart-beat", &self.config.heart_beat.to_value());
        for (name, value) in headers {
            connected.push_header(name, value);
        }
        self.outbox.push_frame(&connected)?;
        self.phase = Phase::Connected(version);
        let (send, receive) = self.config.heart_beat.negotiate(heart_beat);
        self.timers
            .start(send, receive, self.config.heart_beat_margin_percent);
        while let Some(frame) = self.pipelined.pop_front() {
            if self.on_frame(frame).is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Rejects the pending CONNECT (bad credentials, unknown host): "The server SHOULD
    /// respond back with an ERROR frame explaining why the connection was rejected and then
    /// close the connection." `message` becomes the ERROR's `message` header.
    ///
    /// # Errors
    ///
    /// [`UsageError::NoConnectPending`] if no CONNECT waits for an answer.
    pub fn reject(&mut self, message: &str) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::AwaitingAccept { .. }) {
            return Err(UsageError::NoConnectPending);
        }
        self.fail(ProtocolError::Rejected(message.into()), None);
        Ok(())
    }

    /// Ends the session with an ERROR frame whose `message` header is `message` ("If the
    /// server cannot successfully process the SEND frame for any reason, the server MUST
    /// send the client an ERROR frame and then close the connection."). If the event taken
    /// last had a receipt, the ERROR carries it as `receipt-id`.
    ///
    /// # Errors
    ///
    /// [`UsageError::Closed`] if the session has already ended.
    pub fn error(&mut self, message: &str) -> Result<(), UsageError> {
        if self.phase == Phase::Closed {
            return Err(UsageError::Closed);
        }
        let receipt = self.receipt_due.take();
        self.fail(ProtocolError::Rejected(message.into()), receipt);
        Ok(())
    }

    /// Sends a MESSAGE on subscription `subscription`: the `destination` header and the
    /// user headers and body of `message` (a client's SEND frame can be passed as is),
    /// plus a new `message-id`, the `subscription` and, if the subscription's mode needs
    /// acknowledgments, an `ack` header. `content-length`, `receipt` and `transaction`
    /// headers of `message` are not copied. Returns the message's id, which
    /// [`ServerEvent::Ack`] and [`ServerEvent::Nack`] report.
    ///
    /// # Errors
    ///
    /// [`UsageError::NotConnected`] / [`UsageError::Closed`] outside an open session,
    /// [`UsageError::UnknownSubscription`], [`UsageError::MissingHeader`] without a
    /// `destination`, [`UsageError::Encode`] for a header with an empty name.
    pub fn send_message(
        &mut self,
        subscription: &str,
        message: &Frame,
    ) -> Result<MessageId, UsageError> {
        let version = match self.phase {
            Phase::Connected(v) => v,
            Phase::Closed => return Err(UsageError::Closed),
            _ => return Err(UsageError::NotConnected),
        };
        let Some(ack) = self.subscriptions.get(subscription).map(|s| s.ack) else {
            return Err(UsageError::UnknownSubscription(subscription.into()));
        };
        let id = self.next_message_id;
        let frame = message_frame(
            message,
            subscription,
            MessageId(id),
            ack != AckMode::Auto && version >= Version::V1_2,
        )?;
        self.flush_receipt();
        self.outbox.push_frame(&frame)?;
        self.next_message_id += 1;
        if let Some(sub) = self
            .subscriptions
            .get_mut(subscription)
            .filter(|_| ack != AckMode::Auto)
        {
            sub.unacked.push_back(id);
            self.unacked.insert(id, subscription.into());
        }
        Ok(MessageId(id))
    }

    /// Whether MESSAGEs on `subscription` carry an `ack` header (a `client` or
    /// `client-individual` subscription of a STOMP 1.2 session): the `ack` argument of
    /// [`message_frame`] for it. `None` if no such subscription is open.
    pub fn needs_ack_header(&self, subscription: &str) -> Option<bool> {
        let ack = self.subscriptions.get(subscription)?.ack;
        Some(ack != AckMode::Auto && self.version() >= Some(Version::V1_2))
    }

    /// Records a MESSAGE the application encoded itself — with [`message_frame`], once for
    /// every session whose subscription has the same id (a broker's fan-out) — and will
    /// write right after the bytes [`poll_transmit`](Self::poll_transmit) yields now.
    /// `id` must be greater than every id this session sent before (a broker-wide counter
    /// is); the session tracks it for ACK and NACK like [`send_message`](Self::send_message).
    ///
    /// Drain [`poll_transmit`](Self::poll_transmit) before writing the frame: the receipt
    /// of the event taken last goes before it.
    ///
    /// # Errors
    ///
    /// As [`send_message`](Self::send_message); [`UsageError::StaleMessageId`] if `id` is
    /// not greater than the last id sent. Nothing is recorded then: do not write the frame.
    pub fn record_message(&mut self, subscription: &str, id: MessageId) -> Result<(), UsageError> {
        match self.phase {
            Phase::Connected(_) => {}
            Phase::Closed => return Err(UsageError::Closed),
            _ => return Err(UsageError::NotConnected),
        }
        let Some(sub) = self.subscriptions.get_mut(subscription) else {
            return Err(UsageError::UnknownSubscription(subscription.into()));
        };
        if id.0 < self.next_message_id {
            return Err(UsageError::StaleMessageId);
        }
        if sub.ack != AckMode::Auto {
            sub.unacked.push_back(id.0);
            self.unacked.insert(id.0, subscription.into());
        }
        self.next_message_id = id.0.saturating_add(1);
        self.flush_receipt();
        self.timers.on_transmit();
        Ok(())
    }

    /// Takes over the receipt of the event taken last: the session will not send it, and
    /// the application answers it with [`send_receipt`](Self::send_receipt) once the
    /// frame is really processed (a relay, once the external broker sent its own RECEIPT).
    pub fn take_receipt(&mut self) -> Option<String> {
        self.receipt_due.take()
    }

    /// Sends a RECEIPT for a receipt taken with [`take_receipt`](Self::take_receipt).
    ///
    /// # Errors
    ///
    /// [`UsageError::NotConnected`] / [`UsageError::Closed`] outside an open session.
    pub fn send_receipt(&mut self, receipt_id: &str) -> Result<(), UsageError> {
        match self.phase {
            Phase::Connected(_) => {}
            Phase::Closed => return Err(UsageError::Closed),
            _ => return Err(UsageError::NotConnected),
        }
        self.flush_receipt();
        self.write_receipt(Some(receipt_id.into()));
        Ok(())
    }

    /// Sends the receipt of the event taken last, if it had one.
    fn flush_receipt(&mut self) {
        let receipt = self.receipt_due.take();
        self.write_receipt(receipt);
    }

    /// "A RECEIPT frame MUST include the header receipt-id, where the value is the value of
    /// the receipt header in the frame which this is a receipt for."
    fn write_receipt(&mut self, receipt: Option<String>) {
        if let Some(id) = receipt {
            let frame = Frame::new(Command::Receipt).with_header("receipt-id", &id);
            // Any string can be written in an escaped frame.
            let _ = self.outbox.push_frame(&frame);
        }
    }

    /// Queues an event (and the receipt that follows it).
    fn push_event(&mut self, event: Option<ServerEvent>, receipt: Option<String>) {
        if event.is_some() || receipt.is_some() {
            self.events.push_back(Pending { event, receipt });
        }
    }

    /// Ends the session on a protocol error: the ERROR frame (with `receipt-id` when the
    /// offending frame asked for a receipt) is the last frame queued.
    fn fail(&mut self, error: ProtocolError, receipt: Option<String>) -> ProtocolError {
        let mut frame = Frame::new(Command::Error);
        if let Some(r) = &receipt {
            frame.push_header("receipt-id", r);
        }
        if matches!(error, ProtocolError::UnsupportedVersion) {
            // "If the client and server do not share any common protocol versions, then
            // the server MUST respond with an ERROR frame similar to the following and
            // then close the connection: ERROR / version:1.2,2.1 / content-type:text/plain
            // / Supported protocol versions are 1.2 2.1"
            frame.push_header("version", "1.1,1.2");
        }
        frame.push_header("message", &error.message().replace(['\r', '\n'], " "));
        let detail = alloc::format!("{error}");
        frame = frame
            .with_header("content-type", "text/plain")
            .with_body(Bytes::from(detail.replace('\0', " ").into_bytes()));
        // Receipts not yet sent never will be: nothing follows an ERROR.
        self.receipt_due = None;
        for p in &mut self.events {
            p.receipt = None;
        }
        let _ = self.outbox.push_frame(&frame);
        self.close(CloseReason::Error(error.clone()), None);
        error
    }

    /// Ends the session: aborts transactions, stops the timers, reports the unacknowledged
    /// messages.
    fn close(&mut self, reason: CloseReason, receipt: Option<String>) {
        self.phase = Phase::Closed;
        self.transactions.clear();
        self.transaction_bytes = 0;
        self.pipelined.clear();
        self.timers.stop();
        let mut unacked = Vec::new();
        for (id, sub) in core::mem::take(&mut self.subscriptions) {
            unacked.extend(sub.unacked.into_iter().map(|m| (id.clone(), MessageId(m))));
        }
        self.unacked.clear();
        self.push_event(Some(ServerEvent::Closed { reason, unacked }), receipt);
    }
}

/// The MESSAGE frame for `message` on `subscription`: its `destination` and user headers
/// and body, with `message-id` and `subscription` (and `ack`, when `ack` is set: see
/// [`ServerSession::needs_ack_header`]). `content-length`, `receipt` and `transaction` headers
/// of `message` are not copied. [`ServerSession::send_message`] sends exactly this frame;
/// a broker builds it once for all sessions whose subscriptions share an id and records it
/// in each with [`ServerSession::record_message`].
///
/// # Errors
///
/// [`UsageError::MissingHeader`] without a `destination`.
pub fn message_frame(
    message: &Frame,
    subscription: &str,
    id: MessageId,
    ack: bool,
) -> Result<Frame, UsageError> {
    let destination = message
        .header("destination")
        .ok_or(UsageError::MissingHeader("destination"))?;
    let id_text = itoa(id.0);
    // "The MESSAGE frame MUST include a destination header ... a message-id header with a
    // unique identifier for that message and a subscription header matching the
    // identifier of the subscription that is receiving the message. If the message is
    // received from a subscription that requires explicit acknowledgment (either client
    // or client-individual mode) then the MESSAGE frame MUST also contain an ack header"
    let mut frame = Frame::new(Command::Message)
        .with_header("destination", destination)
        .with_header("message-id", &id_text)
        .with_header("subscription", subscription);
    if ack {
        frame.push_header("ack", &id_text);
    }
    const OURS: [&str; 7] = [
        "destination",
        "message-id",
        "subscription",
        "ack",
        "content-length",
        "receipt",
        "transaction",
    ];
    for (name, value) in message.headers() {
        if !OURS.contains(&name) {
            frame.push_header(name, value);
        }
    }
    if !message.body().is_empty() {
        frame = frame.with_body(message.body().clone());
    }
    Ok(frame)
}
