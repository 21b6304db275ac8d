//! SockJS, the fallback for clients that cannot open a WebSocket, built on `rfc6455`.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
