//! Per-connection limits, behaviour and deadlines.

use core::time::Duration;

/// Limits, behaviour and deadlines of one [`Connection`](crate::Connection).
///
/// The defaults are meant for a server exposed to the internet; see "Security" in the
/// README for the reasoning behind each. Set fields with the chainable methods:
///
/// ```
/// use core::time::Duration;
/// let config = rfc6455::Config::default()
///     .max_message_size(16 << 20)
///     .max_frame_size(16 << 20)
///     .ping_interval(Some(Duration::from_secs(30)))
///     .idle_timeout(Some(Duration::from_secs(90)));
/// # let _ = config;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) max_frame_size: u64,
    pub(crate) max_message_size: u64,
    pub(crate) max_fragments: u32,
    pub(crate) auto_pong: bool,
    pub(crate) fragment_size: Option<usize>,
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) close_timeout: Option<Duration>,
}

/// 1 MiB: large enough for typical application messages (JSON, STOMP frames, chat), small
/// enough that a thousand connections each holding a maximal message fit in about 1 GiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 1 << 20;
/// Fragments allowed per message: a 1 MiB message in 256-byte fragments, while a stream of
/// empty fragments is stopped after a few kilobytes of headers.
pub const DEFAULT_MAX_FRAGMENTS: u32 = 4096;

impl Default for Config {
    fn default() -> Config {
        Config {
            max_frame_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_fragments: DEFAULT_MAX_FRAGMENTS,
            auto_pong: true,
            fragment_size: None,
            ping_interval: None,
            idle_timeout: None,
            close_timeout: Some(Duration::from_secs(5)),
        }
    }
}

impl Config {
    /// The largest frame payload accepted, in bytes (default 1 MiB). A larger frame fails
    /// the connection with 1009 as soon as its header arrives.
    ///
    /// With permessage-deflate, what this protects is the inflated data, which
    /// `max_message_size` bounds while inflating; a compressed frame may be larger than
    /// this by DEFLATE's worst-case expansion (at most 14% + 5 bytes, zlib's
    /// `deflateBound`), so that an incompressible message within the limits is accepted
    /// whatever its compressed size.
    pub fn max_frame_size(mut self, bytes: u64) -> Config {
        self.max_frame_size = bytes;
        self
    }

    /// The largest message accepted, in bytes, summed over its fragments (default 1 MiB).
    /// A message that would exceed it fails the connection with 1009 as soon as the header
    /// of the frame that crosses the limit arrives. A compressed message (permessage-deflate)
    /// is held to this limit by its inflated size, while inflating, and its compressed
    /// frames to DEFLATE's worst-case expansion of it (see
    /// [`max_frame_size`](Config::max_frame_size)).
    pub fn max_message_size(mut self, bytes: u64) -> Config {
        self.max_message_size = bytes;
        self
    }

    /// The most frames one message may arrive in (default 4096); more fail with 1009.
    pub fn max_fragments(mut self, frames: u32) -> Config {
        self.max_fragments = frames;
        self
    }

    /// Whether to answer pings with pongs automatically (default `true`). When pings arrive
    /// faster than pongs can be sent, only the latest
    /// [`MAX_QUEUED_PONGS`](crate::MAX_QUEUED_PONGS) pongs are kept (RFC 6455 §5.5.3: "an
    /// endpoint MAY elect to send a Pong frame for only the most recently processed Ping").
    pub fn auto_pong(mut self, enabled: bool) -> Config {
        self.auto_pong = enabled;
        self
    }

    /// Split outgoing messages into frames of at most this many payload bytes (default:
    /// never split).
    pub fn fragment_size(mut self, bytes: Option<usize>) -> Config {
        self.fragment_size = bytes.map(|b| b.max(1));
        self
    }

    /// Send a ping when nothing has been received for this long (default: never).
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Config {
        self.ping_interval = interval;
        self
    }

    /// Close the connection with 1001 when nothing has been received for this long
    /// (default: never). Any frame counts, so with a shorter `ping_interval` a live peer's
    /// pongs keep the connection open.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Config {
        self.idle_timeout = timeout;
        self
    }

    /// How long to wait for the peer's Close frame after sending ours, and for a server to
    /// close the transport after the close handshake (default 5 s).
    pub fn close_timeout(mut self, timeout: Option<Duration>) -> Config {
        self.close_timeout = timeout;
        self
    }

    /// The configured largest frame payload, in bytes.
    pub fn get_max_frame_size(&self) -> u64 {
        self.max_frame_size
    }

    /// The configured largest message, in bytes.
    pub fn get_max_message_size(&self) -> u64 {
        self.max_message_size
    }
}
