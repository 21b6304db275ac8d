//! The broker relay, sans I/O: Spring's "external broker" (§4.4.10-11) as two state
//! machines over [`ClientSession`](crate::ClientSession)s toward a real STOMP broker (RabbitMQ, ActiveMQ, ...).
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

mod session;
mod system;

use alloc::string::String;
use core::time::Duration;

use crate::client::ClientConfig;
use crate::frame::Frame;
use crate::session::HeartBeat;

pub use session::{RelayEvent, RelaySession};
pub use system::{PublishError, SystemConnection, SystemEvent};

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

    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new(&self.virtual_host).heart_beat(self.heart_beat);
        config.login = self.login.clone();
        config.passcode = self.passcode.clone();
        config
    }
}

/// The headers of a SEND that the relay passes on to the broker: all of them but those it
/// writes itself (`destination`, `content-length`, its own `receipt`), and `transaction`,
/// which is never passed to the broker.
fn forwarded_headers(frame: &Frame) -> alloc::vec::Vec<(&str, &str)> {
    frame
        .headers()
        .filter(|(name, _)| {
            !matches!(
                *name,
                "destination" | "content-length" | "receipt" | "transaction"
            )
        })
        .collect()
}
