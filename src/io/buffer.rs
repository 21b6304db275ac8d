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
    /// Frames encoded after a shared payload.
    Owned(Vec<u8>),
    /// The payload of a large server frame, shared with the application (advanced as it
    /// is written).
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
///
/// The common case — frames encoded into one owned buffer and written out — touches only
/// `head`; the segments behind it exist while a shared payload is queued.
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    /// The first unwritten bytes: `head[pos..]` (empty once written).
    head: Vec<u8>,
    /// Bytes of `head` already written.
    pos: usize,
    /// What follows `head`, in order.
    rest: VecDeque<Segment>,
    /// Unwritten bytes, in all segments.
    len: usize,
    /// A written owned buffer kept for the next frames behind a shared payload.
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
    #[inline(always)]
    pub(crate) fn encode<R>(&mut self, encode: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let tail = self.tail();
        let before = tail.len();
        let result = encode(tail);
        let appended = tail.len() - before;
        self.appended(appended);
        result
    }

    /// The owned buffer at the end of the queue, to append frames to; the caller reports
    /// what it appended with [`appended`](WriteQueue::appended). (What
    /// [`encode`](WriteQueue::encode) does around its closure, for the hot path of sending
    /// a message, which appends without one.)
    #[inline(always)]
    pub(crate) fn tail(&mut self) -> &mut Vec<u8> {
        if self.rest.is_empty() {
            &mut self.head
        } else {
            self.tail_behind_shared()
        }
    }

    /// Counts `n` bytes appended to [`tail`](WriteQueue::tail).
    #[inline(always)]
    pub(crate) fn appended(&mut self, n: usize) {
        self.len += n;
    }

    #[cold]
    fn tail_behind_shared(&mut self) -> &mut Vec<u8> {
        if !matches!(self.rest.back(), Some(Segment::Owned(_))) {
            let spare = core::mem::take(&mut self.spare);
            self.rest.push_back(Segment::Owned(spare));
        }
        match self.rest.back_mut() {
            Some(Segment::Owned(tail)) => tail,
            _ => unreachable!("an owned segment was just pushed"),
        }
    }

    /// Queues `bytes` as they are (the payload of a large frame, or a prepared frame).
    pub(crate) fn push_shared(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.len += bytes.len();
        self.rest.push_back(Segment::Shared(bytes));
    }

    /// The first unwritten bytes (all of them when [`is_contiguous`](WriteQueue::is_contiguous)).
    #[inline]
    pub(crate) fn front(&self) -> &[u8] {
        if self.pos < self.head.len() {
            return &self.head[self.pos..];
        }
        match self.rest.front() {
            Some(segment) => segment.bytes(),
            None => &[],
        }
    }

    /// Whether the unwritten bytes are in one piece ([`front`](WriteQueue::front)).
    #[inline]
    pub(crate) fn is_contiguous(&self) -> bool {
        self.rest.is_empty() || (self.pos == self.head.len() && self.rest.len() == 1)
    }

    /// The unwritten bytes when they are exactly two pieces: a header in `head` and the one
    /// segment behind it (a large server frame's shared payload) — the usual vectored write,
    /// without filling [`MAX_SLICES`] slices.
    #[inline]
    pub(crate) fn pair(&self) -> Option<[IoSlice<'_>; 2]> {
        if self.rest.len() != 1 || self.pos >= self.head.len() {
            return None;
        }
        let second = self.rest.front()?.bytes();
        Some([IoSlice::new(&self.head[self.pos..]), IoSlice::new(second)])
    }

    /// The unwritten bytes as slices for a vectored write; returns how many were filled.
    pub(crate) fn slices<'a>(&'a self, out: &mut [IoSlice<'a>; MAX_SLICES]) -> usize {
        let mut n = 0;
        let first = &self.head[self.pos..];
        let segments = self.rest.iter().map(Segment::bytes);
        for bytes in core::iter::once(first).chain(segments) {
            if n == MAX_SLICES {
                break;
            }
            if !bytes.is_empty() {
                out[n] = IoSlice::new(bytes);
                n += 1;
            }
        }
        n
    }

    /// Marks `n` bytes as written.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.len);
        self.len -= n;
        self.pos += n;
        if self.pos < self.head.len() {
            return;
        }
        // `head` is written: keep it for the next frames unless large (a burst should
        // not pin memory).
        let beyond = self.pos - self.head.len();
        self.pos = 0;
        if self.head.capacity() <= KEEP_WRITE {
            self.head.clear();
        } else {
            self.head = Vec::new();
        }
        if beyond > 0 || !self.rest.is_empty() {
            self.advance_rest(beyond);
        }
    }

    /// Advances past the written `head` into the segments behind it.
    #[cold]
    fn advance_rest(&mut self, mut n: usize) {
        while let Some(front) = self.rest.front_mut() {
            let len = front.bytes().len();
            if n < len {
                match front {
                    Segment::Shared(b) => bytes::Buf::advance(b, n),
                    Segment::Owned(_) => {
                        // A buffer of frames not (all) written becomes the head.
                        if let Some(Segment::Owned(v)) = self.rest.pop_front() {
                            let old = core::mem::replace(&mut self.head, v);
                            self.recycle(old);
                            self.pos = n;
                        }
                    }
                }
                return;
            }
            n -= len;
            if let Some(Segment::Owned(v)) = self.rest.pop_front() {
                self.recycle(v);
            }
        }
        debug_assert_eq!(n, 0);
    }

    /// Keeps a written buffer as the spare unless large or one is kept already.
    fn recycle(&mut self, mut v: Vec<u8>) {
        if v.capacity() <= KEEP_WRITE && self.spare.capacity() == 0 {
            v.clear();
            self.spare = v;
        }
    }

    /// Everything unwritten, copied into one buffer (for a hand-over of the stream).
    pub(crate) fn take_all(&mut self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.len);
        all.extend_from_slice(&self.head[self.pos..]);
        for segment in &self.rest {
            all.extend_from_slice(segment.bytes());
        }
        *self = WriteQueue::default();
        all
    }

    /// Frees the memory when nothing is queued.
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() {
            *self = WriteQueue::default();
        }
    }

    /// The memory held, in bytes of buffer capacity (shared payloads by their length).
    pub(crate) fn capacity(&self) -> usize {
        let segments: usize = self
            .rest
            .iter()
            .map(|s| match s {
                Segment::Owned(v) => v.capacity(),
                Segment::Shared(b) => b.len(),
            })
            .sum();
        self.head.capacity() + segments + self.spare.capacity()
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
            // The two-piece shortcut, when it applies, is exactly the general answer.
            if let Some(pair) = q.pair() {
                let from_pair: Vec<u8> = pair.iter().flat_map(|s| s.iter().copied()).collect();
                assert_eq!(from_pair, gathered);
                assert_eq!(n, 2);
            }
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
    fn a_header_and_its_shared_payload_are_a_pair_until_the_header_is_written() {
        let mut q = WriteQueue::default();
        assert!(q.pair().is_none());
        q.encode(|out| out.extend_from_slice(b"hd"));
        assert!(q.pair().is_none(), "one piece is contiguous, not a pair");
        q.push_shared(Bytes::from_static(b"payload"));
        let pair = q.pair().expect("header + payload");
        assert_eq!((&pair[0][..], &pair[1][..]), (&b"hd"[..], &b"payload"[..]));
        q.advance(1);
        let pair = q.pair().expect("the rest of the header + payload");
        assert_eq!((&pair[0][..], &pair[1][..]), (&b"d"[..], &b"payload"[..]));
        q.advance(1);
        assert!(q.pair().is_none(), "only the payload is left");
        assert_eq!(q.front(), b"payload");
        q.encode(|out| out.extend_from_slice(b"next"));
        assert!(
            q.pair().is_none(),
            "payload + a frame behind it: head is written"
        );
        assert_eq!(drain(&mut q, 3), b"payloadnext");
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

    /// Random interleavings of queueing and partial writes against a plain byte vector.
    #[test]
    fn matches_a_byte_vector_model_under_random_operations() {
        let mut seed = 0x2545_f491_u32;
        let mut next = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize % bound
        };
        for _ in 0..200 {
            let mut q = WriteQueue::default();
            let mut model: Vec<u8> = Vec::new();
            let mut written: Vec<u8> = Vec::new();
            let mut counter = 0u8;
            for _ in 0..60 {
                match next(4) {
                    0 | 1 => {
                        let bytes: Vec<u8> = (0..next(40))
                            .map(|_| {
                                counter = counter.wrapping_add(1);
                                counter
                            })
                            .collect();
                        model.extend_from_slice(&bytes);
                        if next(2) == 0 {
                            q.encode(|out| out.extend_from_slice(&bytes));
                        } else {
                            q.push_shared(Bytes::from(bytes));
                        }
                    }
                    _ => {
                        let unwritten = &model[written.len()..];
                        let take = next(unwritten.len() + 1);
                        // Write through the contiguous front or a vectored gather.
                        let gathered: Vec<u8> = if next(2) == 0 || q.is_contiguous() {
                            q.front().iter().copied().take(take).collect()
                        } else {
                            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                            let n = q.slices(&mut slices);
                            slices[..n]
                                .iter()
                                .flat_map(|s| s.iter().copied())
                                .take(take)
                                .collect()
                        };
                        if q.is_contiguous() {
                            assert_eq!(q.front(), unwritten);
                        }
                        assert_eq!(&gathered[..], &unwritten[..gathered.len()]);
                        q.advance(gathered.len());
                        written.extend_from_slice(&gathered);
                    }
                }
                assert_eq!(q.len(), model.len() - written.len());
                assert_eq!(q.is_empty(), model.len() == written.len());
            }
            let rest = q.take_all();
            assert_eq!(rest, &model[written.len()..]);
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
