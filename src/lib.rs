//! A WebSocket (RFC 6455) implementation built around a sans-IO core.
//!
//! ```text
//!     application glue   (your handler, your runtime, your event loop)
//!     ───────────────────────────────────────────────────────────────
//!     rfc6455 core       bytes in → events out; messages in → bytes out
//!     ───────────────────────────────────────────────────────────────
//!     network glue       std::net, tokio, mio, a TLS stream, an HTTP/2 stream
//! ```
//!
//! The core — [`handshake`], [`Connection`], [`frame`], [`mask`], [`utf8`] — contains no
//! networking code and never reads a clock or an OS random source: the caller passes in
//! bytes, the current time and (for clients) mask keys, and gets back events and bytes to
//! send. It compiles with `--no-default-features` as `#![no_std]` + `alloc`, can be fuzzed
//! and benchmarked without sockets, and embeds in any I/O stack. Received payloads are
//! unmasked in place and handed out as borrowed views of the caller's buffer.
//!
//! # Driving the core by hand
//!
//! The order of calls for a server: parse the handshake, answer it, then feed frames.
//!
//! ```
//! use rfc6455::handshake::{ServerConfig, ServerHandshake};
//! use rfc6455::{Config, Connection, Event, Role, Status};
//!
//! // 1. The opening handshake. Bytes arrive in any pieces; here, all at once, followed
//! //    by a pipelined masked text frame "Hello" (RFC 6455 §5.7).
//! let mut input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\n\r\n"
//!     .to_vec();
//! input.extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//!
//! let config = ServerConfig::default();
//! let mut handshake = ServerHandshake::new(&config);
//! assert_eq!(handshake.receive(&input)?, Status::Complete(()));
//! let request = handshake.request().expect("complete");
//! assert_eq!(request.path(), "/chat");
//!
//! let mut out = Vec::new(); // bytes for the transport
//! config.accept(&request, &mut out)?; // writes "HTTP/1.1 101 Switching Protocols..."
//!
//! // 2. The connection. Bytes after the HTTP head are WebSocket frames: not lost.
//! let mut conn = Connection::new(Role::Server, Config::default());
//! let mut buf = handshake.into_leftover();
//! let mut pos = 0;
//! loop {
//!     let received = conn.receive(&mut buf[pos..])?;
//!     pos += received.consumed;
//!     match received.event {
//!         Some(Event::Text(text)) => {
//!             assert_eq!(text, "Hello"); // unmasked in place, borrowed from `buf`
//!             conn.send_text(text, &mut out)?; // echo: an unmasked frame appended to `out`
//!         }
//!         Some(_) => {}
//!         None => break, // need more input
//!     }
//! }
//! conn.poll_transmit(&mut out); // pongs, close replies: whatever the core wants to send
//! assert!(out.ends_with(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For whole messages instead of events, let a [`MessageReader`] own your read buffer: it
//! splits each message that arrived as one frame off the buffer, without a copy (or feed
//! the events to a [`MessageAssembler`], which copies). To
//! test application logic without sockets, use [`testing::Pair`].
//!
//! # Errors
//!
//! Errors say who is at fault: [`ProtocolError`] (the peer broke the protocol; carries the
//! close code already queued), [`UsageError`] (the caller asked for something the state does
//! not allow), [`handshake::HandshakeError`] (carries the HTTP status to answer with).
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod close;
mod config;
mod connection;
mod copy;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "std")]
pub mod io;
pub mod mask;
mod message;
mod prepared;
pub mod reader;
pub mod testing;
pub mod utf8;

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use close::CloseCode;
pub use config::{Config, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE};
pub use connection::{
    Connection, EncodedHeader, Event, MAX_QUEUED_PONGS, MaskSource, MessageKind, Received, Role,
    State, Timeout,
};
pub use error::{ProtocolError, ReceiveError, UsageError};
pub use frame::{FrameHeader, OpCode, Status};
pub use message::{CloseFrame, Message, MessageAssembler};
pub use prepared::PreparedMessage;
pub use reader::MessageReader;
pub use utf8::Utf8Bytes;
