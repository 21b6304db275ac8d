//! Counters for monitoring (Spring's `WebSocketMessageBrokerStats`).

#[allow(unused_imports)]
use std::{borrow::ToOwned, boxed::Box, format, string::String, string::ToString, vec, vec::Vec};

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::frame::Command;

const N: usize = Command::ALL.len();

/// The server's counters, updated as it runs; read them with
/// [`StompServer::stats`](super::StompServer::stats).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) sessions_open: AtomicU64,
    pub(crate) sessions_total: AtomicU64,
    pub(crate) frames_in: [AtomicU64; N],
    pub(crate) frames_out: [AtomicU64; N],
    pub(crate) heart_beats_out: AtomicU64,
    pub(crate) published: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) slow_consumers: AtomicU64,
    pub(crate) rejected_connects: AtomicU64,
    pub(crate) relay_connections: AtomicU64,
}

pub(crate) fn index(command: Command) -> usize {
    Command::ALL.iter().position(|&c| c == command).unwrap_or(0)
}

impl Stats {
    pub(crate) fn frame_out(&self, command: Command) {
        self.frames_out[index(command)].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let load = |a: &[AtomicU64; N]| {
            Command::ALL
                .iter()
                .zip(a)
                .map(|(&c, n)| (c, n.load(Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        StatsSnapshot {
            sessions_open: self.sessions_open.load(Relaxed),
            sessions_total: self.sessions_total.load(Relaxed),
            frames_in: load(&self.frames_in),
            frames_out: load(&self.frames_out),
            heart_beats_out: self.heart_beats_out.load(Relaxed),
            published: self.published.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            slow_consumers: self.slow_consumers.load(Relaxed),
            rejected_connects: self.rejected_connects.load(Relaxed),
            relay_connections: self.relay_connections.load(Relaxed),
        }
    }
}

/// The counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Sessions open now (WebSockets being served).
    pub sessions_open: u64,
    /// Sessions served since the start.
    pub sessions_total: u64,
    /// Frames received from clients, by command (commands never seen are left out).
    pub frames_in: Vec<(Command, u64)>,
    /// Frames sent to clients, by command (MESSAGE, RECEIPT, ERROR, CONNECTED).
    pub frames_out: Vec<(Command, u64)>,
    /// Heart-beats sent.
    pub heart_beats_out: u64,
    /// Messages accepted by the broker (client SENDs to broker destinations, handler and
    /// publisher messages; with a relay: forwarded to the external broker).
    pub published: u64,
    /// MESSAGE frames written to clients.
    pub delivered: u64,
    /// Sessions closed because they did not keep up.
    pub slow_consumers: u64,
    /// CONNECTs refused (authentication, broker unavailable).
    pub rejected_connects: u64,
    /// Connections the relay opened to the external broker (per-session ones).
    pub relay_connections: u64,
}

impl StatsSnapshot {
    /// Frames received with `command`.
    pub fn frames_in(&self, command: Command) -> u64 {
        self.frames_in
            .iter()
            .find(|(c, _)| *c == command)
            .map_or(0, |p| p.1)
    }

    /// Frames sent with `command`.
    pub fn frames_out(&self, command: Command) -> u64 {
        self.frames_out
            .iter()
            .find(|(c, _)| *c == command)
            .map_or(0, |p| p.1)
    }
}

impl fmt::Display for StatsSnapshot {
    /// One line, like Spring's periodic stats log:
    /// `sessions[open=2, total=5], in[CONNECT=5, SEND=10], out[...], broker[published=.., delivered=..], slow=0, rejected=1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[(Command, u64)]| {
            v.iter()
                .map(|(c, n)| format!("{c}={n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "sessions[open={}, total={}], in[{}], out[{}], heart-beats out={}, broker[published={}, delivered={}], slow consumers={}, rejected CONNECTs={}, relay connections={}",
            self.sessions_open,
            self.sessions_total,
            list(&self.frames_in),
            list(&self.frames_out),
            self.heart_beats_out,
            self.published,
            self.delivered,
            self.slow_consumers,
            self.rejected_connects,
            self.relay_connections
        )
    }
}
