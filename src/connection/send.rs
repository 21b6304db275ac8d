//! The sending half: messages in, frames appended to the caller's buffer.

use alloc::vec::Vec;

use super::{Connection, ControlPayload, MessageKind, Role};
use crate::close::CloseCode;
use crate::error::UsageError;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::mask::extend_masked;

/// A frame header ready to be written, for callers that send the payload from their own
/// buffer (a vectored write of header + payload, with no copy on the server side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
    mask: Option<[u8; 4]>,
}

impl EncodedHeader {
    /// The header's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The masking key (clients only): the payload must be sent masked with it, starting
    /// at payload offset 0 (see [`apply_mask`](crate::mask::apply_mask)).
    pub fn mask(&self) -> Option<[u8; 4]> {
        self.mask
    }
}

impl Connection {
    /// Appends a text message to `out`, split into frames of `fragment_size` if configured.
    ///
    /// # Errors
    ///
    /// [`UsageError::Closed`] after our Close frame went out (RFC 6455 §5.5.1),
    /// [`UsageError::MessageInProgress`] while a [`send_fragment`](Connection::send_fragment)
    /// message is unfinished. Nothing is written on error.
    pub fn send_text(&mut self, text: &str, out: &mut Vec<u8>) -> Result<(), UsageError> {
        self.send_message(MessageKind::Text, text.as_bytes(), out)
    }

    /// Appends a binary message to `out`. See [`send_text`](Connection::send_text).
    pub fn send_binary(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), UsageError> {
        self.send_message(MessageKind::Binary, data, out)
    }

    /// Appends a whole message of either kind to `out`. The caller guarantees that text is
    /// UTF-8 (use [`send_text`](Connection::send_text) to have the type system check it).
    #[inline]
    pub fn send_message(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        if self.tx.message.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        if !self.life.may_send_data() {
            return Err(UsageError::Closed);
        }
        #[cfg(feature = "deflate")]
        if let Some(codec) = self.deflate.as_mut() {
            if codec.should_compress(payload.len()) {
                let mut compressed = core::mem::take(&mut codec.scratch);
                codec.compress_message(payload, &mut compressed);
                // RFC 7692 §6: "set the RSV1 bit of the first frame" of a compressed message.
                self.send_frames(kind, &compressed, true, out);
                if let Some(codec) = self.deflate.as_mut() {
                    codec.recycle(compressed);
                }
                return Ok(());
            }
        }
        self.send_frames(kind, payload, false, out);
        Ok(())
    }

    /// Writes a whole message as one frame, or as frames of `fragment_size`.
    #[inline]
    fn send_frames(&mut self, kind: MessageKind, payload: &[u8], rsv1: bool, out: &mut Vec<u8>) {
        let size = match self.config.fragment_size {
            Some(size) if payload.len() > size => size,
            // The common case: the whole message in one frame.
            _ => return self.write_data_frame(kind.opcode(), true, rsv1, payload, out),
        };
        let mut chunks = payload.chunks(size).peekable();
        let mut opcode = kind.opcode();
        if chunks.peek().is_none() {
            self.write_data_frame(opcode, true, rsv1, &[], out);
        }
        let mut first = true;
        while let Some(chunk) = chunks.next() {
            let fin = chunks.peek().is_none();
            self.write_data_frame(opcode, fin, rsv1 && first, chunk, out);
            opcode = OpCode::Continuation;
            first = false;
        }
    }

    fn write_data_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) {
        let first = (fin as u8) << 7 | (rsv1 as u8) << 6 | opcode as u8;
        let mask = match self.role {
            Role::Client => Some(self.masks.next_key()),
            Role::Server => None,
        };
        append_data_frame(first, mask, payload, out);
    }

    /// Whether [`send_message`](Connection::send_message) would compress a message of
    /// `len` bytes (permessage-deflate is enabled and the message passes its threshold).
    pub fn would_compress(&self, len: usize) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(codec) = &self.deflate {
            return codec.should_compress(len);
        }
        let _ = len;
        false
    }

    /// Appends one frame of a message sent in pieces: the first call starts a message of
    /// `kind`, later calls continue it (with the same `kind`), and the call with `fin` set
    /// ends it. Control frames may be sent in between (RFC 6455 §5.4).
    ///
    /// A text message's pieces may split UTF-8 sequences; the whole must be UTF-8.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        let header = self.encode_header(kind, payload.len() as u64, fin)?;
        append_frame(&header, payload, out);
        Ok(())
    }

    /// Encodes the header of the next data frame of `payload_len` bytes and updates the
    /// connection as if the frame were sent; the caller must then send exactly
    /// `payload_len` payload bytes (masked with [`EncodedHeader::mask`] for a client).
    ///
    /// This is [`send_fragment`](Connection::send_fragment) without the copy: a server can
    /// write the header and the application's buffer with one vectored write.
    pub fn encode_header(
        &mut self,
        kind: MessageKind,
        payload_len: u64,
        fin: bool,
    ) -> Result<EncodedHeader, UsageError> {
        // §5.2: "the most significant bit MUST be 0" of a 64-bit length.
        if payload_len >> 63 != 0 {
            return Err(UsageError::PayloadTooLong);
        }
        if !self.life.may_send_data() {
            return Err(UsageError::Closed);
        }
        let opcode = match self.tx.message {
            None => kind.opcode(),
            Some(current) if current == kind => OpCode::Continuation,
            Some(_) => return Err(UsageError::FragmentKindMismatch),
        };
        self.tx.message = if fin { None } else { Some(kind) };
        let mut header = FrameHeader::new(opcode, payload_len);
        header.fin = fin;
        Ok(self.finish_header(header))
    }

    /// Sends a message prepared once for many connections (broadcast).
    ///
    /// A server gets the shared frame back, to write as it is: no copy, no encoding. With
    /// permessage-deflate and no context takeover on our side, that is the frame compressed
    /// once for this connection's window and level (shared with every connection that has
    /// the same); with context takeover, the uncompressed frame (RFC 7692 lets any message
    /// go uncompressed). A client, which must mask every frame with its own key, or a
    /// connection configured to fragment messages, encodes the message into `out` instead
    /// and gets `None`.
    ///
    /// # Errors
    ///
    /// As [`send_message`](Connection::send_message). Nothing is written on error.
    pub fn send_prepared(
        &mut self,
        message: &crate::PreparedMessage,
        out: &mut Vec<u8>,
    ) -> Result<Option<bytes::Bytes>, UsageError> {
        if self.tx.message.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        if !self.life.may_send_data() {
            return Err(UsageError::Closed);
        }
        let len = message.payload().len();
        let fragments = self.config.fragment_size.is_some_and(|size| len > size);
        if self.role == Role::Client || fragments {
            self.send_message(message.kind(), message.payload(), out)?;
            return Ok(None);
        }
        #[cfg(feature = "deflate")]
        if let Some(codec) = &self.deflate {
            if codec.should_compress(len) {
                if let Some((bits, level)) = codec.fresh_compression() {
                    return Ok(Some(message.compressed_frame(bits, level)));
                }
            }
        }
        Ok(Some(message.frame().clone()))
    }

    /// Encodes the header of a whole message sent as one frame, for a payload the caller
    /// writes itself (a server's vectored write of header and payload, with no copy):
    /// [`send_message`](Connection::send_message)'s checks, then
    /// [`encode_header`](Connection::encode_header). Never compressed or fragmented.
    pub fn encode_message_header(
        &mut self,
        kind: MessageKind,
        payload_len: u64,
    ) -> Result<EncodedHeader, UsageError> {
        if self.tx.message.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        self.encode_header(kind, payload_len, true)
    }

    /// [`encode_message_header`](Connection::encode_message_header), appending the header
    /// to `out` (no [`EncodedHeader`] in between): returns the masking key of a client.
    #[inline(always)]
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn append_message_header(
        &mut self,
        kind: MessageKind,
        payload_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<Option<[u8; 4]>, UsageError> {
        if self.tx.message.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        if !self.life.may_send_data() {
            return Err(UsageError::Closed);
        }
        // FIN set, no RSV bit: a whole uncompressed message in one frame.
        let first = 0x80 | kind.opcode() as u8;
        let mask = match self.role {
            Role::Client => Some(self.masks.next_key()),
            Role::Server => None,
        };
        append_header(first, mask, payload_len, out);
        Ok(mask)
    }

    /// Appends a ping (payload of at most 125 bytes) to `out`.
    pub fn send_ping(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), UsageError> {
        self.send_control(OpCode::Ping, payload, out)
    }

    /// Appends an unsolicited pong (payload of at most 125 bytes) to `out`; with `auto_pong`
    /// off, this is also how pings are answered.
    pub fn send_pong(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), UsageError> {
        self.send_control(OpCode::Pong, payload, out)
    }

    fn send_control(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        if self.life.close_sent() {
            return Err(UsageError::Closed);
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(UsageError::ControlPayloadTooLong);
        }
        self.write_control(opcode, payload, out);
        Ok(())
    }

    /// Starts the closing handshake, or answers the peer's Close with this code instead of
    /// the automatic echo: appends a Close frame to `out`.
    ///
    /// `code` 1005 ([`CloseCode::NO_STATUS_RECEIVED`]) sends a Close frame with no body;
    /// otherwise the code must be valid on the wire (§7.4) and code + reason must fit in
    /// 125 bytes.
    pub fn close(
        &mut self,
        code: CloseCode,
        reason: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        if self.life.close_sent() {
            return Err(UsageError::Closed);
        }
        if code == CloseCode::NO_STATUS_RECEIVED {
            if !reason.is_empty() {
                return Err(UsageError::InvalidCloseCode(code.as_u16()));
            }
        } else if !code.is_valid_on_wire() {
            return Err(UsageError::InvalidCloseCode(code.as_u16()));
        }
        if 2 + reason.len() > MAX_CONTROL_PAYLOAD {
            return Err(UsageError::ControlPayloadTooLong);
        }
        let payload = ControlPayload::close(code, reason);
        self.pending.close = None;
        self.write_close(&payload, out);
        Ok(())
    }

    /// Appends the frames the connection wants to send on its own — pongs, keepalive pings,
    /// and the Close frame of a closing handshake or a failure — and returns how many bytes
    /// were appended. Call it after [`receive`](Connection::receive) and
    /// [`handle_timeout`](Connection::handle_timeout), between whole frames of your own.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        if self.life.may_send_pongs() {
            for pong in core::mem::take(&mut self.pending.pongs) {
                self.write_control(OpCode::Pong, pong.as_slice(), out);
            }
        }
        if !self.life.close_sent() && core::mem::take(&mut self.pending.ping) {
            self.write_control(OpCode::Ping, &[], out);
        }
        if let Some(close) = self.pending.close.take() {
            self.write_close(&close, out);
        }
        out.len() - start
    }

    /// Whether a Close frame (a reply, a failure's, an idle timeout's) waits for
    /// [`poll_transmit`](Connection::poll_transmit).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn close_pending(&self) -> bool {
        self.pending.close.is_some()
    }

    /// Whether [`poll_transmit`](Connection::poll_transmit) has something to write.
    #[inline]
    pub fn wants_transmit(&self) -> bool {
        self.pending.close.is_some()
            || (self.life.may_send_pongs() && !self.pending.pongs.is_empty())
            || (!self.life.close_sent() && self.pending.ping)
    }

    fn write_close(&mut self, payload: &ControlPayload, out: &mut Vec<u8>) {
        self.write_control(OpCode::Close, payload.as_slice(), out);
        // Pongs still owed for pings that arrived before the peer's Close go out after
        // ours (§5.5.1 forbids only data frames); no keepalive ping follows a Close.
        self.pending.ping = false;
        self.life.on_close_sent();
    }

    fn write_control(&mut self, opcode: OpCode, payload: &[u8], out: &mut Vec<u8>) {
        let header = self.finish_header(FrameHeader::new(opcode, payload.len() as u64));
        append_frame(&header, payload, out);
    }

    /// Adds the mask (clients) and encodes.
    #[inline]
    fn finish_header(&mut self, mut header: FrameHeader) -> EncodedHeader {
        if self.role == Role::Client {
            header.mask = Some(self.masks.next_key());
        }
        let mut bytes = [0; MAX_HEADER_LEN];
        let len = header.encode(&mut bytes) as u8;
        EncodedHeader {
            bytes,
            len,
            mask: header.mask,
        }
    }
}

/// Appends an encoded header with copies of fixed size (inlined moves rather than a
/// `memcpy` call for a few bytes).
#[inline]
fn extend_header(out: &mut Vec<u8>, header: &[u8]) {
    match header.len() {
        2 => out.extend_from_slice(&header[..2]),
        4 => out.extend_from_slice(&header[..4]),
        6 => out.extend_from_slice(&header[..6]),
        8 => out.extend_from_slice(&header[..8]),
        _ => out.extend_from_slice(header),
    }
}

/// Appends a frame whose header's first byte is `first` (FIN, RSV1, opcode), then
/// `payload`, masked with `mask` (a client's): the header built in place, the same bytes
/// [`FrameHeader::encode`] writes.
#[inline]
fn append_data_frame(first: u8, mask: Option<[u8; 4]>, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(MAX_HEADER_LEN + payload.len());
    append_header(first, mask, payload.len(), out);
    match mask {
        Some(key) => extend_masked(out, payload, key),
        None => crate::copy::extend(out, payload),
    }
}

/// Appends a frame header: `first` (FIN, RSV1, opcode), the length of the payload, the
/// masking key if any.
#[inline]
fn append_header(first: u8, mask: Option<[u8; 4]>, len: usize, out: &mut Vec<u8>) {
    let mask_bit = (mask.is_some() as u8) << 7;
    // RFC 6455 §5.2: "The length of the "Payload data", in bytes: if 0-125, that is the
    // payload length. If 126, the following 2 bytes [...] If 127, the following 8 bytes".
    if len <= 125 {
        out.extend_from_slice(&[first, mask_bit | len as u8]);
    } else if len <= 0xFFFF {
        let [a, b] = (len as u16).to_be_bytes();
        out.extend_from_slice(&[first, mask_bit | 126, a, b]);
    } else {
        let [a, b, c, d, e, f, g, h] = (len as u64).to_be_bytes();
        out.extend_from_slice(&[first, mask_bit | 127, a, b, c, d, e, f, g, h]);
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// Appends a frame: `header`, then `payload`, masked with the header's key (a client's).
#[inline]
fn append_frame(header: &EncodedHeader, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(header.as_bytes().len() + payload.len());
    extend_header(out, header.as_bytes());
    match header.mask {
        Some(key) => extend_masked(out, payload, key),
        None => crate::copy::extend(out, payload),
    }
}
