//! What both session roles share: protocol versions, heart-beat negotiation and deadlines,
//! and the queue of encoded frames waiting for `poll_transmit`.

use alloc::collections::VecDeque;
use core::fmt;
use core::time::Duration;

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::frame::Frame;

/// A STOMP protocol version this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Version {
    /// STOMP 1.1: ACK and NACK name the message by `message-id` and `subscription`.
    V1_1,
    /// STOMP 1.2: ACK and NACK carry the `id` given in the MESSAGE's `ack` header.
    V1_2,
}

impl Version {
    /// The versions this crate supports, lowest first.
    pub const SUPPORTED: [Version; 2] = [Version::V1_1, Version::V1_2];

    /// The version's spelling in `accept-version` and `version` headers.
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    /// The supported version spelled `s`.
    pub fn from_str_exact(s: &str) -> Option<Version> {
        Version::SUPPORTED.into_iter().find(|v| v.as_str() == s)
    }

    /// The highest supported version in a comma separated `accept-version` list.
    ///
    /// "The protocol that will be used for the rest of the session will be the highest
    /// protocol version that both the client and server have in common." (STOMP 1.2,
    /// Protocol Negotiation)
    pub fn negotiate(accept_version: &str) -> Option<Version> {
        accept_version
            .split(',')
            .filter_map(Version::from_str_exact)
            .max()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `heart-beat` header: `<send_ms>,<receive_ms>`.
///
/// "The first number represents what the sender of the frame can do (outgoing
/// heart-beats): 0 means it cannot send heart-beats, otherwise it is the smallest number of
/// milliseconds between heart-beats that it can guarantee. The second number represents
/// what the sender of the frame would like to get (incoming heart-beats)" (STOMP 1.2,
/// Heart-beating).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HeartBeat {
    /// The smallest interval at which this side can send, in milliseconds (0: never).
    pub send_ms: u32,
    /// The interval at which this side would like to receive, in milliseconds (0: never).
    pub receive_ms: u32,
}

impl HeartBeat {
    /// "A missing heart-beat header MUST be treated the same way as a "heart-beat:0,0"
    /// header, that is: the party cannot send and does not want to receive heart-beats."
    pub const NONE: HeartBeat = HeartBeat {
        send_ms: 0,
        receive_ms: 0,
    };

    /// A header value: "When used, the heart-beat header MUST contain two positive
    /// integers separated by a comma." Digits only, each at most `u32::MAX`.
    pub fn parse(value: &str) -> Option<HeartBeat> {
        let (x, y) = value.split_once(',')?;
        let number = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<u32>().ok()
        };
        Some(HeartBeat {
            send_ms: number(x)?,
            receive_ms: number(y)?,
        })
    }

    /// The header value, `x,y`.
    pub fn to_value(self) -> alloc::string::String {
        alloc::format!("{},{}", self.send_ms, self.receive_ms)
    }

    /// The intervals agreed between `self` (this side) and `peer`: how often this side
    /// must send, and how often it will hear from the peer (`None`: never).
    ///
    /// "if `<cx>` is 0 (the client cannot send heart-beats) or `<sy>` is 0 (the server does
    /// not want to receive heart-beats) then there will be none; otherwise, there will be
    /// heart-beats every MAX(`<cx>`,`<sy>`) milliseconds. In the other direction, `<sx>` and
    /// `<cy>` are used the same way."
    pub fn negotiate(self, peer: HeartBeat) -> (Option<Duration>, Option<Duration>) {
        let every = |send: u32, receive: u32| {
            (send != 0 && receive != 0).then(|| Duration::from_millis(u64::from(send.max(receive))))
        };
        (
            every(self.send_ms, peer.receive_ms),
            every(peer.send_ms, self.receive_ms),
        )
    }
}

/// Heart-beat deadlines. Time is whatever the caller passes to `handle_timeout`; input is
/// timestamped at the next such call (so call it after each `receive`), output at the
/// latest one (so a beat may go out early, never late).
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    pub(crate) now: Duration,
    send_every: Option<Duration>,
    /// How long the peer may stay silent: its interval plus the margin.
    silence_limit: Option<Duration>,
    last_sent: Duration,
    last_received: Duration,
    activity: bool,
}

/// What [`Timers::fire`] found due.
pub(crate) struct Due {
    pub(crate) beat: bool,
    pub(crate) peer_dead: bool,
}

impl Timers {
    /// Starts the deadlines at the latest known time.
    pub(crate) fn start(
        &mut self,
        send_every: Option<Duration>,
        receive_every: Option<Duration>,
        margin_percent: u32,
    ) {
        self.send_every = send_every;
        // "because of timing inaccuracies, the receiver SHOULD be tolerant and take into
        // account an error margin"
        self.silence_limit =
            receive_every.map(|d| d.saturating_add(d.saturating_mul(margin_percent) / 100));
        self.last_sent = self.now;
        self.last_received = self.now;
        self.activity = false;
    }

    pub(crate) fn stop(&mut self) {
        self.send_every = None;
        self.silence_limit = None;
    }

    /// "any new data received over the network connection is an indication that the
    /// remote end is alive"
    pub(crate) fn on_receive(&mut self) {
        self.activity = true;
    }

    pub(crate) fn on_transmit(&mut self) {
        self.last_sent = self.now;
    }

    pub(crate) fn poll_timeout(&self) -> Option<Duration> {
        let send = self.send_every.map(|d| self.last_sent.saturating_add(d));
        let dead = self
            .silence_limit
            .map(|d| self.last_received.saturating_add(d));
        match (send, dead) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn fire(&mut self, now: Duration) -> Due {
        self.now = self.now.max(now);
        let now = self.now;
        if self.activity {
            self.activity = false;
            self.last_received = now;
        }
        let peer_dead = self
            .silence_limit
            .is_some_and(|d| now >= self.last_received.saturating_add(d));
        let beat = self
            .send_every
            .is_some_and(|d| now >= self.last_sent.saturating_add(d));
        Due { beat, peer_dead }
    }
}

/// Encoded frames waiting to be transmitted, one WebSocket message each.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    buf: BytesMut,
    lens: VecDeque<usize>,
}

impl Outbox {
    pub(crate) fn push_frame(&mut self, frame: &Frame) -> Result<(), EncodeError> {
        let before = self.buf.len();
        crate::encode::encode_into(frame, &mut self.buf)?;
        self.lens.push_back(self.buf.len() - before);
        Ok(())
    }

    /// "if the sender has no real STOMP frame to send, it MUST send an end-of-line (EOL)"
    pub(crate) fn push_heart_beat(&mut self) {
        self.buf.put_u8(b'\n');
        self.lens.push_back(1);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.lens.clear();
    }

    /// Appends the next frame (or heart-beat) to `out`; its length, or 0.
    pub(crate) fn pop<B: BufMut>(&mut self, out: &mut B) -> usize {
        let Some(len) = self.lens.pop_front() else {
            return 0;
        };
        let bytes = self.buf.split_to(len);
        out.put_slice(&bytes);
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_negotiation() {
        // The spec's example: "accept-version:1.0,1.1,2.0" → "version:1.1".
        assert_eq!(Version::negotiate("1.0,1.1,2.0"), Some(Version::V1_1));
        assert_eq!(Version::negotiate("1.2,1.1"), Some(Version::V1_2));
        assert_eq!(Version::negotiate("1.0"), None);
        assert_eq!(Version::negotiate("1.2 "), None);
        assert_eq!(Version::negotiate(""), None);
    }

    #[test]
    fn heart_beat_values() {
        assert_eq!(
            HeartBeat::parse("10,0"),
            Some(HeartBeat {
                send_ms: 10,
                receive_ms: 0
            })
        );
        for bad in ["", "1", "1,", ",1", "1, 2", "-1,2", "1,2,3", "4294967296,0"] {
            assert_eq!(HeartBeat::parse(bad), None, "{bad}");
        }
        let c = HeartBeat {
            send_ms: 1000,
            receive_ms: 2000,
        };
        let s = HeartBeat {
            send_ms: 3000,
            receive_ms: 500,
        };
        let ms = |n| Some(Duration::from_millis(n));
        // Server sends every MAX(sx, cy), hears every MAX(cx, sy).
        assert_eq!(s.negotiate(c), (ms(3000), ms(1000)));
        assert_eq!(c.negotiate(s), (ms(1000), ms(3000)));
        assert_eq!(s.negotiate(HeartBeat::NONE), (None, None));
        assert_eq!(c.to_value(), "1000,2000");
    }
}
