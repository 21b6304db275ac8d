//! Hostile input, each with its defined outcome: the exact error, the exact bytes queued
//! for the peer, and the memory the crate allocates while handling it.
//!
//! Memory is measured with a counting global allocator. Tests run in parallel threads, so
//! the counters are per thread: [`measure`] reports what the closure allocated on the
//! calling thread (the crate never spawns threads), unaffected by other tests.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use rfc6455::handshake::{
    AllowedOrigins, ClientHandshake, ClientRequest, DEFAULT_MAX_HEAD_SIZE, DEFAULT_MAX_HEADERS,
    HandshakeError, ServerConfig, ServerHandshake,
};
use rfc6455::mask::apply_mask_reference;
use rfc6455::testing::SeededMasks;
use rfc6455::{
    CloseCode, Config, Connection, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE, Event,
    MAX_QUEUED_PONGS, MaskSource, Message, MessageAssembler, ProtocolError, Role, State, Status,
};

// ---------------------------------------------------------------------------------------
// A counting allocator: bytes currently allocated, and the peak, per thread.

struct Counting;

thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    // `try_with`: the counters may already be gone while a thread shuts down.
    let _ = CURRENT.try_with(|current| {
        let now = current.get() + delta;
        current.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every method forwards to `System` unchanged and only updates thread-local
// counters (const-initialised `Cell`s without destructors: no allocation, no reentrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What a closure allocated on this thread.
#[derive(Debug, Clone, Copy)]
struct Usage {
    /// The most bytes held at once above the level at the start.
    peak: usize,
    /// Bytes still held at the end (negative: more freed than allocated).
    net: isize,
}

fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let start = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let result = f();
    let end = CURRENT.with(Cell::get);
    let peak = PEAK.with(Cell::get);
    let usage = Usage {
        peak: (peak - start) as usize,
        net: end - start,
    };
    (result, usage)
}

// ---------------------------------------------------------------------------------------
// Frames and expected bytes, written out independently of the crate's encoder.

const KEY: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// A client frame: `b0` (FIN/RSV/opcode), masked with `KEY`.
fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    common::masked_frame(b0, payload, KEY)
}

/// A server frame (unmasked), payload at most 125 bytes.
fn unmasked(b0: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() <= 125);
    [&[b0, payload.len() as u8][..], payload].concat()
}

/// The Close frame a server sends: code and reason, unmasked.
fn server_close(code: u16, reason: &str) -> Vec<u8> {
    unmasked(0x88, &[&code.to_be_bytes()[..], reason.as_bytes()].concat())
}

/// The Close frame a client sends with mask `key`.
fn client_close(code: u16, reason: &str, key: [u8; 4]) -> Vec<u8> {
    let mut payload = [&code.to_be_bytes()[..], reason.as_bytes()].concat();
    apply_mask_reference(&mut payload, key, 0);
    [&[0x88, 0x80 | payload.len() as u8][..], &key, &payload].concat()
}

/// The first mask key a client connection built with `SeededMasks::new(seed)` uses.
fn first_key(seed: u32) -> [u8; 4] {
    SeededMasks::new(seed).next_key()
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

/// What one `receive` call produced, owned.
#[derive(Debug, PartialEq)]
enum Got {
    Event(Option<Message>),
    Chunk(usize),
    Error(ProtocolError),
}

/// Feeds all of `wire` (as one buffer), collecting events until an error or `None`.
fn feed(conn: &mut Connection, wire: &mut [u8]) -> Vec<Got> {
    let mut got = Vec::with_capacity(8);
    feed_into(conn, wire, &mut got);
    got
}

/// [`feed`] into a vector allocated by the caller (so that measurements exclude it).
fn feed_into(conn: &mut Connection, wire: &mut [u8], got: &mut Vec<Got>) {
    let mut pos = 0;
    loop {
        match conn.receive(&mut wire[pos..]) {
            Ok(r) => {
                pos += r.consumed;
                match r.event {
                    None => return,
                    Some(Event::TextChunk { payload, .. } | Event::BinaryChunk { payload, .. }) => {
                        got.push(Got::Chunk(payload.len()))
                    }
                    Some(e) => got.push(Got::Event(Message::from_event(&e))),
                }
            }
            Err(e) => {
                got.push(Got::Error(common::peer_fault(e)));
                return;
            }
        }
    }
}

/// [`feed`], measuring what the connection allocated.
fn feed_measured(conn: &mut Connection, wire: &mut [u8]) -> (Vec<Got>, Usage) {
    let mut got = Vec::with_capacity(8);
    let ((), usage) = measure(|| feed_into(conn, wire, &mut got));
    (got, usage)
}

/// Checks the state after a failure and returns what `poll_transmit` queued.
fn failed_with(conn: &mut Connection, error: &ProtocolError) -> Vec<u8> {
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.failure(), Some(error));
    assert!(conn.poll_close_transport());
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    // No event after the error: later input is discarded whole, nothing more is queued.
    let mut more = masked(0x81, b"more");
    let len = more.len();
    let r = conn.receive(&mut more).expect("no second error");
    assert_eq!((r.consumed, r.event), (len, None));
    assert_eq!(conn.poll_transmit(&mut Vec::new()), 0);
    out
}

// ---------------------------------------------------------------------------------------
// A frame header announcing 2^63 − 1 bytes.

/// What failing a connection allocates: the queued Close frame's payload (a length byte
/// and up to 125 bytes), freed when `poll_transmit` writes it.
const CLOSE_SLOT: usize = 1 + 125;

/// The header of a masked binary frame announcing `len` bytes (64-bit length form).
fn huge_header(b0: u8, len: u64, masked: bool) -> Vec<u8> {
    let mut h = vec![b0, if masked { 0xFF } else { 0x7F }];
    h.extend_from_slice(&len.to_be_bytes());
    if masked {
        h.extend_from_slice(&KEY);
    }
    h
}

#[test]
fn header_announcing_2_pow_63_minus_1_bytes_fails_1009_allocating_only_the_close() {
    const HUGE: u64 = (1 << 63) - 1;
    // Server, default limits: rejected by max_frame_size as soon as the header is complete.
    let mut conn = server();
    let mut wire = huge_header(0x82, HUGE, true);
    let (result, usage) = measure(|| {
        conn.receive(&mut wire)
            .map(|r| (r.consumed, r.event.is_some()))
            .map_err(common::peer_fault)
    });
    let limit = DEFAULT_MAX_MESSAGE_SIZE;
    assert_eq!(result, Err(ProtocolError::FrameTooLarge { limit }));
    assert_eq!(result.unwrap_err().close_code(), CloseCode::MESSAGE_TOO_BIG);
    assert!(usage.peak <= CLOSE_SLOT, "receive allocated {usage:?}");
    eprintln!("2^63 - 1 byte header: {usage:?}");
    assert_eq!(
        failed_with(&mut conn, &ProtocolError::FrameTooLarge { limit }),
        server_close(1009, "frame too large")
    );

    // Every strict prefix of that header is just "need more", and allocates nothing.
    let wire = huge_header(0x82, HUGE, true);
    let mut conn = server();
    for end in 0..wire.len() {
        let mut prefix = wire[..end].to_vec();
        let (r, usage) = measure(|| conn.receive(&mut prefix).map(|r| (r.consumed, r.event)));
        assert_eq!(r, Ok((0, None)));
        assert_eq!(usage.peak, 0);
    }

    // Frame limit lifted: the message limit catches it.
    let mut conn = Connection::new(Role::Server, Config::default().max_frame_size(u64::MAX));
    let mut wire = huge_header(0x82, HUGE, true);
    let (got, usage) = feed_measured(&mut conn, &mut wire);
    let error = ProtocolError::MessageTooLarge { limit };
    assert_eq!(got, [Got::Error(error.clone())]);
    assert!(usage.peak <= CLOSE_SLOT, "{usage:?}");
    assert_eq!(
        failed_with(&mut conn, &error),
        server_close(1009, "message too large")
    );

    // As a continuation of a fragmented message: the same.
    let mut conn = server();
    let mut wire = masked(0x02, b"first");
    wire.extend(huge_header(0x80, HUGE, true));
    let (got, usage) = feed_measured(&mut conn, &mut wire);
    let error = ProtocolError::FrameTooLarge { limit };
    assert_eq!(got, [Got::Chunk(5), Got::Error(error.clone())]);
    assert!(usage.peak <= CLOSE_SLOT, "{usage:?}");
    assert_eq!(
        failed_with(&mut conn, &error),
        server_close(1009, "frame too large")
    );

    // A client receiving it (unmasked): 1009 in a masked Close frame.
    let mut conn =
        Connection::with_mask_source(Role::Client, Config::default(), SeededMasks::new(5));
    let mut wire = huge_header(0x82, HUGE, false);
    let (got, usage) = feed_measured(&mut conn, &mut wire);
    let error = ProtocolError::FrameTooLarge { limit };
    assert_eq!(got, [Got::Error(error.clone())]);
    assert!(usage.peak <= CLOSE_SLOT, "{usage:?}");
    assert_eq!(
        failed_with(&mut conn, &error),
        client_close(1009, "frame too large", first_key(5))
    );

    // 2^63 itself breaks §5.2 ("the most significant bit MUST be 0"): 1002.
    let mut conn = server();
    let mut wire = huge_header(0x82, 1 << 63, true);
    let got = feed(&mut conn, &mut wire);
    assert_eq!(got, [Got::Error(ProtocolError::LengthOverflow)]);
    assert_eq!(
        failed_with(&mut conn, &ProtocolError::LengthOverflow),
        server_close(1002, "payload length overflow")
    );
}

#[test]
fn with_limits_disabled_a_huge_frame_streams_through_without_buffering() {
    // An application that lifts every limit gets chunks; the core itself still buffers
    // nothing (only a MessageAssembler would).
    let config = Config::default()
        .max_frame_size(u64::MAX)
        .max_message_size(u64::MAX);
    let mut conn = Connection::new(Role::Server, config);
    let mut header = huge_header(0x82, (1 << 63) - 1, true);
    let mut piece = vec![0u8; 64 * 1024];
    let (delivered, usage) = measure(|| {
        let r = conn.receive(&mut header).unwrap();
        assert_eq!((r.consumed, r.event), (14, None));
        let mut delivered = 0;
        for _ in 0..16 {
            let r = conn.receive(&mut piece).unwrap();
            match r.event {
                Some(Event::BinaryChunk {
                    payload,
                    fin: false,
                }) => delivered += payload.len(),
                other => panic!("{other:?}"),
            }
        }
        delivered
    });
    assert_eq!(delivered, 1 << 20);
    assert_eq!(usage.peak, 0);
}

// ---------------------------------------------------------------------------------------
// A message sent as 1-byte fragments without end.

struct EndlessOutcome {
    error: ProtocolError,
    /// Frames accepted before the one that failed.
    frames: usize,
    /// Bytes the assembler held when the connection failed.
    buffered: usize,
    usage: Usage,
    close: Vec<u8>,
}

/// Sends one frame at a time — a binary frame without FIN, then continuation frames without
/// FIN, each carrying `payload_len` bytes — forever, into a server and a MessageAssembler.
fn endless_fragments(config: Config, payload_len: usize) -> EndlessOutcome {
    let mut conn = Connection::new(Role::Server, config);
    let mut assembler = MessageAssembler::new();
    let mut frame = [0u8; 2 + 4 + 125];
    let len = 6 + payload_len;
    let ((error, frames), usage) = measure(|| {
        for i in 0..10_000_000usize {
            frame[0] = if i == 0 { 0x02 } else { 0x00 };
            frame[1] = 0x80 | payload_len as u8;
            frame[2..6].copy_from_slice(&KEY);
            for (j, b) in frame[6..len].iter_mut().enumerate() {
                *b = (i + j) as u8 ^ KEY[j % 4];
            }
            match conn.receive(&mut frame[..len]) {
                Ok(r) => {
                    assert_eq!(r.consumed, len);
                    let event = r.event.expect("a chunk per frame");
                    assert!(matches!(event, Event::BinaryChunk { fin: false, .. }));
                    assert_eq!(assembler.push(event), None);
                }
                Err(e) => return (common::peer_fault(e), i),
            }
        }
        panic!("ten million fragments accepted");
    });
    assert_eq!(assembler.in_progress(), Some(rfc6455::MessageKind::Binary));
    let buffered = assembler.buffered();
    let close = failed_with(&mut conn, &error);
    EndlessOutcome {
        error,
        frames,
        buffered,
        usage,
        close,
    }
}

#[test]
fn endless_one_byte_fragments_stop_at_max_fragments_with_1009() {
    let o = endless_fragments(Config::default(), 1);
    let limit = DEFAULT_MAX_FRAGMENTS;
    assert_eq!(o.error, ProtocolError::TooManyFragments { limit });
    assert_eq!(o.frames, 4096);
    assert_eq!(o.buffered, 4096);
    assert_eq!(o.close, server_close(1009, "too many fragments"));
    // The assembler's buffer (Vec doubling up to 4096 bytes), plus the queued Close.
    assert!(o.usage.peak <= 4096 + CLOSE_SLOT, "{:?}", o.usage);
    eprintln!("1-byte fragments, default limits: {:?}", o.usage);
}

#[test]
fn endless_one_byte_fragments_stop_at_max_message_size_with_1009() {
    // Fragment count unlimited: the 64 KiB message limit stops it at byte 65537.
    let config = Config::default()
        .max_fragments(u32::MAX)
        .max_message_size(64 * 1024);
    let o = endless_fragments(config, 1);
    let limit = 64 * 1024;
    assert_eq!(o.error, ProtocolError::MessageTooLarge { limit });
    assert_eq!(o.frames, 65536);
    assert_eq!(o.buffered, 65536);
    assert_eq!(o.close, server_close(1009, "message too large"));
    assert!(o.usage.peak <= 64 * 1024 + CLOSE_SLOT, "{:?}", o.usage);
    eprintln!("1-byte fragments, 64 KiB message limit: {:?}", o.usage);
}

#[test]
fn endless_empty_fragments_stop_at_max_fragments_without_memory() {
    let o = endless_fragments(Config::default(), 0);
    assert_eq!(
        o.error,
        ProtocolError::TooManyFragments {
            limit: DEFAULT_MAX_FRAGMENTS
        }
    );
    assert_eq!(o.frames, 4096);
    assert_eq!(o.buffered, 0);
    assert_eq!(o.close, server_close(1009, "too many fragments"));
    assert!(o.usage.peak <= CLOSE_SLOT, "{:?}", o.usage);
}

// ---------------------------------------------------------------------------------------
// A flood of pings while the peer does not read.

/// The payload of ping number `n`: its number, then up to 121 filler bytes (4..=125).
fn ping_payload(n: u32, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&n.to_be_bytes());
    out.resize(4 + (n % 122) as usize, b'p');
}

/// Feeds `count` pings in batches of 1000 (from one reused buffer), calling
/// `between_batches` after each batch. Returns what the feeding allocated (the buffers
/// are allocated before the measurement starts).
fn ping_flood(
    conn: &mut Connection,
    count: u32,
    mut between_batches: impl FnMut(&mut Connection),
) -> Usage {
    let mut batch = Vec::with_capacity(1000 * (6 + 125));
    let mut payload = Vec::with_capacity(125);
    let ((), usage) = measure(|| {
        let mut n = 0;
        while n < count {
            batch.clear();
            for _ in 0..1000 {
                ping_payload(n, &mut payload);
                batch.push(0x89);
                batch.push(0x80 | payload.len() as u8);
                batch.extend_from_slice(&KEY);
                let start = batch.len();
                batch.extend_from_slice(&payload);
                apply_mask_reference(&mut batch[start..], KEY, 0);
                n += 1;
            }
            let mut pos = 0;
            let mut pings = 0;
            loop {
                let r = conn.receive(&mut batch[pos..]).expect("pings are valid");
                pos += r.consumed;
                match r.event {
                    Some(Event::Ping(_)) => pings += 1,
                    None => break,
                    Some(other) => panic!("{other:?}"),
                }
            }
            assert_eq!((pos, pings), (batch.len(), 1000));
            between_batches(conn);
        }
    });
    usage
}

/// The most memory queued pongs may take: MAX_QUEUED_PONGS slots of a length byte plus
/// 125 payload bytes.
const PONG_QUEUE_BOUND: usize = MAX_QUEUED_PONGS * (1 + 125);

/// The pongs a server sends for pings `first..end`, in order.
fn server_pongs(first: u32, end: u32) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut out = Vec::new();
    for n in first..end {
        ping_payload(n, &mut payload);
        out.extend(unmasked(0x8A, &payload));
    }
    out
}

#[test]
fn ping_flood_while_peer_never_reads_keeps_only_the_latest_pongs() {
    assert_eq!(MAX_QUEUED_PONGS, 16);
    let mut conn = server();
    let flood = ping_flood(&mut conn, 100_000, |_| {});
    // 100,000 pings cost one fixed-size queue of the latest 16 pongs (about 2 KiB).
    assert!(flood.peak <= PONG_QUEUE_BOUND, "{flood:?}");
    assert!(conn.wants_transmit());
    let mut out = Vec::with_capacity(16 * (2 + 125));
    let (written, transmit) = measure(|| conn.poll_transmit(&mut out));
    // Exactly the pongs of the latest 16 pings, in order, with their payloads.
    assert_eq!(out, server_pongs(100_000 - 16, 100_000));
    assert_eq!(written, out.len());
    assert_eq!(&out[..6], &[0x8A, 70, 0x00, 0x01, 0x86, 0x90]);
    // Sending them frees the queue: nothing is left behind.
    assert_eq!(flood.net + transmit.net, 0, "{flood:?} {transmit:?}");
    assert!(!conn.wants_transmit());
    assert_eq!(conn.poll_transmit(&mut out), 0);
    eprintln!("100,000 pings, no reads: {flood:?}, then poll_transmit {transmit:?}");
}

#[test]
fn ping_flood_at_a_client_answers_the_latest_pings_with_masked_pongs() {
    let mut conn =
        Connection::with_mask_source(Role::Client, Config::default(), SeededMasks::new(9));
    let mut wire = Vec::new();
    // Unmasked server pings this time.
    for n in 0..100_000u32 {
        let mut payload = Vec::new();
        ping_payload(n, &mut payload);
        wire.extend(unmasked(0x89, &payload));
    }
    let (got, usage) = measure(|| {
        let mut pos = 0;
        let mut pings = 0;
        loop {
            let r = conn.receive(&mut wire[pos..]).unwrap();
            pos += r.consumed;
            match r.event {
                Some(Event::Ping(_)) => pings += 1,
                None => return pings,
                Some(other) => panic!("{other:?}"),
            }
        }
    });
    assert_eq!(got, 100_000);
    assert!(usage.peak <= PONG_QUEUE_BOUND, "{usage:?}");
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    // Each pong masked with the next key of the connection's mask source.
    let mut keys = SeededMasks::new(9);
    let mut expected = Vec::new();
    let mut payload = Vec::new();
    for n in 100_000 - 16..100_000 {
        ping_payload(n, &mut payload);
        let key = keys.next_key();
        let mut masked_payload = payload.clone();
        apply_mask_reference(&mut masked_payload, key, 0);
        expected.extend([0x8A, 0x80 | payload.len() as u8]);
        expected.extend(key);
        expected.extend(masked_payload);
    }
    assert_eq!(out, expected);
}

#[test]
fn ping_flood_with_output_dropped_stays_bounded() {
    // poll_transmit after every batch of 1000 pings, output thrown away: 16 pongs per poll,
    // and no growth.
    let mut conn = server();
    let mut out = Vec::with_capacity(16 * (2 + 125));
    let mut expected = Vec::with_capacity(16 * (2 + 125));
    let mut payload = Vec::with_capacity(125);
    let mut polls = 0u32;
    let usage = ping_flood(&mut conn, 100_000, |conn| {
        out.clear();
        conn.poll_transmit(&mut out);
        polls += 1;
        expected.clear();
        for n in polls * 1000 - 16..polls * 1000 {
            ping_payload(n, &mut payload);
            expected.extend([0x8A, payload.len() as u8]);
            expected.extend_from_slice(&payload);
        }
        assert_eq!(out, expected);
    });
    assert_eq!(polls, 100);
    assert!(usage.peak <= PONG_QUEUE_BOUND, "{usage:?}");
    assert_eq!(usage.net, 0, "{usage:?}");
}

// ---------------------------------------------------------------------------------------
// Handshakes that never end, and handshakes with 10,000 headers.

/// Byte `i` of a request head that never ends: a request line, then header lines forever.
fn endless_head_byte(i: usize) -> u8 {
    const START: &[u8] = b"GET /chat HTTP/1.1\r\nHost: example.com\r\n";
    const LINE: &[u8] = b"X-Filler: aaaaaaaaaaaaaaaa\r\n";
    match START.get(i) {
        Some(&b) => b,
        None => LINE[(i - START.len()) % LINE.len()],
    }
}

fn rejection(status: &str, reason: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n\r\n{reason}",
        reason.len()
    )
    .into_bytes()
}

#[test]
fn handshake_head_that_never_ends_fed_byte_by_byte_gets_431_at_the_limit() {
    let config = ServerConfig::default();
    let mut handshake = ServerHandshake::new(&config);
    let ((fed, error), usage) = measure(|| {
        let mut fed = 0;
        loop {
            match handshake.receive(&[endless_head_byte(fed)]) {
                Ok(Status::Partial) => fed += 1,
                Ok(Status::Complete(())) => panic!("the head never ends"),
                Err(e) => return (fed + 1, e),
            }
        }
    });
    assert_eq!(
        fed,
        DEFAULT_MAX_HEAD_SIZE + 1,
        "rejected by the byte past the limit"
    );
    assert_eq!(
        error,
        HandshakeError::HeadTooLarge {
            limit: DEFAULT_MAX_HEAD_SIZE
        }
    );
    assert_eq!(error.status(), 431);
    // The buffer grew to the limit, no further, and was released on the error.
    assert!(usage.peak <= DEFAULT_MAX_HEAD_SIZE, "{usage:?}");
    assert!(usage.net <= 0, "{usage:?}");
    eprintln!("endless head, byte by byte: {usage:?}");
    let mut out = Vec::new();
    error.write_response(&mut out);
    assert_eq!(
        out,
        rejection(
            "431 Request Header Fields Too Large",
            "request head too large"
        )
    );
}

#[test]
fn response_head_that_never_ends_is_rejected_at_the_configured_limit() {
    let request = ClientRequest::new("example.com", "/").max_head_size(1024);
    let mut handshake = ClientHandshake::new(&request, [7; 16], &mut Vec::new()).unwrap();
    let response_byte = |i: usize| b"HTTP/1.1 101 Switching Protocols\r\nX: y\r\n"[i % 40];
    let ((fed, error), usage) = measure(|| {
        let mut fed = 0;
        loop {
            match handshake.receive(&[response_byte(fed)]) {
                Ok(Status::Partial) => fed += 1,
                Ok(Status::Complete(_)) => panic!("the head never ends"),
                Err(e) => return (fed + 1, e),
            }
        }
    });
    assert_eq!(fed, 1025);
    assert_eq!(error, HandshakeError::HeadTooLarge { limit: 1024 });
    assert!(usage.peak <= 1024, "{usage:?}");
}

/// A request whose head has `n` extra header fields.
fn request_with_headers(n: usize) -> Vec<u8> {
    let mut head = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n"
        .to_vec();
    for i in 0..n {
        head.extend_from_slice(format!("X-Header-{i:05}: value\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[test]
fn handshake_with_10000_headers_is_rejected_with_431_and_bounded_memory() {
    let request = request_with_headers(10_000);
    assert_eq!(request.len(), 154 + 10_000 * 23);

    // Default limits, all at once: too large, found without copying a byte.
    let config = ServerConfig::default();
    let mut handshake = ServerHandshake::new(&config);
    let (result, usage) = measure(|| handshake.receive(&request));
    let too_large = HandshakeError::HeadTooLarge {
        limit: DEFAULT_MAX_HEAD_SIZE,
    };
    assert_eq!(result, Err(too_large.clone()));
    assert_eq!((usage.peak, usage.net), (0, 0), "{usage:?}");

    // In 1 KiB pieces: buffered up to the limit, then rejected and released.
    let mut handshake = ServerHandshake::new(&config);
    let ((fed, result), usage) = measure(|| {
        let mut fed = 0;
        for piece in request.chunks(1024) {
            fed += piece.len();
            match handshake.receive(piece) {
                Ok(Status::Partial) => {}
                other => return (fed, other),
            }
        }
        panic!("never rejected");
    });
    assert_eq!((fed, result), (17 * 1024, Err(too_large.clone())));
    assert!(usage.peak <= DEFAULT_MAX_HEAD_SIZE, "{usage:?}");
    assert!(usage.net <= 0);
    eprintln!("10,000 headers in 1 KiB pieces: {usage:?}");

    // A head limit large enough for all of it: the header count limit answers 431.
    let config = ServerConfig::default().max_head_size(1 << 20);
    let mut handshake = ServerHandshake::new(&config);
    let (result, usage) = measure(|| handshake.receive(&request));
    let too_many = HandshakeError::TooManyHeaders {
        limit: DEFAULT_MAX_HEADERS,
    };
    assert_eq!(result, Err(too_many.clone()));
    assert_eq!(too_many.status(), 431);
    // One copy of the head, nothing per header.
    assert!(usage.peak <= request.len(), "{usage:?}");
    eprintln!("10,000 headers with a 1 MiB head limit: {usage:?}");
    let mut out = Vec::new();
    too_many.write_response(&mut out);
    assert_eq!(
        out,
        rejection(
            "431 Request Header Fields Too Large",
            "too many header fields"
        )
    );

    // max_headers is capped at 256, whatever is asked for.
    let config = ServerConfig::default()
        .max_head_size(1 << 20)
        .max_headers(10_000);
    let mut handshake = ServerHandshake::new(&config);
    assert_eq!(
        handshake.receive(&request),
        Err(HandshakeError::TooManyHeaders { limit: 256 })
    );

    // The same request with 59 extra headers (64 in all) is fine; 60 (65) is not.
    let mut handshake = ServerHandshake::new(&ServerConfig::default());
    assert_eq!(
        handshake.receive(&request_with_headers(59)),
        Ok(Status::Complete(()))
    );
    let mut handshake = ServerHandshake::new(&ServerConfig::default());
    assert_eq!(handshake.receive(&request_with_headers(60)), Err(too_many));
}

/// Regression: after `HeadTooLarge`, the next `receive` used to panic in `find_head_end`
/// ("range start index 14 out of range for slice of length 1": `scanned` was not reset
/// when the buffer was emptied). Now every later piece fails the same way, and nothing
/// is buffered.
#[test]
fn handshake_receive_after_head_too_large_fails_again_without_buffering() {
    let config = ServerConfig::default().max_head_size(16);
    let mut server = ServerHandshake::new(&config);
    assert_eq!(server.receive(b"GET / HTTP/1.1\r\n"), Ok(Status::Partial));
    let too_large = Err(HandshakeError::HeadTooLarge { limit: 16 });
    assert_eq!(server.receive(b"X"), too_large);
    let piece = vec![b'x'; 64 * 1024];
    let (all_failed, usage) = measure(|| {
        (0..16).all(|_| server.receive(&piece) == too_large) && server.receive(b"Y") == too_large
    });
    assert!(all_failed);
    assert_eq!(usage.peak, 0, "{usage:?}");

    // The client side shares the buffer.
    let request = ClientRequest::new("example.com", "/").max_head_size(16);
    let mut client = ClientHandshake::new(&request, [7; 16], &mut Vec::new()).unwrap();
    assert_eq!(client.receive(b"HTTP/1.1 101\r\n"), Ok(Status::Partial));
    let too_large = HandshakeError::HeadTooLarge { limit: 16 };
    assert_eq!(client.receive(b"XYZ").unwrap_err(), too_large);
    assert_eq!(client.receive(b"Y").unwrap_err(), too_large);
}

/// BUG (src/handshake/head.rs, `HeadBuffer::push`): after a complete head was rejected as
/// `Malformed` or `TooManyHeaders`, every later `receive` appends its bytes to the internal
/// buffer (the `head_len.is_some()` branch) and re-parses the head, failing again. The
/// error repeats, but the buffer grows by every byte fed, without limit: a caller that
/// keeps reading and feeding after an error (as a naive loop that only looks for
/// `Complete` would) lets the peer grow its memory indefinitely. `HeadTooLarge` is final
/// and frees the buffer; these errors should be final too (expected: no growth).
#[test]
fn handshake_bytes_after_a_rejected_head_are_not_buffered() {
    let too_many = request_with_headers(100);
    type Case<'a> = (&'a [u8], fn(&HandshakeError) -> bool);
    let cases: [Case<'_>; 2] = [
        (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", |e| {
            matches!(e, HandshakeError::Malformed(_))
        }),
        (&too_many, |e| {
            matches!(e, HandshakeError::TooManyHeaders { .. })
        }),
    ];
    for (head, is_expected) in cases {
        let config = ServerConfig::default();
        let mut handshake = ServerHandshake::new(&config);
        let first = handshake.receive(head).unwrap_err();
        assert!(is_expected(&first), "{first:?}");
        let piece = vec![b'x'; 64 * 1024];
        let (all_failed, usage) = measure(|| (0..16).all(|_| handshake.receive(&piece).is_err()));
        assert!(all_failed, "an error must stay an error");
        assert!(
            usage.peak <= DEFAULT_MAX_HEAD_SIZE,
            "1 MiB fed after {first:?} grew the handshake by {usage:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Invalid UTF-8 in a text message, split across fragments at every position.

/// Valid text, then U+10FFFF + 1 (F4 90 80 80: invalid from its second byte on), then more.
const BAD_TEXT: &[u8] =
    b"Hello, \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5! \xf4\x90\x80\x80 tail";
/// The index of the first byte that cannot continue valid UTF-8 (the 0x90).
const FIRST_INVALID: usize = 21;

/// Feeds `wire` one byte at a time (appending to a buffer, as a transport would), returning
/// the number of bytes fed when `receive` first returned an error, and the error.
fn byte_by_byte_until_error(conn: &mut Connection, wire: &[u8]) -> Option<(usize, ProtocolError)> {
    let mut buf = Vec::new();
    for (i, &b) in wire.iter().enumerate() {
        buf.push(b);
        let mut pos = 0;
        loop {
            match conn.receive(&mut buf[pos..]) {
                Ok(r) => {
                    pos += r.consumed;
                    if r.event.is_none() {
                        break;
                    }
                }
                Err(e) => return Some((i + 1, common::peer_fault(e))),
            }
        }
        buf.drain(..pos);
    }
    None
}

fn invalid_utf8_close() -> Vec<u8> {
    server_close(1007, "invalid UTF-8")
}

#[test]
fn invalid_utf8_fails_at_the_first_invalid_byte_for_every_two_fragment_split() {
    assert_eq!(BAD_TEXT[FIRST_INVALID - 1..=FIRST_INVALID], [0xF4, 0x90]);
    assert!(std::str::from_utf8(&BAD_TEXT[..FIRST_INVALID - 1]).is_ok());
    for split in 0..=BAD_TEXT.len() {
        let first = masked(0x01, &BAD_TEXT[..split]);
        let second = masked(0x80, &BAD_TEXT[split..]);
        let wire = [&first[..], &second[..]].concat();
        // Where the invalid payload byte sits on the wire (6-byte masked headers).
        let expected_at = if FIRST_INVALID < split {
            6 + FIRST_INVALID + 1
        } else {
            first.len() + 6 + (FIRST_INVALID - split) + 1
        };

        let mut conn = server();
        let (at, error) = byte_by_byte_until_error(&mut conn, &wire).expect("rejected");
        assert_eq!(error, ProtocolError::InvalidUtf8, "split {split}");
        assert_eq!(at, expected_at, "split {split}: error after {at} bytes");
        assert_eq!(failed_with(&mut conn, &error), invalid_utf8_close());

        // All at once: the valid first fragment is delivered, then the error.
        let mut conn = server();
        let mut all = wire.clone();
        let got = feed(&mut conn, &mut all);
        let mut expected = Vec::new();
        if FIRST_INVALID >= split {
            expected.push(Got::Chunk(split));
        }
        expected.push(Got::Error(ProtocolError::InvalidUtf8));
        assert_eq!(got, expected, "split {split}");
        assert_eq!(
            failed_with(&mut conn, &ProtocolError::InvalidUtf8),
            invalid_utf8_close()
        );
    }
}

#[test]
fn invalid_utf8_fails_at_the_first_invalid_byte_for_every_three_fragment_split() {
    for a in 0..=BAD_TEXT.len() {
        for b in a..=BAD_TEXT.len() {
            let frames = [
                masked(0x01, &BAD_TEXT[..a]),
                masked(0x00, &BAD_TEXT[a..b]),
                masked(0x80, &BAD_TEXT[b..]),
            ];
            let wire = frames.concat();
            // Payload byte p is preceded by the headers of the fragments up to its own.
            let headers =
                6 * (1 + usize::from(FIRST_INVALID >= a) + usize::from(FIRST_INVALID >= b));
            let mut conn = server();
            let (at, error) = byte_by_byte_until_error(&mut conn, &wire).expect("rejected");
            assert_eq!(error, ProtocolError::InvalidUtf8);
            assert_eq!(at, headers + FIRST_INVALID + 1, "splits {a}, {b}");
        }
    }
}

#[test]
fn invalid_utf8_in_one_frame_fails_at_the_first_invalid_byte() {
    // Byte by byte: the frame's payload arrives in pieces and is validated incrementally.
    let wire = masked(0x81, BAD_TEXT);
    let mut conn = server();
    let (at, error) = byte_by_byte_until_error(&mut conn, &wire).expect("rejected");
    assert_eq!(
        (at, error),
        (6 + FIRST_INVALID + 1, ProtocolError::InvalidUtf8)
    );
    // All at once: no event at all.
    let mut conn = server();
    assert_eq!(
        feed(&mut conn, &mut wire.clone()),
        [Got::Error(ProtocolError::InvalidUtf8)]
    );
    assert_eq!(
        failed_with(&mut conn, &ProtocolError::InvalidUtf8),
        invalid_utf8_close()
    );

    // A text that ends inside a code point fails when its last byte (FIN) arrives.
    let truncated = b"euro: \xe2\x82";
    for split in 0..=truncated.len() {
        let wire = [
            masked(0x01, &truncated[..split]),
            masked(0x80, &truncated[split..]),
        ]
        .concat();
        let mut conn = server();
        let (at, error) = byte_by_byte_until_error(&mut conn, &wire).expect("rejected");
        assert_eq!(
            (at, error),
            (wire.len(), ProtocolError::InvalidUtf8),
            "split {split}"
        );
    }
    // Each of the classic invalid sequences, right after a valid prefix.
    for (bad, offset) in [
        (&b"\xff"[..], 0),
        (b"\xc0\xaf", 0),
        (b"\xed\xa0\x80", 1),
        (b"\xe0\x80\x80", 1),
        (b"\xf8\x88\x80\x80\x80", 0),
    ] {
        let text = [&b"ok "[..], bad].concat();
        let wire = masked(0x81, &text);
        let mut conn = server();
        let (at, error) = byte_by_byte_until_error(&mut conn, &wire).expect("rejected");
        assert_eq!(
            (at, error),
            (6 + 3 + offset + 1, ProtocolError::InvalidUtf8),
            "{bad:02x?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Every invalid Close payload.

#[test]
fn every_invalid_close_payload_fails_with_its_code_and_exact_close_frame() {
    let mut cases: Vec<(Vec<u8>, ProtocolError, u16, &str)> = vec![(
        vec![0x03],
        ProtocolError::InvalidClosePayload,
        1002,
        "invalid close payload",
    )];
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        cases.push((
            code.to_be_bytes().to_vec(),
            ProtocolError::InvalidCloseCode(code),
            1002,
            "invalid close code",
        ));
        // A reason does not make it valid.
        cases.push((
            [&code.to_be_bytes()[..], b"bye"].concat(),
            ProtocolError::InvalidCloseCode(code),
            1002,
            "invalid close code",
        ));
    }
    for reason in [
        &b"\xff"[..],
        b"bye\xc3",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"ok \xf4\x90\x80\x80",
    ] {
        cases.push((
            [&1000u16.to_be_bytes()[..], reason].concat(),
            ProtocolError::InvalidUtf8,
            1007,
            "invalid UTF-8",
        ));
    }
    for (payload, error, code, reason) in cases {
        // Server side.
        let mut conn = server();
        let mut wire = masked(0x88, &payload);
        assert_eq!(
            feed(&mut conn, &mut wire),
            [Got::Error(error.clone())],
            "{payload:02x?}"
        );
        assert_eq!(error.close_code().as_u16(), code);
        assert_eq!(conn.peer_close_code(), None);
        assert_eq!(
            failed_with(&mut conn, &error),
            server_close(code, reason),
            "{payload:02x?}"
        );

        // Client side: the same, in a masked Close frame.
        let mut conn =
            Connection::with_mask_source(Role::Client, Config::default(), SeededMasks::new(3));
        let mut wire = unmasked(0x88, &payload);
        assert_eq!(feed(&mut conn, &mut wire), [Got::Error(error.clone())]);
        assert_eq!(
            failed_with(&mut conn, &error),
            client_close(code, reason, first_key(3)),
            "{payload:02x?}"
        );
    }

    // A Close payload over 125 bytes is a header-level violation.
    let mut conn = server();
    let mut wire = masked(0x88, &[b'x'; 126]);
    let error = ProtocolError::ControlFrameTooLong;
    assert_eq!(feed(&mut conn, &mut wire), [Got::Error(error.clone())]);
    assert_eq!(
        failed_with(&mut conn, &error),
        server_close(1002, "control frame too long")
    );
}

#[test]
fn valid_close_codes_at_the_range_boundaries_are_echoed() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 3999, 4000, 4999,
    ] {
        let mut conn = server();
        let mut wire = masked(0x88, &[&code.to_be_bytes()[..], "ok ✓".as_bytes()].concat());
        let got = feed(&mut conn, &mut wire);
        let close = Message::close(CloseCode::new(code), "ok ✓");
        assert_eq!(got, [Got::Event(Some(close))]);
        let mut out = Vec::new();
        conn.poll_transmit(&mut out);
        assert_eq!(out, unmasked(0x88, &code.to_be_bytes()), "code {code}");
        assert!(conn.is_closed_cleanly());
    }
    // An empty Close is valid and answered with an empty Close.
    let mut conn = server();
    let got = feed(&mut conn, &mut masked(0x88, b""));
    assert_eq!(got, [Got::Event(Some(Message::Close(None)))]);
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    assert_eq!(out, [0x88, 0x00]);
}

// ---------------------------------------------------------------------------------------
// Cross-site WebSocket hijacking: a disallowed Origin gets 403.

fn upgrade_request(host: &str, origin: &str) -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Origin: {origin}\r\nCookie: session=secret\r\n\r\n"
    )
    .into_bytes()
}

fn answer(config: &ServerConfig, request: &[u8]) -> (Result<(), HandshakeError>, Vec<u8>) {
    let mut handshake = ServerHandshake::new(config);
    assert_eq!(handshake.receive(request), Ok(Status::Complete(())));
    let request = handshake.request().unwrap();
    let mut out = Vec::new();
    let result = config.accept(&request, &mut out).map(|_| ());
    (result, out)
}

#[test]
fn cross_site_upgrade_with_a_disallowed_origin_gets_403() {
    let forbidden = rejection("403 Forbidden", "origin not allowed");
    let accepted_101 = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    let same_origin = ServerConfig::default().allowed_origins(AllowedOrigins::same_origin());
    for origin in [
        "https://evil.example",
        "https://chat.example.com.evil.example",
        "https://evilchat.example.com",
        "https://chat.example.com:8443",
        "null",
        "chat.example.com",
        "https://chat.example.com@evil.example",
    ] {
        let (result, out) = answer(&same_origin, &upgrade_request("chat.example.com", origin));
        assert_eq!(result, Err(HandshakeError::OriginRejected), "{origin}");
        assert_eq!(out, forbidden, "{origin}");
    }
    for origin in [
        "https://chat.example.com",
        "http://chat.example.com",
        "HTTPS://CHAT.example.com",
    ] {
        let (result, out) = answer(&same_origin, &upgrade_request("chat.example.com", origin));
        assert_eq!(result, Ok(()), "{origin}");
        assert_eq!(out, accepted_101);
    }

    // An allow-list of subdomains: look-alike domains are still cross-site.
    let listed = ServerConfig::default().allowed_origins(
        AllowedOrigins::none()
            .allow("https://*.example.com")
            .unwrap(),
    );
    for origin in [
        "https://example.com",
        "https://notexample.com",
        "https://app.example.com.evil.example",
        "http://app.example.com",
    ] {
        let (result, out) = answer(&listed, &upgrade_request("ws.example.com", origin));
        assert_eq!(
            (result, out),
            (Err(HandshakeError::OriginRejected), forbidden.clone()),
            "{origin}"
        );
    }
    let (result, out) = answer(
        &listed,
        &upgrade_request("ws.example.com", "https://app.example.com"),
    );
    assert_eq!((result, &out[..]), (Ok(()), &accepted_101[..]));

    // With require_origin, a request without Origin is refused too.
    let strict =
        ServerConfig::default().allowed_origins(AllowedOrigins::same_origin().require_origin(true));
    let no_origin = b"GET /chat HTTP/1.1\r\nHost: chat.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    let (result, out) = answer(&strict, no_origin);
    assert_eq!(
        (result, out),
        (Err(HandshakeError::OriginRejected), forbidden)
    );
}

// ---------------------------------------------------------------------------------------
// The per-connection footprint.

#[test]
fn a_connection_holds_no_heap_memory_of_its_own() {
    let (conn, usage) = measure(server);
    assert_eq!(usage.peak, 0, "Connection::new(Server) allocated");
    let (client, usage) = measure(|| Connection::new(Role::Client, Config::default()));
    assert_eq!(usage.peak, 0, "Connection::new(Client) allocated");
    eprintln!(
        "size_of::<Connection>() = {} bytes",
        std::mem::size_of_val(&conn)
    );
    drop((conn, client));

    // Receiving every kind of frame, whole and in pieces, allocates nothing: payloads are
    // unmasked in place and lent out.
    let mut conn = server();
    let mut wire = [
        masked(0x81, "héllo".as_bytes()),
        masked(0x82, &[7; 300]),
        masked(0x01, b"frag"),
        masked(0x89, b"ping"),
        masked(0x80, b"ment"),
        masked(0x8A, b"pong"),
        masked(0x82, &[1; 70_000]),
    ]
    .concat();
    let mut pieces = 0;
    let mut out = Vec::with_capacity(64);
    let ((), usage) = measure(|| {
        let mut pos = 0;
        while pos < wire.len() {
            // Pieces of up to 1000 bytes, as reads would deliver them.
            let end = wire.len().min(pos + 1000);
            let mut consumed = 0;
            loop {
                let r = conn.receive(&mut wire[pos + consumed..end]).unwrap();
                consumed += r.consumed;
                if r.event.is_none() {
                    break;
                }
                pieces += 1;
            }
            // What was not consumed (a partial header) is passed again with the next read.
            pos += consumed;
            if consumed == 0 && end == wire.len() {
                panic!("stuck at {pos}");
            }
        }
        // The ping's answer: the pong queue is the only allocation, freed once sent.
        conn.poll_transmit(&mut out);
    });
    assert!(pieces >= 7);
    assert!(usage.peak <= PONG_QUEUE_BOUND, "{usage:?}");
    assert_eq!(usage.net, 0, "{usage:?}");
    assert_eq!(out, unmasked(0x8A, b"ping"));
    eprintln!("receiving 7 frames (one ping) in 1000-byte reads, then transmitting: {usage:?}");
}

// ---------------------------------------------------------------------------------------
// permessage-deflate: a decompression bomb (RFC 7692 §8.2).

/// Raw DEFLATE that inflates to `len` zero bytes (rounded up to a multiple of 258 plus one):
/// one fixed-Huffman block of a literal 0 and then length-258, distance-1 matches (13 bits
/// per 258 bytes, about 160:1), ended the way a sync flush ends once RFC 7692 §7.2.1 has
/// removed its trailing 00 00 ff ff.
#[cfg(feature = "deflate")]
fn deflate_bomb(len: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, bits: u32) {
            self.acc |= value << self.n;
            self.n += bits;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u64, bits: u32) {
            let reversed = (0..bits).fold(0, |r, i| r << 1 | (code >> i & 1));
            self.put(reversed, bits);
        }
    }
    let mut b = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    b.put(0, 1); // BFINAL = 0
    b.put(1, 2); // BTYPE = 01, fixed Huffman codes
    b.code(0x30, 8); // literal 0
    for _ in 0..len.div_ceil(258) {
        b.code(0b1100_0101, 8); // length code 285: 258 bytes
        b.code(0, 5); // distance code 0: 1 byte back
    }
    b.code(0, 7); // end of block
    b.put(0, 3); // the sync flush's empty stored block header (BFINAL = 0, BTYPE = 00)
    if b.n > 0 {
        b.put(0, 8 - b.n); // pad to a byte; LEN/NLEN (00 00 ff ff) are implied
    }
    b.out
}

/// Feeds a compressed message (RSV1 on its first frame) cut into `frame`-byte frames to a
/// server with permessage-deflate and `config`; returns the events' total payload, the
/// error, what was allocated, and the Close frame queued.
#[cfg(feature = "deflate")]
fn inflate_hostile(
    config: Config,
    compressed: &[u8],
    frame: usize,
) -> (usize, ProtocolError, Usage, Vec<u8>) {
    use rfc6455::deflate::{DeflateConfig, DeflateParams};
    let params = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    let mut conn = Connection::new(Role::Server, config);
    conn.enable_deflate(&params, &DeflateConfig::default());
    let pieces: Vec<&[u8]> = compressed.chunks(frame).collect();
    let mut wire = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let first = if i == 0 { 0x42 } else { 0x00 }; // RSV1 + binary, then continuation
        let fin = if i + 1 == pieces.len() { 0x80 } else { 0x00 };
        wire.extend(masked(first | fin, piece));
    }
    let mut inflated = Vec::new();
    let ((delivered, error), usage) = measure(|| {
        let mut pos = 0;
        let mut delivered = 0;
        loop {
            inflated.clear();
            match conn.receive_into(&mut wire[pos..], &mut inflated) {
                Ok(r) => {
                    pos += r.consumed;
                    match r.event {
                        Some(Event::BinaryChunk { payload, .. } | Event::Binary(payload)) => {
                            delivered += payload.len()
                        }
                        Some(other) => panic!("{other:?}"),
                        None => panic!("the bomb was accepted"),
                    }
                }
                Err(e) => return (delivered, e),
            }
        }
    });
    drop(inflated);
    let close = failed_with(&mut conn, &error);
    (delivered, error, usage, close)
}

#[cfg(feature = "deflate")]
#[test]
fn deflate_bomb_fails_1009_while_inflating_with_memory_bounded_by_the_limit() {
    // 64 MiB of zeros in 423 KB: one frame, default limits (1 MiB).
    let bomb = deflate_bomb(64 << 20);
    assert!(bomb.len() < 430_000, "{}", bomb.len());
    let limit = DEFAULT_MAX_MESSAGE_SIZE;
    let (delivered, error, usage, close) = inflate_hostile(Config::default(), &bomb, bomb.len());
    assert_eq!(error, ProtocolError::MessageTooLarge { limit });
    assert_eq!(close, server_close(1009, "message too large"));
    assert!(delivered as u64 <= limit);
    // The inflated data never exceeds the limit; the rest is zlib's state (a 32 KiB window).
    assert!(usage.peak as u64 <= limit + 128 * 1024, "{usage:?}");
    eprintln!("64 MiB bomb in one frame, 1 MiB limit: delivered {delivered}, {usage:?}");

    // The same bomb in 4 KiB fragments, with a 64 KiB message limit.
    let config = Config::default().max_message_size(64 * 1024);
    let (delivered, error, usage, close) = inflate_hostile(config, &bomb, 4096);
    assert_eq!(error, ProtocolError::MessageTooLarge { limit: 64 * 1024 });
    assert_eq!(close, server_close(1009, "message too large"));
    assert!(delivered <= 64 * 1024);
    assert!(usage.peak <= 64 * 1024 + 128 * 1024, "{usage:?}");
    eprintln!("64 MiB bomb in 4 KiB frames, 64 KiB limit: delivered {delivered}, {usage:?}");

    // Just under the limit, the message is delivered whole.
    let small = deflate_bomb(60 * 1024);
    let config = Config::default().max_message_size(64 * 1024);
    let mut conn = Connection::new(Role::Server, config);
    conn.enable_deflate(
        &rfc6455::deflate::DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        },
        &rfc6455::deflate::DeflateConfig::default(),
    );
    let mut wire = masked(0xC2, &small);
    let mut inflated = Vec::new();
    let r = conn.receive_into(&mut wire, &mut inflated).unwrap();
    match r.event {
        Some(Event::Binary(data)) => {
            assert_eq!(data.len(), 1 + 258 * (60 * 1024usize).div_ceil(258));
            assert!(data.iter().all(|&b| b == 0));
        }
        other => panic!("{other:?}"),
    }
}
