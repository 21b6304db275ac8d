//! The simple broker behind a lock, and the bounded mailbox of each session.
//!
//! Routing happens under one `std::sync::Mutex` (never held across an `.await`): the broker
//! decides, each message is encoded once per group of identical frames
//! ([`PreparedMessage`]), and the frames are pushed into the subscribers' mailboxes — all
//! before the lock is released, so every subscriber sees the same order and message ids
//! increase along every session. Each session's task drains its mailbox onto its
//! WebSocket.
//!
//! Slow consumer policy: a mailbox holds at most `max_messages` frames and `max_bytes`
//! bytes. A session whose mailbox would overflow is removed from the broker at once (its
//! queue messages in flight go back to their queues, for other subscribers) and its task
//! sends it an ERROR (`slow consumer`) and closes it. Nothing else waits for it.

#[allow(unused_imports)]
use std::{borrow::ToOwned, boxed::Box, format, string::String, string::ToString, vec, vec::Vec};

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use rfc6455::{PreparedMessage, Utf8Bytes};
use tokio::sync::{Notify, watch};

use super::stats::Stats;
use crate::app::{Interceptor, Verdict};
use crate::broker::{Output, Route, SessionId, SimpleBroker};
use crate::frame::Frame;
use crate::server::{MessageId, message_frame};

/// How much a session's mailbox holds before its session counts as a slow consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxLimits {
    /// MESSAGE frames waiting to be written (default 4096).
    pub max_messages: usize,
    /// Their bytes (default 16 MiB).
    pub max_bytes: usize,
}

impl Default for MailboxLimits {
    fn default() -> MailboxLimits {
        MailboxLimits {
            max_messages: 4096,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// A MESSAGE frame for one subscription, encoded (possibly shared with other sessions).
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub(crate) id: MessageId,
    pub(crate) subscription: Arc<str>,
    pub(crate) frame: PreparedMessage,
    pub(crate) settle_on_write: bool,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Outgoing>,
    bytes: usize,
}

/// One session's incoming MESSAGE frames.
#[derive(Debug)]
pub(crate) struct Mailbox {
    queue: Mutex<Queue>,
    mail: Notify,
    killed: watch::Sender<bool>,
    limits: MailboxLimits,
}

impl Mailbox {
    pub(crate) fn new(limits: MailboxLimits) -> Mailbox {
        Mailbox {
            queue: Mutex::new(Queue::default()),
            mail: Notify::new(),
            killed: watch::channel(false).0,
            limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a frame; `false` if the mailbox is full (or already killed).
    fn push(&self, outgoing: Outgoing) -> bool {
        if *self.killed.borrow() {
            return false;
        }
        let mut q = self.lock();
        let size = outgoing.frame.frame().len();
        if q.items.len() >= self.limits.max_messages || q.bytes + size > self.limits.max_bytes {
            return false;
        }
        q.bytes += size;
        q.items.push_back(outgoing);
        drop(q);
        self.mail.notify_one();
        true
    }

    /// Takes everything queued.
    pub(crate) fn take(&self) -> VecDeque<Outgoing> {
        let mut q = self.lock();
        q.bytes = 0;
        std::mem::take(&mut q.items)
    }

    /// Waits until something is queued (a wake-up may find the mailbox empty).
    pub(crate) async fn wait(&self) {
        self.mail.notified().await;
    }

    /// Marks the session as a slow consumer and drops what it holds.
    pub(crate) fn kill(&self) {
        self.killed.send_replace(true);
        self.take();
    }

    pub(crate) fn is_killed(&self) -> bool {
        *self.killed.borrow()
    }

    /// Resolves once the session is killed.
    pub(crate) fn killed(&self) -> watch::Receiver<bool> {
        self.killed.subscribe()
    }
}

/// The simple broker and the mailboxes of connected sessions.
#[derive(Debug)]
pub(crate) struct Hub {
    pub(crate) broker: SimpleBroker,
    mailboxes: HashMap<SessionId, Arc<Mailbox>>,
}

impl Hub {
    pub(crate) fn new(broker: SimpleBroker) -> Hub {
        Hub {
            broker,
            mailboxes: HashMap::new(),
        }
    }

    pub(crate) fn register(&mut self, session: SessionId, mailbox: Arc<Mailbox>) {
        self.mailboxes.insert(session, mailbox);
    }

    pub(crate) fn unregister(&mut self, session: SessionId, stats: &Stats) {
        self.mailboxes.remove(&session);
        self.broker.remove_session(session);
        self.drain(&[], stats);
    }

    /// Moves everything the broker decided into mailboxes. Call after every broker input.
    pub(crate) fn drain(&mut self, interceptors: &[Box<dyn Interceptor>], stats: &Stats) {
        while let Some(output) = self.broker.poll_output() {
            match output {
                Output::Route(route) => self.deliver(route, interceptors, stats),
                Output::SlowConsumer(session) => {
                    if let Some(m) = self.mailboxes.get(&session) {
                        stats.slow_consumers.fetch_add(1, Relaxed);
                        m.kill();
                    }
                }
            }
        }
    }

    fn deliver(&mut self, route: Route, interceptors: &[Box<dyn Interceptor>], stats: &Stats) {
        let Route {
            id,
            mut message,
            targets,
        } = route;
        if !interceptors.is_empty() {
            let mut m = Frame::clone(&message);
            let verdict = interceptors
                .iter()
                .map(|i| i.outbound(&mut m))
                .find(|v| *v != Verdict::Continue);
            if verdict.is_some() {
                // Dropped on the way out: settled for everyone, so a queue does not hand it
                // out again.
                for t in &targets {
                    self.broker.ack(t.session, &t.subscription, &[id]);
                }
                return;
            }
            message = Arc::new(m);
        }
        // One encoding per distinct (subscription id, ack header): clients that number
        // their subscriptions alike (stompjs: sub-0, sub-1, ...) share one frame.
        let mut encoded: Vec<(Arc<str>, bool, PreparedMessage)> = Vec::new();
        for target in targets {
            let Some(mailbox) = self.mailboxes.get(&target.session) else {
                continue;
            };
            let found = encoded
                .iter()
                .find(|(s, a, _)| *s == target.subscription && *a == target.ack_header)
                .map(|e| e.2.clone());
            let frame = match found {
                Some(f) => f,
                None => {
                    let Some(f) = prepare(&message, &target.subscription, id, target.ack_header)
                    else {
                        continue;
                    };
                    encoded.push((target.subscription.clone(), target.ack_header, f.clone()));
                    f
                }
            };
            let outgoing = Outgoing {
                id,
                subscription: target.subscription.clone(),
                frame,
                settle_on_write: target.settle_on_write,
            };
            if !mailbox.push(outgoing) && !mailbox.is_killed() {
                // Slow consumer: out of the broker now; its task sends the ERROR.
                stats.slow_consumers.fetch_add(1, Relaxed);
                mailbox.kill();
                self.broker.remove_session(target.session);
            }
        }
    }
}

/// The MESSAGE frame as one WebSocket message: text when it is UTF-8 (what browsers'
/// STOMP clients expect), binary otherwise.
pub(crate) fn prepare(
    message: &Frame,
    subscription: &str,
    id: MessageId,
    ack: bool,
) -> Option<PreparedMessage> {
    let frame = message_frame(message, subscription, id, ack).ok()?;
    let mut out = BytesMut::with_capacity(frame.encoded_len());
    frame.encode(&mut out).ok()?;
    Some(websocket_message(out.freeze()))
}

pub(crate) fn websocket_message(bytes: Bytes) -> PreparedMessage {
    match Utf8Bytes::try_from(bytes.clone()) {
        Ok(text) => PreparedMessage::text(text),
        Err(_) => PreparedMessage::binary(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AckMode;
    use crate::broker::BrokerConfig;

    fn hub_with(sessions: &[(u64, &str)], limits: MailboxLimits) -> (Hub, Vec<Arc<Mailbox>>) {
        let mut hub = Hub::new(SimpleBroker::new(BrokerConfig::default()));
        let mut boxes = Vec::new();
        for &(s, sub) in sessions {
            let m = Arc::new(Mailbox::new(limits));
            hub.register(SessionId(s), m.clone());
            hub.broker
                .subscribe(SessionId(s), sub, "/topic/t", AckMode::Auto, false)
                .unwrap();
            boxes.push(m);
        }
        (hub, boxes)
    }

    #[test]
    fn one_encoding_per_subscription_id_shared_by_every_session() {
        let (mut hub, boxes) = hub_with(
            &[(1, "sub-0"), (2, "sub-0"), (3, "sub-0"), (4, "other")],
            MailboxLimits::default(),
        );
        let stats = Stats::default();
        let body = Bytes::from(vec![b'x'; 4096]);
        hub.broker
            .publish(crate::app::message("/topic/t", &[], body))
            .unwrap();
        hub.drain(&[], &stats);
        let frames: Vec<Bytes> = boxes
            .iter()
            .map(|m| {
                let mut q = m.take();
                assert_eq!(q.len(), 1);
                q.pop_front().unwrap().frame.frame().clone()
            })
            .collect();
        // The same buffer, not equal copies: encoded once for sessions 1-3.
        assert_eq!(frames[0].as_ptr(), frames[1].as_ptr());
        assert_eq!(frames[0].as_ptr(), frames[2].as_ptr());
        assert_ne!(frames[0].as_ptr(), frames[3].as_ptr());
        assert!(frames[3].windows(19).any(|w| w == b"subscription:other\n"));
    }

    #[test]
    fn an_overflowing_mailbox_kills_its_session_only() {
        let limits = MailboxLimits {
            max_messages: 2,
            max_bytes: 1 << 20,
        };
        let (mut hub, boxes) = hub_with(&[(1, "a"), (2, "b")], limits);
        let stats = Stats::default();
        for n in 0..3 {
            hub.broker
                .publish(crate::app::message(
                    "/topic/t",
                    &[],
                    Bytes::from(n.to_string()),
                ))
                .unwrap();
            hub.drain(&[], &stats);
            // Session 2 drains its mailbox as it goes; session 1 does not.
            assert_eq!(boxes[1].take().len(), 1);
        }
        assert!(boxes[0].is_killed());
        assert!(!boxes[1].is_killed());
        assert_eq!(stats.slow_consumers.load(Relaxed), 1);
        assert_eq!(hub.broker.subscriptions(SessionId(1)).count(), 0);
        assert_eq!(hub.broker.subscriptions(SessionId(2)).count(), 1);
    }
}
