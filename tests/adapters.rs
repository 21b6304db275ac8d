//! Both adapters over real loopback sockets: as server and as client, against each other.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use rfc6455::handshake::{AcceptOptions, AllowedOrigins, ClientRequest, ServerConfig};
use rfc6455::io::{Error, Rejection, blocking, tokio as ws};
use rfc6455::{CloseCode, Config, Message};

fn big_limits() -> Config {
    Config::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20)
        .max_fragments(1 << 16)
}

/// The message sizes the issue names, as binary and as text.
fn test_messages() -> Vec<Message> {
    let mut messages = Vec::new();
    for size in [0usize, 125, 126, 65535, 65536, 16 << 20] {
        messages.push(Message::Binary(
            (0..size).map(|i| (i % 251) as u8).collect(),
        ));
        messages.push(Message::text("é".repeat(size / 2) + &"x".repeat(size % 2)));
    }
    messages
}

/// A tokio echo server on a random port, accepting `connections` connections.
async fn tokio_echo_server(config: Config, connections: usize) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = ws::Acceptor::new(ServerConfig::default(), config);
    tokio::spawn(async move {
        for _ in 0..connections {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut socket = acceptor.accept(stream).await.unwrap();
                while let Some(message) = socket.recv().await.unwrap() {
                    if message.is_data() {
                        socket.send(message).await.unwrap();
                    }
                }
            });
        }
    });
    addr
}

/// A blocking echo server thread on a random port, for one connection.
fn blocking_echo_server(config: Config) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let acceptor = blocking::Acceptor::new(ServerConfig::default(), config);
        let mut socket = acceptor.accept(stream).unwrap();
        while let Some(message) = socket.read().unwrap() {
            if message.is_data() {
                socket.send(message).unwrap();
            }
        }
        assert!(socket.connection().is_closed_cleanly());
        socket.shutdown(Duration::from_secs(1)).unwrap();
    });
    (addr, handle)
}

fn request(addr: SocketAddr) -> ClientRequest {
    ClientRequest::from_url(&format!("ws://{addr}/echo")).unwrap()
}

#[tokio::test]
async fn tokio_server_blocking_client_all_sizes_then_client_closes() {
    let addr = tokio_echo_server(big_limits(), 1).await;
    tokio::task::spawn_blocking(move || {
        let (mut socket, _) = blocking::connect_with(&request(addr), big_limits()).unwrap();
        for message in test_messages() {
            socket.send(message.clone()).unwrap();
            let echo = socket.read().unwrap();
            assert!(
                echo.as_ref() == Some(&message),
                "echo of {} bytes differs",
                message.as_bytes().len()
            );
        }
        socket.close(CloseCode::new(4001), "client done").unwrap();
        // The server echoes the Close; then it closes TCP and the client sees the end.
        assert_eq!(
            socket.read().unwrap(),
            Some(Message::close(CloseCode::new(4001), ""))
        );
        assert_eq!(socket.read().unwrap(), None);
        assert!(socket.connection().is_closed_cleanly());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn blocking_server_tokio_client_all_sizes_fragmented_with_pings() {
    let (addr, server) = blocking_echo_server(big_limits());
    let (mut socket, _) = ws::connect_with(&request(addr), big_limits().fragment_size(Some(4000)))
        .await
        .unwrap();
    for message in test_messages() {
        socket.send(Message::ping(b"p".to_vec())).await.unwrap();
        socket.send(message.clone()).await.unwrap();
        assert_eq!(
            socket.recv().await.unwrap(),
            Some(Message::pong(b"p".to_vec()))
        );
        let echo = socket.recv().await.unwrap();
        assert!(
            echo.as_ref() == Some(&message),
            "echo of {} bytes differs",
            message.as_bytes().len()
        );
    }
    socket.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert!(socket.connection().is_closed_cleanly());
    tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn tokio_to_tokio_server_closes_with_code_and_reason() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(stream).await.unwrap();
        assert_eq!(socket.recv().await.unwrap(), Some(Message::text("hi")));
        socket
            .close(CloseCode::GOING_AWAY, "shutting down")
            .await
            .unwrap();
        assert!(socket.connection().is_closed_cleanly());
    });
    let (mut socket, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
    socket.send(Message::text("hi")).await.unwrap();
    assert_eq!(
        socket.recv().await.unwrap(),
        Some(Message::close(CloseCode::GOING_AWAY, "shutting down"))
    );
    assert_eq!(socket.recv().await.unwrap(), None);
    assert!(socket.connection().is_closed_cleanly());
    server.await.unwrap();
}

#[test]
fn blocking_to_blocking_and_pipelined_first_frame() {
    let (addr, server) = blocking_echo_server(Config::default());
    // A raw client that pipelines its first frame right behind the request head.
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut wire = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    wire.extend_from_slice(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    // A Close frame (1000), masked with a zero key.
    wire.extend_from_slice(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
    stream.write_all(&wire).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{text}"
    );
    assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    // The echo of "Hello", then the Close echo, then the server closed TCP.
    assert!(response.ends_with(&[
        0x81, 0x05, b'H', b'e', b'l', b'l', b'o', 0x88, 0x02, 0x03, 0xE8
    ]));
    server.join().unwrap();
}

#[tokio::test]
async fn rejected_handshakes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let policy = ServerConfig::default().allowed_origins(
        AllowedOrigins::none()
            .allow("https://good.example")
            .unwrap(),
    );
    let acceptor = ws::Acceptor::new(policy, Config::default());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // Requires the v11.stomp subprotocol; remembers the room from the query.
                let _ = acceptor
                    .accept_with(stream, |req| {
                        if !req.protocols().any(|p| p == "v11.stomp") {
                            return Err(Rejection::new(400, "v11.stomp required"));
                        }
                        let room = req.query().unwrap_or("").to_string();
                        Ok((AcceptOptions::new().protocol(Some("v11.stomp")), room))
                    })
                    .await;
            });
        }
    });
    let status = |result: Result<_, Error>| match result {
        Err(e) if e.rejection().is_some() => e.rejection().unwrap().status,
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("handshake succeeded"),
    };
    let url = format!("ws://{addr}/chat?room=1");
    let base = ClientRequest::from_url(&url).unwrap();
    // Wrong origin: 403.
    let evil = base
        .clone()
        .origin("https://evil.example")
        .protocols(["v11.stomp"]);
    assert_eq!(
        status(ws::connect_with(&evil, Config::default()).await),
        403
    );
    // No acceptable subprotocol: the application's 400.
    let no_stomp = base
        .clone()
        .origin("https://good.example")
        .protocols(["v10.stomp"]);
    assert_eq!(
        status(ws::connect_with(&no_stomp, Config::default()).await),
        400
    );
    // Accepted: the subprotocol is reported.
    let good = base
        .clone()
        .origin("https://good.example")
        .protocols(["v10.stomp", "v11.stomp"]);
    let (socket, response) = ws::connect_with(&good, Config::default()).await.unwrap();
    assert_eq!(response.protocol.as_deref(), Some("v11.stomp"));
    assert_eq!(socket.protocol(), Some("v11.stomp"));
    // Wrong version (raw request): 426 with Sec-WebSocket-Version: 13.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{response}"
    );
    assert!(response.contains("\r\nSec-WebSocket-Version: 13\r\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_answer_pings_while_the_writer_is_idle() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut reader, mut writer) = ws::accept(stream).await.unwrap().split();
        // The writer task stays idle until the client has had all its pings answered.
        let writer_task = tokio::spawn(async move {
            go_rx.await.unwrap();
            for i in 0..100 {
                writer
                    .send(Message::text(format!("msg {i}")))
                    .await
                    .unwrap();
            }
            writer.close(CloseCode::NORMAL, "done").await.unwrap();
        });
        let mut pings = 0;
        while let Some(message) = reader.recv().await.unwrap() {
            if let Message::Ping(_) = message {
                pings += 1;
            }
        }
        writer_task.await.unwrap();
        pings
    });
    let (mut socket, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
    for i in 0..50u32 {
        socket
            .send(Message::ping(i.to_be_bytes().to_vec()))
            .await
            .unwrap();
        assert_eq!(
            socket.recv().await.unwrap(),
            Some(Message::pong(i.to_be_bytes().to_vec()))
        );
    }
    go_tx.send(()).unwrap();
    for i in 0..100 {
        // Pings keep arriving while the writer sends.
        socket.send(Message::ping(vec![1])).await.unwrap();
        let mut got = socket.recv().await.unwrap().unwrap();
        while let Message::Pong(_) = got {
            got = socket.recv().await.unwrap().unwrap();
        }
        assert_eq!(got, Message::text(format!("msg {i}")));
    }
    loop {
        match socket.recv().await.unwrap() {
            Some(Message::Close(Some(f))) => assert_eq!(f.code, CloseCode::NORMAL),
            Some(Message::Pong(_)) => {}
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    assert!(socket.connection().is_closed_cleanly());
    assert_eq!(server.await.unwrap(), 150);
}

#[tokio::test]
async fn recv_is_cancellation_safe_in_select() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    const COUNT: usize = 300;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = ws::Acceptor::new(
            ServerConfig::default(),
            Config::default().fragment_size(Some(1000)),
        )
        .accept(stream)
        .await
        .unwrap();
        for i in 0..COUNT {
            // Messages in several fragments, sent in slices with pauses, so that receives
            // are often cancelled in the middle of a frame or of a message.
            let payload: Vec<u8> = (0..5000).map(|j| (i + j) as u8).collect();
            socket.send(Message::binary(payload)).await.unwrap();
            if i % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    });
    let (mut socket, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
    let mut received = 0;
    let mut cancelled = 0;
    loop {
        tokio::select! {
            message = socket.recv() => match message.unwrap() {
                Some(Message::Binary(payload)) => {
                    let expected: Vec<u8> = (0..5000).map(|j| (received + j) as u8).collect();
                    assert!(payload == expected, "message {received} differs");
                    received += 1;
                }
                Some(Message::Close(_)) => {}
                Some(other) => panic!("unexpected {other:?}"),
                None => break,
            },
            _ = tokio::time::sleep(Duration::from_micros(50)) => cancelled += 1,
        }
    }
    assert_eq!(received, COUNT);
    assert!(
        cancelled > 0,
        "the timeout never won; the test proved nothing"
    );
    server.await.unwrap();
}

#[tokio::test]
async fn backpressure_bounds_the_send_buffer_and_reading_is_demand_driven() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let reader = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(stream).await.unwrap();
        // Not receiving: nothing is read from the socket, TCP pushes back.
        release_rx.await.unwrap();
        let mut total = 0usize;
        while let Some(message) = socket.recv().await.unwrap() {
            total += message.as_bytes().len();
        }
        total
    });
    let (mut socket, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
    socket.set_high_water(64 * 1024);
    let chunk = Message::binary(vec![7; 16 * 1024]);
    let mut sent = 0usize;
    let mut peak = 0usize;
    // Send until a send blocks for 200 ms: the peer is not reading.
    while let Ok(result) =
        tokio::time::timeout(Duration::from_millis(200), socket.feed(chunk.clone())).await
    {
        result.unwrap();
        sent += 16 * 1024;
        peak = peak.max(socket.buffered_amount());
        assert!(sent < 256 << 20, "sending never blocked");
    }
    // The queue stayed below the high-water mark plus one message.
    assert!(peak <= 64 * 1024 + 16 * 1024 + 16, "peak buffered {peak}");
    // Now the reader drains; everything queued arrives.
    release_tx.send(()).unwrap();
    socket.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(reader.await.unwrap(), sent);
}

/// The `echo_server` example, built by `cargo test` next to this test binary, running on a
/// free port; killed on drop.
struct ExampleServer {
    child: std::process::Child,
    addr: SocketAddr,
}

impl ExampleServer {
    fn start(name: &str) -> ExampleServer {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap().join("examples");
        let mut child = std::process::Command::new(dir.join(name))
            .arg("127.0.0.1:0")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} in {}: {e}", dir.display()));
        // The first line is "<name> listening on ws://ADDR"; keep draining the rest.
        let mut lines =
            std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
        let first = lines.next().unwrap().unwrap();
        let addr = first.rsplit("ws://").next().unwrap().parse().unwrap();
        std::thread::spawn(move || lines.for_each(drop));
        ExampleServer { child, addr }
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_connections_through_the_echo_server_example() {
    let server = ExampleServer::start("echo_server");
    let addr = server.addr;
    // All 1000 are connected at once before any of them closes.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(1000));
    let mut clients = Vec::new();
    for i in 0..1000 {
        let barrier = barrier.clone();
        clients.push(tokio::spawn(async move {
            let (mut socket, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
            barrier.wait().await;
            let text = format!("client {i}");
            socket.send(Message::text(text.clone())).await.unwrap();
            assert_eq!(socket.recv().await.unwrap(), Some(Message::text(text)));
            socket.close(CloseCode::NORMAL, "").await.unwrap();
            socket.connection().is_closed_cleanly()
        }));
    }
    for client in clients {
        assert!(client.await.unwrap());
    }
}

#[test]
fn nonblocking_stream_resumes_after_would_block() {
    let (addr, server) = blocking_echo_server(big_limits());
    let (mut socket, _) = blocking::connect_with(&request(addr), big_limits()).unwrap();
    socket.get_mut().set_nonblocking(true).unwrap();
    // Nothing to read yet: WouldBlock, and the WebSocket stays usable.
    assert!(socket.read().unwrap_err().is_would_block());
    let big = Message::binary(vec![3; 4 << 20]);
    let mut queued = false;
    match socket.send(big.clone()) {
        Ok(()) => {}
        Err(e) if e.is_would_block() => queued = true,
        Err(e) => panic!("{e}"),
    }
    // Read the echo while flushing what is left, polling like an event loop would.
    let mut echo = None;
    for _ in 0..100_000 {
        if socket.wants_write() {
            match socket.flush() {
                Ok(()) => {}
                Err(e) if e.is_would_block() => {}
                Err(e) => panic!("{e}"),
            }
        }
        match socket.read() {
            Ok(Some(m)) => {
                echo = Some(m);
                break;
            }
            Ok(None) => panic!("closed"),
            Err(e) if e.is_would_block() => std::thread::sleep(Duration::from_micros(100)),
            Err(e) => panic!("{e}"),
        }
    }
    // (Not assert_eq: a failure would print 4 MiB.)
    assert!(echo == Some(big), "wrong echo (send queued: {queued})");
    socket.get_mut().set_nonblocking(false).unwrap();
    socket.close(CloseCode::NORMAL, "").unwrap();
    while socket.read().unwrap().is_some() {}
    server.join().unwrap();
}

/// A tokio server with keepalive pings every 50 ms and a 300 ms idle timeout.
async fn keepalive_server() -> (
    SocketAddr,
    tokio::task::JoinHandle<(Result<(), Error>, usize)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let config = Config::default()
            .ping_interval(Some(Duration::from_millis(50)))
            .idle_timeout(Some(Duration::from_millis(300)))
            .close_timeout(Some(Duration::from_millis(200)));
        let acceptor = ws::Acceptor::new(ServerConfig::default(), config);
        let mut socket = acceptor.accept(stream).await.unwrap();
        let mut pongs = 0;
        let result = loop {
            match socket.recv().await {
                Ok(Some(Message::Pong(_))) => pongs += 1,
                Ok(Some(_)) => {}
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        (result, pongs)
    });
    (addr, server)
}

#[tokio::test]
async fn keepalive_pings_keep_a_live_peer_connected() {
    let (addr, server) = keepalive_server().await;
    let (mut socket, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
    // Receive (and so answer pings) for well past the idle timeout.
    let mut pings = 0;
    let _ = tokio::time::timeout(Duration::from_millis(700), async {
        while let Some(message) = socket.recv().await.unwrap() {
            if let Message::Ping(_) = message {
                pings += 1;
            }
        }
    })
    .await;
    assert!(pings >= 5, "only {pings} keepalive pings in 700 ms");
    socket.close(CloseCode::NORMAL, "").await.unwrap();
    let (result, pongs) = server.await.unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(pongs >= 5);
}

#[tokio::test]
async fn idle_timeout_closes_a_silent_peer() {
    let (addr, server) = keepalive_server().await;
    // Handshake, then never read or answer anything.
    let (socket, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
    let started = std::time::Instant::now();
    let (result, pongs) = server.await.unwrap();
    let elapsed = started.elapsed();
    assert!(matches!(result, Err(Error::AbnormalClosure)), "{result:?}");
    assert_eq!(pongs, 0);
    // Idle timeout (300 ms) + close timeout (200 ms) + the drain after shutdown.
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    drop(socket);
}

#[tokio::test]
async fn blocking_streaming_read_of_a_large_message() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(stream).await.unwrap();
        let big: Vec<u8> = (0..(16u32 << 20)).map(|i| (i % 253) as u8).collect();
        socket.send(Message::binary(big)).await.unwrap();
        socket.send(Message::ping(b"mid".to_vec())).await.unwrap();
        socket.send(Message::text("after")).await.unwrap();
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    });
    tokio::task::spawn_blocking(move || {
        // The default 1 MiB limits do not apply to the message size here: raise them, but
        // the point is that no 16 MiB buffer is ever built on this side.
        let (mut socket, _) = blocking::connect_with(&request(addr), big_limits()).unwrap();
        let mut total = 0usize;
        let mut largest = 0usize;
        loop {
            match socket.read_chunk().unwrap().expect("open") {
                blocking::Chunk::Binary { data, fin } => {
                    for (i, b) in data.iter().enumerate() {
                        assert_eq!(*b, ((total + i) % 253) as u8, "byte {}", total + i);
                    }
                    total += data.len();
                    largest = largest.max(data.len());
                    if fin {
                        break;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(total, 16 << 20);
        assert!(largest <= 64 * 1024, "a chunk of {largest} bytes");
        assert_eq!(
            socket.read_chunk().unwrap(),
            Some(blocking::Chunk::Control(Message::ping(b"mid".to_vec())))
        );
        assert_eq!(
            socket.read_chunk().unwrap(),
            Some(blocking::Chunk::Text {
                data: b"after",
                fin: true
            })
        );
        // Back to whole messages: the Close, then the end.
        assert!(matches!(socket.read().unwrap(), Some(Message::Close(_))));
        assert_eq!(socket.read().unwrap(), None);
    })
    .await
    .unwrap();
    server.await.unwrap();
}

/// A masked client frame, built by hand (independently of the crate's encoder).
fn raw_client_frame(fin: bool, opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    common::masked_frame(if fin { 0x80 } else { 0 } | opcode, payload, key)
}

/// Large frames arriving in slices take the tokio adapter's direct path (the rest of a
/// frame is read straight into the message): every byte must come out unmasked and in
/// order, text must be validated across slice boundaries, a ping between fragments must
/// be answered, and a `recv` cancelled mid-frame must lose nothing.
#[tokio::test]
async fn tokio_large_frames_in_slices_are_exact_and_validated() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (server_io, mut client_io) = tokio::io::duplex(1 << 20);
    let mut socket = ws::WebSocket::from_parts(
        server_io,
        rfc6455::Connection::new(
            rfc6455::Role::Server,
            big_limits().close_timeout(Some(Duration::from_millis(100))),
        ),
        &[],
    );
    let binary: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 253) as u8).collect();
    // 'é' (2 bytes) and '€' (3 bytes) repeated: slices of 7,001 bytes cut code points.
    let text = "é€abc".repeat(8000);
    let (part1, part2) = (&binary[..30_000], &binary[30_000..]);
    let mut wire = Vec::new();
    wire.extend(raw_client_frame(true, 0x2, &binary, [1, 2, 3, 4]));
    wire.extend(raw_client_frame(true, 0x1, text.as_bytes(), [9, 8, 7, 6]));
    wire.extend(raw_client_frame(false, 0x2, part1, [5, 5, 5, 5]));
    wire.extend(raw_client_frame(true, 0x9, b"hi", [1, 1, 1, 1]));
    wire.extend(raw_client_frame(true, 0x0, part2, [7, 0, 7, 0]));
    let writer = tokio::spawn(async move {
        for slice in wire.chunks(7_001) {
            client_io.write_all(slice).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        client_io
    });

    let mut received = Vec::new();
    let mut cancelled = 0;
    while received.len() < 4 {
        tokio::select! {
            message = socket.recv() => received.push(message.unwrap().unwrap()),
            _ = tokio::time::sleep(Duration::from_micros(300)) => cancelled += 1,
        }
    }
    assert!(
        cancelled > 0,
        "no recv was cancelled; the test proved less than it says"
    );
    assert!(
        received[0] == Message::binary(binary.clone()),
        "binary differs"
    );
    assert!(received[1] == Message::text(text), "text differs");
    // The ping is reported between the fragments' message and the rest, in wire order.
    assert_eq!(received[2], Message::ping(b"hi".to_vec()));
    assert!(
        received[3] == Message::binary(binary),
        "fragmented binary differs"
    );

    // The pong went out: an unmasked server frame 8A 02 "hi".
    let mut client_io = writer.await.unwrap();
    let mut pong = [0u8; 4];
    client_io.read_exact(&mut pong).await.unwrap();
    assert_eq!(pong, [0x8A, 0x02, b'h', b'i']);

    // Invalid UTF-8 deep inside a large text frame, in a part read directly: 1007.
    let mut bad = "a".repeat(50_000).into_bytes();
    bad[40_000] = 0xFF;
    let wire = raw_client_frame(true, 0x1, &bad, [3, 1, 4, 1]);
    let writer = tokio::spawn(async move {
        for slice in wire.chunks(6_000) {
            client_io.write_all(slice).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        client_io
    });
    let error = socket.recv().await.unwrap_err();
    assert!(
        error.protocol() == Some(&rfc6455::ProtocolError::InvalidUtf8),
        "{error:?}"
    );
    let mut client_io = writer.await.unwrap();
    let mut close = [0u8; 17];
    client_io.read_exact(&mut close).await.unwrap();
    assert_eq!(&close[..4], [0x88, 15, 0x03, 0xEF]);
    assert_eq!(&close[4..], b"invalid UTF-8");
}

#[tokio::test]
async fn an_async_decision_a_reunited_split_and_a_hand_over_that_keeps_buffered_bytes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let acceptor = ws::Acceptor::default();
        let mut users = Vec::new();
        for _ in 0..2 {
            let (stream, _) = listener.accept().await.unwrap();
            // The decision awaits (a token lookup, say) before accepting or refusing.
            let decided = acceptor
                .accept_with_async(stream, async |req| {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    match req.query() {
                        Some("token=alice") => Ok((AcceptOptions::default(), "alice")),
                        _ => Err(Rejection::new(401, "who are you?")),
                    }
                })
                .await;
            match decided {
                Ok((socket, user)) => users.push((socket, user)),
                Err(e) => assert!(e.to_string().contains("401"), "{e}"),
            }
        }
        let (socket, user) = users.pop().unwrap();
        assert_eq!(user, "alice");
        // Split, then put back together: still the same connection.
        let (read, write) = socket.split();
        let mut socket = read.reunite(write).unwrap();
        assert_eq!(socket.recv().await.unwrap(), Some(Message::text("one")));
        // Taking the stream back keeps what arrived but was not processed yet.
        let parts = socket.into_parts();
        assert_eq!(parts.read_buf.len(), 2 + 4 + 3, "the second frame, unread");
        assert!(parts.write_buf.is_empty());
        // ... and it goes on in a WebSocket built from those parts.
        let mut socket = ws::WebSocket::from_parts(parts.stream, parts.connection, &parts.read_buf);
        assert_eq!(socket.recv().await.unwrap(), Some(Message::text("two")));
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    });
    let refused = ws::connect(&format!("ws://{addr}/?token=mallory")).await;
    match refused {
        Err(e) => assert_eq!(e.rejection().map(|r| r.status), Some(401)),
        other => panic!("{other:?}"),
    }
    let (mut client, _) = ws::connect(&format!("ws://{addr}/?token=alice"))
        .await
        .unwrap();
    // Both frames in one write, so the server reads them together.
    client.feed(Message::text("one")).await.unwrap();
    client.feed(Message::text("two")).await.unwrap();
    client.flush().await.unwrap();
    assert_eq!(
        client.recv().await.unwrap().map(|m| m.is_close()),
        Some(true)
    );
    assert_eq!(client.recv().await.unwrap(), None);
    server.await.unwrap();
}

#[test]
fn a_websocket_over_a_stream_upgraded_elsewhere() {
    // The handshake is done by hand (as another HTTP server would); the adapters take
    // the stream as it is.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        stream
            .write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                  Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            )
            .unwrap();
        let mut ws =
            blocking::WebSocket::from_upgraded(stream, rfc6455::Role::Server, Config::default());
        let message = ws.read().unwrap().unwrap();
        ws.send(message).unwrap();
        assert_eq!(ws.read().unwrap().map(|m| m.is_close()), Some(true));
        assert_eq!(ws.read().unwrap(), None);
    });
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            format!(
                "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let mut ws =
        blocking::WebSocket::from_upgraded(stream, rfc6455::Role::Client, Config::default());
    ws.send(Message::binary(vec![1, 2, 3])).unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::binary(vec![1, 2, 3])));
    ws.close(CloseCode::NORMAL, "").unwrap();
    while ws.read().unwrap().is_some() {}
    server.join().unwrap();
}

/// A vectored stream that takes at most `step` bytes per write and answers every other
/// write `Pending` (waking at once): a socket whose buffer is nearly full.
struct Trickle {
    step: usize,
    written: Vec<u8>,
    writes: usize,
    vectored_calls: usize,
}

impl tokio::io::AsyncRead for Trickle {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        _buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Pending
    }
}

impl tokio::io::AsyncWrite for Trickle {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.poll_write_vectored(cx, &[std::io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.writes += 1;
        this.vectored_calls += usize::from(bufs.len() > 1);
        if this.writes % 2 == 0 {
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        let mut left = this.step;
        for buf in bufs {
            let n = buf.len().min(left);
            this.written.extend_from_slice(&buf[..n]);
            left -= n;
            if left == 0 {
                break;
            }
        }
        std::task::Poll::Ready(Ok(this.step - left))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A large server message goes out as header + payload in one vectored write when nothing
/// is queued; whatever a write leaves (part of the header, part of the payload) or a
/// `Pending` stream refuses is queued and written after, in order: the stream receives
/// exactly the frames the core encodes, whatever it takes per write.
#[tokio::test]
async fn large_server_messages_arrive_whole_through_a_stream_that_takes_a_little_at_a_time() {
    let big = |n: usize, seed: usize| -> Vec<u8> {
        (0..n).map(|i| ((i * 7 + seed) % 251) as u8).collect()
    };
    let messages = vec![
        Message::Binary(big(20_000, 1).into()),
        Message::Binary(big(10, 2).into()),
        Message::text("é".repeat(9_000)),
        Message::Binary(big(65_536, 3).into()),
        Message::Binary(big(8_192, 4).into()),
    ];
    let mut reference = rfc6455::Connection::new(rfc6455::Role::Server, Config::default());
    let mut expected = Vec::new();
    for m in &messages {
        let kind = match m {
            Message::Text(_) => rfc6455::MessageKind::Text,
            _ => rfc6455::MessageKind::Binary,
        };
        let payload: &[u8] = match m {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            _ => unreachable!(),
        };
        reference
            .send_message(kind, payload, &mut expected)
            .unwrap();
    }
    for step in [1, 2, 3, 5, 13, 1000, 1 << 20] {
        let stream = Trickle {
            step,
            written: Vec::new(),
            writes: 0,
            vectored_calls: 0,
        };
        let conn = rfc6455::Connection::new(rfc6455::Role::Server, Config::default());
        let mut socket = ws::WebSocket::from_parts(stream, conn, &[]);
        for m in &messages {
            socket.send(m.clone()).await.unwrap();
        }
        let stream = socket.into_inner();
        assert_eq!(stream.written.len(), expected.len(), "step {step}");
        assert!(stream.written == expected, "step {step}: bytes differ");
        assert!(
            stream.vectored_calls > 0,
            "step {step}: header and payload went out together"
        );
    }
}
