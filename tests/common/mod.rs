//! Helpers shared by the integration tests.

use rfc6455::mask::apply_mask_reference;
use rfc6455::{ProtocolError, ReceiveError};

/// The peer's protocol error in a `receive` result (these tests never misuse `receive`).
#[allow(dead_code)]
pub fn peer_fault(e: ReceiveError) -> ProtocolError {
    match e {
        ReceiveError::Protocol(e) => e,
        other => panic!("not the peer's fault: {other:?}"),
    }
}

/// A client frame built by hand, independently of the crate's encoder: first byte `b0`
/// (FIN, RSV bits, opcode), the shortest length encoding, masked with `key` by the
/// byte-wise reference.
pub fn masked_frame(b0: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask_reference(&mut out[start..], key, 0);
    out
}
