//! The application's side of a STOMP server, sans I/O: who the user is, which handler an
//! `/app` destination goes to and what it asks for, interceptors, session events, and how
//! user destinations are named.
//!
//! These are Spring's ideas (§4.4 "STOMP") as plain Rust: `@MessageMapping` methods are
//! [`Handler`]s registered on a [`Router`]; what a handler returns or sends through a
//! `SimpMessagingTemplate` is an [`Actions`] list (publish to the broker, reply to the
//! sender, send to a user); a `ChannelInterceptor` is an [`Interceptor`]; the
//! `SessionConnectEvent` family is [`StompEvent`]; user destinations (`/user/queue/x`) are
//! [`UserDestinations`]. Nothing here touches a socket, so handlers and interceptors are
//! tested by calling them.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use bytes::Bytes;

use crate::broker::SessionId;
use crate::frame::{Command, Frame};
use crate::server::{CloseReason, ConnectRequest, ServerEvent};

/// What the WebSocket handshake established before any STOMP frame: the user it
/// authenticated (a cookie, a token in a header or the query) and attributes the
/// application wants to keep with the session (Spring's "WebSocket session attributes").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Handshake {
    /// The user the handshake authenticated, if any.
    pub user: Option<String>,
    /// Attributes for the session's lifetime.
    pub attributes: BTreeMap<String, String>,
}

impl Handshake {
    /// Nobody in particular (the CONNECT frame may still log in).
    pub fn anonymous() -> Handshake {
        Handshake::default()
    }

    /// Authenticated as `user`.
    pub fn user(user: &str) -> Handshake {
        Handshake {
            user: Some(user.into()),
            attributes: BTreeMap::new(),
        }
    }

    /// Adds an attribute (builder style).
    #[must_use]
    pub fn attribute(mut self, name: &str, value: &str) -> Handshake {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// A session as the application sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The server's id for the session (also the CONNECTED frame's `session` header).
    pub id: SessionId,
    /// The authenticated user; `None` for an anonymous session.
    pub user: Option<String>,
    /// Attributes from the handshake.
    pub attributes: BTreeMap<String, String>,
}

impl SessionInfo {
    /// A session with these values.
    pub fn new(id: SessionId, user: Option<String>, attributes: BTreeMap<String, String>) -> Self {
        SessionInfo {
            id,
            user,
            attributes,
        }
    }
}

/// Decides on a client's CONNECT: the authentication hook. Returns the session's user
/// (`None`: anonymous) or the message of the ERROR frame that refuses the client.
///
/// Implemented by closures `Fn(&Handshake, &ConnectRequest) -> Result<Option<String>,
/// String>`. The default ([`HandshakeUser`]) keeps whatever the handshake established.
pub trait Authenticator: Send + Sync {
    /// Accepts (with the user) or refuses (with the ERROR message).
    ///
    /// # Errors
    ///
    /// The message of the ERROR frame: "The server SHOULD respond back with an ERROR frame
    /// explaining why the connection was rejected and then close the connection."
    fn authenticate(
        &self,
        handshake: &Handshake,
        connect: &ConnectRequest,
    ) -> Result<Option<String>, String>;
}

impl<F> Authenticator for F
where
    F: Fn(&Handshake, &ConnectRequest) -> Result<Option<String>, String> + Send + Sync,
{
    fn authenticate(
        &self,
        handshake: &Handshake,
        connect: &ConnectRequest,
    ) -> Result<Option<String>, String> {
        self(handshake, connect)
    }
}

/// The default [`Authenticator`]: the handshake's user, whatever the CONNECT says.
#[derive(Clone, Copy, Debug, Default)]
pub struct HandshakeUser;

impl Authenticator for HandshakeUser {
    fn authenticate(
        &self,
        handshake: &Handshake,
        _: &ConnectRequest,
    ) -> Result<Option<String>, String> {
        Ok(handshake.user.clone())
    }
}

/// A SEND to an application destination, as a [`Handler`] sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Inbound<'a> {
    /// Who sent it.
    pub session: &'a SessionInfo,
    /// The SEND frame (headers and body).
    pub frame: &'a Frame,
    /// The destination without the application prefix (`/echo` for `/app/echo`).
    pub destination: &'a str,
    /// Values of the route's `{name}` segments.
    pub params: Vec<(&'a str, &'a str)>,
}

impl Inbound<'_> {
    /// The body.
    pub fn body(&self) -> &Bytes {
        self.frame.body()
    }

    /// The first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.frame.header(name)
    }

    /// The value of the route's `{name}` segment.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| *n == name).map(|p| p.1)
    }
}

/// What a handler asks the server to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Publish to the broker: every subscriber of the destination (or one, for a queue).
    Publish(Frame),
    /// Deliver to the sender's own subscriptions of the destination only.
    Reply(Frame),
    /// Deliver to every session of `user` subscribed to `/user` + the destination.
    ToUser {
        /// The user's name.
        user: String,
        /// The message; its destination is the user-relative one (`/queue/whisper`).
        message: Frame,
    },
}

/// The actions a [`Handler`] returns, built with its methods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    actions: Vec<Action>,
}

impl Actions {
    /// No actions.
    pub fn new() -> Actions {
        Actions::default()
    }

    /// Publishes `body` to `destination` with `headers` (a `content-type`, ...).
    pub fn publish(&mut self, destination: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) {
        self.actions
            .push(Action::Publish(message(destination, headers, body.into())));
    }

    /// Sends `body` to the sender's own subscriptions of `destination`.
    pub fn reply(&mut self, destination: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) {
        self.actions
            .push(Action::Reply(message(destination, headers, body.into())));
    }

    /// Sends `body` to every session of `user` subscribed to `/user{destination}`
    /// (`destination` such as `/queue/whisper`).
    pub fn send_to_user(
        &mut self,
        user: &str,
        destination: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) {
        self.actions.push(Action::ToUser {
            user: user.into(),
            message: message(destination, headers, body.into()),
        });
    }

    /// Adds an action.
    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    /// The actions, in order.
    pub fn as_slice(&self) -> &[Action] {
        &self.actions
    }

    /// Takes the actions.
    pub fn into_vec(self) -> Vec<Action> {
        self.actions
    }
}

/// A message as SEND-like frame: `destination`, `headers`, then the body (with its
/// `content-length`).
pub fn message(destination: &str, headers: &[(&str, &str)], body: Bytes) -> Frame {
    let mut frame = Frame::new(Command::Send).with_header("destination", destination);
    for (name, value) in headers {
        if *name != "content-length" {
            frame.push_header(name, value);
        }
    }
    frame.with_body(body)
}

/// Handles SENDs to one application destination (Spring's `@MessageMapping` method).
///
/// Implemented by closures `Fn(&Inbound, &mut Actions) -> Result<(), String>`. An `Err`
/// is the message of the ERROR frame that ends the sender's session: "If the server cannot
/// successfully process the SEND frame for any reason, the server MUST send the client an
/// ERROR frame and then close the connection."
pub trait Handler: Send + Sync {
    /// Handles one message.
    ///
    /// # Errors
    ///
    /// The ERROR message for the sender.
    fn handle(&self, message: &Inbound<'_>, actions: &mut Actions) -> Result<(), String>;
}

impl<F> Handler for F
where
    F: Fn(&Inbound<'_>, &mut Actions) -> Result<(), String> + Send + Sync,
{
    fn handle(&self, message: &Inbound<'_>, actions: &mut Actions) -> Result<(), String> {
        self(message, actions)
    }
}

/// What [`Router::dispatch`] found.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dispatch {
    /// Not an application destination (no prefix matched): the broker's, perhaps.
    NotApplication,
    /// An application destination without a handler.
    NoHandler,
    /// The handler ran.
    Handled(Result<Actions, String>),
}

/// Application destinations (prefixes, default `/app`) and their handlers.
///
/// Routes are paths after the prefix; a segment `{name}` matches any one segment and is
/// handed to the handler as a parameter (`/chat/{room}` matches `/chat/rust`).
pub struct Router {
    prefixes: Vec<String>,
    routes: Vec<(Vec<String>, Box<dyn Handler>)>,
}

impl core::fmt::Debug for Router {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Router")
            .field("prefixes", &self.prefixes)
            .field(
                "routes",
                &self
                    .routes
                    .iter()
                    .map(|(p, _)| p.join("/"))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for Router {
    fn default() -> Router {
        Router::new("/app")
    }
}

impl Router {
    /// A router for destinations under `prefix` (e.g. `/app`).
    pub fn new(prefix: &str) -> Router {
        Router {
            prefixes: alloc::vec![prefix.trim_end_matches('/').to_owned()],
            routes: Vec::new(),
        }
    }

    /// Replaces the application prefixes with `prefix`, keeping the routes.
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Router {
        self.prefixes = alloc::vec![prefix.trim_end_matches('/').to_owned()];
        self
    }

    /// Adds another application prefix.
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Router {
        self.prefixes.push(prefix.trim_end_matches('/').to_owned());
        self
    }

    /// Registers `handler` for `path` (after the prefix, e.g. `/echo`).
    #[must_use]
    pub fn route(mut self, path: &str, handler: impl Handler + 'static) -> Router {
        self.routes.push((segments(path), Box::new(handler)));
        self
    }

    /// The path after an application prefix, if `destination` has one.
    pub fn application_path<'d>(&self, destination: &'d str) -> Option<&'d str> {
        self.prefixes.iter().find_map(|p| {
            let rest = destination.strip_prefix(p.as_str())?;
            (rest.starts_with('/')).then_some(rest)
        })
    }

    /// Runs the handler of the SEND `frame` from `session`, if its destination is an
    /// application destination.
    pub fn dispatch(&self, session: &SessionInfo, frame: &Frame) -> Dispatch {
        let Some(destination) = frame.header("destination") else {
            return Dispatch::NotApplication;
        };
        let Some(path) = self.application_path(destination) else {
            return Dispatch::NotApplication;
        };
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for (pattern, handler) in &self.routes {
            if pattern.len() != parts.len() {
                continue;
            }
            let mut params = Vec::new();
            let matched = pattern.iter().zip(&parts).all(|(p, s)| {
                match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => {
                        params.push((name, *s));
                        true
                    }
                    None => p == s,
                }
            });
            if matched {
                let inbound = Inbound {
                    session,
                    frame,
                    destination: path,
                    params,
                };
                let mut actions = Actions::new();
                let result = handler.handle(&inbound, &mut actions).map(|()| actions);
                return Dispatch::Handled(result);
            }
        }
        Dispatch::NoHandler
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// What an [`Interceptor`] decides.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Go on (possibly with the frame or event changed).
    Continue,
    /// Ignore it silently.
    Drop,
    /// End the session with an ERROR frame carrying this message.
    Reject(String),
}

/// Sees frames on their way in and messages on their way out (Spring's
/// `ChannelInterceptor` on the inbound and outbound channels). Both methods default to
/// [`Verdict::Continue`].
pub trait Interceptor: Send + Sync {
    /// A client's frame, as the session reported it (CONNECT, SEND, SUBSCRIBE,
    /// UNSUBSCRIBE, ACK, NACK), before the server acts on it. It may be changed.
    /// Dropping or rejecting a CONNECT refuses the client (ERROR, then close); dropping an
    /// ACK or NACK leaves its queue messages in flight until the session ends.
    fn inbound(&self, session: &SessionInfo, event: &mut ServerEvent) -> Verdict {
        let _ = (session, event);
        Verdict::Continue
    }

    /// A message on its way to subscribers, once per message (before it is encoded once
    /// for all of them; with a relay, once per session it reaches). It may be changed;
    /// `Reject` drops it like `Drop` (the subscribers did nothing wrong).
    fn outbound(&self, message: &mut Frame) -> Verdict {
        let _ = message;
        Verdict::Continue
    }
}

/// Something that happened to a session (Spring's `SessionConnectedEvent`,
/// `SessionSubscribeEvent`, `SessionUnsubscribeEvent`, `SessionDisconnectEvent`), or to the
/// broker relay (`BrokerAvailabilityEvent`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StompEvent {
    /// CONNECTED was sent.
    Connected {
        /// The session.
        session: SessionId,
        /// Its user.
        user: Option<String>,
    },
    /// A subscription was made.
    Subscribed {
        /// The session.
        session: SessionId,
        /// The subscription id.
        subscription: String,
        /// The destination, as the client named it.
        destination: String,
    },
    /// A subscription ended.
    Unsubscribed {
        /// The session.
        session: SessionId,
        /// The subscription id.
        subscription: String,
    },
    /// The session ended.
    Disconnected {
        /// The session.
        session: SessionId,
        /// Its user.
        user: Option<String>,
        /// Why.
        reason: CloseReason,
    },
    /// The relay's system connection to the external broker is up (`true`) or lost.
    BrokerAvailable(bool),
}

/// User destinations: a client subscribes to `/user/queue/x` and receives what is sent to
/// its user at `/queue/x`, and nobody else's.
///
/// Each user's subscription is translated to a broker topic of its own,
/// `{broker_prefix}{user}.queue.x` (by default `/topic/user.alice.queue.x`), so the same
/// naming works in the simple broker and, unchanged, in an external broker shared by
/// several servers: a message to a user reaches all of that user's sessions, on any
/// server. Characters outside `[A-Za-z0-9_-]` are written `~XX` (hex), `/` in the
/// destination as `.`, so two different (user, destination) pairs never share a topic.
/// Clients may not use the translated prefix themselves
/// ([`is_reserved`](UserDestinations::is_reserved)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserDestinations {
    /// What user destinations start with (default `/user/`).
    pub prefix: String,
    /// The broker topic prefix they are translated to (default `/topic/user.`).
    pub broker_prefix: String,
}

impl Default for UserDestinations {
    fn default() -> UserDestinations {
        UserDestinations {
            prefix: "/user/".into(),
            broker_prefix: "/topic/user.".into(),
        }
    }
}

impl UserDestinations {
    /// Whether `destination` is a user destination (`/user/...`).
    pub fn is_user_destination(&self, destination: &str) -> bool {
        destination.starts_with(&self.prefix)
    }

    /// Whether `destination` is in the translated namespace clients may not use directly.
    pub fn is_reserved(&self, destination: &str) -> bool {
        destination.starts_with(&self.broker_prefix)
    }

    /// The broker destination of `user`'s subscription to `destination` (`/user/queue/x`),
    /// or `None` if `destination` is not a user destination.
    pub fn subscription(&self, user: &str, destination: &str) -> Option<String> {
        let rest = destination.strip_prefix(&self.prefix)?;
        Some(self.translate(user, rest))
    }

    /// The broker destination that reaches `user`'s subscriptions of `/user{destination}`
    /// (`destination` such as `/queue/x`).
    pub fn target(&self, user: &str, destination: &str) -> String {
        self.translate(user, destination.trim_start_matches('/'))
    }

    /// A client's SEND to `/user/{name}/queue/x`: the user and the user-relative
    /// destination (`/queue/x`).
    pub fn parse_send<'d>(&self, destination: &'d str) -> Option<(&'d str, &'d str)> {
        let rest = destination.strip_prefix(&self.prefix)?;
        let slash = rest.find('/')?;
        let (user, dest) = rest.split_at(slash);
        (!user.is_empty() && dest.len() > 1).then_some((user, dest))
    }

    fn translate(&self, user: &str, rest: &str) -> String {
        let mut out = String::with_capacity(self.broker_prefix.len() + user.len() + rest.len() + 2);
        out.push_str(&self.broker_prefix);
        encode(&mut out, user);
        for segment in rest.split('/') {
            out.push('.');
            encode(&mut out, segment);
        }
        out
    }
}

fn encode(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            let _ = write!(out, "~{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_destinations_are_distinct_topics() {
        let u = UserDestinations::default();
        assert_eq!(
            u.subscription("bob", "/user/queue/whisper").as_deref(),
            Some("/topic/user.bob.queue.whisper")
        );
        assert_eq!(
            u.target("bob", "/queue/whisper"),
            "/topic/user.bob.queue.whisper"
        );
        // A dot in a name cannot make two pairs meet.
        assert_eq!(u.target("a.b", "/queue/c"), "/topic/user.a~2Eb.queue.c");
        assert_ne!(u.target("a", "/b.queue/c"), u.target("a.b", "/queue/c"));
        assert_eq!(u.subscription("bob", "/queue/x"), None);
        assert_eq!(u.parse_send("/user/bob/queue/x"), Some(("bob", "/queue/x")));
        assert_eq!(u.parse_send("/user//queue/x"), None);
        assert_eq!(u.parse_send("/user/bob"), None);
        assert!(u.is_reserved("/topic/user.bob.queue.whisper"));
        assert!(!u.is_reserved("/topic/users"));
    }

    #[test]
    fn router_matches_prefix_paths_and_params() {
        let router = Router::new("/app")
            .route("/echo", |m: &Inbound<'_>, a: &mut Actions| {
                a.publish("/topic/echo", &[], m.body().clone());
                Ok(())
            })
            .route("/chat/{room}", |m: &Inbound<'_>, a: &mut Actions| {
                let room = m.param("room").unwrap_or_default();
                a.reply(&alloc::format!("/topic/chat.{room}"), &[], "joined");
                Ok(())
            })
            .route("/fail", |_: &Inbound<'_>, _: &mut Actions| {
                Err("nope".into())
            });
        let session = SessionInfo::new(SessionId(1), None, BTreeMap::new());
        let send = |d: &str| message(d, &[], Bytes::from_static(b"hi"));
        let Dispatch::Handled(Ok(actions)) = router.dispatch(&session, &send("/app/echo")) else {
            panic!()
        };
        assert_eq!(
            actions.as_slice(),
            [Action::Publish(message(
                "/topic/echo",
                &[],
                Bytes::from_static(b"hi")
            ))]
        );
        let Dispatch::Handled(Ok(actions)) = router.dispatch(&session, &send("/app/chat/rust"))
        else {
            panic!()
        };
        assert_eq!(
            actions.as_slice(),
            [Action::Reply(message(
                "/topic/chat.rust",
                &[],
                Bytes::from_static(b"joined")
            ))]
        );
        assert_eq!(
            router.dispatch(&session, &send("/app/fail")),
            Dispatch::Handled(Err("nope".into()))
        );
        assert_eq!(
            router.dispatch(&session, &send("/app/nothing")),
            Dispatch::NoHandler
        );
        assert_eq!(
            router.dispatch(&session, &send("/application/echo")),
            Dispatch::NotApplication
        );
        assert_eq!(
            router.dispatch(&session, &send("/topic/echo")),
            Dispatch::NotApplication
        );
    }
}
