//! The relay's shared "system" connection, with reconnection backoff.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use core::time::Duration;

use bytes::BufMut;

use super::RelayConfig;
use crate::client::{ClientEvent, ClientSession};
use crate::frame::Frame;

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
/// and whether the broker is available. See the [module docs](super).
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
        let mut headers = super::forwarded_headers(message);
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
