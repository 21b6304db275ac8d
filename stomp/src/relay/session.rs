//! One client session's connection to the external broker.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::BufMut;

use super::RelayConfig;
use crate::client::{ClientEvent, ClientSession};
use crate::error::UsageError;
use crate::frame::{Command, Frame, itoa};
use crate::server::{AckMode, MessageId};

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
/// [module docs](super).
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
        let mut headers = super::forwarded_headers(frame);
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
