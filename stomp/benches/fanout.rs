//! Fan-out: one publisher, N subscribers of one topic, over STOMP on WebSockets — against
//! any STOMP-over-WebSocket server (our stomp_server, RabbitMQ's web-stomp, ...).
//!
//! ```text
//! cargo bench -p rfc6455-stomp --bench fanout -- --url ws://127.0.0.1:8080/ws \
//!     [--subscribers 100] [--messages 2000] [--size 128] [--destination /topic/bench] \
//!     [--host /] [--login guest --passcode guest] [--label NAME]
//! ```
//!
//! The publisher sends as fast as its WebSocket takes the frames; the clock runs from the
//! first SEND until the last subscriber has every message. Reported: messages delivered
//! per second (subscribers × messages / time), messages published per second, and the
//! publish-to-delivery latency (median, 99th percentile). `stomp/benches/fanout.sh` runs it
//! against both servers on the same machine.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rfc6455_stomp::tokio::Client;
use rfc6455_stomp::{AckMode, ClientConfig, ClientEvent, HeartBeat};
use tokio::sync::mpsc;

struct Args {
    url: String,
    subscribers: usize,
    messages: usize,
    size: usize,
    destination: String,
    host: String,
    login: Option<(String, String)>,
    label: String,
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        subscribers: 100,
        messages: 2000,
        size: 128,
        destination: "/topic/bench".into(),
        host: "/".into(),
        login: None,
        label: String::new(),
    };
    let mut login = None;
    let mut passcode = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        // `cargo bench` passes --bench to harness=false targets.
        if flag == "--bench" {
            continue;
        }
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = value,
            "--subscribers" => a.subscribers = value.parse().expect("--subscribers N"),
            "--messages" => a.messages = value.parse().expect("--messages N"),
            "--size" => a.size = value.parse().expect("--size BYTES"),
            "--destination" => a.destination = value,
            "--host" => a.host = value,
            "--login" => login = Some(value),
            "--passcode" => passcode = Some(value),
            "--label" => a.label = value,
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.url.is_empty(), "--url ws://HOST:PORT/PATH is required");
    a.login = login.map(|l| (l, passcode.unwrap_or_default()));
    if a.label.is_empty() {
        a.label = a.url.clone();
    }
    a
}

async fn connect(a: &Args) -> Client {
    let mut config = ClientConfig::new(&a.host).heart_beat(HeartBeat::NONE);
    if let Some((login, passcode)) = &a.login {
        config = config.credentials(login, passcode);
    }
    Client::connect(&a.url, config).await.expect("connect")
}

/// The publish time (µs since `epoch`) at the start of the body.
fn stamp(epoch: Instant, size: usize) -> Bytes {
    let mut body = format!("{:020}", epoch.elapsed().as_micros()).into_bytes();
    body.resize(size.max(20), b'.');
    Bytes::from(body)
}

fn latency_us(epoch: Instant, body: &[u8]) -> u64 {
    let sent: u64 = std::str::from_utf8(&body[..20])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (epoch.elapsed().as_micros() as u64).saturating_sub(sent)
}

fn main() {
    let a = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(a));
}

async fn run(a: Args) {
    let epoch = Instant::now();
    let warmup = 50;
    let total = warmup + a.messages;
    let (done_tx, mut done_rx) = mpsc::channel::<Vec<u64>>(a.subscribers);
    let (ready_tx, mut ready_rx) = mpsc::channel::<()>(a.subscribers);
    for _ in 0..a.subscribers {
        let mut client = connect(&a).await;
        let id = client
            .session()
            .subscribe(&a.destination, AckMode::Auto, &[("receipt", "ready")])
            .expect("subscribe");
        client.flush().await.expect("flush");
        let (done, ready) = (done_tx.clone(), ready_tx.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(total);
            let mut received = 0;
            while received < total {
                match client.next_event().await {
                    Ok(ClientEvent::Receipt { .. }) => {
                        let _ = ready.send(()).await;
                    }
                    Ok(ClientEvent::Message(m)) => {
                        debug_assert_eq!(m.header("subscription"), Some(id.as_str()));
                        received += 1;
                        if received > warmup {
                            latencies.push(latency_us(epoch, m.body()));
                        }
                    }
                    Ok(other) => panic!("unexpected {other:?}"),
                    Err(e) => panic!("subscriber failed: {e}"),
                }
            }
            let _ = done.send(latencies).await;
        });
    }
    for _ in 0..a.subscribers {
        ready_rx.recv().await.expect("subscribed");
    }
    let mut publisher = connect(&a).await;
    for _ in 0..warmup {
        publisher
            .send(&a.destination, &[], stamp(epoch, a.size))
            .await
            .expect("send");
    }
    // Publishing and the clock start together; the warm-up messages are still arriving.
    let start = Instant::now();
    for _ in 0..a.messages {
        publisher
            .session()
            .send(&a.destination, &[], stamp(epoch, a.size))
            .expect("send");
        publisher.flush().await.expect("flush");
    }
    let published = start.elapsed();
    let mut latencies = Vec::with_capacity(a.subscribers * a.messages);
    for _ in 0..a.subscribers {
        let l = tokio::time::timeout(Duration::from_secs(300), done_rx.recv())
            .await
            .expect("every subscriber finishes within 5 minutes")
            .expect("a subscriber's latencies");
        latencies.extend(l);
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    let deliveries = (a.subscribers * a.messages) as f64;
    println!(
        "{}: {} subscribers x {} messages of {} B: {:.0} msgs/s delivered, {:.0} msgs/s published \
         ({:.2} s; publishing took {:.2} s), latency median {:.1} ms, p99 {:.1} ms",
        a.label,
        a.subscribers,
        a.messages,
        a.size,
        deliveries / elapsed.as_secs_f64(),
        a.messages as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        published.as_secs_f64(),
        pct(0.5) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
    );
}
