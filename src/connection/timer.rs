//! Deadlines as data: keepalive pings, the idle timeout and the close timeout.
//!
//! The connection never reads a clock. Time is whatever the caller passes to
//! [`Connection::handle_timeout`] — a `Duration` since any fixed origin the caller picks —
//! and activity (input, starting to close) is timestamped at the next such call.

use core::time::Duration;

use super::{Connection, ControlPayload, State};
use crate::close::CloseCode;

/// A deadline that expired in [`Connection::handle_timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// Nothing was received for the idle timeout: a Close frame with 1001 is queued.
    Idle,
    /// The peer did not finish the close handshake (or, for a client, did not close the
    /// transport) within the close timeout: close the transport.
    Close,
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// The time of the latest `handle_timeout` call.
    now: Duration,
    /// Input arrived since the latest `handle_timeout` call.
    activity: bool,
    last_input: Option<Duration>,
    last_ping: Option<Duration>,
    close_started: Option<Duration>,
}

impl Timers {
    #[inline]
    pub(crate) fn on_activity(&mut self) {
        self.activity = true;
    }
}

impl Connection {
    /// Tells the connection the current time, firing any deadline that has passed.
    ///
    /// `now` is measured from any fixed origin (e.g. `Instant::now() - start`). Call it
    /// after each batch of input — the connection timestamps activity at these calls —
    /// and whenever [`poll_timeout`](Connection::poll_timeout) passes; then call
    /// [`poll_transmit`](Connection::poll_transmit), as a keepalive ping or a Close frame
    /// may have been queued.
    pub fn handle_timeout(&mut self, now: Duration) -> Option<Timeout> {
        let t = &mut self.timers;
        t.now = now;
        if t.activity || t.last_input.is_none() {
            t.activity = false;
            t.last_input = Some(now);
        }
        let is_client = self.role == super::Role::Client;
        if self.life.awaiting_peer(is_client) {
            let started = *t.close_started.get_or_insert(now);
            if let Some(limit) = self.config.close_timeout {
                if now >= started.saturating_add(limit) {
                    self.life.on_close_timeout();
                    return Some(Timeout::Close);
                }
            }
            return None;
        }
        if self.life.state != State::Open {
            return None;
        }
        let last_input = t.last_input.unwrap_or(now);
        if let Some(idle) = self.config.idle_timeout {
            if now >= last_input.saturating_add(idle) {
                // Jetty and others close idle connections with 1001 "going away".
                self.pending.close = Some(alloc::boxed::Box::new(ControlPayload::close(
                    CloseCode::GOING_AWAY,
                    "idle timeout",
                )));
                self.pending.pongs = alloc::vec::Vec::new();
                self.life.on_close_sent();
                t.close_started = Some(now);
                return Some(Timeout::Idle);
            }
        }
        if let Some(interval) = self.config.ping_interval {
            let since = t.last_ping.map_or(last_input, |p| p.max(last_input));
            if now >= since.saturating_add(interval) {
                self.pending.ping = true;
                t.last_ping = Some(now);
            }
        }
        None
    }

    /// The earliest time at which [`handle_timeout`](Connection::handle_timeout) has work to
    /// do, on the same clock as its `now`; `None` when no deadline is pending.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let t = &self.timers;
        let is_client = self.role == super::Role::Client;
        if self.life.awaiting_peer(is_client) {
            let limit = self.config.close_timeout?;
            return Some(t.close_started.map_or(t.now, |s| s.saturating_add(limit)));
        }
        if self.life.state != State::Open {
            return None;
        }
        let idle = self.config.idle_timeout;
        let ping = self.config.ping_interval;
        if idle.is_none() && ping.is_none() {
            return None;
        }
        let Some(last_input) = t.last_input else {
            return Some(t.now);
        };
        let idle_at = idle.map(|d| last_input.saturating_add(d));
        let ping_at = ping.map(|d| {
            let since = t.last_ping.map_or(last_input, |p| p.max(last_input));
            since.saturating_add(d)
        });
        match (idle_at, ping_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
