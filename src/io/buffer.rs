//! The adapters' write queue: frames waiting for the transport, in order.
//!
//! Small frames (and every client frame, which must be masked) are encoded into an owned
//! buffer; the payload of a large server frame is queued as the application's own
//! [`Bytes`] after its header, and written with one vectored write — no copy. The read side
//! is the core's [`MessageReader`](crate::MessageReader).

use std::collections::VecDeque;
use std::io::IoSlice;
use std::vec::Vec;

use bytes::Bytes;

/// An owned buffer larger than this is freed once written, rather than kept for reuse.
const KEEP_WRITE: usize = 64 * 1024;

/// The most slices handed to one vectored write.
pub(crate) const MAX_SLICES: usize = 16;

#[derive(Debug)]
enum Segment {
    /// Frames encoded here (headers, small or masked payloads, control frames).
    Owned(Vec<u8>),
    /// The payload of a large server frame, shared with the application.
    Shared(Bytes),
}

impl Segment {
    fn bytes(&self) -> &[u8] {
        match self {
            Segment::Owned(v) => v,
            Segment::Shared(b) => b,
        }
    }
}

/// Bytes waiting to be written to the transport.
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    segments: VecDeque<Segment>,
    /// Bytes of the front segment already written.
    pos: usize,
    /// Unwritten bytes, in all segments.
    len: usize,
    /// A written owned buffer kept for the next frames.
    spare: Vec<u8>,
}

impl WriteQueue {
    /// Unwritten bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Runs `encode` on the owned buffer at the end of the queue (frames are appended to
    /// it) and counts what it appended.
    #[inline]
    pub(crate) fn encode<R>(&mut self, encode: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        if !matches!(self.segments.back(), Some(Segment::Owned(_))) {
            let spare = core::mem::take(&mut self.spare);
            self.segments.push_back(Segment::Owned(spare));
        }
        let Some(Segment::Owned(tail)) = self.segments.back_mut() else {
            unreachable!("an owned segment was just pushed")
        };
        let before = tail.len();
        let result = encode(tail);
        self.len += tail.len() - before;
        result
    }

    /// Queues `bytes` as they are (the payload of a large frame, or a prepared frame).
    pub(crate) fn push_shared(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.len += bytes.len();
        self.segments.push_back(Segment::Shared(bytes));
    }

    /// The first unwritten bytes (one segment's worth).
    #[inline]
    pub(crate) fn front(&self) -> &[u8] {
        match self.segments.front() {
            Some(segment) => &segment.bytes()[self.pos..],
            None => &[],
        }
    }

    /// Whether the unwritten bytes are in one piece ([`front`](WriteQueue::front)).
    #[inline]
    pub(crate) fn is_contiguous(&self) -> bool {
        self.segments.len() <= 1
    }

    /// The unwritten bytes as slices for a vectored write; returns how many were filled.
    pub(crate) fn slices<'a>(&'a self, out: &mut [IoSlice<'a>; MAX_SLICES]) -> usize {
        let mut n = 0;
        for (i, segment) in self.segments.iter().enumerate().take(MAX_SLICES) {
            let bytes = segment.bytes();
            let bytes = if i == 0 { &bytes[self.pos..] } else { bytes };
            if !bytes.is_empty() {
                out[n] = IoSlice::new(bytes);
                n += 1;
            }
        }
        n
    }

    /// Marks `n` bytes as written.
    pub(crate) fn advance(&mut self, mut n: usize) {
        debug_assert!(n <= self.len);
        self.len -= n;
        // The common case: one buffer of frames, written out; keep it for the next ones.
        if self.len == 0 && self.segments.len() == 1 {
            if let Some(Segment::Owned(v)) = self.segments.front_mut() {
                if v.capacity() <= KEEP_WRITE {
                    v.clear();
                    self.pos = 0;
                    return;
                }
            }
        }
        while let Some(front) = self.segments.front() {
            let rest = front.bytes().len() - self.pos;
            if n < rest {
                self.pos += n;
                return;
            }
            n -= rest;
            self.pos = 0;
            if let Some(Segment::Owned(mut v)) = self.segments.pop_front() {
                // Kept for the next frames, unless large (a burst should not pin memory).
                if v.capacity() <= KEEP_WRITE && self.spare.capacity() == 0 {
                    v.clear();
                    self.spare = v;
                }
            }
        }
    }

    /// Everything unwritten, copied into one buffer (for a hand-over of the stream).
    pub(crate) fn take_all(&mut self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.len);
        for (i, segment) in self.segments.iter().enumerate() {
            let bytes = segment.bytes();
            all.extend_from_slice(if i == 0 { &bytes[self.pos..] } else { bytes });
        }
        *self = WriteQueue::default();
        all
    }

    /// Frees the memory when nothing is queued.
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.segments = VecDeque::new();
            self.spare = Vec::new();
            self.pos = 0;
        }
    }

    /// The memory held, in bytes of buffer capacity (shared payloads by their length).
    pub(crate) fn capacity(&self) -> usize {
        let segments: usize = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Owned(v) => v.capacity(),
                Segment::Shared(b) => b.len(),
            })
            .sum();
        segments + self.spare.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut WriteQueue, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while !q.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = q.slices(&mut slices);
            let mut gathered: Vec<u8> =
                slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
            gathered.truncate(step);
            assert_eq!(
                &q.front()[..q.front().len().min(1)],
                &gathered[..gathered.len().min(1)]
            );
            out.extend_from_slice(&gathered);
            q.advance(gathered.len());
        }
        out
    }

    #[test]
    fn frames_come_out_in_order_whatever_the_write_sizes() {
        for step in [1, 2, 3, 7, 100, 1 << 20] {
            let mut q = WriteQueue::default();
            q.encode(|out| out.extend_from_slice(b"head1"));
            q.push_shared(Bytes::from_static(b"payload-one"));
            q.encode(|out| out.extend_from_slice(b"pong"));
            q.encode(|out| out.extend_from_slice(b"+more"));
            q.push_shared(Bytes::from_static(b""));
            q.push_shared(Bytes::from_static(b"two"));
            assert_eq!(q.len(), 5 + 11 + 4 + 5 + 3);
            assert_eq!(
                drain(&mut q, step),
                b"head1payload-onepong+moretwo",
                "step {step}"
            );
            assert!(q.is_empty());
            assert_eq!(q.front(), b"");
            // The queue keeps one small buffer for reuse, freed when released.
            q.release_if_empty();
            assert_eq!(q.capacity(), 0);
        }
    }

    #[test]
    fn take_all_returns_the_unwritten_bytes() {
        let mut q = WriteQueue::default();
        q.encode(|out| out.extend_from_slice(b"abc"));
        q.push_shared(Bytes::from_static(b"def"));
        q.advance(2);
        assert_eq!(q.take_all(), b"cdef");
        assert!(q.is_empty());
    }
}
