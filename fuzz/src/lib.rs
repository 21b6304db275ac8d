//! Helpers shared by the fuzz targets: splitting the input into fuzzer-chosen pieces, an
//! independent (core::str based) UTF-8 oracle, and a checker for the bytes a connection
//! writes.
//!
//! Raw-byte targets use the layout `[n] [n pattern bytes] [data...]` (after any target
//! specific parameter bytes): `data` is fed in pieces whose lengths cycle through the
//! pattern, so a seed file is just a short prefix (`\x00` = "all at once") followed by the
//! real bytes.

use rfc6455::frame::{FrameHeader, OpCode, Status};
use rfc6455::mask::apply_mask_reference;
use rfc6455::testing::SeededMasks;
use std::collections::VecDeque;

use rfc6455::{
    CloseCode, Config, Connection, Event, MAX_QUEUED_PONGS, MessageKind, ProtocolError, Role, State,
};

/// Splits `[n] [pattern; n % 16] [data...]` into the split pattern and the data.
pub fn split_pattern(input: &[u8]) -> (&[u8], &[u8]) {
    let Some((&n, rest)) = input.split_first() else {
        return (&[], &[]);
    };
    let n = (n as usize % 16).min(rest.len());
    rest.split_at(n)
}

/// `data` in pieces whose lengths cycle through `pattern`: a byte `b` below 0xC0 is a
/// piece of `b` bytes (0: an empty piece), above it `(b - 0xBF) * 256` bytes. An empty or
/// all-zero pattern yields `data` in one piece.
pub struct Chunks<'a> {
    pattern: &'a [u8],
    data: &'a [u8],
    i: usize,
}

impl<'a> Chunks<'a> {
    /// Pieces of `data` following `pattern`.
    pub fn new(pattern: &'a [u8], data: &'a [u8]) -> Chunks<'a> {
        let pattern = if pattern.iter().all(|&b| b == 0) {
            &[]
        } else {
            pattern
        };
        Chunks {
            pattern,
            data,
            i: 0,
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        let len = if self.pattern.is_empty() {
            self.data.len()
        } else {
            let b = self.pattern[self.i % self.pattern.len()];
            self.i += 1;
            match b {
                0..=0xBF => b as usize,
                _ => (b as usize - 0xBF) * 256,
            }
        };
        let (piece, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        Some(piece)
    }
}

/// The index of the first byte at which `data` stops being a prefix of valid UTF-8, per
/// `core::str::from_utf8`; `None` if `data` is valid or merely ends inside a code point.
pub fn first_invalid_utf8_byte(data: &[u8]) -> Option<usize> {
    let e = core::str::from_utf8(data).err()?;
    e.error_len()?;
    let v = e.valid_up_to();
    (v + 1..=data.len())
        .find(|&k| {
            core::str::from_utf8(&data[v..k])
                .err()
                .is_some_and(|e| e.error_len().is_some())
        })
        .map(|k| k - 1)
}

/// The end of the first blank line (`\n\n` or `\n\r\n`) in `data`: where an HTTP head
/// ends (httparse accepts bare LF line endings).
pub fn head_end(data: &[u8]) -> Option<usize> {
    (0..data.len()).find_map(|i| match &data[i..] {
        [b'\n', b'\n', ..] => Some(i + 2),
        [b'\n', b'\r', b'\n', ..] => Some(i + 3),
        _ => None,
    })
}

/// Whether `data` is a prefix of some valid UTF-8 text.
pub fn is_utf8_prefix(data: &[u8]) -> bool {
    match core::str::from_utf8(data) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Decodes standard base64 (with padding) of exactly 16 bytes, as a `Sec-WebSocket-Key`.
pub fn decode_key(key: &[u8]) -> Option<[u8; 16]> {
    if key.len() != 24 || &key[22..] != b"==" {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut bits: u64 = 0;
    let mut nbits = 0;
    let mut out = [0u8; 16];
    let mut n = 0;
    for &c in &key[..22] {
        bits = (bits << 6) | u64::from(val(c)?);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            if n < 16 {
                out[n] = (bits >> nbits) as u8;
                n += 1;
            }
        }
    }
    // 22 characters carry 132 bits: 128 of data and 4 that must be zero (canonical).
    (n == 16 && bits & ((1 << nbits) - 1) == 0).then_some(out)
}

/// A connection's event stream, checked against the configuration it was given.
#[derive(Default)]
pub struct EventChecker {
    /// Limits.
    pub max_frame_size: u64,
    /// Limits.
    pub max_message_size: u64,
    kind: Option<MessageKind>,
    len: u64,
    text: Vec<u8>,
    text_checked: usize,
    /// A Close event was seen.
    pub close_seen: bool,
}

impl EventChecker {
    /// Checks one event.
    pub fn on_event(&mut self, event: &Event<'_>) {
        assert!(!self.close_seen, "event after the peer's Close: {event:?}");
        match *event {
            Event::Text(text) => {
                assert!(self.kind.is_none(), "whole message inside a fragmented one");
                assert!(core::str::from_utf8(text.as_bytes()).is_ok());
                self.check_whole(text.len());
            }
            Event::Binary(data) => {
                assert!(self.kind.is_none(), "whole message inside a fragmented one");
                self.check_whole(data.len());
            }
            Event::TextChunk { payload, fin } => {
                self.chunk(MessageKind::Text, payload, fin);
                self.text.extend_from_slice(payload);
                // Everything delivered so far is a valid UTF-8 prefix (checked
                // incrementally with core::str, independently of the crate's validator).
                match core::str::from_utf8(&self.text[self.text_checked..]) {
                    Ok(_) => self.text_checked = self.text.len(),
                    Err(e) => {
                        assert!(e.error_len().is_none(), "invalid UTF-8 delivered");
                        self.text_checked += e.valid_up_to();
                    }
                }
                if fin {
                    assert!(
                        core::str::from_utf8(&self.text).is_ok(),
                        "text message ended inside a code point"
                    );
                    self.text.clear();
                    self.text_checked = 0;
                }
            }
            Event::BinaryChunk { payload, fin } => self.chunk(MessageKind::Binary, payload, fin),
            Event::Ping(p) | Event::Pong(p) => assert!(p.len() <= 125),
            Event::Close { code, reason } => {
                assert!(
                    code.is_valid_on_wire()
                        || (code == CloseCode::NO_STATUS_RECEIVED && reason.is_empty()),
                    "Close event with code {code}"
                );
                assert!(reason.len() <= 123);
                self.close_seen = true;
            }
            _ => panic!("unknown event {event:?}"),
        }
    }

    fn check_whole(&mut self, len: usize) {
        assert!(
            len as u64 <= self.max_frame_size,
            "frame beyond max_frame_size"
        );
        assert!(
            len as u64 <= self.max_message_size,
            "message beyond max_message_size"
        );
    }

    fn chunk(&mut self, kind: MessageKind, payload: &[u8], fin: bool) {
        assert!(
            self.kind.is_none_or(|k| k == kind),
            "chunk of the wrong kind"
        );
        assert!(payload.len() as u64 <= self.max_frame_size);
        self.len += payload.len() as u64;
        assert!(
            self.len <= self.max_message_size,
            "message beyond max_message_size"
        );
        if fin {
            self.kind = None;
            self.len = 0;
        } else {
            self.kind = Some(kind);
        }
    }

    /// Bytes of the current message delivered so far.
    pub fn in_progress(&self) -> Option<(MessageKind, u64)> {
        self.kind.map(|k| (k, self.len))
    }
}

/// Checks everything one endpoint writes: each frame decodes completely with
/// [`FrameHeader::decode`], is masked iff the writer is a client, has no RSV bits, control
/// frames are final and at most 125 bytes, nothing follows a Close frame, the Close payload
/// is valid — and a connection in the other role accepts the whole stream without error.
pub struct OutputChecker {
    writer: Role,
    peer: Connection,
    /// A Close frame was written.
    pub close_seen: bool,
    /// The Close frame the writer must send next (code, reason), if known.
    pub expect_close: Option<(u16, &'static str)>,
    frames: u64,
}

impl OutputChecker {
    /// A checker for what an endpoint in role `writer` sends.
    pub fn new(writer: Role) -> OutputChecker {
        let peer_role = match writer {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        let config = Config::default()
            .max_message_size(1 << 40)
            .max_frame_size(1 << 40)
            .max_fragments(u32::MAX);
        OutputChecker {
            writer,
            peer: Connection::with_mask_source(peer_role, config, SeededMasks::new(99)),
            close_seen: false,
            expect_close: None,
            frames: 0,
        }
    }

    /// Checks and clears `out`; returns the payloads of the Pong frames in it.
    pub fn check(&mut self, out: &mut Vec<u8>) -> Vec<Vec<u8>> {
        let mut pongs = Vec::new();
        let mut pos = 0;
        while pos < out.len() {
            let (h, hlen) = match FrameHeader::decode(&out[pos..]) {
                Ok(Status::Complete(h)) => h,
                other => panic!("output does not parse as a frame: {other:?}"),
            };
            // §5.5.1: no data frame after our Close; pongs still answer earlier pings.
            assert!(
                !self.close_seen || h.opcode == OpCode::Pong,
                "a {:?} frame after the Close frame",
                h.opcode
            );
            self.frames += 1;
            assert_eq!(h.mask.is_some(), self.writer == Role::Client, "masking");
            assert!(!h.rsv1 && !h.rsv2 && !h.rsv3, "RSV bits");
            let end = pos + hlen + usize::try_from(h.payload_len).unwrap();
            assert!(end <= out.len(), "truncated frame in output");
            let mut payload = out[pos + hlen..end].to_vec();
            if let Some(key) = h.mask {
                apply_mask_reference(&mut payload, key, 0);
            }
            if h.opcode.is_control() {
                assert!(h.fin && payload.len() <= 125, "control frame rules");
            }
            match h.opcode {
                OpCode::Pong => pongs.push(payload),
                OpCode::Close => {
                    assert_ne!(payload.len(), 1, "1-byte close payload");
                    if payload.len() >= 2 {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        assert!(CloseCode::new(code).is_valid_on_wire(), "sent code {code}");
                        assert!(core::str::from_utf8(&payload[2..]).is_ok());
                    }
                    if let Some((code, reason)) = self.expect_close.take() {
                        let mut expected = code.to_be_bytes().to_vec();
                        expected.extend_from_slice(reason.as_bytes());
                        assert_eq!(payload, expected, "failure Close frame");
                    }
                    self.close_seen = true;
                }
                _ => {}
            }
            pos = end;
        }
        // The other role accepts everything we wrote.
        let mut p = 0;
        loop {
            match self.peer.receive(&mut out[p..]) {
                Ok(r) => {
                    p += r.consumed;
                    if r.event.is_none() {
                        break;
                    }
                }
                Err(e) => panic!("the peer rejects our output: {e}"),
            }
        }
        assert_eq!(p, out.len(), "the peer left output unconsumed");
        out.clear();
        pongs
    }
}

/// Parameters of a connection fuzz run, from the first six input bytes.
pub struct ConnParams {
    /// Bit 0 auto_pong, 1 echo every event back, 2 timers, 3 EOF at the end, 4 echo with
    /// a small fragment_size, 5 start our own close handshake first, 6 poll_transmit only
    /// at the end (the peer floods, we never write).
    pub flags: u8,
    /// The connection's configuration.
    pub config: Config,
}

/// Feeds an arbitrary byte stream, in fuzzer-chosen pieces, into a connection in `role`,
/// checking every invariant on its events and output.
pub fn fuzz_connection(role: Role, input: &[u8]) {
    let Some((params, rest)) = input.split_first_chunk::<6>() else {
        return;
    };
    let [flags, m_hi, m_lo, f_hi, f_lo, frags] = *params;
    let max_message_size = u64::from(u16::from_be_bytes([m_hi, m_lo]));
    let max_frame_size = u64::from(u16::from_be_bytes([f_hi, f_lo]));
    let max_fragments = u32::from(frags);
    let auto_pong = flags & 1 != 0;
    let echo = flags & 2 != 0;
    let timers = flags & 4 != 0;
    let mut config = Config::default()
        .max_message_size(max_message_size)
        .max_frame_size(max_frame_size)
        .max_fragments(max_fragments)
        .auto_pong(auto_pong);
    if timers {
        config = config
            .ping_interval(Some(core::time::Duration::from_secs(2)))
            .idle_timeout(Some(core::time::Duration::from_secs(5)))
            .close_timeout(Some(core::time::Duration::from_secs(3)));
    }
    if flags & 0x10 != 0 {
        config = config.fragment_size(Some(usize::from(f_lo % 16) + 1));
    }
    let (pattern, data) = split_pattern(rest);
    let seed = u32::from_be_bytes([m_hi, m_lo, f_hi, f_lo]);
    let mut conn = Connection::with_mask_source(role, config, SeededMasks::new(seed));
    let mut checker = EventChecker {
        max_frame_size,
        max_message_size,
        ..EventChecker::default()
    };
    let mut output = OutputChecker::new(role);
    let mut out = Vec::new();
    if flags & 0x20 != 0 {
        conn.close(CloseCode::NORMAL, "bye", &mut out).unwrap();
    }
    let defer_transmit = flags & 0x40 != 0;
    let mut buf: Vec<u8> = Vec::new();
    let mut failure: Option<ProtocolError> = None;
    // The pongs poll_transmit must write: the latest MAX_QUEUED_PONGS pings' payloads.
    let mut expect_pongs: VecDeque<Vec<u8>> = VecDeque::new();
    let mut now = core::time::Duration::ZERO;
    for chunk in Chunks::new(pattern, data) {
        buf.extend_from_slice(chunk);
        let mut pos = 0;
        loop {
            let before = conn.state();
            let available = buf.len() - pos;
            match conn.receive(&mut buf[pos..]) {
                Ok(r) => {
                    assert!(r.consumed <= available);
                    pos += r.consumed;
                    let Some(event) = r.event else { break };
                    assert!(failure.is_none(), "an event after the connection failed");
                    assert!(r.consumed > 0, "an event that consumed nothing");
                    checker.on_event(&event);
                    match event {
                        // §5.5.2: answered unless the peer's Close arrived (our own
                        // Close does not stop pongs).
                        Event::Ping(p)
                            if auto_pong && matches!(before, State::Open | State::CloseSent) =>
                        {
                            if expect_pongs.len() == MAX_QUEUED_PONGS {
                                expect_pongs.pop_front();
                            }
                            expect_pongs.push_back(p.to_vec());
                        }
                        Event::Close { code, .. } => {
                            assert!(matches!(conn.state(), State::CloseReceived | State::Closed));
                            assert_eq!(conn.peer_close_code(), Some(code));
                        }
                        _ => {}
                    }
                    if echo {
                        let sent = match event {
                            Event::Text(t) => conn.send_text(t, &mut out),
                            Event::Binary(b) => conn.send_binary(b, &mut out),
                            Event::TextChunk { payload, fin } => {
                                conn.send_fragment(MessageKind::Text, payload, fin, &mut out)
                            }
                            Event::BinaryChunk { payload, fin } => {
                                conn.send_fragment(MessageKind::Binary, payload, fin, &mut out)
                            }
                            Event::Ping(p) if !auto_pong => conn.send_pong(p, &mut out),
                            _ => Ok(()),
                        };
                        // Once our Close is out, sends fail: with `Closed`, or with
                        // `MessageInProgress` when an echoed fragmented message was cut
                        // short by the close.
                        if let Err(e) = sent {
                            assert!(
                                matches!(conn.state(), State::CloseSent | State::Closed),
                                "echo failed: {e:?}"
                            );
                            assert!(matches!(
                                e,
                                rfc6455::UsageError::Closed
                                    | rfc6455::UsageError::MessageInProgress
                            ));
                        }
                    }
                }
                Err(e) => {
                    // No deflate here: every error is the peer's.
                    let rfc6455::ReceiveError::Protocol(e) = e else {
                        panic!("not the peer's fault: {e:?}")
                    };
                    assert!(failure.is_none(), "a second error");
                    assert_eq!(conn.state(), State::Closed);
                    assert_eq!(conn.failure(), Some(&e));
                    assert!(conn.poll_close_transport());
                    assert!(matches!(e.close_code().as_u16(), 1002 | 1007 | 1009));
                    match e {
                        ProtocolError::FrameTooLarge { limit } => {
                            assert_eq!(limit, max_frame_size)
                        }
                        ProtocolError::MessageTooLarge { limit } => {
                            assert_eq!(limit, max_message_size)
                        }
                        ProtocolError::TooManyFragments { limit } => {
                            assert_eq!(limit, max_fragments)
                        }
                        _ => {}
                    }
                    if matches!(before, State::Open | State::CloseReceived) {
                        output.expect_close = Some((e.close_code().as_u16(), e.reason()));
                    }
                    expect_pongs.clear();
                    failure = Some(e);
                    break;
                }
            }
        }
        if failure.is_some() || !matches!(conn.state(), State::Open | State::CloseSent) {
            // Input is discarded once the connection failed or the peer's Close arrived.
            let rest = buf.len() - pos;
            let r = conn
                .receive(&mut buf[pos..])
                .expect("no error after the end");
            assert_eq!((r.consumed, r.event), (rest, None));
            pos = buf.len();
        }
        buf.drain(..pos);
        // Only a partial header or control frame is ever left for the caller to buffer.
        assert!(buf.len() < 14 + 125, "{} unconsumed bytes", buf.len());
        if timers {
            now += core::time::Duration::from_millis(chunk.len() as u64 * 50);
            // An idle timeout drops owed pongs for its Close; a close timeout ends the
            // connection (the transport is to be closed: nothing more is written).
            if conn.handle_timeout(now).is_some() {
                expect_pongs.clear();
            }
        }
        if !defer_transmit {
            transmit(
                &mut conn,
                &mut out,
                &mut output,
                &mut expect_pongs,
                auto_pong,
            );
        }
    }
    transmit(
        &mut conn,
        &mut out,
        &mut output,
        &mut expect_pongs,
        auto_pong,
    );
    assert_eq!(conn.poll_transmit(&mut out), 0, "poll_transmit twice");
    // A failure's Close frame went out (unless ours was already sent).
    assert!(output.expect_close.is_none());
    if flags & 8 != 0 {
        conn.receive_eof();
        assert_eq!(conn.state(), State::Closed);
        assert!(conn.poll_close_transport());
        let mut more = *b"\x81\x00";
        let r = conn.receive(&mut more).unwrap();
        assert_eq!((r.consumed, r.event), (2, None));
    }
}

fn transmit(
    conn: &mut Connection,
    out: &mut Vec<u8>,
    output: &mut OutputChecker,
    expect_pongs: &mut VecDeque<Vec<u8>>,
    auto_pong: bool,
) {
    conn.poll_transmit(out);
    let pongs = output.check(out);
    if auto_pong {
        // The latest MAX_QUEUED_PONGS pings are answered, in order, with their exact
        // payloads (§5.5.3); older ones are dropped.
        assert!(pongs.len() <= MAX_QUEUED_PONGS);
        assert_eq!(pongs, expect_pongs.drain(..).collect::<Vec<_>>());
    }
}
