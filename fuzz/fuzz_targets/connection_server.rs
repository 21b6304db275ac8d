//! An arbitrary byte stream, split at fuzzer-chosen points, into a server connection.
//! Input: 6 parameter bytes (see `ConnParams`), then `[n] [pattern] [frames...]`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| rfc6455_fuzz::fuzz_connection(rfc6455::Role::Server, input));
