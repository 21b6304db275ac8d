//! The receiving half: bytes in, unmasked and validated in place, events out.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{Connection, ControlPayload, Event, MAX_QUEUED_PONGS, MessageKind, Received, Role};
use crate::close::CloseCode;
use crate::error::{ProtocolError, ReceiveError, UsageError};
use crate::frame::{FrameHeader, OpCode, Status};
use crate::mask::apply_mask;
use crate::utf8;

/// Text payloads from this size on are unmasked and validated in one pass, block by block;
/// shorter ones are unmasked, then validated (`utf8::validate` has a short-ASCII fast path).
const TEXT_BLOCKWISE_MIN: usize = 64;

impl Connection {
    /// Processes bytes from the peer, unmasking them in place.
    ///
    /// Returns how many bytes were used and at most one event. Call again with the unused
    /// rest (plus any newly read bytes) until `event` is `None`, which means more input is
    /// needed. A partial frame header or control frame is never consumed; the payload of a
    /// data frame is delivered as soon as it arrives.
    ///
    /// Once the peer's Close frame arrived, or the connection failed, input is discarded.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::Protocol`] when the peer broke RFC 6455 or a configured limit. The
    /// connection is then [`State::Closed`](crate::State::Closed) with a Close frame carrying
    /// [`ProtocolError::close_code`] queued for [`poll_transmit`](Connection::poll_transmit).
    ///
    /// With permessage-deflate enabled, use [`receive_into`](Connection::receive_into):
    /// `receive` has nowhere to put inflated data, so a compressed message is refused as
    /// the caller's mistake ([`ReceiveError::Usage`], nothing consumed, nothing sent).
    #[inline]
    pub fn receive<'a>(&mut self, buf: &'a mut [u8]) -> Result<Received<'a>, ReceiveError> {
        if self.allowed_rsv != 0 && self.next_is_compressed(buf) {
            return Err(ReceiveError::Usage(UsageError::InflateBufferMissing));
        }
        self.receive_inner(buf, None, false)
            .map_err(ReceiveError::Protocol)
    }

    /// Whether the data at the start of `buf` belongs to a compressed message.
    fn next_is_compressed(&self, buf: &[u8]) -> bool {
        if !self.life.may_receive() {
            return false;
        }
        if self.rx.in_frame {
            return self.rx.compressed;
        }
        match FrameHeader::decode(buf) {
            Ok(Status::Complete((h, _))) => match h.opcode {
                OpCode::Continuation => self.rx.compressed,
                OpCode::Text | OpCode::Binary => h.rsv1,
                _ => false,
            },
            _ => false,
        }
    }

    /// [`receive`](Connection::receive) for a connection with permessage-deflate enabled:
    /// the data of compressed messages is inflated and appended to `inflated` (a buffer
    /// the caller owns, and may clear between calls or keep to collect a whole message),
    /// and their events borrow from it. Data of uncompressed messages is borrowed from
    /// `buf` as usual, so without permessage-deflate this is exactly `receive`.
    ///
    /// The inflated size counts against `max_message_size` while inflating, so a small
    /// compressed frame cannot allocate more (RFC 7692 §8.2 "decompression bombs").
    #[inline]
    pub fn receive_into<'a>(
        &mut self,
        buf: &'a mut [u8],
        inflated: &'a mut Vec<u8>,
    ) -> Result<Received<'a>, ProtocolError> {
        self.receive_inner(buf, Some(inflated), false)
    }

    /// `receive` or `receive_into`; with `whole`, a data frame is only consumed once all
    /// of it is in `buf` (its header is checked as soon as it arrives, failing the
    /// connection as usual), and [`frame_need`](Connection::frame_need) says how many
    /// bytes it needs until then. A frame already being streamed continues in pieces.
    #[inline]
    pub(crate) fn receive_inner<'a>(
        &mut self,
        buf: &'a mut [u8],
        inflated: Option<&'a mut Vec<u8>>,
        whole: bool,
    ) -> Result<Received<'a>, ProtocolError> {
        self.rx.need = 0;
        if !self.life.may_receive() {
            return Ok(Received {
                consumed: buf.len(),
                event: None,
            });
        }
        if self.rx.in_frame {
            return self.receive_payload(buf, 0, inflated);
        }
        self.receive_frame(buf, inflated, whole)
    }

    /// After a `whole` receive that consumed nothing: the length of the incomplete data
    /// frame at the start of the buffer (header and payload), or 0 when not even its
    /// header is complete.
    #[inline]
    pub(crate) fn frame_need(&self) -> u64 {
        self.rx.need
    }

    /// The kind of the data message being received, if one is in progress.
    pub(crate) fn receiving(&self) -> Option<MessageKind> {
        self.rx.message
    }

    /// Payload bytes of the data frame being received that have not arrived yet (0 between
    /// frames, and for compressed messages, whose inflated size is unknown): a hint for
    /// reserving memory before the rest of a large message arrives.
    pub fn pending_payload(&self) -> u64 {
        if self.rx.in_frame && !self.rx.compressed {
            self.rx.remaining
        } else {
            0
        }
    }

    /// Reports that the transport has no more input. Before a clean close this is an
    /// abnormal closure (1006).
    pub fn receive_eof(&mut self) {
        self.life.on_eof();
    }

    #[inline]
    fn receive_frame<'a>(
        &mut self,
        buf: &'a mut [u8],
        inflated: Option<&'a mut Vec<u8>>,
        whole: bool,
    ) -> Result<Received<'a>, ProtocolError> {
        let (header, header_len) = match FrameHeader::decode(buf) {
            Ok(Status::Complete(h)) => h,
            Ok(Status::Partial) => return Ok(need_more(0)),
            Err(e) => return Err(self.fail(e)),
        };
        // §5.1: "The server MUST close the connection upon receiving a frame that is not
        // masked. [...] A client MUST close a connection if it detects a masked frame."
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(self.fail(ProtocolError::UnmaskedFrame)),
            (Role::Client, true) => return Err(self.fail(ProtocolError::MaskedFrame)),
            _ => {}
        }
        // §5.2: "RSV1, RSV2, RSV3: 1 bit each. MUST be 0 unless an extension is negotiated
        // that defines meanings for non-zero values. If a nonzero value is received and none
        // of the negotiated extensions defines the meaning of such a nonzero value, the
        // receiving endpoint MUST _Fail the WebSocket Connection_."
        if buf[0] & 0x70 & !self.allowed_rsv != 0 {
            return Err(self.fail(ProtocolError::ReservedBits));
        }
        // RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control
        // frames and non-first fragments of a data message. An endpoint receiving such a
        // frame MUST _Fail the WebSocket Connection_."
        if header.rsv1 && (header.opcode == OpCode::Continuation || header.opcode.is_control()) {
            return Err(self.fail(ProtocolError::ReservedBits));
        }
        self.timers.on_activity();
        if header.opcode.is_control() {
            // Decoding guaranteed payload_len <= 125.
            let end = header_len + header.payload_len as usize;
            let Some(payload) = buf.get_mut(header_len..end) else {
                return Ok(need_more(0));
            };
            if let Some(key) = header.mask {
                apply_mask(payload, key, 0);
            }
            let event = self.receive_control(header.opcode, payload)?;
            return Ok(Received {
                consumed: end,
                event: Some(event),
            });
        }
        let kind = match self.check_data_frame(&header) {
            Ok(kind) => kind,
            Err(e) => return Err(self.fail(e)),
        };
        let available = buf.len() - header_len;
        if whole && (available as u64) < header.payload_len {
            // Not consumed until it is whole, but what has arrived is unmasked now, while
            // it is in cache, and text is checked now: §8.1 fails the connection as soon
            // as the bytes seen cannot be UTF-8. Those bytes stay unmasked in place,
            // remembered as `peeked`.
            let compressed = header.opcode != OpCode::Continuation && header.rsv1
                || header.opcode == OpCode::Continuation && self.rx.compressed;
            let from = self.rx.peeked as usize;
            if !compressed && available > from {
                let part = &mut buf[header_len + from..];
                if kind == MessageKind::Text {
                    let mask = header.mask.map(|key| (key, from));
                    if utf8::unmask_and_feed(part, mask, &mut self.rx.utf8).is_err() {
                        return Err(self.fail(ProtocolError::InvalidUtf8));
                    }
                } else if let Some(key) = header.mask {
                    apply_mask(part, key, from);
                }
                self.rx.peeked = available as u64;
            }
            self.rx.need = (header_len as u64).saturating_add(header.payload_len);
            return Ok(need_more(0));
        }
        self.start_data_frame(&header, kind);
        self.receive_payload(buf, header_len, inflated)
    }

    /// Checks a data frame's header against the message in progress and the limits,
    /// changing nothing; returns the kind of message it belongs to.
    #[inline]
    fn check_data_frame(&self, header: &FrameHeader) -> Result<MessageKind, ProtocolError> {
        let kind = match (header.opcode, self.rx.message) {
            // §5.4: "a message [...] consists of a single frame with the FIN bit clear and an
            // opcode other than 0, followed by zero or more frames with the FIN bit clear and
            // the opcode set to 0, and terminated by a single frame with the FIN bit set and
            // an opcode of 0."
            (OpCode::Continuation, None) => {
                return Err(ProtocolError::UnexpectedContinuation);
            }
            (OpCode::Continuation, Some(kind)) => kind,
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (OpCode::Text, None) => MessageKind::Text,
            (_, None) => MessageKind::Binary,
        };
        let len = header.payload_len;
        let compressed = match header.opcode {
            OpCode::Continuation => self.rx.compressed,
            _ => header.rsv1,
        };
        // The limits protect what the application gets: for a compressed message that is
        // the inflated size, counted against `max_message_size` while inflating (RFC 7692
        // §8.2). An incompressible message within the limit grows a little when
        // compressed, so its frames are held to DEFLATE's worst-case expansion of the
        // limits instead — still decided from the header alone.
        let (frame_limit, message_limit) = if compressed {
            (
                compressed_bound(self.config.max_frame_size),
                compressed_bound(self.config.max_message_size),
            )
        } else {
            (self.config.max_frame_size, self.config.max_message_size)
        };
        if len > frame_limit {
            let limit = self.config.max_frame_size;
            return Err(ProtocolError::FrameTooLarge { limit });
        }
        let message_len = self.rx.message_len.saturating_add(len);
        if message_len > message_limit {
            let limit = self.config.max_message_size;
            return Err(ProtocolError::MessageTooLarge { limit });
        }
        if self.rx.fragments >= self.config.max_fragments {
            let limit = self.config.max_fragments;
            return Err(ProtocolError::TooManyFragments { limit });
        }
        Ok(kind)
    }

    /// Starts receiving a data frame that [`check_data_frame`](Connection::check_data_frame)
    /// accepted as part of a `kind` message.
    #[inline]
    fn start_data_frame(&mut self, header: &FrameHeader, kind: MessageKind) {
        if header.opcode != OpCode::Continuation {
            self.rx.compressed = header.rsv1;
        }
        self.rx.message = Some(kind);
        self.rx.message_len += header.payload_len;
        self.rx.fragments += 1;
        self.rx.in_frame = true;
        self.rx.remaining = header.payload_len;
        self.rx.frame_fin = header.fin;
        self.rx.mask = header.mask;
        self.rx.mask_offset = 0;
    }

    /// Delivers the current data frame's payload from `buf[start..]`.
    #[inline]
    fn receive_payload<'a>(
        &mut self,
        buf: &'a mut [u8],
        start: usize,
        inflated: Option<&'a mut Vec<u8>>,
    ) -> Result<Received<'a>, ProtocolError> {
        let available = buf.len() - start;
        let n = if self.rx.remaining < available as u64 {
            self.rx.remaining as usize
        } else {
            available
        };
        if n == 0 && self.rx.remaining != 0 {
            return Ok(need_more(start));
        }
        let end = start + n;
        let payload = &mut buf[start..end];
        // The first `skip` bytes were unmasked (and, text, validated) while the frame was
        // incomplete (see `receive_frame`).
        let skip = (self.rx.peeked as usize).min(n);
        self.rx.peeked -= skip as u64;
        self.rx.remaining -= n as u64;
        let frame_done = self.rx.remaining == 0;
        if frame_done {
            self.rx.in_frame = false;
        }
        let fin = frame_done && self.rx.frame_fin;
        // A message validated in pieces is delivered as a chunk: only the validator, fed
        // every piece in order, vouches for it.
        let whole = fin && !self.rx.delivered && skip == 0;
        let mask = self.rx.mask;
        let offset = self.rx.mask_offset as usize;
        self.rx.mask_offset = ((offset + n) % 4) as u8;
        // A whole text message: unmask and validate block by block, in cache. Unmasking
        // also finds out whether a block is all ASCII, which then needs no validation.
        if whole
            && !self.rx.compressed
            && self.rx.message == Some(MessageKind::Text)
            && n >= TEXT_BLOCKWISE_MIN
        {
            let unmasked = utf8::unmask_and_validate(payload, mask.map(|key| (key, offset)));
            return match unmasked {
                Ok(text) => {
                    self.end_message();
                    Ok(Received {
                        consumed: end,
                        event: Some(Event::Text(text)),
                    })
                }
                Err(_) => Err(self.fail(ProtocolError::InvalidUtf8)),
            };
        }
        let is_text = self.rx.message == Some(MessageKind::Text);
        // A piece of a text message: the same, carrying the validator across pieces.
        if is_text && !whole && !self.rx.compressed {
            let utf8 = &mut self.rx.utf8;
            let rest = &mut payload[skip..];
            let valid = utf8::unmask_and_feed(rest, mask.map(|key| (key, offset + skip)), utf8)
                .is_ok()
                && (!fin || utf8.finish().is_ok());
            if !valid {
                return Err(self.fail(ProtocolError::InvalidUtf8));
            }
            if fin {
                self.end_message();
            } else {
                self.rx.delivered = true;
            }
            return Ok(Received {
                consumed: end,
                event: Some(Event::TextChunk { payload, fin }),
            });
        }
        if let Some(key) = mask {
            apply_mask(&mut payload[skip..], key, offset + skip);
        }
        let payload: &'a [u8] = if self.rx.compressed {
            self.inflate(payload, fin, inflated)?
        } else {
            payload
        };
        let event = match self.rx.message {
            Some(MessageKind::Text) if whole => match utf8::validate(payload) {
                Ok(text) => Event::Text(text),
                Err(_) => return Err(self.fail(ProtocolError::InvalidUtf8)),
            },
            Some(MessageKind::Text) => {
                // Compressed text. §8.1: fail as soon as the bytes seen cannot be valid
                // UTF-8, not at the end.
                let valid =
                    self.rx.utf8.feed(payload).is_ok() && (!fin || self.rx.utf8.finish().is_ok());
                if !valid {
                    return Err(self.fail(ProtocolError::InvalidUtf8));
                }
                Event::TextChunk { payload, fin }
            }
            _ if whole => Event::Binary(payload),
            _ => Event::BinaryChunk { payload, fin },
        };
        if fin {
            self.end_message();
        } else {
            self.rx.delivered = true;
        }
        Ok(Received {
            consumed: end,
            event: Some(event),
        })
    }

    /// The current message is complete: reset the per-message state.
    #[inline]
    fn end_message(&mut self) {
        self.rx.message = None;
        self.rx.message_len = 0;
        self.rx.fragments = 0;
        self.rx.delivered = false;
        self.rx.compressed = false;
        self.rx.inflated = 0;
    }

    /// Inflates a piece of a compressed message into the caller's buffer.
    #[cfg(feature = "deflate")]
    fn inflate<'a>(
        &mut self,
        input: &[u8],
        last: bool,
        out: Option<&'a mut Vec<u8>>,
    ) -> Result<&'a [u8], ProtocolError> {
        // `receive` refused compressed messages before getting here.
        let Some(out) = out else {
            return Err(self.fail(ProtocolError::ReservedBits));
        };
        let Some(codec) = self.deflate.as_mut() else {
            return Err(self.fail(ProtocolError::ReservedBits));
        };
        let before = out.len();
        let room = self
            .config
            .max_message_size
            .saturating_sub(self.rx.inflated);
        let limit = before.saturating_add(usize::try_from(room).unwrap_or(usize::MAX));
        match codec.decompress(input, last, out, limit) {
            Ok(()) => {}
            Err(crate::deflate::InflateError::TooLarge) => {
                let limit = self.config.max_message_size;
                return Err(self.fail(ProtocolError::MessageTooLarge { limit }));
            }
            Err(crate::deflate::InflateError::Corrupt) => {
                return Err(self.fail(ProtocolError::InvalidCompressedData));
            }
        }
        self.rx.inflated += (out.len() - before) as u64;
        let out: &'a Vec<u8> = out;
        Ok(&out[before..])
    }

    /// Without the `deflate` feature no message is ever compressed (RSV1 is rejected).
    #[cfg(not(feature = "deflate"))]
    fn inflate<'a>(
        &mut self,
        _input: &[u8],
        _last: bool,
        _out: Option<&'a mut Vec<u8>>,
    ) -> Result<&'a [u8], ProtocolError> {
        Err(self.fail(ProtocolError::ReservedBits))
    }

    /// Handles a complete, unmasked control frame.
    fn receive_control<'a>(
        &mut self,
        opcode: OpCode,
        payload: &'a [u8],
    ) -> Result<Event<'a>, ProtocolError> {
        match opcode {
            OpCode::Ping => {
                // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
                // response, unless it already received a Close frame." §5.5.3: "A Pong frame
                // sent in response to a Ping frame must have identical "Application data"".
                // Input is processed only until the peer's Close arrives, so here none has;
                // our own Close may have gone out (a Pong is not a data frame, §5.5.1).
                if self.config.auto_pong {
                    if self.pending.pongs.len() == MAX_QUEUED_PONGS {
                        self.pending.pongs.remove(0);
                    }
                    self.pending.pongs.push(ControlPayload::new(&[payload]));
                }
                Ok(Event::Ping(payload))
            }
            OpCode::Pong => Ok(Event::Pong(payload)),
            _ => {
                let (code, reason) = match self.parse_close(payload) {
                    Ok(parsed) => parsed,
                    Err(e) => return Err(self.fail(e)),
                };
                if self.life.on_close_received(code) {
                    // §5.5.1: "When sending a Close frame in response, the endpoint
                    // typically echos the status code it received."
                    self.pending.close = Some(Box::new(ControlPayload::close(code, "")));
                }
                Ok(Event::Close { code, reason })
            }
        }
    }

    /// §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
    /// unsigned integer [...] representing a status code [...] Following the 2-byte integer,
    /// the body MAY contain UTF-8-encoded data".
    fn parse_close<'a>(&self, payload: &'a [u8]) -> Result<(CloseCode, &'a str), ProtocolError> {
        match payload {
            [] => Ok((CloseCode::NO_STATUS_RECEIVED, "")),
            [_] => Err(ProtocolError::InvalidClosePayload),
            [hi, lo, reason @ ..] => {
                let code = CloseCode::new(u16::from_be_bytes([*hi, *lo]));
                // §7.4: codes outside the defined ranges, and the reserved 1005, 1006 and
                // 1015, are not valid in a Close frame.
                if !code.is_valid_on_wire() {
                    return Err(ProtocolError::InvalidCloseCode(code.as_u16()));
                }
                let reason = utf8::validate(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok((code, reason))
            }
        }
    }
}

/// The most bytes DEFLATE may turn `len` bytes into: zlib's conservative `deflateBound`
/// (`len + ceil(len / 8) + ceil(len / 64) + 5`, for any window and memory level), which
/// covers stored blocks of incompressible data and the empty block of a sync flush.
pub(crate) const fn compressed_bound(len: u64) -> u64 {
    len.saturating_add(len.div_ceil(8))
        .saturating_add(len.div_ceil(64))
        .saturating_add(5)
}

#[inline]
fn need_more<'a>(consumed: usize) -> Received<'a> {
    Received {
        consumed,
        event: None,
    }
}
