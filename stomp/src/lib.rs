//! STOMP 1.2 over WebSocket, built on `rfc6455`: a sans-IO codec, sessions, broker and
//! relay, and (feature `tokio`) a server on rfc6455's tokio adapter.
//!
//! ```text
//!     application glue   tokio::StompServer: handlers, auth, interceptors, events,
//!                        counters; one task per session (feature `tokio`, `axum`)
//!     ───────────────────────────────────────────────────────────────────────
//!     broker             broker::SimpleBroker (routing, queues, redelivery, limits)
//!                        relay::RelaySession / SystemConnection (RabbitMQ & co.)
//!                        app::Router / Handler / Interceptor / UserDestinations
//!     ───────────────────────────────────────────────────────────────────────
//!     session            ServerSession / ClientSession: frames in → events out,
//!                        requests in → frames out; receipts, acks, transactions,
//!                        heart-beat deadlines as data
//!     ───────────────────────────────────────────────────────────────────────
//!     codec              Decoder (bytes in any pieces → Frame | HeartBeat)
//!                        Frame::encode (Frame → bytes in your Vec / BytesMut)
//!     ───────────────────────────────────────────────────────────────────────
//!     network glue       WebSocket messages (rfc6455), SockJS, an in-memory pair
//! ```
//!
//! Nothing below the top layer touches a socket or reads a clock: the caller passes in the
//! bytes of the WebSocket messages it received and the current time, and takes out events,
//! the bytes of the WebSocket messages to send (one frame, or one heart-beat, each), the
//! next deadline and when to close the transport. Without default features the crate is
//! `#![no_std]` + `alloc`; `std` adds `std::error::Error` impls, `tokio` the server, the
//! relay's TCP connections and a WebSocket client (module `tokio`), `axum` mounting in axum.
//!
//! * The codec: [`Decoder`] takes bytes in arbitrary pieces — a frame split across
//!   WebSocket messages, or several frames in one — and yields [`Item::Frame`] and
//!   [`Item::HeartBeat`], holding only the frame in progress (bounded by [`Limits`]).
//!   "Need more bytes" is [`Status::Partial`], never an error. [`Frame::encode`] is its
//!   inverse: a decoded frame encodes back to bytes that decode to an equal frame.
//! * The sessions: [`ServerSession`] (version negotiation, an authentication hook,
//!   subscriptions, acknowledgments, transactions, receipts, heart-beats, ERROR then close)
//!   and [`ClientSession`] (the same conversation from the other end).
//! * The broker: [`broker::SimpleBroker`] (topics, queues, acknowledgments and redelivery,
//!   bounded); [`relay`] for an external broker; [`app`] for handlers, interceptors, events
//!   and user destinations.
//! * [`testing::Pair`] wires a client and a server session together in memory.
//!
//! # A server and a client in memory
//!
//! The glue below is what a WebSocket handler does: move each side's `poll_transmit`
//! output into the other's `receive`, tell both the time, and act on their events.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use rfc6455_stomp::{
//!     AckMode, ClientConfig, ClientEvent, ClientSession, ServerConfig, ServerEvent,
//!     ServerSession,
//! };
//!
//! let mut server = ServerSession::new(ServerConfig::default());
//! let mut client = ClientSession::new(ClientConfig::new("example.org").credentials("guest", "pw"))?;
//! let now = Duration::ZERO; // your clock, e.g. `Instant::now() - start`
//!
//! // One step of the glue: every WebSocket message from one side to the other.
//! fn client_to_server(client: &mut ClientSession, server: &mut ServerSession, now: Duration) {
//!     let mut message = Vec::new();
//!     while client.poll_transmit(&mut message) > 0 {
//!         server.receive(&message).expect("a well-behaved client");
//!         server.handle_timeout(now);
//!         message.clear();
//!     }
//! }
//! fn server_to_client(server: &mut ServerSession, client: &mut ClientSession, now: Duration) {
//!     let mut message = Vec::new();
//!     while server.poll_transmit(&mut message) > 0 {
//!         client.receive(&message).expect("a well-behaved server");
//!         client.handle_timeout(now);
//!         message.clear();
//!     }
//! }
//!
//! // CONNECT → the application decides → CONNECTED.
//! client_to_server(&mut client, &mut server, now);
//! let Some(ServerEvent::Connect(request)) = server.poll_event() else { unreachable!() };
//! if request.login.as_deref() == Some("guest") && request.passcode.as_deref() == Some("pw") {
//!     server.accept(&[("session", "s-1")])?;
//! } else {
//!     server.reject("bad credentials")?;
//! }
//! server_to_client(&mut server, &mut client, now);
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Connected { .. })));
//!
//! // SUBSCRIBE with acknowledgments; the server delivers a MESSAGE on it.
//! let id = client.subscribe("/queue/work", AckMode::ClientIndividual, &[])?;
//! client.send("/queue/work", &[("content-type", "text/plain")], Bytes::from("job 1"))?;
//! client_to_server(&mut client, &mut server, now);
//! let Some(ServerEvent::Subscribe { id: sub, .. }) = server.poll_event() else { unreachable!() };
//! let Some(ServerEvent::Send(job)) = server.poll_event() else { unreachable!() };
//! let message_id = server.send_message(&sub, &job)?; // a broker would route it
//! server_to_client(&mut server, &mut client, now);
//!
//! let Some(ClientEvent::Message(message)) = client.poll_event() else { unreachable!() };
//! assert_eq!(message.header("subscription"), Some(id.as_str()));
//! assert_eq!(&message.body()[..], b"job 1");
//! client.ack(&message, None)?;
//! client_to_server(&mut client, &mut server, now);
//! assert_eq!(
//!     server.poll_event(),
//!     Some(ServerEvent::Ack { subscription: sub, messages: vec![message_id] })
//! );
//!
//! // Graceful shutdown: DISCONNECT with a receipt, the RECEIPT, then both close.
//! client.disconnect()?;
//! client_to_server(&mut client, &mut server, now);
//! assert!(matches!(server.poll_event(), Some(ServerEvent::Closed { .. })));
//! server_to_client(&mut server, &mut client, now);
//! assert_eq!(client.poll_event(), Some(ClientEvent::Disconnected));
//! assert!(server.poll_close_transport() && client.poll_close_transport());
//! # Ok::<(), rfc6455_stomp::UsageError>(())
//! ```
//!
//! # Errors
//!
//! Errors say who is at fault: [`FrameError`] (bytes that are not STOMP), [`ProtocolError`]
//! (the peer broke STOMP; a server session has already queued the ERROR frame that answers
//! it), [`UsageError`] (the application asked for something the session's state does not
//! allow; nothing was sent) and [`EncodeError`] (a frame that cannot be written).
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod app;
pub mod broker;
pub mod client;
mod decode;
mod encode;
mod error;
mod frame;
pub mod relay;
pub mod server;
mod session;
pub mod testing;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use client::{ClientConfig, ClientEvent, ClientSession};
pub use decode::{Decoded, Decoder, Item, Limits, Status};
pub use error::{EncodeError, FrameError, ProtocolError, UsageError};
pub use frame::{Command, Frame, Headers};
pub use server::{AckMode, MessageId, ServerConfig, ServerEvent, ServerSession, message_frame};
pub use session::{HeartBeat, Version};

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
