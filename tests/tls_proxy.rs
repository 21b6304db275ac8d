//! `wss://` and HTTP CONNECT proxies over real loopback sockets: a rustls echo server with a
//! CA made at test time (rcgen), and a small CONNECT proxy written here, driven through the
//! public `connect` functions of both adapters.
//!
//! RFC 6455 §4.1: "If /secure/ is true, the client MUST perform a TLS handshake over the
//! connection after opening the connection and before sending the handshake data" … "the
//! client MUST use the Server Name Indication extension in the TLS handshake"; and "if the
//! client is configured to use a proxy […] then the client SHOULD connect to that proxy
//! and ask it to open a TCP connection to the host given by /host/ and the port given by
//! /port/" with `CONNECT` (RFC 9110 §9.3.6), authenticated with Basic (RFC 7617).

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rfc6455::handshake::ClientRequest;
use rfc6455::io::{self, Connector, NoProxy, Proxy, ProxyError, blocking, tls, tokio as ws};
use rfc6455::{CloseCode, Config, Message};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ------------------------------------------------------------------ certificates ----

/// A throwaway CA and a server configuration whose certificate it signed.
struct Pki {
    ca: CertificateDer<'static>,
    server: Arc<rustls::ServerConfig>,
}

impl Pki {
    /// A CA and a server certificate for `names` (DNS names or IP addresses).
    fn new(names: &[&str]) -> Pki {
        let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own: a client looks its issuer up by name.
        static SERIAL: AtomicU32 = AtomicU32::new(0);
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("rfc6455 test CA {serial}"));
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Pki {
            ca: ca.der().clone(),
            server: Arc::new(server),
        }
    }

    /// A client configuration that trusts this CA (and the default roots).
    fn client(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = tls::default_roots();
        roots.add(self.ca.clone()).unwrap();
        Arc::new(tls::client_config(roots))
    }
}

// ------------------------------------------------------------------ servers ---------

/// What the wss server saw of each TLS handshake: the SNI and the ALPN protocol.
type Seen = Arc<Mutex<Vec<(Option<String>, Option<Vec<u8>>)>>>;

/// A WebSocket echo server, over TLS when `tls` is given. Serves until the test ends.
async fn echo_server(tls: Option<Arc<rustls::ServerConfig>>) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = tls.clone();
            let record = record.clone();
            tokio::spawn(async move {
                match tls {
                    Some(config) => {
                        let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await
                        else {
                            return; // the client refused our certificate
                        };
                        let conn = stream.get_ref().1;
                        record.lock().unwrap().push((
                            conn.server_name().map(str::to_owned),
                            conn.alpn_protocol().map(<[u8]>::to_vec),
                        ));
                        echo(ws::accept(stream).await.unwrap()).await;
                    }
                    None => echo(ws::accept(tcp).await.unwrap()).await,
                }
            });
        }
    });
    (addr, seen)
}

async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut socket: ws::WebSocket<S>,
) {
    while let Ok(Some(message)) = socket.recv().await {
        if message.is_data() && socket.send(message).await.is_err() {
            return;
        }
    }
}

/// The CONNECT requests a test proxy received, head bytes as sent.
type Heads = Arc<Mutex<Vec<Vec<u8>>>>;

/// A minimal CONNECT proxy: it reads the request head, checks `Proxy-Authorization`
/// against `credentials` (base64 of `user:password`) when given — 407 if missing or
/// wrong — then connects to the requested authority, answers 200 and relays bytes.
async fn connect_proxy(credentials: Option<&'static str>) -> (SocketAddr, Heads) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Heads::default();
    let record = heads.clone();
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let record = record.clone();
            tokio::spawn(async move {
                let head = read_head(&mut client).await;
                record.lock().unwrap().push(head.clone());
                let text = String::from_utf8(head).unwrap();
                let authority = text.split(' ').nth(1).unwrap().to_owned();
                let authorized = credentials.is_none_or(|c| {
                    text.lines()
                        .any(|l| l == format!("Proxy-Authorization: Basic {c}"))
                });
                if !authorized {
                    let _ = client
                        .write_all(
                            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                              Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
                        )
                        .await;
                    return;
                }
                let mut server = TcpStream::connect(authority.as_str()).await.unwrap();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (addr, heads)
}

/// Reads a request head up to its blank line (the client sends nothing more before the
/// answer).
async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = stream.read_u8().await.unwrap();
        head.push(byte);
    }
    head
}

/// A "proxy" that answers every CONNECT with `answer`, written in `pieces` with a pause
/// between them, then relays to the requested authority (if the answer was a 2xx).
async fn scripted_proxy(answer: &'static [u8], pieces: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let head = String::from_utf8(read_head(&mut client).await).unwrap();
                let authority = head.split(' ').nth(1).unwrap().to_owned();
                for piece in answer.chunks(answer.len().div_ceil(pieces)) {
                    client.write_all(piece).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if answer.starts_with(b"HTTP/1.1 2") {
                    let mut server = TcpStream::connect(authority.as_str()).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    addr
}

// ------------------------------------------------------------------ clients ---------

/// Sends a text and a binary message, checks the echoes byte for byte, and closes.
async fn round_trip<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    socket: &mut ws::WebSocket<S>,
) {
    socket.send("hello over the wire").await.unwrap();
    assert_eq!(
        socket.recv().await.unwrap(),
        Some(Message::text("hello over the wire"))
    );
    let binary: Vec<u8> = (0..=255).cycle().take(70_000).collect();
    socket.send(Message::binary(binary.clone())).await.unwrap();
    assert_eq!(socket.recv().await.unwrap(), Some(Message::binary(binary)));
    socket.close(CloseCode::NORMAL, "done").await.unwrap();
}

fn request(url: &str) -> ClientRequest {
    ClientRequest::from_url(url).unwrap()
}

async fn connect(
    url: &str,
    connector: &Connector,
) -> Result<ws::WebSocket<ws::MaybeTlsStream>, io::Error> {
    ws::connect_with_connector(&request(url), Config::default(), connector)
        .await
        .map(|(socket, _)| socket)
}

// ------------------------------------------------------------------ TLS -------------

#[tokio::test]
async fn wss_echo_by_ip_and_by_name_with_a_callers_config() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let (addr, seen) = echo_server(Some(pki.server.clone())).await;
    let connector = Connector::new().no_proxy().tls_config(pki.client());
    let port = addr.port();

    let mut socket = connect(&format!("wss://127.0.0.1:{port}/"), &connector)
        .await
        .unwrap();
    assert!(matches!(socket.get_ref(), ws::MaybeTlsStream::Rustls(_)));
    round_trip(&mut socket).await;

    let mut socket = connect(&format!("wss://localhost:{port}/chat?x=1"), &connector)
        .await
        .unwrap();
    round_trip(&mut socket).await;

    // SNI carries the DNS name; RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not
    // permitted in "HostName"", so none is sent for the IP. ALPN is HTTP/1.1 both times.
    let http11 = Some(b"http/1.1".to_vec());
    assert_eq!(
        *seen.lock().unwrap(),
        [(None, http11.clone()), (Some("localhost".into()), http11)]
    );
}

#[tokio::test]
async fn wss_refuses_an_unknown_ca_and_a_wrong_name() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let (addr, _) = echo_server(Some(pki.server.clone())).await;
    let url = format!("wss://127.0.0.1:{}/", addr.port());

    // The default roots (Mozilla's) do not include the test CA; nor does another CA.
    let other = Pki::new(&["127.0.0.1"]);
    for connector in [
        Connector::new().no_proxy(),
        Connector::new().no_proxy().tls_config(other.client()),
    ] {
        let e = connect(&url, &connector).await.unwrap_err();
        assert_eq!(
            e.tls(),
            Some(&rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            )),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "TLS handshake failed: invalid peer certificate: UnknownIssuer"
        );
    }

    // A certificate for another name, from a trusted CA.
    let elsewhere = Pki::new(&["elsewhere.test"]);
    let (addr, _) = echo_server(Some(elsewhere.server.clone())).await;
    let connector = Connector::new().no_proxy().tls_config(elsewhere.client());
    let e = connect(&format!("wss://127.0.0.1:{}/", addr.port()), &connector)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.tls(),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{e}"
    );
}

#[tokio::test]
async fn blocking_wss_echo() {
    let pki = Pki::new(&["127.0.0.1"]);
    let (addr, seen) = echo_server(Some(pki.server.clone())).await;
    let connector = Connector::new().no_proxy().tls_config(pki.client());
    tokio::task::spawn_blocking(move || {
        let url = format!("wss://127.0.0.1:{}/", addr.port());
        let (mut socket, _) =
            blocking::connect_with_connector(&request(&url), Config::default(), &connector)
                .unwrap();
        assert!(matches!(
            socket.get_ref(),
            blocking::MaybeTlsStream::Rustls(_)
        ));
        socket.send("blocking and secure").unwrap();
        assert_eq!(
            socket.read().unwrap(),
            Some(Message::text("blocking and secure"))
        );
        socket.close(CloseCode::NORMAL, "").unwrap();
    })
    .await
    .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

// ------------------------------------------------------------------ proxies ---------

#[tokio::test]
async fn ws_and_wss_through_a_proxy_with_basic_auth() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let (plain, _) = echo_server(None).await;
    let (secure, seen) = echo_server(Some(pki.server.clone())).await;
    let (proxy, heads) = connect_proxy(Some("YWxpY2U6czpjcmV0")).await;
    // "s%3Acret" is percent-decoded: the password is "s:cret" (RFC 7617 §2: only the
    // user-id may not contain a colon).
    let proxy_url = format!("http://alice:s%3Acret@127.0.0.1:{}", proxy.port());
    let connector = Connector::new()
        .proxy(Proxy::parse(&proxy_url).unwrap())
        .tls_config(pki.client());

    let mut socket = connect(&format!("ws://127.0.0.1:{}/", plain.port()), &connector)
        .await
        .unwrap();
    assert!(matches!(socket.get_ref(), ws::MaybeTlsStream::Plain(_)));
    round_trip(&mut socket).await;

    let mut socket = connect(&format!("wss://localhost:{}/", secure.port()), &connector)
        .await
        .unwrap();
    round_trip(&mut socket).await;

    let expected = [
        format!(
            "CONNECT 127.0.0.1:{0} HTTP/1.1\r\nHost: 127.0.0.1:{0}\r\n\
             Proxy-Authorization: Basic YWxpY2U6czpjcmV0\r\n\r\n",
            plain.port()
        ),
        format!(
            "CONNECT localhost:{0} HTTP/1.1\r\nHost: localhost:{0}\r\n\
             Proxy-Authorization: Basic YWxpY2U6czpjcmV0\r\n\r\n",
            secure.port()
        ),
    ];
    let heads: Vec<String> = heads
        .lock()
        .unwrap()
        .iter()
        .map(|h| String::from_utf8(h.clone()).unwrap())
        .collect();
    assert_eq!(heads, expected);
    // TLS ran end to end inside the tunnel: the server saw our SNI.
    assert_eq!(seen.lock().unwrap()[0].0.as_deref(), Some("localhost"));
}

#[tokio::test]
async fn blocking_ws_and_wss_through_a_proxy() {
    let pki = Pki::new(&["127.0.0.1"]);
    let (plain, _) = echo_server(None).await;
    let (secure, _) = echo_server(Some(pki.server.clone())).await;
    let (proxy, heads) = connect_proxy(Some("YWxpY2U6czpjcmV0")).await;
    let connector = Connector::new()
        .proxy(
            Proxy::parse(&format!("127.0.0.1:{}", proxy.port()))
                .unwrap()
                .basic_auth("alice", "s:cret"),
        )
        .tls_config(pki.client());
    tokio::task::spawn_blocking(move || {
        for url in [
            format!("ws://127.0.0.1:{}/", plain.port()),
            format!("wss://127.0.0.1:{}/", secure.port()),
        ] {
            let (mut socket, _) =
                blocking::connect_with_connector(&request(&url), Config::default(), &connector)
                    .unwrap();
            socket.send(Message::binary(vec![7u8; 20_000])).unwrap();
            assert_eq!(
                socket.read().unwrap(),
                Some(Message::binary(vec![7u8; 20_000])),
                "{url}"
            );
            socket.close(CloseCode::NORMAL, "").unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(heads.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn proxy_wants_other_credentials() {
    let (server, _) = echo_server(None).await;
    let (proxy, heads) = connect_proxy(Some("YWxpY2U6czpjcmV0")).await;
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let refused = ProxyError::Refused {
        status: 407,
        reason: "Proxy Authentication Required".into(),
    };
    for proxy_url in [
        format!("http://alice:wrong@127.0.0.1:{}", proxy.port()),
        format!("http://127.0.0.1:{}", proxy.port()),
    ] {
        let connector = Connector::new().proxy(Proxy::parse(&proxy_url).unwrap());
        let e = connect(&url, &connector).await.unwrap_err();
        assert_eq!(e.proxy(), Some(&refused), "{e}");
        assert_eq!(e.proxy().unwrap().status(), Some(407));
        assert_eq!(
            e.to_string(),
            "proxy authentication required (407 Proxy Authentication Required)"
        );
    }
    // Without credentials in the URL, no Proxy-Authorization is sent.
    let last = heads.lock().unwrap()[1].clone();
    assert_eq!(
        String::from_utf8(last).unwrap(),
        format!(
            "CONNECT 127.0.0.1:{0} HTTP/1.1\r\nHost: 127.0.0.1:{0}\r\n\r\n",
            server.port()
        )
    );

    // The blocking adapter reports the same.
    let connector =
        Connector::new().proxy(Proxy::parse(&format!("127.0.0.1:{}", proxy.port())).unwrap());
    let e = tokio::task::spawn_blocking(move || {
        blocking::connect_with_connector(&request(&url), Config::default(), &connector)
            .map(drop)
            .unwrap_err()
    })
    .await
    .unwrap();
    assert_eq!(e.proxy(), Some(&refused));
}

#[tokio::test]
async fn proxy_answers() {
    let (server, _) = echo_server(None).await;
    let url = format!("ws://127.0.0.1:{}/", server.port());
    // A 2xx head in pieces, with a Content-Length that RFC 9110 §9.3.6 says to ignore:
    // "A client MUST ignore any Content-Length or Transfer-Encoding header fields
    // received in a successful response to CONNECT."
    let slow_ok = scripted_proxy(
        b"HTTP/1.1 200 Connection established\r\nContent-Length: 5\r\nVia: 1.1 test\r\n\r\n",
        4,
    )
    .await;
    let connector = Connector::new().proxy(Proxy::parse(&slow_ok.to_string()).unwrap());
    let mut socket = connect(&url, &connector).await.unwrap();
    round_trip(&mut socket).await;

    let cases: [(&'static [u8], ProxyError); 3] = [
        (
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
            ProxyError::Refused {
                status: 403,
                reason: "Forbidden".into(),
            },
        ),
        (
            b"HTTP/1.0 502 Bad Gateway\r\n\r\n",
            ProxyError::Refused {
                status: 502,
                reason: "Bad Gateway".into(),
            },
        ),
        (
            b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
            ProxyError::InvalidResponse("not an HTTP/1.x response head"),
        ),
    ];
    for (answer, expected) in cases {
        let proxy = scripted_proxy(answer, 2).await;
        let connector = Connector::new().proxy(Proxy::parse(&proxy.to_string()).unwrap());
        let e = connect(&url, &connector).await.unwrap_err();
        assert_eq!(e.proxy(), Some(&expected), "{e}");
    }

    // A proxy that hangs up without answering.
    let proxy = scripted_proxy(b"", 1).await;
    let connector = Connector::new().proxy(Proxy::parse(&proxy.to_string()).unwrap());
    match connect(&url, &connector).await.unwrap_err() {
        io::Error::Io(e) => assert_eq!(e.kind(), ErrorKind::UnexpectedEof),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_silent_proxy_is_bounded_by_the_handshake_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    // Accepts and reads, never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let connector = Connector::new().proxy(Proxy::parse(&proxy.to_string()).unwrap());
    let request = request("wss://127.0.0.1:9/").handshake_timeout(Some(Duration::from_millis(300)));

    let start = Instant::now();
    let e = ws::connect_with_connector(&request, Config::default(), &connector)
        .await
        .map(drop)
        .unwrap_err();
    assert!(
        matches!(&e, io::Error::Io(e) if e.kind() == ErrorKind::TimedOut),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));

    let e = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let e = blocking::connect_with_connector(&request, Config::default(), &connector)
            .map(drop)
            .unwrap_err();
        (e, start.elapsed())
    })
    .await
    .unwrap();
    assert!(
        matches!(&e.0, io::Error::Io(e) if e.kind() == ErrorKind::TimedOut),
        "{}",
        e.0
    );
    assert!(e.1 < Duration::from_secs(2));
}

#[test]
fn no_proxy_lists_as_written_in_the_wild() {
    // curl's and reqwest's semantics: suffixes at label boundaries, leading dot optional,
    // `*` for everything, IPs and networks, optional ports.
    let list = NoProxy::parse(
        "localhost,127.0.0.1,.internal.example,svc.cluster.local,192.168.0.0/16,registry:5000",
    );
    let expectations = [
        ("localhost", 80, true),
        ("127.0.0.1", 9001, true),
        ("127.0.0.2", 9001, false),
        ("api.internal.example", 443, true),
        ("internal.example", 443, true),
        ("external.example", 443, false),
        ("db.svc.cluster.local", 5432, true),
        ("cluster.local", 5432, false),
        ("192.168.44.5", 80, true),
        ("192.169.0.1", 80, false),
        ("registry", 5000, true),
        ("registry", 443, false),
    ];
    for (host, port, expected) in expectations {
        assert_eq!(list.matches(host, port), expected, "{host}:{port}");
    }
    assert!(NoProxy::parse("*").matches("anything.example", 1));
    assert!(!NoProxy::default().matches("anything.example", 1));
}
