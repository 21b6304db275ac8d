//! STOMP 1.2 over WebSocket, built on `rfc6455`: the sans-IO layer.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

mod decode;
mod encode;
mod error;
mod frame;

pub use decode::{Decoded, Decoder, Item, Limits, Status};
pub use error::{EncodeError, FrameError, ProtocolError, UsageError};
pub use frame::{Command, Frame, Headers};
