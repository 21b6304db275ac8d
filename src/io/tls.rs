//! TLS for `wss://` clients, with rustls (feature `rustls`).
//!
//! RFC 6455 §4.1: "If /secure/ is true, the client MUST perform a TLS handshake over the
//! connection after opening the connection and before sending the handshake data
//! \[RFC2818\]" … "the client MUST use the Server Name Indication extension in the TLS
//! handshake \[RFC6066\]". The adapters' `connect` functions do this with a
//! [`rustls::ClientConfig`]: by default [`client_config`]`(`[`default_roots`]`())`, or
//! the caller's through [`Connector::tls_config`](crate::io::Connector::tls_config). The
//! server name sent (and verified) is the URL's host; an IP address is verified against
//! the certificate's IP address entries and sent without SNI, which cannot carry one.
//!
//! Trusting a private CA besides the usual roots:
//!
//! ```no_run
//! use std::sync::Arc;
//! use rfc6455::io::{Connector, tls, tokio as ws};
//! use rfc6455::handshake::ClientRequest;
//!
//! # async fn run(ca_der: Vec<u8>) -> Result<(), Box<dyn std::error::Error>> {
//! let mut roots = tls::default_roots();
//! roots.add(ca_der.into())?;
//! let connector = Connector::new().tls_config(Arc::new(tls::client_config(roots)));
//! let request = ClientRequest::from_url("wss://10.0.0.7:9443/echo")?;
//! let (socket, response) = ws::connect_with_connector(&request, Default::default(), &connector).await?;
//! # Ok(())
//! # }
//! ```

use std::io;
use std::sync::{Arc, OnceLock};
use std::vec;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};

use super::Error;
use crate::handshake::ClientRequest;

/// The roots `wss://` trusts by default: Mozilla's (from `webpki-roots`, compiled in) and,
/// with the feature `rustls-native-roots`, the platform's store too (certificates in it
/// that cannot be parsed are skipped).
pub fn default_roots() -> RootCertStore {
    #[cfg_attr(not(feature = "rustls-native-roots"), allow(unused_mut))]
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    #[cfg(feature = "rustls-native-roots")]
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots
}

/// A client configuration trusting `roots`: rustls' safe defaults (TLS 1.2 and 1.3) with
/// the `ring` provider, and ALPN `http/1.1`, the protocol of the WebSocket handshake.
pub fn client_config(roots: RootCertStore) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// [`client_config`]`(`[`default_roots`]`())`, built once per process (loading the
/// platform's store can take milliseconds).
pub(crate) fn default_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| Arc::new(client_config(default_roots())))
        .clone()
}

/// The name to verify the server's certificate against: the request's host, a DNS name
/// or an IP address (IPv6 without brackets).
pub(crate) fn server_name(request: &ClientRequest) -> Result<ServerName<'static>, Error> {
    let (host, _) = super::connector::target(request);
    ServerName::try_from(host.trim_end_matches('.'))
        .map(|name| name.to_owned())
        .map_err(|_| {
            crate::error::UsageError::InvalidHandshakeInput(
                "the host is not a valid TLS server name",
            )
            .into()
        })
}

/// The TLS handshake's failure: rustls' own error (an untrusted certificate, a name
/// mismatch, an alert from the server) when there is one, else the transport's.
pub(crate) fn handshake_error(e: io::Error) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => Error::Tls(std::boxed::Box::new(tls.clone())),
        None => Error::Io(e),
    }
}

/// Refuses a connection whose server chose an ALPN protocol other than HTTP/1.1 (only
/// possible with a caller's configuration offering others, such as `h2`).
pub(crate) fn check_alpn(protocol: Option<&[u8]>) -> Result<(), Error> {
    match protocol {
        None | Some(b"http/1.1") => Ok(()),
        Some(_) => Err(Error::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "the server chose an ALPN protocol other than http/1.1",
        ))),
    }
}
