//! How a client reaches its server: directly or through an HTTP proxy, with which TLS
//! configuration for `wss://`. Shared by the blocking and the tokio `connect` functions.

#[cfg(feature = "rustls")]
use std::sync::Arc;

use super::Error;
use super::proxy::{Proxy, ProxyError};
use crate::handshake::ClientRequest;

/// How the adapters' `connect` functions reach a server: the proxy, and the TLS client
/// configuration for `wss://` (feature `rustls`).
///
/// The default, which [`tokio::connect`](crate::io::tokio::connect) and
/// [`blocking::connect`](crate::io::blocking::connect) use, takes the proxy from the
/// environment like curl and reqwest do ([`Proxy::from_env`]: `HTTPS_PROXY`,
/// `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`; never for loopback hosts) and verifies servers
/// against the roots of [`tls::default_roots`](crate::io::tls::default_roots).
///
/// ```no_run
/// use rfc6455::io::{Connector, Proxy, tokio as ws};
/// use rfc6455::handshake::ClientRequest;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let connector = Connector::new().proxy(Proxy::parse("http://user:pw@proxy.example:3128")?);
/// let request = ClientRequest::from_url("wss://echo.example/chat")?;
/// let (mut socket, _) = ws::connect_with_connector(&request, Default::default(), &connector).await?;
/// socket.send("hello through the tunnel").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Connector {
    proxy: Route,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

#[derive(Clone, Debug, Default)]
enum Route {
    /// The environment's proxy, if any (`Proxy::from_env`).
    #[default]
    Environment,
    Direct,
    Through(Proxy),
}

impl Connector {
    /// The default: the environment's proxy and the default TLS roots.
    pub fn new() -> Connector {
        Connector::default()
    }

    /// Tunnels every connection through `proxy`, whatever the environment says.
    pub fn proxy(mut self, proxy: Proxy) -> Connector {
        self.proxy = Route::Through(proxy);
        self
    }

    /// Connects directly, ignoring the environment's proxy variables.
    pub fn no_proxy(mut self) -> Connector {
        self.proxy = Route::Direct;
        self
    }

    /// Uses `config` for `wss://` instead of the default (roots from
    /// [`tls::default_roots`](crate::io::tls::default_roots)). Build it with
    /// [`tls::client_config`](crate::io::tls::client_config) to keep the defaults (ALPN
    /// `http/1.1`, the `ring` provider) and choose only the roots. If the server selects
    /// an ALPN protocol other than `http/1.1`, the connection fails: the WebSocket
    /// handshake is HTTP/1.1.
    #[cfg(feature = "rustls")]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Connector {
        self.tls = Some(config);
        self
    }

    /// The proxy a connection for `request` goes through, if any.
    ///
    /// # Errors
    ///
    /// An unusable proxy URL in the environment (see [`Proxy::from_env`]).
    pub fn proxy_for(&self, request: &ClientRequest) -> Result<Option<Proxy>, ProxyError> {
        match &self.proxy {
            Route::Environment => Proxy::from_env(request),
            Route::Direct => Ok(None),
            Route::Through(proxy) => Ok(Some(proxy.clone())),
        }
    }

    /// The TLS configuration for `wss://`.
    #[cfg(feature = "rustls")]
    pub(crate) fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls.clone().unwrap_or_else(super::tls::default_config)
    }
}

/// Where to open the TCP connection: the host (IPv6 without brackets) and port.
pub(crate) fn target(request: &ClientRequest) -> (&str, u16) {
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    (host, request.effective_port())
}

/// Refuses `wss://` when the crate was built without a TLS stack.
pub(crate) fn check_tls_available(request: &ClientRequest) -> Result<(), Error> {
    if request.is_secure() && !cfg!(feature = "rustls") {
        return Err(crate::error::UsageError::InvalidHandshakeInput(
            "wss:// needs the `rustls` feature (or connect TLS yourself and use client())",
        )
        .into());
    }
    Ok(())
}
