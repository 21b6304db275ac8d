//! The incremental frame decoder: bytes in any pieces → frames and heart-beats.
//!
//! ```text
//! frame = command EOL *( header EOL ) EOL *OCTET NULL *( EOL )      EOL = [CR] LF
//! ```
//!
//! The decoder reads from the caller's slice and keeps only the frame in progress: its
//! current line (at most `max_header_line_size` bytes), its unescaped headers (at most
//! `max_head_size`) and its body (at most `max_body_size`). Lines are parsed as they
//! complete, so the work is linear in the input however it is split.

use alloc::string::String;
use alloc::vec::Vec;
use core::mem;

use bytes::Bytes;

use crate::error::FrameError;
use crate::frame::{Command, Frame, parse_content_length};

/// The outcome of decoding: a whole unit, or "need more bytes" (never an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status<T> {
    /// Everything given was consumed and more bytes are needed to finish the unit.
    Partial,
    /// A unit was decoded.
    Complete(T),
}

/// Limits on what one frame may hold. "To prevent malicious clients from exploiting memory
/// allocation in a server, servers MAY place maximum limits on: the number of frame headers
/// allowed in a single frame; the maximum length of header lines; the maximum size of a
/// frame body" (STOMP 1.2, Size Limits). A decoder never holds more than
/// `max_header_line_size + max_head_size + max_body_size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Limits {
    /// The most headers in one frame (default 64).
    pub max_header_count: usize,
    /// The longest command or header line, in bytes, without its EOL (default 8 KiB).
    pub max_header_line_size: usize,
    /// The largest command line plus header lines, in bytes, EOLs included (default 64 KiB).
    pub max_head_size: usize,
    /// The largest body, in bytes (default 1 MiB).
    pub max_body_size: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_header_count: 64,
            max_header_line_size: 8 * 1024,
            max_head_size: 64 * 1024,
            max_body_size: 1024 * 1024,
        }
    }
}

impl Limits {
    /// Sets `max_header_count`.
    #[must_use]
    pub fn max_header_count(mut self, n: usize) -> Limits {
        self.max_header_count = n;
        self
    }

    /// Sets `max_header_line_size`, in bytes.
    #[must_use]
    pub fn max_header_line_size(mut self, bytes: usize) -> Limits {
        self.max_header_line_size = bytes;
        self
    }

    /// Sets `max_head_size`, in bytes.
    #[must_use]
    pub fn max_head_size(mut self, bytes: usize) -> Limits {
        self.max_head_size = bytes;
        self
    }

    /// Sets `max_body_size`, in bytes.
    #[must_use]
    pub fn max_body_size(mut self, bytes: usize) -> Limits {
        self.max_body_size = bytes;
        self
    }
}

/// What the decoder found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A whole frame.
    Frame(Frame),
    /// An EOL between frames: a heart-beat ("if the sender has no real STOMP frame to send,
    /// it MUST send an end-of-line (EOL)"), or one of the EOLs that may follow a frame's
    /// NULL. Either way it shows the peer is alive.
    HeartBeat,
}

/// The result of one [`Decoder::decode`] call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Decoded {
    /// How many bytes at the start of the input were used. On [`Status::Partial`] this is
    /// all of them (the decoder keeps what it needs); otherwise pass the rest again.
    pub consumed: usize,
    /// A frame or a heart-beat, or `Partial`.
    pub status: Status<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Between frames.
    Idle,
    /// Between frames, after a CR.
    IdleCr,
    /// Reading the command line and header lines.
    Head,
    /// Reading the body: `Some(n)` more octets (content-length), or up to the NULL.
    Body(Option<usize>),
    /// After a content-length body: the NULL must follow.
    Nul,
    /// A previous call failed; the stream cannot be resynchronised.
    Failed(FrameError),
}

/// Decodes STOMP frames from a byte stream delivered in arbitrary pieces: a frame split
/// across WebSocket messages, or several frames (and heart-beats) in one.
///
/// ```
/// use rfc6455_stomp::{Command, Decoder, Item, Limits, Status};
///
/// let mut decoder = Decoder::new(Limits::default());
/// let input = b"SEND\ndestination:/queue/a\n\nhel";
/// let d = decoder.decode(input)?;
/// assert_eq!((d.consumed, d.status), (input.len(), Status::Partial));
///
/// let input = b"lo\0\n";
/// let d = decoder.decode(input)?;
/// let Status::Complete(Item::Frame(frame)) = d.status else { panic!() };
/// assert_eq!(frame.command(), Command::Send);
/// assert_eq!(frame.header("destination"), Some("/queue/a"));
/// assert_eq!(&frame.body()[..], b"hello");
/// assert_eq!(decoder.decode(&input[d.consumed..])?.status, Status::Complete(Item::HeartBeat));
/// # Ok::<(), rfc6455_stomp::FrameError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Decoder {
    limits: Limits,
    state: State,
    /// The current line while it is incomplete.
    line: Vec<u8>,
    /// Bytes of the current frame's head so far, EOLs included.
    head_size: usize,
    command: Option<Command>,
    text: String,
    ends: Vec<(usize, usize)>,
    body: Vec<u8>,
}

impl Decoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            state: State::Idle,
            line: Vec::new(),
            head_size: 0,
            command: None,
            text: String::new(),
            ends: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the decoder is between frames (no partial frame or CR held).
    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    /// Bytes the decoder holds for the frame in progress (for memory accounting).
    pub fn buffered(&self) -> usize {
        self.line.len() + self.text.len() + self.body.len()
    }

    /// Decodes from the start of `input`: at most one frame or heart-beat per call. Call
    /// again with `&input[consumed..]` until it returns [`Status::Partial`].
    ///
    /// # Errors
    ///
    /// A [`FrameError`] when the bytes are not STOMP or exceed a limit. The decoder is then
    /// failed: every later call returns the same error.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, FrameError> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match self.state {
                State::Failed(ref e) => return Err(e.clone()),
                State::Idle => match rest.first() {
                    None => return Ok(partial(pos)),
                    Some(b'\n') => return Ok(complete(pos + 1, Item::HeartBeat)),
                    Some(b'\r') => {
                        pos += 1;
                        self.state = State::IdleCr;
                    }
                    Some(_) => self.state = State::Head,
                },
                State::IdleCr => match rest.first() {
                    None => return Ok(partial(pos)),
                    Some(b'\n') => {
                        self.state = State::Idle;
                        return Ok(complete(pos + 1, Item::HeartBeat));
                    }
                    // "EOL = [CR] LF"
                    Some(_) => return Err(self.fail(FrameError::InvalidEol)),
                },
                State::Head => {
                    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                        self.check_partial_line(rest.len())?;
                        self.line.extend_from_slice(rest);
                        return Ok(partial(input.len()));
                    };
                    pos += lf + 1;
                    let r = if self.line.is_empty() {
                        self.end_line(&rest[..lf])
                    } else {
                        let mut line = mem::take(&mut self.line);
                        line.extend_from_slice(&rest[..lf]);
                        let r = self.end_line(&line);
                        line.clear();
                        self.line = line;
                        r
                    };
                    if let Err(e) = r {
                        return Err(self.fail(e));
                    }
                }
                State::Body(Some(0)) => self.state = State::Nul,
                State::Body(Some(n)) => {
                    if rest.is_empty() {
                        return Ok(partial(pos));
                    }
                    let take = n.min(rest.len());
                    reserve(&mut self.body, take, n);
                    self.body.extend_from_slice(&rest[..take]);
                    pos += take;
                    self.state = State::Body(Some(n - take));
                }
                State::Body(None) => {
                    let nul = rest.iter().position(|&b| b == 0);
                    let len = nul.unwrap_or(rest.len());
                    self.check_body_piece(len)?;
                    let room = self.limits.max_body_size - self.body.len();
                    reserve(&mut self.body, len, room);
                    self.body.extend_from_slice(&rest[..len]);
                    match nul {
                        None => return Ok(partial(input.len())),
                        Some(i) => return Ok(complete(pos + i + 1, self.finish())),
                    }
                }
                State::Nul => match rest.first() {
                    None => return Ok(partial(pos)),
                    Some(0) => return Ok(complete(pos + 1, self.finish())),
                    // "If a content-length header is included, this number of octets MUST
                    // be read, regardless of whether or not there are NULL octets in the
                    // body. The frame still needs to be terminated with a NULL octet."
                    Some(_) => return Err(self.fail(FrameError::MissingNul)),
                },
            }
        }
    }

    fn fail(&mut self, e: FrameError) -> FrameError {
        self.state = State::Failed(e.clone());
        self.line = Vec::new();
        self.text = String::new();
        self.ends = Vec::new();
        self.body = Vec::new();
        e
    }

    /// Refuses an incomplete line that is already too long, before buffering it.
    fn check_partial_line(&mut self, more: usize) -> Result<(), FrameError> {
        let len = self.line.len() + more;
        // A line may end in CR, which the limit does not count.
        let e = if self.command.is_none() && len > Command::MAX_LEN + 1 {
            FrameError::UnknownCommand
        } else if len > self.limits.max_header_line_size.saturating_add(1) {
            FrameError::HeaderLineTooLong {
                limit: self.limits.max_header_line_size,
            }
        } else if self.head_size + len > self.limits.max_head_size {
            FrameError::HeadTooLarge {
                limit: self.limits.max_head_size,
            }
        } else {
            return Ok(());
        };
        Err(self.fail(e))
    }

    /// Refuses a body piece of `len` bytes (without the NULL) that breaks a rule.
    fn check_body_piece(&mut self, len: usize) -> Result<(), FrameError> {
        let command = self.command.unwrap_or(Command::Send);
        let e = if len > 0 && !command.may_have_body() {
            FrameError::UnexpectedBody(command)
        } else if self.body.len() + len > self.limits.max_body_size {
            FrameError::BodyTooLarge {
                limit: self.limits.max_body_size,
            }
        } else {
            return Ok(());
        };
        Err(self.fail(e))
    }

    /// A complete line, without its LF.
    fn end_line(&mut self, line: &[u8]) -> Result<(), FrameError> {
        self.head_size += line.len() + 1;
        if self.head_size > self.limits.max_head_size {
            return Err(FrameError::HeadTooLarge {
                limit: self.limits.max_head_size,
            });
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // "header-name = 1*<any OCTET except CR or LF or ':'>", likewise the value.
        if line.contains(&b'\r') {
            return Err(FrameError::InvalidEol);
        }
        let Some(command) = self.command else {
            let command = Command::from_bytes(line).ok_or(FrameError::UnknownCommand)?;
            self.command = Some(command);
            return Ok(());
        };
        if line.len() > self.limits.max_header_line_size {
            return Err(FrameError::HeaderLineTooLong {
                limit: self.limits.max_header_line_size,
            });
        }
        if line.is_empty() {
            return self.end_head(command);
        }
        if self.ends.len() == self.limits.max_header_count {
            return Err(FrameError::TooManyHeaders {
                limit: self.limits.max_header_count,
            });
        }
        // "The commands and headers are encoded in UTF-8."
        let line = core::str::from_utf8(line).map_err(|_| FrameError::InvalidUtf8)?;
        // The name ends at the first colon. Later colons are kept in the value: the grammar
        // excludes them, but unescaped colons in values are common and unambiguous.
        let (name, value) = line.split_once(':').ok_or(FrameError::MissingColon)?;
        if name.is_empty() {
            return Err(FrameError::EmptyHeaderName);
        }
        let escaped = command.escapes_headers();
        push_text(&mut self.text, name, escaped)?;
        let name_end = self.text.len();
        push_text(&mut self.text, value, escaped)?;
        self.ends.push((name_end, self.text.len()));
        Ok(())
    }

    /// The blank line: choose how to read the body.
    fn end_head(&mut self, command: Command) -> Result<(), FrameError> {
        let first = self
            .ends
            .iter()
            .scan(0, |start, &(name_end, value_end)| {
                let name = &self.text[*start..name_end];
                *start = value_end;
                Some((name, name_end, value_end))
            })
            .find(|(name, _, _)| *name == "content-length");
        let Some((_, name_end, value_end)) = first else {
            self.state = State::Body(None);
            return Ok(());
        };
        let value = &self.text.as_bytes()[name_end..value_end];
        let length = parse_content_length(value).ok_or(FrameError::InvalidContentLength)?;
        let length = usize::try_from(length)
            .ok()
            .filter(|&n| n <= self.limits.max_body_size)
            .ok_or(FrameError::BodyTooLarge {
                limit: self.limits.max_body_size,
            })?;
        if length > 0 && !command.may_have_body() {
            // "Only the SEND, MESSAGE, and ERROR frames MAY have a body. All other frames
            // MUST NOT have a body." (STOMP 1.2, Body)
            return Err(FrameError::UnexpectedBody(command));
        }
        self.state = State::Body(Some(length));
        Ok(())
    }

    fn finish(&mut self) -> Item {
        let command = self.command.take().unwrap_or(Command::Send);
        let frame = Frame::from_parts(
            command,
            mem::take(&mut self.text),
            mem::take(&mut self.ends),
            Bytes::from(mem::take(&mut self.body)),
        );
        self.head_size = 0;
        self.state = State::Idle;
        Item::Frame(frame)
    }
}

/// Makes room for `more` bytes, growing geometrically (so a body arriving a byte at a time
/// is not copied quadratically) but never past `at_most` more bytes: the allocation stays
/// within the announced content-length or the body limit.
fn reserve(buf: &mut Vec<u8>, more: usize, at_most: usize) {
    if buf.capacity() - buf.len() < more {
        buf.reserve_exact(buf.len().max(more).min(at_most).max(more));
    }
}

fn partial(consumed: usize) -> Decoded {
    Decoded {
        consumed,
        status: Status::Partial,
    }
}

fn complete(consumed: usize, item: Item) -> Decoded {
    Decoded {
        consumed,
        status: Status::Complete(item),
    }
}

/// Appends `s` to `text`, unescaping it when `escaped`.
///
/// "When decoding frame headers, the following transformations MUST be applied: `\r`
/// translates to carriage return, `\n` translates to line feed, `\c` translates to `:`,
/// `\\` translates to `\`. Undefined escape sequences such as `\t` MUST be treated as a
/// fatal protocol error." (STOMP 1.2, Value Encoding)
fn push_text(text: &mut String, mut s: &str, escaped: bool) -> Result<(), FrameError> {
    if !escaped {
        text.push_str(s);
        return Ok(());
    }
    while let Some(i) = s.find('\\') {
        text.push_str(&s[..i]);
        let c = match s.as_bytes().get(i + 1) {
            Some(b'r') => '\r',
            Some(b'n') => '\n',
            Some(b'c') => ':',
            Some(b'\\') => '\\',
            other => return Err(FrameError::InvalidEscape(other.copied())),
        };
        text.push(c);
        // The escape is two ASCII bytes, so i + 2 is a character boundary.
        s = s.get(i + 2..).unwrap_or("");
    }
    text.push_str(s);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn decode_all(input: &[u8]) -> Result<Vec<Item>, FrameError> {
        let mut d = Decoder::new(Limits::default());
        let mut items = vec![];
        let mut pos = 0;
        loop {
            let r = d.decode(&input[pos..])?;
            pos += r.consumed;
            match r.status {
                Status::Partial => return Ok(items),
                Status::Complete(item) => items.push(item),
            }
        }
    }

    #[test]
    fn unescape() {
        let mut s = String::new();
        push_text(&mut s, r"a\r\n\c\\b", true).unwrap();
        assert_eq!(s, "a\r\n:\\b");
        assert_eq!(
            push_text(&mut s, r"\t", true),
            Err(FrameError::InvalidEscape(Some(b't')))
        );
        assert_eq!(
            push_text(&mut s, "x\\", true),
            Err(FrameError::InvalidEscape(None))
        );
        let mut raw = String::new();
        push_text(&mut raw, r"\t\", false).unwrap();
        assert_eq!(raw, r"\t\");
    }

    #[test]
    fn failed_decoder_stays_failed() {
        let mut d = Decoder::new(Limits::default());
        assert_eq!(d.decode(b"\rX"), Err(FrameError::InvalidEol));
        assert_eq!(d.decode(b"\n"), Err(FrameError::InvalidEol));
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn heart_beats_and_frames() {
        let items = decode_all(b"\n\r\nRECEIPT\nreceipt-id:7\n\n\0\r\n\n").unwrap();
        assert_eq!(
            items,
            [
                Item::HeartBeat,
                Item::HeartBeat,
                Item::Frame(Frame::new(Command::Receipt).with_header("receipt-id", "7")),
                Item::HeartBeat,
                Item::HeartBeat,
            ]
        );
    }
}
