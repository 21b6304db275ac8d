//! The Autobahn|Testsuite client testee: runs every case of a `wstest -m fuzzingserver`
//! by echoing all data messages, then asks the server to write its reports.
//!
//! ```text
//! RFC6455_ADAPTER=tokio|blocking cargo run --release --example autobahn_client \
//!     [BASE_URL] [--agent NAME]
//! ```
//!
//! BASE_URL defaults to ws://127.0.0.1:9001; the agent name defaults to
//! `rfc6455-<adapter>`.

use rfc6455::io::{Error, blocking, tokio as nonblocking};
use rfc6455::{Config, Message};

fn config() -> Config {
    Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .max_fragments(1 << 20)
}

fn request(url: &str) -> rfc6455::handshake::ClientRequest {
    rfc6455::handshake::ClientRequest::from_url(url)
        .expect("valid URL")
        .deflate(rfc6455::deflate::DeflateConfig::default())
}

/// Echoes data messages until the connection ends; returns the first text message seen.
fn run_blocking(url: &str) -> Result<Option<rfc6455::Utf8Bytes>, Error> {
    let (mut ws, _) = blocking::connect_with(&request(url), config())?;
    let mut first_text = None;
    while let Some(message) = ws.read()? {
        match message {
            Message::Text(t) => {
                first_text.get_or_insert_with(|| t.clone());
                ws.send(Message::Text(t))?;
            }
            Message::Binary(b) => ws.send(Message::Binary(b))?,
            _ => {}
        }
    }
    Ok(first_text)
}

async fn run_tokio(url: &str) -> Result<Option<rfc6455::Utf8Bytes>, Error> {
    let (mut ws, _) = nonblocking::connect_with(&request(url), config()).await?;
    let mut first_text = None;
    while let Some(message) = ws.recv().await? {
        match message {
            Message::Text(t) => {
                first_text.get_or_insert_with(|| t.clone());
                ws.send(Message::Text(t)).await?;
            }
            Message::Binary(b) => ws.send(Message::Binary(b)).await?,
            _ => {}
        }
    }
    Ok(first_text)
}

fn main() {
    let adapter = std::env::var("RFC6455_ADAPTER").unwrap_or_else(|_| "tokio".into());
    let mut base = "ws://127.0.0.1:9001".to_string();
    let mut agent = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--agent" => agent = args.next(),
            a => base = a.trim_end_matches('/').to_string(),
        }
    }
    let agent = agent.unwrap_or_else(|| format!("rfc6455-{adapter}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let run = |url: &str| -> Result<Option<rfc6455::Utf8Bytes>, Error> {
        match adapter.as_str() {
            "blocking" => run_blocking(url),
            "tokio" => runtime.block_on(run_tokio(url)),
            other => panic!("RFC6455_ADAPTER must be tokio or blocking, not {other}"),
        }
    };

    let count: u32 = match run(&format!("{base}/getCaseCount")) {
        Ok(Some(text)) => text.trim().parse().expect("case count"),
        other => panic!("getCaseCount failed: {other:?}"),
    };
    eprintln!("{agent}: running {count} cases with the {adapter} adapter");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run(&url) {
            eprintln!("case {case}: {e}");
        }
    }
    if let Err(e) = run(&format!("{base}/updateReports?agent={agent}")) {
        eprintln!("updateReports: {e}");
    }
}
