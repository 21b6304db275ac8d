//! STOMP 1.2 over WebSocket, built on `rfc6455`.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
