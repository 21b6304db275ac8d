//! The broker relay, sans I/O: Spring's "external broker" (§4.4.10-11) as two state
//! machines over [`ClientSession`]s toward a real STOMP broker (RabbitMQ, ActiveMQ, ...).
//!
//! * [`RelaySession`]: one per client session, opened when the client's CONNECT is
//!   accepted by the application. It logs in with the relay's own `login`/`passcode` and
//!   the virtual host as `host`, forwards the client's SUBSCRIBE/UNSUBSCRIBE/SEND/ACK/NACK
//!   for broker destinations, hands back the broker's MESSAGEs for the client's
//!   subscriptions, and reports the broker's RECEIPTs for the client's receipts. When the
//!   broker is lost (ERROR, closed transport, silent past the heart-beat, no CONNECTED in
//!   time) it reports [`RelayEvent::Lost`]: the client gets an ERROR and is closed.
//! * [`SystemConnection`]: the one shared connection for messages the application
//!   publishes itself; it reconnects with exponential backoff and tells whether the broker
//!   is available. Each publish is confirmed by the broker's RECEIPT or failed when the
//!   connection is lost, so nothing the application was told is sent can silently vanish.
//!
//! Like the sessions they wrap, neither reads a clock or touches a socket: the caller
//! passes bytes and the time in, and takes bytes, events and the next deadline out
//! (`receive`, `handle_timeout`, `handle_transport_closed` / `poll_event`, `poll_transmit`,
//! `poll_timeout`).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::BufMut;

use crate::client::{ClientConfig, ClientEvent, ClientSession};
use crate::error::UsageError;
use crate::frame::{Command, Frame, itoa};
use crate::server::{AckMode, MessageId};
use crate::session::HeartBeat;

/// How the relay reaches the external broker.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayConfig {
    /// The `host` header: RabbitMQ takes it as the virtual host (default `/`).
    pub virtual_host: String,
    /// The relay's `login` for every broker connection (default `guest`).
    pub login: Option<String>,
    /// The relay's `passcode` (default `guest`).
    pub passcode: Option<String>,
    /// The heart-beats offered to the broker (default 10 000 ms both ways).
    pub heart_beat: HeartBeat,
    /// How long the broker may take to answer CONNECT (default 10 s).
    pub connect_timeout: Duration,
    /// How long to wait for the broker's RECEIPT of a DISCONNECT (default 5 s).
    pub disconnect_timeout: Duration,
    /// `prefetch-count` on subscriptions that need acknowledgments: how many unacknowledged
    /// messages the broker may send one subscription (default 1000; RabbitMQ honours it).
    pub prefetch: u32,
    /// The system connection's first reconnection delay (default 500 ms), doubled after
    /// each failure up to `reconnect_max` (default 5 s).
    pub reconnect_initial: Duration,
    /// The longest reconnection delay.
    pub reconnect_max: Duration,
    /// The most publishes the system connection keeps waiting for their RECEIPT
    /// (default 4096).
    pub max_pending_publishes: usize,
}

impl Default for RelayConfig {
    fn default() -> RelayConfig {
        RelayConfig {
            virtual_host: "/".into(),
            login: Some("guest".into()),
            passcode: Some("guest".into()),
            heart_beat: HeartBeat {
                send_ms: 10_000,
                receive_ms: 10_000,
            },
            connect_timeout: Duration::from_secs(10),
            disconnect_timeout: Duration::from_secs(5),
            prefetch: 1000,
            reconnect_initial: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(5),
            max_pending_publishes: 4096,
        }
    }
}

impl RelayConfig {
    /// Sets the relay's credentials.
    #[must_use]
    pub fn credentials(mut self, login: &str, passcode: &str) -> RelayConfig {
        self.login = Some(login.into());
        self.passcode = Some(passcode.into());
        self
    }

    /// Sets the virtual host.
    #[must_use]
    pub fn virtual_host(mut self, host: &str) -> RelayConfig {
        self.virtual_host = host.into();
        self
    }

    /// Sets the heart-beats offered to the broker.
    #[must_use]
    pub fn heart_beat(mut self, heart_beat: HeartBeat) -> RelayConfig {
        self.heart_beat = heart_beat;
        self
    }

    /// Sets the system connection's reconnection delays.
    #[must_use]
    pub fn reconnect(mut self, initial: Duration, max: Duration) -> RelayConfig {
        self.reconnect_initial = initial;
        self.reconnect_max = max.max(initial);
        self
    }

    fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new(&self.virtual_host).heart_beat(self.heart_beat);
        config.login = self.login.clone();
        config.passcode = self.passcode.clone();
        config
    }
}

/// What a [`RelaySession`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelayEvent {
    /// The broker accepted the relay's CONNECT: accept the client now.
    Connected,
    /// A MESSAGE for the client's subscription `subscription`: send it with
    /// [`ServerSession::send_message`](crate::ServerSession::send_message), then tell the
    /// relay its id with [`RelaySession::delivered`].
    Message {
        /// The client's subscription id.
        subscription: String,
        /// The broker's MESSAGE frame.
        message: Frame,
    },
    /// The broker processed the frame that carried the client's receipt `0`: send the
    /// client its RECEIPT.
    Receipt(String),
    /// The relay's DISCONNECT was confirmed (or timed out); the client's DISCONNECT
    /// receipt, if it asked for one, can go now.
    Disconnected {
        /// The client's DISCONNECT receipt.
        receipt: Option<String>,
    },
    /// The broker is gone for this session: send the client an ERROR with this message
    /// and close it.
    Lost(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Connecting {
        deadline: Duration,
    },
    Connected,
    Disconnecting {
        deadline: Duration,
        receipt: Option<String>,
    },
    Closed,
}

#[derive(Debug)]
struct Relayed {
    broker_id: String,
    ack: AckMode,
}

/// One client session's connection to the external broker, sans I/O. See the
/// [module docs](self).
///
/// Order of calls, as for the other sessions: input ([`receive`](Self::receive) with the
/// broker's bytes, [`handle_timeout`](Self::handle_timeout),
/// [`handle_transport_closed`](Self::handle_transport_closed)) and the client's requests
/// ([`subscribe`](Self::subscribe), [`send`](Self::send), ...), then output
/// ([`poll_event`](Self::poll_event), [`poll_transmit`](Self::poll_transmit),
/// [`poll_timeout`](Self::poll_timeout), [`poll_close_transport`](Self::poll_close_transport)).
#[derive(Debug)]
pub struct RelaySession {
    client: ClientSession,
    phase: Phase,
    prefetch: u32,
    disconnect_timeout: Duration,
    now: Duration,
    subscriptions: BTreeMap<String, Relayed>,
    by_broker_id: BTreeMap<String, String>,
    /// For each message delivered to the client on a subscription that needs
    /// acknowledgments: its client subscription and what the broker needs to ACK it.
    acks: BTreeMap<u64, (String, Frame)>,
    /// Broker receipt id → the client's receipt id.
    receipts: BTreeMap<String, String>,
    next_receipt: u64,
    events: VecDeque<RelayEvent>,
}

impl RelaySession {
    /// A session whose CONNECT waits in [`poll_transmit`](Self::poll_transmit); `now` starts
    /// the connect deadline.
    ///
    /// # Errors
    ///
    /// [`UsageError::Encode`] if the configured CONNECT headers cannot be written.
    pub fn new(config: &RelayConfig, now: Duration) -> Result<RelaySession, UsageError> {
        // As Spring's relay does: the relay's own login and passcode for every client
        // session's broker connection (never the client's), the virtual host as `host`.
        let mut client = ClientSession::new(config.client_config())?;
        let _ = client.handle_timeout(now);
        Ok(RelaySession {
            client,
            phase: Phase::Connecting {
                deadline: now.saturating_add(config.connect_timeout),
            },
            prefetch: config.prefetch,
            disconnect_timeout: config.disconnect_timeout,
            now,
            subscriptions: BTreeMap::new(),
            by_broker_id: BTreeMap::new(),
            acks: BTreeMap::new(),
            receipts: BTreeMap::new(),
            next_receipt: 0,
            events: VecDeque::new(),
        })
    }

    /// Whether the broker accepted the session and it is not ending.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// The number of delivered messages waiting for the client's acknowledgment.
    pub fn unacked(&self) -> usize {
        self.acks.len()
    }

    /// Takes bytes the broker sent (a TCP stream: frames split anywhere).
    pub fn receive(&mut self, bytes: &[u8]) {
        if self.phase == Phase::Closed {
            return;
        }
        if let Err(e) = self.client.receive(bytes) {
            self.lose(format!("broker broke the protocol: {e}"));
            return;
        }
        let _ = self.client.handle_timeout(self.now);
        self.drain_client();
    }

    /// Tells the session the time: heart-beats with the broker, the connect and
    /// disconnect deadlines.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.now = self.now.max(now);
        if self.phase == Phase::Closed {
            return;
        }
        if self.client.handle_timeout(now).is_some() {
            self.lose("broker heart-beat timeout".into());
            return;
        }
        match &mut self.phase {
            Phase::Connecting { deadline } if now >= *deadline => {
                self.lose("broker did not answer CONNECT in time".into());
            }
            Phase::Disconnecting { deadline, receipt } if now >= *deadline => {
                let receipt = receipt.take();
                self.finish(receipt);
            }
            _ => {}
        }
    }

    /// The broker's transport closed (or could not be opened).
    pub fn handle_transport_closed(&mut self) {
        match &mut self.phase {
            Phase::Closed => {}
            Phase::Disconnecting { receipt, .. } => {
                let receipt = receipt.take();
                self.finish(receipt);
            }
            _ => self.lose("broker connection closed".into()),
        }
        self.client.handle_transport_closed();
    }

    /// Subscribes the client's subscription `id` to `destination` at the broker. A
    /// subscription that needs acknowledgments is `client-individual` at the broker (the
    /// client's cumulative ACKs arrive here already resolved to single messages) with the
    /// configured `prefetch-count`. With `receipt`, the client's receipt is reported once
    /// the broker confirmed the SUBSCRIBE.
    ///
    /// # Errors
    ///
    /// [`UsageError::NotConnected`] before [`RelayEvent::Connected`], [`UsageError::Closed`]
    /// after; [`UsageError::DuplicateSubscription`] for an id in use; [`UsageError::Encode`]
    /// for an unwritable header.
    pub fn subscribe(
        &mut self,
        id: &str,
        destination: &str,
        ack: AckMode,
        headers: &[(&str, &str)],
        receipt: Option<String>,
    ) -> Result<(), UsageError> {
        self.connected()?;
        if self.subscriptions.contains_key(id) {
            return Err(UsageError::DuplicateSubscription(id.into()));
        }
        let prefetch = itoa(u64::from(self.prefetch));
        let receipt_header = receipt.as_ref().map(|r| self.receipt_for(r));
        let mut extra: Vec<(&str, &str)> = headers
            .iter()
            .copied()
            .filter(|(n, _)| !matches!(*n, "id" | "destination" | "ack" | "receipt"))
            .collect();
        let broker_ack = if ack == AckMode::Auto {
            AckMode::Auto
        } else {
            extra.push(("prefetch-count", &prefetch));
            AckMode::ClientIndividual
        };
        if let Some(r) = &receipt_header {
            extra.push(("receipt", r));
        }
        let broker_id = self.client.subscribe(destination, broker_ack, &extra)?;
        self.by_broker_id.insert(broker_id.clone(), id.into());
        self.subscriptions
            .insert(id.into(), Relayed { broker_id, ack });
        Ok(())
    }

    /// Ends the client's subscription `id` at the broker (which redelivers its messages
    /// not acknowledged to other consumers).
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
    pub fn unsubscribe(&mut self, id: &str, receipt: Option<String>) -> Result<(), UsageError> {
        self.connected()?;
        let Some(sub) = self.subscriptions.remove(id) else {
            return Err(UsageError::UnknownSubscription(id.into()));
        };
        self.by_broker_id.remove(&sub.broker_id);
        self.acks.retain(|_, (s, _)| s != id);
        let receipt_header = receipt.as_ref().map(|r| self.receipt_for(r));
        let headers: Vec<(&str, &str)> = receipt_header
            .as_deref()
            .map(|r| ("receipt", r))
            .into_iter()
            .collect();
        self.client.unsubscribe(&sub.broker_id, &headers)
    }

    /// Forwards the client's SEND `frame` (its destination, user headers and body).
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe); [`UsageError::MissingHeader`] without a
    /// `destination`.
    pub fn send(&mut self, frame: &Frame, receipt: Option<String>) -> Result<(), UsageError> {
        self.connected()?;
        let destination = frame
            .header("destination")
            .ok_or(UsageError::MissingHeader("destination"))?;
        let receipt_header = receipt.as_ref().map(|r| self.receipt_for(r));
        let mut headers: Vec<(&str, &str)> = frame
            .headers()
            .filter(|(n, _)| {
                !matches!(
                    *n,
                    "destination" | "content-length" | "receipt" | "transaction"
                )
            })
            .collect();
        if let Some(r) = &receipt_header {
            headers.push(("receipt", r));
        }
        self.client
            .send(destination, &headers, frame.body().clone())
    }

    /// Records that the broker's `message` went to the client as message `id` on
    /// `subscription`, so that the client's ACK or NACK of `id` reaches the broker.
    pub fn delivered(&mut self, subscription: &str, id: MessageId, message: &Frame) {
        let Some(sub) = self.subscriptions.get(subscription) else {
            return;
        };
        if sub.ack == AckMode::Auto {
            return;
        }
        let mut ack = Frame::new(Command::Message);
        for name in ["ack", "message-id", "subscription"] {
            if let Some(v) = message.header(name) {
                ack.push_header(name, v);
            }
        }
        self.acks.insert(id.0, (subscription.into(), ack));
    }

    /// Settles the broker's `message` that will not reach the client (an interceptor
    /// dropped it), so that the broker does not redeliver it.
    pub fn discard(&mut self, subscription: &str, message: &Frame) {
        let needs_ack = self
            .subscriptions
            .get(subscription)
            .is_some_and(|s| s.ack != AckMode::Auto);
        if needs_ack && self.connected().is_ok() {
            let _ = self.client.ack(message, None);
        }
    }

    /// Forwards the client's ACK (`nack` false) or NACK of `messages` (as the client-facing
    /// session resolved them). Ids the broker never sent are ignored.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
    pub fn ack(&mut self, messages: &[MessageId], nack: bool) -> Result<(), UsageError> {
        self.connected()?;
        for id in messages {
            if let Some((_, frame)) = self.acks.remove(&id.0) {
                if nack {
                    self.client.nack(&frame, None)?;
                } else {
                    self.client.ack(&frame, None)?;
                }
            }
        }
        Ok(())
    }

    /// Ends the broker session gracefully (DISCONNECT, then its RECEIPT or the
    /// `disconnect_timeout`); [`RelayEvent::Disconnected`] gives `receipt` back then.
    pub fn disconnect(&mut self, receipt: Option<String>) {
        match self.phase {
            Phase::Connected => {
                if self.client.disconnect().is_ok() {
                    self.phase = Phase::Disconnecting {
                        deadline: self.now.saturating_add(self.disconnect_timeout),
                        receipt,
                    };
                } else {
                    self.finish(receipt);
                }
            }
            Phase::Connecting { .. } => self.finish(receipt),
            Phase::Disconnecting { .. } | Phase::Closed => {}
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RelayEvent> {
        self.events.pop_front()
    }

    /// Appends the next frame (or heart-beat) for the broker to `out`; its length, or 0.
    pub fn poll_transmit<B: BufMut>(&mut self, out: &mut B) -> usize {
        self.client.poll_transmit(out)
    }

    /// The next deadline (heart-beats, connect, disconnect).
    pub fn poll_timeout(&self) -> Option<Duration> {
        let phase = match &self.phase {
            Phase::Connecting { deadline } | Phase::Disconnecting { deadline, .. } => {
                Some(*deadline)
            }
            _ => None,
        };
        match (phase, self.client.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether to close the broker transport now.
    pub fn poll_close_transport(&self) -> bool {
        self.phase == Phase::Closed
    }

    fn connected(&self) -> Result<(), UsageError> {
        match self.phase {
            Phase::Connected => Ok(()),
            Phase::Connecting { .. } => Err(UsageError::NotConnected),
            _ => Err(UsageError::Closed),
        }
    }

    fn receipt_for(&mut self, client_receipt: &str) -> String {
        let id = format!("relay-{}", self.next_receipt);
        self.next_receipt += 1;
        self.receipts.insert(id.clone(), client_receipt.into());
        id
    }

    fn drain_client(&mut self) {
        while let Some(event) = self.client.poll_event() {
            match event {
                ClientEvent::Connected { .. } => {
                    if matches!(self.phase, Phase::Connecting { .. }) {
                        self.phase = Phase::Connected;
                        self.events.push_back(RelayEvent::Connected);
                    }
                }
                ClientEvent::Message(message) => {
                    let sub = message
                        .header("subscription")
                        .and_then(|s| self.by_broker_id.get(s));
                    // A MESSAGE may cross our UNSUBSCRIBE: the broker redelivers it.
                    if let Some(sub) = sub {
                        self.events.push_back(RelayEvent::Message {
                            subscription: sub.clone(),
                            message,
                        });
                    }
                }
                ClientEvent::Receipt { receipt_id } => {
                    if let Some(client) = self.receipts.remove(&receipt_id) {
                        self.events.push_back(RelayEvent::Receipt(client));
                    }
                }
                ClientEvent::Error(frame) => {
                    let message = frame
                        .header("message")
                        .unwrap_or("ERROR")
                        .replace(['\r', '\n'], " ");
                    self.lose(format!("broker error: {message}"));
                }
                ClientEvent::Disconnected => {
                    let receipt = match &mut self.phase {
                        Phase::Disconnecting { receipt, .. } => receipt.take(),
                        _ => None,
                    };
                    self.finish(receipt);
                }
            }
        }
    }

    fn lose(&mut self, message: String) {
        if self.phase == Phase::Closed {
            return;
        }
        if let Phase::Disconnecting { receipt, .. } = &mut self.phase {
            // The client is leaving anyway: its DISCONNECT receipt still goes.
            let receipt = receipt.take();
            self.finish(receipt);
            return;
        }
        self.phase = Phase::Closed;
        self.clear();
        self.events.push_back(RelayEvent::Lost(message));
    }

    fn finish(&mut self, receipt: Option<String>) {
        self.phase = Phase::Closed;
        self.clear();
        self.events.push_back(RelayEvent::Disconnected { receipt });
    }

    fn clear(&mut self) {
        self.subscriptions.clear();
        self.by_broker_id.clear();
        self.acks.clear();
        self.receipts.clear();
    }
}

/// Why the [`SystemConnection`] cannot take a message now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The broker is not connected.
    Unavailable,
    /// `max_pending_publishes` messages are waiting for their RECEIPT.
    TooManyPending,
}

impl core::fmt::Display for PublishError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PublishError::Unavailable => "broker unavailable",
            PublishError::TooManyPending => "too many messages waiting for the broker",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PublishError {}

/// What the [`SystemConnection`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SystemEvent {
    /// Open a transport to the broker now, then call
    /// [`handle_transport_open`](SystemConnection::handle_transport_open) or
    /// [`handle_transport_closed`](SystemConnection::handle_transport_closed).
    OpenTransport,
    /// The broker accepted the system session: it is available.
    Available,
    /// The broker is unavailable (why); publishes fail until [`SystemEvent::Available`].
    Unavailable(String),
    /// The broker confirmed the publish with this token.
    Confirmed(u64),
    /// The publish with this token may not have reached the broker (the connection was
    /// lost before its RECEIPT).
    Failed(u64),
}

#[derive(Debug)]
enum SystemPhase {
    /// Waiting to (re)connect at this time.
    Idle {
        retry_at: Duration,
    },
    /// The caller is opening the transport.
    Opening,
    /// CONNECT sent, CONNECTED awaited until the deadline.
    Connecting {
        session: ClientSession,
        deadline: Duration,
    },
    Connected {
        session: ClientSession,
    },
}

/// The relay's shared "system" connection, sans I/O: messages the application publishes,
/// and whether the broker is available. See the [module docs](self).
///
/// Drive it like a session: [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout), [`receive`](Self::receive) with the broker's
/// bytes, then [`poll_event`](Self::poll_event) (which may ask for a transport:
/// [`SystemEvent::OpenTransport`]) and [`poll_transmit`](Self::poll_transmit).
#[derive(Debug)]
pub struct SystemConnection {
    config: RelayConfig,
    phase: SystemPhase,
    backoff: Duration,
    now: Duration,
    /// Receipt id → publish token, oldest first.
    pending: BTreeMap<u64, u64>,
    next_receipt: u64,
    events: VecDeque<SystemEvent>,
    available: bool,
}

impl SystemConnection {
    /// A connection that asks for its first transport at the first
    /// [`handle_timeout`](Self::handle_timeout).
    pub fn new(config: RelayConfig) -> SystemConnection {
        SystemConnection {
            backoff: config.reconnect_initial,
            config,
            phase: SystemPhase::Idle {
                retry_at: Duration::ZERO,
            },
            now: Duration::ZERO,
            pending: BTreeMap::new(),
            next_receipt: 0,
            events: VecDeque::new(),
            available: false,
        }
    }

    /// Whether the broker accepted the system session (publishes are taken).
    pub fn is_available(&self) -> bool {
        self.available
    }

    /// The current reconnection delay.
    pub fn backoff(&self) -> Duration {
        self.backoff
    }

    /// Tells the connection the time: reconnection, connect deadline, heart-beats.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.now = self.now.max(now);
        let now = self.now;
        match &mut self.phase {
            SystemPhase::Idle { retry_at } if now >= *retry_at => {
                self.phase = SystemPhase::Opening;
                self.events.push_back(SystemEvent::OpenTransport);
            }
            SystemPhase::Connecting { deadline, .. } if now >= *deadline => {
                self.lose("broker did not answer CONNECT in time".into());
            }
            _ => {}
        }
        let silent = match &mut self.phase {
            SystemPhase::Connecting { session, .. } | SystemPhase::Connected { session } => {
                session.handle_timeout(now).is_some()
            }
            _ => false,
        };
        if silent {
            self.lose("broker heart-beat timeout".into());
        }
    }

    /// The transport asked for with [`SystemEvent::OpenTransport`] is open: CONNECT goes.
    pub fn handle_transport_open(&mut self) {
        if !matches!(self.phase, SystemPhase::Opening) {
            return;
        }
        match ClientSession::new(self.config.client_config()) {
            Ok(mut session) => {
                let _ = session.handle_timeout(self.now);
                self.phase = SystemPhase::Connecting {
                    session,
                    deadline: self.now.saturating_add(self.config.connect_timeout),
                };
            }
            Err(e) => self.lose(format!("cannot write CONNECT: {e}")),
        }
    }

    /// The transport could not be opened, or closed.
    pub fn handle_transport_closed(&mut self) {
        if !matches!(self.phase, SystemPhase::Idle { .. }) {
            self.lose("broker connection closed".into());
        }
    }

    /// Takes bytes the broker sent.
    pub fn receive(&mut self, bytes: &[u8]) {
        let now = self.now;
        let result = match &mut self.phase {
            SystemPhase::Connecting { session, .. } | SystemPhase::Connected { session } => {
                let r = session.receive(bytes);
                let _ = session.handle_timeout(now);
                r
            }
            _ => return,
        };
        if let Err(e) = result {
            self.lose(format!("broker broke the protocol: {e}"));
            return;
        }
        loop {
            let event = match &mut self.phase {
                SystemPhase::Connecting { session, .. } | SystemPhase::Connected { session } => {
                    session.poll_event()
                }
                _ => None,
            };
            let Some(event) = event else { break };
            match event {
                ClientEvent::Connected { .. } => {
                    if let SystemPhase::Connecting { .. } = self.phase {
                        let SystemPhase::Connecting { session, .. } =
                            core::mem::replace(&mut self.phase, SystemPhase::Opening)
                        else {
                            unreachable!()
                        };
                        self.phase = SystemPhase::Connected { session };
                        self.backoff = self.config.reconnect_initial;
                        self.available = true;
                        self.events.push_back(SystemEvent::Available);
                    }
                }
                ClientEvent::Receipt { receipt_id } => {
                    let id = receipt_id
                        .strip_prefix("system-")
                        .and_then(|n| n.parse::<u64>().ok());
                    if let Some(token) = id.and_then(|id| self.pending.remove(&id)) {
                        self.events.push_back(SystemEvent::Confirmed(token));
                    }
                }
                ClientEvent::Error(frame) => {
                    let message = frame
                        .header("message")
                        .unwrap_or("ERROR")
                        .replace(['\r', '\n'], " ");
                    self.lose(format!("broker error: {message}"));
                    break;
                }
                _ => {}
            }
        }
    }

    /// Publishes `message` (its destination, headers and body) with a RECEIPT request;
    /// `token` comes back in [`SystemEvent::Confirmed`] or [`SystemEvent::Failed`].
    ///
    /// # Errors
    ///
    /// [`PublishError::Unavailable`] while the broker is not connected,
    /// [`PublishError::TooManyPending`] past `max_pending_publishes`. Nothing was sent.
    pub fn publish(&mut self, token: u64, message: &Frame) -> Result<(), PublishError> {
        let SystemPhase::Connected { session } = &mut self.phase else {
            return Err(PublishError::Unavailable);
        };
        if self.pending.len() >= self.config.max_pending_publishes {
            return Err(PublishError::TooManyPending);
        }
        let Some(destination) = message.header("destination") else {
            return Err(PublishError::Unavailable);
        };
        let receipt = format!("system-{}", self.next_receipt);
        let mut headers: Vec<(&str, &str)> = message
            .headers()
            .filter(|(n, _)| {
                !matches!(
                    *n,
                    "destination" | "content-length" | "receipt" | "transaction"
                )
            })
            .collect();
        headers.push(("receipt", &receipt));
        if session
            .send(destination, &headers, message.body().clone())
            .is_err()
        {
            return Err(PublishError::Unavailable);
        }
        self.pending.insert(self.next_receipt, token);
        self.next_receipt += 1;
        Ok(())
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SystemEvent> {
        self.events.pop_front()
    }

    /// Appends the next frame (or heart-beat) for the broker to `out`; its length, or 0.
    pub fn poll_transmit<B: BufMut>(&mut self, out: &mut B) -> usize {
        match &mut self.phase {
            SystemPhase::Connecting { session, .. } | SystemPhase::Connected { session } => {
                session.poll_transmit(out)
            }
            _ => 0,
        }
    }

    /// Whether the current transport must be closed (the connection was lost and waits to
    /// reconnect).
    pub fn poll_close_transport(&self) -> bool {
        matches!(self.phase, SystemPhase::Idle { .. })
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match &self.phase {
            SystemPhase::Idle { retry_at } => Some(*retry_at),
            SystemPhase::Opening => None,
            SystemPhase::Connecting { session, deadline } => Some(
                session
                    .poll_timeout()
                    .map_or(*deadline, |t| t.min(*deadline)),
            ),
            SystemPhase::Connected { session } => session.poll_timeout(),
        }
    }

    fn lose(&mut self, reason: String) {
        for (_, token) in core::mem::take(&mut self.pending) {
            self.events.push_back(SystemEvent::Failed(token));
        }
        self.phase = SystemPhase::Idle {
            retry_at: self.now.saturating_add(self.backoff),
        };
        self.backoff = self
            .backoff
            .saturating_mul(2)
            .min(self.config.reconnect_max);
        if self.available {
            self.available = false;
        }
        self.events.push_back(SystemEvent::Unavailable(reason));
    }
}
