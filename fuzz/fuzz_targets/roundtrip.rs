//! Structured: messages encoded by one role decode to the same messages in the other
//! (through `MessageAssembler`), read in fuzzer-chosen pieces; the receiver's automatic
//! answers (pongs for the latest pings, the Close echo) decode on the sender's side, and a close
//! handshake ends cleanly on both.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rfc6455::testing::SeededMasks;
use rfc6455::{
    CloseCode, Config, Connection, MAX_QUEUED_PONGS, Message, MessageAssembler, MessageKind, Role,
    UsageError,
};
use rfc6455_fuzz::Chunks;
use std::collections::VecDeque;

#[derive(Arbitrary, Debug)]
enum Op {
    Text(String),
    Binary(Vec<u8>),
    /// A text message sent with `send_fragment`, cut after each given number of bytes
    /// (cuts may split code points), with an optional ping after each fragment.
    FragmentedText(String, Vec<(u8, Option<Vec<u8>>)>),
    FragmentedBinary(Vec<u8>, Vec<(u8, Option<Vec<u8>>)>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    client_sends: bool,
    seed: u32,
    fragment_size: Option<u8>,
    ops: Vec<Op>,
    reads: Vec<u8>,
}

/// Notes a ping the receiver will answer: it keeps pongs for the latest MAX_QUEUED_PONGS.
fn remember(pings: &mut VecDeque<Vec<u8>>, p: &[u8]) {
    if pings.len() == MAX_QUEUED_PONGS {
        pings.pop_front();
    }
    pings.push_back(p.to_vec());
}

fn control(mut p: Vec<u8>) -> Vec<u8> {
    p.truncate(125);
    p
}

fn truncate_str(s: &mut String, max: usize) {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
}

fuzz_target!(|input: Input| {
    let (sender_role, receiver_role) = if input.client_sends {
        (Role::Client, Role::Server)
    } else {
        (Role::Server, Role::Client)
    };
    let sender_config =
        Config::default().fragment_size(input.fragment_size.map(|s| usize::from(s) + 1));
    let mut sender =
        Connection::with_mask_source(sender_role, sender_config, SeededMasks::new(input.seed));
    let receiver_config = Config::default()
        .max_message_size(1 << 30)
        .max_frame_size(1 << 30)
        .max_fragments(u32::MAX);
    let mut receiver =
        Connection::with_mask_source(receiver_role, receiver_config, SeededMasks::new(7));

    let mut wire = Vec::new();
    let mut expected = Vec::new();
    // The pings whose pongs the receiver will send: the latest MAX_QUEUED_PONGS.
    let mut pings: VecDeque<Vec<u8>> = VecDeque::new();
    let mut close_code = None;
    let closed = |r: Result<(), UsageError>, close_code: Option<CloseCode>| match r {
        Ok(()) => true,
        Err(e) => {
            assert_eq!(e, UsageError::Closed);
            assert!(close_code.is_some());
            false
        }
    };
    for op in input.ops {
        match op {
            Op::Text(t) => {
                if closed(sender.send_text(&t, &mut wire), close_code) {
                    expected.push(Message::text(t));
                }
            }
            Op::Binary(b) => {
                if closed(sender.send_binary(&b, &mut wire), close_code) {
                    expected.push(Message::binary(b));
                }
            }
            Op::FragmentedText(t, cuts) => {
                let sent = fragmented(
                    &mut sender,
                    MessageKind::Text,
                    t.as_bytes(),
                    &cuts,
                    &mut wire,
                );
                if let Some(between) = sent {
                    for p in between {
                        remember(&mut pings, &p);
                        expected.push(Message::ping(p));
                    }
                    expected.push(Message::text(t));
                } else {
                    assert!(close_code.is_some());
                }
            }
            Op::FragmentedBinary(b, cuts) => {
                let sent = fragmented(&mut sender, MessageKind::Binary, &b, &cuts, &mut wire);
                if let Some(between) = sent {
                    for p in between {
                        remember(&mut pings, &p);
                        expected.push(Message::ping(p));
                    }
                    expected.push(Message::binary(b));
                } else {
                    assert!(close_code.is_some());
                }
            }
            Op::Ping(p) => {
                let p = control(p);
                if closed(sender.send_ping(&p, &mut wire), close_code) {
                    remember(&mut pings, &p);
                    expected.push(Message::ping(p));
                }
            }
            Op::Pong(p) => {
                let p = control(p);
                if closed(sender.send_pong(&p, &mut wire), close_code) {
                    expected.push(Message::pong(p));
                }
            }
            Op::Close(code, mut reason) => {
                let code = CloseCode::new(code);
                truncate_str(&mut reason, 123);
                match sender.close(code, &reason, &mut wire) {
                    Ok(()) => {
                        assert!(close_code.is_none());
                        close_code = Some(code);
                        expected.push(Message::close(code, reason));
                    }
                    Err(UsageError::Closed) => assert!(close_code.is_some()),
                    Err(UsageError::InvalidCloseCode(c)) => {
                        assert_eq!(c, code.as_u16());
                        assert!(
                            !code.is_valid_on_wire()
                                || (code == CloseCode::NO_STATUS_RECEIVED && !reason.is_empty())
                        );
                    }
                    Err(e) => panic!("close failed: {e:?}"),
                }
            }
        }
    }

    // Decode in the other role, in fuzzer-chosen pieces.
    let received = receive_all(&mut receiver, &mut wire, &input.reads);
    assert_eq!(received, expected);

    // The receiver's answers: the latest ping's pong, then the echo of the Close.
    let mut back = Vec::new();
    receiver.poll_transmit(&mut back);
    let answers = receive_all(&mut sender, &mut back, &[]);
    let mut expected_answers = Vec::new();
    for p in pings {
        expected_answers.push(Message::pong(p));
    }
    if let Some(code) = close_code {
        expected_answers.push(Message::close(code, ""));
    }
    assert_eq!(answers, expected_answers);
    if close_code.is_some() {
        assert!(sender.is_closed_cleanly() && receiver.is_closed_cleanly());
        assert!(receiver.poll_close_transport() == (receiver_role == Role::Server));
    }
});

/// Sends `data` as fragments cut after each `cuts` length (the rest goes in the final
/// fragment), with the optional pings between them. `None` if the connection was closed.
fn fragmented(
    sender: &mut Connection,
    kind: MessageKind,
    data: &[u8],
    cuts: &[(u8, Option<Vec<u8>>)],
    wire: &mut Vec<u8>,
) -> Option<Vec<Vec<u8>>> {
    let mut pings = Vec::new();
    let mut rest = data;
    for (i, (n, ping)) in cuts.iter().enumerate() {
        let (piece, after) = rest.split_at(usize::from(*n).min(rest.len()));
        rest = after;
        match sender.send_fragment(kind, piece, false, wire) {
            Ok(()) => {}
            Err(UsageError::Closed) if i == 0 => {
                return None;
            }
            Err(e) => panic!("send_fragment: {e:?}"),
        }
        if let Some(p) = ping {
            let p = control(p.clone());
            sender.send_ping(&p, wire).unwrap();
            pings.push(p);
        }
    }
    match sender.send_fragment(kind, rest, true, wire) {
        Ok(()) => Some(pings),
        Err(UsageError::Closed) if cuts.is_empty() => None,
        Err(e) => panic!("send_fragment: {e:?}"),
    }
}

fn receive_all(conn: &mut Connection, wire: &mut [u8], reads: &[u8]) -> Vec<Message> {
    let mut assembler = MessageAssembler::new();
    let mut messages = Vec::new();
    let mut buf = Vec::new();
    let reads: Vec<u8> = reads.iter().map(|&r| r.max(1)).collect();
    for piece in Chunks::new(&reads, wire) {
        buf.extend_from_slice(piece);
        let mut pos = 0;
        loop {
            let r = conn.receive(&mut buf[pos..]).expect("valid frames");
            pos += r.consumed;
            let Some(event) = r.event else { break };
            if let Some(m) = assembler.push(event) {
                messages.push(m);
            }
        }
        buf.drain(..pos);
    }
    assert!(buf.is_empty(), "whole frames were sent");
    assert!(assembler.in_progress().is_none());
    messages
}
