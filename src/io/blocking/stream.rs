//! The stream the blocking `connect` functions open: TCP, maybe through a proxy's tunnel,
//! maybe with TLS.

use std::io::{self, ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::net::TcpStream;
use std::time::Instant;
use std::vec::Vec;

use crate::handshake::ClientRequest;
use crate::io::Error;
use crate::io::connector::{self, Connector};
use crate::io::handshake::timed_out;
use crate::io::proxy::{ConnectResponse, Proxy};

/// A client's TCP stream, with TLS for `wss://` URLs: what [`connect`](super::connect)
/// and [`connect_with_connector`](super::connect_with_connector) return the WebSocket
/// over.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`: plain TCP (to the server, or to the proxy that tunnels to it).
    Plain(TcpStream),
    /// `wss://`: rustls over TCP (feature `rustls`).
    #[cfg(feature = "rustls")]
    Rustls(std::boxed::Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP stream underneath, e.g. for `set_nonblocking` or its addresses.
    pub fn get_ref(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.get_ref(),
        }
    }

    /// The TCP stream underneath, mutably (reading or writing it directly corrupts the
    /// stream).
    pub fn get_mut(&mut self) -> &mut TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.get_mut(),
        }
    }

    /// Switches the TCP stream to non-blocking mode or back (see the module's
    /// "Non-blocking streams"; TLS streams are resumable after `WouldBlock` too).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.get_ref().set_nonblocking(nonblocking)
    }

    /// Sends TLS's close_notify (best effort), if any, and gives back the TCP stream, for
    /// a graceful TCP shutdown.
    pub(super) fn into_tcp(self) -> TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(mut s) => {
                s.conn.send_close_notify();
                let _ = s.flush();
                s.sock
            }
        }
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.read(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.read(buf),
        }
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.read_vectored(bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.read_vectored(bufs),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write_vectored(bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.flush(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.flush(),
        }
    }
}

/// Opens the stream for `request`: TCP to the server or through the proxy's tunnel, then
/// TLS for `wss://`. Each step's reads and writes are bounded by what is left until
/// `deadline`, and the stream is returned with its timeouts set to what is left.
pub(super) fn open(
    connector: &Connector,
    request: &ClientRequest,
    deadline: Option<Instant>,
) -> Result<MaybeTlsStream, Error> {
    connector::check_tls_available(request)?;
    let proxy = connector.proxy_for(request)?;
    let (host, port) = match &proxy {
        Some(proxy) => (proxy.host(), proxy.port()),
        None => connector::target(request),
    };
    let mut tcp = match deadline {
        Some(deadline) => super::connect_timeout(host, port, left(deadline)?)?,
        None => TcpStream::connect((host, port))?,
    };
    tcp.set_nodelay(true)?;
    arm(&tcp, deadline)?;
    if let Some(proxy) = &proxy {
        tunnel(&mut tcp, proxy, request).map_err(|e| timeout_as_deadline(e, deadline))?;
        arm(&tcp, deadline)?;
    }
    if !request.is_secure() {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    #[cfg(feature = "rustls")]
    {
        use crate::io::tls;
        let mut conn = rustls::ClientConnection::new(connector.tls(), tls::server_name(request)?)
            .map_err(|e| Error::Tls(std::boxed::Box::new(e)))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).map_err(|e| {
                match timeout_as_deadline(e.into(), deadline) {
                    Error::Io(e) => tls::handshake_error(e),
                    other => other,
                }
            })?;
            arm(&tcp, deadline)?;
        }
        tls::check_alpn(conn.alpn_protocol())?;
        Ok(MaybeTlsStream::Rustls(std::boxed::Box::new(
            rustls::StreamOwned::new(conn, tcp),
        )))
    }
    #[cfg(not(feature = "rustls"))]
    unreachable!("check_tls_available refused wss://")
}

/// What is left until `deadline`, or the handshake's timeout error.
fn left(deadline: Instant) -> Result<std::time::Duration, Error> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| timed_out().into())
}

/// Bounds the stream's reads and writes by what is left until `deadline`.
fn arm(tcp: &TcpStream, deadline: Option<Instant>) -> Result<(), Error> {
    if let Some(deadline) = deadline {
        let left = left(deadline)?;
        tcp.set_read_timeout(Some(left))?;
        tcp.set_write_timeout(Some(left))?;
    }
    Ok(())
}

/// A socket timeout (Linux reports it as `WouldBlock`) under a deadline is the deadline.
fn timeout_as_deadline(e: Error, deadline: Option<Instant>) -> Error {
    match e {
        Error::Io(e)
            if deadline.is_some()
                && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            timed_out().into()
        }
        other => other,
    }
}

/// Asks `proxy` for a tunnel to the request's host and port (RFC 9110 §9.3.6) and reads
/// its answer without reading past it.
fn tunnel(tcp: &mut TcpStream, proxy: &Proxy, request: &ClientRequest) -> Result<(), Error> {
    let mut out = Vec::new();
    proxy.write_connect(request, &mut out);
    tcp.write_all(&out)?;
    let mut answer = ConnectResponse::default();
    let mut buf = [0u8; 4096];
    loop {
        let n = match tcp.peek(&mut buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the proxy closed the connection before answering CONNECT",
                )
                .into());
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let take = answer.peeked(&buf[..n])?;
        tcp.read_exact(&mut buf[..take.consume])?;
        if take.done {
            return Ok(());
        }
    }
}
