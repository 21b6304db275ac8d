//! Heap held per connection by permessage-deflate, measured with a counting allocator:
//! context takeover keeps a compressor and a decompressor per connection; without it the
//! state is dropped after every message.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{ClientRequest, ServerConfig};
use rfc6455::testing::Pair;
use rfc6455::{Config, Message};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap held by one connected pair after exchanging a compressible message each way,
/// divided by two (per connection).
fn per_connection(client: DeflateConfig, server: DeflateConfig) -> isize {
    let request = ClientRequest::new("localhost", "/").deflate(client);
    let policy = ServerConfig::default().deflate(Some(server));
    let before = LIVE.load(Ordering::Relaxed);
    let (mut pair, _) =
        Pair::connect(&request, Config::default(), &policy, Config::default()).unwrap();
    let text = Message::text("memory ".repeat(2000));
    pair.client.send(&text).unwrap();
    pair.server.send(&text).unwrap();
    pair.drive();
    assert_eq!(pair.client.drain(), std::slice::from_ref(&text));
    assert_eq!(pair.server.drain(), [text]);
    // What an adapter does when the socket has nothing more to read.
    pair.client.conn.release_idle();
    pair.server.conn.release_idle();
    let held = LIVE.load(Ordering::Relaxed) - before;
    drop(pair);
    held / 2
}

#[test]
fn memory_per_connection_with_and_without_context_takeover() {
    let plain = {
        let before = LIVE.load(Ordering::Relaxed);
        let (mut pair, _) = Pair::connect(
            &ClientRequest::new("localhost", "/"),
            Config::default(),
            &ServerConfig::default(),
            Config::default(),
        )
        .unwrap();
        pair.client
            .send(&Message::text("memory ".repeat(2000)))
            .unwrap();
        pair.drive();
        let _ = pair.server.drain();
        (LIVE.load(Ordering::Relaxed) - before) / 2
    };
    let takeover = per_connection(DeflateConfig::default(), DeflateConfig::default());
    let no_takeover = per_connection(
        DeflateConfig::default()
            .client_no_context_takeover(true)
            .server_no_context_takeover(true),
        DeflateConfig::default(),
    );
    let small_windows = per_connection(
        DeflateConfig::default()
            .server_max_window_bits(9)
            .client_max_window_bits(9),
        DeflateConfig::default(),
    );
    eprintln!(
        "heap per connection (testing::Pair, incl. its buffers): without deflate {plain} B, \
         context takeover {takeover} B, 9-bit windows {small_windows} B, \
         no context takeover {no_takeover} B"
    );
    // Context takeover keeps zlib state (about 300 KB at 15-bit windows) ...
    assert!(
        takeover > no_takeover + 100_000,
        "{takeover} vs {no_takeover}"
    );
    // ... smaller windows cost less ...
    assert!(small_windows < takeover, "{small_windows} vs {takeover}");
    // ... and without context takeover nothing is held beyond the plain connection's
    // buffers and a small compression scratch buffer.
    assert!(no_takeover < plain + 32 * 1024, "{no_takeover} vs {plain}");
}
