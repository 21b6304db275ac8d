//! Fuzz target for the STOMP codec (being written).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|_input: &[u8]| {});
