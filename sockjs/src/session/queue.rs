//! The session's outgoing messages, kept encoded until a receiver takes them all as one
//! `a[...]` frame (sockjs-node `flushToRecv` → `sendBulk`).

use alloc::vec::Vec;
use core::fmt;

use crate::json;

/// Outgoing messages: already escaped and joined with commas, so that a flush is one copy
/// and the byte bound is exactly what the `a[...]` frame will carry (plus 3 bytes).
#[derive(Debug, Default)]
pub(super) struct Queue {
    encoded: Vec<u8>,
    messages: usize,
}

/// Capacity kept after a flush; a queue that grew past it gives its memory back.
const KEEP_CAPACITY: usize = 16 * 1024;

impl Queue {
    pub(super) fn len(&self) -> usize {
        self.messages
    }

    pub(super) fn bytes(&self) -> usize {
        self.encoded.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// Queues `message` if the bounds allow it; nothing changes otherwise.
    pub(super) fn push(
        &mut self,
        message: &str,
        max_messages: usize,
        max_bytes: usize,
    ) -> Result<(), SendError> {
        let len = json::quoted_len(message);
        self.check(len, max_messages, max_bytes)?;
        if !self.encoded.is_empty() {
            self.encoded.push(b',');
        }
        json::quote(message, &mut self.encoded);
        self.messages += 1;
        Ok(())
    }

    /// Queues a message [`quote`](json::quote) already escaped.
    pub(super) fn push_encoded(
        &mut self,
        encoded: &[u8],
        max_messages: usize,
        max_bytes: usize,
    ) -> Result<(), SendError> {
        self.check(encoded.len(), max_messages, max_bytes)?;
        if !self.encoded.is_empty() {
            self.encoded.push(b',');
        }
        self.encoded.extend_from_slice(encoded);
        self.messages += 1;
        Ok(())
    }

    fn check(&self, len: usize, max_messages: usize, max_bytes: usize) -> Result<(), SendError> {
        if len > max_bytes {
            return Err(SendError::TooLarge {
                len,
                limit: max_bytes,
            });
        }
        let separator = usize::from(!self.encoded.is_empty());
        if self.messages >= max_messages
            || self.encoded.len().saturating_add(separator + len) > max_bytes
        {
            return Err(SendError::QueueFull {
                messages: self.messages,
                bytes: self.encoded.len(),
            });
        }
        Ok(())
    }

    /// Writes `a[...]` with every queued message and empties the queue.
    pub(super) fn take_frame(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"a[");
        out.extend_from_slice(&self.encoded);
        out.push(b']');
        self.clear();
    }

    pub(super) fn clear(&mut self) {
        self.encoded.clear();
        if self.encoded.capacity() > KEEP_CAPACITY {
            self.encoded = Vec::new();
        }
        self.messages = 0;
    }
}

/// A message could not be queued. The message was not queued; nothing else changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closing or closed (sockjs-node's `send` returns `false` then).
    Closed,
    /// The queue is at its bound
    /// ([`max_queued_messages`](crate::SessionConfig::max_queued_messages) or
    /// [`max_queued_bytes`](crate::SessionConfig::max_queued_bytes)): the client is not
    /// taking messages as fast as they come. Retry once a receiver has taken the queue
    /// ([`Session::queued_messages`](crate::Session::queued_messages) drops to 0), drop the
    /// message, or close the session.
    QueueFull {
        /// Messages queued.
        messages: usize,
        /// Their encoded size, in bytes.
        bytes: usize,
    },
    /// The message, encoded, is larger than `max_queued_bytes` on its own: it can never be
    /// queued.
    TooLarge {
        /// Its encoded length, in bytes.
        len: usize,
        /// `max_queued_bytes`.
        limit: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the SockJS session is closed"),
            SendError::QueueFull { messages, bytes } => write!(
                f,
                "the SockJS session's queue is full ({messages} messages, {bytes} bytes)"
            ),
            SendError::TooLarge { len, limit } => write!(
                f,
                "message of {len} encoded bytes exceeds the queue bound of {limit} bytes"
            ),
        }
    }
}

impl core::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(q: &mut Queue) -> Vec<u8> {
        let mut out = Vec::new();
        q.take_frame(&mut out);
        out
    }

    #[test]
    fn bounds_are_exact() {
        let mut q = Queue::default();
        // "ab" is 4 bytes encoded, "ab","cd" 9.
        assert_eq!(q.push("ab", 10, 9), Ok(()));
        assert_eq!(q.push("cd", 10, 9), Ok(()));
        assert_eq!(
            q.push("", 10, 9),
            Err(SendError::QueueFull {
                messages: 2,
                bytes: 9
            })
        );
        // Exactly the bound on its own: it fits an empty queue, not this one.
        assert_eq!(
            q.push("0123456", 10, 9),
            Err(SendError::QueueFull {
                messages: 2,
                bytes: 9
            })
        );
        assert_eq!(
            q.push("01234567", 10, 9),
            Err(SendError::TooLarge { len: 10, limit: 9 })
        );
        assert_eq!(frame(&mut q), br#"a["ab","cd"]"#);
        assert!(q.is_empty());
        assert_eq!(q.bytes(), 0);
        assert_eq!(q.push("x", 1, 100), Ok(()));
        assert_eq!(
            q.push("y", 1, 100),
            Err(SendError::QueueFull {
                messages: 1,
                bytes: 3
            })
        );
    }
}
