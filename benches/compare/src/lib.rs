//! Shared pieces of the comparison: the input bytes every library decodes, and an
//! in-memory stream that behaves like a socket (reads copy out of a pristine buffer, writes
//! copy into a scratch buffer), implementing both `std::io` and tokio's I/O traits.
//!
//! Nothing here comes from a WebSocket library: frames are built by hand so that every
//! implementation sees exactly the same bytes.

use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The masking key of every generated client frame.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// About this many wire bytes per decode iteration.
pub const TARGET_BYTES: usize = 1 << 20;

/// What Chromium 124 sends (headers in its order, with cookies and an extension offer).
pub const CHROMIUM_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://localhost:8080\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=4f2a9c; theme=dark\r\n\
Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

/// Appends one frame (FIN set) with `payload`, masked with `key` when given.
pub fn frame(opcode: u8, payload: &[u8], key: Option<[u8; 4]>, out: &mut Vec<u8>) {
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    out.push(0x80 | opcode);
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match key {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
}

/// Identical masked client frames filling about [`TARGET_BYTES`] (at least two); returns
/// the bytes and the frame count.
pub fn client_stream(opcode: u8, payload: &[u8]) -> (Vec<u8>, u64) {
    let mut one = Vec::new();
    frame(opcode, payload, Some(KEY), &mut one);
    let count = (TARGET_BYTES / one.len()).max(2);
    (one.repeat(count), count as u64)
}

/// Binary payload bytes.
pub fn binary_payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

/// ASCII text of `len` bytes.
pub fn ascii_payload(len: usize) -> Vec<u8> {
    let text = b"The quick brown fox jumps over the lazy dog. 0123456789 ";
    text.iter().copied().cycle().take(len).collect()
}

/// Text of `len` bytes: about 60% ASCII, the rest 2-, 3- and 4-byte UTF-8 sequences
/// (é, €, 𝄞), in a fixed pseudo-random order; ASCII fills the end to the exact length.
pub fn mixed_payload(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut seed = 0x2545_F491u32;
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let piece: &str = match seed % 10 {
            0..=5 => "a",
            6 | 7 => "é",
            8 => "€",
            _ => "𝄞",
        };
        if out.len() + piece.len() > len {
            out.push(b'.');
        } else {
            out.extend_from_slice(piece.as_bytes());
        }
    }
    assert!(std::str::from_utf8(&out).is_ok());
    out
}

/// The room a `MessageReader::read_buf` offers: spare capacity within its limit.
pub fn room(buf: &bytes::buf::Limit<&mut bytes::BytesMut>) -> usize {
    let inner = buf.get_ref();
    (inner.capacity() - inner.len()).min(bytes::buf::Limit::limit(buf))
}

/// An in-memory socket. Reads copy from a shared pristine input (each read returns as much
/// as fits, like a socket with everything already received; at the end of the input an
/// async read is pending, a blocking read returns 0); writes copy into a scratch buffer
/// (like a kernel send) and are counted. The read position is shared through an
/// `Arc`, so the bench rewinds it between iterations while a library owns the stream.
#[derive(Debug)]
pub struct MemStream {
    input: &'static [u8],
    pos: Arc<AtomicUsize>,
    scratch: Vec<u8>,
    /// The cache line of the page the next write lands at (see `write_from`).
    turn: usize,
    written: Arc<AtomicU64>,
}

/// The bench's handle on a [`MemStream`] a library owns.
#[derive(Clone, Debug)]
pub struct MemHandle {
    pos: Arc<AtomicUsize>,
    written: Arc<AtomicU64>,
    len: usize,
}

impl MemHandle {
    /// Starts the input over.
    pub fn rewind(&self) {
        self.pos.store(0, Relaxed);
    }

    /// Whether all input was read.
    pub fn exhausted(&self) -> bool {
        self.pos.load(Relaxed) == self.len
    }

    /// Bytes written since the last call.
    pub fn take_written(&self) -> u64 {
        self.written.swap(0, Relaxed)
    }
}

/// The alignment of the write sink (see `MemStream::write_from`).
const PAGE: usize = 4096;

impl MemStream {
    /// A stream that reads `input` (leaked: benches keep inputs for the whole run).
    pub fn new(input: Vec<u8>) -> (MemStream, MemHandle) {
        let input: &'static [u8] = Box::leak(input.into_boxed_slice());
        let pos = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let handle = MemHandle {
            pos: pos.clone(),
            written: written.clone(),
            len: input.len(),
        };
        let stream = MemStream {
            input,
            pos,
            scratch: Vec::new(),
            turn: 0,
            written,
        };
        (stream, handle)
    }

    /// A fresh stream over a constant, e.g. a handshake request (cheap to make per
    /// iteration: two small allocations).
    pub fn from_static(input: &'static [u8]) -> MemStream {
        MemStream {
            input,
            pos: Arc::new(AtomicUsize::new(0)),
            scratch: Vec::new(),
            turn: 0,
            written: Arc::new(AtomicU64::new(0)),
        }
    }

    fn read_into(&mut self, dst: &mut [u8]) -> usize {
        let pos = self.pos.load(Relaxed);
        let n = dst.len().min(self.input.len() - pos);
        dst[..n].copy_from_slice(&self.input[pos..pos + n]);
        self.pos.store(pos + n, Relaxed);
        n
    }

    fn write_from(&mut self, src: &[u8]) -> usize {
        // The scratch buffer grows once to the largest write seen (at most 128 KiB) and is
        // then reused, like a socket buffer. Where a write lands relative to the bytes it
        // copies decides the speed of an in-cache copy (4 KiB aliasing: up to 4x at 16 KiB,
        // 1.5x at 16 B), so a fixed sink would favour whichever library's buffers the
        // allocator happened to place well. Successive writes land at each of the 64 cache
        // lines of a page in turn: every library sees the same mix of alignments.
        if src.is_empty() {
            return 0;
        }
        let want = src.len().min(128 << 10);
        if self.scratch.len() < 2 * PAGE + want {
            self.scratch = vec![0; 2 * PAGE + want];
        }
        self.turn = (self.turn + 1) % (PAGE / 64);
        let start = self.scratch.as_ptr().align_offset(PAGE) + self.turn * 64;
        let sink = &mut self.scratch[start..start + want];
        for chunk in src.chunks(want) {
            sink[..chunk.len()].copy_from_slice(chunk);
        }
        std::hint::black_box(&self.scratch);
        // One thread at a time uses a stream: a plain load + store, not a locked add.
        self.written
            .store(self.written.load(Relaxed) + src.len() as u64, Relaxed);
        src.len()
    }
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_into(buf))
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.write_from(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Ok(bufs.iter().map(|b| self.write_from(b)).sum())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for MemStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let pos = this.pos.load(Relaxed);
        if pos == this.input.len() && buf.remaining() > 0 {
            // Like a socket with nothing more to read: not the end of the stream (hyper
            // reads ahead while it answers an upgrade request). Nothing will wake the
            // task: a library that waits here would hang the bench, visibly.
            return Poll::Pending;
        }
        let n = buf.remaining().min(this.input.len() - pos);
        buf.put_slice(&this.input[pos..pos + n]);
        this.pos.store(pos + n, Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.get_mut().write_from(buf)))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        Poll::Ready(Ok(bufs.iter().map(|b| this.write_from(b)).sum()))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
