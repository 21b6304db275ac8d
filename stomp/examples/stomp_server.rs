//! A STOMP chat server: the page at `/`, STOMP over WebSocket at `/ws` (and over SockJS at
//! `/sockjs`), counters at `/stats`, on one port (axum).
//!
//! ```text
//! cargo run --release -p rfc6455-stomp --example stomp_server -- ADDR [--relay HOST:PORT]
//! ```
//!
//! * SEND to `/app/echo` with body B publishes B to `/topic/echo` (the chat room).
//! * CONNECT with `login:alice passcode:alice-pw` or `login:bob passcode:bob-pw` logs in;
//!   a wrong passcode gets an ERROR and the connection closes; no login is anonymous.
//! * SEND to `/app/whisper` with header `to:bob` delivers the body to bob's subscriptions
//!   of `/user/queue/whisper` only (with a `from` header naming the sender).
//! * SEND straight to `/topic/…` or `/queue/…` goes to the broker: the simple in-memory
//!   broker, or with `--relay HOST:PORT` the STOMP broker there (RabbitMQ's 61613, as
//!   guest/guest on virtual host `/`). Two servers relaying to one RabbitMQ share topics,
//!   queues and user destinations.
//!
//! `STOMP_HEARTBEAT_MS` (default 10000) sets the heart-beats the server offers, both ways.

use std::process::ExitCode;

use axum::Router;
use axum::response::Html;
use axum::routing::{any, get};
use rfc6455::io::axum::WebSocketUpgrade;
use rfc6455_stomp::app::{Actions, Handshake, Inbound, StompEvent};
use rfc6455_stomp::broker::BrokerConfig;
use rfc6455_stomp::relay::RelayConfig;
use rfc6455_stomp::server::ConnectRequest;
use rfc6455_stomp::tokio::StompServer;
use rfc6455_stomp::{HeartBeat, ServerConfig};

const USAGE: &str = "usage: stomp_server ADDR [--relay HOST:PORT]";

/// The chat page. Its STOMP client is these few lines of JavaScript: frames are
/// `COMMAND\nheader:value\n\nbody\0`, one per WebSocket message.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>STOMP chat</title>
<style>body{font-family:sans-serif;max-width:42em;margin:2em auto}#log{list-style:none;padding:0}
#log li{padding:.2em 0;border-bottom:1px solid #eee}.whisper{color:#a05}</style></head>
<body data-state="idle"><h1>STOMP chat</h1>
<form id="login"><input id="user" placeholder="login (alice, bob or empty)" size="24">
<input id="pass" type="password" placeholder="passcode" size="14"><button id="join">Join</button>
<span id="status">not connected</span></form>
<ul id="log"></ul>
<form id="form"><input id="msg" autocomplete="off" size="44" placeholder="message, or /w bob a secret">
<button id="send">Send</button></form>
<script>
const $ = id => document.getElementById(id), log = $("log");
const esc = s => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/:/g, "\\c");
const unesc = s => s.replace(/\\(.)/g, (_, c) => ({n: "\n", r: "\r", c: ":", "\\": "\\"})[c]);
const frame = (cmd, h, body = "") => cmd + "\n" + Object.entries(h).map(([k, v]) =>
  (cmd === "CONNECT" ? k + ":" + v : esc(k) + ":" + esc(v)) + "\n").join("") + "\n" + body + "\0";
function parse(data) {
  const end = data.indexOf("\n\n"), lines = data.slice(0, end).split("\n"), headers = {};
  for (const l of lines.slice(1)) { const i = l.indexOf(":"); const k = unesc(l.slice(0, i)); if (!(k in headers)) headers[k] = unesc(l.slice(i + 1)); }
  return {command: lines[0], headers, body: data.slice(end + 2, data.lastIndexOf("\0"))};
}
let ws, me = "";
function show(text, cls) { const li = document.createElement("li"); li.textContent = text; if (cls) li.className = cls; log.appendChild(li); }
$("login").onsubmit = e => {
  e.preventDefault(); if (ws) ws.close();
  me = $("user").value; document.body.dataset.state = "connecting";
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws", ["v12.stomp"]);
  ws.onopen = () => ws.send(frame("CONNECT", Object.assign({"accept-version": "1.2", host: location.hostname, "heart-beat": "0,0"},
    me ? {login: me, passcode: $("pass").value} : {})));
  ws.onclose = () => { document.body.dataset.state = "closed"; $("status").textContent += " (closed)"; };
  ws.onmessage = e => {
    if (e.data === "\n") return;
    const f = parse(e.data);
    if (f.command === "CONNECTED") {
      ws.send(frame("SUBSCRIBE", {id: "room", destination: "/topic/echo"}));
      if (me) ws.send(frame("SUBSCRIBE", {id: "whispers", destination: "/user/queue/whisper"}));
      ws.send(frame("SUBSCRIBE", {id: "ready", destination: "/topic/ready", receipt: "ready"}));
    } else if (f.command === "RECEIPT" && f.headers["receipt-id"] === "ready") {
      $("status").textContent = "connected as " + (me || "anonymous"); document.body.dataset.state = "open";
    } else if (f.command === "MESSAGE" && f.headers.subscription === "whispers") {
      show(f.headers.from + " whispers: " + f.body, "whisper");
    } else if (f.command === "MESSAGE") {
      show((f.headers.from ? f.headers.from + ": " : "") + f.body);
    } else if (f.command === "ERROR") {
      $("status").textContent = "ERROR: " + f.headers.message; document.body.dataset.state = "error";
    }
  };
};
$("form").onsubmit = e => {
  e.preventDefault(); const text = $("msg").value, w = text.match(/^\/w (\S+) (.*)$/);
  if (!text || !ws || ws.readyState !== WebSocket.OPEN) return;
  ws.send(w ? frame("SEND", {destination: "/app/whisper", to: w[1], "content-type": "text/plain"}, w[2])
            : frame("SEND", {destination: "/app/echo", from: me || "anonymous", "content-type": "text/plain"}, text));
  $("msg").value = "";
};
</script></body></html>
"#;

/// `@MessageMapping("/echo") @SendTo("/topic/echo")`: the body (and its headers) to the room.
fn echo(message: &Inbound<'_>, out: &mut Actions) -> Result<(), String> {
    let headers: Vec<(&str, &str)> = message
        .frame
        .headers()
        .filter(|(name, _)| matches!(*name, "content-type" | "from"))
        .collect();
    out.publish("/topic/echo", &headers, message.body().clone());
    Ok(())
}

/// `@MessageMapping("/whisper") @SendToUser`: the body to the user named by `to`.
fn whisper(message: &Inbound<'_>, out: &mut Actions) -> Result<(), String> {
    let to = message
        .header("to")
        .ok_or("a whisper needs a `to` header")?;
    let from = message.session.user.as_deref().unwrap_or("anonymous");
    let mut headers = vec![("from", from)];
    if let Some(content_type) = message.header("content-type") {
        headers.push(("content-type", content_type));
    }
    out.send_to_user(to, "/queue/whisper", &headers, message.body().clone());
    Ok(())
}

/// The CONNECT hook: two known users, or anonymous.
fn login(_: &Handshake, connect: &ConnectRequest) -> Result<Option<String>, String> {
    let known = [("alice", "alice-pw"), ("bob", "bob-pw")];
    match (&connect.login, &connect.passcode) {
        (None, _) => Ok(None),
        (Some(login), passcode) => known
            .iter()
            .find(|(user, pw)| user == login && passcode.as_deref() == Some(*pw))
            .map(|(user, _)| Some((*user).to_owned()))
            .ok_or_else(|| "bad credentials".to_owned()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(addr), rest) = (args.next(), args.collect::<Vec<_>>()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let relay = match rest.as_slice() {
        [] => None,
        [flag, broker] if flag == "--relay" => Some(broker.clone()),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let heart_beat_ms = match std::env::var("STOMP_HEARTBEAT_MS").map(|v| v.parse::<u32>()) {
        Err(_) => 10_000,
        Ok(Ok(ms)) => ms,
        Ok(Err(_)) => {
            eprintln!("STOMP_HEARTBEAT_MS must be a number of milliseconds");
            return ExitCode::from(2);
        }
    };
    let session = ServerConfig::default()
        .host_when_missing(Some("/"))
        .heart_beat(HeartBeat {
            send_ms: heart_beat_ms,
            receive_ms: heart_beat_ms,
        });
    let mut builder = StompServer::builder()
        .session_config(session)
        .route("/echo", echo)
        .route("/whisper", whisper)
        .authenticator(login)
        .on_event(|event| match event {
            StompEvent::Connected { session, user } => {
                eprintln!(
                    "session {session} connected as {}",
                    user.as_deref().unwrap_or("anonymous")
                );
            }
            StompEvent::Disconnected {
                session, reason, ..
            } => {
                eprintln!("session {session} closed: {reason:?}");
            }
            StompEvent::BrokerAvailable(up) => eprintln!("broker available: {up}"),
            _ => {}
        });
    if let Some(broker) = &relay {
        builder = builder.relay(broker, RelayConfig::default(), BrokerConfig::default());
    }
    let stomp = builder.build();
    let ws = stomp.clone();
    let stats = stomp.clone();
    // STOMP over SockJS beside /ws: each SockJS connection handed to the same server as a
    // WebSocket over an in-memory pipe.
    let sockjs = {
        let stomp = stomp.clone();
        rfc6455_sockjs::service::SockJs::builder().build(move |socket| {
            let stomp = stomp.clone();
            async move {
                let ws = socket.into_websocket(stomp.websocket_config().clone());
                stomp.serve(ws, Handshake::anonymous()).await;
            }
        })
    };
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/ws",
            any(move |upgrade: WebSocketUpgrade| async move {
                ws.upgrade(upgrade, Handshake::anonymous())
            }),
        )
        .nest_service("/sockjs", sockjs)
        .route(
            "/stats",
            get(move || async move { format!("{}\n", stats.stats()) }),
        );
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().map_or(addr, |a| a.to_string());
    match &relay {
        Some(broker) => {
            eprintln!("stomp_server on http://{local}/ (STOMP at /ws), relaying to {broker}")
        }
        None => eprintln!("stomp_server on http://{local}/ (STOMP at /ws), simple broker"),
    }
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("server failed: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
