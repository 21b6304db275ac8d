//! The WebSocket transports over loopback (sockjs-protocol `Websocket`, `RawWebsocket`),
//! and the service mounted in axum.

mod common;

use std::time::Duration;

use common::{echo, request, serve};
use rfc6455::io::tokio::connect;
use rfc6455::{CloseCode, Message};
use rfc6455_sockjs::service::{SockJs, Socket};

async fn close(mut socket: Socket) {
    let _ = socket.close(3000, "Go away!").await;
}

async fn next_text<S>(ws: &mut rfc6455::io::tokio::WebSocket<S>) -> Option<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.recv())
            .await
            .expect("within 5 s")
        {
            Ok(Some(Message::Text(t))) => return Some(t.to_string()),
            Ok(Some(Message::Close(frame))) => {
                return Some(format!(
                    "close {:?}",
                    frame.map(|f| (f.code.as_u16(), f.reason.to_string()))
                ));
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

async fn servers() -> std::net::SocketAddr {
    serve(vec![
        ("/echo", SockJs::builder().prefix("/echo").build(echo)),
        ("/close", SockJs::builder().prefix("/close").build(close)),
    ])
    .await
}

#[tokio::test]
async fn framed_websocket() {
    let addr = servers().await;
    let url = format!("ws://{addr}/echo/000/ws1/websocket");
    let (mut ws, _) = connect(&url).await.unwrap();
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("o"));
    // test_empty_frame: "Server must ignore empty messages." and frames with no messages.
    ws.send(Message::text("")).await.unwrap();
    ws.send(Message::text("[]")).await.unwrap();
    ws.send(Message::text(r#"["a","\u2028"]"#)).await.unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some("a[\"a\",\"\\u2028\"]")
    );
    // A single JSON string is one message (sockjs-node).
    ws.send(Message::text(r#""b""#)).await.unwrap();
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("a[\"b\"]"));
    // test_reuseSessionId: a second WebSocket with the same id is a session of its own.
    let (mut ws2, _) = connect(&url).await.unwrap();
    assert_eq!(next_text(&mut ws2).await.as_deref(), Some("o"));
    ws2.send(Message::text(r#"["c"]"#)).await.unwrap();
    assert_eq!(next_text(&mut ws2).await.as_deref(), Some("a[\"c\"]"));
    // test_broken_json: "the server must abruptly terminate the ws connection."
    ws.send(Message::text(r#"["a"#)).await.unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some("close Some((3000, \"Broken framing.\"))")
    );
    ws2.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn framed_websocket_close_and_http_errors() {
    let addr = servers().await;
    let (mut ws, _) = connect(&format!("ws://{addr}/close/000/ws2/websocket"))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("o"));
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some("c[3000,\"Go away!\"]")
    );
    // "The connection should be closed after the close frame."
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some("close Some((1000, \"Normal closure\"))")
    );
    // WebsocketHttpErrors.
    assert_eq!(
        request(addr, "GET", "/echo/0/0/websocket", &[], "").await.0,
        400
    );
    let (s, _, _) = request(
        addr,
        "GET",
        "/echo/0/0/websocket",
        &[("upgrade", "WebSocket"), ("connection", "close")],
        "",
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn raw_websocket() {
    let addr = servers().await;
    let (mut ws, _) = connect(&format!("ws://{addr}/echo/websocket"))
        .await
        .unwrap();
    ws.send(Message::text("Hello world!\u{ffff}"))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some("Hello world!\u{ffff}")
    );
    ws.send(Message::binary(&b"\x00\xff"[..])).await.unwrap();
    assert!(matches!(ws.recv().await, Ok(Some(Message::Binary(b))) if b[..] == b"\x00\xff"[..]));
    // RawWebsocket.test_close: the reason is "Go away!".
    let (mut ws, _) = connect(&format!("ws://{addr}/close/websocket"))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some("close Some((3000, \"Go away!\"))")
    );
}

#[tokio::test]
async fn websocket_switched_off() {
    let addr = serve(vec![(
        "/off",
        SockJs::builder()
            .prefix("/off")
            .endpoint(rfc6455_sockjs::endpoint::Endpoint::new().websocket(false))
            .build(echo),
    )])
    .await;
    assert!(
        connect(&format!("ws://{addr}/off/websocket"))
            .await
            .is_err()
    );
    assert!(
        connect(&format!("ws://{addr}/off/0/0/websocket"))
            .await
            .is_err()
    );
    let (_, _, body) = request(addr, "GET", "/off/info", &[], "").await;
    assert!(body.starts_with(r#"{"websocket":false"#));
}

#[tokio::test]
async fn mounted_in_axum() {
    let app = axum::Router::new().nest_service("/echo", SockJs::builder().build(echo));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    assert_eq!(
        request(addr, "GET", "/echo", &[], "").await.2,
        "Welcome to SockJS!\n"
    );
    assert_eq!(
        request(addr, "POST", "/echo/0/ax/xhr", &[], "").await.2,
        "o\n"
    );
    let text = &[("content-type", "text/plain")];
    assert_eq!(
        request(addr, "POST", "/echo/0/ax/xhr_send", text, r#"["hi"]"#)
            .await
            .0,
        204
    );
    assert_eq!(
        request(addr, "POST", "/echo/0/ax/xhr", &[], "").await.2,
        "a[\"hi\"]\n"
    );
    let (mut ws, _) = connect(&format!("ws://{addr}/echo/0/ax2/websocket"))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("o"));
    ws.send(Message::text(r#"["x"]"#)).await.unwrap();
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("a[\"x\"]"));
}

#[tokio::test]
async fn socket_as_a_websocket() {
    // A server written against rfc6455's WebSocket (an uppercasing one here), serving
    // SockJS clients through `into_websocket`.
    let sockjs = SockJs::builder()
        .prefix("/up")
        .build(|socket: Socket| async move {
            let mut ws = socket.into_websocket(rfc6455::Config::default());
            while let Ok(Some(message)) = ws.recv().await {
                if let Message::Text(t) = message {
                    if t.as_str() == "bye" {
                        let _ = ws.close(CloseCode::new(4000), "bye!").await;
                        return;
                    }
                    let _ = ws.send(Message::text(t.to_uppercase())).await;
                }
            }
        });
    let addr = serve(vec![("/up", sockjs)]).await;
    let text = &[("content-type", "text/plain")];
    assert_eq!(request(addr, "POST", "/up/0/b/xhr", &[], "").await.2, "o\n");
    assert_eq!(
        request(
            addr,
            "POST",
            "/up/0/b/xhr_send",
            text,
            r#"["abc","d\u00e9"]"#
        )
        .await
        .0,
        204
    );
    let mut got = Vec::new();
    while got.len() < 2 {
        let (_, _, body) = request(addr, "POST", "/up/0/b/xhr", &[], "").await;
        match rfc6455_sockjs::Framing::Xhr
            .decode_frame(body.as_bytes())
            .unwrap()
        {
            rfc6455_sockjs::Frame::Messages(m) => got.extend(m.into_iter().map(|m| m.into_owned())),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, ["ABC", "DÉ"]);
    assert_eq!(
        request(addr, "POST", "/up/0/b/xhr_send", text, r#"["bye"]"#)
            .await
            .0,
        204
    );
    let (_, _, body) = request(addr, "POST", "/up/0/b/xhr", &[], "").await;
    assert_eq!(body, "c[4000,\"bye!\"]\n");
}
