//! One session shared between the requests that carry it and the application's [`Socket`]:
//! the sans-IO [`Session`] behind a lock, the messages received for the application, and
//! who to wake when something changes.
//!
//! Lock order: the registry's lock, then a session's; never the other way round. No lock is
//! held across an `.await`.
//!
//! [`Socket`]: super::Socket

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Duration;

use rfc6455::Utf8Bytes;
use tokio::sync::Notify;

use crate::registry::Expiring;
use crate::session::{CloseCause, Event, Session};

/// What a received message costs in the inbox beyond its bytes (the `Utf8Bytes` and its
/// slot): an `xhr_send` of `["","",...]` is charged for every empty message.
pub(crate) const MESSAGE_OVERHEAD: usize = 64;

/// A session shared between tasks.
#[derive(Debug)]
pub(crate) struct Cell {
    state: Mutex<SessionState>,
    /// Sending requests (and a WebSocket's reader) wait here for room in the inbox. One
    /// waiter at a time — sending requests take `send_slot` first — so `notify_one`'s
    /// stored permit never loses a wake-up.
    pub(crate) inbox_room: Notify,
    /// Held by a sending request from before it reads its body until its messages are in
    /// the inbox: one body in memory per session, and messages in the order they came.
    pub(crate) send_slot: tokio::sync::Mutex<()>,
}

/// The state behind a [`Cell`]'s lock.
#[derive(Debug)]
pub(crate) struct SessionState {
    pub(crate) session: Session,
    /// Messages from the client the application has not taken yet.
    inbox: VecDeque<Utf8Bytes>,
    /// Their cost (bytes plus [`MESSAGE_OVERHEAD`] each).
    inbox_cost: usize,
    max_inbox: usize,
    /// The application waiting in `recv`.
    recv_waker: Option<Waker>,
    /// The application waiting for room in the session's outgoing queue.
    send_waker: Option<Waker>,
    /// The response body (or WebSocket) of the attached receiver, waiting for frames.
    receiver_waker: Option<Waker>,
    /// `Event::Closed` was seen: the session is not open any more.
    pub(crate) closed: Option<CloseCause>,
    /// `Event::Expired` was seen.
    pub(crate) expired: bool,
    /// `Event::Opened` was seen and the application's task is not started yet.
    pub(crate) opened: bool,
}

impl Cell {
    pub(crate) fn new(session: Session, max_inbox: usize) -> Arc<Cell> {
        Arc::new(Cell {
            state: Mutex::new(SessionState {
                session,
                inbox: VecDeque::new(),
                inbox_cost: 0,
                max_inbox,
                recv_waker: None,
                send_waker: None,
                receiver_waker: None,
                closed: None,
                expired: false,
                opened: false,
            }),
            inbox_room: Notify::new(),
            send_slot: tokio::sync::Mutex::new(()),
        })
    }

    /// The state. A panic elsewhere while it was held leaves it usable (nothing in it is
    /// half-updated by a panic: the session's methods do not panic).
    pub(crate) fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drains the session's events and wakes whoever they concern. Call after every input
    /// and output, before releasing the lock.
    pub(crate) fn pump(&self, state: &mut SessionState) {
        while let Some(event) = state.session.poll_event() {
            match event {
                Event::Opened => state.opened = true,
                Event::Closed(cause) => {
                    state.closed = Some(cause);
                    self.wake_all(state);
                }
                Event::Expired => {
                    state.expired = true;
                    state.closed.get_or_insert(CloseCause::TimedOut);
                    self.wake_all(state);
                }
            }
        }
    }

    fn wake_all(&self, state: &mut SessionState) {
        state.wake_app();
        state.wake_receiver();
        self.inbox_room.notify_one();
    }

    /// Takes the oldest received message, making room for senders.
    pub(crate) fn pop(&self, state: &mut SessionState) -> Option<Utf8Bytes> {
        let message = state.inbox.pop_front()?;
        let had_room = state.has_room();
        state.inbox_cost -= message.len() + MESSAGE_OVERHEAD;
        if !had_room && state.has_room() {
            self.inbox_room.notify_one();
        }
        Some(message)
    }
}

impl SessionState {
    /// Whether a sender may add messages: the inbox is below its bound (one payload may
    /// take it past the bound, by at most the bounded request body).
    pub(crate) fn has_room(&self) -> bool {
        self.inbox_cost < self.max_inbox
    }

    /// Adds messages the session accepted, in order, and wakes the application.
    pub(crate) fn push(&mut self, messages: impl IntoIterator<Item = Utf8Bytes>) {
        for message in messages {
            self.inbox_cost += message.len() + MESSAGE_OVERHEAD;
            self.inbox.push_back(message);
        }
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
    }

    /// Whether the session takes no more messages from the application.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.is_some() || self.expired
    }

    pub(crate) fn set_recv_waker(&mut self, waker: &Waker) {
        set(&mut self.recv_waker, waker);
    }

    pub(crate) fn set_send_waker(&mut self, waker: &Waker) {
        set(&mut self.send_waker, waker);
    }

    pub(crate) fn set_receiver_waker(&mut self, waker: &Waker) {
        set(&mut self.receiver_waker, waker);
    }

    /// The session has frames for its receiver (the application sent or closed).
    pub(crate) fn wake_receiver(&mut self) {
        if let Some(w) = self.receiver_waker.take() {
            w.wake();
        }
    }

    /// The receiver took the outgoing queue: an application waiting for room may go on.
    pub(crate) fn wake_sender(&mut self) {
        if let Some(w) = self.send_waker.take() {
            w.wake();
        }
    }

    fn wake_app(&mut self) {
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
        self.wake_sender();
    }
}

fn set(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

impl Expiring for Arc<Cell> {
    fn expires_at(&self) -> Option<Duration> {
        self.lock().session.expires_at()
    }

    fn handle_timeout(&mut self, now: Duration) {
        let mut state = self.lock();
        state.session.handle_timeout(now);
        self.pump(&mut state);
    }

    fn is_expired(&self) -> bool {
        self.lock().session.is_expired()
    }
}
