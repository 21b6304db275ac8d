//! SockJS, the fallback for clients that cannot open a WebSocket, built on `rfc6455`: the
//! sans-IO session layer.
//!
//! ```text
//!     application glue   (your handler: messages in, messages out, close)
//!     ───────────────────────────────────────────────────────────────────────
//!     SockJS sessions    Session, Registry: frames, queues, heart-beats, expiry
//!     SockJS codec       Frame, Framing, Payload, json::quote
//!     ───────────────────────────────────────────────────────────────────────
//!     transports         HTTP requests (xhr, xhr_streaming, eventsource, htmlfile,
//!                        jsonp, xhr_send, jsonp_send) or one WebSocket
//! ```
//!
//! A SockJS session outlives the HTTP requests that carry it: the client polls (or
//! streams) to receive, and posts to send. This crate is everything in between that does
//! not touch a socket or a clock: it compiles as `#![no_std]` + `alloc`, and a test can
//! replay any conversation byte for byte. Time is a `Duration` since any origin you pick,
//! passed to [`Session::handle_timeout`] and reported back by [`Session::poll_timeout`].
//!
//! - [`Frame`]: `o`, `h`, `a[...]`, `c[code,"reason"]` — encoded with sockjs-node's escaping
//!   ([`json::quote`]) and decoded with message text borrowed from the input.
//! - [`Framing`]: each transport's prelude and wrapping (`\n`, `data: ...\r\n\r\n`,
//!   `/**/cb("...");\r\n`, `<script>` blocks), with validated [`Callback`] names.
//! - [`Payload`]: what clients send (`xhr_send` and `jsonp_send` bodies, WebSocket
//!   messages), decoded into messages or a [`PayloadError`] that says what to answer.
//! - [`Session`]: one session's state machine — one receiver at a time, a bounded
//!   outgoing queue, heart-beats, the streaming byte budget, close, interruption, expiry.
//! - [`Registry`]: sessions by id, bounded in number, with their expiry.
//! - [`endpoint`]: the HTTP side as plain decisions — routes, statuses, CORS, caching,
//!   `JSESSIONID`, the origin policy — from a [`endpoint::Request`] to an [`endpoint::Answer`].
//! - `service` (feature `hyper`): the transports over hyper 1 and axum, and the
//!   application's `Socket`, whatever the transport.
//!
//! # Driving a session by hand
//!
//! ```
//! use core::time::Duration;
//! use rfc6455_sockjs::{
//!     Attach, Event, Framing, Payload, Session, SessionConfig, State, Transmit,
//! };
//!
//! let secs = Duration::from_secs;
//! let mut session = Session::new(SessionConfig::default(), secs(0));
//!
//! // An xhr_streaming request arrives: attach it, write its prelude, then its frames.
//! let Attach::Attached(rx) = session.attach(Framing::XhrStreaming, secs(0)) else {
//!     unreachable!("the first receiver attaches")
//! };
//! let mut body = Vec::new();
//! Framing::XhrStreaming.encode_prelude(&mut body); // 2048 × 'h' and '\n'
//! body.clear();
//! assert_eq!(session.poll_transmit(rx, secs(0), &mut body), Transmit::Frame);
//! assert_eq!(body, b"o\n");
//! assert_eq!(session.poll_event(), Some(Event::Opened));
//!
//! // A second receiving request meanwhile is refused with c[2010,...].
//! assert_eq!(session.attach(Framing::Xhr, secs(1)), Attach::AnotherConnectionOpen);
//!
//! // The client posts to xhr_send; the application echoes.
//! let messages = session.receive(Payload::XhrSend, br#"["hello","w\u00f6rld"]"#)?;
//! for message in &messages {
//!     session.send(message)?;
//! }
//! body.clear();
//! assert_eq!(session.poll_transmit(rx, secs(2), &mut body), Transmit::Frame);
//! assert_eq!(body, "a[\"hello\",\"wörld\"]\n".as_bytes());
//! assert_eq!(session.poll_transmit(rx, secs(2), &mut body), Transmit::Idle);
//!
//! // Nothing written for 25 s: a heartbeat is due.
//! assert_eq!(session.poll_timeout(), Some(secs(27)));
//! session.handle_timeout(secs(27));
//! body.clear();
//! assert_eq!(session.poll_transmit(rx, secs(27), &mut body), Transmit::Frame);
//! assert_eq!(body, b"h\n");
//!
//! // The application closes: the receiver gets the close frame and its response ends.
//! session.close(3000, "Go away!")?;
//! body.clear();
//! assert_eq!(session.poll_transmit(rx, secs(30), &mut body), Transmit::LastFrame);
//! assert_eq!(body, b"c[3000,\"Go away!\"]\n");
//! assert_eq!(session.state(), State::Closing);
//!
//! // Until it expires, 5 s after its last receiver left, it answers that frame to anyone.
//! let Attach::Attached(poll) = session.attach(Framing::Xhr, secs(33)) else { unreachable!() };
//! body.clear();
//! assert_eq!(session.poll_transmit(poll, secs(33), &mut body), Transmit::LastFrame);
//! assert_eq!(body, b"c[3000,\"Go away!\"]\n");
//! assert_eq!(session.poll_timeout(), Some(secs(38)));
//! session.handle_timeout(secs(38));
//! assert_eq!(session.poll_event(), Some(Event::Closed(rfc6455_sockjs::CloseCause::Application)));
//! assert_eq!(session.poll_event(), Some(Event::Expired));
//! assert_eq!(session.state(), State::Closed);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! # Errors
//!
//! Errors say whose fault they are and what to answer: [`PayloadError`] and
//! [`CallbackError`] are the client's (an HTTP status and body; for a WebSocket, a close
//! code); [`SendError`] says the application's message was not queued (closed, queue full,
//! too large); [`AlreadyClosed`] is a second `close`; [`RegistryError`] is a bad id (404) or
//! a full registry (503). [`FrameError`] is for clients reading frames.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod endpoint;
mod frame;
mod framing;
pub mod json;
mod payload;
mod registry;
#[cfg(feature = "hyper")]
pub mod service;
mod session;

pub use frame::{Close, Frame, FrameError, encode_messages};
pub use framing::{Callback, CallbackError, Delivery, Framing, MAX_CALLBACK_LEN};
pub use payload::{Messages, Payload, PayloadError};
pub use registry::{
    DEFAULT_MAX_SESSIONS, Expiring, MAX_SESSION_ID_LEN, Registry, RegistryError, SessionId,
};
pub use session::{
    AlreadyClosed, Attach, CloseCause, DEFAULT_DISCONNECT_DELAY, DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_QUEUED_MESSAGES, DEFAULT_STREAMING_BUDGET, Event,
    PreparedMessage, ReceiverId, SendError, Session, SessionConfig, State, Transmit,
};
