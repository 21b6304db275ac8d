//! Sessions by id, with a bound on how many exist and their expiry.
//!
//! sockjs-protocol: "Second parameter `session_id` must be a random string, unique for every
//! session." A receiving request for an unknown id creates the session; a sending request
//! for one is a 404 ("Sending messages to not existing sessions is invalid.").
//! WebSocket sessions are not registered: "The lifetime of SockJS WebSocket session is
//! defined by a lifetime of underlying WebSocket connection."

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::fmt;
use core::time::Duration;

use crate::session::{Session, SessionConfig};

/// The longest session id accepted, in bytes. sockjs-client's ids are 8 characters and a
/// UUID is 36; the bound keeps a flood of requests with huge ids from holding much memory.
pub const MAX_SESSION_ID_LEN: usize = 128;

/// Sessions a [`Registry::default`] holds at most.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// A session id from a request path (`{base}/{server}/{session}/{transport}`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(Box<str>);

impl SessionId {
    /// Checks an id: non-empty, at most [`MAX_SESSION_ID_LEN`] bytes, no `.` and no `/`.
    ///
    /// sockjs-protocol `SessionURLs`: "The server must accept any value in `server` and
    /// `session` fields", while `test_invalidPaths` answers 404 to empty parts and parts
    /// with dots (`'//'`, `'/a./a'`, `'/a/a.'`, `'/./.'`).
    pub fn new(id: &str) -> Result<SessionId, RegistryError> {
        if id.is_empty() || id.len() > MAX_SESSION_ID_LEN || id.contains(['.', '/']) {
            return Err(RegistryError::InvalidId);
        }
        Ok(SessionId(Box::from(id)))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a [`Registry`] needs from what it holds: when it expires. [`Session`] implements
/// it; so can a wrapper that shares a session between tasks.
pub trait Expiring {
    /// When the session expires if nothing attaches to it first ([`Session::expires_at`]).
    fn expires_at(&self) -> Option<Duration>;
    /// Fires what is due at `now` ([`Session::handle_timeout`]).
    fn handle_timeout(&mut self, now: Duration);
    /// Whether it has expired ([`Session::is_expired`]).
    fn is_expired(&self) -> bool;
}

impl Expiring for Session {
    fn expires_at(&self) -> Option<Duration> {
        Session::expires_at(self)
    }

    fn handle_timeout(&mut self, now: Duration) {
        Session::handle_timeout(self, now);
    }

    fn is_expired(&self) -> bool {
        Session::is_expired(self)
    }
}

/// A registry operation that could not be done. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// The id is empty, too long, or has a `.` or `/`: the client's; answer 404.
    InvalidId,
    /// The registry holds `max_sessions` sessions (expired ones not yet taken with
    /// [`Registry::poll_expired`] included), even after expiring those that were due: a
    /// session flood, or too small a bound. Answer 503.
    Full {
        /// The bound.
        max_sessions: usize,
    },
    /// [`Registry::insert`]: a live session already has this id (the caller's).
    Exists,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::InvalidId => f.write_str("invalid SockJS session id"),
            RegistryError::Full { max_sessions } => {
                write!(f, "too many SockJS sessions (at most {max_sessions})")
            }
            RegistryError::Exists => f.write_str("a SockJS session with this id exists"),
        }
    }
}

impl core::error::Error for RegistryError {}

/// Sessions by id (a `BTreeMap`), at most `max_sessions` of them, and their expiry.
///
/// Input: [`get_or_create`](Registry::get_or_create) / [`insert`](Registry::insert) for a
/// receiving request, [`get_mut`](Registry::get_mut) for a sending one,
/// [`handle_timeout`](Registry::handle_timeout) when [`poll_timeout`](Registry::poll_timeout)
/// passes. Output: [`poll_expired`](Registry::poll_expired) — the sessions that expired,
/// removed, to tell their applications (their remaining events) and drop.
///
/// Expired sessions are never handed out: [`get`](Registry::get) and
/// [`get_mut`](Registry::get_mut) skip them, and `get_or_create` replaces them. Finding the
/// next deadline and sweeping look at every session (O(n)); call `handle_timeout` on a
/// coarse tick (say, every second) if there are many.
#[derive(Debug)]
pub struct Registry<S = Session> {
    sessions: BTreeMap<SessionId, S>,
    expired: Vec<(SessionId, S)>,
    max_sessions: usize,
}

impl<S: Expiring> Default for Registry<S> {
    fn default() -> Registry<S> {
        Registry::new(DEFAULT_MAX_SESSIONS)
    }
}

impl<S: Expiring> Registry<S> {
    /// An empty registry that holds at most `max_sessions` sessions.
    pub fn new(max_sessions: usize) -> Registry<S> {
        Registry {
            sessions: BTreeMap::new(),
            expired: Vec::new(),
            max_sessions,
        }
    }

    /// The bound.
    pub fn max_sessions(&self) -> usize {
        self.max_sessions
    }

    /// Sessions held, expired ones not yet taken with
    /// [`poll_expired`](Registry::poll_expired) included: what the bound counts.
    pub fn len(&self) -> usize {
        self.sessions.len() + self.expired.len()
    }

    /// Whether it holds no session at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live session `id`.
    pub fn get(&self, id: &str) -> Option<&S> {
        self.sessions.get(id).filter(|s| !s.is_expired())
    }

    /// The live session `id`, to drive it.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut S> {
        self.sessions.get_mut(id).filter(|s| !s.is_expired())
    }

    /// The sessions, expired ones not yet swept included, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&SessionId, &S)> {
        self.sessions.iter()
    }

    /// Adds `session` under `id`, replacing an expired one (which goes to
    /// [`poll_expired`](Registry::poll_expired)). When the registry is full, sessions due to
    /// expire at `now` are expired first.
    pub fn insert(&mut self, id: &str, session: S, now: Duration) -> Result<&mut S, RegistryError> {
        let key = SessionId::new(id)?;
        if let Some(old) = self.sessions.get(id) {
            if !old.is_expired() {
                return Err(RegistryError::Exists);
            }
            if let Some((key, old)) = self.sessions.remove_entry(id) {
                self.expired.push((key, old));
            }
        }
        if self.len() >= self.max_sessions {
            self.handle_timeout(now);
            if self.len() >= self.max_sessions {
                return Err(RegistryError::Full {
                    max_sessions: self.max_sessions,
                });
            }
        }
        Ok(self.sessions.entry(key).or_insert(session))
    }

    /// Removes session `id` (expired or not), handing it back.
    pub fn remove(&mut self, id: &str) -> Option<S> {
        self.sessions.remove(id)
    }

    /// Tells every session whose expiry is due the time, and moves those that expired to
    /// [`poll_expired`](Registry::poll_expired).
    pub fn handle_timeout(&mut self, now: Duration) {
        let mut gone = Vec::new();
        for (id, session) in &mut self.sessions {
            if session.expires_at().is_some_and(|at| now >= at) {
                session.handle_timeout(now);
            }
            if session.is_expired() {
                gone.push(id.clone());
            }
        }
        for id in gone {
            if let Some(entry) = self.sessions.remove_entry(&id) {
                self.expired.push(entry);
            }
        }
    }

    /// The earliest expiry among the sessions: call [`handle_timeout`](Registry::handle_timeout)
    /// then. `None` when no session can expire now (all have a receiver attached).
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.sessions
            .values()
            .filter_map(Expiring::expires_at)
            .min()
    }

    /// A session that expired, removed from the registry. Poll until `None` after
    /// [`handle_timeout`](Registry::handle_timeout): until taken, they count towards
    /// `max_sessions`.
    pub fn poll_expired(&mut self) -> Option<(SessionId, S)> {
        self.expired.pop()
    }
}

impl Registry<Session> {
    /// The live session `id`, or a new one created with `config` at `now`: what a receiving
    /// request does (sockjs-node `Session._register`: "When server receives a request with
    /// unknown `session_id` it must recognize that as request for a new session").
    pub fn get_or_create(
        &mut self,
        id: &str,
        config: &SessionConfig,
        now: Duration,
    ) -> Result<&mut Session, RegistryError> {
        if self.get(id).is_none() {
            return self.insert(id, Session::new(config.clone(), now), now);
        }
        self.get_mut(id).ok_or(RegistryError::InvalidId)
    }
}
