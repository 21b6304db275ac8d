//! Fuzz target for the SockJS session layer's JSON/frame parsing (being written).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|_input: &[u8]| {});
