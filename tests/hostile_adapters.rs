//! Hostile peers against both adapters, over real loopback sockets: each attack's outcome
//! (the error or close the application sees) and the memory it costs the server, measured
//! with a counting global allocator (live heap bytes across all threads) — never with a
//! clock.
//!
//! The tests in this file share the allocator's counters, so they run one at a time.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::masked_frame;
use rfc6455::handshake::{ClientRequest, ServerConfig};
use rfc6455::io::{self, DEFAULT_HIGH_WATER, Error, blocking};
use rfc6455::{CloseCode, Config, Message};

// ---------------------------------------------------------------------------------------
// Live heap bytes, all threads.

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn track(delta: isize) {
    let now = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` unchanged and only updates two atomics.
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

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a peak measurement from the current level.
fn reset_peak() -> isize {
    let now = live();
    PEAK.store(now, Ordering::Relaxed);
    now
}

fn peak() -> isize {
    PEAK.load(Ordering::Relaxed)
}

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Servers: the same application on either adapter, in this process.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Adapter {
    Tokio,
    Blocking,
}

const ADAPTERS: [Adapter; 2] = [Adapter::Tokio, Adapter::Blocking];

/// What a server connection does.
#[derive(Clone, Copy)]
enum App {
    /// Echoes text and binary messages.
    Echo,
    /// Sends "hello", waits for `go`, then receives until the end, recording everything.
    GreetThenRecord,
}

/// How one server connection ended.
#[derive(Debug)]
struct Outcome {
    messages: Vec<Message>,
    /// `Ok` for a clean close, else the error's text.
    end: Result<(), String>,
    /// The error, when it was an I/O error: its kind.
    io_kind: Option<ErrorKind>,
}

struct Server {
    addr: SocketAddr,
    outcomes: mpsc::Receiver<Outcome>,
    go: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Server {
    fn start(adapter: Adapter, app: App, handshake_timeout: Duration) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, outcomes) = mpsc::channel();
        let go = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let go2 = go.clone();
        match adapter {
            Adapter::Blocking => {
                thread::spawn(move || {
                    let acceptor =
                        blocking::Acceptor::new(ServerConfig::default(), Config::default())
                            .handshake_timeout(Some(handshake_timeout));
                    for stream in listener.incoming() {
                        let Ok(stream) = stream else { return };
                        let (acceptor, tx, go) = (acceptor.clone(), tx.clone(), go2.clone());
                        thread::spawn(move || {
                            let outcome = match acceptor.accept(stream) {
                                Ok(ws) => blocking_app(ws, app, &go),
                                Err(e) => failed(e),
                            };
                            let _ = tx.send(outcome);
                        });
                    }
                });
            }
            Adapter::Tokio => {
                thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async move {
                        listener.set_nonblocking(true).unwrap();
                        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                        let acceptor =
                            io::tokio::Acceptor::new(ServerConfig::default(), Config::default())
                                .handshake_timeout(Some(handshake_timeout));
                        loop {
                            let Ok((stream, _)) = listener.accept().await else {
                                return;
                            };
                            let (acceptor, tx, go) = (acceptor.clone(), tx.clone(), go2.clone());
                            tokio::spawn(async move {
                                let outcome = match acceptor.accept(stream).await {
                                    Ok(ws) => tokio_app(ws, app, &go).await,
                                    Err(e) => failed(e),
                                };
                                let _ = tx.send(outcome);
                            });
                        }
                    });
                });
            }
        }
        Server { addr, outcomes, go }
    }

    fn release(&self) {
        let (lock, cvar) = &*self.go;
        *lock.lock().unwrap() = true;
        cvar.notify_all();
    }

    fn outcome(&self) -> Outcome {
        self.outcomes
            .recv_timeout(Duration::from_secs(20))
            .expect("the server connection did not end")
    }
}

fn failed(e: Error) -> Outcome {
    let io_kind = match &e {
        Error::Io(e) => Some(e.kind()),
        _ => None,
    };
    Outcome {
        messages: Vec::new(),
        end: Err(e.to_string()),
        io_kind,
    }
}

fn wait_for_go(go: &(Mutex<bool>, std::sync::Condvar)) {
    let (lock, cvar) = go;
    let mut released = lock.lock().unwrap();
    while !*released {
        released = cvar.wait(released).unwrap();
    }
}

fn blocking_app(
    mut ws: blocking::WebSocket<TcpStream>,
    app: App,
    go: &(Mutex<bool>, std::sync::Condvar),
) -> Outcome {
    let mut messages = Vec::new();
    if let App::GreetThenRecord = app {
        ws.send(Message::text("hello")).unwrap();
        wait_for_go(go);
    }
    let end = loop {
        match ws.read() {
            Ok(Some(m)) => {
                match app {
                    App::Echo if m.is_data() => {
                        if let Err(e) = ws.send(m) {
                            break Err(e);
                        }
                    }
                    // Not kept: a ping flood would grow the test's own memory.
                    App::Echo => {}
                    App::GreetThenRecord => messages.push(m),
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let mut outcome = match end {
        Ok(()) => Outcome {
            messages: Vec::new(),
            end: Ok(()),
            io_kind: None,
        },
        Err(e) => failed(e),
    };
    outcome.messages = messages;
    outcome
}

async fn tokio_app(
    mut ws: io::tokio::WebSocket<tokio::net::TcpStream>,
    app: App,
    go: &Arc<(Mutex<bool>, std::sync::Condvar)>,
) -> Outcome {
    let mut messages = Vec::new();
    if let App::GreetThenRecord = app {
        ws.send(Message::text("hello")).await.unwrap();
        let go = go.clone();
        tokio::task::spawn_blocking(move || wait_for_go(&go))
            .await
            .unwrap();
    }
    let end = loop {
        match ws.recv().await {
            Ok(Some(m)) => match app {
                App::Echo if m.is_data() => {
                    if let Err(e) = ws.send(m).await {
                        break Err(e);
                    }
                }
                App::Echo => {}
                App::GreetThenRecord => messages.push(m),
            },
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let mut outcome = match end {
        Ok(()) => Outcome {
            messages: Vec::new(),
            end: Ok(()),
            io_kind: None,
        },
        Err(e) => failed(e),
    };
    outcome.messages = messages;
    outcome
}

// ---------------------------------------------------------------------------------------
// Attackers: raw sockets, frames built by hand.

/// Opens a WebSocket by hand and returns the socket after the 101 response.
fn raw_client(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// Writes `chunk` again and again, never reading, until a write stalls for `stall` or
/// `limit` bytes are sent. Returns the bytes sent.
fn flood(s: &mut TcpStream, chunk: &[u8], limit: usize, stall: Duration) -> usize {
    s.set_write_timeout(Some(stall)).unwrap();
    let mut sent = 0;
    while sent < limit {
        match s.write(chunk) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("flood: {e}"),
        }
    }
    sent
}

const KEY: [u8; 4] = [1, 2, 3, 4];

// ---------------------------------------------------------------------------------------
// The attacks.

#[test]
fn a_peer_that_floods_pings_and_never_reads_gets_bounded_memory() {
    let _serial = serial();
    // 8,000 pings of 125 bytes: 1 MiB per write.
    let chunk: Vec<u8> = (0..8000)
        .flat_map(|_| masked_frame(0x89, &[b'p'; 125], KEY))
        .collect();
    for adapter in ADAPTERS {
        let server = Server::start(adapter, App::Echo, Duration::from_secs(10));
        let mut attacker = raw_client(server.addr);
        thread::sleep(Duration::from_millis(100));
        let before = reset_peak();
        let sent = flood(&mut attacker, &chunk, 512 * MIB, Duration::from_secs(1));
        let grew = peak() - before;
        eprintln!(
            "{adapter:?}: ping flood, {} MiB sent, server heap peak +{} KiB",
            sent / MIB,
            grew / 1024
        );
        // The attack got through: the kernel's buffers alone hold a few MiB.
        assert!(sent >= 4 * MIB, "{adapter:?}: only {sent} bytes sent");
        // The pongs the server owes are bounded by its high-water mark, not by `sent`
        // (before: one byte held per byte sent): the write queue's buffer (at most twice
        // the mark, as it doubles) and the read buffer.
        assert!(
            grew < (2 * DEFAULT_HIGH_WATER + 256 * KIB) as isize,
            "{adapter:?}: the server's heap grew by {grew} bytes for {sent} bytes of pings"
        );
        drop(attacker);
        let outcome = server.outcome();
        assert!(outcome.end.is_err(), "{adapter:?}: {outcome:?}");
    }
}

#[test]
fn a_peer_that_sends_and_never_reads_the_echoes_gets_bounded_memory() {
    let _serial = serial();
    let chunk = masked_frame(0x82, &vec![7u8; 16 * KIB], KEY);
    for adapter in ADAPTERS {
        let server = Server::start(adapter, App::Echo, Duration::from_secs(10));
        let mut attacker = raw_client(server.addr);
        thread::sleep(Duration::from_millis(100));
        let before = reset_peak();
        let sent = flood(&mut attacker, &chunk, 512 * MIB, Duration::from_secs(1));
        let grew = peak() - before;
        eprintln!(
            "{adapter:?}: echo flood, {} MiB sent, server heap peak +{} KiB",
            sent / MIB,
            grew / 1024
        );
        assert!(sent >= 4 * MIB, "{adapter:?}: only {sent} bytes sent");
        assert!(
            grew < (DEFAULT_HIGH_WATER + MIB) as isize,
            "{adapter:?}: the server's heap grew by {grew} bytes for {sent} bytes of messages"
        );
        drop(attacker);
        let _ = server.outcome();
    }
}

#[test]
fn many_peers_announcing_a_megabyte_and_stalling_cost_what_they_sent() {
    let _serial = serial();
    const PEERS: usize = 200;
    const SENT: usize = 8 * KIB;
    // A header announcing 1 MiB (the default limit), then 8 KiB of it, then nothing.
    let mut attack = vec![0x82, 0x80 | 127];
    attack.extend_from_slice(&(MIB as u64).to_be_bytes());
    attack.extend_from_slice(&KEY);
    attack.extend_from_slice(&vec![0u8; SENT]);
    // The header alone: 14 bytes.
    let header = &attack[..14];
    for adapter in ADAPTERS {
        for (sent, bound) in [(&attack[..], 4 * SENT), (header, 256)] {
            let server = Server::start(adapter, App::Echo, Duration::from_secs(10));
            let mut peers: Vec<TcpStream> = (0..PEERS).map(|_| raw_client(server.addr)).collect();
            // Every connection open and idle: the baseline.
            thread::sleep(Duration::from_millis(300));
            let before = live();
            for peer in &mut peers {
                peer.write_all(sent).unwrap();
            }
            thread::sleep(Duration::from_millis(500));
            let per_peer = (live() - before) / PEERS as isize;
            eprintln!(
                "{adapter:?}: 1 MiB announced, {} bytes sent: {per_peer} bytes per connection",
                sent.len()
            );
            // Before: 1,030 KiB per connection (the announced megabyte, zero-filled).
            assert!(
                per_peer <= bound as isize,
                "{adapter:?}: {per_peer} bytes per connection for {} bytes sent",
                sent.len()
            );
            drop(peers);
            for _ in 0..PEERS {
                let _ = server.outcome();
            }
        }
    }
}

#[test]
fn a_ping_and_a_final_message_before_a_reset_are_still_delivered() {
    let _serial = serial();
    for adapter in ADAPTERS {
        let server = Server::start(adapter, App::GreetThenRecord, Duration::from_secs(10));
        let mut peer = raw_client(server.addr);
        let mut wire = masked_frame(0x89, b"ping", KEY);
        wire.extend(masked_frame(0x82, b"final", KEY));
        peer.write_all(&wire).unwrap();
        // The server's "hello" is unread: closing now makes the kernel reset the
        // connection (RFC 9293 §3.6.1) instead of ending it with a FIN.
        thread::sleep(Duration::from_millis(100));
        drop(peer);
        thread::sleep(Duration::from_millis(100));
        // Only now does the server read: it answers the ping into a reset connection.
        server.release();
        let outcome = server.outcome();
        assert_eq!(
            outcome.messages,
            [Message::ping(&b"ping"[..]), Message::binary(&b"final"[..])],
            "{adapter:?}: {outcome:?}"
        );
        assert!(outcome.end.is_err(), "{adapter:?}: {outcome:?}");
    }
}

#[test]
fn slow_loris_handshakes_are_cut_off_at_the_deadline() {
    let _serial = serial();
    const PEERS: usize = 100;
    for adapter in ADAPTERS {
        let server = Server::start(adapter, App::Echo, Duration::from_millis(800));
        let started = Instant::now();
        let mut peers: Vec<TcpStream> = (0..PEERS)
            .map(|_| TcpStream::connect(server.addr).unwrap())
            .collect();
        // One byte of the request every 100 ms: each read returns, the head never ends.
        let request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ".repeat(10);
        let mut outcomes = Vec::new();
        let outcomes_rx = &server.outcomes;
        for i in 0.. {
            for peer in &mut peers {
                let _ = peer.write_all(&request[i % request.len()..][..1]);
            }
            while let Ok(o) = outcomes_rx.try_recv() {
                outcomes.push((o, started.elapsed()));
            }
            if outcomes.len() == PEERS || started.elapsed() > Duration::from_secs(5) {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            outcomes.len(),
            PEERS,
            "{adapter:?}: connections still open after 5 s"
        );
        for (outcome, at) in &outcomes {
            assert_eq!(
                outcome.io_kind,
                Some(ErrorKind::TimedOut),
                "{adapter:?}: {outcome:?}"
            );
            assert!(
                *at < Duration::from_secs(3),
                "{adapter:?}: closed after {at:?}"
            );
        }
        // And the peers see their connections end.
        for peer in &mut peers {
            peer.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = [0u8; 16];
            match peer.read(&mut buf) {
                Ok(0) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
                other => panic!("{adapter:?}: the connection is still open: {other:?}"),
            }
        }
    }
}

#[test]
fn a_server_that_never_answers_the_handshake_times_the_client_out() {
    let _serial = serial();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts, then either says nothing or trickles a response head that never ends.
    thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                if i % 2 == 1 {
                    let _ = stream.write_all(b"HTTP/1.1 101 Switching Protocols\r\n");
                    for _ in 0..100 {
                        if stream.write_all(b"X: y\r\n").is_err() {
                            return;
                        }
                        thread::sleep(Duration::from_millis(50));
                    }
                }
                thread::sleep(Duration::from_secs(10));
            });
        }
    });
    let request = ClientRequest::from_url(&format!("ws://{addr}/"))
        .unwrap()
        .handshake_timeout(Some(Duration::from_millis(300)));
    let timed_out =
        |r: &Result<(), Error>| matches!(r, Err(Error::Io(e)) if e.kind() == ErrorKind::TimedOut);
    for _ in 0..2 {
        let started = Instant::now();
        let r = blocking::connect_with(&request, Config::default()).map(drop);
        assert!(timed_out(&r), "blocking: {r:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "blocking: {:?}",
            started.elapsed()
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        let r = rt
            .block_on(io::tokio::connect_with(&request, Config::default()))
            .map(drop);
        assert!(timed_out(&r), "tokio: {r:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "tokio: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn idle_connections_hold_no_buffers_after_traffic() {
    let _serial = serial();
    const PEERS: usize = 100;
    let sizes = [16, 1000, 20_000, 64 * KIB];
    for adapter in ADAPTERS {
        let server = Server::start(adapter, App::Echo, Duration::from_secs(10));
        let mut peers: Vec<TcpStream> = (0..PEERS).map(|_| raw_client(server.addr)).collect();
        thread::sleep(Duration::from_millis(300));
        let before = live();
        for peer in &mut peers {
            for &size in &sizes {
                let payload = vec![b'x'; size];
                peer.write_all(&masked_frame(0x82, &payload, KEY)).unwrap();
                // Read the echo: 2/4/10-byte header + payload.
                let header = if size < 126 {
                    2
                } else if size <= 0xFFFF {
                    4
                } else {
                    10
                };
                let mut echo = vec![0u8; header + size];
                peer.read_exact(&mut echo).unwrap();
                assert_eq!(&echo[header..], &payload[..]);
            }
        }
        thread::sleep(Duration::from_millis(300));
        let per_peer = (live() - before) / PEERS as isize;
        eprintln!("{adapter:?}: after echoing up to 64 KiB, idle: {per_peer} bytes per connection");
        // Before, the blocking adapter kept ~140 KiB per connection.
        assert!(
            per_peer < 512,
            "{adapter:?}: {per_peer} bytes per idle connection"
        );
        for peer in &mut peers {
            let _ = peer.write_all(&masked_frame(0x88, &1000u16.to_be_bytes(), KEY));
        }
        for _ in 0..PEERS {
            assert!(server.outcome().end.is_ok());
        }
    }
}

#[test]
fn blocking_write_refuses_past_the_high_water_mark_on_a_stream_that_is_not_writable() {
    let _serial = serial();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // A peer that completes the handshake and then never reads.
    let peer = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let ws = blocking::accept(stream).unwrap();
        thread::sleep(Duration::from_secs(3));
        drop(ws);
    });
    let (mut ws, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
    ws.get_ref().set_nonblocking(true).unwrap();
    ws.set_high_water(64 * KIB);
    let message = Message::binary(vec![1u8; 16 * KIB]);
    let mut queued = 0;
    let refused = loop {
        match ws.write(message.clone()) {
            Ok(()) => queued += 1,
            Err(Error::BufferFull(Some(back))) => break *back,
            Err(e) => panic!("{e}"),
        }
        let _ = ws.flush();
        assert!(queued < 100_000, "never refused");
    };
    // The message comes back; the queue stayed below the mark plus one masked message.
    assert_eq!(refused, message);
    assert!(
        ws.buffered_amount() <= 64 * KIB + 16 * KIB + 14,
        "{} bytes queued",
        ws.buffered_amount()
    );
    let _ = ws.close(CloseCode::NORMAL, "");
    peer.join().unwrap();
}
