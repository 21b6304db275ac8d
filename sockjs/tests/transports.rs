//! The transports over real loopback sockets: exact statuses, headers and bodies, after
//! sockjs-protocol's narrated tests (`sockjs-protocol.py`), with the test server's settings
//! it asks for (a 4096-byte streaming budget).

mod common;

use std::time::Duration;

use common::{echo, header, request, serve, start};
use rfc6455::Message;
use rfc6455_sockjs::SessionConfig;
use rfc6455_sockjs::endpoint::{Endpoint, NO_CACHE};
use rfc6455_sockjs::service::{SockJs, Socket};

fn config() -> SessionConfig {
    SessionConfig::default().streaming_budget(4096)
}

async fn close(mut socket: Socket) {
    let _ = socket.close(3000, "Go away!").await;
}

async fn server() -> std::net::SocketAddr {
    serve(vec![
        (
            "/echo",
            SockJs::builder()
                .prefix("/echo")
                .session_config(config())
                .build(echo),
        ),
        (
            "/close",
            SockJs::builder()
                .prefix("/close")
                .session_config(config())
                .build(close),
        ),
        (
            "/disabled_websocket_echo",
            SockJs::builder()
                .prefix("/disabled_websocket_echo")
                .endpoint(Endpoint::new().websocket(false))
                .build(echo),
        ),
        (
            "/cookie_needed_echo",
            SockJs::builder()
                .prefix("/cookie_needed_echo")
                .endpoint(Endpoint::new().cookie_needed(true))
                .build(echo),
        ),
    ])
    .await
}

const TEXT: &[(&str, &str)] = &[("content-type", "text/plain")];

#[tokio::test]
async fn greeting_info_iframe_and_errors() {
    let addr = server().await;
    for path in ["/echo", "/echo/"] {
        let (status, h, body) = request(addr, "GET", path, &[], "").await;
        assert_eq!(
            (status, header(&h, "content-type"), body.as_str()),
            (200, "text/plain; charset=UTF-8", "Welcome to SockJS!\n")
        );
        assert_eq!(header(&h, "set-cookie"), "");
    }
    for path in [
        "/echo/a",
        "/echo/a.html",
        "/echo//",
        "/echo/a/a",
        "/echo/a/a/",
        "/echo/a./a/xhr",
        "/echox",
    ] {
        let (status, _, _) = request(addr, "GET", path, &[], "").await;
        assert_eq!(status, 404, "{path}");
    }
    // verify405: no content type, an Allow header, no body.
    let (status, h, body) = request(addr, "POST", "/echo/0/0/websocket", &[], "").await;
    assert_eq!(
        (
            status,
            header(&h, "allow"),
            header(&h, "content-type"),
            body.as_str()
        ),
        (405, "GET", "", "")
    );

    let (status, h, body) = request(addr, "GET", "/echo/info", &[("origin", "test")], "").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "content-type"),
        "application/json; charset=UTF-8"
    );
    assert_eq!(header(&h, "cache-control"), NO_CACHE);
    assert_eq!(header(&h, "access-control-allow-origin"), "test");
    assert_eq!(header(&h, "access-control-allow-credentials"), "true");
    assert!(
        body.starts_with(r#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":"#),
        "{body}"
    );
    let (_, _, other) = request(addr, "GET", "/echo/info", &[], "").await;
    assert_ne!(body, other, "entropy differs between requests");
    let (_, _, body) = request(addr, "GET", "/disabled_websocket_echo/info", &[], "").await;
    assert!(body.starts_with(r#"{"websocket":false,"#), "{body}");
    let (_, h, body) = request(addr, "GET", "/cookie_needed_echo/info", &[], "").await;
    assert!(body.contains(r#""cookie_needed":true"#));
    assert_eq!(header(&h, "set-cookie"), "");

    let (status, h, page) = request(addr, "GET", "/echo/iframe-0.1.2.html?t=123414", &[], "").await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "text/html; charset=UTF-8");
    assert_eq!(header(&h, "cache-control"), "public, max-age=31536000");
    assert!(header(&h, "expires").ends_with(" GMT"));
    assert_eq!(header(&h, "last-modified"), "");
    assert!(page.contains("SockJS.bootstrap_iframe();"));
    let etag = header(&h, "etag").to_owned();
    let (status, h, body) = request(
        addr,
        "GET",
        "/echo/iframe.html",
        &[("if-none-match", &etag)],
        "",
    )
    .await;
    assert_eq!(
        (status, header(&h, "content-type"), body.as_str()),
        (304, "", "")
    );
}

#[tokio::test]
async fn xhr_polling() {
    let addr = server().await;
    let url = "/echo/000/xhr-session";
    let (status, h, body) = request(
        addr,
        "POST",
        &format!("{url}/xhr"),
        &[("origin", "test")],
        "",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "o\n"));
    assert_eq!(
        header(&h, "content-type"),
        "application/javascript; charset=UTF-8"
    );
    assert_eq!(header(&h, "cache-control"), NO_CACHE);
    assert_eq!(header(&h, "access-control-allow-origin"), "test");
    let (status, h, body) = request(
        addr,
        "POST",
        &format!("{url}/xhr_send"),
        &[("origin", "test")],
        r#"["x"]"#,
    )
    .await;
    assert_eq!((status, body.as_str()), (204, ""));
    assert_eq!(header(&h, "content-type"), "text/plain; charset=UTF-8");
    assert_eq!(header(&h, "access-control-allow-credentials"), "true");
    let (_, _, body) = request(addr, "POST", &format!("{url}/xhr"), &[], "").await;
    assert_eq!(body, "a[\"x\"]\n");
    // The server id is ignored.
    request(
        addr,
        "POST",
        "/echo/999/xhr-session/xhr_send",
        TEXT,
        r#"["a","b"]"#,
    )
    .await;
    let (_, _, body) = request(addr, "POST", "/echo/111/xhr-session/xhr", &[], "").await;
    assert_eq!(body, "a[\"a\",\"b\"]\n");
    // Unknown session: 404.
    let (status, _, _) = request(addr, "POST", "/echo/000/nobody/xhr_send", TEXT, r#"["a"]"#).await;
    assert_eq!(status, 404);
    // Two receivers: the second gets c[2010,...] at once.
    let mut first = start(addr, "POST", &format!("{url}/xhr"), &[], "").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, _, body) = request(addr, "POST", &format!("{url}/xhr"), &[], "").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "c[2010,\"Another connection still open\"]\n")
    );
    // The first is still the receiver.
    request(
        addr,
        "POST",
        &format!("{url}/xhr_send"),
        TEXT,
        r#"["late"]"#,
    )
    .await;
    assert_eq!(first.chunk().await.as_deref(), Some("a[\"late\"]\n"));
    assert_eq!(first.chunk().await, None);
}

#[tokio::test]
async fn hostile_payloads() {
    let addr = serve(vec![(
        "/echo",
        SockJs::builder()
            .prefix("/echo")
            .max_request_body(1024)
            .max_sessions(3)
            .build(echo),
    )])
    .await;
    let url = "/echo/000/hostile";
    assert_eq!(
        request(addr, "POST", &format!("{url}/xhr"), &[], "")
            .await
            .2,
        "o\n"
    );
    for (body, status, answer) in [
        (r#"["x"#, 500, "Broken JSON encoding."),
        ("", 500, "Payload expected."),
        ("{}", 500, "Payload expected."),
        ("[1]", 500, "Payload expected."),
        (r#"["a"]"#, 204, ""),
    ] {
        let (s, h, b) = request(addr, "POST", &format!("{url}/xhr_send"), TEXT, body).await;
        assert_eq!((s, b.as_str()), (status, answer), "{body:?}");
        assert_eq!(header(&h, "content-type"), "text/plain; charset=UTF-8");
    }
    // Past the bound: 413, nothing taken.
    let big = format!("[\"{}\"]", "x".repeat(1100));
    let (s, _, _) = request(addr, "POST", &format!("{url}/xhr_send"), TEXT, &big).await;
    assert_eq!(s, 413);
    assert_eq!(
        request(addr, "POST", &format!("{url}/xhr"), &[], "")
            .await
            .2,
        "a[\"a\"]\n"
    );
    // jsonp_send (form): sockjs-protocol JsonPolling.test_invalid_json.
    let form = &[("content-type", "application/x-www-form-urlencoded")];
    let (s, _, b) = request(
        addr,
        "POST",
        &format!("{url}/jsonp_send"),
        form,
        "d=%5B%22x",
    )
    .await;
    assert_eq!((s, b.as_str()), (500, "Broken JSON encoding."));
    for data in ["", "d=", "p=p"] {
        let (s, _, b) = request(addr, "POST", &format!("{url}/jsonp_send"), form, data).await;
        assert_eq!((s, b.as_str()), (500, "Payload expected."), "{data:?}");
    }
    // A flood of new sessions stops at the bound (3, one taken above).
    for i in 0..2 {
        let (s, _, _) = request(addr, "POST", &format!("/echo/0/flood{i}/xhr"), &[], "").await;
        assert_eq!(s, 200);
    }
    let (s, _, b) = request(addr, "POST", "/echo/0/flood9/xhr", &[], "").await;
    assert_eq!((s, b.as_str()), (503, "Too many SockJS sessions.\n"));
}

#[tokio::test]
async fn close_is_answered_until_expiry() {
    let addr = server().await;
    let url = "/close/000/closing";
    assert_eq!(
        request(addr, "POST", &format!("{url}/xhr"), &[], "")
            .await
            .2,
        "o\n"
    );
    for _ in 0..2 {
        let (s, _, b) = request(addr, "POST", &format!("{url}/xhr"), &[], "").await;
        assert_eq!((s, b.as_str()), (200, "c[3000,\"Go away!\"]\n"));
    }
    // JSONP too (JsonPolling.test_close).
    let url = "/close/000/closing-jsonp";
    assert_eq!(
        request(addr, "GET", &format!("{url}/jsonp?c=x"), &[], "")
            .await
            .2,
        "/**/x(\"o\");\r\n"
    );
    assert_eq!(
        request(addr, "GET", &format!("{url}/jsonp?c=x"), &[], "")
            .await
            .2,
        "/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n"
    );
    // Streaming: HandlingClose.test_close_frame.
    let mut r1 = start(
        addr,
        "POST",
        "/close/000/closing-stream/xhr_streaming",
        &[],
        "",
    )
    .await;
    assert_eq!(r1.chunk().await.unwrap().len(), 2049);
    assert_eq!(r1.chunk().await.as_deref(), Some("o\n"));
    assert_eq!(r1.chunk().await.as_deref(), Some("c[3000,\"Go away!\"]\n"));
    assert_eq!(r1.chunk().await, None);
    let r2 = start(
        addr,
        "POST",
        "/close/000/closing-stream/xhr_streaming",
        &[],
        "",
    )
    .await;
    assert_eq!(
        r2.rest().await,
        format!("{}\nc[3000,\"Go away!\"]\n", "h".repeat(2048))
    );
}

#[tokio::test]
async fn streaming_transports() {
    let addr = server().await;
    // XhrStreaming.test_transport and test_response_limit.
    let url = "/echo/000/streaming";
    let mut r = start(
        addr,
        "POST",
        &format!("{url}/xhr_streaming"),
        &[("origin", "test")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        header(&r.headers, "content-type"),
        "application/javascript; charset=UTF-8"
    );
    assert_eq!(header(&r.headers, "access-control-allow-origin"), "test");
    assert_eq!(r.chunk().await.unwrap(), format!("{}\n", "h".repeat(2048)));
    assert_eq!(r.chunk().await.as_deref(), Some("o\n"));
    let msg = format!("\"{}\"", "x".repeat(128));
    for _ in 0..31 {
        let (s, _, _) = request(
            addr,
            "POST",
            &format!("{url}/xhr_send"),
            TEXT,
            &format!("[{msg}]"),
        )
        .await;
        assert_eq!(s, 204);
        assert_eq!(r.chunk().await.unwrap(), format!("a[{msg}]\n"));
    }
    // "The connection should be closed after enough data was delivered."
    assert_eq!(r.chunk().await, None);

    // EventSource.test_transport.
    let url = "/echo/000/es";
    let mut r = start(addr, "GET", &format!("{url}/eventsource"), &[], "").await;
    assert_eq!(header(&r.headers, "content-type"), "text/event-stream");
    assert_eq!(header(&r.headers, "cache-control"), NO_CACHE);
    assert_eq!(r.chunk().await.as_deref(), Some("\r\n"));
    assert_eq!(r.chunk().await.as_deref(), Some("data: o\r\n\r\n"));
    request(
        addr,
        "POST",
        &format!("{url}/xhr_send"),
        TEXT,
        r#"["  \u0000\n\r "]"#,
    )
    .await;
    assert_eq!(
        r.chunk().await.as_deref(),
        Some("data: a[\"  \\u0000\\n\\r \"]\r\n\r\n")
    );

    // HtmlFile.test_transport.
    let url = "/echo/000/html";
    let mut r = start(
        addr,
        "GET",
        &format!("{url}/htmlfile?c=%63allback"),
        &[],
        "",
    )
    .await;
    assert_eq!(
        header(&r.headers, "content-type"),
        "text/html; charset=UTF-8"
    );
    let head = r.chunk().await.unwrap();
    assert!(head.len() > 1024 && head.contains("var c = parent.callback;"));
    assert_eq!(
        r.chunk().await.as_deref(),
        Some("<script>\np(\"o\");\n</script>\r\n")
    );
    request(addr, "POST", &format!("{url}/xhr_send"), TEXT, r#"["x"]"#).await;
    assert_eq!(
        r.chunk().await.as_deref(),
        Some("<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n")
    );

    // JsonPolling.test_transport and test_content_types.
    let url = "/echo/000/jsonp";
    let (s, h, b) = request(addr, "GET", &format!("{url}/jsonp?c=%63allback"), &[], "").await;
    assert_eq!((s, b.as_str()), (200, "/**/callback(\"o\");\r\n"));
    assert_eq!(
        header(&h, "content-type"),
        "application/javascript; charset=UTF-8"
    );
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    let form = &[("content-type", "application/x-www-form-urlencoded")];
    let (s, h, b) = request(
        addr,
        "POST",
        &format!("{url}/jsonp_send"),
        form,
        "d=%5B%22abc%22%5D",
    )
    .await;
    assert_eq!(
        (s, b.as_str(), header(&h, "content-type")),
        (200, "ok", "text/plain; charset=UTF-8")
    );
    let (_, _, b) = request(
        addr,
        "POST",
        &format!("{url}/jsonp_send"),
        TEXT,
        "[\"%61bc\"]",
    )
    .await;
    assert_eq!(b, "ok");
    let (_, _, b) = request(addr, "GET", &format!("{url}/jsonp?c=x"), &[], "").await;
    assert_eq!(b, "/**/x(\"a[\\\"abc\\\",\\\"%61bc\\\"]\");\r\n");
}

#[tokio::test]
async fn aborted_receiver_interrupts_the_session() {
    let addr = server().await;
    let url = "/echo/000/aborted";
    let mut r1 = start(addr, "POST", &format!("{url}/xhr_streaming"), &[], "").await;
    r1.chunk().await;
    assert_eq!(r1.chunk().await.as_deref(), Some("o\n"));
    drop(r1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r3 = start(addr, "POST", &format!("{url}/xhr_streaming"), &[], "").await;
    assert_eq!(
        r3.rest().await,
        format!("{}\nc[1002,\"Connection interrupted\"]\n", "h".repeat(2048))
    );
}

#[tokio::test]
async fn sessions_expire_and_the_application_learns_it() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sockjs = SockJs::builder()
        .prefix("/echo")
        .session_config(SessionConfig::default().disconnect_delay(Duration::from_millis(200)))
        .build(move |mut socket: Socket| {
            let tx = tx.clone();
            async move {
                let mut got = Vec::new();
                while let Ok(Some(Message::Text(t))) = socket.recv().await {
                    got.push(t.to_string());
                }
                let _ = tx.send((got, socket.close_cause()));
            }
        });
    let addr = serve(vec![("/echo", sockjs.clone())]).await;
    assert_eq!(
        request(addr, "POST", "/echo/0/exp/xhr", &[], "").await.2,
        "o\n"
    );
    request(addr, "POST", "/echo/0/exp/xhr_send", TEXT, r#"["1","2"]"#).await;
    assert_eq!(sockjs.sessions(), 1);
    let (got, cause) = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, ["1", "2"]);
    assert_eq!(cause, Some(rfc6455_sockjs::CloseCause::TimedOut));
    assert_eq!(sockjs.sessions(), 0);
    let (s, _, _) = request(addr, "POST", "/echo/0/exp/xhr_send", TEXT, r#"["3"]"#).await;
    assert_eq!(s, 404);
    // The id is free again: a new session.
    assert_eq!(
        request(addr, "POST", "/echo/0/exp/xhr", &[], "").await.2,
        "o\n"
    );
}

#[tokio::test]
async fn order_and_awkward_characters() {
    let addr = server().await;
    let url = "/echo/000/order";
    assert_eq!(
        request(addr, "POST", &format!("{url}/xhr"), &[], "")
            .await
            .2,
        "o\n"
    );
    let mut expected = Vec::new();
    for i in 0..50 {
        let batch: Vec<String> = (0..4)
            .map(|j| format!("m{i}-{j}\u{2028}\u{1f600}\"\\\u{0}"))
            .collect();
        let body = serde_json_array(&batch);
        let (s, _, _) = request(addr, "POST", &format!("{url}/xhr_send"), TEXT, &body).await;
        assert_eq!(s, 204);
        expected.extend(batch);
    }
    let (_, _, body) = request(addr, "POST", &format!("{url}/xhr"), &[], "").await;
    let frame = rfc6455_sockjs::Framing::Xhr
        .decode_frame(body.as_bytes())
        .unwrap();
    let rfc6455_sockjs::Frame::Messages(got) = frame else {
        panic!("{body}")
    };
    assert_eq!(got, expected);
    // sockjs-node's escapes on the wire: U+2028 and both surrogates.
    assert!(
        body.contains("\\u2028\\ud83d\\ude00\\\"\\\\\\u0000"),
        "{body}"
    );
}

fn serde_json_array(strings: &[String]) -> String {
    let mut out = Vec::new();
    rfc6455_sockjs::encode_messages(strings, &mut out);
    String::from_utf8(out[1..].to_vec()).unwrap()
}

#[tokio::test]
async fn cookies_and_origins() {
    let addr = server().await;
    let (_, h, _) = request(addr, "POST", "/cookie_needed_echo/0/c1/xhr", &[], "").await;
    assert_eq!(header(&h, "set-cookie"), "JSESSIONID=dummy; path=/");
    let (_, h, _) = request(
        addr,
        "POST",
        "/cookie_needed_echo/0/c2/xhr",
        &[("cookie", "a=b; JSESSIONID=abcdef")],
        "",
    )
    .await;
    assert_eq!(header(&h, "set-cookie"), "JSESSIONID=abcdef; path=/");
    let (_, h, _) = request(addr, "POST", "/echo/0/c3/xhr", &[], "").await;
    assert_eq!(header(&h, "set-cookie"), "");
    // Preflight.
    let (s, h, b) = request(
        addr,
        "OPTIONS",
        "/echo/abc/abc/xhr_send",
        &[
            ("origin", "null"),
            ("access-control-request-headers", "a, b"),
        ],
        "",
    )
    .await;
    assert_eq!((s, b.as_str()), (204, ""));
    assert_eq!(header(&h, "access-control-allow-origin"), "null");
    assert_eq!(header(&h, "access-control-allow-methods"), "OPTIONS, POST");
    assert_eq!(header(&h, "access-control-allow-headers"), "a, b");
    assert_eq!(header(&h, "access-control-max-age"), "31536000");

    let policy = rfc6455::handshake::AllowedOrigins::none()
        .allow("https://app.example")
        .unwrap();
    let addr = serve(vec![(
        "/echo",
        SockJs::builder()
            .prefix("/echo")
            .endpoint(Endpoint::new().allowed_origins(policy))
            .build(echo),
    )])
    .await;
    let (s, _, _) = request(
        addr,
        "POST",
        "/echo/0/o1/xhr",
        &[("origin", "https://evil.example")],
        "",
    )
    .await;
    assert_eq!(s, 403);
    let (s, h, _) = request(
        addr,
        "POST",
        "/echo/0/o1/xhr",
        &[("origin", "https://app.example")],
        "",
    )
    .await;
    assert_eq!(
        (s, header(&h, "access-control-allow-origin")),
        (200, "https://app.example")
    );
    assert_eq!(
        request(addr, "GET", "/echo/iframe.html", &[], "").await.0,
        404
    );
    // The WebSocket handshake applies the same policy.
    let request =
        rfc6455::handshake::ClientRequest::from_url(&format!("ws://{addr}/echo/0/w/websocket"))
            .unwrap()
            .origin("https://evil.example");
    let refused = rfc6455::io::tokio::connect_with(&request, rfc6455::Config::default()).await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn slow_application_holds_senders_back() {
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let wait = std::sync::Mutex::new(Some(wait));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sockjs = SockJs::builder()
        .prefix("/echo")
        .max_inbox_bytes(256)
        .build(move |mut socket: Socket| {
            let wait = wait.lock().unwrap().take();
            let tx = tx.clone();
            async move {
                if let Some(wait) = wait {
                    let _ = wait.await;
                }
                while let Ok(Some(Message::Text(t))) = socket.recv().await {
                    let _ = tx.send(t.to_string());
                }
            }
        });
    let addr = serve(vec![("/echo", sockjs)]).await;
    assert_eq!(
        request(addr, "POST", "/echo/0/slow/xhr", &[], "").await.2,
        "o\n"
    );
    let fill = format!("[\"{}\"]", "x".repeat(300));
    assert_eq!(
        request(addr, "POST", "/echo/0/slow/xhr_send", TEXT, &fill)
            .await
            .0,
        204
    );
    // The inbox is past its bound: the next send waits for the application.
    let pending = tokio::spawn(async move {
        request(addr, "POST", "/echo/0/slow/xhr_send", TEXT, r#"["next"]"#)
            .await
            .0
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!pending.is_finished());
    go.send(()).unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(2), pending)
            .await
            .unwrap()
            .unwrap(),
        204
    );
    assert_eq!(rx.recv().await.unwrap().len(), 300);
    assert_eq!(rx.recv().await.unwrap(), "next");
}
