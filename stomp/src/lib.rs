//! STOMP 1.2 over WebSocket, built on `rfc6455`: the sans-IO layer.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod client;
mod decode;
mod encode;
mod error;
mod frame;
pub mod server;
mod session;
pub mod testing;

pub use decode::{Decoded, Decoder, Item, Limits, Status};
pub use error::{EncodeError, FrameError, ProtocolError, UsageError};
pub use frame::{Command, Frame, Headers};
pub use client::{ClientConfig, ClientEvent, ClientSession};
pub use server::{AckMode, MessageId, ServerConfig, ServerEvent, ServerSession};
pub use session::{HeartBeat, Version};
