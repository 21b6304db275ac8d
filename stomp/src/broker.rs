//! A simple in-memory broker, sans I/O: who subscribed to what, and where each message goes.
//!
//! Spring calls it the "simple broker": `/topic` destinations deliver every message to every
//! subscriber, `/queue` destinations deliver each message to one subscriber (round robin)
//! and hold messages while nobody subscribes. This is only the routing: plain data
//! structures, no sockets, no clock, no locks. Inputs are named for what they take
//! ([`subscribe`](SimpleBroker::subscribe), [`publish`](SimpleBroker::publish),
//! [`ack`](SimpleBroker::ack), [`nack`](SimpleBroker::nack),
//! [`remove_session`](SimpleBroker::remove_session), ...); what they cause comes out of
//! [`poll_output`](SimpleBroker::poll_output): a [`Route`] (one message, encoded once, for
//! one or many subscriptions) or a slow consumer to disconnect.
//!
//! * Ordering: messages leave in the order they were published, and every subscriber of a
//!   destination sees them in that order. Message ids are taken from one counter, so they
//!   increase along every session (what
//!   [`ServerSession::record_message`](crate::ServerSession::record_message) asks).
//! * Queue messages are never dropped once accepted: a message stays "in flight" until the
//!   subscriber acknowledges it (`auto` subscriptions: until the caller says it was
//!   written, [`settle_written`](SimpleBroker::settle_written)); NACK, UNSUBSCRIBE and a
//!   closed session put it back at the head of its queue, marked `redelivered:true`.
//! * Memory is bounded by [`BrokerConfig`]: messages held in queues (count per queue and
//!   bytes overall; past them [`publish`](SimpleBroker::publish) refuses, so the SEND is
//!   answered with ERROR rather than accepted and lost), and messages in flight per
//!   subscription (a queue skips a subscriber at its limit; a topic subscriber that keeps
//!   that many unacknowledged is a slow consumer, reported for disconnection).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use crate::frame::Frame;
use crate::server::{AckMode, MessageId};

/// A session, as the broker knows it: any number the caller picks, unique among the live
/// sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// How a destination delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Every subscriber gets every message; nobody subscribed: the message is dropped.
    Topic,
    /// Each message goes to one subscriber, round robin; held until someone subscribes.
    Queue,
}

/// The broker's prefixes and limits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerConfig {
    /// Destinations starting with one of these are topics (default `/topic/`).
    pub topic_prefixes: Vec<String>,
    /// Destinations starting with one of these are queues (default `/queue/`).
    pub queue_prefixes: Vec<String>,
    /// The most messages one queue holds while no subscriber can take them (default 10 000).
    pub max_queued_messages: usize,
    /// The most bytes all queues hold together (default 64 MiB): each message counts its
    /// encoded size plus 256 bytes for its bookkeeping (and its queue's), so that many tiny
    /// messages to many queue names are bounded too.
    pub max_queued_bytes: usize,
    /// The most messages one subscription may have in flight, unacknowledged (default
    /// 1000). A queue then delivers to its other subscribers; a topic subscriber that
    /// reaches it is a slow consumer.
    pub max_unacked: usize,
}

impl Default for BrokerConfig {
    fn default() -> BrokerConfig {
        BrokerConfig {
            topic_prefixes: alloc::vec!["/topic/".into()],
            queue_prefixes: alloc::vec!["/queue/".into()],
            max_queued_messages: 10_000,
            max_queued_bytes: 64 * 1024 * 1024,
            max_unacked: 1000,
        }
    }
}

impl BrokerConfig {
    /// Which kind of broker destination `destination` is, if any.
    pub fn kind(&self, destination: &str) -> Option<Kind> {
        let starts = |prefixes: &[String]| prefixes.iter().any(|p| destination.starts_with(&**p));
        if starts(&self.topic_prefixes) {
            Some(Kind::Topic)
        } else if starts(&self.queue_prefixes) {
            Some(Kind::Queue)
        } else {
            None
        }
    }

    /// Sets the number of messages a subscription may leave unacknowledged.
    #[must_use]
    pub fn max_unacked(mut self, n: usize) -> BrokerConfig {
        self.max_unacked = n;
        self
    }

    /// Sets the limits on messages waiting in queues.
    #[must_use]
    pub fn max_queued(mut self, messages: usize, bytes: usize) -> BrokerConfig {
        self.max_queued_messages = messages;
        self.max_queued_bytes = bytes;
        self
    }
}

/// Why the broker refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokerError {
    /// The destination is neither a topic nor a queue of this broker.
    NotBrokerDestination,
    /// The queue holds `max_queued_messages`, or all queues `max_queued_bytes`.
    QueueFull,
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BrokerError::NotBrokerDestination => "no broker destination",
            BrokerError::QueueFull => "queue full",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BrokerError {}

/// One subscription a [`Route`] delivers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The subscriber's session.
    pub session: SessionId,
    /// The subscription id (the MESSAGE's `subscription` header).
    pub subscription: Arc<str>,
    /// Whether the MESSAGE carries an `ack` header (as given to
    /// [`subscribe`](SimpleBroker::subscribe)).
    pub ack_header: bool,
    /// An `auto` subscription to a queue: tell the broker with
    /// [`settle_written`](SimpleBroker::settle_written) once the frame is written.
    pub settle_on_write: bool,
}

/// One message for one or more subscriptions. Targets with the same `subscription` and
/// `ack_header` receive byte-identical MESSAGE frames
/// ([`message_frame`](crate::server::message_frame)): encode once per such group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The `message-id` (and `ack`) of the MESSAGE.
    pub id: MessageId,
    /// The message: its `destination`, user headers and body (a SEND frame as received,
    /// or as the application built it).
    pub message: Arc<Frame>,
    /// Where it goes, in subscription order.
    pub targets: Vec<Target>,
}

/// What the broker's inputs caused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// A message to deliver.
    Route(Route),
    /// A subscriber of a topic left `max_unacked` messages unacknowledged: disconnect it
    /// (the broker already forgot its subscriptions, and put its queue messages back).
    SlowConsumer(SessionId),
}

#[derive(Debug)]
struct Subscription {
    destination: String,
    kind: Kind,
    id: Arc<str>,
    ack: AckMode,
    ack_header: bool,
    /// Queue messages delivered and not settled, oldest first.
    in_flight: VecDeque<(MessageId, Arc<Frame>)>,
    /// Topic messages delivered and not acknowledged (client modes).
    unacked: usize,
}

#[derive(Debug)]
struct Destination {
    kind: Kind,
    /// Subscribers in the order they subscribed.
    subscribers: Vec<(SessionId, Arc<str>)>,
    /// The round robin position (queues).
    next: usize,
    /// Messages waiting for a subscriber (queues).
    queued: VecDeque<Arc<Frame>>,
}

/// The simple broker's state. See the [module docs](self).
#[derive(Debug)]
pub struct SimpleBroker {
    config: BrokerConfig,
    destinations: BTreeMap<String, Destination>,
    sessions: BTreeMap<SessionId, BTreeMap<Arc<str>, Subscription>>,
    queued_bytes: usize,
    next_id: u64,
    output: VecDeque<Output>,
}

impl SimpleBroker {
    /// An empty broker.
    pub fn new(config: BrokerConfig) -> SimpleBroker {
        SimpleBroker {
            config,
            destinations: BTreeMap::new(),
            sessions: BTreeMap::new(),
            queued_bytes: 0,
            next_id: 1,
            output: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The next thing to do: a message to deliver, a slow consumer to disconnect.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    /// The number of messages waiting in queues.
    pub fn queued_messages(&self) -> usize {
        self.destinations.values().map(|d| d.queued.len()).sum()
    }

    /// The number of open subscriptions.
    pub fn subscription_count(&self) -> usize {
        self.sessions.values().map(BTreeMap::len).sum()
    }

    /// The destinations `session` subscribed to, by subscription id.
    pub fn subscriptions(&self, session: SessionId) -> impl Iterator<Item = (&str, &str)> {
        self.sessions
            .get(&session)
            .into_iter()
            .flat_map(|subs| subs.values().map(|s| (&*s.id, s.destination.as_str())))
    }

    /// Adds subscription `id` of `session` to `destination`. `ack_header` says whether its
    /// MESSAGEs carry an `ack` header
    /// ([`ServerSession::needs_ack_header`](crate::ServerSession::needs_ack_header)).
    /// Messages waiting in a queue are delivered now.
    ///
    /// # Errors
    ///
    /// [`BrokerError::NotBrokerDestination`]; nothing changed then.
    pub fn subscribe(
        &mut self,
        session: SessionId,
        id: &str,
        destination: &str,
        ack: AckMode,
        ack_header: bool,
    ) -> Result<(), BrokerError> {
        let kind = self
            .config
            .kind(destination)
            .ok_or(BrokerError::NotBrokerDestination)?;
        let id: Arc<str> = Arc::from(id);
        let subs = self.sessions.entry(session).or_default();
        // The session refuses a duplicate id ("Within the same connection, different
        // subscriptions MUST use different subscription identifiers"); should one come
        // anyway, the old subscription ends first.
        if subs.contains_key(&id) {
            self.unsubscribe(session, &id);
        }
        let dest = self
            .destinations
            .entry(destination.into())
            .or_insert_with(|| Destination {
                kind,
                subscribers: Vec::new(),
                next: 0,
                queued: VecDeque::new(),
            });
        dest.subscribers.push((session, id.clone()));
        self.sessions.entry(session).or_default().insert(
            id.clone(),
            Subscription {
                destination: destination.into(),
                kind,
                id,
                ack,
                ack_header,
                in_flight: VecDeque::new(),
                unacked: 0,
            },
        );
        if kind == Kind::Queue {
            self.dispatch(destination);
        }
        Ok(())
    }

    /// Ends subscription `id` of `session`. Its queue messages in flight go back to the
    /// head of their queue, in order.
    pub fn unsubscribe(&mut self, session: SessionId, id: &str) {
        let Some(sub) = self
            .sessions
            .get_mut(&session)
            .and_then(|subs| subs.remove(id))
        else {
            return;
        };
        if self.sessions.get(&session).is_some_and(BTreeMap::is_empty) {
            self.sessions.remove(&session);
        }
        self.detach(session, sub);
    }

    /// Forgets `session` (it closed): its subscriptions end as with
    /// [`unsubscribe`](Self::unsubscribe). "If the connection fails before a client sends
    /// an ACK frame for the message the server will assume the message has not been
    /// processed and MAY redeliver the message to another client." (STOMP 1.2, SUBSCRIBE
    /// ack Header)
    pub fn remove_session(&mut self, session: SessionId) {
        let Some(subs) = self.sessions.remove(&session) else {
            return;
        };
        for sub in subs.into_values() {
            self.detach(session, sub);
        }
    }

    /// Publishes `message` (its `destination` header names where). A topic routes it to
    /// every subscriber now; a queue to one subscriber, or holds it.
    ///
    /// # Errors
    ///
    /// [`BrokerError::NotBrokerDestination`] (also without a `destination`),
    /// [`BrokerError::QueueFull`]. The message was not accepted: refuse the SEND.
    pub fn publish(&mut self, message: Frame) -> Result<(), BrokerError> {
        let destination = message
            .header("destination")
            .ok_or(BrokerError::NotBrokerDestination)?;
        let kind = self
            .config
            .kind(destination)
            .ok_or(BrokerError::NotBrokerDestination)?;
        match kind {
            Kind::Topic => {
                let Some(dest) = self.destinations.get(destination) else {
                    return Ok(());
                };
                let mut targets = Vec::with_capacity(dest.subscribers.len());
                let mut slow = Vec::new();
                for (session, id) in &dest.subscribers {
                    let Some(sub) = self.sessions.get(session).and_then(|s| s.get(id)) else {
                        continue;
                    };
                    // "To prevent malicious clients from exploiting memory allocation in a
                    // server, servers MAY place maximum limits" (STOMP 1.2, Size Limits):
                    // here on what one subscription may leave unacknowledged.
                    if sub.ack != AckMode::Auto && sub.unacked >= self.config.max_unacked {
                        slow.push(*session);
                        continue;
                    }
                    targets.push(Target {
                        session: *session,
                        subscription: id.clone(),
                        ack_header: sub.ack_header,
                        settle_on_write: false,
                    });
                }
                for t in &targets {
                    if let Some(sub) = self.subscription_mut(t.session, &t.subscription) {
                        if sub.ack != AckMode::Auto {
                            sub.unacked += 1;
                        }
                    }
                }
                if !targets.is_empty() {
                    let id = self.take_id();
                    self.output.push_back(Output::Route(Route {
                        id,
                        message: Arc::new(message),
                        targets,
                    }));
                }
                for session in slow {
                    if self.sessions.contains_key(&session) {
                        self.remove_session(session);
                        self.output.push_back(Output::SlowConsumer(session));
                    }
                }
                Ok(())
            }
            Kind::Queue => {
                let size = held_size(&message);
                let destination = String::from(destination);
                let held = self
                    .destinations
                    .get(&destination)
                    .map_or(0, |d| d.queued.len());
                if held >= self.config.max_queued_messages
                    || self.queued_bytes + size > self.config.max_queued_bytes
                {
                    return Err(BrokerError::QueueFull);
                }
                let dest = self
                    .destinations
                    .entry(destination.clone())
                    .or_insert_with(|| Destination {
                        kind,
                        subscribers: Vec::new(),
                        next: 0,
                        queued: VecDeque::new(),
                    });
                dest.queued.push_back(Arc::new(message));
                self.queued_bytes += size;
                self.dispatch(&destination);
                Ok(())
            }
        }
    }

    /// Delivers `message` to the subscriptions of `session` whose destination is the
    /// message's, and to no one else: an application's reply to the sender.
    pub fn reply(&mut self, session: SessionId, message: Frame) {
        let Some(destination) = message.header("destination") else {
            return;
        };
        let Some(subs) = self.sessions.get(&session) else {
            return;
        };
        let targets: Vec<Target> = subs
            .values()
            .filter(|s| s.destination == destination)
            .map(|s| Target {
                session,
                subscription: s.id.clone(),
                ack_header: s.ack_header,
                settle_on_write: false,
            })
            .collect();
        if targets.is_empty() {
            return;
        }
        // A reply is delivered once, like a topic message: acknowledgments only count (and
        // on a queue subscription not even that: it is not a queue message).
        for t in &targets {
            if let Some(sub) = self.subscription_mut(session, &t.subscription) {
                if sub.ack != AckMode::Auto && sub.kind == Kind::Topic {
                    sub.unacked += 1;
                }
            }
        }
        let id = self.take_id();
        self.output.push_back(Output::Route(Route {
            id,
            message: Arc::new(message),
            targets,
        }));
    }

    /// The client acknowledged `messages` on subscription `id` (as
    /// [`ServerEvent::Ack`](crate::ServerEvent::Ack) reports them): they are done.
    pub fn ack(&mut self, session: SessionId, id: &str, messages: &[MessageId]) {
        self.settle(session, id, messages, false);
    }

    /// The client did not consume `messages`: queue messages go back to the head of their
    /// queue (marked `redelivered:true`); topic messages are dropped. "NACK is the opposite
    /// of ACK. It is used to tell the server that the client did not consume the message.
    /// The server can then either send the message to a different client, discard it, or
    /// put it in a dead letter queue." (STOMP 1.2, NACK)
    pub fn nack(&mut self, session: SessionId, id: &str, messages: &[MessageId]) {
        self.settle(session, id, messages, true);
    }

    /// A queue message for an `auto` subscription ([`Target::settle_on_write`]) was written
    /// to the client: it is done.
    pub fn settle_written(&mut self, session: SessionId, id: &str, message: MessageId) {
        self.settle(session, id, &[message], false);
    }

    fn settle(&mut self, session: SessionId, id: &str, messages: &[MessageId], requeue: bool) {
        let Some(sub) = self.subscription_mut(session, id) else {
            return;
        };
        let mut back = Vec::new();
        match sub.kind {
            Kind::Queue => {
                for m in messages {
                    if let Some(i) = sub.in_flight.iter().position(|(x, _)| x == m) {
                        if let Some((_, message)) = sub.in_flight.remove(i) {
                            back.push(message);
                        }
                    }
                }
            }
            Kind::Topic => sub.unacked = sub.unacked.saturating_sub(messages.len()),
        }
        let destination = sub.destination.clone();
        if requeue {
            self.requeue(&destination, back);
        }
        self.dispatch(&destination);
    }

    /// Removes a subscription from its destination; puts its queue messages back.
    fn detach(&mut self, session: SessionId, sub: Subscription) {
        if let Some(dest) = self.destinations.get_mut(&sub.destination) {
            if let Some(i) = dest
                .subscribers
                .iter()
                .position(|(s, id)| *s == session && *id == sub.id)
            {
                dest.subscribers.remove(i);
                if dest.next > i {
                    dest.next -= 1;
                }
            }
        }
        let back = sub.in_flight.into_iter().map(|(_, m)| m).collect();
        self.requeue(&sub.destination, back);
        self.dispatch(&sub.destination);
        if let Some(dest) = self.destinations.get(&sub.destination) {
            if dest.subscribers.is_empty() && dest.queued.is_empty() {
                self.destinations.remove(&sub.destination);
            }
        }
    }

    /// Puts messages back at the head of a queue, in their order, marked redelivered.
    /// They were accepted once: the queue limits do not apply.
    fn requeue(&mut self, destination: &str, messages: Vec<Arc<Frame>>) {
        if messages.is_empty() {
            return;
        }
        let Some(dest) = self.destinations.get_mut(destination) else {
            return;
        };
        for message in messages.into_iter().rev() {
            let message = if message.header("redelivered") == Some("true") {
                message
            } else {
                let mut m = Frame::clone(&message);
                m.push_header("redelivered", "true");
                Arc::new(m)
            };
            self.queued_bytes += held_size(&message);
            dest.queued.push_front(message);
        }
    }

    /// Hands queued messages to subscribers with room, round robin.
    fn dispatch(&mut self, destination: &str) {
        loop {
            let Some(dest) = self.destinations.get_mut(destination) else {
                return;
            };
            if dest.kind != Kind::Queue || dest.queued.is_empty() || dest.subscribers.is_empty() {
                return;
            }
            let n = dest.subscribers.len();
            let mut chosen = None;
            for k in 0..n {
                let i = (dest.next + k) % n;
                let (session, id) = &dest.subscribers[i];
                let room = self
                    .sessions
                    .get(session)
                    .and_then(|s| s.get(id))
                    .is_some_and(|s| s.in_flight.len() < self.config.max_unacked);
                if room {
                    chosen = Some(i);
                    break;
                }
            }
            let Some(i) = chosen else {
                return;
            };
            dest.next = (i + 1) % n;
            let (session, sub_id) = dest.subscribers[i].clone();
            let Some(message) = dest.queued.pop_front() else {
                return;
            };
            self.queued_bytes = self.queued_bytes.saturating_sub(held_size(&message));
            let id = self.take_id();
            let Some(sub) = self.subscription_mut(session, &sub_id) else {
                return;
            };
            sub.in_flight.push_back((id, message.clone()));
            let target = Target {
                session,
                subscription: sub_id,
                ack_header: sub.ack_header,
                settle_on_write: sub.ack == AckMode::Auto,
            };
            self.output.push_back(Output::Route(Route {
                id,
                message,
                targets: alloc::vec![target],
            }));
        }
    }

    fn subscription_mut(&mut self, session: SessionId, id: &str) -> Option<&mut Subscription> {
        self.sessions.get_mut(&session)?.get_mut(id)
    }

    /// "a message-id header with a unique identifier for that message" (STOMP 1.2,
    /// MESSAGE): one counter for the whole broker.
    fn take_id(&mut self) -> MessageId {
        let id = MessageId(self.next_id);
        self.next_id += 1;
        id
    }
}

/// What a held message costs, as counted against `max_queued_bytes`: its encoded size and
/// the bookkeeping around it (the `Arc`, the queue's entry, a destination's name).
fn held_size(message: &Frame) -> usize {
    message.encoded_len() + 256
}
