//! The four services SockJS implementations expose for testing, on one port, plus a page
//! for a browser demo:
//!
//! ```text
//! cargo run --release -p rfc6455-sockjs --example sockjs_server -- 127.0.0.1:8081
//! ```
//!
//! - `/echo`: echoes every message;
//! - `/close`: closes every session right after it opens, with `3000 "Go away!"`;
//! - `/disabled_websocket_echo`: `/echo` with the WebSocket transports off;
//! - `/cookie_needed_echo`: `/echo` with `cookie_needed` (`JSESSIONID` on every request);
//! - `/`: a page that connects to `/echo` with sockjs-client, with a transport to choose.
//!
//! Options (after `ADDR`):
//!
//! - `--sockjs-url URL`: where the page and `iframe.html` load sockjs-client from (default
//!   the public CDN's sockjs-client 1.6.1; tests serve the npm package from loopback);
//! - `--response-limit BYTES`: the streaming budget (default 131072; sockjs-protocol's
//!   test server uses 4096);
//! - `--allowed-origin ORIGIN` (repeatable): refuse other origins, as the WebSocket
//!   handshake's policy does (default: every origin).
//!
//! HTTP/1.1 and HTTP/2 (prior knowledge) are both served.

use std::convert::Infallible;
use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rfc6455::handshake::AllowedOrigins;
use rfc6455_sockjs::SessionConfig;
use rfc6455_sockjs::endpoint::{DEFAULT_SOCKJS_URL, Endpoint};
use rfc6455_sockjs::service::{Body, SockJs, Socket};

async fn echo(mut socket: Socket) {
    while let Ok(Some(message)) = socket.recv().await {
        if socket.send(message).await.is_err() {
            break;
        }
    }
}

async fn close(mut socket: Socket) {
    let _ = socket.close(3000, "Go away!").await;
}

struct Options {
    addr: SocketAddr,
    sockjs_url: String,
    response_limit: usize,
    origins: Option<AllowedOrigins>,
}

fn usage(message: &str) -> ! {
    eprintln!("{message}");
    eprintln!(
        "usage: sockjs_server ADDR [--sockjs-url URL] [--response-limit BYTES] [--allowed-origin ORIGIN]..."
    );
    std::process::exit(2);
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| usage("missing ADDR"));
    let addr = addr
        .parse()
        .unwrap_or_else(|_| usage("ADDR must be IP:PORT"));
    let mut options = Options {
        addr,
        sockjs_url: DEFAULT_SOCKJS_URL.to_owned(),
        response_limit: 128 * 1024,
        origins: None,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--sockjs-url" => options.sockjs_url = value,
            "--response-limit" => {
                options.response_limit = value.parse().unwrap_or_else(|_| usage("bad BYTES"));
            }
            "--allowed-origin" => {
                let origins = options.origins.take().unwrap_or_else(AllowedOrigins::none);
                options.origins = Some(
                    origins
                        .allow(&value)
                        .unwrap_or_else(|_| usage("bad ORIGIN")),
                );
            }
            _ => usage(&format!("unknown option {flag}")),
        }
    }
    options
}

/// The demo page: sockjs-client from `sockjs_url`, connected to `/echo`.
fn page(sockjs_url: &str) -> String {
    let url = sockjs_url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    PAGE.replace("{{ sockjs_url }}", &url)
}

const PAGE: &str = r#"<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>SockJS echo</title>
  <script src="{{ sockjs_url }}"></script>
</head>
<body>
  <h1>SockJS echo</h1>
  <p>
    <select id="transport">
      <option value="">any</option>
      <option>websocket</option><option>xhr-streaming</option><option>xhr-polling</option>
      <option>eventsource</option><option>iframe-eventsource</option><option>iframe-htmlfile</option>
      <option>iframe-xhr-polling</option><option>htmlfile</option><option>jsonp-polling</option>
    </select>
    <button id="connect">connect</button>
  </p>
  <form id="form"><input id="text" autocomplete="off" placeholder="a message"> <button>send</button></form>
  <pre id="log"></pre>
  <script>
    var sock = null;
    function log(line) { document.getElementById('log').textContent += line + '\n'; }
    document.getElementById('connect').onclick = function () {
      if (sock) sock.close();
      var t = document.getElementById('transport').value;
      sock = new SockJS(location.origin + '/echo', null, t ? { transports: [t] } : {});
      sock.onopen = function () { log('open (' + sock.transport + ')'); };
      sock.onmessage = function (e) { log('< ' + e.data); };
      sock.onclose = function (e) { log('close ' + e.code + ' ' + e.reason); };
    };
    document.getElementById('form').onsubmit = function (e) {
      e.preventDefault();
      var input = document.getElementById('text');
      if (sock) { sock.send(input.value); log('> ' + input.value); }
      input.value = '';
    };
  </script>
</body>
</html>
"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let options = options();
    let endpoint = || {
        let endpoint = Endpoint::new().sockjs_url(&options.sockjs_url);
        match &options.origins {
            Some(origins) => endpoint.allowed_origins(origins.clone()),
            None => endpoint,
        }
    };
    let sessions = SessionConfig::default().streaming_budget(options.response_limit);
    let service = |prefix: &str, endpoint: Endpoint| {
        SockJs::builder()
            .prefix(prefix)
            .endpoint(endpoint)
            .session_config(sessions.clone())
    };
    let services = [
        ("/echo", service("/echo", endpoint()).build(echo)),
        ("/close", service("/close", endpoint()).build(close)),
        (
            "/disabled_websocket_echo",
            service("/disabled_websocket_echo", endpoint().websocket(false)).build(echo),
        ),
        (
            "/cookie_needed_echo",
            service("/cookie_needed_echo", endpoint().cookie_needed(true)).build(echo),
        ),
    ];
    let page = bytes::Bytes::from(page(&options.sockjs_url));
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    println!(
        "sockjs_server listening on http://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let services = services.clone();
        let page = page.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let services = services.clone();
                let page = page.clone();
                async move {
                    let path = req.uri().path();
                    for (prefix, sockjs) in &services {
                        let rest = path.strip_prefix(prefix);
                        if rest.is_some_and(|rest| rest.is_empty() || rest.starts_with('/')) {
                            return Ok::<_, Infallible>(sockjs.handle(req).await);
                        }
                    }
                    let mut response = Response::new(Body::empty());
                    if path == "/" {
                        *response.body_mut() = Body::full(page);
                        response.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            "text/html; charset=utf-8"
                                .parse()
                                .expect("a valid header value"),
                        );
                    } else {
                        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                    }
                    Ok(response)
                }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    }
}
