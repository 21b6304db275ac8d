//! Echo client: connects to URL and sends back every text and binary message it receives,
//! until the server closes. Exits 0 after a clean close handshake, 1 otherwise, 2 on a
//! usage error.
//!
//! ```text
//! cargo run --release --example echo_client ws://127.0.0.1:9001/path
//! cargo run --release --example echo_client wss://127.0.0.1:9443/path --ca CA.pem
//! cargo run --release --example echo_client ws://HOST:PORT/ --proxy http://user:pass@127.0.0.1:8888
//! ```
//!
//! `--ca CA.pem` trusts the certificates in that PEM file besides the default roots;
//! `--proxy` tunnels through an HTTP proxy with CONNECT (without it, `HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` apply, as with curl).

use std::sync::Arc;

use rfc6455::Message;
use rfc6455::io::{Connector, Proxy, tls, tokio as ws};
use rustls::pki_types::{CertificateDer, pem::PemObject};

const USAGE: &str = "usage: echo_client URL [--ca CA.pem] [--proxy http://[user:pass@]HOST:PORT]";

fn usage_error(message: &str) -> ! {
    eprintln!("{message}\n{USAGE}");
    std::process::exit(2);
}

/// The URL and the connector the command line asks for.
fn parse_args() -> (String, Connector) {
    let mut args = std::env::args().skip(1);
    let (mut url, mut ca, mut proxy) = (None, None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => {
                ca = Some(
                    args.next()
                        .unwrap_or_else(|| usage_error("--ca needs a file")),
                )
            }
            "--proxy" => {
                proxy = Some(
                    args.next()
                        .unwrap_or_else(|| usage_error("--proxy needs a URL")),
                )
            }
            flag if flag.starts_with("--") => usage_error(&format!("unknown option {flag}")),
            _ if url.is_some() => usage_error("more than one URL"),
            _ => url = Some(arg),
        }
    }
    let url = url.unwrap_or_else(|| usage_error("no URL"));
    let mut connector = Connector::new();
    if let Some(proxy) = proxy {
        match Proxy::parse(&proxy) {
            Ok(proxy) => connector = connector.proxy(proxy),
            Err(e) => usage_error(&format!("--proxy: {e}")),
        }
    }
    if let Some(ca) = ca {
        let mut roots = tls::default_roots();
        let certs = CertificateDer::pem_file_iter(&ca)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .unwrap_or_else(|e| usage_error(&format!("--ca {ca}: {e}")));
        if certs.is_empty() {
            usage_error(&format!("--ca {ca}: no certificate in the file"));
        }
        for cert in certs {
            if let Err(e) = roots.add(cert) {
                usage_error(&format!("--ca {ca}: {e}"));
            }
        }
        connector = connector.tls_config(Arc::new(tls::client_config(roots)));
    }
    (url, connector)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (url, connector) = parse_args();
    let request = match rfc6455::handshake::ClientRequest::from_url(&url) {
        Ok(request) => request.deflate(rfc6455::deflate::DeflateConfig::default()),
        Err(e) => {
            eprintln!("{url}: {e}");
            std::process::exit(2);
        }
    };
    let (mut socket, response) =
        match ws::connect_with_connector(&request, Default::default(), &connector).await {
            Ok(connected) => connected,
            Err(e) => {
                eprintln!("connect {url}: {e}");
                std::process::exit(1);
            }
        };
    eprintln!("connected to {url} (protocol {:?})", response.protocol);
    let mut echoed = 0u64;
    let result = loop {
        match socket.recv().await {
            Ok(Some(message @ (Message::Text(_) | Message::Binary(_)))) => {
                echoed += 1;
                if let Err(e) = socket.send(message).await {
                    break Err(e);
                }
            }
            Ok(Some(close @ Message::Close(_))) => {
                if let Some((code, reason)) = close.close_code() {
                    eprintln!("server closed: {code} {reason:?}");
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    match result {
        Ok(()) => eprintln!("echoed {echoed} messages; closed cleanly"),
        Err(e) => {
            eprintln!("echoed {echoed} messages; {e}");
            std::process::exit(1);
        }
    }
}
