//! The adapters' buffers, sized for cheap idle connections.
//!
//! The core streams data-frame payloads as they arrive, so the read buffer never has to
//! hold a whole frame: only a frame header plus a control frame (139 bytes) must fit. It
//! starts unallocated, grows (doubling, up to [`MAX_READ`]) while reads keep filling it,
//! and is released when a read finds the connection idle.

use std::vec::Vec;

/// The first allocation of a read buffer.
pub(crate) const MIN_READ: usize = 4 * 1024;
/// The largest read buffer: enough to amortise system calls on bulk transfers.
pub(crate) const MAX_READ: usize = 64 * 1024;
/// A write buffer larger than this is released once drained.
const KEEP_WRITE: usize = 64 * 1024;

/// Bytes read from the transport and not yet consumed by the connection.
#[derive(Debug, Default)]
pub(crate) struct ReadBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The last read filled the buffer: the next one gets a bigger buffer.
    grow: bool,
    /// The size the buffer had when it was last released: a busy connection that goes
    /// quiet between messages gets its buffer back at that size, not at the minimum.
    hint: usize,
}

impl ReadBuffer {
    /// The unconsumed bytes.
    #[inline]
    pub(crate) fn unread(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// The position of the first unconsumed byte within the buffer.
    #[inline]
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// Bytes at absolute positions (see [`start`](ReadBuffer::start)).
    #[inline]
    pub(crate) fn slice(&self, start: usize, len: usize) -> &[u8] {
        &self.buf[start..start + len]
    }

    /// Room to read into: moves unconsumed bytes to the front and grows when full.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() || (self.grow && self.buf.len() < MAX_READ) {
            let len = if self.buf.is_empty() && self.grow {
                self.hint.max(MIN_READ)
            } else {
                (self.buf.len() * 2).clamp(MIN_READ, MAX_READ.max(self.end + MIN_READ))
            };
            self.buf.resize(len, 0);
        }
        self.grow = false;
        &mut self.buf[self.end..]
    }

    /// Records `n` bytes read into [`spare`](ReadBuffer::spare).
    #[inline]
    pub(crate) fn filled(&mut self, n: usize) {
        self.end += n;
        debug_assert!(self.end <= self.buf.len());
        self.grow = n != 0 && self.end == self.buf.len();
    }

    /// Appends bytes read elsewhere (e.g. left over from the handshake, or read into a
    /// stack buffer while this one was released). `more` says the source was filled up,
    /// so more bytes are probably waiting: reallocate at the size last used.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn extend_after_read(&mut self, bytes: &[u8], more: bool) {
        self.grow = more && self.buf.is_empty();
        self.extend(bytes);
    }

    /// Appends bytes read elsewhere (e.g. left over from the handshake).
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let spare = self.spare();
            let n = spare.len().min(rest.len());
            spare[..n].copy_from_slice(&rest[..n]);
            self.filled(n);
            rest = &rest[n..];
        }
    }

    /// Whether the buffer currently holds an allocation.
    #[inline]
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn is_allocated(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Frees the memory when nothing is buffered (the connection is idle).
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() && self.buf.capacity() != 0 {
            self.hint = self.buf.len();
            self.buf = Vec::new();
            self.grow = false;
        }
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// Bytes waiting to be written to the transport.
#[derive(Debug, Default)]
pub(crate) struct WriteBuffer {
    pub(crate) buf: Vec<u8>,
    pub(crate) pos: usize,
}

impl WriteBuffer {
    #[inline]
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    #[inline]
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Marks `n` bytes as written; resets (and trims a large buffer) once drained.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos += n;
        if self.pos == self.buf.len() {
            self.pos = 0;
            self.buf.clear();
            if self.buf.capacity() > KEEP_WRITE {
                self.buf = Vec::new();
            }
        }
    }

    /// Frees the memory when nothing is queued.
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() && self.buf.capacity() != 0 {
            self.buf = Vec::new();
            self.pos = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_while_full_and_keeps_unread_bytes() {
        let mut r = ReadBuffer::default();
        assert_eq!(r.capacity(), 0);
        assert_eq!(r.spare().len(), MIN_READ);
        // A read that fills the buffer doubles it for the next read.
        r.filled(MIN_READ);
        assert_eq!(r.spare().len(), MIN_READ);
        r.filled(10);
        r.consume(MIN_READ + 10);
        assert!(r.is_empty());
        // ... up to MAX_READ.
        for _ in 0..10 {
            let n = r.spare().len();
            r.filled(n);
            r.consume(n);
        }
        assert_eq!(r.capacity(), MAX_READ);
        assert!(r.is_empty());
        r.release_if_empty();
        assert_eq!(r.capacity(), 0);
    }

    #[test]
    fn extend_copies_everything() {
        let mut r = ReadBuffer::default();
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        r.extend(&data);
        assert_eq!(r.unread(), &data[..]);
    }
}
