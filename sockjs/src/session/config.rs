//! A session's deadlines and bounds.

use core::time::Duration;

/// Deadlines and bounds of one [`Session`](crate::Session). Set fields with the chainable
/// methods:
///
/// ```
/// use core::time::Duration;
/// let config = rfc6455_sockjs::SessionConfig::default()
///     .heartbeat_interval(Some(Duration::from_secs(10)))
///     .max_queued_bytes(256 * 1024);
/// # let _ = config;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    pub(crate) heartbeat_interval: Option<Duration>,
    pub(crate) disconnect_delay: Duration,
    pub(crate) streaming_budget: usize,
    pub(crate) max_queued_messages: usize,
    pub(crate) max_queued_bytes: usize,
}

/// sockjs-node's `heartbeat_delay`: 25 s. sockjs-protocol: "The server must send a heartbeat
/// frame every 25 seconds."
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(25);
/// sockjs-node's `disconnect_delay`: 5 s. sockjs-protocol: "The session must time out after 5
/// seconds of not having a receiving connection."
pub const DEFAULT_DISCONNECT_DELAY: Duration = Duration::from_secs(5);
/// sockjs-node's `response_limit`: 128 KiB per streaming response.
pub const DEFAULT_STREAMING_BUDGET: usize = 128 * 1024;
/// Messages waiting for a receiver, at most (sockjs-node has no bound).
pub const DEFAULT_MAX_QUEUED_MESSAGES: usize = 16 * 1024;
/// Encoded bytes waiting for a receiver, at most: 1 MiB, the WebSocket core's default
/// message size (sockjs-node has no bound).
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 1 << 20;

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            heartbeat_interval: Some(DEFAULT_HEARTBEAT_INTERVAL),
            disconnect_delay: DEFAULT_DISCONNECT_DELAY,
            streaming_budget: DEFAULT_STREAMING_BUDGET,
            max_queued_messages: DEFAULT_MAX_QUEUED_MESSAGES,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
        }
    }
}

impl SessionConfig {
    /// Send `h` to an attached receiver when nothing was written to it for this long
    /// (default 25 s; `None`: never).
    pub fn heartbeat_interval(mut self, interval: Option<Duration>) -> SessionConfig {
        self.heartbeat_interval = interval;
        self
    }

    /// Expire the session when no receiver has been attached for this long (default 5 s).
    pub fn disconnect_delay(mut self, delay: Duration) -> SessionConfig {
        self.disconnect_delay = delay;
        self
    }

    /// End a streaming response (`xhr_streaming`, `eventsource`, `htmlfile`) once this many
    /// bytes of wrapped frames went through it (default 128 KiB; the prelude does not count,
    /// as in sockjs-node). The frame that reaches the budget is still sent whole.
    pub fn streaming_budget(mut self, bytes: usize) -> SessionConfig {
        self.streaming_budget = bytes;
        self
    }

    /// The most messages waiting for a receiver (default 16384).
    pub fn max_queued_messages(mut self, messages: usize) -> SessionConfig {
        self.max_queued_messages = messages;
        self
    }

    /// The most bytes of escaped, comma-separated messages waiting for a receiver (default
    /// 1 MiB): the next `a[...]` frame is at most this plus 3 bytes.
    pub fn max_queued_bytes(mut self, bytes: usize) -> SessionConfig {
        self.max_queued_bytes = bytes;
        self
    }

    /// The configured heartbeat interval.
    pub fn get_heartbeat_interval(&self) -> Option<Duration> {
        self.heartbeat_interval
    }

    /// The configured disconnect delay.
    pub fn get_disconnect_delay(&self) -> Duration {
        self.disconnect_delay
    }

    /// The configured streaming budget, in bytes.
    pub fn get_streaming_budget(&self) -> usize {
        self.streaming_budget
    }
}
