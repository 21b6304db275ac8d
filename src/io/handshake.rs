//! Reading an opening handshake from a stream: the loop every adapter runs, once for
//! blocking and once for async streams, around the sans-IO handshakes.

use std::io::{self, ErrorKind, Read};
use std::time::Instant;

use crate::frame::Status;
use crate::handshake::{ClientHandshake, HandshakeError, HandshakeResponse, ServerHandshake};

/// Either side's handshake, fed the bytes that arrive.
pub(crate) trait Handshake {
    /// What a complete handshake gives.
    type Done;
    fn receive(&mut self, bytes: &[u8]) -> Result<Status<Self::Done>, HandshakeError>;
}

impl Handshake for ServerHandshake {
    type Done = ();
    fn receive(&mut self, bytes: &[u8]) -> Result<Status<()>, HandshakeError> {
        ServerHandshake::receive(self, bytes)
    }
}

impl Handshake for ClientHandshake {
    type Done = HandshakeResponse;
    fn receive(&mut self, bytes: &[u8]) -> Result<Status<HandshakeResponse>, HandshakeError> {
        ClientHandshake::receive(self, bytes)
    }
}

/// The size of the pieces the head is read in. Bytes read past the head are the
/// handshake's leftover, handed to the connection.
const CHUNK: usize = 4096;

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

pub(crate) fn timed_out() -> io::Error {
    io::Error::new(ErrorKind::TimedOut, "handshake timed out")
}

/// Reads from a blocking `stream` into `handshake` until it completes. The outer error is
/// the transport's: the stream ended first (`UnexpectedEof`), or `deadline` passed
/// (`TimedOut`, checked after every read, so a peer trickling bytes is cut off there; a
/// silent one is bounded by the stream's own read timeout). The inner one is the
/// handshake's, for a server to answer.
pub(crate) fn read_blocking<S: Read, H: Handshake>(
    stream: &mut S,
    handshake: &mut H,
    deadline: Option<Instant>,
) -> io::Result<Result<H::Done, HandshakeError>> {
    let mut chunk = [0u8; CHUNK];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // A read timeout on the stream (Linux reports it as `WouldBlock`): with a
            // deadline, that is the deadline (the handshake needs a blocking stream).
            Err(e) if deadline.is_some() && is_timeout(&e) => return Err(timed_out()),
            Err(e) => return Err(e),
        };
        match handshake.receive(&chunk[..n]) {
            Ok(Status::Complete(done)) => return Ok(Ok(done)),
            Err(e) => return Ok(Err(e)),
            Ok(Status::Partial) => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(timed_out());
        }
    }
}

/// [`read_blocking`] for an async stream; the caller bounds it with a timer.
#[cfg(feature = "tokio")]
pub(crate) async fn read_async<S, H>(
    stream: &mut S,
    handshake: &mut H,
) -> io::Result<Result<H::Done, HandshakeError>>
where
    S: ::tokio::io::AsyncRead + Unpin,
    H: Handshake,
{
    use ::tokio::io::AsyncReadExt;
    // On the heap: anything held across an await lives in the task.
    let mut chunk = std::vec::Vec::with_capacity(CHUNK);
    loop {
        chunk.clear();
        if stream.read_buf(&mut chunk).await? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        match handshake.receive(&chunk) {
            Ok(Status::Complete(done)) => return Ok(Ok(done)),
            Err(e) => return Ok(Err(e)),
            Ok(Status::Partial) => {}
        }
    }
}
