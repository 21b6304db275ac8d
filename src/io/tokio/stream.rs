//! The stream the tokio `connect` functions open: TCP, maybe through a proxy's tunnel,
//! maybe with TLS.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::vec::Vec;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use ::tokio::net::TcpStream;

use crate::handshake::ClientRequest;
use crate::io::Error;
use crate::io::connector::{self, Connector};
use crate::io::proxy::{ConnectResponse, Proxy};

/// A client's TCP stream, with TLS for `wss://` URLs: what
/// [`connect`](super::connect) and [`connect_with_connector`](super::connect_with_connector)
/// return the WebSocket over.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`: plain TCP (to the server, or to the proxy that tunnels to it).
    Plain(TcpStream),
    /// `wss://`: rustls over TCP (feature `rustls`).
    #[cfg(feature = "rustls")]
    Rustls(std::boxed::Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP stream underneath, e.g. for its addresses or `set_nodelay`.
    pub fn get_ref(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.get_ref().0,
        }
    }
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            MaybeTlsStream::Plain($s) => {
                let $s = Pin::new($s);
                $e
            }
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
        }
    };
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_shutdown(cx))
    }
}

/// Opens the stream for `request`: TCP to the server or through the proxy's tunnel, then
/// TLS for `wss://`. The caller bounds it with the handshake timeout.
pub(super) async fn open(
    connector: &Connector,
    request: &ClientRequest,
) -> Result<MaybeTlsStream, Error> {
    connector::check_tls_available(request)?;
    let tcp = match connector.proxy_for(request)? {
        Some(proxy) => {
            let mut tcp = TcpStream::connect((proxy.host(), proxy.port())).await?;
            tcp.set_nodelay(true)?;
            tunnel(&mut tcp, &proxy, request).await?;
            tcp
        }
        None => {
            let tcp = TcpStream::connect(connector::target(request)).await?;
            tcp.set_nodelay(true)?;
            tcp
        }
    };
    if !request.is_secure() {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    #[cfg(feature = "rustls")]
    {
        let name = crate::io::tls::server_name(request)?;
        let tls = tokio_rustls::TlsConnector::from(connector.tls())
            .connect(name, tcp)
            .await
            .map_err(crate::io::tls::handshake_error)?;
        crate::io::tls::check_alpn(tls.get_ref().1.alpn_protocol())?;
        Ok(MaybeTlsStream::Rustls(std::boxed::Box::new(tls)))
    }
    #[cfg(not(feature = "rustls"))]
    unreachable!("check_tls_available refused wss://")
}

/// Asks `proxy` for a tunnel to the request's host and port (RFC 9110 §9.3.6) and reads
/// its answer without reading past it.
async fn tunnel(tcp: &mut TcpStream, proxy: &Proxy, request: &ClientRequest) -> Result<(), Error> {
    let mut out = Vec::new();
    proxy.write_connect(request, &mut out);
    tcp.write_all(&out).await?;
    let mut answer = ConnectResponse::default();
    let mut buf = std::vec![0u8; 4096];
    loop {
        let n = tcp.peek(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the proxy closed the connection before answering CONNECT",
            )
            .into());
        }
        let take = answer.peeked(&buf[..n])?;
        tcp.read_exact(&mut buf[..take.consume]).await?;
        if take.done {
            return Ok(());
        }
    }
}
